#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install (or reuse) a second QEMU in the test root filesystem: the 11.1
# series from Debian trixie-backports, beside trixie's own QEMU (10.0),
# which stays the one on $PATH and the one that runs the test VM.  The
# qemu-migration suite runs against both (scripts/guest-run.sh).
#
# The packages are not installed with dpkg (that would replace 10.0):
# inside the root filesystem, with an apt state of its own (a sources file
# naming trixie-backports only, lists and cache under /var/lib/qvp-qemu,
# so that the root filesystem's own apt state is left alone), apt-get
# downloads qemu-system-x86, qemu-system-common, qemu-system-data and
# seabios at their trixie-backports versions, and dpkg-deb -x unpacks
# them into /opt/qemu-11.1.  The libraries the binary links are trixie's,
# already in the root filesystem for QEMU 10.0: ldd must find them all.
# QEMU does not relocate its module and data directories: it finds its
# own modules through QEMU_MODULE_DIR (else it would look in 10.0's) and
# its data and firmware through -L (else it would use 10.0's), which
# scripts/guest-run.sh sets for the suite (QEMU_MODULE_DIR and
# QEMU_MIG_DATADIR).
#
# Usage: scripts/mkqemu.sh ROOTFS     prints the installed version on stdout
# /opt/qemu-11.1/qemu.env: the variables that run it (guest-run.sh).
# Cache key: this script; /opt/qemu-11.1/.qvp-stamp holds the key and the
# versions of the packages.  Log of the download: $QVP_CACHE/mkqemu.log.  The root filesystem's cache key does not change (the package
# list is untouched), so the debug kernel is not rebuilt.
# QVP_MIRROR: Debian mirror (default: http://deb.debian.org/debian).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

rootfs=${1:?usage: mkqemu.sh ROOTFS}
series=11.1
dest=/opt/qemu-$series
stamp=$rootfs$dest/.qvp-stamp
mirror=${QVP_MIRROR:-http://deb.debian.org/debian}
pkgs="qemu-system-x86 qemu-system-common qemu-system-data seabios"
key=$(sha256sum "$here/mkqemu.sh" | cut -c1-16)
moddir=$dest/usr/lib/x86_64-linux-gnu/qemu
datadir=$dest/usr/share/qemu

fail() { die "QEMU $series for the qemu-migration-$series suite: $*"; }

# check_qemu ROOT: the unpacked QEMU at ROOT (inside the root filesystem)
# runs as the guest runs it (QEMU_MODULE_DIR, -L; see qemu.env below): its
# version is $series.x, ldd finds every library it links, it loads its own
# modules (accel-qtest.so, which 10.0 does not have), and it boots the
# qemu-migration suite's nested machine (q35, TCG, a BIOS of hlt, an edu)
# and answers QMP that it is running.  Prints the version line.
check_qemu()
{
	in_rootfs "$rootfs" "$repo" env ROOT="$1" SERIES="$series" \
		QEMU_MODULE_DIR="$1${moddir#"$dest"}" \
		DATA="-L $1${datadir#"$dest"} -L $1/usr/share/seabios" sh -ec '
		bin=$ROOT/usr/bin/qemu-system-x86_64
		ver=$("$bin" --version | head -n 1)
		case $ver in
		"QEMU emulator version $SERIES".*) ;;
		*) echo "$bin --version says: $ver"; exit 1 ;;
		esac
		ldd "$bin" >/tmp/qvp-qemu-ldd.$$ || { echo "ldd $bin failed"; exit 1; }
		! grep "not found" /tmp/qvp-qemu-ldd.$$ || { echo "libraries missing (above)"; exit 1; }
		rm -f /tmp/qvp-qemu-ldd.$$
		qmp() { printf "%s\n" "{\"execute\": \"qmp_capabilities\"}" \
			"{\"execute\": \"query-status\"}" "{\"execute\": \"quit\"}"; }
		out=$(qmp | timeout 60 "$bin" $DATA -machine none -accel qtest \
			-display none -nodefaults -qmp stdio 2>&1) ||
			{ echo "$out"; echo "QEMU does not load its module accel-qtest.so from $QEMU_MODULE_DIR"; exit 1; }
		tmp=$(mktemp -d)
		head -c 65536 /dev/zero | tr "\0" "\364" >"$tmp/hlt.bin"
		out=$(qmp | timeout 60 "$bin" $DATA -machine q35 -accel tcg -m 32 \
			-nodefaults -display none -bios "$tmp/hlt.bin" -device edu \
			-qmp stdio 2>&1) || { echo "$out"; echo "QEMU failed to boot the nested machine"; exit 1; }
		rm -rf "$tmp"
		case $out in
		*"\"status\": \"running\""*) ;;
		*) echo "$out"; echo "the nested machine is not running"; exit 1 ;;
		esac
		"$bin" -device vfio-pci,help | grep -q "enable-migration=" ||
			{ echo "vfio-pci has no enable-migration property"; exit 1; }
		echo "$ver"
	'
}

if [ "$(sed -n 's/^key=//p' "$stamp" 2>/dev/null)" = "$key" ] &&
	[ -r "$rootfs$dest/qemu.env" ] &&
	ver=$(check_qemu "$dest" 2>&1); then
	sed -n 's/^version=//p' "$stamp"
	exit 0
fi

need_root
[ -x "$rootfs/usr/bin/apt-get" ] || fail "no apt-get in $rootfs"
step "QEMU $series: downloading $pkgs from trixie-backports into $rootfs$dest"
state=/var/lib/qvp-qemu
rm -rf "$rootfs$state" "$rootfs$dest.tmp"
# shellcheck disable=SC2064	# the paths are fixed now
trap "rm -rf '$rootfs$state' '$rootfs$dest.tmp'" EXIT
mkdir -p "$rootfs$state/lists/partial" "$rootfs$state/cache/archives/partial" \
	"$rootfs$state/debs" "$rootfs$dest.tmp"
echo "deb $mirror trixie-backports main" >"$rootfs$state/sources.list"

# The versions: each package's newest version in trixie-backports, which must
# be of the $series series (backports moves on to a new series some day;
# then this script must be looked at, not quietly take it).
in_rootfs "$rootfs" "$repo" env STATE="$state" PKGS="$pkgs" sh -ec '
	opts="-o Dir::Etc::SourceList=$STATE/sources.list -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists=$STATE/lists -o Dir::Cache=$STATE/cache"
	apt-get -q $opts -o APT::Sandbox::User=root update
	cd "$STATE/debs"
	for p in $PKGS; do
		v=$(apt-cache $opts show "$p" | sed -n "s/^Version: //p" | sort -V | tail -n 1)
		[ -n "$v" ] || { echo "$p is not in trixie-backports"; exit 1; }
		apt-get -q $opts -o APT::Sandbox::User=root download "$p=$v"
		echo "$p $v" >>"$STATE/versions"
	done' >"$QVP_CACHE/mkqemu.log" 2>&1 </dev/null ||
	{ tail -n 20 "$QVP_CACHE/mkqemu.log" >&2; fail "apt-get could not download the packages (log: $QVP_CACHE/mkqemu.log)"; }
versions=$(cat "$rootfs$state/versions")
echo "$versions" | sed 's/^/    /' >&2
full=$(echo "$versions" | sed -n 's/^qemu-system-x86 //p')
version=${full#*:}
case $version in
"$series".*) ;;
*) fail "trixie-backports has qemu-system-x86 '${full:-none}', not $series.x: update scripts/mkqemu.sh" ;;
esac
for deb in "$rootfs$state/debs"/*.deb; do
	in_rootfs "$rootfs" "$repo" dpkg-deb -x "${deb#"$rootfs"}" "$dest.tmp" ||
		fail "dpkg-deb -x ${deb##*/} failed"
done
# qemu-system-data links some firmware to other packages' files by
# absolute paths: those of seabios (unpacked here too, at its backports
# version) must point into this tree, not at trixie's older seabios.
find "$rootfs$dest.tmp/usr/share/qemu" -type l | while read -r l; do
	t=$(readlink "$l")
	case $t in
	/usr/share/seabios/*) ln -sfn "../seabios/${t#/usr/share/seabios/}" "$l" ;;
	esac
done
if ! ver=$(check_qemu "$dest.tmp" 2>&1); then
	echo "$ver" >&2
	fail "the unpacked QEMU does not run (see above)"
fi
echo "$ver" | sed 's/^/    /' >&2
rm -rf "$rootfs$dest"
mv "$rootfs$dest.tmp" "$rootfs$dest"
# How to run it, for scripts/guest-run.sh: the qemu-migration selftest's
# variables and QEMU's own module directory, VAR=VALUE a line.
cat >"$rootfs$dest/qemu.env" <<EOF
QEMU_MIG_QEMU=$dest/usr/bin/qemu-system-x86_64
QEMU_MIG_DATADIR=$datadir:$dest/usr/share/seabios
QEMU_MODULE_DIR=$moddir
EOF
# The stamp is written last: a run that stopped half way starts over.
{
	echo "key=$key"
	echo "version=$full"
	echo "$versions" | sed 's/^/package=/'
} >"$stamp"
check_qemu "$dest" >/dev/null 2>&1 || fail "$dest does not run once moved into place"
sed -n 's/^version=//p' "$stamp"
