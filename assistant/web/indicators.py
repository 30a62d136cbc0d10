"""The "Chỉ số" tab: the indicator facts read from the reports, with filters, a bar chart of
the chosen indicator and CSV/XLSX downloads (a table answer in the chat is
:func:`assistant.web.render.table_body`).

Plain functions over the knowledge base, and :func:`build_tab`, which lays the tab out.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from assistant.facts import COLUMNS, fact_row, to_csv
from assistant.indicators import vocabulary
from assistant.text import fold
from assistant.web.messages import ALL

STATUS = {"Kết quả": False, "Mục tiêu, kế hoạch": True}
HEADERS = ["Chỉ số", "Tỉnh", "Năm", "Giá trị", "Đơn vị", "Loại", "Tệp", "Câu trong báo cáo"]


def indicator_choices(kb: Any) -> list[tuple[str, str]]:
    """(label, id) of the indicators the reports have facts for, the first being "all"."""
    vocab = vocabulary()
    return [(ALL, "")] + [(vocab[i].label, i) for i in kb.facts.indicators()]


def filtered(
    kb: Any, indicator: str | None, province: str | None, year: str | int | None, status: str | None
) -> list[dict[str, Any]]:
    """The rows of the facts the filters let through (``ALL`` / empty: no filter)."""
    facts = kb.facts.query(
        indicator=indicator or None,
        province=None if province in (None, "", ALL) else province,
        year=None if year in (None, "", ALL) else int(year),
        target=None if status in (None, "", ALL) else STATUS.get(str(status)),
    )
    return [fact_row(f, kb.documents) for f in facts]


def table_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The rows as shown in the tab's table (columns :data:`HEADERS`)."""
    return [
        [
            r["label"],
            r["province"] or "",
            r["year"] or "",
            r["text"],
            r["unit"],
            ("Mục tiêu" if r["status"] == "target" else "Kết quả")
            + (" (tăng thêm)" if r["measure"] == "change" else ""),
            Path(r["doc"]).name,
            r["sentence"],
        ]
        for r in rows
    ]


def chart_frame(rows: list[dict[str, Any]], indicator: str | None) -> Any:
    """A pandas DataFrame for the bar chart of one indicator's results (columns "bar": province
    and year, "value", "province"); empty when no single indicator is chosen."""
    import pandas as pd

    data: dict[str, list[Any]] = {"bar": [], "value": [], "province": []}
    if not indicator:
        return pd.DataFrame(
            {k: pd.Series(v, dtype=float if k == "value" else str) for k, v in data.items()}
        )
    seen: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: (fold(r["province"] or ""), r["year"] or 0)):
        if r["status"] != "result" or r["measure"] != "level":
            continue
        key = f"{r['province'] or '?'}, {r['year'] or '?'}"
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # a second value of the same report and year
            key = f"{key} ({seen[key]})"
        data["bar"].append(key)
        data["value"].append(r["value"])
        data["province"].append(r["province"] or "?")
    return pd.DataFrame(data)


def chart_title(indicator: str | None) -> str:
    if not indicator:
        return "Chọn một chỉ số để xem biểu đồ"
    ind = vocabulary()[indicator]
    return f"{ind.label} ({ind.unit})"


def export_files(rows: list[dict[str, Any]], folder: Path | None = None) -> tuple[str, str | None]:
    """The rows written as ``chi-so.csv`` (UTF-8 with BOM, opens in Excel) and, when openpyxl
    is installed, ``chi-so.xlsx``; returns their paths."""
    folder = Path(folder or tempfile.mkdtemp(prefix="chi-so-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "chi-so.csv"
    csv_path.write_text("\ufeff" + to_csv(rows), encoding="utf-8")
    try:
        from openpyxl import Workbook
    except ImportError:
        return str(csv_path), None
    wb = Workbook()
    ws = wb.active
    ws.title = "Chỉ số"
    ws.append(COLUMNS)
    for r in rows:
        ws.append([r.get(c) for c in COLUMNS])
    xlsx_path = folder / "chi-so.xlsx"
    wb.save(xlsx_path)
    return str(csv_path), str(xlsx_path)


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of an exported CSV (tests, scripts)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def build_tab(engine: Any) -> dict[str, Any]:
    """The components of the "Chỉ số" tab, wired to ``engine``; call inside ``gr.Tab``.
    Returns the components and a ``refresh`` function (for the page load)."""
    import gradio as gr

    with gr.Row():
        indicator = gr.Dropdown(
            [(ALL, "")], value="", label="Chỉ số", elem_id="cs-indicator", scale=3
        )
        province = gr.Dropdown([ALL], value=ALL, label="Tỉnh", elem_id="cs-province")
        year = gr.Dropdown([ALL], value=ALL, label="Năm", elem_id="cs-year")
        status = gr.Dropdown([ALL, *STATUS], value=ALL, label="Loại số liệu", elem_id="cs-status")
    summary = gr.Markdown(elem_id="cs-summary")
    chart = gr.BarPlot(
        chart_frame([], None),
        x="bar",
        y="value",
        x_title="Tỉnh, năm",
        y_title="Giá trị",
        y_lim=[0, None],
        label=chart_title(None),
        elem_id="cs-chart",
    )
    with gr.Row():
        csv_button = gr.DownloadButton("Tải CSV", elem_id="cs-csv", size="sm")
        xlsx_button = gr.DownloadButton("Tải XLSX", elem_id="cs-xlsx", size="sm")
    table = gr.Dataframe(
        headers=HEADERS, elem_id="cs-table", interactive=False, wrap=True, max_height=480
    )

    def show(ind: str | None, prov: str | None, yr: str | None, st: str | None) -> tuple[Any, ...]:
        if not engine.ready:
            return ("⏳ Trợ lý đang khởi động…", gr.skip(), gr.skip(), gr.skip(), gr.skip())
        kb = engine.bot.kb
        try:
            rows = filtered(kb, ind, prov, yr, st)
        except ValueError:
            rows = []
        csv_path, xlsx_path = export_files(rows)
        note = (
            f"**{len(rows)}** số liệu, mỗi số liệu kèm câu gốc trong báo cáo."
            if rows
            else "Không có số liệu nào khớp bộ lọc."
        )
        return (
            note,
            gr.update(value=chart_frame(rows, ind), label=chart_title(ind)),
            gr.update(value=table_rows(rows)),
            gr.update(value=csv_path),
            gr.update(value=xlsx_path, visible=xlsx_path is not None),
        )

    def choices() -> tuple[Any, ...]:
        if not engine.ready:
            return gr.skip(), gr.skip(), gr.skip()
        kb = engine.bot.kb
        return (
            gr.update(choices=indicator_choices(kb)),
            gr.update(choices=[ALL, *kb.facts.provinces()]),
            gr.update(choices=[ALL, *map(str, kb.facts.years())]),
        )

    inputs = [indicator, province, year, status]
    outputs = [summary, chart, table, csv_button, xlsx_button]
    for c in inputs:
        c.change(
            show, inputs=inputs, outputs=outputs, api_visibility="private", show_progress="hidden"
        )

    def refresh(
        ind: str | None, prov: str | None, yr: str | None, st: str | None
    ) -> tuple[Any, ...]:
        return (*choices(), *show(ind, prov, yr, st))

    return {"inputs": inputs, "outputs": [indicator, province, year, *outputs], "refresh": refresh}
