"""docs/cli.md against the launcher's own --help, so neither can drift alone.

`pygcprofiler run --help` is laid out from the option table of the core; the
options table of docs/cli.md is written by hand with longer explanations.
So is README.md's shorter table.
These tests read them and compare every option's name, placeholder and
default, and check that the synopsis names every verb the usage names.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from gcm_testing import launcher

DOCS = Path(__file__).resolve().parents[2] / "docs"

# "  -h, --help    text" or "  --name METAVAR    text (default: X)": an option
# line of --help starts with two spaces and a dash.
OPTION_LINE = re.compile(r"^  (-\w, )?--([\w-]+)(?: (\S+))?\s")
DEFAULT = re.compile(r"\(default: ([^)]*)\)\s*$")
# "| `--name METAVAR` | default | meaning |", or "| `-o PATH`, `--output PATH` | ..."
DOC_ROW = re.compile(r"^\| (?:`-\w[^`]*`, )?`--([\w-]+)(?: ([^`]+))?` \|\s*([^|]*?)\s*\|")


def help_options() -> dict[str, tuple[str | None, str | None]]:
    """Each option of `run --help`: (placeholder, default as shown)."""
    proc = subprocess.run(
        [launcher(), "run", "--help"], capture_output=True, text=True, check=True
    )
    lines = proc.stdout.splitlines()
    options: dict[str, tuple[str | None, str | None]] = {}
    current = None
    for line in lines:
        match = OPTION_LINE.match(line)
        if match:
            current = match.group(2)
            options[current] = (match.group(3), None)
        elif not line.startswith("    "):
            current = None
        if current is not None:
            found = DEFAULT.search(line)
            if found:
                options[current] = (options[current][0], found.group(1))
    return options


def doc_options(page: Path = DOCS / "cli.md") -> dict[str, tuple[str | None, str]]:
    """Each row of a page's options table: (placeholder, default)."""
    text = page.read_text()
    section = text.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str | None, str]] = {}
    for line in section.splitlines():
        match = DOC_ROW.match(line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3).strip())
    return rows


PAGES = [DOCS / "cli.md", DOCS.parent / "README.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_options_table_lists_every_option_of_help_and_no_other(page):
    shown = help_options()
    documented = doc_options(page)
    assert sorted(shown) == sorted(documented)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_options_table_has_the_placeholders_and_defaults_of_help(page):
    shown = help_options()
    documented = doc_options(page)
    for name, (metavar, default) in shown.items():
        doc_metavar, doc_default = documented[name]
        assert doc_metavar == metavar, name
        # Actions (--help, --version) have no default: an empty cell.
        assert doc_default == (default or ""), name


def test_help_has_the_short_version_and_help_spellings():
    proc = subprocess.run(
        [launcher(), "run", "--help"], capture_output=True, text=True, check=True
    )
    assert "  -V, --version " in proc.stdout
    assert "  -h, --help " in proc.stdout
    version = subprocess.run([launcher(), "run", "-V"], capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("pygcprofiler ")


def test_cli_md_synopsis_names_every_verb_of_the_usage():
    proc = subprocess.run([launcher(), "--help"], capture_output=True, text=True, check=True)
    verbs = set(re.findall(r"^(?:usage: |       )pygcprofiler (\w+) ", proc.stdout, re.M))
    assert {"run", "report", "compare", "live", "watch"} <= verbs
    synopsis = (DOCS / "cli.md").read_text().split("```text\n", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r"^pygcprofiler (\w+) ", synopsis, re.M))
    assert verbs == documented
