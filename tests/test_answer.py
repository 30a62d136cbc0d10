"""Answers with the real default model on the bundled reports (marked ``model``), and the
answerer's rules on hand-made hits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO_QA, SHARED, load_qa

from assistant import AssistantError
from assistant.answer import REFUSAL, compose
from assistant.question import analyse


def number_in(answer: str, expected: str) -> bool:
    digits = lambda s: re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", s)  # noqa: E731  1.422 == 1422
    return digits(expected.casefold()) in digits(answer.casefold())


def check(bot, item) -> tuple[bool, bool]:
    """(evidence within the top 5 hits, answered correctly with a citation to the right file)"""
    a = bot.ask(item["question"], k=5)
    retrieved = True
    for ev in item["evidence"]:
        doc = next(d for d in bot.kb.documents.values() if d.path.endswith(ev["doc"]))
        quote = " ".join(ev["quote"].replace("\u00a0", " ").split())
        start = " ".join(doc.text.split()).find(quote)
        assert start >= 0 or quote in doc.text
        start = doc.text.find(ev["quote"].replace("\u00a0", " "))
        end = start + len(ev["quote"])
        retrieved &= any(
            h.doc.id == doc.id and h.chunk.start < end and start < h.chunk.end for h in a.hits
        )
    for c in a.citations + a.related:
        assert bot.kb.documents[c.chunk_id.rsplit(":", 1)[0]].text[c.start : c.end] == c.quote
    if not item["answerable"]:
        return retrieved, a.refused and a.citations == [] and REFUSAL in a.answer
    right_file = any(c.doc.endswith(item["evidence"][0]["doc"]) for c in a.citations)
    return retrieved, (
        not a.refused and right_file and any(number_in(a.answer, x) for x in item["answers"])
    )


@pytest.mark.model
@pytest.mark.parametrize("item", load_qa(REPO_QA), ids=lambda q: q["id"])
def test_repo_qa(real_assistant, item):
    retrieved, correct = check(real_assistant, item)
    assert retrieved, "evidence not in the top 5 hits"
    assert correct


@pytest.mark.model
@pytest.mark.skipif(
    not (SHARED / "eval" / "seed_qa_dev.jsonl").exists(),
    reason="../shared/eval/seed_qa_dev.jsonl is not beside this clone",
)
def test_shared_dev_set(real_assistant):
    items = load_qa(SHARED / "eval" / "seed_qa_dev.jsonl")
    results = {q["id"]: check(real_assistant, q) for q in items}
    answerable = [q["id"] for q in items if q["answerable"]]
    assert all(results[i][0] for i in answerable), "evidence outside the top 5"
    correct = [i for i in answerable if results[i][1]]
    assert len(correct) >= 10 and "d11" in correct, correct
    assert results["d12"][1], "d12 must be refused"


@pytest.mark.model
def test_the_bts_answer_cites_the_exact_sentence(real_assistant):
    a = real_assistant.ask("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?")
    assert (
        a.answer == "Theo báo cáo về Bắc Giang (2020): Hiện nay, toàn tỉnh có 1.422 trạm BTS [1]."
    )
    (c,) = a.citations
    assert (c.n, c.quote, c.province, c.year) == (
        1,
        "Hiện nay, toàn tỉnh có 1.422 trạm BTS",
        "Bắc Giang",
        2020,
    )
    assert Path(c.doc).name == "bac-giang-2020.txt"
    doc = real_assistant.kb.documents[c.doc]
    assert doc.text[c.start : c.end] == c.quote
    chunk = next(ch for ch in real_assistant.kb.chunks if ch.id == c.chunk_id)
    assert chunk.start <= c.start and c.end <= chunk.end
    assert set(a.timings_ms) == {"retrieve", "answer", "total"}
    data = a.to_json_dict()
    assert set(data) == {"question", "answer", "refused", "citations", "related", "timings_ms"}
    assert set(data["citations"][0]) >= {
        "n",
        "doc",
        "title",
        "province",
        "year",
        "start",
        "end",
        "quote",
        "score",
    }


@pytest.mark.model
def test_filters_and_refusals(real_assistant):
    a = real_assistant.ask("Có bao nhiêu trạm BTS?", province="Bình Dương")
    assert a.refused or all(c.province == "Bình Dương" for c in a.citations)
    a = real_assistant.ask("Tỉnh Cà Mau có bao nhiêu trạm BTS năm 2021?")
    assert a.refused and "Cà Mau" in a.answer and a.related  # closest passages shown
    assert real_assistant.ask("Quảng Bình có bao nhiêu máy chủ?", year=2019).refused
    with pytest.raises(AssistantError, match="empty"):
        real_assistant.ask("   \u00a0 ")


# --- rules, on hand-made hits ----------------------------------------------------------------


def test_analyse_question():
    q = analyse("Năm 2020 Bắc Giang có bao nhiêu trạm BTS?")
    assert (q.provinces, q.years, q.quantity, q.content, q.unit) == (
        ["Bắc Giang"],
        [2020],
        True,
        ["trạm", "bts"],
        ["tram", "bts"],
    )
    plain = analyse("bac giang co bao nhieu tram bts")
    assert plain.plain and plain.content == ["tram", "bts"] and plain.provinces == ["Bắc Giang"]
    assert analyse("Tỷ lệ hộ gia đình có Internet là bao nhiêu phần trăm?").percent


def test_no_hits_means_refusal():
    a = compose("Bắc Giang có bao nhiêu trạm BTS?", [])
    assert a.refused and a.answer == REFUSAL and a.citations == []


def test_a_sentence_of_another_years_report_must_name_the_year_asked():
    from assistant.answer import _other_year
    from assistant.types import Document

    def doc(year, start=None, end=None):
        return Document(
            id="d",
            path="d",
            title="t",
            text="",
            sha256="0",
            format="txt",
            year=year,
            period_start=start,
            period_end=end,
        )

    q = analyse("Năm 2020 Bình Dương có bao nhiêu trạm BTS?")
    survey = "Khảo sát vị trí xin phép xây dựng 20 trạm thu phát sóng thông tin di động."
    assert _other_year(q, doc(2022), survey)
    assert not _other_year(q, doc(2022), "Năm 2020, toàn tỉnh có 1.950 trạm BTS.")
    assert not _other_year(q, doc(2020), survey)  # the report is about 2020
    assert not _other_year(q, doc(None), survey)  # undated document: cannot tell
    assert not _other_year(analyse("Bình Dương có bao nhiêu trạm BTS?"), doc(2022), survey)
    # a retrospective written in 2023 about 2008-2023 covers 2020
    assert not _other_year(q, doc(2023, 2008, 2023), survey)
    assert _other_year(q, doc(2023, 2021, 2023), survey)
