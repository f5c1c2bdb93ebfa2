"""What watching a CPython 3.15 process from outside costs it (docs/performance.md).

`pygcprofiler live PID` on a process that was not started under pygcprofiler
reads its collector from outside (gc_monitor/_remote.py, polling
_remote_debugging every millisecond); nothing runs in the process.  This
script runs benchmarks/workload.py with a plain python3.15, in interleaved
rounds, once unwatched and once watched by `live --plain --interval 0.05`
(attached before the timed loop starts), and prints the ratio of the loop's
wall and CPU times, watched over unwatched, with what the watch saw: the
collections counted against the workload's own, and the pauses it missed.

    python3 benchmarks/remote.py [--python315 PATH] [--rounds 12]

The launcher is the one installed next to this interpreter (a venv's bin/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

WORKLOAD = Path(__file__).resolve().parent / "workload.py"
# The same gen0 threshold as run.py's overhead rounds: tens of thousands of
# collections a second, far more than the reader's polls can see one by one.
THRESHOLD0 = 200
INTERVAL = "0.05"


def default_python315() -> str | None:
    for candidate in ("/var/cache/pygcprofiler/xpy/bin/python3.15", shutil.which("python3.15")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_once(python: str, launcher: str | None, iterations: int, tmp: Path) -> dict[str, Any]:
    """One workload run; watched by `live` when `launcher` is given."""
    go = tmp / "go"
    go.unlink(missing_ok=True)
    argv = [python, str(WORKLOAD), "--iterations", str(iterations),
            "--threshold0", str(THRESHOLD0), "--wait-for", str(go)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    watcher = None
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "waiting":
            raise RuntimeError("the workload did not start")
        if launcher is not None:
            watcher = subprocess.Popen(
                [launcher, "live", "--plain", "--interval", INTERVAL, str(proc.pid)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert watcher.stdout is not None
            if not watcher.stdout.readline():
                raise RuntimeError("live: " + (watcher.stderr.read() if watcher.stderr else ""))
        go.touch()
        out = proc.stdout.read()
        proc.wait()
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        if watcher is not None:
            rest, err = watcher.communicate(timeout=60)
            if watcher.returncode != 0:
                raise RuntimeError(f"live exited {watcher.returncode}: {err.strip()[-300:]}")
            last = dict(t.split("=", 1) for t in rest.strip().splitlines()[-1].split())
            result["seen"] = int(last["collections"])
            result["missed"] = int(last["missed_pauses"])
        return result
    finally:
        for p in (proc, watcher):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--python315", default=default_python315(), help="the plain CPython 3.15")
    p.add_argument("--rounds", type=int, default=12, help="interleaved pairs of runs")
    p.add_argument("--iterations", type=int, default=1_500_000,
                   help="workload loop length in cycles built")
    args = p.parse_args()
    if args.python315 is None:
        print("no python3.15 found: pass --python315 PATH", file=sys.stderr)
        return 2
    launcher = Path(sysconfig.get_path("scripts")) / "pygcprofiler"
    if not os.access(launcher, os.X_OK):
        print(f"no launcher at {launcher}: pip install . first", file=sys.stderr)
        return 2
    version = subprocess.run([args.python315, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print("pygcprofiler: a CPython 3.15 process watched from outside")
    print(f"   machine: {os.cpu_count()} CPUs, {platform.machine()}, "
          f"load {os.getloadavg()[0]:.2f} at start")
    print(f"   python:  CPython {version} ({args.python315}), plain: never started under us")
    print(f"   command: python benchmarks/remote.py {' '.join(sys.argv[1:])}".rstrip())
    wall: list[float] = []
    cpu: list[float] = []
    seen: list[int] = []
    missed: list[int] = []
    counted: list[int] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        for r in range(args.rounds):
            # Alternate which of the pair runs first.
            order = [None, str(launcher)] if r % 2 == 0 else [str(launcher), None]
            runs = {w is not None: run_once(args.python315, w, args.iterations, Path(d))
                    for w in order}
            plain, watched = runs[False], runs[True]
            wall.append(watched["elapsed_s"] / plain["elapsed_s"])
            cpu.append(watched["cpu_s"] / plain["cpu_s"])
            counted.append(sum(watched["collections"]))
            seen.append(watched["seen"])
            missed.append(watched["missed"])
            print(f"   round {r + 1}: wall {wall[-1]:.3f}, CPU {cpu[-1]:.3f}", file=sys.stderr)
    print("7. WATCHED FROM OUTSIDE: plain python3.15 watched by `live --plain --interval "
          f"{INTERVAL} PID` against unwatched")
    print(f"   loop wall, watched / unwatched: {statistics.median(wall):.3f} "
          f"[{min(wall):.3f}, {max(wall):.3f}]   CPU: {statistics.median(cpu):.3f} "
          f"[{min(cpu):.3f}, {max(cpu):.3f}]   ({len(wall)} rounds)")
    exact = sum(1 for a, b in zip(seen, counted) if a >= b)
    print(f"   collections per watched run: {statistics.median(counted):,.0f} (the workload's "
          f"own count); live counted at least those in {exact} of {len(seen)} runs; pauses "
          f"missed between polls: median {statistics.median(missed):,.0f} "
          f"({100.0 * statistics.median(missed) / max(statistics.median(counted), 1):.1f}%)")
    print(f"total benchmark time: {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
