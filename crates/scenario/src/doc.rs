//! The TOML document as a tree that remembers the line of every value, so that errors found
//! after `--set` overrides and during validation can still point into the file.

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{Fail, Origin, R};

/// Deeper nesting than any scenario needs; refusing it keeps recursion bounded.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    /// Entries in file order.
    Table(Vec<(String, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub origin: Origin,
}

impl Node {
    pub fn new(kind: Kind, origin: Origin) -> Node {
        Node { kind, origin }
    }

    /// "string \"three\"", "integer 3", "table": what a type error says was found.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Str(s) => format!("string {:?}", shorten(s)),
            Kind::Int(i) => format!("integer {i}"),
            Kind::Float(f) => format!("float {f}"),
            Kind::Bool(b) => format!("boolean {b}"),
            Kind::Datetime(d) => format!("datetime {d}"),
            Kind::Array(_) => "an array".into(),
            Kind::Table(_) => "a table".into(),
        }
    }

    /// Marks this value and everything inside it as coming from `--set`, at `line` if the file
    /// had a value there.
    pub fn mark_set(&mut self, line: Option<usize>) {
        self.origin = Origin { line, set: true };
        match &mut self.kind {
            Kind::Array(items) => items.iter_mut().for_each(|n| n.mark_set(line)),
            Kind::Table(entries) => entries.iter_mut().for_each(|(_, n)| n.mark_set(line)),
            _ => {}
        }
    }
}

fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// Byte offsets to 1-based line numbers.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(source: &str) -> Lines {
        let newlines = source.match_indices('\n').map(|(i, _)| i + 1);
        Lines {
            starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

/// Parses a whole TOML document into a table node.
pub(crate) fn parse_document(source: &str) -> R<Node> {
    let lines = Lines::new(source);
    let table = DeTable::parse(source).map_err(|e| syntax_error(&e, Some(&lines)))?;
    let kind = convert_table(table.get_ref(), &lines, "", 0)?;
    Ok(Node::new(kind, Origin::default()))
}

/// Parses one TOML value (the right side of `--set`); None if it is not valid TOML.
pub(crate) fn parse_value(source: &str) -> Option<Node> {
    let value = DeValue::parse(source).ok()?;
    let lines = Lines::new(source);
    let kind = convert(&value, &lines, "", 0).ok()?;
    Some(Node::new(kind, Origin::default()))
}

fn syntax_error(e: &toml::de::Error, lines: Option<&Lines>) -> Fail {
    let line = e
        .span()
        .zip(lines)
        .map(|(span, lines)| lines.line_of(span.start));
    let message = format!("invalid TOML: {}", e.message().trim_end());
    Fail {
        origin: Origin { line, set: false },
        field: None,
        message,
    }
}

fn convert_table(table: &DeTable<'_>, lines: &Lines, path: &str, depth: usize) -> R<Kind> {
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table.iter() {
        let key_path = join(path, key.get_ref());
        let line = lines.line_of(key.span().start);
        let kind = convert(value, lines, &key_path, depth + 1)?;
        entries.push((key.get_ref().to_string(), Node::new(kind, file_line(line))));
    }
    Ok(Kind::Table(entries))
}

fn convert(value: &Spanned<DeValue<'_>>, lines: &Lines, path: &str, depth: usize) -> R<Kind> {
    let here = file_line(lines.line_of(value.span().start));
    if depth > MAX_DEPTH {
        return Err(Fail::at(here, path, "nested too deeply"));
    }
    Ok(match value.get_ref() {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Kind::Int)
            .map_err(|_| Fail::at(here, path, format!("integer {i} is out of range")))?,
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .map(Kind::Float)
            .map_err(|_| Fail::at(here, path, format!("invalid float {f}")))?,
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(items) => Kind::Array(convert_array(items, lines, path, depth)?),
        DeValue::Table(t) => convert_table(t, lines, path, depth)?,
    })
}

fn convert_array(
    items: &[Spanned<DeValue<'_>>],
    lines: &Lines,
    path: &str,
    depth: usize,
) -> R<Vec<Node>> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let kind = convert(item, lines, &join(path, &i.to_string()), depth + 1)?;
        out.push(Node::new(kind, file_line(lines.line_of(item.span().start))));
    }
    Ok(out)
}

fn file_line(line: usize) -> Origin {
    Origin {
        line: Some(line),
        set: false,
    }
}

/// `parent.key`, or `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(node: &'a Node, key: &str) -> &'a Node {
        match &node.kind {
            Kind::Table(entries) => &entries.iter().find(|(k, _)| k == key).unwrap().1,
            _ => panic!("not a table"),
        }
    }

    #[test]
    fn lines_are_one_based() {
        let lines = Lines::new("a\nb\n\nc");
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(2), 2);
        assert_eq!(lines.line_of(4), 3);
        assert_eq!(lines.line_of(5), 4);
    }

    #[test]
    fn keys_and_array_tables_carry_lines() {
        let src = "seed = 1\n\n[cluster]\nsize = 3\n\n[[timeline]]\nat = \"1s\"\n";
        let doc = parse_document(src).unwrap();
        assert_eq!(entry(&doc, "seed").origin.line, Some(1));
        assert_eq!(entry(&doc, "cluster").origin.line, Some(3));
        assert_eq!(entry(entry(&doc, "cluster"), "size").origin.line, Some(4));
        let Kind::Array(events) = &entry(&doc, "timeline").kind else {
            panic!()
        };
        assert_eq!(events[0].origin.line, Some(6));
        assert_eq!(entry(&events[0], "at").origin.line, Some(7));
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse_document("seed = 1\nx = = 2\n").unwrap_err();
        assert_eq!(e.origin.line, Some(2));
    }

    #[test]
    fn values_parse_or_not() {
        assert_eq!(parse_value("3").unwrap().kind, Kind::Int(3));
        assert_eq!(parse_value("\"3s\"").unwrap().kind, Kind::Str("3s".into()));
        assert!(parse_value("3s").is_none());
        assert!(parse_value("m2").is_none());
    }
}
