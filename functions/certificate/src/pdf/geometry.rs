//! Page geometry: the A4 page, the frame, the content area and the sizes of the layout's
//! parts, in points with the origin at the top left and y growing downwards (the layout
//! works top-down like a reader; krilla takes the same convention).

/// One millimetre in points.
const MM: f32 = 72.0 / 25.4;
/// Width of the QR symbol itself (the quiet zone comes on top).
pub(super) const QR_SYMBOL: f32 = 40.0 * MM;
/// A4 width in points.
pub(super) const PAGE_W: f32 = 595.28;
/// A4 height in points.
pub(super) const PAGE_H: f32 = 841.89;
/// The thick frame around the body: left, right, top and bottom edges.
pub(super) const FRAME_L: f32 = 15.0 * MM;
pub(super) const FRAME_R: f32 = PAGE_W - 15.0 * MM;
pub(super) const FRAME_T: f32 = 20.0 * MM;
pub(super) const FRAME_B: f32 = PAGE_H - 18.0 * MM;
/// Stroke width of the frame.
pub(super) const FRAME_WIDTH: f32 = 1.6;
/// Room between the frame and the content.
const PAD: f32 = 14.0;
/// Content left edge.
pub(super) const X0: f32 = FRAME_L + PAD;
/// Content right edge.
pub(super) const X1: f32 = FRAME_R - PAD;
/// Content width.
pub(super) const CONTENT_W: f32 = X1 - X0;
/// First y of the content on a page.
pub(super) const BODY_TOP: f32 = FRAME_T + PAD;
/// Last y of the content on a page.
pub(super) const BODY_BOTTOM: f32 = FRAME_B - PAD;

// Sizes of the layout's parts: `_FS` is a font size, `_LH` a line height, `_H` a
// height, `_W` a width, `_PX`/`_PY` horizontal/vertical padding.

/// Table cell text.
pub(super) const CELL_FS: f32 = 9.0;
pub(super) const CELL_LH: f32 = 12.0;
pub(super) const CELL_PX: f32 = 5.0;
pub(super) const CELL_PY: f32 = 3.5;
/// Width of a label cell in a `Fields` block.
pub(super) const LABEL_W: f32 = 80.0;
/// Section heading.
pub(super) const HEADING_FS: f32 = 10.5;
pub(super) const HEADING_H: f32 = 20.0;
/// Space after a section.
pub(super) const SECTION_GAP: f32 = 10.0;
/// Closing block: statement, issue date and validity lines.
pub(super) const STATEMENT_LH: f32 = 16.0;
pub(super) const DATE_LH: f32 = 17.0;
pub(super) const VALID_LH: f32 = 14.0;
/// Side of the stamp.
pub(super) const STAMP: f32 = 52.0;
/// Footer beside the QR code.
pub(super) const FOOTER_FS: f32 = 8.5;
pub(super) const FOOTER_LH: f32 = 12.5;
/// Paragraph (`Text` block).
pub(super) const TEXT_FS: f32 = 9.5;
pub(super) const TEXT_LH: f32 = 15.0;
/// The "(계속)" line at the top of a continuation page.
pub(super) const CONT_H: f32 = 22.0;
/// Room for the longest possible table row on a continuation page.
pub(super) const MAX_ROW_H: f32 = BODY_BOTTOM - BODY_TOP - CONT_H - HEADING_H - 3.0 * 24.0;
