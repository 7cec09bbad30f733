//! Typed access to document nodes. Every accessor names the dotted path of the value it reads,
//! so any error points at the file line and the field.

use crate::doc::{join, Kind, Node};
use crate::duration::parse_duration;
use crate::error::{Fail, Origin, R};
use crate::Nanos;

/// A value being read, with its dotted path.
pub(crate) struct Field<'a> {
    pub node: &'a Node,
    pub path: String,
}

/// A table being read.
pub(crate) struct Table<'a> {
    pub path: String,
    pub origin: Origin,
    entries: &'a [(String, Node)],
}

impl<'a> Table<'a> {
    pub fn root(node: &'a Node) -> R<Table<'a>> {
        Field {
            node,
            path: String::new(),
        }
        .table()
    }

    /// Rejects keys not in `accepted`, listing the accepted ones.
    pub fn check_keys(&self, accepted: &[&str]) -> R<()> {
        self.check_keys_for(accepted, "")
    }

    /// Same, with `context` (e.g. "for action \"pause\"") in the message.
    pub fn check_keys_for(&self, accepted: &[&str], context: &str) -> R<()> {
        for (key, node) in self.entries {
            if !accepted.contains(&key.as_str()) {
                let message = unknown_key_message(key, accepted, context);
                return Err(Fail::at(node.origin, &join(&self.path, key), message));
            }
        }
        Ok(())
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Calls `read` on each entry in file order with the entry's key.
    pub fn each<T>(&self, mut read: impl FnMut(&'a str, Field<'a>) -> R<T>) -> R<Vec<T>> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (key, node) in self.entries {
            out.push(read(
                key,
                Field {
                    node,
                    path: join(&self.path, key),
                },
            )?);
        }
        Ok(out)
    }

    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        let (_, node) = self.entries.iter().find(|(k, _)| k == key)?;
        Some(Field {
            node,
            path: join(&self.path, key),
        })
    }

    /// Reads `key` with `read` if it is present.
    pub fn opt<T>(&self, key: &str, read: impl FnOnce(Field<'a>) -> R<T>) -> R<Option<T>> {
        self.get(key).map(read).transpose()
    }

    /// Reads `key` with `read`; a missing key is an error at the table's line.
    pub fn req<T>(&self, key: &str, read: impl FnOnce(Field<'a>) -> R<T>) -> R<T> {
        self.opt(key, read)?.ok_or_else(|| self.missing(key, ""))
    }

    pub fn missing(&self, key: &str, why: &str) -> Fail {
        let message = format!("required key `{key}` is missing{why}");
        Fail::at(self.origin, &join(&self.path, key), message)
    }

    /// An error about the table as a whole.
    pub fn fail(&self, message: impl Into<String>) -> Fail {
        Fail::at(self.origin, &self.path, message)
    }
}

fn unknown_key_message(key: &str, accepted: &[&str], context: &str) -> String {
    let context = if context.is_empty() {
        String::new()
    } else {
        format!(" {context}")
    };
    let hint = closest(key, accepted)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    if accepted.is_empty() {
        return format!("unknown key `{key}`{context}: no keys are accepted here");
    }
    format!(
        "unknown key `{key}`{context}{hint}; accepted keys: {}",
        accepted.join(", ")
    )
}

/// The accepted key within two edits of `key`, to catch typos.
fn closest<'k>(key: &str, accepted: &[&'k str]) -> Option<&'k str> {
    accepted
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl<'a> Field<'a> {
    pub fn fail(&self, message: impl Into<String>) -> Fail {
        Fail::at(self.node.origin, &self.path, message)
    }

    pub fn expected(&self, what: &str) -> Fail {
        self.fail(format!("expected {what}, found {}", self.node.describe()))
    }

    pub fn table(&self) -> R<Table<'a>> {
        match &self.node.kind {
            Kind::Table(entries) => Ok(Table {
                path: self.path.clone(),
                origin: self.node.origin,
                entries,
            }),
            _ => Err(self.expected("a table")),
        }
    }

    pub fn array(&self) -> R<&'a [Node]> {
        match &self.node.kind {
            Kind::Array(items) => Ok(items),
            _ => Err(self.expected("an array")),
        }
    }

    pub fn str(&self) -> R<&'a str> {
        match &self.node.kind {
            Kind::Str(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    pub fn bool(&self) -> R<bool> {
        match self.node.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.expected("a boolean (true or false)")),
        }
    }

    /// A non-negative integer.
    pub fn u64(&self) -> R<u64> {
        match self.node.kind {
            Kind::Int(i) => u64::try_from(i).map_err(|_| self.fail(format!("{i} is negative"))),
            _ => Err(self.expected("an integer")),
        }
    }

    /// An integer in `range`, with `what` explaining the range in the error.
    pub fn u64_in(&self, range: std::ops::RangeInclusive<u64>, what: &str) -> R<u64> {
        let v = self.u64()?;
        if range.contains(&v) {
            Ok(v)
        } else {
            // `what` is either a sentence explaining the range or just the field's name.
            let message = if what.contains(' ') {
                format!("{v} is out of range: {what}")
            } else {
                format!(
                    "{v} is out of range for {what}: expected {}..={}",
                    range.start(),
                    range.end()
                )
            };
            Err(self.fail(message))
        }
    }

    /// A finite number (integer or float).
    pub fn number(&self) -> R<f64> {
        let v = match self.node.kind {
            Kind::Int(i) => i as f64,
            Kind::Float(f) => f,
            _ => return Err(self.expected("a number")),
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.fail(format!("{v} is not a finite number")))
        }
    }

    pub fn non_negative(&self) -> R<f64> {
        let v = self.number()?;
        if v < 0.0 {
            return Err(self.fail(format!("{v} is negative; it must be >= 0")));
        }
        Ok(v)
    }

    pub fn positive(&self) -> R<f64> {
        let v = self.number()?;
        if v <= 0.0 {
            return Err(self.fail(format!("{v} must be > 0")));
        }
        Ok(v)
    }

    pub fn probability(&self) -> R<f64> {
        let v = self.number()?;
        if !(0.0..=1.0).contains(&v) {
            return Err(self.fail(format!("{v} is not a probability; it must be in 0..=1")));
        }
        Ok(v)
    }

    /// A duration string such as "1.5s".
    pub fn duration(&self) -> R<Nanos> {
        match &self.node.kind {
            Kind::Str(s) => parse_duration(s).map_err(|e| self.fail(e)),
            _ => Err(self.expected("a duration string such as \"10s\", \"250ms\" or \"1h30m\"")),
        }
    }

    /// A duration string that is not zero.
    /// A number in `lo..=hi` (limits that keep a run's time and memory sane are documented).
    pub fn number_in(&self, lo: f64, hi: f64) -> R<f64> {
        let v = self.number()?;
        if v < lo || v > hi {
            return Err(self.fail(format!("{v} is out of range: expected {lo} to {hi}")));
        }
        Ok(v)
    }

    /// A duration that falls before the end of a run lasting `run_ns`.
    pub fn duration_before(&self, run_ns: Nanos) -> R<Nanos> {
        let ns = self.duration()?;
        if ns >= run_ns {
            return Err(self.fail(format!(
                "{} is not before the end of the run (duration = {})",
                crate::format_duration(ns),
                crate::format_duration(run_ns)
            )));
        }
        Ok(ns)
    }

    pub fn positive_duration(&self) -> R<Nanos> {
        match self.duration()? {
            0 => Err(self.fail("must be longer than 0s")),
            ns => Ok(ns),
        }
    }

    /// Calls `read` on each element with its path (`parent.0`, `parent.1`, ...).
    pub fn each<T>(&self, mut read: impl FnMut(Field<'a>) -> R<T>) -> R<Vec<T>> {
        let items = self.array()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, node) in items.iter().enumerate() {
            out.push(read(Field {
                node,
                path: join(&self.path, &i.to_string()),
            })?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion() {
        let m = unknown_key_message("electon_timeout_ms", &["election_timeout_ms", "size"], "");
        assert!(m.contains("did you mean `election_timeout_ms`"), "{m}");
        assert!(
            m.contains("accepted keys: election_timeout_ms, size"),
            "{m}"
        );
        let m = unknown_key_message("zzz", &["size"], "");
        assert!(!m.contains("did you mean"), "{m}");
    }
}
