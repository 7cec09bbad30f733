//! The user's etcd as input: etcd's config file (`etcd.conf.yaml`, the keys of etcd's flags
//! without their dashes) or its command-line flags, mapped to `[cluster]` keys. Settings the
//! lab models become `cluster.*` values; settings etcd has that the lab does not model (TLS
//! files, URLs, logging) are listed as ignored; a key etcd does not have is an error naming the
//! file, the line and the key.

use crate::error::ScenarioError;
use std::path::Path;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// etcd's settings the lab models: (etcd's name, the `[cluster]` key, its kind).
const MAPPED: &[(&str, &str, Kind)] = &[
    ("heartbeat-interval", "heartbeat_interval_ms", Kind::Integer),
    ("election-timeout", "election_timeout_ms", Kind::Integer),
    ("snapshot-count", "snapshot_count", Kind::Integer),
    ("quota-backend-bytes", "quota_backend_bytes", Kind::Integer),
    ("auto-compaction-mode", "auto_compaction_mode", Kind::Text),
    (
        "auto-compaction-retention",
        "auto_compaction_retention",
        Kind::Text,
    ),
    ("pre-vote", "pre_vote", Kind::Bool),
    ("strict-reconfig-check", "strict_reconfig_check", Kind::Bool),
    ("initial-cluster-token", "initial_cluster_token", Kind::Text),
    ("initial-cluster", "size", Kind::MemberCount),
    (
        "experimental-initial-corrupt-check",
        "initial_corrupt_check",
        Kind::Bool,
    ),
    (
        "experimental-corrupt-check-time",
        "corrupt_check_time",
        Kind::Text,
    ),
    (
        "experimental-compaction-batch-limit",
        "compaction_batch_limit",
        Kind::Integer,
    ),
    (
        "experimental-watch-progress-notify-interval",
        "watch_progress_notify_interval",
        Kind::Text,
    ),
];

/// etcd 3.4/3.5 settings the lab does not model: accepted and listed as ignored.
const IGNORED: &[&str] = &[
    "name",
    "data-dir",
    "wal-dir",
    "listen-client-urls",
    "listen-peer-urls",
    "listen-metrics-urls",
    "advertise-client-urls",
    "initial-advertise-peer-urls",
    "initial-cluster-state",
    "client-transport-security",
    "peer-transport-security",
    "cert-file",
    "key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "auto-tls",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
    "peer-auto-tls",
    "cipher-suites",
    "tls-min-version",
    "tls-max-version",
    "log-level",
    "logger",
    "log-outputs",
    "log-package-levels",
    "debug",
    "enable-v2",
    "enable-pprof",
    "metrics",
    "max-snapshots",
    "max-wals",
    "max-request-bytes",
    "max-txn-ops",
    "discovery",
    "discovery-srv",
    "discovery-fallback",
    "discovery-proxy",
    "proxy",
    "force-new-cluster",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "enable-grpc-gateway",
    "auth-token",
    "unsafe-no-fsync",
    "socket-reuse-port",
    "socket-reuse-address",
    "self-signed-cert-validity",
    "experimental-backend-bbolt-freelist-type",
    "experimental-enable-lease-checkpoint",
    "experimental-peer-skip-client-san-verification",
    "experimental-enable-distributed-tracing",
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Integer,
    Bool,
    Text,
    /// `initial-cluster`: `name=url,name=url,...` gives the member count.
    MemberCount,
}

/// What an etcd config says, as the lab reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EtcdConfig {
    /// Where it came from (the file, or "--etcd-flags").
    pub source: String,
    /// (`[cluster]` key, TOML value, etcd's name), in the order given.
    pub cluster: Vec<(String, String, String)>,
    /// etcd settings given that the lab does not model.
    pub ignored: Vec<String>,
}

impl EtcdConfig {
    /// `--set` overrides for the `[cluster]` keys the scenario does not set itself (its own
    /// keys win), and the etcd names it took.
    pub fn overrides_for(&self, scenario_source: &str) -> (Vec<String>, Vec<String>) {
        let table: toml::Table = toml::from_str(scenario_source).unwrap_or_default();
        let cluster = table.get("cluster").and_then(|c| c.as_table());
        let mut sets = Vec::new();
        let mut taken = Vec::new();
        for (key, value, etcd_name) in &self.cluster {
            if cluster.is_some_and(|c| c.contains_key(key)) {
                continue;
            }
            sets.push(format!("cluster.{key}={value}"));
            taken.push(format!("{etcd_name} ({key} = {value})"));
        }
        (sets, taken)
    }

    /// The `[cluster]` table this config maps to, as TOML.
    pub fn cluster_toml(&self) -> String {
        let mut text = format!("# from {}\n[cluster]\n", self.source);
        for (key, value, _) in &self.cluster {
            text.push_str(&format!("{key} = {value}\n"));
        }
        if !self.ignored.is_empty() {
            text.push_str(&format!(
                "# ignored (not modelled): {}\n",
                self.ignored.join(", ")
            ));
        }
        text
    }
}

/// Reads etcd's config file (YAML).
pub fn read_etcd_config_file(path: &Path) -> Result<EtcdConfig, ScenarioError> {
    let file = path.display().to_string();
    let fail = |line: Option<usize>, field: Option<String>, message: String| ScenarioError {
        file: file.clone(),
        line,
        field,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(None, None, format!("cannot read the etcd config file: {e}")))?;
    let mut reader = TopLevel::default();
    Parser::new_from_str(&text)
        .load(&mut reader, false)
        .map_err(|e| fail(None, None, format!("not valid YAML: {e}")))?;
    if let Some(line) = reader.not_a_mapping {
        return Err(fail(
            Some(line),
            None,
            "expected a mapping of etcd settings (`heartbeat-interval: 100`)".into(),
        ));
    }
    let mut config = EtcdConfig {
        source: file.clone(),
        ..EtcdConfig::default()
    };
    for (key, value, line) in reader.entries {
        add(&mut config, &key, value)
            .map_err(|message| fail(Some(line), Some(key.clone()), message))?;
    }
    finish(&mut config);
    Ok(config)
}

/// Reads etcd's command-line flags (`--heartbeat-interval=100 --election-timeout 1000 ...`).
pub fn read_etcd_flags(flags: &str) -> Result<EtcdConfig, ScenarioError> {
    let fail = |field: Option<String>, message: String| ScenarioError {
        file: "--etcd-flags".into(),
        line: None,
        field,
        message,
    };
    let mut config = EtcdConfig {
        source: "--etcd-flags".into(),
        ..EtcdConfig::default()
    };
    let mut words = flags.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            return Err(fail(None, format!("{word:?} is not a flag (--name=value)")));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            // `--flag value`, or a bare boolean flag.
            None => match words.peek() {
                Some(next) if !next.starts_with('-') => {
                    (flag.to_string(), words.next().expect("peeked").to_string())
                }
                _ => (flag.to_string(), "true".to_string()),
            },
        };
        add(&mut config, &name, Value::Scalar(value))
            .map_err(|message| fail(Some(format!("--{name}")), message))?;
    }
    finish(&mut config);
    Ok(config)
}

/// A top-level value of the YAML file.
#[derive(Debug)]
enum Value {
    Scalar(String),
    /// A mapping or a list (only ignored settings may have one).
    Nested,
}

fn add(config: &mut EtcdConfig, name: &str, value: Value) -> Result<(), String> {
    if IGNORED.contains(&name) {
        config.ignored.push(name.to_string());
        return Ok(());
    }
    let Some((_, key, kind)) = MAPPED.iter().find(|(n, _, _)| *n == name) else {
        return Err(format!(
            "unknown etcd setting `{name}` (the lab reads: {})",
            MAPPED
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let Value::Scalar(text) = value else {
        return Err(format!("`{name}` takes a single value"));
    };
    let text = text.trim().trim_matches('\'').trim_matches('"').to_string();
    let toml_value = match kind {
        Kind::Integer => text
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| format!("{text:?} is not an integer"))?,
        Kind::Bool => match text.as_str() {
            "true" => "true".into(),
            "false" => "false".into(),
            _ => return Err(format!("{text:?} is not true or false")),
        },
        Kind::Text => toml_string(&text),
        Kind::MemberCount => {
            let members = text.split(',').filter(|m| m.contains('=')).count();
            if members == 0 {
                return Err(format!("{text:?} has no name=url members"));
            }
            members.to_string()
        }
    };
    config.cluster.retain(|(k, _, _)| k != key);
    config
        .cluster
        .push((key.to_string(), toml_value, name.to_string()));
    Ok(())
}

/// etcd reads a periodic retention without a unit as hours ("1" is 1h), and a retention of
/// 0 as off; its default mode is periodic.
fn finish(config: &mut EtcdConfig) {
    let get = |c: &EtcdConfig, key: &str| {
        c.cluster
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.trim_matches('"').to_string())
    };
    let Some(retention) = get(config, "auto_compaction_retention") else {
        return;
    };
    let mode = get(config, "auto_compaction_mode").unwrap_or_else(|| "periodic".into());
    if retention == "0" {
        config
            .cluster
            .retain(|(k, _, _)| k != "auto_compaction_retention" && k != "auto_compaction_mode");
        return;
    }
    if get(config, "auto_compaction_mode").is_none() {
        config.cluster.push((
            "auto_compaction_mode".into(),
            toml_string("periodic"),
            "auto-compaction-mode (etcd's default)".into(),
        ));
    }
    if mode == "periodic" && retention.chars().all(|c| c.is_ascii_digit()) {
        for entry in &mut config.cluster {
            if entry.0 == "auto_compaction_retention" {
                entry.1 = toml_string(&format!("{retention}h"));
            }
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Collects the top-level keys of a YAML mapping with their lines.
#[derive(Default)]
struct TopLevel {
    depth: usize,
    /// The key whose value comes next, at depth 1.
    key: Option<(String, usize)>,
    /// (key, value, line) of each top-level setting.
    entries: Vec<(String, Value, usize)>,
    /// The document is not a mapping: where.
    not_a_mapping: Option<usize>,
}

impl MarkedEventReceiver for TopLevel {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.depth == 0 && matches!(ev, Event::SequenceStart(..)) {
                    self.not_a_mapping.get_or_insert(mark.line());
                }
                if self.depth == 1 {
                    if let Some((key, line)) = self.key.take() {
                        self.entries.push((key, Value::Nested, line));
                    }
                }
                self.depth += 1;
            }
            Event::MappingEnd | Event::SequenceEnd => self.depth -= 1,
            Event::Scalar(text, ..) => match (self.depth, self.key.take()) {
                (0, _) => {
                    self.not_a_mapping.get_or_insert(mark.line());
                }
                (1, None) => self.key = Some((text, mark.line())),
                (1, Some((key, line))) => self.entries.push((key, Value::Scalar(text), line)),
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> EtcdConfig {
        read_etcd_flags(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn flags_map_to_cluster_keys_and_unknown_ones_are_errors() {
        let c = flags(
            "--name=etcd-0 --heartbeat-interval=250 --election-timeout 2500 --pre-vote \
             --auto-compaction-retention=8 --initial-cluster=a=https://x:2380,b=https://y:2380,c=https://z:2380",
        );
        let keys: Vec<(&str, &str)> = c
            .cluster
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("heartbeat_interval_ms", "250"),
                ("election_timeout_ms", "2500"),
                ("pre_vote", "true"),
                ("auto_compaction_retention", "\"8h\""),
                ("size", "3"),
                ("auto_compaction_mode", "\"periodic\""),
            ]
        );
        assert_eq!(c.ignored, ["name"]);
        let e = read_etcd_flags("--heartbeat-intervall=100").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("--heartbeat-intervall"));
        assert!(e
            .message
            .contains("unknown etcd setting `heartbeat-intervall`"));
        let e = read_etcd_flags("--snapshot-count=lots").unwrap_err();
        assert!(e.message.contains("\"lots\" is not an integer"));
    }

    #[test]
    fn strict_reconfig_check_is_mapped_not_ignored() {
        let c = flags("--strict-reconfig-check=false");
        let keys: Vec<(&str, &str)> = (c.cluster.iter())
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(keys, [("strict_reconfig_check", "false")]);
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn a_zero_retention_turns_compaction_off() {
        let c = flags("--auto-compaction-mode=periodic --auto-compaction-retention=0");
        assert!(c.cluster.is_empty());
    }
}
