//! Ruled tables: the cells and rows of a `Fields` block (label/value pairs) and of a
//! `Table` block (a header row and data rows), with their column widths.
//!
//! A row is measured ([`Row::height`]) before it is drawn ([`Row::emit`]), so that the
//! pagination in [`super::layout`] can move a whole row to the next page: rows are never
//! split.

use super::draw::{BLACK, Bx, DARK, HEADER_BG, LABEL_BG, PageOps, Rgb, THIN};
use super::geometry::{CELL_FS, CELL_LH, CELL_PX, CELL_PY, CONTENT_W, LABEL_W, MAX_ROW_H, X0, X1};
use super::text::{baseline, clean, text_width, wrap_at_most};

/// Horizontal alignment of the text in a cell.
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
    /// A cell at `x`, `w` wide, with `text` already wrapped to its width. `bold` marks a
    /// header cell.
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
pub(super) struct Row {
    cells: Vec<Cell>,
}

impl Row {
    /// Height of the row: its tallest cell plus the padding.
    pub(super) fn height(&self) -> f32 {
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
    pub(super) fn emit(&self, page: &mut PageOps, y: f32) {
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
pub(super) fn is_numeric(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit() || c == '-')
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '원' | '㎡'))
}

/// Rows of a `Fields` block: two label/value pairs per row, one pair spanning the row when
/// its value is too long for half a row (or when it has no short partner).
pub(super) fn field_rows(fields: &[(String, String)]) -> Vec<Row> {
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
pub(super) fn table_rows(headers: &[String], rows: &[Vec<String>]) -> (Option<Row>, Vec<Row>) {
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
