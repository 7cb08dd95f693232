//! `watch`'s sinks: `--metrics`, `--on-change`, `--webhook`.

use super::*;

/// Where `watch` sends events besides the screen.
#[derive(Debug, Clone, Default)]
pub struct WatchSinks {
    /// Address for `/metrics`.
    pub metrics: Option<String>,
    /// Program run on every state change.
    pub on_change: Option<std::path::PathBuf>,
    /// URL POSTed on every state change.
    pub webhook: Option<url::Url>,
    /// Time limit for one hook run or webhook attempt.
    pub hook_timeout: Duration,
}

/// `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT` (e.g. `localhost:0`): something
/// `--metrics` can listen on once the host is resolved.
pub(super) fn is_listen_addr(addr: &str) -> bool {
    if addr.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    addr.rsplit_once(':').is_some_and(|(host, port)| {
        port.parse::<u16>().is_ok()
            && !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
}

/// Builds `watch`'s sinks from their flags.
pub(super) fn watch_sinks(args: &WatchArgs, problems: &mut Problems) -> WatchSinks {
    let hook_timeout = HOOK_TIMEOUT.or_fallback(Some(&args.hook_timeout), problems);
    if let Some(program) = &args.on_change
        && let Err(e) = find_program(program)
    {
        problems.extend(vec![format!("--on-change: {e}")]);
    }
    if let Some(addr) = &args.metrics
        && !is_listen_addr(addr)
    {
        problems.extend(vec![format!(
            "--metrics: '{addr}' is not an address; use IP:PORT or HOST:PORT, e.g. 127.0.0.1:9464 or localhost:0"
        )]);
    }
    let webhook = args.webhook.as_deref().and_then(|w| {
        let parsed = url::Url::parse(w)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if parsed.is_none() {
            // Webhook URLs carry their secret in the path or query: show
            // nothing of what was typed.
            problems.extend(vec![
                "--webhook: not an http(s) URL with a host (the URL is not shown)".into(),
            ]);
        }
        parsed
    });
    WatchSinks {
        metrics: args.metrics.clone(),
        on_change: args.on_change.clone(),
        webhook,
        hook_timeout,
    }
}

/// `--on-change PROGRAM` must name an executable file: a path (with a `/`)
/// as given, a bare name searched in `PATH`. Checked at start so a typo is
/// exit 2, not a note on every state change.
pub(super) fn find_program(program: &std::path::Path) -> Result<(), String> {
    use crate::platform::processes::{candidates, is_executable as executable};
    let shown = program.display();
    let found = if program.components().count() > 1 || program.is_absolute() {
        match std::fs::metadata(program) {
            Err(_) => Err(format!("'{shown}' does not exist")),
            Ok(_) if executable(program) => Ok(()),
            Ok(_) => Err(format!("'{shown}' is not an executable file")),
        }
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        if std::env::split_paths(&path)
            .any(|dir| candidates(&dir, program).iter().any(|p| executable(p)))
        {
            Ok(())
        } else {
            Err(format!("'{shown}' is not an executable found in PATH"))
        }
    };
    // `--on-change "notify-send down"` names a file called that: say why
    // it is not found, and what to do instead.
    let command_line = program
        .to_string_lossy()
        .contains(|c: char| c.is_whitespace() || "|&;<>$`'\"(){}*?".contains(c));
    found.map_err(|e| {
        if command_line {
            format!(
                "'{shown}' is not one program: hooks take no arguments or shell words \
                 (no shell runs them); put the command in an executable script and name that"
            )
        } else {
            e
        }
    })
}
