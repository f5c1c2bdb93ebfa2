"""One option engine for every verb: run, report, live and compare.

Each verb reads its options through the same table-driven engine
(src/cli/options.c), so each gets the same number grammar (the decimal
grammar of `run`: no leading spaces, no hex, no inf or nan), the same "did
you mean" hint for a misspelt option, and the same --help layout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gcm_testing import launcher_path, run

VERBS = ["run", "report", "live", "compare"]

# Refused by every number option of every verb: what strtod() alone would take.
NOT_NUMBERS = [" 1", "1 ", "0x1", "0X10", "inf", "nan", "1e", ".", "", "1,5"]


def launch(tmp_path: Path, *args: str):
    return run([launcher_path(), *args], tmp_path)


def error_lines(proc, verb: str) -> str:
    """The one error line of a refused command line, after checking the rest."""
    hint = "try 'pygcprofiler --help'" if verb == "run" else f"try 'pygcprofiler {verb} --help'"
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    first, second = proc.stderr.splitlines()
    assert second == hint
    assert first.startswith("error: ")
    return first


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_live_interval_refuses_what_run_refuses(tmp_path, value):
    # run's --interval: the gcm_config grammar.
    proc = launch(tmp_path, "run", "--interval", value, "app.py")
    assert f"invalid value '{value}' for '--interval'" in error_lines(proc, "run")
    # live's --interval: the same grammar, in live's own words.
    proc = launch(tmp_path, "live", "--interval", value, "x.gcm")
    assert error_lines(proc, "live") == (
        f"error: invalid value '{value}' for '--interval': must be seconds from 0.05 to 3600"
    )


@pytest.mark.parametrize("value", ["1", "0.5", "1e0", "+2", "3600", "0.05"])
def test_live_interval_takes_plain_decimals(tmp_path, value):
    # The interval passes; the file that is not a capture is what gets refused
    # (at once: a missing one would be waited for).
    (tmp_path / "text.gcm").write_text("not a capture, only a line of text long enough\n")
    proc = launch(tmp_path, "live", "--interval", value, "text.gcm")
    assert error_lines(proc, "live") == "error: 'text.gcm' is not a pygcprofiler capture file"


@pytest.mark.parametrize("value", ["0.04", "3601", "-1"])
def test_live_interval_limits(tmp_path, value):
    proc = launch(tmp_path, "live", f"--interval={value}", "x.gcm")
    assert error_lines(proc, "live") == (
        f"error: invalid value '{value}' for '--interval': must be seconds from 0.05 to 3600"
    )


def summary(path: Path, count: int) -> Path:
    path.write_text(f'{{"type":"summary","schema_version":1,"count":{count}}}\n')
    return path


def test_max_regression_with_a_percent_sign_equals_the_number(tmp_path):
    base = summary(tmp_path / "base.jsonl", 10)
    new = summary(tmp_path / "new.jsonl", 11)  # +10.0%
    plain = launch(tmp_path, "compare", base, new, "--metric", "count", "--max-regression", "10")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[-1] == "no metric regressed by more than 10%"
    for spelling in (["--max-regression", "10%"], ["--max-regression=10%"]):
        proc = launch(tmp_path, "compare", base, new, "--metric", "count", *spelling)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, plain.stdout, "")
    # A limit below the growth, percent sign or not, is a regression.
    for limit in ("9.5", "9.5%"):
        proc = launch(
            tmp_path, "compare", base, new, "--metric", "count", "--max-regression", limit
        )
        assert proc.returncode == 3, proc.stdout
        assert proc.stdout.splitlines()[-1] == "1 of 1 metrics regressed by more than 9.5%"


@pytest.mark.parametrize("value", [*NOT_NUMBERS, "%", "10%%", "10 %", "%10", "-5", "-5%"])
def test_max_regression_refuses_what_run_refuses(tmp_path, value):
    proc = launch(tmp_path, "compare", "a", "b", "--max-regression", value)
    assert error_lines(proc, "compare") == (
        f"error: invalid value '{value}' for '--max-regression': must be a percentage of 0 or "
        "more, such as 10"
    )


# (verb, words before the misspelt option, the misspelling, what it meant)
MISSPELT = [
    ("run", [], "--jsn", "--json"),
    ("run", [], "--stats-onyl", "--stats-only"),
    ("report", [], "--jsn", "--json"),
    ("report", [], "--formt", "--format"),
    ("live", [], "--plian", "--plain"),
    ("live", [], "--intervall", "--interval"),
    ("compare", ["a", "b"], "--metrc", "--metric"),
    ("compare", ["a", "b"], "--max-regresion", "--max-regression"),
]


@pytest.mark.parametrize("verb,before,typed,meant", MISSPELT)
def test_did_you_mean_in_every_verb(tmp_path, verb, before, typed, meant):
    proc = launch(tmp_path, verb, *before, typed, "x")
    assert error_lines(proc, verb) == f"error: unknown option '{typed}'; did you mean '{meant}'?"


@pytest.mark.parametrize("verb", VERBS)
def test_the_same_misspelling_gets_the_same_hint(tmp_path, verb):
    for typed in ("--hepl", "--hel"):
        proc = launch(tmp_path, verb, typed, "x")
        assert error_lines(proc, verb) == f"error: unknown option '{typed}'; did you mean '--help'?"
    # A name far from every option gets no guess.
    proc = launch(tmp_path, verb, "--frobnicate", "x")
    assert error_lines(proc, verb) == "error: unknown option '--frobnicate'"


@pytest.mark.parametrize("verb", VERBS)
def test_value_mistakes_are_said_alike(tmp_path, verb):
    flag, option = {
        "run": ("--json", "--interval"),
        "report": ("--json", "--interval"),
        "live": ("--plain", "--interval"),
        "compare": ("--help", "--metric"),
    }[verb]
    proc = launch(tmp_path, verb, f"{flag}=yes", "x")
    assert error_lines(proc, verb) == f"error: option '{flag}' takes no value, got 'yes'"
    proc = launch(tmp_path, verb, option)
    assert re.fullmatch(rf"error: option '{option}' needs a value \(\S+\)", error_lines(proc, verb))


@pytest.mark.parametrize("verb", VERBS)
def test_help_has_one_layout(tmp_path, verb):
    proc = launch(tmp_path, verb, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert "  -h, --help" + " " * 26 + "show this help and exit" in lines
    assert all(len(line) <= 80 for line in lines)
    # Every option line puts its description in column 38, and so does every
    # continuation line of a description.
    options = [line for line in lines if re.match(r"  --?[a-z]", line)]
    assert options
    for line in options:
        names = re.match(r"  (-h, )?--[a-z-]+( \S+)?", line)
        assert names, line
        if len(names.group(0)) < 37:
            assert line[len(names.group(0)) :].startswith(" ")
            assert line[37] == " " and line[38] != " ", line
