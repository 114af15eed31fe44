#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (see vm.sh): load the driver, bind the test
# devices and run the kselftests through the kselftest runner.  Results go
# to /qvp/out/<kernel>/ for the host to read:
#   selftests.tap   TAP of every suite, as the kselftest runner prints it
#   dmesg.txt       the kernel log after everything ran
#   guest.status    "done" once the script reached its end
set -u
kver=$(uname -r)
out=/qvp/out/$kver
ksft=/opt/linux-src/tools/testing/selftests
tests=/qvp/tools/testing/selftests/vfio/migration
tap=$out/selftests.tap
: >"$tap"

log() { printf '[guest] %s\n' "$*"; }

log "kernel $kver"
# virtme points /dev/stdout at its console port; the kselftest runner
# writes test output to /dev/stdout, which must be our own stdout.
for i in 0:stdin 1:stdout 2:stderr; do
	ln -sfn "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"
done
modprobe vfio-pci || { log "modprobe vfio-pci failed"; exit 1; }
insmod "$out/mod/qemu-vfio-pci.ko" || { log "insmod qemu-vfio-pci failed"; exit 1; }

. /qvp/scripts/lib.sh
mapfile -t edu < <(pci_devices 0x1234:0x11e8)
log "edu devices: ${edu[*]:-none}"

mapfile -t ivshmem < <(pci_devices 0x1af4:0x1110)
ivs64=() ivs256=() ivs1g=()
for bdf in "${ivshmem[@]}"; do
	case $(stat -c %s "/sys/bus/pci/devices/$bdf/resource2") in
	67108864) ivs64+=("$bdf") ;;
	268435456) ivs256+=("$bdf") ;;
	1073741824) ivs1g+=("$bdf") ;;
	esac
done
log "ivshmem devices: 64 MiB: ${ivs64[*]:-none}, 256 MiB: ${ivs256[*]:-none}, 1 GiB: ${ivs1g[*]:-none}"

for bdf in "${edu[@]}" "${ivshmem[@]}"; do
	"$tests/vfio_bind.sh" bind "$bdf" qemu-vfio-pci ||
		log "could not bind $bdf to qemu-vfio-pci"
done

# run_suite NAME DIR OUTPUT [VAR=VALUE...]: the kselftest runner (make
# run_tests of the framework's lib.mk) on one of our selftest directories.
# The runner only reads "settings" inside the kernel's selftests tree, so
# the timeout is passed explicitly.
run_suite() {
	local name=$1 dir=$2 output=$3
	shift 3
	log "suite $name"
	echo "# suite: $name" >>"$tap"
	env "$@" kselftest_override_timeout=900 \
		make -s -C "$dir" KSFT_DIR="$ksft" OUTPUT="$output" run_tests \
		>>"$tap" 2>&1
}

# missing SUITE WHAT: SUITE cannot run for want of the devices WHAT.
missing() {
	echo "# suite: $1" >>"$tap"
	echo "not ok 1 selftests: vfio: want $2 in the VM" >>"$tap"
}

if [ "${#edu[@]}" -ge 1 ]; then
	run_suite edu "$tests" "$out/selftests" \
		MIG_TESTS="migration_conformance migration_races edu_roundtrip edu_badinput" \
		VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
	run_suite vfio-mig /qvp/tools/testing/selftests/vfio/vfio-mig \
		"$out/vfio-mig-selftests" VFIO_MIG="$out/vfio-mig-selftests/vfio-mig" \
		VFIO_MIG_EDU_REGS="$out/vfio-mig-selftests/edu_regs" \
		VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
	run_suite qemu-migration /qvp/tools/testing/selftests/vfio/qemu-migration \
		"$out/qemu-migration-selftests" \
		VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
else
	missing edu "an edu device"
fi

if [ "${#ivs64[@]}" -ge 1 ] && [ "${#ivs256[@]}" -ge 2 ]; then
	run_suite ivshmem-64M "$tests" "$out/selftests" \
		MIG_TESTS="migration_conformance migration_races ivshmem_roundtrip" \
		VFIO_SELFTESTS_BDF="${ivs64[0]}" VFIO_SELFTESTS_BDF2="${ivs64[1]:-}"
	run_suite ivshmem-256M "$tests" "$out/selftests" \
		MIG_TESTS="ivshmem_roundtrip" \
		VFIO_SELFTESTS_BDF="${ivs256[0]}" VFIO_SELFTESTS_BDF2="${ivs256[1]}"
else
	missing ivshmem "a 64 MiB and two 256 MiB ivshmem"
fi
# The largest BAR2 the backend promises: only the tests that stream
# without holding a whole stream run; the others skip, saying why.
if [ "${#ivs1g[@]}" -ge 2 ]; then
	run_suite ivshmem-1G "$tests" "$out/selftests" \
		MIG_TESTS="ivshmem_roundtrip" \
		VFIO_SELFTESTS_BDF="${ivs1g[0]}" VFIO_SELFTESTS_BDF2="${ivs1g[1]}"
else
	missing ivshmem-1G "two 1 GiB ivshmem"
fi

for bdf in "${edu[@]}" "${ivshmem[@]}"; do
	"$tests/vfio_bind.sh" restore "$bdf" || true
done
rmmod qemu_vfio_pci || log "rmmod qemu_vfio_pci failed"

dmesg >"$out/dmesg.txt"
echo done >"$out/guest.status"
