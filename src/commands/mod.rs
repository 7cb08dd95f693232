//! Glue: Plan → manager → renderer → exit code, one file per command.

pub mod completions;
pub mod connect;
pub mod health;
pub mod reconnect;
pub mod watch;

use crate::config::Common;
use crate::error::Error;
use crate::manager::{self, Resolved};
use crate::render::Output;

/// The servers to talk to: `--url`/`--targets`, or else the first local
/// ComfyUI that answers on 127.0.0.1:8188 or 127.0.0.1:8000 (saying which
/// one was picked). Commands that keep waiting also get the candidates to
/// keep probing when none answered yet.
pub async fn resolve(common: &Common, out: &Output) -> Result<Resolved, Error> {
    let resolved = manager::resolve(&common.targets, &common.discovery, &common.client).await;
    if let Some(note) = &resolved.note {
        out.note(note);
    }
    Ok(resolved)
}
