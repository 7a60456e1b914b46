//! The fast path of decoding: `serde` derive straight from the body bytes, with no
//! intermediate [`serde_json::Value`].
//!
//! [`from_json`](super::from_json) tries this first. Its errors are never shown: on any error
//! the field-by-field decoder of [`crate::decode`] runs instead, and that one names the failing
//! field by its path (`credentials[3].sid`) without echoing a value. Both accept exactly the
//! same bodies (a property test checks it), so the fallback only ever produces the error.
//!
//! The derived code stays private: each model has a private `#[serde(remote = …)]` twin listing
//! its fields (the compiler checks that names and types match the model), reached only through
//! [`FromWire`], so the models implement no public `Deserialize` and no serde error with a
//! value in it ever leaves the crate.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// A model (or part of one) that serde can decode directly.
pub(crate) trait FromWire: Sized {
    /// Decodes `Self` from `deserializer` (an object: see [`Object`] for the only caller).
    fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// A [`FromWire`] type that must come from a JSON object: derived structs also accept an
/// array, filling the fields by position, which the field-by-field decoder (rightly) refuses.
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: FromWire> de::Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(deserializer)).map(Object)
    }
}

/// Unwraps a list of [`Object`]s (in place: the two have the same layout, so no allocation).
pub(crate) fn objects<T>(list: Vec<Object<T>>) -> Vec<T> {
    list.into_iter().map(|Object(t)| t).collect()
}

/// A deserializer that asks for a map whatever the visitor asks for.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// An optional nested model: absent or `null` is `None`, anything else must be its object.
pub(crate) fn nested<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromWire,
{
    let value: Option<Object<T>> = de::Deserialize::deserialize(deserializer)?;
    Ok(value.map(|Object(t)| t))
}

/// `Option<String>` through `From<String>`, for the models' enum-like string fields.
pub(crate) fn string_into<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value: Option<String> = de::Deserialize::deserialize(deserializer)?;
    Ok(value.map(T::from))
}

/// The fields of a list page: the items under `key` and `meta`; the rest is skipped. A key
/// given twice is an error here (as for derived structs), so the fallback decides.
pub(crate) struct PageVisitor<T, M> {
    pub(crate) key: &'static str,
    pub(crate) marker: PhantomData<(T, M)>,
}

impl<'de, T: FromWire, M: FromWire + Default> Visitor<'de> for PageVisitor<T, M> {
    type Value = (Vec<T>, M);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a page object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut items, mut meta) = (None, None);
        while let Some(key) = map.next_key_seed(PageKey(self.key))? {
            match key {
                Key::Items if items.is_some() => return Err(de::Error::duplicate_field(self.key)),
                Key::Items => items = Some(map.next_value::<Option<Vec<Object<T>>>>()?),
                Key::Meta if meta.is_some() => return Err(de::Error::duplicate_field("meta")),
                Key::Meta => meta = Some(map.next_value::<Option<Object<M>>>()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((
            items.flatten().map(objects).unwrap_or_default(),
            meta.flatten().map(|Object(m)| m).unwrap_or_default(),
        ))
    }
}

enum Key {
    Items,
    Meta,
    Other,
}

/// Reads a page's key without allocating, comparing it with the items' key of that page.
struct PageKey(&'static str);

impl<'de> DeserializeSeed<'de> for PageKey {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for PageKey {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        Ok(if name == self.0 {
            Key::Items
        } else if name == "meta" {
            Key::Meta
        } else {
            Key::Other
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use proptest::prelude::*;
    use serde::Deserialize as _;
    use serde_json::{Value, json};

    use super::super::*;
    use super::*;

    /// The derived decoder and the field-by-field one accept the same bodies and agree on the
    /// result (`Debug` covers every field; the redacted tokens are compared separately).
    fn agree<T: Decode + Debug>(
        body: &[u8],
        secret: impl Fn(&T) -> Option<String>,
    ) -> Result<(), TestCaseError> {
        let fast = serde_json::from_slice::<Object<T>>(body).map(|Object(t)| t);
        let slow = decode_by_field::<T>(body);
        match (fast, slow) {
            (Ok(f), Ok(s)) => {
                prop_assert_eq!(format!("{f:?}"), format!("{s:?}"));
                prop_assert_eq!(secret(&f), secret(&s));
            }
            (Err(_), Err(_)) => {}
            (Ok(f), Err(e)) => prop_assert!(false, "derive accepted {f:?}, fields said {e}"),
            (Err(e), Ok(s)) => {
                prop_assert!(false, "derive refused ({e}) what fields read as {s:?}")
            }
        }
        Ok(())
    }

    fn no_secret<T>(_: &T) -> Option<String> {
        None
    }

    fn check_all(body: &[u8]) -> Result<(), TestCaseError> {
        agree::<SecondaryAuthToken>(body, |t| {
            t.secondary_auth_token
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
        })?;
        agree::<AuthTokenPromotion>(body, |t| {
            t.auth_token.as_ref().map(|s| s.expose_secret().to_owned())
        })?;
        agree::<CredentialAws>(body, no_secret)?;
        agree::<CredentialPublicKey>(body, no_secret)?;
        agree::<Page<CredentialAws>>(body, no_secret)?;
        agree::<Page<CredentialPublicKey>>(body, no_secret)?;
        agree::<Safelist>(body, no_secret)?;
        agree::<BulkConsents>(body, no_secret)?;
        agree::<BulkContacts>(body, no_secret)?;
        agree::<MessagingGeopermissions>(body, no_secret)?;
        agree::<ComplianceSignalsCheck>(body, no_secret)?;
        agree::<ComplianceSignals>(body, no_secret)?;
        agree::<QuietHours>(body, no_secret)?;
        // The lists kept as JSON: derived and field-by-field item decoding agree too.
        if let Ok(m) = decode_by_field::<BulkConsents>(body) {
            let fast = m
                .items
                .as_ref()
                .map(|v| Vec::<Object<BulkItemResult>>::deserialize(v).map(objects));
            let slow = m
                .items
                .as_ref()
                .map(|v| crate::decode::decode_objects(v, "items", BulkItemResult::decode));
            if let (Some(fast), Some(slow)) = (fast, slow) {
                prop_assert_eq!(fast.ok(), slow.ok());
            }
        }
        if let Ok(m) = decode_by_field::<MessagingGeopermissions>(body) {
            let fast = m
                .permissions
                .as_ref()
                .map(|v| Vec::<Object<GeoPermission>>::deserialize(v).map(objects));
            let slow = m
                .permissions
                .as_ref()
                .map(|v| crate::decode::decode_objects(v, "permissions", GeoPermission::decode));
            if let (Some(fast), Some(slow)) = (fast, slow) {
                prop_assert_eq!(fast.ok(), slow.ok());
            }
        }
        Ok(())
    }

    /// JSON built from the names the models read and values of every type, right and wrong.
    fn json() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec![
            "sid",
            "account_sid",
            "auth_token",
            "secondary_auth_token",
            "date_created",
            "date_updated",
            "url",
            "friendly_name",
            "credentials",
            "meta",
            "page",
            "page_size",
            "key",
            "next_page_url",
            "items",
            "permissions",
            "correlation_id",
            "error_code",
            "error_messages",
            "enabled",
            "type",
            "country_code",
            "phone_number",
            "signals",
            "quietHours",
            "isActive",
            "reason",
            "evaluatedUseCase",
            "location",
            "countryIsoCode",
            "stateCode",
            "sendingWindow",
            "startAt",
            "endAt",
            "other",
        ]);
        let text = prop::sample::select(vec![
            "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "AC0",
            "2015-07-31T04:00:00Z",
            "Fri, 31 Jul 2015 04:00:00 +0000",
            "yesterday",
            "country",
            "non-essential",
            "",
            "tok",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|n| json!(n)),
            text.prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 40, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..8).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn derived_and_field_decoders_agree(value in json()) {
            check_all(value.to_string().as_bytes())?;
        }

        #[test]
        fn they_agree_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..64)) {
            check_all(&body)?;
        }
    }

    #[test]
    fn an_array_is_not_an_object() {
        // Derived structs would fill fields by position from an array.
        let body = br#"["GNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","+1"]"#;
        assert!(serde_json::from_slice::<Object<Safelist>>(body).is_err());
        assert!(Safelist::from_json(body).is_err());
        let page = br#"{"credentials":[["CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]],"meta":[]}"#;
        let err = Page::<CredentialAws>::from_json(page).unwrap_err();
        assert_eq!(err.field(), Some("credentials[0]"));
    }

    #[test]
    fn a_repeated_key_falls_back_to_the_last_value() {
        let body = br#"{"phone_number":"+1","phone_number":"+2"}"#;
        assert!(serde_json::from_slice::<Object<Safelist>>(body).is_err());
        assert_eq!(
            Safelist::from_json(body).unwrap().phone_number.as_deref(),
            Some("+2")
        );
        let page = br#"{"credentials":[],"credentials":[{"friendly_name":"b"}]}"#;
        let page = Page::<CredentialAws>::from_json(page).unwrap();
        assert_eq!(page.items[0].friendly_name.as_deref(), Some("b"));
    }

    #[test]
    fn errors_come_from_the_field_decoder() {
        let mut items: Vec<Value> = (0..5)
            .map(|i| json!({"sid": format!("CR{i:032x}"), "friendly_name": "k"}))
            .collect();
        items[3]["sid"] = json!("CRsecret-looking-value");
        let body = json!({"credentials": items, "meta": {"page": 0}}).to_string();
        let err = Page::<CredentialAws>::from_json(body.as_bytes()).unwrap_err();
        assert_eq!(err.field(), Some("credentials[3].sid"));
        let text = format!("{err} {err:?} {}", std::error::Error::source(&err).unwrap());
        assert!(!text.contains("secret-looking"), "{text}");
        let err =
            SecondaryAuthToken::from_json(br#"{"secondary_auth_token":["hunter2"]}"#).unwrap_err();
        assert_eq!(err.field(), Some("secondary_auth_token"));
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
