//! The CI files under `examples/` (GitHub Actions workflows, a GitLab CI job) are parsed as YAML
//! and checked for what their CI system needs, and every etcdlab command in them is handed to
//! this etcdlab (with `--help`, so that an unknown subcommand or flag fails the test).

use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML file in {dir}");
    files
}

fn load(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).expect("read");
    let mut docs = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

fn hash_keys(y: &Yaml) -> Vec<String> {
    y.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A `script:`-like value: one string or a list of them.
fn scripts(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(items) => items.iter().flat_map(scripts).collect(),
        _ => Vec::new(),
    }
}

/// Every etcdlab invocation in a shell script: its arguments, with variables and CI
/// expressions replaced by a placeholder, `1` (it parses as a number or a name).
fn etcdlab_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for line in script.lines() {
        let line = strip_expressions(line);
        for segment in line.split(['|', '&', ';']) {
            let words = shell_words(segment);
            // The command word (a `test -x .../etcdlab` or `cargo install ... etcdlab` only
            // names it).
            let Some(at) = words
                .iter()
                .position(|w| !matches!(w.as_str(), "then" | "do" | "else" | "!" | "time"))
            else {
                continue;
            };
            if words[at] == "etcdlab" || words[at].ends_with("/etcdlab") {
                commands.push(words[at + 1..].to_vec());
            }
        }
    }
    commands
}

/// `${{ ... }}` (GitHub) and `$(...)` become `1`.
fn strip_expressions(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{").or_else(|| rest.find("$(")) {
        out.push_str(&rest[..start]);
        let close = if rest[start..].starts_with("${{") {
            "}}"
        } else {
            ")"
        };
        let end = rest[start..].find(close).expect("closed") + start + close.len();
        out.push('1');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Words as a shell splits them, quotes removed; a word that is a variable becomes `x`.
fn shell_words(segment: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in segment.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .map(|w| if w.contains('$') { "1".into() } else { w })
        .collect()
}

/// The command exists in this etcdlab: its subcommand and flags parse.
fn assert_etcdlab_accepts(file: &Path, args: &[String]) {
    let out = Command::new(env!("CARGO_BIN_EXE_etcdlab"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run etcdlab");
    assert!(
        out.status.success(),
        "{}: `etcdlab {}` is not a command this etcdlab has:\n{}",
        file.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value after `flag` in the first command that has it.
fn flag_value(commands: &[Vec<String>], flag: &str) -> Option<String> {
    commands.iter().find_map(|c| {
        let at = c.iter().position(|w| w == flag)?;
        c.get(at + 1).cloned()
    })
}

#[test]
fn github_workflows_are_well_formed_and_run_commands_etcdlab_has() {
    for file in yaml_files("examples/github-actions") {
        let doc = load(&file);
        let f = file.display();
        assert!(doc["name"].as_str().is_some(), "{f}: a name");
        assert!(!doc["on"].is_badvalue(), "{f}: `on:` triggers");
        let jobs = hash_keys(&doc["jobs"]);
        assert!(!jobs.is_empty(), "{f}: jobs");
        let mut commands = Vec::new();
        for job in &jobs {
            let j = &doc["jobs"][job.as_str()];
            assert!(!j["runs-on"].is_badvalue(), "{f}: job {job} has runs-on");
            for need in scripts(&j["needs"]) {
                assert!(jobs.contains(&need), "{f}: job {job} needs unknown {need}");
            }
            let steps = j["steps"].as_vec().expect("steps");
            assert!(!steps.is_empty(), "{f}: job {job} has steps");
            let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
            for step in steps {
                let (uses, run) = (step["uses"].as_str(), step["run"].as_str());
                assert!(
                    uses.is_some() != run.is_some(),
                    "{f}: job {job}: a step has `uses` or `run`, not both: {step:?}"
                );
                if let Some(action) = uses {
                    // A release tag; dtolnay/rust-toolchain's ref names the toolchain.
                    let (_, version) = action.split_once('@').expect("pinned action");
                    assert!(
                        version.starts_with('v') || version == "stable",
                        "{f}: {action} is pinned to a release"
                    );
                }
                let condition = step["if"].as_str().unwrap_or("");
                if let Some(rest) = condition.strip_prefix("steps.") {
                    let id = rest.split('.').next().expect("id");
                    assert!(ids.contains(&id), "{f}: `if` refers to unknown step {id}");
                }
                commands.extend(run.map(etcdlab_commands).unwrap_or_default());
            }
            // The JUnit file the workflow publishes is the one etcdlab writes, and a workflow
            // that writes one publishes it.
            let published: Vec<&str> = steps
                .iter()
                .filter_map(|step| step["with"]["report_paths"].as_str())
                .collect();
            let written = flag_value(&commands, "--junit");
            match (&written, published.as_slice()) {
                (None, []) => {}
                (Some(w), [p]) => assert_eq!(w, p, "{f}: the JUnit file"),
                _ => panic!("{f}: writes {written:?}, publishes {published:?}"),
            }
        }
        assert!(!commands.is_empty(), "{f}: runs etcdlab");
        for args in &commands {
            assert_etcdlab_accepts(&file, args);
        }
    }
}

#[test]
fn gitlab_jobs_are_well_formed_and_run_commands_etcdlab_has() {
    const KEYWORDS: [&str; 6] = [
        "stages",
        "variables",
        "include",
        "default",
        "workflow",
        "image",
    ];
    for file in yaml_files("examples/gitlab") {
        let doc = load(&file);
        let f = file.display();
        let jobs: Vec<String> = hash_keys(&doc)
            .into_iter()
            .filter(|k| !k.starts_with('.') && !KEYWORDS.contains(&k.as_str()))
            .collect();
        assert!(!jobs.is_empty(), "{f}: a job");
        for job in &jobs {
            let j = &doc[job.as_str()];
            let script = scripts(&j["script"]);
            assert!(!script.is_empty(), "{f}: job {job} has a script");
            let mut commands = Vec::new();
            for s in script.iter().chain(&scripts(&j["after_script"])) {
                commands.extend(etcdlab_commands(s));
            }
            assert!(!commands.is_empty(), "{f}: job {job} runs etcdlab");
            for args in &commands {
                assert_etcdlab_accepts(&file, args);
            }
            let published = j["artifacts"]["reports"]["junit"].as_str();
            let written = flag_value(&commands, "--junit");
            assert_eq!(written.as_deref(), published, "{f}: the JUnit file");
        }
    }
}

#[test]
fn the_examples_install_this_package() {
    assert_eq!(env!("CARGO_PKG_NAME"), "etcdlab");
    for dir in ["examples/github-actions", "examples/gitlab"] {
        for file in yaml_files(dir) {
            let text = std::fs::read_to_string(&file).expect("read");
            for line in text.lines().filter(|l| l.contains("cargo install")) {
                assert!(
                    line.trim_end().ends_with(" etcdlab"),
                    "{}: installs the etcdlab package: {line}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_command_reader_finds_etcdlab_in_shell_lines() {
    let script = "set +e\nfor f in a; do\n  target/release/etcdlab run \"$f\" --out \"r/$(basename \"$f\" .toml)\" || true\ndone\ncargo install --git \"$G\" etcdlab\netcdlab test s/ --junit j.xml";
    assert_eq!(
        etcdlab_commands(script),
        [
            vec!["run", "1", "--out", "r/1"],
            vec!["test", "s/", "--junit", "j.xml"]
        ]
    );
    assert_eq!(
        etcdlab_commands("etcdlab sweep x --shard ${{ matrix.shard }}/$SHARDS"),
        [vec!["sweep", "x", "--shard", "1"]]
    );
}

/// The Kubernetes manifests: each document has an apiVersion and a kind, every Job runs
/// commands this etcdlab has, an Indexed Job hands its index to `--shard`, and the volumes
/// claim the PersistentVolumeClaim the file defines.
#[test]
fn kubernetes_jobs_are_well_formed_and_run_commands_etcdlab_has() {
    for file in yaml_files("examples/kubernetes") {
        let text = std::fs::read_to_string(&file).expect("read");
        let docs = YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
        let f = file.display();
        let claims: Vec<&str> = (docs.iter())
            .filter(|d| d["kind"].as_str() == Some("PersistentVolumeClaim"))
            .filter_map(|d| d["metadata"]["name"].as_str())
            .collect();
        let mut jobs = 0;
        for doc in &docs {
            assert!(doc["apiVersion"].as_str().is_some(), "{f}: apiVersion");
            assert!(doc["metadata"]["name"].as_str().is_some(), "{f}: a name");
            if doc["kind"].as_str() != Some("Job") {
                continue;
            }
            jobs += 1;
            let pod = &doc["spec"]["template"]["spec"];
            assert_eq!(pod["restartPolicy"].as_str(), Some("Never"), "{f}");
            for volume in pod["volumes"].as_vec().into_iter().flatten() {
                let claim = volume["persistentVolumeClaim"]["claimName"].as_str();
                assert!(claim.is_some_and(|c| claims.contains(&c)), "{f}: {claim:?}");
            }
            let mut commands = Vec::new();
            for container in pod["containers"].as_vec().expect("containers") {
                for script in scripts(&container["command"])
                    .into_iter()
                    .chain(scripts(&container["args"]))
                {
                    commands.extend(etcdlab_commands(&script));
                }
            }
            assert!(!commands.is_empty(), "{f}: a Job runs etcdlab");
            if doc["spec"]["completionMode"].as_str() == Some("Indexed") {
                let completions = doc["spec"]["completions"].as_i64().expect("completions");
                let script = scripts(&pod["containers"][0]["args"]).join("\n");
                assert!(script.contains("JOB_COMPLETION_INDEX"), "{f}");
                assert!(
                    script.contains(&format!("/{completions}\"")),
                    "{f}: --shard I/{completions}"
                );
            }
            for args in &commands {
                assert_etcdlab_accepts(&file, args);
            }
        }
        assert!(jobs >= 2, "{f}: the shards' Job and the merge Job");
    }
}
