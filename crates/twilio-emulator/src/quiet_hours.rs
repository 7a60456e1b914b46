//! The quiet-hours rule of the Compliance Signals check, and the small US location table it
//! runs on.
//!
//! **A test double, not a compliance engine.** The table knows a few dozen area codes and
//! ZIP code prefixes in 15 states (and DC), each state with one time zone (Florida's panhandle,
//! west Texas and the other split states are treated as their main zone); everything else is
//! "location unknown". Daylight saving time follows the US federal rule (second Sunday of
//! March to the first Sunday of November, 02:00 local); Arizona and Hawaii keep standard
//! time. The rule itself — quiet from 21:00 to 08:00 recipient-local time for non-essential
//! messages — is the common reading of the federal TCPA window, not any state's stricter law.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The local hour quiet hours begin (inclusive).
pub(crate) const QUIET_FROM_HOUR: u8 = 21;
/// The local hour quiet hours end (exclusive): sending may resume at 08:00.
pub(crate) const QUIET_UNTIL_HOUR: u8 = 8;

/// A US state (or DC) of the table: its code, standard UTC offset in hours and whether it
/// observes daylight saving time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) code: &'static str,
    standard_offset_hours: i8,
    observes_dst: bool,
}

const fn state(code: &'static str, standard_offset_hours: i8, observes_dst: bool) -> State {
    State {
        code,
        standard_offset_hours,
        observes_dst,
    }
}

const NY: State = state("NY", -5, true);
const MA: State = state("MA", -5, true);
const DC: State = state("DC", -5, true);
const FL: State = state("FL", -5, true);
const GA: State = state("GA", -5, true);
const IL: State = state("IL", -6, true);
const TX: State = state("TX", -6, true);
const CO: State = state("CO", -7, true);
const AZ: State = state("AZ", -7, false);
const CA: State = state("CA", -8, true);
const WA: State = state("WA", -8, true);
const NV: State = state("NV", -8, true);
const AK: State = state("AK", -9, true);
const HI: State = state("HI", -10, false);
const PR: State = state("PR", -4, false);
const OR: State = state("OR", -8, true);

/// NANP area codes the emulator places.
pub(crate) const AREA_CODES: &[(&str, State)] = &[
    ("212", NY),
    ("315", NY),
    ("347", NY),
    ("516", NY),
    ("646", NY),
    ("718", NY),
    ("917", NY),
    ("617", MA),
    ("508", MA),
    ("202", DC),
    ("305", FL),
    ("407", FL),
    ("786", FL),
    ("813", FL),
    ("404", GA),
    ("678", GA),
    ("312", IL),
    ("773", IL),
    ("214", TX),
    ("512", TX),
    ("713", TX),
    ("303", CO),
    ("720", CO),
    ("480", AZ),
    ("602", AZ),
    ("213", CA),
    ("310", CA),
    ("408", CA),
    ("415", CA),
    ("510", CA),
    ("650", CA),
    ("206", WA),
    ("425", WA),
    ("503", OR),
    ("702", NV),
    ("907", AK),
    ("808", HI),
    ("787", PR),
];

/// Inclusive ranges of 3-digit ZIP prefixes the emulator places.
pub(crate) const ZIP_PREFIXES: &[(u16, u16, State)] = &[
    (10, 27, MA),
    (100, 149, NY),
    (200, 205, DC),
    (300, 319, GA),
    (320, 349, FL),
    (600, 629, IL),
    (750, 799, TX),
    (800, 816, CO),
    (850, 865, AZ),
    (889, 898, NV),
    (900, 961, CA),
    (967, 968, HI),
    (970, 979, OR),
    (980, 994, WA),
    (995, 999, AK),
    (6, 9, PR),
];

/// The state of a `+1` number's area code, if the table has it.
pub(crate) fn state_of_number(e164: &str) -> Option<State> {
    let digits = e164.strip_prefix("+1")?;
    if digits.len() != 10 {
        return None;
    }
    let area = &digits[..3];
    AREA_CODES.iter().find(|(a, _)| *a == area).map(|(_, s)| *s)
}

/// The state of a ZIP code (`12345` or `12345-6789`), if the table has its prefix.
pub(crate) fn state_of_zip(zip: &str) -> Option<State> {
    let prefix: u16 = zip.get(..3)?.parse().ok()?;
    ZIP_PREFIXES
        .iter()
        .find(|(low, high, _)| (*low..=*high).contains(&prefix))
        .map(|(_, _, s)| *s)
}

/// The `n`th `weekday` of `month` (1-based).
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let ahead =
        (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
    first.checked_add(Duration::days(i64::from(ahead) + 7 * (i64::from(n) - 1)))
}

impl State {
    fn standard(self) -> UtcOffset {
        UtcOffset::from_hms(self.standard_offset_hours, 0, 0).unwrap_or(UtcOffset::UTC)
    }

    fn daylight(self) -> UtcOffset {
        UtcOffset::from_hms(self.standard_offset_hours + 1, 0, 0).unwrap_or(UtcOffset::UTC)
    }

    /// The UTC offset in force at instant `t`.
    pub(crate) fn offset_at(self, t: OffsetDateTime) -> UtcOffset {
        if !self.observes_dst {
            return self.standard();
        }
        // Read the instant in standard time; DST starts at 02:00 standard and ends at
        // 02:00 daylight, which is 01:00 standard.
        let local = t.to_offset(self.standard());
        let (date, hour) = (local.date(), local.hour());
        let year = date.year();
        let (Some(start), Some(end)) = (
            nth_weekday(year, Month::March, Weekday::Sunday, 2),
            nth_weekday(year, Month::November, Weekday::Sunday, 1),
        ) else {
            return self.standard();
        };
        let in_dst = (date > start && date < end)
            || (date == start && hour >= 2)
            || (date == end && hour < 1);
        if in_dst {
            self.daylight()
        } else {
            self.standard()
        }
    }

    /// The UTC offset on local `date` at the hours this rule uses (08:00, 21:00), which are
    /// never near a DST switch (02:00).
    fn offset_on(self, date: Date) -> UtcOffset {
        let noon =
            PrimitiveDateTime::new(date, time::macros::time!(12:00)).assume_offset(self.standard());
        self.offset_at(noon)
    }

    /// `hour`:00 local on `date`, as an instant.
    fn at(self, date: Date, hour: u8) -> OffsetDateTime {
        let time = Time::from_hms(hour, 0, 0).unwrap_or(Time::MIDNIGHT);
        PrimitiveDateTime::new(date, time)
            .assume_offset(self.offset_on(date))
            .to_offset(UtcOffset::UTC)
    }
}

/// The outcome of the rule for a non-essential message to a placed recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evaluation {
    /// Whether `t` is inside quiet hours.
    pub(crate) active: bool,
    /// When sending may start: the end of the quiet period (active), or `t` (inactive).
    pub(crate) window_start: OffsetDateTime,
    /// When the next quiet period starts after `window_start`.
    pub(crate) window_end: OffsetDateTime,
}

/// Quiet hours at instant `t` for a recipient in `state`.
pub(crate) fn evaluate(state: State, t: OffsetDateTime) -> Evaluation {
    let local = t.to_offset(state.offset_at(t));
    let (date, hour) = (local.date(), local.hour());
    if !(QUIET_UNTIL_HOUR..QUIET_FROM_HOUR).contains(&hour) {
        let resume_date = if hour >= QUIET_FROM_HOUR {
            date.next_day().unwrap_or(date)
        } else {
            date
        };
        Evaluation {
            active: true,
            window_start: state.at(resume_date, QUIET_UNTIL_HOUR),
            window_end: state.at(resume_date, QUIET_FROM_HOUR),
        }
    } else {
        Evaluation {
            active: false,
            window_start: t.to_offset(UtcOffset::UTC),
            window_end: state.at(date, QUIET_FROM_HOUR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn dst_follows_the_federal_rule() {
        // 2026: DST from Sunday 8 March to Sunday 1 November.
        let ny = state_of_number("+12125550100").unwrap();
        assert_eq!(ny.code, "NY");
        assert_eq!(
            ny.offset_at(datetime!(2026-01-15 12:00 UTC)).whole_hours(),
            -5
        );
        assert_eq!(
            ny.offset_at(datetime!(2026-07-15 12:00 UTC)).whole_hours(),
            -4
        );
        // 06:59 UTC on 8 March is 01:59 EST: still standard; 07:00 UTC is 03:00 EDT.
        assert_eq!(
            ny.offset_at(datetime!(2026-03-08 06:59 UTC)).whole_hours(),
            -5
        );
        assert_eq!(
            ny.offset_at(datetime!(2026-03-08 07:00 UTC)).whole_hours(),
            -4
        );
        // 05:59 UTC on 1 November is 01:59 EDT; 06:00 UTC is 01:00 EST.
        assert_eq!(
            ny.offset_at(datetime!(2026-11-01 05:59 UTC)).whole_hours(),
            -4
        );
        assert_eq!(
            ny.offset_at(datetime!(2026-11-01 06:00 UTC)).whole_hours(),
            -5
        );
        let az = state_of_number("+16025550100").unwrap();
        assert_eq!(
            az.offset_at(datetime!(2026-07-15 12:00 UTC)).whole_hours(),
            -7
        );
    }

    #[test]
    fn quiet_hours_in_california() {
        let ca = state_of_number("+14155552671").unwrap();
        // 28 Nov 2026 is PST (UTC-8). 12:00 local = 20:00 UTC: open until 21:00 local.
        let open = evaluate(ca, datetime!(2026-11-28 20:00 UTC));
        assert!(!open.active);
        assert_eq!(open.window_start, datetime!(2026-11-28 20:00 UTC));
        assert_eq!(open.window_end, datetime!(2026-11-29 05:00 UTC));
        // 22:00 local = 06:00 UTC next day: quiet until 08:00 local on the 29th.
        let quiet = evaluate(ca, datetime!(2026-11-29 06:00 UTC));
        assert!(quiet.active);
        assert_eq!(quiet.window_start, datetime!(2026-11-29 16:00 UTC));
        assert_eq!(quiet.window_end, datetime!(2026-11-30 05:00 UTC));
        // 07:59 local is still quiet, 08:00 is not, 20:59 is not, 21:00 is.
        assert!(evaluate(ca, datetime!(2026-11-28 15:59 UTC)).active);
        assert!(!evaluate(ca, datetime!(2026-11-28 16:00 UTC)).active);
        assert!(!evaluate(ca, datetime!(2026-11-29 04:59 UTC)).active);
        assert!(evaluate(ca, datetime!(2026-11-29 05:00 UTC)).active);
    }

    #[test]
    fn places_numbers_and_zips() {
        assert_eq!(state_of_number("+13125550100").map(|s| s.code), Some("IL"));
        assert_eq!(state_of_number("+19995550100"), None);
        assert_eq!(state_of_number("+442071838750"), None);
        assert_eq!(state_of_number("+1212555010"), None);
        assert_eq!(state_of_zip("94105").map(|s| s.code), Some("CA"));
        assert_eq!(state_of_zip("10001-1234").map(|s| s.code), Some("NY"));
        assert_eq!(state_of_zip("02108").map(|s| s.code), Some("MA"));
        assert_eq!(state_of_zip("00901").map(|s| s.code), Some("PR"));
        assert_eq!(state_of_zip("59001"), None);
    }

    #[test]
    fn the_tables_are_consistent() {
        for (area, _) in AREA_CODES {
            assert!(
                area.len() == 3 && area.bytes().all(|b| b.is_ascii_digit()),
                "{area}"
            );
        }
        for (i, (low, high, _)) in ZIP_PREFIXES.iter().enumerate() {
            assert!(low <= high && *high <= 999);
            for (other_low, other_high, _) in &ZIP_PREFIXES[i + 1..] {
                assert!(high < other_low || other_high < low, "overlap at {low}");
            }
        }
    }

    proptest! {
        /// The window is always well formed: it starts no earlier than `t` and lasts 13 hours
        /// when quiet (08:00 to 21:00), and at most 13 hours when open.
        #[test]
        fn windows_are_well_formed(secs in 0i64..4_102_444_800, which in 0usize..AREA_CODES.len()) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let state = AREA_CODES[which].1;
            let e = evaluate(state, t);
            prop_assert!(e.window_start >= t);
            prop_assert!(e.window_end > e.window_start);
            let length = e.window_end - e.window_start;
            if e.active {
                prop_assert_eq!(length, Duration::hours(13));
                prop_assert!(e.window_start - t <= Duration::hours(12));
            } else {
                prop_assert!(length <= Duration::hours(13));
                prop_assert_eq!(e.window_start, t);
            }
        }
    }
}
