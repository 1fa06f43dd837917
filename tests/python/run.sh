#!/usr/bin/env bash
# run.sh - the Python package's tests (tests/python/test_*.py) under
# pytest, against the libraries of one build, ending with a
# Criterion-style synthesis line that scripts/check.sh counts: Tested
# is every test pytest ran or skipped, Failing its failures and errors;
# a pytest that dies (a signal, an internal error) counts as a crash.
#   usage: run.sh LIBHTABLE LIBHTIMAGE HTABLE MKCORE SRCDIR BUILDDIR CC
#                 SANITIZE MESON_PYTHON
# Python: $HTABLE_PYTHON, else Debian's /usr/bin/python3, else meson's,
# else python3 on PATH: the first that has pytest (a pyenv shim on PATH
# may not).  None: exit 77 (meson's skip) and a synthesis of zero.
set -u
# meson names built files relative to the directory it runs us in
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
lib=$(abs "$1") ilib=$(abs "$2") cmd=$(abs "$3") mkcore=$(abs "$4")
src=$(abs "$5") build=$(abs "$6") cc=$7 san=$8 mpy=$9

synth() {
	echo "[====] Synthesis: Tested: $1 | Passing: $2 | Failing: $3 |" \
	    "Crashing: $4" >&2
}

py=""
for c in ${HTABLE_PYTHON:-} /usr/bin/python3 "$mpy" python3; do
	if "$c" -c 'import pytest' >/dev/null 2>&1; then
		py=$c
		break
	fi
done
if [ -z "$py" ]; then
	echo "python: SKIP: no python3 with pytest (Debian: apt-get" \
	    "install python3-pytest)" >&2
	synth 0 0 0 0
	exit 77
fi

# ASan (and UBSan) built the libraries, not python: their runtimes must
# be loaded first, so they are preloaded; leaks are python's own
# business (it frees little at exit), so leak detection is off.
preload=""
rt() {
	local p n
	for n in "$@"; do
		p=$("$cc" -print-file-name="$n" 2>/dev/null)
		case $p in /*) [ -e "$p" ] && { echo "$p"; return; } ;; esac
	done
}
case $san in
*address*)
	preload=" $(rt libasan.so libclang_rt.asan-x86_64.so)"
	[ "$preload" != " " ] || { preload=""; echo "python: no ASan" \
	    "runtime found for $cc: python cannot load the library" >&2; }
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	;;
esac
case $san in
*undefined*)
	u=$(rt libubsan.so libclang_rt.ubsan_standalone-x86_64.so)
	# clang's ASan runtime holds UBSan's already
	case $preload in *clang_rt*) u="" ;; esac
	preload="$preload${u:+ $u}"
	;;
esac

[ -z "$preload" ] || echo "python: preloading$preload" >&2

export HTABLE_LIBRARY=$lib HTABLE_IMAGE_LIBRARY=$ilib HTABLE_CMD=$cmd
export HTABLE_MKCORE=$mkcore HTABLE_SRC=$src HTABLE_BUILD=$build
export HTABLE_CC=$cc HTABLE_PRELOAD=$preload
export PYTHONPATH=$src/python${PYTHONPATH:+:$PYTHONPATH}
# nothing written into the source tree: no __pycache__, no .pytest_cache
export PYTHONDONTWRITEBYTECODE=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
LD_PRELOAD=${preload# } "$py" -m pytest -p no:cacheprovider -q -rs \
    --junitxml="$work/junit.xml" "$src/tests/python"
rc=$?

# the counts, from pytest's JUnit report
counts=$("$py" - "$work/junit.xml" <<'PY' 2>/dev/null
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
k = sum(int(s.get("skipped", 0)) for s in suites)
print(t, t - f - k, f)
PY
)
# 0: all passed, 1: some failed; anything else (interrupted, internal
# error, no test collected, a signal) is a crash of the run
if [ -z "$counts" ] || { [ $rc -ne 0 ] && [ $rc -ne 1 ]; }; then
	echo "python: pytest ended with status $rc" >&2
	synth 1 0 0 1
	exit 1
fi
read -r t p f <<<"$counts"
synth "$t" "$p" "$f" 0
[ $rc -eq 0 ] && [ "$f" -eq 0 ]
