"""The page's Vietnamese: labels shared by the tabs, start-up stages, and every error a user can
meet, translated by its ``code`` (:mod:`assistant.errors`), never by its English wording.

>>> from assistant.errors import BadFileError, EmptyQuestionError
>>> vietnamese_error(EmptyQuestionError("the question is empty"))
'Vui lòng nhập câu hỏi.'
>>> vietnamese_error(BadFileError("file is empty", code="file_empty"))
'Tệp không hợp lệ: tệp rỗng.'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.errors import AssistantError, BadFileError

ALL = "Tất cả"  # the filter value that lets everything through

STAGES_VI = {
    "model": "nạp mô hình nhúng",
    "read": "đọc tài liệu",
    "embed": "nhúng các đoạn",
    "write": "ghi chỉ mục",
    "check": "kiểm tra tệp",
    "load": "nạp chỉ mục",
    "ocr": "nhận dạng chữ (OCR), trang",
}

UNREADABLE = "không đọc được tệp"
# why a file was refused, by the code of its BadFileError (assistant/ingest.py and the readers)
FILE_REASONS = {
    "file_unsupported": "định dạng không được hỗ trợ (chỉ nhận txt, md, html, pdf, docx, doc, "
    "odt, xlsx, xls, ods)",
    "pdf_no_ocr": "PDF dạng ảnh nhưng máy chủ chưa cài công cụ nhận dạng chữ (tesseract-ocr, "
    "tesseract-ocr-vie)",
    "pdf_ocr_failed": "PDF dạng ảnh: không nhận dạng được chữ trên các trang",
    "pdf_too_many_scans": "PDF dạng ảnh có quá nhiều trang cần nhận dạng; hãy tách tệp",
    "office_needs_tool": "tệp .doc cần công cụ antiword hoặc catdoc trên máy chủ; hoặc lưu lại "
    "thành .docx",
    "office_unreadable": "tệp văn phòng bị hỏng hoặc không đọc được",
    "sheet_too_large": "bảng tính quá lớn",
    "file_too_large": "tệp quá lớn",
    "file_empty": "tệp rỗng",
    "file_binary": "nội dung nhị phân, không phải văn bản",
    "file_encoding": "không giải mã được văn bản (cần UTF-8, UTF-16 hoặc Windows-1258)",
    "file_bad_text": "văn bản bị lỗi mã hoá",
    "pdf_encrypted": "PDF có mật khẩu",
    "pdf_unreadable": "PDF bị hỏng hoặc không đọc được",
    "pdf_bomb": "PDF giải nén quá lớn",
    "docx_bomb": "DOCX giải nén quá lớn",
    "docx_unreadable": "DOCX bị hỏng hoặc không đọc được",
    "pdf_no_text": "không tìm thấy chữ trong tệp PDF (kể cả khi nhận dạng ảnh)",
    "file_no_text": "không tìm thấy chữ trong tệp (chỉ có khoảng trắng hoặc thẻ định dạng)",
    "file_unreadable": UNREADABLE,
}

REBUILD = (
    "Không đọc được kho tài liệu. Quản trị viên cần dựng lại chỉ mục "
    "(python -m assistant index --rebuild)."
)
GENERIC = "Đã xảy ra lỗi khi xử lý yêu cầu. Vui lòng thử lại."


def _not_ready(details: dict[str, Any]) -> str:
    if details.get("reason") == "starting":
        return (
            f"Trợ lý đang khởi động ({details.get('progress', '')}). Vui lòng thử lại sau ít phút."
        )
    return start_failure(details.get("cause", ""), details.get("kind", ""))


# the error's text by its code; ``details`` fill in limits and causes
ERRORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "index_busy": lambda d: "Kho tài liệu đang được cập nhật. Vui lòng thử lại sau ít phút.",
    "index_not_found": lambda d: REBUILD,
    "index_mismatch": lambda d: REBUILD,
    "index_corrupt": lambda d: REBUILD,
    "question_empty": lambda d: "Vui lòng nhập câu hỏi.",
    "question_too_long": lambda d: "Câu hỏi quá dài, vui lòng rút gọn.",
    "k_invalid": lambda d: "k phải nằm trong khoảng 1–100.",
    "indicator_unknown": lambda d: "Không có chỉ số hoặc tỉnh này.",
    "province_unknown": lambda d: "Không có chỉ số hoặc tỉnh này.",
    "model_unavailable": lambda d: (
        "Không nạp được mô hình nhúng. Quản trị viên cần kiểm tra "
        "cài đặt mô hình (ASSISTANT_MODEL)."
    ),
    "vector_store": lambda d: (
        "Không dùng được kho vectơ (Milvus). Quản trị viên cần kiểm tra máy chủ Milvus."
    ),
    "upload_none": lambda d: "Chưa chọn tệp nào để tải lên.",
    "upload_too_many": lambda d: f"Mỗi lần chỉ tải lên tối đa {d.get('limit')} tệp.",
    "upload_bad_name": lambda d: "Tên tệp không hợp lệ.",
    "not_ready": _not_ready,
}


def vietnamese_reason(code: str) -> str:
    """Why a file was refused, as a short Vietnamese phrase, from its BadFileError ``code``.

    >>> vietnamese_reason("file_empty"), vietnamese_reason("something new")
    ('tệp rỗng', 'không đọc được tệp')
    """
    return FILE_REASONS.get(code, UNREADABLE)


def vietnamese_error(err: BaseException) -> str:
    """One short Vietnamese line for any error reaching the UI (never a traceback)."""
    if isinstance(err, BadFileError):
        return f"Tệp không hợp lệ: {vietnamese_reason(err.code)}."
    if isinstance(err, AssistantError) and err.code in ERRORS:
        return ERRORS[err.code](err.details)
    return GENERIC


def start_failure(code: str, kind: str = "") -> str:
    """Why the assistant did not start: the Vietnamese of the failure's ``code``, or, for an
    unexpected error (no code), its type and where to look."""
    if code in ERRORS and code != "not_ready":
        return ERRORS[code]({})
    if code in FILE_REASONS or code == "bad_file":
        return f"Tệp không hợp lệ: {vietnamese_reason(code)}."
    if code:
        return GENERIC
    return f"Không khởi động được trợ lý ({kind}). Xem nhật ký máy chủ."
