#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) the test bed's own kernel: linux-source-6.12 with
# virtme-ng's VM config and scripts/debug-kernel.config on top (KASAN,
# lockdep, kmemleak, UBSAN, fault injection, KUnit, iommufd).  It is
# installed into the root filesystem like Debian's kernels
# (/boot/vmlinuz-KVER, /lib/modules/KVER with its build tree), so that
# make check runs it as one more column of the matrix.
#
# Usage: scripts/mkkernel.sh ROOTFS       prints the kernel version on stdout
# The tree stays in ROOTFS/usr/src/qvp-kernel (in the cache, never in the
# repository).  Cache key: this script, the config fragment, the version of
# linux-source-6.12 and of gcc; a new key rebuilds in the same tree, so
# only what the change touches is compiled again.
# QVP_KERNEL_JOBS: parallel jobs (default: the number of CPUs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

rootfs=${1:?usage: mkkernel.sh ROOTFS}
frag=$here/debug-kernel.config
top=$rootfs/usr/src/qvp-kernel
log=$QVP_CACHE/mkkernel.log
jobs=${QVP_KERNEL_JOBS:-$(nproc)}

tarball=$rootfs/usr/src/linux-source-6.12.tar.xz
[ -f "$tarball" ] ||
	die "no $tarball: the root filesystem predates scripts/mkkernel.sh; remove $rootfs and run again"
srcver=$(chroot "$rootfs" dpkg-query -W -f '${Version}' linux-source-6.12)
gccver=$(chroot "$rootfs" gcc --version | head -n 1)
key=$( { cat "$here/mkkernel.sh" "$frag"; echo "$srcver"; echo "$gccver"; } | sha256sum | cut -c1-16)

kver_of() { chroot "$rootfs" make -s -C /usr/src/qvp-kernel/src kernelrelease; }

if [ "$(cat "$top/key" 2>/dev/null)" = "$key" ]; then
	kver=$(kver_of)
	if [ -f "$rootfs/boot/vmlinuz-$kver" ]; then
		echo "$kver"
		exit 0
	fi
fi

need_root
# An older build of ours stays out of the matrix until this one is done.
rm -f "$rootfs"/boot/vmlinuz-*-qvp-debug "$top/key"
rm -rf "$rootfs"/usr/lib/modules/*-qvp-debug

if [ "$(cat "$top/source-version" 2>/dev/null)" != "$srcver" ]; then
	step "unpacking linux-source-6.12 $srcver into $top/src"
	rm -rf "$top"
	mkdir -p "$top/src"
	tar -C "$top/src" --strip-components=1 -xJf "$tarball"
	echo "$srcver" >"$top/source-version"
fi

step "configuring the debug kernel (virtme-ng's config + scripts/debug-kernel.config; log: $log)"
: >"$log"
in_rootfs "$rootfs" "$repo" sh -c '
	cd /usr/src/qvp-kernel/src &&
	vng --kconfig &&
	scripts/kconfig/merge_config.sh -m .config /qvp/scripts/debug-kernel.config &&
	make olddefconfig &&
	make syncconfig' >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "configuring the kernel failed; see $log"; }
# Every line of the fragment must have survived olddefconfig: a symbol
# that Kconfig dropped (a missing dependency, a renamed option) would
# quietly take a check out of the matrix.
missing=0
while read -r want; do
	sym=$(echo "$want" | grep -o 'CONFIG_[A-Z0-9_]*')
	grep -qxF "$want" "$top/src/.config" && continue
	echo "mkkernel.sh: $frag asks for '$want'; the kernel's .config has '$(grep -E "^(# )?$sym[= ]" "$top/src/.config" || echo nothing)'" >&2
	missing=1
done < <(grep -E '^CONFIG_|^# CONFIG_.* is not set$' "$frag")
[ "$missing" -eq 0 ] || die "the debug kernel's config lost options of scripts/debug-kernel.config (see above)"

kver=$(kver_of)
step "building kernel $kver with $jobs jobs (log: $log); a cold build takes 20-40 minutes on 2 cores"
t0=$(date +%s)
in_rootfs "$rootfs" "$repo" make -C /usr/src/qvp-kernel/src -j"$jobs" bzImage modules >>"$log" 2>&1 &
make_pid=$!
while kill -0 "$make_pid" 2>/dev/null; do
	for _ in $(seq 60); do
		sleep 1
		kill -0 "$make_pid" 2>/dev/null || break
	done
	kill -0 "$make_pid" 2>/dev/null || break
	step "  $(( ($(date +%s) - t0) / 60 )) min: $(grep -c '^  CC ' "$log") files compiled"
done
wait "$make_pid" || { tail -n 30 "$log" >&2; die "building the kernel failed; see $log"; }

step "installing $kver into the root filesystem"
in_rootfs "$rootfs" "$repo" sh -c '
	cd /usr/src/qvp-kernel/src &&
	make -s INSTALL_MOD_STRIP=1 modules_install &&
	cp arch/x86/boot/bzImage "/boot/vmlinuz-$1"' sh "$kver" >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "installing the kernel failed; see $log"; }
echo "$key" >"$top/key"
step "kernel $kver ready after $(( $(date +%s) - t0 )) s"
echo "$kver"
