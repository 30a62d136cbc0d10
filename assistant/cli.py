"""Command line: ``python -m assistant index|ask|info|migrate|indicators``. Errors print one
English line and exit non-zero; no traceback reaches the user (``-v`` shows it)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assistant.about import add_version, plain
from assistant.config import BUNDLED_REPORTS, Settings
from assistant.errors import AssistantError, ConfigError

if TYPE_CHECKING:
    from assistant.kb import KnowledgeBase

EXIT_USAGE, EXIT_ERROR = 2, 1


def settings_from_env(**changes: Any) -> Settings:
    """:class:`Settings` from the environment with ``changes`` on top (``None`` values are
    left out); an invalid value is a :class:`ConfigError` naming the setting and the fault."""
    try:
        return Settings(**{k: v for k, v in changes.items() if v is not None})
    except ValidationError as err:
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}".lstrip(": ") for e in err.errors()
        )
        raise ConfigError(f"invalid settings: {detail}") from err


def print_error(err: BaseException) -> int:
    """Print ``err`` as one English line ``error: <message>`` on stderr; return the exit code
    (2 for a bad setting, else 1)."""
    if isinstance(err, AssistantError):
        message = str(err)
    elif isinstance(err, OSError):
        where = f" ({err.filename})" if err.filename else ""
        message = f"{err.strerror or err}{where}; check the path and its permissions"
    else:
        message = f"unexpected {type(err).__name__}: {err}; run with -v for details and report it"
    line = " ".join(message.split())  # one line, whatever the message holds
    print(f"error: {line}", file=sys.stderr)
    return EXIT_USAGE if isinstance(err, ConfigError) else EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant", description=plain(__doc__))
    add_version(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log details; on an error, show its traceback"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_index = sub.add_parser(
        "index", help="index files or folders (txt, md, html, pdf, docx, doc, odt, xlsx, xls, ods)"
    )
    p_index.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (default: <data>/reports, else the bundled "
        f"reports in {BUNDLED_REPORTS}, plus <data>/uploads)",
    )
    p_index.add_argument("--index", type=Path, help="knowledge base folder")
    p_index.add_argument("--rebuild", action="store_true", help="start from an empty index")
    _store_options(
        p_index, "--store", "where the vectors go (default: ASSISTANT_VECTOR_STORE, else faiss)"
    )
    p_index.add_argument(
        "--ray",
        action="store_true",
        help="embed with Ray Data (a local Ray instance unless --ray-address)",
    )
    p_index.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a Ray cluster to embed on ('auto', ray://host:10001); implies --ray",
    )

    p_ask = sub.add_parser("ask", help="answer a question with citations")
    p_ask.add_argument("question")
    p_ask.add_argument("--index", type=Path, help="knowledge base folder")
    p_ask.add_argument("--k", type=int, help="number of passages to retrieve")
    p_ask.add_argument("--province", help="only documents about this province")
    p_ask.add_argument("--year", type=int, help="only reports about this year")
    p_ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    p_ask.add_argument(
        "--answerer",
        choices=["extractive", "llm"],
        help="extractive (default) or llm: a generated answer from the "
        "OpenAI-compatible server in ASSISTANT_LLM_BASE_URL, streamed",
    )

    p_info = sub.add_parser("info", help="what the knowledge base holds")
    p_info.add_argument("--index", type=Path, help="knowledge base folder")
    p_info.add_argument("--json", action="store_true")

    p_migrate = sub.add_parser(
        "migrate", help="move a knowledge base's vectors to another store, without embedding again"
    )
    p_migrate.add_argument("--index", type=Path, help="knowledge base folder")
    _store_options(p_migrate, "--to", "the store to move the vectors to", required=True)

    from assistant.indicator_cli import add_parser as add_indicators

    add_indicators(sub)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        changes = {
            "index_dir": args.index,
            "answerer": getattr(args, "answerer", None),
            "vector_store": getattr(args, "store", None) or getattr(args, "to", None),
            "milvus_uri": getattr(args, "uri", None),
            "milvus_collection": getattr(args, "collection", None),
        }
        settings = settings_from_env(**{k: v for k, v in changes.items() if v})
        if args.command == "index":
            from assistant.bot import default_sources

            return _index(
                settings,
                args.paths or default_sources(settings),
                args.rebuild,
                args.ray or bool(args.ray_address),
                args.ray_address,
            )
        if args.command == "indicators":
            from assistant.indicator_cli import run as indicators

            return indicators(settings, args)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "ask":
            if args.k is not None and args.k <= 0:
                raise AssistantError("--k must be a positive number")
            return _ask(settings, args)
        return _info(settings, args.json)
    except KeyboardInterrupt:
        print("interrupted; the previous index is unchanged", file=sys.stderr)
        return 130
    except Exception as err:  # every error a user meets: one line, no traceback
        if args.verbose:
            raise
        return print_error(err)


def _store_options(
    parser: argparse.ArgumentParser, flag: str, text: str, required: bool = False
) -> None:
    parser.add_argument(
        flag, dest=flag.lstrip("-"), choices=["faiss", "milvus"], required=required, help=text
    )
    parser.add_argument(
        "--uri",
        help="Milvus: a Milvus Lite file (./kb.db) or a server "
        "(http://host:19530); default <index>/milvus.db",
    )
    parser.add_argument(
        "--collection", help="Milvus collection (default: named after the index folder)"
    )


def _store_line(kb: KnowledgeBase) -> str:
    return f"vectors in {kb.vector_index.summary()}"


def _migrate(settings: Settings) -> int:
    from assistant.indexing import migrate

    kb = migrate(settings.index_dir, settings)
    print(
        f"moved {len(kb.vector_index)} vectors of {len(kb)} chunks without embedding; "
        f"{_store_line(kb)} ({settings.index_dir})"
    )
    return 0


def _index(
    settings: Settings,
    paths: list[Path],
    rebuild: bool,
    ray: bool = False,
    ray_address: str | None = None,
) -> int:
    from tqdm import tqdm

    from assistant.bot import load_encoder
    from assistant.indexing import index_paths

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            unit = {"embed": "chunk", "ocr": "page"}.get(stage, "file")
            bar = bars[stage] = tqdm(
                total=total, desc=stage, unit=unit, file=sys.stderr, leave=False
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    encoder = load_encoder(settings)
    embed_passages = None
    if ray:
        from assistant.ray_embed import ray_embedder

        embed_passages = ray_embedder(settings, address=ray_address)
    try:
        kb, report = index_paths(
            list[Path | str](paths),
            settings.index_dir,
            settings,
            encoder,
            rebuild=rebuild,
            progress=progress,
            embed_passages=embed_passages,
        )
    finally:
        for bar in bars.values():
            bar.close()
    for r in report.rejected:
        print(f"skipped {r.path}: {r.reason}", file=sys.stderr)
    print(
        f"{report.summary()}; {report.chunks_embedded} chunks embedded; "
        f"index holds {len(kb.documents)} documents, {len(kb)} chunks ({settings.index_dir}); "
        f"{_store_line(kb)}"
    )
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.bot import Assistant

    bot = Assistant.open(settings)
    if args.json:
        answer = bot.ask(args.question, k=args.k, province=args.province, year=args.year)
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=1))
        return 0
    stream = bot.ask_stream(args.question, k=args.k, province=args.province, year=args.year)
    streamed = ""
    for piece in stream:  # language-model mode: tokens are printed as they come
        streamed += piece
        print(piece, end="", flush=True)
    answer = stream.answer
    if streamed:
        print()
    if answer.notice:
        print(f"note: {answer.notice}")
    if answer.answer != streamed.strip():
        if streamed:  # the checked answer, or the extractive one in its place
            print("\n--- checked answer ---")
        print(answer.answer)
    if answer.check:
        for sentence in answer.check.unverified:
            print(f"unverified (numbers not in the cited passages): {sentence}")
        if answer.check.uncited and not answer.refused:
            print("unverified: the answer cites no passage")
        if answer.check.removed:
            print(
                "removed citations to passages that do not exist: "
                + " ".join(f"[{n}]" for n in answer.check.removed)
            )
    for c in answer.citations or answer.related:
        where = ", ".join(
            str(x) for x in (c.province, c.year, c.page and f"trang {c.page}", c.location) if x
        )
        print(f"\n[{c.n}] {c.title} ({where}) {c.doc} [{c.start}:{c.end}]\n    {c.quote[:400]}")
    return 0


def _info(settings: Settings, as_json: bool) -> int:
    from assistant.kb import KnowledgeBase
    from assistant.storage import live_version

    kb = KnowledgeBase.load(settings.index_dir)
    info = {
        "index": str(live_version(settings.index_dir)),
        "model": kb.signature["model"],
        "dim": kb.signature["dim"],
        "documents": len(kb.documents),
        "chunks": len(kb),
        "provinces": kb.provinces(),
        "years": kb.years(),
        "files": [
            {
                "doc": d.path,
                "title": d.title,
                "province": d.province,
                "year": d.year,
                "period": [d.period_start, d.period_end],
                "published": d.published,
                "chunks": int(len(kb.rows_for([d.id]))),
            }
            for d in kb.documents.values()
        ],
    }
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=1))
        return 0
    print(
        f"{info['index']}\nmodel {info['model']} ({info['dim']} dims), "
        f"{info['documents']} documents, {info['chunks']} chunks"
    )
    print("provinces: " + ", ".join(info["provinces"]))
    print("years: " + ", ".join(map(str, info["years"])))
    for d in kb.documents.values():
        when = d.period() or "-"
        if d.published:
            when += f" (published {d.published})"
        print(f"  {len(kb.rows_for([d.id])):4d} chunks  {d.province or '-'}, {when}  {d.path}")
    return 0
