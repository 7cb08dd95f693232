//! Which servers to talk to when no URL was given: the local candidates,
//! probed for one that answers like ComfyUI. Never prints: what the user
//! should be told comes back as data.

use super::http::{self, HttpClient};
use super::settings::ClientSettings;
use super::status::{ErrorKind, ProbeError};
use super::{Setting, Target, parse};

/// Where a server is looked for when no URL is given: stock ComfyUI, then
/// ComfyUI Desktop.
pub const DEFAULT_CANDIDATES: [&str; 2] = ["127.0.0.1:8188", "127.0.0.1:8000"];

/// The servers a command talks to, once resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The servers: the given ones, the discovered one, or the first
    /// candidate when none answered yet.
    pub targets: Vec<Target>,
    /// When no URL was given and no candidate answered: every candidate,
    /// to keep probing (commands that wait). Empty otherwise.
    pub candidates: Vec<Target>,
    /// What to tell the user about the choice (a discovery happened).
    pub note: Option<String>,
}

/// The servers to talk to: `targets` if any, or else the first local
/// ComfyUI that answers on `candidates` (empty: [`default_candidates`]).
pub async fn resolve(
    targets: &[Target],
    candidates: &[Target],
    client: &ClientSettings,
) -> Resolved {
    if !targets.is_empty() {
        return Resolved {
            targets: targets.to_vec(),
            candidates: Vec::new(),
            note: None,
        };
    }
    let candidates = if candidates.is_empty() {
        default_candidates()
    } else {
        candidates.to_vec()
    };
    let http = HttpClient::new(client);
    let shown: Vec<String> = candidates.iter().map(Target::authority).collect();
    match discover(&http, &candidates).await {
        Some(found) => Resolved {
            note: Some(format!(
                "no {} given; using {found}, which answered like ComfyUI",
                Setting::Url
            )),
            targets: vec![found],
            candidates: Vec::new(),
        },
        None => {
            let Some(first) = candidates.first().cloned() else {
                return Resolved {
                    targets: Vec::new(),
                    candidates: Vec::new(),
                    note: None,
                };
            };
            Resolved {
                note: Some(format!(
                    "no {} given and no ComfyUI answered on {}; checking {first}",
                    Setting::Url,
                    shown.join(" or ")
                )),
                targets: vec![first],
                candidates,
            }
        }
    }
}

/// The addresses probed when no URL is given: [`DEFAULT_CANDIDATES`].
pub fn default_candidates() -> Vec<Target> {
    DEFAULT_CANDIDATES
        .iter()
        .filter_map(|c| Target::parse(c).ok())
        .collect()
}

/// Finds a local server when no URL was given: probes every candidate at the
/// same time and takes the first that answers like ComfyUI. `None` when
/// none does.
pub async fn discover(http: &HttpClient, candidates: &[Target]) -> Option<Target> {
    use futures_util::future::select_ok;
    let probes = candidates.iter().map(|t| {
        Box::pin(async move {
            let body = http.get(t, "/system_stats", http::HEALTH_BODY_CAP).await?;
            parse::system_stats(&body)
                .map(|_| t.clone())
                .map_err(|e| ProbeError::new(ErrorKind::NotComfyui, e))
        })
    });
    select_ok(probes).await.ok().map(|(t, _)| t)
}

/// One round of a discovery that keeps going: probes every candidate at
/// once and returns the first (in list order) that answers like ComfyUI.
/// Otherwise `Err(true)` when every candidate refused the connection (a
/// next round may come soon, it costs nothing) and `Err(false)` when some
/// peer answered or stayed silent (pace the next round).
pub async fn discover_round(http: &HttpClient, candidates: &[Target]) -> Result<Target, bool> {
    let probes = candidates.iter().map(|t| async move {
        match http.get(t, "/system_stats", http::HEALTH_BODY_CAP).await {
            Ok(body) if parse::system_stats(&body).is_ok() => Ok(t.clone()),
            Ok(_) => Err(false),
            Err(e) => Err(e.kind == ErrorKind::ConnectionRefused),
        }
    });
    let results = futures_util::future::join_all(probes).await;
    let mut all_refused = true;
    for result in results {
        match result {
            Ok(found) => return Ok(found),
            Err(refused) => all_refused &= refused,
        }
    }
    Err(all_refused)
}
