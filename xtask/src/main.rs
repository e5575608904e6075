//! `cargo xtask [RECIPE ...]`: a Justfile recipe (`test` by default) on a
//! machine that has only Rust and Python. `scripts/bootstrap.sh` installs or
//! fetches what the recipes need first (just itself included), then the
//! recipe runs with the fetched tools first on PATH.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace");
    let bootstrap = Command::new("bash")
        .arg(root.join("scripts/bootstrap.sh"))
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output();
    let tools_bin = match bootstrap {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(_) => return ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: cannot run bash: {error}");
            return ExitCode::FAILURE;
        }
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let mut recipes: Vec<String> = std::env::args().skip(1).collect();
    if recipes.is_empty() {
        recipes.push("test".into());
    }
    // The child's PATH is the one searched: a fetched `just` is found too.
    match Command::new("just")
        .args(&recipes)
        .current_dir(root)
        .env("PATH", format!("{tools_bin}:{path}"))
        .status()
    {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("xtask: cannot run just: {error}");
            ExitCode::FAILURE
        }
    }
}
