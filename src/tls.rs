//! The HTTPS listener's plumbing: the certificates (a local CA kept beside the database that
//! issues a leaf for `invapi.hostkey.com` and the other names, or the user's own files) and
//! the first bytes of a connection: a TLS handshake is answered as such, an HTTP `CONNECT`
//! to one of the certificate's names is answered `200` and the TLS handshake follows inside
//! the tunnel (the emulator serves the request itself and never forwards anything), any
//! other plain-HTTP request gets a JSON refusal.
//!
//! Certificates are about the real clients' wall clock, not the emulator's: the CA and the
//! leaf keep `rcgen`'s wide default validity, so moving the emulator clock never breaks TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The names the leaf certificate always holds (more come from `--tls-name`).
pub const DEFAULT_NAMES: [&str; 5] = [
    "invapi.hostkey.com",
    "invapi.hostkey.ru",
    "api.hostkey.com",
    "localhost",
    "127.0.0.1",
];

/// Largest `CONNECT` request head read from a client.
const MAX_HEAD: usize = 8 * 1024;

/// What the HTTPS listener needs: the server configuration, the names it answers for and,
/// with the local CA, the CA's certificate for clients to trust.
pub struct Tls {
    acceptor: TlsAcceptor,
    names: Vec<String>,
    ca_pem: Option<String>,
    /// The Hestia listener's way with plain HTTP: nginx's 497 redirect to `https://`
    /// (instead of the JSON refusal and the `CONNECT` proxy).
    redirect_plain: bool,
}

impl Tls {
    /// Certificates from `--tls-cert`/`--tls-key` when given, otherwise a leaf for
    /// [`DEFAULT_NAMES`] and `extra_names` issued by the local CA of the database `db`.
    pub fn load(
        db: &str,
        extra_names: &[String],
        files: Option<(&Path, &Path)>,
    ) -> Result<Tls, String> {
        let mut names: Vec<String> = DEFAULT_NAMES.iter().map(|n| n.to_string()).collect();
        for n in extra_names {
            let n = n.trim().to_ascii_lowercase();
            if !n.is_empty() && !names.contains(&n) {
                names.push(n);
            }
        }
        let (chain, key, ca_pem) = match files {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
                if chain.is_empty() {
                    return Err(format!("--tls-cert {}: no certificate", cert.display()));
                }
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
                (chain, key, None)
            }
            None => {
                let ca = Ca::load_or_create(db)?;
                let (chain, key) = ca.issue(&names)?;
                (chain, key, Some(ca.pem))
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("TLS certificate: {e}"))?;
        // The emulator speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            names,
            ca_pem,
            redirect_plain: false,
        })
    }

    /// The Hestia listener's certificates (`--hestia-listen`): the local CA of database `db`
    /// issues a leaf for each name a client asks for (SNI: a panel's hostname), and one for
    /// localhost and 127.0.0.1 when it asks for none (an address). Plain HTTP gets nginx's
    /// redirect to the same host and port over https (`error_page 497`).
    pub fn load_panel(db: &str) -> Result<Tls, String> {
        let names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        let ca = Ca::load_or_create(db)?;
        let (chain, key) = ca.issue(&names)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("TLS key: {e}"))?;
        let ca_pem = ca.pem.clone();
        let resolver = SniIssuer {
            fallback: Arc::new(rustls::sign::CertifiedKey::new(chain, signing)),
            ca,
            provider: provider.clone(),
            issued: std::sync::Mutex::new(std::collections::HashMap::new()),
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            names,
            ca_pem: Some(ca_pem),
            redirect_plain: true,
        })
    }

    /// Where the local CA of database `db` is kept; `None` for an in-memory database.
    pub fn ca_dir(db: &str) -> Option<PathBuf> {
        Ca::dir(db)
    }

    /// The local CA's certificate (PEM); `None` with the user's own certificate files.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The names the certificate is for (and `CONNECT` is accepted for).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Takes a new connection up to a TLS stream ready for HTTP: straight away when it
    /// opens with a TLS handshake, after a `200` when it opens with a `CONNECT` to one of
    /// the certificate's names. Anything else is answered (400 for plain HTTP, 403 for a
    /// `CONNECT` elsewhere) and closed: `None`. All of it within `limit`.
    pub async fn accept(&self, stream: TcpStream, limit: Duration) -> Option<TlsStream<TcpStream>> {
        tokio::time::timeout(limit, self.accept_within(stream))
            .await
            .ok()
            .flatten()
    }

    async fn accept_within(&self, mut stream: TcpStream) -> Option<TlsStream<TcpStream>> {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await.ok()? == 0 {
            return None;
        }
        // 0x16: a TLS record of type "handshake".
        if first[0] != 0x16 && self.redirect_plain {
            let head = read_head(&mut stream).await?;
            let port = stream.local_addr().map(|a| a.port()).unwrap_or(8083);
            let _ = stream.write_all(nginx_497(&head, port).as_bytes()).await;
            let _ = stream.shutdown().await;
            return None;
        }
        if first[0] != 0x16 {
            let head = read_head(&mut stream).await?;
            let (status, body) = match connect_target(&head) {
                Some(host) if self.names.contains(&host) => {
                    stream
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .ok()?;
                    return self.acceptor.accept(stream).await.ok();
                }
                Some(host) => (
                    "403 Forbidden",
                    format!(
                        "CONNECT {host}: hostkey-emu answers only for {} and forwards nothing",
                        self.names.join(", ")
                    ),
                ),
                None => (
                    "400 Bad Request",
                    "this port speaks HTTPS (TLS): use https://, or CONNECT through it as an \
                     HTTPS proxy"
                        .to_owned(),
                ),
            };
            let body = serde_json::json!({"result": -1, "error": body}).to_string();
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            return None;
        }
        self.acceptor.accept(stream).await.ok()
    }
}

/// Leaves issued for the names clients ask for (SNI), and the one for requests by address.
struct SniIssuer {
    ca: Ca,
    fallback: Arc<rustls::sign::CertifiedKey>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    issued: std::sync::Mutex<std::collections::HashMap<String, Arc<rustls::sign::CertifiedKey>>>,
}

/// Most names a panel listener issues leaves for (then the fallback leaf answers).
const MAX_ISSUED: usize = 1024;

impl std::fmt::Debug for SniIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SniIssuer").finish_non_exhaustive()
    }
}

impl rustls::server::ResolvesServerCert for SniIssuer {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let Some(name) = hello.server_name().map(str::to_ascii_lowercase) else {
            return Some(self.fallback.clone());
        };
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = issued.get(&name) {
            return Some(k.clone());
        }
        if issued.len() >= MAX_ISSUED {
            return Some(self.fallback.clone());
        }
        let leaf = self
            .ca
            .issue(std::slice::from_ref(&name))
            .ok()
            .and_then(|(chain, key)| {
                let key = self.provider.key_provider.load_private_key(key).ok()?;
                Some(Arc::new(rustls::sign::CertifiedKey::new(chain, key)))
            });
        match leaf {
            Some(k) => {
                issued.insert(name, k.clone());
                Some(k)
            }
            None => Some(self.fallback.clone()),
        }
    }
}

/// nginx's answer to plain HTTP on Hestia's SSL port (`error_page 497
/// https://$host:$server_port$request_uri`): a 302 to the same host, port and URI over https.
fn nginx_497(head: &str, port: u16) -> String {
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_ascii_whitespace().nth(1))
        .filter(|t| t.starts_with('/'))
        .unwrap_or("/");
    let host = head
        .lines()
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("host")
                .then(|| v.trim().to_owned())
        })
        .map(|h| match h.strip_prefix('[') {
            Some(rest) => format!("[{}]", rest.split(']').next().unwrap_or("")),
            None => h.rsplit_once(':').map_or(h.clone(), |(h, _)| h.to_owned()),
        })
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "localhost".to_owned());
    let body = "<html>\r\n<head><title>302 Found</title></head>\r\n<body>\r\n<center><h1>302 Found</h1></center>\r\n\
                <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    format!(
        "HTTP/1.1 302 Moved Temporarily\r\nServer: nginx\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\nLocation: https://{host}:{port}{target}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads a request head up to its blank line, byte by byte so that nothing after it (the
/// tunnel's first TLS bytes) is consumed; `None` when it is too long or the peer closes.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= MAX_HEAD {
            // Too long for a CONNECT: answered as plain HTTP on a TLS port.
            return Some(String::new());
        }
        head.push(stream.read_u8().await.ok()?);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The host of a `CONNECT host:port` request head, lower-cased; `None` for any other
/// request.
fn connect_target(head: &str) -> Option<String> {
    let line = head.lines().next()?;
    let mut parts = line.split_ascii_whitespace();
    if parts.next()? != "CONNECT" {
        return None;
    }
    let authority = parts.next()?;
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    Some(host.to_ascii_lowercase())
}

/// The local CA: its key and certificate, beside the database (`<db>.tls/ca.key`, mode 0600,
/// and `ca.pem`) or, with an in-memory database, in memory for this run only.
pub struct Ca {
    key: KeyPair,
    cert: rcgen::Certificate,
    /// The certificate as first written, which is what clients trust.
    pub pem: String,
}

impl Ca {
    /// Where the CA of database `db` is kept; `None` for an in-memory database.
    pub fn dir(db: &str) -> Option<PathBuf> {
        (db != ":memory:").then(|| PathBuf::from(format!("{db}.tls")))
    }

    /// The CA of database `db`: read back when it exists, generated (and, with a database
    /// file, stored) when it does not.
    pub fn load_or_create(db: &str) -> Result<Ca, String> {
        let Some(dir) = Ca::dir(db) else {
            // One CA per process for in-memory databases, so that the HTTPS listener and
            // the Hestia listener of one run are trusted through the same `ca.pem`.
            static MEMORY: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
            if let Some((key_pem, pem)) = MEMORY.get() {
                return Ca::from_pems(key_pem, pem.clone());
            }
            let ca = Ca::generate()?;
            let _ = MEMORY.set((ca.key.serialize_pem(), ca.pem.clone()));
            return Ok(ca);
        };
        let (key_path, pem_path) = (dir.join("ca.key"), dir.join("ca.pem"));
        if key_path.exists() {
            let key_pem = std::fs::read_to_string(&key_path)
                .map_err(|e| format!("{}: {e}", key_path.display()))?;
            let pem = std::fs::read_to_string(&pem_path)
                .map_err(|e| format!("{}: {e}", pem_path.display()))?;
            let key =
                KeyPair::from_pem(&key_pem).map_err(|e| format!("{}: {e}", key_path.display()))?;
            // The same name and key as the stored certificate: what a leaf's issuer and
            // signature are checked against.
            let cert = ca_params()
                .self_signed(&key)
                .map_err(|e| format!("CA: {e}"))?;
            return Ok(Ca { key, cert, pem });
        }
        let ca = Ca::generate()?;
        write_private(&dir, &key_path, &ca.key.serialize_pem())?;
        std::fs::write(&pem_path, &ca.pem).map_err(|e| format!("{}: {e}", pem_path.display()))?;
        Ok(ca)
    }

    /// The CA of a stored key and certificate.
    fn from_pems(key_pem: &str, pem: String) -> Result<Ca, String> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| format!("CA key: {e}"))?;
        let cert = ca_params()
            .self_signed(&key)
            .map_err(|e| format!("CA: {e}"))?;
        Ok(Ca { key, cert, pem })
    }

    fn generate() -> Result<Ca, String> {
        let key = KeyPair::generate().map_err(|e| format!("CA key: {e}"))?;
        let cert = ca_params()
            .self_signed(&key)
            .map_err(|e| format!("CA: {e}"))?;
        let pem = cert.pem();
        Ok(Ca { key, cert, pem })
    }

    /// A fresh leaf for `names` (DNS names or IP addresses), with its chain.
    fn issue(
        &self,
        names: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(|e| format!("--tls-name: {e}"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0].clone());
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(|e| format!("TLS key: {e}"))?;
        let leaf = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| format!("TLS certificate: {e}"))?;
        let key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| e.to_string())?;
        Ok((vec![leaf.der().clone()], key))
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "hostkey-emu local CA");
    dn.push(DnType::OrganizationName, "hostkey-emu");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Writes a private key readable by its owner only (the directory too).
fn write_private(dir: &Path, path: &Path, contents: &str) -> Result<(), String> {
    use std::io::Write;
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| err(dir, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| err(path, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_on_the_panel_port_is_sent_to_https_on_the_same_host_port_and_uri() {
        let r = nginx_497(
            "POST /api/index.php?x=1 HTTP/1.1\r\nHost: Panel.example:8083\r\n\r\n",
            8083,
        );
        assert!(r.starts_with("HTTP/1.1 302 "), "{r}");
        assert!(
            r.contains("\r\nLocation: https://Panel.example:8083/api/index.php?x=1\r\n"),
            "{r}"
        );
        assert!(r.contains("Server: nginx"));
        let r = nginx_497("GET / HTTP/1.1\r\n\r\n", 9000);
        assert!(r.contains("Location: https://localhost:9000/\r\n"), "{r}");
    }

    #[test]
    fn the_panel_listener_issues_leaves_from_the_local_ca() {
        let tls = Tls::load_panel(":memory:").expect("tls");
        assert!(tls.ca_pem().is_some());
        assert!(tls.names().iter().any(|n| n == "127.0.0.1"));
    }

    #[test]
    fn connect_targets_are_read_from_the_request_line() {
        assert_eq!(
            connect_target("CONNECT Invapi.Hostkey.com:443 HTTP/1.1\r\nHost: x\r\n\r\n").as_deref(),
            Some("invapi.hostkey.com")
        );
        assert_eq!(
            connect_target("CONNECT [::1]:443 HTTP/1.1\r\n\r\n").as_deref(),
            Some("::1")
        );
        assert_eq!(connect_target("GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(connect_target(""), None);
    }

    #[test]
    fn the_ca_is_kept_beside_the_database_with_a_private_key_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("emu.db").to_string_lossy().into_owned();
        let first = Ca::load_or_create(&db).expect("create");
        let again = Ca::load_or_create(&db).expect("load");
        assert_eq!(first.pem, again.pem, "the same CA on the next start");
        assert!(first.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = Ca::dir(&db).expect("dir").join("ca.key");
            let mode = std::fs::metadata(key).expect("key").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Ca::dir(":memory:").is_none());
        let tls = Tls::load(&db, &["Emu.Example".into()], None).expect("tls");
        assert_eq!(tls.ca_pem(), Some(first.pem.as_str()));
        assert!(tls.names().iter().any(|n| n == "emu.example"));
    }
}
