//! Photos as uploaded: what their first bytes say they are (a text file sent
//! as `image/png` is refused), and JPEGs without the metadata a phone writes
//! into them (EXIF with GPS position, device serials and owner names, XMP,
//! IPTC, comments). The report's location is explicit, so nothing of it needs
//! to stay in the file; the compressed image data is copied unchanged.

/// The image types api.md accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
    /// `image/heic`.
    Heic,
    /// `image/webp`.
    Webp,
}

impl Kind {
    /// Every type, in api.md's order.
    pub const ALL: [Kind; 4] = [Kind::Jpeg, Kind::Png, Kind::Heic, Kind::Webp];

    /// The type of a declared `Content-Type`, `None` when not accepted.
    pub fn from_content_type(content_type: &str) -> Option<Kind> {
        Some(match content_type {
            "image/jpeg" => Kind::Jpeg,
            "image/png" => Kind::Png,
            "image/heic" => Kind::Heic,
            "image/webp" => Kind::Webp,
            _ => return None,
        })
    }

    /// The `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Heic => "image/heic",
            Kind::Webp => "image/webp",
        }
    }

    /// How many first bytes [`Kind::matches`] needs.
    pub const SNIFF_BYTES: usize = 16;

    /// Whether `head` (the file's first bytes) is a file of this type.
    pub fn matches(self, head: &[u8]) -> bool {
        match self {
            Kind::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
            Kind::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
            Kind::Webp => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
            Kind::Heic => {
                head.len() >= 12
                    && &head[4..8] == b"ftyp"
                    && matches!(
                        &head[8..12],
                        b"heic"
                            | b"heix"
                            | b"hevc"
                            | b"hevx"
                            | b"heim"
                            | b"heis"
                            | b"mif1"
                            | b"msf1"
                    )
            }
        }
    }
}

impl schemars::JsonSchema for Kind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PhotoContentType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let types: Vec<&str> = Kind::ALL.iter().map(|k| k.content_type()).collect();
        schemars::json_schema!({ "type": "string", "enum": types })
    }
}

/// A JPEG that cannot be read up to its image data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable JPEG: {0}")]
pub struct JpegError(&'static str);

/// `jpeg` without its metadata segments: APP1 (EXIF, XMP), APP13 (IPTC) and
/// comments are dropped; the other segments (quantisation and Huffman tables,
/// frame header, ICC profile, JFIF) and everything from the start of scan on
/// are copied byte for byte, so the pixels are unchanged.
pub fn strip_jpeg_metadata(jpeg: &[u8]) -> Result<Vec<u8>, JpegError> {
    const APP1: u8 = 0xE1;
    const APP13: u8 = 0xED;
    const COM: u8 = 0xFE;
    const SOS: u8 = 0xDA;
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegError("no start-of-image marker"));
    }
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&jpeg[..2]);
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while jpeg.get(at) == Some(&0xFF) && jpeg.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) else {
            return Err(JpegError("a segment does not start with a marker"));
        };
        if marker == SOS {
            out.extend_from_slice(&jpeg[at..]);
            return Ok(out);
        }
        let length = match (jpeg.get(at + 2), jpeg.get(at + 3)) {
            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(JpegError("truncated segment header")),
        };
        if length < 2 || at + 2 + length > jpeg.len() {
            return Err(JpegError("a segment runs past the end of the file"));
        }
        let end = at + 2 + length;
        if !matches!(marker, APP1 | APP13 | COM) {
            out.extend_from_slice(&jpeg[at..end]);
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment: marker and payload with its length.
    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// A JPEG-shaped file: JFIF, EXIF with a GPS tag's bytes, a comment, a
    /// quantisation table, then scan data.
    fn phone_jpeg() -> (Vec<u8>, Vec<u8>) {
        let scan = [
            0xFF, 0xDA, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 0x12, 0x34, 0xFF, 0x00, 0xFF, 0xD9,
        ];
        let mut j = vec![0xFF, 0xD8];
        j.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        j.extend(segment(
            0xE1,
            b"Exif\0\0MM\0*GPSLatitude 37.5665 Galaxy S26 SN-12345",
        ));
        j.extend(segment(0xFE, b"owner: Hong Gildong"));
        j.extend(segment(0xDB, &[0u8; 65]));
        j.extend_from_slice(&scan);
        let mut clean = vec![0xFF, 0xD8];
        clean.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        clean.extend(segment(0xDB, &[0u8; 65]));
        clean.extend_from_slice(&scan);
        (j, clean)
    }

    #[test]
    fn every_kind_is_listed_and_its_content_type_parses_back() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_content_type(kind.content_type()), Some(kind));
        }
    }

    #[test]
    fn metadata_segments_go_and_image_data_stays_byte_for_byte() {
        let (jpeg, clean) = phone_jpeg();
        let stripped = strip_jpeg_metadata(&jpeg).unwrap();
        assert_eq!(stripped, clean);
        let text = String::from_utf8_lossy(&stripped);
        assert!(!text.contains("Exif") && !text.contains("GPS") && !text.contains("Hong"));
        // Stripping twice changes nothing more
        assert_eq!(strip_jpeg_metadata(&stripped).unwrap(), clean);
    }

    #[test]
    fn broken_jpegs_are_errors_not_panics() {
        let (jpeg, _) = phone_jpeg();
        assert!(strip_jpeg_metadata(b"hello").is_err());
        for cut in 2..40 {
            let _ = strip_jpeg_metadata(&jpeg[..cut]);
        }
        let mut bad = vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF];
        bad.extend_from_slice(&[0; 10]);
        assert!(strip_jpeg_metadata(&bad).is_err());
    }

    #[test]
    fn first_bytes_must_match_the_declared_type() {
        let (jpeg, _) = phone_jpeg();
        assert!(Kind::Jpeg.matches(&jpeg));
        assert!(Kind::Png.matches(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!Kind::Png.matches(b"hello, this is text"));
        assert!(Kind::Webp.matches(b"RIFF\x24\0\0\0WEBPVP8 "));
        assert!(Kind::Heic.matches(b"\0\0\0\x18ftypheic\0\0\0\0"));
        assert!(!Kind::Heic.matches(b"\0\0\0\x18ftypisom\0\0\0\0"));
        assert!(!Kind::Jpeg.matches(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(Kind::from_content_type("image/png"), Some(Kind::Png));
        assert_eq!(Kind::from_content_type("image/gif"), None);
    }
}
