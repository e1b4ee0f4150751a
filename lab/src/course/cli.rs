//! The `skeleton` and `parts` subcommands of `tinykv-lab`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::{parts, skeleton};
use crate::select::Project;

/// Write a student repository: the solution with every unsolved marked
/// region replaced by its stub.
#[derive(Debug, Clone, Args)]
pub struct SkeletonArgs {
    /// Where to write it (must not exist, or be empty).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,

    /// Projects whose solution is kept, comma separated (e.g. `1,2a`).
    #[arg(long, value_delimiter = ',', value_name = "PROJECTS")]
    pub solved: Vec<Project>,

    /// The solution's root [default: the workspace this runs from].
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

/// Write docs/course/PARTS.md, the list of marked regions.
#[derive(Debug, Clone, Args)]
pub struct PartsArgs {
    /// Only check that it is current (exit status 1 if not).
    #[arg(long)]
    pub check: bool,

    /// The tree's root [default: the workspace this runs from].
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

/// The workspace root: the directory of `cargo locate-project --workspace`,
/// else the current directory.
fn workspace_root(from: &Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = from {
        return Ok(dir.clone());
    }
    let out = std::process::Command::new(crate::discover::cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output();
    if let Ok(out) = out {
        if out.status.success() {
            let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if let Some(dir) = manifest.parent() {
                return Ok(dir.to_path_buf());
            }
        }
    }
    std::env::current_dir().context("current directory")
}

pub fn skeleton(args: &SkeletonArgs) -> Result<()> {
    let root = workspace_root(&args.from)?;
    let started = std::time::Instant::now();
    let summary = skeleton::generate(&root, &args.out, &args.solved)?;
    let list = |counts: &[(String, usize)]| {
        if counts.is_empty() {
            return "none".to_string();
        }
        counts
            .iter()
            .map(|(t, n)| format!("{t} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "tinykv-lab: wrote {} files to {} in {:.1}s",
        summary.files,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("  stubbed regions: {}", list(&summary.stubbed));
    eprintln!("  solved regions:  {}", list(&summary.kept));
    eprintln!(
        "next: cd {} && make project2aa   (see README.md and docs/course/)",
        args.out.display()
    );
    Ok(())
}

/// Returns false when `--check` finds the file stale.
pub fn parts(args: &PartsArgs) -> Result<bool> {
    let root = workspace_root(&args.from)?;
    let want = parts::markdown(&parts::scan(&root)?);
    let path = root.join(parts::PARTS_MD);
    if args.check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            eprintln!(
                "tinykv-lab: {} is stale; run `tinykv-lab parts`",
                path.display()
            );
            return Ok(false);
        }
        return Ok(true);
    }
    let Some(dir) = path.parent() else {
        bail!("bad path {}", path.display());
    };
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, want)?;
    eprintln!("tinykv-lab: wrote {}", path.display());
    Ok(true)
}
