#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: performance of qemu-vfio-pci migration in the test VM.
#
# Builds the module and the selftests (with qvp_bench) for one kernel of
# the test root filesystem (the newest, or QVP_BENCH_KERNEL), boots it with
# the test devices (scripts/vm.sh) and runs scripts/bench-guest.sh, which
# runs qvp_bench on an edu, a 64 MiB and a 256 MiB ivshmem.  Prints the
# table and writes out/bench.json (one JSON object per line) and
# out/bench.txt.  Targets are reported PASS/FAIL in the table; they never
# make this script fail.  Numbers measured under TCG say little about
# hardware: compare the ratios within one run, not absolute values.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

need_root
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem"
k=${QVP_BENCH_KERNEL:-$(rootfs_kernels "$rootfs" | tail -n 1)}
ko=$repo/out/$k
mkdir -p "$ko"

step "$k: build qemu-vfio-pci.ko"
build_module "$rootfs" "$repo" "$k" || { tail -n 30 "$ko/build.log"; die "module build failed"; }
# The kernel's mtty sample, the floor of the arc and save-cycle figures:
# the kernel's own module where it has one (the debug kernel), else built
# from the source of its series (scripts/mksamples.sh).  Without it the
# benchmark runs and says that it has no floor.
if [ -n "$(mtty_own "$rootfs" "$k")" ]; then
	:
elif "$here/mksamples.sh" "$rootfs" >/dev/null && build_mtty "$rootfs" "$repo" "$k"; then
	step "$k: built mtty.ko from $(mtty_src "$rootfs" "$k")/samples/vfio-mdev/mtty.c"
else
	echo "warning: no mtty.ko for $k (see $ko/mtty-build.log): the benchmark has no floor" >&2
fi
step "$k: build the selftests and qvp_bench"
build_user "$rootfs" "$repo" "$k" selftests tools/testing/selftests/vfio/migration \
	KSFT_DIR=/opt/linux-src/tools/testing/selftests ||
	{ tail -n 30 "$ko/selftests-build.log"; die "selftest build failed"; }

rm -f "$repo/out/bench.json" "$repo/out/bench-qemu-11.1.json" "$repo/out/bench.txt" "$ko/bench.status"
step "$k: boot under QEMU (TCG) and run the benchmark (console: $ko/bench-console.log)"
in_rootfs "$rootfs" "$repo" env QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
	QVP_VM_STALL="${QVP_VM_STALL:-240}" /qvp/scripts/vm.sh "$k" "${QVP_VM_TIMEOUT:-3600}" \
	"/qvp/out/$k/bench-console.log" /qvp/scripts/bench-guest.sh
rc=$?
[ -f "$repo/out/bench.txt" ] && cat "$repo/out/bench.txt"
[ -f "$ko/bench.status" ] || die "the benchmark did not complete (exit status $rc); see $ko/bench-console.log"
step "results: $repo/out/bench.json"
