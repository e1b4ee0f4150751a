//! The list of student parts: every marked region of a source tree, with
//! the function it sits in, as `docs/course/PARTS.md` shows it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::markers::{self, Region};

/// Where the generated list lives, relative to the workspace root.
pub const PARTS_MD: &str = "docs/course/PARTS.md";

/// One marked region, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Path relative to the tree's root, with `/` separators.
    pub file: String,
    /// `Type::function`, `function`, or `(items)` outside any function.
    pub function: String,
    pub tag: String,
    pub instruction: String,
    /// 0 for a top-level region, 1 for one inside another, ...
    pub depth: usize,
}

/// The files of the tree at `root`, relative to it and sorted: git's view
/// (tracked and untracked but not ignored) in a git checkout, otherwise
/// every file outside `target/` and hidden directories.
pub fn tree_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = if root.join(".git").exists() {
        let out = Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(root)
            .stderr(Stdio::inherit())
            .output()
            .context("running git ls-files")?;
        if !out.status.success() {
            bail!("git ls-files failed in {} ({})", root.display(), out.status);
        }
        String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            // Deleted but still tracked files are listed too.
            .filter(|p| root.join(p).is_file())
            .collect()
    } else {
        let mut files = Vec::new();
        walk(root, Path::new(""), &mut files)?;
        files
    };
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(root: &Path, rel: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.') && name_str != ".gitignore" || name_str == "target" {
            continue;
        }
        let path = rel.join(&name);
        if entry.file_type()?.is_dir() {
            walk(root, &path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// Every marked region of the Rust files under `root`, in file order.
pub fn scan(root: &Path) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for file in tree_files(root)? {
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(root.join(&file))
            .with_context(|| format!("reading {}", file.display()))?;
        let regions =
            markers::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let lines: Vec<&str> = text.lines().collect();
        let name = file.to_string_lossy().replace('\\', "/");
        collect(&name, &lines, &regions, 0, &mut parts);
    }
    Ok(parts)
}

fn collect(file: &str, lines: &[&str], regions: &[Region], depth: usize, out: &mut Vec<Part>) {
    for r in regions {
        out.push(Part {
            file: file.to_string(),
            function: enclosing_function(lines, r.begin),
            tag: r.tag.clone(),
            instruction: r.instruction.clone(),
            depth,
        });
        collect(file, lines, &r.inner, depth + 1, out);
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The item keyword's name on `line`: `fn tick(` -> `tick`,
/// `impl<T: Storage> Raft<T> {` -> `Raft`, `impl Storage for PeerStorage` ->
/// `PeerStorage`.
fn item_name(line: &str, keyword: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == keyword || w.starts_with(&format!("{keyword}<")))?;
    // Only items: everything before the keyword must be a qualifier.
    let qualifiers = [
        "pub",
        "pub(crate)",
        "pub(super)",
        "async",
        "unsafe",
        "const",
        "default",
    ];
    if !words[..at].iter().all(|w| qualifiers.contains(w)) {
        return None;
    }
    let rest = &words[at + 1..];
    let target = match rest.iter().position(|w| *w == "for") {
        Some(i) if keyword == "impl" => rest.get(i + 1)?,
        _ => {
            // `impl<T: Storage> Raft<T>`: skip the generics' words.
            let mut depth: i32 =
                words[at].matches('<').count() as i32 - words[at].matches('>').count() as i32;
            let mut pick = None;
            for w in rest {
                if depth <= 0 {
                    pick = Some(*w);
                    break;
                }
                depth += w.matches('<').count() as i32 - w.matches('>').count() as i32;
            }
            pick?
        }
    };
    let name: String = target
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `Type::function` for the function around line `at`, found by walking up
/// to the nearest less-indented `fn` line and from there to its `impl`.
fn enclosing_function(lines: &[&str], at: usize) -> String {
    let mut limit = indent(lines[at]);
    let mut function = None;
    for i in (0..at).rev() {
        let line = lines[i];
        if line.trim().is_empty() || indent(line) >= limit {
            continue;
        }
        if function.is_none() {
            if let Some(name) = item_name(line.trim(), "fn") {
                function = Some(name);
                limit = indent(line);
                continue;
            }
        }
        if let Some(ty) = item_name(line.trim(), "impl") {
            return match function {
                Some(f) => format!("{ty}::{f}"),
                None => format!("{ty} (items)"),
            };
        }
        if indent(line) == 0 && function.is_some() {
            break;
        }
    }
    function.unwrap_or_else(|| "(items)".to_string())
}

/// `docs/course/PARTS.md` for `parts`.
pub fn markdown(parts: &[Part]) -> String {
    let mut s = String::from(
        "# Student parts\n\n\
         Generated by `cargo run --release --bin tinykv-lab -- parts` from the\n\
         `// student: begin <project>: ...` markers in the source; a test checks\n\
         that it is current. Each row is one region a student writes, by\n\
         project and in file order. A region \"inside a region\" sits in another\n\
         project's region of the same function: it is a part of its own only\n\
         when that other project is handed out solved.\n\n",
    );
    let mut counts: Vec<(&str, usize)> = markers::TAGS.iter().map(|t| (*t, 0)).collect();
    for p in parts {
        if let Some(c) = counts.iter_mut().find(|(t, _)| *t == p.tag) {
            c.1 += 1;
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t}: {n}"))
        .collect();
    s.push_str(&format!(
        "{} regions ({}).\n\n",
        parts.len(),
        summary.join(", ")
    ));
    for tag in markers::TAGS {
        let of_tag: Vec<&Part> = parts.iter().filter(|p| p.tag == tag).collect();
        if of_tag.is_empty() {
            continue;
        }
        s.push_str(&format!("## Project {tag}\n\n"));
        s.push_str("| file | function | what to write |\n|---|---|---|\n");
        for p in of_tag {
            let inside = if p.depth > 0 {
                " (inside a region)"
            } else {
                ""
            };
            s.push_str(&format!(
                "| `{}` | `{}`{inside} | {} |\n",
                p.file,
                p.function,
                p.instruction.replace('|', "\\|")
            ));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names() {
        assert_eq!(
            item_name("pub fn tick(&mut self) {", "fn").as_deref(),
            Some("tick")
        );
        assert_eq!(
            item_name(
                "pub(crate) fn send_append(&mut self, to: u64) -> bool {",
                "fn"
            )
            .as_deref(),
            Some("send_append")
        );
        assert_eq!(
            item_name("impl<T: Storage> Raft<T> {", "impl").as_deref(),
            Some("Raft")
        );
        assert_eq!(
            item_name("impl<'a> PeerMsgHandler<'a> {", "impl").as_deref(),
            Some("PeerMsgHandler")
        );
        assert_eq!(
            item_name("impl Storage for PeerStorage {", "impl").as_deref(),
            Some("PeerStorage")
        );
        assert_eq!(item_name("let f = fn_ptr;", "fn"), None);
    }

    #[test]
    fn functions_around_regions() {
        let text = "impl<T: Storage> Raft<T> {\n    /// Doc.\n    pub fn tick(&mut self) {\n        match x {\n            // student: begin 2AA: a\n            // student: end\n        }\n    }\n}\nfn free() {\n    // student: begin 1: b\n    // student: end\n}\n// student: begin 3B: c\n// student: end\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(enclosing_function(&lines, 4), "Raft::tick");
        assert_eq!(enclosing_function(&lines, 10), "free");
        assert_eq!(enclosing_function(&lines, 13), "(items)");
    }
}
