#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one kernel of the test root filesystem under QEMU (TCG) with the test
# devices and run a command in it.  Runs inside the root filesystem (see
# in_rootfs in lib.sh); the repository is at /qvp and writable in the guest.
#
# Usage: vm.sh KVER TIMEOUT_S CONSOLE_LOG CMD...
# Devices: q35 + intel-iommu, 2 x edu, 4 x ivshmem-plain: two of 64 MiB,
# then two of 256 MiB (a cross-device migration needs equal sizes).
# Exit status: CMD's, or 124 on timeout.
# QVP_VM_SHOW=1: show CMD's output on stdout as it runs (and log it) instead
# of logging the whole console (kernel messages included).
set -u
kver=$1 timeout_s=$2 log=$3
shift 3

qemu_opts="-device intel-iommu,intremap=on"
qemu_opts+=" -device edu -device edu"
i=0
for size in 64M 64M 256M 256M; do
	qemu_opts+=" -object memory-backend-ram,id=ivm$i,size=$size,share=on"
	qemu_opts+=" -device ivshmem-plain,memdev=ivm$i"
	i=$((i + 1))
done

cd /tmp || exit 1
vm()
{
	timeout --kill-after=10 "$timeout_s" \
		vng -r "/boot/vmlinuz-$kver" --disable-kvm --cpus 2 --memory 3G \
		--rwdir /qvp --qemu-opts="$qemu_opts" \
		--append "intel_iommu=on iommu=pt panic=-1 oops=panic softlockup_panic=1" \
		"$@"
}
if [ "${QVP_VM_SHOW:-0}" = 1 ]; then
	vm --exec "$*" 2>&1 | tee "$log"
	exit "${PIPESTATUS[0]}"
fi
vm --verbose --exec "$*" >"$log" 2>&1
