//! Accounts: citizen signup, official provisioning, and reading profiles.
//!
//! Items: `USER#<userId>/PROFILE` holds the profile; `LOGINID#<loginId>/LOGINID`
//! makes loginIds unique and holds the credential (user id and password hash), so
//! a password check is one read whether or not the loginId exists: an unknown
//! loginId costs the same reads and the same argon2 work as a wrong password.
//! Both are written in one transaction. Both are mapped with serde_dynamo: the
//! profile is an [`Account`] (plus `createdAt`), the credential a
//! [`Credential`]. Other readers of these items: `consent` (the credential's
//! `userId`, the profile's `role`) and `alert-sms` (the profile's `phone`).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use shared::auth::Role as TokenRole;
use shared::phone::PhoneNumber;

use crate::App;
use crate::db::{self, Item, StoreError, n};
use crate::error::LoginError;
use crate::inputs::{LoginId, NewPassword};

/// The kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A citizen.
    Citizen,
    /// A civil servant.
    Official,
}

impl From<Role> for TokenRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Citizen => TokenRole::Citizen,
            Role::Official => TokenRole::Official,
        }
    }
}

/// A stored account: the profile item `USER#<userId>/PROFILE` (which also
/// holds `createdAt` and `otpLastStep`, written by their own requests).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// User id.
    pub user_id: String,
    /// Login id.
    pub login_id: String,
    /// Registered name.
    pub name: String,
    /// Mobile number (stored in E.164).
    #[serde(with = "stored_phone")]
    pub phone: PhoneNumber,
    /// Role (`citizen` or `official`).
    pub role: TokenRole,
    /// Scopes (officials); stored even when empty, and absent on profiles
    /// seeded without it (alert-sms's benchmark writes such profiles).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Agency code (officials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// Confirmed TOTP secret: when set, OTP is required at password login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_secret: Option<String>,
    /// TOTP secret awaiting confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_pending: Option<String>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The phone number as the profile stores it: its E.164 string, which other
/// functions (alert-sms) read as it is.
mod stored_phone {
    use serde::{Deserialize, Deserializer, Serializer};
    use shared::phone::PhoneNumber;

    /// Writes the E.164 string.
    pub fn serialize<S: Serializer>(phone: &PhoneNumber, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(phone.e164())
    }

    /// Reads the E.164 string as it was written.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PhoneNumber, D::Error> {
        String::deserialize(d).map(PhoneNumber::from_stored)
    }
}

/// A validated signup.
#[derive(Debug)]
pub struct Signup {
    /// Login id.
    pub login_id: LoginId,
    /// Password (already checked for strength).
    pub password: NewPassword,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: PhoneNumber,
}

/// An account to provision (devstack's demo data, or an administrator's tool).
#[derive(Debug, Clone)]
pub struct Provision {
    /// Login id.
    pub login_id: String,
    /// Password.
    pub password: String,
    /// Name.
    pub name: String,
    /// Phone in any usual Korean form.
    pub phone: String,
    /// Role.
    pub role: Role,
    /// Scopes (officials).
    pub scopes: Vec<String>,
    /// Agency code (officials).
    pub agency: Option<String>,
}

impl Provision {
    /// A citizen account (no scopes, no agency).
    pub fn citizen(login_id: &str, password: &str, name: &str, phone: &str) -> Self {
        Self {
            login_id: login_id.to_owned(),
            password: password.to_owned(),
            name: name.to_owned(),
            phone: phone.to_owned(),
            role: Role::Citizen,
            scopes: Vec::new(),
            agency: None,
        }
    }
}

/// Provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A field is invalid.
    #[error("`{field}` is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a citizen; 409 `auth.login_id_taken` if the loginId exists.
pub async fn signup(app: &App, signup: Signup) -> Result<String, LoginError> {
    let hash = app.hasher.hash(signup.password.expose());
    create(
        app,
        NewAccount {
            login_id: signup.login_id.as_str(),
            name: &signup.name,
            phone: &signup.phone,
            role: Role::Citizen,
            scopes: &[],
            agency: None,
            password_hash: &hash,
        },
    )
    .await
}

/// Creates an account of any role. An existing loginId is left untouched and
/// its user id returned, so provisioning can run on every `cargo dev`.
pub async fn provision(app: &App, p: Provision) -> Result<String, ProvisionError> {
    let invalid = |field, reason: shared::http::Invalid| ProvisionError::Invalid {
        field,
        reason: reason.en().to_owned(),
    };
    let login_id = LoginId::parse(&p.login_id).map_err(|e| invalid("loginId", e))?;
    let phone = PhoneNumber::parse(&p.phone).map_err(|e| invalid("phone", e))?;
    let name = crate::inputs::name(&p.name).map_err(|e| invalid("name", e))?;
    // Operator-chosen passwords (such as design.md's demo `Citizen1-pocketgov` for
    // `citizen1`) are held to length and the common list, not to signup's rule
    // against containing the loginId.
    if let Some(reason) = crate::inputs::weak_password(&p.password, None) {
        return Err(invalid("password", reason));
    }
    if let Some(existing) = user_id_of(app, login_id.as_str()).await? {
        return Ok(existing);
    }
    let hash = app.hasher.hash(&p.password);
    let result = create(
        app,
        NewAccount {
            login_id: login_id.as_str(),
            name: &name,
            phone: &phone,
            role: p.role,
            scopes: &p.scopes,
            agency: p.agency.as_deref(),
            password_hash: &hash,
        },
    )
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(LoginError::LoginIdTaken) => Ok(user_id_of(app, login_id.as_str())
            .await?
            .unwrap_or_default()),
        Err(LoginError::Store(e)) => Err(e.into()),
        Err(other) => Err(StoreError(other.to_string()).into()),
    }
}

struct NewAccount<'a> {
    login_id: &'a str,
    name: &'a str,
    phone: &'a PhoneNumber,
    role: Role,
    scopes: &'a [String],
    agency: Option<&'a str>,
    password_hash: &'a str,
}

async fn create(app: &App, a: NewAccount<'_>) -> Result<String, LoginError> {
    let user_id = shared::random::uuid();
    let account = Account {
        user_id: user_id.clone(),
        login_id: a.login_id.to_owned(),
        name: a.name.to_owned(),
        phone: a.phone.clone(),
        role: a.role.into(),
        scopes: a.scopes.to_vec(),
        agency: a.agency.map(str::to_owned),
        otp_secret: None,
        otp_pending: None,
    };
    let mut profile = db::keyed_item(profile_key(&user_id), &account)?;
    profile.insert("createdAt".to_owned(), n(shared::time::now_secs()));
    let pointer = db::keyed_item(
        credential_key(a.login_id),
        &Credential {
            user_id: user_id.clone(),
            password_hash: a.password_hash.to_owned(),
        },
    )?;
    let put = |item: Item| {
        Put::builder()
            .table_name(&app.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(StoreError::build)
    };
    let result = app
        .db
        .transact_write_items()
        .transact_items(put(pointer)?)
        .transact_items(put(profile)?)
        .send()
        .await;
    match result {
        Ok(_) => Ok(user_id),
        Err(e) => match db::cancellation_codes(&e) {
            Some(codes) if codes.first().is_some_and(|c| c == "ConditionalCheckFailed") => {
                Err(LoginError::LoginIdTaken)
            }
            _ => Err(StoreError::from_sdk(e).into()),
        },
    }
}

/// The key of `user_id`'s profile.
pub(crate) fn profile_key(user_id: &str) -> Item {
    db::key(format!("USER#{user_id}"), "PROFILE")
}

fn credential_key(login_id: &str) -> Item {
    db::key(format!("LOGINID#{login_id}"), "LOGINID")
}

/// The user id registered under `login_id`.
pub async fn user_id_of(app: &App, login_id: &str) -> Result<Option<String>, StoreError> {
    Ok(credential(app, login_id).await?.map(|c| c.user_id))
}

/// The account of `user_id`.
pub async fn load(app: &App, user_id: &str) -> Result<Option<Account>, StoreError> {
    db::get(app, profile_key(user_id)).await
}

/// What a password is checked against: the item `LOGINID#<loginId>/LOGINID`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The user.
    pub user_id: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// The credential registered under `login_id` (one read).
pub async fn credential(app: &App, login_id: &str) -> Result<Option<Credential>, StoreError> {
    db::get(app, credential_key(login_id)).await
}
