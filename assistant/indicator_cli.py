"""``python -m assistant indicators``: the indicator table of a knowledge base, filtered, as a
terminal table, CSV or JSON (the JSON of ``GET /api/indicators`` and of
:meth:`assistant.Assistant.indicators`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError, IndexNotFoundError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("indicators", help="the indicator facts read from the reports")
    p.add_argument("--index", type=Path, help="knowledge base folder")
    p.add_argument("--indicator", help="an indicator id, label or alias (e.g. bts_stations)")
    p.add_argument("--province", help="a province (any spelling)")
    p.add_argument("--year", type=int, help="the year the values are about")
    p.add_argument("--status", choices=["result", "target"], help="results or targets only")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--list", action="store_true", help="list the vocabulary's indicators")


def facts_json(
    kb: Any,
    indicator: str | None = None,
    province: str | None = None,
    year: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """``{"facts": [row, ...], "count": n}`` of a knowledge base, filtered; bad filters raise
    :class:`AssistantError` with what to do."""
    from assistant.facts import fact_row

    target = None if status is None else status == "target"
    try:
        facts = kb.facts.query(indicator, province, year, target)
    except ValueError as err:  # facts.resolve_indicator / resolve_province
        unknown = (
            "indicator_unknown"
            if str(err).startswith("unknown indicator")
            else ("province_unknown")
        )
        raise AssistantError(str(err), code=unknown) from err
    rows = [fact_row(f, kb.documents) for f in facts]
    return {"count": len(rows), "facts": rows}


def run(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.facts import to_csv, to_text_table
    from assistant.indicators import vocabulary
    from assistant.kb import KnowledgeBase

    if args.list:
        for ind in vocabulary().values():
            print(f"{ind.id:32} {ind.kind:8} {ind.unit:18} {ind.label}")
        return 0
    try:
        kb = KnowledgeBase.load(settings.index_dir)
    except IndexNotFoundError:
        from assistant.bot import Assistant

        kb = Assistant.open(settings).kb  # the default index is built on first use
    data = facts_json(kb, args.indicator, args.province, args.year, args.status)
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=1))
    elif args.format == "csv":
        sys.stdout.write(to_csv(data["facts"]))
    else:
        print(to_text_table(data["facts"]) if data["facts"] else "no facts match")
    return 0
