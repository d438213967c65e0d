//! Report photos through the stack's bucket on the emulator, as the phone
//! sends them: a presigned POST form per photo (its policy read back), the
//! file posted with it, then the check at submission: a missing photo, a text
//! file declared as PNG, and a JPEG whose EXIF (GPS, device) is gone from the
//! copy officials download.

use chrono::Utc;
use data_encoding::BASE64;
use devstack::TestStack;
use hazard_report::photos::{PhotoError, Photos};
use hazard_report::store::Photo;
use serde_json::{Value, json};

async fn photos() -> (TestStack, Photos) {
    let stack = TestStack::new().await;
    let sdk = stack.sdk_config().await;
    let bucket = stack
        .physical("HazardPhotoBucket")
        .expect("the bucket")
        .reference
        .clone();
    let photos = Photos::new(&sdk, bucket, Some(stack.endpoint()));
    (stack, photos)
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(payload);
    s
}

const EXIF: &[u8] = b"Exif\0\0MM\0*GPSLatitude 37.5665 Galaxy S26";

/// A JPEG-shaped file with an EXIF block naming a GPS position and a device.
fn phone_jpeg() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
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

async fn upload(photos: &Photos, report: &str, photo: &Photo, bytes: Vec<u8>) -> (u16, Value) {
    let form = photos.upload_form(report, photo, Utc::now()).await.unwrap();
    let policy: Value =
        serde_json::from_slice(&BASE64.decode(form.fields["policy"].as_bytes()).unwrap()).unwrap();
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in &form.fields {
        multipart = multipart.text(k.clone(), v.clone());
    }
    multipart = multipart.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("photo"),
    );
    let r = reqwest::Client::new()
        .post(&form.url)
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), policy)
}

fn photo(id: &str, content_type: &str, size: u64) -> Photo {
    Photo {
        photo_id: id.into(),
        content_type: content_type.into(),
        size_bytes: size,
    }
}

#[tokio::test]
async fn an_uploaded_jpeg_is_kept_without_its_exif_and_served_by_a_short_url() {
    let (_stack, photos) = photos().await;
    let jpeg = phone_jpeg();
    let p = photo("p1", "image/jpeg", jpeg.len() as u64);
    // The form's policy limits the upload to this key, type and size
    let (status, policy) = upload(&photos, "r1", &p, jpeg.clone()).await;
    assert!((200..300).contains(&status), "{status}");
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&json!({"key": "drafts/r1/p1"})));
    assert!(conditions.contains(&json!({"Content-Type": "image/jpeg"})));
    assert!(conditions.contains(&json!(["content-length-range", 1, jpeg.len()])));
    // Accepted at submission: the copy served has no EXIF, the rest unchanged
    photos.accept("r1", &p).await.unwrap();
    let url = photos.download_url("r1", &p).await.unwrap();
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    let served = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&served);
    assert!(!text.contains("Exif") && !text.contains("GPS") && !text.contains("Galaxy"));
    assert_eq!(served.len(), jpeg.len() - segment(0xE1, EXIF).len());
    assert!(served.ends_with(&[0x12, 0x34, 0xFF, 0xD9]));
}

#[tokio::test]
async fn a_missing_photo_and_a_text_file_declared_as_png_are_refused() {
    let (_stack, photos) = photos().await;
    let png = photo("p2", "image/png", 100);
    assert!(matches!(
        photos.accept("r2", &png).await,
        Err(PhotoError::Missing(id)) if id == "p2"
    ));
    let (status, _) = upload(
        &photos,
        "r2",
        &png,
        b"just some text, not an image".to_vec(),
    )
    .await;
    assert!((200..300).contains(&status));
    assert!(matches!(
        photos.accept("r2", &png).await,
        Err(PhotoError::Invalid(id)) if id == "p2"
    ));
    // Larger than declared (the emulator does not enforce the policy; the
    // check does)
    let small = photo("p3", "image/jpeg", 10);
    let (status, _) = upload(&photos, "r2", &small, phone_jpeg()).await;
    assert!((200..300).contains(&status));
    assert!(matches!(
        photos.accept("r2", &small).await,
        Err(PhotoError::Invalid(_))
    ));
}
