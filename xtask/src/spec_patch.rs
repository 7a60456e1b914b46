//! The one change the contract check makes to a temporary copy of the vendored spec
//! (CONTRACT.md §11): form `encoding` objects for the three array-of-object form
//! parameters, without which Prism never reads repeated form keys as an array.
//!
//! The vendored `spec/twilio_accounts_v1.json` itself is never edited.

use serde_json::{Value, json};

use crate::Result;

/// The media type of every request body in the spec.
const FORM: &str = "application/x-www-form-urlencoded";

/// `(path, method, form parameter)` of every array parameter that needs an `encoding` object.
pub(crate) const ARRAY_FORM_PARAMS: [(&str, &str, &str); 3] = [
    ("/v1/Consents/Bulk", "post", "Items"),
    ("/v1/Contacts/Bulk", "post", "Items"),
    ("/v1/Messaging/GeoPermissions", "patch", "Permissions"),
];

/// The encoding object added for each of [`ARRAY_FORM_PARAMS`].
pub(crate) fn form_encoding() -> Value {
    json!({ "style": "form", "explode": true, "allowReserved": true })
}

/// Adds the `encoding` objects to `spec` in place.
///
/// Fails, changing nothing, when an operation or its form body is missing, when the parameter
/// is not an array property of that body, or when the spec already carries a different
/// encoding for it (an upstream change that this patch must then be reviewed against). An
/// identical encoding already present is left as it is.
pub(crate) fn patch(spec: &mut Value) -> Result<()> {
    // Check everything first so a failure leaves `spec` untouched.
    for (path, method, param) in ARRAY_FORM_PARAMS {
        let media = &spec["paths"][path][method]["requestBody"]["content"][FORM];
        if !media.is_object() {
            return Err(format!(
                "spec has no {FORM} request body for {} {path}",
                method.to_uppercase()
            ));
        }
        if media["schema"]["properties"][param]["type"] != "array" {
            return Err(format!(
                "spec: {param} of {} {path} is not an array form property",
                method.to_uppercase()
            ));
        }
        let existing = &media["encoding"][param];
        if !existing.is_null() && *existing != form_encoding() {
            return Err(format!(
                "spec already has a different encoding for {param} of {} {path}: {existing}",
                method.to_uppercase()
            ));
        }
    }
    for (path, method, param) in ARRAY_FORM_PARAMS {
        let media = spec["paths"][path][method]["requestBody"]["content"][FORM]
            .as_object_mut()
            .ok_or_else(|| format!("spec has no {FORM} request body for {path}"))?;
        let encoding = media
            .entry("encoding")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| format!("spec: `encoding` of {path} is not an object"))?;
        encoding.insert(param.to_owned(), form_encoding());
    }
    Ok(())
}

/// Reads the vendored spec, patches it and returns the JSON text of the copy.
pub(crate) fn patched_copy(vendored: &str) -> Result<String> {
    let mut spec: Value = serde_json::from_str(vendored)
        .map_err(|e| format!("the vendored spec is not valid JSON: {e}"))?;
    patch(&mut spec)?;
    serde_json::to_string_pretty(&spec).map_err(|e| format!("could not serialize the spec: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VENDORED: &str = include_str!("../../spec/twilio_accounts_v1.json");

    fn vendored() -> Value {
        serde_json::from_str(VENDORED).unwrap()
    }

    /// Every JSON pointer at which an object has the key `key`.
    fn pointers_with_key(value: &Value, key: &str, at: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    if k == key {
                        out.push(child.clone());
                    }
                    pointers_with_key(v, key, &child, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers_with_key(v, key, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn adds_exactly_the_three_encodings_and_nothing_else() {
        let original = vendored();
        let mut before = Vec::new();
        pointers_with_key(&original, "encoding", "", &mut before);
        assert!(
            before.is_empty(),
            "the vendored spec now has encodings: {before:?}"
        );

        let patched: Value = serde_json::from_str(&patched_copy(VENDORED).unwrap()).unwrap();
        let mut added = Vec::new();
        pointers_with_key(&patched, "encoding", "", &mut added);
        assert_eq!(
            added,
            [
                "/paths/~1v1~1Consents~1Bulk/post/requestBody/content/application~1x-www-form-urlencoded/encoding",
                "/paths/~1v1~1Contacts~1Bulk/post/requestBody/content/application~1x-www-form-urlencoded/encoding",
                "/paths/~1v1~1Messaging~1GeoPermissions/patch/requestBody/content/application~1x-www-form-urlencoded/encoding",
            ]
        );
        let expected = [
            json!({"Items": form_encoding()}),
            json!({"Items": form_encoding()}),
            json!({"Permissions": form_encoding()}),
        ];
        for (pointer, expected) in added.iter().zip(expected) {
            assert_eq!(patched.pointer(pointer), Some(&expected), "{pointer}");
        }
        assert_eq!(
            form_encoding(),
            json!({"style": "form", "explode": true, "allowReserved": true})
        );

        // Removing the three objects gives back the vendored document exactly.
        let mut stripped = patched.clone();
        for pointer in &added {
            let (parent, _) = pointer.rsplit_once('/').unwrap();
            stripped
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove("encoding");
        }
        assert_eq!(stripped, original);
    }

    #[test]
    fn patching_twice_is_a_no_op() {
        let mut once = vendored();
        patch(&mut once).unwrap();
        let mut twice = once.clone();
        patch(&mut twice).unwrap();
        assert_eq!(once, twice);
    }

    #[test]
    fn refuses_a_conflicting_encoding_and_changes_nothing() {
        let mut spec = vendored();
        spec["paths"]["/v1/Messaging/GeoPermissions"]["patch"]["requestBody"]["content"][FORM]["encoding"] =
            json!({"Permissions": {"style": "deepObject"}});
        let before = spec.clone();
        let err = patch(&mut spec).unwrap_err();
        assert!(err.contains("different encoding for Permissions"), "{err}");
        assert_eq!(spec, before);
    }

    #[test]
    fn refuses_a_spec_without_the_operations() {
        let mut spec = vendored();
        spec["paths"]
            .as_object_mut()
            .unwrap()
            .remove("/v1/Contacts/Bulk");
        let before = spec.clone();
        let err = patch(&mut spec).unwrap_err();
        assert!(err.contains("POST /v1/Contacts/Bulk"), "{err}");
        assert_eq!(spec, before);

        let mut spec = vendored();
        spec["paths"]["/v1/Consents/Bulk"]["post"]["requestBody"]["content"][FORM]["schema"]["properties"]
            ["Items"]["type"] = json!("string");
        assert!(patch(&mut spec).unwrap_err().contains("not an array"));
        assert!(patched_copy("{").is_err());
    }
}
