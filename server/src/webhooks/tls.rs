//! TLS for `https://` webhook URLs: rustls with the *ring* provider, TLS 1.3 and 1.2 only
//! (rustls has nothing older), the receiver's certificate checked against the Mozilla root
//! store that `webpki-roots` embeds (so the result does not depend on the host's CA bundle)
//! plus any private CA given with `serve --webhook-ca FILE`, and its name against the URL's
//! host (a DNS name, or an IP address the certificate lists).
//!
//! A handshake that fails is a failed delivery like any other (retried on the schedule); its
//! `last_error`, shown by `webhook list`, says in plain words what was wrong with the
//! certificate ([`handshake_error`]).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The TLS client the worker connects to `https://` receivers with; cheap to clone.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
    /// Whether a private CA was added (for the error's hint).
    extra_ca: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("extra_ca", &self.extra_ca).finish_non_exhaustive()
    }
}

impl Tls {
    /// The public roots, and the CA certificates in the PEM file at `ca_file` when given
    /// (`serve --webhook-ca`): an error that says what is wrong when the file cannot be read,
    /// holds no certificate, or holds one that is not a usable CA certificate.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, String> {
        let Some(path) = ca_file else { return Self::with_cas(Vec::new()) };
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut cas = Vec::new();
        for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let cert = cert.map_err(|e| format!("{}: certificate {} is not valid PEM: {e}", path.display(), i + 1))?;
            cas.push(cert);
        }
        if cas.is_empty() {
            return Err(format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()));
        }
        Self::with_cas(cas).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn with_cas(cas: Vec<CertificateDer<'static>>) -> Result<Self, String> {
        let extra_ca = !cas.is_empty();
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for (i, ca) in cas.into_iter().enumerate() {
            roots.add(ca).map_err(|e| format!("certificate {} is not a usable CA certificate: {e}", i + 1))?;
        }
        // ring, not aws-lc-rs (no C/cmake build for a crypto library). rustls deprecates ring's
        // provider for lacking post-quantum key exchange; TLS 1.3 with X25519 is what it offers.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { connector: TlsConnector::from(Arc::new(config)), extra_ca })
    }

    /// The TLS handshake with the receiver at `host` (as in the URL) over `stream`.
    pub(super) async fn connect(&self, host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>, String> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| format!("\"{host}\" is not a host name or IP address TLS can check"))?;
        self.connector.connect(name, stream).await.map_err(|e| handshake_error(host, &e, self.extra_ca))
    }
}

/// A failed handshake in words: certificate problems are named as such (`certificate error:`)
/// with what to do, other failures keep TLS's own message.
fn handshake_error(host: &str, e: &std::io::Error, extra_ca: bool) -> String {
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return format!("TLS handshake with {host} failed: {e}");
    };
    let rustls::Error::InvalidCertificate(cert) = tls else {
        return format!("TLS handshake with {host} failed: {tls}");
    };
    let why = match cert {
        CertificateError::UnknownIssuer => {
            if extra_ca {
                "is not signed by a public CA nor by the one of --webhook-ca".to_owned()
            } else {
                "is not signed by a public CA (for a private CA, start serve with --webhook-ca FILE)".to_owned()
            }
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("is not valid for the name \"{host}\" (the URL's host)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "has expired".to_owned(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "is not valid yet".to_owned(),
        CertificateError::Revoked => "is revoked".to_owned(),
        other => format!("was refused ({other:?})"),
    };
    format!("certificate error: the certificate of {host} {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_files_are_refused_clearly() {
        let dir = std::env::temp_dir().join(format!("scimbox-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = Tls::new(Some(&dir.join("missing.pem"))).expect_err("missing");
        assert!(missing.contains("cannot read"), "{missing}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let none = Tls::new(Some(&empty)).expect_err("no certificate");
        assert!(none.contains("holds no PEM certificate"), "{none}");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
        let bad = Tls::new(Some(&junk)).expect_err("not a certificate");
        assert!(bad.contains("not a usable CA certificate"), "{bad}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn certificate_errors_in_words() {
        let io = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let unknown = handshake_error("hooks.example", &io(CertificateError::UnknownIssuer.into()), false);
        assert!(unknown.starts_with("certificate error:") && unknown.contains("--webhook-ca"), "{unknown}");
        let name = handshake_error("hooks.example", &io(CertificateError::NotValidForName.into()), true);
        assert!(name.contains("not valid for the name \"hooks.example\""), "{name}");
        let other = handshake_error("h", &std::io::Error::other("reset"), false);
        assert_eq!(other, "TLS handshake with h failed: reset");
    }
}
