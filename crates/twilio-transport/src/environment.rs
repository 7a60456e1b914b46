//! Where requests go, as the environment says: `TWILIO_ACCOUNTS_BASE_URL`, `TWILIO_REGION` and
//! `TWILIO_EDGE`. The one reader of those variables: [`HttpClientBuilder`] reads them at
//! `build()` (unless told not to), and the endpoint crates' `from_env` hands its own lookup to
//! [`HttpClientBuilder::environment`].
//!
//! [`HttpClientBuilder`]: crate::HttpClientBuilder
//! [`HttpClientBuilder::environment`]: crate::HttpClientBuilder::environment

use crate::base_url::{BaseUrl, is_dns_label};
use crate::error::{ConfigError, ConfigErrorKind};

/// The base URL, e.g. an emulator's `http://127.0.0.1:4010` (`https`, or `http` for loopback
/// only); a base URL given to the builder beats it.
pub const BASE_URL_VAR: &str = "TWILIO_ACCOUNTS_BASE_URL";
/// The Twilio region (`au1`, `ie1`…), for `twilio.com` base URLs; `region()` beats it.
pub const REGION_VAR: &str = "TWILIO_REGION";
/// The Twilio edge location (`sydney`, `dublin`…), for `twilio.com` base URLs; `edge()` beats it.
pub const EDGE_VAR: &str = "TWILIO_EDGE";

/// The values of the three variables, trimmed; an empty value counts as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Location {
    base_url: Option<String>,
    region: Option<String>,
    edge: Option<String>,
}

impl Location {
    /// Reads the variables through `lookup`.
    pub(crate) fn read(mut lookup: impl FnMut(&str) -> Option<String>) -> Self {
        let mut get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            base_url: get(BASE_URL_VAR),
            region: get(REGION_VAR),
            edge: get(EDGE_VAR),
        }
    }

    /// The base URL from the settings given explicitly, then from these variables, then the
    /// default; the environment's region and edge apply to `twilio.com` hosts only, so an
    /// emulator's URL is never rewritten by them.
    ///
    /// # Errors
    /// [`ConfigError`] as for [`BaseUrl::parse`] and [`BaseUrl::with_region_edge`]; a bad value
    /// from the environment is reported with the variable's name.
    pub(crate) fn base_url<'a>(
        &'a self,
        base_url: Option<&str>,
        region: Option<&'a str>,
        edge: Option<&'a str>,
    ) -> Result<BaseUrl, ConfigError> {
        let base = match (base_url, &self.base_url) {
            (Some(url), _) => BaseUrl::parse(url)?,
            (None, Some(url)) => BaseUrl::parse(url).map_err(|e| {
                ConfigError::new(
                    e.kind(),
                    "TWILIO_ACCOUNTS_BASE_URL is not a usable base URL",
                )
                .with_source(e)
            })?,
            (None, None) => BaseUrl::twilio(),
        };
        let twilio = base.is_twilio();
        let from_env = |value: &'a Option<String>, detail| match value {
            Some(v) if twilio => {
                if is_dns_label(v) {
                    Ok(Some(v.as_str()))
                } else {
                    Err(ConfigError::new(
                        ConfigErrorKind::InvalidRegionOrEdge,
                        detail,
                    ))
                }
            }
            _ => Ok(None),
        };
        let region = match region {
            Some(r) => Some(r),
            None => from_env(
                &self.region,
                "TWILIO_REGION must be a region name such as `au1` (a-z, 0-9, '-')",
            )?,
        };
        let edge = match edge {
            Some(e) => Some(e),
            None => from_env(
                &self.edge,
                "TWILIO_EDGE must be an edge name such as `sydney` (a-z, 0-9, '-')",
            )?,
        };
        base.with_region_edge(region, edge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Location {
        Location::read(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn explicit_settings_beat_the_environment() {
        let url = |b, r, e, vars| env(vars).base_url(b, r, e).unwrap().to_string();
        let both = &[(REGION_VAR, "ie1"), (EDGE_VAR, "dublin")];
        assert_eq!(url(None, None, None, &[]), "https://accounts.twilio.com");
        assert_eq!(
            url(None, None, None, both),
            "https://accounts.dublin.ie1.twilio.com"
        );
        assert_eq!(
            url(None, Some("au1"), None, both),
            "https://accounts.dublin.au1.twilio.com"
        );
        assert_eq!(
            url(None, Some("au1"), Some("sydney"), both),
            "https://accounts.sydney.au1.twilio.com"
        );
        assert_eq!(
            url(None, None, None, &[(EDGE_VAR, "sydney")]),
            "https://accounts.sydney.us1.twilio.com"
        );
        assert_eq!(
            url(None, None, None, &[(REGION_VAR, " "), (EDGE_VAR, "")]),
            "https://accounts.twilio.com"
        );
        // The environment never rewrites an emulator's loopback URL.
        assert_eq!(
            url(Some("http://127.0.0.1:4010"), None, None, both),
            "http://127.0.0.1:4010"
        );
    }

    #[test]
    fn the_base_url_variable_reaches_an_emulator_and_yields_to_the_builder() {
        let url = |b, vars| env(vars).base_url(b, None, None).map(|u| u.to_string());
        let emulator = &[
            (BASE_URL_VAR, " http://127.0.0.1:4010 "),
            (REGION_VAR, "ie1"),
            (EDGE_VAR, "dublin"),
        ];
        assert_eq!(url(None, emulator).unwrap(), "http://127.0.0.1:4010");
        assert_eq!(
            url(Some("https://accounts.twilio.com"), emulator).unwrap(),
            "https://accounts.dublin.ie1.twilio.com"
        );
        assert_eq!(
            url(
                None,
                &[
                    (BASE_URL_VAR, "https://accounts.twilio.com"),
                    (REGION_VAR, "au1")
                ]
            )
            .unwrap(),
            "https://accounts.au1.twilio.com"
        );
        assert_eq!(
            url(None, &[(BASE_URL_VAR, "")]).unwrap(),
            "https://accounts.twilio.com"
        );
        // The https-only rule holds for the variable too, loopback excepted.
        for (value, kind) in [
            (
                "http://accounts.example.com",
                ConfigErrorKind::InsecureBaseUrl,
            ),
            ("http://10.0.0.1:4010", ConfigErrorKind::InsecureBaseUrl),
            ("not a url", ConfigErrorKind::InvalidBaseUrl),
            (
                "https://user:hunter2@example.com",
                ConfigErrorKind::InvalidBaseUrl,
            ),
        ] {
            let vars: &'static [(&str, &str)] = Box::leak(Box::new([(BASE_URL_VAR, value)]));
            let e = url(None, vars).unwrap_err();
            assert_eq!(e.kind(), kind, "{value}");
            assert!(e.to_string().contains(BASE_URL_VAR), "{e}");
            assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
        }
        assert_eq!(
            url(None, &[(BASE_URL_VAR, "http://[::1]:4010")]).unwrap(),
            "http://[::1]:4010"
        );
    }

    #[test]
    fn a_bad_region_or_edge_names_its_variable() {
        for (vars, name) in [
            (&[(REGION_VAR, "not valid")][..], REGION_VAR),
            (&[(EDGE_VAR, "-x")][..], EDGE_VAR),
            (&[(REGION_VAR, "au1.evil.com")][..], REGION_VAR),
        ] {
            let vars: &'static [(&str, &str)] = Box::leak(vars.to_vec().into_boxed_slice());
            let e = env(vars).base_url(None, None, None).unwrap_err();
            assert_eq!(e.kind(), ConfigErrorKind::InvalidRegionOrEdge);
            assert!(e.to_string().contains(name), "{e}");
        }
        // An explicit region hides a bad one in the environment.
        let ok = env(&[(REGION_VAR, "not valid")]).base_url(None, Some("au1"), None);
        assert_eq!(ok.unwrap().to_string(), "https://accounts.au1.twilio.com");
    }
}
