//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` URL parameters (PostgreSQL manual,
//! "SSL Support", §34.19 of libpq: <https://www.postgresql.org/docs/current/libpq-ssl.html>),
//! on rustls with the *ring* provider, as the webhooks' TLS (`crate::webhooks::tls`).
//!
//! | `sslmode` | encrypted | the server's certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (the default) | when the server offers TLS | not checked |
//! | `require` | always | not checked; with `sslrootcert`, checked as `verify-ca` (as libpq) |
//! | `verify-ca` | always | signed by a trusted CA |
//! | `verify-full` | always | signed by a trusted CA and naming the URL's host |
//!
//! The trusted CAs are those of the PEM file `sslrootcert=FILE` when given (only those, as
//! libpq), else Mozilla's root store that `webpki-roots` embeds (`sslrootcert=system` says the
//! same). tokio-postgres knows only `disable`, `prefer` and `require`, and no `sslrootcert`: this
//! module takes those parameters off the URL ([`split`]) and hands tokio-postgres the rest with
//! the mode it knows, and a connector ([`MakeRustls`]) that checks what the mode asks. Client
//! certificates (`sslcert`, `sslkey`) are refused with a message rather than ignored.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing (`prefer`, `require`): encryption against eavesdropping only.
    Nothing,
    /// The chain to a trusted CA (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndName,
}

/// What a URL's `sslmode` and `sslrootcert` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// tokio-postgres' mode: whether TLS is off, tried or required.
    pub mode: tokio_postgres::config::SslMode,
    /// What the handshake checks.
    pub check: Check,
    /// `sslrootcert=FILE`: the only CAs trusted; `None` for the public roots.
    pub root: Option<PathBuf>,
}

/// Takes libpq's TLS parameters off a `postgres://` URL: the URL tokio-postgres can parse (its
/// `ssl_mode` is then set from the settings) and the settings. An unknown `sslmode`, a client
/// certificate, or `sslrootcert` with `sslmode=disable`/`prefer` is an error that says so.
pub fn split(url: &str) -> Result<(String, Settings), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let (mut sslmode, mut root) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        match key {
            "sslmode" => sslmode = Some(decoded),
            "sslrootcert" => root = Some(decoded),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(format!("{key}: client certificates and revocation lists are not supported"));
            }
            _ => kept.push(pair),
        }
    }
    use tokio_postgres::config::SslMode;
    let root = match root.as_deref() {
        None | Some("system") => None,
        Some("") => return Err("sslrootcert is empty: name a PEM file of CA certificates".into()),
        Some(file) => Some(PathBuf::from(file)),
    };
    let (mode, check) = match sslmode.as_deref().unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Check::Nothing),
        "prefer" => (SslMode::Prefer, Check::Nothing),
        "require" if root.is_some() => (SslMode::Require, Check::Chain),
        "require" => (SslMode::Require, Check::Nothing),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndName),
        other => {
            return Err(format!("sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"));
        }
    };
    if root.is_some() && check == Check::Nothing {
        return Err(format!(
            "sslrootcert is set but sslmode={} checks no certificate: use sslmode=verify-full",
            sslmode.as_deref().unwrap_or("prefer")
        ));
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, Settings { mode, check, root }))
}

/// The connector for tokio-postgres and deadpool: cheap to clone.
#[derive(Clone)]
pub struct MakeRustls {
    connector: tokio_rustls::TlsConnector,
    /// For errors: the CA file, if one was given.
    root: Option<Arc<str>>,
}

impl std::fmt::Debug for MakeRustls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeRustls").field("root", &self.root).finish_non_exhaustive()
    }
}

impl MakeRustls {
    /// The connector for `settings`: the CAs read (an error naming the file and what is wrong
    /// with it), the check set.
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        match &settings.root {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                let pem =
                    std::fs::read(path).map_err(|e| format!("sslrootcert: cannot read {}: {e}", path.display()))?;
                let mut n = 0;
                for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
                    let cert = cert.map_err(|e| {
                        format!("sslrootcert {}: certificate {} is not valid PEM: {e}", path.display(), i + 1)
                    })?;
                    roots.add(cert).map_err(|e| {
                        format!(
                            "sslrootcert {}: certificate {} is not a usable CA certificate: {e}",
                            path.display(),
                            i + 1
                        )
                    })?;
                    n += 1;
                }
                if n == 0 {
                    return Err(format!(
                        "sslrootcert {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    ));
                }
            }
        }
        // ring, as the webhooks' TLS (see there why not aws-lc-rs).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| format!("cannot set up TLS to PostgreSQL: {e}"))?;
        let verifier = Arc::new(Verifier { webpki, check: settings.check });
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("cannot set up TLS to PostgreSQL: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            root: settings.root.as_ref().map(|p| Arc::from(p.display().to_string())),
        })
    }
}

/// The certificate check a mode asks for, over rustls' own chain and name check.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    check: Check,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // The chain is checked before the name: a name error means the chain was good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.check == Check::Chain => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        let name = ServerName::try_from(domain.to_owned()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("\"{domain}\" is not a host name TLS can check"))
        })?;
        Ok(RustlsConnect { connector: self.connector.clone(), name, host: domain.to_owned(), root: self.root.clone() })
    }
}

/// One handshake, with the host it is for.
pub struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
    host: String,
    root: Option<Arc<str>>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, io::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            match self.connector.connect(self.name, stream).await {
                Ok(s) => Ok(RustlsStream(Box::new(s))),
                Err(e) => Err(io::Error::new(e.kind(), handshake_error(&self.host, &e, self.root.as_deref()))),
            }
        })
    }
}

/// A failed handshake in words: a refused certificate says why and what to change.
fn handshake_error(host: &str, e: &io::Error, root: Option<&str>) -> String {
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return format!("TLS handshake with PostgreSQL at {host} failed: {e}");
    };
    let rustls::Error::InvalidCertificate(cert) = tls else {
        return format!("TLS handshake with PostgreSQL at {host} failed: {tls}");
    };
    let why = match cert {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => match root {
            Some(file) => format!("is not signed by a CA of sslrootcert={file}"),
            None => "is not signed by a public CA (for a private CA, add sslrootcert=FILE to the URL)".to_owned(),
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("is not valid for the name \"{host}\" (the URL's host; sslmode=verify-ca skips this check)")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "has expired".to_owned(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "is not valid yet".to_owned(),
        other => format!("was refused ({other:?})"),
    };
    format!("certificate error: the PostgreSQL server's certificate at {host} {why}")
}

/// The TLS session tokio-postgres reads and writes through.
pub struct RustlsStream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    /// No channel binding: SCRAM authenticates without `-PLUS` (libpq's `channel_binding=prefer`
    /// falls back the same way).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode;

    #[test]
    fn the_url_loses_what_tokio_postgres_does_not_know() {
        let (url, s) = split("postgres://u@h/db").unwrap();
        assert_eq!(
            (url.as_str(), s.mode, s.check, s.root),
            ("postgres://u@h/db", SslMode::Prefer, Check::Nothing, None)
        );
        let (url, s) = split("postgres://u@h/db?sslmode=require&application_name=x").unwrap();
        assert_eq!(
            (url.as_str(), s.mode, s.check),
            ("postgres://u@h/db?application_name=x", SslMode::Require, Check::Nothing)
        );
        let (url, s) = split("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem").unwrap();
        assert_eq!((url.as_str(), s.mode, s.check), ("postgres://u@h/db", SslMode::Require, Check::ChainAndName));
        assert_eq!(s.root, Some(PathBuf::from("/tmp/ca.pem")));
        let (_, s) = split("postgres://u@h/db?sslmode=verify-ca").unwrap();
        assert_eq!((s.check, s.root), (Check::Chain, None));
        let (_, s) = split("postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem").unwrap();
        assert_eq!(s.check, Check::Chain, "libpq: require with a root file checks the chain");
        let (url, s) = split("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!((url.as_str(), s.mode), ("postgres://u@h/db", SslMode::Disable));
    }

    #[test]
    fn bad_tls_parameters_are_refused_clearly() {
        let e = split("postgres://u@h/db?sslmode=verify").unwrap_err();
        assert!(e.contains("sslmode=verify is not one of"), "{e}");
        let e = split("postgres://u@h/db?sslcert=/c.pem").unwrap_err();
        assert!(e.contains("client certificates"), "{e}");
        let e = split("postgres://u@h/db?sslrootcert=/ca.pem").unwrap_err();
        assert!(e.contains("checks no certificate"), "{e}");
        let dir = std::env::temp_dir().join(format!("scimbox-pgtls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let settings = |root: &std::path::Path| Settings {
            mode: SslMode::Require,
            check: Check::ChainAndName,
            root: Some(root.to_owned()),
        };
        let e = MakeRustls::new(&settings(&missing)).unwrap_err();
        assert!(e.contains("sslrootcert: cannot read"), "{e}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing\n").unwrap();
        let e = MakeRustls::new(&settings(&empty)).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(MakeRustls::new(&split("postgres://u@h/db?sslmode=verify-full").unwrap().1).is_ok());
    }

    #[test]
    fn certificate_errors_in_words() {
        let io = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let e = handshake_error("db.internal", &io(CertificateError::UnknownIssuer.into()), Some("/etc/ca.pem"));
        assert!(e.starts_with("certificate error:") && e.contains("sslrootcert=/etc/ca.pem"), "{e}");
        let e = handshake_error("db.internal", &io(CertificateError::NotValidForName.into()), None);
        assert!(e.contains("not valid for the name \"db.internal\""), "{e}");
    }
}
