"""CPython 3.15's own figures in the reports: collection efficiency and native durations.

CPython 3.15 passes `candidates` (the objects a collection examined) and
`duration` in the info dict of every collection, and counts both in
gc.get_stats().  The report shows collected / candidates per generation, and
says when its pauses are CPython's own durations.  The figures are checked
against the target's own gc.get_stats(), taken where the recorder saw exactly
the same collections: a sitecustomize (run before the launcher's bootstrap)
turns automatic collection off and notes the interpreter's figures, so
nothing is collected before the target turns it back on, and the target
turns it off again before it takes its final figures.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from gcm_testing import JSON, clean_env, launcher, report, run, summaries, write_script

HAS_CANDIDATES = sys.version_info >= (3, 15)

SITECUSTOMIZE = """
import gc

gc.disable()
BEFORE = gc.get_stats()
"""

# Cycles that only the collector frees, kept for a while in a pool so that
# some survive into the older generations and die there; automatic
# collections with small thresholds, and explicit ones of each generation.
TARGET = """
import gc
import json

import sitecustomize

before = sitecustomize.BEFORE
gc.set_threshold(100, 5, 5)
gc.enable()
pool = []
for i in range(30000):
    a = []
    b = [a]
    a.append(b)
    if i % 16 == 0:
        pool.append(a)
        if len(pool) > 50:
            del pool[:25]
for generation in (0, 1, 2, 0, 2):
    gc.collect(generation)
gc.disable()
after = gc.get_stats()
print(json.dumps({"before": before, "after": after}))
"""


def _run_target(tmp_path: Path) -> tuple[dict, dict, str, str]:
    """Runs TARGET under `run --json -o cap`; returns the JSON summary, the
    target's gc.get_stats() deltas per generation, the text report of the
    capture and the plain `live` line of the finished capture."""
    site = tmp_path / "site"
    site.mkdir()
    write_script(site, SITECUSTOMIZE, "sitecustomize.py")
    script = write_script(tmp_path, TARGET)
    capture = tmp_path / "cap"
    env = clean_env(PYTHONPATH=str(site))
    proc = run([launcher(), "run", *JSON, "-o", capture, script], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    (summary,) = summaries(proc.stderr).values()
    stats = json.loads(proc.stdout)
    deltas = {
        g: {k: stats["after"][g][k] - stats["before"][g][k] for k in stats["after"][g]}
        for g in range(3)
    }
    text = report(capture)
    assert text.returncode == 0, text.stderr
    live = run([launcher(), "live", capture], tmp_path)
    assert live.returncode == 0, live.stderr
    return summary, deltas, text.stdout + text.stderr, live.stdout


@pytest.mark.skipif(not HAS_CANDIDATES, reason="CPython 3.15+ counts candidates")
def test_efficiency_equals_gc_get_stats(tmp_path: Path) -> None:
    summary, deltas, text, live = _run_target(tmp_path)
    rows = {}
    for line in text.splitlines():
        m = re.fullmatch(r"  (gen \d|all) +(-|\d+\.\d\d%)  \((\d+) of (\d+)\)", line)
        if m:
            rows[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)))
    assert "Collection efficiency (objects collected of the candidates examined):" in text
    total_collected = total_candidates = 0
    for g in range(3):
        got = summary[f"gen{g}"]
        want = deltas[g]
        # The recorder saw the collections gc.get_stats() counted, no more.
        assert got["count"] == want["collections"], (g, got, want)
        assert got["collected"] == want["collected"], (g, got, want)
        assert got["candidates"] == want["candidates"], (g, got, want)
        if want["candidates"]:
            efficiency = 100 * want["collected"] / want["candidates"]
            assert got["efficiency"] == round(efficiency, 3), (g, got, want)
            shown = f"{efficiency:.2f}%"
        else:
            assert got["efficiency"] is None
            shown = "-"
        assert rows[f"gen {g}"] == (shown, want["collected"], want["candidates"])
        # Durations are CPython's own: the same sum, to the JSON's microsecond.
        assert abs(got["total_ms"] - 1000 * want["duration"]) <= 0.0005 + got["count"] * 1e-6
        total_collected += want["collected"]
        total_candidates += want["candidates"]
    assert summary["candidates"] == total_candidates > 0
    assert summary["collected"] == total_collected
    assert summary["efficiency"] == round(100 * total_collected / total_candidates, 3)
    assert rows["all"][1:] == (total_collected, total_candidates)
    # Collections of every generation happened, so every row was compared.
    assert all(deltas[g]["collections"] > 0 for g in range(3))
    assert summary["duration_source"] == "interpreter"
    assert "  (pause times are CPython's own: the \"duration\" of its gc.callbacks info)" in text
    fields = dict(token.split("=", 1) for token in live.split())
    assert int(fields["candidates"]) == total_candidates
    assert float(fields["efficiency_pct"]) == pytest.approx(
        100 * total_collected / total_candidates, abs=5e-5
    )


@pytest.mark.skipif(HAS_CANDIDATES, reason="before 3.15 there are no candidates to show")
def test_no_efficiency_before_3_15(tmp_path: Path) -> None:
    summary, deltas, text, live = _run_target(tmp_path)
    assert summary["count"] == sum(deltas[g]["collections"] for g in range(3))
    for obj in (summary, summary["gen0"], summary["gen2"]):
        assert "candidates" not in obj and "efficiency" not in obj
    assert "duration_source" not in summary
    assert "Collection efficiency" not in text
    assert "CPython's own" not in text
    assert "candidates=" not in live and "efficiency_pct=" not in live
