"""The reliability benchmark's scenarios, run for real (small): hostile files in one batch,
and the index command killed with SIGKILL (real model: marked ``model``)."""

from __future__ import annotations

import pytest

from bench.reliability import crash, files


def test_hostile_files_never_crash_or_vanish(tmp_path):
    result = files.run(workdir=tmp_path)
    assert result["files"] >= 100
    assert result["crashes"] == 0 and result["silent_drops"] == 0, result["problems"]
    assert result["wrong"] == 0 and result["duplicate_chunks"] == 0, result["problems"]
    assert result["categories"]["good"] == {"files": 10, "indexed": 10}
    assert result["skipped_hidden"] == 2
    assert result["upload_names"]["escaped"] == 0
    assert 0 < result["peak_rss_mb"] < 2048


@pytest.mark.model
def test_killed_index_command_never_corrupts_the_knowledge_base(tmp_path):
    result = crash.run(trials=3, workdir=tmp_path)
    assert result["trials"] == 3
    assert result["corrupt"] == 0 and result["rerun_failures"] == 0, result["problems"]
    assert result["killed_in_write"] >= 1  # round(3 * 0.4) trials are forced into the write
