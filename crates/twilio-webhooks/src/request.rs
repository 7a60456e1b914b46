//! [`WebhookRequest`]: what a validator needs from an incoming request.

use std::borrow::Borrow;

use crate::signature::params_suffix;

/// The parts of an incoming request that a signature covers.
///
/// ```
/// use twilio_webhooks::WebhookRequest;
///
/// let request = WebhookRequest::new("https://example.com/sms")
///     .signature(Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
///     .form_body(b"From=%2B15551234567&Body=hi");
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
pub struct WebhookRequest<'a> {
    pub(crate) url: &'a str,
    pub(crate) signature: Header<'a>,
    pub(crate) settings: Header<'a>,
    pub(crate) payload: Payload<'a>,
}

/// A header as the request carried it: absent, once, or several times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header<'a> {
    Absent,
    Once(&'a str),
    /// Twilio sends each of its headers once: a repeated one is rejected, whatever its values.
    Repeated,
}

impl<'a> Header<'a> {
    fn from_values(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(value), None) => Self::Once(value),
            (Some(_), Some(_)) => Self::Repeated,
        }
    }
}

/// The body of a [`WebhookRequest`].
#[derive(Debug, Clone)]
pub(crate) enum Payload<'a> {
    /// No body (GET).
    Empty,
    /// An `application/x-www-form-urlencoded` body, still encoded.
    FormBody(&'a [u8]),
    /// Form parameters a framework has already decoded, as the part of the signed string
    /// that follows the URL.
    Params { suffix: String },
    /// Any other body (JSON, …): signed through the URL's `bodySHA256`.
    Raw(&'a [u8]),
}

impl<'a> WebhookRequest<'a> {
    /// A request to `url`: the full public URL Twilio requested, with its query string, exactly
    /// as configured in Twilio (not the address your server sees behind a proxy). No body.
    ///
    /// The URL is compared as given, a fragment (`#…`) included, as the official validators
    /// compare it: `https://example.com/sms#f` does not match a signature for
    /// `https://example.com/sms`. HTTP never carries a fragment to a server, so build the URL
    /// from the configured one, not from what the request says.
    pub fn new(url: &'a str) -> Self {
        Self {
            url,
            signature: Header::Absent,
            settings: Header::Absent,
            payload: Payload::Empty,
        }
    }

    /// The `X-Twilio-Signature` header's value, if the request has one.
    ///
    /// When the request may carry the header more than once (anything read from an HTTP
    /// request), use [`signature_values`](Self::signature_values): taking the first value
    /// would accept a request that the official validators, behind a real server, reject.
    #[must_use]
    pub fn signature(mut self, header: Option<&'a str>) -> Self {
        self.signature = header.map_or(Header::Absent, Header::Once);
        self
    }

    /// Every value of the `X-Twilio-Signature` header, as the request carried them
    /// (`headers.get_all(SIGNATURE_HEADER)`): none, one, or several — a repeated header is
    /// rejected ([`Rejection::RepeatedHeader`](crate::Rejection::RepeatedHeader)).
    ///
    /// ```
    /// use twilio_webhooks::{Rejection, Validator, WebhookRequest};
    /// # let validator = Validator::new(twilio_webhooks::AuthToken::new("12345")?);
    ///
    /// let request = WebhookRequest::new("https://example.com/sms")
    ///     .signature_values(["0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="]);
    /// assert!(matches!(validator.validate(&request), Err(Rejection::RepeatedHeader { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn signature_values(mut self, values: impl IntoIterator<Item = &'a str>) -> Self {
        self.signature = Header::from_values(values);
        self
    }

    /// The `X-Twilio-Webhooks-Signature-Settings` header's value, if the request has one
    /// (SharedKey webhooks).
    #[must_use]
    pub fn signature_settings(mut self, header: Option<&'a str>) -> Self {
        self.settings = header.map_or(Header::Absent, Header::Once);
        self
    }

    /// Every value of the `X-Twilio-Webhooks-Signature-Settings` header, as the request carried
    /// them; a repeated header is rejected, as with
    /// [`signature_values`](Self::signature_values).
    #[must_use]
    pub fn signature_settings_values(mut self, values: impl IntoIterator<Item = &'a str>) -> Self {
        self.settings = Header::from_values(values);
        self
    }

    /// An `application/x-www-form-urlencoded` body, as received.
    #[must_use]
    pub fn form_body(mut self, body: &'a [u8]) -> Self {
        self.payload = Payload::FormBody(body);
        self
    }

    /// Form parameters already decoded by a framework, repeated names included, in whatever
    /// shape it hands them over: `&[(&str, &str)]`, `Vec<(String, String)>` (axum's and
    /// actix's `Form<Vec<(String, String)>>`), a reference to one, or any iterator of name and
    /// value pairs of `AsRef<str>`.
    ///
    /// ```
    /// use twilio_webhooks::WebhookRequest;
    ///
    /// let decoded: Vec<(String, String)> = vec![("Body".into(), "hi".into())];
    /// let by_reference = WebhookRequest::new("https://example.com/sms").params(&decoded);
    /// let by_value = WebhookRequest::new("https://example.com/sms").params(decoded);
    /// let from_an_iterator = WebhookRequest::new("https://example.com/sms")
    ///     .params([("Body", "hi")].into_iter().map(|(n, v)| (n, v.to_owned())));
    /// # let _ = (by_reference, by_value, from_an_iterator);
    /// ```
    #[must_use]
    pub fn params<I, P, N, V>(mut self, params: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Borrow<(N, V)>,
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let items: Vec<P> = params.into_iter().collect();
        let pairs: Vec<(&str, &str)> = items
            .iter()
            .map(|item| {
                let (name, value) = item.borrow();
                (name.as_ref(), value.as_ref())
            })
            .collect();
        self.payload = Payload::Params {
            suffix: params_suffix(&pairs),
        };
        self
    }

    /// Any other body (JSON, …), as received: it must match the URL's `bodySHA256`.
    #[must_use]
    pub fn raw_body(mut self, body: &'a [u8]) -> Self {
        self.payload = Payload::Raw(body);
        self
    }

    /// The URL.
    pub fn url(&self) -> &'a str {
        self.url
    }
}
