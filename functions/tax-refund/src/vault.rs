//! The refund's account number under the template's KMS key. Encrypted at the
//! claim, decrypted only by the payment step, each time with an encryption
//! context that binds the ciphertext to its refund and citizen (a ciphertext
//! copied onto another refund does not decrypt). The function's role may only
//! `kms:Encrypt` and `kms:Decrypt` with this one key.

use std::collections::HashMap;

use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;

use crate::account::AccountNumber;

/// What the ciphertext is bound to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The refund.
    pub refund_id: &'a str,
    /// Its citizen.
    pub user_id: &'a str,
}

impl Binding<'_> {
    fn context(&self) -> HashMap<String, String> {
        HashMap::from([
            (
                "purpose".to_owned(),
                "pocketgov tax refund account".to_owned(),
            ),
            ("refundId".to_owned(), self.refund_id.to_owned()),
            ("userId".to_owned(), self.user_id.to_owned()),
        ])
    }
}

/// KMS failed or refused (the message never holds the plaintext).
#[derive(Debug, thiserror::Error)]
#[error("kms: {0}")]
pub struct VaultError(String);

/// The KMS key of account numbers.
#[derive(Debug, Clone)]
pub struct Vault {
    kms: Client,
    key_id: String,
}

impl Vault {
    /// The key `key_id` (id, ARN or alias).
    pub fn new(kms: Client, key_id: impl Into<String>) -> Self {
        Self {
            kms,
            key_id: key_id.into(),
        }
    }

    /// Encrypts `account` for `binding`: base64 of the KMS ciphertext blob.
    pub async fn seal(
        &self,
        account: &AccountNumber,
        binding: Binding<'_>,
    ) -> Result<String, VaultError> {
        let out = self
            .kms
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(account.digits().as_bytes()))
            .set_encryption_context(Some(binding.context()))
            .send()
            .await
            .map_err(|e| VaultError(DisplayErrorContext(e).to_string()))?;
        let blob = out
            .ciphertext_blob
            .ok_or_else(|| VaultError("Encrypt returned no ciphertext".into()))?;
        Ok(data_encoding::BASE64.encode(blob.as_ref()))
    }

    /// Decrypts what [`Vault::seal`] made for the same `binding`.
    pub async fn open(
        &self,
        sealed: &str,
        binding: Binding<'_>,
    ) -> Result<AccountNumber, VaultError> {
        let blob = data_encoding::BASE64
            .decode(sealed.as_bytes())
            .map_err(|_| VaultError("the stored ciphertext is not base64".into()))?;
        let out = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(blob))
            .set_encryption_context(Some(binding.context()))
            .send()
            .await
            .map_err(|e| VaultError(DisplayErrorContext(e).to_string()))?;
        let plain = out
            .plaintext
            .ok_or_else(|| VaultError("Decrypt returned no plaintext".into()))?;
        let text = std::str::from_utf8(plain.as_ref())
            .map_err(|_| VaultError("the decrypted account is not text".into()))?;
        AccountNumber::parse(text)
            .map_err(|_| VaultError("the decrypted account is not an account number".into()))
    }
}
