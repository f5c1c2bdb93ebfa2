"""The caller of ``sys.remote_exec`` for ``pygcprofiler attach`` and ``detach``.

The launcher cannot call CPython, so it runs this file with the target's own
interpreter (``python -I -S _inject.py PID SCRIPT``), as it runs
``_remote.py`` for ``live PID``: the same build as the target, which
``sys.remote_exec`` (PEP 768, CPython 3.14+) needs.  It only asks the target
to run SCRIPT at its next safe point and says how that went, in one line:

    ok                          the target has the request
    refuse KIND TEXT            nothing was asked of the target

It is run by path with ``-I -S``: it imports nothing of ``gc_monitor``, and it
must parse on older interpreters so that they can say their version.
Importing it starts nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

# The kinds of refusal the launcher turns into its one-line errors (attach.c).
REFUSE_VERSION = "version"
REFUSE_DISABLED = "disabled"
REFUSE_PERMISSION = "permission"
REFUSE_GONE = "gone"
REFUSE_OTHER = "other"


def _kind(exc: BaseException) -> str:
    """The refusal a failed sys.remote_exec means."""
    if isinstance(exc, PermissionError):
        return REFUSE_PERMISSION
    if isinstance(exc, ProcessLookupError):
        return REFUSE_GONE
    text = str(exc).lower()
    if "disable" in text or "not enabled" in text or "not supported" in text:
        return REFUSE_DISABLED
    if "permission" in text or "not permitted" in text:
        return REFUSE_PERMISSION
    if "no such process" in text:
        return REFUSE_GONE
    return REFUSE_OTHER


def main(argv: Sequence[str]) -> int:
    """Asks process argv[1] to run the script at path argv[2]."""
    if len(argv) != 3:
        print("refuse other usage: _inject.py PID SCRIPT", flush=True)
        return 2
    remote_exec = getattr(sys, "remote_exec", None)
    if sys.version_info < (3, 14) or remote_exec is None:
        version = ".".join(str(part) for part in sys.version_info[:3])
        print(f"refuse {REFUSE_VERSION} {version}", flush=True)
        return 2
    try:
        remote_exec(int(argv[1]), argv[2])
    except Exception as exc:
        text = " ".join(f"{type(exc).__name__}: {exc}".split())
        print(f"refuse {_kind(exc)} {text}", flush=True)
        return 2
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
