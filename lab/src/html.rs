//! `--html FILE`: one self-contained page to look at rather than read.
//!
//! The page carries everything inline — CSS in a `<style>`, each plot an
//! `<svg>` — and loads nothing: no script, no font, no image. It shows the
//! pass-rate table (the same cells as the terminal's, see
//! [`report::table_cells`]), and for each test a strip plot of the
//! wall-clock seconds of every run, ours on one line and the Go
//! reference's on another, coloured by outcome. A failed run's dot and its
//! line in the list under the plot link to the run's kept log, by a path
//! relative to the page, so the page and the logs can be moved together.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::report::{self, GoSide};
use crate::runner::{RunRecord, Side, Status};

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// A line saying what ran (`3 tests, 2 runs each, timeout 600s`).
    pub subtitle: String,
    pub ours: &'a [RunRecord],
    /// The Go reference's runs and the tests Go does not have, if it ran.
    pub go: Option<(&'a [RunRecord], &'a BTreeSet<String>)>,
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
p.sub { color: #555; margin: 0 0 1em; }
table { border-collapse: collapse; font-size: .85em; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; }
th { background: #eef1f5; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td:first-child { border-left: 4px solid #c62828; }
tr.good td:first-child { border-left: 4px solid #2e7d32; }
section { margin: 0 0 1.2em; }
h2 { font-size: 1.05em; margin: .6em 0 .2em; }
ul { margin: .2em 0; font-size: .85em; }
.legend span { display: inline-block; margin-right: 1.2em; }
.dot { display: inline-block; width: .8em; height: .8em; border-radius: 50%; vertical-align: middle; margin-right: .3em; }
a { color: #1a4f9c; }
";

/// Colour of a run's dot.
fn colour(status: Status) -> &'static str {
    match status {
        Status::Passed => "#2e7d32",
        Status::Failed => "#c62828",
        Status::TimedOut => "#ef6c00",
    }
}

/// Escapes text for HTML content and double-quoted attribute values (the
/// XML escaping of the JUnit report serves HTML as well).
pub fn esc(s: &str) -> String {
    report::xml_attr(s)
}

/// `target` as a link from a page in `from_dir`: a relative path when the
/// two share a root, percent-encoded where a URL needs it.
pub fn relative_link(from_dir: &Path, target: &Path) -> String {
    let abs = |p: &Path| -> PathBuf {
        p.canonicalize().unwrap_or_else(|_| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            }
        })
    };
    let (from, to) = (abs(from_dir), abs(target));
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let path = parts.join("/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A round axis end at or above `max` seconds (1, 2, 5 × 10^k).
fn axis_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&v| v >= max)
        .unwrap_or(10.0 * mag)
}

const PLOT_W: f64 = 640.0;
const PLOT_LEFT: f64 = 48.0;
const PLOT_RIGHT: f64 = 16.0;

/// The strip plot of one test: a line per side, a dot per run at its
/// wall-clock seconds, the median marked.
fn strip_plot(
    name: &str,
    rows: &[(&str, Vec<&RunRecord>)],
    links: &dyn Fn(&Path) -> String,
) -> String {
    let max = rows
        .iter()
        .flat_map(|(_, runs)| runs.iter().map(|r| r.seconds))
        .fold(0.0, f64::max);
    let top = axis_max(max);
    let row_h = 26.0;
    let height = row_h * rows.len() as f64 + 30.0;
    let span = PLOT_W - PLOT_LEFT - PLOT_RIGHT;
    let x = |secs: f64| PLOT_LEFT + span * (secs / top).clamp(0.0, 1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{PLOT_W}\" height=\"{height}\" \
         viewBox=\"0 0 {PLOT_W} {height}\" role=\"img\" aria-label=\"wall seconds of every run of {}\" \
         font-family=\"sans-serif\" font-size=\"11\">",
        esc(name)
    );
    let axis_y = row_h * rows.len() as f64 + 6.0;
    // Grid and axis: five ticks from 0 to the round maximum.
    for i in 0..=4 {
        let secs = top * f64::from(i) / 4.0;
        let tx = x(secs);
        let _ = write!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"4\" x2=\"{tx:.1}\" y2=\"{axis_y}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            axis_y + 14.0,
            trim_float(secs)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"{:.1}\" fill=\"#555\">wall s</text>",
        axis_y + 14.0
    );
    for (i, (label, runs)) in rows.iter().enumerate() {
        let cy = row_h * i as f64 + row_h / 2.0 + 2.0;
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" fill=\"#333\">{}</text>\
             <line x1=\"{PLOT_LEFT}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"#bbb\"/>",
            cy + 4.0,
            esc(label),
            PLOT_W - PLOT_RIGHT
        );
        if runs.is_empty() {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#777\">n/a</text>",
                PLOT_LEFT + 6.0,
                cy + 4.0
            );
            continue;
        }
        let mut secs: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
        secs.sort_by(f64::total_cmp);
        let mx = x(report::median(&secs));
        let _ = write!(
            svg,
            "<line x1=\"{mx:.1}\" y1=\"{:.1}\" x2=\"{mx:.1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-width=\"2\"><title>median {:.2} s</title></line>",
            cy - 10.0,
            cy + 10.0,
            report::median(&secs)
        );
        for r in runs {
            let title = format!(
                "{label} run {}: {:.2} s, {}{}",
                r.run,
                r.seconds,
                status_word(r.status),
                r.failure
                    .as_deref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default()
            );
            let dot = format!(
                "<circle cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.75\" stroke=\"#fff\"><title>{}</title></circle>",
                x(r.seconds),
                colour(r.status),
                esc(&title)
            );
            match &r.log {
                Some(log) if !r.passed() => {
                    let _ = write!(svg, "<a href=\"{}\">{dot}</a>", esc(&links(log)));
                }
                _ => svg.push_str(&dot),
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::TimedOut => "timed out",
    }
}

/// The page, for a file in `page_dir` (where its log links start from).
pub fn render(page: &Page, page_dir: &Path) -> String {
    let links = |log: &Path| relative_link(page_dir, log);
    let ours = report::summarize(page.ours);
    let go = page
        .go
        .map(|(records, not_in_go)| GoSide::new(records, not_in_go.clone()));
    let (header, cells) = report::table_cells(&ours, go.as_ref(), 160);

    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<title>tinykv-lab report</title><style>");
    html.push_str(STYLE);
    html.push_str("</style></head><body>\n<h1>tinykv-lab report</h1>\n");
    let _ = writeln!(html, "<p class=\"sub\">{}</p>", esc(&page.subtitle));
    let (passed, failed) = report::totals(page.ours);
    let mut totals = format!("ours: {passed} passed, {failed} failed");
    if let Some((records, _)) = page.go {
        let (p, f) = report::totals(records);
        let _ = write!(totals, " · Go reference: {p} passed, {f} failed");
    }
    if let Some(line) = go.as_ref().and_then(|g| report::ratio_line(&ours, g)) {
        let _ = write!(totals, " · {line}");
    }
    let _ = writeln!(html, "<p>{}</p>", esc(&totals));

    // The table: the terminal's cells, failures linked to their logs.
    html.push_str("<table><thead><tr>");
    for h in &header {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr></thead><tbody>\n");
    for (row, summary) in cells.iter().zip(&ours) {
        let go_summary = go.as_ref().and_then(|g| g.get(&summary.name));
        let bad = summary.failed > 0 || go_summary.is_some_and(|g| g.failed > 0);
        let _ = write!(html, "<tr class=\"{}\">", if bad { "bad" } else { "good" });
        for (h, cell) in header.iter().zip(row) {
            let log = match *h {
                "FIRST FAILURE" => summary.first_failure_log.as_deref(),
                "GO FIRST FAILURE" => go_summary.and_then(|g| g.first_failure_log.as_deref()),
                _ => None,
            };
            let class = if *h == "TEST" || h.ends_with("FAILURE") {
                ""
            } else {
                " class=\"num\""
            };
            match log {
                Some(log) if !cell.is_empty() => {
                    let _ = write!(
                        html,
                        "<td{class}><a href=\"{}\">{}</a></td>",
                        esc(&links(log)),
                        esc(cell)
                    );
                }
                _ => {
                    let _ = write!(html, "<td{class}>{}</td>", esc(cell));
                }
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table>\n");

    html.push_str("<p class=\"legend\">Wall-clock seconds of every run: ");
    for (status, word) in [
        (Status::Passed, "passed"),
        (Status::Failed, "failed"),
        (Status::TimedOut, "timed out"),
    ] {
        let _ = write!(
            html,
            "<span><span class=\"dot\" style=\"background:{}\"></span>{word}</span>",
            colour(status)
        );
    }
    html.push_str("<span>| median</span> (a failed run's dot links to its log)</p>\n");

    for summary in &ours {
        let name = summary.name.as_str();
        let mut rows: Vec<(&str, Vec<&RunRecord>)> = vec![("ours", runs_of(page.ours, name))];
        if let Some((records, _)) = page.go {
            rows.push(("Go", runs_of(records, name)));
        }
        let _ = write!(html, "<section><h2>{}</h2>", esc(name));
        html.push_str(&strip_plot(name, &rows, &links));
        let failures: Vec<&RunRecord> = rows
            .iter()
            .flat_map(|(_, runs)| runs.iter().copied())
            .filter(|r| !r.passed())
            .collect();
        if !failures.is_empty() {
            html.push_str("<ul>");
            for r in failures {
                let side = match r.side {
                    Side::Rust => "ours",
                    Side::Go => "Go",
                };
                let _ = write!(
                    html,
                    "<li>{side} run {} ({:.2} s, {}): {}",
                    r.run,
                    r.seconds,
                    status_word(r.status),
                    esc(r.failure.as_deref().unwrap_or("failed"))
                );
                if let Some(log) = &r.log {
                    let _ = write!(html, " — <a href=\"{}\">log</a>", esc(&links(log)));
                }
                html.push_str("</li>");
            }
            html.push_str("</ul>");
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// The runs of test `name`, in run order.
fn runs_of<'r>(records: &'r [RunRecord], name: &str) -> Vec<&'r RunRecord> {
    let mut runs: Vec<&RunRecord> = records.iter().filter(|r| r.name == name).collect();
    runs.sort_by_key(|r| r.run);
    runs
}

/// Writes the page to `path`.
pub fn write_html(path: &Path, page: &Page) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::write(path, render(page, &dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links() {
        assert_eq!(
            relative_link(Path::new("/a/b"), Path::new("/a/b/logs/T#1.log")),
            "logs/T%231.log"
        );
        assert_eq!(
            relative_link(Path::new("/a/b/c"), Path::new("/a/x y/l.log")),
            "../../x%20y/l.log"
        );
    }

    #[test]
    fn axis_ends_are_round() {
        assert_eq!(axis_max(0.0), 1.0);
        assert_eq!(axis_max(0.03), 0.05);
        assert_eq!(axis_max(1.7), 2.0);
        assert_eq!(axis_max(35.3), 50.0);
        assert_eq!(axis_max(600.0), 1000.0);
        assert_eq!(trim_float(12.5), "12.5");
        assert_eq!(trim_float(0.005), "0.005");
        assert_eq!(trim_float(50.0), "50");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;'"
        );
    }
}
