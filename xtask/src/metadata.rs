//! What `cargo metadata` says about the workspace: its target directory, and its
//! publishable crates in the order `cargo publish` must release them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::{Result, cmd};

/// A publishable workspace crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    /// The directory holding its `Cargo.toml`.
    pub(crate) dir: PathBuf,
}

/// The parts of `cargo metadata` the xtask steps use.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub(crate) target_directory: PathBuf,
    /// In publish order: every crate after the workspace crates it needs from the registry.
    pub(crate) publishable: Vec<Package>,
    /// The `rust-version` every publishable crate declares (they must agree).
    pub(crate) rust_version: Option<String>,
}

/// Runs `cargo metadata --no-deps` for the workspace.
pub(crate) fn workspace() -> Result<Workspace> {
    let mut command = cmd::cargo(["metadata", "--format-version", "1", "--no-deps"]);
    let json = cmd::output("metadata", &mut command)?;
    let value: Value =
        serde_json::from_str(&json).map_err(|e| format!("cargo metadata: not JSON: {e}"))?;
    parse(&value)
}

fn parse(value: &Value) -> Result<Workspace> {
    let target_directory = value["target_directory"]
        .as_str()
        .ok_or("cargo metadata: no target_directory")?
        .into();
    let packages = value["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;

    // name -> (package, the workspace crates it needs from the registry when published)
    let mut publishable = BTreeMap::new();
    let mut rust_versions = std::collections::BTreeSet::new();
    for package in packages {
        // `publish`: null for "any registry", [] for `publish = false`.
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let name = package["name"]
            .as_str()
            .ok_or("cargo metadata: a package without a name")?;
        let manifest = package["manifest_path"]
            .as_str()
            .ok_or("cargo metadata: a package without a manifest path")?;
        let dir = PathBuf::from(manifest)
            .parent()
            .map(PathBuf::from)
            .ok_or("cargo metadata: a manifest path without a directory")?;
        let needs: Vec<String> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["path"].is_string())
            // A path-only dev-dependency (requirement `*`) is dropped by `cargo publish`.
            .filter(|dep| !(dep["kind"] == "dev" && dep["req"] == "*"))
            .filter_map(|dep| dep["name"].as_str().map(str::to_owned))
            .collect();
        rust_versions.insert(package["rust_version"].as_str().map(str::to_owned));
        let package = Package {
            name: name.to_owned(),
            version: package["version"].as_str().unwrap_or_default().to_owned(),
            dir,
        };
        publishable.insert(name.to_owned(), (package, needs));
    }
    let order = publish_order(&publishable)?;
    if rust_versions.len() > 1 {
        return Err(format!(
            "the publishable crates declare different rust-versions: {rust_versions:?}"
        ));
    }
    Ok(Workspace {
        target_directory,
        publishable: order,
        rust_version: rust_versions.into_iter().next().flatten(),
    })
}

/// Orders the crates so that each comes after every publishable crate it needs (a
/// deterministic topological sort: ties in name order).
fn publish_order(crates: &BTreeMap<String, (Package, Vec<String>)>) -> Result<Vec<Package>> {
    let mut done: Vec<Package> = Vec::new();
    while done.len() < crates.len() {
        let next = crates.iter().find(|(name, (_, needs))| {
            !done.iter().any(|p| &p.name == *name)
                && needs
                    .iter()
                    .filter(|n| crates.contains_key(*n) && *n != *name)
                    .all(|n| done.iter().any(|p| &p.name == n))
        });
        match next {
            Some((_, (package, _))) => done.push(package.clone()),
            None => {
                let left: Vec<&str> = crates
                    .keys()
                    .filter(|n| !done.iter().any(|p| &p.name == *n))
                    .map(String::as_str)
                    .collect();
                return Err(format!(
                    "the publishable crates {} depend on each other in a cycle; no publish order",
                    left.join(", ")
                ));
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, kind: Option<&str>, req: &str) -> Value {
        serde_json::json!({"name": name, "kind": kind, "req": req, "path": format!("/w/{name}")})
    }

    fn package(name: &str, publish: Option<Vec<&str>>, deps: Vec<Value>) -> Value {
        serde_json::json!({
            "name": name, "version": "0.1.0", "publish": publish,
            "manifest_path": format!("/w/{name}/Cargo.toml"), "dependencies": deps,
        })
    }

    #[test]
    fn path_only_dev_dependencies_do_not_order_and_cycles_are_errors() {
        let value = serde_json::json!({
            "target_directory": "/w/target",
            "packages": [
                package("c-app", None, vec![dep("b-mid", None, "^0.1")]),
                package("b-mid", None, vec![dep("a-base", None, "^0.1"), dep("c-app", Some("dev"), "*")]),
                package("a-base", None, vec![]),
                package("xtask", Some(vec![]), vec![dep("c-app", None, "^0.1")]),
            ],
        });
        let ws = parse(&value).unwrap();
        let names: Vec<&str> = ws.publishable.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a-base", "b-mid", "c-app"]);
        assert_eq!(ws.publishable[0].dir, PathBuf::from("/w/a-base"));

        let cycle = serde_json::json!({
            "target_directory": "/w/target",
            "packages": [
                package("a", None, vec![dep("b", Some("dev"), "^0.1")]),
                package("b", None, vec![dep("a", None, "^0.1")]),
            ],
        });
        let err = parse(&cycle).unwrap_err();
        assert!(err.contains("cycle"), "{err}");
    }

    #[test]
    fn the_workspace_publishes_types_first() {
        let ws = workspace().unwrap();
        let names: Vec<&str> = ws.publishable.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"twilio-types"), "{names:?}");
        assert!(ws.rust_version.is_some());
        assert!(!names.contains(&"xtask"));
        let position = |n: &str| names.iter().position(|x| *x == n);
        assert!(position("twilio-transport") < position("twilio-accounts"));
    }
}
