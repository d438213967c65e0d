//! The project's Python virtual environment `.venv/`, holding the pinned tools of
//! `infra/requirements.txt`: moto (the AWS emulator), cargo-lambda and cfn-lint.
//!
//! Created on first use, so a fresh clone needs only Rust and Python 3. Test
//! binaries run in parallel, so creation happens under an exclusive file lock
//! (`.local/venv.lock`); whoever comes second finds the work done.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Written into `.venv/` after a successful install: a copy of the requirements
/// it was installed from, so a change to `infra/requirements.txt` reinstalls.
const MARKER: &str = ".devstack-requirements";

/// The virtual environment at `<root>/.venv`.
#[derive(Debug, Clone)]
pub struct Venv {
    root: PathBuf,
    dir: PathBuf,
}

impl Venv {
    /// The virtual environment of the workspace at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Venv {
        let root = root.into();
        let dir = root.join(".venv");
        Venv { root, dir }
    }

    /// The virtual environment of this workspace.
    pub fn workspace() -> Venv {
        Venv::at(crate::workspace_root())
    }

    /// The directory `.venv/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the executable `name` inside the environment.
    pub fn bin(&self, name: &str) -> PathBuf {
        if cfg!(windows) {
            self.dir.join("Scripts").join(format!("{name}.exe"))
        } else {
            self.dir.join("bin").join(name)
        }
    }

    /// The environment's Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.bin("python")
    }

    fn requirements_path(&self) -> PathBuf {
        self.root.join("infra").join("requirements.txt")
    }

    fn is_ready(&self, requirements: &str) -> bool {
        let marker = fs::read_to_string(self.dir.join(MARKER)).unwrap_or_default();
        marker == requirements && self.python().exists() && self.bin("cargo-lambda").exists()
    }

    /// Makes sure the environment exists with the pinned requirements installed;
    /// creates or updates it otherwise (once, even with concurrent callers).
    pub fn ensure(&self) -> Result<()> {
        let requirements_path = self.requirements_path();
        let requirements =
            fs::read_to_string(&requirements_path).map_err(|e| Error::io(&requirements_path, e))?;
        if self.is_ready(&requirements) {
            return Ok(());
        }

        let lock_dir = self.root.join(".local");
        fs::create_dir_all(&lock_dir).map_err(|e| Error::io(&lock_dir, e))?;
        let lock_path = lock_dir.join("venv.lock");
        let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        // Another process may have finished the work while we waited.
        if self.is_ready(&requirements) {
            return Ok(());
        }

        if !self.python().exists() {
            let python = system_python()?;
            eprintln!("devstack: creating {} (once)", self.dir.display());
            run(Command::new(&python).arg("-m").arg("venv").arg(&self.dir))?;
        }
        eprintln!(
            "devstack: installing {} into {} (once; this can take a minute)",
            requirements_path.display(),
            self.dir.display()
        );
        run(Command::new(self.python())
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
            ])
            .arg(&requirements_path))?;
        let marker = self.dir.join(MARKER);
        fs::write(&marker, &requirements).map_err(|e| Error::io(&marker, e))?;
        Ok(())
        // The lock is released when `lock` is dropped.
    }
}

/// The system's Python 3: `python3`, or `python` where that is Python 3 (Windows).
fn system_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let output = Command::new(candidate)
            .args(["-c", "import sys; print(sys.version_info[0])"])
            .stdin(Stdio::null())
            .output();
        if let Ok(output) = output
            && output.status.success()
            && String::from_utf8_lossy(&output.stdout).trim() == "3"
        {
            return Ok(candidate.to_owned());
        }
    }
    Err(Error::PythonMissing)
}

/// Runs `command` with its output on the terminal; a failure names the command.
fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::Venv {
            command: shown.clone(),
            outcome: format!("could not start: {e}"),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Venv {
            command: shown,
            outcome: format!("failed with {status}"),
        })
    }
}
