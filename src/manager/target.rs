//! Where the server is: URL parsing, the derived WebSocket URL, and redaction.
//!
//! Everything that may be a secret (credentials, the query of a
//! token-protected server) is kept apart from the shown URL, and the one
//! place that makes a URL showable is [`shown`].

use std::fmt;

use url::Url;

/// A ComfyUI server address: `http(s)://host[:port][/path-prefix]`.
///
/// Credentials and query parameters (`?token=…` of login nodes and
/// proxies) are kept apart from the URL, so that the URL itself can be shown
/// anywhere; [`Target::credentials`] hands the credentials to the
/// transport, and [`Target::endpoint`] puts the query on every request.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    base: Url,
    credentials: Option<(String, String)>,
    query: Vec<(String, String)>,
}

impl Target {
    /// Parses `http(s)://host[:port][/prefix]` or a bare `host[:port]`.
    /// A bare host with no port means ComfyUI's port, 8188; with a scheme
    /// typed, the scheme's own default (80/443) stands.
    ///
    /// The error says what to fix, without repeating any credentials.
    pub fn parse(input: &str) -> Result<Target, String> {
        let input = input.trim();
        reject_unreadable(input)?;
        let typed_scheme = input.contains("://");
        let mut url = parse_url(input, typed_scheme)?;
        check_server_url(&url, typed_scheme)?;
        if !typed_scheme && !has_typed_port(input) {
            // Cannot fail: http with a host takes any port.
            let _ = url.set_port(Some(COMFYUI_PORT));
        }
        let credentials = take_credentials(&mut url);
        let query = url.query_pairs().into_owned().collect();
        url.set_query(None);
        // A trailing slash would double up when paths are appended.
        let trimmed = url.path().trim_end_matches('/').to_string();
        url.set_path(&trimmed);
        Ok(Target {
            base: url,
            credentials,
            query,
        })
    }

    /// The URL of an HTTP route, e.g. `endpoint("/system_stats")`, under the
    /// path prefix, with the server URL's query parameters (a caller appends
    /// the route's own after them). Never shown: it may carry a token.
    pub fn endpoint(&self, route: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{}", self.base.path().trim_end_matches('/'), route);
        url.set_path(&path);
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        url
    }

    /// What makes two targets the same server: the URL without credentials
    /// and query, normalised (host case, default port, trailing `/`).
    pub fn server_key(&self) -> &str {
        self.base.as_str()
    }

    /// The URL's query parameters, sent on every request and the WebSocket.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The WebSocket URL: http → ws, https → wss, same prefix, the URL's
    /// query, then `clientId=`.
    pub fn ws_url(&self, client_id: &str) -> Url {
        let mut url = self.endpoint("/ws");
        let scheme = if self.base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        // http → ws and https → wss are both "special" schemes, so this holds.
        let _ = url.set_scheme(scheme);
        url.query_pairs_mut().append_pair("clientId", client_id);
        url
    }

    /// `user` and `password` from the URL, for HTTP basic auth.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Whether talking to this server needs TLS (an https:// URL).
    pub fn uses_tls(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// `host:port`, for messages.
    pub fn authority(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        let port = self.base.port_or_known_default().unwrap_or(80);
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}

/// ComfyUI's default port, used for a bare host typed without one.
pub const COMFYUI_PORT: u16 = 8188;

/// Refuses input that cannot be read as a URL without guessing: nothing at
/// all, or a scheme that lost its colon or slashes. Runs before any parsing
/// so that the error never echoes what may be credentials.
fn reject_unreadable(input: &str) -> Result<(), String> {
    if input.is_empty() {
        return Err("the URL is empty; give http://HOST:PORT".into());
    }
    if !input.contains("://") && looks_like_mangled_scheme(input) {
        // `http//user:pw@host` would parse as host `http` with the
        // credentials in the path; say so without echoing any of it.
        return Err(
            "the scheme looks mistyped (the URL is not shown); write http://HOST:PORT or https://HOST"
                .into(),
        );
    }
    if has_split_userinfo(input) {
        return Err(SPLIT_USERINFO.into());
    }
    // Redacted first: the suggestion repeats the path and query.
    let input = redact_str(input);
    if let Some(fixed) = bracketed_ipv6(&input) {
        return Err(format!(
            "'{input}': an IPv6 address needs brackets in a URL; write {fixed}"
        ));
    }
    Ok(())
}

/// `input` with its IPv6 host put in brackets, if it is an unbracketed
/// IPv6 address, with or without a port: `::1:39781` → `[::1]:39781`.
/// When the last group could be a port or part of the address
/// (`fe80::1:8188`), both readings are offered.
fn bracketed_ipv6(input: &str) -> Option<String> {
    use std::net::Ipv6Addr;
    let (scheme, rest) = input
        .split_once("://")
        .map_or((String::new(), input), |(s, r)| (format!("{s}://"), r));
    let (host, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if host.contains(['[', '@']) || host.matches(':').count() < 2 {
        return None;
    }
    let with_port = host.rsplit_once(':').filter(|(addr, port)| {
        addr.parse::<Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok_and(|p| p > 0)
    });
    let whole = host.parse::<Ipv6Addr>().is_ok();
    let fix = |h: String| format!("{scheme}{h}{tail}");
    match (with_port, whole) {
        (Some((addr, port)), true) => Some(format!(
            "{} (or {}, if {port} is part of the address)",
            fix(format!("[{addr}]:{port}")),
            fix(format!("[{host}]"))
        )),
        (Some((addr, port)), false) => Some(fix(format!("[{addr}]:{port}"))),
        (None, true) => Some(fix(format!("[{host}]"))),
        (None, false) => None,
    }
}

/// Why a URL with an `@` past its authority is refused, without any of it.
const SPLIT_USERINFO: &str = "the URL has an '@' after a '/', '?' or '#': a password with an unencoded '/', '?', '#' or '@' splits the URL in the wrong place (the URL is not shown); percent-encode them in the credentials: / as %2F, ? as %3F, # as %23, @ as %40";

/// Whether an `@` comes after the first `/`, `?` or `#` of the authority:
/// `https://u:pass/word@host` would otherwise connect to the made-up host
/// `pass` (a DNS lookup that leaks part of the password) and show the rest.
/// A ComfyUI URL's path prefix has no `@`, so this refuses nothing real.
fn has_split_userinfo(input: &str) -> bool {
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    match (rest.find(['/', '?', '#']), rest.rfind('@')) {
        (Some(end), Some(at)) => at > end,
        _ => false,
    }
}

/// Parses `input` as a URL, reading a bare `host[:port]` as `http://`; the
/// error names the part to fix and shows the input redacted.
fn parse_url(input: &str, typed_scheme: bool) -> Result<Url, String> {
    let with_scheme = if typed_scheme {
        input.to_string()
    } else {
        format!("http://{input}")
    };
    Url::parse(&with_scheme).map_err(|e| {
        let shown = redact_str(input);
        match e {
            url::ParseError::InvalidPort => {
                format!("'{shown}' has an invalid port; use 1-65535")
            }
            url::ParseError::EmptyHost => format!("'{shown}' has no host"),
            other => format!("'{shown}' is not a valid URL ({other})"),
        }
    })
}

/// Whether a parsed URL can address a ComfyUI server: http(s), a host, a
/// usable port, and nothing (path `//`, query, fragment) that would be
/// silently dropped or misread.
fn check_server_url(url: &Url, typed_scheme: bool) -> Result<(), String> {
    let shown = redact_url(url);
    match url.scheme() {
        "http" | "https" => {}
        "ws" | "wss" => {
            return Err(format!(
                "'{shown}': give the HTTP URL (http:// or https://); the WebSocket URL is derived from it"
            ));
        }
        other => {
            return Err(format!(
                "'{shown}': unsupported scheme '{other}'; use http:// or https://"
            ));
        }
    }
    match url.host_str() {
        None | Some("") => return Err(format!("'{shown}' has no host")),
        Some(_) => {}
    }
    if url.port() == Some(0) {
        return Err(format!("'{shown}' has port 0; use 1-65535"));
    }
    if !typed_scheme && url.path().starts_with("//") {
        return Err(
            "the URL's path starts with '//' (a mistyped scheme?); write http://HOST:PORT".into(),
        );
    }
    if url.fragment().is_some() {
        return Err(format!(
            "'{shown}': a server URL takes no #fragment (it is never sent)"
        ));
    }
    if url.query_pairs().any(|(name, _)| name == "clientId") {
        return Err(format!(
            "'{shown}': clientId is comfyctl's own WebSocket parameter; drop it from the URL"
        ));
    }
    Ok(())
}

/// Moves the URL's `user:password` out of it (percent-decoded), so the URL
/// left behind can be shown anywhere.
fn take_credentials(url: &mut Url) -> Option<(String, String)> {
    let credentials = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let user = percent_decode(url.username());
        let pass = url.password().map(percent_decode).unwrap_or_default();
        Some((user, pass))
    };
    // Setting these cannot fail for http(s) URLs with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    credentials
}

/// True when `input` (typed without `://`) starts like a scheme that lost
/// its colon or slashes: `http//h`, `https:/h`, `http:h`, `ws//h`, or is a
/// scheme alone. A host really named `http` is not worth the ambiguity.
fn looks_like_mangled_scheme(input: &str) -> bool {
    let lower = input.to_ascii_lowercase();
    ["https", "http", "wss", "ws"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with(':') || rest.is_empty())
    })
}

/// Whether a scheme-less `host[:port][/path]` has a port. Parsed with a
/// scheme that has no default port, so `:80` is kept rather than dropped.
fn has_typed_port(input: &str) -> bool {
    Url::parse(&format!("comfyctl-port-probe://{input}"))
        .ok()
        .and_then(|u| u.port())
        .is_some()
}

/// Shown redacted by [`shown`], so output never leaks credentials or tokens.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.query.iter().map(|(n, v)| (n.as_str(), !v.is_empty()));
        f.write_str(&shown(
            self.base.as_str(),
            self.credentials.is_some(),
            names,
        ))
    }
}

/// The one place a URL string is made showable. `clean` is the URL
/// without credentials or query; `credentials` puts `***@` before the
/// host; each query parameter shows as `name=…` (its value never), and one
/// without a value as `…` alone, since a bare `?sekret` is the secret.
/// Names are percent-encoded again, so no control character gets out.
fn shown<'a>(
    clean: &str,
    credentials: bool,
    query: impl Iterator<Item = (&'a str, bool)>,
) -> String {
    let mut out = clean.trim_end_matches('/').to_string();
    if credentials && let Some((scheme, rest)) = out.split_once("://") {
        out = format!("{scheme}://***@{rest}");
    }
    let params: Vec<String> = query
        .map(|(name, has_value)| {
            if has_value {
                let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
                format!("{name}=…")
            } else {
                "…".to_string()
            }
        })
        .collect();
    if !params.is_empty() {
        // `http://h:1?x` is legal but reads oddly; a path `/` keeps it a URL.
        if !out.split_once("://").is_some_and(|(_, r)| r.contains('/')) {
            out.push('/');
        }
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// A URL with any user:password replaced by `***` and query values by `…`
/// (see [`shown`]); a fragment goes too.
pub fn redact_url(url: &Url) -> String {
    let credentials = !url.username().is_empty() || url.password().is_some();
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.set_fragment(None);
    let pairs: Vec<(String, bool)> = url
        .query_pairs()
        .map(|(n, v)| (n.into_owned(), !v.is_empty()))
        .collect();
    let names = pairs.iter().map(|(n, v)| (n.as_str(), *v));
    shown(clean.as_str(), credentials, names)
}

/// Redacts a URL-ish string that may not even parse: everything before
/// its last `@` goes (after the scheme's `://`, if any). The last one, not
/// the first or the authority's: a password may hold an unencoded `/`,
/// `?`, `#` or `@`, and then no parser can tell where the authority ends.
/// A query or fragment after that becomes `?…`: it may hold a token.
pub fn redact_str(input: &str) -> String {
    let (scheme, rest) = match input.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, input),
    };
    let mut rest = match rest.rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    if let Some(cut) = rest.find(['?', '#']) {
        rest.truncate(cut);
        rest.push_str("?…");
    }
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest,
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_means_comfyui_port_but_a_typed_scheme_keeps_its_default() {
        for (input, shown) in [
            ("127.0.0.1", "http://127.0.0.1:8188"),
            ("gpu-box", "http://gpu-box:8188"),
            ("gpu-box/comfy", "http://gpu-box:8188/comfy"),
            ("[::1]", "http://[::1]:8188"),
            ("gpu-box:80", "http://gpu-box"),
            ("http://gpu-box", "http://gpu-box"),
            ("https://gpu-box", "https://gpu-box"),
        ] {
            assert_eq!(Target::parse(input).unwrap().to_string(), shown, "{input}");
        }
        assert_eq!(
            Target::parse("gpu-box").unwrap().authority(),
            "gpu-box:8188"
        );
        assert_eq!(
            Target::parse("http://gpu-box").unwrap().authority(),
            "gpu-box:80"
        );
    }

    #[test]
    fn mangled_schemes_are_rejected_without_echoing_credentials() {
        for input in [
            "http//user:secret@127.0.0.1:1",
            "https//user:secret@h",
            "http:/user:secret@h:1",
            "http:user:secret@h",
            "HTTP//h:1",
            "ws//h:1",
            "http",
            "https:8188",
        ] {
            let err = Target::parse(input).unwrap_err();
            assert!(
                !err.contains("secret") && !err.contains("user"),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn bare_host_port_becomes_http() {
        let t = Target::parse("127.0.0.1:8188").unwrap();
        assert_eq!(t.to_string(), "http://127.0.0.1:8188");
        assert_eq!(
            t.endpoint("/system_stats").as_str(),
            "http://127.0.0.1:8188/system_stats"
        );
    }

    #[test]
    fn prefix_is_kept_for_http_and_ws() {
        let t = Target::parse("https://example.com/comfy/").unwrap();
        assert_eq!(
            t.endpoint("/queue").as_str(),
            "https://example.com/comfy/queue"
        );
        assert_eq!(
            t.ws_url("abc").as_str(),
            "wss://example.com/comfy/ws?clientId=abc"
        );
        let t = Target::parse("http://h:1/api").unwrap();
        assert_eq!(t.ws_url("x").as_str(), "ws://h:1/api/ws?clientId=x");
    }

    #[test]
    fn ipv6_loopback() {
        let t = Target::parse("[::1]:8188").unwrap();
        assert_eq!(t.endpoint("/prompt").as_str(), "http://[::1]:8188/prompt");
        assert_eq!(t.authority(), "[::1]:8188");
    }

    #[test]
    fn bad_urls_say_what_to_fix() {
        for (input, needle) in [
            ("ftp://h:1", "unsupported scheme"),
            ("http://h:70000", "invalid port"),
            ("http://h:0", "port 0"),
            ("http://:8188", "host"),
            ("", "empty"),
            ("ws://h:1", "HTTP URL"),
            ("http://h:1/#top", "fragment"),
            ("http://h:1/?clientId=me", "clientId"),
        ] {
            let err = Target::parse(input).unwrap_err();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn credentials_are_split_off_and_never_shown() {
        let t = Target::parse("https://alice:s3cr%40t@proxy.example/comfy").unwrap();
        assert_eq!(t.credentials(), Some(("alice", "s3cr@t")));
        let shown = t.to_string();
        assert_eq!(shown, "https://***@proxy.example/comfy");
        assert!(!t.endpoint("/x").as_str().contains("alice"));
        assert!(!t.ws_url("id").as_str().contains("s3cr"));
        assert!(!format!("{t:?}").contains("alice"));
    }

    #[test]
    fn parse_errors_do_not_echo_credentials() {
        let err = Target::parse("gopher://bob:hunter2@h:1").unwrap_err();
        assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");
        let err = Target::parse("http://bob:hunter2@h:99999").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_password_that_splits_the_url_is_refused_without_any_of_it() {
        for input in [
            "https://alice:hun@ter/2@127.0.0.1:1/comfy",
            "https://alice:hun/ter2@127.0.0.1:1",
            "https://alice:hun?ter2@127.0.0.1:1",
            "https://alice:hun#ter2@127.0.0.1:1",
            "alice:hun/ter2@127.0.0.1:1",
        ] {
            let err = Target::parse(input).unwrap_err();
            assert!(
                !err.contains("alice")
                    && !err.contains("hun")
                    && !err.contains("ter2")
                    && !err.contains("127.0.0.1"),
                "{input}: {err}"
            );
            assert!(err.contains("%2F"), "{err}");
        }
        // The last '@' of the authority ends the credentials.
        let t = Target::parse("https://alice:p@ss@127.0.0.1:1").unwrap();
        assert_eq!(t.credentials(), Some(("alice", "p@ss")));
        assert_eq!(t.to_string(), "https://***@127.0.0.1:1");
    }

    #[test]
    fn an_unbracketed_ipv6_address_gets_its_brackets_suggested() {
        for (input, fixed) in [
            ("::1:39781", "write [::1]:39781"),
            ("http://::1:39781/comfy", "write http://[::1]:39781/comfy"),
            ("::1", "write [::1]"),
            (
                "fe80::1:8188",
                "write [fe80::1]:8188 (or [fe80::1:8188], if 8188",
            ),
        ] {
            let err = Target::parse(input).unwrap_err();
            assert!(err.contains(fixed), "{input}: {err}");
        }
        assert!(Target::parse("[::1]:39781").is_ok());
    }

    #[test]
    fn a_query_goes_on_every_request_and_is_never_shown() {
        let t = Target::parse("http://127.0.0.1:8188/?token=sekret123").unwrap();
        assert_eq!(t.to_string(), "http://127.0.0.1:8188/?token=…");
        assert_eq!(format!("{t:?}"), "Target(http://127.0.0.1:8188/?token=…)");
        assert_eq!(
            t.endpoint("/queue").as_str(),
            "http://127.0.0.1:8188/queue?token=sekret123"
        );
        assert_eq!(
            t.ws_url("id").as_str(),
            "ws://127.0.0.1:8188/ws?token=sekret123&clientId=id"
        );
        assert_eq!(t.server_key(), "http://127.0.0.1:8188/");
        // A prefix, credentials, a valueless parameter and a hostile name.
        let t = Target::parse("https://u:p@h/comfy?sekret&k%0Aey=v&token=a%26b").unwrap();
        assert_eq!(t.to_string(), "https://***@h/comfy?…&k%0Aey=…&token=…");
        assert!(
            t.endpoint("/x")
                .as_str()
                .ends_with("/comfy/x?sekret=&k%0Aey=v&token=a%26b")
        );
        let mut url = t.endpoint("/api/jobs");
        url.query_pairs_mut().append_pair("limit", "5");
        assert!(url.as_str().ends_with("token=a%26b&limit=5"), "{url}");
        assert_eq!(
            Target::parse("h:1/?t=x").unwrap().to_string(),
            "http://h:1/?t=…"
        );
    }

    #[test]
    fn errors_never_show_a_query_value() {
        for input in [
            "ftp://h:1/?token=sekret123",
            "http://h:99999/?token=sekret123",
            "http://u:p@h:1/?token=sekret123#frag",
            "http://h:1/?token=sekret123&clientId=x",
            "https://u:pa/ss@h/?token=sekret123",
            "::1:8188/?token=sekret123",
        ] {
            let err = Target::parse(input).unwrap_err();
            assert!(!err.contains("sekret123"), "{input}: {err}");
        }
        assert_eq!(redact_str("http://h:1/x?token=s#f"), "http://h:1/x?…");
    }

    #[test]
    fn redact_str_handles_unparseable_input() {
        assert_eq!(redact_str("http://u:p@h:1/x"), "http://***@h:1/x");
        assert_eq!(redact_str("u:p@h"), "***@h");
        assert_eq!(redact_str("http://h/a@b"), "http://***@b");
        assert_eq!(
            redact_str("https://u:pass@w/rd@127.0.0.1:1/comfy"),
            "https://***@127.0.0.1:1/comfy"
        );
        assert_eq!(
            redact_str("http//user:secret@127.0.0.1:1"),
            "***@127.0.0.1:1"
        );
    }
}
