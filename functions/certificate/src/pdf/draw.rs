//! Drawing: the colours, the display list of a page ([`PageOps`]: filled and stroked
//! shapes, lines of text) and how it is painted on a krilla surface.
//!
//! The layout only appends to a page's display list; painting happens once the whole
//! document is laid out, so the layout can go back to a page (the page numbers "1 / N"
//! are added last) and the tests can inspect what would be drawn without parsing a PDF.

use std::sync::Arc;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};

use super::text::fonts;

// Colours: text, shades of grey for secondary text and shaded cells, the rules, and the
// red of the stamp.

/// Body text and the frame.
pub(super) const BLACK: Rgb = Rgb(0, 0, 0);
pub(super) const DARK: Rgb = Rgb(0x44, 0x44, 0x44);
pub(super) const GREY_TEXT: Rgb = Rgb(0x55, 0x55, 0x55);
/// Table rules: a little lighter than the text so that the grid does not dominate.
const RULE: Rgb = Rgb(0x33, 0x33, 0x33);
pub(super) const LABEL_BG: Rgb = Rgb(0xEE, 0xEE, 0xEE);
pub(super) const HEADER_BG: Rgb = Rgb(0xE2, 0xE2, 0xE2);
pub(super) const SEAL_RED: Rgb = Rgb(0xD4, 0x1E, 0x1E);

/// Stroke width of a table's inner rules.
pub(super) const THIN: f32 = 0.5;
/// Stroke width of the rules that open and close a table on each page.
pub(super) const THICK: f32 = 1.0;

/// An sRGB colour, 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rgb(u8, u8, u8);

impl Rgb {
    fn paint(self) -> krilla::paint::Paint {
        rgb::Color::new(self.0, self.1, self.2).into()
    }
}

/// A rectangle by its edges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bx {
    pub(super) l: f32,
    pub(super) t: f32,
    pub(super) r: f32,
    pub(super) b: f32,
}

impl Bx {
    /// A rectangle by its top-left corner and size.
    pub(super) fn xywh(x: f32, y: f32, w: f32, h: f32) -> Self {
        Bx {
            l: x,
            t: y,
            r: x + w,
            b: y + h,
        }
    }

    /// The smallest rectangle holding both.
    #[cfg(test)]
    fn union(self, o: Bx) -> Bx {
        Bx {
            l: self.l.min(o.l),
            t: self.t.min(o.t),
            r: self.r.max(o.r),
            b: self.b.max(o.b),
        }
    }

    /// As krilla's rectangle; `None` when degenerate (nothing is drawn then).
    fn rect(self) -> Option<Rect> {
        Rect::from_ltrb(self.l, self.t, self.r, self.b)
    }
}

/// One line of text, drawn with a single text-showing operation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextOp {
    pub(super) x: f32,
    /// Baseline.
    pub(super) y: f32,
    pub(super) size: f32,
    pub(super) text: String,
    pub(super) color: Rgb,
    /// Stroke width for a bolder look (0 = fill only).
    pub(super) bold: f32,
    /// Extra space after every character but the last, in points.
    pub(super) tracking: f32,
    /// Drawn in the page margin on purpose (issue number, page number).
    pub(super) margin: bool,
}

#[cfg(test)]
impl TextOp {
    /// Drawn width, tracking included.
    pub(super) fn width(&self) -> f32 {
        fonts().width(&self.text, self.size, self.tracking)
    }

    /// The area the line can cover: font ascent to descent, widened by the bold stroke.
    pub(super) fn bbox(&self) -> Bx {
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
pub(super) enum Shape {
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
    /// A square bitmap of `side` × `side` 8-bit grey pixels filling `bx` (the
    /// QR code, one pixel per module), drawn without interpolation so that the
    /// modules keep their edges at any zoom.
    Bitmap {
        bx: Bx,
        side: u32,
        luma: Arc<Vec<u8>>,
    },
}

/// The pixels of a [`Shape::Bitmap`] as krilla reads an image.
#[derive(Clone, Hash)]
struct Luma {
    side: u32,
    pixels: Arc<Vec<u8>>,
}

impl CustomImage for Luma {
    fn color_channel(&self) -> &[u8] {
        &self.pixels
    }
    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }
    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }
    fn size(&self) -> (u32, u32) {
        (self.side, self.side)
    }
    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }
    fn color_space(&self) -> ImageColorspace {
        ImageColorspace::Luma
    }
}

impl Shape {
    /// The area covered, half the stroke width included; `None` for an empty shape.
    #[cfg(test)]
    pub(super) fn bbox(&self) -> Option<Bx> {
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
            Shape::Bitmap { bx, .. } => Some(*bx),
        }
    }

    /// Paints the shape as a single path.
    fn draw(&self, s: &mut krilla::surface::Surface<'_>) {
        let mut pb = PathBuilder::new();
        match self {
            Shape::Bitmap { bx, side, luma } => {
                let pixels = Luma {
                    side: *side,
                    pixels: Arc::clone(luma),
                };
                // from_custom fails only when the pixels do not fill the side.
                if let (Ok(image), Some(size)) = (
                    Image::from_custom(pixels, false),
                    Size::from_wh(bx.r - bx.l, bx.b - bx.t),
                ) {
                    s.push_transform(&Transform::from_translate(bx.l, bx.t));
                    s.draw_image(image, size);
                    s.pop();
                }
                return;
            }
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
pub(super) struct PageOps {
    pub(super) fills: Vec<Shape>,
    pub(super) rules: Vec<Shape>,
    pub(super) texts: Vec<TextOp>,
    pub(super) overlay: Vec<Shape>,
    pub(super) overlay_texts: Vec<TextOp>,
}

impl PageOps {
    /// Fills `r` with `color`, adding it to the page's fill of that colour if there is one:
    /// one path per colour keeps the content stream short.
    pub(super) fn fill(&mut self, color: Rgb, r: Bx) {
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

    /// Strokes a rule of `width`, merged like [`PageOps::fill`] (one path per width).
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

    /// A horizontal rule from `x1` to `x2` at `y`.
    pub(super) fn hline(&mut self, width: f32, x1: f32, x2: f32, y: f32) {
        self.rule(width, [x1, y, x2, y]);
    }

    /// A vertical rule from `y1` to `y2` at `x`.
    pub(super) fn vline(&mut self, width: f32, x: f32, y1: f32, y2: f32) {
        self.rule(width, [x, y1, x, y2]);
    }

    /// A line of text in the content area, without tracking; empty text draws nothing.
    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, text: &str, color: Rgb, bold: f32) {
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
    pub(super) fn all_texts(&self) -> impl Iterator<Item = &TextOp> {
        self.texts.iter().chain(&self.overlay_texts)
    }

    /// Paints the page in display-list order.
    pub(super) fn draw(&self, s: &mut krilla::surface::Surface<'_>, font: &Font) {
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
