#!/usr/bin/env bash
# A real Linux guest: boot Debian's cloud kernel (fetch-kernel.sh put it
# in htable's cache) in QEMU (TCG, -cpu max: 5-level paging) with a
# busybox initramfs whose /init (init.sh) starts long-lived processes and
# prints, for every process with an address space, a user page that only
# that process maps and the frame it maps it to, read from
# /proc/PID/pagemap: the ground truth.  Then, the guest stopped, save its
# memory three ways from the QMP monitor: an ELF core (dump-guest-memory),
# a kdump-compressed file (dump-guest-memory kdump-zlib, reassembled by
# makedumpfile -R) and a raw image (pmemsave).  htable must find every
# process's page-table root in each of them:
#  - info of the ELF core names CPU 0's mode and CR3 (QEMU's too), and
#    info of the kdump file the same (QEMU's notes are there too);
#  - roots: for every process, exactly one of the roots that share the
#    kernel half maps its page to its frame (translate), and distinct
#    processes have distinct roots; the roots with user mappings that no
#    process accounts for are listed and few (the real-mode trampoline's);
#  - dump --all-roots lists every such root;
#  - the same on the kdump file and the raw image (--mode), whose dumps of
#    every root equal the ELF core's;
#  - CPU 0's CR3 is one of the roots.
# Prints one line per check and ends with a Criterion-style synthesis
# line that the test command counts.  Without the kernel, QEMU, a static
# busybox, cpio or makedumpfile nothing runs: a skip (exit 77).
#   usage: test_linux_guest.sh HTABLE
#   HTABLE_CACHE=DIR       where fetch-kernel.sh put vmlinuz-cloud-amd64
#                          (default ${XDG_CACHE_HOME:-$HOME/.cache}/htable)
#   HTABLE_LINUX_KEEP=DIR  keep every file of the run in DIR
set -u
htable=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cache=${HTABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/htable}
kernel=$cache/vmlinuz-cloud-amd64
ram_mb=256
boot_s=120			# from QEMU's start to the guest's READY
max_stray=2			# roots with user pages but no process

# The checks of a run: the dumps, the guest's processes, info (ELF,
# kdump); per image
# roots, one per process (init, 5 sleeps, 2 shells), distinct roots,
# accounting and dump --all-roots; CPU 0's CR3; kdump and raw = ELF.
planned=$((4 + 3 * (4 + 8) + 3))

pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "[PASS] $*"; }
bad() { fail=$((fail + 1)); echo "[FAIL] $*"; }
note() { echo "[NOTE] $*"; }

# finish: the synthesis; a run cut short fails the checks it did not make
finish() {
	if [ $fail -gt 0 ] && [ $((pass + fail)) -lt $planned ]; then
		fail=$((planned - pass))
	fi
	echo "[====] Synthesis: Tested: $((pass + fail)) | Passing: $pass | Failing: $fail | Crashing: 0" >&2
	echo "$pass passed, $fail failed"
	[ $fail -eq 0 ]
	exit
}

# --- what is needed ---
qemu=$(command -v qemu-system-x86_64 || true)
mdf=$(command -v makedumpfile || true)
bb=$(command -v busybox || true)
why=""
if [ ! -s "$kernel" ]; then
	why="no kernel at $kernel (tests/linux/fetch-kernel.sh puts it there;"
	why="$why scripts/deps.sh runs it)"
elif [ -z "$qemu" ]; then
	why="qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
elif [ -z "$bb" ] ||
    ! LC_ALL=C ldd "$bb" 2>&1 | grep -Eq 'not a dynamic|statically'; then
	why="no static busybox for the initramfs (Debian: busybox-static)"
elif ! command -v cpio > /dev/null || ! command -v gzip > /dev/null; then
	why="cpio or gzip is not installed (Debian: cpio, gzip)"
elif [ -z "$mdf" ]; then
	why="makedumpfile is not installed (Debian: makedumpfile)"
fi
if [ -n "$why" ]; then
	echo "SKIP: the Linux guest test: $why"
	# Criterion counts a skipped test in Tested only
	echo "[====] Synthesis: Tested: $planned | Passing: 0 | Failing: 0 | Crashing: 0" >&2
	echo "0 passed, 0 failed, $planned skipped"
	exit 77
fi

if [ -n "${HTABLE_LINUX_KEEP:-}" ]; then
	mkdir -p "$HTABLE_LINUX_KEEP" || exit 1
	work=$(realpath "$HTABLE_LINUX_KEEP")
else
	work=$(mktemp -d)
fi
qpid=""
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2> /dev/null
	[ -n "${HTABLE_LINUX_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$work" || exit 1
t0=$SECONDS

# flat F: file F's first lines joined with '|' (for one-line messages)

# --- the initramfs: busybox, its applets' links, init.sh as /init ---
rm -rf ird && mkdir -p ird/bin ird/dev ird/proc ird/sys || exit 1
cp "$bb" ird/bin/busybox && cp "$here/init.sh" ird/init &&
    chmod 755 ird/init ird/bin/busybox || exit 1
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -s busybox "ird/bin/$a"
done
if ! (cd ird && find . | cpio -o -H newc -R 0:0 --quiet) |
    gzip -1 > initrd.gz; then
	bad "initramfs: cpio failed"
	finish
fi

# --- QEMU, its QMP monitor on a coprocess's pipes ---
coproc QEMU { exec "$qemu" -accel tcg -cpu max -m "${ram_mb}M" \
    -nodefaults -display none -no-reboot \
    -kernel "$kernel" -initrd initrd.gz \
    -append "console=ttyS0 panic=-1 quiet no_timer_check" \
    -serial file:serial.log -qmp stdio 2> qemu.err; }
qpid=$QEMU_PID
qin=${QEMU[1]}; qout=${QEMU[0]}


# the greeting, then command mode
IFS= read -r -t 30 greeting <&"$qout"
if [[ ${greeting:-} != *QMP* ]] || ! qmp qmp_capabilities; then
	bad "QEMU's monitor: no QMP greeting: $(flat qemu.err)"
	finish
fi

# --- wait for the guest's READY ---
until tr -d '\r' < serial.log 2> /dev/null | grep -qx READY; do
	if ! kill -0 "$qpid" 2> /dev/null ||
	    [ $((SECONDS - t0)) -gt $boot_s ]; then
		bad "guest: no READY in $((SECONDS - t0)) s; serial:" \
		    "$(tail -n 8 serial.log | tr '\r\n' ' ')"
		finish
	fi
	sleep 0.5
done
sleep 1				# init settles in its read
tr -d '\r' < serial.log | grep -E '^(PROC|NOPAGE) ' > truth
note "guest READY after $((SECONDS - t0)) s: $(grep -c '^PROC' truth)" \
    "processes"

# --- stop it, save its memory three ways ---
dumped=1
qmp stop || { bad "QMP stop: $reply"; dumped=0; }
a='"paging": false, "protocol": "file:'"$work"
qmp dump-guest-memory "{$a/g.elf\"}" ||
    { bad "dump-guest-memory (ELF): $reply"; dumped=0; }
qmp dump-guest-memory "{$a/g.z\", \"format\": \"kdump-zlib\"}" ||
    { bad "dump-guest-memory kdump-zlib: $reply"; dumped=0; }
a='"val": 0, "size": '$((ram_mb << 20))', "filename": "'"$work"
qmp pmemsave "{$a/g.raw\"}" || { bad "pmemsave: $reply"; dumped=0; }
qemu_cr3=""
if qmp human-monitor-command '{"command-line": "info registers"}'; then
	qemu_cr3=$(grep -o 'CR3=[0-9a-f]*' <<< "$reply" | head -n 1)
	qemu_cr3=${qemu_cr3#CR3=}
fi
qmp quit
wait "$qpid" 2> /dev/null
qpid=""
[ $dumped -eq 1 ] || finish
if "$mdf" -R g.kdump < g.z > mdf.out 2>&1 && [ -s g.kdump ]; then
	ok "dumps: g.elf, g.z (makedumpfile -R: g.kdump), g.raw" \
	    "($(du -m g.elf g.kdump g.raw |
	    awk '{ printf "%s%s MiB", s, $1; s = ", " }'))"
	[ -n "${HTABLE_LINUX_KEEP:-}" ] || rm -f g.z
else
	bad "makedumpfile -R g.kdump < g.z: $(flat mdf.out)"
	finish
fi
note "dumped after $((SECONDS - t0)) s"

# --- the ground truth ---
truth_check truth

# --- check 1: what the ELF core says of CPU 0 ---
"$htable" info g.elf > info.out 2> info.err
line=$(grep -E '^cpu 0 ' info.out)
re='^cpu 0 mode=(4level|5level) cr3=(0x[0-9a-f]+) '
if [[ $line =~ $re ]] && { [ -z "$qemu_cr3" ] ||
    [ $((BASH_REMATCH[2])) -eq $((16#$qemu_cr3)) ]; }; then
	mode=${BASH_REMATCH[1]}; cr3=${BASH_REMATCH[2]}
	ok "info g.elf: $line (QEMU: CR3=${qemu_cr3:-?})"
	[ "$mode" = 5level ] ||
	    note "the guest runs in $mode, not 5level: the checks use $mode"
else
	bad "info g.elf: want 'cpu 0 mode=5level|4level" \
	    "cr3=0x${qemu_cr3:-...}' (QEMU's CR3); got '$(flat info.out)'" \
	    "$(flat info.err)"
	finish
fi

# --- and the kdump file's CPU notes say the same (QEMU writes them
# there too; the mode from the size of its NT_PRSTATUS) ---
"$htable" info g.kdump > info.kd.out 2> info.kd.err
kline=$(grep -E '^cpu 0 ' info.kd.out)
if [ "$kline" = "$line" ]; then
	ok "info g.kdump: $kline (the ELF core's CPU 0)"
else
	bad "info g.kdump: want '$line' (the ELF core's); got" \
	    "'$(flat info.kd.out)' $(flat info.kd.err)"
fi


# check_image TAG FILE ARGS...: checks 2 and 3 (and 5 for the ELF core) on
# FILE; ARGS are the extra options of roots and dump (--mode); leaves
# TAG.all (dump --all-roots) and TAG.set (the roots, one a line)
check_image() {
	local tag=$1 f=$2 r pid comm va pfn want got n line rc
	shift 2
	"$htable" roots "$f" "$@" > "$tag.roots" 2> "$tag.roots.err"
	rc=$?
	field "$tag.roots" cr3 shared | awk '$2 > 0 { print $1 }' \
	    > "$tag.set"
	n=$(wc -l < "$tag.set")
	if [ $rc -ne 0 ] || [ "$n" -lt "$nproc" ]; then
		bad "$tag: roots $f $*: exit $rc, $n roots share a kernel half," \
		    "fewer than the $nproc processes: $(flat "$tag.roots")" \
		    "$(flat "$tag.roots.err")"
		return
	fi
	ok "$tag: roots: $n $mode roots share the kernel half" \
	    "(of $(grep -c "^mode=$mode " "$tag.roots") $mode candidates)"
	# every candidate, every process's page; distinct roots
	owners "$tag" "$f" truth
	# accounting: roots with user pages that no process has
	local stray="" kern=0 u
	while read -r r; do
		u=$(field "$tag.roots" cr3 user | awk -v r="$r" '$1 == r {
		    print $2 }')
		if grep -q "^$r " "$tag.owner"; then
			continue
		elif [ "$u" = 0x0 ]; then
			kern=$((kern + 1))
		else
			stray="$stray $r(user=$u)"
		fi
	done < "$tag.set"
	n=$(echo $stray | wc -w)
	line="$(wc -l < "$tag.set") roots share the kernel half:"
	line="$line $(wc -l < "$tag.owner") are the processes',"
	line="$line $n more map user pages${stray:+:$stray}, $kern map none"
	if [ "$n" -le $max_stray ]; then
		ok "$tag: accounting: $line"
	else
		bad "$tag: accounting: more than $max_stray strays: $line"
	fi
	# check 3: dump --all-roots lists each
	"$htable" dump "$f" --all-roots "$@" > "$tag.all" 2> "$tag.all.err"
	rc=$?
	sed -n 's/^root cr3=\(0x[0-9a-f]*\)$/\1/p' "$tag.all" | sort > \
	    "$tag.heads"
	n=$(sort "$tag.set" | comm -23 - "$tag.heads")
	u=$(sort "$tag.set" | comm -13 - "$tag.heads")
	if [ $rc -eq 0 ] && [ -z "$n" ] && [ -s "$tag.heads" ]; then
		ok "dump $tag --all-roots: a list for each of the" \
		    "$(wc -l < "$tag.set") roots ($(wc -l < "$tag.all")" \
		    "lines${u:+; and for others: $(echo $u)})"
	else
		bad "dump $tag --all-roots: exit $rc; no 'root cr3=' line for" \
		    "$(echo $n); heads: $(echo $(cat "$tag.heads"))" \
		    "$(flat "$tag.all.err")"
	fi
}


check_image elf g.elf
# check 5: CPU 0's CR3 is a root
r=$(hx "$cr3 & ~0xfff")
if grep -qx "$r" elf.set; then
	who=$(awk -v r="$r" '$1 == r { print "pid " $2 " (" $3 ")" }' \
	    elf.owner)
	ok "elf: CPU 0's CR3 $cr3 is a root (${who:-not a listed process})"
else
	bad "elf: CPU 0's CR3 $cr3 is not among the roots:" \
	    "$(echo $(cat elf.set))"
fi
# check 4: the same on the kdump file and the raw image, and the same lists
for t in kdump raw; do
	check_image "$t" "g.$t" --mode "$mode"
	diffs=""
	while read -r r; do
		cmp -s <(section elf "$r") <(section "$t" "$r") ||
		    diffs="$diffs $r"
	done < elf.set
	if [ -z "$diffs" ] && cmp -s <(sort elf.set) <(sort "$t.set"); then
		ok "$t: the same $(wc -l < elf.set) roots as g.elf, each" \
		    "dumped the same"
	else
		bad "$t: roots $(echo $(sort "$t.set")) against g.elf's" \
		    "$(echo $(sort elf.set)); dumps differ for:${diffs:- none}"
	fi
done

note "$((SECONDS - t0)) s, $("$qemu" --version | head -n 1)," \
    "$(cat "$cache/vmlinuz-cloud-amd64.from" 2> /dev/null || echo "$kernel")"
finish
