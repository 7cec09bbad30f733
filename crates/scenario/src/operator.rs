//! Operator commands in etcdctl's words (`action = "etcdctl"`, `[runbook]` steps), parsed into
//! [`OperatorCommand`]s. Endpoints are member names (`m1`), not URLs.

use crate::names::parse_member_name;

/// What an operator types at the terminal, as the lab runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// `etcdctl endpoint status` (every member, as `--cluster` lists them).
    EndpointStatus,
    /// `etcdctl alarm list`.
    AlarmList,
    /// `etcdctl alarm disarm`: one DEACTIVATE per active alarm.
    AlarmDisarm,
    /// `etcdctl compact <rev|current> [--physical]`.
    Compact { rev: CompactTo, physical: bool },
    /// `etcdctl defrag --endpoints=m1,m2`: each endpoint in turn, as etcdctl does;
    /// `--cluster` (or no endpoints) means every member in turn.
    Defrag { members: Vec<usize> },
    /// Restart the etcd process of a member, optionally with a new `--quota-backend-bytes`.
    Restart {
        member: usize,
        quota_backend_bytes: Option<u64>,
    },
    /// A kubectl command against kube-apiserver (`kubectl get pods -A`, `kubectl apply -f
    /// web.yaml`, `kubectl create namespace x`, `kubectl scale deployment web --replicas=3`).
    Kubectl(etcdlab_kube::KubectlCommand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactTo {
    /// The revision `endpoint status` reports at the time the command runs.
    Current,
    Revision(i64),
}

/// The commands accepted, for error messages.
pub const COMMANDS: &str = "\"etcdctl endpoint status\", \"etcdctl alarm list\", \
\"etcdctl alarm disarm\", \"etcdctl compact <revision|current> [--physical]\", \
\"etcdctl defrag [--endpoints=m1,m2 | --cluster]\", \
\"etcd restart m1 [--quota-backend-bytes=N]\", \"kubectl get|apply|create namespace|scale ...\"";

/// Parse one command line. The error says what was wrong and what is accepted.
pub fn parse_operator_command(line: &str, size: usize) -> Result<OperatorCommand, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let unknown = || format!("unknown command {line:?}; use one of: {COMMANDS}");
    match words.as_slice() {
        ["etcdctl", "endpoint", "status", rest @ ..] => {
            no_flags(
                rest,
                line,
                &["--cluster", "-w", "table", "--write-out=table"],
            )?;
            Ok(OperatorCommand::EndpointStatus)
        }
        ["etcdctl", "alarm", "list"] => Ok(OperatorCommand::AlarmList),
        ["etcdctl", "alarm", "disarm"] => Ok(OperatorCommand::AlarmDisarm),
        ["etcdctl", "compact", rev, rest @ ..] => {
            let rev = match *rev {
                "current" => CompactTo::Current,
                n => CompactTo::Revision(n.parse::<i64>().ok().filter(|r| *r > 0).ok_or_else(
                    || format!("{line:?}: the revision must be a positive integer or \"current\""),
                )?),
            };
            let physical = match rest {
                [] => false,
                ["--physical"] | ["--physical=true"] => true,
                _ => {
                    return Err(format!(
                        "{line:?}: the only flag compact takes is --physical"
                    ))
                }
            };
            Ok(OperatorCommand::Compact { rev, physical })
        }
        ["etcdctl", "defrag", rest @ ..] => {
            let members = match rest {
                [] | ["--cluster"] => (0..size).collect(),
                [flag] if flag.starts_with("--endpoints=") => {
                    members(&flag["--endpoints=".len()..], size, line)?
                }
                ["--endpoints", list] => members(list, size, line)?,
                _ => {
                    return Err(format!(
                        "{line:?}: defrag takes --endpoints=m1,m2 or --cluster"
                    ))
                }
            };
            Ok(OperatorCommand::Defrag { members })
        }
        ["etcd", "restart", member, rest @ ..] => {
            let member = one_member(member, size, line)?;
            let quota_backend_bytes = match rest {
                [] => None,
                [flag] if flag.starts_with("--quota-backend-bytes=") => {
                    let v = &flag["--quota-backend-bytes=".len()..];
                    let max = crate::cluster::MAX_QUOTA_BACKEND_BYTES;
                    Some(
                        v.parse::<u64>()
                            .ok()
                            .filter(|q| (1..=max).contains(q))
                            .ok_or_else(|| {
                                format!(
                                    "{line:?}: --quota-backend-bytes needs a number of bytes in \
                                     1..={max} (as cluster.quota_backend_bytes)"
                                )
                            })?,
                    )
                }
                _ => {
                    return Err(format!(
                        "{line:?}: restart takes only --quota-backend-bytes=N"
                    ))
                }
            };
            Ok(OperatorCommand::Restart {
                member,
                quota_backend_bytes,
            })
        }
        ["kubectl", ..] => etcdlab_kube::parse_kubectl(line)
            .map(OperatorCommand::Kubectl)
            .map_err(|e| format!("{line:?}: {e}")),
        _ => Err(unknown()),
    }
}

fn no_flags(rest: &[&str], line: &str, allowed: &[&str]) -> Result<(), String> {
    match rest.iter().find(|w| !allowed.contains(w)) {
        Some(w) => Err(format!("{line:?}: unexpected {w:?}")),
        None => Ok(()),
    }
}

fn one_member(name: &str, size: usize, line: &str) -> Result<usize, String> {
    match parse_member_name(name) {
        Some(m) if m < size => Ok(m),
        _ => Err(format!(
            "{line:?}: {name:?} is not a member of this {size}-member cluster (m1..m{size})"
        )),
    }
}

fn members(list: &str, size: usize, line: &str) -> Result<Vec<usize>, String> {
    let out: Vec<usize> = list
        .split(',')
        .map(|name| one_member(name.trim(), size, line))
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(format!("{line:?}: no endpoints given"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_nospace_runbook() {
        let p = |s| parse_operator_command(s, 3);
        assert_eq!(p("etcdctl alarm list"), Ok(OperatorCommand::AlarmList));
        assert_eq!(
            p("etcdctl compact current --physical"),
            Ok(OperatorCommand::Compact {
                rev: CompactTo::Current,
                physical: true
            })
        );
        assert_eq!(
            p("etcdctl defrag --endpoints=m2,m3"),
            Ok(OperatorCommand::Defrag {
                members: vec![1, 2]
            })
        );
        assert_eq!(
            p("etcdctl defrag --cluster"),
            Ok(OperatorCommand::Defrag {
                members: vec![0, 1, 2]
            })
        );
        assert_eq!(
            p("etcd restart m1 --quota-backend-bytes=17179869184"),
            Ok(OperatorCommand::Restart {
                member: 0,
                quota_backend_bytes: Some(17179869184)
            })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let p = |s| parse_operator_command(s, 3).unwrap_err();
        assert!(p("etcdctl defrag --endpoints=m4").contains("not a member"));
        assert!(p("etcdctl compact -5").contains("positive integer"));
        assert!(p("etcdctl snapshot save x").contains("unknown command"));
        assert!(p("etcd restart m1 --quota=5").contains("--quota-backend-bytes"));
    }
}

/// `[runbook]`: what an operator does once an alarm fires, one step after another.
#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    /// The alarm whose first raise starts the runbook ("NOSPACE").
    pub after_alarm: String,
    /// From the alarm to the first command: paging, waking up, finding the cause.
    pub diagnosis_ns: u64,
    /// Between one command's end and the next command (reading output, typing).
    pub think_time_ns: u64,
    /// Commands as typed, with what they mean.
    pub steps: Vec<(String, OperatorCommand)>,
}

pub(crate) fn read_runbook(f: crate::read::Field<'_>, size: usize) -> crate::error::R<Runbook> {
    let t = f.table()?;
    t.check_keys(&["after_alarm", "diagnosis", "think_time", "steps"])?;
    let after_alarm = t.req("after_alarm", |f| match f.str()? {
        a @ ("NOSPACE" | "CORRUPT") => Ok(a.to_string()),
        other => Err(f.fail(format!(
            "unknown alarm {other:?}; use \"NOSPACE\" or \"CORRUPT\""
        ))),
    })?;
    let steps = t.req("steps", |f| {
        if f.array().is_err() {
            return Err(f.expected("an array of command strings"));
        }
        let steps = f.each(|f| {
            let text = f.str()?;
            parse_operator_command(text, size)
                .map(|c| (text.to_string(), c))
                .map_err(|e| f.fail(e))
        })?;
        if steps.is_empty() {
            return Err(f.fail("a runbook needs at least one step"));
        }
        Ok(steps)
    })?;
    Ok(Runbook {
        after_alarm,
        diagnosis_ns: t.opt("diagnosis", |f| f.duration())?.unwrap_or(0),
        think_time_ns: t.opt("think_time", |f| f.duration())?.unwrap_or(0),
        steps,
    })
}
