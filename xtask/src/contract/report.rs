//! The summary table: operation × (mock all-params, mock no-params, dynamic N/N, proxy).

use super::ops::Op;

/// The checks made for each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// `prism mock`, every optional parameter set.
    MockAll,
    /// `prism mock`, no optional parameter set.
    MockNone,
    /// `prism mock` with `Prefer: dynamic=true`, many times.
    Dynamic,
    /// `prism proxy --errors` in front of the emulator.
    Proxy,
}

impl Check {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Check::MockAll => "mock all-params",
            Check::MockNone => "mock no-params",
            Check::Dynamic => "dynamic",
            Check::Proxy => "proxy",
        }
    }
}

/// Passes and runs of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    passed: usize,
    runs: usize,
}

impl Tally {
    fn ok(self) -> bool {
        self.runs > 0 && self.passed == self.runs
    }
}

/// Results of the whole contract check.
#[derive(Debug, Default)]
pub(crate) struct Report {
    cells: Vec<(Op, Check, Tally)>,
    failures: Vec<String>,
}

const CHECKS: [Check; 4] = [
    Check::MockAll,
    Check::MockNone,
    Check::Dynamic,
    Check::Proxy,
];

impl Report {
    /// Records one run of `check` for `op`.
    pub(crate) fn record(&mut self, op: Op, check: Check, outcome: Result<(), String>) {
        let index = match self
            .cells
            .iter()
            .position(|(o, c, _)| *o == op && *c == check)
        {
            Some(index) => index,
            None => {
                self.cells.push((op, check, Tally::default()));
                self.cells.len() - 1
            }
        };
        let tally = &mut self.cells[index].2;
        tally.runs += 1;
        match outcome {
            Ok(()) => tally.passed += 1,
            Err(why) => {
                // One message per (operation, check) is enough to act on.
                if tally.runs - tally.passed == 1 {
                    self.failures
                        .push(format!("{} [{}]: {why}", op.id(), check.label()));
                }
            }
        }
    }

    fn tally(&self, op: Op, check: Check) -> Tally {
        self.cells
            .iter()
            .find(|(o, c, _)| *o == op && *c == check)
            .map(|(_, _, t)| *t)
            .unwrap_or_default()
    }

    /// True when every operation passed every check at least once and never failed.
    pub(crate) fn passed(&self) -> bool {
        Op::ALL
            .iter()
            .all(|op| CHECKS.iter().all(|check| self.tally(*op, *check).ok()))
    }

    /// The (operation, check) pairs that never ran.
    pub(crate) fn not_run(&self) -> Vec<(Op, Check)> {
        Op::ALL
            .iter()
            .flat_map(|op| CHECKS.iter().map(move |check| (*op, *check)))
            .filter(|(op, check)| self.tally(*op, *check).runs == 0)
            .collect()
    }

    /// The failure messages, first failure per (operation, check).
    pub(crate) fn failures(&self) -> &[String] {
        &self.failures
    }

    /// The summary table.
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "{:<30} {:<16} {:<16} {:<10} {:<8}\n",
            "operation", "mock all-params", "mock no-params", "dynamic", "proxy"
        );
        out.push_str(&format!("{}\n", "-".repeat(83)));
        for op in Op::ALL {
            let cell = |check: Check| {
                let t = self.tally(op, check);
                match (check, t.runs) {
                    (_, 0) => "NOT RUN".to_owned(),
                    (Check::Dynamic, _) => format!("{}/{}", t.passed, t.runs),
                    _ if t.ok() => "pass".to_owned(),
                    _ => "FAIL".to_owned(),
                }
            };
            out.push_str(&format!(
                "{:<30} {:<16} {:<16} {:<10} {:<8}\n",
                op.id(),
                cell(Check::MockAll),
                cell(Check::MockNone),
                cell(Check::Dynamic),
                cell(Check::Proxy)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_pass() -> Report {
        let mut r = Report::default();
        for op in Op::ALL {
            for check in CHECKS {
                r.record(op, check, Ok(()));
            }
        }
        r
    }

    #[test]
    fn all_passing_is_a_pass() {
        let r = all_pass();
        assert!(r.passed());
        assert!(r.failures().is_empty());
        let table = r.render();
        assert_eq!(table.lines().count(), 23);
        assert!(table.contains("CreateSecondaryAuthToken"));
        assert!(!table.contains("FAIL") && !table.contains("NOT RUN"));
    }

    #[test]
    fn a_missing_cell_fails() {
        let mut r = Report::default();
        for op in Op::ALL {
            for check in [Check::MockAll, Check::MockNone, Check::Dynamic] {
                r.record(op, check, Ok(()));
            }
        }
        assert!(!r.passed());
        assert!(r.render().contains("NOT RUN"));
        assert_eq!(r.not_run().len(), 21);
        assert!(r.not_run().iter().all(|(_, check)| *check == Check::Proxy));
        assert!(all_pass().not_run().is_empty());
    }

    #[test]
    fn one_dynamic_failure_fails_and_is_counted() {
        let mut r = all_pass();
        r.record(Op::ListCredentialAws, Check::Dynamic, Err("decode".into()));
        r.record(Op::ListCredentialAws, Check::Dynamic, Err("again".into()));
        assert!(!r.passed());
        assert!(r.render().contains("1/3"), "{}", r.render());
        assert_eq!(r.failures(), ["ListCredentialAws [dynamic]: decode"]);
    }

    #[test]
    fn a_proxy_failure_shows_as_fail() {
        let mut r = all_pass();
        r.record(Op::CreateSafelist, Check::Proxy, Err("500".into()));
        assert!(!r.passed());
        let row = r
            .render()
            .lines()
            .find(|l| l.starts_with("CreateSafelist"))
            .unwrap()
            .to_owned();
        assert!(row.ends_with("FAIL    "), "{row:?}");
    }
}
