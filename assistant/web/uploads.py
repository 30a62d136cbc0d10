"""Uploaded files: safe names in the uploads folder, checked before they replace anything,
indexed at once, and a result per file (in Vietnamese) for the page.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.errors import BadFileError, UploadError
from assistant.ingest import SUPPORTED, load_document
from assistant.text import fold
from assistant.types import Progress
from assistant.web.messages import vietnamese_reason
from assistant.web.render import md_text

UPLOAD_TYPES = tuple(sorted(SUPPORTED))  # .docx .htm .html .md .pdf .txt
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """A file name that is safe in the uploads folder: its last path part only, ASCII letters,
    digits, ``.``, ``_`` and ``-``, no leading dot, at most 120 characters.

    >>> safe_filename("../../etc/Báo cáo Bắc Giang 2020.PDF")
    'Bao-cao-Bac-Giang-2020.pdf'
    >>> safe_filename("..\\\\..\\\\x.txt")
    'x.txt'
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("-", fold(stem)).strip(".-_")
    stem = re.sub(r"\.{2,}", ".", stem)[:100].strip(".-_") or "tai-lieu"
    ext = _UNSAFE.sub("", fold(ext)).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def upload_path(uploads_dir: Path, name: str) -> Path:
    """Where an uploaded file named ``name`` is kept; never outside ``uploads_dir``."""
    root = uploads_dir.resolve()
    target = (root / safe_filename(name)).resolve()
    if target.parent != root:  # cannot happen with safe_filename; checked all the same
        raise UploadError(
            f"the file name {name!r} leaves the uploads folder; rename the file",
            code="upload_bad_name",
        )
    return target


@dataclass
class FileResult:
    """What happened to one uploaded file."""

    name: str  # as the user named it
    status: Literal["added", "updated", "unchanged", "rejected"]
    reason: str = ""  # Vietnamese, when rejected
    saved_as: str = ""  # file name in the uploads folder

    def to_json(self) -> dict[str, str]:
        return asdict(self)


STATUS_VI = {
    "added": "✅ Đã thêm",
    "updated": "🔄 Đã cập nhật",
    "unchanged": "⏸ Không đổi",
    "rejected": "❌ Bị từ chối",
}


def receive_uploads(
    bot: Any,
    files: list[tuple[Path, str]],
    uploads_dir: Path,
    max_bytes: int,
    max_files: int,
    lock: threading.Lock | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Check, keep and index uploaded files: ``files`` are (temporary path, original name).

    Each file is checked (type, size, readable text) before it replaces anything in
    ``uploads_dir``; accepted files are indexed at once and are searchable on return.
    """
    if not files:
        raise UploadError("no file chosen; choose the files to upload", code="upload_none")
    if len(files) > max_files:
        raise UploadError(
            f"{len(files)} files in one upload, at most {max_files}; upload fewer",
            code="upload_too_many",
            limit=max_files,
        )
    uploads_dir.mkdir(parents=True, exist_ok=True)
    results: list[FileResult] = []
    accepted: dict[Path, FileResult] = {}
    for i, (tmp, name) in enumerate(files):
        if progress:
            progress("check", i, len(files))
        result = FileResult(name=name, status="rejected")
        results.append(result)
        ext = Path(name).suffix.lower()
        if ext not in SUPPORTED:
            result.reason = vietnamese_reason("file_unsupported")
            continue
        try:
            size = Path(tmp).stat().st_size
        except OSError:
            result.reason = vietnamese_reason("file_unreadable")
            continue
        if size > max_bytes:
            result.reason = f"tệp quá lớn ({_size(size)}, giới hạn {_size(max_bytes)})"
            continue
        target = upload_path(uploads_dir, name)
        result.saved_as = target.name
        if target in accepted:
            result.reason = "trùng tên với một tệp khác trong lần tải lên này"
            continue
        staged = target.with_name(f".incoming-{uuid.uuid4().hex[:8]}-{target.name}")
        try:
            staged.write_bytes(Path(tmp).read_bytes())
            # reject unreadable files before keeping them (a scanned PDF is OCR'd here, once)
            load_document(staged, max_bytes, progress=progress)
        except BadFileError as err:
            staged.unlink(missing_ok=True)
            result.reason = vietnamese_reason(err.code)
            continue
        except OSError:
            staged.unlink(missing_ok=True)
            result.reason = vietnamese_reason("file_unreadable")
            continue
        os.replace(staged, target)
        accepted[target] = result
    if progress:
        progress("check", len(files), len(files))
    if not accepted:
        return results
    with lock or threading.Lock():
        report = bot.index(list(accepted), progress=progress)
    status: dict[str, Literal["added", "updated", "unchanged"]] = {}
    for doc_id in report.added:
        status[doc_id] = "added"
    for doc_id in report.updated:
        status[doc_id] = "updated"
    for doc_id in report.unchanged:
        status[doc_id] = "unchanged"
    rejected = {Path(r.path).resolve().as_posix(): r.code for r in report.rejected}
    for target, result in accepted.items():
        doc_id = target.as_posix()
        if doc_id in status:
            result.status = status[doc_id]
        else:
            result.reason = vietnamese_reason(rejected.get(doc_id, ""))
    return results


def _size(n: int) -> str:
    """ "1,5 MB", "980 KB" (Vietnamese decimal comma)."""
    if n >= 1024 * 1024:
        return f"{n / 1048576:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


def upload_markdown(results: list[FileResult], documents: int | None = None) -> str:
    """The per-file result table shown after an upload."""
    if not results:
        return ""
    lines = ["| Tệp | Kết quả | Ghi chú |", "|---|---|---|"]
    for r in results:
        note = (
            r.reason
            if r.status == "rejected"
            else (f"lưu thành {r.saved_as}" if r.saved_as and r.saved_as != r.name else "")
        )
        lines.append(f"| {md_text(r.name)} | {STATUS_VI[r.status]} | {md_text(note)} |")
    if documents is not None:
        lines.append(f"\nKho hiện có {documents} tài liệu; tài liệu mới tra cứu được ngay.")
    return "\n".join(lines)
