//! The renderer's unit tests: determinism, extracted text, page count and size, the
//! embedded font, the issue-number search, errors, and that nothing is drawn outside
//! the page or the frame (checked on the display lists, before any PDF is written).

use super::draw::{Bx, PageOps, Shape, TextOp};
use super::furniture::keys_line;
use super::geometry::{
    CELL_PX, FRAME_B, FRAME_L, FRAME_R, FRAME_T, LABEL_W, PAGE_H, PAGE_W, X0, X1,
};
use super::layout::layout;
use super::samples::*;
use super::table::is_numeric;
use super::{Block, Certificate, PdfError, encode_qr, issue_number_in, render};

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
        assert!(rest.contains("PocketgovGothic"), "{name}");
    }
    assert!(font_file2, "no FontFile2");
    assert!(to_unicode, "no ToUnicode");
}

#[test]
fn the_embedded_font_has_every_hangul_syllable_jamo_and_printable_ascii() {
    // GIVEN the subset font (assets/fonts/subset.py)
    let fonts = super::text::fonts();
    // WHEN every character a Korean name, address or register line may hold is looked up
    let wanted = ('\u{AC00}'..='\u{D7A3}')
        .chain('\u{3131}'..='\u{318E}')
        .chain(' '..='~')
        .chain("·…→㎡²①※「」『』【】".chars());
    // THEN each has a glyph of its own, not the .notdef box
    let missing: Vec<char> = wanted.filter(|&c| fonts.glyph(c).0 == 0).collect();
    assert!(missing.is_empty(), "no glyph for {missing:?}");
    // and Hanja, left out of the subset, fall back to .notdef with a width
    let (id, advance) = fonts.glyph('漢');
    assert_eq!(id, 0);
    assert!(advance > 0.0);
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
    let address = long_address();
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
