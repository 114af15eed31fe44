#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (scripts/vm.sh), by hand: writes the golden
# streams of tools/testing/stream/golden/, each a device in a known state
# saved by a build of qemu-vfio-pci (STOP_COPY only, so that the stream's
# seed is 0 and the same state gives the same bytes):
#
#   edu-vN.qvps           an edu with LIVENESS written 0x676f6c64 and 10!
#                         computed (edu_regs BDF set 0x676f6c64 10)
#   ivshmem-64M-vN.qvps.gz  a 64 MiB ivshmem-plain whose BAR2 holds zeros
#                         but for a line of text at 0 and bytes 0..255
#                         repeated in the 4 KiB at 32 MiB
#                         (tools/testing/stream/golden/ivshmem_bar2.py)
#   igbvf-vN.qvps         an igb VF just opened: reset, no mailbox traffic
#                         (the backend came with version 2)
#
# Usage: golden-streams.sh OUTDIR VERSION [KO]
#   KO: the module that writes stream version VERSION (default this tree's,
#   /qvp/out/<kernel>/mod/qemu-vfio-pci.ko).  For a version this tree no
#   longer writes, build the module of a commit that did (version 1:
#   6985be1) with scripts/lib.sh's build_module and pass its .ko.
# The tools are this tree's (vfio-mig and edu_regs talk only the VFIO
# uAPI): build them as make check does (out/<kernel>/vfio-mig-selftests).
set -u
out=${1:?usage: golden-streams.sh OUTDIR VERSION [KO]}
version=${2:?usage: golden-streams.sh OUTDIR VERSION [KO]}
kver=$(uname -r)
ko=${3:-/qvp/out/$kver/mod/qemu-vfio-pci.ko}
bin=/qvp/out/$kver/vfio-mig-selftests
vm=$bin/vfio-mig
tests=/qvp/tools/testing/selftests/vfio/migration

die() { echo "golden-streams: $*" >&2; exit 1; }

# shellcheck source=SCRIPTDIR/lib.sh
. /qvp/scripts/lib.sh
test_devices_load || die "the device manifest is malformed"
test_devices_scan
read -ra edu <<<"${td_found[edu]:-}"
read -ra ivs <<<"${td_found[ivshmem-64M]:-}"
read -ra vf <<<"${td_found[igb-vf]:-}"
if [ "${#edu[@]}" -eq 0 ] || [ "${#ivs[@]}" -eq 0 ]; then
	die "no edu or no 64 MiB ivshmem in this VM"
fi
if [ ! -x "$vm" ] || [ ! -x "$bin/edu_regs" ]; then
	die "build vfio-mig and edu_regs for $kver first ($bin)"
fi
mkdir -p "$out" || exit 1

modprobe vfio-pci || die "modprobe vfio-pci"
insmod "$ko" || die "insmod $ko"
devs=("${edu[0]}" "${ivs[0]}")
[ "$version" -lt 2 ] || [ "${#vf[@]}" -eq 0 ] || devs+=("${vf[0]}")
for d in "${devs[@]}"; do
	"$tests/vfio_bind.sh" bind "$d" qemu-vfio-pci || die "binding $d"
done

sock=/tmp/golden-hold.sock
"$vm" hold --background --socket "$sock" "${edu[0]}" || die "vfio-mig hold ${edu[0]}"
VFIO_MIG_HOLDER=$sock "$bin/edu_regs" "${edu[0]}" set 0x676f6c64 10 || die "edu_regs set"
VFIO_MIG_HOLDER=$sock "$vm" save --no-precopy "${edu[0]}" "$out/edu-v$version.qvps" ||
	die "saving the edu"
"$vm" release --socket "$sock"

# BAR2 through sysfs: the device is bound to our driver but not open
/qvp/tools/testing/stream/golden/ivshmem_bar2.py "${ivs[0]}" golden ||
	die "filling BAR2 of ${ivs[0]}"
"$vm" save --no-precopy "${ivs[0]}" "$out/ivshmem-64M-v$version.qvps" || die "saving the ivshmem"
gzip -9nf "$out/ivshmem-64M-v$version.qvps" || exit 1

if [ "${#devs[@]}" -eq 3 ]; then
	"$vm" save --no-precopy "${vf[0]}" "$out/igbvf-v$version.qvps" || die "saving the igb VF"
fi

for d in "${devs[@]}"; do
	"$tests/vfio_bind.sh" restore "$d"
done
rmmod qemu_vfio_pci
ls -l "$out"
echo "golden-streams: done"
