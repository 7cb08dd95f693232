//! `--cacert` trust as curl has it: a certificate signed by a CA in the
//! file, or a server certificate that is itself in the file (self-signed,
//! or a leaf given without its CA).
//! A plain `openssl req -x509` certificate is marked CA:TRUE, which the
//! WebPKI rules refuse as a server certificate (`CaUsedAsEndEntity`); the
//! user who put that very certificate in `--cacert` meant to trust it.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// The WebPKI verifier over the `--cacert` roots, which also accepts a
/// server certificate found in the file itself, once its dates and host
/// name check out.
#[derive(Debug)]
pub(super) struct CaFileVerifier {
    pub(super) inner: Arc<WebPkiServerVerifier>,
    pub(super) pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(e) if pinnable(&e) && self.is_pinned(end_entity) => {
                check_dates(end_entity, now)?;
                rustls::client::verify_server_name(
                    &ParsedCertificate::try_from(end_entity)?,
                    server_name,
                )?;
                Ok(ServerCertVerified::assertion())
            }
            // The user gave a file: "trust its CA with --cacert" would be
            // no help.
            Err(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                Err(CertificateError::Other(rustls::OtherError(Arc::new(NotInCaFile))).into())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// An unknown issuer under `--cacert`: neither the server's CA nor its
/// certificate is in the file.
#[derive(Debug)]
pub struct NotInCaFile;

impl std::fmt::Display for NotInCaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server's certificate is not signed by a CA in the {} file, nor is it in that file itself (is it the right file? {} skips verification)",
            crate::manager::Setting::CaCert,
            crate::manager::Setting::Insecure
        )
    }
}

impl std::error::Error for NotInCaFile {}

impl CaFileVerifier {
    /// Whether the server showed a certificate byte for byte in the file.
    fn is_pinned(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
    }
}

/// The refusals that a certificate found in the file itself overrides:
/// a CA certificate used as the server's own (a plain self-signed one),
/// or a leaf whose issuer is not in the file, as curl (OpenSSL's partial
/// chains) accepts it. WebPKI finds both after it has checked the
/// certificate's own dates, key usage and constraints.
fn pinnable(e: &Error) -> bool {
    is_ca_used_as_end_entity(e)
        || matches!(
            e,
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        )
}

/// The WebPKI refusal of a CA certificate as a server's own.
pub(super) fn is_ca_used_as_end_entity(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(other.0.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    )
}

/// The certificate's validity period against `now`, as WebPKI words it.
/// WebPKI checks the dates before the CA flag, but that order is its own
/// business: a pinned certificate is accepted only after this check.
fn check_dates(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), Error> {
    let Some((not_before, not_after)) = validity(der.as_ref()) else {
        return Err(CertificateError::BadEncoding.into());
    };
    let (not_before, not_after) = (
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(not_before)),
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(not_after)),
    );
    if now < not_before {
        Err(CertificateError::NotValidYetContext {
            time: now,
            not_before,
        }
        .into())
    } else if now > not_after {
        Err(CertificateError::ExpiredContext {
            time: now,
            not_after,
        }
        .into())
    } else {
        Ok(())
    }
}

/// `(notBefore, notAfter)` in Unix seconds, read from a certificate's DER:
/// Certificate → tbsCertificate → [version], serial, signature, issuer,
/// validity. WebPKI parses the same fields but does not expose them.
fn validity(der: &[u8]) -> Option<(u64, u64)> {
    let (_, cert, _) = der_item(der)?;
    let (_, mut tbs, _) = der_item(cert)?;
    if tbs.first() == Some(&0xA0) {
        tbs = der_item(tbs)?.2;
    }
    for _ in 0..3 {
        tbs = der_item(tbs)?.2; // serial, signature algorithm, issuer
    }
    let (tag, validity, _) = der_item(tbs)?;
    let (tag_before, before, rest) = der_item(validity).filter(|_| tag == 0x30)?;
    let (tag_after, after, _) = der_item(rest)?;
    Some((der_time(tag_before, before)?, der_time(tag_after, after)?))
}

/// One DER item: its tag, its contents and what follows it.
fn der_item(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes.iter().fold(0, |acc, b| (acc << 8) | usize::from(*b))
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`, tag 0x18) as Unix seconds.
fn der_time(tag: u8, text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match (tag, text.len()) {
        (0x17, 12) => {
            let yy: u64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (0x18, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2)?.parse::<u64>().ok();
    let (month, day) = (field(0)?, field(2)?);
    let (h, m, s) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day)? * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm); `None` before 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_times_are_unix_seconds() {
        assert_eq!(der_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(der_time(0x17, b"000229120000Z"), Some(951_825_600));
        assert_eq!(der_time(0x18, b"20380119031408Z"), Some(2_147_483_648));
        assert_eq!(der_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        for bad in [&b"7001010000Z"[..], b"701301000000Z", b"700101000000"] {
            assert_eq!(der_time(0x17, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn truncated_der_is_no_validity() {
        assert_eq!(validity(&[0x30, 0x82, 0x01]), None);
        assert_eq!(validity(&[]), None);
    }
}
