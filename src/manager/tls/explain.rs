//! TLS failures as plain sentences. rustls and WebPKI print many of their
//! errors with `Debug` (`Other(OtherError(CaUsedAsEndEntity))`); a user
//! needs to read what is wrong with the certificate and what to do.

use rustls::pki_types::ServerName;
use rustls::{CertificateError, Error};

use crate::manager::Setting;

/// How to trust a private CA or turn checking off.
fn trust_hint() -> String {
    format!(
        "trust its CA with {} FILE, or skip verification with {}",
        Setting::CaCert,
        Setting::Insecure
    )
}

/// Most certificate names listed in a message (a CDN's certificate can
/// carry hundreds).
const NAMES_SHOWN: usize = 5;

/// What went wrong in a TLS handshake, as one sentence with the way out.
pub fn explain(e: &Error) -> String {
    match e {
        Error::InvalidCertificate(cert) => explain_certificate(cert),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            "the server does not speak TLS (plain HTTP? try http://)".into()
        }
        Error::AlertReceived(alert) => format!(
            "the server ended the handshake ({}; does it want a client certificate, or a different TLS version?)",
            words(&format!("{alert:?}"))
        ),
        Error::PeerIncompatible(why) => format!(
            "the server and comfyctl have no TLS version or cipher in common ({})",
            words(&format!("{why:?}"))
        ),
        Error::NoCertificatesPresented => "the server presented no certificate".into(),
        Error::General(text) => text.clone(),
        other => format!("the handshake failed ({})", words(&format!("{other:?}"))),
    }
}

/// What is wrong with the server's certificate.
fn explain_certificate(e: &CertificateError) -> String {
    use CertificateError as C;
    match e {
        C::Expired => "the server's certificate has expired".into(),
        C::ExpiredContext { not_after, .. } => format!(
            "the server's certificate expired at {} (renew it, or check this machine's clock)",
            date(not_after.as_secs())
        ),
        C::NotValidYet => "the server's certificate is not valid yet (check the clocks)".into(),
        C::NotValidYetContext { not_before, .. } => format!(
            "the server's certificate is not valid before {} (check this machine's clock)",
            date(not_before.as_secs())
        ),
        C::UnknownIssuer => {
            format!(
                "the server's certificate is not signed by a trusted CA ({})",
                trust_hint()
            )
        }
        C::NotValidForName => {
            "the server's certificate is not valid for this host name (use a name it was issued for)".into()
        }
        C::NotValidForNameContext {
            expected,
            presented,
        } => wrong_name(expected, presented),
        C::BadSignature => {
            "the server's certificate has a bad signature: its issuer's key did not sign it (a CA of the same name with another key, e.g. one made anew?)".into()
        }
        C::Revoked => "the server's certificate has been revoked".into(),
        C::BadEncoding => "the server's certificate is malformed".into(),
        C::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension comfyctl does not know".into()
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (its extended key usage)".into()
        }
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the server's certificate is signed with an algorithm comfyctl does not support".into()
        }
        C::Other(other) => explain_other(other),
        other => format!(
            "the server's certificate was refused ({})",
            words(&format!("{other:?}"))
        ),
    }
}

/// A WebPKI refusal that rustls passes on as `Other`, or comfyctl's own.
fn explain_other(other: &rustls::OtherError) -> String {
    match other.0.downcast_ref::<webpki::Error>() {
        Some(webpki::Error::CaUsedAsEndEntity) => {
            format!(
                "the server's certificate is a CA certificate (CA:TRUE), which is refused as a server's own; to trust this self-signed certificate, give that certificate itself with {} FILE",
                Setting::CaCert
            )
        }
        Some(pki) => format!(
            "the server's certificate was refused ({})",
            words(&format!("{pki:?}"))
        ),
        None => match other.0.downcast_ref::<super::verify::NotInCaFile>() {
            Some(not_in_file) => not_in_file.to_string(),
            // The system's verifier (Windows' CryptoAPI, macOS' Security)
            // speaks in OS error codes: say what to do about it as well.
            None => format!(
                "the server's certificate was refused ({other}; {})",
                trust_hint()
            ),
        },
    }
}

/// A host-name mismatch: the certificate is trusted, the name is not in it.
fn wrong_name(expected: &ServerName<'_>, presented: &[String]) -> String {
    let expected = expected.to_str();
    if presented.is_empty() {
        return format!(
            "the server's certificate is not valid for '{expected}': it names no host (no subjectAltName)"
        );
    }
    let mut names: Vec<String> = presented
        .iter()
        .take(NAMES_SHOWN)
        .map(|n| plain_name(n).chars().take(80).collect())
        .collect();
    if presented.len() > NAMES_SHOWN {
        names.push(format!("{} more", presented.len() - NAMES_SHOWN));
    }
    format!(
        "the server's certificate is not valid for '{expected}': it is for {} (use a name it is for in the URL)",
        names.join(", ")
    )
}

/// A name as WebPKI lists it (`DnsName("a.example")`, `IpAddress(10.0.0.1)`)
/// as the bare name; anything else as words.
fn plain_name(presented: &str) -> String {
    let inner = |prefix: &str| {
        presented
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .map(|n| n.trim_matches('"').to_string())
    };
    inner("DnsName(")
        .or_else(|| inner("IpAddress("))
        .unwrap_or_else(|| words(presented))
}

/// Unix seconds as an RFC 3339 date, e.g. `2026-01-01T00:00:00Z`.
fn date(secs: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A `Debug` name such as `HandshakeFailure` or `Other(X)` as lower-case
/// words, `handshake failure`: the variant only, never its fields.
fn words(debug: &str) -> String {
    let name = debug.split(['(', '{', ' ']).next().unwrap_or(debug).trim();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::UnixTime;
    use rustls::{AlertDescription, OtherError, PeerIncompatible};

    use super::*;

    /// Text that reads like `Debug` output: a CamelCase word or brackets.
    fn looks_like_debug(s: &str) -> bool {
        s.contains("Error(")
            || s.contains('{')
            || s.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
                w.len() > 3
                    && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && w.chars().skip(1).any(|c| c.is_ascii_uppercase())
                    && w.chars().any(|c| c.is_ascii_lowercase())
            })
    }

    #[test]
    fn no_message_is_a_debug_string() {
        let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000));
        let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
        let pki = |e: webpki::Error| Error::from(CertificateError::Other(OtherError(Arc::new(e))));
        #[allow(deprecated)]
        let errors: Vec<Error> = vec![
            CertificateError::Expired.into(),
            CertificateError::ExpiredContext {
                time: t,
                not_after: t,
            }
            .into(),
            CertificateError::NotValidYet.into(),
            CertificateError::NotValidYetContext {
                time: t,
                not_before: t,
            }
            .into(),
            CertificateError::UnknownIssuer.into(),
            CertificateError::NotValidForName.into(),
            CertificateError::NotValidForNameContext {
                expected: name.clone(),
                presented: vec!["DnsName(\"a\")".into()],
            }
            .into(),
            CertificateError::NotValidForNameContext {
                expected: name,
                presented: vec![],
            }
            .into(),
            CertificateError::BadSignature.into(),
            CertificateError::Revoked.into(),
            CertificateError::BadEncoding.into(),
            CertificateError::UnhandledCriticalExtension.into(),
            CertificateError::InvalidPurpose.into(),
            CertificateError::UnsupportedSignatureAlgorithm.into(),
            CertificateError::UnknownRevocationStatus.into(),
            CertificateError::ApplicationVerificationFailure.into(),
            pki(webpki::Error::CaUsedAsEndEntity),
            pki(webpki::Error::EndEntityUsedAsCa),
            pki(webpki::Error::PathLenConstraintViolated),
            CertificateError::Other(OtherError(Arc::new(super::super::verify::NotInCaFile))).into(),
            Error::AlertReceived(AlertDescription::HandshakeFailure),
            Error::PeerIncompatible(PeerIncompatible::Tls12NotOffered),
            Error::NoCertificatesPresented,
            Error::DecryptError,
            Error::HandshakeNotComplete,
        ];
        for e in &errors {
            let text = explain(e);
            assert!(!looks_like_debug(&text), "{e:?}: {text}");
            assert!(text.len() > 20, "{e:?}: {text}");
        }
        assert!(looks_like_debug(
            "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"
        ));
    }

    #[test]
    fn a_wrong_name_lists_the_names_and_no_cacert_hint() {
        crate::config::name_flags();
        let name = ServerName::try_from("localhost").unwrap().to_owned();
        let text = wrong_name(
            &name,
            &[
                "IpAddress(127.0.0.1)".into(),
                "DnsName(\"a.example\")".into(),
            ],
        );
        assert!(
            text.contains("'localhost'") && text.contains("it is for 127.0.0.1, a.example"),
            "{text}"
        );
        assert!(!text.contains("--cacert"), "{text}");
        let many: Vec<String> = (0..9).map(|i| format!("h{i}.example")).collect();
        assert!(wrong_name(&name, &many).contains("4 more"));
    }

    #[test]
    fn a_refusal_by_the_systems_verifier_says_what_to_do() {
        crate::config::name_flags();
        // What rustls-platform-verifier passes on from Windows' CryptoAPI.
        let os = std::io::Error::other("OS Error -2146762487 (os error -2146762487)");
        let text = explain(&CertificateError::Other(OtherError(Arc::new(os))).into());
        assert!(text.contains("-2146762487"), "{text}");
        assert!(
            text.contains("--cacert") && text.contains("--insecure"),
            "{text}"
        );
    }

    #[test]
    fn debug_names_become_words() {
        assert_eq!(words("HandshakeFailure"), "handshake failure");
        assert_eq!(words("Other(OtherError(X))"), "other");
        assert_eq!(
            words("UnsupportedSignatureAlgorithmContext { a: 1 }"),
            "unsupported signature algorithm context"
        );
    }
}
