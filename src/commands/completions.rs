//! `comfyctl completions SHELL`: the scripts committed in `completions/`.

use std::io::Write;

use crate::error::{Error, Exit};

/// Writes `script` (from [`crate::config::completion_script`]) to stdout.
pub fn run(script: &[u8]) -> Result<Exit, Error> {
    std::io::stdout().write_all(script)?;
    Ok(Exit::Ok)
}
