//! Reads announced up front with `RegistryClient::plan`: one token request per set of up to
//! 16 repositories on a token registry, the token server granting only what the credentials
//! allow (a private repository read anonymously still fails on its own).

use super::*;
use crate::support::registry::Registry;

/// Push one labelled image per repository (label `[i]`), concurrently.
async fn push_all(reg: &Registry, repos: &[String]) {
    futures::future::join_all(repos.iter().enumerate().map(|(i, repo)| async move {
        let img = ImageBuilder::new().label(LABEL, &format!("[{i}]")).build();
        reg.push_image_to(repo, "v1", &img).await;
    }))
    .await;
}

#[tokio::test]
async fn planned_reads_cost_one_token_per_16_repositories() {
    let repos: Vec<String> = (0..20).map(|i| format!("xnat/planned-{i}")).collect();
    let reg = Registry::start(Mode::Token(Policy {
        public: repos
            .iter()
            .cloned()
            .chain(["xnat/public".into()])
            .collect(),
        ..token_policy()
    }));
    push_all(&reg, &repos).await;
    let token = reg.token.as_ref().unwrap();
    let tokens_before = token.requests();
    let log_before = reg.access_log_requests();
    // 22 reads, the first repository three times: 20 scopes, planned in sets of 16 and 4.
    let mut refs: Vec<(String, String)> = repos
        .iter()
        .enumerate()
        .map(|(i, repo)| (format!("{}/{repo}:v1", reg.addr), format!("[{i}]")))
        .collect();
    refs.push(refs[0].clone());
    refs.push(refs[0].clone());
    let (_home, c) = anon_client();
    c.plan(refs.iter().map(|(r, _)| r.as_str()));
    let results = futures::future::join_all(refs.iter().map(|(r, _)| read(&c, r))).await;
    for ((reference, want), got) in refs.iter().zip(results) {
        assert_eq!(got.unwrap().images[0].labels, labels(want), "{reference}");
    }
    assert_eq!(token.requests() - tokens_before, 2, "ceil(20 / 16) tokens");
    assert_eq!(
        c.requests(),
        1 + 2 + 22 * 2,
        "one 401, 2 tokens, manifest and config per read"
    );
    assert_eq!(reg.access_log_requests() - log_before, 1 + 22 * 2);

    // Later reads of planned repositories reuse the set's token; an unplanned repository
    // gets its own, as without a plan.
    read(&c, &refs[19].0).await.unwrap();
    assert_eq!(c.requests(), 1 + 2 + 23 * 2);
    assert_eq!(token.requests() - tokens_before, 2);
    reg.push_image_to(
        "xnat/public",
        "v1",
        &ImageBuilder::new().label(LABEL, "[public]").build(),
    )
    .await;
    let r = read(&c, &format!("{}/xnat/public:v1", reg.addr))
        .await
        .unwrap();
    assert_eq!(r.images[0].labels, labels("[public]"));
    assert_eq!(token.requests() - tokens_before, 3);
    assert_eq!(c.requests(), 1 + 3 + 24 * 2);
}

#[tokio::test]
async fn a_private_repository_in_a_planned_set_fails_alone() {
    let public: Vec<String> = (0..3).map(|i| format!("xnat/open-{i}")).collect();
    let reg = Registry::start(Mode::Token(Policy {
        public: public.iter().cloned().collect(),
        ..token_policy()
    }));
    push_all(&reg, &public).await;
    reg.push_image_to(
        "xnat/private",
        "v1",
        &ImageBuilder::new().label(LABEL, "[private]").build(),
    )
    .await;
    let token = reg.token.as_ref().unwrap();
    let private = format!("{}/xnat/private:v1", reg.addr);
    let mut refs: Vec<String> = public
        .iter()
        .map(|repo| format!("{}/{repo}:v1", reg.addr))
        .collect();
    refs.push(private.clone());

    // Anonymous: the set's token covers the public repositories only.
    let tokens_before = token.requests();
    let (_home, c) = anon_client();
    c.plan(refs.iter().map(String::as_str));
    let results = futures::future::join_all(refs.iter().map(|r| read(&c, r))).await;
    let mut results = results.into_iter();
    for (i, got) in results.by_ref().take(3).enumerate() {
        assert_eq!(got.unwrap().images[0].labels, labels(&format!("[{i}]")));
    }
    let e = results.next().unwrap().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("unauthorized: `{private}` needs credentials and none were found (authentication required)")
    );
    assert_eq!(
        e.hint().as_deref(),
        Some("use --registry-user, --registry-auth-file, docker login or podman login")
    );
    assert_eq!(token.requests() - tokens_before, 1, "one token for the set");
    // One 401 to learn the realm, the token, manifest and config of each public image, and
    // the private manifest refused (insufficient_scope) whichever read made first contact.
    assert_eq!(c.requests(), 1 + 1 + 3 * 2 + 1);

    // Basic credentials (token GET with `account`): one token grants the whole set.
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &reg.addr, "testuser", "testpass");
    let c = client_in(home.path(), RegistryOptions::default());
    c.plan(refs.iter().map(String::as_str));
    let tokens_before = token.requests();
    let results = futures::future::join_all(refs.iter().map(|r| read(&c, r))).await;
    let got: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap().images[0].labels[LABEL].clone())
        .collect();
    assert_eq!(got, ["[0]", "[1]", "[2]", "[private]"]);
    assert_eq!(token.requests() - tokens_before, 1);

    // An identity token (OAuth2 refresh POST, scopes space-separated): the same.
    let inner = format!(
        r#"{{"auths":{{"{}":{{"identitytoken":"refresh-123"}}}}}}"#,
        reg.addr
    );
    let home = tempfile::tempdir().unwrap();
    let file = write_file(home.path(), "auth.json", &inner);
    let opts = RegistryOptions {
        credentials: CredentialOptions {
            user: None,
            auth_file: Some(file),
        },
        ..RegistryOptions::default()
    };
    let c = client_in(home.path(), opts);
    c.plan(refs.iter().map(String::as_str));
    let tokens_before = token.requests();
    let results = futures::future::join_all(refs.iter().map(|r| read(&c, r))).await;
    let got: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap().images[0].labels[LABEL].clone())
        .collect();
    assert_eq!(got, ["[0]", "[1]", "[2]", "[private]"]);
    assert_eq!(token.requests() - tokens_before, 1);
}
