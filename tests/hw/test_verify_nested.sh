#!/usr/bin/env bash
# Hardware agreement for second-level tables: `htable verify` on the
# MMUs that walk them -- Bochs (Intel EPT through VMX, AMD NPT through
# SVM) and QEMU's TCG (NPT through SVM).  The engine's own guest is the
# hypervisor: it enters a nested guest whose second-level tables are the
# image's, and every probe is a guest-physical access of that guest.
# Layouts that catch the classic bugs: EPT write without read, execute-
# only pages, memory types 2, 3 and 7 and a memory type in a non-leaf
# entry, A/D on and off in the EPTP, large pages at every level, rights
# taken away at an upper level (EPT R/W/X, NPT U, R/W and NX), reserved
# bits; guests on their own tables (verify --guest-mode, and build
# --verify of the example layouts with a guest section); then random
# layouts from the model test's generator in every nested mode.  Every
# check must end "disagree=0" with exit status 0.  An engine the machine
# lacks is skipped with its reason; when every check was skipped nothing
# was verified and the test reports a skip (exit 77), not a pass.
#   usage: test_verify_nested.sh HTABLE DUMP_MODEL
set -u
htable=$1
gen=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/verify_lib.sh"
nrand=${HTABLE_VERIFY_RANDOM:-3}

# An engine this build of the command does not know is skipped like an
# absent one: verify() below then counts its checks as skipped.
known() {
	"$htable" verify /nonexistent --cr3 0 --mode ept4 --engine "$1" 2>&1 |
	    grep -q "not one of" && return 1
	return 0
}
if ! known bochs; then
	eval "verify_run() $(declare -f verify | tail -n +2)"
	verify() {
		VERIFIED=0
		if [ "$5" = bochs ]; then
			skip "$1 (bochs): this htable has no Bochs engine"
			return
		fi
		verify_run "$@"
	}
fi

# expect_line PATTERN WHAT: the last verify's output has a line matching
# PATTERN (when it ran)
expect_line() {
	[ "$VERIFIED" -eq 1 ] || return 0
	grep -q -- "$1" "$work/out" && ok || bad "$2: no line '$1'"
}

# --- EPT, 4 levels: Bochs ---
if build e4 "mode ept4" "ept ad xonly" "pagesizes 4k 2m 1g" \
    "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k w x" \
    "map 0x600000 0x900000 16k" \
    "map 0x800000 0xa00000 16k w" \
    "map 0xa00000 0xb00000 16k x" \
    "map 0xc00000 0xb10000 16k x noread" \
    "map 0x1000000 0xc00000 16k w x mt=uc" \
    "map 0x1004000 0xc04000 16k w mt=wc ipat" \
    "map 0x1008000 0xc08000 16k w mt=wt" \
    "map 0x100c000 0xc0c000 16k mt=wp" \
    "map 0x40000000 0x2000000 4m w x" \
    "unmap 0x40201000 4k" \
    "protect 0x40380000 8k x" \
    "map 0x80000000 0x0 1g w page=1g" \
    "map 0x8000000000 0xd00000 4k w x"; then
	e4=$CR3
	verify "ept4 classic" "$work/e4.img" "$e4" ept4 bochs --ept ad,xonly --verbose
	# a completed write set D, a read A only; a violation names the
	# access and what the walk allowed
	expect_line '^agree 0x0000000000600008 w : EPT violation q=0xa (w; allowed r--)' \
	    "ept4: write to a read-only page"
	expect_line '^agree 0x0000000000800010 x : EPT violation q=0x1c (x; allowed rw-)' \
	    "ept4: fetch from a non-executable page"
	expect_line '^agree 0x0000000000c00000 r : EPT violation q=0x21 (r; allowed --x)' \
	    "ept4: read of an execute-only page"
	# A/D disabled in the EPTP: the same tables, nothing set
	verify "ept4 a/d off" "$work/e4.img" $((e4 & ~0x40)) ept4 bochs --ept xonly
	# a 1 GiB page on a CPU without 1 GiB EPT pages: a misconfiguration
	verify "ept4 1g on a CPU without" "$work/e4.img" "$e4" ept4 bochs \
	    --ept ad,xonly --cpu no1g --verbose
	expect_line '^agree 0x0000000080000000 r : EPT misconfiguration' \
	    "ept4: a 1 GiB page on a CPU without them"
	# write without read: a misconfiguration
	cp "$work/e4.img" "$work/e4wr.img"
	clear_bit "$work/e4wr.img" "$e4" ept4 0x800000 0 0
	verify "ept4 write without read" "$work/e4wr.img" "$e4" ept4 bochs --ept ad,xonly --verbose
	expect_line '^agree 0x0000000000800000 r : EPT misconfiguration' \
	    "ept4: write without read"
	# memory types 2, 3 and 7 in a leaf; a memory type in a PDE that
	# points to a table (bits 5:3 are reserved there)
	cp "$work/e4.img" "$work/e4mt.img"
	set_bit "$work/e4mt.img" "$e4" ept4 0x1000000 0 4
	set_bit "$work/e4mt.img" "$e4" ept4 0x1004000 0 4
	set_bit "$work/e4mt.img" "$e4" ept4 0x1008000 0 3
	set_bit "$work/e4mt.img" "$e4" ept4 0x1008000 0 4
	set_bit "$work/e4mt.img" "$e4" ept4 0x40200000 1 3
	verify "ept4 memory types" "$work/e4mt.img" "$e4" ept4 bochs --ept ad,xonly --verbose
	expect_line '^agree 0x0000000001000000 r : EPT misconfiguration' \
	    "ept4: memory type 2"
	expect_line '^agree 0x0000000001004000 r : EPT misconfiguration' \
	    "ept4: memory type 3"
	expect_line '^agree 0x0000000001008000 r : EPT misconfiguration' \
	    "ept4: memory type 7"
	expect_line '^agree 0x0000000040200000 r : EPT misconfiguration' \
	    "ept4: a memory type in a PDE that points to a table"
	# rights taken away above the leaf: no write in a PDPTE, no execute
	# in a PML4E (the qualification ANDs the walk's rights)
	cp "$work/e4.img" "$work/e4up.img"
	clear_bit "$work/e4up.img" "$e4" ept4 0x400000 2 1
	clear_bit "$work/e4up.img" "$e4" ept4 0x8000000000 3 2
	verify "ept4 upper rights" "$work/e4up.img" "$e4" ept4 bochs --ept ad,xonly --verbose
	expect_line '^agree 0x0000000000400008 w : EPT violation q=0x2a (w; allowed r-x)' \
	    "ept4: write under a read-only PDPTE"
fi

# --- EPT, 5 levels: Bochs, where its CPU walks 5 levels ---
if build e5 "mode ept5" "ept ad" "pool 0x100000 1m" \
    "map 0x400000 0x800000 16k w x" \
    "map 0x600000 0x900000 16k" \
    "map 0x40000000 0x2000000 2m w x" \
    "map 0x8000000000 0xd00000 4k w x" \
    "map 0x1000000000000 0xd01000 4k w"; then
	verify "ept5 classic" "$work/e5.img" "$CR3" ept5 bochs
fi

# --- NPT, 4 and 5 levels: QEMU and Bochs ---
for mode in npt4 npt5; do
	build n$mode "mode $mode" "pagesizes 4k 2m 1g" "pool 0x100000 1m" \
	    "map 0x400000 0x800000 16k w x" \
	    "map 0x600000 0x900000 16k" \
	    "map 0x800000 0xa00000 16k w" \
	    "map 0x1000000 0xc00000 16k w x pcd" \
	    "map 0x40000000 0x2000000 4m w x" \
	    "unmap 0x40201000 4k" \
	    "protect 0x40380000 8k x" \
	    "map 0x80000000 0x0 1g w page=1g" \
	    "map 0x8000000000 0xd00000 4k w x" || continue
	img=$work/n$mode.img
	# U taken away in a PDE, R/W in a PDPTE: nested walks are user
	# accesses, so both fault; a reserved bit (PS in a PML4E: the scan
	# finds no leaf under it, so the probes are named)
	printf '%s\n' "0x400000 r" "0x400008 w" "0x600000 r" "0x1000000 r" \
	    "0x1000008 w" "0x1000010 x" "0x8000000000 r" "0x8000000010 x" \
	    "0x40000000 w" "0x80000000 r" >"$work/nprobes"
	cp "$img" "$work/n${mode}u.img"
	clear_bit "$work/n${mode}u.img" "$CR3" $mode 0x400000 1 2
	clear_bit "$work/n${mode}u.img" "$CR3" $mode 0x1000000 2 1
	set_bit "$work/n${mode}u.img" "$CR3" $mode 0x8000000000 3 7
	for eng in qemu bochs; do
		for cpu in nxe none; do
			verify "$mode classic cpu=$cpu" "$img" "$CR3" $mode $eng --cpu $cpu --verbose
			[ $cpu = nxe ] && expect_line '^agree 0x0000000000800010 x : #NPF ec=0x15 P U I' \
			    "$mode ($eng): fetch from an NX page"
		done
		# a 1 GiB page on a CPU without them (QEMU 7.2 walks them
		# anyway: Bochs only)
		if [ $eng = bochs ]; then
			verify "$mode 1g on a CPU without" "$img" "$CR3" $mode $eng \
			    --cpu nxe,no1g --verbose
			expect_line '^agree 0x0000000080000000 r : #NPF ec=0xd P U RSVD$' \
			    "$mode ($eng): a 1 GiB page on a CPU without them"
		fi
		verify "$mode upper U, R/W, reserved" "$work/n${mode}u.img" "$CR3" $mode $eng \
		    --verbose --probes "$work/nprobes"
		expect_line '^agree 0x0000000000400000 r : #NPF ec=0x5 P U$' \
		    "$mode ($eng): U clear in a PDE"
		expect_line '^agree 0x0000000001000008 w : #NPF ec=0x7 P W U$' \
		    "$mode ($eng): R/W clear in a PDPTE"
		# (QEMU 7.2 leaves P out of a reserved-bit fault: a quirk)
		if [ $eng = qemu ]; then
			expect_line '^QUIRK 0x0000008000000000 r : mmu #NPF ec=0xc U RSVD; library #NPF ec=0xd P U RSVD' \
			    "$mode ($eng): PS in a PML4E"
		else
			expect_line '^agree 0x0000008000000000 r : #NPF ec=0xd P U RSVD$' \
			    "$mode ($eng): PS in a PML4E"
		fi
	done
done

# --- a guest on the tables: nested faults during the guest's own walk ---
# The guest's 4-level tables are in guest memory; the host's tables keep
# one of the guest's table pages read-only (with A/D on, the guest's walk
# writes it: an exit during the walk), leave another guest table page
# unmapped (an edit after the build, which refuses guest tables in
# memory the host does not map), make guest data read-only and unmapped,
# and map the rest.
# build_guest NAME LINES...: the image of a layout with a guest section;
# sets CR3 (the host's root) and GCR3 (the guest's)
build_guest() {
	local name=$1; shift
	build "$name" "$@" || return 1
	CR3=$(grep '^mode=' "$work/sum" | sed 's/.*cr3=\(0x[0-9a-f]*\).*/\1/')
	GCR3=$(grep '^guest mode=' "$work/sum" | sed 's/.*cr3=\(0x[0-9a-f]*\).*/\1/')
}
for host in ept4 npt4 ept5 npt5; do
	adline=("ept ad")
	case $host in npt*) adline=() ;; esac
	build_guest g$host "mode $host" "${adline[@]}" "pagesizes 4k 2m 1g" \
	    "pool 0x100000 1m" \
	    "map 0 0x40000000 1g w x" \
	    "protect 0x205000 4k" \
	    "protect 0x3000000 2m x" \
	    "unmap 0x3200000 2m" \
	    "guest 4level" "pool 0x200000 64k" \
	    "map 0x400000 0x1000000 16k w x u" \
	    "map 0xffffffff80000000 0x2000000 2m w x g" \
	    "map 0x7fff0000 0x3000000 4k w u" \
	    "map 0x7fff1000 0x3200000 4k w u" \
	    "map 0x7fff2000 0x1004000 4k u" \
	    "map 0x7fe00000 0x1100000 8k w" || continue
	# the guest's page table for 0x7fe00000 (guest-physical 0x207000):
	# not mapped by the host (EPT: no right; NPT: not present)
	if [ ${#adline[@]} -ne 0 ]; then
		for b in 0 1 2; do
			clear_bit "$work/g$host.img" "$CR3" $host 0x207000 0 $b
		done
	else
		clear_bit "$work/g$host.img" "$CR3" $host 0x207000 0 0
	fi
	engines="bochs"
	case $host in npt*) engines="qemu bochs" ;; esac
	for eng in $engines; do
		for cpu in "wp,nxe" "nxe,smep,smap"; do
			verify "guest on $host cpu=$cpu" "$work/g$host.img" "$CR3" $host $eng \
			    --guest-mode 4level --guest-cr3 "$GCR3" --cpu $cpu --verbose
		done
	done
done

# --- build --verify of a layout with a guest section ---
# The host's tables are verified, then the guest's as a guest job: two
# reports, the second after a "guest mode=M cr3=0xG host cr3=0xH" line,
# each ending disagree=0.  Exit 4 (no engine ran) is a skip.
src=$(dirname "$0")/../../examples
for ex in "nested-ept4 bochs" "nested-npt4 qemu" "nested-npt4 bochs"; do
	set -- $ex
	name="build --verify $1.spec ($2)"
	if [ "$2" = bochs ] && ! known bochs; then
		skip "$name: this htable has no Bochs engine"
		continue
	fi
	"$htable" build "$src/$1.spec" -o "$work/bv.img" --verify --engine "$2" \
	    >"$work/out" 2>"$work/err"
	rc=$?
	gm=$(sed -n 's/^guest mode=\([a-z0-9]*\) cr3=.*/\1/p' "$work/out" | head -n 1)
	if [ $rc -eq 4 ]; then
		skip "$name: $(grep 'skipped' "$work/out" | head -n 1)"
	elif [ $rc -ne 0 ]; then
		bad "$name: exit $rc: $(grep -E 'DISAGREE|engine' "$work/out" | head -n 3)"
	elif [ "$(grep -c '^probes=[1-9][0-9]* agree=[0-9]* disagree=0' "$work/out")" -ne 2 ]; then
		bad "$name: not two agreeing reports: $(grep '^probes=' "$work/out")"
	elif ! grep -q "^guest mode=$gm cr3=0x[0-9a-f]* host cr3=0x[0-9a-f]*\$" "$work/out" ||
	    ! grep -A1 '^guest mode=.*host cr3=' "$work/out" | grep -q "guest $gm"; then
		bad "$name: no guest job after the host's report"
	else
		ok
	fi
done

# --- random layouts from the model test's generator ---
for mode in npt4 npt5 ept4 ept5; do
	engines="bochs"
	case $mode in npt*) engines="qemu bochs" ;; esac
	n=0
	for ((seed = 1; n < nrand && seed < 100; seed++)); do
		"$gen" --emit $mode $seed >"$work/r.spec" 2>/dev/null || continue
		"$htable" build "$work/r.spec" -o "$work/r.img" >"$work/sum" 2>"$work/err" ||
		    { n=$((n + 1)); bad "random $mode seed $seed: build: $(cat "$work/err")"; continue; }
		# a layout whose last statements took everything away: no probe
		grep -q '^leaves: 0 x 4k 0 x 2m 0 x 1g' "$work/sum" && continue
		n=$((n + 1))
		CR3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=\(0x[0-9a-f]*\).*/\1/')
		for eng in $engines; do
			verify "random $mode seed $seed" "$work/r.img" "$CR3" $mode $eng
		done
	done
	[ $n -eq "$nrand" ] || bad "random $mode: the generator gave $n layouts of $nrand"
done

echo "[====] Synthesis: Tested: $((pass + fail + skip)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || exit 1
# nothing ran: a skip, never a pass (meson counts exit 77 as SKIP)
[ $pass -gt 0 ] || exit 77
exit 0
