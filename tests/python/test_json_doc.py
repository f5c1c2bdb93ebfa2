"""docs/json.md against the JSON the program writes, key for key.

One run makes every line type of an exit report (a threshold of 0 makes
alerts, --fail-on a budget, the three diagnostics their objects), and one
forking run recorded with -o makes the capture and tree objects of `report`.
Each type's keys must be exactly those of its table in json.md, less the
rows that say they are present only sometimes; nested keys are checked as
the table names them (`rules[].op`, `processes[].pid`, `totals.share`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from gcm_testing import launcher, run, write_script

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
SECTION = re.compile(r"^## `(\w+)`$", re.M)
ROW = re.compile(r"^\| ((?:`[\w.\[\]]+`(?:, )?)+) \|(.*)$")
NESTED = {"budget": ["rules"], "tree": ["processes", "totals"]}

WORKLOAD = """\
import gc, os
class Node:
    pass
for _ in range(3):
    a = Node(); b = Node(); a.b = b; b.a = a
    del a, b
    gc.collect()
pid = os.fork()
if pid == 0:
    gc.collect()
else:
    os.waitpid(pid, 0)
"""


def documented() -> dict[str, tuple[set[str], set[str]]]:
    """Each type's keys in json.md: (every key, the keys present only sometimes)."""
    text = DOC.read_text()
    parts = SECTION.split(text)
    tables: dict[str, tuple[set[str], set[str]]] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        keys: set[str] = set()
        optional: set[str] = set()
        for line in body.splitlines():
            match = ROW.match(line)
            if not match:
                continue
            names = set(re.findall(r"`([\w.\[\]]+)`", match.group(1)))
            keys |= names
            # "present only when ...", "CPython 3.15+ only: ...".
            if re.search(r"present only|\+ only", match.group(2)):
                optional |= names
        tables[name] = (keys, optional)
    return tables


def emitted_keys(obj: dict[str, object], kind: str) -> set[str]:
    keys = set(obj)
    for field in NESTED.get(kind, []):
        value = obj[field]
        items = value if isinstance(value, list) else [value]
        sep = "[]." if isinstance(value, list) else "."
        for item in items:
            assert isinstance(item, dict)
            keys |= {f"{field}{sep}{key}" for key in item}
    return keys


def objects(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_md_describes_every_key_the_program_writes(tmp_path: Path) -> None:
    script = write_script(tmp_path, WORKLOAD)
    options = ["--json", "--alert-threshold-ms", "0", "--dump-objects", "--dump-garbage"]
    options += ["--prompt", "--fail-on", "count>0", "--log-file", "gc.jsonl", "-o", "cap"]
    proc = run([launcher(), "run", *options, script], tmp_path)
    assert proc.returncode == 3, proc.stderr
    lines = objects((tmp_path / "gc.jsonl").read_text())
    captures = sorted(str(p.name) for p in tmp_path.glob("cap*"))
    assert len(captures) == 2, captures
    merged = run([launcher(), "report", "--json", *captures], tmp_path)
    assert merged.returncode == 0, merged.stderr
    lines += objects(merged.stdout)

    tables = documented()
    seen: dict[str, set[str]] = {}
    for obj in lines:
        kind = str(obj["type"])
        seen.setdefault(kind, set()).update(emitted_keys(obj, kind))
    expected_types = {"start", "event", "alert", "timeline", "advice", "objects", "garbage"}
    expected_types |= {"prompt", "budget", "summary", "capture", "tree"}
    assert expected_types <= set(seen), sorted(seen)
    assert set(seen) <= set(tables), sorted(set(seen) - set(tables))
    for kind, keys in seen.items():
        doc_keys, optional = tables[kind]
        assert keys - doc_keys == set(), (kind, "written but not in json.md")
        assert doc_keys - keys - optional == set(), (kind, "in json.md but not written")


def test_tree_and_capture_numbers_are_rounded(tmp_path: Path) -> None:
    # json.md: durations to the microsecond, shares to three decimals, Unix
    # times to six decimals, in every object.
    script = write_script(tmp_path, WORKLOAD)
    proc = run([launcher(), "run", "-o", "cap", script], tmp_path)
    assert proc.returncode == 0, proc.stderr
    captures = sorted(str(p.name) for p in tmp_path.glob("cap*"))
    merged = run([launcher(), "report", "--json", *captures], tmp_path)
    assert merged.returncode == 0, merged.stderr
    numbers = re.findall(r'"(\w+)":(-?\d+\.\d+)', merged.stdout)
    assert numbers
    for key, number in numbers:
        decimals = len(number.split(".")[1])
        limit = 6 if key.endswith("_ts") or key == "ts" else 3
        assert decimals <= limit, (key, number)
