#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test of the test VM's device manifest (scripts/test-devices), run by
# make check: the manifest parses, it turns into one -device per device,
# a fake guest's sysfs built from it sorts every device into its own kind
# (so that kinds sharing an ID are told apart), the same holds with the
# NIC's line (igb VFs) added, the scripts ask only for
# kinds it has, and every kind of malformed line is refused with its line
# number (or, when it clashes with another line, both lines'), so that a
# typo cannot silently drop a device.  Needs no VM and
# no root.  Prints TAP.
#
# Usage: manifest-test.sh [WORKDIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
manifest=$QVP_TEST_DEVICES
work=${1:-$(mktemp -d)}
rm -rf "$work"
mkdir -p "$work"
n=0 failed=0

# load FILE: test_devices_load on FILE; its messages in $work/load.err.
load()
{
	QVP_TEST_DEVICES=$1 test_devices_load 2>"$work/load.err"
}

echo "1..12"

# The manifest itself --------------------------------------------------------
if load "$manifest"; then
	tap ok "${manifest#"${here%/scripts}"/} parses: ${#td_kind[@]} kinds, $(IFS=+; echo $((${td_count[*]}))) devices"
else
	tap "not ok" "${manifest#"${here%/scripts}"/} parses"
	sed 's/^/# /' "$work/load.err"
	echo "# the other tests need it"
	exit 1
fi
real_kinds=" ${td_kind[*]} "

# check_qemu WHAT: QEMU's options for the loaded manifest: one -device per
# device (one per PF for VFs), every placeholder filled, every backend,
# chardev, netdev and root port defined once and used by one device, a
# client for every ivshmem server.
check_qemu()
{
	local q=$work/qemu.txt want=0 got bad i id
	test_devices_qemu /tmp/qvp-test >"$q"
	for i in "${!td_kind[@]}"; do
		[[ ${td_guest[i]} == vf-of=* ]] && want=$((want + 1)) ||
			want=$((want + td_count[i]))
	done
	got=$(grep '^-device ' "$q" | grep -vc '^-device pcie-root-port,')
	bad=$(grep -n '[{}]' "$q")
	while read -r id; do
		[ "$(grep -c "^-[a-z]* [^,]*,id=$id\(,\|$\)" "$q")" -eq 1 ] &&
			[ "$(grep -v ",id=$id\(,\|$\)" "$q" | grep -c "^-device .*=$id\(,\|$\)")" -eq 1 ] ||
			bad+=" id $id is not defined once and used once;"
	done < <(sed -n 's/^-[a-z]* [^,]*,id=\([^,]*\).*/\1/p' "$q")
	while read -r _ sock _; do
		grep -q "^-chardev socket,.*path=$sock\$" "$q" ||
			bad+=" server $sock has no client;"
	done < <(grep '^server ' "$q")
	if [ "$got" -eq "$want" ] && [ -z "$bad" ]; then
		tap ok "$1: QEMU gets $want -device options, backings defined and used once"
	else
		tap "not ok" "$1: QEMU gets $want -device options (got $got) and placeholders filled (${bad:-ok})"
		sed 's/^/# /' "$q"
	fi
}

# check_guest WHAT: a fake guest with the devices of every kind of the
# loaded manifest, in its order, each with the ID and the BARs its GUEST
# asks for (VFs on a PF of their own), and a device of no kind.  Each
# kind must find exactly its own.
check_guest()
{
	local sys=$work/sysfs slot=10 vf=0 i j k t bdf pf got bad=''
	local -a tests
	local -A expect=()
	rm -rf "$sys"
	mkdir -p "$sys"
	# fake_dev BDF ID: a device directory.
	fake_dev()
	{
		mkdir "$sys/$1"
		echo "0x${2%:*}" >"$sys/$1/vendor"
		echo "0x${2#*:}" >"$sys/$1/device"
	}
	for i in "${!td_kind[@]}"; do
		pf=
		if [[ ${td_guest[i]} == vf-of=* ]]; then
			pf=$(printf '0000:00:%02x.0' "$slot")
			slot=$((slot + 1))
			fake_dev "$pf" "${td_guest[i]#vf-of=}"
			echo "${td_count[i]}" >"$sys/$pf/sriov_numvfs"
		fi
		for ((j = 0; j < td_count[i]; j++)); do
			if [ -n "$pf" ]; then
				bdf=$(printf '0000:01:%02x.0' "$vf")
				vf=$((vf + 1))
				fake_dev "$bdf" "${td_id[i]}"
				ln -s "../$pf" "$sys/$bdf/physfn"
			else
				bdf=$(printf '0000:00:%02x.0' "$slot")
				slot=$((slot + 1))
				fake_dev "$bdf" "${td_id[i]}"
			fi
			if [ -z "$pf" ] && [ "${td_guest[i]}" != - ]; then
				IFS=, read -ra tests <<<"${td_guest[i]}"
				for t in "${tests[@]}"; do
					case ${t#*=} in
					0) ;;
					\*) truncate -s 4K "$sys/$bdf/resource${t:3:1}" ;;
					*) truncate -s "${t#*=}" "$sys/$bdf/resource${t:3:1}" ;;
					esac
				done
			fi
			expect[${td_kind[i]}]+="$bdf "
		done
	done
	fake_dev 0000:00:00.0 8086:29c0
	for k in "${td_kind[@]}"; do
		got=$(QVP_SYSFS_PCI=$sys test_devices_find "$k" | tr '\n' ' ')
		[ "$got" = "${expect[$k]}" ] || bad+=" $k: found '$got', wanted '${expect[$k]}';"
	done
	QVP_SYSFS_PCI=$sys test_devices_scan
	[[ " ${td_found[*]} " != *" 0000:00:00.0 "* ]] || bad+=" 0000:00:00.0 is of a kind"
	if [ -z "$bad" ]; then
		tap ok "$1: a guest with its devices: each kind finds exactly its own"
	else
		tap "not ok" "$1: a guest with its devices: each kind finds exactly its own ($bad)"
	fi
}

check_qemu test-devices
check_guest test-devices

# The NIC to come (an igb's VFs, on a root port, with a user netdev,
# migrated): the manifest with its line, which it has with the role vfio
# until the backend exists, as it will be then.
if grep -q '^igb-vf ' "$manifest"; then
	sed '/^igb-vf /s/ vfio / migrate /' "$manifest"
else
	cat "$manifest"
	echo "igb-vf 8086:10ca 2 migrate netdev:user vf-of=8086:10c9 igb,netdev={netdev},bus={pcie} igb VFs"
fi >"$work/with-nic"
if load "$work/with-nic"; then
	tap ok "test-devices and an igb VF line parse"
	check_qemu "test-devices and an igb VF line"
	check_guest "test-devices and an igb VF line"
else
	tap "not ok" "test-devices and an igb VF line parse"
	sed 's/^/# /' "$work/load.err"
fi

# The kinds the scripts ask for by name.
bad=
for k in $(cd "$here" && grep -oh 'td_found\[[a-z][A-Za-z0-9-]*\]\|test_devices_find [a-z][A-Za-z0-9-]*' \
	guest-run.sh demo-guest.sh bench-guest.sh | sed 's/^td_found\[\(.*\)\]$/\1/; s/^test_devices_find //' | sort -u); do
	[[ $real_kinds == *" $k "* ]] || bad+=" $k"
done
if [ -z "$bad" ]; then
	tap ok "every kind that guest-run.sh, demo-guest.sh and bench-guest.sh name is in the manifest"
else
	tap "not ok" "every kind that the guest scripts name is in the manifest (missing:$bad)"
fi

# Malformed manifests ----------------------------------------------------------
# spoil NAME SED...: a copy of the manifest ($base) changed by sed; it
# must be refused with a message that names the changed line.  The line
# of a change is found with diff.
base=$manifest
spoil()
{
	local name=$1 f=$work/$1 line
	shift
	sed "$@" "$base" >"$f"
	line=$(diff "$base" "$f" | sed -n 's/^[0-9,]*[ac]\([0-9]*\).*/\1/p' | head -n 1)
	if load "$f"; then
		echo "$name: accepted"
	elif [ -n "$line" ] && ! grep -q "^$f:$line: \|(line $line)" "$work/load.err"; then
		echo "$name: refused without naming line $line: $(head -n 1 "$work/load.err")"
	fi
}

edu='^edu '
plain='^ivshmem-64M '
bad=$(
	spoil no-label -e "/$edu/s/ edu devices\$//"
	spoil field-missing -e "/$edu/s/ migrate - / migrate /"
	spoil id-typo -e "/$edu/s/1234:11e8/1234:11e/"
	spoil id-upper -e "/$edu/s/1234:11e8/1234:11E8/"
	spoil id-dash -e "/$edu/s/1234:11e8/1234-11e8/"
	spoil count-zero -e "/$edu/s/ 2     migrate/ 0     migrate/"
	spoil count-word -e "/$edu/s/ 2     migrate/ two   migrate/"
	spoil role -e "/$edu/s/ migrate / migrat /"
	spoil kind-twice -e "s/$plain/edu /"
	spoil kind-chars -e "s/$plain/ivshmem_64M /"
	spoil size-unit -e "/$plain/s/ram:64M/ram:64MB/"
	spoil size-bare -e "/$plain/s/ram:64M/ram:64/"
	spoil backing -e "/$plain/s/ram:64M/rom:64M/"
	spoil server-size -e "s/ivshmem-server:4M/ivshmem-server:4K/"
	spoil guest-sep -e "/$plain/s/bar1=0,bar2=64M/bar1=0;bar2=64M/"
	spoil guest-bar -e "/$plain/s/bar1=0,/bar6=0,/"
	spoil guest-size -e "/$plain/s/bar2=64M/bar2=64/"
	spoil guest-same -e "/$plain/s/bar2=64M/bar2=256M/"
	spoil guest-none -e "/$plain/s/bar1=0,bar2=64M/-/"
	spoil no-placeholder -e "/$plain/s/,memdev={mem}//"
	spoil wrong-placeholder -e "/$plain/s/{mem}/{chardev}/"
	spoil placeholder-twice -e "/$plain/s/memdev={mem}/memdev={mem},x={mem}/"
	spoil stray-brace -e "/$plain/s/{mem}/{mem/"
	spoil placeholder-no-backing -e "/$edu/s/ edu  / edu,x={mem}/"
	spoil qemu-model -e "/$edu/s/ edu  / Edu  /"
	spoil setting-unknown -e "s/^guest-memory=/guest-mem=/"
	spoil setting-size -e "s/^guest-memory=3G/guest-memory=3GB/"
	spoil setting-twice -e "s/^guest-memory=3G/&\n&/"
	base=$work/with-nic nic='^igb-vf '
	spoil nic-vf-upper -e "/$nic/s/vf-of=8086:10c9/vf-of=8086:10C9/"
	spoil nic-vf-bars -e "/$nic/s/vf-of=8086:10c9/&,bar1=0/"
	spoil nic-backing -e "/$nic/s/netdev:user/netdev:tap/"
	spoil nic-no-netdev -e "/$nic/s/netdev={netdev},//"
	spoil nic-pcie-twice -e "/$nic/s/bus={pcie}/&,x={pcie}/"
)
if [ -z "$bad" ]; then
	tap ok "33 kinds of malformed line are refused, each naming its line"
else
	tap "not ok" "malformed lines are refused, each naming its line"
	printf '%s\n' "$bad" | sed 's/^/# /'
fi

sed '/^guest-memory=/d' "$manifest" >"$work/no-memory"
if ! load "$work/no-memory" && grep -q 'no guest-memory' "$work/load.err"; then
	tap ok "a manifest without guest-memory is refused"
else
	tap "not ok" "a manifest without guest-memory is refused"
fi

sed '/^[a-z]/{/^guest-memory=/!d}' "$manifest" >"$work/no-device"
if ! load "$work/no-device" && grep -q 'no device' "$work/load.err"; then
	tap ok "a manifest without a device is refused"
else
	tap "not ok" "a manifest without a device is refused"
fi

# A malformed line anywhere is one error among the others: all are told.
sed -e "/$edu/s/1234:11e8/1234:11e/" -e "/$plain/s/ram:64M/ram:64/" "$manifest" >"$work/two-bad"
if ! load "$work/two-bad" && [ "$(grep -c ':[0-9]*: ' "$work/load.err")" -eq 2 ]; then
	tap ok "every malformed line is reported, not only the first"
else
	tap "not ok" "every malformed line is reported, not only the first ($(tr '\n' ' ' <"$work/load.err"))"
fi

# vm.sh refuses to boot on a malformed manifest, before it starts anything.
out=$(QVP_TEST_DEVICES=$work/two-bad "$here/vm.sh" none 1 "$work/vm.log" true 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && [[ $out == *"is malformed"* ]] && [ ! -e "$work/vm.log" ]; then
	tap ok "vm.sh refuses a malformed manifest before it starts QEMU"
else
	tap "not ok" "vm.sh refuses a malformed manifest before it starts QEMU (status $rc: $out)"
fi

[ "$failed" -eq 0 ] && rm -rf "$work"
exit $((failed > 0))
