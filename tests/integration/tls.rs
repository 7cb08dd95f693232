//! `--cacert` as curl has it, and TLS failures in plain words: a plain
//! `openssl req -x509` certificate (CA:TRUE) given as `--cacert` is trusted
//! for HTTP and the WebSocket behind a real nginx, still only for its own
//! names and dates; every refusal says what is wrong with the certificate,
//! never a Rust `Debug` string.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::classify::tls_listener;
use crate::support::MockServer;
use crate::support::external::{Nginx, TempDir, make_certs, require, run_ok};
use crate::util::{all_output, comfyctl, json};

/// The EC key options every certificate here uses (fast to generate).
const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// A self-signed certificate for 127.0.0.1 as `openssl req -x509` makes it
/// by default (marked CA:TRUE); returns (cert, key).
fn self_signed(openssl: &Path, dir: &TempDir, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(&format!("{name}.pem")),
        dir.join(&format!("{name}.key")),
    );
    run_ok(
        Command::new(openssl)
            .args(["req", "-x509", "-nodes", "-days", "2"])
            .args(EC)
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    (cert, key)
}

/// The same kind of certificate, valid only from `start` to `end`
/// (`YYYYMMDDHHMMSSZ`), made with `openssl ca -selfsign` (OpenSSL 3.0's
/// `req` cannot set dates in the past).
fn self_signed_dated(
    openssl: &Path,
    dir: &TempDir,
    name: &str,
    start: &str,
    end: &str,
) -> (PathBuf, PathBuf) {
    let db = dir.join(&format!("{name}-db"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "01\n").unwrap();
    let conf = dir.write(
        &format!("{name}.cnf"),
        &format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {0}/index.txt\nnew_certs_dir = {0}\n\
             serial = {0}/serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n\
             unique_subject = no\n[p]\ncommonName = supplied\n",
            db.display()
        ),
    );
    let (cert, key, csr) = (
        dir.join(&format!("{name}.pem")),
        dir.join(&format!("{name}.key")),
        dir.join(&format!("{name}.csr")),
    );
    run_ok(
        Command::new(openssl)
            .args(["req", "-new", "-nodes"])
            .args(EC)
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    run_ok(
        Command::new(openssl)
            .args(["ca", "-batch", "-notext", "-selfsign", "-config"])
            .arg(&conf)
            .arg("-keyfile")
            .arg(&key)
            .arg("-in")
            .arg(&csr)
            .args(["-startdate", start, "-enddate", end])
            .arg("-out")
            .arg(&cert),
    );
    (cert, key)
}

/// nginx with `cert`/`key` on a TLS port in front of `mock` (WebSocket
/// upgrades passed through); its default access log records user agents.
fn nginx_in_front(
    nginx: &Path,
    dir: &TempDir,
    mock: &MockServer,
    cert: &Path,
    key: &Path,
) -> Nginx {
    let block = format!(
        "  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
         \x20 server {{\n    listen LISTEN ssl;\n    server_name 127.0.0.1;\n\
         \x20   ssl_certificate {};\n    ssl_certificate_key {};\n\
         \x20   location / {{\n      proxy_pass http://127.0.0.1:{}/;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_set_header Upgrade $http_upgrade;\n\
         \x20     proxy_set_header Connection $connection_upgrade;\n    }}\n  }}",
        cert.display(),
        key.display(),
        mock.port()
    );
    Nginx::start(nginx, dir, &block)
}

/// Text that reads like Rust `Debug` output rather than a sentence: a
/// bracketed variant, or a CamelCase word such as `UnknownIssuer`.
fn looks_like_debug(s: &str) -> bool {
    s.contains("Error(")
        || s.contains("Other(")
        || s.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            let camel = w
                .as_bytes()
                .windows(2)
                .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase());
            camel
                && w.ends_with(|c: char| c.is_ascii_lowercase())
                && !["WebSocket", "OpenMetrics"].contains(&w)
        })
}

/// `health --json` and `connect --json --retries 0` at `url` with `extra`:
/// each one's exit code and error message, checked for Debug text in every
/// output (JSON and stderr).
fn refusals(url: &str, extra: &[&str]) -> Vec<(Option<i32>, Value, String)> {
    [
        &["health", "--json"][..],
        &["connect", "--json", "--retries", "0"][..],
    ]
    .into_iter()
    .map(|args| {
        let out = comfyctl()
            .args(args)
            .args(["--url", url])
            .args(extra)
            .output()
            .unwrap();
        let status = json(&out.stdout);
        let message = status["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            !looks_like_debug(&all_output(&out)),
            "{args:?}: {}",
            all_output(&out)
        );
        (out.status.code(), status["error"].clone(), message)
    })
    .collect()
}

/// [`refusals`] that each exit 1 with a `tls` error; their messages.
fn tls_refusals(url: &str, extra: &[&str]) -> Vec<String> {
    refusals(url, extra)
        .into_iter()
        .map(|(code, error, message)| {
            assert_eq!(code, Some(1), "{url} {extra:?}: {error}");
            assert_eq!(error["kind"], "tls", "{url} {extra:?}: {error}");
            message
        })
        .collect()
}

#[test]
fn a_self_signed_ca_true_certificate_in_cacert_is_trusted_like_curl_does() {
    let (Some(nginx), Some(openssl)) = (require("nginx"), require("openssl")) else {
        return;
    };
    let dir = TempDir::new("tls-self");
    let (cert, key) = self_signed(&openssl, &dir, "self");
    let mock = MockServer::start(&[]);
    let proxy = nginx_in_front(&nginx, &dir, &mock, &cert, &key);
    let url = format!("https://127.0.0.1:{}", proxy.port);
    let ca = cert.display().to_string();
    for args in [
        &["health", "--json"][..],
        &["connect", "--json", "--retries", "0"][..],
    ] {
        let out = comfyctl()
            .args(args)
            .args(["--url", &url, "--cacert", &ca])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}\n{}",
            all_output(&out),
            proxy.error_log()
        );
        assert_eq!(json(&out.stdout)["available"], true);
    }
    // The WebSocket went through the same trust, and says who it is.
    let log = proxy.access_log();
    assert!(
        log.iter().any(|l| l.contains("GET /ws?clientId=")
            && l.contains("\" 101 ")
            && l.contains("comfyctl/")),
        "no upgraded WebSocket with comfyctl's User-Agent: {log:?}"
    );

    // The pinned certificate is still only good for its own name.
    let by_name = format!("https://localhost:{}", proxy.port);
    for message in tls_refusals(&by_name, &["--cacert", &ca]) {
        assert!(
            message.contains("not valid for 'localhost'")
                && message.contains("it is for 127.0.0.1"),
            "{message}"
        );
        assert!(
            !message.contains("--cacert"),
            "the CA was trusted: {message}"
        );
    }

    // Not in --cacert (another CA there): refused, saying what it is.
    let other = make_certs(&openssl, &dir);
    for message in tls_refusals(&url, &["--cacert", &other.ca.display().to_string()]) {
        assert!(
            message.contains("CA certificate (CA:TRUE)") && message.contains("--cacert"),
            "{message}"
        );
    }
}

#[test]
fn a_wrong_host_name_with_a_trusted_ca_says_the_name_is_wrong() {
    let Some(openssl) = require("openssl") else {
        return;
    };
    let dir = TempDir::new("tls-name");
    let certs = make_certs(&openssl, &dir);
    let (_server, port) = tls_listener(
        &openssl,
        &certs.cert.display().to_string(),
        &certs.key.display().to_string(),
    );
    let ca = certs.ca.display().to_string();
    for message in tls_refusals(&format!("https://localhost:{port}"), &["--cacert", &ca]) {
        assert!(
            message.contains("not valid for 'localhost'")
                && message.contains("it is for 127.0.0.1"),
            "{message}"
        );
        assert!(
            !message.contains("--cacert"),
            "the CA was trusted: {message}"
        );
    }
    // The server's own certificate in --cacert, without its CA, is
    // trusted as curl trusts it: TLS passes, and s_server's page is not
    // ComfyUI.
    let leaf = certs.cert.display().to_string();
    for (code, error, _) in refusals(&format!("https://127.0.0.1:{port}"), &["--cacert", &leaf]) {
        assert_eq!(code, Some(1), "{error}");
        assert_eq!(error["kind"], "not_comfyui", "{error}");
    }
    // Another CA in --cacert: the file was given, so the hint is not to
    // give one.
    let (stranger, _) = self_signed(&openssl, &dir, "stranger");
    let other_ca = stranger.display().to_string();
    for (code, error, message) in refusals(
        &format!("https://127.0.0.1:{port}"),
        &["--cacert", &other_ca],
    ) {
        assert_eq!(code, Some(1), "{error}");
        assert!(
            message.contains("not signed by a CA in the --cacert file"),
            "{message}"
        );
        assert!(!message.contains("with --cacert"), "{message}");
    }
    // Untrusted: the hint names both ways out, in words.
    for (_, _, message) in refusals(&format!("https://127.0.0.1:{port}"), &[]) {
        assert!(
            message.contains("not signed by a trusted CA") && message.contains("--cacert"),
            "{message}"
        );
    }
}

#[test]
fn expired_and_not_yet_valid_pinned_certificates_are_refused_in_plain_words() {
    let Some(openssl) = require("openssl") else {
        return;
    };
    let dir = TempDir::new("tls-dates");
    for (name, start, end, needle) in [
        (
            "old",
            "20200101000000Z",
            "20200102000000Z",
            "expired at 2020-01-02T00:00:00Z",
        ),
        (
            "future",
            "20990101000000Z",
            "20990102000000Z",
            "not valid before 2099-01-01T00:00:00Z",
        ),
    ] {
        let (cert, key) = self_signed_dated(&openssl, &dir, name, start, end);
        let cert = cert.display().to_string();
        let (_server, port) = tls_listener(&openssl, &cert, &key.display().to_string());
        for message in tls_refusals(&format!("https://127.0.0.1:{port}"), &["--cacert", &cert]) {
            assert!(message.contains(needle), "{name}: {message}");
        }
    }
}

#[test]
fn plain_http_to_a_tls_port_suggests_https() {
    let Some(openssl) = require("openssl") else {
        return;
    };
    let dir = TempDir::new("tls-plain");
    let (cert, key) = self_signed(&openssl, &dir, "self");
    let (_server, port) = tls_listener(
        &openssl,
        &cert.display().to_string(),
        &key.display().to_string(),
    );
    for (code, error, message) in refusals(&format!("http://127.0.0.1:{port}"), &[]) {
        assert_eq!(code, Some(1), "{error}");
        assert!(message.contains("try https://"), "{message}");
    }
}
