#!/bin/sh
# init.sh - the /init of the Linux guest that test_linux_guest.sh boots
# (busybox sh; the initramfs holds busybox, this file and its applets'
# links in /bin).  It gives the test its ground truth: which page each
# process's page tables map, read from inside the guest.
#
# As process 1 it mounts devtmpfs (first: without /dev nothing reaches
# the serial port) and proc, starts long-lived processes (five sleeps and
# two shells that wake every second without ever forking, so that no
# process comes and goes before the host dumps the memory), lets them run,
# then runs itself again as 'init.sh report' in a new process (fork and
# exec: every page of process 1 is its own again while the report reads
# them), and waits forever without forking.
#
# The report writes, for every process with an address space (a non-empty
# /proc/PID/maps; kernel threads have none) but itself, one line
#	PROC pid=N comm=NAME va=0xVA pfn=0xPFN
# where VA is a user page that is present and mapped by this process alone
# (pagemap bit 63 present, bit 56 exclusively mapped; bits 54:0 the PFN),
# so that exactly one page-table root in the guest maps VA to PFN: the
# top page of its stack (argv and environment: written once by exec,
# never again) or else the first such page in its mappings; NOPAGE
# pid=N comm=NAME when it has none; then READY.
PATH=/bin
export PATH

# pfn_of PID VA N: the first of the N pages from VA that is present and
# mapped by PID alone, as 'VA PFN' in hex; 1 when there is none
pfn_of() {
	local pid=$1 va=$2 n=$3 w
	for w in $(dd if=/proc/$pid/pagemap bs=8 skip=$((va / 4096)) \
	    count=$n 2> /dev/null | od -An -v -tx8); do
		w=$((0x$w))
		if [ $(((w >> 63) & 1)) -eq 1 ] &&
		    [ $(((w >> 56) & 1)) -eq 1 ]; then
			printf '%x %x\n' $va $((w & 0x7fffffffffffff))
			return 0
		fi
		va=$((va + 4096))
	done
	return 1
}

# one PID: its PROC (or NOPAGE) line; nothing for a kernel thread or a
# process that is gone
one() {
	local pid=$1 comm range perms rest s e n got="" mapped=0
	{ read -r comm < /proc/$pid/comm; } 2> /dev/null || return 0
	comm=$(echo "$comm" | tr -c 'A-Za-z0-9_.:/\n-' '_')
	# the stack's top page first
	while read -r range perms rest; do
		mapped=1
		case $rest in
		*'[stack]')
			e=$((0x${range#*-}))
			got=$(pfn_of $pid $((e - 4096)) 1) ;;
		esac
	done < /proc/$pid/maps
	[ $mapped -eq 1 ] || return 0
	if [ -z "$got" ]; then
		while read -r range perms rest; do
			case $rest in
			*'[vvar]'|*'[vdso]'|*'[vsyscall]') continue ;;
			esac
			s=$((0x${range%-*})); e=$((0x${range#*-}))
			n=$(((e - s) / 4096))
			[ $n -le 512 ] || n=512
			got=$(pfn_of $pid $s $n) && break
		done < /proc/$pid/maps
	fi
	if [ -n "$got" ]; then
		echo "PROC pid=$pid comm=$comm va=0x${got% *} pfn=0x${got#* }"
	else
		echo "NOPAGE pid=$pid comm=$comm"
	fi
}

# start: the long-lived processes, then a pause to let them settle
start() {
	echo "init: starting processes"
	for i in 1 2 3 4 5; do
		sleep 1000 &
	done
	mkfifo /tick
	for i in 1 2; do
		# wakes every second, counts, never forks
		sh -c 'exec 3<> /tick; i=0; while :; do
			read -t 1 x <&3; i=$((i + 1)); done' &
	done
	sleep 2
}

if [ "${1:-}" = report ]; then
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = $$ ] || one "${d#/proc/}"
	done
	echo READY
	exit 0
fi
# 'init.sh start' (kdump-init.sh's call): the processes, which outlive
# this shell (process 1 inherits them)
if [ "${1:-}" = start ]; then
	start
	exit 0
fi

mount -t devtmpfs dev /dev
exec < /dev/ttyS0 > /dev/ttyS0 2>&1
mount -t proc proc /proc
start
sh /init report
exec 3<> /tick
while :; do
	read x <&3
done
