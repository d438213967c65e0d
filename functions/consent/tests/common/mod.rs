//! Test harness: a fresh stack on the emulator, the consent App in-process,
//! citizens and officials provisioned and signed in through the real `login`
//! App (citizens register a P-256 device key with login and sign in with it,
//! as on the phone), and `alert-sms` in-process fed from its real queue, so
//! the texts the events cause land in the emulator's SMS log. With
//! [`Harness::with_faults`] only consent's own AWS calls go through the
//! fault switchboard; login, alert-sms and the test's reads do not.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsEvent;
use devstack::TestStack;
use devstack::faults::Faults;
pub use devstack::reply::Reply;
use devstack::sqs_source::SqsSource;
pub use devstack::users::{self, User};
use serde_json::{Value, json};
use shared::aws::SdkConfig;
use shared::jwks::Authenticator;

pub const PASSWORD: &str = "Consent-test-pass-1";
pub const OFFICIAL_SCOPES: &[&str] = &["consent:request"];

pub struct Harness {
    pub stack: TestStack,
    pub app: consent::App,
    pub login: login::App,
    pub sms: alert_sms::App,
    pub texts: SqsSource,
    /// The plain SDK configuration (for the test's own reads).
    pub sdk: SdkConfig,
}

impl Harness {
    pub async fn new() -> Self {
        Self::build(SdkConfig::clone).await
    }

    /// The same, with consent's AWS calls going through `faults`.
    pub async fn with_faults(faults: &Faults) -> Self {
        Self::build(|sdk| faults.wrap(sdk)).await
    }

    async fn build(app_sdk: impl FnOnce(&SdkConfig) -> SdkConfig) -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("consent");
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&stack.env("login"), &sdk)
            .await
            .expect("login starts on the test stack");
        let auth = || Authenticator::Fixed(login.verifier().clone());
        let app = consent::App::from_env(&env, &app_sdk(&sdk))
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
            sdk,
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

/// A citizen with a device key registered with login, signed in with it.
pub async fn citizen_on(login: &login::App, login_id: &str) -> User {
    let phone = devstack::phone::unique().dashed;
    let p = login::accounts::Provision::citizen(login_id, PASSWORD, "홍길동", &phone);
    let mut user = users::sign_in(login, p).await;
    users::add_device(login, &mut user).await;
    user
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
    users::sign_in(login, p).await
}
