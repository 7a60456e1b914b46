//! Property tests of the E.164 parser: valid numbers round-trip, near misses are refused.

#![cfg(feature = "proptest")]

use proptest::prelude::*;
use twilio_types::E164;
use twilio_types::strategies::{near_miss_e164_string, valid_e164_string};

proptest! {
    #[test]
    fn valid_numbers_round_trip(s in valid_e164_string()) {
        let n = E164::parse(&s).unwrap();
        prop_assert_eq!(n.as_str(), s.as_str());
        prop_assert_eq!(n.to_string(), s.clone());
        let json = serde_json::to_string(&n).unwrap();
        prop_assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
    }

    #[test]
    fn near_misses_are_refused(s in near_miss_e164_string()) {
        prop_assert!(E164::parse(&s).is_err(), "{s:?} accepted");
    }

    #[test]
    fn never_panics_and_agrees_with_the_rule(s in any::<String>()) {
        let expected = s.strip_prefix('+').is_some_and(|d| {
            (7..=15).contains(&d.len())
                && d.bytes().all(|b| b.is_ascii_digit())
                && !d.starts_with('0')
        });
        prop_assert_eq!(E164::parse(&s).is_ok(), expected);
    }

    #[test]
    fn arbitrary_values_are_valid(n in any::<E164>()) {
        prop_assert_eq!(E164::parse(n.as_str()), Ok(n));
    }
}
