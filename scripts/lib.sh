# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
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

# tap ok|"not ok" DESCRIPTION...: one TAP line of a host test script,
# numbered on from $n; a failure counts in $failed.  The script sets
# n=0 failed=0 and prints the plan itself.
tap()
{
	local res=$1
	shift
	n=$((n + 1))
	[ "$res" = ok ] || failed=$((failed + 1))
	echo "$res $n - $*"
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

# Debian's kernel versions installed in the root filesystem, oldest
# first; not our own kernels that scripts/mkkernel.sh adds (*-qvp-debug,
# *-qvp-iommufd).
rootfs_kernels()
{
	local f
	for f in "$1"/boot/vmlinuz-*; do
		case $f in
		*-qvp-*) ;;
		*) [ -e "$f" ] && echo "${f##*/vmlinuz-}" ;;
		esac
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

# mtty_src ROOTFS KVER: the directory, inside the root filesystem, whose
# samples/vfio-mdev/mtty.c is of kernel KVER's series: /opt/linux-src-X.Y
# where scripts/mksamples.sh unpacked one, else /opt/linux-src
# (linux-source-6.12).
mtty_src()
{
	local s
	s=$(echo "$2" | sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p')
	if [ -n "$s" ] && [ -r "$1/opt/linux-src-$s/samples/vfio-mdev/mtty.c" ]; then
		echo "/opt/linux-src-$s"
	else
		echo /opt/linux-src
	fi
}

# mtty_own ROOTFS KVER: the kernel's own mtty module (a path under
# /usr/lib/modules/KVER of the root filesystem, e.g. the debug kernel's
# kernel/samples/vfio-mdev/mtty.ko), or nothing: build_mtty must build one.
mtty_own()
{
	(cd "$1/usr/lib/modules/$2" 2>/dev/null &&
		ls kernel/samples/vfio-mdev/mtty.ko* 2>/dev/null | head -n 1)
}

# Build the kernel's mtty sample (samples/vfio-mdev/mtty.c, an mdev vendor
# driver with VFIO migration, of mtty_src's tree) as an out-of-tree module
# for kernel KVER, in out/KVER/mtty; the source is linked there, not
# copied.  Log: out/KVER/mtty-build.log.
# Usage: build_mtty ROOTFS REPO KVER
build_mtty()
{
	local rootfs=$1 repo=$2 k=$3
	local d=$repo/out/$k/mtty

	rm -rf "$d"
	mkdir -p "$d"
	echo 'obj-m := mtty.o' >"$d/Kbuild"
	ln -s "$(mtty_src "$rootfs" "$k")/samples/vfio-mdev/mtty.c" "$d/mtty.c"
	in_rootfs "$rootfs" "$repo" make -C "/usr/lib/modules/$k/build" \
		M="/qvp/out/$k/mtty" modules >"$repo/out/$k/mtty-build.log" 2>&1 &&
		[ -f "$d/mtty.ko" ]
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

# In the guest: the kernel's mtty sample (samples/vfio-mdev/mtty.c), a vfio
# mdev driver with migration: the conformance suites' second driver (suite
# mtty) and make bench's floor.  Its dual port type; the UUIDs of the
# mdevs the suites and the benchmark create ("mtty" in hex).
mtty_type=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2
mtty_uuids=(6d747479-0000-4000-8000-000000000001 6d747479-0000-4000-8000-000000000002)

# mtty_load_ko KO: mdev, then mtty: KO (the out-of-tree build of
# build_mtty) if it exists, else the kernel's own module (the debug kernel
# has one).
mtty_load_ko()
{
	modprobe mdev || return 1
	if [ -f "$1" ]; then
		insmod "$1" || return 1
	else
		modprobe mtty || return 1
	fi
	[ -d "$mtty_type" ] || { echo "no $mtty_type"; ls /sys/class/mdev_bus/*/mdev_supported_types; return 1; }
}

# mdev_create UUID: a mdev of $mtty_type, with its IOMMU group.
mdev_create()
{
	echo "$1" >"$mtty_type/create" || return 1
	readlink "/sys/bus/mdev/devices/$1/iommu_group" ||
		{ echo "$1 has no IOMMU group"; return 1; }
}

# mdev_remove UUID: the mdev is gone.
mdev_remove()
{
	echo 1 >"/sys/bus/mdev/devices/$1/remove" || return 1
	[ ! -e "/sys/bus/mdev/devices/$1" ]
}

# The test VM's devices (see the file for its format) ----------------------
# QVP_TEST_DEVICES names another manifest; vm.sh hands it on to the guest,
# where it must be a path under /qvp.
QVP_TEST_DEVICES=${QVP_TEST_DEVICES:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/test-devices}
# Where the guest's PCI devices are (manifest-test.sh fakes it).
QVP_SYSFS_PCI=${QVP_SYSFS_PCI:-/sys/bus/pci/devices}

# size_bytes SIZE: SIZE, a number with K, M or G, in bytes.
size_bytes()
{
	[[ $1 =~ ^[1-9][0-9]*[KMG]$ ]] || return 1
	local n=${1%?}
	case $1 in
	*K) echo $((n << 10)) ;;
	*M) echo $((n << 20)) ;;
	*G) echo $((n << 30)) ;;
	esac
}

# count_word N: "one" to "nine", else N.
count_word()
{
	local w=(zero one two three four five six seven eight nine)
	echo "${w[$1]:-$1}"
}

# join_and WORD...: "a", "a and b", "a, b and c".
join_and()
{
	[ "$#" -gt 0 ] || return 0
	local out=$1
	[ "$#" -gt 1 ] || { echo "$out"; return; }
	shift
	while [ "$#" -gt 1 ]; do
		out+=", $1"
		shift
	done
	echo "$out and $1"
}

# td_why KIND ID COUNT ROLE BACKING GUEST QEMU LABEL: what is wrong with a
# device line (nothing when it is right), given the lines before it.
td_why()
{
	local kind=$1 id=$2 count=$3 role=$4 backing=$5 guest=$6 qemu=$7 label=$8
	local k want size rest found='' bar='bar[0-5]=([1-9][0-9]*[KMG]|0|\*)'
	local hex4='[0-9a-f]{4}' pcie=''

	[ -n "$label" ] || { echo "seven fields and a label wanted"; return; }
	[[ $kind =~ ^[a-z][A-Za-z0-9-]*$ ]] ||
		{ echo "KIND \"$kind\" is not [a-z][A-Za-z0-9-]*"; return; }
	for k in "${td_kind[@]}"; do
		[ "$k" != "$kind" ] || { echo "KIND $kind is defined twice"; return; }
	done
	[[ $id =~ ^[0-9a-f]{4}:[0-9a-f]{4}$ ]] ||
		{ echo "ID \"$id\" is not vendor:device, four lowercase hex digits each"; return; }
	[[ $count =~ ^[1-9]$ ]] || { echo "COUNT \"$count\" is not 1-9"; return; }
	case $role in
	migrate | refuse | vfio) ;;
	*) echo "ROLE \"$role\" is not migrate, refuse or vfio"; return ;;
	esac
	case $backing in
	-) want= ;;
	ram:*)
		size_bytes "${backing#ram:}" >/dev/null ||
			{ echo "BACKING \"$backing\": SIZE is not a number with K, M or G"; return; }
		want='{mem}' ;;
	ivshmem-server:*)
		size=$(size_bytes "${backing#ivshmem-server:}") || size=1
		((size % (1 << 20) == 0)) ||
			{ echo "BACKING \"$backing\": SIZE is not a whole number of MiB"; return; }
		want='{chardev}' ;;
	netdev:user) want='{netdev}' ;;
	*) echo "BACKING \"$backing\" is not -, ram:SIZE, ivshmem-server:SIZE or netdev:user"; return ;;
	esac
	[ "$guest" = - ] || [[ $guest =~ ^$bar(,$bar)*$ ]] || [[ $guest =~ ^vf-of=$hex4:$hex4$ ]] ||
		{ echo "GUEST \"$guest\" is neither -, barN=SIZE|0|* separated by commas nor vf-of=VENDOR:DEVICE"; return; }
	[[ $qemu =~ ^[a-z][a-z0-9-]*(,[^[:space:]]+)?$ ]] ||
		{ echo "QEMU \"$qemu\" is not MODEL[,OPTION...]"; return; }
	rest=$qemu
	while [[ $rest =~ \{[a-z]*\} ]]; do
		found+=" ${BASH_REMATCH[0]}"
		rest=${rest/"${BASH_REMATCH[0]}"/}
	done
	found=${found# }
	[[ $rest != *[{}]* ]] || { echo "QEMU \"$qemu\" has a stray brace"; return; }
	# {pcie}, a root port of its own, goes with any backing, once.
	rest=$found found=''
	for k in $rest; do
		case $k in
		'{pcie}') [ -z "${pcie:-}" ] || { echo "QEMU \"$qemu\" uses {pcie} twice"; return; }
			pcie=1 ;;
		*) found+="${found:+ }$k" ;;
		esac
	done
	[ "$found" = "$want" ] ||
		echo "QEMU \"$qemu\" uses ${found:-no placeholder}; BACKING $backing wants ${want:-none}"
}

# test_devices_load: read the manifest, QVP_TEST_DEVICES, into the arrays td_kind, td_id, td_count, td_role, td_backing, td_guest,
# td_qemu, td_label and td_model (QEMU's first word), one element per
# line, and td_memory (guest RAM, in bytes).  A malformed line is reported
# on stderr, FILE:LINE: WHY; returns non-zero if there was one.
test_devices_load()
{
	local file=$QVP_TEST_DEVICES line n=0 bad=0 why i j
	local kind id count role backing guest qemu label
	local -a at=()

	td_kind=() td_id=() td_count=() td_role=() td_backing=() td_guest=()
	td_qemu=() td_label=() td_model=() td_memory=
	[ -r "$file" ] || { echo "$file: no test device manifest" >&2; return 1; }
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		[[ $line =~ ^[[:blank:]]*(#|$) ]] && continue
		why=
		if [[ $line =~ ^[[:blank:]]*([a-z-]+)=([^[:blank:]]*)[[:blank:]]*$ ]]; then
			case ${BASH_REMATCH[1]} in
			guest-memory)
				if [ -n "$td_memory" ]; then
					why="guest-memory is set twice"
				else
					td_memory=$(size_bytes "${BASH_REMATCH[2]}") &&
						((td_memory % (1 << 20) == 0)) ||
						why="guest-memory: SIZE is not a whole number of MiB"
				fi ;;
			*) why="unknown setting ${BASH_REMATCH[1]}" ;;
			esac
		else
			read -r kind id count role backing guest qemu label <<<"$line"
			why=$(td_why "$kind" "$id" "$count" "$role" "$backing" \
				"${guest:-}" "${qemu:-}" "${label:-}")
			if [ -z "$why" ]; then
				td_kind+=("$kind") td_id+=("$id") td_count+=("$count")
				td_role+=("$role") td_backing+=("$backing")
				td_guest+=("$guest") td_qemu+=("$qemu")
				td_label+=("$label") td_model+=("${qemu%%,*}") at+=("$n")
			fi
		fi
		[ -z "$why" ] || { echo "$file:$n: $why" >&2; bad=1; }
	done <"$file"
	# Lines that share an ID: the guest must be able to tell them apart.
	for i in "${!td_kind[@]}"; do
		for ((j = 0; j < i; j++)); do
			[ "${td_id[i]}" = "${td_id[j]}" ] || continue
			if [ "${td_guest[j]}" = - ] || [ "${td_guest[i]}" = "${td_guest[j]}" ]; then
				echo "$file:${at[i]}: ${td_kind[i]} has the ID of ${td_kind[j]} (line ${at[j]}), and GUEST does not set them apart" >&2
				bad=1
			fi
		done
	done
	[ -n "$td_memory" ] || { echo "$file: no guest-memory=SIZE" >&2; bad=1; }
	[ "${#td_kind[@]}" -gt 0 ] || { echo "$file: no device" >&2; bad=1; }
	return $bad
}

# td_index KIND: the index of KIND in the td_* arrays.
td_index()
{
	local i
	for i in "${!td_kind[@]}"; do
		[ "${td_kind[i]}" = "$1" ] && { echo "$i"; return 0; }
	done
	return 1
}

# test_devices_qemu PREFIX: the test devices as QEMU options, one per line,
# in the manifest's order; before the devices of an ivshmem-server line,
# "server SOCKET SIZE_MIB" for vm.sh to start (sockets PREFIX.N.sock).
# The VFs of a line "vf-of" are one -device, the PF, which the guest
# makes create them (test_devices_scan).
test_devices_qemu()
{
	local prefix=$1 i j n mem=0 chr=0 srv=0 net=0 rp=0 dev sock
	for i in "${!td_kind[@]}"; do
		sock=
		if [[ ${td_backing[i]} == ivshmem-server:* ]]; then
			sock=$prefix.$srv.sock srv=$((srv + 1))
			echo "server $sock $(($(size_bytes "${td_backing[i]#*:}") >> 20))"
		fi
		n=${td_count[i]}
		[[ ${td_guest[i]} != vf-of=* ]] || n=1
		for ((j = 0; j < n; j++)); do
			dev=${td_qemu[i]}
			case ${td_backing[i]} in
			ram:*)
				echo "-object memory-backend-ram,id=mem$mem,size=${td_backing[i]#ram:},share=on"
				dev=${dev//\{mem\}/mem$mem} mem=$((mem + 1)) ;;
			ivshmem-server:*)
				echo "-chardev socket,id=chr$chr,path=$sock"
				dev=${dev//\{chardev\}/chr$chr} chr=$((chr + 1)) ;;
			netdev:user)
				echo "-netdev user,id=net$net"
				dev=${dev//\{netdev\}/net$net} net=$((net + 1)) ;;
			esac
			if [[ $dev == *"{pcie}"* ]]; then
				echo "-device pcie-root-port,id=rp$rp,chassis=$((rp + 1))"
				dev=${dev//\{pcie\}/rp$rp} rp=$((rp + 1))
			fi
			echo "-device $dev"
		done
	done
}

# test_devices_host_memory: bytes of host memory behind the devices.
test_devices_host_memory()
{
	local i size sum=0
	for i in "${!td_kind[@]}"; do
		case ${td_backing[i]} in
		ram:*)
			size=$(size_bytes "${td_backing[i]#ram:}")
			sum=$((sum + size * td_count[i])) ;;
		ivshmem-server:*)
			sum=$((sum + $(size_bytes "${td_backing[i]#*:}"))) ;;
		esac
	done
	echo "$sum"
}

# td_guest_matches DIR GUEST: the device at sysfs DIR passes GUEST's tests.
# Forks only for a BAR's size: the guest runs under TCG, where forks are
# slow.
td_guest_matches()
{
	local t n want f size v dev
	[ "$2" = - ] && return 0
	if [[ $2 == vf-of=* ]]; then
		[ -r "$1/physfn/vendor" ] || return 1
		read -r v <"$1/physfn/vendor"
		read -r dev <"$1/physfn/device"
		[ "${v#0x}:${dev#0x}" = "${2#vf-of=}" ]
		return
	fi
	IFS=, read -ra t <<<"$2"
	for t in "${t[@]}"; do
		n=${t%%=*} want=${t#*=}
		f=$1/resource${n#bar}
		case $want in
		0) [ ! -e "$f" ] || return 1 ;;
		\*) [ -e "$f" ] || return 1 ;;
		*)
			[ -e "$f" ] || return 1
			n=${want%?}
			case $want in
			*K) n=$((n << 10)) ;;
			*M) n=$((n << 20)) ;;
			*G) n=$((n << 30)) ;;
			esac
			size=$(stat -c %s "$f") || return 1
			[ "$size" = "$n" ] || return 1 ;;
		esac
	done
}

# In the guest: td_make_vfs PF_ID COUNT: each device PF_ID without VFs
# gets COUNT, through its driver (loaded by its modalias if need be).  No
# driver probes the new VFs (sriov_drivers_autoprobe): like the other
# test devices, they stay without one until the suites bind them.
td_make_vfs()
{
	local d v dev n
	for d in "$QVP_SYSFS_PCI"/*; do
		[ -r "$d/sriov_numvfs" ] || continue
		read -r v <"$d/vendor"
		read -r dev <"$d/device"
		[ "${v#0x}:${dev#0x}" = "$1" ] || continue
		read -r n <"$d/sriov_numvfs"
		[ "$n" = 0 ] || continue
		[ -e "$d/driver" ] || modprobe -q "$(cat "$d/modalias")"
		[ ! -w "$d/sriov_drivers_autoprobe" ] || echo 0 >"$d/sriov_drivers_autoprobe"
		echo "$2" >"$d/sriov_numvfs" ||
			echo "${d##*/}: could not create $2 VFs" >&2
	done
}

# In the guest: test_devices_scan [KIND...]: sort the guest's PCI devices
# into the manifest's kinds (a device goes to the first line whose ID and
# GUEST match it): td_found[KIND] holds KIND's BDFs, sorted, separated by
# blanks.  The VFs of "vf-of" lines are created first: of every such line,
# or only of the KINDs given (the demo and the benchmark, which want none,
# leave the PF without VFs and its driver unloaded).
test_devices_scan()
{
	local d v dev i
	declare -gA td_found=()
	for i in "${!td_kind[@]}"; do
		[[ ${td_guest[i]} == vf-of=* ]] || continue
		[ "$#" -eq 0 ] || [[ " $* " == *" ${td_kind[i]} "* ]] || continue
		td_make_vfs "${td_guest[i]#vf-of=}" "${td_count[i]}"
	done
	for i in "${!td_kind[@]}"; do
		td_found[${td_kind[i]}]=
	done
	for d in "$QVP_SYSFS_PCI"/*; do
		[ -r "$d/vendor" ] || continue
		read -r v <"$d/vendor"
		read -r dev <"$d/device"
		for i in "${!td_kind[@]}"; do
			[ "${td_id[i]}" = "${v#0x}:${dev#0x}" ] || continue
			td_guest_matches "$d" "${td_guest[i]}" || continue
			td_found[${td_kind[i]}]+="${td_found[${td_kind[i]}]:+ }${d##*/}"
			break
		done
	done
}

# In the guest: test_devices_find KIND: the BDFs of KIND's devices, sorted,
# one a line.
test_devices_find()
{
	local b
	test_devices_scan "$1"
	for b in ${td_found[$1]:-}; do
		echo "$b"
	done
}
