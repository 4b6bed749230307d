//! The cluster path's files agree with the workspace, so they cannot drift:
//! the Dockerfile builds and runs binaries the workspace has, as the user
//! the chart runs as; the chart deploys every service; `k8s/base/topics.yaml`
//! holds every topic and dead-letter queue the platform uses, partitioned
//! as the chart says. (Rendering and schema validation:
//! `tests/cluster/validate.sh`, which `make test` runs.)

use std::collections::BTreeSet;
use std::path::Path;

use casework_contracts::Service;
use casework_contracts::catalogue::{dead_letter_topic, topic_of_service};
use casework_e2e::workspace;
use serde_yaml_ng::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml_documents(path: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(&read(path))
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The Dockerfile's instructions, continuation lines joined.
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            let (op, args) = current.split_once(' ').unwrap_or((&current, ""));
            joined.push((op.to_uppercase(), args.trim().to_owned()));
            current.clear();
        }
    }
    joined
}

#[test]
fn the_dockerfile_builds_and_runs_what_the_workspace_has() {
    let steps = dockerfile();
    let all = |op: &str| -> Vec<&str> {
        steps
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, a)| a.as_str())
            .collect()
    };
    // Built with the locked lockfile, both binaries, release profile.
    let build = all("RUN")
        .into_iter()
        .find(|r| r.contains("cargo build"))
        .expect("a cargo build step");
    assert!(
        build.contains("--locked") && build.contains("--release"),
        "{build}"
    );
    let bins: BTreeSet<&str> = ["casework", "casework-broker"].into();
    for bin in &bins {
        assert!(
            build.contains(&format!("-p {bin}")),
            "{bin} is built: {build}"
        );
        assert!(
            build.contains(&format!("target/release/{bin} /out/usr/local/bin/{bin}")),
            "{bin} is installed: {build}"
        );
    }
    // ... and each is a binary of the workspace.
    for (bin, manifest) in [
        ("casework", "services/casework/Cargo.toml"),
        ("casework-broker", "services/broker/Cargo.toml"),
    ] {
        assert!(
            read(manifest).contains(&format!("[[bin]]\nname = \"{bin}\"")),
            "{manifest} has the binary {bin}"
        );
    }
    // `casework up` finds the broker beside itself.
    assert!(read("services/casework/src/broker.rs").contains("join(\"casework-broker\")"));
    // The entrypoint is the installed binary.
    assert_eq!(all("ENTRYPOINT"), ["[\"/usr/local/bin/casework\"]"]);
    // Runs as a numeric non-root user, the one the chart names.
    let user = all("USER");
    assert_eq!(user.len(), 1, "one USER: {user:?}");
    let uid: u32 = user[0].split(':').next().unwrap().parse().expect("numeric");
    assert_ne!(uid, 0);
    let values = &yaml_documents("helm/casework/values.yaml")[0];
    assert_eq!(
        values["podSecurityContext"]["runAsUser"].as_u64(),
        Some(u64::from(uid)),
        "the chart runs as the image's user"
    );
    // The final stage is Debian slim.
    let last_from = all("FROM").last().copied().unwrap_or_default().to_owned();
    assert!(
        last_from.contains("debian:") && last_from.contains("-slim"),
        "{last_from}"
    );
    // Every file it copies from the context exists, and the assets land
    // where the settings look for them.
    for copy in all("COPY").into_iter().filter(|c| !c.starts_with("--from")) {
        let parts: Vec<&str> = copy.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            if *source != "." {
                assert!(workspace().join(source).exists(), "COPY {source}");
            }
        }
    }
    let assets = read("libs/runtime/src/defaults.toml")
        .lines()
        .find_map(|l| l.strip_prefix("assets = "))
        .expect("web.assets")
        .trim_matches('"')
        .to_owned();
    assert!(
        all("COPY")
            .iter()
            .any(|c| c.ends_with(&format!("./{assets}"))),
        "the image has the assets at {assets}"
    );
    // Health over HTTP on the port the chart probes.
    assert!(all("EXPOSE").contains(&"8080"));
    assert_eq!(values["port"].as_u64(), Some(8080));
    assert!(read(".dockerignore").lines().any(|l| l.trim() == "target"));
}

#[test]
fn the_chart_deploys_every_service_and_the_topics_are_every_topic() {
    let values = &yaml_documents("helm/casework/values.yaml")[0];
    let charted: BTreeSet<String> = values["services"]
        .as_mapping()
        .expect("services")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let platform: BTreeSet<String> = Service::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(charted, platform, "helm/casework/values.yaml `services`");
    assert!(values["web"]["enabled"].as_bool().unwrap_or(false));

    let expected: BTreeSet<String> = Service::ALL
        .iter()
        .flat_map(|s| {
            let topic = topic_of_service(s.as_str());
            [dead_letter_topic(&topic), topic]
        })
        .collect();
    let topics = yaml_documents("k8s/base/topics.yaml");
    let listed: BTreeSet<String> = topics
        .iter()
        .map(|t| {
            assert_eq!(t["kind"].as_str(), Some("KafkaTopic"));
            assert_eq!(
                t["metadata"]["labels"]["strimzi.io/cluster"].as_str(),
                Some("casework")
            );
            assert_eq!(
                t["spec"]["partitions"].as_u64(),
                values["kafka"]["partitions"].as_u64(),
                "{:?}: the chart's kafka.partitions",
                t["metadata"]["name"]
            );
            assert_eq!(
                t["spec"]["replicas"].as_u64(),
                values["kafka"]["replication"].as_u64()
            );
            t["spec"]["topicName"]
                .as_str()
                .expect("topicName")
                .to_owned()
        })
        .collect();
    assert_eq!(listed, expected, "k8s/base/topics.yaml");
    let kustomization = read("k8s/base/kustomization.yaml");
    for file in ["kafka.yaml", "topics.yaml", "postgres.yaml"] {
        assert!(kustomization.contains(file), "k8s/base lists {file}");
        assert!(Path::new(&workspace().join("k8s/base").join(file)).exists());
    }
}
