"""Generators of hostile and broken files for :mod:`bench.reliability.files`.

Each generator writes its files under a folder and returns :class:`Case` records saying what
must happen to each file: indexed (and found by its probe query), rejected (with a reason that
names the problem), or either. Nothing here is committed: every file is made at run time.
"""

from __future__ import annotations

import io
import os
import random
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.config import BUNDLED_REPORTS

# "hidden": a name starting with "." inside a folder, skipped by design (like .git)
Expect = Literal["indexed", "rejected", "either", "hidden"]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
MIB = 1024 * 1024

# A short Vietnamese report; {probe} is a unique word the search must find.
REPORT = (
    "Báo cáo ngành thông tin và truyền thông tỉnh Lào Cai năm 2023\n"
    "Năm 2023, toàn tỉnh có 1.357 trạm BTS, phủ sóng 4G đến 98% thôn bản; mã {probe}.\n"
    "Sở Thông tin và Truyền thông đã đưa nền tảng chuyển đổi số về 152 xã, phường.\n"
)


@dataclass
class Case:
    """One generated file and what must happen to it."""

    path: Path
    category: str
    expect: Expect
    probe: str | None = None  # an NFC query whose hits must include this file
    reasons: tuple[str, ...] = ()  # a rejection reason must contain one of these (lower case)
    extra_paths: list[Path] = field(default_factory=list)  # other spellings passed to the batch


def probe_word(tag: str) -> str:
    """A unique Vietnamese-looking word: ``mãsốgood3``."""
    return f"mãsố{tag}"


def report_text(tag: str) -> str:
    return REPORT.format(probe=probe_word(tag))


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- real documents to break ------------------------------------------------------------------


def make_pdf(text: str) -> bytes:
    """A real one-page PDF (fpdf2) with ``text``; Vietnamese when a Unicode font exists."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if DEJAVU.exists():
        pdf.add_font("DejaVu", fname=str(DEJAVU))
        pdf.set_font("DejaVu", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
        text = unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode()
    for _ in range(3):  # a few paragraphs, so that truncation has something to cut through
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def make_docx(text: str, title: str = "Báo cáo Lào Cai năm 2023") -> bytes:
    """A real DOCX (python-docx) with ``text`` as paragraphs and a small table."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    for line in text.splitlines():
        d.add_paragraph(line)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Trạm BTS"
    table.rows[0].cells[1].text = "1.357"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# --- categories -------------------------------------------------------------------------------


def good(folder: Path, rng: random.Random) -> list[Case]:
    """The bundled reports and one good report per format."""
    cases = []
    for src in sorted(BUNDLED_REPORTS.glob("*.txt")):
        cases.append(
            Case(
                _write(folder / src.name, src.read_bytes()),
                "good",
                "indexed",
                probe="1.422" if "bac-giang" in src.name else None,
            )
        )
    text = report_text("goodtxt")
    cases.append(
        Case(_write(folder / "good-lao-cai.txt", text), "good", "indexed", probe_word("goodtxt"))
    )
    md = "# " + report_text("goodmd").replace("\n", "\n\n", 1)
    cases.append(
        Case(_write(folder / "good-lao-cai.md", md), "good", "indexed", probe_word("goodmd"))
    )
    html = (
        "<html><head><title>Báo cáo Lào Cai</title></head><body><p>"
        + report_text("goodhtml").replace("\n", "</p><p>")
        + "</p></body></html>"
    )
    cases.append(
        Case(_write(folder / "good-lao-cai.html", html), "good", "indexed", probe_word("goodhtml"))
    )
    cases.append(
        Case(
            _write(folder / "good-lao-cai.docx", make_docx(report_text("gooddocx"))),
            "good",
            "indexed",
            probe_word("gooddocx"),
        )
    )
    pdf_probe = probe_word("goodpdf") if DEJAVU.exists() else "masogoodpdf"
    cases.append(
        Case(
            _write(folder / "good-lao-cai.pdf", make_pdf(report_text("goodpdf"))),
            "good",
            "indexed",
            pdf_probe,
        )
    )
    return cases


def empty(folder: Path, rng: random.Random) -> list[Case]:
    return [
        Case(_write(folder / f"empty{ext}", b""), "empty", "rejected", reasons=("empty",))
        for ext in (".txt", ".md", ".html", ".pdf", ".docx")
    ]


def whitespace(folder: Path, rng: random.Random) -> list[Case]:
    """Only spaces, tabs, newlines, NBSP and other invisible characters."""
    bodies = {
        "spaces.txt": b"   \n\t\t  \r\n   ",
        "nbsp.txt": "\u00a0 \u00a0\n\u00a0".encode(),
        "ideographic.md": "\u3000\u200b\u2060\ufeff \n".encode(),
        "nbsp.html": b"<html><body><p>&nbsp;</p><div>\xc2\xa0</div></body></html>",
        "bom-spaces.txt": b"\xef\xbb\xbf   \n ",
        "cp1258-nbsp.txt": b"\xa0\xa0 \xa0\n",
    }
    return [
        Case(_write(folder / name, data), "whitespace", "rejected", reasons=("empty", "no text"))
        for name, data in bodies.items()
    ]


def binary(folder: Path, rng: random.Random) -> list[Case]:
    """Random bytes under every supported extension."""
    reasons = {
        ".txt": ("binary", "decode"),
        ".md": ("binary", "decode"),
        ".html": ("binary", "decode"),
        ".pdf": ("pdf",),
        ".docx": ("docx",),
    }
    cases = []
    for i, size in enumerate((64, 4096, 300_000, 2 * MIB)):
        for ext, why in reasons.items():
            data = rng.randbytes(size)
            cases.append(
                Case(_write(folder / f"random-{i}{ext}", data), "binary", "rejected", reasons=why)
            )
    return cases


def truncated_pdf(folder: Path, rng: random.Random) -> list[Case]:
    """A real PDF cut at 14 places: readable remains may be indexed, the rest is refused."""
    raw = make_pdf(report_text("truncpdf"))
    cuts = [
        1,
        8,
        64,
        *(int(len(raw) * f) for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97)),
        len(raw) - 1,
    ]
    return [
        Case(
            _write(folder / f"truncated-{cut}.pdf", raw[:cut]),
            "truncated_pdf",
            "either",
            reasons=("pdf", "empty", "no text"),
        )
        for cut in cuts
    ]


def truncated_docx(folder: Path, rng: random.Random) -> list[Case]:
    """A real DOCX cut at 14 places."""
    raw = make_docx(report_text("truncdocx"))
    cuts = [
        2,
        30,
        200,
        *(int(len(raw) * f) for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97)),
        len(raw) - 1,
    ]
    return [
        Case(
            _write(folder / f"truncated-{cut}.docx", raw[:cut]),
            "truncated_docx",
            "either",
            reasons=("docx", "empty"),
        )
        for cut in cuts
    ]


# --- zip bombs --------------------------------------------------------------------------------

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DOC_HEAD = (
    f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>'
)
_DOC_TAIL = "</w:t></w:r></w:p></w:body></w:document>"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
    '"word/document.xml"/></Relationships>'
)


@dataclass
class _Member:
    name: str
    deflated: bytes
    crc: int
    size: int  # the uncompressed size declared in the headers


def _deflate(data: bytes) -> _Member:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return _Member("", c.compress(data) + c.flush(), zlib.crc32(data), len(data))


def _spaces_bomb(total: int) -> _Member:
    """A deflate stream of a document.xml whose text is ``total`` bytes of spaces, built from
    one compressed MiB repeated (a full flush resets the history), so it is made in
    milliseconds; the CRC is the true one."""
    head, tail, block = _DOC_HEAD.encode(), _DOC_TAIL.encode(), b" " * MIB
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    seg = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    n = total // MIB
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    return _Member(
        "word/document.xml", first + seg * n + last, crc, len(head) + n * MIB + len(tail)
    )


def _zip(members: list[_Member], overlap: int = 0) -> bytes:
    """A zip archive written by hand (deflate), so that sizes can be huge or lie.
    ``overlap``: that many extra central-directory entries all pointing at the last member's
    data (the non-recursive zip bomb of overlapping files)."""
    out, central, offsets = bytearray(), bytearray(), []
    for m in members:
        name = m.name.encode()
        offsets.append(len(out))
        out += (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                0,
                0,
                m.crc,
                len(m.deflated),
                m.size & 0xFFFFFFFF,
                len(name),
                0,
            )
            + name
            + m.deflated
        )
    entries = [(m, off) for m, off in zip(members, offsets, strict=True)]
    entries += [
        (
            _Member(
                f"word/media/copy{i}.xml", members[-1].deflated, members[-1].crc, members[-1].size
            ),
            offsets[-1],
        )
        for i in range(overlap)
    ]
    for m, off in entries:
        name = m.name.encode()
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                m.crc,
                len(m.deflated),
                m.size & 0xFFFFFFFF,
                len(name),
                0,
                0,
                0,
                0,
                0,
                off,
            )
            + name
        )
    eocd = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0
    )
    return bytes(out + central + eocd)


def _named(name: str, text: str) -> _Member:
    m = _deflate(text.encode())
    m.name = name
    return m


def zip_bomb(folder: Path, rng: random.Random) -> list[Case]:
    """DOCX-shaped zip bombs: refused by their declared sizes, never inflated."""
    parts = [_named("[Content_Types].xml", _CONTENT_TYPES), _named("_rels/.rels", _RELS)]
    honest = _spaces_bomb(3 * 1024 * MIB)  # 3 GiB of spaces in about 3 MB
    lying = _spaces_bomb(3 * 1024 * MIB)
    lying.size = 4096  # the headers claim 4 KB; the data inflates to 3 GiB
    shared = _spaces_bomb(64 * MIB)  # 60 more entries point at its data: 3.8 GiB in all
    shared.name = "word/media/part.xml"
    small_parts = _named("word/document.xml", _DOC_HEAD + "Lào Cai" + _DOC_TAIL)
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + f']><w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    dense = "<w:p/>" * (20 * MIB // 6)
    dense_doc = _named(
        "word/document.xml",
        _DOC_HEAD + "mãsốdensedocx" + "</w:t></w:r></w:p>" + dense + "</w:body></w:document>",
    )
    specs: list[tuple[str, bytes, Expect, tuple[str, ...], str | None]] = [
        ("bomb-3gib.docx", _zip([*parts, honest]), "rejected", ("zip bomb", "inflates"), None),
        (
            "bomb-lying-header.docx",
            _zip([*parts, lying]),
            "rejected",
            ("docx", "zip bomb", "inflates"),
            None,
        ),
        (
            "bomb-overlap.docx",
            _zip([*parts, small_parts, shared], overlap=60),
            "rejected",
            ("zip bomb", "inflates"),
            None,
        ),
        (
            "bomb-billion-laughs.docx",
            _zip([*parts, _named("word/document.xml", laughs)]),
            "rejected",
            ("docx",),
            None,
        ),
        (
            "dense-20mib-paragraphs.docx",
            _zip([*parts, dense_doc]),
            "either",
            ("docx", "zip bomb", "inflates", "too many"),
            "mãsốdensedocx",
        ),
    ]
    return [
        Case(_write(folder / name, data), "zip_bomb", expect, reasons=why, probe=probe)
        for name, data, expect, why, probe in specs
    ]


def pdf_bomb(folder: Path, rng: random.Random) -> list[Case]:
    """A PDF whose page content stream inflates to 1 GiB of spaces."""
    bomb = _spaces_bomb(1024 * MIB).deflated  # raw deflate: wrap as zlib for /FlateDecode
    body = b"\x78\xda" + bomb + struct.pack(">I", 1)  # wrong adler32: readers must cope
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return [
        Case(
            _write(folder / "bomb-1gib-stream.pdf", bytes(out)),
            "pdf_bomb",
            "rejected",
            reasons=("pdf", "no text"),
        )
    ]


def too_large(folder: Path, rng: random.Random) -> list[Case]:
    """Files over the size limit: refused by size before reading."""
    cases = []
    for name, size in (("huge-50mb.txt", 50 * MIB), ("huge-25mb.pdf", 25 * MIB)):
        path = folder / name
        line = (report_text("toolarge") * 40).encode()
        with open(path, "wb") as fh:
            for _ in range(size // len(line) + 1):
                fh.write(line)
        cases.append(Case(path, "too_large", "rejected", reasons=("too large",)))
    return cases


def cp1258(text: str) -> bytes:
    """Windows-1258 as legacy Vietnamese software wrote it: letters such as ă, ơ precomposed,
    tone marks as separate combining characters."""
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            tone = next(c for c in d if c in "\u0300\u0301\u0303\u0309\u0323")
            out += unicodedata.normalize("NFC", d.replace(tone, "")).encode("cp1258")
            out += tone.encode("cp1258")
    return out


def _sloppy_cp1252(byte: int) -> str:
    """A byte as Windows software shows it: Windows-1252, undefined bytes as C1 controls."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def encodings(folder: Path, rng: random.Random) -> list[Case]:
    """Vietnamese in legacy and odd encodings; French in latin-1 (not decodable as Vietnamese);
    UTF-8 read as latin-1/cp1252 and saved again (mojibake); UTF-8 with a few corrupt bytes."""

    def text(tag: str) -> str:
        return report_text(tag)

    moji = "".join(_sloppy_cp1252(b) for b in text("mojibake").encode()).encode()
    moji_latin = text("mojilatin").encode().decode("latin-1").encode()
    corrupt = bytearray(text("corrupt").encode() * 20)
    for pos in (7, 400, 1200):
        corrupt[pos] = 0xFF
    specs: list[tuple[str, bytes, Expect, str | None, tuple[str, ...]]] = [
        ("cp1258.txt", cp1258(text("cpone")), "indexed", probe_word("cpone"), ()),
        ("cp1258.md", cp1258(text("cptwo")), "indexed", probe_word("cptwo"), ()),
        (
            "utf16le-nobom.txt",
            text("utfle").encode("utf-16-le"),
            "indexed",
            probe_word("utfle"),
            (),
        ),
        (
            "utf16be-nobom.txt",
            text("utfbe").encode("utf-16-be"),
            "indexed",
            probe_word("utfbe"),
            (),
        ),
        ("utf16-bom.md", text("utfbom").encode("utf-16"), "indexed", probe_word("utfbom"), ()),
        (
            "latin1-french.txt",
            "Le café du coin: résumé naïf, élève, Noël.".encode("latin-1"),
            "rejected",
            None,
            ("decode",),
        ),
        ("mojibake-cp1252.txt", moji, "indexed", probe_word("mojibake"), ()),
        ("mojibake-latin1.txt", moji_latin, "indexed", probe_word("mojilatin"), ()),
        ("utf8-corrupt-bytes.txt", bytes(corrupt), "indexed", probe_word("corrupt"), ()),
    ]
    return [
        Case(_write(folder / name, data), "encoding", expect, probe, why)
        for name, data, expect, probe, why in specs
    ]


def nested_html(folder: Path, rng: random.Random) -> list[Case]:
    """100,000 levels of nesting, closed and unclosed, and 1,000,000 levels (a 4 MB file)."""

    def page(tag: str, n: int, close: bool, probe: str) -> str:
        inner = f"<p>{report_text(probe)}</p>"
        return f"<html><body>{f'<{tag}>' * n}{inner}{f'</{tag}>' * n if close else ''}</body>"

    specs = [
        ("nested-100k-div.html", "div", 100_000, True, "nestdiv"),
        ("nested-100k-unclosed-font.html", "font", 100_000, False, "nestfont"),
        ("nested-1m-b.html", "b", 1_000_000, True, "nestb"),
    ]
    return [
        Case(
            _write(folder / name, page(tag, n, close, probe)),
            "nested_html",
            "indexed",
            probe_word(probe),
        )
        for name, tag, n, close, probe in specs
    ]


def odd_names(folder: Path, rng: random.Random) -> list[Case]:
    """File names with ``../``-like parts, control characters, long, NFD, non-UTF-8 bytes;
    plus paths spelled with ``..`` given to the batch directly."""
    names = [
        "..txt",
        "-rf .txt",
        "a\nb.txt",
        "tab\there.md",
        "..\\..\\evil.txt",
        "%2e%2e%2fpasswd.txt",
        "báo cáo " + "x" * 200 + ".txt",
        unicodedata.normalize("NFD", "Báo cáo Điện Biên.txt"),
        "🙂 emoji.md",
        "REPORT.TXT",
        "semi;colon$(x)`y`.html",
        " leading space.txt",
    ]
    cases = []
    for i, name in enumerate(names):
        tag = f"name{i}"
        data = report_text(tag)
        if name.endswith(".html"):
            data = f"<p>{data}</p>"
        expect: Expect = "hidden" if name.startswith(".") else "indexed"
        cases.append(Case(_write(folder / name, data), "odd_name", expect, probe_word(tag)))
    raw = os.fsencode(folder) + b"/bad-utf8-\xff\xfe.txt"
    with open(raw, "wb") as fh:
        fh.write(report_text("badutf8").encode())
    cases.append(
        Case(Path(os.fsdecode(raw)), "odd_name", "either", probe_word("badutf8"), reasons=("name",))
    )
    outside = folder.parent / "outside"
    target = _write(outside / "outside.txt", report_text("dotdot"))
    spelled = folder / "sub" / ".." / ".." / "outside" / "outside.txt"
    (folder / "sub").mkdir(exist_ok=True)
    cases.append(Case(target, "odd_name", "indexed", probe_word("dotdot"), extra_paths=[spelled]))
    twice = _write(folder / "given-twice.txt", report_text("twice"))
    cases.append(
        Case(
            twice,
            "odd_name",
            "indexed",
            probe_word("twice"),
            extra_paths=[folder / "sub" / ".." / "given-twice.txt"],
        )
    )
    return cases


def nul_bytes(folder: Path, rng: random.Random) -> list[Case]:
    """Stray NULs in a text (near the start, far in) are cleaned; a text of NULs is binary."""
    text = report_text("nulnear")
    near = text[:20] + "\x00" + text[20:]
    far_text = report_text("nulfar") * 60
    far = far_text[:5000] + "\x00\x00" + far_text[5000:]
    many = "\x00".join(report_text("nulmany"))
    return [
        Case(
            _write(folder / "nul-near-start.txt", near),
            "nul_bytes",
            "indexed",
            probe_word("nulnear"),
        ),
        Case(_write(folder / "nul-far.txt", far), "nul_bytes", "indexed", probe_word("nulfar")),
        Case(
            _write(folder / "nul-every-other.md", many),
            "nul_bytes",
            "either",
            probe_word("nulmany"),
            reasons=("binary", "decode"),
        ),
    ]


def long_line(folder: Path, rng: random.Random) -> list[Case]:
    """A single 5 MB line of Vietnamese words with a probe in its middle; 5 MB of one letter."""
    words = [
        "toàn",
        "tỉnh",
        "có",
        "trạm",
        "BTS",
        "phủ",
        "sóng",
        "4G",
        "thôn",
        "bản",
        "chuyển",
        "đổi",
        "số",
        "Lào",
        "Cai",
    ]
    many = " ".join(rng.choice(words) for _ in range(700_000)).encode()
    half = many[: 5 * MIB // 2].decode("utf-8", "ignore")
    line = f"{half} {probe_word('longline')} {half}"
    return [
        Case(
            _write(folder / "one-5mb-line.txt", line),
            "long_line",
            "indexed",
            probe_word("longline"),
        ),
        Case(
            _write(folder / "one-5mb-word.txt", "a" * (5 * MIB)),
            "long_line",
            "either",
            reasons=("no text", "too long"),
        ),
    ]


def nfc_nfd(folder: Path, rng: random.Random) -> list[Case]:
    """Decomposed (NFD) Vietnamese, alone and mixed line by line with NFC: found by NFC queries."""
    nfd = unicodedata.normalize("NFD", report_text("nfdonly"))
    lines = report_text("nfdmix").splitlines()
    mixed = "\n".join(
        unicodedata.normalize("NFD" if i % 2 else "NFC", line) for i, line in enumerate(lines)
    )
    html = "<p>" + unicodedata.normalize("NFD", report_text("nfdhtml")) + "</p>"
    return [
        Case(_write(folder / "nfd.txt", nfd), "nfc_nfd", "indexed", probe_word("nfdonly")),
        Case(_write(folder / "mixed.md", mixed), "nfc_nfd", "indexed", probe_word("nfdmix")),
        Case(_write(folder / "nfd.html", html), "nfc_nfd", "indexed", probe_word("nfdhtml")),
    ]


GENERATORS: list[Callable[[Path, random.Random], list[Case]]] = [
    good,
    empty,
    whitespace,
    binary,
    truncated_pdf,
    truncated_docx,
    zip_bomb,
    pdf_bomb,
    too_large,
    encodings,
    nested_html,
    odd_names,
    nul_bytes,
    long_line,
    nfc_nfd,
]


def generate(folder: Path, seed: int = 0) -> list[Case]:
    """Every hostile, broken and good file, written under ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [case for gen in GENERATORS for case in gen(folder, rng)]
