//! The error type every scenario problem is reported with.

use std::fmt;

/// A problem with a scenario: where it is and what is wrong.
///
/// Displays as `FILE:LINE: FIELD: MESSAGE`, leaving out the parts that are unknown. `field` is
/// the dotted path of the offending value (`timeline.2.member`), the same syntax `--set` takes.
/// For a value that came from `--set` and has no line in the file, `file` is `--set`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Where a value came from: a line of the file, a `--set` override, or both (an override that
/// replaced a value the file had keeps that value's line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub line: Option<usize>,
    pub set: bool,
}

/// An error found while reading the document, before the file name is attached.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fail {
    pub origin: Origin,
    pub field: Option<String>,
    pub message: String,
}

pub(crate) type R<T> = Result<T, Fail>;

impl Fail {
    pub fn at(origin: Origin, field: &str, message: impl Into<String>) -> Fail {
        let field = (!field.is_empty()).then(|| field.to_string());
        Fail {
            origin,
            field,
            message: message.into(),
        }
    }

    /// Attach the file name; values with no line that came from `--set` are blamed on `--set`.
    pub fn into_error(self, file: &str) -> ScenarioError {
        let mut message = self.message;
        let file = match (self.origin.line, self.origin.set) {
            (None, true) => "--set".to_string(),
            (Some(_), true) => {
                message.push_str(" (value from --set)");
                file.to_string()
            }
            _ => file.to_string(),
        };
        ScenarioError {
            file,
            line: self.origin.line,
            field: self.field,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: Option<usize>, field: Option<&str>) -> ScenarioError {
        ScenarioError {
            file: "a.toml".into(),
            line,
            field: field.map(String::from),
            message: "bad".into(),
        }
    }

    #[test]
    fn display_leaves_out_missing_parts() {
        assert_eq!(
            err(Some(3), Some("seed")).to_string(),
            "a.toml:3: seed: bad"
        );
        assert_eq!(err(None, Some("seed")).to_string(), "a.toml: seed: bad");
        assert_eq!(err(Some(3), None).to_string(), "a.toml:3: bad");
        assert_eq!(err(None, None).to_string(), "a.toml: bad");
    }

    #[test]
    fn override_without_line_is_blamed_on_set() {
        let origin = Origin {
            line: None,
            set: true,
        };
        let e = Fail::at(origin, "seed", "bad").into_error("a.toml");
        assert_eq!(e.to_string(), "--set: seed: bad");
    }
}
