#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, when missing.
# Safe to run again: it only calls apt-get for packages that are absent.
set -euo pipefail
# qemu-system-x86: the tests compare `htable dump` with QEMU's own monitor
# (its recommends, firmware and UI packages, are not needed: no-recommends).
pkgs=(meson ninja-build pkg-config gcc clang libcriterion-dev)
norec=(qemu-system-x86)
absent() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || echo "$p"
	done
}
missing=($(absent "${pkgs[@]}"))
missing_norec=($(absent "${norec[@]}"))
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_norec[@]} -eq 0 ]; then
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
