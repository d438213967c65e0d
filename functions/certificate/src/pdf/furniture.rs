//! The parts of the closing block that are not plain text lines: the wording of the
//! issue date and of the footer line about the public keys, the QR code and the red
//! seal-like stamp.
//!
//! [`super::layout`] decides where they go; the functions here only word or draw them at
//! a given position.

use chrono::{Datelike, Timelike};
use qrcodegen::QrCode;

use super::draw::{BLACK, Bx, PageOps, SEAL_RED, Shape, TextOp, WHITE};
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

/// Coordinates of the QR code are multiples of this (1/8 pt): krilla writes each
/// as the shortest decimal that reads back as the same `f32`, so whole eighths
/// print in at most three decimals ("57.5", "137.125") instead of eight, and the
/// page's content stream, which is mostly the QR code's rectangles, is less than
/// half as long to write and to deflate.
const QR_GRID: f32 = 8.0;

fn on_grid(v: f32) -> f32 {
    (v * QR_GRID).round() / QR_GRID
}

/// Side of one QR module in points: the symbol is 40 mm wide, to the nearest
/// 1/8 pt per module (within 1 mm for every version the certificate uses).
fn qr_module(qr: &QrCode) -> f32 {
    let n = qr.size().max(1) as f32;
    on_grid(QR_SYMBOL / n).max(1.0 / QR_GRID)
}

/// Side of the QR code in points, quiet zone (4 modules a side) included.
pub(super) fn qr_side(qr: &QrCode) -> f32 {
    qr_module(qr) * (qr.size() + 8) as f32
}

/// The QR code as one white square and one black path of rectangles: each
/// horizontal run of dark modules, merged with the same run in the rows below it.
pub(super) fn draw_qr(p: &mut PageOps, qr: &QrCode, x: f32, y: f32, side: f32) {
    let n = qr.size();
    let m = qr_module(qr);
    let (x, y) = (on_grid(x), on_grid(y));
    let x0 = x + 4.0 * m;
    let y0 = y + 4.0 * m;
    // (first column, end column, first row): the runs still growing downwards.
    let mut open: Vec<(i32, i32, i32)> = Vec::new();
    let mut runs: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut close = |(start, end, top): (i32, i32, i32), bottom: i32| {
        runs.push((start, end, top, bottom));
    };
    for row in 0..=n {
        let mut here = Vec::new();
        let mut col = 0;
        while row < n && col < n {
            if qr.get_module(col, row) {
                let start = col;
                while col < n && qr.get_module(col, row) {
                    col += 1;
                }
                here.push((start, col));
            } else {
                col += 1;
            }
        }
        let mut next = Vec::with_capacity(here.len());
        for run in open.drain(..) {
            if here.contains(&(run.0, run.1)) {
                next.push(run);
            } else {
                close(run, row);
            }
        }
        for (start, end) in here {
            if !next.iter().any(|r| (r.0, r.1) == (start, end)) {
                next.push((start, end, row));
            }
        }
        open = next;
    }
    let rects = runs
        .into_iter()
        .map(|(start, end, top, bottom)| {
            Bx::xywh(
                x0 + start as f32 * m,
                y0 + top as f32 * m,
                (end - start) as f32 * m,
                (bottom - top) as f32 * m,
            )
        })
        .collect();
    p.overlay.push(Shape::Fill {
        color: WHITE,
        rects: vec![Bx::xywh(x, y, side, side)],
    });
    p.overlay.push(Shape::Fill {
        color: BLACK,
        rects,
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
