"""OCR speed: pages per second of Tesseract (Vietnamese) on scanned A4 pages, and the time to
index a scanned report (render + OCR + chunk + embed + write) from a cold OCR cache.

Usage: ``python -m bench.ocr [--pages 20] [--workers 2] [--json OUT]``

The report is made here: the bundled Bắc Giang report's text, set in DejaVu Serif at 300 dpi,
one image per page (about 25 lines a page), as in ``tests/makefiles.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from assistant import Settings, index_paths, load_encoder
from assistant import ocr as ocr_module
from assistant.config import BUNDLED_REPORTS

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
A4_PT = (595.28, 841.89)
LINES_PER_PAGE = 25


def page_lines(pages: int) -> list[list[str]]:
    text = (BUNDLED_REPORTS / "bac-giang-2020.txt").read_text(encoding="utf-8")
    lines = [w for para in text.split("\n") if para.strip() for w in textwrap.wrap(para, 80)]
    while len(lines) < pages * LINES_PER_PAGE:
        lines += lines
    return [lines[i * LINES_PER_PAGE : (i + 1) * LINES_PER_PAGE] for i in range(pages)]


def scanned_report(pages: int) -> bytes:
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    pdf = FPDF(unit="pt", format="A4")
    font = ImageFont.truetype(str(FONT), 40)
    for lines in page_lines(pages):
        img = Image.new("L", (2480, 3508), 255)
        draw = ImageDraw.Draw(img)
        for i, line in enumerate(lines):
            draw.text((200, 250 + i * 120), line, font=font, fill=0)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        pdf.add_page()
        pdf.image(buf, 0, 0, w=A4_PT[0], h=A4_PT[1])
    return bytes(pdf.output())


def run(pages: int, workers: int) -> dict:
    reason = ocr_module.available()
    if reason:
        raise SystemExit(reason)
    raw = scanned_report(pages)
    ocr_module._CACHE.clear()
    t0 = time.perf_counter()
    result = ocr_module.recognise_pages(raw, list(range(1, pages + 1)), "bench", workers=workers)
    ocr_s = time.perf_counter() - t0
    confidences = [p.confidence for p in result.values()]
    ocr_module._CACHE.clear()
    settings = Settings()
    encoder = load_encoder(settings)
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        folder = Path(tmp) / "reports"
        folder.mkdir()
        (folder / "bao-cao-quet.pdf").write_bytes(raw)
        index_dir = Path(tmp) / "index"
        t0 = time.perf_counter()
        _, report = index_paths(
            [folder], index_dir, settings.model_copy(update={"index_dir": index_dir}), encoder
        )
        index_s = time.perf_counter() - t0
    return {
        "pages": pages,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "ocr_seconds": round(ocr_s, 2),
        "pages_per_second": round(pages / ocr_s, 3),
        "mean_confidence": round(sum(confidences) / max(len(confidences), 1), 1),
        "index_seconds": round(index_s, 2),
        "chunks": report.chunks_embedded,
        "rejected": [r.reason for r in report.rejected],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="pages recognised at once")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.pages, args.workers)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
