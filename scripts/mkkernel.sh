#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) one of the test bed's own kernels: a Debian
# linux-source with virtme-ng's VM config and a Kconfig fragment on top.
# It is installed into the root filesystem like Debian's kernels
# (/boot/vmlinuz-KVER, /lib/modules/KVER with its build tree), so that
# make check runs it as one more column of the matrix.  The flavours:
#
#   debug    linux-source-6.12 + scripts/debug-kernel.config (KASAN on
#            the VFIO code, lockdep, kmemleak (off unless booted with
#            kmemleak=on, as make check does), UBSAN, atomic-sleep and
#            list debugging, fault injection, userfaultfd, KUnit,
#            iommufd): KVER
#            6.12.N-qvp-debug, tree ROOTFS/usr/src/qvp-kernel
#   iommufd  linux-source-7.3 + scripts/iommufd-kernel.config (the VFIO
#            stack with iommufd and the device cdevs, lockdep, fault
#            injection, userfaultfd): KVER 7.3.N-qvp-iommufd, for the
#            iommufd suites on 7.x, whose Debian kernel lacks
#            CONFIG_IOMMUFD; tree ROOTFS/usr/src/qvp-kernel-iommufd
#
# Usage: scripts/mkkernel.sh ROOTFS [FLAVOUR]   (default: debug)
# Prints the kernel version on stdout; progress and errors on stderr.
# The tree stays in the root filesystem (in the cache, never in the
# repository).  The source: linux-source-SERIES of the root filesystem
# (/usr/src/linux-source-SERIES.tar.xz) if it has it installed; otherwise
# its .deb from the root filesystem's apt sources (trixie-backports,
# about 170 MB, removed once unpacked), which must be of the version of
# the root filesystem's linux-image-SERIES.* package.  Cache key per
# flavour: this script, the flavour's fragment, the source's version and
# gcc's; a new key rebuilds in the same tree, so only what the change
# touches is compiled again.  Log: $QVP_CACHE/mkkernel[-FLAVOUR].log.
# QVP_KERNEL_JOBS: parallel jobs (default: the number of CPUs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

rootfs=${1:?usage: mkkernel.sh ROOTFS [debug|iommufd]}
flavour=${2:-debug}
# flavour: source series, fragment, tree (in the root filesystem), log
case $flavour in
debug) series=6.12 fragname=debug-kernel.config tree=/usr/src/qvp-kernel log=$QVP_CACHE/mkkernel.log ;;
iommufd) series=7.3 fragname=iommufd-kernel.config tree=/usr/src/qvp-kernel-iommufd log=$QVP_CACHE/mkkernel-iommufd.log ;;
*) die "mkkernel.sh: unknown flavour '$flavour' (debug or iommufd)" ;;
esac
frag=$here/$fragname
top=$rootfs$tree
suffix=-qvp-$flavour
jobs=${QVP_KERNEL_JOBS:-$(nproc)}
what="the $flavour kernel (linux-source-$series + scripts/$fragname)"
# The fragment names the kernel: its LOCALVERSION must be the flavour's.
grep -qxF "CONFIG_LOCALVERSION=\"$suffix\"" "$frag" ||
	die "scripts/$fragname must set CONFIG_LOCALVERSION=\"$suffix\""

pkg=linux-source-$series
tarball=$rootfs/usr/src/$pkg.tar.xz
if chroot "$rootfs" dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q ' installed$'; then
	[ -f "$tarball" ] ||
		die "no $tarball: the root filesystem predates scripts/mkkernel.sh; remove $rootfs and run again"
	srcver=$(chroot "$rootfs" dpkg-query -W -f '${Version}' "$pkg")
	download=
else
	# Not installed: the version of the root filesystem's kernel package
	# of that series (the key must be known without a download).
	srcver=$(chroot "$rootfs" dpkg-query -W -f '${Version}\n' "linux-image-$series.*-amd64" 2>/dev/null |
		sort -V | tail -n 1 || true)
	[ -n "$srcver" ] ||
		die "$what: the root filesystem has neither $pkg nor a linux-image-$series.* package to take the version from"
	download=1
fi
gccver=$(chroot "$rootfs" gcc --version | head -n 1)
key=$( { cat "$here/mkkernel.sh" "$frag"; echo "$srcver"; echo "$gccver"; } | sha256sum | cut -c1-16)

kver_of() { chroot "$rootfs" make -s -C "$tree/src" kernelrelease; }

if [ "$(cat "$top/key" 2>/dev/null)" = "$key" ]; then
	kver=$(kver_of)
	if [ -f "$rootfs/boot/vmlinuz-$kver" ]; then
		echo "$kver"
		exit 0
	fi
fi

need_root
# An older build of ours stays out of the matrix until this one is done.
rm -f "$rootfs"/boot/vmlinuz-*"$suffix" "$top/key"
rm -rf "$rootfs"/usr/lib/modules/*"$suffix"

: >"$log"
if [ "$(cat "$top/source-version" 2>/dev/null)" != "$srcver" ]; then
	rm -rf "$top"
	mkdir -p "$top/src"
	if [ -z "$download" ]; then
		step "$flavour kernel: unpacking $pkg $srcver into $top/src"
		tar -C "$top/src" --strip-components=1 -xJf "$tarball"
	else
		step "$flavour kernel: downloading $pkg $srcver (about 170 MB; log: $log) and unpacking it into $top/src"
		tmp=/var/tmp/qvp-kernel-$flavour
		rm -rf "$rootfs$tmp"
		mkdir -p "$rootfs$tmp"
		in_rootfs "$rootfs" "$repo" env PKG="$pkg=$srcver" TMP="$tmp" sh -ec '
			cd "$TMP"
			apt-get -q -o APT::Sandbox::User=root download "$PKG" ||
				{ apt-get -q update && apt-get -q -o APT::Sandbox::User=root download "$PKG"; }' \
			>>"$log" 2>&1 </dev/null ||
			{ rm -rf "$rootfs$tmp" "$top"; tail -n 5 "$log" >&2; die "$what: apt-get could not download $pkg $srcver; see $log"; }
		# The .deb holds the tree as usr/src/linux-source-SERIES.tar.xz.
		dpkg-deb --fsys-tarfile "$rootfs$tmp/${pkg}_"*.deb |
			tar -xO --wildcards "*/$pkg.tar.xz" | xz -dc |
			tar -x -C "$top/src" --strip-components=1 2>>"$log" &&
			[ -f "$top/src/Makefile" ] ||
			{ rm -rf "$rootfs$tmp" "$top"; die "$what: could not unpack $pkg.tar.xz of the .deb; see $log"; }
		rm -rf "$rootfs$tmp"
	fi
	echo "$srcver" >"$top/source-version"
fi

step "$flavour kernel: configuring (virtme-ng's config + scripts/$fragname; log: $log)"
in_rootfs "$rootfs" "$repo" sh -c '
	cd "$1/src" &&
	vng --kconfig &&
	scripts/kconfig/merge_config.sh -m .config "/qvp/scripts/$2" &&
	make olddefconfig &&
	make syncconfig' sh "$tree" "$fragname" >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "configuring $what failed; see $log"; }
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
[ "$missing" -eq 0 ] || die "the $flavour kernel's config lost options of scripts/$fragname (see above)"

kver=$(kver_of)
[[ $kver == *"$suffix" ]] || die "$what: its release is $kver, not *$suffix"
# KASAN's checks only where the tests look (scripts/debug-kernel.config
# says why): KASAN_SANITIZE on make's command line overrides the
# directories' own KASAN_SANITIZE (a file's KASAN_SANITIZE_foo.o := n
# still wins, scripts/Makefile.lib), and as a recursive variable it is
# expanded per object, with that object's $(obj) and $@.  lib/usercopy.o
# holds x86's out-of-line copy_{to,from}_user(), whose KASAN checks are
# compiled in their callers' stead.  Modules built outside the tree
# (ours) are instrumented anyway.  This file is in the cache key, so a
# change of the list recompiles the objects whose flags it changes.  A
# make by hand in the tree must pass the same argument, or it recompiles
# everything with KASAN's checks.
sanitize=()
if grep -qxF CONFIG_KASAN=y "$frag"; then
	kasan_dirs='drivers/vfio% drivers/iommu/iommufd% samples/vfio-mdev%'
	sanitize=("KASAN_SANITIZE=\$(if \$(filter $kasan_dirs,\$(obj))\$(filter lib/usercopy.o,\$@),y,n)")
fi
step "$flavour kernel: building $kver with $jobs jobs (log: $log); a cold build takes 20-40 minutes on 2 cores"
t0=$(date +%s)
in_rootfs "$rootfs" "$repo" make -C "$tree/src" -j"$jobs" "${sanitize[@]}" bzImage modules >>"$log" 2>&1 &
make_pid=$!
while kill -0 "$make_pid" 2>/dev/null; do
	for _ in $(seq 60); do
		sleep 1
		kill -0 "$make_pid" 2>/dev/null || break
	done
	kill -0 "$make_pid" 2>/dev/null || break
	step "  $flavour kernel: $(( ($(date +%s) - t0) / 60 )) min: $(grep -c '^  CC ' "$log") files compiled"
done
wait "$make_pid" || { tail -n 30 "$log" >&2; die "building $what failed; see $log"; }

step "$flavour kernel: installing $kver into the root filesystem"
in_rootfs "$rootfs" "$repo" sh -c '
	cd "$1/src" &&
	make -s INSTALL_MOD_STRIP=1 modules_install &&
	cp arch/x86/boot/bzImage "/boot/vmlinuz-$2"' sh "$tree" "$kver" >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "installing $what failed; see $log"; }
echo "$key" >"$top/key"
step "$flavour kernel: $kver ready after $(( $(date +%s) - t0 )) s"
echo "$kver"
