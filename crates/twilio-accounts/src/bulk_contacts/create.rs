//! `CreateBulkContacts`: `POST /v1/Contacts/Bulk`.

use super::ContactItem;
use crate::model::BulkContacts;
use crate::request::FixedPath;

static PATH: FixedPath = FixedPath::new("/v1/Contacts/Bulk");

crate::bulk_items::json_items_operation! {
    /// Upserts contacts in bulk. From `client.bulk_contacts().create(items)`.
    ///
    /// ```no_run
    /// use twilio_accounts::bulk_contacts::ContactItem;
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let item = ContactItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "US", "94105");
    /// let response = client.bulk_contacts().create([item]).send().await?;
    /// let failed = response.item_results()?.into_iter().filter(|r| !r.is_success()).count();
    /// # Ok(()) }
    /// ```
    pub struct CreateBulkContacts => POST &PATH, items: Vec<ContactItem> as "Items";

    /// Sends the request. Per-item outcomes are in [`BulkContacts::item_results`].
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) for no items or an item with an empty field
    /// (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, items: Vec<twilio_accounts::bulk_contacts::ContactItem>) -> Result<(), twilio_accounts::Error> {
    /// let result = client.bulk_contacts().create(items).send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> BulkContacts;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn one_json_string_per_items_key() {
        let items = [
            ContactItem::new(
                "+19999999999",
                "ad388b5a46b33b874b0d41f7226db2eh",
                "US",
                "12345",
            ),
            ContactItem::new("+19", "02520cfa6c432f0e3ec3a38c122d428a", "US", "12 345"),
        ];
        let r = client()
            .bulk_contacts()
            .create(items)
            .build_request()
            .unwrap();
        assert_eq!(r.uri(), "/v1/Contacts/Bulk");
        assert_form(
            &r,
            &[
                (
                    "Items",
                    r#"{"contact_id":"+19999999999","correlation_id":"ad388b5a46b33b874b0d41f7226db2eh","country_iso_code":"US","zip_code":"12345"}"#,
                ),
                (
                    "Items",
                    r#"{"contact_id":"+19","correlation_id":"02520cfa6c432f0e3ec3a38c122d428a","country_iso_code":"US","zip_code":"12 345"}"#,
                ),
            ],
        );
        assert!(std::str::from_utf8(r.body()).unwrap().contains("12%20345"));
    }

    #[test]
    fn invalid_items_are_refused() {
        let e = client()
            .bulk_contacts()
            .create([])
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("`items`"));
        let bad = ContactItem::new("+1", "c", "US", "1\n");
        let e = client()
            .bulk_contacts()
            .create([bad])
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("items[0].zip_code"), "{e}");
    }

    proptest::proptest! {
        /// Any Unicode in the items survives the JSON-in-form encoding: each `Items` field
        /// decodes to a JSON object holding exactly the values given.
        #[test]
        fn items_round_trip(
            values in proptest::collection::vec(
                ("\\PC{1,20}", "\\PC{1,40}", "[A-Z]{2}", "\\PC{1,10}"),
                1..4,
            ),
        ) {
            let values: Vec<_> = values
                .into_iter()
                .filter(|(a, b, _, d)| [a, b, d].iter().all(|v| !v.trim().is_empty()))
                .collect();
            proptest::prop_assume!(!values.is_empty());
            let items: Vec<_> = values
                .iter()
                .map(|(c, id, country, zip)| ContactItem::new(c, id, country, zip))
                .collect();
            let r = client().bulk_contacts().create(items).build_request().unwrap();
            let fields = form_body(&r);
            proptest::prop_assert_eq!(fields.len(), values.len());
            for ((key, json), (c, id, country, zip)) in fields.iter().zip(&values) {
                proptest::prop_assert_eq!(key, "Items");
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                proptest::prop_assert_eq!(
                    v,
                    serde_json::json!({
                        "contact_id": c, "correlation_id": id,
                        "country_iso_code": country, "zip_code": zip,
                    })
                );
            }
        }
    }
}
