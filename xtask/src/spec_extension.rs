//! Our own OpenAPI fragments for operations beyond Twilio's published spec
//! (`spec/extensions/*.json`, today only the Compliance Signals check from twilio-node
//! 6.3.1), merged into the contract check's temporary spec copy so Prism checks them like
//! the others. The vendored spec itself is never edited.

use serde_json::Value;

use crate::Result;

/// The fragments, relative to the workspace root.
pub(crate) const FRAGMENTS: [&str; 1] = ["spec/extensions/compliance_signals.json"];

/// The marker every fragment carries in `info` to say it is ours, not Twilio's.
pub(crate) const MARKER: &str = "x-twilio-accounts-rs";

/// Adds the `paths` and `components.schemas` of `fragment` to `spec`.
///
/// Fails, changing nothing, when the fragment lacks the [`MARKER`], or when a path or schema
/// it brings already exists in `spec` (Twilio has published it: review and retire ours).
pub(crate) fn merge(spec: &mut Value, fragment: &Value) -> Result<()> {
    if fragment["info"][MARKER].is_null() {
        return Err(format!(
            "an extension fragment must be marked as ours with info.{MARKER}"
        ));
    }
    let paths = fragment["paths"]
        .as_object()
        .ok_or("the extension fragment has no `paths` object")?;
    let empty = serde_json::Map::new();
    let schemas = fragment["components"]["schemas"]
        .as_object()
        .unwrap_or(&empty);
    for path in paths.keys() {
        if !spec["paths"][path].is_null() {
            return Err(format!(
                "the spec already has {path}: Twilio now publishes it, retire our fragment"
            ));
        }
    }
    for name in schemas.keys() {
        if !spec["components"]["schemas"][name].is_null() {
            return Err(format!("the spec already has a schema named {name}"));
        }
    }
    let spec_paths = spec["paths"]
        .as_object_mut()
        .ok_or("the spec has no `paths` object")?;
    for (path, item) in paths {
        spec_paths.insert(path.clone(), item.clone());
    }
    let spec_schemas = spec["components"]["schemas"]
        .as_object_mut()
        .ok_or("the spec has no `components.schemas` object")?;
    for (name, schema) in schemas {
        spec_schemas.insert(name.clone(), schema.clone());
    }
    Ok(())
}

/// Reads every fragment from the workspace and merges it into `spec`.
pub(crate) fn merge_all(spec: &mut Value) -> Result<()> {
    for relative in FRAGMENTS {
        let path = crate::workspace_root().join(relative);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let fragment: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{relative} is not valid JSON: {e}"))?;
        merge(spec, &fragment).map_err(|e| format!("{relative}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vendored() -> Value {
        serde_json::from_str(include_str!("../../spec/twilio_accounts_v1.json")).unwrap()
    }

    #[test]
    fn merges_the_compliance_signals_operation() {
        let mut spec = vendored();
        let paths_before = spec["paths"].as_object().unwrap().len();
        merge_all(&mut spec).unwrap();
        let op = &spec["paths"]["/v1/ComplianceSignals/Check"]["post"];
        assert_eq!(op["operationId"], "CreateComplianceSignalsCheck");
        let reference = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let name = reference.rsplit('/').next().unwrap();
        assert!(spec["components"]["schemas"][name].is_object());
        assert_eq!(spec["paths"].as_object().unwrap().len(), paths_before + 1);
    }

    #[test]
    fn the_fragment_says_it_is_ours() {
        let text = include_str!("../../spec/extensions/compliance_signals.json");
        let fragment: Value = serde_json::from_str(text).unwrap();
        assert!(
            fragment["info"]["description"]
                .as_str()
                .unwrap()
                .starts_with("NOT A TWILIO DOCUMENT")
        );
        assert!(
            fragment["info"][MARKER]["derivedFrom"]
                .as_str()
                .unwrap()
                .contains("twilio-node 6.3.1")
        );
    }

    #[test]
    fn refuses_collisions_and_unmarked_fragments_and_changes_nothing() {
        let text = include_str!("../../spec/extensions/compliance_signals.json");
        let fragment: Value = serde_json::from_str(text).unwrap();
        let mut spec = vendored();
        merge(&mut spec, &fragment).unwrap();
        let before = spec.clone();
        let err = merge(&mut spec, &fragment).unwrap_err();
        assert!(
            err.contains("already has /v1/ComplianceSignals/Check"),
            "{err}"
        );
        assert_eq!(spec, before);

        let mut unmarked = fragment.clone();
        unmarked["info"].as_object_mut().unwrap().remove(MARKER);
        let mut spec = vendored();
        assert!(merge(&mut spec, &unmarked).unwrap_err().contains(MARKER));
        assert_eq!(spec, vendored());
        assert!(merge(&mut spec, &json!({"info": {MARKER: {}}})).is_err());
    }
}
