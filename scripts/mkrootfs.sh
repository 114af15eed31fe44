#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the cached Debian trixie root filesystem that the test
# bed runs in: compilers, both kernels of the matrix with their headers,
# QEMU, virtme-ng and the kernel source for kselftest/checkpatch.
#
# Usage: scripts/mkrootfs.sh            prints the rootfs path on stdout
# Environment:
#   QVP_CACHE   cache directory (default: ${XDG_CACHE_HOME:-~/.cache}/qemu-vfio-pci)
#   QVP_MIRROR  Debian mirror (default: http://deb.debian.org/debian)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

pkgfile=$here/rootfs-packages.txt
key=$(cat "$pkgfile" "$here/mkrootfs.sh" | sha256sum | cut -c1-16)
root=$QVP_CACHE/rootfs-$key
mirror=${QVP_MIRROR:-http://deb.debian.org/debian}

if [ -f "$root/.qvp-complete" ]; then
	echo "$root"
	exit 0
fi

need_root
mkdir -p "$QVP_CACHE"

if ! command -v mmdebstrap >/dev/null; then
	step "installing mmdebstrap on the host (apt-get)"
	apt-get update -qq >&2 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2 ||
		die "could not install mmdebstrap; install it with 'apt-get install mmdebstrap'"
fi

# Remove stale root filesystems of older package lists.
for old in "$QVP_CACHE"/rootfs-*; do
	[ -e "$old" ] || continue
	[ "$old" = "$root" ] && continue
	step "removing stale root filesystem $old"
	rm -rf --one-file-system "$old"
done

plain=$(grep -v -e '^#' -e '^$' -e '^backports:' "$pkgfile" | paste -sd, -)
bpo=$(sed -n 's/^backports://p' "$pkgfile" | paste -sd' ' -)

tmp=$root.tmp
rm -rf --one-file-system "$tmp"
log=$QVP_CACHE/mkrootfs.log
step "building Debian trixie root filesystem in $root (log: $log; a few minutes)"

# The customize hook resolves each backports metapackage to the versioned
# package it depends on and installs that, so trixie's 6.12 and the
# backports 7.x kernel live side by side.  Then it unpacks the parts of
# linux-source that we use (kselftest framework, checkpatch, mtty); the
# whole tarball stays for scripts/mkkernel.sh.
# shellcheck disable=SC2016
if ! mmdebstrap --variant=apt --mode=root \
	--components=main \
	--include="$plain" \
	--skip=cleanup/apt/lists \
	--customize-hook='cp /etc/resolv.conf "$1/etc/resolv.conf"' \
	--customize-hook='[ -e "$1/usr/sbin/poweroff" ] || ln -s /bin/busybox "$1/usr/sbin/poweroff"' \
	--customize-hook='for p in '"$bpo"'; do
		dep=$(chroot "$1" apt-cache depends "$p/trixie-backports" |
		      sed -n "s/^ *Depends: \(linux-[a-z]*-[0-9][^ ]*\)$/\1/p" | head -n1)
		[ -n "$dep" ] || { echo "cannot resolve $p in trixie-backports" >&2; exit 1; }
		echo "backports: $p -> $dep" >&2
		chroot "$1" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -t trixie-backports "$dep" >&2 || exit 1
	done' \
	--customize-hook='mkdir -p "$1/opt/linux-src" &&
		tar -C "$1/opt/linux-src" --strip-components=1 -xJf "$1"/usr/src/linux-source-6.12.tar.xz \
			--wildcards "*/tools/testing/selftests/kselftest*" \
			"*/tools/testing/selftests/lib.mk" \
			"*/tools/testing/selftests/run_kselftest.sh" \
			"*/tools/testing/selftests/Makefile" \
			"*/tools/include" "*/tools/scripts" "*/tools/arch/x86/include" \
			"*/scripts/checkpatch.pl" "*/scripts/spelling.txt" \
			"*/scripts/const_structs.checkpatch" "*/scripts/subarch.include" \
			"*/samples/vfio-mdev" "*/include/uapi/linux/vfio.h"' \
	trixie "$tmp" \
	"deb $mirror trixie main" \
	"deb $mirror trixie-updates main" \
	"deb $mirror trixie-backports main" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "building the root filesystem failed; full log: $log"
fi
touch "$tmp/.qvp-complete"
mv "$tmp" "$root"
step "root filesystem ready: $(du -sh "$root" | cut -f1)"
echo "$root"
