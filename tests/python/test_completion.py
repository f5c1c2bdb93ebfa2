"""Shell completion (`pygcprofiler completion bash|zsh|fish`) and the man page pygcprofiler(1).

Both are written by the launcher from the option tables every verb parses
its command line with.  The tests hold them against what users see instead:
each verb's --help, a real bash that sources the script and completes a
partial option, and `man -l` on the page the package installed.  zsh and
fish are exercised when they are installed and skipped when they are not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from gcm_testing import SCRIPTS_DIR, TARGETS, TIMEOUT, clean_env, launcher, run, tool_env

VERBS = ["run", "report", "compare", "live", "watch", "completion"]
# An option at the start of a --help line: "  --name", "  -o, --output".
HELP_OPTION = re.compile(r"^\s{2}((?:-[A-Za-z], )?--[a-z][a-z0-9-]*|-[A-Za-z])\b")


def help_options(verb):
    """Every option spelling a verb's --help lists, short ones included."""
    proc = run([launcher(), verb, "--help"], TARGETS)
    assert proc.returncode == 0, proc.stderr
    found = set()
    for line in proc.stdout.splitlines():
        m = HELP_OPTION.match(line)
        if m:
            found.update(part.strip() for part in m.group(1).split(","))
    assert "--help" in found, proc.stdout
    return found


def completion(shell):
    proc = run([launcher(), "completion", shell], TARGETS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def bash_complete(*words):
    """COMPREPLY of the generated bash script for the command line `words`
    (the last one is the word being completed), in a real bash."""
    script = (
        f"source <({launcher()} completion bash) || exit 9\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()\n'
        "_pygcprofiler || exit 8\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "-c", script, "bash", *words],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
        cwd=TARGETS,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return [line for line in proc.stdout.splitlines() if line]


def installed_man_page() -> Path:
    page = SCRIPTS_DIR.parent / "share" / "man" / "man1" / "pygcprofiler.1"
    assert page.is_file(), f"the man page is not installed at {page}"
    return page


def test_bash_script_loads_and_registers_both_names():
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"source <({launcher()} completion bash) && complete -p pygcprofiler gc-monitor",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "-F _pygcprofiler pygcprofiler" in proc.stdout
    assert "-F _pygcprofiler gc-monitor" in proc.stdout


def test_bash_completes_verbs_options_and_values():
    assert bash_complete("pygcprofiler", "re") == ["report"]
    assert bash_complete("pygcprofiler", "run", "--stat") == ["--stats-only"]
    assert bash_complete("gc-monitor", "run", "--interval", "5", "--stat") == ["--stats-only"]
    assert bash_complete("pygcprofiler", "report", "--format", "j") == ["json"]
    assert bash_complete("pygcprofiler", "report", "--format", "=", "f") == ["folded"]
    assert bash_complete("pygcprofiler", "live", "--pl") == ["--plain"]
    assert bash_complete("pygcprofiler", "completion", "z") == ["zsh"]
    assert set(bash_complete("pygcprofiler", "run", "--terminal-flamegraph-")) == {
        "--terminal-flamegraph-width",
        "--terminal-flamegraph-color",
    }


def test_bash_leaves_the_targets_own_words_alone():
    # After the target, every word is the program's: no option of ours is offered.
    assert bash_complete("pygcprofiler", "run", "app.py", "--st") == []
    assert bash_complete("pygcprofiler", "run", "--", "app.py", "--st") == []


def test_bash_completes_file_names_for_path_options(tmp_path):
    (tmp_path / "gc-log.txt").write_text("")
    script = (
        f"source <({launcher()} completion bash) || exit 9\n"
        "COMP_WORDS=(pygcprofiler run --log-file gc-l); COMP_CWORD=3; _pygcprofiler\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["gc-log.txt"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_option_of_help_is_completed_and_documented(verb):
    options = help_options(verb)
    bash = completion("bash")
    block = re.search(rf"^    {verb}\)\n        opts='([^']*)'", bash, re.MULTILINE)
    assert block is not None, bash
    assert options <= set(block.group(1).split()), (options, block.group(1))
    for shell in ("zsh", "fish"):
        text = completion(shell)
        for option in options:
            if option.startswith("--"):
                needle = f"'{option}" if shell == "zsh" else f" -l {option[2:]}"
            else:
                needle = f"'{option}" if shell == "zsh" else f" -s {option[1:]}"
            assert needle in text, (shell, verb, option)
    page = installed_man_page().read_text()
    for option in options:
        roff = option.replace("-", "\\-")
        assert f"\\fB{roff}\\fR" in page, (verb, option)
    assert f".SS {verb}\n" in page


def test_man_page_renders_with_man_l():
    if shutil.which("man") is None:
        pytest.skip("man is not installed (apt-get install man-db)")
    page = installed_man_page()
    proc = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**tool_env(), "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = proc.stdout
    assert text.startswith("PYGCPROFILER(1)")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "EXIT STATUS"):
        assert f"\n{section}\n" in text, section
    assert "pygcprofiler completion bash|zsh|fish" in text
    assert "--stats-only" in text
    assert "--format FORMAT" in text


def test_man_page_is_the_launchers():
    # The installed page is what the launcher writes now: one source for both.
    proc = run([launcher(), "--man"], TARGETS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == installed_man_page().read_text()


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_loads():
    script = (
        "autoload -U compinit && compinit -u -D\n"
        f"source <({launcher()} completion zsh)\n"
        "print -r -- $_comps[pygcprofiler] $_comps[gc-monitor]\n"
    )
    proc = subprocess.run(
        ["zsh", "-f", "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(HOME=os.environ.get("HOME", "/tmp")),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.split() == ["_pygcprofiler", "_pygcprofiler"]


# An interactive zsh on a pseudo-terminal (zsh/zpty) types a partial option
# and a tab, then Ctrl-A and a print in front of the completed line, so the
# line comes back as output ("X42 ..."), unlike its echo ("X$((40+2)) ...").
ZSH_TYPES_A_TAB = r"""
zmodload zsh/zpty || exit 7
zpty z "zsh -f -i"
zpty -w z 'bindkey -e; autoload -U compinit; compinit -u -D'
zpty -w z 'source <("$GCM_LAUNCHER" completion zsh)'
zpty -w -n z $'pygcprofiler run --stat\t\x01print -r -- X$((40+2)) \n'
zpty -r z out '*X42 pygcprofiler*' || exit 6
zpty -r z rest $'*\n' || exit 5
print -r -- "$out$rest"
"""


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_a_partial_option():
    proc = subprocess.run(
        ["zsh", "-f", "-c", ZSH_TYPES_A_TAB],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(GCM_LAUNCHER=launcher(), HOME=os.environ.get("HOME", "/tmp")),
    )
    assert proc.returncode == 0, proc.stderr
    assert "X42 pygcprofiler run --stats-only" in proc.stdout, proc.stdout


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_a_partial_option():
    script = (
        f"{launcher()} completion fish | source\n"
        "complete --do-complete='pygcprofiler run --stat'\n"
    )
    proc = subprocess.run(
        ["fish", "--no-config", "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["--stats-only"]


@pytest.mark.parametrize(
    ("args", "subject"),
    [
        (["completion"], "'completion' needs a shell"),
        (["completion", "tcsh"], "unknown shell 'tcsh'"),
        (["completion", "bash", "zsh"], "got 'zsh'"),
    ],
)
def test_completion_refuses_bad_input(args, subject):
    proc = run([launcher(), *args], TARGETS)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: ") and subject in lines[0], proc.stderr
    assert lines[1] == "try 'pygcprofiler completion --help'"


def test_completion_help_goes_to_stdout():
    proc = run([launcher(), "completion", "--help"], TARGETS)
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.startswith("usage: pygcprofiler completion bash|zsh|fish\n")
