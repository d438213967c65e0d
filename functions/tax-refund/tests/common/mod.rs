//! Test harness: a fresh stack on the emulator, the tax-refund App in-process,
//! citizens and officials provisioned and signed in through the real `login`
//! App (a strong sign-in is a device-key sign-in, as on the phone), the ledger
//! seeded from the demo file, and `alert-sms` in-process fed from its real
//! queue, so the texts the events cause land in the emulator's SMS log.
#![allow(dead_code)]

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::TestStack;
pub use devstack::reply::Reply;
use devstack::sqs_source::SqsSource;
use serde_json::{Value, json};
use shared::jwks::Authenticator;

pub struct Harness {
    pub stack: TestStack,
    pub app: tax_refund::App,
    pub login: login::App,
    pub sms: alert_sms::App,
    pub texts: SqsSource,
    pub sdk: shared::aws::SdkConfig,
}

/// A signed-in user: id, mobile number (E.164), a password token and a
/// device-key (strong) token.
pub use devstack::users::User;

pub const PASSWORD: &str = "Tax-refund-test-pass-1";
/// citizen3's two open overpayments and the arrear they offset.
pub const OP_2022: &str = "OP-B2022-30170-PROP-07";
pub const OP_2024: &str = "OP-B2024-30170-VEHI-06";
pub const OP_2020: &str = "OP-B2020-30170-RESI-08";
pub const ARREAR: &str = "B2025-30170-PROP-09";
/// An account number of the tests (never to appear anywhere but masked).
pub const ACCOUNT: &str = "110-2345-678901";
pub const ACCOUNT_DIGITS: &str = "1102345678901";

impl Harness {
    pub async fn new() -> Self {
        Self::build(None).await
    }

    /// The same, with tax-refund's AWS calls going through `faults` (login,
    /// alert-sms and the test's own reads do not).
    pub async fn with_faults(faults: &devstack::faults::Faults) -> Self {
        Self::build(Some(faults)).await
    }

    async fn build(faults: Option<&devstack::faults::Faults>) -> Self {
        let stack = TestStack::new().await;
        let env = stack.env("tax-refund");
        let sdk = shared::aws::sdk_config(&env).await;
        let login = login::App::from_env(&stack.env("login"), &sdk)
            .await
            .expect("login starts on the test stack");
        let auth = || Authenticator::Fixed(login.verifier().clone());
        let app_sdk = faults.map_or_else(|| sdk.clone(), |f| f.wrap(&sdk));
        let app = tax_refund::App::from_env(&env, &app_sdk)
            .expect("tax-refund starts on the test stack")
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

    async fn provision(&self, p: login::accounts::Provision) -> User {
        Self::provision_on(&self.login, p).await
    }

    /// Provisions and signs in through `login` (the issuer of the tokens),
    /// with a password and with a registered device key.
    pub async fn provision_on(login: &login::App, p: login::accounts::Provision) -> User {
        let mut user = devstack::users::sign_in(login, p).await;
        devstack::users::add_device(login, &mut user).await;
        user
    }

    /// A citizen named 이순신 with citizen3's demo ledger.
    pub async fn citizen3(&self, login_id: &str) -> User {
        self.citizen3_on(&self.login, login_id).await
    }

    /// The same, signed in through `login`.
    pub async fn citizen3_on(&self, login: &login::App, login_id: &str) -> User {
        let phone = devstack::phone::unique().dashed;
        let user = Self::provision_on(
            login,
            login::accounts::Provision::citizen(login_id, PASSWORD, "이순신", &phone),
        )
        .await;
        self.stack.seed_tax_ledger("citizen3", &user.user_id).await;
        user
    }

    /// A citizen with `demo`'s ledger under the name `name`.
    pub async fn taxpayer(&self, login_id: &str, name: &str, demo: &str) -> User {
        let phone = devstack::phone::unique().dashed;
        let user = self
            .provision(login::accounts::Provision::citizen(
                login_id, PASSWORD, name, &phone,
            ))
            .await;
        self.stack.seed_tax_ledger(demo, &user.user_id).await;
        user
    }

    /// An official with `scopes`.
    pub async fn official_with(&self, login_id: &str, scopes: &[&str]) -> User {
        Self::official_on(&self.login, login_id, scopes).await
    }

    /// The same, signed in through `login`.
    pub async fn official_on(login: &login::App, login_id: &str, scopes: &[&str]) -> User {
        Self::provision_on(
            login,
            login::accounts::Provision {
                login_id: login_id.to_owned(),
                password: PASSWORD.to_owned(),
                name: "공무원".to_owned(),
                phone: devstack::phone::unique().dashed,
                role: login::accounts::Role::Official,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                agency: Some("30".to_owned()),
            },
        )
        .await
    }

    /// An official with `tax:review`.
    pub async fn reviewer(&self, login_id: &str) -> User {
        self.official_with(login_id, &["tax:review"]).await
    }

    /// A request to tax-refund.
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("authorization", auth));
        }
        let req = devstack::reply::request(method, path, body.as_ref(), &all);
        Reply::from(self.app.handle_http(req).await)
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Some(token), "GET", path, None, &[]).await
    }

    /// A claim of `refundable_id` into the test account, with `key`.
    pub async fn claim_with(&self, who: &User, refundable_id: &str, key: &str) -> Reply {
        self.call(
            Some(&who.strong),
            "POST",
            "/v1/tax/refunds",
            Some(claim_body(refundable_id)),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// A claim with a fresh key.
    pub async fn claim(&self, who: &User, refundable_id: &str) -> Reply {
        self.claim_with(who, refundable_id, &shared::random::token::<12>())
            .await
    }

    /// A decision at `version`.
    pub async fn decide(&self, who: &User, id: &str, version: u64, body: Value) -> Reply {
        let etag = format!("\"{version}\"");
        self.call(
            Some(&who.token),
            "POST",
            &format!("/v1/tax/refunds/{id}/decision"),
            Some(body),
            &[("if-match", &etag)],
        )
        .await
    }

    /// A payment at `version`.
    pub async fn pay(&self, who: &User, id: &str, version: u64) -> Reply {
        let etag = format!("\"{version}\"");
        self.call(
            Some(&who.token),
            "POST",
            &format!("/v1/tax/refunds/{id}/payment"),
            None,
            &[("if-match", &etag)],
        )
        .await
    }

    /// The citizen's bills, by id: `(paidKrw, status)`.
    pub async fn bills(&self, who: &User) -> Vec<(String, i64, String)> {
        let r = self.get(&who.token, "/v1/tax/bills").await;
        r.expect(200);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["billId"].as_str().unwrap().to_owned(),
                    b["paidKrw"].as_i64().unwrap(),
                    b["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The ids of the citizen's open overpayments.
    pub async fn eligible(&self, who: &User) -> Vec<String> {
        let r = self.get(&who.token, "/v1/tax/refunds/eligible").await;
        r.expect(200);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["refundableId"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The stored bill item of `bill_id` (`openKrw`, `reservedKrw`).
    pub async fn bill_item(&self, who: &User, year: i32, bill_id: &str) -> (i64, i64) {
        let table = &self.stack.physical("TaxLedgerTable").unwrap().reference;
        let out = aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("TAXPAYER#{}", who.user_id)))
            .key("sk", AttributeValue::S(format!("BILL#{year}#{bill_id}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let item = out.item.expect("the bill");
        let n = |name: &str| item[name].as_n().unwrap().parse::<i64>().unwrap();
        (n("openKrw"), n("reservedKrw"))
    }

    /// Every item of a table, as text in a stable order (to compare before
    /// and after, and to look for what must not be there).
    pub async fn dump(&self, logical_id: &str) -> String {
        let table = &self.stack.physical(logical_id).unwrap().reference;
        let out = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(table)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let mut items: Vec<String> = out
            .items()
            .iter()
            .map(|item| {
                let sorted: std::collections::BTreeMap<_, _> = item.iter().collect();
                format!("{sorted:?}")
            })
            .collect();
        items.sort();
        items.join("\n")
    }

    /// The events written by tax-refund, in the order written.
    pub async fn refund_events(&self) -> Vec<Value> {
        let mut events = self.stack.outbox("TaxRefundTable").await;
        events.sort_by(|a, b| a["occurredAt"].as_str().cmp(&b["occurredAt"].as_str()));
        events
    }

    /// Carries the outbox to the events topic and feeds alert-sms from its
    /// queue until it is empty; the texts then on `who`'s phone.
    pub async fn texts(&self, who: &User) -> Vec<String> {
        loop {
            self.stack.carry_events().await;
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
        self.stack.texts_to(&who.phone).await
    }
}

/// A claim body into the test account, in 이순신's name.
pub fn claim_body(refundable_id: &str) -> Value {
    json!({
        "refundableId": refundable_id,
        "bankCode": "088",
        "accountNumber": ACCOUNT,
        "accountHolder": "이순신",
    })
}
