//! Layout: the certificate laid out into pages, top to bottom, as display lists.
//!
//! A cursor (`y`) moves down the current page; whatever does not fit moves to a new
//! page, which starts with the frame, the issue number and a "(계속)" line. The order is
//! title, sections (a heading, then a ruled table or a paragraph), then the closing
//! block (statement, dates, authority with stamp, QR code and footer) anchored at the
//! bottom of the last page; the page numbers are added once the page count is known.

use chrono::Datelike;
use qrcodegen::QrCode;

use super::draw::{BLACK, Bx, GREY_TEXT, PageOps, Rgb, Shape, THICK, THIN, TextOp};
use super::furniture::{draw_qr, draw_stamp, format_issued_at, keys_line, qr_side};
use super::geometry::{
    BODY_BOTTOM, BODY_TOP, CELL_PX, CONT_H, CONTENT_W, DATE_LH, FOOTER_FS, FOOTER_LH, FRAME_B,
    FRAME_L, FRAME_R, FRAME_T, FRAME_WIDTH, HEADING_FS, HEADING_H, PAGE_W, SECTION_GAP, STAMP,
    STATEMENT_LH, TEXT_FS, TEXT_LH, VALID_LH, X0, X1,
};
use super::table::{Row, field_rows, table_rows};
use super::text::{baseline, clean, fit, fonts, text_width, wrap, wrap_at_most};
use super::{Block, Certificate, Section};

/// The layout in progress: the pages so far and the cursor on the last one.
struct Layout<'a> {
    c: &'a Certificate,
    pages: Vec<PageOps>,
    /// Next free y on the current page.
    y: f32,
}

impl<'a> Layout<'a> {
    /// The current (last) page, started if there is none yet.
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

    /// Whether `h` more points fit above the bottom of the body (the hundredth of a
    /// point absorbs float rounding, so that a block that fits exactly is not moved).
    fn fits(&self, h: f32) -> bool {
        self.y + h <= BODY_BOTTOM + 0.01
    }

    /// Moves to a new page unless `h` fits, or the page is still empty.
    fn ensure(&mut self, h: f32) {
        if !self.fits(h) && self.y > self.page_top() {
            self.new_page();
        }
    }

    /// First y of the body on the current page: below the "(계속)" line on continuation
    /// pages.
    fn page_top(&self) -> f32 {
        if self.pages.len() > 1 {
            BODY_TOP + CONT_H
        } else {
            BODY_TOP
        }
    }

    /// The title, centred, letter-spaced when short and shrunk (then cut) when too wide,
    /// and the subtitle under it.
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

    /// A section heading: a small black square and the bold heading text.
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

    /// The thick rules above and below the part of a table from `top` to the cursor;
    /// nothing if that part is empty.
    fn close_table(&mut self, top: f32) {
        let y = self.y;
        if y <= top {
            return;
        }
        let p = self.page();
        p.hline(THICK, X0, X1, top);
        p.hline(THICK, X0, X1, y);
    }

    /// A section: its heading kept on the same page as the first row (or line), then the
    /// block.
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

/// Lays the certificate out into pages.
pub(super) fn layout(c: &Certificate, qr: &QrCode) -> Vec<PageOps> {
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
