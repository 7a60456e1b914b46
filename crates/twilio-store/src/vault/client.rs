//! A small client for the three KV v2 calls the store makes (read, write with check-and-set,
//! list), over hyper-util's pooled client and rustls.
//!
//! It follows no redirect (a standby node's 307 is an error, so the token only ever goes to the
//! configured address) and bounds every call by a timeout. Responses are read into buffers that
//! are zeroed when dropped, because a record's body holds the tokens.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use zeroize::Zeroizing;

use super::location::VaultAddress;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response read (a record is a few kilobytes; a LIST of many followers more).
const MAX_RESPONSE: usize = 4 << 20;

/// A Vault/OpenBao token. `Debug` never shows it; the memory is zeroed when dropped.
#[derive(Clone)]
pub struct VaultToken(Zeroizing<String>);

impl VaultToken {
    /// Wraps `token`.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Invalid`](crate::StoreErrorKind::Invalid) if it is empty or holds
    /// anything but visible ASCII (it could not be sent in a header). The message never
    /// contains the token.
    pub fn new(token: impl Into<String>) -> Result<Self, crate::StoreError> {
        let token = Zeroizing::new(token.into());
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(crate::StoreError::new(
                crate::StoreErrorKind::Invalid,
                "the Vault token is empty or holds characters other than visible ASCII",
            ));
        }
        Ok(Self(token))
    }

    fn header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&self.0).expect("checked in new: visible ASCII only");
        value.set_sensitive(true);
        value
    }
}

impl fmt::Debug for VaultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultToken(<redacted>)")
    }
}

/// What went wrong in a KV call. Its `Display` holds the method, the API path and the server's
/// own error strings, never the token.
#[derive(Debug)]
pub(crate) enum KvError {
    /// No answer: connecting, TLS, or the exchange failed.
    Transport {
        call: String,
        source: Box<dyn StdError + Send + Sync>,
    },
    /// No answer within [`CALL_TIMEOUT`].
    Timeout { call: String },
    /// The server answered with an error status.
    Status {
        call: String,
        status: StatusCode,
        errors: Vec<String>,
        /// `data.metadata.version` of the answer: a read of a deleted latest version answers
        /// 404 with the secret's metadata.
        version: Option<u64>,
    },
    /// The server answered 2xx with a body that is not what the KV v2 API documents.
    Unexpected { call: String, what: &'static str },
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport { call, .. } => write!(f, "{call}: no answer from the server"),
            Self::Timeout { call } => {
                write!(f, "{call}: no answer within {}s", CALL_TIMEOUT.as_secs())
            }
            Self::Status {
                call,
                status,
                errors,
                ..
            } => {
                write!(f, "{call}: HTTP {}", status.as_u16())?;
                if !errors.is_empty() {
                    write!(f, ": {}", errors.join("; "))?;
                }
                Ok(())
            }
            Self::Unexpected { call, what } => write!(f, "{call}: unexpected answer: {what}"),
        }
    }
}

impl StdError for KvError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Transport { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl KvError {
    /// The HTTP status, if the server answered with an error.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server answered 2xx in a form the API does not document.
    pub(crate) fn is_unexpected(&self) -> bool {
        matches!(self, Self::Unexpected { .. })
    }

    /// Whether the server answered 404 for a path that exists in no mount (as opposed to a
    /// secret that does not exist, whose 404 has no error string).
    fn is_no_route(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND) && self.says("no handler for route")
    }

    /// Whether the server answered 404 for a secret that does not exist.
    fn is_missing(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND) && !self.is_no_route()
    }

    /// Whether one of the server's error strings contains `needle`.
    pub(crate) fn says(&self, needle: &str) -> bool {
        match self {
            Self::Status { errors, .. } => errors.iter().any(|e| e.contains(needle)),
            _ => false,
        }
    }
}

/// A secret's data with the KV version it was read at.
#[derive(Debug)]
pub(crate) struct Versioned<T> {
    pub(crate) version: u64,
    pub(crate) value: T,
}

/// What reading a KV v2 secret found.
#[derive(Debug)]
pub(crate) enum Read {
    /// The latest version's data (as JSON text, zeroed when dropped).
    Found(Versioned<Zeroizing<String>>),
    /// Nothing was ever written there (or its metadata was deleted).
    Missing,
    /// The latest version was deleted or destroyed; it was `version`.
    Deleted { version: u64 },
}

/// The client of one server, for one mount.
#[derive(Clone)]
pub(crate) struct KvClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    address: Arc<str>,
    mount: Arc<str>,
    token: VaultToken,
    namespace: Option<HeaderValue>,
}

impl fmt::Debug for KvClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvClient")
            .field("address", &self.address)
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

impl KvClient {
    /// A client of the KV v2 engine at `mount` on `address`, trusting the certificate
    /// authorities in `ca` only, or the webpki roots when `ca` is `None`.
    pub(crate) fn new(
        address: &VaultAddress,
        mount: &str,
        token: VaultToken,
        namespace: Option<HeaderValue>,
        ca: Option<&[CertificateDer<'static>]>,
    ) -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match ca {
            Some(certificates) => {
                for certificate in certificates {
                    roots.add(certificate.clone())?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        // The scheme is the address's own: an https address never falls back to http.
        let https = if address.is_tls() {
            https.https_only()
        } else {
            https.https_or_http()
        };
        let https = https.enable_http1().wrap_connector(connector);
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            address: address.to_string().into(),
            mount: mount.into(),
            token,
            namespace,
        })
    }

    /// `GET MOUNT/data/PATH`: the latest version of the secret at `path`.
    pub(crate) async fn read(&self, path: &str) -> Result<Read, KvError> {
        let call = self.call("GET", "data", path);
        match self.send(&call, Method::GET, "data", path, None).await {
            Ok(body) => {
                let data = body.pointer("/data/data");
                let version = metadata_version(&body, &call)?;
                match data {
                    Some(data @ Value::Object(_)) => Ok(Read::Found(Versioned {
                        version,
                        value: Zeroizing::new(data.to_string()),
                    })),
                    // A deleted latest version reads as `data: null` on some servers.
                    Some(Value::Null) => Ok(Read::Deleted { version }),
                    _ => Err(KvError::Unexpected {
                        call,
                        what: "no `data.data` object",
                    }),
                }
            }
            // A 404 is "nothing there", or "deleted" when it still carries the metadata.
            Err(KvError::Status {
                status: StatusCode::NOT_FOUND,
                errors,
                version,
                ..
            }) if errors.is_empty() => Ok(match version {
                Some(version) => Read::Deleted { version },
                None => Read::Missing,
            }),
            Err(e) => Err(e),
        }
    }

    /// `POST MOUNT/data/PATH` with `data` (a JSON object's text), check-and-set against `cas`
    /// when given (0: only if nothing is stored). Returns the new version.
    pub(crate) async fn write(
        &self,
        path: &str,
        data: &str,
        cas: Option<u64>,
    ) -> Result<u64, KvError> {
        let call = self.call("POST", "data", path);
        let options = match cas {
            Some(version) => format!("{{\"cas\":{version}}}"),
            None => "{}".to_owned(),
        };
        let body = Zeroizing::new(format!("{{\"options\":{options},\"data\":{data}}}"));
        let answer = self
            .send(&call, Method::POST, "data", path, Some(body.as_bytes()))
            .await?;
        answer
            .pointer("/data/version")
            .and_then(Value::as_u64)
            .ok_or(KvError::Unexpected {
                call,
                what: "no `data.version` number",
            })
    }

    /// `LIST MOUNT/metadata/PATH/`: the keys under `path` (empty if there are none).
    pub(crate) async fn list(&self, path: &str) -> Result<Vec<String>, KvError> {
        let call = self.call("LIST", "metadata", path);
        let list = Method::from_bytes(b"LIST").expect("a valid method token");
        match self
            .send(&call, list, "metadata", &format!("{path}/"), None)
            .await
        {
            Ok(body) => body
                .pointer("/data/keys")
                .and_then(Value::as_array)
                .and_then(|keys| {
                    keys.iter()
                        .map(|k| k.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or(KvError::Unexpected {
                    call,
                    what: "no `data.keys` list of strings",
                }),
            Err(e) if e.is_missing() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Removes the secret at `path`, every version and its metadata (`DELETE
    /// MOUNT/metadata/PATH`), if its latest version is still `version` (checked with `GET
    /// MOUNT/metadata/PATH` just before: KV v2 has no conditional delete, so a write landing
    /// between the two calls is removed too). Returns whether it deleted.
    pub(crate) async fn delete_if_latest(&self, path: &str, version: u64) -> Result<bool, KvError> {
        let call = self.call("GET", "metadata", path);
        let metadata = match self.send(&call, Method::GET, "metadata", path, None).await {
            Ok(body) => body,
            Err(e) if e.is_missing() => return Ok(false),
            Err(e) => return Err(e),
        };
        let latest = metadata
            .pointer("/data/current_version")
            .and_then(Value::as_u64)
            .ok_or(KvError::Unexpected {
                call,
                what: "no `data.current_version` number",
            })?;
        if latest != version {
            return Ok(false);
        }
        let call = self.call("DELETE", "metadata", path);
        match self
            .send(&call, Method::DELETE, "metadata", path, None)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_missing() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `"GET kv/data/path"`: how errors name a call.
    fn call(&self, method: &str, kind: &str, path: &str) -> String {
        format!("{method} {}/{kind}/{path} on {}", self.mount, self.address)
    }

    /// Sends one request and returns the parsed JSON body of a 2xx answer (`null` for 204).
    async fn send(
        &self,
        call: &str,
        method: Method,
        kind: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, KvError> {
        let uri = format!("{}/v1/{}/{kind}/{path}", self.address, self.mount);
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("X-Vault-Token", self.token.header())
            .header("X-Vault-Request", "true");
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace.clone());
        }
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let body = Full::new(body.map(Bytes::copy_from_slice).unwrap_or_default());
        let request = request.body(body).map_err(|e| KvError::Transport {
            call: call.to_owned(),
            source: Box::new(e),
        })?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| KvError::Transport {
                    call: call.to_owned(),
                    source: Box::new(e),
                })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| KvError::Transport {
                    call: call.to_owned(),
                    source: e,
                })?
                .to_bytes();
            Ok::<_, KvError>((status, Zeroizing::new(bytes.to_vec())))
        };
        let (status, bytes) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| KvError::Timeout {
                call: call.to_owned(),
            })??;
        if !status.is_success() {
            let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
            return Err(KvError::Status {
                call: call.to_owned(),
                status,
                errors: error_strings(&body),
                version: body
                    .pointer("/data/metadata/version")
                    .and_then(Value::as_u64),
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| KvError::Unexpected {
            call: call.to_owned(),
            what: "the body is not JSON",
        })
    }
}

/// `data.metadata.version` of a read.
fn metadata_version(body: &Value, call: &str) -> Result<u64, KvError> {
    body.pointer("/data/metadata/version")
        .and_then(Value::as_u64)
        .ok_or_else(|| KvError::Unexpected {
            call: call.to_owned(),
            what: "no `data.metadata.version` number",
        })
}

/// The `errors` strings of an error answer (`{"errors": ["..."]}`), at most a few, each cut
/// short: they go into error messages.
fn error_strings(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(Value::as_str)
                .take(4)
                .map(|e| e.chars().take(300).collect())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted_and_bad_tokens_are_refused() {
        let token = VaultToken::new("s.secret-root-token").unwrap();
        assert_eq!(format!("{token:?}"), "VaultToken(<redacted>)");
        assert!(token.header().is_sensitive());
        for bad in ["", "has space", "new\nline", "tab\t", "é"] {
            let err = VaultToken::new(bad).unwrap_err();
            assert_eq!(err.kind(), crate::StoreErrorKind::Invalid);
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad));
            }
        }
    }

    #[test]
    fn error_strings_are_read_and_cut() {
        let strings = |text: &str| error_strings(&serde_json::from_str(text).unwrap_or_default());
        assert_eq!(
            strings(r#"{"errors":["permission denied"]}"#),
            ["permission denied"]
        );
        assert!(strings("<html>").is_empty());
        assert!(strings(r#"{"errors":[]}"#).is_empty());
        let long = format!(r#"{{"errors":["{}"]}}"#, "x".repeat(1000));
        assert_eq!(strings(&long)[0].len(), 300);
    }

    #[test]
    fn errors_name_the_call_and_status() {
        let e = KvError::Status {
            call: "POST kv/data/app on http://127.0.0.1:8200".into(),
            status: StatusCode::BAD_REQUEST,
            errors: vec!["check-and-set parameter did not match the current version".into()],
            version: None,
        };
        assert_eq!(
            e.to_string(),
            "POST kv/data/app on http://127.0.0.1:8200: HTTP 400: \
             check-and-set parameter did not match the current version"
        );
        assert!(e.says("check-and-set parameter did not match"));
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    }
}
