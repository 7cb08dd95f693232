//! Glue: Config → manager → renderer → exit code, one file per command.

pub mod completions;
pub mod connect;
pub mod health;
pub mod reconnect;
pub mod watch;

use crate::config::Config;
use crate::manager::{self, HttpClient, Target};
use crate::render::Output;

/// The server to talk to: `--url`, or the first local ComfyUI that answers
/// on 127.0.0.1:8188 or 127.0.0.1:8000. Says which one was picked.
pub async fn resolve_target(config: &Config, out: &Output) -> Target {
    if let Some(target) = &config.url {
        return target.clone();
    }
    let candidates: Vec<Target> = manager::DEFAULT_CANDIDATES
        .iter()
        .map(|c| Target::parse(c).expect("built-in candidates parse"))
        .collect();
    let http = HttpClient::new(&config.headers, config.timeout);
    match manager::discover(&http, &candidates).await {
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
    }
}
