//! Certificates: the per-run TLS test CA and server certificate, and service-account
//! certificates issued with the platform key.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

fn err(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// A CA made for this run, and a rustls config serving a certificate it issued for
/// 127.0.0.1, ::1 and localhost.
pub struct TestTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub fn test_tls() -> io::Result<TestTls> {
    let now = OffsetDateTime::now_utc();
    let ca_key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| err("generating the test CA key", e))?;
    let mut ca_params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "mondoo-platform test CA");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca_params.not_before = now - Duration::days(1);
    ca_params.not_after = now + Duration::days(30);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| err("self-signing the test CA", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| err("generating the server key", e))?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()])
        .map_err(|e| err("server certificate names", e))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(30);
    let server_cert = params.signed_by(&server_key, &issuer).map_err(|e| err("issuing the server certificate", e))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS versions", e))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca_cert.der().clone()], key_der)
        .map_err(|e| err("TLS server certificate", e))?;
    Ok(TestTls { ca_pem: ca_cert.pem(), server_config: Arc::new(server_config) })
}

/// A fresh platform key (P-384, PKCS#8 PEM) and a self-signed CA certificate for it (PEM)
/// with subject CN `common_name`: the identity of a platform started without fixtures.
pub fn platform_identity(common_name: &str) -> io::Result<(String, String)> {
    let key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(|e| err("generating the platform key", e))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365 * 10);
    let cert = params.self_signed(&key).map_err(|e| err("self-signing the platform certificate", e))?;
    Ok((key.serialize_pem(), cert.pem()))
}

/// Issues service-account certificates with the platform key, as the platform does.
pub struct AccountIssuer {
    issuer: Issuer<'static, KeyPair>,
}

impl AccountIssuer {
    /// `issuer_cn` must be the platform certificate's subject CN so issued certificates
    /// name it as issuer.
    pub fn new(platform_key_pem: &str, issuer_cn: &str) -> io::Result<AccountIssuer> {
        let key = KeyPair::from_pem(platform_key_pem).map_err(|e| err("reading the platform key", e))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, issuer_cn);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ok(AccountIssuer { issuer: Issuer::new(params, key) })
    }

    /// A fresh P-384 key (PKCS#8 PEM) and its certificate (PEM) naming `mrn` as a URI SAN,
    /// valid for `valid_for_seconds` (None: ten years, a console-made account).
    pub fn issue(&self, mrn: &str, valid_for_seconds: Option<i64>) -> io::Result<(String, String)> {
        let key =
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(|e| err("generating a P-384 key", e))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, mrn.rsplit('/').next().unwrap_or(mrn));
        params.distinguished_name = dn;
        let uri = mrn_uri(mrn);
        params.subject_alt_names =
            vec![SanType::URI(uri.try_into().map_err(|e| err("service-account MRN as URI", e))?)];
        let now = OffsetDateTime::now_utc();
        match valid_for_seconds {
            Some(seconds) => {
                params.not_before = now - Duration::minutes(1);
                params.not_after = now + Duration::seconds(seconds);
            }
            None => {
                params.not_before = now - Duration::days(1);
                params.not_after = now + Duration::days(365 * 10);
            }
        }
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| err("issuing a service-account certificate", e))?;
        Ok((key.serialize_pem(), cert.pem()))
    }
}

/// The fixture certificates carry `mrn://agents.api.mondoo.app/...` as URI SAN.
fn mrn_uri(mrn: &str) -> String {
    format!("mrn:{mrn}")
}
