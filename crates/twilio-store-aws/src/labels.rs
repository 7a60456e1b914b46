//! The staging labels: which version of the secret each one is on, and the moves that bring
//! them to where a record wants them.

use std::collections::{BTreeMap, HashMap};

/// The label of the account's primary token (what every AWS-native consumer reads).
pub(crate) const CURRENT: &str = "AWSCURRENT";
/// The label of a rotation's new token while it is staged.
pub(crate) const PENDING: &str = "AWSPENDING";
/// The label of the token the last promotion replaced.
pub(crate) const PREVIOUS: &str = "AWSPREVIOUS";
/// Our label: the version holding the committed record (moved by compare-and-swap).
pub(crate) const RECORD: &str = "TWILIO-RECORD";
/// Our scratch label: the last version written but not (yet) labelled otherwise. A version
/// needs a label when it is written (without one, `PutSecretValue` would move `AWSCURRENT`).
pub(crate) const NEXT: &str = "TWILIO-NEXT";

/// Where each label is, from `DescribeSecret`'s `VersionIdsToStages`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelMap {
    /// Label -> the versions holding it (one, on AWS; moto can attach a label twice).
    on: BTreeMap<String, Vec<String>>,
}

impl LabelMap {
    /// From `VersionIdsToStages` (version id -> labels).
    pub(crate) fn from_versions(versions: &HashMap<String, Vec<String>>) -> Self {
        let mut on: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (version, labels) in versions {
            for label in labels {
                on.entry(label.clone()).or_default().push(version.clone());
            }
        }
        for versions in on.values_mut() {
            versions.sort();
        }
        Self { on }
    }

    /// The version holding `label`: `Err(())` when more than one does.
    pub(crate) fn get(&self, label: &str) -> Result<Option<&str>, ()> {
        match self.on.get(label).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(one)),
            Some(_) => Err(()),
        }
    }

    /// The version holding `label`, the first one when several do.
    fn first(&self, label: &str) -> Option<&str> {
        self.on
            .get(label)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    fn set(&mut self, label: &str, version: Option<&str>) {
        match version {
            Some(version) => {
                self.on.insert(label.to_owned(), vec![version.to_owned()]);
            }
            None => {
                self.on.remove(label);
            }
        }
    }
}

/// Where a record wants the three AWS labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) current: String,
    pub(crate) pending: Option<String>,
    pub(crate) previous: Option<String>,
}

impl Wanted {
    /// Whether `labels` already are where this wants them.
    pub(crate) fn holds_in(&self, labels: &LabelMap) -> bool {
        labels.get(CURRENT) == Ok(Some(self.current.as_str()))
            && labels.get(PENDING) == Ok(self.pending.as_deref())
            && labels.get(PREVIOUS) == Ok(self.previous.as_deref())
    }
}

/// One `UpdateSecretVersionStage` call: `label` from `from` (if on one) to `to` (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Move {
    pub(crate) label: &'static str,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
}

/// The moves that bring `labels` to `wanted`, in order: `AWSCURRENT` first (Secrets Manager
/// then puts `AWSPREVIOUS` on the version it left, so that label is planned after it), then
/// `AWSPENDING` and `AWSPREVIOUS`.
pub(crate) fn plan(labels: &LabelMap, wanted: &Wanted) -> Vec<Move> {
    let mut now = labels.clone();
    let mut moves = Vec::new();
    let current = now.first(CURRENT).map(str::to_owned);
    if current.as_deref() != Some(wanted.current.as_str()) {
        moves.push(Move {
            label: CURRENT,
            from: current.clone(),
            to: Some(wanted.current.clone()),
        });
        now.set(CURRENT, Some(&wanted.current));
        // What Secrets Manager does itself when AWSCURRENT moves from a version.
        if current.is_some() {
            now.set(PREVIOUS, current.as_deref());
        }
    }
    for (label, want) in [(PENDING, &wanted.pending), (PREVIOUS, &wanted.previous)] {
        let is = now.get(label).ok().flatten().map(str::to_owned);
        if now.get(label).is_err() || is != *want {
            moves.push(Move {
                label,
                from: now.first(label).map(str::to_owned),
                to: want.clone(),
            });
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &[&str])]) -> LabelMap {
        let versions = pairs
            .iter()
            .map(|(v, l)| ((*v).to_owned(), l.iter().map(|l| (*l).to_owned()).collect()))
            .collect();
        LabelMap::from_versions(&versions)
    }

    fn mv(label: &'static str, from: Option<&str>, to: Option<&str>) -> Move {
        Move {
            label,
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    fn wanted(current: &str, pending: Option<&str>, previous: Option<&str>) -> Wanted {
        Wanted {
            current: current.to_owned(),
            pending: pending.map(str::to_owned),
            previous: previous.map(str::to_owned),
        }
    }

    #[test]
    fn nothing_to_do_when_the_labels_are_in_place() {
        let now = labels(&[("a", &[CURRENT, RECORD]), ("b", &[PENDING])]);
        let want = wanted("a", Some("b"), None);
        assert!(want.holds_in(&now));
        assert_eq!(plan(&now, &want), []);
    }

    #[test]
    fn staging_moves_pending_only() {
        let now = labels(&[("a", &[CURRENT]), ("old", &[PREVIOUS])]);
        let want = wanted("a", Some("b"), Some("old"));
        assert!(!want.holds_in(&now));
        assert_eq!(plan(&now, &want), [mv(PENDING, None, Some("b"))]);
    }

    #[test]
    fn a_promotion_moves_current_and_lets_aws_move_previous() {
        let now = labels(&[("a", &[CURRENT]), ("b", &[PENDING]), ("old", &[PREVIOUS])]);
        let want = wanted("b", None, Some("a"));
        assert_eq!(
            plan(&now, &want),
            [
                mv(CURRENT, Some("a"), Some("b")),
                mv(PENDING, Some("b"), None)
            ]
        );
    }

    #[test]
    fn a_previous_dropped_or_elsewhere_is_moved() {
        let now = labels(&[("a", &[CURRENT]), ("old", &[PREVIOUS])]);
        assert_eq!(
            plan(&now, &wanted("a", None, None)),
            [mv(PREVIOUS, Some("old"), None)]
        );
        // A promotion whose record keeps no previous: AWS would put it on `a`; taken off.
        let now = labels(&[("a", &[CURRENT]), ("b", &[PENDING])]);
        assert_eq!(
            plan(&now, &wanted("b", None, None)),
            [
                mv(CURRENT, Some("a"), Some("b")),
                mv(PENDING, Some("b"), None),
                mv(PREVIOUS, Some("a"), None)
            ]
        );
    }

    #[test]
    fn a_label_on_two_versions_is_never_in_place() {
        let now = labels(&[("a", &[CURRENT, PENDING]), ("b", &[PENDING])]);
        assert_eq!(now.get(PENDING), Err(()));
        let want = wanted("a", Some("b"), None);
        assert!(!want.holds_in(&now));
        assert_eq!(plan(&now, &want), [mv(PENDING, Some("a"), Some("b"))]);
    }
}
