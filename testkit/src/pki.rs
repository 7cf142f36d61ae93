//! A throw-away PKI for TLS tests: a CA and a server certificate for localhost, 127.0.0.1 and
//! ::1, made with rcgen. Used by the registry's TLS mode and by both packages' HTTPS tests.

/// A test CA and a server certificate for localhost, 127.0.0.1 and ::1 (PEM: ca, cert, key).
pub fn test_pki() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "xnat-cmd test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let key = rcgen::KeyPair::generate().expect("server key");
    let mut p = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .expect("server params");
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = p.signed_by(&key, &ca_cert, &ca_key).expect("server cert");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// The PEM files of [`write_test_pki`].
pub struct PkiFiles {
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// Write a fresh [`test_pki`] as `ca.pem`, `server.pem` and `server.key` into `dir`.
pub fn write_test_pki(dir: &std::path::Path) -> PkiFiles {
    let (ca_pem, cert_pem, key_pem) = test_pki();
    let files = PkiFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.ca, ca_pem).expect("write ca.pem");
    std::fs::write(&files.cert, cert_pem).expect("write server.pem");
    std::fs::write(&files.key, key_pem).expect("write server.key");
    files
}
