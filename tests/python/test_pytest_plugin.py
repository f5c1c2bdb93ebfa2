"""The pytest plugin, as users run it: real pytest sessions in subprocesses (pytester).

The plugin comes from the installed package's pytest11 entry point, exactly as
in a user's project.  Budgets that must fail are deterministic (collection
counts, or a limit of 0 that any real pause exceeds); budgets that must pass
have margins of many orders of magnitude.  Every scenario also runs under
pytest-xdist with two workers when it is installed.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

XDIST = [[], ["-n", "2"]]
XDIST_IDS = ["serial", "xdist"]

TESTS = """\
import gc
import pytest

@pytest.fixture(autouse=True)
def no_automatic_collections():
    # Only the tests' explicit collections count.
    gc.disable()
    yield
    gc.enable()

def collect(n):
    for _ in range(n):
        gc.collect()

@pytest.mark.gc_budget(max_collections=2)
def test_over_budget():
    collect(3)

@pytest.mark.gc_budget(max_collections=1000, max_pause_ms=100000)
def test_within_budget():
    collect(1)

def test_unmarked():
    collect(5)
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    if "-n" in args:
        pytest.importorskip("xdist")
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


@pytest.mark.parametrize("extra", XDIST, ids=XDIST_IDS)
def test_marker_fails_exactly_the_over_budget_test(pytester, extra):
    pytester.makepyfile(test_budgets=TESTS)
    result = run(pytester, "-rf", *extra)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "GC budget exceeded: max_collections=2: count 3 > 2",
            "*short test summary info*",
            "FAILED test_budgets.py::test_over_budget*",
        ]
    )
    assert result.ret == 1


@pytest.mark.parametrize("extra", XDIST, ids=XDIST_IDS)
def test_every_marker_keyword(pytester, extra):
    # A limit of 0 is exceeded by any real collection; each keyword becomes
    # its own rule, named in the failure with the measured value.
    pytester.makepyfile(
        test_zero="""
        import gc
        import pytest

        @pytest.mark.gc_budget(max_pause_ms=0, p99_ms=0, max_collections=0, max_share=0)
        def test_zero():
            gc.disable()
            gc.collect()
            gc.enable()

        @pytest.mark.gc_budget("gen2.count>0", "uncollectable>0")
        def test_rules():
            gc.disable()
            gc.collect()
            gc.enable()
        """
    )
    result = run(pytester, *extra)
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    for budget, metric in [
        ("max_pause_ms=0", r"max \d+(\.\d+)?ms > 0ms"),
        ("p99_ms=0", r"p99 \d+(\.\d+)?ms > 0ms"),
        ("max_collections=0", r"count 1 > 0"),
        ("max_share=0", r"share \d+(\.\d+)?% > 0%"),
        ("gen2.count>0", r"gen2.count 1 > 0"),
    ]:
        assert re.search(rf"GC budget exceeded: {re.escape(budget)}: {metric}", out), budget
    # The rule that held is not mentioned.
    assert "uncollectable>0:" not in out


@pytest.mark.parametrize("extra", XDIST, ids=XDIST_IDS)
def test_gc_report_lists_every_test_worst_first(pytester, extra, monkeypatch):
    # Not on a terminal and without COLUMNS: whole node ids.
    monkeypatch.delenv("COLUMNS", raising=False)
    pytester.makepyfile(test_budgets=TESTS)
    result = run(pytester, "--gc-report", "--gc-report-top", "0", *extra)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "GC report: 3 of 3 tests" in line)
    header = lines[start + 1].split()
    assert header == [
        "test",
        "collections",
        "GC",
        "time",
        "full",
        "full",
        "time",
        "max",
        "pause",
        "p99",
    ]
    # Every test here calls gc.collect() itself: each is marked, and the
    # mark's token is left out of the figures below.
    marked = [line.split() for line in lines[start + 2 : start + 5]]
    assert all(row[1] == "*" for row in marked), marked
    rows = [[row[0], *row[2:]] for row in marked]
    names = [row[0] for row in rows]
    counts = {row[0]: int(row[1]) for row in rows}
    assert counts == {
        "test_budgets.py::test_unmarked": 5,
        "test_budgets.py::test_over_budget": 3,
        "test_budgets.py::test_within_budget": 1,
    }
    # Every collection here is a gc.collect(), a full one: its own columns.
    assert {row[0]: int(row[3]) for row in rows} == counts
    # Worst first: the GC times outside full collections are in decreasing
    # order.  Which test spent the most depends on the machine's load, so only
    # the order of the printed figures is checked, never which test comes first.
    young = [float(row[2].removesuffix("ms")) - float(row[4].removesuffix("ms")) for row in rows]
    assert young == sorted(young, reverse=True)
    assert sorted(names) == sorted(counts)
    for row in rows:
        assert all(re.fullmatch(r"\d+\.\d{3}ms", v) for v in (row[2], *row[4:7])), row
    # The totals row sums the tests.
    total = lines[start + 5].split()
    assert total[:3] == ["all", "3", "tests"]
    assert int(total[3]) == 9 and int(total[5]) == 9
    assert total[-1] == "-"
    assert lines[start + 6] == (
        "* called gc.collect() itself (3 of 3 tests): those collections are the test's own choice"
    )


def test_gc_report_ranks_a_full_collection_last_and_fits_the_terminal(pytester):
    # One test makes young garbage; one only happens to trigger a full
    # collection of the session's heap: it is shown with it, ranked after.
    pytester.makepyfile(
        test_a_very_long_module_name_that_does_not_fit_a_narrow_terminal="""
import gc

class Node:
    def __init__(self):
        self.me = self

def test_young():
    for _ in range(20000):
        Node()

def test_full_only():
    gc.collect()
"""
    )
    # On a terminal 100 columns wide (a pseudo-terminal, as a user's shell).
    main, sub = pty.openpty()
    env = dict(os.environ, COLUMNS="100", LINES="40")
    env.pop("PYTEST_XDIST_WORKER", None)
    with subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--gc-report", "--color=no"],
        cwd=pytester.path,
        stdin=subprocess.DEVNULL,
        stdout=sub,
        stderr=subprocess.STDOUT,
        env=env,
    ) as proc:
        os.close(sub)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0
    os.close(main)
    lines = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    start = next(i for i, line in enumerate(lines) if "GC report: 2 of 2 tests" in line)
    rows = lines[start + 2 : start + 4]
    assert rows[0].split()[0].endswith("::test_young"), rows
    assert rows[1].split()[0].endswith("::test_full_only"), rows
    # test_full_only called gc.collect(): marked; test_young did not.
    assert rows[1].split()[1] == "*" and rows[0].split()[1] != "*", rows
    assert int(rows[1].split()[4]) >= 1, rows
    # Cut to the terminal: the start of the long name gives way to "...".
    assert all(len(line) <= 100 for line in lines[start + 1 : start + 5]), lines[start:]
    assert rows[0].startswith("..."), rows


def test_gc_report_top(pytester):
    pytester.makepyfile(test_budgets=TESTS)
    result = run(pytester, "--gc-report", "--gc-report-top", "1")
    result.stdout.fnmatch_lines(
        ["*GC report: 1 of 3 tests, most GC time outside full collections first*"]
    )
    assert "test_budgets.py::test_within_budget " not in result.stdout.str()


@pytest.mark.parametrize("extra", XDIST, ids=XDIST_IDS)
def test_gc_fail_on_applies_to_every_test(pytester, extra):
    pytester.makepyfile(test_budgets=TESTS)
    result = run(pytester, "--gc-fail-on", "gen2.count>4", "-rf", *extra)
    # The marker still fails test_over_budget; the global rule fails
    # test_unmarked (5 collections); test_within_budget stays green.
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "GC budget exceeded: gen2.count>4: gen2.count 5 > 4",
            "FAILED test_budgets.py::test_unmarked*",
            "FAILED test_budgets.py::test_over_budget*",
        ]
    )


def test_bad_gc_fail_on_is_a_usage_error(pytester):
    pytester.makepyfile(test_budgets=TESTS)
    result = run(pytester, "--gc-fail-on", "max")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--gc-fail-on: invalid rule 'max': has no operator*"
            "quote the whole rule, as in --gc-fail-on 'max>50ms'*"
        ]
    )
    result = run(pytester, "--gc-fail-on", "p98>1ms")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid rule 'p98>1ms': unknown metric 'p98'*"])


def test_bad_marker_fails_its_own_test(pytester):
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.gc_budget(max_pause=5)
        def test_typo():
            pass

        @pytest.mark.gc_budget(max_pause_ms="fast")
        def test_not_a_number():
            pass

        @pytest.mark.gc_budget(max_pause_ms=-1)
        def test_negative():
            pass

        def test_fine():
            pass
        """
    )
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "gc_budget() got an unknown budget 'max_pause' (max_pause_ms, *)",
            "gc_budget(max_pause_ms=...) must be a number, got 'fast'",
            "gc_budget(max_pause_ms=-1): invalid rule 'max>-1ms': limit must not be negative",
        ]
    )


def test_a_failing_test_keeps_its_own_failure(pytester):
    pytester.makepyfile(
        test_fail="""
        import gc
        import pytest

        @pytest.mark.gc_budget(max_collections=0)
        def test_assertion():
            gc.collect()
            assert 1 == 2
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])


def test_inactive_plugin_imports_and_registers_nothing(pytester):
    pytester.makepyfile(
        test_quiet="""
        import gc
        import sys

        def test_untouched():
            assert "gc_monitor.pytest_plugin" in sys.modules
            assert "gc_monitor._core" not in sys.modules
            assert not any("gc_monitor" in repr(cb) for cb in gc.callbacks)
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_monitor_covers_only_the_call(pytester):
    # Collections in a fixture's setup and teardown are not charged.
    pytester.makepyfile(
        test_phases="""
        import gc
        import pytest

        @pytest.fixture
        def noisy():
            gc.disable()
            gc.collect()
            yield
            gc.collect()
            gc.enable()

        @pytest.mark.gc_budget(max_collections=0)
        def test_quiet_call(noisy):
            pass
        """
    )
    result = run(pytester, "--gc-report")
    result.assert_outcomes(passed=1)
    result.stdout.re_match_lines([r"test_phases.py::test_quiet_call\s+0\s"])


def test_marker_is_registered(pytester):
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gc_budget(*max_pause_ms=None*"])


def test_budget_fails_when_the_test_removed_the_callback(pytester):
    # A test that empties gc.callbacks hides its collections from the
    # recorder: its budget is not "met on 0 collections", it fails and says why.
    pytester.makepyfile(
        test_cleared="""
        import gc
        import pytest

        @pytest.mark.gc_budget(max_collections=1000)
        def test_clears_callbacks():
            gc.callbacks.clear()
            for _ in range(5):
                gc.collect()

        @pytest.mark.gc_budget(max_collections=1000)
        def test_keeps_callbacks():
            for _ in range(5):
                gc.collect()
        """
    )
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "GC budget exceeded: max_collections=1000: not checked: the test took the monitor"
            " out of gc.callbacks, so * of its * collections were not recorded",
            "FAILED test_cleared.py::test_clears_callbacks*",
        ]
    )
    # At least the five gc.collect() calls went unseen; an automatic
    # collection may come before the test empties gc.callbacks (recorded) or
    # after (unseen too), so the counts are bounds, not exact.
    unseen, total = map(
        int,
        re.search(
            r"so (\d+) of its (\d+) collections were not recorded", result.stdout.str()
        ).groups(),
    )
    assert 5 <= unseen <= total
