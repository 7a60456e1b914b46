//! Checks and JSON encoding shared by the bulk request items (`Items`, `Permissions`): each
//! element goes on the wire as one JSON-encoded string under a repeated form key.

use serde::Serialize;

use crate::error::Error;
use crate::form::Form;

/// Appends every item as `key=<json>`; an empty list is refused (the parameter is required).
/// No upper bound is enforced here: Twilio's limit is not in the spec, so the server says.
pub(crate) fn push_json_items<T: Serialize>(
    form: &mut Form,
    key: &'static str,
    field: &'static str,
    items: &[T],
) -> Result<(), Error> {
    if items.is_empty() {
        return Err(Error::invalid_argument(
            field,
            "must contain at least one item",
        ));
    }
    for item in items {
        let json = serde_json::to_string(item).map_err(|e| {
            Error::build_with_source(Some(field.into()), "could not be encoded as JSON", e)
        })?;
        form.push(key, json);
    }
    Ok(())
}

/// A required text field of an item: not blank, no control characters.
pub(crate) fn check_item_text(field: &'static str, value: &str) -> Result<(), Error> {
    crate::request::check_text(field, value, false)
}
