//! Solution markers: the comment lines that fence off the student parts of
//! the solution, and the rewrite that turns the solution into a skeleton.
//!
//! A region is a run of lines between a begin and an end marker:
//!
//! ```text
//! // student: begin 2AA: <what the student writes here, one line>
//! ...solution...
//! // student: end
//! ```
//!
//! In a skeleton an unsolved region keeps its two markers and its solution
//! becomes `todo!("2AA: <instruction>");`. A region may instead give its
//! own stub after a `// student: stub` line, as commented-out code (each
//! line `// ` + code); the skeleton then holds that code, uncommented. An
//! empty stub section means "nothing": the region's solution is simply left
//! out, which suits helpers and match arms that the rest compiles without.
//! Regions nest; a solved outer region keeps its inner ones as regions of
//! their own.
//!
//! Markers are ordinary `//` comments, so the solution compiles and
//! `cargo fmt` leaves them where they are.

use std::fmt;

/// The projects a marker may name, as TinyKV's tests spell their suffix.
pub const TAGS: [&str; 11] = [
    "1", "2AA", "2AB", "2AC", "2B", "2C", "3A", "3B", "4A", "4B", "4C",
];

const PREFIX: &str = "// student:";

/// One marked region of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The project that owns the region (one of [`TAGS`]).
    pub tag: String,
    /// The one-line instruction of the begin marker.
    pub instruction: String,
    /// 0-based line of the begin marker.
    pub begin: usize,
    /// 0-based line of the `stub` marker, if the region gives its own stub.
    pub stub: Option<usize>,
    /// 0-based line of the end marker.
    pub end: usize,
    /// Regions directly inside this one.
    pub inner: Vec<Region>,
}

/// A malformed marker, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for MarkerError {}

enum Marker<'a> {
    Begin { tag: &'a str, instruction: &'a str },
    Stub,
    End,
}

/// Reads a marker line; `Ok(None)` for any other line.
fn marker(line: &str, number: usize) -> Result<Option<Marker<'_>>, MarkerError> {
    let Some(rest) = line.trim_start().strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let err = |message: String| MarkerError {
        line: number + 1,
        message,
    };
    let rest = rest.trim();
    if rest == "stub" {
        return Ok(Some(Marker::Stub));
    }
    if rest == "end" {
        return Ok(Some(Marker::End));
    }
    let Some(begin) = rest.strip_prefix("begin ") else {
        return Err(err(format!(
            "unknown marker {:?}: expected `begin TAG: instruction`, `stub` or `end`",
            line.trim()
        )));
    };
    let Some((tag, instruction)) = begin.split_once(':') else {
        return Err(err(format!(
            "begin marker without `TAG: instruction`: {:?}",
            line.trim()
        )));
    };
    let (tag, instruction) = (tag.trim(), instruction.trim());
    if !TAGS.contains(&tag) {
        return Err(err(format!(
            "unknown project {tag:?} (expected one of {})",
            TAGS.join(", ")
        )));
    }
    if instruction.is_empty() {
        return Err(err("begin marker without an instruction".into()));
    }
    Ok(Some(Marker::Begin { tag, instruction }))
}

/// Parses every region of `text` (top-level regions, each with its inner
/// ones).
pub fn parse(text: &str) -> Result<Vec<Region>, MarkerError> {
    let mut open: Vec<Region> = Vec::new();
    let mut done: Vec<Region> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match marker(line, i)? {
            None => {
                // Inside a stub section every line must be commented out.
                if let Some(r) = open.last() {
                    if r.stub.is_some() && !line.trim_start().starts_with("//") {
                        return Err(MarkerError {
                            line: i + 1,
                            message: "stub lines must be `//` comments".into(),
                        });
                    }
                }
            }
            Some(Marker::Begin { tag, instruction }) => {
                if open.last().is_some_and(|r| r.stub.is_some()) {
                    return Err(MarkerError {
                        line: i + 1,
                        message: "a region cannot begin inside a stub section".into(),
                    });
                }
                open.push(Region {
                    tag: tag.to_string(),
                    instruction: instruction.to_string(),
                    begin: i,
                    stub: None,
                    end: i,
                    inner: Vec::new(),
                });
            }
            Some(Marker::Stub) => match open.last_mut() {
                Some(r) if r.stub.is_none() => r.stub = Some(i),
                Some(_) => {
                    return Err(MarkerError {
                        line: i + 1,
                        message: "second stub marker in one region".into(),
                    })
                }
                None => {
                    return Err(MarkerError {
                        line: i + 1,
                        message: "stub marker outside a region".into(),
                    })
                }
            },
            Some(Marker::End) => {
                let Some(mut r) = open.pop() else {
                    return Err(MarkerError {
                        line: i + 1,
                        message: "end marker without a begin".into(),
                    });
                };
                r.end = i;
                match open.last_mut() {
                    Some(parent) => parent.inner.push(r),
                    None => done.push(r),
                }
            }
        }
    }
    if let Some(r) = open.last() {
        return Err(MarkerError {
            line: r.begin + 1,
            message: format!("region {} is never closed", r.tag),
        });
    }
    Ok(done)
}

/// The stub of an unsolved region: its own stub lines uncommented, or a
/// `todo!` that names the project and says what to write.
fn stub_lines(lines: &[&str], r: &Region, out: &mut Vec<String>) {
    match r.stub {
        Some(s) => {
            for line in &lines[s + 1..r.end] {
                out.push(uncomment(line));
            }
        }
        None => {
            let indent =
                &lines[r.begin][..lines[r.begin].len() - lines[r.begin].trim_start().len()];
            out.push(format!(
                "{indent}todo!(\"{}\");",
                escape_format(&format!("{}: {}", r.tag, r.instruction))
            ));
        }
    }
}

/// `    // code` -> `    code` (and `    //` -> empty).
fn uncomment(line: &str) -> String {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let code = body.strip_prefix("//").unwrap_or(body);
    let code = code.strip_prefix(' ').unwrap_or(code);
    if code.is_empty() {
        String::new()
    } else {
        format!("{indent}{code}")
    }
}

/// A string literal's body that `todo!` takes verbatim as a format string.
fn escape_format(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "{{")
        .replace('}', "}}")
}

/// Rewrites `text` for a skeleton: every region whose project `solved`
/// accepts keeps its solution; every other one gets its stub. The begin and
/// end markers stay, so the skeleton shows where to write.
pub fn render(text: &str, solved: &dyn Fn(&str) -> bool) -> Result<String, MarkerError> {
    let regions = parse(text)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut next = 0;
    emit(&lines, &regions, solved, &mut next, lines.len(), &mut out);
    let mut s = out.join("\n");
    if text.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// Emits lines `[*next, until)`, rewriting the regions that start there.
fn emit(
    lines: &[&str],
    regions: &[Region],
    solved: &dyn Fn(&str) -> bool,
    next: &mut usize,
    until: usize,
    out: &mut Vec<String>,
) {
    for r in regions {
        out.extend(lines[*next..r.begin].iter().map(|l| l.to_string()));
        out.push(lines[r.begin].to_string());
        if solved(&r.tag) {
            // The solution up to the stub section (or the end), with its
            // inner regions rewritten in turn; the stub section is kept.
            let solution_end = r.stub.unwrap_or(r.end);
            *next = r.begin + 1;
            emit(lines, &r.inner, solved, next, solution_end, out);
            out.extend(lines[*next..=r.end].iter().map(|l| l.to_string()));
        } else {
            stub_lines(lines, r, out);
            out.push(lines[r.end].to_string());
        }
        *next = r.end + 1;
    }
    out.extend(lines[*next..until].iter().map(|l| l.to_string()));
    *next = until;
}

/// Every region of `regions`, inner ones included, in file order.
pub fn flatten(regions: &[Region]) -> Vec<&Region> {
    let mut all = Vec::new();
    for r in regions {
        all.push(r);
        all.extend(flatten(&r.inner));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SOLUTION: &str = "fn tick(&mut self) {\n    // student: begin 2AA: advance the clock; campaign on {timeout}\n    self.elapsed += 1;\n    // student: begin 3A: give up a stale transfer\n    self.transferee = 0;\n    // student: stub\n    // student: end\n    // student: end\n}\nfn ready(&self) -> u32 {\n    // student: begin 2AC: build the Ready\n    7\n    // student: stub\n    // 0\n    // student: end\n}\n";

    fn solved_only(tags: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |t| tags.contains(&t)
    }

    #[test]
    fn parses_nested_regions() {
        let regions = parse(SOLUTION).unwrap();
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].tag, "2AA");
        assert_eq!(
            regions[0].instruction,
            "advance the clock; campaign on {timeout}"
        );
        assert_eq!((regions[0].begin, regions[0].end), (1, 7));
        assert_eq!(regions[0].inner[0].tag, "3A");
        assert_eq!(regions[0].inner[0].stub, Some(5));
        assert_eq!(regions[1].stub, Some(12));
        assert_eq!(flatten(&regions).len(), 3);
    }

    #[test]
    fn everything_solved_is_the_solution() {
        assert_eq!(render(SOLUTION, &|_| true).unwrap(), SOLUTION);
    }

    #[test]
    fn unsolved_regions_become_stubs() {
        let skeleton = render(SOLUTION, &|_| false).unwrap();
        let want = "fn tick(&mut self) {\n    // student: begin 2AA: advance the clock; campaign on {timeout}\n    todo!(\"2AA: advance the clock; campaign on {{timeout}}\");\n    // student: end\n}\nfn ready(&self) -> u32 {\n    // student: begin 2AC: build the Ready\n    0\n    // student: end\n}\n";
        assert_eq!(skeleton, want);
        // The markers stay, so a skeleton still parses into its regions.
        assert_eq!(flatten(&parse(&skeleton).unwrap()).len(), 2);
    }

    #[test]
    fn an_inner_region_is_stubbed_inside_a_solved_outer_one() {
        let skeleton = render(SOLUTION, &solved_only(&["2AA", "2AC"])).unwrap();
        let want = "fn tick(&mut self) {\n    // student: begin 2AA: advance the clock; campaign on {timeout}\n    self.elapsed += 1;\n    // student: begin 3A: give up a stale transfer\n    // student: end\n    // student: end\n}\nfn ready(&self) -> u32 {\n    // student: begin 2AC: build the Ready\n    7\n    // student: stub\n    // 0\n    // student: end\n}\n";
        assert_eq!(skeleton, want);
    }

    #[test]
    fn malformed_markers_are_errors() {
        let cases = [
            ("// student: end\n", 1, "end marker without a begin"),
            ("// student: begin 2AA: x\n", 1, "never closed"),
            (
                "// student: begin 9Z: x\n// student: end\n",
                1,
                "unknown project",
            ),
            ("// student: begin 2B x\n", 1, "without `TAG: instruction`"),
            (
                "// student: begin 2B: x\n// student: stub\nfoo();\n// student: end\n",
                3,
                "must be `//` comments",
            ),
            ("// student: stub\n", 1, "outside a region"),
            ("// student: finish\n", 1, "unknown marker"),
        ];
        for (text, line, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(needle), "{text:?}: {}", e.message);
        }
    }

    #[test]
    fn todo_text_is_a_plain_format_string() {
        assert_eq!(escape_format(r#"a "b" {c} \d"#), r#"a \"b\" {{c}} \\d"#);
        assert_eq!(uncomment("    // x + 1"), "    x + 1");
        assert_eq!(uncomment("    //"), "");
    }
}
