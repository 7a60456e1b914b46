//! `AccountSid::parse` versus a compiled `regex::Regex` check plus a copy into a `String`.
//!
//! Run with `cargo bench -p twilio-types --bench sid_parse` (add `-- --quick` for a
//! short run). Both validators see the same mixed set of inputs (valid SIDs in mixed
//! case, and invalid ones of every kind) in the same process, rounds interleaved. The
//! report gives the median ns per input of each, their ratio, and the number of heap
//! allocations one pass over the inputs makes (counted by a wrapping global allocator).

use std::alloc::System;
use std::hint::black_box;
use std::time::Instant;

use regex::Regex;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use twilio_types::AccountSid;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A deterministic mix: half valid SIDs, half near misses of each kind.
fn inputs() -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    (0..1024)
        .map(|i| {
            let hex: String = (0..32)
                .map(|_| char::from(HEX[(next() % 22) as usize]))
                .collect();
            let valid = format!("AC{hex}");
            match i % 8 {
                0..=3 => valid,
                4 => valid[..33].to_owned(), // too short
                5 => format!("ac{hex}"),     // wrong-case prefix
                6 => format!("{}g{}", &valid[..20], &valid[21..]), // non-hex
                _ => format!("{valid}\n"),   // trailing newline
            }
        })
        .collect()
}

fn via_parse(inputs: &[String]) -> usize {
    let mut ok = 0;
    for s in inputs {
        if let Ok(sid) = AccountSid::parse(black_box(s)) {
            black_box(sid);
            ok += 1;
        }
    }
    ok
}

fn via_regex(re: &Regex, inputs: &[String]) -> usize {
    let mut ok = 0;
    for s in inputs {
        // The pattern alone is a complete validator: a match is exactly 34 ASCII bytes.
        if re.is_match(black_box(s)) {
            black_box(s.to_owned());
            ok += 1;
        }
    }
    ok
}

/// Median of `rounds` timings of `passes` passes over `n` inputs, in ns per input.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (warmup, rounds, passes) = if quick { (2, 5, 20) } else { (5, 21, 200) };

    let inputs = inputs();
    let re = Regex::new(r"^AC[0-9a-fA-F]{32}\z").expect("the pattern is valid");
    let n = inputs.len();

    // Both paths must agree on every input, or the comparison is meaningless.
    for s in &inputs {
        assert_eq!(
            AccountSid::parse(s).is_ok(),
            s.len() == 34 && re.is_match(s),
            "{s:?}"
        );
    }
    let valid = via_parse(&inputs);

    let time = |f: &dyn Fn() -> usize| {
        let start = Instant::now();
        for _ in 0..passes {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / (passes * n) as f64
    };
    for _ in 0..warmup {
        time(&|| via_parse(&inputs));
        time(&|| via_regex(&re, &inputs));
    }
    let (mut parse_ns, mut regex_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        parse_ns.push(time(&|| via_parse(&inputs)));
        regex_ns.push(time(&|| via_regex(&re, &inputs)));
    }
    let (parse_ns, regex_ns) = (median(parse_ns), median(regex_ns));

    let region = Region::new(GLOBAL);
    black_box(via_parse(&inputs));
    let parse_allocs = region.change().allocations;
    let region = Region::new(GLOBAL);
    black_box(via_regex(&re, &inputs));
    let regex_allocs = region.change().allocations;

    println!("sid_parse: {n} inputs ({valid} valid), {rounds} rounds x {passes} passes, medians");
    println!(
        "  AccountSid::parse      {parse_ns:8.2} ns/op   {parse_allocs:5} allocations per pass"
    );
    println!(
        "  Regex + String copy    {regex_ns:8.2} ns/op   {regex_allocs:5} allocations per pass"
    );
    println!("  ratio (regex / parse)  {:8.1}x", regex_ns / parse_ns);
    if parse_allocs != 0 {
        eprintln!("FAIL: AccountSid::parse allocated {parse_allocs} times");
        std::process::exit(1);
    }
}
