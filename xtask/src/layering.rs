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
        what: "no hyper, tokio, tower, http or transport without features",
        forbidden: |name| {
            matches!(
                name,
                "hyper" | "tokio" | "tower" | "http" | "twilio-transport"
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

/// Runs every rule with `cargo tree`; fails naming the package, the rule and the offenders.
pub(crate) fn run() -> Result<()> {
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
    fn emulator_rule_allows_only_twilio_types() {
        let f = rule("twilio-emulator").forbidden;
        assert!(!f("twilio-emulator") && !f("twilio-types") && !f("hyper"));
        assert!(f("twilio-transport") && f("twilio-accounts"));
        assert_eq!(offenders(TREE, f), ["twilio-transport"]);
    }
}
