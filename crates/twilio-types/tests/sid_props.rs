//! Property tests for every SID type, with the `regex` crate as the oracle.
//!
//! The generators here are written independently of the crate's own `strategies`
//! module (tested separately in `strategies.rs`), so a bug there cannot hide one here.

use std::sync::OnceLock;

use proptest::prelude::*;
use regex::Regex;

const HEX: &[u8] = b"0123456789abcdefABCDEF";

/// Substitution and insertion characters: hex look-alikes from all over Unicode, ASCII
/// that sloppy validators accept, and real hex digits (for insertions).
const TRICKY: &[char] = &[
    'g',
    'G',
    'x',
    'Z',
    'O',
    ' ',
    '\t',
    '\n',
    '\r',
    '\0',
    '\u{7f}',
    '-',
    '+',
    '.',
    '\u{0663}',
    '\u{0966}',
    '\u{FF10}',
    '\u{FF21}',
    '\u{FF41}',
    '\u{1D7D9}',
    '\u{00E9}',
    '\u{0430}',
    '\u{00A0}',
    '\u{200B}',
    '\u{0301}',
    '\u{212A}',
    '\u{FEFF}',
    '0',
    '9',
    'a',
    'f',
    'A',
    'F',
];

/// Strings generated from the spec's pattern: the prefix and 32 hex digits, mixed case.
fn spec_pattern(prefix: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(HEX), 32)
        .prop_map(move |hex| format!("{prefix}{}", String::from_utf8(hex).unwrap()))
}

/// Arbitrary strings, biased so that both outcomes of `parse` are well exercised.
fn arbitrary_or_near_valid(prefix: &'static str) -> impl Strategy<Value = String> {
    let tricky_char = prop_oneof![
        proptest::sample::select(HEX).prop_map(char::from),
        proptest::sample::select(TRICKY),
        proptest::char::any(),
    ];
    let edited = (
        spec_pattern(prefix),
        proptest::collection::vec((0usize..40, 0u8..3, tricky_char.clone()), 0..3),
    )
        .prop_map(|(s, edits)| {
            let mut chars: Vec<char> = s.chars().collect();
            for (pos, op, c) in edits {
                let pos = pos.min(chars.len());
                match op {
                    0 if pos < chars.len() => chars[pos] = c,
                    1 => chars.insert(pos, c),
                    _ if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    _ => chars.push(c),
                }
            }
            chars.into_iter().collect::<String>()
        });
    let alphabet = proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(HEX).prop_map(char::from),
            1 => proptest::sample::select(TRICKY),
            1 => proptest::sample::select(prefix.as_bytes()).prop_map(char::from),
        ],
        30..38,
    )
    .prop_map(move |v| {
        let body: String = v.into_iter().collect();
        format!("{prefix}{body}")
    });
    prop_oneof![
        2 => any::<String>(),
        2 => ".{30,38}",
        3 => edited,
        3 => alphabet,
        1 => spec_pattern(prefix).prop_map(|s| s + "\n"),
    ]
}

fn oracle(prefix: &str) -> Regex {
    Regex::new(&format!("^{prefix}[0-9a-fA-F]{{32}}\\z")).unwrap()
}

macro_rules! sid_property_tests {
    ($($module:ident: $ty:ident, $prefix:literal;)*) => {$(
        mod $module {
            use super::*;
            use twilio_types::$ty;

            fn regex() -> &'static Regex {
                static RE: OnceLock<Regex> = OnceLock::new();
                RE.get_or_init(|| oracle($prefix))
            }

            proptest! {
                /// (a) Every string from the spec pattern parses, displays as itself,
                /// re-parses to the same value, and survives a JSON round trip.
                #[test]
                fn spec_pattern_strings_parse_and_round_trip(s in spec_pattern($prefix)) {
                    let sid = $ty::parse(&s).unwrap();
                    prop_assert_eq!(sid.as_str(), s.as_str());
                    prop_assert_eq!($ty::parse(&sid.to_string()), Ok(sid));
                    let json = serde_json::to_string(&sid).unwrap();
                    prop_assert_eq!(serde_json::from_str::<$ty>(&json).unwrap(), sid);
                }

                /// (b) `parse` succeeds iff the regex oracle matches and the length is 34.
                #[test]
                fn parse_agrees_with_regex_oracle(s in arbitrary_or_near_valid($prefix)) {
                    let expected = regex().is_match(&s) && s.len() == 34;
                    let result = $ty::parse(&s);
                    prop_assert_eq!(result.is_ok(), expected, "input {:?}: {:?}", s, result);
                    // The error path of serde agrees too.
                    let json = serde_json::to_string(&s).unwrap();
                    prop_assert_eq!(serde_json::from_str::<$ty>(&json).is_ok(), expected);
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                /// (c) Every single-character substitution, insertion and deletion of a
                /// valid SID is rejected: exhaustively over positions and `TRICKY`, plus
                /// one arbitrary character per position.
                #[test]
                fn every_single_edit_is_rejected(s in spec_pattern($prefix), any_c in proptest::char::any()) {
                    let chars: Vec<char> = s.chars().collect();
                    let mut candidates: Vec<char> = TRICKY.to_vec();
                    candidates.push(any_c);
                    for pos in 0..=chars.len() {
                        for &c in &candidates {
                            let mut inserted = chars.clone();
                            inserted.insert(pos, c);
                            let inserted: String = inserted.into_iter().collect();
                            prop_assert!($ty::parse(&inserted).is_err(), "insert {:?}", inserted);
                        }
                        if pos == chars.len() {
                            break;
                        }
                        let mut deleted = chars.clone();
                        deleted.remove(pos);
                        let deleted: String = deleted.into_iter().collect();
                        prop_assert!($ty::parse(&deleted).is_err(), "delete {:?}", deleted);
                        for &c in &candidates {
                            if c == chars[pos] || (pos >= 2 && c.is_ascii_hexdigit()) {
                                continue; // not a mutation into something invalid
                            }
                            let mut mutated = chars.clone();
                            mutated[pos] = c;
                            let mutated: String = mutated.into_iter().collect();
                            prop_assert!($ty::parse(&mutated).is_err(), "mutate {:?}", mutated);
                        }
                    }
                    // The prefix in the wrong case.
                    let lower = format!("{}{}", $prefix.to_ascii_lowercase(), &s[2..]);
                    prop_assert!($ty::parse(&lower).is_err());
                }
            }
        }
    )*};
}

sid_property_tests! {
    account_sid: AccountSid, "AC";
    credential_sid: CredentialSid, "CR";
    safelist_sid: SafelistSid, "GN";
    api_key_sid: ApiKeySid, "SK";
    messaging_service_sid: MessagingServiceSid, "MG";
}

/// The biased generator really does produce both valid and invalid inputs, so the
/// oracle property above is exercised on both sides.
#[test]
fn oracle_generator_covers_both_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = arbitrary_or_near_valid("AC");
    let re = oracle("AC");
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..2000 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        if re.is_match(&s) {
            valid += 1
        } else {
            invalid += 1
        }
    }
    assert!(valid >= 100, "only {valid} valid inputs");
    assert!(invalid >= 100, "only {invalid} invalid inputs");
}
