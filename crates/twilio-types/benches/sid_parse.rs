//! `AccountSid::parse` versus a compiled `regex::Regex` check plus a copy into a `String`.
//!
//! Run with `cargo bench -p twilio-types --bench sid_parse` (add `-- --quick` for a
//! short run). Both validators see the same inputs in the same process, rounds
//! interleaved, after a warm-up: four shuffled sets of valid SIDs (mixed case) and near
//! misses of every kind (too short, wrong-case prefix, a non-hex character anywhere, a
//! trailing newline) in different proportions. The report gives, per set, the median
//! and minimum ns per input of each path over the rounds, and the ratio of the medians.
//!
//! Allocations are counted by `tests/no_alloc.rs` (`cargo test -p twilio-types --test
//! no_alloc -- --nocapture`), not here: a counting global allocator adds atomic
//! operations to every allocation and would slow down only the regex path, inflating
//! the ratio.

use std::hint::black_box;
use std::time::Instant;

use regex::Regex;
use twilio_types::AccountSid;

/// A deterministic pseudo-random number generator (xorshift64), so every run measures
/// the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` inputs of which `invalid_in_16` in every 16 are near misses (of each kind in
/// turn), the rest valid SIDs in mixed case; shuffled (Fisher-Yates), so that neither
/// path can learn a repeating valid/invalid pattern through the branch predictor.
fn inputs(rng: &mut Rng, count: usize, invalid_in_16: usize) -> Vec<String> {
    const HEX: &[u8] = b"0123456789abcdefABCDEF";
    let mut inputs: Vec<String> = (0..count)
        .map(|i| {
            let hex: String = (0..32).map(|_| char::from(HEX[rng.below(22)])).collect();
            let valid = format!("AC{hex}");
            if i % 16 >= invalid_in_16 {
                return valid;
            }
            let at = 2 + rng.below(32);
            match (i / 16 + i) % 4 {
                0 => valid[..33].to_owned(),                           // too short
                1 => format!("ac{hex}"),                               // wrong-case prefix
                2 => format!("{}g{}", &valid[..at], &valid[at + 1..]), // non-hex
                _ => format!("{valid}\n"),                             // trailing newline
            }
        })
        .collect();
    for i in (1..inputs.len()).rev() {
        inputs.swap(i, rng.below(i + 1));
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

/// The median and the minimum of `samples` (ns per input).
struct Summary {
    median: f64,
    min: f64,
}

fn summarize(mut samples: Vec<f64>) -> Summary {
    samples.sort_by(f64::total_cmp);
    Summary {
        median: samples[samples.len() / 2],
        min: samples[0],
    }
}

struct Plan {
    warmup: usize,
    rounds: usize,
    passes: usize,
}

/// Ns per input of each path over `inputs`, rounds interleaved.
fn measure(plan: &Plan, re: &Regex, inputs: &[String]) -> (Summary, Summary) {
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
    (summarize(parse_ns), summarize(regex_ns))
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

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let sets = [
        // SIDs mostly come from API responses and configuration: nearly all valid.
        ("mostly valid (1/16 bad)", inputs(&mut rng, 1024, 1)),
        ("half invalid", inputs(&mut rng, 1024, 8)),
        ("valid only", inputs(&mut rng, 1024, 0)),
        ("invalid only", inputs(&mut rng, 1024, 16)),
    ];
    let re = Regex::new(r"^AC[0-9a-fA-F]{32}\z").expect("the pattern is valid");

    // Both paths must agree on every input, or the comparison is meaningless.
    for s in sets.iter().flat_map(|(_, set)| set) {
        assert_eq!(AccountSid::parse(s).is_ok(), re.is_match(s), "{s:?}");
    }

    // The ratio is of the medians; the minimum (the least disturbed round) shows how
    // much a busy machine inflated them.
    println!(
        "sid_parse: {} rounds x {} passes over {} inputs per set, ns per input: median (min)",
        plan.rounds,
        plan.passes,
        sets[0].1.len(),
    );
    println!(
        "  {:<24} {:>16} {:>20} {:>8}",
        "input set", "parse", "regex + copy", "ratio"
    );
    for (name, set) in &sets {
        let (parse, regex) = measure(&plan, &re, set);
        println!(
            "  {name:<24} {:>7.2} ({:>6.2}) {:>9.2} ({:>7.2}) {:>7.1}x",
            parse.median,
            parse.min,
            regex.median,
            regex.min,
            regex.median / parse.median
        );
    }
}
