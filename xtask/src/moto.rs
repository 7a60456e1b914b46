//! Installing a pinned `moto_server` (an AWS emulator) for the AWS Secrets Manager tests.
//!
//! pip installs PyPI `moto[server]` at [`MOTO_VERSION`], with every dependency pinned by a
//! constraints list ([`CONSTRAINTS`]), into `.tools/moto` at the workspace root (ignored by
//! git). pip's own console script cannot run from a `--target` install (it lacks the folder on
//! Python's path), so we write a launcher, `.tools/moto/moto_server`, that sets `PYTHONPATH` and
//! runs `python -m moto.server` with the interpreter that installed it. The `test` and
//! `package` steps pass the launcher's path to `cargo test` in [`ENV`]; the tests start their
//! own `moto_server -H 127.0.0.1 -p PORT` processes from it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Result, cmd, pip};

/// The pinned moto release (newest 5.x on 2026-12-03).
pub(crate) const MOTO_VERSION: &str = "5.2.5";
/// The variable that tells the tests where the launcher is.
pub(crate) const ENV: &str = "TWILIO_TEST_MOTO";

/// Exact versions of `moto[server]`'s dependencies, as pip resolved them for 5.2.5 on
/// 2026-12-03: an install next year gets the same server.
const CONSTRAINTS: &str = "\
PyYAML==6.0.4
annotated-types==0.8.0
antlr4-python3-runtime==4.13.2
attrs==26.1.0
aws-xray-sdk==2.15.0
blinker==1.9.0
boto3==1.44.8
botocore==1.44.8
certifi==2026.10.19.post1
cffi==2.1.1
cfn-lint==1.58.0
charset-normalizer==3.5.3
click==8.5.1
cryptography==50.0.2
docker==7.2.0
flask==3.1.3
flask-cors==6.0.5
graphql-core==3.3.2
idna==3.20
itsdangerous==2.2.0
jinja2==3.1.6
jmespath==1.1.0
joserfc==1.8.0
jsonpatch==1.48
jsonpath-ng==1.16.0
jsonpointer==3.12
jsonschema==4.26.0
jsonschema-path==0.5.0
jsonschema-specifications==2025.9.1
lazy-object-proxy==1.13.0
markupsafe==3.0.4
mpmath==1.3.0
networkx==3.6.1
openapi-schema-validator==0.9.0
openapi-spec-validator==0.9.0
pathable==0.6.0
py-partiql-parser==0.6.3
pycparser==3.12
pydantic==2.14.4
pydantic-core==2.50.5
pydantic-settings==2.16.3
pyparsing==3.3.3
python-dateutil==2.9.0.post0
python-dotenv==1.2.4
referencing==0.37.0
regex==2026.11.19
requests==2.34.2
responses==0.26.3
rfc3339-validator==0.1.4
rpds-py==2026.9.1
s3transfer==0.19.3
six==1.17.0
sympy==1.14.0
typing-extensions==4.16.0
typing-inspection==0.4.5
urllib3==2.8.0
werkzeug==3.1.9
wrapt==2.5.2
xmltodict==1.0.4
";

/// The install folder, `<workspace>/.tools/moto`.
fn install_dir() -> PathBuf {
    crate::workspace_root().join(".tools").join("moto")
}

/// The launcher script inside the install folder.
fn launcher_in(dir: &Path) -> PathBuf {
    dir.join("moto_server")
}

/// Makes sure the pinned moto is installed and returns the launcher's absolute path.
///
/// Fails loudly (never skips) when Python's pip is missing or the install fails.
pub(crate) fn ensure_installed() -> Result<PathBuf> {
    let dir = install_dir();
    let launcher = launcher_in(&dir);
    if is_installed(&dir, &launcher) {
        println!(
            "    moto {MOTO_VERSION} already installed in {}",
            dir.display()
        );
        return Ok(launcher);
    }
    let python = pip::find_python(&format!(
        "the AWS Secrets Manager tests install moto[server]=={MOTO_VERSION} from PyPI with it"
    ))?;
    // A half-finished install (or another version) is removed whole: pip --target does not
    // replace packages cleanly.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot remove the old {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let constraints = dir.join("constraints.txt");
    std::fs::write(&constraints, CONSTRAINTS)
        .map_err(|e| format!("cannot write {}: {e}", constraints.display()))?;
    let mut install = pip::install(python);
    install
        .arg("--constraint")
        .arg(&constraints)
        .arg("--target")
        .arg(dir.join("site"))
        .arg(format!("moto[server]=={MOTO_VERSION}"));
    cmd::run_step("test: pip install moto[server]", &mut install).map_err(|e| {
        format!("{e}\n(the AWS Secrets Manager tests need Python's pip and access to PyPI)")
    })?;
    let interpreter = interpreter_path(python)?;
    std::fs::write(&launcher, launcher_script(&interpreter, &dir.join("site")))
        .map_err(|e| format!("cannot write {}: {e}", launcher.display()))?;
    make_executable(&launcher)?;
    if is_installed(&dir, &launcher) {
        Ok(launcher)
    } else {
        Err(format!(
            "pip install finished but {} does not run moto {MOTO_VERSION}",
            launcher.display()
        ))
    }
}

/// The launcher: moto's server module on the pinned install, with the interpreter that
/// installed it (compiled wheels such as `cryptography` fit that interpreter only).
fn launcher_script(interpreter: &Path, site: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         # Written by `cargo xtask moto`: moto {MOTO_VERSION}'s server from {site}.\n\
         PYTHONPATH='{site}' exec '{interpreter}' -m moto.server \"$@\"\n",
        site = site.display(),
        interpreter = interpreter.display(),
    )
}

/// True when the launcher exists and its Python imports moto at the pinned version.
fn is_installed(dir: &Path, launcher: &Path) -> bool {
    let Ok(script) = std::fs::read_to_string(launcher) else {
        return false;
    };
    let Some(interpreter) = interpreter_in(&script) else {
        return false;
    };
    let out = Command::new(interpreter)
        .args(["-c", "import moto; print(moto.__version__)"])
        .env("PYTHONPATH", dir.join("site"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    out.is_ok_and(|out| {
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == MOTO_VERSION
    })
}

/// The interpreter a launcher script runs (the quoted path after `exec`).
fn interpreter_in(script: &str) -> Option<&str> {
    let rest = script.split("exec '").nth(1)?;
    rest.split('\'').next()
}

/// The absolute path of `python`'s interpreter (`sys.executable`).
fn interpreter_path(python: &str) -> Result<PathBuf> {
    let out = Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || path.is_empty() {
        return Err(format!("{python} did not say where its interpreter is"));
    }
    Ok(PathBuf::from(path))
}

/// `chmod 755` on Unix; elsewhere the tests cannot run a shell script anyway.
fn make_executable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_runs_the_server_module_with_the_installing_interpreter() {
        let script = launcher_script(
            Path::new("/py/bin/python3"),
            Path::new("/w/.tools/moto/site"),
        );
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains(
            "PYTHONPATH='/w/.tools/moto/site' exec '/py/bin/python3' -m moto.server \"$@\""
        ));
        assert_eq!(interpreter_in(&script), Some("/py/bin/python3"));
    }

    #[test]
    fn every_dependency_is_pinned_exactly() {
        for line in CONSTRAINTS.lines() {
            let (name, version) = line.split_once("==").expect(line);
            assert!(!name.is_empty() && !version.is_empty(), "{line}");
        }
        assert!(
            !CONSTRAINTS.contains("moto"),
            "moto itself is pinned by MOTO_VERSION"
        );
    }
}
