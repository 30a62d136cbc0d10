"""The indicator table of a knowledge base: every :class:`~assistant.indicators.Fact` of its
documents, stored as ``facts.jsonl`` in the index's version folder, filtered and exported.

>>> table = FactTable([])
>>> table.query(indicator="bts_stations")
[]
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from assistant.indicator_extract import extract_facts
from assistant.indicators import Fact, vocabulary, vocabulary_version
from assistant.provinces import find_provinces
from assistant.text import fold
from assistant.types import Document

FACTS_FILE = "facts.jsonl"
COLUMNS = [
    "indicator",
    "label",
    "province",
    "year",
    "value",
    "value_max",
    "total",
    "unit",
    "text",
    "status",
    "measure",
    "doc",
    "title",
    "start",
    "end",
    "sentence",
]


class FactTable:
    """Facts with their documents; a knowledge base's table never changes once built."""

    def __init__(self, facts: list[Fact], version: str | None = None) -> None:
        self.facts = facts
        self.version = version or vocabulary_version()

    def __len__(self) -> int:
        return len(self.facts)

    @classmethod
    def build(
        cls,
        documents: Iterable[Document],
        previous: FactTable | None = None,
        unchanged: Iterable[str] = (),
    ) -> FactTable:
        """Facts of ``documents``; those of the ``unchanged`` documents are taken from
        ``previous`` when it was extracted with the same vocabulary (incremental rebuild)."""
        keep = (
            set(unchanged)
            if previous is not None and previous.version == vocabulary_version()
            else set()
        )
        kept: dict[str, list[Fact]] = {}
        if keep and previous is not None:
            for f in previous.facts:
                if f.doc_id in keep:
                    kept.setdefault(f.doc_id, []).append(f)
        facts: list[Fact] = []
        for d in documents:
            facts.extend(kept.get(d.id, []) if d.id in keep else extract_facts(d))
        return cls(facts)

    # --- storage ---------------------------------------------------------------------------

    def lines(self) -> Iterator[str]:
        """The table as JSON lines: its vocabulary version, then one fact a line."""
        yield json.dumps({"version": self.version}) + "\n"
        for f in self.facts:
            yield json.dumps(f.model_dump(), ensure_ascii=False) + "\n"

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> FactTable:
        """The table :meth:`lines` wrote."""
        it = iter(lines)
        head = json.loads(next(it, "") or "{}")
        return cls([Fact(**json.loads(line)) for line in it if line.strip()], head.get("version"))

    def save(self, folder: Path) -> None:
        with open(folder / FACTS_FILE, "w", encoding="utf-8") as fh:
            fh.writelines(self.lines())

    @classmethod
    def load(cls, folder: Path) -> FactTable | None:
        """The stored table, or None when the folder has none (an index built before facts)."""
        path = folder / FACTS_FILE
        if not path.exists():
            return None
        with open(path, encoding="utf-8") as fh:
            return cls.from_lines(fh)

    # --- queries ---------------------------------------------------------------------------

    def query(
        self,
        indicator: str | None = None,
        province: str | None = None,
        year: int | None = None,
        target: bool | None = None,
        measure: str | None = None,
    ) -> list[Fact]:
        """Facts matching every given filter, by indicator, province, year and position.
        ``indicator`` is an id or a label/alias; ``province`` any spelling."""
        ind = resolve_indicator(indicator) if indicator else None
        prov = resolve_province(province) if province else None
        out = [
            f
            for f in self.facts
            if (ind is None or f.indicator == ind)
            and (prov is None or f.province == prov)
            and (year is None or f.year == year)
            and (target is None or f.target == target)
            and (measure is None or f.measure == measure)
        ]
        return sorted(
            out,
            key=lambda f: (f.indicator, fold(f.province or "~"), f.year or 0, f.doc_id, f.start),
        )

    def indicators(self) -> list[str]:
        """Ids of the indicators that have facts, in vocabulary order."""
        present = {f.indicator for f in self.facts}
        return [i for i in vocabulary() if i in present]

    def provinces(self) -> list[str]:
        return sorted({f.province for f in self.facts if f.province}, key=fold)

    def years(self) -> list[int]:
        return sorted({f.year for f in self.facts if f.year})


def resolve_indicator(name: str) -> str:
    """An indicator id from its id, label or an alias (any case, with or without marks).

    >>> resolve_indicator("tram bts"), resolve_indicator("dvc_level4")
    ('bts_stations', 'dvc_level4')
    """
    vocab = vocabulary()
    if name in vocab:
        return name
    key = " ".join(fold(name).lower().split())
    for ind in vocab.values():
        if key in {" ".join(fold(a).lower().split()) for a in (ind.label, *ind.aliases)}:
            return ind.id
    raise ValueError(
        f"unknown indicator {name!r}; `python -m assistant indicators --list` lists them"
    )


def resolve_province(name: str) -> str:
    found = find_provinces(name)
    if not found:
        raise ValueError(f"unknown province {name!r}")
    return found[0][0]


def fact_row(f: Fact, documents: dict[str, Document] | None = None) -> dict[str, Any]:
    """One fact as a flat row (the CLI's, the API's, the CSV's)."""
    doc = (documents or {}).get(f.doc_id)
    ind = vocabulary().get(f.indicator)
    return {
        "indicator": f.indicator,
        "label": ind.label if ind else f.indicator,
        "province": f.province,
        "year": f.year,
        "value": f.value,
        "value_max": f.value_max,
        "total": f.total,
        "unit": f.unit,
        "text": f.shown(),
        "status": "target" if f.target else "result",
        "measure": f.measure,
        "doc": doc.path if doc else f.doc_id,
        "title": doc.title if doc else "",
        "start": f.start,
        "end": f.end,
        "sentence": f.sentence,
    }


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r[k] for k in COLUMNS})
    return buf.getvalue()


def to_text_table(rows: list[dict[str, Any]]) -> str:
    """A plain fixed-width table for the terminal."""
    cols = ["indicator", "province", "year", "text", "unit", "status", "doc"]
    cells = [[str(r.get(c) if r.get(c) is not None else "") for c in cols] for r in rows]
    cells = [
        [c if k != "doc" else Path(c).name for k, c in zip(cols, row, strict=True)] for row in cells
    ]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
