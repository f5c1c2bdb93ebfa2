"""The JSON Lines goldens parse, line by line, as a log pipeline would read them.

tests/c/test_report_golden.c writes and checks the bytes of these files; this
file checks what the bytes mean to a JSON reader: every line is one object
with a known "type", no integer exceeds 2^53, the summary agrees with the
event lines, and timestamps are the block's init time plus each start offset.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"
JSONL = sorted(GOLDEN.glob("*.jsonl"))
TYPES = {
    "start",
    "verdict",
    "event",
    "alert",
    "summary",
    "timeline",
    "advice",
    "objects",
    "garbage",
    "prompt",
}
EXACT = 2**53 - 1

# The fixture's clock: 2025-11-28 17:00:00 UTC at init (tests/c/test_report_fixture.h).
INIT_TS = 1764349200.0


def load(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{path.name}: the last line has no newline"
    objs = []
    for n, line in enumerate(text.splitlines(), 1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"{path.name}:{n} is not an object"
        objs.append(obj)
    return objs


def walk_numbers(value: Any) -> list[int | float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in walk_numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in walk_numbers(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    return []


def test_goldens_exist():
    names = {p.name for p in JSONL}
    assert {"report.jsonl", "report_stats_only.jsonl", "report_empty.jsonl", "start.jsonl"} <= names


@pytest.mark.parametrize("path", JSONL, ids=lambda p: p.name)
def test_every_line_is_a_typed_object(path: Path):
    for obj in load(path):
        assert obj.get("type") in TYPES
        for number in walk_numbers(obj):
            if isinstance(number, int):
                assert -EXACT <= number <= EXACT


@pytest.mark.parametrize(
    "name", ["report.jsonl", "report_stats_only.jsonl", "report_empty.jsonl", "report_py315.jsonl"]
)
def test_report_ends_with_one_summary(name: str):
    objs = load(GOLDEN / name)
    summaries = [o for o in objs if o["type"] == "summary"]
    assert len(summaries) == 1
    assert objs[-1] is summaries[0]
    assert objs[-1]["schema_version"] == 1


def test_events_agree_with_summary():
    objs = load(GOLDEN / "report.jsonl")
    events = [o for o in objs if o["type"] == "event"]
    alerts = [o for o in objs if o["type"] == "alert"]
    summary = objs[-1]
    assert len(events) == summary["count"] == summary["events"]
    assert len(alerts) == summary["alerts"]
    for g in range(3):
        mine = [e for e in events if e["generation"] == g]
        assert len(mine) == summary[f"gen{g}"]["count"]
        assert sum(e["collected"] for e in mine) == summary[f"gen{g}"]["collected"]
        assert sum(e["duration_ms"] for e in mine) == pytest.approx(
            summary[f"gen{g}"]["total_ms"], abs=1e-6
        )
    assert max(e["duration_ms"] for e in events) == summary["max_ms"]
    assert {e["pid"] for e in events} == {summary["pid"]}


def test_efficiency_is_collected_over_candidates():
    # A CPython 3.15 run: every figure object has both counts, and the
    # efficiency is their ratio in percent (null where nothing was examined).
    summary = load(GOLDEN / "report_py315.jsonl")[-1]
    assert summary["duration_source"] == "interpreter"
    for obj in (summary, summary["gen0"], summary["gen1"], summary["gen2"]):
        if obj["candidates"]:
            assert obj["efficiency"] == round(100 * obj["collected"] / obj["candidates"], 3)
        else:
            assert obj["efficiency"] is None
    assert summary["candidates"] == sum(summary[f"gen{g}"]["candidates"] for g in range(3))
    # Earlier interpreters' summaries have none of these keys.
    old = load(GOLDEN / "report.jsonl")[-1]
    assert not {"candidates", "efficiency", "duration_source"} & (old.keys() | old["gen0"].keys())


def test_alerts_precede_their_event():
    objs = load(GOLDEN / "report.jsonl")
    for i, obj in enumerate(objs):
        if obj["type"] == "alert":
            nxt = objs[i + 1]
            assert nxt["type"] == "event"
            assert (nxt["ts"], nxt["generation"], nxt["duration_ms"]) == (
                obj["ts"],
                obj["generation"],
                obj["duration_ms"],
            )
            assert obj["duration_ms"] >= obj["threshold_ms"]


def test_timestamps_are_init_plus_offsets():
    events = [o for o in load(GOLDEN / "report.jsonl") if o["type"] == "event"]
    # The fixture starts its first collections 12 ms, 118.5 ms and 240.25 ms after init.
    offsets = [round(e["ts"] - INIT_TS, 6) for e in events[:3]]
    assert offsets == [0.012, 0.1185, 0.24025]
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)


def test_start_line_escapes_the_command():
    (start,) = load(GOLDEN / "start.jsonl")
    assert start["type"] == "start"
    assert start["schema_version"] == 1
    assert start["command"] == "python -c 'import x\nx.run(\"a\\b\")'\t\ufffd.py"
