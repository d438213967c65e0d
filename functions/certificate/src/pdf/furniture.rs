//! The parts of the closing block that are not plain text lines: the wording of the
//! issue date and of the footer line about the public keys, the QR code and the red
//! seal-like stamp.
//!
//! [`super::layout`] decides where they go; the functions here only word or draw them at
//! a given position.

use std::sync::Arc;

use chrono::{Datelike, Timelike};
use qrcodegen::QrCode;

use super::draw::{Bx, PageOps, SEAL_RED, Shape, TextOp};
use super::geometry::QR_SYMBOL;
use super::text::{baseline, clean, fonts};

/// "2026년 11월 29일 14:05", in the date's own offset.
pub(super) fn format_issued_at(at: &chrono::DateTime<chrono::FixedOffset>) -> String {
    format!(
        "{}년 {}월 {}일 {:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// The footer line about the QR code: the public-key URL, derived from the verification
/// URL (the part before `/v1/`, or else its origin), or a general sentence.
pub(super) fn keys_line(verify_url: &str) -> String {
    let url = verify_url.trim();
    let after_scheme = url
        .strip_prefix("https://")
        .map(|rest| ("https://", rest))
        .or_else(|| url.strip_prefix("http://").map(|rest| ("http://", rest)));
    let simple = url.is_ascii()
        && !url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_control());
    if let (Some((scheme, rest)), true) = (after_scheme, simple) {
        let base = match rest.find("/v1/") {
            Some(i) => &rest[..i],
            None => rest.split(['/', '?', '#']).next().unwrap_or(""),
        };
        if !base.is_empty() && !base.contains(['?', '#']) {
            return format!("QR 코드로 확인: 공개키 {scheme}{base}/v1/certificates/keys");
        }
    }
    "QR 코드로 확인: QR 코드에는 서명된 JWS가 담겨 있으며 공개된 키로 검증할 수 있습니다."
        .to_string()
}

/// Side of the QR code in points, quiet zone included: the symbol itself is 40 mm wide.
pub(super) fn qr_side(qr: &QrCode) -> f32 {
    let n = qr.size().max(1) as f32;
    QR_SYMBOL * (n + 8.0) / n
}

/// The QR code as an image, one grey pixel per module, quiet zone (4 modules a
/// side) included. Drawn as vector squares it was most of the page's content
/// stream (some 1,600 rectangles) and deflating that was half the render time.
pub(super) fn draw_qr(p: &mut PageOps, qr: &QrCode, x: f32, y: f32, side: f32) {
    let n = qr.size();
    let pixels = n + 8;
    let mut luma = Vec::with_capacity(usize::try_from(pixels * pixels).unwrap_or(0));
    for row in -4..n + 4 {
        for col in -4..n + 4 {
            // get_module is false outside the symbol: the quiet zone.
            luma.push(if qr.get_module(col, row) { 0 } else { 0xFF });
        }
    }
    p.overlay.push(Shape::Bitmap {
        bx: Bx::xywh(x, y, side, side),
        side: u32::try_from(pixels).unwrap_or(0),
        luma: Arc::new(luma),
    });
}

/// The short name inside the stamp: the last word of the authority plus "인" (seal),
/// at most 9 characters, e.g. "서울특별시 종로구청장" gives "종로구청장인".
fn stamp_name(authority: &str) -> Vec<char> {
    let last = clean(authority, false)
        .split_whitespace()
        .last()
        .unwrap_or("")
        .to_string();
    let mut chars: Vec<char> = last.chars().collect();
    if chars.len() > 8 {
        chars.drain(..chars.len() - 8);
    }
    chars.push('인');
    chars
}

/// A seal-like stamp: a red square with a double border and the short name in a grid.
pub(super) fn draw_stamp(p: &mut PageOps, x: f32, y: f32, side: f32, authority: &str) {
    let outer = Bx::xywh(x, y, side, side);
    let inner = Bx::xywh(x + 3.5, y + 3.5, side - 7.0, side - 7.0);
    p.overlay.push(Shape::Stroke {
        color: SEAL_RED,
        width: 2.2,
        lines: vec![],
        boxes: vec![outer],
    });
    p.overlay.push(Shape::Stroke {
        color: SEAL_RED,
        width: 0.6,
        lines: vec![],
        boxes: vec![inner],
    });

    let name = stamp_name(authority);
    let n = name.len();
    let cols = (1..=3).find(|c| c * c >= n).unwrap_or(3);
    let rows = n.div_ceil(cols);
    let box_side = side - 12.0;
    let cell_w = box_side / cols as f32;
    let cell_h = box_side / rows as f32;
    let size = cell_w.min(cell_h) * 0.86;
    let top = y + 6.0;
    for (r, chunk) in name.chunks(cols).enumerate() {
        let text: String = chunk.iter().collect();
        // Characters sit in equal cells: tracking makes up the difference to the cell width.
        let widest = chunk
            .iter()
            .map(|c| fonts().glyph(*c).1 * size)
            .fold(0.0, f32::max);
        let tracking = (cell_w - widest).max(0.0);
        let w = fonts().width(&text, size, tracking);
        let row_w = chunk.len() as f32 * cell_w;
        let x0 = x + 6.0 + (box_side - row_w) / 2.0 + (row_w - w) / 2.0;
        p.overlay_texts.push(TextOp {
            x: x0,
            y: baseline(top + r as f32 * cell_h, cell_h, size),
            size,
            text,
            color: SEAL_RED,
            bold: 0.5,
            tracking,
            margin: false,
        });
    }
}
