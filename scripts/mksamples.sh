#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's mtty sample (samples/vfio-mdev/mtty.c) for each kernel
# series of the test root filesystem, so that the suites mtty and
# mtty-iommufd run against the mtty of the kernel they run on.  The root
# filesystem's /opt/linux-src is linux-source-6.12; a 6.12 mtty.c builds
# against 7.x's headers but does not work on 7.x's vfio core (7.x answers
# VFIO_DEVICE_GET_REGION_INFO itself and needs the get_region_info_caps op
# of 7.x's own mtty.c).  For every other series this downloads Debian's
# linux-source-SERIES (trixie-backports, about 170 MB, its version that of
# the kernel package) and unpacks only samples/vfio-mdev/ into
# /opt/linux-src-SERIES of the root filesystem; scripts/lib.sh's
# build_mtty picks it for the kernels of that series.
#
# As scripts/mkqemu.sh does, the root filesystem's cache key does not
# change (its package list is untouched); /opt/linux-src-SERIES/.qvp-stamp
# holds this script's key and the package version, and a matching stamp
# makes the run a no-op.  The root filesystem's own apt lists are used;
# the .deb is removed once unpacked.
#
# Usage: scripts/mksamples.sh ROOTFS   prints "SERIES VERSION" per series
# Log: $QVP_CACHE/mksamples.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

rootfs=${1:?usage: mksamples.sh ROOTFS}
key=$(sha256sum "$here/mksamples.sh" | cut -c1-16)
log=$QVP_CACHE/mksamples.log
fail() { die "mtty.c of linux-source-$1 for the mtty suites on the $1 kernels: $2 (log: $log)"; }

# The series of the root filesystem's kernels that /opt/linux-src is not.
# (mkrootfs.sh unpacks only some of its directories, not its Makefile:
# the series is that of the package.)
have=6.12
series=$(rootfs_kernels "$rootfs" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*+deb.*/\1/p' |
	sort -uV | grep -vx "$have" || true)

: >"$log"
for s in $series; do
	dest=/opt/linux-src-$s
	stamp=$rootfs$dest/.qvp-stamp
	pkg=linux-source-$s
	# Its version must be the kernel's: a sample of another release
	# may not build or work against that kernel.
	want=$(chroot "$rootfs" dpkg-query -W -f '${Version}\n' "linux-image-$s.*-amd64" 2>/dev/null |
		sort -V | tail -n 1 || true)
	if [ "$(sed -n 's/^key=//p' "$stamp" 2>/dev/null)" = "$key" ] &&
		[ -r "$rootfs$dest/samples/vfio-mdev/mtty.c" ]; then
		echo "$s $(sed -n 's/^version=//p' "$stamp")"
		continue
	fi
	need_root
	step "mtty.c of $pkg: downloading it (about 170 MB) into $rootfs$dest"
	tmp=/var/tmp/qvp-samples
	rm -rf "$rootfs$tmp" "$rootfs$dest.tmp"
	mkdir -p "$rootfs$tmp" "$rootfs$dest.tmp"
	in_rootfs "$rootfs" "$repo" env PKG="$pkg" TMP="$tmp" sh -ec '
		cd "$TMP"
		apt-get -q -o APT::Sandbox::User=root download "$PKG" ||
			{ apt-get -q update && apt-get -q -o APT::Sandbox::User=root download "$PKG"; }
		dpkg-deb -f "$PKG"_*.deb Version >version' >>"$log" 2>&1 </dev/null ||
		{ rm -rf "$rootfs$tmp" "$rootfs$dest.tmp"; fail "$s" "apt-get could not download $pkg"; }
	ver=$(cat "$rootfs$tmp/version")
	if [ -n "$want" ] && [ "$ver" != "$want" ]; then
		rm -rf "$rootfs$tmp" "$rootfs$dest.tmp"
		fail "$s" "$pkg is $ver, the kernel package $want"
	fi
	# The .deb holds the tree as usr/src/linux-source-SERIES.tar.xz.
	if ! dpkg-deb --fsys-tarfile "$rootfs$tmp/${pkg}_"*.deb |
		tar -xO --wildcards "*/$pkg.tar.xz" | xz -dc |
		tar -x -C "$rootfs$dest.tmp" --strip-components=1 \
			--wildcards "$pkg/samples/vfio-mdev/*" >>"$log" 2>&1 ||
		[ ! -r "$rootfs$dest.tmp/samples/vfio-mdev/mtty.c" ]; then
		rm -rf "$rootfs$tmp" "$rootfs$dest.tmp"
		fail "$s" "no samples/vfio-mdev/mtty.c in $pkg"
	fi
	rm -rf "$rootfs$tmp" "$rootfs$dest"
	printf 'key=%s\nversion=%s\n' "$key" "$ver" >"$rootfs$dest.tmp/.qvp-stamp"
	mv "$rootfs$dest.tmp" "$rootfs$dest"
	echo "$s $ver"
done
