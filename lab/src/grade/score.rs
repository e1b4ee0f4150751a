//! Scores: the weights file, and the arithmetic from passed runs to a total.
//!
//! A test scores the share of its runs that passed; a project scores the
//! weighted mean of its tests (or, all-or-nothing, 100 only if every run of
//! every test passed); the total is the weighted mean of the projects. Every
//! score here is a percentage, 0 to 100. All of it is pure, so it is tested
//! without running anything.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::select::Project;

/// The weights file as written (TOML):
///
/// ```toml
/// [projects.2b]
/// weight = 2             # share of the total, default 1
/// all_or_nothing = false
/// [projects.2b.tests]
/// TestBasic2B = 3        # default 1
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    #[serde(default)]
    projects: BTreeMap<String, ProjectEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectEntry {
    weight: Option<f64>,
    #[serde(default)]
    all_or_nothing: bool,
    #[serde(default)]
    tests: BTreeMap<String, f64>,
}

/// How one project counts.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectWeights {
    /// The project's share of the total.
    pub weight: f64,
    /// 100 only if every run of every test passed, else 0.
    pub all_or_nothing: bool,
    /// Test weights by Go name; a test not named weighs 1.
    pub tests: BTreeMap<String, f64>,
}

impl Default for ProjectWeights {
    fn default() -> Self {
        ProjectWeights {
            weight: 1.0,
            all_or_nothing: false,
            tests: BTreeMap::new(),
        }
    }
}

impl ProjectWeights {
    /// The weight of the test with this Go name.
    pub fn test_weight(&self, name: &str) -> f64 {
        self.tests.get(name).copied().unwrap_or(1.0)
    }

    /// Checks that every test the weights name is one of the project's
    /// (`known`, Go names), so a typo cannot silently weigh nothing.
    pub fn check_tests<'a>(
        &self,
        project: Project,
        known: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<(), String> {
        for name in self.tests.keys() {
            if !known.clone().into_iter().any(|k| k == name) {
                let mut all: Vec<&str> = known.into_iter().collect();
                all.sort_unstable();
                all.dedup();
                let listed = if all.is_empty() {
                    "it has no tests".to_string()
                } else {
                    format!("its tests are {}", all.join(", "))
                };
                return Err(format!(
                    "[projects.{project}.tests] names {name}, which is not a test of project {project} ({listed})"
                ));
            }
        }
        Ok(())
    }
}

/// Every project's weights; projects the file does not mention get the
/// defaults (weight 1, every test 1, not all-or-nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights {
    projects: HashMap<Project, ProjectWeights>,
}

impl Weights {
    /// Reads and checks a weights file.
    pub fn load(path: &Path) -> Result<Weights> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the weights file {}", path.display()))?;
        Weights::parse(&text).map_err(|e| anyhow::anyhow!("weights file {}: {e}", path.display()))
    }

    /// Parses a weights file. Project names are the lab's (`2b`, `2B` or
    /// `project2b`); a name that is no project, a second spelling of the
    /// same project, a weight that is negative or not a number, and a test
    /// whose name is not of its project (`TestBasic2B` under `3b`) are
    /// errors.
    pub fn parse(text: &str) -> Result<Weights, String> {
        let file: WeightsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut projects: HashMap<Project, ProjectWeights> = HashMap::new();
        for (key, entry) in file.projects {
            let project = parse_graded_project(&key)?;
            let weight = entry.weight.unwrap_or(1.0);
            check_weight(weight, &format!("[projects.{key}] weight"))?;
            let pattern = Regex::new(project.pattern()).expect("project patterns are valid");
            for (test, w) in &entry.tests {
                check_weight(*w, &format!("[projects.{key}.tests] {test}"))?;
                if !pattern.is_match(test) {
                    return Err(format!(
                        "[projects.{key}.tests] names {test}, which is not a project {project} test \
                         (project {project} tests match {})",
                        project.pattern()
                    ));
                }
            }
            let weights = ProjectWeights {
                weight,
                all_or_nothing: entry.all_or_nothing,
                tests: entry.tests,
            };
            if projects.insert(project, weights).is_some() {
                return Err(format!("project {project} is given more than once"));
            }
        }
        Ok(Weights { projects })
    }

    /// The weights of `project` (the defaults if the file does not say).
    pub fn project(&self, project: Project) -> ProjectWeights {
        self.projects.get(&project).cloned().unwrap_or_default()
    }
}

/// A project name for grading: any lab project but `all`, which is every
/// test at once rather than a project.
pub fn parse_graded_project(s: &str) -> Result<Project, String> {
    let project: Project = s.parse()?;
    if project == Project::All {
        return Err(format!(
            "{s:?} is not a project to grade; name the projects (1, 2a, 2aa, 2ab, 2ac, 2b, 2c, 3a, 3b, 4a, 4b, 4c)"
        ));
    }
    Ok(project)
}

fn check_weight(w: f64, what: &str) -> Result<(), String> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(format!("{what} = {w}: a weight must be a number >= 0"))
    }
}

/// A test's score in percent: the share of its runs that passed (0 if it
/// never ran).
pub fn test_score(passed: u32, runs: u32) -> f64 {
    if runs == 0 {
        0.0
    } else {
        100.0 * f64::from(passed.min(runs)) / f64::from(runs)
    }
}

/// What a project's score is made of, per test: its weight among the
/// project's tests and how many of its runs passed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tally {
    pub weight: f64,
    pub runs: u32,
    pub passed: u32,
}

impl Tally {
    /// Whether it ran and every run passed.
    pub fn all_passed(&self) -> bool {
        self.runs > 0 && self.passed >= self.runs
    }
}

/// A project's score in percent. Weighted mean of its tests' scores, or
/// with `all_or_nothing` 100 exactly when every run of every test passed.
/// A project without tests (or whose test weights are all 0) scores 0:
/// never a silent 100.
pub fn project_score(tests: &[Tally], all_or_nothing: bool) -> f64 {
    if tests.is_empty() {
        return 0.0;
    }
    if all_or_nothing {
        return if tests.iter().all(Tally::all_passed) {
            100.0
        } else {
            0.0
        };
    }
    weighted_mean(
        tests
            .iter()
            .map(|t| (t.weight, test_score(t.passed, t.runs))),
    )
}

/// The total in percent: the weighted mean of `(weight, score)` per
/// project; 0 when no project has weight.
pub fn total_score(projects: &[(f64, f64)]) -> f64 {
    weighted_mean(projects.iter().copied())
}

fn weighted_mean(items: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (w, score) in items {
        sum += w * score;
        weights += w;
    }
    if weights > 0.0 {
        sum / weights
    } else {
        0.0
    }
}

/// Rounds a percentage to two decimals, for reports.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(weight: f64, runs: u32, passed: u32) -> Tally {
        Tally {
            weight,
            runs,
            passed,
        }
    }

    #[test]
    fn a_test_scores_its_pass_rate() {
        assert_eq!(test_score(3, 3), 100.0);
        assert_eq!(test_score(0, 3), 0.0);
        assert!((test_score(2, 3) - 66.666_666).abs() < 1e-3);
        assert_eq!(test_score(0, 0), 0.0, "a test that never ran scores 0");
    }

    #[test]
    fn a_project_is_the_weighted_mean_of_its_tests() {
        assert_eq!(project_score(&[t(1.0, 1, 1), t(1.0, 1, 0)], false), 50.0);
        // Weight 3 on the passing test: (3*100 + 1*0) / 4.
        assert_eq!(project_score(&[t(3.0, 2, 2), t(1.0, 2, 0)], false), 75.0);
        // A flaky test counts by its pass rate: (100 + 50) / 2.
        assert_eq!(project_score(&[t(1.0, 4, 4), t(1.0, 4, 2)], false), 75.0);
        // Weight 0 leaves a test out of the mean.
        assert_eq!(project_score(&[t(1.0, 1, 1), t(0.0, 1, 0)], false), 100.0);
    }

    #[test]
    fn all_or_nothing_needs_every_run() {
        assert_eq!(project_score(&[t(1.0, 3, 3), t(5.0, 3, 3)], true), 100.0);
        assert_eq!(project_score(&[t(1.0, 3, 3), t(5.0, 3, 2)], true), 0.0);
        // A test that never ran (did not build) is not a pass.
        assert_eq!(project_score(&[t(1.0, 3, 3), t(1.0, 0, 0)], true), 0.0);
    }

    #[test]
    fn nothing_to_score_is_zero_never_a_silent_100() {
        assert_eq!(project_score(&[], false), 0.0);
        assert_eq!(project_score(&[], true), 0.0);
        assert_eq!(project_score(&[t(0.0, 1, 1)], false), 0.0);
        assert_eq!(total_score(&[]), 0.0);
        assert_eq!(total_score(&[(0.0, 100.0)]), 0.0);
    }

    #[test]
    fn the_total_is_the_weighted_mean_of_projects() {
        assert_eq!(total_score(&[(1.0, 100.0), (1.0, 50.0)]), 75.0);
        assert_eq!(total_score(&[(2.0, 100.0), (1.0, 40.0)]), 80.0);
    }

    #[test]
    fn rounding_for_reports() {
        assert_eq!(round2(66.666_666), 66.67);
        assert_eq!(round2(100.0), 100.0);
    }

    const EXAMPLE: &str = r#"
[projects.2b]
weight = 2
all_or_nothing = false
[projects.2b.tests]
TestBasic2B = 3
TestConcurrent2B = 1.5

[projects.project3B]
all_or_nothing = true
"#;

    #[test]
    fn parses_the_weights_file() {
        let w = Weights::parse(EXAMPLE).unwrap();
        let b = w.project(Project::P2b);
        assert_eq!(b.weight, 2.0);
        assert!(!b.all_or_nothing);
        assert_eq!(b.test_weight("TestBasic2B"), 3.0);
        assert_eq!(b.test_weight("TestConcurrent2B"), 1.5);
        assert_eq!(b.test_weight("TestUnreliable2B"), 1.0);
        let c = w.project(Project::P3b);
        assert_eq!(c.weight, 1.0);
        assert!(c.all_or_nothing);
        assert_eq!(w.project(Project::P1), ProjectWeights::default());
        assert_eq!(Weights::parse("").unwrap(), Weights::default());
    }

    #[test]
    fn the_example_file_in_the_repository_parses() {
        let text = include_str!("../../grade-weights.example.toml");
        let w = Weights::parse(text).unwrap();
        assert!(w.project(Project::P3b).weight > 0.0);
    }

    #[test]
    fn bad_weights_files_are_errors_that_say_why() {
        let err = |text: &str| Weights::parse(text).unwrap_err();
        assert!(err("[projects.9z]\n").contains("unknown project \"9z\""));
        assert!(err("[projects.all]\n").contains("not a project to grade"));
        assert!(err("[projects.2b]\nwieght = 2\n").contains("wieght"));
        assert!(err("[project.2b]\n").contains("project"));
        assert!(err("[projects.2b]\nweight = -1\n").contains("must be a number >= 0"));
        assert!(err("[projects.2b]\nweight = \"x\"\n").contains("weight"));
        assert!(err("[projects.2b]\n[projects.2B]\n").contains("more than once"));
        let wrong = err("[projects.3b.tests]\nTestBasic2B = 2\n");
        assert!(
            wrong.contains("TestBasic2B, which is not a project 3b test"),
            "{wrong}"
        );
        assert!(err("[projects.2b.tests]\nTestBasic2B = nan\n").contains(">= 0"));
        assert!(!err("not toml [").is_empty());
    }

    #[test]
    fn weights_must_name_real_tests() {
        let w = Weights::parse("[projects.2b.tests]\nTestBasic2B = 2\nTestBsaic2B = 1\n").unwrap();
        let b = w.project(Project::P2b);
        let err = b
            .check_tests(Project::P2b, ["TestBasic2B", "TestConcurrent2B"])
            .unwrap_err();
        assert!(err.contains("names TestBsaic2B"), "{err}");
        assert!(err.contains("TestBasic2B, TestConcurrent2B"), "{err}");
        let ok = Weights::parse("[projects.2b.tests]\nTestBasic2B = 2\n").unwrap();
        assert!(ok
            .project(Project::P2b)
            .check_tests(Project::P2b, ["TestBasic2B"])
            .is_ok());
        assert!(b
            .check_tests(Project::P2b, [] as [&str; 0])
            .unwrap_err()
            .contains("it has no tests"));
    }

    #[test]
    fn graded_projects_exclude_all() {
        assert_eq!(parse_graded_project("2B").unwrap(), Project::P2b);
        assert_eq!(parse_graded_project("project2aa").unwrap(), Project::P2aa);
        assert!(parse_graded_project("all").is_err());
        assert!(parse_graded_project("4").is_err());
    }
}
