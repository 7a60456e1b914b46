//! Value checks shared by the handlers (no regexes: hand-written, allocation-free).

/// `PREFIX` followed by exactly 32 hex digits (either case), as the spec's SID patterns.
pub(crate) fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

/// An E.164 phone number: `+`, a non-zero digit, then 6 to 14 more digits.
pub(crate) fn is_e164(s: &str) -> bool {
    digits_after_plus(s).is_some_and(|n| (7..=15).contains(&n))
}

/// A SafeList entry: an E.164 number or its "1k prefix" (the number without its last
/// three digits), so `+` and 4 to 15 digits.
pub(crate) fn is_safelist_number(s: &str) -> bool {
    digits_after_plus(s).is_some_and(|n| (4..=15).contains(&n))
}

fn digits_after_plus(s: &str) -> Option<usize> {
    let digits = s.strip_prefix('+')?;
    let bytes = digits.as_bytes();
    if bytes.first().is_none_or(|&b| b == b'0') || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.len())
}

/// Twilio's boolean parameters: `true` or `false` (any ASCII case).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// One row of the geo-permission table: ISO code, dialling prefix, high risk, default state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Country {
    pub(crate) code: &'static str,
    pub(crate) prefix: &'static str,
    pub(crate) high_risk: bool,
    pub(crate) enabled_by_default: bool,
}

const fn c(code: &'static str, prefix: &'static str) -> Country {
    Country {
        code,
        prefix,
        high_risk: false,
        enabled_by_default: false,
    }
}

const fn risky(code: &'static str, prefix: &'static str) -> Country {
    Country {
        code,
        prefix,
        high_risk: true,
        enabled_by_default: true,
    }
}

const fn home(code: &'static str, prefix: &'static str) -> Country {
    Country {
        code,
        prefix,
        high_risk: false,
        enabled_by_default: true,
    }
}

/// The countries the emulator knows, sorted by code. `US` and `CA` start enabled; the
/// high-risk ones are fixed (their permission cannot be changed, error 30649).
pub(crate) const COUNTRIES: &[Country] = &[
    c("AE", "+971"),
    c("AR", "+54"),
    c("AT", "+43"),
    c("AU", "+61"),
    risky("BD", "+880"),
    c("BE", "+32"),
    c("BR", "+55"),
    home("CA", "+1"),
    c("CH", "+41"),
    c("CL", "+56"),
    c("CN", "+86"),
    c("CO", "+57"),
    c("DE", "+49"),
    c("DK", "+45"),
    c("EG", "+20"),
    c("ES", "+34"),
    c("FI", "+358"),
    c("FR", "+33"),
    c("GB", "+44"),
    c("GR", "+30"),
    c("HK", "+852"),
    c("ID", "+62"),
    c("IE", "+353"),
    c("IL", "+972"),
    c("IN", "+91"),
    c("IT", "+39"),
    c("JP", "+81"),
    c("KE", "+254"),
    c("KR", "+82"),
    risky("LK", "+94"),
    c("MX", "+52"),
    c("MY", "+60"),
    risky("NG", "+234"),
    c("NL", "+31"),
    c("NO", "+47"),
    c("NZ", "+64"),
    c("PE", "+51"),
    c("PH", "+63"),
    risky("PK", "+92"),
    c("PL", "+48"),
    c("PT", "+351"),
    c("SA", "+966"),
    c("SE", "+46"),
    c("SG", "+65"),
    c("TH", "+66"),
    c("TR", "+90"),
    c("TW", "+886"),
    c("UA", "+380"),
    home("US", "+1"),
    c("VN", "+84"),
    c("ZA", "+27"),
];

/// The table index of `code` (ASCII case-insensitive).
pub(crate) fn country_index(code: &str) -> Option<usize> {
    let upper = code.to_ascii_uppercase();
    COUNTRIES
        .binary_search_by(|c| c.code.cmp(upper.as_str()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids() {
        assert!(is_sid("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CR"));
        assert!(is_sid("CR0123456789ABCDEF0123456789abcdef", "CR"));
        assert!(!is_sid("CRaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CR"));
        assert!(!is_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CR"));
        assert!(!is_sid("CRgaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CR"));
        assert!(!is_sid("CRéaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "CR"));
    }

    #[test]
    fn phone_numbers() {
        assert!(is_e164("+18001234567"));
        assert!(is_e164("+4915112345678"));
        assert!(!is_e164("+19"));
        assert!(!is_e164("18001234567"));
        assert!(!is_e164("+08001234567"));
        assert!(!is_e164("+1800123456789012"));
        assert!(!is_e164("+1800-123"));
        assert!(!is_e164("+"));
        assert!(is_safelist_number("+18001234"));
        assert!(is_safelist_number("+18001234567"));
        assert!(!is_safelist_number("+180"));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("1"), None);
        assert_eq!(parse_bool(""), None);
    }

    #[test]
    fn country_table_is_sorted_and_searchable() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(COUNTRIES[country_index("us").unwrap()].prefix, "+1");
        assert!(COUNTRIES[country_index("PK").unwrap()].high_risk);
        assert!(country_index("XX").is_none());
    }
}
