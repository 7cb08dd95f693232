//! Which servers a command line names: `--url`, `$COMFYUI_URL` or
//! `--targets`, parsed, deduplicated and bounded, with a note for what was
//! given but not used.

use super::*;

/// An environment variable's value; unset, empty or not UTF-8 is `None`.
pub(super) fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Test-only: `COMFYCTL_DISCOVER_PORTS=P1,P2` replaces the ports probed on
/// 127.0.0.1 when no URL is given, because tests cannot bind 8188/8000.
const DISCOVER_PORTS_ENV: &str = "COMFYCTL_DISCOVER_PORTS";

/// The addresses probed when no URL is given: the manager's built-in ones,
/// or the loopback ports of `COMFYCTL_DISCOVER_PORTS` (test-only,
/// undocumented in --help). A bad value is a problem naming the variable.
pub(super) fn discovery_candidates(problems: &mut Problems) -> Vec<Target> {
    let Some(raw) = std::env::var_os(DISCOVER_PORTS_ENV) else {
        return crate::manager::default_candidates();
    };
    problems
        .take(discover_ports(&raw.to_string_lossy()))
        .unwrap_or_default()
}

/// `COMFYCTL_DISCOVER_PORTS`'s value: 1 to 8 comma-separated ports.
fn discover_ports(raw: &str) -> Result<Vec<Target>, String> {
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

/// The servers named by `--url`, `$COMFYUI_URL` or `--targets`, parsed,
/// deduplicated and bounded; the bool is [`Common::json_array`].
pub(super) fn targets(
    global: &GlobalArgs,
    problems: &mut Problems,
    notes: &mut Vec<String>,
) -> (Vec<Target>, bool) {
    // COMFYUI_URL is read here, not by clap, so that its errors name the
    // variable and an empty value (or an empty item) counts as unset.
    let env_urls: Vec<String> = if global.url.is_empty() && global.targets.is_none() {
        env_value("COMFYUI_URL")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        if env_value("COMFYUI_URL").is_some() {
            let flag = if global.url.is_empty() {
                "--targets"
            } else {
                "--url"
            };
            notes.push(format!("COMFYUI_URL is ignored because {flag} is given"));
        }
        Vec::new()
    };
    let (source, urls) = if global.url.is_empty() {
        ("COMFYUI_URL", &env_urls)
    } else {
        ("--url", &global.url)
    };
    let json_array = urls.len() > 1 || global.targets.is_some();
    let mut targets = Vec::new();
    for url in urls {
        if let Some(t) = problems.take(Target::parse(url).map_err(|e| format!("{source}: {e}"))) {
            targets.push(t);
        }
    }
    if let Some(path) = &global.targets {
        targets.extend(targets_file(path, problems));
    }
    notes.extend(dedup(&mut targets));
    if targets.len() > MAX_TARGETS {
        problems.extend(vec![format!(
            "--url/--targets: at most {MAX_TARGETS} servers"
        )]);
    }
    (targets, json_array)
}

/// Drops repeated servers, keeping the first: the same server twice would
/// run two monitors writing one metrics series. URLs are compared
/// normalised (host case, default port, trailing /) and without their
/// credentials and query; one that differs only in those gets a note
/// (once), since the second user, password or token is then never tried.
fn dedup(targets: &mut Vec<Target>) -> Vec<String> {
    use std::collections::hash_map::{Entry, HashMap};
    // The URL without credentials and query → the first target with it,
    // and whether its note was given.
    let mut seen: HashMap<String, (Target, bool)> = HashMap::new();
    let mut notes = Vec::new();
    targets.retain(|t| match seen.entry(t.server_key().to_string()) {
        Entry::Vacant(e) => {
            e.insert((t.clone(), false));
            true
        }
        Entry::Occupied(mut e) => {
            let (first, noted) = e.get_mut();
            let credentials = first.credentials() != t.credentials();
            let query = first.query() != t.query();
            if !*noted && (credentials || query) {
                *noted = true;
                let what = match (credentials, query) {
                    (true, true) => "credentials and query",
                    (true, false) => "credentials",
                    _ => "query (token)",
                };
                notes.push(format!(
                    "{first} is given more than once with different {what}; only the first is used"
                ));
            }
            false
        }
    });
    notes
}

/// The servers listed in a `--targets` file, one per line (`#` comments).
fn targets_file(path: &std::path::Path, problems: &mut Problems) -> Vec<Target> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.extend(vec![format!(
                "--targets: cannot read {}: {e}",
                path.display()
            )]);
            return Vec::new();
        }
    };
    let mut targets = Vec::new();
    let mut found = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        found += 1;
        let parsed = Target::parse(line)
            .map_err(|e| format!("--targets: {} line {}: {e}", path.display(), n + 1));
        if let Some(t) = problems.take(parsed) {
            targets.push(t);
        }
    }
    if found == 0 {
        problems.extend(vec![format!("--targets {}: no URLs in it", path.display())]);
    }
    targets
}

/// Applies the one precedence rule for `Authorization`: `-H Authorization`
/// wins over `--token` (`$COMFYCTL_TOKEN`), which wins over the URL's
/// `user:password`. The bearer header joins `client.headers`, so HTTP and
/// the WebSocket upgrade send it alike; what is dropped gets a note. The
/// token itself is never repeated, not even in its error.
pub(super) fn authorization(
    token: Option<&str>,
    targets: &[Target],
    client: &mut ClientSettings,
    problems: &mut Problems,
    notes: &mut Vec<String>,
) {
    use reqwest::header::AUTHORIZATION;
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let own_header = client.headers.iter().any(|(name, _)| name == AUTHORIZATION);
    let with_credentials = targets.iter().find(|t| t.credentials().is_some());
    if let Some(token) = token {
        if own_header {
            notes.push("--token is not sent: -H Authorization wins over it".into());
        } else {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .ok()
                .filter(|_| token.bytes().all(|b| b.is_ascii_graphic()));
            match value {
                Some(mut value) => {
                    value.set_sensitive(true);
                    client.headers.push((AUTHORIZATION, value));
                }
                None => problems.extend(vec![
                    "--token/COMFYCTL_TOKEN: the token must be printable ASCII without spaces (it is not shown)".into(),
                ]),
            }
        }
    }
    if let Some(target) = with_credentials
        && (own_header || token.is_some())
    {
        let winner = if own_header {
            "-H Authorization"
        } else {
            "--token"
        };
        notes.push(format!(
            "the user:password of {target} is not sent: {winner} wins over URL credentials"
        ));
    }
}
