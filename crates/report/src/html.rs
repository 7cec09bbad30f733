//! `report.html`: `report.md` for people who would rather click than scroll. One file that needs
//! nothing beside it: the charts are inlined as `data:` URIs and each `##` section is a
//! `<details>` element that opens and closes. It is made from the Markdown, so the two always
//! say the same thing, the verdict lines first.

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;
use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Sections of more Markdown lines than this start closed (a storm's timeline, long warning
/// lists); shorter ones start open, so the page reads like `report.md` until one is closed.
const OPEN_MAX_LINES: usize = 60;

/// A file the report links to and that the page carries inside it (a chart).
pub struct Asset {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// The page for `markdown` (as `markdown()` writes it); images and links whose target is in
/// `assets` are inlined.
pub fn html(markdown: &str, assets: &BTreeMap<String, Asset>) -> String {
    let (head, sections) = split_sections(markdown);
    let title = head
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("etcdlab run")
        .trim();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    out.push_str(&render(head, assets));
    out.push_str(TOOLBAR);
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for section in &sections {
        let n = ids.entry(slug(section.title)).or_insert(0);
        *n += 1;
        let id = match *n {
            1 => slug(section.title),
            k => format!("{}-{k}", slug(section.title)),
        };
        let open = if section.body.lines().count() > OPEN_MAX_LINES {
            ""
        } else {
            " open"
        };
        let heading = render(&format!("## {}", section.title), assets);
        let _ = write!(
            out,
            "<details class=\"section\" id=\"{id}\"{open}>\n<summary>{}</summary>\n{}</details>\n",
            heading.trim_end(),
            render(&section.body, assets)
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;max-width:1240px;margin:1.5em auto;\
padding:0 1em;line-height:1.45;color:#1b1f23}\
h1{font-size:1.6em}\
table{border-collapse:collapse;margin:.6em 0}\
th,td{border:1px solid #d0d7de;padding:.2em .6em;vertical-align:top}\
th{background:#f6f8fa}\
code{background:#f2f4f6;padding:0 .2em;border-radius:3px}\
pre{background:#f6f8fa;padding:.6em;overflow:auto}\
pre code{background:none;padding:0}\
img{max-width:100%;height:auto}\
details.section{border-top:1px solid #d0d7de;padding:.2em 0}\
details.section>summary{cursor:pointer}\
details.section>summary h2{display:inline;font-size:1.3em;margin:0}\
.toolbar{margin:1em 0}\
.toolbar button{font:inherit;margin-right:.5em}";

/// Open or close every section at once.
const TOOLBAR: &str = "<p class=\"toolbar\">\
<button type=\"button\" onclick=\"document.querySelectorAll('details.section').forEach(d=>d.open=true)\">Open all sections</button>\
<button type=\"button\" onclick=\"document.querySelectorAll('details.section').forEach(d=>d.open=false)\">Close all sections</button>\
</p>\n";

struct Section<'a> {
    title: &'a str,
    body: String,
}

/// The text before the first `## ` heading, and each `## ` section (title, body). Headings are
/// found by the Markdown parser, so a `## ` line in a code block (or after a stray fence in a
/// scenario's note) is never one; only `## ` headings at the start of a line split.
fn split_sections(markdown: &str) -> (&str, Vec<Section<'_>>) {
    let mut headings: Vec<std::ops::Range<usize>> = Vec::new();
    for (event, range) in Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter() {
        let at_line_start = range.start == 0 || markdown.as_bytes()[range.start - 1] == b'\n';
        if let Event::Start(Tag::Heading {
            level: HeadingLevel::H2,
            ..
        }) = event
        {
            if at_line_start && markdown[range.clone()].starts_with("## ") {
                headings.push(range);
            }
        }
    }
    let head_end = headings.first().map_or(markdown.len(), |h| h.start);
    let sections = (headings.iter().enumerate())
        .map(|(i, h)| {
            let body_end = headings
                .get(i + 1)
                .map_or(markdown.len(), |next| next.start);
            Section {
                title: markdown[h.clone()].trim_start_matches("## ").trim(),
                body: markdown[h.end..body_end].to_string(),
            }
        })
        .collect();
    (&markdown[..head_end], sections)
}

/// What became of a link or image of the Markdown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Became {
    Kept,
    /// A link or image to an asset: drawn inline.
    Inline,
    /// An image that is not an asset: a link to it, so the page fetches nothing.
    Link,
    /// A link with a scheme other than http(s) or mailto (`javascript:`...): its text alone.
    Text,
}

/// Markdown to HTML, with images (and links to images, such as a checker's failure picture)
/// whose target is an asset drawn inline. Nothing else is fetched: other images become links,
/// and links that could run code lose their target.
fn render(markdown: &str, assets: &BTreeMap<String, Asset>) -> String {
    // What each open link and image became, so its end tag matches.
    let mut open: Vec<Became> = Vec::new();
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Start(tag @ (Tag::Image { .. } | Tag::Link { .. })) => {
            let was_image = matches!(tag, Tag::Image { .. });
            let (Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }
            | Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) = tag
            else {
                unreachable!("matched above")
            };
            // A link is drawn inline only when it points at a picture of the report's.
            let inline =
                data_uri(&dest_url, assets).filter(|_| was_image || is_image(&dest_url, assets));
            let became = match (inline, safe_link(&dest_url), was_image) {
                (Some(uri), _, _) => {
                    open.push(Became::Inline);
                    let dest_url = CowStr::from(uri);
                    return Event::Start(Tag::Image {
                        link_type,
                        dest_url,
                        title,
                        id,
                    });
                }
                (None, true, true) => Became::Link,
                (None, true, false) => Became::Kept,
                (None, false, _) => Became::Text,
            };
            open.push(became);
            match became {
                Became::Text => Event::Text(CowStr::from("")),
                _ => Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }),
            }
        }
        Event::End(end @ (TagEnd::Link | TagEnd::Image)) => match open.pop() {
            Some(Became::Inline) => Event::End(TagEnd::Image),
            Some(Became::Link) => Event::End(TagEnd::Link),
            Some(Became::Text) => Event::Text(CowStr::from("")),
            _ => Event::End(end),
        },
        Event::Html(raw) if !is_own_markup(&raw) => Event::Text(raw),
        Event::InlineHtml(raw) if !is_own_markup(&raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// A link target a reader may follow: a relative path (a file of the report's folder), a
/// fragment, or http(s)/mailto.
fn safe_link(target: &str) -> bool {
    match target.split_once(':') {
        None => true,
        Some((scheme, _)) if scheme.contains(['/', '?', '#']) => true,
        Some((scheme, _)) => {
            matches!(
                scheme.to_ascii_lowercase().as_str(),
                "http" | "https" | "mailto"
            )
        }
    }
}

/// The only raw HTML `report.md` writes is `<details>`/`<summary>`; anything else came from a
/// scenario's text (a note, a description) and is shown as text, never run as markup.
fn is_own_markup(raw: &str) -> bool {
    let mut rest = raw.to_string();
    for tag in ["<details>", "</details>", "<summary>", "</summary>"] {
        rest = rest.replace(tag, "");
    }
    !rest.contains('<')
}

fn is_image(name: &str, assets: &BTreeMap<String, Asset>) -> bool {
    assets
        .get(name)
        .is_some_and(|a| a.mime.starts_with("image/"))
}

fn data_uri(name: &str, assets: &BTreeMap<String, Asset>) -> Option<String> {
    let asset = assets.get(name)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&asset.bytes);
    Some(format!("data:{};base64,{b64}", asset.mime))
}

/// A section title as an element id: lower-case letters and digits, words joined by '-'.
fn slug(title: &str) -> String {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    match words.is_empty() {
        true => "section".to_string(),
        false => words.join("-"),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> BTreeMap<String, Asset> {
        let mut assets = BTreeMap::new();
        let bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        let mime = "image/png";
        assets.insert("chart.png".to_string(), Asset { mime, bytes });
        let (mime, bytes) = ("image/svg+xml", b"<svg/>".to_vec());
        assets.insert("failure.svg".to_string(), Asset { mime, bytes });
        assets
    }

    const MD: &str = "# etcdlab run: demo\n\n**Verdict:** all met.\n\n## Inputs\n\n- a\n\n\
                      ## Charts\n\n![leader timeline](chart.png)\n\nSee [the window](failure.svg) \
                      and [the history](history.jsonl).\n\n## Reproduce\n\n```sh\n## not a heading\n```\n";

    #[test]
    fn the_verdict_comes_before_any_section_and_each_section_is_collapsible() {
        let page = html(MD, &png());
        let verdict = page.find("<strong>Verdict:</strong> all met.").unwrap();
        assert!(verdict < page.find("<details").unwrap());
        assert_eq!(page.matches("<details class=\"section\"").count(), 3);
        assert!(page.contains("<title>etcdlab run: demo</title>"));
        assert!(page.contains("<details class=\"section\" id=\"charts\" open>"));
        assert!(page.contains("<summary><h2>Inputs</h2></summary>"));
        // A fenced line that looks like a heading stays in its code block.
        assert!(page.contains("<code class=\"language-sh\">## not a heading\n</code>"));
    }

    #[test]
    fn images_and_links_to_pictures_are_inlined_other_links_stay() {
        let page = html(MD, &png());
        assert!(page
            .contains("<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"leader timeline\""));
        assert!(page.contains("<img src=\"data:image/svg+xml;base64,PHN2Zy8+\" alt=\"the window\""));
        assert!(page.contains("<a href=\"history.jsonl\">the history</a>"));
        assert!(!page.contains("chart.png") && !page.contains("failure.svg"));
    }

    #[test]
    fn long_sections_start_closed() {
        let rows: String = (0..=OPEN_MAX_LINES).map(|i| format!("- {i}\n")).collect();
        let page = html(&format!("# t\n\n## Timeline\n\n{rows}"), &BTreeMap::new());
        assert!(page.contains("<details class=\"section\" id=\"timeline\">"));
    }

    #[test]
    fn a_scenarios_text_is_never_markup() {
        let md = "# t\n\n## Notes\n\n- a <script>alert(1)</script> note\n\n<div onclick=x>\n\n\
                  <details><summary>Figures</summary>\n\nbody\n\n</details>\n";
        let page = html(md, &BTreeMap::new());
        assert!(!page.contains("<script>alert") && !page.contains("<div onclick"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("<details><summary>Figures</summary>"));
    }

    #[test]
    fn nothing_is_fetched_and_no_link_runs_code() {
        let md = "# t\n\n## Notes\n\n- ![remote](https://example.com/p.png) and \
                  [click](javascript:alert(1)) and [Ok](https://etcd.io) and ![x](data:image/png;base64,AA)\n";
        let page = html(md, &BTreeMap::new());
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("<a href=\"https://example.com/p.png\">remote</a>"));
        assert!(!page.contains("javascript") && page.contains("click"));
        assert!(page.contains("<a href=\"https://etcd.io\">Ok</a>"));
        assert!(!page.contains("data:image/png;base64,AA"));
    }

    #[test]
    fn a_stray_fence_in_a_note_does_not_swallow_the_sections_after_it() {
        // An indented line of backticks is code, not a fence: the old line scan flipped on it.
        let md = "# t\n\n## Notes\n\n    ```\n\n## Reproduce\n\nx\n";
        let page = html(md, &BTreeMap::new());
        assert!(page.contains("id=\"reproduce\""), "{page}");
    }

    #[test]
    fn repeated_titles_get_distinct_ids() {
        let page = html("# t\n\n## A b\n\nx\n\n## A  b\n\ny\n", &BTreeMap::new());
        assert!(page.contains("id=\"a-b\"") && page.contains("id=\"a-b-2\""));
    }
}
