//! `CreateBulkConsents`: `POST /v1/Consents/Bulk`.

use super::ConsentItem;
use crate::model::BulkConsents;
use crate::request::FixedPath;

static PATH: FixedPath = FixedPath::new("/v1/Consents/Bulk");

crate::bulk_items::json_items_operation! {
    /// Upserts consents in bulk. From `client.bulk_consents().create(items)`.
    ///
    /// ```no_run
    /// use twilio_accounts::bulk_consents::{ConsentItem, ConsentSource, ConsentStatus};
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), twilio_accounts::Error> {
    /// let item = ConsentItem::new("+15005550006", "ad388b5a46b33b874b0d41f7226db2ef", "+15005550001",
    ///     ConsentStatus::OptIn, ConsentSource::Offline);
    /// let response = client.bulk_consents().create([item]).send().await?;
    /// for result in response.item_results()? {
    ///     println!("{:?}: {}", result.correlation_id, result.is_success());
    /// }
    /// # Ok(()) }
    /// ```
    pub struct CreateBulkConsents => POST &PATH, items: Vec<ConsentItem> as "Items";

    /// Sends the request. Per-item outcomes are in
    /// [`BulkConsents::item_results`].
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) for no items or an item with an empty field
    /// (nothing sent), or any error of the call.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client, items: Vec<twilio_accounts::bulk_consents::ConsentItem>) -> Result<(), twilio_accounts::Error> {
    /// let result = client.bulk_consents().create(items).send().await?;
    /// # Ok(()) }
    /// ```
    async fn send -> BulkConsents;
}

#[cfg(test)]
mod tests {
    use super::super::{ConsentSource, ConsentStatus};
    use super::*;
    use crate::request::test_support::*;
    use crate::test_util::client;

    #[test]
    fn one_json_string_per_items_key() {
        let items = vec![
            ConsentItem::new(
                "+19999999999",
                "a1",
                "MG00000000000000000000000000000001",
                ConsentStatus::OptOut,
                ConsentSource::Website,
            ),
            ConsentItem::new(
                "+19",
                "b 2",
                "123456",
                ConsentStatus::OptIn,
                ConsentSource::OptInMessage,
            ),
        ];
        let r = client()
            .bulk_consents()
            .create(items)
            .build_request()
            .unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri(), "/v1/Consents/Bulk");
        assert_form(
            &r,
            &[
                (
                    "Items",
                    r#"{"contact_id":"+19999999999","correlation_id":"a1","sender_id":"MG00000000000000000000000000000001","status":"opt-out","source":"website"}"#,
                ),
                (
                    "Items",
                    r#"{"contact_id":"+19","correlation_id":"b 2","sender_id":"123456","status":"opt-in","source":"opt-in-message"}"#,
                ),
            ],
        );
    }

    #[test]
    fn empty_list_is_refused() {
        let e = client()
            .bulk_consents()
            .create(Vec::new())
            .build_request()
            .unwrap_err();
        assert!(e.to_string().contains("`items`"));
    }
}
