"""The PDF: built by XeLaTeX from the same sources, complete and readable."""
from __future__ import annotations

import re
import subprocess

from book_paths import HTML, SITE_PDF, tool


def pdf_info(pdf) -> dict[str, str]:
    out = subprocess.run([tool("pdfinfo"), str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def test_pdf_is_a_xelatex_book(pdf_path):
    info = pdf_info(pdf_path)
    assert "XeTeX" in info["Producer"] or "xdvipdfmx" in info["Producer"], info["Producer"]
    assert int(info["Pages"]) >= 25, f"only {info['Pages']} pages"
    assert "Deep Learning from First Principles" in info.get("Title", "")
    assert SITE_PDF.read_bytes() == pdf_path.read_bytes(), "the site links to a stale PDF copy"


def test_pdf_has_contents_chapters_and_bibliography(pdf_text):
    for heading in ("CONTENTS", "Notation and conventions", "The single neuron",
                    "API reference", "How this book was built", "Exercises"):
        assert heading in pdf_text, f"{heading!r} not in the PDF"
    assert re.search(r"Cox.{0,40}1958", pdf_text, re.S), "bibliography entry missing"
    assert "regression analysis of binary sequences" in pdf_text.lower()


def test_pdf_numbers_every_equation_like_the_site(pdf_text):
    """Each equation number of the HTML appears in the PDF (same numbering, nothing lost)."""
    numbers = set()
    for page in HTML.glob("book/*.html"):
        numbers |= set(re.findall(r'<span class="eqno">\((\d+\.\d+)\)', page.read_text()))
    assert len(numbers) >= 15, numbers
    missing = sorted(n for n in numbers if f"({n})" not in pdf_text)
    assert not missing, f"equations missing from the PDF: {missing}"


def test_pdf_contains_the_key_equations(pdf_text):
    """Key formulas survived MyST -> LaTeX -> PDF (compared without spaces)."""
    flat = re.sub(r"\s+", "", pdf_text)
    for formula in ("σ(−z)=1−σ(z)",            # lemma (a)
                    "σ′(z)=σ(z)(1−σ(z))",      # lemma (b)
                    "=σ(z)−y=p−y",             # the gradient with respect to the logit
                    "P(yi∣xi)=pi",             # the Bernoulli likelihood
                    "Z=XW+1b"):                # the affine map
        assert formula in flat, f"{formula!r} not found in the PDF text"


def test_pdf_has_no_unresolved_references(pdf_text):
    """LaTeX prints "??" for a reference it could not resolve (a label the PDF lacks)."""
    spots = [pdf_text[max(0, m.start() - 60):m.end() + 20].replace("\n", " ")
             for m in re.finditer(r"\?\?", pdf_text)]
    assert not spots, f"unresolved references in the PDF: {spots[:5]}"


def test_pdf_wraps_no_line_of_code_or_output(pdf_text):
    """Code cells, included library code and outputs fit the PDF's code box (8-pt type
    holds the 88 columns the site's tests allow): LaTeX would break a longer line and
    mark the rest with "↪", which tears tables apart and reads badly."""
    lines = pdf_text.splitlines()
    spots = [f"{lines[i - 1].strip()[:70]!r} / {line.strip()[:30]!r}"
             for i, line in enumerate(lines) if "\u21aa" in line]
    assert not spots, f"{len(spots)} wrapped line(s) in the PDF:\n  " + "\n  ".join(spots[:20])


def test_pdf_has_no_raw_markup(pdf_text):
    for raw in ("\\frac", "\\mathbf", "$$", "{eq}", "{glue", "{numref}", "```", "\\begin"):
        assert raw not in pdf_text, f"raw markup {raw!r} in the PDF"


#: Raster images allowed in the PDF: only arrays shown as pictures with ``imshow``
#: (data images, filters, feature maps, weight and confusion matrices).  Matplotlib
#: embeds those at about their own resolution (64x64 RGB cats, MNIST digits, a
#: filter bank), far below the size a rasterised plot would have at print
#: resolution (a 6.4 in wide figure at even 72 dpi is 460 pixels wide).  Every plot
#: must stay vector.
MAX_PICTURE_PIXELS = 256


def test_pdf_figures_are_vector_and_fonts_embedded(pdf_path):
    images = subprocess.run([tool("pdfimages"), "-list", str(pdf_path)],
                             capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in images.strip().splitlines()[2:]]
    raster = [r for r in rows if max(int(r[3]), int(r[4])) > MAX_PICTURE_PIXELS]
    assert not raster, f"raster images in the PDF (other than data pictures):\n{images}"
    fonts = subprocess.run([tool("pdffonts"), str(pdf_path)],
                           capture_output=True, text=True, check=True).stdout
    rows = fonts.strip().splitlines()[2:]
    assert rows and not [r for r in rows if "Type 3" in r], f"Type 3 fonts:\n{fonts}"
    assert all(re.search(r"\byes\s+yes\s+(yes|no)\s+\d+\s+\d+\s*$", r) for r in rows), \
        f"fonts not embedded:\n{fonts}"


#: A PDF for the screen: chapters open on the next page (class options openany,
#: oneside in _config.yml), so hardly any page is empty.
MAX_BLANK_PAGES = 3


def test_pdf_has_at_most_three_blank_pages(pdf_path):
    n = int(pdf_info(pdf_path)["Pages"])
    text = subprocess.run([tool("pdftotext"), "-enc", "UTF-8", str(pdf_path), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:n]
    # empty, or nothing but a page number (arabic or roman)
    blank = [i + 1 for i, page in enumerate(pages)
             if re.fullmatch(r"\s*([0-9]+|[ivxlc]+)?\s*", page)]
    assert len(blank) <= MAX_BLANK_PAGES, f"{len(blank)} blank pages of {n}: {blank}"


def _bookmarks(out_file) -> list[tuple[int, str]]:
    r"""(level, title) of hyperref's bookmarks, from the .out file LaTeX writes beside
    the PDF: ``\BOOKMARK [level][]{anchor}{title}{parent}``, the title in octal escapes
    (``\040`` for a space; UTF-16 after ``\376\377`` when it needs Unicode)."""
    marks = []
    for level, title in re.findall(r"\\BOOKMARK \[(-?\d+)\]\[[^]]*\]\{[^}]*\}\{(.*?)\}\{[^}]*\}% \d+",
                                   out_file.read_text(encoding="latin-1")):
        raw = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), title)
        raw = raw.encode("latin-1")
        marks.append((int(level), raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff"
                      else raw.decode("latin-1")))
    return marks


def test_pdf_bookmarks_are_numbered_and_metadata_set(pdf_path):
    marks = _bookmarks(pdf_path.with_suffix(".out"))
    chapters = [title for level, title in marks if level == 0]
    assert len(chapters) >= 10, marks[:20]
    numbered = [t for t in chapters if re.match(r"\d+ \S", t)]
    assert any(t.startswith("1 Notation") for t in numbered), chapters
    assert any(re.match(r"\d+\.\d+ \S", t) for level, t in marks if level == 1), \
        "sections are not numbered in the bookmarks"
    info = pdf_info(pdf_path)
    assert info.get("Title", "").strip() == "Deep Learning from First Principles", info
    assert info.get("Author", "").strip(), "no author in the PDF's metadata"
