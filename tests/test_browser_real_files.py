"""In a real browser (Debian's chromium, Playwright) against ``python app.py``: upload a scanned
PDF (an image of Vietnamese text, read by Tesseract) and a DOCX typed in the TCVN3 font
``.VnTime``, then get a cited answer from each, the page shown with the scanned one.

Same app and browser set-up as tests/test_browser.py (its fixtures are reused).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from makefiles import legacy_docx, scanned_pdf
from test_browser import (  # noqa: F401 - the fixtures browser, logged_in, page, server
    ask,
    browser,
    logged_in,
    page,
    server,
    upload,
)

from assistant.ocr import available

pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(available() is not None, reason=str(available())),
]

SCAN_LINES = [
    "BÁO CÁO HẠ TẦNG VIỄN THÔNG TỈNH LAI CHÂU NĂM 2023",
    "Năm 2023, tỉnh Lai Châu có 655 trạm BTS phủ sóng 4G.",
    "Các doanh nghiệp đã ngầm hoá 12 km cáp treo tại thành phố.",
]
TCVN3_LINES = [
    "Năm 2023, tỉnh Điện Biên có 312 điểm bưu điện văn hoá xã.",
    "Sở Thông tin và Truyền thông đã hướng dẫn các điểm phục vụ bưu chính.",
]


def test_a_scanned_pdf_and_a_tcvn3_docx_give_cited_answers(page, tmp_path: Path) -> None:  # noqa: F811
    scan = tmp_path / "lai-chau-scan-2023.pdf"
    scan.write_bytes(scanned_pdf([SCAN_LINES]))
    old = tmp_path / "dien-bien-2023.docx"
    old.write_bytes(
        legacy_docx(TCVN3_LINES, "tcvn3", heading="Báo cáo bưu chính tỉnh Điện Biên năm 2023")
    )
    result, _ = upload(page, scan, old)
    assert re.search(r"lai-chau-scan-2023\.pdf\s+✅ Đã thêm", result), result
    assert re.search(r"dien-bien-2023\.docx\s+✅ Đã thêm", result), result

    reply = ask(page, "Năm 2023 Lai Châu có bao nhiêu trạm BTS?")
    text = reply.inner_text()
    assert "655" in text and "trang 1" in text, text
    reply.locator("a[href='#nguon-0-1']").first.click()
    page.wait_for_function(
        "() => document.querySelector('#nguon mark')?.innerText.includes('655 trạm BTS')"
    )
    panel = page.inner_text("#nguon")
    assert re.search(r"Trang\s+1", panel), panel

    reply = ask(page, "Năm 2023 Điện Biên có bao nhiêu điểm bưu điện văn hoá xã?")
    text = reply.inner_text()
    assert "312" in text, text
    reply.locator("a[href='#nguon-1-1']").first.click()
    page.wait_for_function(
        "() => document.querySelector('#nguon mark')?.innerText"
        ".includes('312 điểm bưu điện văn hoá xã')"
    )
    panel = page.inner_text("#nguon")
    assert "Sở Thông tin và Truyền thông" in panel  # the context, converted too
    assert "Th«ng" not in panel and "®iÓm" not in panel
