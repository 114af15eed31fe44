#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one kernel of the test root filesystem under QEMU (TCG) with the test
# devices and run a command in it.  Runs inside the root filesystem (see
# in_rootfs in lib.sh); the repository is at /qvp and writable in the guest.
#
# Usage: vm.sh KVER TIMEOUT_S CONSOLE_LOG CMD...
# Devices: q35 + intel-iommu and the test devices of scripts/test-devices
# (or QVP_TEST_DEVICES, a path under /qvp, which the guest gets too), in
# its order; the guest's RAM is its guest-memory.  The devices' memory is
# the host's, allocated as the guest touches it.
# Exit status: CMD's, 124 on timeout, 123 when the guest stalled, 1 when
# the manifest is malformed.
# QVP_VM_TCG: options of -accel tcg (default thread=single, see below).
# QVP_VM_SHOW=1: show CMD's output on stdout as it runs (and log it) instead
# of logging the whole console (kernel messages included).
# QVP_KMEMLEAK=1: boot a kernel built with kmemleak (the debug kernel has
# it off by default) with kmemleak=on; guest-run.sh then scans.  Default
# 0 here; make check passes 1 for our kernels unless told otherwise.
#
# Stall watchdog: the guest writes a heartbeat file next to CONSOLE_LOG
# every 5 s.  A guest that stops beating for QVP_VM_STALL seconds (default
# 240; 0 disables the watchdog) is frozen as a whole: a hung test would be
# killed by its own timeout, and a hung kernel task or stalled CPU would be
# reported by the guest kernel while the other vCPU runs.  vm.sh then
# appends QEMU's view of the vCPUs (monitor "info cpus", "info registers")
# to CONSOLE_LOG (through qmp.py), stops QEMU and exits with 123, without
# waiting for TIMEOUT_S.
set -u
here=$(cd "$(dirname "$0")" && pwd)
manifest=${QVP_TEST_DEVICES:-}
. "$here/lib.sh"
test_devices_load || { echo "vm.sh: $QVP_TEST_DEVICES is malformed" >&2; exit 1; }
kver=$1 timeout_s=$2 log=$3
shift 3
cmd=$*
stall_s=${QVP_VM_STALL:-240}
hb=${log%.log}.heartbeat
# The guest can write only under /qvp, the repository it shares.
case $hb in
/qvp/*) ;;
*)
	echo "vm.sh: $log is not under /qvp: no heartbeat, no stall watchdog" >&2
	stall_s=0
	;;
esac
mon=/tmp/qvp-monitor.$$.sock

qemu_opts="-qmp unix:$mon,server=on,wait=off"
# QEMU's default qemu64 lacks what every x86-64 server since 2010 has:
# without PCLMULQDQ, 7.x's crc32_le() falls back to a byte-at-a-time
# table, and without SSSE3 glibc's memcpy (the benchmark's baseline) is
# slower than it needs to be.  Keep the AMD
# vendor: an Intel model without ARCH_CAPABILITIES gets page table
# isolation, whose CR3 switches make every system call ~10x slower under
# TCG.  No ERMS/FSRM either, or the kernel's user copies become "rep
# movsb", which TCG runs a byte at a time.
qemu_opts+=" -cpu qemu64,+ssse3,+sse4.1,+sse4.2,+pclmulqdq,+popcnt"
# One host thread runs both vCPUs in turn (QVP_VM_TCG=thread=multi for one
# thread per vCPU).  Every VM that froze or vanished under multi-threaded
# TCG had a halted vCPU that its timer or an IPI never woke (RCU stall
# reports "timer wakeup didn't happen ... Possible timer handling issue"),
# and on 2 host cores the round-robin thread is no slower: the 6.12 suites
# took 185 s against 201 s.
qemu_opts+=" -accel tcg,${QVP_VM_TCG:-thread=single}"
qemu_opts+=" -device intel-iommu,intremap=on"
# The test devices; an ivshmem-doorbell's memory comes from a server
# (scripts/ivshmem-server.py plays it), started below.
ivs_socks=() ivs_sizes=()
while read -r opt arg size; do
	if [ "$opt" = server ]; then
		ivs_socks+=("$arg") ivs_sizes+=("$size")
	else
		qemu_opts+=" $opt $arg"
	fi
done < <(test_devices_qemu "/tmp/qvp-ivshmem.$$")
memory=$((td_memory >> 20))M
need=$(((td_memory + $(test_devices_host_memory)) >> 20))
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null)
[ "${avail:-$need}" -ge "$need" ] ||
	echo "vm.sh: warning: the VM may take ${need} MiB of host memory (guest RAM and device memory, see $QVP_TEST_DEVICES), and the host has ${avail} MiB available" >&2

cd /tmp || exit 1
fifo=/tmp/qvp-console.$$
rm -f "$hb" "$mon" "$fifo"
vm_pid= ivs_pids=()

# stop_vm: end QEMU and whatever else runs in timeout(1)'s process group.
# timeout passes SIGTERM on to vng, which ends at once, and timeout with
# it, so a QEMU too wedged to act on SIGTERM needs the SIGKILL.
stop_vm()
{
	[ -n "$vm_pid" ] || return 0
	kill "$vm_pid" 2>/dev/null
	sleep 2
	kill -KILL -- "-$vm_pid" 2>/dev/null
	wait "$vm_pid" 2>/dev/null
}

cleanup()
{
	kill -0 "$vm_pid" 2>/dev/null && stop_vm
	[ "${#ivs_pids[@]}" -eq 0 ] || kill "${ivs_pids[@]}" 2>/dev/null
	rm -f "$mon" "$fifo" "${ivs_socks[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The kernel's command line: the IOMMU on with a group per device, and
# any oops or soft lockup ending the run.  lockdep.prove_locking=0: a
# kernel with lockdep (ours) tracks locks from boot but proves nothing
# until the setup suite turns proving on, before our modules load: the
# lanes are there for our driver, and a lockdep boot under TCG is slow
# enough without proving.  Kernels without lockdep ignore it.
append="intel_iommu=on iommu=pt panic=-1 oops=panic softlockup_panic=1 lockdep.prove_locking=0"
# kmemleak only on request (make check asks by default): it tracks every
# allocation, which under TCG about doubles the suites' time (see
# scripts/debug-kernel.config).  What was decided goes to
# CONSOLE_LOG's .kmemleak file, for make check's verdict: "on", "off"
# (not asked for) or "none" (asked for, the kernel has no kmemleak).
km_state=off
case ${QVP_KMEMLEAK:-0} in
0) ;;
1)
	if grep -qx 'CONFIG_DEBUG_KMEMLEAK=y' "/lib/modules/$kver/build/.config" 2>/dev/null; then
		append+=" kmemleak=on"
		km_state=on
	else
		echo "vm.sh: QVP_KMEMLEAK=1, but $kver has no kmemleak (no CONFIG_DEBUG_KMEMLEAK=y in /lib/modules/$kver/build/.config): booting it without" >&2
		km_state=none
	fi
	;;
*)
	echo "vm.sh: QVP_KMEMLEAK is '$QVP_KMEMLEAK'; 1 turns kmemleak on, 0 or unset leaves it off" >&2
	exit 1
	;;
esac
echo "$km_state" >"${log%.log}.kmemleak"

# The guest side of the watchdog, started before CMD.
beat="(while :; do cat /proc/uptime >$hb; sleep 5; done) &"
# A manifest other than the default: the guest reads the same one.
[ -z "$manifest" ] || beat="export QVP_TEST_DEVICES=$manifest; $beat"

# start_vm ARGS...: start the VM in the background, its PID in vm_pid.
start_vm()
{
	timeout --kill-after=10 "$timeout_s" \
		vng -r "/boot/vmlinuz-$kver" --disable-kvm --cpus 2 --memory "$memory" \
		--rwdir /qvp --qemu-opts="$qemu_opts" \
		--append "$append" \
		"$@" --exec "$beat $cmd" </dev/null &
	vm_pid=$!
}

# watch_vm: wait for the VM, or stop it once the guest stalls.
watch_vm()
{
	local start last age
	start=$(date +%s)
	while kill -0 "$vm_pid" 2>/dev/null; do
		sleep 5
		[ "$stall_s" -gt 0 ] || continue
		last=$start
		[ -f "$hb" ] && last=$(stat -c %Y "$hb")
		age=$(($(date +%s) - last))
		# Before the first heartbeat the guest is booting, which on a
		# loaded host takes minutes (a lockdep kernel's first beat came
		# after 241 s beside another VM): that counts as a stall only
		# after three times the time, and never before 300 s.
		if [ ! -f "$hb" ]; then
			[ "$age" -ge $((stall_s * 3)) ] && [ "$age" -ge 300 ] ||
				continue
		elif [ "$age" -lt "$stall_s" ]; then
			continue
		fi
		{
			echo "vm.sh: guest stalled: no heartbeat for ${age}s; QEMU's view of the vCPUs:"
			python3 "$here/qmp.py" "$mon" "info cpus" "info registers -a" "info lapic"
		} >>"$log" 2>&1
		echo "vm.sh: guest stalled: no heartbeat for ${age}s; stopping QEMU; its view of the vCPUs is at the end of the console log" >&2
		stop_vm
		return 123
	done
	wait "$vm_pid"
}

# The console log is written through a FIFO: QEMU opens its output files
# anew (/proc/self/fd/1 with O_TRUNC, one chardev after the other), which
# on a regular file would truncate and overwrite what came before.  The
# stall report is appended to the same log, hence the O_APPEND writers.
: >"$log"
mkfifo "$fifo" || exit 1
for i in "${!ivs_socks[@]}"; do
	python3 "$here/ivshmem-server.py" "${ivs_socks[i]}" "${ivs_sizes[i]}" >"$fifo.ivs" 2>&1 &
	ivs_pids+=($!)
	for _ in $(seq 50); do
		grep -q ready "$fifo.ivs" 2>/dev/null && break
		sleep 0.1
	done
	grep -q ready "$fifo.ivs" || { cat "$fifo.ivs" >&2; echo "vm.sh: the ivshmem server did not start" >&2; exit 1; }
	rm -f "$fifo.ivs"
done
if [ "${QVP_VM_SHOW:-0}" = 1 ]; then
	tee -a "$log" <"$fifo" &
	log_pid=$!
	start_vm >"$fifo" 2>&1
else
	cat >>"$log" <"$fifo" &
	log_pid=$!
	start_vm --verbose >"$fifo" 2>&1
fi
watch_vm
rc=$?
vm_pid=
wait "$log_pid"
exit "$rc"
