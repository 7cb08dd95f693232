//! Glue: Config → manager → renderer → exit code, one file per command.

pub mod completions;
pub mod connect;
pub mod health;
pub mod reconnect;
pub mod watch;

use crate::config::Config;
use crate::error::Exit;
use crate::manager::{self, HttpClient, Target};
use crate::render::Output;

/// The servers to talk to: `--url`/`--targets`, or else the first local
/// ComfyUI that answers on 127.0.0.1:8188 or 127.0.0.1:8000 (and it says
/// which one was picked).
pub async fn resolve_targets(config: &Config, out: &Output) -> Vec<Target> {
    if !config.targets.is_empty() {
        return config.targets.clone();
    }
    let candidates: Vec<Target> = manager::DEFAULT_CANDIDATES
        .iter()
        .map(|c| Target::parse(c).expect("built-in candidates parse"))
        .collect();
    let http = HttpClient::new(&config.headers, config.timeout);
    let picked = match manager::discover(&http, &candidates).await {
        Some(found) => {
            out.note(&format!(
                "no --url given; using {found}, which answered like ComfyUI"
            ));
            found
        }
        None => {
            let first = candidates[0].clone();
            out.note(&format!(
                "no --url given and no ComfyUI answered on {}; checking {first}",
                manager::DEFAULT_CANDIDATES.join(" or ")
            ));
            first
        }
    };
    vec![picked]
}

/// One exit code for several servers: with `any`, success if one succeeded
/// (else the most hopeful failure, 3 before 1); otherwise the worst.
pub fn combine(exits: &[Exit], any: bool) -> Exit {
    let rank = |e: &Exit| match e {
        Exit::Ok => 0,
        Exit::NotReady => 1,
        Exit::Unavailable => 2,
        Exit::Usage => 3,
        Exit::Interrupted => 4,
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
