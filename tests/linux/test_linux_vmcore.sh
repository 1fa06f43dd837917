#!/usr/bin/env bash
# Crash dumps that the Linux kernel writes itself: make-vmcore.sh boots
# Debian's cloud kernel in QEMU (TCG, -cpu max: 5-level paging), prints
# for every process a user page only it maps and that page's frame (the
# first kernel's /proc/PID/pagemap: the ground truth, truth.txt) and
# QEMU's registers of each CPU (first-cr3.txt), crashes the kernel into a
# kexec'd crash kernel, and keeps /proc/vmcore (vmcore.elf) and what
# makedumpfile -d 31 makes of it: vmcore.c.kdump (zlib), vmcore.l.kdump
# (lzo), vmcore.e.elf (ELF) and vmcore.raw.kdump (uncompressed, when it
# could write it).  These are the files a crashed Linux machine leaves
# (kdump), the ones htable's readers of dumps are for; unlike QEMU's
# dumps (test_linux_guest.sh) they hold no control register: the only
# root a dump names is the kernel's, from VMCOREINFO, and the processes'
# roots must be found from the tables alone.
# Checked on each file, and how we know what is right:
#  - info: exit 0, the format (ELF or diskdump) and 'cpu 0 mode=M
#    cr3=K source=vmcoreinfo', where M is the first kernel's mode (CPU
#    0's CR4.LA57 in QEMU's registers) and K the kernel's root as
#    VMCOREINFO's own text computes it: SYMBOL(init_top_pgt) less
#    __START_KERNEL_map plus NUMBER(phys_base) (Linux's __pa_symbol);
#  - roots: for every process of the truth, exactly one of the roots that
#    share the kernel half maps its page to its frame (translate), the
#    processes' roots are distinct, CPU 0's CR3 in QEMU's registers is a
#    root found, and so is K;
#  - dump (no --cr3, --mode: VMCOREINFO's root) lists K's mappings, all
#    supervisor ones when roots says K maps no user page, exactly what
#    dump --cr3 K --mode M lists; dump --all-roots lists every process's
#    root and K;
#  - the filtered files against vmcore.elf (all of memory): every
#    process's root and K dump the same, and they find the same roots
#    but those whose frame makedumpfile left out (its -d 16 drops free
#    pages: an exited process's top table is one, its user half emptied,
#    still reading as a root in vmcore.elf); the file's own page bitmap
#    (kdump) or program headers (ELF) tell which frames it holds;
#  - vmcore.elf and vmcore.e.elf hold the kernel's image twice (its
#    text mapping's segment and the direct map's): the bytes of
#    overlapping segments are the same, so which one libkdumpfile reads
#    does not matter, and htable, which compares them, says nothing;
#  - roots --json says what roots says (vmcore.elf), and libaddrxlat's
#    walker (xlat_agree, when given) agrees with htable dump on
#    vmcore.elf from K and from each process's root.
# Prints one line per check and ends with a Criterion-style synthesis
# line that the test command counts.  make-vmcore.sh's skip (exit 77: no
# kernel, QEMU, busybox, makedumpfile, ...) is this test's, its reason
# printed.  A run took 66 s with htable built by gcc and 107 s under
# ASan, make-vmcore.sh's 45-50 s included (2 busy cores).
#   usage: test_linux_vmcore.sh HTABLE [XLAT_AGREE]
#   HTABLE_VMCORE_DIR=DIR   the dumps of an earlier make-vmcore.sh DIR:
#                           make-vmcore.sh does not run (DIR is only read)
#   HTABLE_VMCORE_KEEP=DIR  keep every file of the run in DIR
#   HTABLE_CACHE=DIR        for make-vmcore.sh: where the kernel is
set -u
htable=$(realpath "$1")
xlat=${2:-}
[ -z "$xlat" ] || xlat=$(realpath "$xlat")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
files="vmcore.elf vmcore.c.kdump vmcore.l.kdump vmcore.e.elf"
files="$files vmcore.raw.kdump"

# The checks of a run: the files, the processes, CPU 0's registers,
# VMCOREINFO; per file (5) info, roots, one per process (init, 5 sleeps,
# 2 shells), distinct roots, CPU 0's root, the kernel's root, dump and
# dump --all-roots; per filtered file (4) its roots and its dumps against
# vmcore.elf's; the overlaps of the 2 ELF files; roots --json; xlat_agree.
nproc_plan=8
per_file=$((7 + nproc_plan))
planned=$((4 + 5 * per_file + 4 * 2 + 2 + 1 + 1))

pass=0; fail=0; skip=0
ok()  { pass=$((pass + 1)); echo "[PASS] $*"; }
bad() { fail=$((fail + 1)); echo "[FAIL] $*"; }
skp() { skip=$((skip + 1)); echo "[SKIP] $*"; }
note() { echo "[NOTE] $*"; }

# finish: the synthesis; a run cut short fails the checks it did not make
finish() {
	local made=$((pass + fail + skip))
	[ $made -ge $planned ] || fail=$((fail + planned - made))
	echo "[====] Synthesis: Tested: $((pass + fail + skip)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
	if [ $skip -eq 0 ]; then
		echo "$pass passed, $fail failed"
	else
		echo "$pass passed, $fail failed, $skip skipped"
	fi
	[ $fail -eq 0 ]
	exit
}

if [ -n "${HTABLE_VMCORE_KEEP:-}" ]; then
	mkdir -p "$HTABLE_VMCORE_KEEP" || exit 1
	work=$(realpath "$HTABLE_VMCORE_KEEP")
else
	work=$(mktemp -d)
fi
trap '[ -n "${HTABLE_VMCORE_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
cd "$work" || exit 1
t0=$SECONDS

# flat, hx, field, section, owners: lib.sh

# --- the dumps ---
if [ -n "${HTABLE_VMCORE_DIR:-}" ]; then
	d=$(realpath "$HTABLE_VMCORE_DIR")
	note "the dumps of $d (HTABLE_VMCORE_DIR): make-vmcore.sh not run"
else
	bash "$here/make-vmcore.sh" out > make.out 2> make.err
	rc=$?
	if [ $rc -eq 77 ]; then
		echo "SKIP: the kernel's crash dumps: $(grep 'skipped: ' \
		    make.err | tail -n 1 | sed 's/^.*skipped: //')"
		# Criterion counts a skipped test in Tested only
		echo "[====] Synthesis: Tested: $planned | Passing: 0 | Failing: 0 | Crashing: 0" >&2
		echo "0 passed, 0 failed, $planned skipped"
		exit 77
	fi
	d=$work/out
	if [ $rc -ne 0 ]; then
		bad "make-vmcore.sh: exit $rc: $(tail -n 6 make.err |
		    tr '\n' '|')"
		finish
	fi
	note "make-vmcore.sh: $(grep -E 'READY|done|crash kernel done' \
	    make.err | sed 's/^make-vmcore.sh: //' | tr '\n' ' ')"
fi
elf=$d/vmcore.elf
missing=""
for f in vmcore.elf vmcore.c.kdump vmcore.l.kdump vmcore.e.elf truth.txt
do
	[ -s "$d/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "dumps: $(cd "$d" && for f in $files; do [ ! -e $f ] ||
	    echo -n "$f $(($(stat -c %s $f) >> 20)) MiB, "; done)truth.txt"
else
	bad "dumps: missing or empty in $d:$missing"
	finish
fi

# --- the ground truth ---
truth=$d/truth.txt
truth_check "$truth"

# --- CPU 0 of the first kernel, as QEMU saw it: its root, its mode ---
cpu0_cr3=""; mode=""
line=$(grep -E '^cpu 0 cr3=0x[0-9a-f]+ cr4=0x[0-9a-f]+$' \
    "$d/first-cr3.txt" 2> /dev/null)
if [ -n "$line" ]; then
	cpu0_cr3=${line#*cr3=}; cpu0_cr3=${cpu0_cr3%% *}
	cr4=${line##*cr4=}
	# CR4.LA57, bit 12: the kernel uses 5-level paging
	mode=4level
	[ $((cr4 >> 12 & 1)) -eq 0 ] || mode=5level
	ok "first kernel: $line: $mode paging"
else
	bad "first kernel: no 'cpu 0 cr3=.. cr4=..' in first-cr3.txt:" \
	    "$(flat "$d/first-cr3.txt")"
fi

# --- the kernel's root by VMCOREINFO's own numbers ---
kroot=""
re='(SYMBOL\((init_top_pgt|swapper_pg_dir)\)|NUMBER\(phys_base\))'
head -c 4M "$elf" | grep -a -o -E "$re=-?[0-9a-f]+" > vmcoreinfo.txt
sym=$(sed -n 's/^SYMBOL(init_top_pgt)=//p' vmcoreinfo.txt | head -n 1)
[ -n "$sym" ] ||
    sym=$(sed -n 's/^SYMBOL(swapper_pg_dir)=//p' vmcoreinfo.txt | head -n 1)
base=$(sed -n 's/^NUMBER(phys_base)=//p' vmcoreinfo.txt | head -n 1)
if [ -n "$sym" ] && [ -n "$base" ]; then
	# __pa_symbol(): less __START_KERNEL_map, plus phys_base
	kroot=$(hx "(0x$sym - 0xffffffff80000000 + $base) & ~0xfff")
	ok "VMCOREINFO: the kernel's root table 0x$sym (phys_base $base)" \
	    "is at $kroot"
else
	bad "VMCOREINFO: no SYMBOL(init_top_pgt) or NUMBER(phys_base) in" \
	    "vmcore.elf: $(tr '\n' ' ' < vmcoreinfo.txt)"
fi

# the helpers that read the files' own headers (python3)
cat > helper.py << 'EOF'
# helper.py held FILE PA...: "PA 1" when FILE holds the page at PA (an ELF
#   core: in a PT_LOAD's file bytes; kdump: set in the second, dumpable,
#   bitmap), "PA 0" when not
# helper.py overlap FILE: compare the bytes of the ELF core's PT_LOAD
#   segments where their physical ranges overlap; exit 1 when they differ
# helper.py json TEXT JSON: roots' JSON (a file) says what its text says
import json, struct, sys

def loads(f):
    h = f.read(64)
    phoff, = struct.unpack_from('<Q', h, 32)
    phnum, = struct.unpack_from('<H', h, 56)
    f.seek(phoff)
    ph = f.read(56 * phnum)
    out = []
    for i in range(phnum):
        t, _, off, _, pa, fsz, _, _ = struct.unpack_from('<IIQQQQQQ', ph,
                                                          56 * i)
        if t == 1:
            out.append((pa, pa + fsz, off))
    return out

def held(path, pas):
    with open(path, 'rb') as f:
        magic = f.read(8)
        f.seek(0)
        if magic[:4] == b'\x7fELF':
            segs = loads(f)
            has = lambda a: any(s <= a < e for s, e, _ in segs)
        else:
            # makedumpfile's disk_dump_header: block_size, sub_hdr_size,
            # bitmap_blocks, max_mapnr at 428; the bitmaps after the
            # sub-header, the dumpable one second
            h = f.read(448)
            bs, sub, nb, mapnr = struct.unpack_from('<iiII', h, 428)
            f.seek((1 + sub) * bs + nb * bs // 2)
            bm = f.read(nb * bs // 2)
            has = lambda a: (a >> 12) < mapnr and \
                bm[a >> 15] >> (a >> 12 & 7) & 1
        for a in pas:
            print('0x%x %d' % (a, 1 if has(a) else 0))

def overlap(path):
    n = size = 0
    with open(path, 'rb') as f:
        segs = loads(f)
        for i, (s1, e1, o1) in enumerate(segs):
            for s2, e2, o2 in segs[i + 1:]:
                s, e = max(s1, s2), min(e1, e2)
                if s >= e:
                    continue
                n += 1
                size += e - s
                for a in range(s, e, 1 << 20):
                    k = min(1 << 20, e - a)
                    f.seek(o1 + a - s1)
                    b1 = f.read(k)
                    f.seek(o2 + a - s2)
                    if b1 != f.read(k):
                        print('segments at 0x%x and 0x%x differ in the'
                              ' MiB at 0x%x' % (s1, s2, a))
                        sys.exit(1)
    print('%d overlaps, %d MiB, the same bytes' % (n, size >> 20))

def roots_json(text, js):
    want = set()
    for line in open(text):
        v = dict(kv.split('=', 1) for kv in line.split() if '=' in kv)
        if 'mode' in v:
            want.add((v['mode'], int(v['cr3'], 16), int(v['shared']),
                      int(v['user'], 16), int(v['confidence'])))
    got = set((r['mode'], int(r['cr3'], 16), r['shared'],
               int(r['user_bytes'], 16), r['confidence'])
              for r in json.load(open(js)))
    if got != want:
        print('text only: %s; JSON only: %s' %
              (sorted(want - got)[:4], sorted(got - want)[:4]))
        sys.exit(1)
    print('%d roots, the same' % len(got))

cmd = sys.argv[1]
if cmd == 'held':
    held(sys.argv[2], [int(a, 16) for a in sys.argv[3:]])
elif cmd == 'overlap':
    overlap(sys.argv[2])
else:
    roots_json(sys.argv[2], sys.argv[3])
EOF
py=$(command -v python3 || true)


# check_file TAG FILE FORMAT: the checks of one file (FORMAT: elf or
# diskdump, as info names it); leaves TAG.set (its roots that share the
# kernel half), TAG.owner ('ROOT PID COMM' per process)
check_file() {
	local tag=$1 f=$2 fmt=$3 rc n line re what pid comm va pfn want got
	# info: the format, the kernel's root as CPU 0
	"$htable" info "$f" > "$tag.info" 2> "$tag.info.err"
	rc=$?
	line=$(grep -E '^cpu 0 ' "$tag.info")
	if [ -z "$mode" ]; then
		# no registers: the mode info says, so the rest can run
		mode=$(sed -n 's/^cpu 0 mode=\([^ ]*\) .*/\1/p' "$tag.info")
		note "$tag: the mode is info's: ${mode:-none}"
	fi
	if [ -z "$kroot" ]; then
		kroot=$(sed -n 's/^cpu 0 .*cr3=\(0x[0-9a-f]*\).*/\1/p' \
		    "$tag.info")
		note "$tag: the kernel's root is info's: ${kroot:-none}"
	fi
	re="^cpu 0 mode=$mode cr3=$kroot( .*)? source=vmcoreinfo( |\$)"
	if [ $rc -eq 0 ] && grep -Eq "^format .*\\($fmt\\)\$" "$tag.info" &&
	    [[ $line =~ $re ]]; then
		ok "info $tag: $(grep '^format ' "$tag.info"); $line"
	else
		bad "info $tag: exit $rc; want format ($fmt) and 'cpu 0" \
		    "mode=$mode cr3=$kroot source=vmcoreinfo'; got" \
		    "'$(flat "$tag.info")' $(flat "$tag.info.err")"
	fi

	# roots: those that share the kernel half
	"$htable" roots "$f" > "$tag.roots" 2> "$tag.roots.err"
	rc=$?
	field "$tag.roots" cr3 shared | awk '$2 > 0 { print $1 }' > "$tag.set"
	n=$(wc -l < "$tag.set")
	if [ $rc -eq 0 ] && [ "$n" -ge "$nproc" ]; then
		ok "roots $tag: $n $mode roots share the kernel half (of" \
		    "$(grep -c "^mode=$mode " "$tag.roots") $mode candidates)"
	else
		bad "roots $tag: exit $rc, $n roots share a kernel half," \
		    "fewer than the $nproc processes: $(flat "$tag.roots")" \
		    "$(flat "$tag.roots.err")"
	fi

	# every such root, every process's page; distinct roots
	owners "$tag" "$f" "$truth"

	# CPU 0's CR3 (the low 12 bits: PCID, flags), with PTI perhaps the
	# user half's table, the page after the root's
	local r r2
	r=$(hx "${cpu0_cr3:-0} & ~0xfff")
	r2=$(hx "${cpu0_cr3:-0} & ~0x1fff")
	grep -qx "$r" "$tag.set" || r=$r2
	if [ -n "$cpu0_cr3" ] && grep -qx "$r" "$tag.set"; then
		what=$(awk -v r="$r" '$1 == r { print "pid " $2 " (" $3 ")" }' \
		    "$tag.owner")
		ok "$tag: CPU 0's CR3 $cpu0_cr3 is a root" \
		    "(${what:-no process of the truth})"
	else
		bad "$tag: CPU 0's CR3 ${cpu0_cr3:-(unknown)} is not among" \
		    "the roots: $(echo $(cat "$tag.set"))"
	fi

	# the kernel's root
	if [ -n "$kroot" ] && grep -qx "$kroot" "$tag.set"; then
		ok "$tag: the kernel's root $kroot is a root" \
		    "($(grep -E "^mode=$mode cr3=$kroot " "$tag.roots" |
		    cut -d ' ' -f 3-))"
	else
		bad "$tag: the kernel's root ${kroot:-(unknown)} is not among" \
		    "the roots: $(echo $(cat "$tag.set"))"
	fi

	# dump with neither --cr3 nor --mode: VMCOREINFO's root
	local u users
	"$htable" dump "$f" > "$tag.kdump" 2> "$tag.kdump.err"
	rc=$?
	"$htable" dump "$f" --cr3 "${kroot:-0}" --mode "$mode" \
	    > "$tag.kroot" 2> "$tag.kroot.err"
	u=$(field "$tag.roots" cr3 user |
	    awk -v r="$kroot" '$1 == r { print $2 }')
	re='^[0-9a-f]+-[0-9a-f]+ [0-9a-f]+ [0-9a-z]+ [r-][w-][x-] [us] '
	n=$(grep -Evc "$re" "$tag.kdump")
	users=$(grep -Ec "${re/\[us\]/u}" "$tag.kdump")
	if [ $rc -eq 0 ] && [ -s "$tag.kdump" ] && [ "$n" -eq 0 ] &&
	    { [ "$u" != 0x0 ] || [ "$users" -eq 0 ]; } &&
	    cmp -s "$tag.kdump" "$tag.kroot"; then
		ok "dump $tag: $(wc -l < "$tag.kdump") ranges of the kernel's" \
		    "root, $users user ones (roots: user=$u), as --cr3" \
		    "$kroot --mode $mode"
	else
		bad "dump $tag: exit $rc, $(wc -l < "$tag.kdump") lines," \
		    "$n not ranges, $users user ones (roots: user=${u:-?});" \
		    "$(cmp -s "$tag.kdump" "$tag.kroot" && echo "the same" ||
		    echo "not the same") as --cr3 $kroot --mode $mode:" \
		    "$(head -n 2 "$tag.kdump" | tr '\n' '|')" \
		    "$(flat "$tag.kdump.err") $(flat "$tag.kroot.err")"
	fi

	# dump --all-roots: a list for each process's root and the kernel's
	"$htable" dump "$f" --all-roots > "$tag.all" 2> "$tag.all.err"
	rc=$?
	sed -n 's/^root cr3=\(0x[0-9a-f]*\)$/\1/p' "$tag.all" | sort \
	    > "$tag.heads"
	n=$({ awk '{ print $1 }' "$tag.owner"; echo "$kroot"; } | sort -u |
	    comm -23 - "$tag.heads")
	if [ $rc -eq 0 ] && [ -z "$n" ] && [ -s "$tag.owner" ]; then
		ok "dump $tag --all-roots: $(wc -l < "$tag.heads") roots," \
		    "each process's and the kernel's among them" \
		    "($(wc -l < "$tag.all") lines)"
	else
		bad "dump $tag --all-roots: exit $rc; no 'root cr3=' line for" \
		    "$(echo $n); heads: $(echo $(cat "$tag.heads"))" \
		    "$(flat "$tag.all.err")"
	fi
}

# against_elf TAG FILE: the filtered FILE against vmcore.elf: the same
# roots but those whose frame FILE does not hold; the same dumps of the
# processes' roots and the kernel's
against_elf() {
	local tag=$1 f=$2 gone extra r h why="" live rc rc2 other n
	gone=$(sort "$tag.set" | comm -23 <(sort elf.set) -)
	extra=$(sort "$tag.set" | comm -13 <(sort elf.set) -)
	if [ -n "$gone" ] && [ -n "$py" ]; then
		"$py" helper.py held "$f" $gone > "$tag.held" 2>&1
	fi
	for r in $gone; do
		h=$(awk -v r="$r" '$1 == r { print $2 }' "$tag.held" \
		    2> /dev/null)
		if awk '{ print $1 }' elf.owner | grep -qx "$r" ||
		    [ "$r" = "$kroot" ]; then
			why="$why $r(a process's or the kernel's)"
		elif [ "$h" != 0 ]; then
			why="$why $r(held: ${h:-?})"
		elif [ "$(field elf.roots cr3 user | awk -v r="$r" '$1 == r {
		    print $2 }')" != 0x0 ]; then
			# a freed top table: its user half emptied at exit
			why="$why $r(maps user pages in vmcore.elf)"
		fi
	done
	if [ -z "$py" ] && [ -n "$gone" ]; then
		bad "roots $tag: $(echo $gone) not found, and no python3 to" \
		    "tell whether $tag holds their frames"
	elif [ -z "$extra" ] && [ -z "$why" ]; then
		n="the same $(wc -l < elf.set) roots as vmcore.elf"
		[ -z "$gone" ] || n="$n but $(echo $gone | wc -w) with no user"
		[ -z "$gone" ] || n="$n half, whose frames $tag does not hold"
		ok "roots $tag: $n${gone:+ (free pages): $(echo $gone)}"
	else
		bad "roots $tag: against vmcore.elf's: more:" \
		    "${extra:-none}; fewer that should not be:${why:- none}" \
		    "$(flat "$tag.held")"
	fi

	# what must dump the same: the processes' roots and the kernel's
	live=$({ awk '{ print $1 }' elf.owner; echo "$kroot"; } | grep . |
	    sort -u)
	"$htable" dump "$f" $(sed 's/^/--cr3 /' <<< "$live") \
	    --mode "$mode" > "$tag.live" 2> "$tag.live.err"
	rc=$?
	"$htable" dump "$elf" $(sed 's/^/--cr3 /' <<< "$live") \
	    --mode "$mode" > elf.live 2> elf.live.err
	rc2=$?
	n=$(grep -c '^root cr3=' "$tag.live")
	if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$tag.live" elf.live &&
	    [ "$n" -eq $((nproc + 1)) ] &&
	    [ "$(wc -l < elf.live)" -gt $((2 * n)) ]; then
		ok "dump $tag: the $n roots of the processes and the kernel" \
		    "dump as in vmcore.elf ($(wc -l < elf.live) lines)"
	else
		bad "dump $tag: the processes' and the kernel's $n roots:" \
		    "exit $rc (vmcore.elf: $rc2); $(diff elf.live \
		    "$tag.live" | head -n 6 | tr '\n' '|')" \
		    "$(flat "$tag.live.err")"
	fi
	# the other roots found in both: said, not required
	other=""
	for r in $(sort "$tag.set" | comm -12 <(sort elf.set) - |
	    comm -23 - <(echo "$live")); do
		cmp -s <(section elf "$r") <(section "$tag" "$r") ||
		    other="$other $r"
	done
	[ -z "$other" ] ||
	    note "$tag: other roots that dump otherwise than in" \
		"vmcore.elf:$other"
}

for f in $files; do
	case $f in
	vmcore.elf) tag=elf ;;
	vmcore.c.kdump) tag=c ;;
	vmcore.l.kdump) tag=l ;;
	vmcore.e.elf) tag=e ;;
	vmcore.raw.kdump) tag=raw ;;
	esac
	case $f in
	*.elf) fmt=elf ;;
	*) fmt=diskdump ;;
	esac
	if [ ! -s "$d/$f" ]; then
		why="makedumpfile -d 31 (no compression) wrote no $f"
		for c in info roots $(seq 1 $nproc_plan | sed 's/^/process-/') \
		    distinct cpu0 kernel-root dump all-roots roots-vs-elf \
		    dumps-vs-elf; do
			skp "$tag: $c: $why"
		done
		continue
	fi
	check_file "$tag" "$d/$f" $fmt
	if [ $tag = elf ]; then
		# once: roots --json, the same roots as the text
		"$htable" roots "$d/$f" --json > elf.json 2> elf.json.err
		rc=$?
		if [ -z "$py" ]; then
			skp "roots elf --json: no python3 to read it"
		elif [ $rc -eq 0 ] &&
		    "$py" helper.py json elf.roots elf.json > json.out 2>&1
		then
			ok "roots elf --json: $(cat json.out) as the text"
		else
			bad "roots elf --json: exit $rc: $(flat json.out)" \
			    "$(flat elf.json.err)"
		fi
	else
		against_elf "$tag" "$d/$f"
	fi
	if [ $fmt = elf ]; then
		if [ -z "$py" ]; then
			skp "$tag: overlapping segments: no python3 to read" \
			    "them"
		elif "$py" helper.py overlap "$d/$f" > "$tag.ov" 2>&1 &&
		    ! grep -q overlap "$tag.info.err"; then
			ok "$tag: overlapping segments: $(cat "$tag.ov");" \
			    "htable compared them: no warning"
		else
			bad "$tag: overlapping segments: $(flat "$tag.ov");" \
			    "htable info said: $(flat "$tag.info.err")"
		fi
	fi
done

# --- libaddrxlat agrees: the kernel's root and every process's ---
if [ -z "$xlat" ]; then
	skp "xlat_agree: not given (tests/linux/meson.build passes it)"
else
	res=""; failed=""
	for r in $(awk '{ print $1 }' elf.owner; echo "$kroot"); do
		"$htable" dump "$elf" --cr3 "$r" --mode "$mode" \
		    --format json > xlat.json 2> xlat.err
		rc=$?
		if [ $rc -ne 0 ]; then
			failed="$failed $r: htable dump: exit $rc:"
			failed="$failed $(flat xlat.err);"
			continue
		fi
		"$xlat" "$elf" "$mode" "$r" < xlat.json > xlat.out 2>&1
		rc=$?
		if [ $rc -ne 0 ] || ! grep -q ' 0 disagree;' xlat.out; then
			failed="$failed $r: exit $rc: $(head -n 8 xlat.out |
			    tr '\n' '|');"
		else
			res=$(sed 's/^[^:]*: //' xlat.out | head -n 1)
		fi
	done
	n=$(($(wc -l < elf.owner) + 1))
	if [ -z "$failed" ] && [ -s elf.owner ]; then
		ok "xlat_agree vmcore.elf: $n roots (the processes', the" \
		    "kernel's), no disagreement; the kernel's: $res"
	else
		bad "xlat_agree vmcore.elf: ${failed:-no process root}"
	fi
fi

note "$((SECONDS - t0)) s, $(head -c 1M "$elf" |
    grep -a -o 'OSRELEASE=[^[:cntrl:]]*' | head -n 1)"
finish
