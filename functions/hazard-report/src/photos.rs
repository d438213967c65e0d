//! Report photos in the private bucket. The phone uploads each one with a
//! presigned POST ([`shared::s3post`]) to `drafts/<reportId>/<photoId>`,
//! limited by S3 to the declared type and size for 900 s. At submission each
//! draft is checked (present, no larger than declared, first bytes of its
//! type), JPEGs lose their metadata, and the result is written to
//! `photos/<reportId>/<photoId>`, the only key download URLs point to; the
//! draft is deleted (and expires after a day anyway).

use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use shared::aws::SdkConfig;
use shared::s3post::{Credentials, PresignedPost, Upload, presign};

use crate::photo::{Kind, strip_jpeg_metadata};
use crate::store::Photo;

/// How long an upload form is valid.
pub const UPLOAD_SECS: i64 = 900;
/// How long a download URL is valid.
pub const DOWNLOAD_SECS: u64 = 300;

/// Why a photo cannot be accepted (422 `report.photo_missing` /
/// `report.photo_invalid`), or the bucket failed.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not uploaded (or not under its key).
    #[error("photo {0} was not uploaded")]
    Missing(String),
    /// Larger than declared, another type, or not an image of its type.
    #[error("photo {0} is not the image declared")]
    Invalid(String),
    /// S3 or the credentials failed.
    #[error("s3: {0}")]
    Storage(String),
}

/// The photo bucket.
#[derive(Debug, Clone)]
pub struct Photos {
    sdk: SdkConfig,
    s3: Client,
    bucket: String,
    bucket_url: String,
    region: String,
}

fn draft_key(report_id: &str, photo_id: &str) -> String {
    format!("drafts/{report_id}/{photo_id}")
}

fn photo_key(report_id: &str, photo_id: &str) -> String {
    format!("photos/{report_id}/{photo_id}")
}

impl Photos {
    /// The bucket `bucket`; `endpoint` is the emulator's URL locally (path-
    /// style addressing), `None` in AWS.
    pub fn new(sdk: &SdkConfig, bucket: impl Into<String>, endpoint: Option<&str>) -> Self {
        let bucket = bucket.into();
        let region = sdk.region().map_or_else(
            || shared::aws::DEFAULT_REGION.to_owned(),
            ToString::to_string,
        );
        let s3 = Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(endpoint.is_some())
                .build(),
        );
        let bucket_url = match endpoint {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        Self {
            sdk: sdk.clone(),
            s3,
            bucket,
            bucket_url,
            region,
        }
    }

    /// The presigned POST of one declared photo, valid [`UPLOAD_SECS`].
    pub async fn upload_form(
        &self,
        report_id: &str,
        photo: &Photo,
        now: DateTime<Utc>,
    ) -> Result<PresignedPost, PhotoError> {
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| PhotoError::Storage("no credentials provider".into()))?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| PhotoError::Storage(format!("credentials: {e}")))?;
        let credentials = Credentials {
            access_key_id: creds.access_key_id().to_owned(),
            secret_access_key: creds.secret_access_key().to_owned(),
            session_token: creds.session_token().map(str::to_owned),
        };
        let upload = Upload {
            bucket: self.bucket.clone(),
            key: draft_key(report_id, &photo.photo_id),
            content_type: photo.content_type.clone(),
            min_bytes: 1,
            max_bytes: photo.size_bytes,
        };
        Ok(presign(
            &upload,
            &credentials,
            &self.region,
            &self.bucket_url,
            now,
            UPLOAD_SECS,
        ))
    }

    /// Checks the uploaded draft of `photo` and keeps it (a JPEG without its
    /// metadata) under its final key; the draft is then deleted.
    pub async fn accept(&self, report_id: &str, photo: &Photo) -> Result<(), PhotoError> {
        let draft = draft_key(report_id, &photo.photo_id);
        let id = || photo.photo_id.clone();
        let object = match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(&draft)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key);
                return Err(if missing {
                    // Accepted by an earlier attempt of this submission?
                    if self.is_kept(report_id, photo).await? {
                        return Ok(());
                    }
                    PhotoError::Missing(id())
                } else {
                    PhotoError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
                });
            }
        };
        let declared = Kind::from_content_type(&photo.content_type)
            .ok_or_else(|| PhotoError::Invalid(id()))?;
        let too_big = object
            .content_length()
            .is_some_and(|n| u64::try_from(n).unwrap_or(u64::MAX) > photo.size_bytes);
        if too_big {
            return Err(PhotoError::Invalid(id()));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| PhotoError::Storage(format!("reading the draft: {e}")))?
            .into_bytes();
        if bytes.len() as u64 > photo.size_bytes
            || !declared.matches(&bytes[..bytes.len().min(Kind::SNIFF_BYTES)])
        {
            return Err(PhotoError::Invalid(id()));
        }
        let kept = match declared {
            Kind::Jpeg => strip_jpeg_metadata(&bytes).map_err(|_| PhotoError::Invalid(id()))?,
            _ => bytes.to_vec(),
        };
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(photo_key(report_id, &photo.photo_id))
            .content_type(declared.content_type())
            .body(ByteStream::from(kept))
            .send()
            .await
            .map_err(|e| {
                PhotoError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        // The draft would expire anyway; a failed delete is not the client's problem.
        if let Err(e) = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&draft)
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(e), "draft photo not deleted");
        }
        Ok(())
    }

    /// Whether the photo was accepted already (kept under its final key).
    async fn is_kept(&self, report_id: &str, photo: &Photo) -> Result<bool, PhotoError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(photo_key(report_id, &photo.photo_id))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(e) => Err(PhotoError::Storage(
                aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    /// A presigned GET of the kept photo, valid [`DOWNLOAD_SECS`].
    pub async fn download_url(&self, report_id: &str, photo: &Photo) -> Result<String, PhotoError> {
        let config = PresigningConfig::expires_in(Duration::from_secs(DOWNLOAD_SECS))
            .map_err(|e| PhotoError::Storage(e.to_string()))?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(photo_key(report_id, &photo.photo_id))
            .presigned(config)
            .await
            .map_err(|e| {
                PhotoError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(request.uri().to_owned())
    }
}
