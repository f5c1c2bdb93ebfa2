"""pytest plugin: a GC report per test, and GC budgets that fail a test.

Registered through the ``pytest11`` entry point, so pytest loads it whenever
gc_monitor is installed.  Loading it imports nothing from the C extension and
changes nothing: the extension is imported, and a test monitored, only when
``--gc-report`` or ``--gc-fail-on`` is given or the test carries a
``gc_budget`` marker.

What a test is charged for: the collections of its **call** phase only.
Fixture setup and teardown are left out, because a fixture's work lands on
whichever test happens to set it up first (a session fixture on the first test
of the session), which would make one test's figures depend on the order.

Each monitored test gets its own small recorder in ``gc.callbacks`` for the
duration of the call, so its figures are exact and its own.  Budgets are
turned into ``--fail-on`` rules and checked by the same C code as
``pygcprofiler run --fail-on``; this module only converts and displays.
Figures travel on the test report (``report.gc_monitor``), which pytest-xdist
sends from its workers, so ``-n 2`` reports every worker's tests.
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import pytest

# The marker's keywords and the rule each one becomes: (rule prefix, unit).
_MARKER_RULES = {
    "max_pause_ms": ("max>", "ms"),
    "p99_ms": ("p99>", "ms"),
    "max_collections": ("count>", ""),
    "max_share": ("share>", "%"),
}
# A monitored test keeps aggregates only; its ring of events stays tiny.
_RECORDER_OPTIONS = {"buffer_events": "16"}

_STATS_KEY = pytest.StashKey[dict[str, Any]]()
# The columns of the report's figures after the test's name, separators included.
_FIGURES_WIDTH = 2 + 11 + 2 + 11 + 2 + 4 + 2 + 11 + 2 + 11 + 2 + 11
# The mark after a test's name, and the space before it.
_MARK_WIDTH = 2
_PLUGIN_NAME = "gc_monitor_session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gc_monitor", "GC monitoring (pygcprofiler)")
    group.addoption(
        "--gc-report",
        action="store_true",
        default=False,
        help="print a table of each test's garbage collections (call phase), worst first",
    )
    group.addoption(
        "--gc-report-top",
        type=int,
        default=10,
        metavar="N",
        help="how many tests --gc-report lists (default: 10; 0 lists all)",
    )
    group.addoption(
        "--gc-fail-on",
        action="append",
        default=[],
        metavar="RULE",
        help="fail every test whose call breaks RULE, as 'pygcprofiler run --fail-on' "
        "reads it, e.g. 'max>50ms' (repeatable)",
    )


def _core() -> Any:
    # The extension, imported on first use only.
    from gc_monitor import _core as core

    return core


def _check_rule(text: str, origin: str) -> str:
    """Returns the canonical text of `text`, or raises UsageError naming `origin`."""
    try:
        return str(_core().parse_rule(text))
    except ValueError as err:
        hint = ""
        if origin.startswith("--") and not any(c in text for c in "<>=!"):
            # What an unquoted `--gc-fail-on max>50ms` leaves after the shell.
            hint = f"; quote the whole rule, as in {origin} 'max>50ms'"
        raise pytest.UsageError(f"{origin}: {err}{hint}") from None


def _marker_rules(marker: pytest.Mark) -> list[tuple[str, str]]:
    """Converts a gc_budget marker into (label, rule) pairs."""
    pairs: list[tuple[str, str]] = []
    for arg in marker.args:
        if not isinstance(arg, str):
            raise pytest.UsageError(
                f"gc_budget(): a positional budget must be a rule string, got {arg!r}"
            )
        pairs.append((arg, _check_rule(arg, "gc_budget()")))
    for name, value in marker.kwargs.items():
        if name not in _MARKER_RULES:
            known = ", ".join(_MARKER_RULES)
            raise pytest.UsageError(f"gc_budget() got an unknown budget {name!r} ({known})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise pytest.UsageError(f"gc_budget({name}=...) must be a number, got {value!r}")
        prefix, unit = _MARKER_RULES[name]
        rule = _check_rule(f"{prefix}{value!r}{unit}", f"gc_budget({name}={value!r})")
        pairs.append((f"{name}={value!r}", rule))
    return pairs


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gc_budget(*rules, max_pause_ms=None, p99_ms=None, max_collections=None, "
        "max_share=None): fail the test when its call phase exceeds a GC budget "
        "(max_share in percent of the call's wall time)",
    )
    # Rules are checked now, so a bad one stops the session before any test.
    rules = [(r, _check_rule(r, "--gc-fail-on")) for r in config.getoption("gc_fail_on") or []]
    config.pluginmanager.register(_Session(config, rules), _PLUGIN_NAME)


class _Session:
    """The hooks of one pytest session (or of one xdist worker's share of it)."""

    def __init__(self, config: pytest.Config, rules: list[tuple[str, str]]) -> None:
        self.report = bool(config.getoption("gc_report"))
        self.top = int(config.getoption("gc_report_top"))
        self.rules = rules
        self.is_worker = hasattr(config, "workerinput")
        self.results: list[tuple[str, dict[str, Any]]] = []

    def _item_rules(self, item: pytest.Item) -> list[tuple[str, str]]:
        pairs = list(self.rules)
        for marker in item.iter_markers("gc_budget"):
            pairs.extend(_marker_rules(marker))
        return pairs

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        try:
            rules = self._item_rules(item)
        except pytest.UsageError as err:
            # A bad marker fails its own test, with the reason, not the session.
            item.stash[_STATS_KEY] = {"error": str(err)}
            yield
            return
        if not self.report and not rules:
            yield
            return
        recorder = _core().Recorder(_RECORDER_OPTIONS)
        # gc.collect() through the wrapper that marks its collections as
        # explicit, so a test that calls it is told apart (src/ext/causes.c).
        _core().wrap_gc_collect()
        callback = recorder.callback
        gc.callbacks.append(callback)
        recorder.watch_gc_stats()
        try:
            yield
        finally:
            # Stopped while still in gc.callbacks: the count of collections it
            # missed is taken then, and a collection between the two steps
            # must not look missed.
            recorder.stop()
            try:
                gc.callbacks.remove(callback)
            except ValueError:  # the test replaced gc.callbacks itself
                pass
        snapshot = recorder.snapshot()
        broken = recorder.check_budgets([rule for _, rule in rules]) if rules else []
        labels = {rule: label for label, rule in rules}
        failures = [
            {"budget": labels.get(b["rule"], b["rule"]), "message": b["message"]} for b in broken
        ]
        missed = int(snapshot.get("missed_collections", 0))
        if missed and rules:
            # A budget checked on the collections we saw would pass a test
            # that hid the rest of them: no rule can be said to hold.
            seen = snapshot["count"]
            failures = [
                {
                    "budget": ", ".join(label for label, _ in rules),
                    "message": f"not checked: the test took the monitor out of gc.callbacks, "
                    f"so {missed} of its {seen + missed} collections were not recorded",
                }
            ]
        item.stash[_STATS_KEY] = {
            "count": snapshot["count"],
            "total_ms": snapshot["total_ms"],
            "max_ms": snapshot["max_ms"],
            "p99_ms": snapshot["p99_ms"],
            "full": snapshot["gen2"]["count"],
            "full_ms": snapshot["gen2"]["total_ms"],
            "explicit": snapshot["causes"]["explicit"]["count"],
            "missed": missed,
            "broken": failures,
        }

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        if call.when != "call":
            return
        stats: dict[str, Any] | None = item.stash.get(_STATS_KEY, None)
        if stats is None:
            return
        report: pytest.TestReport = outcome.get_result()
        if "error" in stats:
            report.outcome = "failed"
            report.longrepr = stats["error"]
            return
        # A plain dict of numbers: pytest-xdist carries it from the worker to
        # the controller with the rest of the report.
        report.gc_monitor = {  # type: ignore[attr-defined]
            key: stats[key]
            for key in ("count", "total_ms", "max_ms", "p99_ms", "full", "full_ms", "explicit")
        }
        if stats["broken"] and report.passed:
            # One whole line per budget: the short summary shows the first.
            lines = [f"GC budget exceeded: {b['budget']}: {b['message']}" for b in stats["broken"]]
            report.outcome = "failed"
            report.longrepr = "\n".join(lines)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        stats = getattr(report, "gc_monitor", None)
        if report.when == "call" and isinstance(stats, dict):
            self.results.append((report.nodeid, stats))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        # Workers send their reports to the controller, which prints them all.
        if not self.report or self.is_worker:
            return
        # Ranked by the GC time of young collections: a full collection walks
        # the whole session's heap, so the test that happens to trigger one
        # pays for every test before it.  Its full collections get their own
        # columns instead, so it is shown as such, not ranked as the culprit.
        rows = sorted(
            self.results,
            key=lambda r: (-(r[1]["total_ms"] - r[1].get("full_ms", 0.0)), -r[1]["count"], r[0]),
        )
        shown = rows if self.top <= 0 else rows[: self.top]
        tr = terminalreporter
        tr.write_sep(
            "=",
            f"GC report: {len(shown)} of {len(rows)} tests, most GC time outside full "
            "collections first",
        )
        # On a terminal, the test column takes what its width leaves (COLUMNS
        # included), at least 20 columns; a pipe or a log file gets whole node ids.
        longest = max([len("test"), *(len(nodeid) for nodeid, _ in shown)])
        width = longest
        if bool(getattr(tr, "isatty", False)):
            columns = int(getattr(getattr(tr, "_tw", None), "fullwidth", 80))
            width = max(20, min(longest, columns - 2 - _MARK_WIDTH - _FIGURES_WIDTH))
        tr.write_line(
            f"{'test':<{width}}{'':<{_MARK_WIDTH}}  {'collections':>11}  {'GC time':>11}  "
            f"{'full':>4}  {'full time':>11}  {'max pause':>11}  {'p99':>11}"
        )
        for nodeid, s in shown:
            # A test that called gc.collect() chose those collections itself.
            mark = " *" if s.get("explicit", 0) > 0 else ""
            tr.write_line(f"{_cut(nodeid, width):<{width}}{mark:<{_MARK_WIDTH}}  {_figures(s)}")
        total = {
            "count": sum(s["count"] for _, s in rows),
            "total_ms": sum(s["total_ms"] for _, s in rows),
            "full": sum(s.get("full", 0) for _, s in rows),
            "full_ms": sum(s.get("full_ms", 0.0) for _, s in rows),
            "max_ms": max([s["max_ms"] for _, s in rows], default=0.0),
            "p99_ms": None,
        }
        tr.write_line(
            f"{_cut(f'all {len(rows)} tests', width):<{width}}{'':<{_MARK_WIDTH}}  "
            f"{_figures(total)}"
        )
        marked = sum(1 for _, s in rows if s.get("explicit", 0) > 0)
        if marked:
            tr.write_line(
                f"* called gc.collect() itself ({marked} of {len(rows)} tests): those "
                "collections are the test's own choice"
            )


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` columns, its start replaced by '...' when longer."""
    return text if len(text) <= width else "..." + text[len(text) - width + 3 :]


def _figures(s: dict[str, Any]) -> str:
    """The figure columns of one row; the totals have no p99 ('-')."""
    p99 = "-" if s["p99_ms"] is None else f"{s['p99_ms']:.3f}ms"
    return (
        f"{s['count']:>11}  {s['total_ms']:>9.3f}ms  {s.get('full', 0):>4}  "
        f"{s.get('full_ms', 0.0):>9.3f}ms  {s['max_ms']:>9.3f}ms  {p99:>11}"
    )
