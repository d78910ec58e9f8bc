//! The receiver's test CA and server certificate, generated at every start (ECDSA P-256 with
//! rcgen, as `dockd::web_tls` makes the page's certificate), the CA written as PEM for the client
//! to trust as its only root. It owns the certificates; it must never write the private keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::https::ReceiverError;

/// The file in the receiver's folder that holds the test CA's certificate.
pub const CA_FILE: &str = "ca.pem";

/// A CA made for one receiver run and the server certificate it signed for loopback.
pub struct TestCa {
    /// Where the CA certificate was written (PEM).
    pub ca_pem_path: PathBuf,
    /// The CA certificate (PEM), the only root a client of this receiver needs.
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl TestCa {
    /// Makes a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`, and writes the
    /// CA certificate to `dir/ca.pem`.
    pub fn generate(dir: &Path) -> Result<Self, ReceiverError> {
        Self::generate_for(dir, &[])
    }

    /// [`TestCa::generate`] with the server certificate also covering `extra_names` (host names
    /// or IP addresses), e.g. the address a VM's guest reaches this host by.
    pub fn generate_for(dir: &Path, extra_names: &[&str]) -> Result<Self, ReceiverError> {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "dockd test receiver CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        ca_params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        ca_params.not_after = rcgen::date_time_ymd(2049, 12, 31);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        names.extend(extra_names.iter().map(|name| (*name).to_owned()));
        let mut params = rcgen::CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "dockd test receiver");
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2049, 12, 31);
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params.signed_by(&server_key, &issuer)?;

        let ca_pem = ca_cert.pem();
        std::fs::create_dir_all(dir).map_err(|source| ReceiverError::io(dir, source))?;
        let ca_pem_path = dir.join(CA_FILE);
        std::fs::write(&ca_pem_path, &ca_pem)
            .map_err(|source| ReceiverError::io(&ca_pem_path, source))?;
        Ok(TestCa {
            ca_pem_path,
            ca_pem,
            server_chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
        })
    }

    /// TLS 1.2 and 1.3 from aws-lc-rs (the provider dockd and reqwest use), HTTP/1.1 only: the
    /// faults act on one connection per request in flight.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, ReceiverError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
