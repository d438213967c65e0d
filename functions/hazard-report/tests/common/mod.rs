//! Test harness: a fresh stack, the hazard-report App in-process with tokens
//! from the real `login` App, and uploads through the presigned POSTs the
//! function returns.
#![allow(dead_code)]

use devstack::TestStack;
pub use devstack::reply::Reply;
use serde_json::{Value, json};
use shared::jwks::Authenticator;

pub const PASSWORD: &str = "Hazard-report-test-pass-1";

pub struct H {
    pub stack: TestStack,
    pub app: hazard_report::App,
    pub login: login::App,
}

impl H {
    pub async fn new() -> H {
        let stack = TestStack::new().await;
        let env = stack.env("hazard-report");
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&stack.env("login"), &sdk)
            .await
            .unwrap();
        let app = hazard_report::App::from_env(&env, &sdk)
            .unwrap()
            .with_authenticator(Authenticator::Fixed(login.verifier().clone()));
        H { stack, app, login }
    }

    pub async fn user(&self, login_id: &str, scopes: &[&str]) -> String {
        let mut p = login::accounts::Provision::citizen(
            login_id,
            PASSWORD,
            "홍길동",
            &devstack::phone::unique().dashed,
        );
        if !scopes.is_empty() {
            p.role = login::accounts::Role::Official;
            p.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
            p.agency = Some("11".into());
        }
        devstack::users::sign_in(&self.login, p).await.token
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

    pub async fn create(
        &self,
        token: &str,
        category: &str,
        at: (f64, f64),
        photos: &[(&str, usize)],
    ) -> Reply {
        let photos: Vec<Value> = photos
            .iter()
            .map(|(t, n)| json!({"contentType": t, "sizeBytes": n}))
            .collect();
        self.call(
            token,
            "POST",
            "/v1/reports",
            Some(json!({"category": category, "description": "보도블록이 깨졌습니다", "location": {"lat": at.0, "lon": at.1}, "photos": photos})),
            &[("idempotency-key", &shared::random::token::<12>())],
        )
        .await
    }
}

pub async fn upload(form: &Value, bytes: Vec<u8>) -> u16 {
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in form["fields"].as_object().unwrap() {
        multipart = multipart.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("photo"),
    );
    reqwest::Client::new()
        .post(form["url"].as_str().unwrap())
        .multipart(multipart)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

pub fn gps_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(
        0xE1,
        b"Exif\0\0MM\0*GPSLatitude 37.5665 Galaxy S26",
    ));
    j.extend(segment(0xDB, &[1u8; 65]));
    j.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 0x12, 0x34, 0xFF, 0xD9,
    ]);
    j
}

pub const HERE: (f64, f64) = (37.5665, 126.978);
