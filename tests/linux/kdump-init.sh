#!/bin/sh
# kdump-init.sh - the /init of both kernels that make-vmcore.sh boots
# (busybox sh; the initramfs holds busybox and its applets' links in
# /bin, init.sh, makedumpfile and its libraries, the virtio block
# driver's modules if the kernel has it as modules in /lib/modules, and,
# for the first kernel only, /vmlinuz, /crash.gz and kexec).  The same
# file runs twice:
#
# In the first kernel (no 'htable_kdump' on the command line) it loads
# the crash kernel with kexec -p (the same vmlinuz, /crash.gz as its
# initramfs, 'htable_kdump' on its command line), before anything else so
# that no process comes and goes once the ground truth is printed (or,
# when the kernel could reserve no memory for it, says KEXEC: NO-ROOM
# and powers off, for make-vmcore.sh to boot it again); starts
# the same long-lived processes as init.sh (five sleeps, two shells that
# wake every second without forking) and prints the ground truth with
# init.sh's own report ('sh /init.sh report': PROC lines, then READY).
# Then it waits for a line on the console, which the host sends once it
# has read the truth (and the CPUs' registers), and crashes the kernel
# from process 1 itself (echo is a builtin: no fork), so that the panic
# runs in the context of a process the truth lists.
#
# In the crash kernel it loads the virtio block driver, mounts the
# disk the host formatted (ext2, /dev/vda), copies /proc/vmcore there as
# vmcore.elf and writes makedumpfile's files from /proc/vmcore: -c (zlib),
# -l (lzo), -E (filtered ELF) and no compression, all with -d 31.
# status.txt on the disk and KDUMP lines on the console say how each step
# went; KDUMP-DONE ends, then the machine powers off (the host waits for
# QEMU to exit).
PATH=/bin:/sbin
export PATH
crash_append="console=ttyS0 quiet no_timer_check irqpoll nr_cpus=1"
crash_append="$crash_append reset_devices panic=-1 htable_kdump"

mount -t devtmpfs dev /dev
exec < /dev/ttyS0 > /dev/ttyS0 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

# --- the first kernel ---
if ! grep -qw htable_kdump /proc/cmdline; then
	echo "init: $(dmesg | grep -m 1 -i 'reserving .* crashkernel')"
	echo "init: $(grep MemTotal /proc/meminfo), loading the crash kernel"
	# KASLR may have put the kernel where the crash kernel's memory
	# would have gone: nothing reserved; the host boots again
	if [ "$(cat /sys/kernel/kexec_crash_size)" = 0 ]; then
		echo "KEXEC: NO-ROOM: no memory reserved for the crash kernel"
		poweroff -f
	fi
	if kexec -p /vmlinuz --initrd=/crash.gz --append="$crash_append"
	then
		echo "KEXEC: loaded with kexec_load"
	elif kexec -s -p /vmlinuz --initrd=/crash.gz \
	    --append="$crash_append"; then
		echo "KEXEC: loaded with kexec_file_load"
	fi
	if [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; then
		echo "KEXEC: FAILED: no crash kernel loaded"
		poweroff -f
	fi
	sh /init.sh start
	sh /init.sh report
	# the host's go, then the crash
	read -r _
	echo c > /proc/sysrq-trigger
	echo "KEXEC: FAILED: still running after the crash"
	poweroff -f
fi

# --- the crash kernel ---
# step NAME CMD...: run CMD, report its exit status and time
step() {
	local name="$1" t rc
	t=$(date +%s)
	shift
	"$@" >> /mnt/capture.log 2>&1
	rc=$?
	echo "KDUMP: $name: exit $rc, $(($(date +%s) - t)) s" |
	    tee -a /mnt/status.txt
}

echo "KDUMP: capture kernel up, $(grep MemTotal /proc/meminfo)"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
    virtio_pci virtio_blk; do
	[ ! -e /lib/modules/$m.ko ] || insmod /lib/modules/$m.ko
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
mkdir -p /mnt
if ! mount -t ext4 /dev/vda /mnt && ! mount -t ext2 /dev/vda /mnt; then
	echo "KDUMP: FAILED: cannot mount /dev/vda"
	poweroff -f
fi
echo "vmcore_size $(stat -c %s /proc/vmcore)" > /mnt/status.txt
step "copy /proc/vmcore" dd if=/proc/vmcore of=/mnt/vmcore.elf bs=1M
echo "copy_size $(stat -c %s /mnt/vmcore.elf)" >> /mnt/status.txt
# makedumpfile's messages: common, errors and its report, no progress
mdf() { makedumpfile --message-level 22 "$@"; }
step "makedumpfile -c" mdf -c -d 31 /proc/vmcore /mnt/vmcore.c.kdump
step "makedumpfile -l" mdf -l -d 31 /proc/vmcore /mnt/vmcore.l.kdump
step "makedumpfile -E" mdf -E -d 31 /proc/vmcore /mnt/vmcore.e.elf
step "makedumpfile" mdf -d 31 /proc/vmcore /mnt/vmcore.raw.kdump
sync
umount /mnt
echo "KDUMP-DONE"
poweroff -f
