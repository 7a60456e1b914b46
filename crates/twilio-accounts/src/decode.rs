//! Field-by-field decoding of JSON bodies into the models, with the path of the failing
//! field in every error (`credentials[2].date_created`).
//!
//! Decoding goes through [`serde_json::Value`] so that the unknown fields Twilio adds are
//! ignored, `null` reads as "absent" everywhere (the spec makes every field nullable), and a
//! value of the wrong type or format is an error that names its field instead of a panic or a
//! silently kept string.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize as _;
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use twilio_types::{AuthToken, ParseSidError};

use crate::error::DecodeError;

/// Parses a body that must be a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Value, DecodeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| DecodeError::new(None, e))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(DecodeError::new(
            None,
            TypeMismatch {
                expected: "an object",
                found: kind(&value),
            },
        ))
    }
}

/// A JSON value of the wrong type. Names the types only, never the value.
#[derive(Debug)]
pub(crate) struct TypeMismatch {
    pub(crate) expected: &'static str,
    pub(crate) found: &'static str,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)
    }
}

impl std::error::Error for TypeMismatch {}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of one JSON object, with the path that leads to it.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// `value` must be an object; `path` is where it sits (`""` for the root).
    pub(crate) fn new(value: &'a Value, path: String) -> Result<Self, DecodeError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(DecodeError::new(
                (!path.is_empty()).then_some(path),
                TypeMismatch {
                    expected: "an object",
                    found: kind(other),
                },
            )),
        }
    }

    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn mismatch(&self, name: &str, expected: &'static str, found: &Value) -> DecodeError {
        DecodeError::new(
            Some(self.path_of(name)),
            TypeMismatch {
                expected,
                found: kind(found),
            },
        )
    }

    /// The value of `name`, `None` when absent or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn raw(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.mismatch(name, "a string", other)),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.mismatch(name, "a boolean", other)),
        }
    }

    /// Any JSON number (Twilio documents unbounded integers).
    pub(crate) fn number(&self, name: &str) -> Result<Option<Number>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.clone())),
            Some(other) => Err(self.mismatch(name, "a number", other)),
        }
    }

    /// An integer that fits an `i64`.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                self.mismatch(
                    name,
                    "an integer in the 64-bit range",
                    &Value::Number(n.clone()),
                )
            }),
            Some(other) => Err(self.mismatch(name, "an integer", other)),
        }
    }

    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(values)) => values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(DecodeError::new(
                        Some(format!("{}[{i}]", self.path_of(name))),
                        TypeMismatch {
                            expected: "a string",
                            found: kind(other),
                        },
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.mismatch(name, "an array", other)),
        }
    }

    pub(crate) fn sid<T>(&self, name: &str) -> Result<Option<T>, DecodeError>
    where
        T: FromStr<Err = ParseSidError>,
    {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|e| DecodeError::new(Some(self.path_of(name)), e)),
        }
    }

    pub(crate) fn timestamp(&self, name: &str) -> Result<Option<OffsetDateTime>, DecodeError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => twilio_types::timestamp::parse(&s)
                .map(Some)
                .map_err(|e| DecodeError::new(Some(self.path_of(name)), e)),
        }
    }

    /// A sensitive token: any string is accepted (the value is never checked or echoed).
    pub(crate) fn token(&self, name: &str) -> Result<Option<AuthToken>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Value::String(_)) => AuthToken::deserialize(value)
                .map(Some)
                .map_err(|e| DecodeError::new(Some(self.path_of(name)), e)),
            Some(other) => Err(self.mismatch(name, "a string", other)),
        }
    }

    /// A nested object; `None` when absent or `null`.
    pub(crate) fn object(&self, name: &str) -> Result<Option<Fields<'a>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => Fields::new(value, self.path_of(name)).map(Some),
        }
    }

    /// An array of objects decoded by `decode`; `None` when absent or `null`.
    pub(crate) fn objects<T>(
        &self,
        name: &str,
        decode: impl Fn(&Fields<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => decode_objects(value, &self.path_of(name), decode).map(Some),
        }
    }
}

/// Decodes `value`, which must be an array of objects, element by element.
pub(crate) fn decode_objects<'a, T>(
    value: &'a Value,
    path: &str,
    decode: impl Fn(&Fields<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    match value {
        Value::Array(values) => values
            .iter()
            .enumerate()
            .map(|(i, v)| decode(&Fields::new(v, format!("{path}[{i}]"))?))
            .collect(),
        other => Err(DecodeError::new(
            Some(path.to_owned()),
            TypeMismatch {
                expected: "an array",
                found: kind(other),
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilio_types::CredentialSid;

    fn fields(v: &Value) -> Fields<'_> {
        Fields::new(v, String::new()).unwrap()
    }

    #[test]
    fn null_and_missing_are_none() {
        let v = serde_json::json!({"a": null});
        let f = fields(&v);
        assert_eq!(f.string("a").unwrap(), None);
        assert_eq!(f.string("b").unwrap(), None);
        assert!(f.timestamp("a").unwrap().is_none());
    }

    #[test]
    fn errors_name_nested_fields() {
        let v = serde_json::json!({"meta": {"page": "x"}, "list": [{"sid": "CRx"}]});
        let f = fields(&v);
        let meta = f.object("meta").unwrap().unwrap();
        assert_eq!(meta.number("page").unwrap_err().field(), Some("meta.page"));
        let err = f
            .objects("list", |o| o.sid::<CredentialSid>("sid"))
            .unwrap_err();
        assert_eq!(err.field(), Some("list[0].sid"));
        let err = f.strings("meta").unwrap_err();
        assert_eq!(err.field(), Some("meta"));
    }

    #[test]
    fn type_mismatch_never_echoes_the_value() {
        let v = serde_json::json!({"a": "hunter2"});
        let err = fields(&v).bool("a").unwrap_err();
        let text = format!("{err} {err:?} {}", std::error::Error::source(&err).unwrap());
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn root_must_be_an_object() {
        assert!(parse_object(b"[]").unwrap_err().field().is_none());
        assert!(parse_object(b"{").is_err());
        assert!(parse_object(b"{}").is_ok());
    }
}
