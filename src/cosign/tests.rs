//! Table tests of signature checking, with keys and signatures made by the testkit (ring,
//! cosign's format), and one signature made by real cosign.

use std::path::Path;

use xnat_cmd_testkit::cosign::{payload, SigLayer, SigningKey};

use super::*;

const REPO: &str = "registry.example/lab/tool";
const DIGEST: &str = "sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e";
const OTHER: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn key_of(k: &SigningKey) -> PublicKey {
    PublicKey::from_pem(k.public_pem().as_bytes(), Path::new("cosign.pub")).unwrap()
}

fn candidate(layer: &SigLayer) -> Candidate {
    Candidate {
        origin: "test".into(),
        media_type: Some(SIMPLE_SIGNING_MEDIA_TYPE.into()),
        digest: Digest::sha256_of(&layer.payload),
        signature: Some(layer.signature.clone()),
        payload: layer.payload.clone().into(),
    }
}

#[test]
fn check_table() {
    let signer = SigningKey::generate();
    let stranger = SigningKey::generate();
    let good = SigLayer::signed(&signer, REPO, DIGEST);
    let digest = Digest::parse(DIGEST).unwrap();
    let tampered = {
        let mut c = candidate(&good);
        c.payload = payload(REPO, OTHER).into();
        c.digest = Digest::sha256_of(&c.payload);
        c
    };
    let blob_mismatch = {
        let mut c = candidate(&good);
        c.payload = payload(REPO, OTHER).into();
        c
    };
    let wrong_type = {
        let p = String::from_utf8(payload(REPO, DIGEST)).unwrap().replace(
            "cosign container image signature",
            "atomic container signature",
        );
        candidate(&SigLayer {
            signature: signer.sign(p.as_bytes()),
            payload: p.into_bytes(),
        })
    };
    let not_json = candidate(&SigLayer {
        signature: signer.sign(b"hello"),
        payload: b"hello".to_vec(),
    });
    let with = |f: &dyn Fn(&mut Candidate)| {
        let mut c = candidate(&good);
        f(&mut c);
        c
    };
    type Want = Result<(), fn(&Rejection) -> bool>;
    let cases: Vec<(&str, Candidate, Vec<PublicKey>, Want)> = vec![
        ("valid", candidate(&good), vec![key_of(&signer)], Ok(())),
        (
            "valid, docker normalisation of the named repository",
            candidate(&SigLayer::signed(
                &signer,
                "docker.io/library/ubuntu",
                DIGEST,
            )),
            vec![key_of(&signer)],
            Ok(()),
        ),
        (
            "several keys, one matching",
            candidate(&good),
            vec![key_of(&stranger), key_of(&signer)],
            Ok(()),
        ),
        (
            "wrong key",
            candidate(&good),
            vec![key_of(&stranger)],
            Err(|r| matches!(r, Rejection::NotVerified { keys: 1 })),
        ),
        (
            "tampered payload, digest updated",
            tampered,
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::NotVerified { .. })),
        ),
        (
            "payload does not match its layer digest",
            blob_mismatch,
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::PayloadDigest { .. })),
        ),
        (
            "signed for another digest",
            candidate(&SigLayer::signed(&signer, REPO, OTHER)),
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::OtherDigest { .. })),
        ),
        (
            "signed for another repository",
            candidate(&SigLayer::signed(
                &signer,
                "registry.example/lab/other",
                DIGEST,
            )),
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::OtherRepository { .. })),
        ),
        (
            "another type",
            wrong_type,
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::WrongType { .. })),
        ),
        (
            "signed garbage",
            not_json,
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::BadPayload { .. })),
        ),
        (
            "no annotation",
            with(&|c| c.signature = None),
            vec![key_of(&signer)],
            Err(|r| *r == Rejection::NoAnnotation),
        ),
        (
            "annotation not base64",
            with(&|c| c.signature = Some("%%%".into())),
            vec![key_of(&signer)],
            Err(|r| *r == Rejection::BadEncoding),
        ),
        (
            "signature of another message",
            with(&|c| c.signature = Some(signer.sign(b"other"))),
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::NotVerified { .. })),
        ),
        (
            "another media type",
            with(&|c| c.media_type = Some("application/vnd.oci.image.layer.v1.tar".into())),
            vec![key_of(&signer)],
            Err(|r| matches!(r, Rejection::NotSimpleSigning { .. })),
        ),
    ];
    for (name, c, keys, want) in cases {
        let repo = if name.contains("normalisation") {
            "ubuntu"
        } else {
            REPO
        };
        match (check(&c, &keys, &digest, repo), want) {
            (Ok(_), Ok(())) => {}
            (Err(got), Err(pred)) => assert!(pred(&got), "{name}: {got:?}"),
            (got, _) => panic!("{name}: got {got:?}"),
        }
    }
}

#[test]
fn refusal_names_the_most_telling_reason() {
    let signer = SigningKey::generate();
    let stranger = SigningKey::generate();
    let digest = Digest::parse(DIGEST).unwrap();
    let keys = vec![key_of(&signer)];
    let wrong_key = candidate(&SigLayer::signed(&stranger, REPO, DIGEST));
    let other_digest = candidate(&SigLayer::signed(&signer, REPO, OTHER));
    let e = verify(
        REPO,
        &digest,
        &[wrong_key.clone(), other_digest],
        &keys,
        "x",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("signed for another digest"), "{text}");
    assert!(text.contains("2 signatures tried"), "{text}");

    let e = verify(REPO, &digest, &[wrong_key], &keys, "x").unwrap_err();
    assert!(e.to_string().contains("wrong key"), "{e}");

    let e = verify(REPO, &digest, &[], &keys, "the tag sha256-….sig").unwrap_err();
    assert!(matches!(e, SignatureError::NoSignature { .. }), "{e}");
    assert!(e.to_string().starts_with("no signature"), "{e}");

    let good = candidate(&SigLayer::signed(&signer, REPO, DIGEST));
    let ok = verify(REPO, &digest, &[good], &keys, "x").unwrap();
    assert_eq!(ok.key, "cosign.pub");
}

#[test]
fn signature_tag_is_cosigns() {
    let d = Digest::parse(DIGEST).unwrap();
    assert_eq!(
        signature_tag(&d),
        "sha256-5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e.sig"
    );
}

/// A signature made by cosign (`cosign sign -key cosign.key registry-testing.svc.lan/busybox`)
/// with its `cosign.pub`, from sigstore-rs's public test data (`verify_signature_success`): it
/// checks our reading of the format against bytes we did not make.
#[test]
fn verifies_a_signature_made_by_cosign() {
    let pem = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu
OSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==
-----END PUBLIC KEY-----
";
    let payload = br#"{"critical":{"identity":{"docker-reference":"registry-testing.svc.lan/busybox"},"image":{"docker-manifest-digest":"sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"},"type":"cosign container image signature"},"optional":null}"#;
    let c = Candidate {
        origin: "sigstore-rs test data".into(),
        media_type: Some(SIMPLE_SIGNING_MEDIA_TYPE.into()),
        digest: Digest::sha256_of(payload),
        signature: Some(
            "MEUCIQD6q/COgzOyW0YH1Dk+CCYSt4uAhm3FDHUwvPI55zwnlwIgE0ZK58ZOWpZw8YVmBapJhBqCfdPekIknimuO0xH8Jh8="
                .into(),
        ),
        payload: bytes::Bytes::from_static(payload),
    };
    let keys = [PublicKey::from_pem(pem.as_bytes(), Path::new("cosign.pub")).unwrap()];
    let digest =
        Digest::parse("sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b")
            .unwrap();
    let got = check(&c, &keys, &digest, "registry-testing.svc.lan/busybox");
    assert!(got.is_ok(), "{got:?}");
    // One byte changed and it no longer verifies.
    let mut tampered = c.clone();
    let mut bytes = tampered.payload.to_vec();
    bytes[20] ^= 1;
    tampered.payload = bytes.into();
    tampered.digest = Digest::sha256_of(&tampered.payload);
    assert!(matches!(
        check(
            &tampered,
            &keys,
            &digest,
            "registry-testing.svc.lan/busybox"
        ),
        Err(Rejection::NotVerified { .. })
    ));
}
