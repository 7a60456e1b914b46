//! Checks and JSON encoding shared by the bulk request items (`Items`, `Permissions`): each
//! element goes on the wire as one JSON-encoded string under a repeated form key.

use bytes::Bytes;
use http::{Method, Request};
use serde::Serialize;

use crate::error::Error;
use crate::form::Form;
use crate::request::{self, FixedPath};

/// An element of a JSON-items parameter that can check itself before anything is sent.
pub(crate) trait CheckedItem: Serialize {
    /// Checks the item; the error names `items[index].field`.
    fn check(&self, index: usize) -> Result<(), Error>;
}

/// The request of a bulk operation (`CreateBulkConsents`, `CreateBulkContacts`,
/// `UpdateMessagingGeopermissions`): every item checked, then sent as `key=<json>` form fields.
/// `field` is the argument's name in errors (`items`, `permissions`).
pub(crate) fn json_items_request<T: CheckedItem>(
    method: Method,
    path: &'static FixedPath,
    key: &'static str,
    field: &'static str,
    items: &[T],
) -> Result<Request<Bytes>, Error> {
    for (index, item) in items.iter().enumerate() {
        item.check(index)?;
    }
    let mut body = Form::new();
    push_json_items(&mut body, key, field, items)?;
    request::build(method, path, &Form::new(), &body)
}

/// Appends every item as `key=<json>`; an empty list is refused (the parameter is required).
/// No upper bound is enforced here: Twilio's limit is not in the spec, so the server says.
fn push_json_items<T: Serialize>(
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

/// Checks the required text fields of item `index` of the argument `list`: none blank, none
/// with control characters. The error names the place, as in `items[2].zip_code`.
pub(crate) fn check_item_fields(
    list: &str,
    index: usize,
    fields: &[(&'static str, &str)],
) -> Result<(), Error> {
    for &(name, value) in fields {
        if let Err(error) = request::check_text(name, value, false) {
            let Error::Build(problem) = &error else {
                return Err(error);
            };
            return Err(Error::invalid_argument(
                format!("{list}[{index}].{name}"),
                problem.reason().to_owned(),
            ));
        }
    }
    Ok(())
}

/// Writes one bulk operation: a builder holding the client and the items, its pure
/// `build_request` (every item checked, then one JSON string per repeated form key) and `send`.
/// The three bulk operations differ only in method, path, item type, key and result, so each
/// file says just that (with its docs).
macro_rules! json_items_operation {
    (
        $(#[$doc:meta])*
        pub struct $Name:ident => $method:ident $path:expr, $field:ident: Vec<$Item:ty> as $key:literal;
        $(#[$send_doc:meta])*
        async fn send -> $Out:ty;
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until `.send()` is awaited"]
        pub struct $Name {
            client: $crate::client::Client,
            $field: Vec<$Item>,
        }

        impl $Name {
            pub(crate) fn new(client: $crate::client::Client, $field: Vec<$Item>) -> Self {
                Self { client, $field }
            }

            pub(crate) fn build_request(
                &self,
            ) -> Result<http::Request<bytes::Bytes>, $crate::error::Error> {
                $crate::bulk_items::json_items_request(
                    http::Method::$method,
                    $path,
                    $key,
                    stringify!($field),
                    &self.$field,
                )
            }

            $(#[$send_doc])*
            pub async fn send(self) -> Result<$Out, $crate::error::Error> {
                let request = self.build_request()?;
                $crate::response::call(&self.client, stringify!($Name), request).await
            }
        }
    };
}

pub(crate) use json_items_operation;
