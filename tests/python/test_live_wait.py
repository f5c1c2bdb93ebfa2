"""`pygcprofiler run -o F app.py & pygcprofiler live F`, as live.md shows it.

The reader starts before python has created F: `live` must wait for the file
to appear (a bounded wait, docs/live.md) rather than refuse it as missing.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from gcm_testing import TIMEOUT, clean_env, launcher_path

SCRIPT = "import gc, time\nfor _ in range(5):\n    gc.collect()\ntime.sleep(0.3)\n"


def test_live_waits_for_a_capture_that_run_has_not_created_yet(tmp_path: Path) -> None:
    capture = tmp_path / "F"
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    reader = subprocess.Popen(
        [str(launcher_path()), "live", str(capture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        time.sleep(0.5)
        # Still waiting, not refused: "no such file or directory" here is the bug.
        assert reader.poll() is None, reader.communicate()
        assert not capture.exists()
        writer = subprocess.run(
            [str(launcher_path()), "run", "-o", str(capture), str(script)],
            capture_output=True,
            text=True,
            env=clean_env(),
            cwd=tmp_path,
            timeout=TIMEOUT,
        )
        assert writer.returncode == 0, writer.stderr
        out, err = reader.communicate(timeout=TIMEOUT)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.communicate()
    assert reader.returncode == 0, err
    last = out.splitlines()[-1]
    assert " state=exited " in last, out
    assert " explicit=5 " in last, out


def test_a_capture_that_never_appears_is_refused_after_the_wait(tmp_path: Path) -> None:
    missing = tmp_path / "never.gcm"
    result = subprocess.run(
        [str(launcher_path()), "live", str(missing)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: cannot read capture '{missing}': no such file or directory",
        "try 'pygcprofiler live --help'",
    ]
