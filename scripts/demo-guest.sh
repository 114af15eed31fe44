#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo, inside the VM: migrate the state of one edu device into
# another with vfio-mig, narrating each step.  Exit 0 when edu B ends up
# holding exactly edu A's state.
set -u
# shellcheck source=SCRIPTDIR/lib.sh
. /qvp/scripts/lib.sh	# test_devices_*; our say/run/die below
kver=$(uname -r)
out=/qvp/out/$kver
bin=$out/vfio-mig-selftests
n=0

hold=/tmp/qvp-demo-hold.sock

say() { n=$((n + 1)); printf '\n[%d] %s\n' "$n" "$*"; }
run() { printf '    $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/      /'; return "${PIPESTATUS[0]}"; }
die() { printf '\ndemo failed: %s\n' "$*"; exit 1; }
# The holder closes the devices when it is released, and on any exit.
release() { [ -S "$hold" ] && "$bin/vfio-mig" --quiet release --socket "$hold"; }
trap release EXIT

say "Load vfio-pci and our driver, qemu-vfio-pci.ko (kernel $kver)"
modprobe vfio-pci || die "modprobe vfio-pci failed"
run insmod "$out/mod/qemu-vfio-pci.ko" || die "insmod failed"

test_devices_load || die "$QVP_TEST_DEVICES is malformed"
mapfile -t edu < <(test_devices_find edu)	# the kind "edu" of scripts/test-devices
[ "${#edu[@]}" -ge 2 ] || die "the VM has fewer than two edu devices"
A=${edu[0]} B=${edu[1]}
say "The VM has two QEMU edu devices; like every vfio-pci variant driver, ours binds only on request: through driver_override"
for d in "$A" "$B"; do
	run sh -c "echo qemu-vfio-pci > /sys/bus/pci/devices/$d/driver_override && echo $d > /sys/bus/pci/drivers_probe" ||
		die "could not bind $d to qemu-vfio-pci"
done
for d in "$A" "$B"; do
	drv=$(basename "$(readlink "/sys/bus/pci/devices/$d/driver")")
	printf '      %s  driver: %s\n' "$d" "$drv"
	[ "$drv" = qemu-vfio-pci ] || die "$d is bound to ${drv:-no driver}, not qemu-vfio-pci"
done

say "What vfio-mig sees on edu A"
run "$bin/vfio-mig" info "$A" || die "vfio-mig info failed"

say "Hold both devices open for the steps below: the driver resets a device when it is opened and closed, so that nothing of one user reaches the next; state set by one process reaches the next only while a holder keeps the device open"
run "$bin/vfio-mig" hold --background --socket "$hold" "$A" "$B" ||
	die "vfio-mig hold failed"
export VFIO_MIG_HOLDER=$hold	# edu_regs and vfio-mig take the devices from it

say "Put a recognisable state into edu A: liveness word 0xcafef00d (edu reads it back inverted, 0x35010ff2) and the factorial of 10"
run "$bin/edu_regs" "$A" set 0xcafef00d 10 || die "could not program edu A"
say "Registers before the migration"
printf '      edu A: %s\n' "$("$bin/edu_regs" "$A" get)"
printf '      edu B: %s\n' "$("$bin/edu_regs" "$B" get)"

say "Migrate: save edu A's state (PRE_COPY, then STOP_COPY) straight into edu B"
run "$bin/vfio-mig" migrate "$A" "$B" || die "vfio-mig migrate failed"

say "Registers after the migration"
a=$("$bin/edu_regs" "$A" get) b=$("$bin/edu_regs" "$B" get)
printf '      edu A: %s\n      edu B: %s\n' "$a" "$b"
[ -n "$a" ] && [ "$a" = "$b" ] || die "edu B does not hold edu A's state"
case $b in
*factorial=0x00375f00*) ;;
*) die "edu B's factorial register is not 10! (0x375f00)" ;;
esac
printf '\nedu B now holds exactly the state of edu A (10! = 3628800 = 0x375f00).\n'

say "Release the devices: the holder closes them, and the driver resets them"
run "$bin/vfio-mig" release --socket "$hold" || die "vfio-mig release failed"
unset VFIO_MIG_HOLDER
printf '      edu B: %s\n' "$("$bin/edu_regs" "$B" get)"
