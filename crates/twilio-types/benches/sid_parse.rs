//! `AccountSid::parse` versus a compiled `regex::Regex` check plus a copy into a `String`.
//!
//! Run with `cargo bench -p twilio-types --bench sid_parse` (add `-- --quick` for a
//! short run). Both validators see the same mixed set of inputs (valid SIDs in mixed
//! case, and invalid ones of every kind) in the same process, rounds interleaved. The
//! report gives the median ns per input of each and their ratio, for the mixed set and
//! for its valid and invalid halves.
//!
//! Allocations are counted by `tests/no_alloc.rs` (`cargo test -p twilio-types --test
//! no_alloc -- --nocapture`), not here: a counting global allocator adds atomic
//! operations to every allocation and would slow down only the regex path, inflating
//! the ratio.

use std::hint::black_box;
use std::time::Instant;

use regex::Regex;
use twilio_types::AccountSid;

/// A deterministic mix in a shuffled order: half valid SIDs, half near misses of each kind.
fn inputs() -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let mut inputs: Vec<String> = (0..1024)
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
        .collect();
    // Shuffle (Fisher-Yates), so that neither path can learn a repeating valid/invalid
    // pattern through the branch predictor: real input does not come in a fixed cycle.
    for i in (1..inputs.len()).rev() {
        inputs.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    inputs
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

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

struct Plan {
    warmup: usize,
    rounds: usize,
    passes: usize,
}

/// Median ns per input of each path over `inputs`, rounds interleaved.
fn measure(plan: &Plan, re: &Regex, inputs: &[String]) -> (f64, f64) {
    let time = |f: &dyn Fn() -> usize| {
        let start = Instant::now();
        for _ in 0..plan.passes {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / (plan.passes * inputs.len()) as f64
    };
    for _ in 0..plan.warmup {
        time(&|| via_parse(inputs));
        time(&|| via_regex(re, inputs));
    }
    let (mut parse_ns, mut regex_ns) = (Vec::new(), Vec::new());
    for _ in 0..plan.rounds {
        parse_ns.push(time(&|| via_parse(inputs)));
        regex_ns.push(time(&|| via_regex(re, inputs)));
    }
    (median(parse_ns), median(regex_ns))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick {
        Plan {
            warmup: 2,
            rounds: 5,
            passes: 20,
        }
    } else {
        Plan {
            warmup: 5,
            rounds: 21,
            passes: 200,
        }
    };

    let inputs = inputs();
    let re = Regex::new(r"^AC[0-9a-fA-F]{32}\z").expect("the pattern is valid");

    // Both paths must agree on every input, or the comparison is meaningless.
    for s in &inputs {
        assert_eq!(AccountSid::parse(s).is_ok(), re.is_match(s), "{s:?}");
    }
    let (valid, invalid): (Vec<String>, Vec<String>) = inputs
        .iter()
        .cloned()
        .partition(|s| AccountSid::parse(s).is_ok());

    println!(
        "sid_parse: {} inputs ({} valid), {} rounds x {} passes, medians",
        inputs.len(),
        valid.len(),
        plan.rounds,
        plan.passes
    );
    println!(
        "  {:<22} {:>14} {:>20} {:>8}",
        "input set", "parse ns/op", "regex+copy ns/op", "ratio"
    );
    for (name, set) in [
        ("mixed", &inputs),
        ("valid only", &valid),
        ("invalid only", &invalid),
    ] {
        let (parse_ns, regex_ns) = measure(&plan, &re, set);
        println!(
            "  {name:<22} {parse_ns:>14.2} {regex_ns:>20.2} {:>7.1}x",
            regex_ns / parse_ns
        );
    }
}
