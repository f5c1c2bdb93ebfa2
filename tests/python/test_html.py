"""The self-contained HTML report (--html-file), as users make and open it.

Every case runs the installed launcher on a real script in a subprocess:
`run --html-file` at exit, `report --html-file` from a capture (of an exited
run, and of a run killed by SIGKILL).  The page is parsed: its embedded data
must be the report's own figures (the same summary object `report --json`
writes), its timeline must keep every pause above the p99 and state how many
it shows, and nothing in it may reach a network.  When Debian's `chromium` is
installed, the page is opened headless: its scripts must run without a
console error and build the charts, and a screenshot is left in the test's
directory for a person to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from gcm_testing import captures, clean_env, launcher, summaries, tool_env

HANG = 120.0

# Explicit collections of every generation, and young ones from allocation.
WORKLOAD = """\
import gc
keep = []
for i in range(3000):
    keep.append([[] for _ in range(4)])
    if i % 100 == 0:
        gc.collect(i // 100 % 3)
"""

# The largest timeline the page draws (src/report/html.c, HTML_POINTS_MAX).
POINTS_MAX = 20000


def launch(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [launcher(), *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=HANG,
        stdin=subprocess.DEVNULL,
    )


class Page(HTMLParser):
    """The parts of a page the tests read: tags, attributes, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def parse(path: Path) -> tuple[Page, dict[str, Any]]:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    data = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    assert len(data) == 1, "one embedded data element"
    return page, json.loads(data[0])


def assert_offline(path: Path, page: Page) -> None:
    """A CSP that forbids every request, and nothing that would make one."""
    metas = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(metas) == 1, "one Content-Security-Policy meta tag"
    policy = {
        d.split()[0]: d.split()[1:] for d in (metas[0]["content"] or "").split(";") if d.strip()
    }
    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'none'"]
    for directive, sources in policy.items():
        for source in sources:
            assert "://" not in source and source not in ("*", "http:", "https:"), (
                directive,
                source,
            )
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), tag
        for name in ("src", "href", "action", "srcset"):
            assert name not in attrs, (tag, attrs)
    text = path.read_text(encoding="utf-8")
    # The only URL is the SVG namespace, a name that is never fetched.
    urls = re.findall(r"https?://[^\s'\"<>)]*", text)
    assert set(urls) <= {"http://www.w3.org/2000/svg"}, urls


def json_summary(capture: Path, cwd: Path) -> dict[str, Any]:
    proc = launch("report", "--json", "--stats-only", capture, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    found = summaries(proc.stdout)
    assert len(found) == 1, proc.stdout
    return next(iter(found.values()))


def assert_consistent(data: dict[str, Any]) -> None:
    """The charts' data agrees with the summary it came with."""
    summary, events, hist = data["summary"], data["events"], data["histogram"]
    shown = len(events["t"])
    assert shown == events["shown"]
    assert all(len(events[k]) == shown for k in ("d", "g", "c", "u"))
    assert events["retained"] == min(summary["count"], events["retained"])
    assert shown <= max(POINTS_MAX, events["above_p99"])
    # Every pause above the p99's histogram bucket is drawn, however many
    # were sampled away, and they are at most 1% of all.
    assert events["tail_ms"] >= events["p99_ms"]
    assert events["above_p99"] <= summary["count"] // 100
    assert sum(1 for d in events["d"] if d > events["tail_ms"]) == events["above_p99"]
    assert events["t"] == sorted(events["t"])
    for g in range(3):
        # The histogram holds every pause of the generation, not a sample.
        assert sum(c for _, c in hist[f"gen{g}"]) == summary[f"gen{g}"]["count"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A run with -o and --html-file: its capture and the page it wrote at exit."""
    directory = tmp_path_factory.mktemp("html")
    (directory / "work.py").write_text(WORKLOAD)
    proc = launch(
        "run", "--stats-only", "-o", "run.gcm", "--html-file", "gc.html", "work.py", cwd=directory
    )
    assert proc.returncode == 0, proc.stderr
    return directory / "run.gcm", directory / "gc.html"


def test_run_writes_a_private_self_contained_page(recorded: tuple[Path, Path]) -> None:
    capture, html = recorded
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    page, data = parse(html)
    assert_offline(html, page)
    assert_consistent(data)
    assert data["summary"]["type"] == "summary"
    assert data["summary"]["count"] == data["events"]["retained"] > 0
    # The run's page holds every collection of the capture it recorded.
    assert data["summary"]["count"] == json_summary(capture, capture.parent)["count"]


def test_report_page_holds_the_reports_figures(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    capture, _ = recorded
    html = tmp_path / "report.html"
    proc = launch("report", "--stats-only", "--html-file", html, capture, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "GC MONITORING SUMMARY" in proc.stdout
    page, data = parse(html)
    assert_offline(html, page)
    assert_consistent(data)
    assert data["summary"] == json_summary(capture, tmp_path)
    # The page leads with the verdict that the report gives (its JSON line).
    proc = launch("report", "--json", "--stats-only", capture, cwd=tmp_path)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    (verdict,) = [x for x in lines if x.get("type") == "verdict"]
    assert data["verdict"] == verdict
    assert stat.S_IMODE(html.stat().st_mode) == 0o600


def test_a_long_run_is_sampled_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text("import gc\nfor i in range(30000):\n    gc.collect(0)\n")
    proc = launch(
        "run", "--json", "--stats-only", "--html-file", "gc.html", "many.py", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    _, data = parse(tmp_path / "gc.html")
    # The page and the exit report are rendered from the same final snapshot.
    assert [data["summary"]] == list(summaries(proc.stderr).values())
    assert_consistent(data)
    events = data["events"]
    assert events["retained"] >= 30000
    assert events["above_p99"] <= events["shown"] <= POINTS_MAX
    assert events["shown"] < events["retained"]


def test_report_of_a_capture_after_sigkill(tmp_path: Path) -> None:
    (tmp_path / "killed.py").write_text(
        WORKLOAD + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = launch("run", "-o", "run.gcm", "killed.py", cwd=tmp_path)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    proc = launch("report", "--stats-only", "--html-file", "gc.html", "run.gcm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page, data = parse(tmp_path / "gc.html")
    assert_offline(tmp_path / "gc.html", page)
    assert_consistent(data)
    assert data["summary"] == json_summary(tmp_path / "run.gcm", tmp_path)
    assert data["summary"]["count"] > 0


TREE = (
    WORKLOAD
    + """\
import subprocess, sys
if len(sys.argv) == 1:
    for _ in range(2):
        subprocess.run([sys.executable, __file__, "child"], check=True)
"""
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], Path]:
    """A process tree of three (--follow-children): its captures, and the
    page `report --html-file` made of them."""
    directory = tmp_path_factory.mktemp("tree")
    (directory / "tree.py").write_text(TREE)
    proc = launch("run", "--follow-children", "--stats-only", "-o", "cap", "tree.py", cwd=directory)
    assert proc.returncode == 0, proc.stderr
    files = captures(directory)
    assert len(files) == 3, files
    proc = launch("report", "--stats-only", "--html-file", "tree.html", *files, cwd=directory)
    assert proc.returncode == 0, proc.stderr
    # The text report is the tree's as ever: the table, then each process.
    assert proc.stdout.count("=== GC MONITORING SUMMARY ===") == 3
    return directory, files, directory / "tree.html"


def test_report_page_of_a_tree(tree: tuple[Path, list[str], Path]) -> None:
    directory, files, html = tree
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    page, data = parse(html)
    assert_offline(html, page)
    proc = launch("report", "--json", "--stats-only", *files, cwd=directory)
    assert proc.returncode == 0, proc.stderr
    by_pid = summaries(proc.stdout)
    processes = data["processes"]
    assert [p["pid"] for p in processes][0] == processes[1]["ppid"] == processes[2]["ppid"]
    assert {p["pid"] for p in processes} == set(by_pid)
    for p in processes:
        # Each process's data is its own report's, as for one capture.
        assert p["summary"] == by_pid[p["pid"]]
        assert_consistent(p)
    # The children's points are on the parent's clock: after its start.
    assert processes[0]["offset_s"] == 0
    assert 0 < processes[1]["offset_s"] < processes[2]["offset_s"]
    assert processes[1]["events"]["t"][0] >= processes[1]["offset_s"]
    # All of them together: counts and times added, histograms summed.
    everything = data["all"]["summary"]
    assert everything["count"] == sum(s["count"] for s in by_pid.values())
    assert abs(everything["total_ms"] - sum(s["total_ms"] for s in by_pid.values())) < 0.003
    assert everything["max_ms"] == max(s["max_ms"] for s in by_pid.values())
    for g in range(3):
        assert sum(c for _, c in data["all"]["histogram"][f"gen{g}"]) == sum(
            s[f"gen{g}"]["count"] for s in by_pid.values()
        )
    assert 0 <= data["worst"] < 3


def test_chromium_renders_a_tree_and_each_process(
    tree: tuple[Path, list[str], Path], tmp_path: Path
) -> None:
    html = tmp_path / "tree.html"
    html.write_bytes(tree[2].read_bytes())
    _, data = parse(html)
    processes = data["processes"]
    proc = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = proc.stdout
    assert 'data-rendered="1"' in dom and 'data-selected="all"' in dom
    assert '<section id="tree">' in dom, "the process table is shown"
    rows = re.findall(r'<tr data-pid="(\d+)" class="proc[^"]*">', dom)
    assert rows == [str(p["pid"]) for p in processes]
    assert dom.count("<option value=") == 4
    total = sum(p["summary"]["count"] for p in processes)
    assert f'<div class="kpi">collections<b>{total:,}</b></div>' in dom
    assert "worst GC verdict, pid " in dom
    assert f"retained collections of {len(processes)} processes" in dom
    # A process chosen (the page reads #pid=N): its own figures and charts.
    child = processes[2]
    proc = chromium(
        tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri() + f"#pid={child['pid']}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-selected="2"' in dom
    assert f'<tr data-pid="{child["pid"]}" class="proc sel">' in dom
    assert f'<div class="kpi">collections<b>{child["summary"]["count"]:,}</b></div>' in dom
    assert f"pid {child['pid']} (parent {child['ppid']})" in dom
    assert re.search(r'id="verdict">GC verdict: [A-Z ]+ \(', dom)
    shot = chromium(
        tmp_path, "--window-size=1200,1600", f"--screenshot={tmp_path / 'tree.png'}", html.as_uri()
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "tree.png").stat().st_size > 0
    print(f"screenshot: {tmp_path / 'tree.png'}")


def test_report_never_writes_its_page_over_the_capture(
    recorded: tuple[Path, Path], tmp_path: Path
) -> None:
    capture, _ = recorded
    copy = tmp_path / "copy.gcm"
    copy.write_bytes(capture.read_bytes())
    proc = launch("report", "--html-file", copy, copy, cwd=tmp_path)
    assert proc.returncode == 2
    assert "is the capture being read" in proc.stderr
    assert copy.read_bytes() == capture.read_bytes()


def test_the_page_script_is_valid_javascript(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    page, _ = parse(recorded[1])
    code = [text for attrs, text in page.scripts if "type" not in attrs]
    assert len(code) == 1
    (tmp_path / "page.js").write_text(code[0])
    proc = subprocess.run(
        [node, "--check", "page.js"], cwd=tmp_path, capture_output=True, text=True, timeout=HANG
    )
    assert proc.returncode == 0, proc.stderr


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        cwd=tmp_path,
        env={**tool_env(), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=HANG,
    )


def test_chromium_renders_the_page(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    html = tmp_path / "gc.html"
    html.write_bytes(recorded[1].read_bytes())
    proc = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    # The script ran to its end and built every part.
    assert 'data-rendered="1"' in dom
    assert re.search(r'<div class="kpi">collections<b>[\d,]+</b></div>', dom), dom[:2000]
    assert re.search(r'<p class="verdict [a-z-]+" id="verdict">GC verdict: [A-Z ]+ \(', dom)
    for g in (0, 1, 2):
        assert f'id="hist-gen{g}"' in dom
    assert dom.count('class="pct"') == 3 * 5
    assert "showing all" in dom
    shot = chromium(
        tmp_path, "--window-size=1200,1400", f"--screenshot={tmp_path / 'gc.png'}", html.as_uri()
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "gc.png").stat().st_size > 0
    print(f"screenshot: {tmp_path / 'gc.png'}")


def test_chromium_attempts_no_request(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    html = tmp_path / "gc.html"
    html.write_bytes(recorded[1].read_bytes())
    proc = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri())
    assert proc.returncode == 0
    assert [line for line in proc.stderr.splitlines() if ":CONSOLE" in line] == []
    # The same page with a request added: the policy refuses it, and says so
    # on the console, which is how the check above would see one of ours.
    tampered = tmp_path / "tampered.html"
    text = html.read_text(encoding="utf-8")
    tampered.write_text(
        text.replace("</body>", "<script>fetch('http://127.0.0.1:9/x')</script></body>")
    )
    proc = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", tampered.as_uri())
    assert proc.returncode == 0
    refused = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert any("Content Security Policy" in line for line in refused), proc.stderr[-2000:]


# Collections at known lines: gc.collect() in one function, cycles in another.
TRIGGERS = """\
import gc

def explicit():
    for _ in range(6):
        gc.collect()

def cycles():
    for _ in range(200_000):
        a = []
        a.append(a)

explicit()
cycles()
"""


@pytest.mark.skipif(sys.version_info >= (3, 16), reason="--stacks is refused on this version")
def test_the_page_shows_the_top_triggers_and_a_flame_graph_of_their_stacks(tmp_path: Path) -> None:
    script = tmp_path / "triggers.py"
    script.write_text(TRIGGERS)
    html = tmp_path / "gc.html"
    proc = launch(
        "run", "--stacks", "--json", "--stats-only", "--html-file", html, script, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    (want,) = [
        json.loads(x) for x in proc.stderr.splitlines() if x.startswith('{"type":"triggers"')
    ]
    _, data = parse(html)
    # The report's own triggers object, and a flame graph whose stacks add up
    # to every pause the table holds.
    assert data["triggers"] == want
    rows = {(r["function"], r["line"]): r for r in data["triggers"]["triggers"]}
    assert rows[("explicit", 5)]["count"] == 6
    flame_ns = sum(stack[0] for stack in data["flame"])
    table_ms = sum(r["total_ms"] for r in want["triggers"]) + (
        want["other"]["total_ms"] if want["other"] else 0
    )
    assert abs(flame_ns / 1e6 - table_ms) < 0.001 * (len(data["flame"]) + 1)
    # Outermost first, and the launcher's own frames left out: the program's
    # <module> starts every stack of its code.
    ours = [s for s in data["flame"] if any(str(script) in frame for frame in s[1:])]
    assert ours and all(s[1].startswith(f"<module> ({script}:") for s in ours)
    assert any(s[-1] == f"explicit ({script}:5)" for s in ours)
    assert not any("_bootstrap.py" in frame for s in ours for frame in s[1:])
    # Drawn: the table's rows and the graph's boxes, after the scripts ran.
    page = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri())
    assert page.returncode == 0, page.stderr[-2000:]
    assert [line for line in page.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = page.stdout
    assert '<section id="trig">' in dom, "the triggers section is shown"
    assert f"<td>{script}:5 in explicit</td>" in dom
    flame = dom[dom.index('id="flame"') :]
    assert flame.count("<rect") >= len(ours)
    assert f"explicit ({script}:5)" in flame


def test_the_page_gives_the_reports_advice(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    _, html = recorded
    _, data = parse(html)
    assert data["advice"], "this workload gets advice (explicit collections at least)"
    assert all({"severity", "rule", "message"} <= set(a) for a in data["advice"])
    assert "triggers" not in data and "flame" not in data, "no --stacks, no triggers"
    page = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", html.as_uri())
    assert page.returncode == 0, page.stderr[-2000:]
    dom = page.stdout
    assert '<section id="trig" hidden="">' in dom
    advice = dom[dom.index('id="advice"') :]
    assert advice.count('<div class="adv ') == len(data["advice"])
    first = data["advice"][0]
    assert f"<b>{first['severity']}: </b>" in advice
