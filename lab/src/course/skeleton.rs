//! `tinykv-lab skeleton`: the student repository, written from the
//! solution by replacing every unsolved marked region with its stub.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::markers;
use super::parts::{self, PARTS_MD};
use crate::select::Project;

/// Paths of the solution that a student repository leaves out: CI wiring,
/// the solution's performance write-ups (profiles of the student parts as
/// the solution does them), and the student README's source, which becomes
/// README.md.
pub const LEFT_OUT: [&str; 4] = [
    ".ci/",
    "docs/PERFORMANCE.md",
    "docs/perf/",
    "docs/course/STUDENT_README.md",
];

/// The README a student repository gets instead of the solution's.
pub const STUDENT_README: &str = "docs/course/STUDENT_README.md";

/// Whether the solution of a region owned by `tag` is kept, given the
/// projects released as solved (`2a` keeps 2AA, 2AB and 2AC; `all` keeps
/// everything).
pub fn is_solved(solved: &[Project], tag: &str) -> bool {
    let tag = tag.to_ascii_lowercase();
    solved.iter().any(|p| match p {
        Project::All => true,
        Project::P2a => tag.starts_with("2a"),
        p => p.name() == tag,
    })
}

/// What a skeleton run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub files: usize,
    /// Regions kept solved and regions stubbed, per project tag.
    pub kept: Vec<(String, usize)>,
    pub stubbed: Vec<(String, usize)>,
}

fn bump(counts: &mut Vec<(String, usize)>, tag: &str) {
    match counts.iter_mut().find(|(t, _)| t == tag) {
        Some(c) => c.1 += 1,
        None => counts.push((tag.to_string(), 1)),
    }
}

fn left_out(path: &str) -> bool {
    LEFT_OUT
        .iter()
        .any(|p| path == *p || (p.ends_with('/') && path.starts_with(p)))
}

/// Writes the student repository for the solution at `root` into `out`,
/// which must not exist or be empty.
pub fn generate(root: &Path, out: &Path, solved: &[Project]) -> Result<Summary> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!("{} exists and is not empty", out.display());
    }
    let root_abs = root.canonicalize()?;
    std::fs::create_dir_all(out)?;
    if out.canonicalize()?.starts_with(&root_abs) && !is_ignored_inside(&root_abs, out)? {
        bail!(
            "{} is inside the solution tree; write the skeleton elsewhere",
            out.display()
        );
    }
    let mut summary = Summary::default();
    for rel in parts::tree_files(root)? {
        let name = rel.to_string_lossy().replace('\\', "/");
        if left_out(&name) {
            continue;
        }
        let src = root.join(&rel);
        let dst = out.join(&rel);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&src)
                .with_context(|| format!("reading {}", src.display()))?;
            let regions = markers::parse(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            count(&regions, solved, &mut summary);
            let mut rendered = markers::render(&text, &|t| is_solved(solved, t))
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            if has_stub(&regions, solved) {
                rendered = allow_unused(&rendered);
            }
            std::fs::write(&dst, rendered)?;
            std::fs::set_permissions(&dst, std::fs::metadata(&src)?.permissions())?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
        summary.files += 1;
    }
    let readme = root.join(STUDENT_README);
    if readme.is_file() {
        std::fs::copy(&readme, out.join("README.md"))?;
    }
    // The parts list of the skeleton itself: the regions a student sees.
    let parts_md = out.join(PARTS_MD);
    std::fs::create_dir_all(parts_md.parent().expect("PARTS.md has a directory"))?;
    std::fs::write(&parts_md, parts::markdown(&parts::scan(out)?))?;
    summary.kept.sort();
    summary.stubbed.sort();
    Ok(summary)
}

/// Counts the regions a student sees: a stubbed region, or a solved one
/// (and, inside it, the same again). Regions inside a stub are gone.
fn count(regions: &[markers::Region], solved: &[Project], summary: &mut Summary) {
    for r in regions {
        if is_solved(solved, &r.tag) {
            bump(&mut summary.kept, &r.tag);
            count(&r.inner, solved, summary);
        } else {
            bump(&mut summary.stubbed, &r.tag);
        }
    }
}

/// True if any region a student sees in this file is a stub.
fn has_stub(regions: &[markers::Region], solved: &[Project]) -> bool {
    regions
        .iter()
        .any(|r| !is_solved(solved, &r.tag) || has_stub(&r.inner, solved))
}

/// The lint allowance a file with stubs gets, after its `//!` docs: stubs
/// leave the file's helpers, imports and parameters unused, and a first
/// build with a hundred warnings would hide the ones that matter.
pub const ALLOW_UNUSED: &str = "\
// Added by the skeleton: until your code is in, the stubs leave helpers,
// imports and parameters unused. Delete these lines when you are done here.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]
";

fn allow_unused(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let docs = lines
        .iter()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
        .count();
    // Keep a blank line between the docs and what follows them.
    let docs = lines[..docs]
        .iter()
        .rposition(|l| l.starts_with("//!"))
        .map_or(0, |i| i + 1);
    let mut out: Vec<String> = lines[..docs].iter().map(|l| l.to_string()).collect();
    if docs > 0 {
        out.push(String::new());
    }
    out.extend(ALLOW_UNUSED.lines().map(str::to_string));
    if docs == 0 {
        out.push(String::new());
    }
    out.extend(lines[docs..].iter().map(|l| l.to_string()));
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// True if `path` inside the git checkout at `root` is ignored by git (so
/// writing a skeleton under `target/` is fine).
fn is_ignored_inside(root: &Path, path: &Path) -> Result<bool> {
    let path: PathBuf = path.canonicalize()?;
    Ok(path.starts_with(root.join("target"))
        || std::process::Command::new("git")
            .arg("check-ignore")
            .arg("-q")
            .arg(&path)
            .current_dir(root)
            .status()
            .is_ok_and(|s| s.success()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solved_projects_cover_their_tags() {
        let solved = [Project::P1, Project::P2a, Project::P3b];
        for tag in ["1", "2AA", "2AB", "2AC", "3B"] {
            assert!(is_solved(&solved, tag), "{tag}");
        }
        for tag in ["2B", "2C", "3A", "4A"] {
            assert!(!is_solved(&solved, tag), "{tag}");
        }
        assert!(is_solved(&[Project::All], "2C"));
        assert!(is_solved(&[Project::P2ab], "2AB"));
        assert!(!is_solved(&[Project::P2ab], "2AA"));
    }

    #[test]
    fn the_allowance_goes_after_the_module_docs() {
        let with_docs = allow_unused("//! Docs.\n//! More.\n\nuse x;\n");
        assert_eq!(
            with_docs,
            format!("//! Docs.\n//! More.\n\n{ALLOW_UNUSED}\nuse x;\n")
        );
        let bare = allow_unused("use x;\n");
        assert_eq!(bare, format!("{ALLOW_UNUSED}\nuse x;\n"));
    }

    #[test]
    fn leaves_out_ci_and_solution_docs() {
        assert!(left_out(".ci/run"));
        assert!(left_out("docs/perf/lab.txt"));
        assert!(left_out("docs/PERFORMANCE.md"));
        assert!(!left_out("docs/ARCHITECTURE.md"));
        assert!(!left_out("docs/course/project2b.md"));
        assert!(!left_out("raft/src/raft.rs"));
    }
}
