//! A picture of a failing window: one bar per operation from its call to its return on a
//! shared time axis (as porcupine's visualizer draws them), one row each so that labels never
//! overlap, the row named by client and member, the operation that cannot be placed in red.
//! Plain SVG text, a function of the operations only.

use crate::format::{OpName, Operation};
use std::fmt::Write;

const WIDTH_PX: f64 = 1200.0;
const LABEL_PX: f64 = 110.0;
const ROW_PX: f64 = 34.0;
const TOP_PX: f64 = 40.0;

/// The window's operations (in call order) drawn; `culprit`: the one that cannot be placed.
pub fn window_svg(ops: &[&Operation], culprit: u64) -> String {
    svg(ops, culprit, "cannot be placed")
}

/// A broken watch guarantee drawn: the watch that saw it in red, and the operations involved.
pub fn watch_svg(ops: &[&Operation], watch: u64) -> String {
    svg(ops, watch, "the watch that broke a guarantee")
}

fn svg(ops: &[&Operation], culprit: u64, red: &str) -> String {
    let start = ops.iter().map(|o| o.call_ns).min().unwrap_or(0);
    let end = ops
        .iter()
        .map(|o| o.return_ns.unwrap_or(o.call_ns))
        .chain(ops.iter().map(|o| o.call_ns))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span_px = WIDTH_PX - LABEL_PX - 20.0;
    let x = |ns: u64| LABEL_PX + (ns - start) as f64 / (end - start) as f64 * span_px;
    let height = TOP_PX + ROW_PX * ops.len() as f64 + 20.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{height}" font-family="DejaVu Sans, sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="13">Operations around {culprit} ({:.6} s to {:.6} s); red: {red}</text>"#,
        start as f64 / 1e9,
        end as f64 / 1e9
    );
    for (row, op) in ops.iter().enumerate() {
        let y = TOP_PX + ROW_PX * row as f64 + 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            y + 14.0,
            escape(&row_name(op))
        );
        let x0 = x(op.call_ns);
        let x1 = op.return_ns.map_or(WIDTH_PX - 10.0, x).max(x0 + 2.0);
        let fill = if op.id == culprit {
            "#f4a6a6"
        } else {
            "#cfe0f3"
        };
        let dash = if op.return_ns.is_none() {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r##"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="24" fill="{fill}" stroke="#333"{dash}><title>{}</title></rect>"##,
            x1 - x0,
            escape(&crate::format::describe(op))
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x0 + 3.0,
            y + 16.0,
            escape(&short(op))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn row_name(op: &Operation) -> String {
    format!("{} {}", op.client, op.member.as_deref().unwrap_or("-"))
}

/// What a bar says: the operation and its answer, short.
fn short(op: &Operation) -> String {
    let value = op.value.as_deref().unwrap_or("∅");
    let answer = match (&op.error, op.revision) {
        (Some(_), _) => "error".to_string(),
        (None, Some(r)) => format!("r{r}"),
        (None, None) => "?".to_string(),
    };
    match op.op {
        OpName::Put => format!("{} put {value} {answer}", op.id),
        OpName::Get => format!("{} get → {value} {answer}", op.id),
        OpName::Range => format!("{} range → {} keys {answer}", op.id, op.kvs.len()),
        OpName::LeaseGrant => format!("{} lease grant {answer}", op.id),
        OpName::LeaseRevoke => format!("{} lease revoke {answer}", op.id),
        OpName::Delete => format!("{} delete {answer}", op.id),
        OpName::Txn => format!("{} txn {answer}", op.id),
        OpName::Write => format!("{} write {answer}", op.id),
        OpName::Watch => {
            let key = op.key.as_deref().unwrap_or("");
            let from = op
                .start_revision
                .map_or(String::new(), |r| format!(" from r{r}"));
            format!("{} watch {key}{from}", op.id)
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parse_jsonl;

    #[test]
    fn every_operation_is_a_bar_and_the_culprit_is_red() {
        let ops = parse_jsonl(concat!(
            r#"{"id":1,"client":"c1","member":"m1","call_ns":0,"return_ns":10,"op":"put","key":"k","value":"a","revision":2}"#,
            "\n",
            r#"{"id":2,"client":"c2","member":"m3","call_ns":20,"return_ns":30,"op":"get","key":"k","value":"<old>","revision":1}"#,
        ))
        .unwrap();
        let refs: Vec<&Operation> = ops.iter().collect();
        let svg = window_svg(&refs, 2);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert_eq!(svg.matches("#f4a6a6").count(), 1);
        assert!(svg.contains("&lt;old&gt;"), "text is escaped");
        assert!(svg.contains(">c2 m3<"));
    }
}
