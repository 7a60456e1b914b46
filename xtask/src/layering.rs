//! Dependency-layering checks (docs/architecture.md): what each crate may not depend on.

use crate::{Result, cmd};

/// One rule: the normal dependency tree of `package` (with `extra_args`) must not contain
/// any crate that `forbidden` flags.
struct Rule {
    package: &'static str,
    extra_args: &'static [&'static str],
    what: &'static str,
    forbidden: fn(&str) -> bool,
}

const RULES: &[Rule] = &[
    Rule {
        package: "twilio-types",
        extra_args: &[],
        what: "no hyper, tokio, tower, http or regex",
        forbidden: |name| matches!(name, "hyper" | "tokio" | "tower" | "http" | "regex"),
    },
    Rule {
        package: "twilio-store",
        extra_args: &[],
        what: "no hyper, tokio, tower or http, and no twilio-* crate other than twilio-types",
        forbidden: |name| {
            matches!(name, "hyper" | "tokio" | "tower" | "http")
                || (name.starts_with("twilio-") && name != "twilio-store" && name != "twilio-types")
        },
    },
    Rule {
        package: "twilio-store",
        extra_args: &["--features", "vault"],
        what: "with `vault`: TLS by rustls (no OpenSSL, no aws-lc) and no twilio-* crate other \
               than twilio-types",
        forbidden: |name| {
            matches!(
                name,
                "openssl" | "openssl-sys" | "native-tls" | "aws-lc-sys" | "aws-lc-rs"
            ) || (name.starts_with("twilio-") && name != "twilio-store" && name != "twilio-types")
        },
    },
    Rule {
        package: "twilio-store-aws",
        extra_args: &[],
        what: "TLS by rustls with ring (no OpenSSL, no aws-lc, no s2n) and no twilio-* crate \
               other than twilio-store and twilio-types",
        forbidden: |name| {
            matches!(
                name,
                "openssl" | "openssl-sys" | "native-tls" | "aws-lc-sys" | "aws-lc-rs" | "s2n-tls"
            ) || (name.starts_with("twilio-")
                && !matches!(name, "twilio-store-aws" | "twilio-store" | "twilio-types"))
        },
    },
    Rule {
        package: "twilio-transport",
        extra_args: &["--no-default-features"],
        what: "no hyper or rustls without default features",
        forbidden: |name| matches!(name, "hyper" | "rustls"),
    },
    Rule {
        package: "twilio-accounts",
        extra_args: &["--depth", "1"],
        what: "no direct hyper or rustls dependency (HTTP goes through twilio-transport)",
        forbidden: |name| name.starts_with("hyper") || name.starts_with("rustls"),
    },
    Rule {
        package: "twilio-rotate",
        extra_args: &["--depth", "1"],
        what: "no direct hyper or rustls dependency (it is a shell over twilio-accounts)",
        forbidden: |name| name.starts_with("hyper") || name.starts_with("rustls"),
    },
    Rule {
        package: "twilio-aws-rotation",
        extra_args: &["--features", "lambda"],
        what: "TLS by rustls on ring (no OpenSSL, no aws-lc: the AWS SDK without its default \
               client), and nothing above twilio-accounts (not the CLI)",
        forbidden: |name| {
            matches!(
                name,
                "openssl"
                    | "openssl-sys"
                    | "native-tls"
                    | "aws-lc-sys"
                    | "aws-lc-rs"
                    | "twilio-rotate"
            )
        },
    },
    Rule {
        package: "twilio-aws-rotation",
        extra_args: &["--depth", "1"],
        what: "no direct hyper or rustls dependency (Twilio through twilio-accounts, AWS through \
               aws-smithy-http-client)",
        forbidden: |name| name.starts_with("hyper") || name.starts_with("rustls"),
    },
    Rule {
        package: "twilio-emulator",
        extra_args: &[],
        what: "no twilio-* crate other than twilio-types",
        forbidden: |name| {
            name.starts_with("twilio-") && name != "twilio-emulator" && name != "twilio-types"
        },
    },
    Rule {
        package: "twilio-webhooks",
        extra_args: &[],
        what: "no hyper, tokio, tower, http, transport or accounts without features",
        forbidden: |name| {
            matches!(
                name,
                "hyper" | "tokio" | "tower" | "http" | "twilio-transport" | "twilio-accounts"
            )
        },
    },
    Rule {
        package: "twilio-webhooks",
        extra_args: &["--features", "tower"],
        what: "no hyper, tokio or transport with the tower layer",
        forbidden: |name| matches!(name, "hyper" | "tokio" | "twilio-transport"),
    },
];

/// Source trees that must not name `std::fs` (`twilio-types` does no I/O; the token stores that
/// read and write files live in `twilio-store`).
const NO_FS: &[&str] = &["crates/twilio-types/src"];

/// Runs every rule with `cargo tree`, then the `std::fs` check; fails naming the package, the
/// rule and the offenders.
pub(crate) fn run() -> Result<()> {
    run_tree_rules()?;
    for dir in NO_FS {
        let root = crate::workspace_root();
        let offenders = fs_users(&root.join(dir))?;
        if !offenders.is_empty() {
            return Err(format!(
                "step `layering` failed: {dir} must not use std::fs (no I/O), but these files \
                 do: {}",
                offenders.join(", ")
            ));
        }
        println!("    {dir}: no std::fs ok");
    }
    Ok(())
}

/// The `.rs` files under `dir` (recursively) that mention `std::fs` or `use std::{…fs…}`.
fn fs_users(dir: &std::path::Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            found.extend(fs_users(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if mentions_fs(&text) {
                found.push(path.display().to_string());
            }
        }
    }
    Ok(found)
}

/// Whether Rust source `text` names the `std::fs` module.
fn mentions_fs(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("std::fs") || (compact.contains("usestd::{") && compact.contains("fs::"))
}

fn run_tree_rules() -> Result<()> {
    for rule in RULES {
        let mut command = cmd::cargo(["tree", "-p", rule.package]);
        command
            .args(rule.extra_args)
            .args(["-e", "normal", "--prefix", "none"]);
        let line = cmd::display(&command);
        let tree = cmd::output("layering", &mut command)?;
        let offenders = offenders(&tree, rule.forbidden);
        if offenders.is_empty() {
            println!("    {}: {} ok ({line})", rule.package, rule.what);
        } else {
            return Err(format!(
                "step `layering` failed: {} must have {}, but `{line}` lists: {}",
                rule.package,
                rule.what,
                offenders.join(", ")
            ));
        }
    }
    Ok(())
}

/// Crate names in `cargo tree --prefix none` output (`name vX.Y.Z (path) (*)` per line),
/// deduplicated, in order of first appearance.
pub(crate) fn crate_names(tree: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if !version.starts_with('v') || names.contains(&name) {
            continue;
        }
        names.push(name);
    }
    names
}

/// The crates of `tree` that `forbidden` flags.
fn offenders(tree: &str, forbidden: fn(&str) -> bool) -> Vec<&str> {
    crate_names(tree)
        .into_iter()
        .filter(|name| forbidden(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "\
twilio-transport v0.1.0 (/work/main/crates/twilio-transport)
bytes v1.10.1
http v1.3.1
bytes v1.10.1 (*)
hyper v1.6.0
twilio-types v0.1.0 (/work/main/crates/twilio-types)
serde v1.0.228

";

    fn rule(package: &str) -> &'static Rule {
        RULES.iter().find(|r| r.package == package).unwrap()
    }

    #[test]
    fn parses_names_once_each() {
        assert_eq!(
            crate_names(TREE),
            [
                "twilio-transport",
                "bytes",
                "http",
                "hyper",
                "twilio-types",
                "serde"
            ]
        );
        assert!(crate_names("warning: something\n\n").is_empty());
    }

    #[test]
    fn types_rule_flags_http_stack_and_regex_only() {
        let f = rule("twilio-types").forbidden;
        assert_eq!(offenders(TREE, f), ["http", "hyper"]);
        for name in ["tokio", "tower", "regex"] {
            assert!(f(name), "{name}");
        }
        for name in [
            "tower-service",
            "http-body",
            "serde",
            "time",
            "zeroize",
            "regex-syntax",
        ] {
            assert!(!f(name), "{name}");
        }
    }

    #[test]
    fn transport_rule_flags_hyper_and_rustls() {
        let f = rule("twilio-transport").forbidden;
        assert_eq!(offenders(TREE, f), ["hyper"]);
        assert!(f("rustls"));
        assert!(!f("hyper-util") && !f("http") && !f("tower"));
    }

    #[test]
    fn accounts_rule_flags_direct_hyper_and_rustls() {
        let f = rule("twilio-accounts").forbidden;
        for name in ["hyper", "hyper-util", "hyper-rustls", "rustls"] {
            assert!(f(name), "{name}");
        }
        for name in ["twilio-transport", "http", "bytes", "serde_json"] {
            assert!(!f(name), "{name}");
        }
        assert_eq!(rule("twilio-accounts").extra_args, ["--depth", "1"]);
        assert_eq!(rule("twilio-rotate").extra_args, ["--depth", "1"]);
        assert!((rule("twilio-rotate").forbidden)("hyper-util"));
        assert!(!(rule("twilio-rotate").forbidden)("clap"));
    }

    #[test]
    fn store_rule_allows_only_twilio_types_and_no_runtime() {
        let f = rule("twilio-store").forbidden;
        assert!(!f("twilio-store") && !f("twilio-types") && !f("sha2") && !f("serde_json"));
        assert!(f("twilio-transport") && f("twilio-accounts") && f("tokio") && f("hyper"));
    }

    #[test]
    fn aws_store_rule_allows_ring_and_refuses_aws_lc() {
        let f = rule("twilio-store-aws").forbidden;
        for name in [
            "twilio-store",
            "twilio-types",
            "ring",
            "rustls",
            "aws-sdk-secretsmanager",
        ] {
            assert!(!f(name), "{name}");
        }
        for name in ["aws-lc-sys", "aws-lc-rs", "openssl-sys", "twilio-accounts"] {
            assert!(f(name), "{name}");
        }
    }

    #[test]
    fn fs_mentions_are_found_however_written() {
        assert!(mentions_fs("use std::fs::File;"));
        assert!(mentions_fs("let x = std :: fs :: read(p);"));
        assert!(mentions_fs("use std::{io, fs};\nfs::read(p)"));
        assert!(!mentions_fs("use std::fmt;\n// a file system"));
    }

    #[test]
    fn emulator_rule_allows_only_twilio_types() {
        let f = rule("twilio-emulator").forbidden;
        assert!(!f("twilio-emulator") && !f("twilio-types") && !f("hyper"));
        assert!(f("twilio-transport") && f("twilio-accounts"));
        assert_eq!(offenders(TREE, f), ["twilio-transport"]);
    }
}
