"""The example commands of README.md and docs/ print what the pages show.

A page marks an example whose output is deterministic with an HTML comment on
the line before its code block, which neither GitHub nor the docs site shows:

    <!-- doc-test -->                 the whole output, line for line
    <!-- doc-test excerpt -->         the lines shown appear, in one run, in the output
    <!-- doc-test exit=2 -->          and the last command exits with status 2

Inside the block, a line starting with "$ " is a command, and the lines after
it, up to the next command, are what it prints (stdout and stderr together, as
a terminal shows them).  The commands run in order, through bash, in an empty
temporary directory, with this interpreter's scripts directory first on PATH:
`pygcprofiler` and `python` are the launcher and the interpreter under test,
never others found on PATH.  Every command but the last must exit 0.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from gcm_testing import TIMEOUT, clean_env, launcher_path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- doc-test((?: [\w=]+)*) -->$")
FENCE = re.compile(r"^```")


@dataclass
class Example:
    # "docs/cli.md:107": the page and the line of its marker.
    page: str
    excerpt: bool
    exit_status: int
    # (command, the lines the page shows it printing), in order.
    steps: list[tuple[str, list[str]]]

    @property
    def name(self) -> str:
        return self.page


def parse(page: Path, name: str) -> list[Example]:
    """Every marked example of one page (called `name` in failures); a marker
    not followed by a code block fails."""
    lines = page.read_text(encoding="utf-8").splitlines()
    examples = []
    for i, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        words = match.group(1).split()
        where = f"{name}:{i + 1}"
        assert i + 1 < len(lines) and FENCE.match(lines[i + 1]), f"{where}: no code block follows"
        body = []
        for j in range(i + 2, len(lines)):
            if FENCE.match(lines[j]):
                break
            body.append(lines[j])
        else:
            raise AssertionError(f"{where}: the code block never ends")
        steps: list[tuple[str, list[str]]] = []
        for text in body:
            if text.startswith("$ "):
                steps.append((text[2:], []))
            else:
                assert steps, f"{where}: output before the first '$ ' command"
                steps[-1][1].append(text)
        assert steps, f"{where}: no '$ ' command in the block"
        exit_status = 0
        for word in words:
            if word.startswith("exit="):
                exit_status = int(word.split("=", 1)[1])
            else:
                assert word == "excerpt", f"{where}: unknown marker word {word!r}"
        examples.append(Example(where, "excerpt" in words, exit_status, steps))
    return examples


EXAMPLES = [example for page in PAGES for example in parse(page, str(page.relative_to(ROOT)))]


def test_pages_have_examples():
    # The markers are what the test finds: losing them all must not pass quietly.
    assert len(EXAMPLES) >= 5, [e.name for e in EXAMPLES]


def contains_run(output: list[str], shown: list[str]) -> bool:
    """Whether `shown` appears as consecutive lines of `output`."""
    if not shown:
        return True
    return any(output[k : k + len(shown)] == shown for k in range(len(output) - len(shown) + 1))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_example_prints_what_the_page_shows(example: Example, tmp_path: Path) -> None:
    scripts = launcher_path().parent
    env = clean_env()
    env["PATH"] = f"{scripts}:{env.get('PATH', '')}"
    # Messages in the C locale's words, as the pages show them.
    env["LC_ALL"] = "C"
    for n, (command, shown) in enumerate(example.steps):
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
        )
        last = n == len(example.steps) - 1
        expected_status = example.exit_status if last else 0
        assert proc.returncode == expected_status, (command, proc.returncode, proc.stdout)
        output = proc.stdout.splitlines()
        if example.excerpt:
            assert contains_run(output, shown), (command, shown, proc.stdout)
        else:
            assert output == shown, (command, proc.stdout)


def test_a_wrong_page_fails(tmp_path: Path) -> None:
    # The comparison itself must be able to fail: a page that shows another
    # error line than the program prints is caught.
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- doc-test exit=2 -->\n```text\n$ pygcprofiler run --interval 0 app.py\n"
        "error: invalid value '1' for '--interval'\n```\n"
    )
    (example,) = parse(page, "page.md")
    with pytest.raises(AssertionError):
        test_example_prints_what_the_page_shows(example, tmp_path)
