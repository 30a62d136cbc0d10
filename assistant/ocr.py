"""Text of scanned PDF pages: each page is rendered (pypdfium2) and recognised by Tesseract
with its Vietnamese data (Debian: ``tesseract-ocr`` + ``tesseract-ocr-vie``).

Both steps run in child processes with a time limit and an address-space limit per page, so a
hostile PDF cannot stall or exhaust the indexer: a page that fails is reported, the others are
read. Pages run in parallel on the machine's cores. Results are kept in memory by (file hash,
page), so a file checked at upload and then indexed is recognised once.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import BadFileError
from assistant.types import Progress

log = logging.getLogger(__name__)

DPI = 300
PAGE_TIMEOUT_S = 120.0  # render + recognise one page
PAGE_MEMORY_BYTES = 2 * 1024**3  # address space of each child process
MAX_PAGE_PIXELS = 60_000_000  # a page larger than this (at DPI) is rendered smaller
MAX_PAGES = 300  # scanned pages of one file (~4 min on 2 cores); more: split the file
MISSING_ENGINE = (
    "scanned PDF (pages without text) and no OCR engine: install Debian's "
    "tesseract-ocr and tesseract-ocr-vie (bash scripts/setup.sh does)"
)
MISSING_VIETNAMESE = (
    "scanned PDF and Tesseract has no Vietnamese data: install Debian's tesseract-ocr-vie"
)


@dataclass
class PageText:
    page: int  # 1-based
    text: str
    confidence: float  # mean word confidence, 0-100


def available() -> str | None:
    """None when OCR can run, else the reason (naming the package to install)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return MISSING_ENGINE
    try:
        langs = subprocess.run(
            [exe, "--list-langs"], capture_output=True, text=True, timeout=30
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return MISSING_ENGINE
    return None if "vie" in langs else MISSING_VIETNAMESE


_CACHE: OrderedDict[tuple[str, int], PageText] = OrderedDict()
_CACHE_PAGES = 512


def recognise_pages(
    raw: bytes,
    pages: list[int],
    sha256: str,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[int, PageText]:
    """OCR the given 1-based ``pages`` of the PDF ``raw``: page -> text and confidence.

    Raises BadFileError when no engine is installed or when no page could be read.
    """
    reason = available()
    if reason:
        raise BadFileError(reason, code="pdf_no_ocr")
    if len(pages) > MAX_PAGES:
        raise BadFileError(
            f"scanned PDF has {len(pages):,} pages without text, more than the "
            f"{MAX_PAGES} read by OCR per file; split the file",
            code="pdf_too_many_scans",
        )
    out: dict[int, PageText] = {}
    todo = []
    for p in pages:
        hit = _CACHE.get((sha256, p))
        if hit is not None:
            out[p] = hit
        else:
            todo.append(p)
    failures: list[str] = []
    done = len(out)
    if progress:
        progress("ocr", done, len(pages))
    if todo:
        workers = workers or max(1, min(len(todo), os.cpu_count() or 1))
        with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
            pdf = Path(tmp) / "in.pdf"
            pdf.write_bytes(raw)
            with ThreadPoolExecutor(workers) as pool:
                for page, result in zip(todo, pool.map(lambda p: _page(pdf, p), todo), strict=True):
                    done += 1
                    if progress:
                        progress("ocr", done, len(pages))
                    if isinstance(result, str):
                        failures.append(f"page {page}: {result}")
                        continue
                    out[page] = result
                    _CACHE[(sha256, page)] = result
                    while len(_CACHE) > _CACHE_PAGES:
                        _CACHE.popitem(last=False)
    if failures:
        log.warning("OCR failed on %d page(s): %s", len(failures), "; ".join(failures[:5]))
        if not out:
            raise BadFileError(
                f"scanned PDF: OCR could not read its pages ({failures[0]})", code="pdf_ocr_failed"
            )
    return out


# Each child limits its own address space first (preexec_fn is unsafe beside threads).
_AS = PAGE_MEMORY_BYTES
_LIMITED = (
    f"import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({_AS}, {_AS})); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)
_RENDER = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({0}, {0}))
import pypdfium2 as pdfium
path, index, dpi, max_pixels, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
pdf = pdfium.PdfDocument(path)
page = pdf[index]
w, h = page.get_size()
scale = dpi / 72
if w * h * scale * scale > max_pixels:
    scale = (max_pixels / (w * h)) ** 0.5
page.render(scale=scale, grayscale=True).to_pil().save(out)
""".replace("{0}", str(PAGE_MEMORY_BYTES))


def _page(pdf: Path, page: int) -> PageText | str:
    """Render and recognise one page; a string says why it failed."""
    png = pdf.with_name(f"p{page}.png")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        subprocess.run(
            [
                sys.executable,
                "-c",
                _RENDER,
                str(pdf),
                str(page - 1),
                str(DPI),
                str(MAX_PAGE_PIXELS),
                str(png),
            ],
            capture_output=True,
            check=True,
            timeout=PAGE_TIMEOUT_S / 2,
            env=env,
        )
        tsv = subprocess.run(
            [
                sys.executable,
                "-c",
                _LIMITED,
                "tesseract",
                str(png),
                "stdout",
                "-l",
                "vie",
                "--psm",
                "3",
                "tsv",
            ],
            capture_output=True,
            check=True,
            timeout=PAGE_TIMEOUT_S / 2,
            env=env,
        ).stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return f"took longer than {PAGE_TIMEOUT_S / 2:.0f} s"
    except subprocess.CalledProcessError as err:
        step = "render" if "pypdfium2" in " ".join(map(str, err.cmd)) else "tesseract"
        if err.returncode < 0:  # killed: most often by the memory limit
            return (
                f"{step} stopped by signal {-err.returncode} (memory limit "
                f"{PAGE_MEMORY_BYTES / 1024**3:.0f} GiB)"
            )
        tail = (err.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
        return f"{step} failed ({tail[0][:200] if tail else err.returncode})"
    except OSError as err:
        return f"cannot run OCR ({err})"
    finally:
        png.unlink(missing_ok=True)
    text, confidence = tsv_text(tsv)
    return PageText(page, text, confidence)


def tsv_text(tsv: str) -> tuple[str, float]:
    """Tesseract's TSV -> (text with lines and paragraphs, mean word confidence)."""
    lines: list[str] = []
    words: list[str] = []
    confs: list[float] = []
    last_par = last_line = None
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        word = (row.get("text") or "").strip()
        if not word:
            continue
        par = (row["block_num"], row["par_num"])
        line = (*par, row["line_num"])
        if line != last_line and words:
            lines.append(" ".join(words))
            words = []
            if par != last_par:
                lines.append("")
        if line != last_line:
            last_par, last_line = par, line
        words.append(word)
        try:
            conf = float(row["conf"])
        except (TypeError, ValueError):
            continue
        if conf >= 0:
            confs.append(conf)
    if words:
        lines.append(" ".join(words))
    return _rejoin(lines), (sum(confs) / len(confs) if confs else 0.0)


def _rejoin(lines: list[str]) -> str:
    r"""Lines ("" between paragraphs) -> text, a sentence wrapped over lines made whole again: a
    line that starts with a small letter continues the one before unless that one ended a
    sentence.

    >>> _rejoin(["Sở đã hướng dẫn các doanh nghiệp", "", "dùng chung hạ tầng.", "Năm 2021"])
    'Sở đã hướng dẫn các doanh nghiệp dùng chung hạ tầng.\nNăm 2021'
    """
    out: list[str] = []
    pending_break = ""
    for line in lines:
        if not line:
            pending_break = "\n\n"
            continue
        if out and line[0].islower() and not out[-1].rstrip().endswith((".", "!", "?", ":", ";")):
            out[-1] += " " + line
        elif out:
            out.append(pending_break or "\n")
            out.append(line)
        else:
            out.append(line)
        pending_break = ""
    return "".join(out).strip()
