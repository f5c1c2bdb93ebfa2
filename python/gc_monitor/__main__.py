"""``python -m gc_monitor ...``: the same as the ``pygcprofiler`` command.

It execs the installed C launcher with this interpreter as ``--python``, so
the target runs on the interpreter the user chose, in one process: the
launcher and then the target keep this process's pid.
"""

from __future__ import annotations

import os
import sys
import sysconfig

_NAMES = ("pygcprofiler", "gc-monitor")


def _candidates() -> list[str]:
    """Directories the launcher may have been installed into, most likely first."""
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    if sys.version_info >= (3, 10):
        user_scheme = sysconfig.get_preferred_scheme("user")
    else:
        user_scheme = "posix_user"
    try:
        dirs.append(sysconfig.get_path("scripts", user_scheme))
    except KeyError:
        pass
    return dirs


def _find_launcher() -> str | None:
    for directory in _candidates():
        for name in _NAMES:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None


def _vouch_for_this_python() -> None:
    """Tells the launcher that this interpreter imports the core, so that it
    does not start it once more only to ask (src/cli/interp.c)."""
    try:
        from gc_monitor import _core
    except ImportError:
        return  # the launcher's own check says why
    free = "t" if "t" in getattr(sys, "abiflags", "") else ""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}{free}"
    os.environ[_core.CHECKED_ENV] = f"{version}:{sys.executable}"


def main() -> None:
    """Replaces this process with the launcher, passing --python sys.executable."""
    launcher = _find_launcher()
    if launcher is None:
        sys.stderr.write(
            "error: the pygcprofiler launcher is not installed next to "
            f"'{sys.executable}'\ntry 'pygcprofiler --help'\n"
        )
        raise SystemExit(2)
    args = sys.argv[1:]
    if args[:1] == ["run"]:
        # Right after "run", so that a --python of the user's own still wins.
        args = ["run", "--python", sys.executable, *args[1:]]
        _vouch_for_this_python()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(launcher, [launcher, *args])


if __name__ == "__main__":
    main()
