//! Test harness: a fresh stack on the emulator, the login App in-process, and
//! helpers that speak HTTP shapes (status, headers, JSON) as a client would.
#![allow(dead_code)]

use devstack::TestStack;
pub use devstack::reply::Reply;
use lambda_http::Request;
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};

pub struct Harness {
    pub stack: TestStack,
    pub app: login::App,
}

pub const PASSWORD: &str = "correct-Horse-battery-7";

impl Harness {
    pub async fn new() -> Self {
        Self::build(None).await
    }

    /// The same, with login's AWS calls going through `faults`.
    pub async fn with_faults(faults: &devstack::faults::Faults) -> Self {
        Self::build(Some(faults)).await
    }

    async fn build(faults: Option<&devstack::faults::Faults>) -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("login");
        let sdk = shared::aws::sdk_config(&env).await;
        let sdk = faults.map_or(sdk.clone(), |f| f.wrap(&sdk));
        let app = login::App::from_env(&env, &sdk)
            .await
            .expect("login starts on the test stack");
        Self { stack, app }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.raw(devstack::reply::request(
            method,
            path,
            body.as_ref(),
            headers,
        ))
        .await
    }

    pub async fn raw(&self, req: Request) -> Reply {
        Reply::from(self.app.handle(req).await)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(body), &[]).await
    }

    pub async fn authed(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Reply {
        let auth = format!("Bearer {token}");
        self.send(method, path, body, &[("authorization", &auth)])
            .await
    }

    /// Signs up `login_id` with [`PASSWORD`]; returns the user id.
    pub async fn signup(&self, login_id: &str) -> String {
        let r = self
            .post(
                "/v1/auth/signup",
                json!({"loginId": login_id, "password": PASSWORD, "name": "홍길동", "phone": "010-1234-5678"}),
            )
            .await;
        r.expect(201);
        r.str("userId")
    }

    pub async fn login(&self, login_id: &str, password: &str) -> Reply {
        self.post(
            "/v1/auth/login",
            json!({"loginId": login_id, "password": password}),
        )
        .await
    }

    /// Signs up and logs in; returns the token response.
    pub async fn citizen(&self, login_id: &str) -> Value {
        self.signup(login_id).await;
        let r = self.login(login_id, PASSWORD).await;
        r.expect(200);
        r.body
    }

    /// Registers a fresh device key for the holder of `token`.
    pub async fn device(&self, token: &str) -> (String, SigningKey) {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let r = self
            .authed(
                "POST",
                "/v1/auth/devices",
                token,
                Some(json!({"deviceName": "Galaxy S26", "publicKey": spki(&key)})),
            )
            .await;
        r.expect(201);
        (r.str("deviceId"), key)
    }

    /// The signing keys the stack's secret holds (what only `login` may read).
    pub async fn signing_keys(&self) -> login::signing::KeySet {
        let env = self.stack.env("login");
        let sdk = self.stack.sdk_config().await;
        let secret =
            shared::aws::secret_string(&sdk, &env.require("SIGNING_KEYS_SECRET_ID").unwrap())
                .await
                .unwrap();
        login::signing::KeySet::from_json(&secret).unwrap()
    }

    pub fn issuer(&self) -> String {
        self.stack.env("login").require("TOKEN_ISSUER").unwrap()
    }

    pub fn table(&self) -> String {
        self.stack.env("login").require("LOGIN_TABLE").unwrap()
    }

    /// The stored item at (`pk`, `sk`) of the login table.
    pub async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        self.db()
            .await
            .get_item()
            .table_name(self.table())
            .key("pk", S(pk.to_owned()))
            .key("sk", S(sk.to_owned()))
            .send()
            .await
            .unwrap()
            .item
    }

    pub async fn db(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.stack.sdk_config().await)
    }

    /// Events of `kind` published so far.
    pub async fn events_of(&self, kind: &str) -> Vec<Value> {
        self.stack
            .events()
            .await
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }
}

pub fn spki(key: &SigningKey) -> String {
    let der = key.verifying_key().to_public_key_der().unwrap();
    data_encoding::BASE64URL_NOPAD.encode(der.as_bytes())
}

/// base64url DER ECDSA-P256-SHA256 over the UTF-8 bytes of `message`.
pub fn sign(key: &SigningKey, message: &str) -> String {
    use p256::ecdsa::signature::Signer;
    let sig: p256::ecdsa::Signature = key.sign(message.as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(sig.to_der().as_bytes())
}

/// The TOTP code of a base32 secret `offset` steps from now.
pub fn totp_at(secret: &str, offset: i64) -> String {
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let step = shared::time::now_secs() / 30 + offset;
    format!("{:06}", login::totp::hotp(&raw, step as u64))
}
