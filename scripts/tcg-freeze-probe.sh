#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# How often does the test VM freeze or vanish by itself?  Boots the test
# VM (vm.sh: same devices, same TCG mode) N times without qemu-vfio-pci:
# the guest only keeps both vCPUs busy with work that neither touches our
# devices nor loads our module, for SECONDS.  Each boot ends "ok",
# "stalled" (vm.sh's heartbeat watchdog, 123), "vanished" (QEMU gone,
# 255) or "error N".  The testing guide records the result: it is the
# evidence behind the rule that every stall in make check is a failure.
#
# Usage: tcg-freeze-probe.sh [N [SECONDS [KVER]]]   (default 10, 120, the
# oldest kernel of the root filesystem).  Needs root; not part of make
# check.  Logs: out/tcg-freeze-probe/<i>.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

need_root
n=${1:-10} secs=${2:-120}
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem; see the messages above"
k=${3:-$(rootfs_kernels "$rootfs" | head -n 1)}
dir=$repo/out/tcg-freeze-probe
mkdir -p "$dir"
# Two busy loops (one per vCPU), with a sleep now and then so that halted
# vCPUs must be woken by timers and IPIs, as in the real suites.
# (wait for those two only: vm.sh's heartbeat loop is a job of the same
# shell and never ends.)
work="end=\$((\$(date +%s) + $secs)); pids=; for c in 1 2; do (while [ \$(date +%s) -lt \$end ]; do dd if=/dev/zero of=/dev/null bs=64k count=200 2>/dev/null; sleep 0.\$c; done) & pids=\"\$pids \$!\"; done; wait \$pids; echo probe-done"
ok=0 stalled=0 vanished=0 other=0
for i in $(seq "$n"); do
	t0=$(date +%s)
	in_rootfs "$rootfs" "$repo" env QVP_VM_STALL=120 \
		QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
		/qvp/scripts/vm.sh "$k" $((secs + 600)) \
		"/qvp/out/tcg-freeze-probe/$i.log" "$work" >/dev/null 2>&1
	rc=$?
	case $rc in
	0) grep -q probe-done "$dir/$i.log" && res=ok || res="error 0 (no probe-done)" ;;
	123) res=stalled ;;
	255) res=vanished ;;
	*) res="error $rc" ;;
	esac
	case $res in
	ok) ok=$((ok + 1)) ;;
	stalled) stalled=$((stalled + 1)) ;;
	vanished) vanished=$((vanished + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
	echo "boot $i/$n: $res ($(($(date +%s) - t0)) s; log $dir/$i.log)"
done
echo "$k, ${QVP_VM_TCG:-thread=single}, $n boots of ${secs} s: $ok ok, $stalled stalled, $vanished vanished, $other other"
[ "$ok" -eq "$n" ]
