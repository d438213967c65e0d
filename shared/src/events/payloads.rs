//! The `data` of each event type: written by the function that makes the change,
//! read by `alert-sms`. Field names are the JSON names in camelCase; money is in
//! won (`...Krw`). They carry ids, codes and amounts, never a phone number or a
//! name: `alert-sms` looks the phone number up itself.

use serde::{Deserialize, Serialize};

use super::Payload;

macro_rules! payload {
    ($name:ident, $type:literal) => {
        impl Payload for $name {
            const TYPE: &'static str = $type;
        }
    };
}

/// A device key was registered (security notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRegistered {
    /// The new device.
    pub device_id: String,
    /// Its name as the citizen gave it (1-64 characters).
    pub device_name: String,
}
payload!(DeviceRegistered, "auth.device_registered");

/// A loginId was locked after repeated failed sign-ins (security notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLocked {
    /// When the lock ends, RFC 3339.
    pub locked_until: String,
}
payload!(AccountLocked, "auth.locked");

/// A used refresh token was presented again; the sign-in was revoked
/// (security notice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshReused {
    /// The revoked sign-in.
    pub family_id: String,
}
payload!(RefreshReused, "auth.refresh_reused");

/// A certificate was issued to the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateIssued {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// The certificate type (`land-register`, ...).
    #[serde(rename = "type")]
    pub kind: String,
}
payload!(CertificateIssued, "certificate.issued");

/// The citizen revoked a certificate (not texted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRevoked {
    /// `NNNN-NNNN-NNNN-NNNN`.
    pub issue_number: String,
    /// The certificate type.
    #[serde(rename = "type")]
    pub kind: String,
}
payload!(CertificateRevoked, "certificate.revoked");

/// A local-tax refund was claimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequested {
    /// The refund.
    pub refund_id: String,
    /// The overpayment claimed.
    pub amount_krw: i64,
    /// Arrears offset first.
    pub offset_krw: i64,
    /// What will be paid out.
    pub payable_krw: i64,
}
payload!(RefundRequested, "refund.requested");

/// An official approved a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundApproved {
    /// The refund.
    pub refund_id: String,
    /// What will be paid out.
    pub payable_krw: i64,
}
payload!(RefundApproved, "refund.approved");

/// An official rejected a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRejected {
    /// The refund.
    pub refund_id: String,
    /// The official's reason, as written.
    pub reason: String,
}
payload!(RefundRejected, "refund.rejected");

/// A refund was paid into the citizen's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundPaid {
    /// The refund.
    pub refund_id: String,
    /// What was paid.
    pub payable_krw: i64,
    /// The 3-digit code of the receiving bank.
    pub bank_code: String,
}
payload!(RefundPaid, "refund.paid");

/// The citizen submitted a hazard report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportSubmitted {
    /// The report.
    pub report_id: String,
    /// Its category (`road-damage`, ...).
    pub category: String,
}
payload!(ReportSubmitted, "report.submitted");

/// An official changed the status of the citizen's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportStatusChanged {
    /// The report.
    pub report_id: String,
    /// Its category.
    pub category: String,
    /// The new status (`accepted`, `in-progress`, `resolved`, `rejected`).
    pub status: String,
}
payload!(ReportStatusChanged, "report.status_changed");

/// An official asked the citizen for consent to look up documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequested {
    /// The consent.
    pub consent_id: String,
    /// The official's agency (2-digit province code).
    pub agency: String,
    /// The petition it is for, as the official named it.
    pub petition_name: String,
}
payload!(ConsentRequested, "consent.requested");

/// An official looked up one of the citizen's documents under a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentAccessed {
    /// The consent.
    pub consent_id: String,
    /// The official's agency (2-digit province code).
    pub agency: String,
    /// The document code (`resident-registration-abstract`, ...).
    pub document: String,
}
payload!(ConsentAccessed, "consent.accessed");

/// An emergency alert was approved and issued (`userId` is the approving
/// official). Carried to `alert-sms`'s delivery queue by its own outbox, never to
/// the `events` topic: it publishes the alert to the `alerts` topic and starts the
/// delivery to subscribed citizens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertIssued {
    /// The alert.
    pub alert_id: String,
}
payload!(AlertIssued, "alert.issued");

/// An issued emergency alert was cancelled (`userId` is the cancelling
/// official): a CAP `Cancel` is published to the `alerts` topic. A pending alert
/// cancelled was never public and records no event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertCancelled {
    /// The alert.
    pub alert_id: String,
}
payload!(AlertCancelled, "alert.cancelled");
