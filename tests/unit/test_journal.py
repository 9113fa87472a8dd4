"""The invocation journal (local/runtime/journal.py) and how `local logs` shows its lines
(local/commands/log_lines.py)."""

import json
import multiprocessing
import time

import pytest

from local.commands.log_lines import readable, since_epoch
from local.runtime.journal import (
    InvocationJournal,
    JournalTail,
    find,
    journal_files,
    records,
)
from local.runtime.pool import Invocation


def invocation(function="Fn", request_id="r1", event=None, payload=None, log=None, **more) -> Invocation:
    return Invocation(request_id, function, event=event if event is not None else {"k": 1},
                      payload=payload if payload is not None else {"ok": True}, log=log or ["START", "hello"],
                      duration_ms=2.5, **more)


def test_each_invocation_is_one_record_with_its_event_answer_and_log(tmp_path):
    journal = InvocationJournal(tmp_path, "up")
    journal.record(invocation(init_ms=40.0))
    journal.record(invocation(request_id="r2", function="Other", error={"errorType": "E"}))
    kept = records(tmp_path, "Fn")
    assert len(kept) == 1
    record = kept[0]
    assert record["event"] == {"k": 1} and record["payload"] == {"ok": True} and record["log"] == ["START", "hello"]
    assert record["process"] == "up" and record["init_ms"] == 40.0 and record["started_at"] <= record["finished_at"]
    assert find(tmp_path, "Other", "r2")["error"] == {"errorType": "E"}
    assert [r["request_id"] for r in JournalTail(tmp_path).latest()] == ["r2", "r1"]


def test_an_event_too_big_to_keep_is_left_out_and_said_so(tmp_path):
    InvocationJournal(tmp_path, "up", field_cap_bytes=100).record(invocation(event={"big": "x" * 500}))
    record = records(tmp_path, "Fn")[0]
    assert "event" not in record and record["event_bytes"] > 500 and record["payload"] == {"ok": True}


def test_a_full_file_is_moved_aside_and_both_are_read(tmp_path):
    journal = InvocationJournal(tmp_path, "up", max_file_bytes=2000)
    for number in range(20):
        journal.record(invocation(request_id=f"r{number}"))
    files = journal_files(tmp_path, "Fn")
    assert [path.name for path in files] == ["Fn.jsonl.1", "Fn.jsonl"]
    ids = [record["request_id"] for record in records(tmp_path, "Fn")]
    assert ids == sorted(ids, key=lambda i: int(i[1:])) and ids[-1] == "r19" and len(ids) < 20


def test_the_tail_reads_what_was_appended_since_and_follows_a_moved_file(tmp_path):
    journal = InvocationJournal(tmp_path, "up", max_file_bytes=2000)
    tail = JournalTail(tmp_path, keep=5, shape=lambda record: record["request_id"])
    journal.record(invocation(request_id="r0"))
    assert tail.latest() == ["r0"]
    for number in range(1, 20):  # moved aside to .1 more than once meanwhile
        journal.record(invocation(request_id=f"r{number}"))
        if number % 3 == 0:
            assert tail.latest()[0] == f"r{number}"
    assert tail.latest() == ["r19", "r18", "r17", "r16", "r15"]
    assert find(tmp_path, "Fn", "r18")["request_id"] == "r18" and find(tmp_path, "Fn", "r0") is None  # dropped


def test_a_tail_started_on_a_long_file_reads_only_its_end(tmp_path):
    journal = InvocationJournal(tmp_path, "up")
    for number in range(50):
        journal.record(invocation(request_id=f"r{number}"))
    size = (tmp_path / "Fn.jsonl").stat().st_size
    latest = JournalTail(tmp_path, tail_bytes=size // 5, shape=lambda record: record["request_id"]).latest()
    assert 5 <= len(latest) < 11 and latest[0] == "r49"  # whole records only, the cut one left out


def test_find_tells_retries_sharing_a_request_id_apart_by_their_finish(tmp_path):
    journal = InvocationJournal(tmp_path, "events")
    journal.record(invocation(request_id="same", event={"attempt": 1}, finished_at=100.0))
    journal.record(invocation(request_id="same", event={"attempt": 2}, finished_at=200.0))
    assert find(tmp_path, "Fn", "same")["event"] == {"attempt": 2}
    assert find(tmp_path, "Fn", "same", finished_at=100.0)["event"] == {"attempt": 1}


def _write_many(folder, tag, count):
    journal = InvocationJournal(folder, tag)
    for number in range(count):
        journal.record(invocation(request_id=f"{tag}-{number}", log=[tag * 3000]))  # lines of several KB


def test_two_processes_writing_one_file_never_interleave(tmp_path):
    writers = [multiprocessing.Process(target=_write_many, args=(tmp_path, tag, 200)) for tag in "ab"]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    lines = (tmp_path / "Fn.jsonl").read_bytes().splitlines()
    assert len(lines) == 400 and all(json.loads(line)["log"][0] in ("a" * 3000, "b" * 3000) for line in lines)


def test_powertools_json_lines_are_shown_readable_and_others_as_written():
    line = json.dumps({"level": "INFO", "location": "handler:12", "message": "recipe saved",
                       "timestamp": "2026-12-05 10:00:00,123+0000", "service": "recipes", "cold_start": True,
                       "function_name": "f", "recipe_id": 42, "xray_trace_id": "1-2"})
    assert readable(line) == "INFO     recipe saved  (handler:12)  recipe_id=42"
    assert readable("[INFO]\t2026-12-05T10:00:00.000Z\tid\tplain logging") == "[INFO]\t2026-12-05T10:00:00.000Z\tid\tplain logging"
    assert readable('{"not": "powertools"}') == '{"not": "powertools"}'
    assert "\033[" in readable(line, colour=True)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                           ("5mins ago", 300), ("10 minutes", 600)])
def test_since_takes_ages(text, seconds):
    assert since_epoch(text, 1_000_000.0) == 1_000_000.0 - seconds


def test_since_takes_iso_times_in_utc_unless_told_and_refuses_the_rest():
    assert since_epoch("1970-01-02T00:00:00", time.time()) == 86400
    assert since_epoch("1970-01-02T01:00:00+01:00", time.time()) == 86400
    with pytest.raises(ValueError, match="30s, 5m"):
        since_epoch("yesterday", time.time())
