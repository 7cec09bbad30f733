//! `--set PATH=VALUE` overrides, applied to the document before it is read so that overridden
//! values get exactly the validation the file's values get.

use crate::doc::{parse_value, Kind, Node};
use crate::error::{Fail, Origin, R};

/// Errors in an override itself have no line; they are blamed on `--set`.
const SET: Origin = Origin {
    line: None,
    set: true,
};

/// Applies each `PATH=VALUE` in order.
pub(crate) fn apply_overrides(doc: &mut Node, overrides: &[String]) -> R<()> {
    overrides.iter().try_for_each(|text| apply_one(doc, text))
}

fn apply_one(doc: &mut Node, text: &str) -> R<()> {
    let Some((path, value)) = text.split_once('=') else {
        let message = format!("expected PATH=VALUE, e.g. cluster.size=5; got {text:?}");
        return Err(Fail {
            origin: SET,
            field: None,
            message,
        });
    };
    let path = path.trim();
    let segments: Vec<&str> = path.split('.').map(str::trim).collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Fail::at(
            SET,
            path,
            "empty part in the path; write e.g. cluster.size",
        ));
    }
    let (last, parents) = segments.split_last().expect("split always yields one part");
    let mut node = doc;
    for (depth, segment) in parents.iter().enumerate() {
        let next = segments[depth + 1];
        node = child(node, segment, next, &segments[..=depth].join("."), path)?;
    }
    replace(node, last, value_node(value), path)
}

/// The value as TOML (`3000`, `true`, `"3s"`, `{ dist = "constant", value = 1 }`), else the
/// plain text, so that `timeline.0.at=3s` needs no quotes.
fn value_node(value: &str) -> Node {
    let value = value.trim();
    parse_value(value).unwrap_or_else(|| Node::new(Kind::Str(value.to_string()), SET))
}

/// The child `segment` of `node`, creating a missing table on the way (but not a missing array:
/// a numeric `next` segment means the path expected one).
fn child<'a>(
    node: &'a mut Node,
    segment: &str,
    next: &str,
    so_far: &str,
    path: &str,
) -> R<&'a mut Node> {
    let described = node.describe();
    match &mut node.kind {
        Kind::Table(entries) => {
            let at = match entries.iter().position(|(k, _)| k == segment) {
                Some(at) => at,
                None if next.parse::<usize>().is_ok() => {
                    let message =
                        format!("`{so_far}` does not exist, so index {next} is past its end");
                    return Err(Fail::at(SET, path, message));
                }
                None => {
                    entries.push((segment.to_string(), Node::new(Kind::Table(Vec::new()), SET)));
                    entries.len() - 1
                }
            };
            Ok(&mut entries[at].1)
        }
        Kind::Array(items) => {
            let at = index(segment, items.len(), so_far, path)?;
            Ok(&mut items[at])
        }
        _ => Err(not_a_container(so_far, segment, &described, path)),
    }
}

/// Sets `segment` of `node` to `value`, keeping the line of the value it replaces.
fn replace(node: &mut Node, segment: &str, mut value: Node, path: &str) -> R<()> {
    let described = node.describe();
    match &mut node.kind {
        Kind::Table(entries) => match entries.iter_mut().find(|(k, _)| k == segment) {
            Some((_, old)) => {
                value.mark_set(old.origin.line);
                *old = value;
            }
            None => {
                value.mark_set(None);
                entries.push((segment.to_string(), value));
            }
        },
        Kind::Array(items) => {
            let at = index(segment, items.len(), path, path)?;
            value.mark_set(items[at].origin.line);
            items[at] = value;
        }
        _ => return Err(not_a_container(path, segment, &described, path)),
    }
    Ok(())
}

fn index(segment: &str, len: usize, so_far: &str, path: &str) -> R<usize> {
    let parent = so_far.rsplit_once('.').map_or("", |(p, _)| p);
    match segment.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        Ok(i) => Err(Fail::at(
            SET,
            path,
            format!("index {i} is past the end of `{parent}`, which has {len} entries"),
        )),
        Err(_) => Err(Fail::at(
            SET,
            path,
            format!("`{parent}` is an array; expected a numeric index, found {segment:?}"),
        )),
    }
}

fn not_a_container(so_far: &str, segment: &str, described: &str, path: &str) -> Fail {
    let parent = so_far
        .strip_suffix(segment)
        .unwrap_or(so_far)
        .trim_end_matches('.');
    let parent = if parent.is_empty() {
        "the document"
    } else {
        parent
    };
    Fail::at(
        SET,
        path,
        format!("cannot set `{segment}`: {parent} is {described}, not a table"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse_document;

    fn set(src: &str, overrides: &[&str]) -> R<Node> {
        let mut doc = parse_document(src).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        apply_overrides(&mut doc, &overrides)?;
        Ok(doc)
    }

    fn get<'a>(node: &'a Node, path: &str) -> &'a Node {
        path.split('.').fold(node, |n, seg| match &n.kind {
            Kind::Table(e) => &e.iter().find(|(k, _)| k == seg).unwrap().1,
            Kind::Array(items) => &items[seg.parse::<usize>().unwrap()],
            _ => panic!("{path}"),
        })
    }

    #[test]
    fn replaces_keeping_the_line() {
        let doc = set("seed = 1\n[cluster]\nsize = 3\n", &["cluster.size=5"]).unwrap();
        let size = get(&doc, "cluster.size");
        assert_eq!(size.kind, Kind::Int(5));
        assert_eq!(
            size.origin,
            Origin {
                line: Some(3),
                set: true
            }
        );
    }

    #[test]
    fn creates_missing_tables() {
        let doc = set("seed = 1\n", &["disk.fsync_latency_ms.median=2"]).unwrap();
        let median = get(&doc, "disk.fsync_latency_ms.median");
        assert_eq!(median.kind, Kind::Int(2));
        assert_eq!(median.origin, SET);
    }

    #[test]
    fn indexes_arrays_and_falls_back_to_strings() {
        let src = "[[timeline]]\nat = \"1s\"\n[[timeline]]\nat = \"2s\"\n";
        let doc = set(src, &["timeline.1.at=3s"]).unwrap();
        assert_eq!(get(&doc, "timeline.1.at").kind, Kind::Str("3s".into()));
        let e = set(src, &["timeline.2.at=3s"]).unwrap_err();
        assert!(e.message.contains("past the end"), "{}", e.message);
        let e = set("seed = 1\n", &["timeline.0.at=3s"]).unwrap_err();
        assert!(
            e.message.contains("`timeline` does not exist"),
            "{}",
            e.message
        );
        let e = set(src, &["timeline.x.at=3s"]).unwrap_err();
        assert!(e.message.contains("numeric index"), "{}", e.message);
    }

    #[test]
    fn bad_paths_are_errors() {
        for bad in ["seed", "=3", "a..b=1", "seed.x=1", "seed.x.y=1"] {
            let e = set("seed = 1\n", &[bad]).unwrap_err();
            assert_eq!(e.origin, SET, "{bad}");
        }
        let e = set("seed = 1\n", &["seed.x=1"]).unwrap_err();
        assert!(
            e.message.contains("seed is integer 1, not a table"),
            "{}",
            e.message
        );
    }
}
