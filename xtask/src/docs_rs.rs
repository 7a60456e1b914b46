//! docs.rs shows which feature each gated item needs (part of the `hygiene` step).
//!
//! Every workspace crate with an optional feature must, for docs.rs's nightly rustdoc:
//! build with every feature and `--cfg docsrs` (`[package.metadata.docs.rs]`
//! `all-features = true`, `rustdoc-args = ["--cfg", "docsrs"]`), enable `doc_cfg` under that
//! cfg (`#![cfg_attr(docsrs, feature(doc_cfg))]` in `src/lib.rs`), and give each public item
//! behind `#[cfg(feature = …)]` its badge (`#[cfg_attr(docsrs, doc(cfg(feature = …)))]`).
//! On stable none of it is active, so `cargo doc` builds as before.

use std::path::Path;

use crate::Result;

/// The attribute that turns `doc(cfg)` on for docs.rs's build.
const DOC_CFG_FEATURE: &str = "#![cfg_attr(docsrs, feature(doc_cfg))]";

/// Checks every crate directory under `crates/`.
pub(crate) fn check(root: &Path) -> Result<()> {
    let crates = root.join("crates");
    let entries =
        std::fs::read_dir(&crates).map_err(|e| format!("cannot list {}: {e}", crates.display()))?;
    let mut dirs: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else {
            continue;
        };
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        if optional_features(&manifest).is_empty() {
            continue;
        }
        checked += 1;
        let sources = rust_sources(&dir.join("src"))?;
        let lib = sources
            .iter()
            .find(|(path, _)| path.ends_with("src/lib.rs"))
            .map(|(_, text)| text.as_str());
        problems.extend(
            crate_problems(&manifest, lib, &sources)
                .into_iter()
                .map(|p| format!("crates/{name}: {p}")),
        );
    }
    if problems.is_empty() {
        println!("    docs.rs: feature badges set up in the {checked} crates with features");
        Ok(())
    } else {
        Err(format!(
            "step `hygiene`: docs.rs would not show which feature an item needs:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// The features of `[features]` other than `default`.
fn optional_features(manifest: &str) -> Vec<String> {
    section(manifest, "[features]")
        .into_iter()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty() && name != "default")
        .collect()
}

/// The lines of the table `header` (without comments and blank lines).
fn section<'a>(manifest: &'a str, header: &str) -> Vec<&'a str> {
    manifest
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// What is missing in one crate: its manifest, its `lib.rs` and its sources (path, text).
fn crate_problems(manifest: &str, lib: Option<&str>, sources: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let docs_rs = section(manifest, "[package.metadata.docs.rs]");
    if !docs_rs
        .iter()
        .any(|l| l.replace(' ', "") == "all-features=true")
    {
        problems.push("Cargo.toml: no `all-features = true` in [package.metadata.docs.rs]".into());
    }
    if !docs_rs.iter().any(|l| {
        l.replace(' ', "")
            .starts_with(r#"rustdoc-args=["--cfg","docsrs""#)
    }) {
        problems.push(
            r#"Cargo.toml: no `rustdoc-args = ["--cfg", "docsrs"]` in [package.metadata.docs.rs]"#
                .into(),
        );
    }
    if lib.is_some_and(|text| !text.lines().any(|l| l.trim() == DOC_CFG_FEATURE)) {
        problems.push(format!("src/lib.rs: no `{DOC_CFG_FEATURE}`"));
    }
    for (path, text) in sources {
        problems.extend(
            unbadged_items(text)
                .into_iter()
                .map(|line| format!("{path}:{line}: a public item behind a feature has no `#[cfg_attr(docsrs, doc(cfg(…)))]`")),
        );
    }
    problems
}

/// The 1-based lines of `#[cfg(feature …)]` attributes on a public item without a
/// `doc(cfg(…))` badge among the item's attributes.
fn unbadged_items(source: &str) -> Vec<usize> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !(line.starts_with("#[cfg(") && line.contains("feature")) {
            continue;
        }
        // The item's other attributes and doc comments, then the item.
        let mut badged = false;
        let mut item = "";
        for next in &lines[i + 1..] {
            if next.starts_with("#[") || next.starts_with("///") {
                badged |= next.starts_with("#[cfg_attr(docsrs, doc(cfg(");
                continue;
            }
            item = next;
            break;
        }
        let public = item.starts_with("pub ") && !item.starts_with("pub(");
        if public && !badged {
            found.push(i + 1);
        }
    }
    found
}

/// Every `.rs` file under `dir`, as (path shown from the crate, text).
fn rust_sources(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let shown = path
                    .components()
                    .skip_while(|c| c.as_os_str() != "src")
                    .collect::<std::path::PathBuf>();
                out.push((shown.display().to_string(), text));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[package]\nname = \"x\"\n\n[features]\ndefault = []\n## doc\ntower = [\"dep:tower\"]\n\n[package.metadata.docs.rs]\nall-features = true\nrustdoc-args = [\"--cfg\", \"docsrs\"]\n";
    const LIB: &str = "//! x\n#![cfg_attr(docsrs, feature(doc_cfg))]\n\n#[cfg(feature = \"tower\")]\n#[cfg_attr(docsrs, doc(cfg(feature = \"tower\")))]\npub mod tower;\n";

    fn problems(manifest: &str, lib: &str) -> Vec<String> {
        crate_problems(manifest, Some(lib), &[("src/lib.rs".into(), lib.into())])
    }

    #[test]
    fn a_crate_set_up_for_badges_passes() {
        assert_eq!(optional_features(MANIFEST), ["tower"]);
        assert_eq!(problems(MANIFEST, LIB), Vec::<String>::new());
    }

    #[test]
    fn each_missing_piece_is_named() {
        let no_args = MANIFEST.replace("rustdoc-args = [\"--cfg\", \"docsrs\"]\n", "");
        assert!(problems(&no_args, LIB)[0].contains("rustdoc-args"));
        let no_feature = LIB.replace(DOC_CFG_FEATURE, "");
        assert!(problems(MANIFEST, &no_feature)[0].contains("feature(doc_cfg)"));
        let no_badge = LIB.replace("#[cfg_attr(docsrs, doc(cfg(feature = \"tower\")))]\n", "");
        let found = problems(MANIFEST, &no_badge);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("src/lib.rs:4:"), "{found:?}");
    }

    #[test]
    fn private_and_crate_items_need_no_badge() {
        let source = "#[cfg(feature = \"a\")]\nmod private;\n#[cfg(feature = \"a\")]\n/// doc\npub(crate) fn f() {}\n#[cfg(feature = \"a\")]\nimpl X {}\n";
        assert!(unbadged_items(source).is_empty());
        let public = "    /// doc\n    #[cfg(feature = \"a\")]\n    pub fn new() {}\n";
        assert_eq!(unbadged_items(public), [2]);
    }

    #[test]
    fn every_crate_of_the_workspace_shows_its_badges() {
        check(&crate::workspace_root()).unwrap();
    }
}
