#!/usr/bin/env bash
# fetch-kernel.sh - put a Debian Linux kernel into htable's cache for the
# Linux guest test (tests/linux/test_linux_guest.sh), which boots it in
# QEMU.  scripts/deps.sh calls it; nothing is installed on the system:
# the kernel package is only downloaded (apt-get download) and its
# vmlinuz extracted (dpkg-deb -x) into the cache directory
#	${HTABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/htable}
# as vmlinuz-cloud-amd64 (a stable name; vmlinuz-cloud-amd64.from names
# the package file it came from).  The package is the one the meta-package
# linux-image-cloud-amd64 currently depends on (apt-cache depends), so a
# new kernel ABI is fetched once and older packages are removed.
# Idempotent: when the package is already there and extracted, nothing is
# downloaded nor written.  Quiet; exit 0 when the kernel is in place,
# 1 with the reason on stderr when it cannot be.
#   usage: fetch-kernel.sh
set -u
meta=linux-image-cloud-amd64
cache=${HTABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/htable}
out=$cache/vmlinuz-cloud-amd64

die() {
	echo "fetch-kernel.sh: $*" >&2
	exit 1
}

for t in apt-cache apt-get dpkg-deb dpkg; do
	command -v "$t" > /dev/null ||
	    die "$t is missing: the kernel comes from Debian's archive"
done
mkdir -p "$cache" 2> /dev/null || die "cannot create the cache directory $cache"

# The kernel package the meta-package depends on now, e.g.
# linux-image-6.1.0-57-cloud-amd64.
deps=$(apt-cache depends "$meta" 2>&1) ||
    die "apt-cache depends $meta failed (no such package in the apt" \
	"lists? run apt-get update): $(echo "$deps" | head -n 3)"
pkg=$(echo "$deps" |
    sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || die "apt-cache depends $meta names no linux-image" \
    "package: $(echo "$deps" | head -n 4 | tr '\n' ' ')"
arch=$(dpkg --print-architecture)

# The package file, downloaded unless a file of this package is there.
deb=$(ls "$cache/${pkg}_"*"_$arch.deb" 2> /dev/null | head -n 1)
if [ -z "$deb" ]; then
	log=$(cd "$cache" && apt-get download -q "$pkg" 2>&1) ||
	    die "apt-get download $pkg failed (into $cache):" \
		"$(echo "$log" | grep -v '^W: Download is performed unsandboxed' |
		tail -n 3 | tr '\n' ' ')"
	deb=$(ls "$cache/${pkg}_"*"_$arch.deb" 2> /dev/null | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg wrote no" \
	    "${pkg}_*_$arch.deb into $cache"
fi

# The vmlinuz, unless it was extracted from this very file.
if [ -s "$out" ] && [ "$(cat "$out.from" 2> /dev/null)" = "${deb##*/}" ]
then
	exit 0
fi
tmp=$(mktemp -d "$cache/extract.XXXXXX") ||
    die "cannot create a directory in $cache"
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp" 2> "$tmp.err" || {
	msg=$(head -n 3 "$tmp.err"); rm -f "$tmp.err"
	rm -f "$deb"	# a damaged download: fetched again next time
	die "dpkg-deb -x $deb failed: $msg"
}
rm -f "$tmp.err"
img=$(ls "$tmp"/boot/vmlinuz-* 2> /dev/null | head -n 1)
[ -n "$img" ] || die "$deb holds no boot/vmlinuz-*"
mv -f "$img" "$out.tmp" && mv -f "$out.tmp" "$out" &&
    echo "${deb##*/}" > "$out.from" || die "cannot write $out"

# Older kernel packages in the cache are not needed any more.
for f in "$cache"/linux-image-*-cloud-amd64_*.deb; do
	[ -e "$f" ] && [ "$f" != "$deb" ] && rm -f "$f"
done
exit 0
