//! The STARTTLS certificate: made fresh at every start, never stored.
//!
//! A client that uses STARTTLS with verification (as it should) has to
//! trust the server's certificate. The sandbox generates a self-signed one
//! for `localhost` and `127.0.0.1` when it starts and hands out its PEM
//! ([`SandboxCertificate::pem`], `--smtp-cert-out`) for the client to add as
//! its only root. The private key stays in memory.

use std::sync::Arc;

use anyhow::Context as _;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the certificate is valid for; a client connecting to
/// 127.0.0.1 verifies either (lettre: `TlsParameters::new("localhost")`).
pub const CERTIFICATE_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A generated certificate and the TLS server configuration that uses it.
pub(crate) struct SandboxCertificate {
    pub pem: String,
    pub acceptor: TlsAcceptor,
}

/// Generate a P-256 key and a self-signed certificate for [`CERTIFICATE_NAMES`].
pub(crate) fn generate() -> anyhow::Result<SandboxCertificate> {
    let names: Vec<String> = CERTIFICATE_NAMES.iter().map(|n| n.to_string()).collect();
    let certified = rcgen::generate_simple_self_signed(names)
        .context("cannot generate the STARTTLS certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    // An explicit provider: the process-wide default is ambiguous when
    // another crate in the build enables a second one.
    let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("cannot use the generated STARTTLS certificate")?;
    Ok(SandboxCertificate {
        pem: certified.cert.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_start_gets_a_new_pem_certificate() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert!(first.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(first.pem.trim_end().ends_with("-----END CERTIFICATE-----"));
        assert!(!first.pem.contains("PRIVATE KEY"));
        assert_ne!(first.pem, second.pem);
    }
}
