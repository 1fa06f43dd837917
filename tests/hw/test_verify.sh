#!/usr/bin/env bash
# Hardware agreement: `htable verify` on real MMUs -- KVM for 4-level
# paging, QEMU's TCG for all four modes -- over layouts that catch the
# classic bugs (write protection with WP on and off, NX, user/supervisor
# at every level, SMEP/SMAP, large pages at every level, split pages, the
# top of the space and both edges of the canonical hole, PAE's 4-entry
# root) and over random layouts from the model test's generator.  Every
# check must end "disagree=0" with exit status 0.  An engine the machine
# lacks is skipped with its reason, and counted as skipped; when every
# check was skipped (neither KVM nor QEMU), nothing was verified and the
# test reports a skip (exit 77), not a pass.
#   usage: test_verify.sh HTABLE DUMP_MODEL
set -u
htable=$1
gen=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/verify_lib.sh"
nrand=${HTABLE_VERIFY_RANDOM:-4}

CPUS=("wp,nxe" "nxe" "wp,nxe,smep,smap" "wp,nxe,smap,ac" "wp")

# --- 4-level: KVM and QEMU ---
if build k4 "mode 4level" "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k u x" \
    "map 0x600000 0x900000 16k u w" \
    "map 0x800000 0xa00000 16k w" \
    "map 0xa00000 0xb00000 16k" \
    "map 0x1000000 0x1000000 8k u w x" \
    "map 0x40000000 0x2000000 4m w u" \
    "unmap 0x40300000 4k" \
    "protect 0x40380000 8k u" \
    "map 0x7ffffffff000 0xc00000 4k u w" \
    "map 0xffff800000000000 0xc01000 4k w" \
    "map 0xffffc00000000000 0x0 1g w page=1g" \
    "map 0xfffffffffffff000 0xc02000 4k w x u"; then
	# a user page under a supervisor-only PDE, and a read-only PDPTE
	clear_bit "$work/k4.img" "$CR3" 4level 0x1000000 1 2
	clear_bit "$work/k4.img" "$CR3" 4level 0x600000 2 1
	for cpu in "${CPUS[@]}"; do
		case $cpu in *smep*|*smap*) ;; *) verify "4level classic cpu=$cpu" "$work/k4.img" "$CR3" 4level kvm --cpu "$cpu" ;; esac
		verify "4level classic cpu=$cpu" "$work/k4.img" "$CR3" 4level qemu --cpu "$cpu"
	done
	# protection keys: the user data page gets key 1 (leaf bit 59), the
	# user code page key 2 (bit 60); PKRU denies access to key 1 and
	# writes to key 2
	cp "$work/k4.img" "$work/k4pk.img"
	set_bit "$work/k4pk.img" "$CR3" 4level 0x600000 0 59
	set_bit "$work/k4pk.img" "$CR3" 4level 0x400000 0 60
	verify "4level pke" "$work/k4pk.img" "$CR3" 4level qemu --cpu wp,nxe,pke,pkru=0x24
	verify "4level pke, no wp" "$work/k4pk.img" "$CR3" 4level qemu --cpu nxe,pke,pkru=0x24
	verify "4level pke off" "$work/k4pk.img" "$CR3" 4level qemu --cpu wp,nxe,pkru=0x24
	verify "4level pke off" "$work/k4pk.img" "$CR3" 4level kvm
	printf '%s\n' "# VA OP" "0x400000 r" "0x400008 ux" "0x600000 uw" \
	    "0x0000800000000000 r" "0x8000000000000000 uw" \
	    "0x00007ffffffff000 uw" "0xffff7ffffffff000 x" \
	    "0xfffffffffffff000 ux" >"$work/probes"
	verify "4level probe file" "$work/k4.img" "$CR3" 4level kvm --probes "$work/probes"
	verify "4level probe file" "$work/k4.img" "$CR3" 4level qemu --probes "$work/probes"
	if [ $VERIFIED -eq 1 ]; then
		grep -q '^probes=8 ' "$work/out" && ok || bad "probe file: $(tail -n 1 "$work/out")"
	fi
	# build --verify: the same check on the image just built (exit 4:
	# no engine could run)
	"$htable" build "$work/k4.spec" -o "$work/k4b.img" --verify >"$work/out" 2>&1
	rc=$?
	if [ $rc -eq 4 ]; then
		skip "build --verify: $(grep 'skipped' "$work/out" | head -n 1)"
	elif [ $rc -eq 0 ] && grep -q '^probes=[1-9][0-9]* agree=[0-9]* disagree=0' "$work/out"; then
		ok
	else
		bad "build --verify: exit $rc, $(tail -n 1 "$work/out")"
	fi
fi

# --- 5-level: QEMU ---
if build k5 "mode 5level" "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k u x" \
    "map 0x600000 0x900000 16k u w" \
    "map 0xa00000 0xb00000 16k w" \
    "map 0x0000ffffffe00000 0x2000000 2m w u" \
    "map 0x00fffffffffff000 0xc00000 4k u w" \
    "map 0xff00000000000000 0xc01000 4k w" \
    "map 0xff80000040000000 0x0 1g w page=1g" \
    "map 0xfffffffffffff000 0xc02000 4k w x u"; then
	clear_bit "$work/k5.img" "$CR3" 5level 0x600000 3 2
	for cpu in "${CPUS[@]}"; do
		verify "5level classic cpu=$cpu" "$work/k5.img" "$CR3" 5level qemu --cpu "$cpu"
	done
fi

# --- PAE: QEMU; the 4-entry root ---
if build pae "mode pae" "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k u x" \
    "map 0x600000 0x900000 16k u w" \
    "map 0xa00000 0xb00000 16k w" \
    "map 0x40000000 0x2000000 4m w u" \
    "unmap 0x40201000 4k" \
    "map 0x80000000 0xc00000 4k u" \
    "map 0xfffff000 0xc01000 4k w x u"; then
	clear_bit "$work/pae.img" "$CR3" pae 0x600000 1 2
	for cpu in "${CPUS[@]}"; do
		verify "pae classic cpu=$cpu" "$work/pae.img" "$CR3" pae qemu --cpu "$cpu"
	done
fi

# --- 32-bit: QEMU; 4 MiB pages, no NX ---
if build b32 "mode 32bit" "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k u x" \
    "map 0x600000 0x900000 16k u w" \
    "map 0xa00000 0xb00000 16k w" \
    "map 0x40000000 0x2000000 8m w u" \
    "unmap 0x40401000 4k" \
    "map 0xfffff000 0xc01000 4k w u"; then
	clear_bit "$work/b32.img" "$CR3" 32bit 0x600000 1 2
	for cpu in "wp" "none" "wp,smep,smap" "wp,smap,ac"; do
		verify "32bit classic cpu=$cpu" "$work/b32.img" "$CR3" 32bit qemu --cpu "$cpu"
	done
fi

# --- non-present entries that hold data (np): every mode faults on them
# as not present (P clear in the error code), whatever their other bits;
# verify's default probes include them ---
for mode in 32bit pae 4level 5level; do
	wide=0x7ffffffffffff7fe
	[ $mode = 32bit ] && wide=0xfffff7fe
	big=2m
	[ $mode = 32bit ] && big=4m
	build np$mode "mode $mode" "pool 0x100000 1m" \
	    "map 0x400000 0x800000 16k u w x" \
	    "np 0x404000 8k 0x7fe 0x1000" \
	    "np 0x401000 4k 0x2" \
	    "np 0x600000 4k $wide" \
	    "map 0x40000000 0x2000000 $big w u x" \
	    "np 0x40003000 12k 0x60 0x2" || continue
	verify "np $mode" "$work/np$mode.img" "$CR3" $mode qemu --verbose
	# only when QEMU ran: each np page was probed and faulted with P clear
	grep -q '^probes=' "$work/out" || continue
	for va in 401000 404000 405000 600000 40003000 40005000; do
		va=$(printf %016x $((16#$va)))
		uw=$(printf %016x $((16#$va + 0x20)))
		grep -q "^agree 0x$va r : #PF ec=0x0\$" "$work/out" &&
		    grep -q "^agree 0x$uw uw: #PF ec=0x6 W U\$" "$work/out" && ok ||
		    bad "np $mode: no not-present fault probed at 0x$va"
	done
	[ $mode = 4level ] && verify "np $mode" "$work/np$mode.img" "$CR3" $mode kvm
done

# --- random layouts from the model test's generator ---
for mode in 32bit pae 4level 5level; do
	n=0
	for ((seed = 1; n < nrand && seed < 100; seed++)); do
		"$gen" --emit $mode $seed >"$work/r.spec" 2>/dev/null || continue
		n=$((n + 1))
		"$htable" build "$work/r.spec" -o "$work/r.img" >"$work/sum" 2>"$work/err" ||
		    { bad "random $mode seed $seed: build: $(cat "$work/err")"; continue; }
		CR3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=//')
		verify "random $mode seed $seed" "$work/r.img" "$CR3" $mode qemu
		[ $mode = 4level ] && verify "random $mode seed $seed" "$work/r.img" "$CR3" $mode kvm
	done
	[ $n -eq "$nrand" ] || bad "random $mode: the generator gave $n layouts of $nrand"
done

echo "[====] Synthesis: Tested: $((pass + fail + skip)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || exit 1
# nothing ran: a skip, never a pass (meson counts exit 77 as SKIP)
[ $pass -gt 0 ] || exit 77
exit 0
