//! Planning: durations, TLS trust, listen addresses, headers, every problem at once.

use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("--t", "5s"), Ok(Duration::from_secs(5)));
    assert_eq!(
        parse_duration("--t", "250ms"),
        Ok(Duration::from_millis(250))
    );
    assert_eq!(parse_duration("--t", "2"), Ok(Duration::from_secs(2)));
    assert_eq!(
        parse_duration("--t", "1.5"),
        Ok(Duration::from_millis(1500))
    );
    let err = parse_duration("--timeout", "5 parsecs").unwrap_err();
    assert!(
        err.starts_with("--timeout:") && err.contains("5 parsecs"),
        "{err}"
    );
    assert!(parse_duration("--t", "-1").is_err());
    assert!(parse_duration("--t", "NaN").is_err());
}

#[test]
fn the_system_trust_store_is_read_only_when_a_server_uses_https() {
    use clap::Parser;
    let plain_only = |args: &[&str]| {
        let cli =
            crate::cli::Cli::try_parse_from(["comfyctl", "connect"].iter().chain(args)).unwrap();
        match plan(&cli).unwrap() {
            Plan::Connect(p) => p.common.client.tls.plain_only,
            _ => unreachable!("a connect command line"),
        }
    };
    assert!(plain_only(&["--url", "http://gpu-1:8188"]));
    assert!(plain_only(&[]), "discovery probes plain http on loopback");
    assert!(!plain_only(&[
        "--url",
        "http://gpu-1:8188",
        "--url",
        "https://gpu-2"
    ]));
    assert!(
        TlsSettings {
            plain_only: true,
            ..TlsSettings::default()
        }
        .client_config()
        .is_some(),
        "an empty trust store, not the system's"
    );
    assert!(TlsSettings::default().client_config().is_none());
}

#[test]
fn metrics_listens_on_ip_or_host_with_a_port() {
    for ok in [
        "127.0.0.1:9464",
        "[::1]:0",
        "localhost:0",
        "monitor-host:9464",
    ] {
        assert!(is_listen_addr(ok), "{ok}");
    }
    for bad in ["localhost", ":9464", "localhost:x", "a b:1", "http://h:1"] {
        assert!(!is_listen_addr(bad), "{bad}");
    }
}

#[test]
fn header_errors_without_a_colon_show_no_value() {
    let err = parse_header("X-Api-Key=sk-abcdef123456").unwrap_err();
    assert!(
        err.contains("X-Api-Key") && !err.contains("sk-abc"),
        "{err}"
    );
    let err = parse_header("sk-abcdef123456").unwrap_err();
    assert!(!err.contains("sk-abc"), "{err}");
    let err = parse_header("=sk-abcdef123456").unwrap_err();
    assert!(!err.contains("sk-abc"), "{err}");
}

#[test]
fn headers_never_echo_values() {
    let (n, v) = parse_header("Authorization: Bearer abc").unwrap();
    assert_eq!(n, "authorization");
    assert!(v.is_sensitive());
    let err = parse_header("Bad Name: secret-value").unwrap_err();
    assert!(!err.contains("secret-value"), "{err}");
    let err = parse_header("X-Token: line\nbreak").unwrap_err();
    assert!(!err.contains("line"), "{err}");
    assert!(parse_header("nocolon").unwrap_err().contains("colon"));
}

#[test]
fn plan_lists_every_problem() {
    use clap::Parser;
    let cli = Cli::try_parse_from([
        "comfyctl",
        "connect",
        "--url",
        "127.0.0.1:1",
        "--timeout",
        "0",
        "--backoff",
        "-1",
        "--retries",
        "1000000",
        "-H",
        "Origin: http://x",
    ])
    .unwrap();
    let Err(Error::Config(problems)) = plan(&cli) else {
        panic!("a bad command line must not plan");
    };
    assert_eq!(problems.len(), 4, "{problems:?}");
    let cli = Cli::try_parse_from(["comfyctl", "connect", "--url", "127.0.0.1:1"]).unwrap();
    assert!(matches!(plan(&cli), Ok(Plan::Connect(_))));
}
