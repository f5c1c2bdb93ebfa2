"""Makes the pictures of docs/images/: `live`, the terminal flame graph and the HTML report.

Each command runs in a tmux pane of a fixed size, on a tmux server of its own
(its own socket, killed at the end), so that the program sees a real terminal
and colors its output as a user's terminal would show it.  The pane is read
back with `tmux capture-pane -e -p` (text and SGR escapes), turned into an HTML
page, and drawn to a PNG by headless chromium.

    python tools/docs_screenshots.py [--out docs/images]

Run it with the interpreter of a venv where pygcprofiler is installed: the
launcher next to that interpreter is the one pictured.  Needs tmux and
chromium (Debian packages 'tmux' and 'chromium').
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The program pictured: reference cycles for the collector, and lists kept for
# a while so that older generations collect too.  It runs for SECONDS.
WORKLOAD = """\
import sys
import time


class Node:
    def __init__(self):
        self.me = self


keep = []
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for _ in range(1000):
        Node()
    keep.append([[] for _ in range(50)])
    if len(keep) > 3000:
        keep = keep[1500:]
"""

# xterm's 16 colors, for SGR 30-37 / 90-97 and 40-47 / 100-107.
PALETTE = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]  # fmt: skip
FOREGROUND = "#e5e5e5"
BACKGROUND = "#1e1e1e"
SGR = re.compile(r"\x1b\[([0-9;]*)m")
# A character cell of the page's font, in CSS pixels.
CELL_W, CELL_H = 8.4, 17


def rgb(r: int, g: int, b: int) -> str:
    return f"#{r:02x}{g:02x}{b:02x}"


def color256(n: int) -> str:
    """The xterm color of 256-color index n."""
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return rgb(steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return rgb(level, level, level)


class Style:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = False
        self.dim = False
        self.reverse = False

    def apply(self, params: str) -> None:
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37 or 90 <= c <= 97:
                self.fg = PALETTE[c - 30 if c < 90 else c - 82]
            elif 40 <= c <= 47 or 100 <= c <= 107:
                self.bg = PALETTE[c - 40 if c < 100 else c - 92]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                # 38;5;N or 38;2;R;G;B (and 48 for the background).
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value = color256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value = rgb(codes[i + 2], codes[i + 3], codes[i + 4])
                    i += 4
                else:
                    value = None
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
            i += 1

    def css(self) -> str:
        fg, bg = self.fg or FOREGROUND, self.bg or BACKGROUND
        if self.reverse:
            fg, bg = bg, fg
        parts = [f"color:{fg}"]
        if bg != BACKGROUND:
            parts.append(f"background:{bg}")
        if self.bold:
            parts.append("font-weight:bold")
        if self.dim:
            parts.append("opacity:0.7")
        return ";".join(parts)


def ansi_to_html(text: str) -> str:
    """The lines of a captured pane as HTML spans, one style per run of text."""
    style = Style()
    out = []
    for line in text.split("\n"):
        pos = 0
        for match in SGR.finditer(line):
            chunk = line[pos : match.start()]
            if chunk:
                out.append(f'<span style="{style.css()}">{html.escape(chunk)}</span>')
            style.apply(match.group(1))
            pos = match.end()
        chunk = line[pos:]
        if chunk:
            out.append(f'<span style="{style.css()}">{html.escape(chunk)}</span>')
        out.append("\n")
    return "".join(out)


def page(text: str) -> str:
    return (
        "<!doctype html><meta charset=utf-8><style>"
        f"body{{margin:0;background:{BACKGROUND}}}"
        f"pre{{margin:0;padding:12px;font:14px/{CELL_H}px 'DejaVu Sans Mono',monospace;"
        f"color:{FOREGROUND}}}</style><pre>{ansi_to_html(text)}</pre>"
    )


def render(text: str, columns: int, png: Path, work: Path) -> None:
    """Draws captured pane text to png with headless chromium."""
    source = work / (png.stem + ".html")
    source.write_text(page(text), encoding="utf-8")
    rows = text.count("\n") + 1
    size = f"{int(columns * CELL_W) + 24},{int(rows * CELL_H) + 24}"
    subprocess.run(
        [
            shutil.which("chromium") or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'chromium'}",
            f"--window-size={size}",
            f"--screenshot={png}",
            source.as_uri(),
        ],
        env={**os.environ, "HOME": str(work)},
        check=True,
        capture_output=True,
        timeout=120,
    )


class Tmux:
    """A tmux server on a socket of its own, so that no user's session is touched."""

    def __init__(self, work: Path) -> None:
        self.socket = str(work / "tmux.sock")

    def __call__(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True
        )
        return proc.stdout

    def start(self, name: str, columns: int, rows: int, command: str, cwd: Path) -> None:
        self("new-session", "-d", "-s", name, "-x", str(columns), "-y", str(rows), "-c", str(cwd),
             command)  # fmt: skip

    def capture(self, name: str) -> str:
        # -J joins wrapped lines; -S - starts at the top of the history.
        return self("capture-pane", "-e", "-p", "-J", "-S", "-", "-t", name)

    def stop(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


def wait_for(tmux: Tmux, name: str, needle: str, seconds: float) -> str:
    """The pane's text once it contains needle; fails after seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = tmux.capture(name)
        if needle in text:
            return text
        time.sleep(0.2)
    raise SystemExit(f"error: '{needle}' never appeared in the {name} pane:\n{text}")


def shoot_live(tmux: Tmux, bindir: Path, work: Path, out: Path) -> None:
    # The program records into a capture; live reads it in a 100x24 terminal.
    program = subprocess.Popen(
        [str(bindir / "pygcprofiler"), "run", "--stats-only", "-o", "gc.capture",
         "workload.py", "20"],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        tmux.start("live", 100, 24, f"{bindir / 'pygcprofiler'} live gc.capture", work)
        wait_for(tmux, "live", "q quits", 30)
        # A few refreshes, so that the interval figures are filled in.
        time.sleep(6)
        text = tmux("capture-pane", "-e", "-p", "-t", "live").rstrip("\n")
        render(text, 100, out / "live.png", work)
    finally:
        program.terminate()
        program.wait(timeout=60)


def shoot_flamegraph(tmux: Tmux, bindir: Path, work: Path, out: Path) -> None:
    command = (
        f"{bindir / 'pygcprofiler'} run --stats-only --terminal-flamegraph "
        "--terminal-flamegraph-color --flamegraph-bucket 0.5 workload.py 4; sleep 600"
    )
    tmux.start("flame", 100, 60, command, work)
    text = wait_for(tmux, "flame", "full bar =", 120)
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if "GC time per" in line)
    last = next(i for i, line in enumerate(lines) if "full bar =" in line)
    render("\n".join(lines[first : last + 1]), 80, out / "flamegraph.png", work)


def shoot_html(bindir: Path, work: Path, out: Path) -> None:
    """The page of `run --html-file` (with --stacks where the interpreter
    allows it, for the triggers and their flame graph), drawn whole."""
    page = work / "report.html"
    stacks = ["--stacks"] if sys.version_info < (3, 14) else []
    subprocess.run(
        [bindir / "pygcprofiler", "run", *stacks, "--stats-only", "--html-file", page]
        + ["workload.py", "3"],
        cwd=work,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [
            shutil.which("chromium") or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'chromium'}",
            "--window-size=1200,3000",
            "--virtual-time-budget=5000",
            f"--screenshot={out / 'html-report.png'}",
            page.as_uri(),
        ],
        env={**os.environ, "HOME": str(work)},
        check=True,
        capture_output=True,
        timeout=120,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    if not (bindir / "pygcprofiler").exists():
        print(f"error: no pygcprofiler next to '{sys.executable}'", file=sys.stderr)
        return 2
    for tool in ("tmux", "chromium"):
        if shutil.which(tool) is None:
            print(f"error: '{tool}' is not installed", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gcm-shots-") as tmp:
        work = Path(tmp)
        (work / "workload.py").write_text(WORKLOAD)
        tmux = Tmux(work)
        try:
            shoot_live(tmux, bindir, work, args.out.resolve())
            shoot_flamegraph(tmux, bindir, work, args.out.resolve())
            shoot_html(bindir, work, args.out.resolve())
        finally:
            tmux.stop()
    names = ", ".join(str(args.out / n) for n in ("live.png", "flamegraph.png", "html-report.png"))
    print(f"wrote {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
