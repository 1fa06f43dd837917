#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, when missing.
# Safe to run again: it only calls apt-get for packages that are absent.
# With --tests (the test command's call) it also installs Chromium for the
# browser test, and puts a Debian kernel in htable's cache for the Linux
# guest tests (tests/linux/fetch-kernel.sh),
# and kexec-tools for the crash-dump test (make-vmcore.sh --fetch): both
# downloaded from Debian's archive, not installed.
#
# The test command (scripts/check.sh) makes four builds: build-gcc,
# build-clang, build-asan (gcc, ASan+UBSan) and build-tsan (clang, TSan).
# Every package below says which of them needs it.  What the test scripts
# call besides (bash, sed, grep, od, dd, tr, cut, wc, head, tail, stat,
# truncate, mktemp, date: coreutils and the other Essential packages; cmp
# and diff: diffutils, Essential) is on every Debian system; awk is checked
# for below because its package (mawk) is only of priority required.
set -euo pipefail
pkgs=(
	# every build: configure and compile (meson brings python3)
	meson ninja-build
	# every build: meson finds Criterion through pkg-config
	pkg-config
	# build-gcc and build-asan; gcc-12 brings the sanitizer runtimes
	# (libasan8, libubsan1, liblsan0) through libgcc-12-dev
	gcc
	# build-clang and build-tsan
	clang
	# build-tsan: clang's own sanitizer runtimes
	# (libclang_rt.tsan-x86_64.a, also the fuzzer's for -Dfuzz=true):
	# `apt-get install clang` does not bring them
	libclang-rt-dev
	# every build: the unit, integration, model and stress suites
	libcriterion-dev
	# every build: objcopy makes the boot stub of the qemu suite
	# (tests/qemu/meson.build: without it that suite skips)
	binutils
	# every build: <linux/kvm.h> for the KVM engine (tools/htable,
	# tests/hw/test_engine_kvm.c)
	linux-libc-dev
	# every build: the command reads dump files (ELF cores, kdump-
	# compressed files) through libkdumpfile and its libaddrxlat, and
	# QEMU's CPU notes in ELF cores through libelf (tools/image/dump.c)
	libkdumpfile-dev libelf-dev
	# every build: tests/cli/mkcore writes kdump files whose pages are
	# compressed as makedumpfile's and QEMU's are (zlib, LZO, snappy,
	# zstd); libkdumpfile-dev brings the last three, not zlib's
	zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev
	# build-gcc, build-clang and build-asan: the Python package's tests
	# (tests/python, suite integration) run under Debian's pytest, and
	# its `pip install` check builds the package with setuptools
	python3-pytest python3-setuptools
)
# build-gcc and build-asan, suites qemu and hardware: qemu-system-x86_64
# and qemu-system-i386 (tests/qemu/test_qemu.sh, tests/hw/*.sh, the QEMU
# engine of `htable verify`).  Its recommends (firmware, UI) are not
# needed: the tests boot their own stub (no-recommends).
# build-gcc and build-asan, suite hardware: bochs, the only MMU here that
# walks Intel EPT (and a second one for AMD NPT), for the Bochs engine of
# `htable verify` (tests/hw/test_engine_bochs.sh,
# test_verify_nested.sh).  Debian's Bochs has no "nogui" display: the
# engine runs the "term" one (bochs-term, the display package that pulls
# in nothing graphical) on a pseudo-terminal of its own.  vgabios: Bochs
# loads the VGA ROM its package links to (/usr/share/bochs/VGABIOS-lgpl-
# latest) at every start, and without recommends apt satisfies bochs's
# "vgabios | seabios" with seabios alone.
# build-gcc and build-asan, suites qemu and cli: makedumpfile reassembles
# the flattened kdump files that QEMU's dump-guest-memory -z/-l/-s
# writes (tests/qemu/test_dumps.sh); its recommends (kdump-tools, a
# crash kernel's set-up) are not needed.
# build-gcc and build-asan, suite qemu: the Linux guest test
# (tests/linux/test_linux_guest.sh) boots Debian's kernel with an
# initramfs of a static busybox, packed with cpio; the crash-dump test
# (tests/linux/test_linux_vmcore.sh) has its crash kernel write the dumps
# onto an ext2 disk image that make-vmcore.sh formats and reads back with
# e2fsprogs (mke2fs, debugfs).
# build-gcc, build-clang and build-asan, suite integration: pip, for the
# Python package's `pip install --no-index` check (tests/python/
# test_install.py, which skips without it); its recommends (a compiler
# tool chain and python3-dev, for packages with C code) are not needed.
norec=(qemu-system-x86 bochs bochs-term vgabios makedumpfile busybox-static
    cpio e2fsprogs python3-pip)
# With --tests only, and only for the browser test of `htable show`'s
# page (tests/show/test_show.py, every build): Debian's Chromium, driven
# headless over the DevTools protocol by Debian's python3 with
# python3-websocket.  Where they cannot be installed the test says so and
# skips: a failure here is a warning, not the end of the test command.
browser=(chromium python3-websocket)
absent() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || echo "$p"
	done
}
missing=($(absent "${pkgs[@]}"))
# every build: tests/cli/*.sh and tests/qemu, tests/hw scripts use awk
command -v awk >/dev/null || missing+=(mawk)
missing_norec=($(absent "${norec[@]}"))
# With --tests: the browser test's packages (above); the kernel into
# htable's cache, and kexec-tools (with the libraries its kexec needs
# that are not installed), which the crash-dump test runs inside its
# guest: downloaded, never installed on this host.
for_tests() {
	[ "${1:-}" = "--tests" ] || return 0
	local b
	b=($(absent "${browser[@]}"))
	if [ ${#b[@]} -ne 0 ]; then
		echo "deps: installing ${b[*]} (the browser test)"
		local su=""
		[ "$(id -u)" -eq 0 ] || su="sudo"
		{ DEBIAN_FRONTEND=noninteractive $su apt-get install -y -qq \
		    --no-install-recommends "${b[@]}" >/dev/null ||
		  { DEBIAN_FRONTEND=noninteractive $su apt-get update -qq &&
		    DEBIAN_FRONTEND=noninteractive $su apt-get install -y -qq \
		    --no-install-recommends "${b[@]}" >/dev/null; }; } ||
		    echo "deps: warning: could not install ${b[*]}: the" \
		    "browser test of htable show will skip"
	fi
	bash "$(dirname "$0")/../tests/linux/fetch-kernel.sh" &&
	    bash "$(dirname "$0")/../tests/linux/make-vmcore.sh" --fetch
}
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_norec[@]} -eq 0 ]; then
	for_tests "$@"
	exit 0
fi
echo "deps: installing ${missing[*]} ${missing_norec[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [ ${#missing[@]} -ne 0 ]; then
	$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#missing_norec[@]} -ne 0 ]; then
	$sudo apt-get install -y -qq --no-install-recommends \
	    "${missing_norec[@]}" >/dev/null
fi
for_tests "$@"
