#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot the test VM, load qemu-vfio-pci, put a recognisable state
# into one edu device and migrate it into another with vfio-mig.
#
# Environment: QVP_CACHE (cache dir), QVP_DEMO_KERNEL (kernel version from
# the root filesystem; default: the oldest, 6.12 LTS).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

exec 2>&1	# one ordered stream of narration
need_root
step "preparing the test environment (cached after the first run)"
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem; see the messages above"
k=${QVP_DEMO_KERNEL:-$(rootfs_kernels "$rootfs" | head -n1)}
[ -e "$rootfs/boot/vmlinuz-$k" ] || die "kernel $k is not in $rootfs/boot"
ko=$repo/out/$k
mkdir -p "$ko"

step "building qemu-vfio-pci.ko for $k"
build_module "$rootfs" "$repo" "$k" ||
	{ tail -n 20 "$ko/build.log"; die "module build failed; full log: $ko/build.log"; }
step "building vfio-mig"
build_user "$rootfs" "$repo" "$k" vfio-mig-selftests tools/testing/selftests/vfio/vfio-mig \
	KSFT_DIR=/opt/linux-src/tools/testing/selftests ||
	{ tail -n 20 "$ko/vfio-mig-selftests-build.log"; die "vfio-mig build failed; full log: $ko/vfio-mig-selftests-build.log"; }

step "booting $k under QEMU (TCG, q35 + intel-iommu, two edu devices); about 20 s"
in_rootfs "$rootfs" "$repo" env QVP_VM_SHOW=1 QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
	QVP_VM_STALL="${QVP_VM_STALL:-240}" /qvp/scripts/vm.sh "$k" 300 \
	"/qvp/out/$k/demo.log" /qvp/scripts/demo-guest.sh
rc=$?
echo
if [ "$rc" -ne 0 ]; then
	[ "$rc" -eq 124 ] && echo "error: the VM did not finish within 300 s" >&2
	die "the demo failed (exit status $rc); VM output: $ko/demo.log"
fi
step "demo done; VM output saved in $ko/demo.log"
