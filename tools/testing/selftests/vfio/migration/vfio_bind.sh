#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Bind a PCI device to a vfio driver for the selftests, and give it back.
#
#   vfio_bind.sh bind BDF [DRIVER]   DRIVER defaults to qemu-vfio-pci
#   vfio_bind.sh restore BDF
#
# "bind" records the current driver (possibly none) in
# /tmp/vfio-selftests-<BDF>.orig, unbinds the device, sets driver_override
# and binds it to DRIVER (loading the module if needed).  "restore" clears
# driver_override and binds the device to the recorded driver again.
set -eu

PCI=/sys/bus/pci

die()
{
	printf 'vfio_bind.sh: %s\n' "$*" >&2
	exit 1
}

usage()
{
	echo "usage: $0 bind BDF [DRIVER] | restore BDF" >&2
	exit 2
}

# 00:03.0 -> 0000:00:03.0
normalise()
{
	case $1 in
	*:*:*.*) echo "$1" ;;
	*:*.*) echo "0000:$1" ;;
	*) die "'$1' is not a PCI address (DDDD:BB:DD.F)" ;;
	esac
}

current_driver()
{
	if [ -e "$dev/driver" ]; then
		basename "$(readlink "$dev/driver")"
	fi
}

unbind()
{
	if [ -e "$dev/driver" ]; then
		echo "$bdf" > "$dev/driver/unbind" ||
			die "cannot unbind $bdf from $(current_driver)"
	fi
}

# Bind to $1 through driver_override, which every PCI driver honours.
bind_to()
{
	echo "$1" > "$dev/driver_override" ||
		die "cannot set driver_override of $bdf"
	if [ -e "$PCI/drivers/$1/bind" ]; then
		echo "$bdf" > "$PCI/drivers/$1/bind" 2>/dev/null || true
	fi
	[ -e "$dev/driver" ] || echo "$bdf" > "$PCI/drivers_probe" ||
		true
	[ "$(current_driver)" = "$1" ] || die "binding $bdf to $1 failed"
}

[ $# -ge 2 ] || usage
cmd=$1
bdf=$(normalise "$2")
dev=$PCI/devices/$bdf
orig=/tmp/vfio-selftests-$bdf.orig

[ -d "$dev" ] || die "no PCI device $bdf"
[ "$(id -u)" -eq 0 ] || die "must run as root"

case $cmd in
bind)
	[ $# -le 3 ] || usage
	driver=${3:-qemu-vfio-pci}
	cur=$(current_driver)
	# Keep the first recorded driver if bind is repeated.
	if [ "$cur" = "$driver" ]; then
		[ -e "$orig" ] || echo "$cur" > "$orig"
		echo "$bdf already bound to $driver"
		exit 0
	fi
	if [ ! -d "$PCI/drivers/$driver" ]; then
		modprobe "$driver" 2>/dev/null || true
		[ -d "$PCI/drivers/$driver" ] ||
			die "driver $driver is not loaded (modprobe $driver failed)"
	fi
	[ -e "$orig" ] || echo "$cur" > "$orig"
	unbind
	bind_to "$driver"
	group=$(basename "$(readlink "$dev/iommu_group")")
	echo "$bdf bound to $driver (was: ${cur:-none}), IOMMU group $group"
	;;
restore)
	[ $# -eq 2 ] || usage
	[ -e "$orig" ] || die "no record of the original driver ($orig)"
	prev=$(cat "$orig")
	unbind
	# An empty line clears driver_override.
	echo > "$dev/driver_override"
	if [ -n "$prev" ]; then
		if [ -e "$PCI/drivers/$prev/bind" ]; then
			echo "$bdf" > "$PCI/drivers/$prev/bind" ||
				die "cannot bind $bdf to $prev"
		else
			echo "$bdf" > "$PCI/drivers_probe" || true
		fi
		[ "$(current_driver)" = "$prev" ] ||
			die "$bdf did not return to $prev"
	fi
	rm -f "$orig"
	echo "$bdf restored to ${prev:-no driver}"
	;;
*)
	usage
	;;
esac
