//! Glue: Config → manager → renderer → exit code, one file per command.

pub mod completions;
pub mod connect;
pub mod health;
pub mod reconnect;
pub mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::{Error, Exit};
use crate::manager::{self, Envelope, HttpClient, Monitor, Stop, Summary, Target, WatchSettings};
use crate::render::Output;

/// The servers to talk to: `--url`/`--targets`, or else the first local
/// ComfyUI that answers on 127.0.0.1:8188 or 127.0.0.1:8000 (and it says
/// which one was picked).
pub async fn resolve_targets(config: &Config, out: &Output) -> Result<Vec<Target>, Error> {
    let (targets, _) = resolve_or_discover(config, out).await?;
    Ok(targets)
}

/// Like [`resolve_targets`], for commands that keep waiting: when no URL
/// was given and no candidate answered yet, also returns the candidates to
/// keep probing (empty otherwise).
pub async fn resolve_or_discover(
    config: &Config,
    out: &Output,
) -> Result<(Vec<Target>, Vec<Target>), Error> {
    if !config.targets.is_empty() {
        return Ok((config.targets.clone(), Vec::new()));
    }
    let candidates = discovery_candidates().map_err(|e| Error::Config(vec![e]))?;
    let shown: Vec<String> = candidates.iter().map(Target::authority).collect();
    let http = HttpClient::with_tls(&config.headers, config.timeout, &config.tls);
    match manager::discover(&http, &candidates).await {
        Some(found) => {
            out.note(&format!(
                "no --url given; using {found}, which answered like ComfyUI"
            ));
            Ok((vec![found], Vec::new()))
        }
        None => {
            let first = candidates[0].clone();
            out.note(&format!(
                "no --url given and no ComfyUI answered on {}; checking {first}",
                shown.join(" or ")
            ));
            Ok((vec![first], candidates))
        }
    }
}

/// Test-only: `COMFYCTL_DISCOVER_PORTS=P1,P2` replaces the ports probed on
/// 127.0.0.1 when no URL is given, because tests cannot bind 8188/8000.
const DISCOVER_PORTS_ENV: &str = "COMFYCTL_DISCOVER_PORTS";

fn builtin_candidates() -> Vec<Target> {
    manager::DEFAULT_CANDIDATES
        .iter()
        .map(|c| Target::parse(c).expect("built-in candidates parse"))
        .collect()
}

/// The addresses probed when no URL is given: the built-in ones, or the
/// loopback ports of `COMFYCTL_DISCOVER_PORTS` (test-only, undocumented in
/// --help). A bad value is a usage error naming the variable.
pub fn discovery_candidates() -> Result<Vec<Target>, String> {
    let Some(raw) = std::env::var_os(DISCOVER_PORTS_ENV) else {
        return Ok(builtin_candidates());
    };
    let raw = raw.to_string_lossy();
    let bad =
        || format!("{DISCOVER_PORTS_ENV}: want comma-separated ports 1-65535, e.g. 8188,8000");
    let mut candidates = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let port: u16 = item.parse().map_err(|_| bad())?;
        if port == 0 || candidates.len() >= 8 {
            return Err(bad());
        }
        candidates.push(Target::parse(&format!("127.0.0.1:{port}")).map_err(|_| bad())?);
    }
    if candidates.is_empty() {
        return Err(bad());
    }
    Ok(candidates)
}

/// Per server, how much the fleet's first attempts are spread out.
const FLEET_START_SPREAD: std::time::Duration = std::time::Duration::from_millis(2);

/// Monitors running for a fleet: their event stream, stop switch and tasks.
pub struct Fleet {
    /// Every monitor's events, in arrival order.
    pub events: mpsc::Receiver<Envelope>,
    /// Send `true` to stop every monitor (each then emits its summary).
    pub stop: tokio::sync::watch::Sender<bool>,
    /// One task per monitor; each ends with its summary.
    pub tasks: Vec<JoinHandle<Summary>>,
    /// Each monitor's URL and last-WebSocket-frame clock, in target order.
    pub monitors: Vec<(Arc<str>, Arc<AtomicU64>)>,
}

impl Fleet {
    /// Starts one monitor per target, sharing one HTTP client (and so one
    /// connection pool) across the fleet.
    pub fn start(targets: Vec<Target>, config: &Config, settings: &WatchSettings) -> Fleet {
        Fleet::start_discovering(targets, Vec::new(), config, settings)
    }

    /// Like [`Fleet::start`]; a single monitor also keeps probing
    /// `candidates` (no URL given) until one answers like ComfyUI.
    pub fn start_discovering(
        targets: Vec<Target>,
        candidates: Vec<Target>,
        config: &Config,
        settings: &WatchSettings,
    ) -> Fleet {
        let discovering = targets.len() == 1;
        let (tx, events) = mpsc::channel(256.max(targets.len() * 4));
        let (stop, stopped) = Stop::new();
        let http = HttpClient::with_tls(&config.headers, config.timeout, &config.tls);
        let mut tasks = Vec::with_capacity(targets.len());
        let mut monitors = Vec::with_capacity(targets.len());
        // Spread the first attempts over up to 2 ms per server (at most one
        // interval): opening a thousand sessions in one instant is a burst
        // for the servers and for our peak memory. One server starts at once.
        let spread =
            (FLEET_START_SPREAD * (targets.len() as u32).saturating_sub(1)).min(settings.interval);
        for target in targets {
            let delay = spread.mul_f64(rand::random::<f64>());
            let monitor = Monitor::new(
                target,
                http.clone(),
                config.headers.clone(),
                settings.clone(),
                tx.clone(),
            )
            .with_start_delay(delay)
            .with_candidates(if discovering {
                candidates.clone()
            } else {
                Vec::new()
            });
            monitors.push((Arc::from(monitor.url()), monitor.activity()));
            tasks.push(tokio::spawn(monitor.run(stopped.clone())));
        }
        Fleet {
            events,
            stop,
            tasks,
            monitors,
        }
    }

    /// Waits for every monitor to finish (after `stop`).
    pub async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
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
