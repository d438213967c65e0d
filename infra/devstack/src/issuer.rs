//! A token issuer reachable over HTTP, for tests and benchmarks of functions
//! that check access tokens with the issuer's published keys (everything but
//! `login`): the real `login` App in-process, its JWK Set served at
//! `<issuer>/.well-known/jwks.json`, and `TOKEN_ISSUER` set to that issuer.

use serde_json::{Value, json};
use shared::config::Env;

use crate::TestStack;
use crate::json_stub::JsonStub;

/// The issuer: tokens from [`LocalIssuer::sign_in`] verify against
/// [`LocalIssuer::url`]'s keys.
pub struct LocalIssuer {
    /// The login App, issuing tokens with `iss` = [`LocalIssuer::url`].
    pub login: login::App,
    /// The key endpoint (counts fetches).
    pub jwks: JsonStub,
}

impl LocalIssuer {
    /// Serves the stack's signing keys and builds login on them.
    ///
    /// # Panics
    ///
    /// When login cannot start on the stack.
    pub async fn start(stack: &TestStack) -> LocalIssuer {
        let keys = login::signing::KeySet::from_json(stack.signing_keys())
            .expect("the test stack's signing keys");
        let jwks = JsonStub::start(
            "/.well-known/jwks.json",
            &shared::auth::jwks(&keys.public_keys),
        )
        .await;
        let env = Env::from_map(with_issuer(stack.env("login"), &jwks.base_url()));
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&env, &sdk)
            .await
            .expect("login starts on the test stack");
        LocalIssuer { login, jwks }
    }

    /// The issuer URL (`TOKEN_ISSUER`).
    pub fn url(&self) -> String {
        self.jwks.base_url()
    }

    /// `function`'s environment on `stack`, pointed at this issuer.
    pub fn env_of(
        &self,
        stack: &TestStack,
        function: &str,
    ) -> std::collections::BTreeMap<String, String> {
        with_issuer(stack.env(function), &self.url())
    }

    /// Provisions citizen `login_id` (name 홍길동) with `password`, signs in
    /// through login's HTTP handler and returns (user id, access token).
    ///
    /// # Panics
    ///
    /// When provisioning or sign-in fails.
    pub async fn sign_in(&self, login_id: &str, password: &str) -> (String, String) {
        let user_id = login::accounts::provision(
            &self.login,
            login::accounts::Provision::citizen(login_id, password, "홍길동", "010-1234-5678"),
        )
        .await
        .expect("the citizen is provisioned");
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/auth/login")
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(
                json!({"loginId": login_id, "password": password}).to_string(),
            ))
            .expect("a valid request");
        let body = match self.login.handle(req).await.into_body() {
            lambda_http::Body::Text(t) => t.into_bytes(),
            lambda_http::Body::Binary(b) => b,
            _ => Vec::new(),
        };
        let tokens: Value = serde_json::from_slice(&body).expect("login answers JSON");
        let token = tokens["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {tokens}"))
            .to_owned();
        (user_id, token)
    }
}

fn with_issuer(env: Env, issuer: &str) -> std::collections::BTreeMap<String, String> {
    let Env::Map(mut vars) = env else {
        unreachable!("test stacks give maps")
    };
    vars.insert("TOKEN_ISSUER".into(), issuer.to_owned());
    vars
}
