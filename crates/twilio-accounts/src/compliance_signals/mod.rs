//! The Compliance Signals check (`POST /v1/ComplianceSignals/Check`): may this recipient be
//! messaged now, or at `send_at`? (quiet hours, by the recipient's location and the
//! message's use case).
//!
//! No OpenAPI document Twilio has published describes this operation yet; it follows
//! twilio-node 6.3.1 (`complianceSignalsCheck`), the first official SDK that has it. It is
//! the one operation of Accounts v1 with a JSON body and camelCase keys both ways.
//!
//! ```no_run
//! use twilio_accounts::compliance_signals::{Signal, UseCase};
//! use twilio_accounts::E164;
//!
//! # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let answer = client
//!     .compliance_signals_check()
//!     .create()
//!     .signal(Signal::QuietHours)
//!     .to(E164::parse("+14155552671")?)
//!     .country_iso_code("US")
//!     .use_case(UseCase::Marketing)
//!     .send()
//!     .await?;
//! if let Some(quiet) = answer.quiet_hours() {
//!     if quiet.is_active == Some(true) {
//!         println!("wait until {:?}", quiet.sending_window.as_ref().and_then(|w| w.start_at));
//!     }
//! }
//! # Ok(()) }
//! ```

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use twilio_types::E164;

use crate::client::Client;
use crate::error::Error;
use crate::form::Form;
use crate::model::{ComplianceSignalsCheck, wire_enum};
use crate::request::{self, Body, FixedPath};

pub use crate::model::UnknownValue;

/// `/v1/ComplianceSignals/Check`.
static PATH: FixedPath = FixedPath::new("/v1/ComplianceSignals/Check");
/// The longest `body` accepted, in characters.
pub const MAX_BODY_CHARS: usize = 1600;

wire_enum! {
    /// A signal to evaluate (`signals`). twilio-node 6.3.1 documents only `QUIET_HOURS`.
    ///
    /// ```
    /// use twilio_accounts::compliance_signals::Signal;
    /// assert_eq!(Signal::QuietHours.as_str(), "QUIET_HOURS");
    /// ```
    pub enum Signal {
        /// `QUIET_HOURS`: whether the recipient's local quiet hours are in effect.
        QuietHours = "QUIET_HOURS",
    }
}

wire_enum! {
    /// The intent of the message (`useCase`). It takes precedence over `body` when both are
    /// given.
    ///
    /// ```
    /// use twilio_accounts::compliance_signals::UseCase;
    /// assert_eq!(UseCase::CustomerCare.as_str(), "CUSTOMERCARE");
    /// assert_eq!(UseCase::KNOWN.len(), 11);
    /// ```
    pub enum UseCase {
        /// `OTP`: one-time passwords.
        Otp = "OTP",
        /// `NOTIFICATIONS`: account notifications.
        Notifications = "NOTIFICATIONS",
        /// `FRAUD`: fraud alerts.
        Fraud = "FRAUD",
        /// `SECURITY`: security alerts.
        Security = "SECURITY",
        /// `CUSTOMERCARE`: customer care conversations.
        CustomerCare = "CUSTOMERCARE",
        /// `DELIVERY`: delivery updates.
        Delivery = "DELIVERY",
        /// `EDUCATION`: educational content.
        Education = "EDUCATION",
        /// `EVENTS`: event reminders and invitations.
        Events = "EVENTS",
        /// `POLLING`: polls and surveys.
        Polling = "POLLING",
        /// `ANNOUNCEMENTS`: announcements.
        Announcements = "ANNOUNCEMENTS",
        /// `MARKETING`: promotions.
        Marketing = "MARKETING",
    }
}

wire_enum! {
    /// The channel the message goes on (`channel`); Twilio assumes `SMS` when it is not given.
    ///
    /// ```
    /// use twilio_accounts::compliance_signals::Channel;
    /// assert_eq!(Channel::from("RCS"), Channel::Rcs);
    /// ```
    pub enum Channel {
        /// `SMS`.
        Sms = "SMS",
        /// `MMS`.
        Mms = "MMS",
        /// `RCS`.
        Rcs = "RCS",
        /// `CALL`: a voice call.
        Call = "CALL",
    }
}

/// The Compliance Signals check, from [`Client::compliance_signals_check`].
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use twilio_accounts::compliance_signals::{Signal, UseCase};
/// let answer = client
///     .compliance_signals_check()
///     .create()
///     .signal(Signal::QuietHours)
///     .to("+14155552671".parse()?)
///     .country_iso_code("US")
///     .use_case(UseCase::Otp)
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ComplianceSignalsCheckResource {
    client: Client,
}

impl ComplianceSignalsCheckResource {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Starts a check (`POST /v1/ComplianceSignals/Check`, operation
    /// `CreateComplianceSignalsCheck`). `signals`, `to` and `country_iso_code` are required,
    /// and `body` or `use_case`; [`send`](CreateComplianceSignalsCheck::send) checks that
    /// before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use twilio_accounts::compliance_signals::Signal;
    /// let answer = client
    ///     .compliance_signals_check()
    ///     .create()
    ///     .signal(Signal::QuietHours)
    ///     .to("+14155552671".parse()?)
    ///     .country_iso_code("US")
    ///     .body("20% off everything this weekend!")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateComplianceSignalsCheck {
        CreateComplianceSignalsCheck {
            client: self.client.clone(),
            signals: Vec::new(),
            to: None,
            country_iso_code: None,
            body: None,
            use_case: None,
            channel: None,
            zip_code: None,
            send_at: None,
        }
    }
}

/// `CreateComplianceSignalsCheck`: evaluates compliance signals for one recipient. From
/// `client.compliance_signals_check().create()`.
///
/// The request is a JSON object with camelCase keys (`countryIsoCode`, `useCase`, `zipCode`,
/// `sendAt`), as twilio-node 6.3.1 sends it.
///
/// ```no_run
/// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use time::macros::datetime;
/// use twilio_accounts::compliance_signals::{Channel, Signal, UseCase};
/// let answer = client
///     .compliance_signals_check()
///     .create()
///     .signal(Signal::QuietHours)
///     .to("+12125550100".parse()?)
///     .country_iso_code("US")
///     .use_case(UseCase::Events)
///     .channel(Channel::Mms)
///     .zip_code("10001")
///     .send_at(datetime!(2030-01-02 15:00 UTC))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `.send()` is awaited"]
pub struct CreateComplianceSignalsCheck {
    client: Client,
    signals: Vec<Signal>,
    to: Option<E164>,
    country_iso_code: Option<String>,
    body: Option<String>,
    use_case: Option<UseCase>,
    channel: Option<Channel>,
    zip_code: Option<String>,
    send_at: Option<OffsetDateTime>,
}

impl CreateComplianceSignalsCheck {
    /// Adds a signal to evaluate (`signals`, required: at least one).
    pub fn signal(mut self, signal: Signal) -> Self {
        self.signals.push(signal);
        self
    }

    /// Sets every signal to evaluate at once (`signals`), replacing earlier ones.
    pub fn signals(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        self.signals = signals.into_iter().collect();
        self
    }

    /// The recipient (`to`, required).
    pub fn to(mut self, to: E164) -> Self {
        self.to = Some(to);
        self
    }

    /// The recipient's ISO 3166-1 alpha-2 country (`countryIsoCode`, required; twilio-node
    /// 6.3.1 says only `US` is supported, which Twilio, not this client, enforces).
    pub fn country_iso_code(mut self, code: impl Into<String>) -> Self {
        self.country_iso_code = Some(code.into());
        self
    }

    /// The message text (`body`, at most [`MAX_BODY_CHARS`] characters); required when no
    /// [`use_case`](Self::use_case) is given.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The intent of the message (`useCase`); required when no [`body`](Self::body) is
    /// given, and used instead of the body when both are.
    pub fn use_case(mut self, use_case: UseCase) -> Self {
        self.use_case = Some(use_case);
        self
    }

    /// The channel (`channel`; Twilio assumes SMS when it is not set).
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// The recipient's US ZIP code (`zipCode`): 5 digits or ZIP+4 (`12345-6789`). Without it
    /// the location comes from the number.
    pub fn zip_code(mut self, zip_code: impl Into<String>) -> Self {
        self.zip_code = Some(zip_code.into());
        self
    }

    /// Evaluates a scheduled delivery at `send_at` instead of now (`sendAt`, sent as RFC 3339;
    /// Twilio refuses a time in the past).
    pub fn send_at(mut self, send_at: OffsetDateTime) -> Self {
        self.send_at = Some(send_at);
        self
    }

    /// The JSON body, after every client-side check.
    fn json_body(&self) -> Result<Value, Error> {
        if self.signals.is_empty() {
            return Err(Error::invalid_argument(
                "signals",
                "at least one signal is required (such as `Signal::QuietHours`)",
            ));
        }
        let to = self
            .to
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("to", "is required"))?;
        let country = self
            .country_iso_code
            .as_deref()
            .ok_or_else(|| Error::invalid_argument("country_iso_code", "is required"))?;
        check_country(country)?;
        match (&self.body, &self.use_case) {
            (None, None) => {
                return Err(Error::invalid_argument(
                    "body",
                    "a body or a use_case is required",
                ));
            }
            (Some(body), _) => check_body(body)?,
            (None, Some(_)) => {}
        }
        if let Some(zip) = &self.zip_code {
            check_zip_code(zip)?;
        }

        let mut json = Map::new();
        let signals = self.signals.iter().map(|s| Value::from(s.as_str()));
        json.insert("signals".into(), Value::Array(signals.collect()));
        json.insert("to".into(), to.as_str().into());
        json.insert("countryIsoCode".into(), country.into());
        if let Some(body) = &self.body {
            json.insert("body".into(), body.as_str().into());
        }
        if let Some(use_case) = &self.use_case {
            json.insert("useCase".into(), use_case.as_str().into());
        }
        if let Some(channel) = &self.channel {
            json.insert("channel".into(), channel.as_str().into());
        }
        if let Some(zip) = &self.zip_code {
            json.insert("zipCode".into(), zip.as_str().into());
        }
        if let Some(at) = &self.send_at {
            json.insert("sendAt".into(), twilio_types::timestamp::format(at).into());
        }
        Ok(Value::Object(json))
    }

    pub(crate) fn build_request(&self) -> Result<Request<Bytes>, Error> {
        let body = self.json_body()?;
        request::build_body(Method::POST, &PATH, &Form::new(), Body::Json(&body))
    }

    /// Sends the request.
    ///
    /// # Errors
    /// [`Error::Build`], nothing sent, naming the field when: no signal,
    /// no `to` or no `country_iso_code` is set; the country is not two ASCII capital letters;
    /// neither `body` nor `use_case` is set; the body is empty, has control characters other
    /// than newlines or is over [`MAX_BODY_CHARS`] characters; the ZIP code is not `12345` or
    /// `12345-6789`. Otherwise any error of the call (Twilio's 400 for a `send_at` in the
    /// past, for example).
    ///
    /// ```no_run
    /// # async fn run(client: twilio_accounts::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use twilio_accounts::compliance_signals::{Signal, UseCase};
    /// let answer = client
    ///     .compliance_signals_check()
    ///     .create()
    ///     .signal(Signal::QuietHours)
    ///     .to("+14155552671".parse()?)
    ///     .country_iso_code("US")
    ///     .use_case(UseCase::Otp)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<ComplianceSignalsCheck, Error> {
        let request = self.build_request()?;
        crate::response::call(&self.client, "CreateComplianceSignalsCheck", request).await
    }
}

/// Two ASCII capital letters (ISO 3166-1 alpha-2).
fn check_country(code: &str) -> Result<(), Error> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "country_iso_code",
            "must be an ISO 3166-1 alpha-2 code: two capital letters such as `US`",
        ))
    }
}

fn check_body(body: &str) -> Result<(), Error> {
    request::check_text("body", body, true)?;
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid_argument(
            "body",
            "must be at most 1600 characters",
        ));
    }
    Ok(())
}

/// `12345` or `12345-6789`.
fn check_zip_code(zip: &str) -> Result<(), Error> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match zip.split_once('-') {
        None => digits(zip, 5),
        Some((five, four)) => digits(five, 5) && digits(four, 4),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "zip_code",
            "must be a US ZIP code: 5 digits, or ZIP+4 such as `12345-6789`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::client;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn to() -> E164 {
        E164::parse("+14155552671").unwrap()
    }

    fn minimal() -> CreateComplianceSignalsCheck {
        client()
            .compliance_signals_check()
            .create()
            .signal(Signal::QuietHours)
            .to(to())
            .country_iso_code("US")
            .use_case(UseCase::Marketing)
    }

    fn sent_json(request: &Request<Bytes>) -> Value {
        serde_json::from_slice(request.body()).unwrap()
    }

    fn field_of(builder: CreateComplianceSignalsCheck) -> String {
        match builder.build_request().unwrap_err() {
            Error::Build(e) => e.field().unwrap_or_default().to_owned(),
            other => panic!("expected a build error, got {other:?}"),
        }
    }

    #[test]
    fn a_json_post_with_camel_case_keys() {
        let r = minimal()
            .body("hello")
            .channel(Channel::Rcs)
            .zip_code("94105-1234")
            .send_at(datetime!(2030-01-02 03:04:05 +1))
            .build_request()
            .unwrap();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/v1/ComplianceSignals/Check");
        let sent = crate::request::test_support::sent_headers(&r);
        assert_eq!(sent[http::header::CONTENT_TYPE], "application/json");
        assert_eq!(sent[http::header::ACCEPT], "application/json");
        assert_eq!(
            sent_json(&r),
            serde_json::json!({
                "signals": ["QUIET_HOURS"],
                "to": "+14155552671",
                "countryIsoCode": "US",
                "body": "hello",
                "useCase": "MARKETING",
                "channel": "RCS",
                "zipCode": "94105-1234",
                "sendAt": "2030-01-02T03:04:05+01:00",
            })
        );
    }

    #[test]
    fn optional_fields_are_left_out() {
        let r = minimal().build_request().unwrap();
        assert_eq!(
            sent_json(&r),
            serde_json::json!({
                "signals": ["QUIET_HOURS"],
                "to": "+14155552671",
                "countryIsoCode": "US",
                "useCase": "MARKETING",
            })
        );
        // Body only is fine too.
        let r = client()
            .compliance_signals_check()
            .create()
            .signals([Signal::QuietHours])
            .to(to())
            .country_iso_code("US")
            .body("Your code is 123456")
            .build_request()
            .unwrap();
        assert_eq!(sent_json(&r)["body"], "Your code is 123456");
        assert!(sent_json(&r).get("useCase").is_none());
    }

    #[test]
    fn unknown_values_go_out_as_they_came() {
        let r = minimal()
            .signals([Signal::from("OPT_OUT")])
            .use_case(UseCase::from("APPOINTMENTS"))
            .build_request()
            .unwrap();
        assert_eq!(sent_json(&r)["signals"], serde_json::json!(["OPT_OUT"]));
        assert_eq!(sent_json(&r)["useCase"], "APPOINTMENTS");
    }

    #[test]
    fn required_fields_are_checked_before_sending() {
        let empty = || client().compliance_signals_check().create();
        assert_eq!(field_of(empty()), "signals");
        assert_eq!(field_of(empty().signal(Signal::QuietHours)), "to");
        assert_eq!(
            field_of(empty().signal(Signal::QuietHours).to(to())),
            "country_iso_code"
        );
        assert_eq!(
            field_of(
                empty()
                    .signals([])
                    .to(to())
                    .country_iso_code("US")
                    .body("x")
            ),
            "signals"
        );
        let no_intent = empty()
            .signal(Signal::QuietHours)
            .to(to())
            .country_iso_code("US");
        assert_eq!(field_of(no_intent.clone()), "body");
        let message = no_intent.build_request().unwrap_err().to_string();
        assert!(message.contains("body or a use_case"), "{message}");
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in ["us", "USA", "U", "", "U1"] {
            assert_eq!(
                field_of(minimal().country_iso_code(bad)),
                "country_iso_code",
                "{bad}"
            );
        }
        for bad in ["", "  ", "a\u{0}b"] {
            assert_eq!(field_of(minimal().body(bad)), "body", "{bad:?}");
        }
        for bad in [
            "1234",
            "123456",
            "12345-678",
            "12345 6789",
            "1234a",
            "12345-",
        ] {
            assert_eq!(field_of(minimal().zip_code(bad)), "zip_code", "{bad}");
        }
    }

    #[test]
    fn body_length_is_counted_in_characters() {
        let at_limit = "é".repeat(MAX_BODY_CHARS);
        assert!(minimal().body(at_limit.clone()).build_request().is_ok());
        assert_eq!(field_of(minimal().body(format!("{at_limit}x"))), "body");
        assert!(minimal().body("line 1\nline 2").build_request().is_ok());
    }

    proptest! {
        #[test]
        fn zip_codes(zip in "[0-9]{5}(-[0-9]{4})?") {
            prop_assert!(minimal().zip_code(zip).build_request().is_ok());
        }

        #[test]
        fn never_panics_and_bodies_round_trip(body in any::<String>(), zip in any::<String>()) {
            let built = minimal().body(body.clone()).zip_code(zip).build_request();
            if let Ok(r) = built {
                prop_assert_eq!(&sent_json(&r)["body"], &Value::from(body));
            }
        }

        #[test]
        fn use_case_wire_values_round_trip(s in "[A-Z_]{0,16}") {
            let parsed = UseCase::from(s.as_str());
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }
    }

    #[test]
    fn known_variants_are_named() {
        for use_case in UseCase::KNOWN {
            assert!(!matches!(
                UseCase::from(use_case.as_str()),
                UseCase::Unknown(_)
            ));
        }
        for channel in Channel::KNOWN {
            assert_eq!(&Channel::from(channel.as_str()), channel);
        }
        assert_eq!(Signal::from("QUIET_HOURS"), Signal::QuietHours);
    }
}
