"""Several processes on one Milvus: a Milvus Lite server (``python -m milvus_lite server``, the
same gRPC interface as a Milvus server), one process answering questions in a loop while
another indexes a new report into the same knowledge base (whose folder holds only manifests).
The answering process never fails, never sees a half-written version (every vector of each
document it knows is in the collection it searches, and nothing more), and answers from the new
version once it is live."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import BUNDLED_REPORTS

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

QUESTION = "Năm 2024 Hà Giang lắp đặt bao nhiêu trạm quan trắc tự động?"
NEW_REPORT = """BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ TỈNH HÀ GIANG NĂM 2024

Sở Thông tin và Truyền thông tỉnh Hà Giang báo cáo kết quả năm 2024 như sau.

Năm 2024, Hà Giang lắp đặt 42 trạm quan trắc tự động, kết nối về Trung tâm giám sát điều hành
thông minh của tỉnh.
"""

# the answering process: one JSON line per question, until the stop file appears
READER = r"""
import json, sys, time
from pathlib import Path
from assistant import Assistant, Settings

stop, new_doc, question = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
bot = Assistant.open(Settings())
print(json.dumps({"ready": True}), flush=True)
while True:
    answer = bot.ask(question)
    kb, store = bot.kb, bot.kb.vector_index
    counts = {}
    for doc_id in sorted(kb.documents):
        found = store.client().query(
            store.target.collection,
            filter="doc_id == " + json.dumps(doc_id, ensure_ascii=False),
            output_fields=["count(*)"],
        )
        counts[doc_id] = [found[0]["count(*)"], len(kb.vector_rows(kb.rows_for([doc_id])))]
    held = store.client().query(
        store.target.collection, filter="", output_fields=["count(*)"]
    )[0]["count(*)"]
    print(json.dumps({
        "t": time.time(), "version": kb.version, "has_doc": new_doc in kb.documents,
        "counts": counts, "held": held, "vectors": len(kb.owners),
        "answer": answer.answer, "refused": answer.refused,
    }, ensure_ascii=False), flush=True)
    if stop.exists():
        break
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def milvus_server(tmp_path: Path):
    """A Milvus Lite server on a free port; its URI."""
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(tmp_path / "milvus"),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        "the Milvus Lite server did not start: "
                        + (tmp_path / "server.log").read_text()
                    ) from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model
def test_one_process_indexes_while_another_answers(milvus_server, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for f in BUNDLED_REPORTS.iterdir():
        (reports / f.name).write_bytes(f.read_bytes())
    index = tmp_path / "index"
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(index),
        "ASSISTANT_VECTOR_STORE": "milvus",
        "ASSISTANT_MILVUS_URI": milvus_server,
    }
    done = cli("index", str(reports), env=env)
    assert done.returncode == 0, done.stderr
    assert "5 added" in done.stdout and "vectors in milvus collection" in done.stdout
    version = index / json.loads((index / "CURRENT").read_text())["version"]
    assert [p.name for p in version.iterdir()] == ["manifest.json"]  # the rest is in Milvus

    new = reports / "ha-giang-2024.txt"
    new_id = new.resolve().as_posix()
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(stop), new_id, QUESTION],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert json.loads(reader.stdout.readline()) == {"ready": True}, reader.stderr

    new.write_text(NEW_REPORT, encoding="utf-8")
    # the indexing process: no --store, the manifest keeps the folder on Milvus
    writer_env = {k: v for k, v in env.items() if k != "ASSISTANT_VECTOR_STORE"}
    started = time.time()
    done = cli("index", str(reports), env=writer_env)
    finished = time.time()
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout

    lines = []
    deadline = time.time() + 300
    while time.time() < deadline:
        line = reader.stdout.readline()
        if not line:
            break
        lines.append(json.loads(line))
        if lines[-1]["has_doc"] and "42" in lines[-1]["answer"]:
            stop.write_text("")
    reader.wait(120)
    assert reader.returncode == 0, reader.stderr.read() if reader.stderr else ""
    assert lines, "the answering process wrote nothing"

    during = [x for x in lines if started <= x["t"] <= finished]
    assert during, "no question was answered while the other process indexed"
    for x in lines:  # each version whole: every document's vectors, nothing half-written
        assert all(engine == kb for engine, kb in x["counts"].values()), x
        assert x["held"] == x["vectors"], x
    before = [x for x in lines if not x["has_doc"]]
    after = [x for x in lines if x["has_doc"]]
    assert before and after
    assert all(x["refused"] for x in before)  # no report about Hà Giang yet
    assert len({x["version"] for x in before}) == 1
    assert "42" in after[-1]["answer"] and not after[-1]["refused"]
    assert after[0]["version"] != before[0]["version"]
    assert after[0]["t"] >= before[-1]["t"]  # once on the new version, never back
