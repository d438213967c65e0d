//! Text: the embedded font, how wide a line is, and how text is cleaned, wrapped and
//! cut to fit a width.
//!
//! Everything is measured with the glyph advances of the one embedded font, and the
//! drawing code ([`super::draw`]) hands krilla those same advances, so a width computed
//! here is exactly the width drawn: centring, right alignment and wrapping need no slack.

use std::sync::LazyLock;

use krilla::text::Font;

/// The embedded font: PocketgovGothic, NanumGothic without its Hanja and hinting
/// (SIL Open Font License; `assets/fonts/subset.py` makes it). A character it lacks
/// is drawn as the `.notdef` box, with that box's width.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/PocketgovGothic.ttf");

/// The embedded font, parsed once per process: krilla's font (cloned per PDF, an `Arc`)
/// and ttf-parser's face for measuring.
pub(super) struct Fonts {
    pub(super) krilla: Font,
    face: ttf_parser::Face<'static>,
    units_per_em: f32,
    /// Ascender above the baseline, in em.
    pub(super) ascent: f32,
    /// Descender below the baseline, in em (positive).
    pub(super) descent: f32,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    // The font is embedded at compile time: failing to parse it is a programming error.
    let face = ttf_parser::Face::parse(FONT_BYTES, 0).expect("embedded font parses");
    let krilla = Font::new(FONT_BYTES.into(), 0).expect("embedded font loads in krilla");
    let units_per_em = f32::from(face.units_per_em().max(1));
    Fonts {
        ascent: f32::from(face.ascender()) / units_per_em,
        descent: -f32::from(face.descender()) / units_per_em,
        krilla,
        face,
        units_per_em,
    }
});

/// The embedded font, parsed at first use (shared by every rendering in the process).
pub(super) fn fonts() -> &'static Fonts {
    &FONTS
}

impl Fonts {
    /// The glyph for `c` (`.notdef` when missing) and its advance in em.
    pub(super) fn glyph(&self, c: char) -> (u16, f32) {
        let id = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        let advance = self.face.glyph_hor_advance(id).unwrap_or(0);
        (id.0, f32::from(advance) / self.units_per_em)
    }

    /// Width of `text` at `size` pt, with `tracking` pt added between characters.
    pub(super) fn width(&self, text: &str, size: f32, tracking: f32) -> f32 {
        let mut em = 0.0;
        let mut n = 0usize;
        for c in text.chars() {
            em += self.glyph(c).1;
            n += 1;
        }
        em * size + tracking * n.saturating_sub(1) as f32
    }
}

/// Width of `text` at `size` pt, without tracking.
pub(super) fn text_width(text: &str, size: f32) -> f32 {
    fonts().width(text, size, 0.0)
}

/// Replaces control characters (tabs, CR, ...) with spaces; keeps `\n` if `keep_newlines`.
pub(super) fn clean(text: &str, keep_newlines: bool) -> String {
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
pub(super) fn wrap(text: &str, size: f32, max_w: f32) -> Vec<String> {
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
pub(super) fn fit(text: &str, size: f32, max_w: f32) -> String {
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
pub(super) fn wrap_at_most(text: &str, size: f32, max_w: f32, max_lines: usize) -> Vec<String> {
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

/// Baseline of a line of text at `size` vertically centred in a line box starting at `top`.
pub(super) fn baseline(top: f32, line_h: f32, size: f32) -> f32 {
    let f = fonts();
    top + (line_h - (f.ascent + f.descent) * size) / 2.0 + f.ascent * size
}
