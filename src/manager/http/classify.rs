//! Turning transport failures into a [`ProbeError`] with its own kind and
//! a message that says what to fix.

use super::*;
use crate::manager::Setting;

pub(super) fn too_large(route: &str, cap: usize) -> ProbeError {
    ProbeError::new(
        ErrorKind::NotComfyui,
        format!(
            "GET {route} sent a body larger than {} MiB; that is not ComfyUI's JSON",
            cap >> 20
        ),
    )
}

pub(super) fn not_comfyui(route: &str, detail: &str) -> ProbeError {
    // Column 1 exactly (with its closing paren, so not column 12): the very
    // first byte was not JSON.
    let hint = if detail.contains("expected value at line 1 column 1)") {
        " (an HTML page or plain text, perhaps from a proxy)"
    } else {
        ""
    };
    ProbeError::new(
        ErrorKind::NotComfyui,
        format!("not ComfyUI: GET {route} answered 200 with {detail}{hint}"),
    )
}

/// A non-2xx status, with a hint for the usual causes.
pub(super) fn http_status_error(route: &str, code: u16, reason: Option<&str>) -> ProbeError {
    let auth;
    let hint = match code {
        401 => {
            auth = format!(
                " (check {}, {} or the URL's credentials or ?token=)",
                Setting::Token,
                Setting::Header
            );
            &auth
        }
        403 => {
            " (a wrong token or credentials? a proxy refused the request, or ComfyUI did: it refuses a foreign Origin header and Sec-Fetch-Site: cross-site; comfyctl sends neither, so check what a proxy adds)"
        }
        404 => " (is the URL's path prefix right?)",
        502..=504 => " (a proxy is up but ComfyUI behind it is not)",
        300..=399 => " (redirects to another origin are not followed)",
        _ => "",
    };
    let reason = reason.map(|r| format!(" {r}")).unwrap_or_default();
    ProbeError::new(
        ErrorKind::HttpStatus,
        format!("GET {route} answered HTTP {code}{reason}{hint}"),
    )
    .with_status(code)
}

/// The error for a non-2xx response, if it is one. ComfyUI never answers
/// with an HTML page; a proxy does, so such a page says "not ComfyUI" —
/// except a 401, which is still about the credentials.
pub(super) fn refusal(response: &reqwest::Response, route: &str) -> Option<ProbeError> {
    let status = response.status();
    if status.is_success() {
        return None;
    }
    let error = http_status_error(route, status.as_u16(), status.canonical_reason());
    let html = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    Some(if html && error.status != Some(401) {
        ProbeError {
            kind: ErrorKind::NotComfyui,
            message: format!("not ComfyUI: {} with an HTML page", error.message),
            status: error.status,
        }
    } else {
        error
    })
}

/// A response head arrived in time but its body did not finish.
pub(super) fn body_stalled(target: &Target, route: &str, timeout: Duration) -> ProbeError {
    ProbeError::new(
        ErrorKind::Timeout,
        format!(
            "timed out: {} answered GET {route} but the body stalled (not finished within {})",
            target.authority(),
            humantime::format_duration(timeout)
        ),
    )
}

/// No answer in time.
pub fn timeout_error(target: &Target, what: &str, timeout: Duration) -> ProbeError {
    ProbeError::new(
        ErrorKind::Timeout,
        format!(
            "timed out: no answer from {} within {} ({what})",
            target.authority(),
            humantime::format_duration(timeout)
        ),
    )
}

pub(super) fn classify_reqwest(
    e: &reqwest::Error,
    target: &Target,
    route: &str,
    timeout: Duration,
) -> ProbeError {
    if e.is_timeout() {
        return timeout_error(target, &format!("GET {route}"), timeout);
    }
    classify_chain(e, target).unwrap_or_else(|| {
        ProbeError::new(
            ErrorKind::Network,
            format!(
                "GET {route} on {} failed: {}",
                target.authority(),
                innermost(e)
            ),
        )
    })
}

/// Walks an error's source chain for the causes that have their own kind.
pub fn classify_chain(
    e: &(dyn std::error::Error + 'static),
    target: &Target,
) -> Option<ProbeError> {
    let authority = target.authority();
    let chain = || std::iter::successors(Some(e), |err| err.source());
    if let Some(tls) = chain().find_map(rustls_error) {
        return Some(ProbeError::new(
            ErrorKind::Tls,
            format!(
                "TLS with {authority} failed: {}",
                crate::manager::tls::explain(tls)
            ),
        ));
    }
    let plain = !target.uses_tls();
    chain().find_map(|err| {
        err.downcast_ref::<std::io::Error>()
            .and_then(|io| io_cause(io, &authority, plain))
            .or_else(|| message_cause(err, &authority, plain))
    })
}

/// A rustls error, as itself or inside the `io::Error`s that tokio-rustls
/// wraps it in (whose `source()` skips it).
fn rustls_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let mut io = err.downcast_ref::<std::io::Error>()?;
    // Bounded: each level is one wrapping, and the libraries wrap twice.
    for _ in 0..4 {
        let inner = io.get_ref()?;
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        io = inner.downcast_ref::<std::io::Error>()?;
    }
    None
}

/// The socket errors that say what happened without reading any text:
/// nothing listening, no answer, or a connection dropped mid-request.
fn io_cause(io: &std::io::Error, authority: &str, plain: bool) -> Option<ProbeError> {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => Some(ProbeError::new(
            ErrorKind::ConnectionRefused,
            format!(
                "connection refused: nothing is listening on {authority} (is ComfyUI running?)"
            ),
        )),
        K::TimedOut => Some(ProbeError::new(
            ErrorKind::Timeout,
            format!("timed out connecting to {authority}"),
        )),
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            Some(closed_without_answer(authority, plain))
        }
        _ => None,
    }
}

/// Causes that hyper, the resolver and rustls report only as text (no error
/// type of their own reaches us), recognised by their message.
fn message_cause(
    err: &(dyn std::error::Error + 'static),
    authority: &str,
    plain: bool,
) -> Option<ProbeError> {
    let text = err.to_string().to_ascii_lowercase();
    // hyper's "incomplete message": closed before a whole response head.
    if text.contains("connection closed before message completed") {
        return Some(closed_without_answer(authority, plain));
    }
    // A TLS server answers a plain request with an alert record, which
    // hyper reads as a response that is not HTTP.
    if plain && text.contains("invalid http version parsed") {
        return Some(ProbeError::new(
            ErrorKind::Network,
            format!("{authority} answered with something that is not HTTP{PLAIN_TO_TLS_HINT}"),
        ));
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        let host = authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority);
        return Some(ProbeError::new(
            ErrorKind::Dns,
            format!("cannot resolve host '{host}' (DNS lookup failed; check the URL)"),
        ));
    }
    tls_cause(err, &text, authority)
}

/// A TLS failure that reached us only as text (`text` is `err`'s
/// message, lowercased); a rustls error itself is explained before this.
fn tls_cause(
    err: &(dyn std::error::Error + 'static),
    text: &str,
    authority: &str,
) -> Option<ProbeError> {
    // rustls reading an HTTP answer as a TLS record.
    if text.contains("invalidcontenttype") || text.contains("corrupt message") {
        return Some(ProbeError::new(
            ErrorKind::Tls,
            format!("TLS with {authority} failed: the server speaks plain HTTP? try http://"),
        ));
    }
    let is_tls = ["certificate", "tls", "handshake", "invalid peer"]
        .iter()
        .any(|word| text.contains(word));
    is_tls.then(|| {
        ProbeError::new(
            ErrorKind::Tls,
            format!("TLS with {authority} failed: {}", innermost(err)),
        )
    })
}

/// What a plain http:// request that a TLS port cut off may mean.
const PLAIN_TO_TLS_HINT: &str = " (if that port serves TLS, try https://)";

/// A connection that ended before any response: a reset, an abort, an EOF
/// at the socket or hyper's "incomplete message" read the same to a user.
/// Over plain HTTP it is also what a TLS port does with a request it cannot
/// read, so the hint says so.
fn closed_without_answer(authority: &str, plain: bool) -> ProbeError {
    let hint = if plain { PLAIN_TO_TLS_HINT } else { "" };
    ProbeError::new(
        ErrorKind::Network,
        format!("{authority} closed the connection without answering{hint}"),
    )
}

/// The deepest message in a chain: usually the most specific one, and never
/// one that carries the request URL.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::fmt;

    use super::*;

    /// A message with an optional cause, as library errors wrap each other.
    #[derive(Debug)]
    struct Wrapped(&'static str, Option<Box<dyn Error + 'static>>);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    fn chain(outer: &'static str, cause: impl Error + 'static) -> Wrapped {
        Wrapped(outer, Some(Box::new(cause)))
    }

    fn classify(e: &Wrapped) -> Option<ProbeError> {
        classify_chain(e, &Target::parse("http://gpu-box:8188").unwrap())
    }

    #[test]
    fn a_socket_error_anywhere_in_the_chain_is_classified_by_its_kind() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = classify(&chain("client error (Connect)", refused)).unwrap();
        assert_eq!(e.kind, ErrorKind::ConnectionRefused);
        assert!(e.message.contains("gpu-box:8188"), "{}", e.message);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let e = classify(&chain("client error (SendRequest)", reset)).unwrap();
        assert_eq!(e.kind, ErrorKind::Network);
        assert!(e.message.contains("closed the connection"), "{}", e.message);
    }

    #[test]
    fn resolver_and_tls_failures_are_read_from_their_text() {
        crate::config::name_flags();
        let dns = Wrapped("dns error: failed to lookup address information", None);
        let e = classify(&chain("client error (Connect)", dns)).unwrap();
        assert_eq!(e.kind, ErrorKind::Dns);
        assert!(e.message.contains("host 'gpu-box'"), "{}", e.message);

        let untrusted = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = classify(&chain("client error (Connect)", untrusted)).unwrap();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(
            e.message.contains("not signed by a trusted CA") && e.message.contains("--cacert"),
            "{}",
            e.message
        );

        let plain = Wrapped("received corrupt message of type InvalidContentType", None);
        let e = classify(&chain("client error (Connect)", plain)).unwrap();
        assert_eq!(e.kind, ErrorKind::Tls);
        assert!(e.message.contains("try http://"), "{}", e.message);
    }

    #[test]
    fn a_chain_with_no_known_cause_is_left_to_the_caller() {
        let other = std::io::Error::other("something else");
        assert!(classify(&chain("client error (Connect)", other)).is_none());
    }
}
