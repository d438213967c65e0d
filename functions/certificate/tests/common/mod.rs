//! Test harness: a fresh stack on the emulator with the registers seeded, the
//! certificate App in-process, and citizens signed in through the real `login`
//! App (so the access tokens are the ones clients get).
#![allow(dead_code)]

use std::sync::Arc;

use devstack::TestStack;
pub use devstack::reply::Reply;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use shared::jwks::Authenticator;

pub struct Harness {
    pub stack: TestStack,
    pub login: login::App,
    pub app: certificate::App,
}

/// A signed-in citizen.
pub struct Citizen {
    pub user_id: String,
    pub token: String,
}

pub const PASSWORD: &str = "correct-Horse-battery-7";
pub const DAY: i64 = 86_400;

impl Harness {
    pub async fn new() -> Self {
        Self::build(None).await
    }

    /// The same, with the certificate App's AWS calls going through `faults`
    /// (login and the test's own reads do not).
    pub async fn with_faults(faults: &devstack::faults::Faults) -> Self {
        Self::build(Some(faults)).await
    }

    async fn build(faults: Option<&devstack::faults::Faults>) -> Self {
        let stack = TestStack::new().await;
        stack.seed_registers().await;
        let env = stack.env("login");
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&env, &sdk)
            .await
            .expect("login starts on the test stack");
        let app = Self::certificate_app_with(&stack, &login, None, faults).await;
        Self { stack, login, app }
    }

    /// A certificate App on the same stack; with `shift`, its clock runs that
    /// many seconds behind (a certificate issued by it is that old).
    pub async fn certificate_app(
        stack: &TestStack,
        login: &login::App,
        shift: Option<i64>,
    ) -> certificate::App {
        Self::certificate_app_with(stack, login, shift, None).await
    }

    /// The same, its AWS calls going through `faults` when given.
    pub async fn certificate_app_with(
        stack: &TestStack,
        login: &login::App,
        shift: Option<i64>,
        faults: Option<&devstack::faults::Faults>,
    ) -> certificate::App {
        let env = stack.env("certificate");
        let sdk = shared::aws::sdk_config(&env).await;
        let sdk = faults.map_or_else(|| sdk.clone(), |f| f.wrap(&sdk));
        let app = certificate::App::from_env(&env, &sdk)
            .await
            .expect("certificate starts on the test stack")
            .with_authenticator(Authenticator::Fixed(login.verifier().clone()));
        match shift {
            Some(secs) => app.with_clock(Arc::new(move || shared::time::now_secs() - secs)),
            None => app,
        }
    }

    /// Signs up `login_id` and signs in.
    pub async fn citizen(&self, login_id: &str) -> Citizen {
        let r = self
            .call(
                &self.login,
                "POST",
                "/v1/auth/signup",
                Some(json!({"loginId": login_id, "password": PASSWORD, "name": "홍길동", "phone": "010-1234-5678"})),
                &[],
            )
            .await;
        r.expect(201);
        let user_id = r.str("userId");
        let r = self
            .call(
                &self.login,
                "POST",
                "/v1/auth/login",
                Some(json!({"loginId": login_id, "password": PASSWORD})),
                &[],
            )
            .await;
        r.expect(200);
        Citizen {
            user_id,
            token: r.str("accessToken"),
        }
    }

    /// A citizen whose tax ledger is demo citizen `demo`'s.
    pub async fn taxpayer(&self, login_id: &str, demo: &str) -> Citizen {
        let c = self.citizen(login_id).await;
        self.stack.seed_tax_ledger(demo, &c.user_id).await;
        c
    }

    pub async fn call(
        &self,
        app: &impl Handle,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let req = devstack::reply::request(method, path, body.as_ref(), headers);
        reply(app.handle_request(req).await)
    }

    /// A response as a client sees it.
    pub fn reply(&self, response: lambda_http::Response<Body>) -> Reply {
        reply(response)
    }

    /// A request to the certificate function as `who`.
    pub async fn send(
        &self,
        who: &Citizen,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let auth = format!("Bearer {}", who.token);
        self.call(&self.app, method, path, body, &[("authorization", &auth)])
            .await
    }

    pub async fn get(&self, who: &Citizen, path: &str) -> Reply {
        self.send(who, "GET", path, None).await
    }

    /// Issues a certificate with a fresh Idempotency-Key.
    pub async fn issue(&self, who: &Citizen, body: Value) -> Reply {
        self.issue_on(&self.app, who, body, &shared::random::token::<12>())
            .await
    }

    pub async fn issue_on(
        &self,
        app: &certificate::App,
        who: &Citizen,
        body: Value,
        key: &str,
    ) -> Reply {
        let auth = format!("Bearer {}", who.token);
        self.call(
            app,
            "POST",
            "/v1/certificates",
            Some(body),
            &[("authorization", &auth), ("idempotency-key", key)],
        )
        .await
    }

    /// Uploads `pdf` to the public verify endpoint.
    pub async fn verify_pdf(&self, pdf: &[u8], content_type: &str) -> Reply {
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/certificates/verify")
            .header("content-type", content_type)
            .body(Body::Binary(pdf.to_vec()))
            .unwrap();
        reply(self.app.handle(req).await)
    }

    /// The public verification by number.
    pub async fn verify_number(&self, no: &str) -> Reply {
        self.call(
            &self.app,
            "GET",
            &format!("/v1/certificates/{no}/verification"),
            None,
            &[],
        )
        .await
    }
}

/// Downloads a presigned URL as a client would (plain HTTP GET, no AWS
/// credentials).
pub async fn download(url: &str) -> (u16, String, Vec<u8>) {
    let r = reqwest::get(url).await.expect("the download URL answers");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, r.bytes().await.unwrap().to_vec())
}

/// The text of every page of `pdf`.
pub fn pdf_text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("extractable text")
}

/// Reads the QR code printed on the last page of `pdf`, as a scanner would, but
/// from the drawing itself: the document's image (one grey pixel per module, the
/// quiet zone of 4 modules around the symbol) becomes the module grid, which a
/// QR decoder (rqrr) decodes.
pub fn qr_payload(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    // The QR code is the document's one image (on its last page).
    let image = doc
        .objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .find(|s| {
            s.dict.get(b"Subtype").and_then(lopdf::Object::as_name).ok()
                == Some(b"Image".as_slice())
        })
        .expect("an image in the PDF");
    let width = image
        .dict
        .get(b"Width")
        .and_then(lopdf::Object::as_i64)
        .expect("Width") as usize;
    let height = image
        .dict
        .get(b"Height")
        .and_then(lopdf::Object::as_i64)
        .expect("Height") as usize;
    assert_eq!(width, height, "a square QR image");
    let pixels = image.decompressed_content().expect("the image's pixels");
    assert_eq!(pixels.len(), width * height, "8-bit grey pixels");
    let size = width - 8;
    let bits: Vec<Vec<bool>> = (0..size)
        .map(|row| {
            (0..size)
                .map(|col| pixels[(row + 4) * width + col + 4] < 0x80)
                .collect()
        })
        .collect();
    // The quiet zone is white.
    assert!(pixels[..4 * width].iter().all(|&p| p >= 0x80), "quiet zone");
    struct Modules(Vec<Vec<bool>>);
    impl rqrr::BitGrid for Modules {
        fn size(&self) -> usize {
            self.0.len()
        }
        fn bit(&self, y: usize, x: usize) -> bool {
            self.0[y][x]
        }
    }
    rqrr::Grid::new(Modules(bits))
        .decode()
        .expect("the QR code decodes")
        .1
}

fn reply(response: lambda_http::Response<Body>) -> Reply {
    Reply::from(response)
}

/// Either function, for [`Harness::call`].
pub trait Handle {
    fn handle_request(
        &self,
        req: Request,
    ) -> impl std::future::Future<Output = lambda_http::Response<Body>>;
}

impl Handle for login::App {
    async fn handle_request(&self, req: Request) -> lambda_http::Response<Body> {
        self.handle(req).await
    }
}

impl Handle for certificate::App {
    async fn handle_request(&self, req: Request) -> lambda_http::Response<Body> {
        self.handle(req).await
    }
}
