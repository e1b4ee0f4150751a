//! The course kit against the real source tree: the parts list is current,
//! and a skeleton rewrites exactly the marked regions.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use tinykv_lab::course::{markers, parts, skeleton};
use tinykv_lab::Project;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("lab/ has a parent")
        .to_path_buf()
}

#[test]
fn parts_md_is_current() {
    let root = workspace_root();
    let want = parts::markdown(&parts::scan(&root).unwrap());
    let path = root.join(parts::PARTS_MD);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: regenerate it with `cargo run --release --bin tinykv-lab -- parts`",
        path.display()
    );
}

#[test]
fn every_project_has_parts() {
    let parts = parts::scan(&workspace_root()).unwrap();
    for tag in [
        "1", "2AA", "2AB", "2AC", "2B", "2C", "3A", "3B", "4A", "4B", "4C",
    ] {
        assert!(parts.iter().any(|p| p.tag == tag), "no region of {tag}");
    }
    // Every region sits in a function the student can find by name.
    for p in &parts {
        assert!(!p.function.contains("(items)"), "{p:?}");
    }
}

#[test]
fn a_skeleton_with_everything_solved_is_the_solution() {
    let root = workspace_root();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("solved");
    skeleton::generate(&root, &dir, &[Project::All]).unwrap();
    for rel in parts::tree_files(&root).unwrap() {
        let name = rel.to_string_lossy().replace('\\', "/");
        if skeleton::LEFT_OUT
            .iter()
            .any(|p| name == *p || (p.ends_with('/') && name.starts_with(p)))
            || name == "README.md"
        {
            continue;
        }
        let a = std::fs::read(root.join(&rel)).unwrap();
        let b = std::fs::read(dir.join(&rel)).unwrap_or_default();
        assert!(a == b, "{name} differs from the solution");
    }
}

#[test]
fn a_stubbed_skeleton_keeps_no_solution_line() {
    let root = workspace_root();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("student");
    let summary = skeleton::generate(&root, &dir, &[]).unwrap();
    assert!(summary.kept.is_empty(), "{:?}", summary.kept);
    let stubbed: usize = summary.stubbed.iter().map(|(_, n)| n).sum();
    // Regions nested in another project's region go with their parent.
    let top_level = parts::scan(&root)
        .unwrap()
        .iter()
        .filter(|p| p.depth == 0)
        .count();
    assert_eq!(stubbed, top_level);
    // Each top-level region of the solution is now its stub: two markers
    // around a `todo!` naming its project, or around the given stub lines.
    for rel in parts::tree_files(&dir).unwrap() {
        if rel.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&rel)).unwrap();
        for r in markers::parse(&text).unwrap() {
            assert!(r.inner.is_empty(), "{}: nested region left", rel.display());
            let body: Vec<&str> = text.lines().collect::<Vec<_>>()[r.begin + 1..r.end].to_vec();
            if let [line] = body.as_slice() {
                if line.trim_start().starts_with("todo!(") {
                    assert!(
                        line.contains(&format!("\"{}: ", r.tag)),
                        "{}: {line}",
                        rel.display()
                    );
                }
            }
        }
    }
    assert!(dir.join("README.md").is_file());
    assert!(!dir.join(".ci").exists());
    assert!(dir.join(parts::PARTS_MD).is_file());
}

/// Writes docs/course/PARTS.md (`TINYKV_WRITE_PARTS=1 cargo test ...`), the
/// same as `tinykv-lab parts`.
#[test]
fn write_parts_md_on_request() {
    if std::env::var_os("TINYKV_WRITE_PARTS").is_none() {
        return;
    }
    let root = workspace_root();
    let md = parts::markdown(&parts::scan(&root).unwrap());
    std::fs::write(root.join(parts::PARTS_MD), md).unwrap();
}
