"""Reports call cycles between the C files of a build (docs/architecture.md).

Each object file's defined and undefined symbols (nm) give an edge from the
file that calls to the file that defines; a cycle of two or more files means
two files that cannot be read, or changed, one without the other.

Usage: python3 tools/file_cycles.py BUILD_DIR...  (exit status 1 on a cycle)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def nm(obj: Path, which: str) -> list[list[str]]:
    out = subprocess.run(["nm", which, str(obj)], capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


def symbols(obj: Path) -> tuple[set[str], set[str]]:
    # Code and data that another file can reach: T, D, B and R (global ones).
    defined = {row[-1] for row in nm(obj, "--defined-only") if len(row) == 3 and row[1] in "TDBR"}
    used = {row[-1] for row in nm(obj, "--undefined-only")}
    return defined, used


def cycles(objs: list[Path]) -> list[list[str]]:
    owner: dict[str, str] = {}
    uses: dict[str, set[str]] = {}
    for obj in objs:
        name = "/".join(obj.parts[-2:]).removesuffix(".o")
        defined, used = symbols(obj)
        for sym in defined:
            owner[sym] = name
        uses[name] = used
    graph = {
        f: {owner[s] for s in used if s in owner and owner[s] != f} for f, used in uses.items()
    }
    # Tarjan's strongly connected components: any with two or more files is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def main(argv: list[str]) -> int:
    status = 0
    for build in argv:
        for target in sorted(Path(build).glob("CMakeFiles/*.dir")):
            objs = sorted(target.rglob("*.o"))
            if not objs:
                continue
            for component in cycles(objs):
                print(f"{target.name}: call cycle between {', '.join(component)}")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
