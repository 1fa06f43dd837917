#!/usr/bin/env bash
# make-vmcore.sh - make crash dumps that the Linux kernel writes itself:
# boot Debian's cloud kernel (fetch-kernel.sh put it in htable's cache)
# in QEMU (TCG, -cpu max: 5-level paging, two CPUs) with a busybox
# initramfs whose /init (kdump-init.sh) loads a crash kernel with kexec
# -p, starts the processes of init.sh and prints init.sh's ground truth,
# then crashes the kernel; the crash kernel (the same vmlinuz) copies
# /proc/vmcore and runs makedumpfile on it, onto a disk that this script
# reads back.  In OUTDIR:
#	vmcore.elf        a byte copy of /proc/vmcore (the kernel's ELF core:
#	                  its program headers, PRSTATUS notes of every CPU,
#	                  VMCOREINFO)
#	vmcore.c.kdump    makedumpfile -c -d 31 of it (kdump-compressed, zlib)
#	vmcore.l.kdump    makedumpfile -l -d 31 (lzo)
#	vmcore.e.elf      makedumpfile -E -d 31 (a filtered ELF core)
#	vmcore.raw.kdump  makedumpfile -d 31 (kdump, uncompressed; kept only
#	                  when makedumpfile could write it)
#	truth.txt         the first kernel's PROC (and NOPAGE) lines: for
#	                  each process a user page only it maps, and its frame
#	first-cr3.txt     'cpu N cr3=.. cr4=..' of each CPU of the first
#	                  kernel once the truth is printed (QEMU's
#	                  registers; first-regs.txt has them all)
#	console.log       both kernels' console; capture.log and status.txt:
#	                  the crash kernel's steps and makedumpfile's messages
# The steps and why:
#  - kexec-tools is not needed on the host: its package (and the Xen
#    libraries its kexec links with, when they are not installed) is
#    downloaded into the cache (apt-get download, once) and extracted
#    (dpkg-deb -x) into a temporary directory, as fetch-kernel.sh does
#    for the kernel;
#  - kexec and makedumpfile run in the guest with their shared libraries
#    and the dynamic loader copied from where ldd finds them;
#  - the virtio block driver is a module in Debian's cloud kernel: its
#    modules come from the kernel's package, next to vmlinuz in the cache;
#  - the crash kernel's initramfs (crash.gz) is the first one without
#    vmlinuz, kexec and itself: small, for the little memory it has;
#  - the bytes leave the guest on a virtio disk that this script formats
#    (ext2, mke2fs) and reads back with debugfs: makedumpfile writes
#    ordinary files, nothing needs mounting on the host;
#  - KASLR puts the first kernel anywhere in its memory, at times where
#    the crash kernel's no longer fits (crashkernel= reserves nothing:
#    5 boots in 20 measured, with 256 MiB): kdump-init.sh says so
#    (KEXEC: NO-ROOM) and powers off, and the guest boots again, up to
#    five times (all five fail once in a thousand runs), rather than
#    without KASLR (its phys_base, non-zero, is part of what VMCOREINFO
#    must tell);
#  - the host sends the guest its go on the serial port only after it
#    has read the truth and QEMU's registers (a fifo pair, -serial pipe:).
# Exit 0 with OUTDIR filled; 77 with the reason on stderr when something
# needed is missing (QEMU, the kernel or its package, a static busybox,
# cpio, gzip, makedumpfile, e2fsprogs, kexec-tools); 1 with the reason
# on failure.
#   usage: make-vmcore.sh OUTDIR
#          make-vmcore.sh --fetch   only put into the cache what a run
#                       would download (kexec-tools and the libraries its
#                       kexec needs, when kexec is not installed), for the
#                       dependency step (scripts/deps.sh); quiet, exit 0,
#                       or 1 with the reason on stderr
#   HTABLE_CACHE=DIR    where fetch-kernel.sh put vmlinuz-cloud-amd64 and
#                       its package (default ${XDG_CACHE_HOME:-$HOME/.cache}
#                       /htable); kexec-tools' packages go there too
#   VMCORE_RAM_MB=N     the guest's memory (default 256)
#   VMCORE_CRASH_MB=N   crashkernel= (default 96)
#   VMCORE_KEEP=DIR     keep every file of the run in DIR
# Measured with Debian's 6.1 cloud kernel: the crash kernel runs out of
# memory while booting in 72 MiB and does all in 80 (96: a margin); the
# first kernel refuses (kexec_load: EINVAL) a crash kernel and initramfs
# (about 56 MiB to load) bigger than half its own memory, so 256 MiB
# less 112 is too little.  A run takes about a minute.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"		# flat, qmp
cache=${HTABLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/htable}
kernel=$cache/vmlinuz-cloud-amd64
ram_mb=${VMCORE_RAM_MB:-256}
crash_mb=${VMCORE_CRASH_MB:-96}
smp=2
boot_s=300			# from QEMU's start to the guest's READY
capture_s=1800			# from the crash to QEMU's exit
# the virtio block driver and what it needs, in the order of loading
modules="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev"
modules="$modules virtio_pci virtio_blk"
multiarch=x86_64-linux-gnu

skip() {
	echo "make-vmcore.sh: skipped: $*" >&2
	exit 77
}
die() {
	echo "make-vmcore.sh: $*" >&2
	exit 1
}
say() { echo "make-vmcore.sh: $*" >&2; }

# lib_deps PKG...: the packages of shared libraries (lib*) that PKG...
# depend on, directly or through each other, and that are not installed
# here (nor followed further: what an installed one needs is installed);
# one apt-cache and one dpkg-query a level of the tree, as apt-cache takes
# a second or two each time
lib_deps() {
	local level="$*" seen=" " next inst d
	while [ -n "$level" ]; do
		next=""
		for d in $(apt-cache depends $level 2> /dev/null |
		    sed -n 's/^ *|\{0,1\}Depends: \(lib[^ <>]*\)$/\1/p' |
		    sort -u); do
			case $seen in *" $d "*) continue ;; esac
			seen="$seen$d "
			next="$next $d"
		done
		[ -n "$next" ] || break
		inst=" $(dpkg-query -W -f='${Package} ${Status}\n' $next \
		    2> /dev/null | awk '$NF == "installed" { print $1 }' |
		    tr '\n' ' ')"
		level=""
		for d in $next; do
			case $inst in *" $d "*) continue ;; esac
			echo "$d"
			level="$level $d"
		done
	done
}

# fetch: kexec-tools' package and those of the libraries its kexec needs
# that are not installed (lib_deps), in the cache: downloaded once (apt-
# get download), found there afterwards; their files in debs; 1 with the
# reason in why
fetch() {
	local p f log t
	debs=()
	for t in apt-get apt-cache dpkg-query; do
		command -v $t > /dev/null ||
		    { why="$t is missing to fetch kexec-tools"; return 1; }
	done
	mkdir -p "$cache" 2> /dev/null ||
	    { why="cannot create the cache directory $cache"; return 1; }
	for p in kexec-tools $(lib_deps kexec-tools); do
		# the first download is the only one
		f=$(ls "$cache/${p}_"*.deb 2> /dev/null | head -n 1)
		if [ -z "$f" ] &&
		    ! log=$(cd "$cache" && apt-get download -q "$p" 2>&1); then
			why="apt-get download $p failed: $(grep -v unsandboxed \
			    <<< "$log" | tail -n 2 | tr '\n' ' ')"
			return 1
		fi
		[ -n "$f" ] ||
		    f=$(ls "$cache/${p}_"*.deb 2> /dev/null | head -n 1)
		[ -n "$f" ] ||
		    { why="apt-get download $p wrote nothing"; return 1; }
		debs+=("$f")
	done
}

# --fetch: the downloads only (a host with kexec needs none)
if [ "${1:-}" = --fetch ]; then
	[ $# -eq 1 ] || die "usage: make-vmcore.sh --fetch"
	command -v kexec > /dev/null && exit 0
	fetch || die "$why"
	exit 0
fi

[ $# -eq 1 ] || die "usage: make-vmcore.sh OUTDIR"
outarg=$1

# --- what is needed ---
qemu=$(command -v qemu-system-x86_64 || true)
mdf=$(command -v makedumpfile || true)
bb=$(command -v busybox || true)
deb=$cache/$(cat "$kernel.from" 2> /dev/null)
[ -s "$kernel" ] || skip "no kernel at $kernel" \
    "(tests/linux/fetch-kernel.sh puts it there)"
[ -f "$deb" ] || skip "no kernel package ($kernel.from) in $cache for" \
    "the kernel's modules (tests/linux/fetch-kernel.sh puts it there)"
[ -n "$qemu" ] ||
    skip "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
if [ -z "$bb" ] ||
    ! LC_ALL=C ldd "$bb" 2>&1 | grep -Eq 'not a dynamic|statically'; then
	skip "no static busybox for the initramfs (Debian: busybox-static)"
fi
[ -n "$mdf" ] || skip "makedumpfile is not installed (Debian: makedumpfile)"
for t in cpio gzip mke2fs debugfs dpkg-deb tar ldd; do
	command -v $t > /dev/null ||
	    skip "$t is not installed (Debian: cpio, gzip, e2fsprogs," \
		"dpkg, tar, libc-bin)"
done
[ "$(uname -m)" = x86_64 ] ||
    skip "the guest runs the host's makedumpfile and kexec: x86_64 only"

mkdir -p "$outarg" || die "cannot create $outarg"
out=$(realpath "$outarg")
if [ -n "${VMCORE_KEEP:-}" ]; then
	mkdir -p "$VMCORE_KEEP" || die "cannot create $VMCORE_KEEP"
	work=$(realpath "$VMCORE_KEEP")
else
	work=$(mktemp -d) || die "mktemp -d failed"
fi
qpid=""
catpid=""
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2> /dev/null
	[ -z "$catpid" ] || kill "$catpid" 2> /dev/null
	[ -n "${VMCORE_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$work" || exit 1
t0=$SECONDS

# --- kexec: the host's, or kexec-tools' package from the cache ---
libpath=""
kexec=$(command -v kexec || true)
if [ -z "$kexec" ]; then
	fetch || skip "kexec is not installed and $why"
	mkdir -p kx || die "cannot create $work/kx"
	for f in "${debs[@]}"; do
		dpkg-deb -x "$f" kx 2> dpkg.err ||
		    die "dpkg-deb -x $f: $(flat dpkg.err)"
	done
	kexec=$work/kx/sbin/kexec
	[ -x "$kexec" ] || skip "kexec-tools' package holds no sbin/kexec"
	libpath=$work/kx/usr/lib/$multiarch:$work/kx/lib/$multiarch
fi

# --- the initramfs ---
rm -rf ird && mkdir -p ird/bin ird/sbin ird/dev ird/proc ird/sys ird/tmp \
    ird/mnt ird/lib/modules ird/lib/$multiarch ird/lib64 || exit 1

# put BIN: copy the program BIN into ird/sbin with the shared libraries
# ldd finds for it ($libpath first) into ird/lib/$multiarch, and the
# dynamic loader where it is
put() {
	local bin=$1 deps lib
	cp -L "$bin" ird/sbin/ || die "cannot copy $bin"
	deps=$(LC_ALL=C LD_LIBRARY_PATH=$libpath ldd "$bin" 2>&1)
	case $deps in
	*'not a dynamic'*|*statically*) return 0 ;;
	*'not found'*)
		skip "$bin needs libraries that are missing: $(echo "$deps" |
		    grep 'not found' | tr '\n\t' '  ')" ;;
	esac
	for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 }' <<< "$deps")
	do
		cp -L "$lib" ird/lib/$multiarch/ || die "cannot copy $lib"
	done
	for lib in $(awk '$1 ~ /^\// { print $1 }' <<< "$deps"); do
		mkdir -p "ird$(dirname "$lib")" && cp -L "$lib" "ird$lib" ||
		    die "cannot copy $lib"
	done
}

cp "$bb" ird/bin/busybox && cp "$here/kdump-init.sh" ird/init &&
    cp "$here/init.sh" ird/init.sh &&
    chmod 755 ird/init ird/init.sh ird/bin/busybox || exit 1
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -s busybox "ird/bin/$a"
done
put "$mdf"

# the modules, unless built in (a tar wildcard's * matches / too)
pats=("./lib/modules/*/modules.builtin")
for m in $modules; do
	pats+=("./lib/modules/*/$m.ko")
done
# (tar fails when one is not in the package: built in, or missing)
rm -rf lib
dpkg-deb --fsys-tarfile "$deb" 2> dpkg.err |
    tar -x -C . --wildcards "${pats[@]}" 2> tar.err
ls lib/modules/*/modules.builtin > /dev/null 2>&1 ||
    die "cannot extract the modules of $deb: $(flat dpkg.err) $(flat tar.err)"
for m in $modules; do
	f=$(find lib/modules -name "$m.ko" | head -n 1)
	if [ -n "$f" ]; then
		cp "$f" ird/lib/modules/ || exit 1
	elif ! grep -q "/$m\.ko$" lib/modules/*/modules.builtin; then
		skip "the kernel has no $m, built in or as a module"
	fi
done
rm -rf lib

if ! (cd ird && find . | cpio -o -H newc -R 0:0 --quiet) |
    gzip -9 > crash.gz; then
	die "cpio failed (the crash kernel's initramfs)"
fi
# the first kernel's: the same, and the crash kernel, its initramfs, kexec
cp "$kernel" ird/vmlinuz && cp crash.gz ird/crash.gz || exit 1
put "$kexec"
if ! (cd ird && find . | cpio -o -H newc -R 0:0 --quiet) |
    gzip -1 > first.gz; then
	die "cpio failed (the first kernel's initramfs)"
fi

# --- the disk: room for vmcore.elf and makedumpfile's four files ---
rm -f disk.img
truncate -s $((2 * ram_mb + 64))M disk.img &&
    mke2fs -q -F -t ext2 -m 0 disk.img > mke2fs.out 2>&1 ||
    die "mke2fs on $work/disk.img failed: $(flat mke2fs.out)"

# --- QEMU, its QMP monitor on a coprocess's pipes, the serial port on a
# fifo pair: its output drained by cat, its input for the go ---
append="console=ttyS0 panic=-1 quiet no_timer_check"
append="$append crashkernel=${crash_mb}M"


# boot: start QEMU, the cat that drains its serial port into serial.log
# (a new one), and its monitor in command mode
boot() {
	rm -f ser.in ser.out serial.log
	mkfifo ser.in ser.out || die "mkfifo failed"
	cat ser.out > serial.log &
	catpid=$!
	coproc QEMU { exec "$qemu" -accel tcg -cpu max -smp $smp \
	    -m "${ram_mb}M" -nodefaults -display none -no-reboot \
	    -kernel "$kernel" -initrd first.gz \
	    -append "$append" \
	    -drive file=disk.img,format=raw,if=virtio \
	    -serial pipe:ser -qmp stdio 2> qemu.err; }
	qpid=$QEMU_PID
	qin=${QEMU[1]}; qout=${QEMU[0]}
	qid=0
	tb=$SECONDS
	IFS= read -r -t 30 greeting <&"$qout"
	if [[ ${greeting:-} != *QMP* ]] || ! qmp qmp_capabilities; then
		die "QEMU's monitor: no QMP greeting: $(flat qemu.err)"
	fi
}

# console: the serial log without carriage returns
console() { tr -d '\r' < serial.log 2> /dev/null; }

# --- the first kernel: the crash kernel loaded, the truth, READY ---
# KASLR places the kernel anywhere in the guest's memory, at times where
# no room is left for the crash kernel's: kdump-init.sh says NO-ROOM and
# powers off, and the guest boots again (a kernel at random each time)
boots=1
boot
until console | grep -qx READY; do
	if console | grep -q '^KEXEC: NO-ROOM' && [ $boots -lt 5 ]; then
		say "boot $boots: no room for the crash kernel: $(console |
		    grep '^KEXEC: NO-ROOM' | sed 's/^[^:]*: [^:]*: //')"
		wait "$qpid" 2> /dev/null
		wait "$catpid" 2> /dev/null
		boots=$((boots + 1))
		boot
		continue
	fi
	if console | grep -q '^KEXEC: \(FAILED\|NO-ROOM\)'; then
		die "the first kernel could not load the crash kernel" \
		    "(boot $boots): $(console |
		    grep -B 3 '^KEXEC: \(FAILED\|NO-ROOM\)' | tr '\n' ' ')"
	fi
	if ! kill -0 "$qpid" 2> /dev/null ||
	    [ $((SECONDS - tb)) -gt $boot_s ]; then
		die "guest: no READY in $((SECONDS - tb)) s; console:" \
		    "$(console | tail -n 8 | tr '\n' ' ')"
	fi
	sleep 0.5
done
console | grep -E '^(PROC|NOPAGE) ' > "$out/truth.txt"
say "first kernel READY after $((SECONDS - t0)) s (boot $boots):" \
    "$(grep -c '^PROC' "$out/truth.txt") processes," \
    "$(console | grep '^KEXEC:' | head -n 1)"

# its CPUs' registers, the machine stopped
if qmp stop && qmp human-monitor-command \
    '{"command-line": "info registers -a"}'; then
	sed -e 's/^.*"return": *"//' -e 's/"}*$//' \
	    -e 's/\\r\\n/\n/g' -e 's/\\n/\n/g' <<< "$reply" \
	    > "$out/first-regs.txt"
	awk '/^CPU#/ { c = $1; sub("CPU#", "", c) }
	    { for (i = 1; i <= NF; i++) {
		if ($i ~ /^CR3=/) { r3 = $i; sub("CR3=", "", r3) }
		if ($i ~ /^CR4=/) { r4 = $i; sub("CR4=", "", r4)
		    printf "cpu %s cr3=0x%s cr4=0x%s\n", c, r3, r4 } } }' \
	    "$out/first-regs.txt" | sed 's/=0x0*\([0-9a-f]\)/=0x\1/g' \
	    > "$out/first-cr3.txt"
else
	say "QEMU's registers: $reply"
fi
qmp cont || die "QMP cont: $reply"

# --- the go: the crash, the crash kernel's work, its power-off ---
t1=$SECONDS
echo crash > ser.in || die "cannot write to the guest's serial port"
while kill -0 "$qpid" 2> /dev/null; do
	if [ $((SECONDS - t1)) -gt $capture_s ]; then
		die "the crash kernel did not finish in $capture_s s;" \
		    "console: $(console | tail -n 8 | tr '\n' ' ')"
	fi
	sleep 1
done
wait "$qpid" 2> /dev/null
qpid=""
wait "$catpid" 2> /dev/null
catpid=""
console > "$out/console.log"
if ! console | grep -qx KDUMP-DONE; then
	die "the crash kernel did not finish its work (QEMU exited after" \
	    "$((SECONDS - t1)) s); console: $(console | grep -v '^\[' |
	    tail -n 12 | tr '\n' ' ')"
fi
say "crash kernel done $((SECONDS - t1)) s after the crash"

# --- the files, from the disk ---
# get NAME: copy NAME from the disk's root to OUTDIR; 1 when it is not
# there or empty
get() {
	rm -f "$out/$1"
	debugfs -R "dump -p /$1 $out/$1" disk.img > /dev/null 2>> debugfs.err
	[ -s "$out/$1" ]
}
for f in status.txt capture.log; do
	get $f || die "the disk has no $f: $(flat debugfs.err)"
done
size=$(awk '$1 == "vmcore_size" { print $2 }' "$out/status.txt")
# ok STEP: the crash kernel's STEP exited 0
ok() { grep -q "^KDUMP: $1: exit 0," "$out/status.txt"; }
ok "copy /proc/vmcore" && get vmcore.elf ||
    die "no copy of /proc/vmcore: $(flat "$out/status.txt")"
[ "$(stat -c %s "$out/vmcore.elf")" = "$size" ] ||
    die "vmcore.elf has $(stat -c %s "$out/vmcore.elf") bytes," \
	"/proc/vmcore had ${size:-?}"
[ "$(head -c 4 "$out/vmcore.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
    die "vmcore.elf is not an ELF file"
for s in c:c.kdump l:l.kdump E:e.elf; do
	ok "makedumpfile -${s%%:*}" && get "vmcore.${s#*:}" ||
	    die "makedumpfile -${s%%:*} failed: $(grep -v '^\s*$' \
		"$out/capture.log" | tail -n 5 | tr '\n' ' ')"
done
if ok makedumpfile && get vmcore.raw.kdump; then
	:
else
	rm -f "$out/vmcore.raw.kdump"
	say "makedumpfile -d 31 (no compression) failed: no vmcore.raw.kdump"
fi

say "done in $((SECONDS - t0)) s (guest: ${ram_mb} MiB, $smp CPUs," \
    "crashkernel=${crash_mb}M):"
(cd "$out" && ls -l vmcore.* | awk '{ print "  " $5, $NF }') >&2
exit 0
