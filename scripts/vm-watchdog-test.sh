#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test of vm.sh's stall watchdog, run by make check: boot a test VM whose
# command just sleeps, freeze both vCPUs from the host (QMP "stop", which
# is what a guest frozen by QEMU looks like from outside) and expect vm.sh
# to notice within QVP_VM_STALL, append QEMU's view of the vCPUs to the
# console log, leave no QEMU behind and exit with 123.  Prints TAP.
#
# Usage: vm-watchdog-test.sh ROOTFS REPO KVER
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rootfs=$1 repo=$2 k=$3
stall=20
dir=$repo/out/vm-watchdog
log=/qvp/out/vm-watchdog/console.log	# inside the root filesystem
hlog=$dir/console.log
n=0 failed=0

rm -rf "$dir"
mkdir -p "$dir"
echo "1..5"
start=$(date +%s)
in_rootfs "$rootfs" "$repo" env QVP_VM_STALL=$stall \
	/qvp/scripts/vm.sh "$k" 300 "$log" "echo guest up; sleep 280" \
	>"$dir/vm.out" 2>&1 &
bg=$!

# vm.sh's own PID names its QMP socket.
pid=
for _ in $(seq 150); do
	pid=$(pgrep -f "scripts/vm\.sh .* /qvp/out/vm-watchdog/console\.log" | head -n 1)
	[ -n "$pid" ] && [ -f "$dir/console.heartbeat" ] && break
	sleep 2
done
mon=$rootfs/tmp/qvp-monitor.$pid.sock
if [ -n "$pid" ] && [ -f "$dir/console.heartbeat" ] && [ -S "$mon" ]; then
	tap ok "the guest beats ($(cat "$dir/console.heartbeat"))"
else
	tap "not ok" "the guest beats (no heartbeat in 300 s; see $hlog)"
fi
python3 "$here/qmp.py" "$mon" stop >"$dir/qmp.out" 2>&1
stopped=$(date +%s)
wait "$bg"
rc=$?
took=$(($(date +%s) - stopped))
if [ "$rc" -eq 123 ]; then
	tap ok "vm.sh exits 123 ${took}s after the vCPUs stopped (QVP_VM_STALL=$stall)"
else
	tap "not ok" "vm.sh exits 123 (status $rc after ${took}s; QMP: $(tr '\n' ' ' <"$dir/qmp.out"))"
fi
if [ "$took" -le $((stall + 30)) ]; then
	tap ok "the stall is noticed within QVP_VM_STALL + 30 s"
else
	tap "not ok" "the stall is noticed within QVP_VM_STALL + 30 s (took ${took}s)"
fi
if grep -q '^vm.sh: guest stalled' "$hlog" && grep -q 'HLT=' "$hlog" &&
	grep -q 'Linux version' "$hlog"; then
	tap ok "the console log keeps the boot and ends with the vCPUs' registers"
else
	tap "not ok" "the console log keeps the boot and ends with the vCPUs' registers (see $hlog)"
fi
if [ -n "$pid" ] && pgrep -f "qvp-monitor.$pid.sock" >/dev/null; then
	tap "not ok" "no QEMU left behind (pid $(pgrep -f "qvp-monitor.$pid.sock" | head -n 1))"
	pkill -KILL -f "qvp-monitor.$pid.sock"
else
	tap ok "no QEMU left behind"
fi
echo "# $(($(date +%s) - start)) s"
exit $((failed > 0))
