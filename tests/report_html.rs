//! Every shipped `report.html`, opened in a real headless browser (Chromium): the page needs
//! nothing beside it (every image decodes from a `data:` URI, nothing is fetched), its first
//! lines are the title and the same verdict lines as `report.md`, and its sections open and
//! close, one at a time and all at once.
//!
//! Needs Chromium (Debian's `chromium`; or `ETCDLAB_CHROMIUM` naming the browser); without it
//! the test says SKIPPED loudly and passes. `.ci/run` installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::repo_root;
use serde_json::Value;

fn skip(why: &str) {
    let stars = "*".repeat(65);
    eprintln!(
        "\n{stars}\nSKIPPED: report_html: {why}; report.html was NOT checked in a browser \
         (install Debian's chromium, or set ETCDLAB_CHROMIUM)\n{stars}\n"
    );
}

/// The browser: `ETCDLAB_CHROMIUM`, else the first Chromium or Chrome on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ETCDLAB_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH")?).collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
}

/// A page that loads each report in a frame, inspects it as a reader's browser shows it, and
/// writes what it found as JSON into `<pre id="result">`.
const HARNESS: &str = r#"<!DOCTYPE html><html><body><pre id="result">pending</pre>
<script>
const pages = PAGES;
const results = [];
let left = pages.length;
for (const url of pages) {
  const frame = document.createElement('iframe');
  frame.style.width = '1200px';
  frame.style.height = '800px';
  frame.onload = () => {
    let r;
    try { r = inspect(url, frame.contentDocument); } catch (e) { r = {url, error: String(e)}; }
    results.push(r);
    if (--left === 0) document.getElementById('result').textContent = JSON.stringify(results);
  };
  frame.src = url;
  document.body.appendChild(frame);
}
function inspect(url, d) {
  if (!d) return {url, error: 'the frame cannot be read'};
  const images = [...d.images];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt || i.src);
  const fetched = [...d.querySelectorAll('[src], link[href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href'))
    .filter(s => !s.startsWith('data:'));
  const sections = [...d.querySelectorAll('details.section')];
  let toggles = sections.length > 0;
  for (const s of sections) {
    const before = s.open;
    s.querySelector('summary').click();
    toggles = toggles && s.open !== before;
    s.querySelector('summary').click();
  }
  const buttons = [...d.querySelectorAll('.toolbar button')];
  if (buttons[1]) buttons[1].click();
  const closeAll = buttons.length === 2 && sections.every(s => !s.open);
  if (buttons[0]) buttons[0].click();
  const openAll = buttons.length === 2 && sections.every(s => s.open);
  const lines = d.body.innerText.split('\n').map(l => l.trim()).filter(l => l);
  return {url, title: d.title, images: images.length, broken, fetched,
          sections: sections.length, toggles, closeAll, openAll, first: lines.slice(0, 3)};
}
</script></body></html>
"#;

/// What the harness found for each page, in the order of `pages`.
fn inspect_in_browser(browser: &Path, pages: &[PathBuf]) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let urls: Vec<String> = pages
        .iter()
        .map(|p| format!("file://{}", p.display()))
        .collect();
    let harness = tmp.path().join("harness.html");
    let page = HARNESS.replace("PAGES", &serde_json::to_string(&urls).unwrap());
    std::fs::write(&harness, page).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The harness reads the reports' frames, which are file:// pages too.
            "--allow-file-access-from-files",
            "--virtual-time-budget=60000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", harness.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split_once("<pre id=\"result\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .unwrap_or_else(|| {
            panic!(
                "{} printed no result (exit {:?}):\n{dom}\n{}",
                browser.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut found: Vec<Value> = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the harness wrote no JSON ({e}): {json}"));
    found.sort_by_key(|r| urls.iter().position(|u| r["url"] == *u.as_str()));
    assert_eq!(found.len(), pages.len(), "{json}");
    found
}

/// The title and verdict lines of `report.md` as a browser shows them (without `**` and `` ` ``).
fn md_first_lines(md: &str) -> Vec<String> {
    md.lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| {
            l.trim_start_matches("# ")
                .replace("**", "")
                .replace('`', "")
        })
        .collect()
}

#[test]
fn every_shipped_report_html_reads_alone_in_a_browser() {
    let Some(browser) = chromium() else {
        return skip("no chromium on PATH");
    };
    let reports = repo_root().join("reports");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path().join("report.html"))
        .filter(|p| p.is_file())
        .collect();
    pages.sort();
    assert!(
        pages.len() >= 25,
        "only {} report.html under reports/",
        pages.len()
    );
    let mut failures = Vec::new();
    for (page, found) in pages.iter().zip(inspect_in_browser(&browser, &pages)) {
        let md = std::fs::read_to_string(page.with_file_name("report.md")).unwrap();
        let expected = md_first_lines(&md);
        let problems = [
            (
                found.get("error").is_some(),
                "the page could not be inspected",
            ),
            (
                found["first"] != serde_json::json!(expected),
                "its first lines are not report.md's",
            ),
            (
                found["images"].as_u64() < Some(3),
                "it shows fewer than 3 charts",
            ),
            (
                found["broken"] != serde_json::json!([]),
                "an image does not decode",
            ),
            (
                found["fetched"] != serde_json::json!([]),
                "it loads a file from beside it",
            ),
            (
                found["sections"].as_u64() < Some(4),
                "it has fewer than 4 sections",
            ),
            (
                found["toggles"] != true,
                "a section does not open and close",
            ),
            (
                found["closeAll"] != true || found["openAll"] != true,
                "the toolbar does not work",
            ),
        ];
        for (bad, what) in problems {
            if bad {
                failures.push(format!("{}: {what}: {found}", page.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check itself can fail: a page whose chart is a file beside it, not inside it.
#[test]
fn a_page_with_a_chart_beside_it_is_caught() {
    let Some(browser) = chromium() else {
        return skip("no chromium on PATH");
    };
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("report.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>t</title><h1>t</h1><img alt=\"chart\" src=\"chart.png\">",
    )
    .unwrap();
    let found = &inspect_in_browser(&browser, &[page])[0];
    assert_eq!(found["broken"], serde_json::json!(["chart"]), "{found}");
    assert_eq!(
        found["fetched"],
        serde_json::json!(["chart.png"]),
        "{found}"
    );
    assert_eq!(found["sections"], 0, "{found}");
}
