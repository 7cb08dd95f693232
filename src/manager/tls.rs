//! Which server certificates to trust: the system's (the default), a
//! private CA (`--cacert`), or none at all (`--insecure`). One rustls
//! configuration serves both the HTTP client and the WebSocket, so the two
//! can never disagree about a server.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

mod explain;
mod verify;

pub use explain::explain;

/// Certificate trust for https:// and wss:// targets.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Trust only these CA certificates (from `--cacert`); empty means the
    /// system's roots.
    pub ca_certs: Vec<CertificateDer<'static>>,
    /// Accept any certificate (`--insecure`); wins over `ca_certs`.
    pub insecure: bool,
    /// No server uses https://: the system's trust store is not read at
    /// all (parsing its ~150 roots is most of a one-shot check's CPU time).
    /// An https:// server would then fail its handshake, so set this only
    /// when every target is known to be plain http://.
    pub plain_only: bool,
}

impl TlsSettings {
    /// Reads every certificate of a PEM file. The error says what is wrong
    /// with the file, without the flag name (the caller adds it).
    pub fn load_pem(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let certs = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{} is not valid PEM: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        Ok(certs)
    }

    /// The rustls configuration, or `None` for the system's roots (each
    /// library then keeps its own platform defaults, read when the client
    /// is built). No ALPN is offered,
    /// so the same configuration works for HTTP/1.1 and WebSocket upgrades.
    pub fn client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        if !self.insecure && self.ca_certs.is_empty() && !self.plain_only {
            return None;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the default provider supports the default protocol versions");
        let config = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth()
        } else {
            // Empty for `plain_only` (without `--cacert`). A certificate
            // rustls cannot use as a root is skipped; if none is usable every
            // handshake fails with UnknownIssuer, which says enough. A
            // server certificate that is itself in the file is trusted as
            // curl trusts it (see `verify`).
            let mut roots = RootCertStore::empty();
            let _ = roots.add_parsable_certificates(self.ca_certs.iter().cloned());
            let roots = Arc::new(roots);
            // The WebPKI verifier refuses to build without a root.
            match rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.clone(),
                provider.clone(),
            )
            .build()
            {
                Ok(inner) => builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verify::CaFileVerifier {
                        inner,
                        pinned: self.ca_certs.clone(),
                    }))
                    .with_no_client_auth(),
                Err(_) => builder.with_root_certificates(roots).with_no_client_auth(),
            }
        };
        Some(Arc::new(config))
    }
}

/// `--insecure`: any certificate, any name. Handshake signatures are still
/// checked, so the peer must hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keeps_the_system_roots() {
        assert!(TlsSettings::default().client_config().is_none());
        let insecure = TlsSettings {
            insecure: true,
            ..TlsSettings::default()
        };
        assert!(insecure.client_config().is_some());
    }

    #[test]
    fn pem_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("comfyctl-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no pem here\n").unwrap();
        let err = TlsSettings::load_pem(&empty).unwrap_err();
        assert!(err.contains("empty.pem") && err.contains("no PEM"), "{err}");
        let missing = dir.join("missing.pem");
        assert!(
            TlsSettings::load_pem(&missing)
                .unwrap_err()
                .contains("cannot read")
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
