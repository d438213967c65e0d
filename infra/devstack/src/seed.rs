//! Demo data of the local stack (never the cloud): the public registers and the
//! local-tax ledger of the demo citizens, from `infra/devstack/data/`.

use shared::aws::SdkConfig;

use crate::deploy::Stack;
use crate::error::{Error, Result};

/// Logical id of the table of registers and certificates.
const CERTIFICATE_TABLE: &str = "CertificateTable";
/// Logical id of the local-tax ledger table.
const TAX_LEDGER_TABLE: &str = "TaxLedgerTable";

/// The register file: 48 fictional parcels in 8 provinces.
pub const REGISTERS_JSON: &str = include_str!("../data/registers.json");
/// The ledger file: bills and payments of `citizen1`, `citizen2` and `citizen3`.
pub const TAX_LEDGER_JSON: &str = include_str!("../data/tax-ledger.json");

fn seed_error(what: &str, message: impl ToString) -> Error {
    Error::Seed {
        what: what.to_owned(),
        message: message.to_string(),
    }
}

fn table(stack: &Stack, logical_id: &str) -> Result<String> {
    stack
        .physical(logical_id)
        .map(|p| p.reference.clone())
        .ok_or_else(|| seed_error(logical_id, "the template has no such table"))
}

/// Writes every parcel of the register file; returns the number of items.
pub async fn registers(stack: &Stack, sdk: &SdkConfig) -> Result<usize> {
    let file: certificate::registers::RegisterFile =
        serde_json::from_str(REGISTERS_JSON).map_err(|e| seed_error("registers.json", e))?;
    certificate::registers::import(
        &aws_sdk_dynamodb::Client::new(sdk),
        &table(stack, CERTIFICATE_TABLE)?,
        &file,
    )
    .await
    .map_err(|e| seed_error("the registers", e))
}

/// Writes the ledger of the demo account `login_id` under its `user_id`.
pub async fn tax_ledger(
    stack: &Stack,
    sdk: &SdkConfig,
    login_id: &str,
    user_id: &str,
) -> Result<()> {
    let file: tax_refund::records::import::LedgerFile =
        serde_json::from_str(TAX_LEDGER_JSON).map_err(|e| seed_error("tax-ledger.json", e))?;
    let taxpayer = file
        .taxpayers
        .iter()
        .find(|t| t.login_id == login_id)
        .ok_or_else(|| seed_error("the tax ledger", format!("no taxpayer `{login_id}`")))?;
    tax_refund::records::import::write(
        &aws_sdk_dynamodb::Client::new(sdk),
        &table(stack, TAX_LEDGER_TABLE)?,
        user_id,
        taxpayer,
    )
    .await
    .map_err(|e| seed_error(&format!("the tax ledger of `{login_id}`"), e))
}
