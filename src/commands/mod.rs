//! Glue: Plan → manager → renderer → exit code, one file per command.

pub mod completions;
pub mod connect;
pub mod health;
pub mod reconnect;
pub mod watch;

use crate::config::Common;
use crate::error::{Error, Exit};
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

/// One exit code for several servers: with `any`, success if one succeeded
/// (else the most hopeful failure, 3 before 1); otherwise the worst.
pub fn combine(exits: &[Exit], any: bool) -> Exit {
    let rank = |e: &Exit| match e {
        Exit::Ok => 0,
        Exit::NotReady => 1,
        Exit::Unavailable => 2,
        Exit::Usage => 3,
        Exit::Output => 4,
        Exit::Interrupted => 5,
    };
    let pick = if any {
        exits.iter().min_by_key(|e| rank(e))
    } else {
        exits.iter().max_by_key(|e| rank(e))
    };
    pick.copied().unwrap_or(Exit::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_takes_the_worst_and_any_the_best() {
        let exits = [Exit::Ok, Exit::Unavailable, Exit::NotReady];
        assert_eq!(combine(&exits, false), Exit::Unavailable);
        assert_eq!(combine(&exits, true), Exit::Ok);
        assert_eq!(
            combine(&[Exit::Unavailable, Exit::NotReady], true),
            Exit::NotReady
        );
        assert_eq!(combine(&[Exit::Ok, Exit::Ok], false), Exit::Ok);
    }
}
