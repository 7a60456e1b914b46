//! [`proptest`](mod@proptest) strategies for SIDs and secrets (feature `proptest`).
//!
//! Every SID type and both secret types also implement
//! [`Arbitrary`], so `any::<AccountSid>()` yields valid
//! SIDs and `any::<AuthToken>()` header-safe tokens. The functions here add the string
//! level: valid SID strings, near-miss invalid SID strings (one edit away from valid)
//! and header-safe secret strings.
//!
//! ```
//! use proptest::prelude::*;
//! use twilio_types::AccountSid;
//! use twilio_types::strategies::{near_miss_sid_string, valid_sid_string};
//!
//! proptest!(|(s in valid_sid_string(AccountSid::PREFIX))| {
//!     prop_assert!(AccountSid::parse(&s).is_ok());
//! });
//! proptest!(|(s in near_miss_sid_string(AccountSid::PREFIX))| {
//!     prop_assert!(AccountSid::parse(&s).is_err());
//! });
//! proptest!(|(sid in any::<AccountSid>())| {
//!     prop_assert_eq!(AccountSid::parse(sid.as_str()), Ok(sid));
//! });
//! ```

use ::proptest::prelude::*;

const HEX: &[u8; 22] = b"0123456789abcdefABCDEF";

/// Characters that are never valid in the hexadecimal part of a SID, chosen to catch
/// sloppy validators: non-hex ASCII letters, punctuation, whitespace, NUL, Unicode
/// digits, fullwidth and accented letters, zero-width and combining characters.
pub const NON_HEX_CHARS: &[char] = &[
    'g',
    'G',
    'x',
    'X',
    'z',
    'Z',
    'O',
    'o',
    'l',
    '-',
    '_',
    '.',
    ':',
    '/',
    '+',
    '%',
    '#',
    ' ',
    '\t',
    '\n',
    '\r',
    '\0',
    '\u{7f}',
    '\u{0663}',  // ARABIC-INDIC DIGIT THREE
    '\u{0966}',  // DEVANAGARI DIGIT ZERO
    '\u{FF10}',  // FULLWIDTH DIGIT ZERO
    '\u{FF21}',  // FULLWIDTH LATIN CAPITAL LETTER A
    '\u{FF41}',  // FULLWIDTH LATIN SMALL LETTER A
    '\u{1D7D9}', // MATHEMATICAL DOUBLE-STRUCK DIGIT ONE
    '\u{00E9}',  // e with acute
    '\u{0430}',  // CYRILLIC SMALL LETTER A (looks like 'a')
    '\u{00A0}',  // NO-BREAK SPACE
    '\u{200B}',  // ZERO WIDTH SPACE
    '\u{0301}',  // COMBINING ACUTE ACCENT
    '\u{212A}',  // KELVIN SIGN (lowercases to 'k')
];

fn hex_string(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0..HEX.len(), len)
        .prop_map(|idx| idx.into_iter().map(|i| char::from(HEX[i])).collect())
}

/// Valid SID strings with the given two-letter `prefix`: the prefix followed by 32
/// ASCII hexadecimal digits in mixed case.
pub fn valid_sid_string(prefix: &'static str) -> impl Strategy<Value = String> {
    hex_string(32).prop_map(move |hex| format!("{prefix}{hex}"))
}

/// A character that is not allowed at `position` (0-based, in characters) of a SID with `prefix`.
fn wrong_char_for(prefix: &'static str, position: usize) -> BoxedStrategy<char> {
    if position < 2 {
        let expected = prefix.chars().nth(position).unwrap_or('A');
        prop_oneof![
            Just(expected.to_ascii_lowercase()),
            Just(expected.to_ascii_uppercase()),
            proptest::sample::select(NON_HEX_CHARS),
            proptest::sample::select(HEX.as_slice()).prop_map(char::from),
            proptest::char::any(),
        ]
        .prop_filter("must differ from the prefix character", move |&c| {
            c != expected
        })
        .boxed()
    } else {
        prop_oneof![
            3 => proptest::sample::select(NON_HEX_CHARS),
            1 => proptest::char::any(),
        ]
        .prop_filter("must not be an ASCII hex digit", |c| !c.is_ascii_hexdigit())
        .boxed()
    }
}

/// Any character, biased towards look-alikes: used for insertions.
fn any_char_biased() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::sample::select(HEX.as_slice()).prop_map(char::from),
        proptest::sample::select(NON_HEX_CHARS),
        proptest::char::any(),
    ]
}

/// Invalid SID strings that are one small step away from a valid SID with `prefix`:
/// one character replaced by one not allowed there (including Unicode digits and
/// fullwidth letters), one character inserted, one deleted, the prefix in the wrong
/// case, or a trailing newline. Every generated string is invalid.
pub fn near_miss_sid_string(prefix: &'static str) -> impl Strategy<Value = String> {
    let valid = || valid_sid_string(prefix);
    let substitute = (valid(), 0usize..34).prop_flat_map(move |(s, pos)| {
        wrong_char_for(prefix, pos).prop_map(move |c| {
            s.chars()
                .enumerate()
                .map(|(i, orig)| if i == pos { c } else { orig })
                .collect::<String>()
        })
    });
    let insert = (valid(), 0usize..=34, any_char_biased()).prop_map(|(s, pos, c)| {
        let mut s = s;
        s.insert(pos, c); // the string is ASCII, so every index is a char boundary
        s
    });
    let delete = (valid(), 0usize..34).prop_map(|(s, pos)| {
        let mut s = s;
        s.remove(pos);
        s
    });
    let wrong_case_prefix = (valid(), 1u8..4).prop_map(|(s, which)| {
        let (p, rest) = s.split_at(2);
        let mut p: Vec<char> = p.chars().collect();
        for (i, c) in p.iter_mut().enumerate() {
            if which & (1 << i) != 0 {
                *c = if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                };
            }
        }
        p.into_iter().collect::<String>() + rest
    });
    let trailing = (
        valid(),
        proptest::sample::select(&["\n", "\r\n", " ", "\0", "\u{0663}"][..]),
    )
        .prop_map(|(s, suffix)| s + suffix);
    prop_oneof![
        4 => substitute,
        2 => insert,
        2 => delete,
        1 => wrong_case_prefix,
        1 => trailing,
    ]
}

/// Header-safe secret strings: 8 to 64 characters, no whitespace or control
/// characters, mostly ASCII alphanumerics and punctuation with some other Unicode.
///
/// Every generated value is accepted by `AuthToken::new` and `ApiKeySecret::new`.
pub fn header_safe_secret_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => proptest::char::range('!', '~'),
        1 => proptest::char::any(),
    ]
    .prop_filter("header-safe", |c| !c.is_whitespace() && !c.is_control());
    proptest::collection::vec(ch, 8..=64).prop_map(|v| v.into_iter().collect())
}

/// Valid [`E164`](crate::E164) strings: `+`, a non-zero digit, then 6 to 14 more digits.
pub fn valid_e164_string() -> impl Strategy<Value = String> {
    "\\+[1-9][0-9]{6,14}"
}

/// Strings one edit away from a valid E.164 number, every one invalid: the `+` dropped,
/// a leading `0`, one digit too few or too many, or a non-digit (space, dash, letter,
/// Unicode digit, newline) put in.
pub fn near_miss_e164_string() -> impl Strategy<Value = String> {
    let bad_char = prop::sample::select(vec![' ', '-', '(', 'a', '\u{0663}', '\n', '+', '.']);
    prop_oneof![
        "[1-9][0-9]{6,14}",
        "\\+0[0-9]{6,14}",
        "\\+[1-9][0-9]{0,5}",
        "\\+[1-9][0-9]{15,20}",
        (valid_e164_string(), bad_char, any::<prop::sample::Index>()).prop_map(|(valid, c, at)| {
            // Insert after the `+` (index 1 ..= len) so the string still starts with `+`.
            let at = 1 + at.index(valid.len());
            let mut s = valid;
            s.insert(at, c);
            s
        }),
    ]
}
