"""Makes PocketgovGothic.ttf, the certificate font, from NanumGothic.ttf.

The subset keeps what certificates print (all 11,172 Hangul syllables, the
Hangul jamo, Latin, Greek, Cyrillic, and the punctuation, symbol, circled and
full-width blocks of KS X 1001) and drops the 4,888 Hanja, the TrueType hinting
(which PDF viewers do not run) and the VTT source tables: 1.5 MB instead of
4.7 MB, about 0.5 MB instead of 2.5 MB in the function's zip.

NanumGothic's licence (SIL OFL 1.1, OFL.txt here) reserves the name "Nanum" for
the original, so the subset, a Modified Version, is renamed; its copyright and
licence entries are kept.

    python3 -m venv /tmp/ft && /tmp/ft/bin/pip install fonttools==4.68.0
    git show 2d0552a:functions/certificate/assets/fonts/NanumGothic.ttf > /tmp/NanumGothic.ttf
    /tmp/ft/bin/python functions/certificate/assets/fonts/subset.py /tmp/NanumGothic.ttf \
        functions/certificate/assets/fonts/PocketgovGothic.ttf
"""

import sys

from fontTools import subset
from fontTools.ttLib import TTFont

UNICODES = [
    (0x0000, 0x024F),  # Latin
    (0x02B0, 0x036F),  # modifier letters, combining marks
    (0x0370, 0x04FF),  # Greek, Cyrillic
    (0x1100, 0x11FF),  # Hangul jamo
    (0x2000, 0x33FF),  # punctuation, symbols, CJK symbols, circled, units
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # full-width forms
]

FAMILY = "PocketgovGothic"
DESCRIPTION = (
    "Subset of NanumGothic 3.021 (Hangul, Latin, symbols; no Hanja, no hinting) "
    "for pocketgov certificates, under the SIL Open Font License 1.1."
)


def main(source: str, target: str) -> None:
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(
        unicodes=[u for lo, hi in UNICODES for u in range(lo, hi + 1)]
    )
    subsetter.subset(font)

    names = font["name"]
    names.removeNames(nameID=7)  # the trademark of the original's name
    for record in list(names.names):
        if record.nameID in (1, 4, 6, 16):
            record.string = FAMILY
        elif record.nameID == 3:
            record.string = f"3.021;pocketgov;{FAMILY}"
    names.setName(DESCRIPTION, 10, 3, 1, 0x409)
    font.save(target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
