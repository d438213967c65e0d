//! Accounts: citizen signup, official provisioning, and reading profiles.
//!
//! Items: `USER#<userId>/PROFILE` holds the profile; `LOGINID#<loginId>/LOGINID`
//! makes loginIds unique and holds the credential (user id and password hash), so
//! a password check is one read whether or not the loginId exists: an unknown
//! loginId costs the same reads and the same argon2 work as a wrong password.
//! Both are written in one transaction.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::Deserialize;
use shared::auth::Role as TokenRole;
use shared::phone::PhoneNumber;

use crate::App;
use crate::db::{self, Item, StoreError, n, s, text};
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

/// A stored account.
#[derive(Clone)]
pub struct Account {
    /// User id.
    pub user_id: String,
    /// Login id.
    pub login_id: String,
    /// Registered name.
    pub name: String,
    /// Mobile number.
    pub phone: PhoneNumber,
    /// Role.
    pub role: TokenRole,
    /// Scopes (officials).
    pub scopes: Vec<String>,
    /// Agency code (officials).
    pub agency: Option<String>,
    /// Confirmed TOTP secret: when set, OTP is required at password login.
    pub otp_secret: Option<String>,
    /// TOTP secret awaiting confirmation.
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

impl Account {
    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            user_id: text(item, "userId")?,
            login_id: text(item, "loginId")?,
            name: text(item, "name")?,
            phone: PhoneNumber::from_stored(text(item, "phone")?),
            role: if text(item, "role")? == "official" {
                TokenRole::Official
            } else {
                TokenRole::Citizen
            },
            scopes: db::list(item, "scopes"),
            agency: text(item, "agency"),
            otp_secret: text(item, "otpSecret"),
            otp_pending: text(item, "otpPending"),
        })
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
    let now = shared::time::now_secs();
    let mut profile = db::key(format!("USER#{user_id}"), "PROFILE");
    profile.extend([
        ("userId".to_owned(), s(&user_id)),
        ("loginId".to_owned(), s(a.login_id)),
        ("name".to_owned(), s(a.name)),
        ("phone".to_owned(), s(a.phone.e164())),
        (
            "role".to_owned(),
            s(match a.role {
                Role::Citizen => "citizen",
                Role::Official => "official",
            }),
        ),
        ("scopes".to_owned(), db::str_list(a.scopes)),
        ("createdAt".to_owned(), n(now)),
    ]);
    if let Some(agency) = a.agency {
        profile.insert("agency".to_owned(), s(agency));
    }
    let mut pointer = db::key(format!("LOGINID#{}", a.login_id), "LOGINID");
    pointer.insert("userId".to_owned(), s(&user_id));
    pointer.insert("passwordHash".to_owned(), s(a.password_hash));
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

/// The user id registered under `login_id`.
pub async fn user_id_of(app: &App, login_id: &str) -> Result<Option<String>, StoreError> {
    let out = db::get(app, db::key(format!("LOGINID#{login_id}"), "LOGINID")).await?;
    Ok(out.as_ref().and_then(|i| text(i, "userId")))
}

/// The account of `user_id`.
pub async fn load(app: &App, user_id: &str) -> Result<Option<Account>, StoreError> {
    let out = db::get(app, db::key(format!("USER#{user_id}"), "PROFILE")).await?;
    Ok(out.as_ref().and_then(Account::from_item))
}

/// What a password is checked against.
pub struct Credential {
    /// The user.
    pub user_id: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// The credential registered under `login_id` (one read).
pub async fn credential(app: &App, login_id: &str) -> Result<Option<Credential>, StoreError> {
    let out = db::get(app, db::key(format!("LOGINID#{login_id}"), "LOGINID")).await?;
    Ok(out.as_ref().and_then(|i| {
        Some(Credential {
            user_id: text(i, "userId")?,
            password_hash: text(i, "passwordHash")?,
        })
    }))
}
