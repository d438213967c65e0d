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
//! Korean text uses the embedded NanumGothic font (OFL), written as a subset with a
//! `/ToUnicode` map so that the text can be extracted and searched. Glyph advances are
//! measured with ttf-parser and the same advances are handed to krilla, so measured and
//! drawn widths agree exactly (centring, right alignment and wrapping are precise).
//!
//! [`issue_number_in`] finds the issue number in PDF bytes without parsing them, through
//! the ASCII keyword `pocketgov-issue:NNNN-NNNN-NNNN-NNNN` that [`render`] writes into
//! the (uncompressed) document information dictionary and XMP metadata.

#[doc(hidden)]
pub mod samples;

use std::sync::LazyLock;

use chrono::{Datelike, Timelike};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

/// The embedded font: NanumGothic (SIL Open Font License, see `assets/fonts`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/NanumGothic.ttf");

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

// ---------------------------------------------------------------------------------------
// Font and measurement
// ---------------------------------------------------------------------------------------

/// The embedded font, parsed once per process: krilla's font (cloned per PDF, an `Arc`)
/// and ttf-parser's face for measuring.
struct Fonts {
    krilla: Font,
    face: ttf_parser::Face<'static>,
    units_per_em: f32,
    /// Ascender above the baseline, in em.
    ascent: f32,
    /// Descender below the baseline, in em (positive).
    descent: f32,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    // The font is embedded at compile time: failing to parse it is a programming error.
    let face = ttf_parser::Face::parse(FONT_BYTES, 0).expect("embedded NanumGothic parses");
    let krilla = Font::new(FONT_BYTES.into(), 0).expect("embedded NanumGothic loads in krilla");
    let units_per_em = f32::from(face.units_per_em().max(1));
    Fonts {
        ascent: f32::from(face.ascender()) / units_per_em,
        descent: -f32::from(face.descender()) / units_per_em,
        krilla,
        face,
        units_per_em,
    }
});

fn fonts() -> &'static Fonts {
    &FONTS
}

impl Fonts {
    /// The glyph for `c` (`.notdef` when missing) and its advance in em.
    fn glyph(&self, c: char) -> (u16, f32) {
        let id = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        let advance = self.face.glyph_hor_advance(id).unwrap_or(0);
        (id.0, f32::from(advance) / self.units_per_em)
    }

    /// Width of `text` at `size` pt, with `tracking` pt added between characters.
    fn width(&self, text: &str, size: f32, tracking: f32) -> f32 {
        let mut em = 0.0;
        let mut n = 0usize;
        for c in text.chars() {
            em += self.glyph(c).1;
            n += 1;
        }
        em * size + tracking * n.saturating_sub(1) as f32
    }
}

fn text_width(text: &str, size: f32) -> f32 {
    fonts().width(text, size, 0.0)
}

/// Replaces control characters (tabs, CR, ...) with spaces; keeps `\n` if `keep_newlines`.
fn clean(text: &str, keep_newlines: bool) -> String {
    text.chars()
        .map(|c| {
            if c == '\n' && keep_newlines {
                '\n'
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Wraps `text` into lines no wider than `max_w` at `size` pt: breaks at spaces, and
/// inside a word only when the word alone is too wide (Korean text may break between
/// any two syllables). `\n` forces a break. Never returns an empty vector.
fn wrap(text: &str, size: f32, max_w: f32) -> Vec<String> {
    let text = clean(text, true);
    let f = fonts();
    let space = f.width(" ", size, 0.0);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0.0f32;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let w = f.width(word, size, 0.0);
            if !line.is_empty() && line_w + space + w <= max_w {
                line.push(' ');
                line.push_str(word);
                line_w += space + w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if w <= max_w {
                line.push_str(word);
                line_w = w;
                continue;
            }
            // The word alone is too wide: break it between characters.
            for c in word.chars() {
                let cw = f.glyph(c).1 * size;
                if !line.is_empty() && line_w + cw > max_w {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push(line);
    }
    lines
}

/// `text` cut (with "…") so that it is at most `max_w` wide; unchanged if it fits.
fn fit(text: &str, size: f32, max_w: f32) -> String {
    if text_width(text, size) <= max_w {
        return text.to_string();
    }
    let ellipsis = text_width("…", size);
    let mut out = String::new();
    let mut w = 0.0;
    for c in text.chars() {
        let cw = fonts().glyph(c).1 * size;
        if w + cw + ellipsis > max_w {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Wraps, keeping at most `max_lines` lines (the last one ends with "…" if cut).
fn wrap_at_most(text: &str, size: f32, max_w: f32, max_lines: usize) -> Vec<String> {
    let mut lines = wrap(text, size, max_w);
    let max_lines = max_lines.max(1);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = fit(&format!("{last}…"), size, max_w);
        }
    }
    lines
}

// ---------------------------------------------------------------------------------------
// Page geometry (points, origin top left, y downwards)
// ---------------------------------------------------------------------------------------

const MM: f32 = 72.0 / 25.4;
/// Width of the QR symbol itself (the quiet zone comes on top).
const QR_SYMBOL: f32 = 40.0 * MM;
/// A4 width in points.
const PAGE_W: f32 = 595.28;
/// A4 height in points.
const PAGE_H: f32 = 841.89;
const FRAME_L: f32 = 15.0 * MM;
const FRAME_R: f32 = PAGE_W - 15.0 * MM;
const FRAME_T: f32 = 20.0 * MM;
const FRAME_B: f32 = PAGE_H - 18.0 * MM;
const FRAME_WIDTH: f32 = 1.6;
const PAD: f32 = 14.0;
/// Content left edge.
const X0: f32 = FRAME_L + PAD;
/// Content right edge.
const X1: f32 = FRAME_R - PAD;
const CONTENT_W: f32 = X1 - X0;
const BODY_TOP: f32 = FRAME_T + PAD;
const BODY_BOTTOM: f32 = FRAME_B - PAD;

const CELL_FS: f32 = 9.0;
const CELL_LH: f32 = 12.0;
const CELL_PX: f32 = 5.0;
const CELL_PY: f32 = 3.5;
const LABEL_W: f32 = 80.0;
const HEADING_FS: f32 = 10.5;
const HEADING_H: f32 = 20.0;
const SECTION_GAP: f32 = 10.0;
const STATEMENT_LH: f32 = 16.0;
const DATE_LH: f32 = 17.0;
const VALID_LH: f32 = 14.0;
const STAMP: f32 = 52.0;
const FOOTER_FS: f32 = 8.5;
const FOOTER_LH: f32 = 12.5;
const TEXT_FS: f32 = 9.5;
const TEXT_LH: f32 = 15.0;
const CONT_H: f32 = 22.0;
/// Room for the longest possible table row on a continuation page.
const MAX_ROW_H: f32 = BODY_BOTTOM - BODY_TOP - CONT_H - HEADING_H - 3.0 * 24.0;

const BLACK: Rgb = Rgb(0, 0, 0);
const DARK: Rgb = Rgb(0x44, 0x44, 0x44);
const GREY_TEXT: Rgb = Rgb(0x55, 0x55, 0x55);
const RULE: Rgb = Rgb(0x33, 0x33, 0x33);
const LABEL_BG: Rgb = Rgb(0xEE, 0xEE, 0xEE);
const HEADER_BG: Rgb = Rgb(0xE2, 0xE2, 0xE2);
const WHITE: Rgb = Rgb(0xFF, 0xFF, 0xFF);
const SEAL_RED: Rgb = Rgb(0xD4, 0x1E, 0x1E);

const THIN: f32 = 0.5;
const THICK: f32 = 1.0;

// ---------------------------------------------------------------------------------------
// Display list
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(u8, u8, u8);

impl Rgb {
    fn paint(self) -> krilla::paint::Paint {
        rgb::Color::new(self.0, self.1, self.2).into()
    }
}

/// A rectangle by its edges.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bx {
    l: f32,
    t: f32,
    r: f32,
    b: f32,
}

impl Bx {
    fn xywh(x: f32, y: f32, w: f32, h: f32) -> Self {
        Bx {
            l: x,
            t: y,
            r: x + w,
            b: y + h,
        }
    }

    #[cfg(test)]
    fn union(self, o: Bx) -> Bx {
        Bx {
            l: self.l.min(o.l),
            t: self.t.min(o.t),
            r: self.r.max(o.r),
            b: self.b.max(o.b),
        }
    }

    fn rect(self) -> Option<Rect> {
        Rect::from_ltrb(self.l, self.t, self.r, self.b)
    }
}

/// One line of text, drawn with a single text-showing operation.
#[derive(Debug, Clone, PartialEq)]
struct TextOp {
    x: f32,
    /// Baseline.
    y: f32,
    size: f32,
    text: String,
    color: Rgb,
    /// Stroke width for a bolder look (0 = fill only).
    bold: f32,
    /// Extra space after every character but the last, in points.
    tracking: f32,
    /// Drawn in the page margin on purpose (issue number, page number).
    margin: bool,
}

#[cfg(test)]
impl TextOp {
    fn width(&self) -> f32 {
        fonts().width(&self.text, self.size, self.tracking)
    }

    fn bbox(&self) -> Bx {
        let f = fonts();
        let half = self.bold / 2.0;
        Bx {
            l: self.x - half,
            t: self.y - f.ascent * self.size - half,
            r: self.x + self.width() + half,
            b: self.y + f.descent * self.size + half,
        }
    }
}

/// A vector shape: a set of filled rectangles, or stroked lines and rectangles.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Fill {
        color: Rgb,
        rects: Vec<Bx>,
    },
    Stroke {
        color: Rgb,
        width: f32,
        lines: Vec<[f32; 4]>,
        boxes: Vec<Bx>,
    },
}

impl Shape {
    #[cfg(test)]
    fn bbox(&self) -> Option<Bx> {
        match self {
            Shape::Fill { rects, .. } => rects.iter().copied().reduce(Bx::union),
            Shape::Stroke {
                width,
                lines,
                boxes,
                ..
            } => {
                let h = width / 2.0;
                lines
                    .iter()
                    .map(|[x1, y1, x2, y2]| Bx {
                        l: x1.min(*x2) - h,
                        t: y1.min(*y2) - h,
                        r: x1.max(*x2) + h,
                        b: y1.max(*y2) + h,
                    })
                    .chain(boxes.iter().map(|b| Bx {
                        l: b.l - h,
                        t: b.t - h,
                        r: b.r + h,
                        b: b.b + h,
                    }))
                    .reduce(Bx::union)
            }
        }
    }

    fn draw(&self, s: &mut krilla::surface::Surface<'_>) {
        let mut pb = PathBuilder::new();
        match self {
            Shape::Fill { color, rects } => {
                for r in rects.iter().filter_map(|r| r.rect()) {
                    pb.push_rect(r);
                }
                s.set_stroke(None);
                s.set_fill(Some(Fill {
                    paint: color.paint(),
                    ..Default::default()
                }));
            }
            Shape::Stroke {
                color,
                width,
                lines,
                boxes,
            } => {
                for [x1, y1, x2, y2] in lines {
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                }
                for r in boxes.iter().filter_map(|r| r.rect()) {
                    pb.push_rect(r);
                }
                s.set_fill(None);
                s.set_stroke(Some(Stroke {
                    paint: color.paint(),
                    width: *width,
                    line_cap: LineCap::Square,
                    ..Default::default()
                }));
            }
        }
        if let Some(path) = pb.finish() {
            s.draw_path(&path);
        }
    }
}

/// Everything drawn on one page, in painting order: background fills, rules, text, then
/// overlays (QR code, stamp).
#[derive(Debug, Default, Clone, PartialEq)]
struct PageOps {
    fills: Vec<Shape>,
    rules: Vec<Shape>,
    texts: Vec<TextOp>,
    overlay: Vec<Shape>,
    overlay_texts: Vec<TextOp>,
}

impl PageOps {
    fn fill(&mut self, color: Rgb, r: Bx) {
        for shape in &mut self.fills {
            if let Shape::Fill { color: c, rects } = shape
                && *c == color
            {
                rects.push(r);
                return;
            }
        }
        self.fills.push(Shape::Fill {
            color,
            rects: vec![r],
        });
    }

    fn rule(&mut self, width: f32, line: [f32; 4]) {
        for shape in &mut self.rules {
            if let Shape::Stroke {
                width: w, lines, ..
            } = shape
                && *w == width
            {
                lines.push(line);
                return;
            }
        }
        self.rules.push(Shape::Stroke {
            color: RULE,
            width,
            lines: vec![line],
            boxes: vec![],
        });
    }

    fn hline(&mut self, width: f32, x1: f32, x2: f32, y: f32) {
        self.rule(width, [x1, y, x2, y]);
    }

    fn vline(&mut self, width: f32, x: f32, y1: f32, y2: f32) {
        self.rule(width, [x, y1, x, y2]);
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str, color: Rgb, bold: f32) {
        if text.is_empty() {
            return;
        }
        self.texts.push(TextOp {
            x,
            y,
            size,
            text: text.to_string(),
            color,
            bold,
            tracking: 0.0,
            margin: false,
        });
    }

    /// Every text line in painting order.
    #[cfg(test)]
    fn all_texts(&self) -> impl Iterator<Item = &TextOp> {
        self.texts.iter().chain(&self.overlay_texts)
    }

    fn draw(&self, s: &mut krilla::surface::Surface<'_>, font: &Font) {
        for shape in self.fills.iter().chain(&self.rules) {
            shape.draw(s);
        }
        for t in &self.texts {
            draw_text(s, font, t);
        }
        for shape in &self.overlay {
            shape.draw(s);
        }
        for t in &self.overlay_texts {
            draw_text(s, font, t);
        }
    }
}

/// Draws one line of text as a single run of glyphs with the advances we measured.
fn draw_text(s: &mut krilla::surface::Surface<'_>, font: &Font, t: &TextOp) {
    let f = fonts();
    let n = t.text.chars().count();
    let track = t.tracking / t.size;
    let glyphs: Vec<KrillaGlyph> = t
        .text
        .char_indices()
        .enumerate()
        .map(|(k, (i, c))| {
            let (id, advance) = f.glyph(c);
            let extra = if k + 1 < n { track } else { 0.0 };
            KrillaGlyph::new(
                GlyphId::new(u32::from(id)),
                advance + extra,
                0.0,
                0.0,
                0.0,
                i..i + c.len_utf8(),
                None,
            )
        })
        .collect();
    s.set_fill(Some(Fill {
        paint: t.color.paint(),
        ..Default::default()
    }));
    s.set_stroke((t.bold > 0.0).then(|| Stroke {
        paint: t.color.paint(),
        width: t.bold,
        ..Default::default()
    }));
    s.draw_glyphs(
        Point::from_xy(t.x, t.y),
        &glyphs,
        font.clone(),
        &t.text,
        t.size,
        false,
    );
}

/// Baseline of a line of text at `size` vertically centred in a line box starting at `top`.
fn baseline(top: f32, line_h: f32, size: f32) -> f32 {
    let f = fonts();
    top + (line_h - (f.ascent + f.descent) * size) / 2.0 + f.ascent * size
}

// ---------------------------------------------------------------------------------------
// Table rows
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Align {
    Left,
    Center,
    Right,
}

/// One cell of a ruled row.
#[derive(Debug, Clone)]
struct Cell {
    x: f32,
    w: f32,
    lines: Vec<String>,
    align: Align,
    shade: Option<Rgb>,
    bold: bool,
}

impl Cell {
    fn new(x: f32, w: f32, text: &str, align: Align, shade: Option<Rgb>, bold: bool) -> Self {
        // A row must fit on a page (with a header row of at most 3 lines above it).
        let max_lines = if bold {
            3
        } else {
            ((MAX_ROW_H - 2.0 * CELL_PY) / CELL_LH).floor().max(1.0) as usize
        };
        let lines = wrap_at_most(text, CELL_FS, w - 2.0 * CELL_PX, max_lines);
        Cell {
            x,
            w,
            lines,
            align,
            shade,
            bold,
        }
    }
}

/// A ruled table row: cells side by side spanning the content width.
#[derive(Debug, Clone)]
struct Row {
    cells: Vec<Cell>,
}

impl Row {
    fn height(&self) -> f32 {
        let lines = self
            .cells
            .iter()
            .map(|c| c.lines.len())
            .max()
            .unwrap_or(1)
            .max(1);
        lines as f32 * CELL_LH + 2.0 * CELL_PY
    }

    /// Draws the row with its top edge at `y`: shading, the top rule, the vertical rules
    /// and the text (vertically centred in the row).
    fn emit(&self, page: &mut PageOps, y: f32) {
        let h = self.height();
        for cell in &self.cells {
            if let Some(color) = cell.shade {
                page.fill(color, Bx::xywh(cell.x, y, cell.w, h));
            }
        }
        page.hline(THIN, X0, X1, y);
        for (k, cell) in self.cells.iter().enumerate() {
            if k == 0 {
                page.vline(THIN, cell.x, y, y + h);
            }
            page.vline(THIN, cell.x + cell.w, y, y + h);
        }
        for cell in &self.cells {
            let top = y + (h - cell.lines.len() as f32 * CELL_LH) / 2.0;
            for (k, line) in cell.lines.iter().enumerate() {
                let w = text_width(line, CELL_FS);
                let x = match cell.align {
                    Align::Left => cell.x + CELL_PX,
                    Align::Center => cell.x + (cell.w - w) / 2.0,
                    Align::Right => cell.x + cell.w - CELL_PX - w,
                };
                let color = if cell.shade.is_some() { DARK } else { BLACK };
                let bold = if cell.bold { 0.25 } else { 0.0 };
                page.text(
                    x,
                    baseline(top + k as f32 * CELL_LH, CELL_LH, CELL_FS),
                    CELL_FS,
                    line,
                    color,
                    bold,
                );
            }
        }
    }
}

/// Cells that hold a number, an amount, an area or a date: right-aligned.
fn is_numeric(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit() || c == '-')
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '원' | '㎡'))
}

/// Rows of a `Fields` block: two label/value pairs per row, one pair spanning the row when
/// its value is too long for half a row (or when it has no short partner).
fn field_rows(fields: &[(String, String)]) -> Vec<Row> {
    let value_w = (CONTENT_W - 2.0 * LABEL_W) / 2.0;
    let long = |(label, value): &(String, String)| {
        value.contains('\n')
            || text_width(&clean(value, false), CELL_FS) > value_w - 2.0 * CELL_PX
            || text_width(&clean(label, false), CELL_FS) > LABEL_W - 2.0 * CELL_PX
    };
    let mut rows = Vec::new();
    let mut i = 0;
    while i < fields.len() {
        let (label, value) = &fields[i];
        if !long(&fields[i]) && i + 1 < fields.len() && !long(&fields[i + 1]) {
            let (label2, value2) = &fields[i + 1];
            let x2 = X0 + LABEL_W + value_w;
            rows.push(Row {
                cells: vec![
                    Cell::new(X0, LABEL_W, label, Align::Center, Some(LABEL_BG), false),
                    Cell::new(X0 + LABEL_W, value_w, value, Align::Left, None, false),
                    Cell::new(x2, LABEL_W, label2, Align::Center, Some(LABEL_BG), false),
                    Cell::new(
                        x2 + LABEL_W,
                        X1 - x2 - LABEL_W,
                        value2,
                        Align::Left,
                        None,
                        false,
                    ),
                ],
            });
            i += 2;
        } else {
            rows.push(Row {
                cells: vec![
                    Cell::new(X0, LABEL_W, label, Align::Center, Some(LABEL_BG), false),
                    Cell::new(
                        X0 + LABEL_W,
                        CONTENT_W - LABEL_W,
                        value,
                        Align::Left,
                        None,
                        false,
                    ),
                ],
            });
            i += 1;
        }
    }
    rows
}

/// Column widths for a table: each column's natural (one-line) width, shrunk fairly when
/// the sum is too wide (narrow columns keep their width), stretched proportionally when
/// there is room.
fn column_widths(headers: &[String], rows: &[Vec<String>], n: usize) -> Vec<f32> {
    let min_w = 2.0 * CELL_PX + 2.0 * CELL_FS;
    let mut natural = vec![min_w; n];
    for row in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        for (k, cell) in row.iter().enumerate().take(n) {
            let w = text_width(&clean(cell, false), CELL_FS) + 2.0 * CELL_PX + 1.0;
            natural[k] = natural[k].max(w);
        }
    }
    let total: f32 = natural.iter().sum();
    if total <= CONTENT_W {
        let scale = CONTENT_W / total;
        return natural.iter().map(|w| w * scale).collect();
    }
    // Water-filling: columns narrower than the fair share keep their natural width.
    let mut width = vec![0.0f32; n];
    let mut open: Vec<usize> = (0..n).collect();
    let mut remaining = CONTENT_W;
    loop {
        let share = remaining / open.len().max(1) as f32;
        let (fixed, rest): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&k| natural[k] <= share);
        if fixed.is_empty() {
            for &k in &rest {
                width[k] = share;
            }
            break;
        }
        for &k in &fixed {
            width[k] = natural[k];
            remaining -= natural[k];
        }
        open = rest;
        if open.is_empty() {
            break;
        }
    }
    // Absorb rounding so the columns end exactly at the right edge.
    let sum: f32 = width.iter().sum();
    if let Some(last) = width.last_mut() {
        *last += CONTENT_W - sum;
    }
    width
}

/// The header row and the data rows of a `Table` block.
fn table_rows(headers: &[String], rows: &[Vec<String>]) -> (Option<Row>, Vec<Row>) {
    let n = rows
        .iter()
        .map(Vec::len)
        .chain(std::iter::once(headers.len()))
        .max()
        .unwrap_or(0);
    if n == 0 {
        return (None, Vec::new());
    }
    let widths = column_widths(headers, rows, n);
    let mut xs = Vec::with_capacity(n);
    let mut x = X0;
    for w in &widths {
        xs.push(x);
        x += w;
    }
    let header = (!headers.is_empty()).then(|| Row {
        cells: (0..n)
            .map(|k| {
                let text = headers.get(k).map_or("", String::as_str);
                Cell::new(xs[k], widths[k], text, Align::Center, Some(HEADER_BG), true)
            })
            .collect(),
    });
    let data = rows
        .iter()
        .map(|row| Row {
            cells: (0..n)
                .map(|k| {
                    let text = row.get(k).map_or("", String::as_str);
                    let align = if is_numeric(text) {
                        Align::Right
                    } else {
                        Align::Left
                    };
                    Cell::new(xs[k], widths[k], text, align, None, false)
                })
                .collect(),
        })
        .collect();
    (header, data)
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

struct Layout<'a> {
    c: &'a Certificate,
    pages: Vec<PageOps>,
    /// Next free y on the current page.
    y: f32,
}

impl<'a> Layout<'a> {
    fn page(&mut self) -> &mut PageOps {
        if self.pages.is_empty() {
            self.new_page();
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a page: frame, issue number; on continuation pages a "(계속)" line.
    fn new_page(&mut self) {
        let mut p = PageOps::default();
        p.rules.push(Shape::Stroke {
            color: BLACK,
            width: FRAME_WIDTH,
            lines: vec![],
            boxes: vec![Bx {
                l: FRAME_L,
                t: FRAME_T,
                r: FRAME_R,
                b: FRAME_B,
            }],
        });
        p.texts.push(TextOp {
            x: FRAME_L,
            y: FRAME_T - 7.0,
            size: 8.5,
            text: format!("발급번호 {}", self.c.issue_number),
            color: BLACK,
            bold: 0.0,
            tracking: 0.0,
            margin: true,
        });
        self.y = BODY_TOP;
        if !self.pages.is_empty() {
            let text = fit(
                &format!("{} (계속)", clean(&self.c.title, false)),
                10.0,
                CONTENT_W,
            );
            let w = text_width(&text, 10.0);
            p.text(
                X0 + (CONTENT_W - w) / 2.0,
                baseline(self.y, 16.0, 10.0),
                10.0,
                &text,
                GREY_TEXT,
                0.0,
            );
            self.y += CONT_H;
        }
        self.pages.push(p);
    }

    fn fits(&self, h: f32) -> bool {
        self.y + h <= BODY_BOTTOM + 0.01
    }

    /// Moves to a new page unless `h` fits, or the page is still empty.
    fn ensure(&mut self, h: f32) {
        if !self.fits(h) && self.y > self.page_top() {
            self.new_page();
        }
    }

    fn page_top(&self) -> f32 {
        if self.pages.len() > 1 {
            BODY_TOP + CONT_H
        } else {
            BODY_TOP
        }
    }

    fn title(&mut self) {
        let c = self.c;
        let title = clean(&c.title, false);
        let chars = title.chars().count();
        let mut size = 22.0f32;
        let mut tracking = if chars <= 6 {
            size * 0.45
        } else if chars <= 10 {
            size * 0.15
        } else {
            0.0
        };
        while fonts().width(&title, size, tracking) > CONTENT_W && size > 12.0 {
            size -= 1.0;
            tracking = 0.0;
        }
        let title = fit(&title, size, CONTENT_W);
        let w = fonts().width(&title, size, tracking);
        let y = self.y;
        let p = self.page();
        p.texts.push(TextOp {
            x: X0 + (CONTENT_W - w) / 2.0,
            y: y + 4.0 + fonts().ascent * size,
            size,
            text: title,
            color: BLACK,
            bold: 0.6,
            tracking,
            margin: false,
        });
        self.y += 4.0 + size * 1.25;
        if let Some(sub) = c.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
            let sub = fit(&clean(sub, false), 9.5, CONTENT_W);
            let w = text_width(&sub, 9.5);
            let y = baseline(self.y, 14.0, 9.5);
            self.page()
                .text(X0 + (CONTENT_W - w) / 2.0, y, 9.5, &sub, GREY_TEXT, 0.0);
            self.y += 14.0;
        }
        self.y += 14.0;
    }

    fn heading(&mut self, heading: &str) {
        let text = fit(&clean(heading, false), HEADING_FS, CONTENT_W - 12.0);
        let y = self.y;
        let p = self.page();
        let base = baseline(y + 2.0, 16.0, HEADING_FS);
        let sq = 5.5;
        p.fill(BLACK, Bx::xywh(X0 + 1.0, base - 4.0 - sq / 2.0, sq, sq));
        p.text(X0 + 11.0, base, HEADING_FS, &text, BLACK, 0.3);
        self.y += HEADING_H;
    }

    /// Emits rows, moving to a new page before a row that does not fit (and repeating
    /// `header` there). Thick rules close each page's part of the table.
    fn rows(&mut self, header: Option<&Row>, rows: &[Row]) {
        let mut seg_top = self.y;
        if let Some(h) = header {
            let y = self.y;
            h.emit(self.page(), y);
            self.y += h.height();
        }
        for row in rows {
            let h = row.height();
            if !self.fits(h) {
                self.close_table(seg_top);
                self.new_page();
                seg_top = self.y;
                if let Some(hr) = header {
                    let y = self.y;
                    hr.emit(self.page(), y);
                    self.y += hr.height();
                }
            }
            let y = self.y;
            row.emit(self.page(), y);
            self.y += h;
        }
        self.close_table(seg_top);
    }

    fn close_table(&mut self, top: f32) {
        let y = self.y;
        if y <= top {
            return;
        }
        let p = self.page();
        p.hline(THICK, X0, X1, top);
        p.hline(THICK, X0, X1, y);
    }

    fn section(&mut self, s: &Section) {
        match &s.block {
            Block::Fields(fields) => {
                let rows = field_rows(fields);
                let first = rows.first().map_or(0.0, Row::height);
                self.ensure(HEADING_H + first);
                self.heading(&s.heading);
                self.rows(None, &rows);
            }
            Block::Table { headers, rows } => {
                let (header, data) = table_rows(headers, rows);
                let first = header.as_ref().map_or(0.0, Row::height)
                    + data.first().map_or(0.0, Row::height);
                self.ensure(HEADING_H + first);
                self.heading(&s.heading);
                self.rows(header.as_ref(), &data);
            }
            Block::Text(text) => {
                let lines = wrap(text, TEXT_FS, CONTENT_W - 2.0 * CELL_PX);
                self.ensure(HEADING_H + TEXT_LH);
                self.heading(&s.heading);
                for line in &lines {
                    self.ensure(TEXT_LH);
                    let y = baseline(self.y, TEXT_LH, TEXT_FS);
                    self.page().text(X0 + CELL_PX, y, TEXT_FS, line, BLACK, 0.0);
                    self.y += TEXT_LH;
                }
            }
        }
        self.y += SECTION_GAP;
    }

    /// Statement, date, validity, authority and stamp, then the QR code with the footer,
    /// anchored at the bottom of the last page.
    fn closing(&mut self, qr: &QrCode) {
        let c = self.c;
        let statement = wrap_at_most(&c.statement, 11.0, CONTENT_W, 4);
        let issued = format_issued_at(&c.issued_at);
        let valid = format!(
            "유효기간: {}년 {}월 {}일까지",
            c.valid_until.year(),
            c.valid_until.month(),
            c.valid_until.day()
        );

        // The footer beside the QR code, wrapped to the room right of it.
        let side = qr_side(qr);
        let fx = X0 + side + 14.0;
        let fw = X1 - fx;
        let mut footer: Vec<(String, Rgb)> = Vec::new();
        for (text, color) in [
            (
                "이 증명서는 발급일로부터 90일 동안 진위를 확인할 수 있습니다.".to_string(),
                BLACK,
            ),
            (
                format!("발급번호로 확인: {}", clean(&c.verify_url, false)),
                BLACK,
            ),
            (keys_line(&c.verify_url), BLACK),
            (format!("발급번호: {}", c.issue_number), GREY_TEXT),
        ] {
            for line in wrap_at_most(&text, FOOTER_FS, fw, 3) {
                footer.push((line, color));
            }
        }
        let band = side.max(footer.len() as f32 * FOOTER_LH);

        let closing_h = statement.len() as f32 * STATEMENT_LH
            + 8.0
            + DATE_LH
            + VALID_LH
            + 8.0
            + STAMP
            + 10.0
            + 10.0
            + band;
        if !self.fits(closing_h + 6.0) {
            self.new_page();
        }
        let mut y = (BODY_BOTTOM - closing_h).max(self.y + 6.0);
        let p = self.page();

        for line in &statement {
            let w = text_width(line, 11.0);
            let base = baseline(y, STATEMENT_LH, 11.0);
            p.text(X0 + (CONTENT_W - w) / 2.0, base, 11.0, line, BLACK, 0.0);
            y += STATEMENT_LH;
        }
        y += 8.0;
        let w = text_width(&issued, 11.0);
        let base = baseline(y, DATE_LH, 11.0);
        p.text(X0 + (CONTENT_W - w) / 2.0, base, 11.0, &issued, BLACK, 0.0);
        y += DATE_LH;
        let w = text_width(&valid, 9.0);
        let base = baseline(y, VALID_LH, 9.0);
        p.text(
            X0 + (CONTENT_W - w) / 2.0,
            base,
            9.0,
            &valid,
            GREY_TEXT,
            0.0,
        );
        y += VALID_LH + 8.0;

        // The authority, large, with the stamp to its right; the pair is centred.
        let authority = clean(&c.authority, false);
        let gap = 10.0;
        let mut size = 19.0f32;
        let tracking = 2.0;
        while fonts().width(&authority, size, tracking) + gap + STAMP > CONTENT_W && size > 10.0 {
            size -= 1.0;
        }
        let authority = fit(&authority, size, CONTENT_W - gap - STAMP);
        let aw = fonts().width(&authority, size, tracking);
        let ax = X0 + (CONTENT_W - (aw + gap + STAMP)) / 2.0;
        p.texts.push(TextOp {
            x: ax,
            y: baseline(y, STAMP, size),
            size,
            text: authority,
            color: BLACK,
            bold: 0.5,
            tracking,
            margin: false,
        });
        draw_stamp(p, ax + aw + gap, y, STAMP, &c.authority);
        y += STAMP + 10.0;

        // QR code at the bottom left, the footer beside it (vertically centred).
        p.hline(THIN, X0, X1, y);
        y += 10.0;
        draw_qr(p, qr, X0, y + (band - side) / 2.0, side);
        let mut ty = y + (band - footer.len() as f32 * FOOTER_LH) / 2.0;
        for (line, color) in &footer {
            p.text(
                fx,
                baseline(ty, FOOTER_LH, FOOTER_FS),
                FOOTER_FS,
                line,
                *color,
                0.0,
            );
            ty += FOOTER_LH;
        }
        self.y = BODY_BOTTOM;
    }
}

/// "2026년 11월 29일 14:05", in the date's own offset.
fn format_issued_at(at: &chrono::DateTime<chrono::FixedOffset>) -> String {
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
fn keys_line(verify_url: &str) -> String {
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
fn qr_side(qr: &QrCode) -> f32 {
    let n = qr.size().max(1) as f32;
    QR_SYMBOL * (n + 8.0) / n
}

/// The QR code as one white square and one black path of merged horizontal runs.
fn draw_qr(p: &mut PageOps, qr: &QrCode, x: f32, y: f32, side: f32) {
    let n = qr.size();
    let m = side / (n + 8) as f32;
    let x0 = x + 4.0 * m;
    let y0 = y + 4.0 * m;
    let mut rects = Vec::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if qr.get_module(col, row) {
                let start = col;
                while col < n && qr.get_module(col, row) {
                    col += 1;
                }
                rects.push(Bx::xywh(
                    x0 + start as f32 * m,
                    y0 + row as f32 * m,
                    (col - start) as f32 * m,
                    m,
                ));
            } else {
                col += 1;
            }
        }
    }
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
fn draw_stamp(p: &mut PageOps, x: f32, y: f32, side: f32, authority: &str) {
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

/// Lays the certificate out into pages.
fn layout(c: &Certificate, qr: &QrCode) -> Vec<PageOps> {
    let mut l = Layout {
        c,
        pages: Vec::new(),
        y: BODY_TOP,
    };
    l.new_page();
    l.title();
    for s in &c.sections {
        l.section(s);
    }
    l.closing(qr);

    let total = l.pages.len();
    for (i, p) in l.pages.iter_mut().enumerate() {
        let text = format!("{} / {}", i + 1, total);
        let w = text_width(&text, 8.5);
        p.texts.push(TextOp {
            x: (PAGE_W - w) / 2.0,
            y: FRAME_B + 16.0,
            size: 8.5,
            text,
            color: GREY_TEXT,
            bold: 0.0,
            tracking: 0.0,
            margin: true,
        });
    }
    l.pages
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    const NO: &str = "1234-5678-9012-3456";

    fn page_count(pdf: &[u8]) -> usize {
        lopdf::Document::load_mem(pdf).unwrap().get_pages().len()
    }

    fn text_of_page(pdf: &[u8], page: u32) -> String {
        lopdf::Document::load_mem(pdf)
            .unwrap()
            .extract_text(&[page])
            .unwrap()
    }

    fn no_spaces(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn layout_of(c: &Certificate) -> Vec<PageOps> {
        layout(c, &encode_qr(&c.qr_payload).unwrap())
    }

    /// Every shape and text line of every page, with its bounding box.
    fn assert_inside_page(pages: &[PageOps]) {
        let frame = Bx {
            l: FRAME_L,
            t: FRAME_T,
            r: FRAME_R,
            b: FRAME_B,
        };
        for (i, p) in pages.iter().enumerate() {
            let shapes = p.fills.iter().chain(&p.rules).chain(&p.overlay);
            for b in shapes.filter_map(Shape::bbox) {
                assert!(
                    b.l >= 0.0 && b.t >= 0.0 && b.r <= PAGE_W && b.b <= PAGE_H,
                    "page {i}: {b:?}"
                );
                assert!(
                    b.l >= frame.l - 1.0
                        && b.t >= frame.t - 1.0
                        && b.r <= frame.r + 1.0
                        && b.b <= frame.b + 1.0,
                    "page {i}: shape outside the frame {b:?}"
                );
            }
            for t in p.all_texts() {
                let b = t.bbox();
                assert!(
                    b.l >= 0.0 && b.t >= 0.0 && b.r <= PAGE_W && b.b <= PAGE_H,
                    "page {i}: {t:?}"
                );
                if !t.margin {
                    assert!(
                        b.l >= X0 - 0.5 && b.r <= X1 + 0.5 && b.t >= FRAME_T && b.b <= FRAME_B,
                        "page {i}: text outside the content area {t:?} {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_certificate_gives_identical_bytes_even_after_rendering_another() {
        // GIVEN a land register
        let c = land_register(NO);
        // WHEN it is rendered, then another certificate, then it again
        let first = render(&c).unwrap();
        let _other = render(&tax_assessment(12)).unwrap();
        let second = render(&c).unwrap();
        // THEN both renderings are byte-identical
        assert!(first == second, "renderings differ");
    }

    #[test]
    fn different_issue_numbers_give_different_bytes() {
        // GIVEN two certificates that differ only in their issue number
        let a = land_register("1234-5678-9012-3456");
        let b = land_register("1234-5678-9012-3457");
        // WHEN both are rendered THEN the PDFs differ
        assert_ne!(render(&a).unwrap(), render(&b).unwrap());
    }

    #[test]
    fn extracted_text_holds_title_issue_number_fields_and_table_cells() {
        // GIVEN a rendered land register
        let pdf = render(&land_register(NO)).unwrap();
        // WHEN the text of page 1 is extracted
        let text = text_of_page(&pdf, 1);
        let compact = no_spaces(&text);
        // THEN it holds the title, the issue number, a field label and value, a table cell
        assert!(compact.contains("토지대장"), "{text}");
        assert!(text.contains(NO), "{text}");
        assert!(
            text.contains("고유번호") && text.contains("1111010100100010000"),
            "{text}"
        );
        assert!(text.contains("지목") && text.contains("325.40㎡"), "{text}");
        assert!(
            text.contains("공시지가(원/㎡)") && text.contains("4,812,000"),
            "{text}"
        );
        assert!(compact.contains("서울특별시종로구청장"), "{text}");
        assert!(text.contains("2026년 11월 29일 14:05"), "{text}");
        assert!(text.contains("유효기간: 2027년 2월 27일까지"), "{text}");
        assert!(
            text.contains("https://api.pocketgov.example/v1/certificates/keys"),
            "{text}"
        );
        assert!(text.contains("1 / 1"), "{text}");
    }

    #[test]
    fn normal_certificate_is_one_a4_page() {
        // GIVEN each of the four sample certificates
        for c in [
            land_register(NO),
            building_register(),
            tax_payment(),
            tax_assessment(12),
        ] {
            // WHEN rendered
            let pdf = render(&c).unwrap();
            let doc = lopdf::Document::load_mem(&pdf).unwrap();
            let pages = doc.get_pages();
            // THEN there is one page with an A4 media box
            assert_eq!(pages.len(), 1, "{}", c.title);
            let page = doc.get_dictionary(pages[&1]).unwrap();
            let media: Vec<f32> = page
                .get(b"MediaBox")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_float().unwrap())
                .collect();
            assert_eq!(media.len(), 4);
            assert!(media[0].abs() < 0.01 && media[1].abs() < 0.01);
            assert!(
                (media[2] - 595.28).abs() < 0.01 && (media[3] - 841.89).abs() < 0.01,
                "{media:?}"
            );
            assert_inside_page(&layout_of(&c));
        }
    }

    #[test]
    fn table_with_80_rows_continues_on_further_pages_with_issue_number_and_header_on_each() {
        // GIVEN an assessment certificate with 80 bills
        let c = tax_assessment(80);
        // WHEN rendered
        let pdf = render(&c).unwrap();
        let pages = page_count(&pdf);
        // THEN it has several pages, each with the issue number, and every page that holds
        // bills starts the table with its header row
        assert!(pages >= 2, "{pages} pages");
        for page in 1..=pages as u32 {
            let text = text_of_page(&pdf, page);
            assert!(text.contains(&c.issue_number), "page {page}: {text}");
            if let Some(bill) = text.find("2026.0") {
                let header = text.find("부과액(원)");
                assert!(
                    header.is_some_and(|h| h < bill),
                    "page {page}: header row not repeated"
                );
            }
            assert!(
                text.contains(&format!("{page} / {pages}")),
                "page {page}: {text}"
            );
        }
        // AND the footer is on the last page only
        for page in 1..pages as u32 {
            assert!(
                !text_of_page(&pdf, page).contains("발급번호로 확인"),
                "footer on page {page}"
            );
        }
        assert!(text_of_page(&pdf, pages as u32).contains("발급번호로 확인"));
        // AND nothing is drawn outside the page (or the frame), and no row is split
        let layout = layout_of(&c);
        assert_eq!(layout.len(), pages);
        assert_inside_page(&layout);
        let bills: usize = layout
            .iter()
            .map(|p| {
                p.texts
                    .iter()
                    .filter(|t| t.text == "서울특별시 마포구")
                    .count()
            })
            .sum();
        assert_eq!(bills, 80, "every bill printed exactly once");
    }

    #[test]
    fn font_is_embedded_as_a_small_subset() {
        // GIVEN a typical certificate
        let pdf = render(&land_register(NO)).unwrap();
        // THEN the PDF is small
        assert!(pdf.len() < 150 * 1024, "{} bytes", pdf.len());
        // AND the font is a subset (ABCDEF+ tag) with an embedded FontFile2 and a ToUnicode map
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let mut base_fonts = Vec::new();
        let mut font_file2 = false;
        let mut to_unicode = false;
        for obj in doc.objects.values() {
            let dict = match obj {
                lopdf::Object::Dictionary(d) => d,
                lopdf::Object::Stream(s) => &s.dict,
                _ => continue,
            };
            if let Ok(name) = dict.get(b"BaseFont").and_then(lopdf::Object::as_name) {
                base_fonts.push(String::from_utf8_lossy(name).into_owned());
            }
            font_file2 |= dict.has(b"FontFile2");
            to_unicode |= dict.has(b"ToUnicode");
        }
        assert!(!base_fonts.is_empty());
        for name in &base_fonts {
            let (tag, rest) = name.split_at(7);
            assert!(
                tag[..6].chars().all(|c| c.is_ascii_uppercase()) && tag.ends_with('+'),
                "{name}"
            );
            assert!(rest.contains("Nanum"), "{name}");
        }
        assert!(font_file2, "no FontFile2");
        assert!(to_unicode, "no ToUnicode");
    }

    #[test]
    fn issue_number_is_found_in_a_rendered_pdf() {
        let pdf = render(&land_register(NO)).unwrap();
        assert_eq!(issue_number_in(&pdf).as_deref(), Some(NO));
    }

    #[test]
    fn issue_number_is_still_found_after_a_byte_in_the_middle_changed() {
        // GIVEN a rendered PDF with one byte in the middle of the content flipped
        let mut pdf = render(&land_register(NO)).unwrap();
        let mid = pdf.len() / 2;
        pdf[mid] ^= 0x5A;
        // WHEN searched THEN the issue number is still found
        assert_eq!(issue_number_in(&pdf).as_deref(), Some(NO));
    }

    #[test]
    fn issue_number_search_returns_none_on_empty_or_garbage_input() {
        assert_eq!(issue_number_in(b""), None);
        assert_eq!(issue_number_in(b"pocketgov-issue:"), None);
        let garbage: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(issue_number_in(&garbage), None);
        let prefixes = b"pocketgov-issue:".repeat(10_000);
        assert_eq!(issue_number_in(&prefixes), None);
    }

    #[test]
    fn malformed_issue_keywords_are_skipped_for_the_first_well_formed_one() {
        let bytes = b"xx pocketgov-issue:12345-678-9012-3456 pocketgov-issue:1234-5678-9012-34567 \
                      pocketgov-issue:1234-5678-9012-345 pocketgov-issue:1234-56a8-9012-3456 \
                      pocketgov-issue:9876-5432-1098-7654) pocketgov-issue:1111-2222-3333-4444";
        assert_eq!(
            issue_number_in(bytes).as_deref(),
            Some("9876-5432-1098-7654")
        );
        assert_eq!(
            issue_number_in(b"pocketgov-issue:1234-5678-9012-3456").as_deref(),
            Some(NO)
        );
        assert_eq!(
            issue_number_in(b"pocketgov-issue:1234-5678-9012-3456-1"),
            None
        );
    }

    #[test]
    fn too_long_qr_payload_is_an_error_not_a_panic() {
        let mut c = land_register(NO);
        c.qr_payload = jws(4000, 9);
        assert!(matches!(
            render(&c),
            Err(PdfError::QrPayloadTooLong { len: 4000 })
        ));
    }

    #[test]
    fn malformed_issue_number_is_an_error() {
        let mut c = land_register(NO);
        c.issue_number = "1234567890123456".into();
        assert!(matches!(render(&c), Err(PdfError::InvalidIssueNumber(_))));
    }

    #[test]
    fn long_value_wraps_within_its_cell() {
        // GIVEN a land register whose address is 200 characters long
        let mut c = land_register(NO);
        let address: String = "서울특별시 종로구 세종대로 209 정부서울청사 별관 "
            .chars()
            .cycle()
            .take(200)
            .collect();
        if let Block::Fields(f) = &mut c.sections[0].block {
            f[2].1 = address.clone();
        }
        // WHEN laid out
        let pages = layout_of(&c);
        // THEN the address is printed on several lines, each inside the value cell
        let label = pages[0].texts.iter().find(|t| t.text == "소재지").unwrap();
        let lines: Vec<&TextOp> = pages[0]
            .texts
            .iter()
            .filter(|t| (t.x - (X0 + LABEL_W + CELL_PX)).abs() < 0.01 && t.text.chars().count() > 2)
            .filter(|t| address.contains(t.text.as_str()))
            .collect();
        assert!(lines.len() >= 3, "{lines:?}");
        for t in &lines {
            assert!(t.x >= X0 + LABEL_W + CELL_PX - 0.01, "{t:?}");
            assert!(t.x + t.width() <= X1 - CELL_PX + 0.01, "{t:?}");
        }
        let joined: String = lines
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(no_spaces(&joined), no_spaces(&address));
        // AND the lines stay in the label's row (the label is centred beside them)
        let middle = (lines[0].y + lines[lines.len() - 1].y) / 2.0;
        assert!((middle - label.y).abs() < 1.0, "{middle} vs {}", label.y);
        assert_inside_page(&pages);
        // AND the PDF renders with the wrapped lines as text
        let pdf = render(&c).unwrap();
        assert!(text_of_page(&pdf, 1).contains(lines[1].text.as_str()));
    }

    #[test]
    fn huge_cell_is_cut_to_fit_a_page_and_nothing_leaves_the_page() {
        // GIVEN a table whose single cell would be taller than a page
        let mut c = land_register(NO);
        c.sections.push(section(
            "비고",
            table(&["내용"], vec![vec!["가나다라 ".repeat(3000)]]),
        ));
        c.sections
            .push(section("설명", Block::Text("긴 문단입니다. ".repeat(800))));
        // WHEN laid out and rendered THEN nothing is drawn outside the page
        assert_inside_page(&layout_of(&c));
        assert!(render(&c).is_ok());
    }

    #[test]
    fn numbers_are_right_aligned_and_words_left_aligned() {
        assert!(
            is_numeric("4,812,000")
                && is_numeric("325.40㎡")
                && is_numeric("0원")
                && is_numeric("2011-08-30")
        );
        assert!(
            !is_numeric("") && !is_numeric("대") && !is_numeric("2026.07. 분") && !is_numeric("원")
        );
    }

    #[test]
    fn keys_url_is_derived_from_the_verification_url() {
        assert_eq!(
            keys_line("https://api.example.kr/prod/v1/certificates/1/verification"),
            "QR 코드로 확인: 공개키 https://api.example.kr/prod/v1/certificates/keys"
        );
        assert_eq!(
            keys_line("https://gov.example/check?no=1"),
            "QR 코드로 확인: 공개키 https://gov.example/v1/certificates/keys"
        );
        assert!(keys_line("ftp://x").contains("JWS"));
    }
}
