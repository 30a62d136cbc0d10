import pytest

from assistant import load_documents
from assistant.chunking import chunk_document, context_header
from assistant.config import BUNDLED_REPORTS


@pytest.fixture(scope="module")
def docs():
    return load_documents([BUNDLED_REPORTS])[0]


@pytest.mark.parametrize(("size", "overlap"), [(700, 150), (300, 50), (1500, 0)])
def test_spans_are_exact_sizes_bounded_and_text_fully_covered(docs, size, overlap):
    for doc in docs:
        chunks = chunk_document(doc, size, overlap)
        covered = [False] * len(doc.text)
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert c.id == f"{doc.id}:{c.start}" and c.doc_id == doc.id
            assert 0 < len(c.text) <= size
            for i in range(c.start, c.end):
                covered[i] = True
        assert all(covered[i] for i, ch in enumerate(doc.text) if not ch.isspace())
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def test_chunks_break_at_sentence_or_clause_ends_when_they_can(docs):
    doc = next(d for d in docs if d.path.endswith("bac-giang-2020.txt"))
    chunks = chunk_document(doc, 700, 150)
    ends = [c.text[-1] for c in chunks]
    assert sum(e in ".;:!?…”)" or e.isalnum() for e in ends) == len(chunks)
    assert sum(e in ".;:!?…”" for e in ends) >= len(chunks) * 0.6


def test_context_header_names_title_province_and_year(docs):
    doc = next(d for d in docs if d.path.endswith("bac-giang-2020.txt"))
    assert context_header(doc) == (
        "Dấu ấn ngành thông tin và truyền thông tỉnh Bắc Giang năm 2020 | Bắc Giang | 2020"
    )
    chunk = next(c for c in chunk_document(doc) if "1.422 trạm BTS" in c.text)
    assert chunk.indexed_text().startswith(context_header(doc) + "\n")
    assert "Bắc Giang" not in chunk.text.split("1.422")[0][-60:]  # the span itself lacks it
    assert chunk_document(doc, header=False)[0].header == ""
