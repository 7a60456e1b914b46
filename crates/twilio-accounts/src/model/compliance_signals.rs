//! `accounts.v1.compliance_signals_check`: the answer of `POST /v1/ComplianceSignals/Check`.
//!
//! Unlike the rest of Accounts v1, this answer uses camelCase keys (`isActive`,
//! `sendingWindow`), as twilio-node 6.3.1 reads them; the Rust fields are snake_case.

use serde::Deserialize;
use time::OffsetDateTime;

use super::wire::{FromWire, nested, string_into};
use super::{Decode, wire_enum};
use crate::decode::Fields;
use crate::error::DecodeError;

/// The answer of a compliance signals check.
///
/// ```
/// use twilio_accounts::model::ComplianceSignalsCheck;
///
/// let answer = ComplianceSignalsCheck::from_json(br#"{"signals":{"quietHours":{
///     "isActive":true,"reason":"QUIET_HOURS_ACTIVE","evaluatedUseCase":"non-essential",
///     "location":{"countryIsoCode":"US","stateCode":"CA"},
///     "sendingWindow":{"startAt":"2026-11-28T16:00:00Z","endAt":"2026-11-29T05:00:00Z"}}}}"#)?;
/// let quiet = answer.quiet_hours().unwrap();
/// assert_eq!(quiet.is_active, Some(true));
/// assert_eq!(quiet.location.as_ref().unwrap().state_code.as_deref(), Some("CA"));
/// # Ok::<(), twilio_accounts::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComplianceSignalsCheck {
    /// The results of the requested signals (`signals`).
    pub signals: Option<ComplianceSignals>,
}

impl ComplianceSignalsCheck {
    /// Decodes a response body.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the field when the body is not a JSON object or a field has the
    /// wrong type or format.
    ///
    /// ```
    /// use twilio_accounts::model::ComplianceSignalsCheck;
    /// let empty = ComplianceSignalsCheck::from_json(br#"{"signals":null,"later":1}"#)?;
    /// assert!(empty.quiet_hours().is_none());
    /// assert!(ComplianceSignalsCheck::from_json(br#"{"signals":{"quietHours":{"isActive":"yes"}}}"#).is_err());
    /// # Ok::<(), twilio_accounts::DecodeError>(())
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, DecodeError> {
        super::from_json(body)
    }

    /// The quiet hours evaluation, when the answer has one.
    pub fn quiet_hours(&self) -> Option<&QuietHours> {
        self.signals.as_ref()?.quiet_hours.as_ref()
    }
}

/// The results of the requested signals.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComplianceSignals {
    /// The quiet hours evaluation (`quietHours`); `None` when it was not requested.
    pub quiet_hours: Option<QuietHours>,
}

/// The quiet hours evaluation for the recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuietHours {
    /// Whether quiet hours are in effect for the recipient (`isActive`).
    pub is_active: Option<bool>,
    /// Why quiet hours are or are not in effect (`reason`). Twilio documents no fixed list of
    /// values, so it stays a string.
    pub reason: Option<String>,
    /// Whether the evaluated use case is essential or not (`evaluatedUseCase`); `None` when
    /// it does not apply.
    pub evaluated_use_case: Option<EvaluatedUseCase>,
    /// The recipient's location used for the evaluation (`location`).
    pub location: Option<RecipientLocation>,
    /// When the message may be sent outside quiet hours (`sendingWindow`); `None` when it
    /// does not apply or the use case is exempt.
    pub sending_window: Option<SendingWindow>,
}

/// The location of the recipient used for the evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientLocation {
    /// The ISO 3166-1 alpha-2 country (`countryIsoCode`).
    pub country_iso_code: Option<String>,
    /// The state (`stateCode`, such as `CA`).
    pub state_code: Option<String>,
}

/// A time window outside quiet hours. When the requested time is already outside quiet hours,
/// `start_at` is that time and `end_at` is when quiet hours begin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendingWindow {
    /// The start of the window (`startAt`).
    pub start_at: Option<OffsetDateTime>,
    /// The end of the window (`endAt`).
    pub end_at: Option<OffsetDateTime>,
}

wire_enum! {
    /// How the check classified the message's use case (`evaluatedUseCase`).
    ///
    /// ```
    /// use twilio_accounts::model::EvaluatedUseCase;
    /// assert_eq!(EvaluatedUseCase::from("non-essential"), EvaluatedUseCase::NonEssential);
    /// assert_eq!(EvaluatedUseCase::Essential.as_str(), "essential");
    /// ```
    pub enum EvaluatedUseCase {
        /// `essential`: exempt from quiet hours (one-time passwords, fraud alerts, …).
        Essential = "essential",
        /// `non-essential`: subject to quiet hours (marketing, polls, …).
        NonEssential = "non-essential",
    }
}

/// Implements [`FromWire`] through a derive twin (see [`super::wire`]).
macro_rules! from_wire {
    ($($Model:ident => $Twin:ident),*) => {$(
        impl FromWire for $Model {
            fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $Twin::deserialize(d)
            }
        }
    )*};
}

from_wire!(
    ComplianceSignalsCheck => ComplianceSignalsCheckWire,
    ComplianceSignals => ComplianceSignalsWire,
    QuietHours => QuietHoursWire,
    RecipientLocation => RecipientLocationWire,
    SendingWindow => SendingWindowWire
);

/// The derive twin of [`ComplianceSignalsCheck`].
#[derive(Deserialize)]
#[serde(remote = "ComplianceSignalsCheck")]
struct ComplianceSignalsCheckWire {
    #[serde(deserialize_with = "nested", default)]
    signals: Option<ComplianceSignals>,
}

/// The derive twin of [`ComplianceSignals`].
#[derive(Deserialize)]
#[serde(remote = "ComplianceSignals")]
struct ComplianceSignalsWire {
    #[serde(rename = "quietHours", deserialize_with = "nested", default)]
    quiet_hours: Option<QuietHours>,
}

/// The derive twin of [`QuietHours`].
#[derive(Deserialize)]
#[serde(remote = "QuietHours", rename_all = "camelCase")]
struct QuietHoursWire {
    is_active: Option<bool>,
    reason: Option<String>,
    #[serde(deserialize_with = "string_into", default)]
    evaluated_use_case: Option<EvaluatedUseCase>,
    #[serde(deserialize_with = "nested", default)]
    location: Option<RecipientLocation>,
    #[serde(deserialize_with = "nested", default)]
    sending_window: Option<SendingWindow>,
}

/// The derive twin of [`RecipientLocation`].
#[derive(Deserialize)]
#[serde(remote = "RecipientLocation", rename_all = "camelCase")]
struct RecipientLocationWire {
    country_iso_code: Option<String>,
    state_code: Option<String>,
}

/// The derive twin of [`SendingWindow`].
#[derive(Deserialize)]
#[serde(remote = "SendingWindow", rename_all = "camelCase")]
struct SendingWindowWire {
    #[serde(with = "twilio_types::timestamp::option", default)]
    start_at: Option<OffsetDateTime>,
    #[serde(with = "twilio_types::timestamp::option", default)]
    end_at: Option<OffsetDateTime>,
}

impl Decode for ComplianceSignalsCheck {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            signals: f
                .object("signals")?
                .map(|s| ComplianceSignals::decode(&s))
                .transpose()?,
        })
    }
}

impl Decode for ComplianceSignals {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            quiet_hours: f
                .object("quietHours")?
                .map(|q| QuietHours::decode(&q))
                .transpose()?,
        })
    }
}

impl Decode for QuietHours {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            is_active: f.bool("isActive")?,
            reason: f.string("reason")?,
            evaluated_use_case: f.string("evaluatedUseCase")?.map(EvaluatedUseCase::from),
            location: f
                .object("location")?
                .map(|l| RecipientLocation::decode(&l))
                .transpose()?,
            sending_window: f
                .object("sendingWindow")?
                .map(|w| SendingWindow::decode(&w))
                .transpose()?,
        })
    }
}

impl Decode for RecipientLocation {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            country_iso_code: f.string("countryIsoCode")?,
            state_code: f.string("stateCode")?,
        })
    }
}

impl Decode for SendingWindow {
    fn decode(f: &Fields<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            start_at: f.timestamp("startAt")?,
            end_at: f.timestamp("endAt")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn decodes_every_field() {
        let body = br#"{"signals":{"quietHours":{"isActive":false,"reason":"OUTSIDE_QUIET_HOURS",
            "evaluatedUseCase":"non-essential","location":{"countryIsoCode":"US","stateCode":"NY"},
            "sendingWindow":{"startAt":"2026-11-28T15:00:00Z","endAt":"2026-11-29T02:00:00Z"},
            "newField":[1]},"futureSignal":{}}}"#;
        let answer = ComplianceSignalsCheck::from_json(body).unwrap();
        let q = answer.quiet_hours().unwrap();
        assert_eq!(q.is_active, Some(false));
        assert_eq!(q.reason.as_deref(), Some("OUTSIDE_QUIET_HOURS"));
        assert_eq!(q.evaluated_use_case, Some(EvaluatedUseCase::NonEssential));
        let location = q.location.as_ref().unwrap();
        assert_eq!(location.country_iso_code.as_deref(), Some("US"));
        assert_eq!(location.state_code.as_deref(), Some("NY"));
        let window = q.sending_window.as_ref().unwrap();
        assert_eq!(window.start_at, Some(datetime!(2026-11-28 15:00 UTC)));
        assert_eq!(window.end_at, Some(datetime!(2026-11-29 02:00 UTC)));
    }

    #[test]
    fn nulls_and_absences_are_none() {
        let answer = ComplianceSignalsCheck::from_json(
            br#"{"signals":{"quietHours":{"isActive":true,"evaluatedUseCase":null,"sendingWindow":null,"location":{}}}}"#,
        )
        .unwrap();
        let q = answer.quiet_hours().unwrap();
        assert_eq!(q.evaluated_use_case, None);
        assert_eq!(q.sending_window, None);
        assert_eq!(q.location.as_ref().unwrap().state_code, None);
        assert!(
            ComplianceSignalsCheck::from_json(b"{}")
                .unwrap()
                .signals
                .is_none()
        );
    }

    #[test]
    fn errors_name_the_camel_case_field() {
        let err = ComplianceSignalsCheck::from_json(
            br#"{"signals":{"quietHours":{"sendingWindow":{"startAt":"soon"}}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.field(),
            Some("signals.quietHours.sendingWindow.startAt")
        );
        let err = ComplianceSignalsCheck::from_json(br#"{"signals":[]}"#).unwrap_err();
        assert_eq!(err.field(), Some("signals"));
    }

    #[test]
    fn unknown_use_case_classes_are_kept() {
        let answer = ComplianceSignalsCheck::from_json(
            br#"{"signals":{"quietHours":{"evaluatedUseCase":"semi-essential"}}}"#,
        )
        .unwrap();
        let class = answer
            .quiet_hours()
            .unwrap()
            .evaluated_use_case
            .clone()
            .unwrap();
        assert!(matches!(class, EvaluatedUseCase::Unknown(_)));
        assert_eq!(class.as_str(), "semi-essential");
    }

    proptest! {
        #[test]
        fn wire_values_round_trip(s in "[a-z-]{0,20}") {
            let parsed = EvaluatedUseCase::from(s.as_str());
            prop_assert_eq!(parsed.as_str(), s.as_str());
            prop_assert_eq!(EvaluatedUseCase::from(s.clone()), EvaluatedUseCase::from(s.as_str()));
        }
    }
}
