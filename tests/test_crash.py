"""A writer killed with SIGKILL at each step of a save: the previous version stays live, the
leftovers are cleaned by the next save, and nothing blocks the next writer (fake encoder)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant import KnowledgeBase, Settings, index_paths
from assistant.storage import index_signature, live_version

ROOT = Path(__file__).resolve().parent.parent

# A writer that indexes ``reports`` with the fake encoder and stops (sleeps) at ``step`` of
# the save, after printing "ready", so the test can kill it there.
WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, "tests")
    from conftest import FakeEncoder
    import assistant.storage as store
    from assistant import Settings, index_paths

    reports, index, step = sys.argv[1:4]

    def stop(*args, **kw):
        print("ready", flush=True)
        time.sleep(600)

    if step == "fsync":  # while the new version folder is written
        store._fsync_tree = stop
    elif step == "swap":  # folder renamed, CURRENT's replacement half written
        real = store._write_json
        def write_json(path, obj):
            if path.name == ".CURRENT.tmp":
                path.write_text('{"vers')
                stop()
            real(path, obj)
        store._write_json = write_json
    elif step == "lock":  # holding the write lock
        with store.write_lock(store.Path(index)):
            stop()
    settings = Settings(index_dir=index)
    index_paths([reports], settings.index_dir, settings, FakeEncoder())
""")


def _kill_writer(reports: Path, index: Path, step: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(reports), str(index), step],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture
def built(reports_copy, tmp_path, fake_encoder):
    """An index of the five reports, and one report removed so that a rebuild changes it."""
    settings = Settings(index_dir=tmp_path / "index")
    index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    (reports_copy / "bac-kan-2019.txt").unlink()
    return settings, live_version(settings.index_dir)


def _load(settings: Settings, encoder) -> KnowledgeBase:
    return KnowledgeBase.load(settings.index_dir, index_signature(settings, encoder))


@pytest.mark.parametrize("step", ["fsync", "swap"])
def test_a_writer_killed_while_saving_leaves_the_previous_version_live(
    built, reports_copy, fake_encoder, step
):
    settings, before = built
    _kill_writer(reports_copy, settings.index_dir, step)
    assert live_version(settings.index_dir) == before
    assert len(_load(settings, fake_encoder).documents) == 5
    leftovers = {
        ".tmp": list(settings.index_dir.glob(".tmp-v-*")),
        "orphans": [p for p in settings.index_dir.glob("v-*") if p != before],
    }
    assert len(leftovers[".tmp" if step == "fsync" else "orphans"]) == 1


@pytest.mark.parametrize("step", ["fsync", "swap"])
def test_the_next_save_removes_the_leftovers_and_keeps_the_previous_version(
    built, reports_copy, fake_encoder, step
):
    """Regression: a version folder that never went live (writer killed between the rename
    and the CURRENT swap) was kept by the clean-up instead of the previous live version,
    which a reader may still be loading."""
    settings, before = built
    _kill_writer(reports_copy, settings.index_dir, step)
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    live = live_version(settings.index_dir)
    assert len(kb.documents) == 4 and len(_load(settings, fake_encoder).documents) == 4
    assert sorted(p.name for p in settings.index_dir.glob("v-*")) == [before.name, live.name]
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_a_killed_writer_does_not_leave_the_lock_held(built, reports_copy, fake_encoder):
    settings, _ = built
    _kill_writer(reports_copy, settings.index_dir, "lock")
    assert (settings.index_dir / ".lock").exists()  # the file stays; the lock died with it
    t0 = time.perf_counter()
    kb, _ = index_paths([reports_copy], settings.index_dir, settings, fake_encoder)
    assert len(kb.documents) == 4 and time.perf_counter() - t0 < 30
