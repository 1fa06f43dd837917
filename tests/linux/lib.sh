# lib.sh - what the Linux guest scripts share, sourced by
# test_linux_guest.sh, test_linux_vmcore.sh and make-vmcore.sh: output
# helpers, the reading of `htable roots` lines, QEMU's QMP monitor, and
# the check at the heart of both tests, that every process of the guest
# has exactly one page-table root in the dump, found by its own page.
# The sourcing script defines ok and bad (the tests), and sets htable,
# mode and nproc before it calls owners, qin and qout (a coprocess's
# pipes to QEMU's QMP) before it calls qmp.

# flat FILE: its first 400 bytes on one line
flat() { head -c 400 "$1" 2> /dev/null | tr '\n' '|' | sed 's/|$//'; }

# hx N: N (decimal or 0x) as 0x-hex
hx() { printf '0x%x' "$(($1))"; }

# field ROOTS NAME...: fields NAME... (values) of the $mode lines of an
# htable roots output ROOTS
field() {
	local f=$1; shift
	awk -v m="$mode" -v names="$*" 'BEGIN { n = split(names, want, " ") }
	    { delete v; for (i = 1; i <= NF; i++) { split($i, kv, "=");
	    v[kv[1]] = kv[2] } }
	    v["mode"] == m { s = ""; for (i = 1; i <= n; i++)
	    s = s (i > 1 ? " " : "") v[want[i]]; print s }' "$f"
}

# section TAG R: root R's list in TAG.all (an htable dump --all-roots)
section() {
	awk -v h="root cr3=$2" '/^root cr3=/ { on = ($0 == h) } on' \
	    "$1.all" 2> /dev/null
}

# owners TAG FILE TRUTH: translate, in FILE, every root of TAG.set at
# every process's page of TRUTH (init.sh's PROC lines); for each process
# one check, that exactly one root maps its page to its frame (TAG.owner
# gets 'ROOT PID COMM'), then one that the processes' roots differ
owners() {
	local tag=$1 f=$2 truth=$3 rc n what pid comm va pfn want got
	"$htable" translate "$f" $(sed 's/^/--cr3 /' "$tag.set") \
	    --mode "$mode" $(awk '/^PROC/ { sub("va=", "", $4); print $4 }' \
	    "$truth" | sort -u) > "$tag.tr" 2> "$tag.tr.err"
	rc=$?
	awk '/^root / { r = $NF; sub("cr3=", "", r) }
	    /^va / && $3 == "pa" { va = $2; sub(":", "", va); pa = $4;
	    sub(",", "", pa); print r, va, pa }' "$tag.tr" > "$tag.map"
	: > "$tag.owner"
	while read -r what pid comm va pfn; do
		pid=${pid#pid=}; comm=${comm#comm=}; va=${va#va=}
		pfn=${pfn#pfn=}; want=$(hx "$pfn << 12")
		got=$(awk -v va="$va" -v pa="$want" '$2 == va && $3 == pa {
		    print $1 }' "$tag.map")
		if [ "$(echo "$got" | grep -c .)" -eq 1 ]; then
			ok "$tag: pid $pid ($comm): root $got maps $va to" \
			    "frame $pfn"
			echo "$got $pid $comm" >> "$tag.owner"
		else
			bad "$tag: pid $pid ($comm): want exactly one root" \
			    "mapping $va to $want; got: '$(echo $got)'" \
			    "(translate: exit $rc, $(flat "$tag.tr.err"))"
		fi
	done < <(grep '^PROC' "$truth")
	# distinct processes, distinct roots
	n=$(awk '{ print $1 }' "$tag.owner" | sort | uniq -d)
	if [ -z "$n" ] && [ "$(wc -l < "$tag.owner")" -eq "$nproc" ]; then
		ok "$tag: the $nproc processes have $nproc distinct roots"
	else
		bad "$tag: $(wc -l < "$tag.owner") of the $nproc processes" \
		    "have a root${n:+; roots of several processes: $(echo $n)}"
	fi
}

# truth_check TRUTH: the guest's processes in TRUTH (init.sh's report)
# are init, 5 sleeps and 2 shells, each with a page of its own: 1 check,
# and 1 failure per process without one; sets nproc
truth_check() {
	local t=$1 procs what pid comm
	nproc=$(grep -c '^PROC' "$t")
	procs=$(awk '/^PROC/ { sub("comm=", "", $3); n[$3]++ }
	    END { for (c in n) printf "%s%d %s", (s++ ? ", " : ""), n[c], c }' \
	    "$t")
	if [ "$(grep -c '^PROC .* comm=init ' "$t")" -eq 1 ] &&
	    [ "$(grep -c '^PROC .* comm=sleep ' "$t")" -ge 5 ] &&
	    [ "$(grep -c '^PROC .* comm=sh ' "$t")" -ge 2 ]; then
		ok "guest: $nproc processes with an address space: $procs"
	else
		bad "guest: want init, 5 sleeps and 2 shells; got $nproc" \
		    "processes: $procs"
	fi
	while read -r what pid comm; do
		bad "guest: ${pid#pid=} (${comm#comm=}): no present page" \
		    "of its own"
	done < <(grep '^NOPAGE' "$t")
}

# qmp CMD [ARGS-JSON]: run a QMP command and wait (up to 300 s) for its
# answer, in reply; 1 when it failed (reply says why).  Its exchanges go
# to qmp.log.
qid=0
qmp() {
	local line
	qid=$((qid + 1))
	echo "{\"execute\": \"$1\"${2:+, \"arguments\": $2}, \"id\": $qid}" \
	    >&"$qin" 2> /dev/null || { reply="QEMU is gone"; return 1; }
	while IFS= read -r -t 300 line <&"$qout"; do
		echo "$line" >> qmp.log
		if [[ $line =~ \"id\":\ *$qid[,}\ ] ]]; then
			reply=$line
			[[ $line == *'"return"'* ]]
			return
		fi
	done
	reply="no answer (QEMU exited or timed out): $(flat qemu.err)"
	return 1
}
