"""The eval harness: metrics against hand-worked values, loaders, scoring, and the command."""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from assistant import Answer, Chunk, Citation, Document, Hit
from assistant.errors import EvalError
from assistant.text import fold, words
from eval import metrics
from eval.cli import main
from eval.datasets import Passage, Question, drop_question_titles, load_qa_set
from eval.runner import Outcome, find_quote, score, summarise

ROOT = Path(__file__).resolve().parent.parent


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("Toàn tỉnh có 1422 trạm BTS.", ["1.422"], True),
        ("Toàn tỉnh có 1.422 trạm BTS.", ["1422"], True),
        ("tăng trưởng 13,02%", ["13,02"], True),
        ("tăng trưởng 13,02%", ["13"], False),  # a number matches whole
        ("tăng trưởng 13,02%", ["1302"], False),  # ... by its value: 13,02 is not 1302
        ("có 14,22 trạm", ["1.422"], False),
        ("có 1.422 trạm", ["14,22"], False),
        ("đạt 72,5%", ["72"], False),
        ("đạt 72,50%", ["72,5"], True),
        ("tổng 1.422,5 tỷ", ["1422,5"], True),
        ("có 1722 trạm", ["72"], False),
        ("đạt 72-75%", ["72"], True),
        ("ĐỨNG THỨ\u00a021/63   tỉnh", ["thứ 21/63 tỉnh"], True),  # case, NBSP, spaces
        ("Hiệu trưởng quyết định", ["hiệu trưởng"], True),
        # punctuation is dropped, as in SQuAD's matching: the reply's "[1]." and joined lines
        ("theo mẫu của Bộ GD&ĐT [1].", ["Bộ GD&ĐT."], True),
        ('là viết tắt của "Phó giáo sư" [1].', ['PGS là viết tắt của "Phó giáo sư".'], False),
        (
            "Văn bằng: cấp sau khi tốt nghiệp, thạc sĩ",
            ["văn bằng cấp sau khi tốt nghiệp\nthạc sĩ"],
            True,
        ),
        ("ngày 15/01/2021", ["15/01/2021"], True),
        ("có 1.422 trạm", ["1 422"], False),
        ("đạt 45,7 điểm", ["45,7%"], False),  # "%" is kept
        ("Không tìm thấy", ["1.422", ""], False),
        ("anything", [], False),
    ],
)
def test_contains_answer(text: str, answers: list[str], expected: bool) -> None:
    assert metrics.contains_answer(text, answers) is expected


def test_normalise_answer() -> None:
    assert metrics.normalise_answer("  Tổng\u00a0 1.422,5\nTRẠM. ") == "tổng 1422_5 trạm"
    assert metrics.normalise_answer("«Bộ GD&ĐT», 14,22%; (x_y)") == "bộ gd đt 14_22% x y"
    # NFD input becomes NFC
    assert metrics.normalise_answer("Hoa\u0300") == "hoà"


# --- retrieval metrics on a tiny set worked out by hand ---------------------------------------
# q1: one item, first covered at rank 2           -> rank 2
# q2: two items, covered at ranks 1 and 3         -> rank 3 (all evidence needed)
# q3: one item, never retrieved                   -> None
Q1 = [set(), {0}, set()]
Q2 = [{0}, set(), {1}]
Q3 = [set(), set(), set()]


def test_retrieved_rank() -> None:
    assert metrics.retrieved_rank(Q1, 1) == 2
    assert metrics.retrieved_rank(Q2, 2) == 3
    assert metrics.retrieved_rank(Q3, 1) is None
    assert metrics.retrieved_rank([{0, 1}], 2) == 1
    assert metrics.retrieved_rank([{0}], 0) is None


def test_hit_at_and_mrr() -> None:
    ranks = [2, 3, None]
    assert metrics.hit_at(ranks, 1) == 0.0
    assert metrics.hit_at(ranks, 2) == pytest.approx(1 / 3)
    assert metrics.hit_at(ranks, 3) == pytest.approx(2 / 3)
    assert metrics.hit_at(ranks, 10) == pytest.approx(2 / 3)
    assert metrics.mrr(ranks, 10) == pytest.approx((1 / 2 + 1 / 3) / 3)  # 5/18
    assert metrics.mrr(ranks, 2) == pytest.approx((1 / 2) / 3)  # rank 3 is beyond k=2
    assert metrics.hit_at([], 1) is None and metrics.mrr([]) is None


def test_ndcg() -> None:
    # q1: 1/log2(3) over ideal 1
    assert metrics.ndcg(Q1, 1) == pytest.approx(1 / math.log2(3))  # 0.6309
    # q2: (1 + 1/log2(4)) over ideal (1 + 1/log2(3))
    assert metrics.ndcg(Q2, 2) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))  # 0.9197
    assert metrics.ndcg(Q3, 1) == 0.0
    assert metrics.ndcg([{0, 1}], 2) == 1.0  # two items in one chunk: capped at 1
    assert metrics.ndcg([set(), {0}], 1, k=1) == 0.0  # beyond k
    mean = metrics.mean([metrics.ndcg(Q1, 1), metrics.ndcg(Q2, 2), metrics.ndcg(Q3, 1)])
    assert mean == pytest.approx(0.51688, abs=1e-5)


def test_spans() -> None:
    items = [[("a", 10, 20)], [("b", 0, 5), ("a", 40, 45)]]
    assert metrics.covered_items(("a", 0, 10), items) == set()  # end is exclusive
    assert metrics.covered_items(("a", 0, 11), items) == {0}
    assert metrics.covered_items(("a", 15, 44), items) == {0, 1}
    assert metrics.covered_items(("c", 0, 99), items) == set()


def test_percentile_and_shares() -> None:
    assert metrics.percentile([40, 10, 30, 20], 50) == 25
    assert metrics.percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert metrics.percentile([7], 95) == 7
    assert metrics.percentile([], 50) is None
    assert metrics.share([True, False, False, True]) == 0.5
    assert metrics.share([]) is None
    assert metrics.ratio(1, 4) == 0.25 and metrics.ratio(0, 0) is None


# --- locating evidence and scoring one answer -----------------------------------------------


def test_find_quote_normalises_spaces() -> None:
    text = "Năm 2020 toàn tỉnh có 1.422\ntrạm BTS. Sau đó 1.422 trạm BTS."
    assert find_quote(text, "1.422\u00a0trạm BTS") == [(22, 36), (45, 59)]
    assert find_quote(text, "2.000 trạm") == []


def _doc(doc_id: str, text: str) -> Document:
    return Document(id=doc_id, path=doc_id, title="T", text=text, sha256="", format="txt")


def _hit(doc: Document, start: int, end: int) -> Hit:
    chunk = Chunk(
        id=f"{doc.id}:{start}", doc_id=doc.id, start=start, end=end, text=doc.text[start:end]
    )
    return Hit(chunk=chunk, doc=doc, score=1.0)


def _cite(n: int, doc: Document, start: int, end: int) -> Citation:
    return Citation(
        n=n,
        doc=doc.path,
        title="T",
        province=None,
        year=None,
        chunk_id=f"{doc.id}:0",
        start=start,
        end=end,
        quote=doc.text[start:end],
        score=1.0,
    )


def test_score_one_answer() -> None:
    a = _doc("/c/reports/a.txt", "Câu một nói về trạm. Có 1.422 trạm BTS. Có 66 bưu cục.")
    b = _doc("/c/reports/b.txt", "Tỉnh B có 910 thủ tục.")
    q = Question(id="q", question="?", answers=["1422", "910"], kind="multi-fact")
    items = [[(a.id, 21, 38)], [(b.id, 10, 21)]]  # "Có 1.422 trạm BTS", "910 thủ tục"
    hits = [_hit(a, 0, 20), _hit(b, 0, 22), _hit(a, 21, 54)]
    citations = [
        _cite(1, a, 21, 38),  # evidence
        _cite(2, a, 40, 54),  # neither evidence nor an answer
        _cite(3, b, 0, 8),
    ]  # no evidence overlap and no answer: wrong
    answer = Answer(
        question="?",
        answer="Có 1.422 trạm BTS [1]. Có 66 bưu cục [2].",
        refused=False,
        citations=citations,
        hits=hits,
        timings_ms={"retrieve": 20.0, "answer": 5.0, "total": 25.0},
    )
    out = score(q, items, answer, {d.path: d.id for d in (a, b)}, k=10, saved_ms=7.0)
    assert out.rank == 3  # item 0 at rank 3, item 1 at rank 2
    assert out.ndcg == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert out.correct is True
    assert (out.citations, out.citations_ok, out.evidence, out.evidence_cited) == (3, 1, 2, 1)
    assert (out.retrieve_ms, out.answer_ms, out.total_ms) == (27.0, 5.0, 32.0)


def test_summarise_hand_worked() -> None:
    outcomes = [
        Outcome(
            id="1",
            kind="fact",
            answerable=True,
            rank=1,
            ndcg=1.0,
            correct=True,
            citations=2,
            citations_ok=1,
            evidence=1,
            evidence_cited=1,
            total_ms=10,
        ),
        Outcome(
            id="2",
            kind="fact",
            answerable=True,
            rank=4,
            ndcg=0.5,
            correct=False,
            refused=True,
            evidence=2,
            total_ms=20,
        ),
        Outcome(
            id="3",
            kind="fact",
            answerable=True,
            rank=None,
            ndcg=0.0,
            correct=False,
            citations=1,
            citations_ok=1,
            evidence=1,
            evidence_cited=1,
            total_ms=30,
        ),
        Outcome(id="4", kind="unanswerable", answerable=False, refused=True, total_ms=40),
        Outcome(id="5", kind="unanswerable", answerable=False, citations=1, total_ms=50),
    ]
    s = summarise(outcomes)
    assert s["n"] == 5
    assert s["retrieval"] == {
        "hit@1": 0.3333,
        "hit@3": 0.3333,
        "hit@5": 0.6667,
        "hit@10": 0.6667,
        "mrr@10": 0.4167,
        "ndcg@10": 0.5,
    }
    assert s["answer"] == {"accuracy": 0.3333}
    assert s["citations"] == {"precision": 0.5, "recall": 0.5}  # 2/4 cited ok, 2/4 evidence
    assert s["refusal"] == {"unanswerable_refused": 0.5, "answerable_refused": 0.3333}
    assert s["latency_ms"]["p50"] == 30 and s["latency_ms"]["p95"] == 48
    assert summarise(outcomes, k=3)["retrieval"]["hit@5"] is None


# --- loading Q&A sets -----------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_load_report_set() -> None:
    qa = load_qa_set(ROOT / "tests" / "data" / "reports_qa.jsonl")
    assert (qa.name, qa.format) == ("reports_qa", "reports")
    assert qa.questions[0].evidence[0].doc == "reports/bac-giang-2020.txt"
    assert {q.kind for q in qa.questions if not q.answerable} == {"unanswerable"}


def test_load_pool_finds_passages_beside(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    _write_jsonl(folder / "passages_dev.jsonl", [{"id": "p1", "title": "A", "text": "x"}])
    _write_jsonl(
        folder / "questions_dev.jsonl",
        [
            {"id": "q1", "question": "a?", "answers": ["x"], "gold_passage_ids": ["p1"]},
            {
                "id": "q2",
                "question": "b?",
                "answers": [],
                "gold_passage_ids": [],
                "answerable": False,
            },
        ],
    )
    for given in (folder / "questions_dev.jsonl", folder / "passages_dev.jsonl", folder):
        qa = load_qa_set(given)
        assert (qa.name, qa.format, qa.passages) == (
            "toy_dev",
            "passages",
            folder / "passages_dev.jsonl",
        )
    assert [(q.answerable, q.kind) for q in qa.questions] == [
        (True, "answerable"),
        (False, "unanswerable"),
    ]


def test_load_errors_say_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "question": "x", "evidence": []}\n{oops\n', "utf-8")
    with pytest.raises(EvalError, match=r"bad.jsonl:2: not valid JSON"):
        load_qa_set(bad)
    with pytest.raises(EvalError, match="not found"):
        load_qa_set(tmp_path / "missing.jsonl")
    odd = _write_jsonl(tmp_path / "odd.jsonl", [{"id": "1", "question": "x"}])
    with pytest.raises(EvalError, match="neither 'evidence'"):
        load_qa_set(odd)


def test_drop_question_titles() -> None:
    passages = [
        Passage(id="1", title="Ai là thủ tướng Ấn Độ hiện tại", text="x"),
        Passage(id="2", title="Paris", text="y"),
    ]
    questions = [Question(id="q", question="ai là thủ tướng Ấn Độ  hiện tại?")]
    kept, dropped = drop_question_titles(passages, questions)
    assert dropped == 1 and [p.title for p in kept] == ["", "Paris"]


# --- the command, with a fake encoder -------------------------------------------------------


class FakeEncoder:
    """Deterministic bag of folded syllables hashed into 64 dimensions."""

    name = "fake-bow"
    dim = 64

    def __init__(self) -> None:
        self.passages_embedded = 0

    def embed(self, texts: list[str], kind: str = "passage", **kw: object) -> np.ndarray:
        if kind == "passage":
            self.passages_embedded += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for w in words(text):
                out[i, zlib.crc32(fold(w).encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


TOY_PASSAGES = [
    {"id": "p1", "title": "Trạm BTS", "text": "Năm 2020 toàn tỉnh có 1.422 trạm BTS."},
    {"id": "p2", "title": "Bưu chính", "text": "Tỉnh có 66 bưu cục cấp 1, 2, 3."},
    {"id": "p3", "title": "Dịch vụ công", "text": "Đã cung cấp 1.015 dịch vụ công trực tuyến."},
]
TOY_QUESTIONS = [
    {
        "id": "t1",
        "question": "Có bao nhiêu trạm BTS?",
        "answers": ["1422"],
        "gold_passage_ids": ["p1"],
    },
    {
        "id": "t2",
        "question": "Có bao nhiêu bưu cục?",
        "answers": ["66"],
        "gold_passage_ids": ["p2"],
    },
    {
        "id": "t3",
        "question": "Bao nhiêu dịch vụ công trực tuyến?",
        "answers": ["1.015"],
        "gold_passage_ids": ["p3"],
    },
    {
        "id": "t4",
        "question": "Câu hỏi về đoạn đã mất?",
        "answers": ["x"],
        "gold_passage_ids": ["p404"],
    },  # gold passage missing: a failure, not a crash
]


def test_command_on_a_passage_pool(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    _write_jsonl(folder / "passages.jsonl", TOY_PASSAGES)
    questions = _write_jsonl(folder / "questions.jsonl", TOY_QUESTIONS)
    enc = FakeEncoder()
    from assistant import ranker

    ranker._VEC_CACHE.clear()  # quote vectors of earlier tests would not be embedded again
    args = [
        "run",
        "--qa",
        str(questions),
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        "--compare",
    ]
    assert main(args, encoder=enc) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text("utf-8"))
    names = list(results["sets"])
    assert names[:3] == ["toy/hybrid", "toy/bm25", "toy/dense"]
    assert len(names) == 9
    for entry in results["sets"].values():
        assert set(entry) == {
            "n",
            "config",
            "retrieval",
            "answer",
            "citations",
            "refusal",
            "latency_ms",
            "by_kind",
            "failures",
        }
        assert set(entry["retrieval"]) == {"hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10"}
        assert {"p50", "p95"} <= set(entry["latency_ms"])
        assert entry["n"] == 3 and entry["failures"] == ["t4"]
    assert results["sets"]["toy/bm25"]["retrieval"]["hit@1"] == 1.0
    assert results["sets"]["toy/bm25"]["config"]["fusion"] == "bm25"
    report = (tmp_path / "out" / "report.md").read_text("utf-8")
    assert "| toy/hybrid | 3 |" in report and "`t4`" in report
    assert (tmp_path / "out" / "hit_at_k.png").read_bytes()[:4] == b"\x89PNG"
    # three embedded indexes of the 3 short passages: default, no windows and no context header
    # (no folding only rebuilds BM25), plus the answerer's candidate quotes (embedded once per
    # process); the second run finds all three indexes and every quote cached
    quotes = sum(1 for name, _ in ranker._VEC_CACHE if name == enc.name)
    assert enc.passages_embedded == 9 + quotes
    assert main(args, encoder=enc) == 0
    assert enc.passages_embedded == 9 + quotes
    capsys.readouterr()
    assert main(["summary", str(tmp_path / "out")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("|  | n | hit@1 | hit@5 |") and len(table) == 2 + 9


def test_command_on_report_qa_with_fake_encoder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--qa",
                str(ROOT / "tests" / "data" / "reports_qa.jsonl"),
                "--corpus",
                str(ROOT / "data" / "reports"),
                "--out",
                str(out),
                "--cache",
                str(tmp_path / "cache"),
                "--limit",
                "4",
                "--set",
                "fusion=bm25",
                "--details",
            ],
            encoder=FakeEncoder(),
        )
        == 0
    )
    entry = json.loads((out / "results.json").read_text("utf-8"))["sets"]["reports_qa"]
    assert entry["n"] == 4 and entry["failures"] == []
    assert entry["config"]["fusion"] == "bm25"
    rows = [
        json.loads(line) for line in (out / "outcomes.jsonl").read_text("utf-8").split("\n") if line
    ]
    assert [r["id"] for r in rows] == ["r01", "r02", "r03", "r04"]
    assert {r["config"] for r in rows} == {"hybrid"}


def test_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    qa = str(ROOT / "tests" / "data" / "reports_qa.jsonl")
    assert main(["run", "--qa", qa, "--out", str(tmp_path)], encoder=FakeEncoder()) == 1
    assert "--corpus" in capsys.readouterr().err
    assert (
        main(["run", "--qa", qa, "--out", str(tmp_path), "--set", "nope=1"], encoder=FakeEncoder())
        == 1
    )
    assert "KEY=VALUE" in capsys.readouterr().err
    missing = str(tmp_path / "nope.json")
    assert (
        main(
            [
                "run",
                "--qa",
                qa,
                "--corpus",
                str(ROOT / "data"),
                "--out",
                str(tmp_path),
                "--vary",
                f"answer_weights={missing}",
            ],
            encoder=FakeEncoder(),
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"error: answer weights file {missing} not found")
    assert err.count("\n") == 1


def test_vary_adds_one_configuration_per_value() -> None:
    from eval.cli import build_parser, variations

    configs = variations(["answer_threshold=0.4, 0.6", "answer_weights=a.json"])
    assert [(c.name, c.changes) for c in configs] == [
        ("answer_threshold=0.4", {"answer_threshold": "0.4"}),
        ("answer_threshold=0.6", {"answer_threshold": "0.6"}),
        ("answer_weights=a.json", {"answer_weights": "a.json"}),
    ]
    for bad in ("answer_threshold", "nope=1", "answer_threshold="):
        with pytest.raises(EvalError, match="KEY=V1,V2"):
            variations([bad])
    from eval.cli import argv_strings

    args = build_parser().parse_args(
        ["run", "--qa", "q.jsonl", "--out", "o", "--vary", "answer_threshold=0.4,0.6"]
    )
    assert argv_strings(args)[-2:] == ["--vary", "answer_threshold=0.4,0.6"]


# --- the real model on the bundled reports ---------------------------------------------------


@pytest.mark.model
def test_command_on_bundled_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                "--qa",
                str(ROOT / "tests" / "data" / "reports_qa.jsonl"),
                "--corpus",
                str(ROOT / "data" / "reports"),
                "--out",
                str(out),
                "--cache",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text("utf-8"))
    entry = results["sets"]["reports_qa"]
    assert entry["n"] == 17 and entry["failures"] == []
    assert entry["retrieval"]["hit@5"] == 1.0  # answerable questions only
    assert entry["refusal"]["unanswerable_refused"] == 1.0
    assert {"fact", "no-diacritics", "abbreviation", "unanswerable"} <= set(entry["by_kind"])
    assert (out / "report.md").is_file() and (out / "hit_at_k.png").is_file()


def test_select_keeps_the_kinds_asked_and_folds_the_questions():
    from eval.datasets import load_qa_set, select

    qa = load_qa_set(Path(__file__).parent / "data" / "answer_types_qa.jsonl")
    who = select(qa, ["who"], folded=True)
    assert {q.kind for q in who.questions} == {"who"}
    first = next(q for q in qa.questions if q.kind == "who")
    assert who.questions[0].id == first.id
    assert who.questions[0].question == "Ai la Giam doc So Thong tin va Truyen thong Bac Giang?"
    assert select(qa, []) is qa
    with pytest.raises(EvalError, match="no question of kind nope; it has .*near-miss"):
        select(qa, ["nope"])
