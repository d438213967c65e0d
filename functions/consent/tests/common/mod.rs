//! Test harness: a fresh stack on the emulator, the consent App in-process,
//! citizens and officials provisioned and signed in through the real `login`
//! App (citizens register a P-256 device key with login and sign in with it,
//! as on the phone), and `alert-sms` in-process fed from its real queue, so
//! the texts the events cause land in the emulator's SMS log.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsEvent;
use devstack::TestStack;
pub use devstack::reply::Reply;
use devstack::sqs_source::SqsSource;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};
use shared::jwks::Authenticator;

pub const PASSWORD: &str = "Consent-test-pass-1";
pub const OFFICIAL_SCOPES: &[&str] = &["consent:request"];

pub struct Harness {
    pub stack: TestStack,
    pub app: consent::App,
    pub login: login::App,
    pub sms: alert_sms::App,
    pub texts: SqsSource,
}

/// A signed-in user.
pub struct User {
    pub login_id: String,
    pub user_id: String,
    /// E.164.
    pub phone: String,
    /// Password sign-in (`amr ["pwd"]`).
    pub token: String,
    /// Device-key sign-in (`amr ["hwk"]`), citizens only.
    pub strong: String,
    /// The registered device and its private key (citizens only).
    pub device: Option<(String, SigningKey)>,
}

impl User {
    /// The device signature of `payload` (base64url DER).
    pub fn sign(&self, payload: &str) -> String {
        let (_, key) = self.device.as_ref().expect("a citizen with a device");
        sign_with(key, payload)
    }

    pub fn device_id(&self) -> String {
        self.device.as_ref().expect("a device").0.clone()
    }
}

pub fn sign_with(key: &SigningKey, payload: &str) -> String {
    let signature: p256::ecdsa::Signature = key.sign(payload.as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(signature.to_der().as_bytes())
}

impl Harness {
    pub async fn new() -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("consent");
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&stack.env("login"), &sdk)
            .await
            .expect("login starts on the test stack");
        let auth = || Authenticator::Fixed(login.verifier().clone());
        let app = consent::App::from_env(&env, &sdk)
            .await
            .expect("consent starts on the test stack")
            .with_authenticator(auth());
        let sms = alert_sms::App::from_env(&stack.env("alert-sms"), &sdk)
            .expect("alert-sms starts on the test stack")
            .with_authenticator(auth());
        let texts = stack.sqs_source("alert-sms", "DomainEvents");
        Self {
            stack,
            app,
            login,
            sms,
            texts,
        }
    }

    /// A citizen with a registered device key, signed in with it.
    pub async fn citizen(&self, login_id: &str) -> User {
        citizen_on(&self.login, login_id).await
    }

    /// An official of `agency` with `consent:request`.
    pub async fn official(&self, login_id: &str, agency: &str) -> User {
        official_on(&self.login, login_id, agency).await
    }

    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let auth = format!("Bearer {token}");
        let mut all = headers.to_vec();
        all.push(("authorization", &auth));
        Reply::from(
            self.app
                .handle_http(devstack::reply::request(method, path, body.as_ref(), &all))
                .await,
        )
    }

    /// `official` asks `citizen` for `documents` for 7 days.
    pub async fn request(&self, official: &User, citizen: &User, documents: &[&str]) -> Reply {
        self.call(
            &official.token,
            "POST",
            "/v1/consents",
            Some(
                json!({"citizenLoginId": citizen.login_id, "petitionId": "P-2026-0042",
                "petitionName": "주거급여 신청", "documents": documents,
                "purpose": "주거급여 자격 확인", "validDays": 7}),
            ),
            &[],
        )
        .await
    }

    /// `citizen` signs consent `id` (its stored payload) with their device.
    pub async fn sign(&self, citizen: &User, consent: &Value) -> Reply {
        let id = consent["consentId"].as_str().unwrap();
        let payload = consent["signingPayload"].as_str().unwrap();
        self.call(
            &citizen.strong,
            "POST",
            &format!("/v1/consents/{id}/signature"),
            Some(json!({"deviceId": citizen.device_id(), "signature": citizen.sign(payload)})),
            &[],
        )
        .await
    }

    /// Carries the outboxes to the events queue, lets alert-sms text, and
    /// returns the consent texts sent to `who` so far (not login's notice of
    /// the device registered).
    pub async fn texts_to(&self, who: &User) -> Vec<String> {
        self.stack.carry_events().await;
        loop {
            let delivered = self
                .texts
                .poll_once(1, |event: Value| async {
                    let batch: SqsEvent =
                        serde_json::from_value(event).map_err(|e| e.to_string())?;
                    let response = self.sms.handle(&batch, "test").await;
                    serde_json::to_value(response).map_err(|e| e.to_string())
                })
                .await
                .expect("the queue is read");
            if delivered.received == 0 {
                break;
            }
        }
        let mut texts = self.stack.texts_to(&who.phone).await;
        texts.retain(|t| t.contains("동의"));
        texts
    }
}

async fn login_call(
    login: &login::App,
    method: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let req = devstack::reply::request(method, path, Some(&body), &headers);
    Reply::from(login.handle(req).await)
}

/// Provisions `p` with login and signs in with the password.
pub async fn provision_on(login: &login::App, p: login::accounts::Provision) -> User {
    let phone = shared::phone::PhoneNumber::parse(&p.phone)
        .unwrap()
        .e164()
        .to_owned();
    let login_id = p.login_id.clone();
    let user_id = login::accounts::provision(login, p)
        .await
        .expect("provisioned");
    let r = login_call(
        login,
        "POST",
        "/v1/auth/login",
        json!({"loginId": login_id, "password": PASSWORD}),
        None,
    )
    .await;
    r.expect(200);
    User {
        login_id,
        user_id,
        phone,
        token: r.str("accessToken"),
        strong: String::new(),
        device: None,
    }
}

/// A citizen with a device key registered with login, signed in with it.
pub async fn citizen_on(login: &login::App, login_id: &str) -> User {
    let phone = devstack::phone::unique().dashed;
    let p = login::accounts::Provision::citizen(login_id, PASSWORD, "홍길동", &phone);
    let mut user = provision_on(login, p).await;
    let (device_id, key) = register_device(login, &user.token).await;
    user.strong = device_sign_in(login, &device_id, &key).await;
    user.device = Some((device_id, key));
    user
}

/// Registers a fresh P-256 key as a device of the token's user.
pub async fn register_device(login: &login::App, token: &str) -> (String, SigningKey) {
    use p256::pkcs8::EncodePublicKey;
    let key = SigningKey::random(&mut rand_core::OsRng);
    let public = key.verifying_key().to_public_key_der().unwrap();
    let public = data_encoding::BASE64URL_NOPAD.encode(public.as_bytes());
    let body = json!({"deviceName": "Galaxy S26", "publicKey": public});
    let r = login_call(login, "POST", "/v1/auth/devices", body, Some(token)).await;
    r.expect(201);
    (r.str("deviceId"), key)
}

/// Signs in with a device key (`amr ["hwk"]`), as the phone does.
async fn device_sign_in(login: &login::App, device_id: &str, key: &SigningKey) -> String {
    let body = json!({"deviceId": device_id});
    let r = login_call(login, "POST", "/v1/auth/login/device/challenge", body, None).await;
    r.expect(200);
    let challenge = r.str("challenge");
    let body = json!({"deviceId": device_id, "challenge": challenge, "signature": sign_with(key, &challenge)});
    let r = login_call(login, "POST", "/v1/auth/login/device", body, None).await;
    r.expect(200);
    r.str("accessToken")
}

/// An official of `agency` with `consent:request`.
pub async fn official_on(login: &login::App, login_id: &str, agency: &str) -> User {
    let p = login::accounts::Provision {
        login_id: login_id.to_owned(),
        password: PASSWORD.to_owned(),
        name: "공무원".to_owned(),
        phone: devstack::phone::unique().dashed,
        role: login::accounts::Role::Official,
        scopes: OFFICIAL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        agency: Some(agency.to_owned()),
    };
    provision_on(login, p).await
}
