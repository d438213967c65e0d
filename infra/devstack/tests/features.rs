//! `cargo dev` builds devstack alone and then each function alone (cargo lambda
//! watch runs `cargo run --bin <function>`); `cargo test` builds the whole
//! workspace with its dev-dependencies. Cargo resolves features per build, so
//! a dependency that gets fewer features in one of them is compiled twice,
//! with everything that depends on it: after `cargo test`, the first
//! `cargo dev` compiled serde_json, the AWS SDK and the functions again (7
//! minutes of CI). shared/Cargo.toml's "Feature unification" lists the
//! features that make every build resolve alike; this test says which are
//! missing when a dependency changes.

use std::collections::BTreeMap;
use std::process::Command;

/// `name@version` -> the feature sets it is built with, as `cargo tree` says.
fn features(args: &[&str]) -> BTreeMap<String, Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--prefix", "none", "-f", "{p} [{f}]"])
        .args(args)
        .current_dir(devstack::workspace_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.replace(" (*)", "").replace(" (proc-macro)", "");
        let mut parts = line.splitn(3, ' ');
        let (Some(name), Some(version), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        // Path dependencies print their directory between version and features.
        let features = rest.rsplit_once('[').map_or("", |(_, f)| f);
        let entry = map.entry(format!("{name}@{version}")).or_default();
        let features = features.trim_end_matches(']').to_owned();
        if !entry.contains(&features) {
            entry.push(features);
            entry.sort();
        }
    }
    map
}

#[test]
fn each_package_built_alone_resolves_the_same_features_as_the_workspace_tests() {
    // GIVEN the features of every dependency in the workspace's test build
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);

    // WHEN each package cargo dev builds alone is resolved
    let mut drift = Vec::new();
    let built_alone = std::iter::once("devstack").chain(devstack::measure::FUNCTIONS);
    for package in built_alone {
        for (krate, sets) in features(&["-p", package, "-e", "normal,build"]) {
            // THEN every dependency it builds is built alike by the tests (which
            // may build more: a build script's own copy of serde, say)
            if let Some(expected) = workspace.get(&krate)
                && !sets.iter().all(|set| expected.contains(set))
            {
                drift.push(format!(
                    "{package}: {krate} {sets:?}, tests build {expected:?}"
                ));
            }
        }
    }
    assert!(
        drift.is_empty(),
        "add the missing features under \"Feature unification\" in shared/Cargo.toml:\n{}",
        drift.join("\n")
    );
}
