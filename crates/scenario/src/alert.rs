//! `[[alert]]`: user Prometheus alert rules, evaluated over the run's metrics besides the
//! built-in ones (docs/alerts.md).
//!
//! ```toml
//! [[alert]]
//! name = "ManyFailedProposals"
//! expr = "increase(etcd_server_proposals_failed_total[5m]) > 10"
//! for = "1m"
//! severity = "warning"
//! ```
//!
//! The expression's syntax is checked here (promql-parser), so a typo is reported with its
//! line; whether the evaluator supports every construct is checked by the alerts crate.

use crate::error::R;
use crate::read::{Field, Table};
use crate::Nanos;

/// One alert rule as written in the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRuleSpec {
    /// `alert:` name, e.g. "EtcdNoLeader".
    pub name: String,
    /// PromQL expression; each series it returns is an alert.
    pub expr: String,
    /// `for`: how long the expression must hold before the alert fires (0: at once).
    pub for_ns: Nanos,
    /// Value of the alert's `severity` label, if any.
    pub severity: Option<String>,
}

const KEYS: &[&str] = &["name", "expr", "for", "severity"];

pub(crate) fn read_alert_rules(f: Field<'_>) -> R<Vec<AlertRuleSpec>> {
    if f.array().is_err() {
        return Err(f.expected("an array of tables; write each one as [[alert]]"));
    }
    let builtin = etcdlab_alerts::builtin_rules();
    let mut seen = std::collections::BTreeSet::new();
    f.each(|entry| {
        let t = entry.table()?;
        let rule = read_alert_rule(&t)?;
        let clash = if builtin.iter().any(|b| b.name == rule.name) {
            Some("is a built-in rule, evaluated in every run; give your rule another name")
        } else if !seen.insert(rule.name.clone()) {
            Some("names a second [[alert]]; alert names must be unique")
        } else {
            None
        };
        match (clash, t.get("name")) {
            (Some(why), Some(field)) => Err(field.fail(format!("`{}` {why}", rule.name))),
            _ => Ok(rule),
        }
    })
}

fn read_alert_rule(t: &Table<'_>) -> R<AlertRuleSpec> {
    t.check_keys(KEYS)?;
    let name = t.req("name", |f| {
        non_empty(&f, "an alert name such as \"EtcdNoLeader\"")
    })?;
    let expr = t.req("expr", |f| {
        let expr = non_empty(&f, "a PromQL expression")?;
        promql_parser::parser::parse(&expr)
            .map_err(|e| f.fail(format!("invalid PromQL `{expr}`: {}", e.trim())))?;
        // Valid PromQL may still use what the lab's evaluator does not support: say so here,
        // with the line, rather than after the run.
        let probe = etcdlab_alerts::AlertRule::new("check", &expr, 0, "none");
        etcdlab_alerts::parse_rule(&probe).map_err(|e| {
            let why = e
                .strip_prefix("alert rule check: ")
                .unwrap_or(&e)
                .to_string();
            f.fail(why)
        })?;
        Ok(expr)
    })?;
    let for_ns = t.opt("for", |f| f.duration())?.unwrap_or(0);
    let severity = t.opt("severity", |f| {
        non_empty(&f, "a severity such as \"warning\"")
    })?;
    Ok(AlertRuleSpec {
        name,
        expr,
        for_ns,
        severity,
    })
}

/// A string that is not blank, trimmed.
fn non_empty(f: &Field<'_>, what: &str) -> R<String> {
    let s = f.str().map_err(|_| f.expected(what))?.trim();
    if s.is_empty() {
        return Err(f.fail(format!("is empty; expected {what}")));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use crate::parse_str;

    const BASE: &str = "duration = \"10m\"\n[cluster]\nsize = 3\n";

    fn parse(alerts: &str) -> Result<Vec<crate::AlertRuleSpec>, String> {
        parse_str(&format!("{BASE}{alerts}"), "t.toml", &[])
            .map(|s| s.alert_rules)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_alert_rules_with_defaults() {
        let rules = parse(
            "[[alert]]\nname = \"A\"\nexpr = \"etcd_server_has_leader == 0\"\nfor = \"1m\"\n\
             severity = \"critical\"\n[[alert]]\nname = \"B\"\nexpr = \"up == 0\"\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "A");
        assert_eq!(rules[0].for_ns, 60_000_000_000);
        assert_eq!(rules[0].severity.as_deref(), Some("critical"));
        assert_eq!(rules[1].for_ns, 0);
        assert_eq!(rules[1].severity, None);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e = parse("[[alert]]\nname = \"A\"\nexpr = \"rate(x[5m] > 1\"\n").unwrap_err();
        assert!(
            e.starts_with("t.toml:6: alert.0.expr: invalid PromQL"),
            "{e}"
        );
        let e = parse("[[alert]]\nname = \"A\"\n").unwrap_err();
        assert!(
            e.contains("alert.0.expr: required key `expr` is missing"),
            "{e}"
        );
        let e = parse("[[alert]]\nname = \"A\"\nexpr = \"x > 1\"\nfor = \"soon\"\n").unwrap_err();
        assert!(e.starts_with("t.toml:7: alert.0.for:"), "{e}");
        let e = parse("[[alert]]\nname = \"A\"\nexpr = \"x > 1\"\nseverty = \"x\"\n").unwrap_err();
        assert!(e.contains("did you mean `severity`"), "{e}");
        let e = parse("[[alert]]\nname = \"\"\nexpr = \"x > 1\"\n").unwrap_err();
        assert!(e.starts_with("t.toml:5: alert.0.name: is empty"), "{e}");
        let e = parse_str(&format!("alert = 3\n{BASE}"), "t.toml", &[]).unwrap_err();
        let e = e.to_string();
        assert!(e.contains("write each one as [[alert]]"), "{e}");
    }
}
