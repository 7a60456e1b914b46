//! Proof that SID parsing allocates nothing, on success and on every kind of failure.
//!
//! A plain `main` (`harness = false`) so that no test-harness thread can allocate
//! while the counting region is open: the counts are exact and the check deterministic.
//! `stats_alloc` wraps the system allocator without any `unsafe` in this crate.

use std::alloc::System;
use std::hint::black_box;

use regex::Regex;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use twilio_types::{AccountSid, ApiKeySid, MessagingServiceSid};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    let valid = "AC0123456789abcdef0123456789ABCDEF";
    let inputs: Vec<String> = vec![
        valid.to_owned(),
        String::new(),
        valid[..33].to_owned(),
        format!("{valid}\n"),
        valid.replacen("AC", "ac", 1),
        valid.replacen('5', "g", 1),
        valid.replacen('5', "\u{0663}", 1),
        format!("{}\u{00e9}", &valid[..32]),
        "\u{FF21}".repeat(34),
    ];
    let re = Regex::new(r"^AC[0-9a-fA-F]{32}\z").unwrap();

    let region = Region::new(GLOBAL);
    let mut parsed = 0;
    for _ in 0..100 {
        for s in &inputs {
            parsed += usize::from(AccountSid::parse(black_box(s)).is_ok());
            // The error path, including the kind and the accessors, allocates nothing too.
            if let Err(e) = ApiKeySid::parse(black_box(s)) {
                black_box((e.kind(), e.expected_prefix()));
            }
            black_box(MessagingServiceSid::parse(black_box(s)).ok());
        }
    }
    let parse_stats = region.change();

    let region = Region::new(GLOBAL);
    for _ in 0..100 {
        for s in &inputs {
            if re.is_match(black_box(s)) {
                black_box(s.to_owned());
            }
        }
    }
    let regex_stats = region.change();

    println!(
        "no_alloc: {} parses ({parsed} valid): {} allocations; regex + String copy: {} allocations",
        100 * inputs.len() * 3,
        parse_stats.allocations + parse_stats.reallocations,
        regex_stats.allocations + regex_stats.reallocations,
    );
    assert_eq!(parse_stats.allocations, 0, "SID parsing allocated");
    assert_eq!(parse_stats.reallocations, 0, "SID parsing reallocated");
    assert_eq!(parsed, 100, "exactly one input is a valid Account SID");
    // The counter works: the regex path copies each of its 100 matches into a String.
    assert!(regex_stats.allocations >= 100, "{regex_stats:?}");
}
