#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vfio_mig_test.sh - every vfio-mig subcommand against real edu devices.
#
# Runs as root in the test VM, with two QEMU edu devices bound to
# qemu-vfio-pci:
#
#   VFIO_SELFTESTS_BDF    edu A (required; without it: KSFT_SKIP)
#   VFIO_SELFTESTS_BDF2   edu B (load and migrate tests skip without it)
#   VFIO_MIG              the vfio-mig binary (default: ./vfio-mig next to
#                         this script, then vfio-mig in $PATH)
#   VFIO_MIG_EDU_REGS     the edu_regs helper (default: next to this script)
#   VFIO_MIG_NONVFIO_BDF  a device bound to a non-vfio driver (default:
#                         0000:00:00.0, else the first such device found)
#   VFIO_MIG_GOLDEN       qemu-vfio-pci's golden streams (default:
#                         tools/testing/stream/golden of this tree)
#   VFIO_MIG_IVSHMEM_BDF  a 64 MiB ivshmem-plain and an igb VF bound to
#   VFIO_MIG_IGBVF_BDF    qemu-vfio-pci, for their golden streams (the
#                         two tests skip without them)
#   VFIO_MIG_XKERNEL      a directory shared by the VMs of several kernels:
#                         streams of an edu, that ivshmem and that VF are
#                         saved into its subdirectory named by this
#                         kernel's release (make check: out/xkernel)
#   VFIO_MIG_XKERNEL_FROM the releases whose saved streams must be there
#                         and load here (the kernels whose VMs saved
#                         theirs, then wrote "done", before this VM
#                         started)
#
# qemu-vfio-pci resets the device when it is opened and closed, so the edu
# registers do not outlive the process that set them: the first tests check
# that, and the holder (vfio-mig hold) that keeps them across processes.  The
# tests from "a recognisable state in A" on run through a holder that keeps
# A and B open (VFIO_MIG_HOLDER), so that edu_regs can set the registers in
# one process and vfio-mig save them in the next; the migration state still
# returns to RUNNING whenever a client of the holder exits.
#
# Output is KTAP; exit 0 pass, 1 fail, 4 skip (no usable device).

KSFT_SKIP=4
NTESTS=37

DIR=$(dirname "$0")
A=${VFIO_SELFTESTS_BDF:-}
B=${VFIO_SELFTESTS_BDF2:-}

normalise() {
	case $1 in
	*:*:*.*) echo "$1" ;;
	*:*.*) echo "0000:$1" ;;
	*) echo "$1" ;;
	esac
}

skip_all() {
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit $KSFT_SKIP
}

driver_of() {
	if [ -L "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	fi
}

[ -n "$A" ] || skip_all "VFIO_SELFTESTS_BDF is not set (an edu bound to qemu-vfio-pci)"
A=$(normalise "$A")
[ -n "$B" ] && B=$(normalise "$B")
[ -e "/sys/bus/pci/devices/$A" ] || skip_all "no PCI device $A"
[ "$(id -u)" -eq 0 ] || skip_all "must run as root"
case $(driver_of "$A") in
*vfio*) ;;
*) skip_all "$A is not bound to a vfio driver (driver: $(driver_of "$A" | grep . || echo none)); bind it to qemu-vfio-pci" ;;
esac
if [ -n "$B" ]; then
	case $(driver_of "$B") in
	*vfio*) ;;
	*) skip_all "$B is not bound to a vfio driver (driver: $(driver_of "$B" | grep . || echo none)); bind it to qemu-vfio-pci" ;;
	esac
fi

VM=${VFIO_MIG:-}
if [ -z "$VM" ]; then
	if [ -x "$DIR/vfio-mig" ]; then
		VM=$DIR/vfio-mig
	else
		VM=$(command -v vfio-mig)
	fi
fi
if [ -z "$VM" ] || [ ! -x "$VM" ]; then
	skip_all "no vfio-mig binary (set VFIO_MIG)"
fi
EDU=${VFIO_MIG_EDU_REGS:-$DIR/edu_regs}
[ -x "$EDU" ] || skip_all "no edu_regs helper ($EDU); build this directory first"

# The golden edu streams, a test each (one test when there are none): the
# newest must load, every older one be refused by its version.
GOLDEN=${VFIO_MIG_GOLDEN:-$DIR/../../../stream/golden}
set -- "$GOLDEN"/edu-v*.qvps
[ -e "$1" ] || set --
GOLDENS=$*
NTESTS=$((NTESTS + ($# > 0 ? $# : 1) + 2))
IVS=${VFIO_MIG_IVSHMEM_BDF:-}
VF=${VFIO_MIG_IGBVF_BDF:-}
# Cross-kernel: three streams saved here, three loaded per earlier kernel.
XK=${VFIO_MIG_XKERNEL:-}
XK_FROM=${VFIO_MIG_XKERNEL_FROM:-}
KVER=$(uname -r)
if [ -n "$XK" ]; then
	# shellcheck disable=SC2086	# a list of kernel releases
	set -- $XK_FROM
	NTESTS=$((NTESTS + 3 + 3 * $#))
fi

T=$(mktemp -d /tmp/vfio_mig_test.XXXXXX) || exit 1
hold_pid=
# The holders' sockets: one for A alone, one for A and B.
HA=$T/a.sock
HAB=$T/hold.sock
unset VFIO_MIG_HOLDER
# shellcheck disable=SC2317	# called from the trap
cleanup() {
	if [ -n "$hold_pid" ]; then
		kill "$hold_pid" 2>/dev/null
		wait "$hold_pid" 2>/dev/null
	fi
	for s in "$HA" "$HAB"; do
		[ -S "$s" ] && "$VM" --quiet release --socket "$s" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
skipped=0

echo "TAP version 13"
echo "1..$NTESTS"
echo "# vfio-mig: $VM; edu A: $A; edu B: ${B:-none}"

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

skip() {
	n=$((n + 1))
	skipped=$((skipped + 1))
	echo "ok $n $1 # SKIP $2"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
	[ -s "$T/out" ] && sed 's/^/#   stdout: /' "$T/out" | head -25
	[ -s "$T/err" ] && sed 's/^/#   stderr: /' "$T/err" | head -25
	return 0
}

# vm ARGS...: run vfio-mig, stdout in $T/out, stderr in $T/err, code in $rc
vm() {
	"$VM" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	echo "# \$ vfio-mig $* -> exit $rc"
}

# expect NAME WANT_RC [FILE PATTERN]...: judge the last vm call; a
# non-empty $EXTRA (reset here) is one more reason to fail.
expect() {
	name=$1
	want=$2
	extra=$EXTRA
	EXTRA=
	shift 2
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name" "exit code $rc, expected $want" ${extra:+"$extra"}
		return 1
	fi
	while [ $# -ge 2 ]; do
		if ! grep -Eq -- "$2" "$T/$1"; then
			not_ok "$name" "std$1 lacks /$2/"
			return 1
		fi
		shift 2
	done
	if [ -n "$extra" ]; then
		not_ok "$name" "$extra"
		return 1
	fi
	ok "$name"
}
EXTRA=

# json EXPR: $T/out is JSON for which the Python expression on "d" holds
json() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" \
		"$T/out" 2>"$T/jerr"
}

# expect_json NAME EXPR: the last vm call exited 0 and its JSON satisfies
# EXPR; a non-empty $EXTRA (reset here) is one more reason to fail.
# Without python3 the JSON cannot be checked: the test is a skip.
expect_json() {
	extra=$EXTRA
	EXTRA=
	if [ "$rc" -ne 0 ]; then
		not_ok "$1" "exit code $rc, expected 0" ${extra:+"$extra"}
	elif [ -n "$extra" ]; then
		not_ok "$1" "$extra"
	elif ! command -v python3 >/dev/null 2>&1; then
		skip "$1" "no python3 to check the JSON output with"
	elif ! json "$2"; then
		not_ok "$1" "JSON does not satisfy: $2" "$(cat "$T/jerr" 2>/dev/null)"
	else
		ok "$1"
	fi
}

# regs BDF: the edu registers as edu_regs prints them, or why it could not
regs() {
	"$EDU" "$1" get 2>>"$T/edu_err" || echo "unreadable: edu_regs get $1 failed"
}

# same_regs X Y: X and Y are the same registers, and were really read
same_regs() {
	case $1 in
	"liveness=0x"*" factorial=0x"*" status=0x"*) [ "$1" = "$2" ] ;;
	*) return 1 ;;
	esac
}

# What scramble gives a device: liveness reads back as the complement of
# what was written, the factorial register as 3! = 6.
SCRAMBLED="liveness=0xffffeeee factorial=0x00000006"

# scramble BDF: give a device registers unlike A's, and check that it has
# them, so that a load or migration into it that moves nothing cannot
# pass; if it does not, $EXTRA says so and the next test fails.
scramble() {
	"$EDU" "$1" set 0x1111 3 >/dev/null 2>>"$T/edu_err"
	s_rc=$?
	s_regs=$(regs "$1")
	case $s_regs in
	"$SCRAMBLED status=0x"*)
		! same_regs "$s_regs" "$A_REGS" && return 0 ;;
	esac
	EXTRA="scrambling $1 failed (edu_regs set exit $s_rc): it has \"$s_regs\", A has \"$A_REGS\", want \"$SCRAMBLED ...\""
	return 1
}

state_is() {
	[ "$("$VM" state "$1" 2>/dev/null)" = "$2" ]
}

# flip FILE OFFSET: overwrite one byte with 0xff
flip() {
	printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# --- info and state ----------------------------------------------------------

vm info "$A"
expect "info shows STOP_COPY, P2P, PRE_COPY and RUNNING" 0 \
	out "^migration flags: .*STOP_COPY" out "^migration flags: .*P2P" \
	out "^migration flags: .*PRE_COPY" out "^state: +RUNNING" \
	out "^driver: +.*vfio"

vm --json info "$A"
expect_json "info --json" \
	"d['migration'] and d['state'] == 'RUNNING' and set(['STOP_COPY','P2P','PRE_COPY']) <= set(d['migration_flag_names']) and d['stop_copy_size'] > 0 and d['vendor'] == '0x1234' and d['device'] == '0x11e8'"

vm state "$A"
expect "state reads RUNNING" 0 out "^RUNNING$"

vm state "$A" stop
expect "state STOP succeeds and prints STOP" 0 out "^STOP$"

if state_is "$A" RUNNING; then
	ok "state is RUNNING again once vfio-mig has exited"
else
	not_ok "state is RUNNING again once vfio-mig has exited"
fi

vm -v state "$A" RUNNING_P2P STOP STOP_COPY STOP RUNNING
[ "$(tr '\n' ' ' <"$T/out")" = "RUNNING_P2P STOP STOP_COPY STOP RUNNING " ] ||
	EXTRA="printed states: $(tr '\n' ' ' <"$T/out")"
expect "state walks RUNNING_P2P STOP STOP_COPY STOP RUNNING" 0 \
	err "now STOP_COPY \(data fd opened\)"

vm --json state "$A" PRE_COPY_P2P
expect_json "state --json PRE_COPY_P2P" \
	"d['ok'] and d['state'] == 'PRE_COPY_P2P' and d['transitions'][0]['ok']"

# --- without a holder: nothing outlives a process ----------------------------

POWER_ON="liveness=0x00000000 factorial=0x00000000 status=0x00000000"

# User A writes the registers and closes the device; user B opens it and
# finds the power-on values: the driver reset it at the close and the open.
"$EDU" "$A" set 0xcafef00d 10 >"$T/out" 2>"$T/err"
rc=$?
got=$(regs "$A")
grep -q "liveness=0x35010ff2 factorial=0x00375f00" "$T/out" ||
	EXTRA="edu_regs set printed \"$(cat "$T/out")\""
[ "$got" = "$POWER_ON" ] ||
	EXTRA=${EXTRA:-"the next process found \"$got\", want \"$POWER_ON\""}
expect "without a holder, the next process finds A at its power-on values" 0

# --- the holder: errors -------------------------------------------------------

vm hold --background --socket "$HA" "$A"
[ -S "$HA" ] || EXTRA="no socket at $HA"
expect "hold --background holds A and returns" 0 out "^holding $A at $HA \(pid [0-9]+\)"

if [ -n "$B" ]; then
	vm --holder "$HA" info "$B"
	expect "a device the holder does not hold: exit 1, says so and what it holds" 1 \
		err "does not hold $B; it holds $A"
else
	skip "a device the holder does not hold: exit 1" "VFIO_SELFTESTS_BDF2 not set"
fi

vm --no-holder info "$A"
expect "a held device opened directly: exit 1, says busy and names the holder" 1 \
	err "busy" err "vfio-mig hold"

vm release --socket "$HA"
[ -e "$HA" ] && EXTRA="$HA still exists"
expect "release stops the holder" 0 err "^released the holder at $HA"

vm --holder "$HA" info "$A"
expect "holder gone: exit 1, says there is no holder" 1 err "no holder"

# --- a recognisable state in A, through a holder of A and B ----------------

# shellcheck disable=SC2086	# B may be empty
vm hold --background --socket "$HAB" "$A" $B
expect "hold --background holds A and B" 0 out "^holding $A"
export VFIO_MIG_HOLDER="$HAB"

# Read back by another process: through the holder, the registers outlive
# the one that set them, which every comparison below relies on.
"$EDU" "$A" set 0xcafef00d 10 >"$T/out" 2>"$T/err"
rc=$?
A_REGS=$(regs "$A")
echo "# A: $A_REGS"
case $A_REGS in
"liveness=0x35010ff2 factorial=0x00375f00 status=0x"*) ;;
*) EXTRA="A has \"$A_REGS\", want liveness=0x35010ff2 (~0xcafef00d) factorial=0x00375f00" ;;
esac
expect "through the holder, A's registers outlive the process that set them" 0
A_LIVE=$(echo "$A_REGS" | sed -n 's/.*liveness=\(0x[0-9a-f]*\).*/\1/p')

vm state "$A" STOP
if [ "$rc" -eq 0 ] && state_is "$A" RUNNING &&
   same_regs "$(regs "$A")" "$A_REGS"; then
	ok "through the holder, a device a client left in STOP is RUNNING for the next, registers kept"
else
	not_ok "through the holder, a device a client left in STOP is RUNNING for the next, registers kept" \
		"state STOP exit $rc; now $("$VM" state "$A" 2>&1), registers $(regs "$A")"
fi

# --- save and dump --------------------------------------------------------------

vm save "$A" "$T/a.qvps"
[ -s "$T/a.qvps" ] || EXTRA="the saved file is empty"
expect "save A" 0 err "^saved $A to "

vm dump "$T/a.qvps"
expect "dump of the saved stream shows EDU_REGS with A's registers" 0 \
	out "^record @32: EDU_REGS .* ok$" out "factorial +0x00375f00" \
	out "liveness +${A_LIVE:-MISSING}" out "END .* ok$"

vm --json save "$A" "$T/a2.qvps"
expect_json "save --json uses PRE_COPY" \
	"d['ok'] and d['precopy'] and d['precopy_rounds'] >= 1 and d['stop_copy_bytes'] > 0 and d['state'] == 'RUNNING' and d['bytes'] == d['precopy_bytes'] + d['stop_copy_bytes']"

vm --json save --no-precopy "$A" "$T/a3.qvps"
expect_json "save --no-precopy" \
	"d['ok'] and not d['precopy'] and d['precopy_rounds'] == 0 and d['stop_copy_bytes'] == d['bytes']"

if state_is "$A" RUNNING && same_regs "$(regs "$A")" "$A_REGS"; then
	ok "A is RUNNING with unchanged registers after saving"
else
	not_ok "A is RUNNING with unchanged registers after saving" \
		"now: $(regs "$A")" "was: $A_REGS"
fi

# --- load and migrate into B --------------------------------------------------

if [ -z "$B" ]; then
	for t in "load into B" "migrate A -> B" "migrate --json" \
		 "migrate --no-precopy" "A and B RUNNING after migrate"; do
		skip "$t" "VFIO_SELFTESTS_BDF2 not set"
	done
else
	# Each one starts from B scrambled (checked): only a load or a
	# migration that moved A's state into B can make B equal A.
	scramble "$B"
	vm load "$B" "$T/a.qvps"
	B_REGS=$(regs "$B")
	same_regs "$B_REGS" "$A_REGS" || EXTRA=${EXTRA:-"B has $B_REGS, A has $A_REGS"}
	expect "load into B gives B A's registers" 0 err "^loaded "

	scramble "$B"
	vm migrate "$A" "$B"
	B_REGS=$(regs "$B")
	same_regs "$B_REGS" "$A_REGS" || EXTRA=${EXTRA:-"B has $B_REGS, A has $A_REGS"}
	expect "migrate A -> B gives B A's registers" 0 out "^migrated " \
		out "downtime:" out "PRE_COPY: +[1-9]"

	scramble "$B"
	vm --json migrate "$A" "$B"
	B_REGS=$(regs "$B")
	same_regs "$B_REGS" "$A_REGS" || EXTRA=${EXTRA:-"B has $B_REGS, A has $A_REGS"}
	expect_json "migrate --json gives B A's registers" \
		"d['ok'] and d['precopy'] and d['precopy_rounds'] >= 1 and d['stop_copy_bytes'] > 0 and d['downtime_ms'] >= 0 and d['total_ms'] >= d['downtime_ms']"

	scramble "$B"
	vm migrate --no-precopy "$A" "$B"
	B_REGS=$(regs "$B")
	same_regs "$B_REGS" "$A_REGS" || EXTRA=${EXTRA:-"B has $B_REGS, A has $A_REGS"}
	expect "migrate --no-precopy gives B A's registers" 0 out "PRE_COPY: +not used"

	if state_is "$A" RUNNING && state_is "$B" RUNNING &&
	   same_regs "$(regs "$A")" "$A_REGS"; then
		ok "A and B RUNNING after migrate"
	else
		not_ok "A and B RUNNING after migrate"
	fi
fi

# --- error paths ----------------------------------------------------------------

vm info 0000:ff:1f.7
expect "nonexistent BDF: exit 1, suggests lspci" 1 err "no PCI device" err "lspci"

NONVFIO=${VFIO_MIG_NONVFIO_BDF:-}
if [ -z "$NONVFIO" ]; then
	for d in 0000:00:00.0 $(ls /sys/bus/pci/devices); do
		[ -e "/sys/bus/pci/devices/$d" ] || continue
		case $(driver_of "$d") in
		*vfio*) ;;
		*) NONVFIO=$d; break ;;
		esac
	done
fi
if [ -n "$NONVFIO" ]; then
	drv=$(driver_of "$NONVFIO")
	vm info "$NONVFIO"
	expect "non-vfio device $NONVFIO (${drv:-no driver}): exit 1, explains binding" 1 \
		err "not (bound to any driver|to a vfio driver)" err "driver_override" \
		err "${drv:-not bound}"
else
	skip "non-vfio device: exit 1" "every PCI device is bound to vfio"
fi

"$EDU" "$A" hold 30 >"$T/hold" 2>&1 &
hold_pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q ready "$T/hold" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q ready "$T/hold"; then
	vm info "$A"
	expect "device lent by the holder to another client: exit 1, says busy" 1 \
		err "busy" err "lent it to pid $hold_pid"
else
	not_ok "device lent by the holder to another client: exit 1, says busy" "edu_regs hold did not start: $(cat "$T/hold")"
fi
kill "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
hold_pid=

if [ -z "$B" ]; then
	D=$A
else
	D=$B
fi
D_REGS=$(regs "$D")
cp "$T/a.qvps" "$T/bad.qvps"
flip "$T/bad.qvps" 50
vm load "$D" "$T/bad.qvps"
expect "load of a corrupted stream fails with exit 1 and a diagnosis" 1 \
	err "refused|did not accept" err "now in state" err "dmesg" \
	err "offset 32" err "reset it \(VFIO_DEVICE_RESET\)"

# The refused stream left D in RESUMING, which only a reset leaves; the
# holder keeps D open, so vfio-mig reset it: power-on registers.
if state_is "$D" RUNNING && [ "$(regs "$D")" = "$POWER_ON" ]; then
	"$VM" load "$D" "$T/a.qvps" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && same_regs "$(regs "$D")" "$A_REGS"; then
		ok "$D works after the failed load (reset: RUNNING, power-on registers; next load ok)"
	else
		not_ok "$D works after the failed load (reset: RUNNING, power-on registers; next load ok)" \
			"load exit $rc; registers $(regs "$D")"
	fi
else
	not_ok "$D works after the failed load (reset: RUNNING, power-on registers; next load ok)" \
		"state $("$VM" state "$D" 2>&1); registers $(regs "$D") (were $D_REGS)"
fi

head -c 60 "$T/a.qvps" >"$T/short.qvps"
vm load "$D" "$T/short.qvps"
state_is "$D" RUNNING || EXTRA="$D is not RUNNING afterwards"
expect "load of a truncated stream fails with exit 1, device RUNNING after" 1 \
	err "did not accept the end of the stream" err "now in state ERROR"

# --- golden streams: a load of each version's, as the driver sees it --------
# load_edu_golden NAME STREAM: scramble D, load STREAM into it, judge it
# as test NAME: D must then hold the golden edu state (edu_regs set
# 0x676f6c64 10).
load_edu_golden() {
	scramble "$D"
	vm load "$D" "$2"
	got=$(regs "$D")
	case $got in
	"liveness=0x9890939b factorial=0x00375f00 status=0x"*) ;;
	*) EXTRA=${EXTRA:-"$D has \"$got\", want liveness=0x9890939b factorial=0x00375f00"} ;;
	esac
	expect "$1" 0 err "^loaded "
}

# ivshmem_bar2 BDF fill|check: BAR2 of a 64 MiB ivshmem through sysfs,
# by the golden streams' own helper (fill: 0xa5 everywhere; check: the
# state its golden stream was saved in, else where it differs).
ivshmem_bar2() {
	python3 "$GOLDEN/ivshmem_bar2.py" "$@"
}

# load_ivshmem_golden NAME STREAM: fill BAR2 of IVS, load STREAM into
# it, judge it as test NAME: BAR2 must then hold the golden state.
load_ivshmem_golden() {
	ivshmem_bar2 "$IVS" fill >"$T/py" 2>&1 ||
		EXTRA="filling BAR2 of $IVS: $(cat "$T/py")"
	vm --no-holder load "$IVS" "$2"
	[ -n "$EXTRA" ] || ivshmem_bar2 "$IVS" check >"$T/py" 2>&1 ||
		EXTRA="after the load: $(cat "$T/py")"
	expect "$1" 0 err "^loaded "
}

# An edu in a known state (edu_regs set 0x676f6c64 10), saved by a
# qemu-vfio-pci of each stream version (scripts/golden-streams.sh): the
# newest loads into D with that state; an older one is refused, and the
# driver's log line names its version.
# golden_version FILE: N of FILE .../edu-vN.qvps
golden_version() {
	v=${1##*/edu-v}
	echo "${v%.qvps}"
}
newest=0
for g in $GOLDENS; do
	v=$(golden_version "$g")
	[ "$v" -le "$newest" ] || newest=$v
done
[ -n "$GOLDENS" ] ||
	not_ok "golden streams of the edu" "none in $GOLDEN (set VFIO_MIG_GOLDEN)"
for g in $GOLDENS; do
	v=$(golden_version "$g")
	if [ "$v" -eq "$newest" ]; then
		load_edu_golden "golden stream of version $v (the newest) loads with its state" "$g"
	else
		# a mark in the kernel log: the lines after it are the load's
		mark="vfio_mig_test: loading $g ($$)"
		echo "$mark" >/dev/kmsg
		vm load "$D" "$g"
		dmesg | sed -n "\|$mark|,\$p" |
			grep -q "unsupported stream version $v\$" ||
			EXTRA="no \"unsupported stream version $v\" line in the kernel log after the load"
		state_is "$D" RUNNING || EXTRA=${EXTRA:-"$D is not RUNNING afterwards"}
		expect "golden stream of version $v is refused, the log naming its version" 1 \
			err "refused|did not accept"
	fi
done

if [ -z "$IVS" ]; then
	skip "golden ivshmem stream loads into an ivshmem" "VFIO_MIG_IVSHMEM_BDF not set"
elif ! command -v python3 >/dev/null 2>&1; then
	skip "golden ivshmem stream loads into an ivshmem" "no python3 to fill and read BAR2 with"
else
	g=$(ls "$GOLDEN"/ivshmem-64M-v*.qvps.gz 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$g" ] || ! gzip -dc "$g" >"$T/ivs.qvps"; then
		not_ok "golden ivshmem stream loads into an ivshmem" "no ivshmem-64M-v*.qvps.gz in $GOLDEN"
	else
		load_ivshmem_golden "golden ivshmem stream ${g##*/} loads, BAR2 as saved" "$T/ivs.qvps"
	fi
	rm -f "$T/ivs.qvps"
fi
if [ -z "$VF" ]; then
	skip "golden igb VF stream loads into a VF" "VFIO_MIG_IGBVF_BDF not set"
else
	g=$(ls "$GOLDEN"/igbvf-v*.qvps 2>/dev/null | sort -V | tail -n 1)
	vm --no-holder load "$VF" "${g:-$GOLDEN/igbvf-v*.qvps}"
	expect "golden igb VF stream ${g##*/} loads" 0 err "^loaded "
fi

# --- cross-kernel: streams that other kernels saved --------------------------
# make check boots one VM per kernel of its matrix, in order, the next
# one once the one before saved its streams.  Each saves an edu, a 64 MiB ivshmem and an igb VF, in the states of the
# golden streams, into $VFIO_MIG_XKERNEL/<its release>/ (then the file
# "done" there), and loads those of the kernels whose VMs saved theirs
# before it started ($VFIO_MIG_XKERNEL_FROM): so a
# stream written under one kernel is loaded under another, as it is when
# a VM migrates between two hosts.  Without $VFIO_MIG_XKERNEL none of
# this runs (and the plan does not count it).
if [ -n "$XK" ]; then
	for k in $XK_FROM; do
		f=$XK/$k
		if [ ! -s "$f/edu.qvps" ]; then
			not_ok "edu stream saved on $k loads with its state" "no $f/edu.qvps: $k's VM did not save it"
		else
			load_edu_golden "edu stream saved on $k loads with its state" "$f/edu.qvps"
		fi
		if [ -z "$IVS" ]; then
			skip "ivshmem stream saved on $k loads, BAR2 as saved" "VFIO_MIG_IVSHMEM_BDF not set"
		elif [ ! -s "$f/ivshmem-64M.qvps.gz" ] || ! gzip -dc "$f/ivshmem-64M.qvps.gz" >"$T/ivs.qvps"; then
			not_ok "ivshmem stream saved on $k loads, BAR2 as saved" "no $f/ivshmem-64M.qvps.gz: $k's VM did not save it"
		else
			load_ivshmem_golden "ivshmem stream saved on $k loads, BAR2 as saved" "$T/ivs.qvps"
		fi
		rm -f "$T/ivs.qvps"
		if [ -z "$VF" ]; then
			skip "igb VF stream saved on $k loads" "VFIO_MIG_IGBVF_BDF not set"
		elif [ ! -s "$f/igbvf.qvps" ]; then
			not_ok "igb VF stream saved on $k loads" "no $f/igbvf.qvps: $k's VM did not save it"
		else
			vm --no-holder load "$VF" "$f/igbvf.qvps"
			expect "igb VF stream saved on $k loads" 0 err "^loaded "
		fi
	done

	# Each stream is written beside its name and renamed into place: a
	# second boot of this kernel (after a frozen first one) saves again
	# while a later kernel's VM may be loading the first boot's streams.
	f=$XK/$KVER
	mkdir -p "$f"
	"$EDU" "$D" set 0x676f6c64 10 >"$T/py" 2>&1 ||
		EXTRA="edu_regs $D set 0x676f6c64 10: $(cat "$T/py")"
	vm save --no-precopy "$D" "$f/edu.qvps.new"
	[ "$rc" -ne 0 ] || mv -f "$f/edu.qvps.new" "$f/edu.qvps" ||
		EXTRA="cannot rename $f/edu.qvps.new"
	expect "edu stream saved for the kernels after $KVER" 0 err "^saved "
	if [ -z "$IVS" ]; then
		skip "ivshmem stream saved for the kernels after $KVER" "VFIO_MIG_IVSHMEM_BDF not set"
	else
		ivshmem_bar2 "$IVS" golden >"$T/py" 2>&1 ||
			EXTRA="writing BAR2 of $IVS: $(cat "$T/py")"
		vm --no-holder save --no-precopy "$IVS" "$T/ivs.qvps"
		{ gzip -1c "$T/ivs.qvps" >"$f/ivshmem-64M.qvps.gz.new" &&
			mv -f "$f/ivshmem-64M.qvps.gz.new" "$f/ivshmem-64M.qvps.gz"; } ||
			EXTRA=${EXTRA:-"gzip into $f failed"}
		rm -f "$T/ivs.qvps"
		expect "ivshmem stream saved for the kernels after $KVER" 0 err "^saved "
	fi
	if [ -z "$VF" ]; then
		skip "igb VF stream saved for the kernels after $KVER" "VFIO_MIG_IGBVF_BDF not set"
	else
		vm --no-holder save --no-precopy "$VF" "$f/igbvf.qvps.new"
		[ "$rc" -ne 0 ] || mv -f "$f/igbvf.qvps.new" "$f/igbvf.qvps" ||
			EXTRA="cannot rename $f/igbvf.qvps.new"
		expect "igb VF stream saved for the kernels after $KVER" 0 err "^saved "
	fi
	# Saved, or failed to: the next kernel's VM may start now
	# (make check waits for this file, or for this VM's end).
	: >"$f/done"
fi

vm save "$A" /nonexistent-dir/a.qvps
state_is "$A" RUNNING || EXTRA="$A is not RUNNING afterwards"
expect "save to an unwritable path fails with exit 1" 1 err "cannot create"

vm --quiet save "$A" "$T/q.qvps"
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && [ ! -s "$T/out" ] &&
   cmp -s "$T/q.qvps" "$T/a.qvps"; then
	ok "save --quiet prints nothing and saves the stream"
else
	not_ok "save --quiet prints nothing and saves the stream" "exit $rc" \
		"$(cmp "$T/q.qvps" "$T/a.qvps" 2>&1)"
fi

vm --json dump "$T/a.qvps"
expect_json "dump --json of the saved stream" \
	"d['ok'] and [r['type_name'] for r in d['records']] == ['EDU_REGS', 'END'] and d['records'][0]['edu_regs']['factorial'] == '0x00375f00'"

# --- release: the devices are closed, and so reset ----------------------------

vm release --socket "$HAB"
[ -e "$HAB" ] && EXTRA="$HAB still exists"
expect "release closes the held devices and stops the holder" 0 err "^released "
unset VFIO_MIG_HOLDER
got=$(regs "$A")
if [ "$got" = "$POWER_ON" ]; then
	ok "after the release, A has its power-on values (reset at close and open)"
else
	not_ok "after the release, A has its power-on values (reset at close and open)" \
		"A has \"$got\""
fi

if [ -s "$T/edu_err" ]; then
	sed 's/^/# edu_regs: /' "$T/edu_err"
fi
if [ "$n" -ne "$NTESTS" ]; then
	echo "# ran $n tests, planned $NTESTS"
	failed=$((failed + 1))
fi
if [ "$failed" -ne 0 ]; then
	echo "# $failed failed"
	exit 1
fi
if [ "$skipped" -ne 0 ]; then
	echo "# passed, $skipped of $n skipped"
else
	echo "# all passed"
fi
exit 0
