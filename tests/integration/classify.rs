//! Error classification that works by matching the text of library errors:
//! a name that does not resolve is `dns`, a TLS failure is `tls` (with the
//! way out in the message when the certificate is not trusted). Through
//! the built binary, on loopback and the reserved `.invalid` domain only.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::external::{TempDir, make_certs, require};
use crate::support::{MockServer, Proc};
use crate::util::{all_output, comfyctl, json};

/// RFC 6761 reserves `.invalid`: it never resolves, and a resolver may
/// answer for it without asking the network.
const UNRESOLVABLE: &str = "http://comfyctl-test.invalid:8188";

/// How long `openssl s_server` may take to print its ACCEPT line.
const TLS_READY: Duration = Duration::from_secs(20);

/// `health --json` and `connect --json --retries 0` against `url` with
/// `extra`: each one's exit code and `error` object.
fn both(url: &str, extra: &[&str]) -> Vec<(&'static str, Option<i32>, Value)> {
    [
        ("health", &["health", "--json", "--timeout", "5s"][..]),
        ("connect", &["connect", "--json", "--retries", "0"][..]),
    ]
    .into_iter()
    .map(|(name, args)| {
        let out = comfyctl()
            .args(args)
            .args(["--url", url])
            .args(extra)
            .output()
            .expect("run comfyctl");
        let status = json(&out.stdout);
        assert!(
            !all_output(&out).contains("panicked"),
            "{name}: {}",
            all_output(&out)
        );
        (name, out.status.code(), status["error"].clone())
    })
    .collect()
}

#[test]
fn a_name_that_cannot_resolve_is_kind_dns() {
    for (name, code, error) in both(UNRESOLVABLE, &[]) {
        assert_eq!(code, Some(1), "{name}: {error}");
        assert_eq!(error["kind"], "dns", "{name}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("cannot resolve host 'comfyctl-test.invalid'"),
            "{name}: {message}"
        );
    }
}

#[test]
fn https_to_a_plain_http_server_is_kind_tls_suggesting_http() {
    let mock = MockServer::start(&[]);
    let url = format!("https://127.0.0.1:{}", mock.port());
    for (name, code, error) in both(&url, &[]) {
        assert_eq!(code, Some(1), "{name}: {error}");
        assert_eq!(error["kind"], "tls", "{name}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("try http://"), "{name}: {message}");
    }
}

/// `openssl s_server` on 127.0.0.1 (a port it picks) with `cert`/`key`,
/// answering every request with its HTML status page; returns the guard
/// and the port.
pub(crate) fn tls_listener(openssl: &std::path::Path, cert: &str, key: &str) -> (Proc, u16) {
    let mut cmd = Command::new(openssl);
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-www"])
        .args(["-cert", cert, "-key", key]);
    let mut server = Proc::spawn(cmd);
    let line = server
        .wait_line(|l| l.starts_with("ACCEPT "), TLS_READY)
        .unwrap_or_else(|| panic!("no ACCEPT from s_server: {}", server.stderr()));
    let port = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

#[test]
fn an_untrusted_certificate_is_kind_tls_with_the_cacert_and_insecure_hint() {
    let Some(openssl) = require("openssl") else {
        return;
    };
    let dir = TempDir::new("tls-classify");
    let certs = make_certs(&openssl, &dir);
    let (cert, key, ca) = (
        certs.cert.display().to_string(),
        certs.key.display().to_string(),
        certs.ca.display().to_string(),
    );
    let (_server, port) = tls_listener(&openssl, &cert, &key);
    let url = format!("https://127.0.0.1:{port}");
    for (name, code, error) in both(&url, &[]) {
        assert_eq!(code, Some(1), "{name}: {error}");
        assert_eq!(error["kind"], "tls", "{name}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("--cacert") && message.contains("--insecure"),
            "{name}: {message}"
        );
    }
    // Trusting the CA gets past TLS: what fails then is that s_server's
    // status page is not ComfyUI.
    for extra in [&["--cacert", ca.as_str()][..], &["--insecure"][..]] {
        for (name, code, error) in both(&url, extra) {
            assert_eq!(code, Some(1), "{name} {extra:?}: {error}");
            assert_eq!(error["kind"], "not_comfyui", "{name} {extra:?}: {error}");
        }
    }
}
