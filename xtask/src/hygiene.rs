//! Cheap repository checks that keep the README honest and credentials out of git.
//!
//! * The README's first ```` ```sh ```` block holds exactly two commands (the main job,
//!   then the tests), and `.ci/run` runs that second command: what the README calls
//!   "the tests" is what CI runs.
//! * No tracked file looks like a leaked credential: a PEM private key, an AWS access key
//!   id other than AWS's documented `…EXAMPLE` ones, a Vault or OpenBao token, or a credentials file (`.env`,
//!   `*.pem`, `*.key`); and no build or tool output (`target/`, `node_modules/`,
//!   `.tools/`) is tracked. Twilio auth tokens are 32 hex digits like every fixture
//!   SID's tail, so they cannot be told apart by shape; the SDK's own redaction tests
//!   cover them.
//! * docs.rs shows each feature-gated item's feature ([`crate::docs_rs`]).

use std::path::Path;
use std::process::Command;

use crate::{Result, cmd};

/// Runs both checks against the workspace's tracked files.
pub(crate) fn run() -> Result<()> {
    let root = crate::workspace_root();
    let readme = read(&root.join("README.md"))?;
    let ci_script = read(&root.join(".ci/run"))?;
    let commands = readme_commands(&readme)?;
    check_ci_runs(&commands, &ci_script)?;
    println!("    README: 2 commands; .ci/run runs `{}`", commands[1]);

    let mut ls = Command::new("git");
    ls.args(["ls-files", "-z"]).current_dir(&root);
    let listing = cmd::output("hygiene", &mut ls)?;
    let mut problems = Vec::new();
    let mut scanned = 0;
    for path in listing.split('\0').filter(|p| !p.is_empty()) {
        problems.extend(path_problem(path));
        // A tracked file deleted in the working tree is git's business, not a leak.
        let Ok(bytes) = std::fs::read(root.join(path)) else {
            continue;
        };
        scanned += 1;
        problems.extend(
            content_problems(&String::from_utf8_lossy(&bytes))
                .into_iter()
                .map(|p| format!("{path}: {p}")),
        );
    }
    if !problems.is_empty() {
        return Err(format!(
            "step `hygiene` failed: {} problem(s) in tracked files:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    println!("    no credential-like content in {scanned} tracked files");
    crate::docs_rs::check(&root)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The commands of the README's first ```` ```sh ```` block (a line ending in `\`
/// continues the command; blank lines and `#` comments are not commands). Fails unless
/// there are exactly two.
pub(crate) fn readme_commands(readme: &str) -> Result<Vec<String>> {
    let mut lines = readme.lines().skip_while(|l| l.trim_end() != "```sh");
    if lines.next().is_none() {
        return Err("README.md has no ```sh block".to_owned());
    }
    let mut commands: Vec<String> = Vec::new();
    let mut continued = false;
    let mut closed = false;
    for line in lines {
        let line = line.trim();
        if line.starts_with("```") {
            closed = true;
            break;
        }
        if !continued && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        let (text, continues) = match line.strip_suffix('\\') {
            Some(head) => (head.trim_end(), true),
            None => (line, false),
        };
        match commands.last_mut() {
            Some(last) if continued => {
                last.push(' ');
                last.push_str(text);
            }
            _ => commands.push(text.to_owned()),
        }
        continued = continues;
    }
    if !closed {
        return Err("README.md: the first ```sh block is never closed".to_owned());
    }
    if commands.len() != 2 {
        return Err(format!(
            "README.md: the first ```sh block must hold exactly two commands (the main job, \
             then the tests), found {}: {commands:?}",
            commands.len()
        ));
    }
    Ok(commands)
}

/// `.ci/run` must run the README's test command (its second command) as a line of its own.
pub(crate) fn check_ci_runs(commands: &[String], ci_script: &str) -> Result<()> {
    let tests = commands.get(1).ok_or("the README has no test command")?;
    if ci_script.lines().any(|line| line.trim() == tests) {
        Ok(())
    } else {
        Err(format!(
            ".ci/run does not run the README's test command `{tests}` (as a line of its own)"
        ))
    }
}

/// Why `path` must not be tracked, if it must not.
pub(crate) fn path_problem(path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_output_dir = path
        .split('/')
        .any(|part| matches!(part, "target" | "node_modules" | ".tools"));
    if in_output_dir {
        Some(format!("{path}: build or tool output is tracked"))
    } else if name == ".env" || name.starts_with(".env.") {
        Some(format!(
            "{path}: an environment file (credentials) is tracked"
        ))
    } else if name.ends_with(".pem") || name.ends_with(".key") {
        Some(format!("{path}: a key file is tracked"))
    } else {
        None
    }
}

/// The start and end of a PEM private key's first line (split so that this file does
/// not match itself).
const PEM_BEGIN: &str = "-----BEGIN";
const PEM_PRIVATE_KEY: &str = concat!("PRIVATE KEY", "-----");

/// The credential-like strings in `text`, described without repeating them.
pub(crate) fn content_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.contains(PEM_BEGIN) && line.contains(PEM_PRIVATE_KEY) {
            problems.push(format!("line {line_no}: a PEM private key"));
        }
        if has_vault_token(line) {
            problems.push(format!(
                "line {line_no}: a Vault/OpenBao token (`hvs.…`, `s.…`; tests make their own at run time)"
            ));
        }
        if aws_access_key_ids(line).any(|id| !id.ends_with("EXAMPLE")) {
            problems.push(format!(
                "line {line_no}: an AWS access key id (only AWS's documented …EXAMPLE ids are allowed)"
            ));
        }
    }
    problems
}

/// Whether `line` holds a Vault token (`hvs.`/`hvb.`/`hvr.` and 24 or more of `A-Za-z0-9_-`)
/// or an OpenBao one (`s.`/`b.`/`r.` and exactly 24 letters and digits), standing alone.
fn has_vault_token(line: &str) -> bool {
    let bytes = line.as_bytes();
    let body = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    (0..bytes.len()).any(|start| {
        let before_ok = start == 0 || !(body(&bytes[start - 1]) || bytes[start - 1] == b'.');
        if !before_ok {
            return false;
        }
        let rest = &bytes[start..];
        let run = |prefix: &[u8]| {
            rest.strip_prefix(prefix)
                .map(|tail| (tail.iter().take_while(|b| body(b)).count(), tail))
        };
        let hashicorp = [&b"hvs."[..], b"hvb.", b"hvr."]
            .into_iter()
            .any(|prefix| run(prefix).is_some_and(|(len, _)| len >= 24));
        let openbao = [&b"s."[..], b"b.", b"r."].into_iter().any(|prefix| {
            run(prefix).is_some_and(|(len, tail)| {
                len == 24 && tail[..24].iter().all(u8::is_ascii_alphanumeric)
            })
        });
        hashicorp || openbao
    })
}

/// Every `AKIA`/`ASIA` followed by 16 capital letters or digits in `line`.
fn aws_access_key_ids(line: &str) -> impl Iterator<Item = &str> {
    const LEN: usize = 20;
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(LEN - 1)).filter_map(move |start| {
        let candidate = bytes.get(start..start + LEN)?;
        let prefix_ok = candidate.starts_with(b"AKIA") || candidate.starts_with(b"ASIA");
        let body_ok = candidate
            .iter()
            .skip(4)
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        // The id stands alone: not the middle of a longer run of such characters.
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let after_ok = bytes
            .get(start + LEN)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if prefix_ok && body_ok && before_ok && after_ok {
            line.get(start..start + LEN)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_sh_block() {
        let readme = "# x\n\n```rust\nfn main() {}\n```\n\n```sh\n# build and run\ncargo run -p a \\\n  --example b\n\ncargo xtask ci\n```\n\n```sh\necho later blocks do not count\n```\n";
        assert_eq!(
            readme_commands(readme).unwrap(),
            ["cargo run -p a --example b", "cargo xtask ci"]
        );
    }

    #[test]
    fn refuses_anything_but_two_commands() {
        for readme in [
            "no block",
            "```sh\ncargo xtask ci\n```",
            "```sh\na\nb\nc\n```",
            "```sh\na\nb\n",
            "```sh\n```",
        ] {
            assert!(readme_commands(readme).is_err(), "{readme:?}");
        }
    }

    #[test]
    fn the_workspace_readme_passes() {
        let root = crate::workspace_root();
        let commands = readme_commands(&read(&root.join("README.md")).unwrap()).unwrap();
        check_ci_runs(&commands, &read(&root.join(".ci/run")).unwrap()).unwrap();
    }

    #[test]
    fn ci_must_run_the_test_command() {
        let commands = ["cargo run".to_owned(), "cargo xtask ci".to_owned()];
        assert!(check_ci_runs(&commands, "set -e\ncargo xtask ci\n").is_ok());
        assert!(check_ci_runs(&commands, "set -e\n# cargo xtask ci\ncargo test\n").is_err());
        assert!(check_ci_runs(&commands, "cargo xtask ci --skip-contract\n").is_err());
    }

    #[test]
    fn flags_output_dirs_and_credential_files() {
        for path in [
            "target/debug/x",
            "crates/a/target/x",
            "node_modules/p/index.js",
            ".tools/prism/package.json",
            ".env",
            "deploy/.env.production",
            "keys/signing.pem",
            "id.key",
        ] {
            assert!(path_problem(path).is_some(), "{path}");
        }
        for path in [
            "README.md",
            "crates/a/src/key.rs",
            "docs/environment.md",
            "targets.md",
        ] {
            assert_eq!(path_problem(path), None, "{path}");
        }
    }

    #[test]
    fn flags_private_keys_and_aws_ids_without_echoing_them() {
        let key_id = ["AKIA", "Q3EGRS4OJ2ZX7WMP"].concat();
        let text = format!(
            "ok line\n{PEM_BEGIN} RSA {PEM_PRIVATE_KEY}\nid = \"{key_id}\"\nx AKIAIOSFODNN7EXAMPLE y\n"
        );
        let problems = content_problems(&text);
        assert_eq!(
            problems,
            [
                "line 2: a PEM private key",
                "line 3: an AWS access key id (only AWS's documented …EXAMPLE ids are allowed)",
            ]
        );
        assert!(problems.iter().all(|p| !p.contains(&key_id)));
        // Longer runs of capitals are not key ids; neither is a public key.
        let long = ["XAKIA", "Q3EGRS4OJ2ZX7WMP"].concat();
        assert!(content_problems(&long).is_empty());
        assert!(content_problems("-----BEGIN PUBLIC KEY-----").is_empty());

        // Vault and OpenBao tokens, without echoing them; code and short test tokens pass.
        let vault = [
            "hvs.",
            "CAESIJ4kq9xQ2mW7pLr8tYz3nF0aBcDeFgHiJkLmNoPqRsTuVwXyZ",
        ]
        .concat();
        let bao = ["s.", "2EEzq9xQ2mW7pLr8tYz3nF0a"].concat();
        let problems = content_problems(&format!("token = \"{vault}\"\nVAULT_TOKEN={bao}\n"));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 1: a Vault/OpenBao token"));
        assert!(
            problems
                .iter()
                .all(|p| !p.contains(&vault) && !p.contains(&bao))
        );
        for fine in [
            "let t = VaultToken::new(\"hvs.secret\");",
            "s.to_ascii_lowercase_for_the_record()",
            "chars.2EEzq9xQ2mW7pLr8tYz3nF0a",
            "s.2EEzq9xQ2mW7pLr8tYz3nF0aX",
        ] {
            assert!(content_problems(fine).is_empty(), "{fine}");
        }
        assert!(content_problems("").is_empty());
    }
}
