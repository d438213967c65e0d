//! The printed form of a certificate: the pure A4 layout of an official-looking Korean
//! certificate (토지대장, 건축물대장, 지방세 납세증명서, 지방세 과세증명서), written as PDF
//! with [krilla].
//!
//! [`render`] turns a [`Certificate`] into PDF bytes. It does no I/O, reads no clock and
//! uses no randomness: the same certificate always gives the same bytes, whatever was
//! rendered before. The layout follows a Government24 printout: the issue number at the
//! top left of every page, a centred title inside a thick frame, one heading and one ruled
//! table (or paragraph) per section, then the statement, the issue date, the issuing
//! authority with a red seal-like stamp and, at the bottom of the last page, the QR code
//! (a signed JWS) beside the verification footer. Content that does not fit continues on
//! further pages; a table row is never split and a table's header row is repeated.
//!
//! Korean text uses the embedded PocketgovGothic font (NanumGothic's Hangul, Latin and
//! symbols, OFL), written into each PDF as a subset with a
//! `/ToUnicode` map so that the text can be extracted and searched. Glyph advances are
//! measured with ttf-parser and the same advances are handed to krilla, so measured and
//! drawn widths agree exactly (centring, right alignment and wrapping are precise).
//!
//! [`issue_number_in`] finds the issue number in PDF bytes without parsing them, through
//! the ASCII keyword `pocketgov-issue:NNNN-NNNN-NNNN-NNNN` that [`render`] writes into
//! the (uncompressed) document information dictionary and XMP metadata.
//!
//! This module holds the public types, [`render`] and the metadata; the work is split by
//! concern into private submodules: `text` (the font, measuring, wrapping), `draw`
//! (colours, the display list of a page and how krilla paints it), `geometry` (the
//! page's dimensions), `table` (ruled rows and column widths), `layout` (pagination and
//! the order of a certificate's parts) and `furniture` (QR code, stamp, footer lines).

mod draw;
mod furniture;
mod geometry;
mod layout;
#[doc(hidden)]
pub mod samples;
mod table;
#[cfg(test)]
mod tests;
mod text;

use chrono::{Datelike, Timelike};
use krilla::Document;
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::page::PageSettings;
use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

use self::geometry::{PAGE_H, PAGE_W};
use self::layout::layout;
use self::text::fonts;

/// The keyword prefix written into the PDF metadata, followed by the issue number.
const ISSUE_KEYWORD: &[u8] = b"pocketgov-issue:";

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Everything printed on one certificate. The layout is fixed; the content is free.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// The document title, centred and large, e.g. "토지대장" or "지방세 납세증명서".
    pub title: String,
    /// An optional small line under the title, e.g. "Land Register".
    pub subtitle: Option<String>,
    /// The body of the certificate, printed in order.
    pub sections: Vec<Section>,
    /// The attestation printed centred under the body, e.g.
    /// "위 토지대장의 기재 내용이 사실과 다름없음을 증명합니다.".
    pub statement: String,
    /// The issuing authority, e.g. "서울특별시 종로구청장", printed large near the bottom
    /// beside a red seal-like stamp (a visual cue only).
    pub authority: String,
    /// The moment of issue, printed in its own offset (Korea: +09:00) like
    /// "2026년 11월 29일 14:05"; also the PDF creation date.
    pub issued_at: chrono::DateTime<chrono::FixedOffset>,
    /// The last day of validity, printed "유효기간: 2027년 2월 27일까지".
    pub valid_until: chrono::NaiveDate,
    /// The issue number `NNNN-NNNN-NNNN-NNNN` (ASCII digits); printed on every page and
    /// written into the metadata (see [`issue_number_in`]).
    pub issue_number: String,
    /// The bytes held by the QR code (a compact JWS, about 300-500 ASCII bytes), encoded
    /// in binary mode with error correction level M.
    pub qr_payload: String,
    /// The URL where the issue number can be checked, printed in the footer.
    pub verify_url: String,
}

/// One titled part of the certificate body.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The heading printed above the block, e.g. "토지 표시".
    pub heading: String,
    /// The content of the section.
    pub block: Block,
}

/// The content of a [`Section`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// label/value pairs, laid out two pairs per table row (label cells shaded light grey), a single pair spanning the row when the value is long
    Fields(Vec<(String, String)>),
    /// a table with a header row (shaded) and data rows; numbers (cells that are all digits, commas, '.', '-', '원', '㎡') right-aligned
    Table {
        /// The column headings (the header row is repeated after a page break).
        headers: Vec<String>,
        /// The data rows; a row shorter than the widest row is padded with empty cells.
        rows: Vec<Vec<String>>,
    },
    /// a paragraph of text, wrapped
    Text(String),
}

/// Why a certificate could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The QR payload does not fit in the largest QR code (version 40, level M).
    #[error("QR payload of {len} bytes is too long for a QR code at error correction level M")]
    QrPayloadTooLong {
        /// The payload length in bytes.
        len: usize,
    },
    /// The issue number is not of the form `NNNN-NNNN-NNNN-NNNN` (ASCII digits).
    #[error("issue number {0:?} is not of the form NNNN-NNNN-NNNN-NNNN")]
    InvalidIssueNumber(String),
    /// krilla failed to write the PDF (e.g. font embedding).
    #[error("PDF writing failed: {0}")]
    Krilla(String),
}

/// Renders `c` as an A4 PDF (one page, or more if the content overflows).
///
/// The output depends only on `c`: the same certificate gives byte-identical PDFs. The
/// metadata carries the title, creator "pocketgov", language "ko", the creation date
/// (`issued_at`), the document ID (the issue number) and the keyword
/// `pocketgov-issue:<issue number>`.
///
/// # Errors
/// [`PdfError::InvalidIssueNumber`] if the issue number is malformed,
/// [`PdfError::QrPayloadTooLong`] if the payload does not fit in a QR code, and
/// [`PdfError::Krilla`] if krilla fails to write the document.
pub fn render(c: &Certificate) -> Result<Vec<u8>, PdfError> {
    if !is_issue_number(c.issue_number.as_bytes()) {
        return Err(PdfError::InvalidIssueNumber(c.issue_number.clone()));
    }
    let qr = encode_qr(&c.qr_payload)?;
    let pages = layout(c, &qr);

    let font = fonts().krilla.clone();
    let mut doc = Document::new();
    for ops in &pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| PdfError::Krilla("invalid page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        ops.draw(&mut surface, &font);
        surface.finish();
        page.finish();
    }
    doc.set_metadata(metadata(c));
    doc.finish().map_err(|e| PdfError::Krilla(e.to_string()))
}

/// Finds the issue number in a PDF's bytes without parsing it: the ASCII keyword `pocketgov-issue:NNNN-NNNN-NNNN-NNNN` that render() writes into the metadata (Info dict and XMP are uncompressed). Returns the first well-formed one. Must work on arbitrary (even altered or garbage) bytes in linear time, never panic.
///
/// A keyword is well-formed when exactly 4-4-4-4 ASCII digits follow the prefix, and the
/// byte after them (if any) is neither a digit nor `-`.
pub fn issue_number_in(pdf: &[u8]) -> Option<String> {
    let mut i = 0;
    // Each start position is compared with at most 16 + 20 bytes: linear time.
    while i + ISSUE_KEYWORD.len() <= pdf.len() {
        if pdf[i..].starts_with(ISSUE_KEYWORD) {
            let start = i + ISSUE_KEYWORD.len();
            if let Some(candidate) = pdf.get(start..start + ISSUE_LEN)
                && is_issue_number(candidate)
                && !matches!(pdf.get(start + ISSUE_LEN), Some(b) if b.is_ascii_digit() || *b == b'-')
            {
                return String::from_utf8(candidate.to_vec()).ok();
            }
            i = start;
        } else {
            i += 1;
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Issue number, metadata, QR
// ---------------------------------------------------------------------------------------

/// Length of `NNNN-NNNN-NNNN-NNNN`.
const ISSUE_LEN: usize = 19;

/// `NNNN-NNNN-NNNN-NNNN` with ASCII digits, nothing more.
fn is_issue_number(s: &[u8]) -> bool {
    s.len() == ISSUE_LEN
        && s.iter().enumerate().all(|(i, b)| {
            if i % 5 == 4 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// The document metadata: everything in it comes from `c`, so it is as deterministic as
/// the pages (the creation date is the issue time, never the clock).
fn metadata(c: &Certificate) -> Metadata {
    let at = c.issued_at;
    let offset = at.offset().local_minus_utc();
    let offset_hour = i8::try_from(offset / 3600).unwrap_or(0);
    let offset_minute = u8::try_from((offset.abs() % 3600) / 60).unwrap_or(0);
    let year = u16::try_from(at.year().clamp(0, 9999)).unwrap_or(0);
    let date = PdfDateTime::new(year)
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(offset_hour)
        .utc_offset_minute(offset_minute);
    Metadata::new()
        .title(c.title.clone())
        .creator("pocketgov".into())
        .keywords(vec![format!("pocketgov-issue:{}", c.issue_number)])
        .document_id(c.issue_number.clone())
        .creation_date(date)
        .language("ko".into())
}

/// Encodes the payload in binary mode at error correction level M (not boosted).
fn encode_qr(payload: &str) -> Result<QrCode, PdfError> {
    let segments = [QrSegment::make_bytes(payload.as_bytes())];
    QrCode::encode_segments_advanced(
        &segments,
        QrCodeEcc::Medium,
        Version::MIN,
        Version::MAX,
        None,
        false,
    )
    .map_err(|_| PdfError::QrPayloadTooLong { len: payload.len() })
}
