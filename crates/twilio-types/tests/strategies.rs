//! The public proptest strategies keep their promises (feature `proptest`).
#![cfg(feature = "proptest")]

use proptest::prelude::*;
use regex::Regex;
use twilio_types::strategies::{header_safe_secret_string, near_miss_sid_string, valid_sid_string};
use twilio_types::{
    AccountSid, ApiKeySecret, ApiKeySid, AuthToken, CredentialSid, MessagingServiceSid, SafelistSid,
};

macro_rules! strategy_tests {
    ($($module:ident: $ty:ident;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #[test]
                fn valid_strings_parse(s in valid_sid_string($ty::PREFIX)) {
                    let sid = $ty::parse(&s).unwrap();
                    prop_assert_eq!(sid.as_str(), s.as_str());
                }

                #[test]
                fn near_misses_are_rejected(s in near_miss_sid_string($ty::PREFIX)) {
                    let re = Regex::new(&format!("^{}[0-9a-fA-F]{{32}}\\z", $ty::PREFIX)).unwrap();
                    prop_assert!(!re.is_match(&s), "{:?} is valid", s);
                    prop_assert!($ty::parse(&s).is_err(), "{:?} parsed", s);
                }

                #[test]
                fn arbitrary_values_are_valid(sid in any::<$ty>()) {
                    prop_assert_eq!($ty::parse(sid.as_str()), Ok(sid));
                }
            }
        }
    )*};
}

strategy_tests! {
    account_sid: AccountSid;
    credential_sid: CredentialSid;
    safelist_sid: SafelistSid;
    api_key_sid: ApiKeySid;
    messaging_service_sid: MessagingServiceSid;
}

proptest! {
    #[test]
    fn header_safe_secrets_are_accepted(s in header_safe_secret_string()) {
        prop_assert!(AuthToken::new(s.clone()).is_ok());
        prop_assert!(ApiKeySecret::new(s).is_ok());
    }

    #[test]
    fn arbitrary_secrets_are_header_safe(t in any::<AuthToken>(), k in any::<ApiKeySecret>()) {
        prop_assert!(t.check_header_safe().is_ok());
        prop_assert!(k.check_header_safe().is_ok());
    }
}
