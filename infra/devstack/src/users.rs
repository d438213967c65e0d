//! Users for tests and benchmarks, made the way the phone makes them: an
//! account provisioned with login, signed in through login's HTTP handler
//! with its password, and, for strong (step-up) routes, a P-256 device key
//! registered with login and a device-key sign-in (`amr ["hwk"]`).

use login::accounts::Provision;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};

use crate::reply::{Reply, request};

/// A signed-in user.
pub struct User {
    /// The login id.
    pub login_id: String,
    /// The user id (`sub`).
    pub user_id: String,
    /// The mobile number, E.164.
    pub phone: String,
    /// A password sign-in's access token (`amr ["pwd"]`).
    pub token: String,
    /// A device-key sign-in's access token (`amr ["hwk"]`); empty until
    /// [`add_device`].
    pub strong: String,
    /// The registered device, after [`add_device`].
    pub device: Option<Device>,
}

/// A device key registered with login.
pub struct Device {
    /// Its id at login.
    pub device_id: String,
    /// The private key the phone keeps.
    pub key: SigningKey,
}

impl User {
    /// The device's signature of `message` (base64url DER ECDSA P-256 SHA-256).
    ///
    /// # Panics
    ///
    /// When the user has no device.
    pub fn sign(&self, message: &str) -> String {
        signature(&self.device().key, message)
    }

    /// The registered device.
    ///
    /// # Panics
    ///
    /// When the user has none.
    pub fn device(&self) -> &Device {
        self.device
            .as_ref()
            .expect("a user with a registered device")
    }

    /// The registered device's id.
    pub fn device_id(&self) -> String {
        self.device().device_id.clone()
    }
}

/// `key`'s signature of `message`: base64url DER ECDSA P-256 SHA-256, as
/// login's device sign-in and consent signatures take it.
pub fn signature(key: &SigningKey, message: &str) -> String {
    let signature: p256::ecdsa::Signature = key.sign(message.as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(signature.to_der().as_bytes())
}

/// A request to login's HTTP handler.
pub async fn login_call(
    login: &login::App,
    method: &str,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    Reply::from(
        login
            .handle(request(method, path, Some(&body), &headers))
            .await,
    )
}

/// Provisions `p` with `login` and signs in with its password.
///
/// # Panics
///
/// When provisioning or the sign-in fails.
pub async fn sign_in(login: &login::App, p: Provision) -> User {
    let phone = shared::phone::PhoneNumber::parse(&p.phone)
        .expect("a Korean mobile number")
        .e164()
        .to_owned();
    let (login_id, password) = (p.login_id.clone(), p.password.clone());
    let user_id = login::accounts::provision(login, p)
        .await
        .expect("the account is provisioned");
    let body = json!({"loginId": login_id, "password": password});
    let r = login_call(login, "POST", "/v1/auth/login", body, None).await;
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

/// Registers a fresh P-256 key as a device of `user` with `login` and signs
/// in with it: `user.strong` and `user.device` are set.
///
/// # Panics
///
/// When login refuses a step.
pub async fn add_device(login: &login::App, user: &mut User) {
    use p256::pkcs8::EncodePublicKey;
    let key = SigningKey::random(&mut rand_core::OsRng);
    let public = key
        .verifying_key()
        .to_public_key_der()
        .expect("a P-256 key encodes");
    let public = data_encoding::BASE64URL_NOPAD.encode(public.as_bytes());
    let body = json!({"deviceName": "Galaxy S26", "publicKey": public});
    let r = login_call(login, "POST", "/v1/auth/devices", body, Some(&user.token)).await;
    r.expect(201);
    let device_id = r.str("deviceId");
    let body = json!({"deviceId": device_id});
    let r = login_call(login, "POST", "/v1/auth/login/device/challenge", body, None).await;
    r.expect(200);
    let challenge = r.str("challenge");
    let body = json!({"deviceId": device_id, "challenge": challenge, "signature": signature(&key, &challenge)});
    let r = login_call(login, "POST", "/v1/auth/login/device", body, None).await;
    r.expect(200);
    user.strong = r.str("accessToken");
    user.device = Some(Device { device_id, key });
}
