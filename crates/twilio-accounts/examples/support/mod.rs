//! What the examples share.

use std::error::Error as StdError;

/// An error and its causes, on one line: `outer: cause: root cause`.
pub(crate) fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
