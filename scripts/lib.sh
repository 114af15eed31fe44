# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the test-bed scripts.  Source, do not run.

QVP_CACHE=${QVP_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/qemu-vfio-pci}

step()
{
	printf '==> %s\n' "$*" >&2
}

die()
{
	printf 'error: %s\n' "$*" >&2
	exit 1
}

need_root()
{
	[ "$(id -u)" -eq 0 ] ||
		die "this step needs root (it builds a root filesystem and chroots into it); run it as root or with sudo"
}

# Run a command inside the test root filesystem, in a private mount
# namespace with /proc, /sys, /dev and the repository (at /qvp) mounted.
# Usage: in_rootfs ROOTFS REPO CMD [ARG...]
in_rootfs()
{
	local rootfs=$1 repo=$2
	shift 2
	mkdir -p "$rootfs/qvp"
	unshare -m --propagation private /bin/sh -c '
		r=$1; repo=$2; shift 2
		mount --rbind /proc "$r/proc" &&
		mount --rbind /sys "$r/sys" &&
		mount --rbind /dev "$r/dev" &&
		mount --bind "$repo" "$r/qvp" || exit 125
		[ -e /etc/resolv.conf ] && cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null
		exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root TERM=dumb LANG=C.UTF-8 "$@"
	' sh "$rootfs" "$repo" "$@"
}

# Kernel versions installed in the root filesystem, oldest first.
rootfs_kernels()
{
	local f
	for f in "$1"/boot/vmlinuz-*; do
		[ -e "$f" ] && echo "${f##*/vmlinuz-}"
	done | sort -V
}

# Build qemu-vfio-pci.ko for kernel KVER in out/KVER/mod (inside the root
# filesystem), with W=1 and sparse.  Log: out/KVER/build.log.
# Usage: build_module ROOTFS REPO KVER
build_module()
{
	local rootfs=$1 repo=$2 k=$3
	local mod=$repo/out/$k/mod

	rm -rf "$mod"
	mkdir -p "$mod"
	cp "$repo"/drivers/vfio/pci/qemu/*.[ch] "$repo"/drivers/vfio/pci/qemu/Makefile "$mod/"
	in_rootfs "$rootfs" "$repo" make -C "/usr/lib/modules/$k/build" \
		M="/qvp/out/$k/mod" CONFIG_QEMU_VFIO_PCI=m QVP_UAPI=/qvp/include/uapi \
		W=1 C=1 modules >"$repo/out/$k/build.log" 2>&1 &&
		[ -f "$mod/qemu-vfio-pci.ko" ]
}

# Build a userspace directory of the repository for kernel KVER's VM, in
# out/KVER/NAME.  Usage: build_user ROOTFS REPO KVER NAME DIR [MAKEVARS...]
build_user()
{
	local rootfs=$1 repo=$2 k=$3 name=$4 dir=$5
	shift 5
	in_rootfs "$rootfs" "$repo" make -C "/qvp/$dir" O="/qvp/out/$k/$name" \
		OUTPUT="/qvp/out/$k/$name" "$@" >"$repo/out/$k/$name-build.log" 2>&1
}

# In the guest: BDFs of the PCI devices with this vendor:device (e.g.
# 0x1234:0x11e8), sorted.
pci_devices()
{
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ] && basename "$d"
	done | sort
}

# In the guest: BDFs of the ivshmem-plain devices, sorted.  An
# ivshmem-doorbell has the same ID, and its MSI-X table in BAR1.
ivshmem_plain_devices()
{
	local b
	for b in $(pci_devices 0x1af4:0x1110); do
		[ -e "/sys/bus/pci/devices/$b/resource1" ] || echo "$b"
	done
}
