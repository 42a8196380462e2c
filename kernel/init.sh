#!/bin/busybox sh
# PID 1 of the kernel-check guest (busybox-static): set up what the phases
# need, run mmntest, check the kernel log, power off.  Everything the host
# parses is on the console: "MMNT: " lines (the notifier log), MMNT-FAIL,
# MMNT-END, MMNT-RC, MMNT-DMESG-*.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

say() { echo "MMNT-INIT $*"; }
fail() { echo "MMNT-FAIL init: $*"; poweroff -f; }

# no ASLR: the kernel's own VMAs (stack, heap) land where they always do
echo 0 > /proc/sys/kernel/randomize_va_space

# zram and what it needs, in modules.dep order (modules.load)
while read -r m; do
	insmod "/lib/mods/$m" || fail "insmod $m"
done < /lib/mods/modules.load
insmod /lib/mods/mmntrace.ko || fail "insmod mmntrace.ko"
[ -c /dev/mmntrace ] || fail "no /dev/mmntrace"

# swap on zram, for MADV_PAGEOUT
[ -e /sys/block/zram0 ] || fail "no zram0"
echo 64M > /sys/block/zram0/disksize || fail "zram disksize"
mkswap /dev/zram0 >/dev/null || fail mkswap
swapon /dev/zram0 || fail swapon

# KSM scans every 10 ms
echo 10 > /sys/kernel/mm/ksm/sleep_millisecs
echo 1 > /sys/kernel/mm/ksm/run || fail "ksm run"
# THP only where asked for (MADV_COLLAPSE ignores this setting)
echo never > /sys/kernel/mm/transparent_hugepage/enabled || fail "thp"

say "nodes: $(ls -d /sys/devices/system/node/node* | wc -l) kernel: $(uname -r)"
/mmntest
echo "MMNT-RC $?"
if dmesg | grep -E 'BUG|WARNING|Oops|Call Trace|general protection'; then
	echo "MMNT-DMESG-BAD"
else
	echo "MMNT-DMESG-OK"
fi
poweroff -f
