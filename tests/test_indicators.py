"""The indicator table (fast, fake encoder): extraction scored against the hand-labelled facts,
storage in the index folder (atomic, incremental), comparison answers against their expected
tables, the CLI, the chat rendering and the downloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Settings, index_paths
from assistant.compare import NO_DATA, answer_from_facts, per_province
from assistant.facts import FACTS_FILE, FactTable, resolve_indicator
from assistant.indicator_extract import extract_facts
from assistant.indicators import find_mentions, vocabulary
from assistant.kb import KnowledgeBase
from assistant.storage import live_version
from assistant.table_question import read_question
from assistant.types import Answer, Citation, Document
from assistant.web.indicators import (
    chart_frame,
    export_files,
    filtered,
    read_csv,
)
from assistant.web.render import table_body
from eval.indicators import (
    check_answer,
    load_corpus,
    read_jsonl,
    score_extraction,
    score_questions,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
REPORTS = ROOT / "data" / "reports"


def _doc(text: str, province: str | None = "Thái Nguyên", year: int | None = 2021) -> Document:
    return Document(
        id="/x/d.txt",
        path="/x/d.txt",
        title="t",
        text=text,
        sha256="0",
        format="txt",
        province=province,
        year=year,
    )


@pytest.fixture(scope="module")
def bundled() -> tuple[FactTable, dict[str, Document]]:
    docs = load_corpus(REPORTS)
    return FactTable.build(docs.values()), {d.id: d for d in docs.values()}


# --- the vocabulary and the extraction ------------------------------------------------------


def test_vocabulary_is_a_data_file_with_at_least_25_indicators() -> None:
    vocab = vocabulary()
    assert len(vocab) >= 25
    for ind in vocab.values():
        assert ind.kind in ("count", "percent", "rank", "money", "score")
        assert ind.better in ("higher", "lower") and ind.aliases and ind.label
    for wanted in (
        "bts_stations",
        "mobile_coverage",
        "coverage_5g",
        "mobile_subscribers",
        "internet_subscribers",
        "smartphone_subscriber_share",
        "households_fibre_share",
        "vn_domains",
        "postal_points",
        "postal_radius",
        "dvc_level3",
        "dvc_level4",
        "online_records_share",
        "edocs_sent",
        "digital_certificates",
        "servers",
        "datacentre_capacity",
        "ioc_indicators",
        "ict_index_rank",
        "dti_rank",
        "dti_score",
        "par_index_rank",
        "press_agencies",
        "commune_radio_stations",
        "security_incidents",
        "leaked_accounts",
    ):
        assert wanted in vocab


def test_extraction_on_the_bundled_reports_meets_the_bar() -> None:
    score = score_extraction(read_jsonl(DATA / "indicator_facts.jsonl"), load_corpus(REPORTS))
    assert score.labelled >= 60
    assert score.precision >= 0.95 and score.recall >= 0.90, (score.missed, score.wrong)


def test_extraction_on_reports_not_tuned_on() -> None:
    score = score_extraction(
        read_jsonl(DATA / "indicator_facts_heldout.jsonl"), load_corpus(DATA / "heldout_reports")
    )
    assert score.labelled >= 40
    assert score.precision >= 0.95 and score.recall >= 0.90, (score.missed, score.wrong)


def test_a_fact_has_its_value_year_span_and_status() -> None:
    text = (
        "Năm 2021, Bộ công bố tỉnh xếp thứ 9/63 về Chỉ số chuyển đổi số (DTI), tăng 07 bậc "
        "so với năm 2020 (xếp hạng 16/63). Phấn đấu đến năm 2025 đạt 90% hộ gia đình có "
        "cáp quang; 100% xã có sóng 4G. Hiện có 2.145 trạm BTS và 1,2 triệu thuê bao di động."
    )
    doc = _doc(text)
    facts = extract_facts(doc)
    got = [
        (f.indicator, f.value, f.total, f.year, f.target, doc.text[f.start : f.end]) for f in facts
    ]
    assert got == [
        ("dti_rank", 9.0, 63.0, 2021, False, "9/63"),
        ("dti_rank", 16.0, 63.0, 2020, False, "16/63"),
        ("households_fibre_share", 90.0, None, 2025, True, "90%"),
        ("mobile_coverage", 100.0, None, 2025, True, "100%"),
        ("bts_stations", 2145.0, None, 2021, False, "2.145"),
        ("mobile_subscribers", 1.2e6, None, 2021, False, "1,2 triệu"),
    ]
    assert facts[0].sentence == text[facts[0].sentence_start : facts[0].sentence_end]


def test_a_result_is_not_a_target_and_words_are_read_with_their_marks() -> None:
    # "Cổ phần Đầu tư" folds to "co phan dau", as "phấn đấu" does: not a plan
    doc = _doc("Công ty Cổ phần Đầu tư bị phạt 45 triệu đồng. Mỗi 100 dân có 142 thuê bao di động.")
    facts = extract_facts(doc)
    assert [(f.indicator, f.value, f.target, f.measure) for f in facts] == [
        ("fines", 45e6, False, "level"),
        ("mobile_subscribers", 142.0, False, "level"),
    ]


def test_new_builds_are_marked_as_changes_and_sentence_years_win() -> None:
    doc = _doc("Tính đến tháng 7/2017, đã xây dựng mới 17 đài truyền thanh xã.", year=2019)
    (f,) = extract_facts(doc)
    assert (f.indicator, f.value, f.measure, f.year) == (
        "commune_radio_stations",
        17.0,
        "change",
        2017,
    )


def test_questions_find_indicators_without_diacritics() -> None:
    assert [m.indicator for m in find_mentions("so tram bts cua cac tinh")] == ["bts_stations"]
    assert resolve_indicator("Dich vu cong truc tuyen muc do 4") == "dvc_level4"
    q = read_question("Bac Giang hay Binh Duong co nhieu dich vu cong truc tuyen muc do 4 hon?")
    assert q is not None and q.provinces == ["Bắc Giang", "Bình Dương"]
    assert read_question("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?") is None


# --- comparison answers ---------------------------------------------------------------------


def test_comparison_questions_get_their_exact_tables(bundled) -> None:
    table, docs = bundled
    items = read_jsonl(DATA / "indicator_questions.jsonl")
    assert len(items) >= 15
    assert any(not any(ord(ch) > 127 for ch in i["question"]) for i in items)  # no diacritics
    assert any(r["value"] is None for i in items for r in i["rows"])  # a province without data

    def ask(q: str) -> dict | None:
        a = answer_from_facts(q, table, docs)
        return a.to_json_dict() if a else None

    score = score_questions(items, ask)
    assert score.correct == score.questions, score.failures


def test_bts_table_cites_the_sentence_and_lists_provinces_without_data(bundled) -> None:
    table, docs = bundled
    a = answer_from_facts("So sánh số trạm BTS của các tỉnh", table, docs)
    assert a is not None and a.table is not None
    first = a.answer.splitlines()[0]
    assert first.startswith("Chỉ có số liệu về số trạm BTS của Bắc Giang: 1.422 trạm (2020) [1]")
    assert "| Bắc Giang | 2020 | 1.422 | [1] |" in a.answer
    assert f"| Bình Dương | — | {NO_DATA} | — |" in a.answer  # its "20 trạm" is a new build
    (c,) = a.citations
    doc = docs[next(d for d in docs if d.endswith("bac-giang-2020.txt"))]
    assert doc.text[c.start : c.end] == c.quote and "1.422 trạm BTS" in c.quote


def test_targets_are_never_shown_as_results() -> None:
    docs = load_corpus(DATA / "heldout_reports")
    table = FactTable.build(docs.values())
    a = answer_from_facts(
        "Tỉnh nào có tỷ lệ hồ sơ trực tuyến cao nhất?", table, {d.id: d for d in docs.values()}
    )
    assert a is not None and a.table is not None
    assert [(r["province"], r["year"], r["value"]) for r in a.table["rows"]] == [
        ("Đồng Tháp", 2023, "46,8%"),
        ("Thái Nguyên", 2021, "38,6%"),
    ]
    assert "50%" not in a.answer.split("\n\n")[1]
    assert any("mục tiêu" in n for n in a.table["notes"])
    assert a.answer.startswith("Đồng Tháp có tỷ lệ hồ sơ nộp trực tuyến cao nhất")


def test_ranks_on_other_scales_are_not_ranked_together() -> None:
    docs = [
        _doc("Năm 2021 tỉnh xếp thứ 9/63 về chỉ số DTI.", "Thái Nguyên"),
        _doc("Năm 2025 tỉnh xếp thứ 3/34 về chỉ số DTI.", "Đồng Tháp"),
    ]
    docs[1] = docs[1].model_copy(update={"id": "/x/e.txt", "path": "/x/e.txt"})
    table = FactTable.build(docs)
    a = answer_from_facts("So sánh xếp hạng DTI của các tỉnh", table, {d.id: d for d in docs})
    assert a is not None and "không so sánh trực tiếp" in a.answer
    assert any("số tỉnh khác nhau" in n for n in a.table["notes"])


def test_no_fact_means_the_normal_answer(bundled) -> None:
    table, docs = bundled
    assert answer_from_facts("So sánh số trạm 5G của các tỉnh", table, docs) is None
    assert answer_from_facts("So sánh số sân bay của các tỉnh", table, docs) is None


def test_two_provinces_without_an_indicator_are_answered_one_by_one() -> None:
    def ask(question: str, province: str) -> Answer:
        if province == "Bắc Kạn":
            return Answer(question=question, answer="Không tìm thấy.", refused=True)
        c = Citation(
            n=1,
            doc="/x/a.txt",
            title="a",
            province=province,
            year=2020,
            chunk_id="a:0",
            start=0,
            end=5,
            quote="Có 5.",
            score=1.0,
        )
        return Answer(
            question=question, answer=f"Về {province}: có 5 [1].", refused=False, citations=[c]
        )

    a = per_province(
        ask, "Bắc Giang, Bắc Kạn và Quảng Bình có gì?", ["Bắc Giang", "Bắc Kạn", "Quảng Bình"]
    )
    assert a is not None
    assert a.answer == (
        "**Bắc Giang:** Về Bắc Giang: có 5 [1].\n\n"
        f"**Bắc Kạn:** {NO_DATA}.\n\n**Quảng Bình:** Về Quảng Bình: có 5 [2]."
    )
    assert [c.n for c in a.citations] == [1, 2]


def test_check_answer_catches_a_wrong_value_and_a_wrong_source() -> None:
    item = {
        "question": "q",
        "rows": [{"province": "A", "year": 2020, "value": "5", "doc": "a.txt"}],
    }
    table = {"rows": [{"province": "A", "year": 2020, "value": "6", "n": 1}]}
    cites = [{"n": 1, "doc": "/x/b.txt", "quote": "6"}]
    assert check_answer(item, {"table": table, "citations": cites}) == [
        "no row A | 2020 | 5",
        "unexpected rows: A 2020 6",
    ]
    table["rows"][0]["value"] = "5"
    assert check_answer(item, {"table": table, "citations": cites}) == [
        "A 2020: cites b.txt, expected a.txt"
    ]


# --- storage --------------------------------------------------------------------------------


def test_facts_are_stored_with_the_index_and_kept_for_unchanged_files(
    reports_copy: Path, tmp_path: Path, fake_encoder
) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    folder = live_version(settings.index_dir)
    assert (folder / FACTS_FILE).exists()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["n_facts"] == len(kb.facts) >= 60
    loaded = KnowledgeBase.load(settings.index_dir)
    assert [f.model_dump() for f in loaded.facts.facts] == [f.model_dump() for f in kb.facts.facts]
    # a file without facts, then a change to one report: its facts are read again, the
    # others' (and the factless file's none) are kept as stored
    (reports_copy / "khac.txt").write_text(
        "Báo cáo khác của tỉnh Lào Cai, không có số liệu.", "utf-8"
    )
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    bg = reports_copy / "bac-giang-2020.txt"
    bg.write_text(bg.read_text("utf-8").replace("1.422 trạm BTS", "1.530 trạm BTS"), "utf-8")
    kb2, report = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert len(report.updated) == 1 and len(report.unchanged) == 5
    (bts,) = kb2.facts.query("bts_stations", measure="level")
    assert (bts.value, bts.text) == (1530.0, "1.530")
    others = [f for f in kb2.facts.facts if not f.doc_id.endswith("bac-giang-2020.txt")]
    assert [f.model_dump() for f in others] == [
        f.model_dump() for f in kb.facts.facts if not f.doc_id.endswith("bac-giang-2020.txt")
    ]
    assert json.loads((live_version(settings.index_dir) / "manifest.json").read_text("utf-8"))[
        "n_facts"
    ] == len(kb2.facts)


def test_an_index_without_facts_reads_them_from_its_documents(
    reports_copy: Path, tmp_path: Path, fake_encoder
) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    (live_version(settings.index_dir) / FACTS_FILE).unlink()  # as before this feature
    loaded = KnowledgeBase.load(settings.index_dir)
    assert len(loaded.facts) == len(kb.facts)


def test_cli_lists_facts_as_json_csv_and_table(
    reports_copy: Path, tmp_path: Path, fake_encoder
) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    base = [sys.executable, "-m", "assistant", "indicators", "--index", str(settings.index_dir)]
    out = subprocess.run(
        [*base, "--indicator", "dti_rank", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    data = json.loads(out)
    assert [(r["province"], r["year"], r["text"]) for r in data["facts"]] == [
        ("Bình Dương", 2020, "31/63"),
        ("Bình Dương", 2021, "22/63"),
    ]
    out = subprocess.run(
        [*base, "--province", "quang binh", "--year", "2022", "--format", "csv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert out.startswith("indicator,label,province,year,value") and out.count("\n") == 19
    bad = subprocess.run(
        [*base, "--indicator", "không có"], capture_output=True, text=True, cwd=ROOT
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: unknown indicator")
    assert "Traceback" not in bad.stderr


# --- the app's pieces -----------------------------------------------------------------------


def test_the_chat_table_links_each_value_to_its_citation(bundled) -> None:
    from assistant.web.render import answer_markdown

    table, docs = bundled
    a = answer_from_facts("so sanh so may chu cua Bac Giang va Quang Binh", table, docs)
    assert a is not None
    md = answer_markdown(3, a.to_json_dict())
    assert "| Quảng Bình | 2022 | 116 | [\\[1\\]](#nguon-3-1) |" in md
    assert "| Bắc Giang | 2020 | 33 | [\\[2\\]](#nguon-3-2) |" in md
    assert md.startswith(
        "Quảng Bình có số máy chủ nhiều nhất trong các báo cáo đã nạp: 116 "
        "máy chủ [\\[1\\]](#nguon-3-1)."
    )
    assert table_body(3, a.to_json_dict()) in md


def test_tab_filters_chart_and_downloads(reports_copy: Path, tmp_path: Path, fake_encoder) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    rows = filtered(kb, "video_conference_points", "Tất cả", "2022", "Kết quả")
    assert [r["text"] for r in rows] == ["120", "124"]
    frame = chart_frame(rows, "video_conference_points")
    assert list(frame["bar"]) == ["Bình Dương, 2022", "Bình Dương, 2022 (2)"]
    assert list(frame["value"]) == [120.0, 124.0]
    csv_path, xlsx_path = export_files(rows, tmp_path / "out")
    back = read_csv(Path(csv_path))
    assert [(r["province"], r["text"], r["status"]) for r in back] == [
        ("Bình Dương", "120", "result"),
        ("Bình Dương", "124", "result"),
    ]
    if xlsx_path is not None:
        from openpyxl import load_workbook

        ws = load_workbook(xlsx_path).active
        assert ws.cell(2, 9).value == "120" and ws.max_row == 3


def test_assistant_answers_comparisons_from_the_table_and_lists_facts(
    reports_copy: Path, tmp_path: Path, fake_encoder
) -> None:
    from assistant import Assistant

    settings = Settings(index_dir=tmp_path / "index")
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    bot = Assistant(settings, kb, fake_encoder)
    a = bot.ask("so sanh so tram BTS cua cac tinh")
    assert a.table is not None and not a.refused
    (c,) = a.citations
    chunk = next(ch for ch in kb.chunks if ch.id == c.chunk_id)
    assert chunk.start <= c.start < chunk.end and "1.422 trạm BTS" in c.quote
    assert set(a.timings_ms) == {"retrieve", "answer", "total"}
    streamed = bot.ask_stream("So sánh số trạm BTS của các tỉnh")  # the app's path
    assert list(streamed) == []  # nothing to stream: the table answer is ready at once
    assert streamed.answer.table == a.table
    rows = bot.indicators("dti_rank", province="binh duong")
    assert [(r["year"], r["text"], r["status"]) for r in rows] == [
        (2020, "31/63", "result"),
        (2021, "22/63", "result"),
    ]
    assert bot.ask("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?").table is None


def test_eval_indicators_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.cli import main

    assert main(["indicators", "--out", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "precision 1.000, recall 1.000" in out and "18/18 answered exactly" in out
    saved = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert saved["extraction"]["labelled"] == 61 and saved["questions"]["correct"] == 18
    assert main(["indicators", "--labels", str(tmp_path / "none.jsonl")]) == 1
