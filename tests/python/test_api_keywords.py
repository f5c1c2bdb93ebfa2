"""GCMonitor's signature: the keywords users guess from the command line.

The option table of the core is read back from a monitor's config_text (every
option, in table order, as "flag=value"), and compared with the signature and
with the mapping table of docs/api.md, so a new option cannot be left out of
either.
"""

from __future__ import annotations

import gc
import inspect
import re
from pathlib import Path

import pytest

from gc_monitor import GCMonitor

DOCS = Path(__file__).resolve().parents[2] / "docs"
LAUNCHER_ONLY = {"python", "output", "fail-on", "follow-children"}
ORIGINAL_NAMES = {"json_output": "json", "enable_prompt": "prompt"}
# "| `--flag ...`... | `keyword` ..." rows of the mapping table.
ROW = re.compile(r"^\| `--([\w-]+)[^|]*\| `(\w+)`")


def table_flags() -> list[str]:
    monitor = GCMonitor()
    try:
        text = monitor.config_text
    finally:
        monitor.stop_monitoring(write_report=False)
    return [item.split("=", 1)[0] for item in text.split(";") if item]


def test_the_signature_is_explicit_and_keyword_only():
    params = inspect.signature(GCMonitor).parameters
    assert params, "GCMonitor shows no parameters"
    for param in params.values():
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, param
        assert param.default is None, param
        assert param.annotation is not inspect.Parameter.empty, param


def test_every_option_is_its_flag_with_underscores_in_the_signature():
    params = set(inspect.signature(GCMonitor).parameters)
    flags = table_flags()
    assert "json" in flags and "follow-children" in flags
    expected = {flag.replace("-", "_") for flag in flags} | set(ORIGINAL_NAMES)
    assert params == expected


def test_api_md_maps_every_option_in_table_order():
    text = (DOCS / "api.md").read_text()
    section = text.split("\n### Options\n", 1)[1].split("\n## ", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines()]
    mapped = [(m.group(1), m.group(2)) for m in rows if m]
    assert [flag for flag, _ in mapped] == table_flags()
    for flag, keyword in mapped:
        assert keyword == flag.replace("-", "_")


@pytest.mark.parametrize(
    ("keywords", "flag"),
    [
        ({"json": True}, "json=1"),
        ({"json_output": True}, "json=1"),
        ({"prompt": True}, "prompt=1"),
        ({"enable_prompt": True}, "prompt=1"),
        ({"json": True, "json_output": True}, "json=1"),
        ({"stats_only": True, "json": False}, "json=0"),
    ],
)
def test_cli_and_original_spellings_set_the_same_option(keywords, flag):
    monitor = GCMonitor(**keywords)
    try:
        assert flag in monitor.config_text.split(";")
    finally:
        monitor.stop_monitoring(write_report=False)


def test_both_spellings_with_different_values_are_refused():
    callbacks = list(gc.callbacks)
    with pytest.raises(TypeError, match="'json' and 'json_output'"):
        GCMonitor(json=True, json_output=False)
    assert gc.callbacks == callbacks


@pytest.mark.parametrize(
    ("keyword", "value", "instead"),
    [
        ("output", "gc.capture", "pygcprofiler run -o FILE"),
        ("fail_on", "p99>10ms", "--fail-on"),
        ("follow_children", True, "--follow-children"),
        ("python", "/usr/bin/python3", "--python"),
    ],
)
def test_launcher_options_are_refused_saying_what_to_use(keyword, value, instead):
    callbacks = list(gc.callbacks)
    with pytest.raises(TypeError, match=re.escape(f"takes no {keyword!r}")) as raised:
        GCMonitor(**{keyword: value})
    assert instead in str(raised.value)
    assert gc.callbacks == callbacks


def test_a_misspelled_keyword_is_still_a_type_error():
    with pytest.raises(TypeError, match="'stats_onyl'"):
        GCMonitor(stats_onyl=True)  # type: ignore[call-arg]


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        GCMonitor(5.0)  # type: ignore[misc]
