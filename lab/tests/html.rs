//! The `--html` page in a real browser: headless Chromium (Debian's
//! `chromium` package) takes a screenshot of it, which must not be blank.
//! Where Chromium is not installed the test says so and skips.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use tinykv_lab::html::{self, Page};
use tinykv_lab::{RunRecord, Side, Status};

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 800;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| tinykv_lab::goref::find_in_path(name, &path))
}

/// Screenshots `page` (a file) at WIDTH x HEIGHT into `png`.
fn screenshot(chromium: &Path, page: &Path, png: &Path, profile: &Path) {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        png.exists(),
        "chromium made no screenshot ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Width, height and the summed size of the compressed image data of a
/// PNG, read from its chunks.
fn png_facts(bytes: &[u8]) -> (u32, u32, usize) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut at, mut size, mut idat) = (8, None, 0);
    while at + 8 <= bytes.len() {
        let len = be(&bytes[at..]) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => size = Some((be(data), be(&data[4..]))),
            b"IDAT" => idat += len,
            _ => {}
        }
        at += 12 + len;
    }
    let (w, h) = size.expect("a PNG starts with IHDR");
    (w, h, idat)
}

fn record(
    name: &str,
    side: Side,
    run: u32,
    status: Status,
    secs: f64,
    log: Option<&Path>,
) -> RunRecord {
    RunRecord {
        name: name.into(),
        binary: match side {
            Side::Rust => "tinykv/test_test".into(),
            Side::Go => "go:kv/test_raftstore".into(),
        },
        side,
        run,
        status,
        seconds: secs,
        failure: (status != Status::Passed).then(|| "region 7 is not split".to_string()),
        log: log.map(Path::to_path_buf),
        max_rss_kib: Some(20_000),
        cpu_secs: Some(secs * 1.3),
        reported_secs: None,
        ops: None,
        virtual_secs: None,
        seed: None,
    }
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let log = root.join("logs/TestOneSplit3B.run2.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "--- FAIL: TestOneSplit3B\n").unwrap();

    let mut ours = Vec::new();
    let mut go = Vec::new();
    for run in 1..=5 {
        let bad = run == 2;
        let status = if bad { Status::Failed } else { Status::Passed };
        ours.push(record(
            "TestOneSplit3B",
            Side::Rust,
            run,
            status,
            1.0 + f64::from(run) * 0.1,
            bad.then_some(log.as_path()),
        ));
        ours.push(record(
            "TestLeaderElection2AA",
            Side::Rust,
            run,
            Status::Passed,
            0.02,
            None,
        ));
        ours.push(record(
            "TestNotInGo2B",
            Side::Rust,
            run,
            Status::Passed,
            3.0,
            None,
        ));
        go.push(record(
            "TestOneSplit3B",
            Side::Go,
            run,
            Status::Passed,
            1.7 + f64::from(run) * 0.05,
            None,
        ));
        go.push(record(
            "TestLeaderElection2AA",
            Side::Go,
            run,
            Status::Passed,
            0.01,
            None,
        ));
    }
    let not_in_go: BTreeSet<String> = ["TestNotInGo2B".to_string()].into();
    let page = Page {
        subtitle: "3 tests, 5 runs each, 1 run at a time, timeout 600s".into(),
        ours: &ours,
        go: Some((&go, &not_in_go)),
    };
    let html_path = root.join("report.html");
    html::write_html(&html_path, &page).unwrap();
    let text = std::fs::read_to_string(&html_path).unwrap();
    assert!(
        text.contains("href=\"logs/TestOneSplit3B.run2.log\""),
        "{text}"
    );
    assert_eq!(text.matches("<svg").count(), 3);
    for external in ["<script", "<link", "@import", "url(", "src="] {
        assert!(!text.contains(external), "{external} in the page");
    }

    let Some(chromium) = chromium() else {
        println!(
            "SKIPPED the_html_report_renders_in_headless_chromium: no chromium on PATH \
             (Debian: apt-get install chromium)"
        );
        return;
    };
    let png = root.join("report.png");
    screenshot(&chromium, &html_path, &png, &root.join("profile"));
    let (w, h, idat) = png_facts(&std::fs::read(&png).unwrap());
    assert_eq!((w, h), (WIDTH, HEIGHT));

    // A blank page of the same size, the baseline: it compresses to next
    // to nothing, a page with a table, text and plots does not.
    let blank = root.join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_png = root.join("blank.png");
    screenshot(&chromium, &blank, &blank_png, &root.join("profile"));
    let (_, _, blank_idat) = png_facts(&std::fs::read(&blank_png).unwrap());
    assert!(
        idat > 10 * blank_idat.max(1) && idat > 20_000,
        "the report's screenshot looks blank: {idat} bytes of image data, a blank page {blank_idat}"
    );
    if let Ok(keep) = std::env::var("LAB_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
