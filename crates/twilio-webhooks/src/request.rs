//! [`WebhookRequest`]: what a validator needs from an incoming request.

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
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub(crate) url: &'a str,
    pub(crate) signature: Option<&'a str>,
    pub(crate) settings: Option<&'a str>,
    pub(crate) payload: Payload<'a>,
}

/// The body of a [`WebhookRequest`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    /// No body (GET).
    Empty,
    /// An `application/x-www-form-urlencoded` body, still encoded.
    FormBody(&'a [u8]),
    /// Form parameters a framework has already decoded.
    Params(&'a [(&'a str, &'a str)]),
    /// Any other body (JSON, …): signed through the URL's `bodySHA256`.
    Raw(&'a [u8]),
}

impl<'a> WebhookRequest<'a> {
    /// A request to `url`: the full public URL Twilio requested, with its query string, exactly
    /// as configured in Twilio (not the address your server sees behind a proxy). No body.
    pub fn new(url: &'a str) -> Self {
        Self {
            url,
            signature: None,
            settings: None,
            payload: Payload::Empty,
        }
    }

    /// The `X-Twilio-Signature` header's value, if the request has one.
    #[must_use]
    pub fn signature(mut self, header: Option<&'a str>) -> Self {
        self.signature = header;
        self
    }

    /// The `X-Twilio-Webhooks-Signature-Settings` header's value, if the request has one
    /// (SharedKey webhooks).
    #[must_use]
    pub fn signature_settings(mut self, header: Option<&'a str>) -> Self {
        self.settings = header;
        self
    }

    /// An `application/x-www-form-urlencoded` body, as received.
    #[must_use]
    pub fn form_body(mut self, body: &'a [u8]) -> Self {
        self.payload = Payload::FormBody(body);
        self
    }

    /// Form parameters already decoded by a framework, repeated names included.
    #[must_use]
    pub fn params(mut self, params: &'a [(&'a str, &'a str)]) -> Self {
        self.payload = Payload::Params(params);
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
