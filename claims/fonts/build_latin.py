"""Rebuilds DejaVuSans-Latin.ttf and DejaVuSans-Bold-Latin.ttf from the full DejaVu fonts beside this file.

Why: a letter parses its fonts each time (fpdf2 subsets a parsed font in place when it writes the PDF),
and parsing the full DejaVu (≈ 6 000 glyphs) was two thirds of a letter's cost. The Latin cut (≈ 450
glyphs: Latin-1, Latin Extended-A, punctuation, €, №) covers French; a letter whose text falls outside
it (a file name in Greek, say) loads the full fonts as a fallback (claims/letters.py).

Run from the project root after changing RANGES: `.venv/bin/python claims/fonts/build_latin.py`.
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

HERE = Path(__file__).resolve().parent
RANGES = "U+0020-007E,U+00A0-017F,U+0192,U+02C6-02DC,U+2010-2027,U+202F-2044,U+20AC,U+2116,U+2122,U+2212,U+FFFD"


def build():
    for name in ("DejaVuSans", "DejaVuSans-Bold"):
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.glyph_names = True
        options.drop_tables += ["FFTM"]
        font = TTFont(HERE / f"{name}.ttf", recalcTimestamp=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(RANGES))
        subsetter.subset(font)
        font.save(HERE / f"{name}-Latin.ttf")
        print(f"{name}-Latin.ttf: {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    build()
