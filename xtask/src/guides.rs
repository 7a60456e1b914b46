//! `cargo xtask guides` (and the `guides` step of `ci`): the README and every guide build
//! and run with exactly the `[dependencies]` block they tell the reader to add.
//!
//! Each page that has Rust examples must open (before its first example) with a ```` ```toml ````
//! block holding a `[dependencies]` and/or `[dev-dependencies]` table. For each page this
//! writes a scratch crate under the target directory: that block, verbatim, as its manifest,
//! and the page as its crate documentation; then `cargo test --doc` runs the page's examples
//! in it. The workspace's publishable crates stand in for their crates.io releases through
//! `[patch.crates-io]`, and the workspace's `Cargo.lock` is copied in, so the pages build with
//! the versions the workspace is tested with. A page may need a crate the workspace never
//! downloads (tracing's default features pull in `tracing-attributes`): `cargo fetch` on the
//! scratch workspace downloads exactly those first, then the examples build and run
//! `--offline`. A missing dependency, a missing feature (`tokio`'s `macros`, …) or an import
//! from a crate the page does not list fails it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::{Result, cmd, metadata};

/// The pages checked: the README, every crate's README and every guide.
fn pages(root: &Path) -> Result<Vec<PathBuf>> {
    let mut pages = vec![root.join("README.md")];
    let crates = root.join("crates");
    let entries =
        std::fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;
    let mut readmes: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path().join("README.md")))
        .filter(|path| path.is_file())
        .collect();
    readmes.sort();
    pages.extend(readmes);
    let guides = root.join("docs/guide");
    let entries =
        std::fs::read_dir(&guides).map_err(|e| format!("cannot list {}: {e}", guides.display()))?;
    let mut guide_pages: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    guide_pages.sort();
    pages.extend(guide_pages);
    Ok(pages)
}

/// Whether a fence's info string (`rust,no_run`, `toml`, ``) marks a block rustdoc compiles.
fn is_rust_fence(info: &str) -> bool {
    let first = info.split(',').next().unwrap_or("").trim();
    first.is_empty() || first == "rust"
}

/// The page's dependency block: the first ```` ```toml ```` block with a `[dependencies]` or
/// `[dev-dependencies]` table. `Ok(None)` for a page without Rust examples; an error when a
/// page with examples has no such block before its first example.
fn dependency_block(page: &str) -> Result<Option<String>, String> {
    let mut in_block: Option<(String, Vec<&str>)> = None;
    let mut block = None;
    for line in page.lines() {
        let trimmed = line.trim_start();
        match &mut in_block {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let info = info.trim().to_owned();
                    if is_rust_fence(&info) && block.is_none() {
                        return Err(
                            "has a Rust example before any ```toml [dependencies] block".into()
                        );
                    }
                    in_block = Some((info, Vec::new()));
                }
            }
            Some((info, lines)) => {
                if trimmed.starts_with("```") {
                    let is_deps = info == "toml"
                        && lines
                            .iter()
                            .any(|l| matches!(l.trim(), "[dependencies]" | "[dev-dependencies]"));
                    if is_deps && block.is_none() {
                        block = Some(lines.join("\n"));
                    }
                    in_block = None;
                } else {
                    lines.push(line);
                }
            }
        }
    }
    let has_rust = {
        let mut inside = false;
        let mut found = false;
        for line in page.lines() {
            if let Some(info) = line.trim_start().strip_prefix("```") {
                if !inside && is_rust_fence(info.trim()) {
                    found = true;
                }
                inside = !inside;
            }
        }
        found
    };
    Ok(if has_rust { block } else { None })
}

/// A scratch crate's name for `page` (`guide-readme`, `guide-twilio-types-readme`,
/// `guide-custom-transport`).
fn crate_name(page: &Path) -> String {
    let stem = page.file_stem().map_or_else(
        || "page".into(),
        |s| s.to_string_lossy().to_ascii_lowercase(),
    );
    let crate_dir = page
        .parent()
        .filter(|dir| {
            dir.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "crates")
        })
        .and_then(Path::file_name);
    match crate_dir {
        Some(dir) => format!("guide-{}-{stem}", dir.to_string_lossy()),
        None => format!("guide-{stem}"),
    }
}

pub(crate) fn run() -> Result<()> {
    let root = crate::workspace_root();
    let meta = metadata::workspace()?;
    let scratch = meta.target_directory.join("xtask-guides");
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;

    let mut members = Vec::new();
    for page in pages(&root)? {
        let shown = page
            .strip_prefix(&root)
            .unwrap_or(&page)
            .display()
            .to_string();
        let text =
            std::fs::read_to_string(&page).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let block = dependency_block(&text).map_err(|e| format!("step `guides`: {shown} {e}"))?;
        let Some(block) = block else {
            println!("    {shown}: no Rust examples, nothing to build");
            continue;
        };
        let name = crate_name(&page);
        let dir = scratch.join(&name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\
             # The dependency block of {shown}, verbatim:\n{block}\n\n[lib]\npath = \"lib.rs\"\n"
        );
        write(&dir.join("Cargo.toml"), &manifest)?;
        write(&dir.join("guide.md"), &text)?;
        write(
            &dir.join("lib.rs"),
            &format!("//! The examples of {shown}.\n#![doc = include_str!(\"guide.md\")]\n"),
        )?;
        members.push((name, shown));
    }

    let mut workspace = String::from("[workspace]\nresolver = \"3\"\nmembers = [");
    for (name, _) in &members {
        let _ = write!(workspace, "\"{name}\", ");
    }
    workspace.push_str(
        "]\n\n# The workspace's crates stand in for their releases.\n[patch.crates-io]\n",
    );
    for package in &meta.publishable {
        let _ = writeln!(
            workspace,
            "{} = {{ path = {:?} }}",
            package.name,
            package.dir.display().to_string()
        );
    }
    write(&scratch.join("Cargo.toml"), &workspace)?;
    let lock = std::fs::read(root.join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    std::fs::write(scratch.join("Cargo.lock"), lock)
        .map_err(|e| format!("cannot write the scratch Cargo.lock: {e}"))?;

    let manifest_path = scratch.join("Cargo.toml");
    // What the pages need beyond the workspace's own dependencies, downloaded (and added to
    // the scratch lock file) here: the builds below are offline, so none of them can reach
    // the network half-way, and an empty cargo cache behaves as a warm one.
    let mut fetch = cmd::cargo(["fetch", "--manifest-path"]);
    fetch.arg(&manifest_path);
    cmd::run_step("guides", &mut fetch)
        .map_err(|e| format!("{e}\n    the pages' dependencies could not be downloaded"))?;
    for (name, shown) in &members {
        let mut test = cmd::cargo(["test", "--doc", "--offline", "-p", name, "--manifest-path"]);
        test.arg(&manifest_path)
            // Share compiled dependencies with the workspace build.
            .env("CARGO_TARGET_DIR", &meta.target_directory);
        cmd::run_step("guides", &mut test).map_err(|e| {
            format!(
                "{e}\n    {shown}: its examples do not build or pass with its own dependency block"
            )
        })?;
    }
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    // Unchanged files keep their timestamps, so cargo does not rebuild for nothing.
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_block_before_the_first_example() {
        let page = "# T\n\n```toml\n[dependencies]\ntwilio-accounts = \"0.1\"\n```\n\n```rust\nfn main() {}\n```\n";
        assert_eq!(
            dependency_block(page),
            Ok(Some("[dependencies]\ntwilio-accounts = \"0.1\"".to_owned()))
        );
        let dev = "```toml\n[dev-dependencies]\nx = \"1\"\n```\n```rust,no_run\n```\n";
        assert_eq!(
            dependency_block(dev),
            Ok(Some("[dev-dependencies]\nx = \"1\"".to_owned()))
        );
    }

    #[test]
    fn a_page_with_examples_needs_a_block_first() {
        assert!(dependency_block("```rust\nfn main() {}\n```\n").is_err());
        assert!(dependency_block("```\nlet x = 1;\n```\n").is_err());
        // A block that comes after the first example does not count.
        let late = "```rust,no_run\n```\n```toml\n[dependencies]\n```\n";
        assert!(dependency_block(late).is_err());
        // A toml block without a dependency table is not the block.
        let other = "```toml\n[package]\n```\n```rust\n```\n";
        assert!(dependency_block(other).is_err());
    }

    #[test]
    fn pages_without_examples_need_nothing() {
        assert_eq!(
            dependency_block("# T\n```sh\ncargo run\n```\n```text\nx\n```\n"),
            Ok(None)
        );
        assert_eq!(dependency_block(""), Ok(None));
    }

    #[test]
    fn every_page_of_the_workspace_has_its_block() {
        let root = crate::workspace_root();
        for page in pages(&root).unwrap() {
            let text = std::fs::read_to_string(&page).unwrap();
            assert!(dependency_block(&text).is_ok(), "{}", page.display());
        }
    }

    #[test]
    fn crate_names() {
        assert_eq!(crate_name(Path::new("/x/README.md")), "guide-readme");
        assert_eq!(
            crate_name(Path::new("/x/crates/twilio-types/README.md")),
            "guide-twilio-types-readme"
        );
        assert_eq!(
            crate_name(Path::new("docs/guide/custom-transport.md")),
            "guide-custom-transport"
        );
    }
}
