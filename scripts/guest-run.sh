#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (see vm.sh): load the driver, bind the test
# devices (scripts/test-devices) and run the kselftests through the
# kselftest runner; then the device-agnostic suites once more on mdevs of
# the kernel's mtty sample, a migration driver that is not ours.
#
# Usage: guest-run.sh [RESULTS [SUITE...]]
# SUITEs: run only these of the suites (setup and teardown always run),
# for a quick run by hand, or as make check does for a VM that runs only
# some (scripts/expected-suites: a partial lane, one of a kernel's two
# VMs); otherwise every suite.
# Results go to RESULTS (default /qvp/out/<kernel>/boot1) for the host:
#   selftests.tap   TAP of every suite, as the kselftest runner prints it,
#                   between "# suite: NAME" and "# suite-end: NAME STATUS"
#                   markers, each end followed by "# suite-time: NAME N s"
#                   (how long the suite took), each program's verdict by
#                   "# program-time: SUITE PROG N s"; in our own
#                   suites a check that took 20 s or more is followed
#                   by "# # took N s", one that began 20 s or more after
#                   the check before is preceded by "# # N s since...";
#                   the suites "setup"
#                   (module load, device binding, migration capability), "kunit"
#                   (the KUnit suites of stream.c and of the DMA log, on
#                   a kernel with KUnit) and "teardown" (device release,
#                   module unload) are written here
#   kunit.ktap      the KUnit suites' KTAP, one after the other, as
#                   debugfs gave it
#   dmesg.txt       the kernel log after everything ran
#   guest.status    "done" once the script reached its end
# scripts/verdict.sh judges them against scripts/expected-suites and
# scripts/expected-skips.  Test programs are built in /qvp/out/<kernel>/.
set -u
kver=$(uname -r)
out=/qvp/out/$kver
res=${1:-$out/boot1}
[ "$#" -eq 0 ] || shift
only=" $* "
ksft=/opt/linux-src/tools/testing/selftests
tests=/qvp/tools/testing/selftests/vfio/migration
vfio_mig=$out/vfio-mig-selftests/vfio-mig
tap=$res/selftests.tap
mkdir -p "$res"
: >"$tap"

log() { printf '[guest] %s\n' "$*"; }

# want SUITE: the suite is to run (see SUITE... above).
# After a check that timed out (check_hung, below), no suite.
want() {
	[ -z "${check_hung:-}" ] || return 1
	[ "$only" = "  " ] || [[ $only == *" $1 "* ]]
}

# suite_begin NAME, suite_end NAME STATUS: a suite's markers; the end
# says how long the suite took too (make check's table of times).
suite_begin() {
	suite_t0=$(date +%s)
	echo "# suite: $1" >>"$tap"
}
suite_end() {
	echo "# suite-end: $1 $2" >>"$tap"
	echo "# suite-time: $1 $(($(date +%s) - suite_t0)) s" >>"$tap"
}

# A suite of our own (setup, teardown) in the runner's TAP shape: one
# "# ok N NAME" line per check, then the program's verdict line.
own_suite_begin() {
	own_suite=$1 own_n=0 own_failed=0 check_end=$SECONDS
	suite_begin "$own_suite"
	echo "# selftests: guest: $own_suite" >>"$tap"
}

# bounded SECONDS CMD...: CMD (a program or one of this script's
# functions, run in a subshell), killed after SECONDS; its exit status,
# or 124 then, with a line that says so, and bounded_timed_out set.
# CMD runs as a process group of its own (set -m), so that SIGKILL
# reaches what it started too; its stdin is /dev/null, as a script's
# background job has without job control.  A task stuck in the kernel
# may outlive SIGKILL: it is disowned, not waited for.  The watchdog is
# a sleep that wait -n races against CMD, so a quick check costs no
# polling.
bounded_timed_out=
bounded() {
	local limit=$1 pid wd first="" rc
	shift
	set -m
	"$@" </dev/null &
	pid=$!
	set +m
	sleep "$limit" &
	wd=$!
	wait -n -p first "$pid" "$wd"
	rc=$?
	if [ "$first" = "$pid" ]; then
		kill "$wd" 2>/dev/null
		wait "$wd" 2>/dev/null
		return "$rc"
	fi
	echo "timed out after $limit s: $*"
	kill -KILL -- "-$pid" 2>/dev/null
	disown "$pid"
	bounded_timed_out=1
	return 124
}

# check_timeout: how long one check may take.  The slow ones of a clean
# run, the debug kernel's kmemleak scans (teardown's two; a scan in the
# setup suite, before 2026-12-03, took up to 217 s under TCG beside
# another VM), pass a longer one: check_timeout=900 check NAME CMD...
# (a variable assignment before a function call holds for that call
# only).
check_timeout=300
# check_hung: the check that timed out.  What it left stuck in the
# kernel (an unbind waiting in the driver's remove(), holding the
# device's lock) would hang the checks after it one by one: they fail
# without running, and no further suite runs (want), so the script
# reaches its verdict and the kernel log within one timeout.
check_hung=
# check_end: when the last check ended (bash's SECONDS), or its suite began.
check_end=$SECONDS

# check NAME CMD...: one check of the suite: CMD's exit status decides,
# and is check's; after check_timeout seconds it fails.  One that took
# 20 s or more says so after its line and output, and one that began 20 s
# or more after the suite's start or the check before it says so before
# its line, so that a slow setup or teardown shows where its time went
# (the console has no clock for our lines).
check() {
	local name=$1 t0=$SECONDS rc=0 dt
	shift
	own_n=$((own_n + 1))
	dt=$((t0 - check_end))
	[ "$dt" -lt 20 ] || echo "# # $dt s since the check before (or the suite's start)" >>"$tap"
	if [ -n "$check_hung" ]; then
		own_failed=$((own_failed + 1))
		echo "# not ok $own_n $name" >>"$tap"
		echo "# # not run: the check \"$check_hung\" timed out, and what it left in the kernel may hold up this one" >>"$tap"
		return 1
	fi
	bounded_timed_out=
	bounded "$check_timeout" "$@" >"$res/check.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "# ok $own_n $name" >>"$tap"
	else
		own_failed=$((own_failed + 1))
		echo "# not ok $own_n $name" >>"$tap"
		sed 's/^/# # /' "$res/check.out" | tail -n 5 >>"$tap"
		log "FAILED: $name"
		sed 's/^/[guest]   /' "$res/check.out" | tail -n 5
		if [ -n "$bounded_timed_out" ]; then
			check_hung=$name
			log "the checks after it fail without running, and no further suite runs"
		fi
	fi
	check_end=$SECONDS
	dt=$((check_end - t0))
	[ "$dt" -lt 20 ] || echo "# # took $dt s" >>"$tap"
	[ "$rc" -eq 0 ]
}

# own_suite_verdict: the verdict line of the suite's checks.
own_suite_verdict() {
	if [ "$own_failed" -eq 0 ]; then
		echo "ok 1 selftests: guest: $own_suite" >>"$tap"
	else
		echo "not ok 1 selftests: guest: $own_suite # $own_failed failed" >>"$tap"
	fi
}

own_suite_end() {
	own_suite_verdict
	suite_end "$own_suite" 0
}

# count_is N WHAT ITEM...: there are N ITEMs.
count_is() {
	local want=$1 what=$2
	shift 2
	[ "$#" -eq "$want" ] || { echo "found $# $what: $*"; return 1; }
}

# bound_to BDF DRIVER: the device's driver is DRIVER.
bound_to() {
	local cur=
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		cur=$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")
	[ "$cur" = "$2" ] || { echo "$1 is bound to ${cur:-no driver}"; return 1; }
}

# bind_to BDF DRIVER: vfio_bind.sh binds the device to DRIVER (and keeps
# the driver it had, for teardown's restore); then bound_to decides.
bind_to() {
	"$tests/vfio_bind.sh" bind "$1" "$2"
	bound_to "$1" "$2"
}

# has_vfio_aliases KO ID...: the module exports the "vfio_pci:" modalias
# of each vendor:device ID, which libvirt reads to choose a variant
# driver for a managed hostdev, and no other kind of alias.
has_vfio_aliases() {
	local ko=$1 id ret=0
	shift
	modinfo -F alias "$ko" | tee "$res/aliases.txt"
	for id; do
		grep -qi "^vfio_pci:v0000${id%:*}d0000${id#*:}sv" "$res/aliases.txt" ||
			{ echo "no vfio_pci: alias for $id"; ret=1; }
	done
	! grep -v '^vfio_pci:' "$res/aliases.txt" || ret=1
	return $ret
}

# param_bounded NAME LOW HIGH: the driver's module parameter NAME takes
# LOW and HIGH and refuses LOW - 1 and HIGH + 1; its value is kept.
param_bounded() {
	local p=/sys/module/qemu_vfio_pci/parameters/$1 v x
	v=$(cat "$p") || return 1
	for x in $(($2 - 1)) $(($3 + 1)); do
		{ echo "$x" >"$p"; } 2>/dev/null &&
			{ echo "$v" >"$p"; echo "$x accepted"; return 1; }
	done
	for x in "$2" "$3"; do
		echo "$x" >"$p" || { echo "$v" >"$p"; echo "$x refused"; return 1; }
	done
	echo "$v" >"$p" && [ "$(cat "$p")" = "$v" ]
}

# param_is NAME VALUE: the driver's module parameter NAME reads VALUE.
param_is() {
	param_file_is "/sys/module/qemu_vfio_pci/parameters/$1" "$2"
}

# param_file_is FILE VALUE: FILE reads VALUE.
param_file_is() {
	local v
	v=$(cat "$1") || return 1
	[ "$v" = "$2" ] || { echo "$1 is $v, want $2"; return 1; }
}

# ivshmem's new initial data (VFIO_PRECOPY_INFO_REINIT) is off unless
# asked, and takes a percentage.
reinit_pct_off() {
	param_is ivshmem_reinit_pct 0 && param_bounded ivshmem_reinit_pct 0 100
}

# refused BDF MODEL: qemu-vfio-pci will not take the device
# (driver_override offers it) and says why in the kernel log, naming the
# device's QEMU model.
refused() {
	local d=/sys/bus/pci/devices/$1 ret=0
	echo qemu-vfio-pci >"$d/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null
	if [ -e "$d/driver" ]; then
		echo "$1 was bound to $(basename "$(readlink "$d/driver")")"
		echo "$1" >"$d/driver/unbind"
		ret=1
	fi
	echo >"$d/driver_override"
	dmesg | grep "$1" | grep -- "$2" ||
		{ echo "no word of it in the kernel log"; ret=1; }
	return $ret
}

# alone_in_group BDF: the device has an IOMMU group of its own (the
# VFs of one PF must not share one, or VFIO could not give them to
# different users).
alone_in_group() {
	local g=/sys/bus/pci/devices/$1/iommu_group
	[ -d "$g/devices" ] || { echo "$1 has no IOMMU group"; return 1; }
	set -- $(ls "$g/devices")
	[ "$#" -eq 1 ] || { echo "IOMMU group $(basename "$(readlink -f "$g")") holds $*"; return 1; }
}

# pf_has_driver BDF: the VF's PF is bound to a driver (which made the VF).
pf_has_driver() {
	local pf
	pf=$(readlink -f "/sys/bus/pci/devices/$1/physfn") || return 1
	[ -e "$pf/driver" ] || { echo "PF ${pf##*/} has no driver"; return 1; }
	echo "PF ${pf##*/} is bound to $(basename "$(readlink "$pf/driver")")"
}

# migratable BDF: its VFIO driver offers migration (vfio-mig info).
migratable() {
	"$vfio_mig" --json info "$1" >"$res/info.json" || return 1
	cat "$res/info.json"
	grep -q '"migration": *true' "$res/info.json"
}

# The leak detector of a kernel built with CONFIG_DEBUG_KMEMLEAK.  The
# debug kernel has it off unless the command line says kmemleak=on
# (scripts/vm.sh adds it when QVP_KMEMLEAK=1, make check's default);
# off, it still has the file, and refuses a scan.
kmemleak=/sys/kernel/debug/kmemleak

# kmemleak_wanted: the command line turned kmemleak on, so the setup and
# teardown suites must scan (and fail if the kernel has no kmemleak, or
# it turned itself off).  A kernel built with kmemleak on by default (none
# of the matrix) is scanned only when its command line says so too.
kmemleak_wanted() {
	grep -qE '(^| )kmemleak=on( |$)' /proc/cmdline
}

# kmemleak_scan: a forced kmemleak scan, after 6 s: a scan does not
# report objects younger than 5 s.  A kmemleak that turned itself off
# (its pool ran out) refuses it with EPERM.
kmemleak_scan() {
	sleep 6 && echo scan >"$kmemleak"
}

# kmemleak_mark: kmemleak is on, and the suites' leaks are what it
# reports from here on: the kernel's jiffies now go to
# $res/kmemleak.since, and no_leaks counts only the objects allocated
# since then (each report names its object's jiffies).  What boot left
# is not the suites' doing.  Writing scan=off (there is no scan thread:
# scripts/debug-kernel.config) fails with EPERM unless kmemleak is on.
# Not kmemleak's own "clear": it forgets only what a scan has reported,
# so it needs a scan here first, which under TCG took some 25 s of each
# debug VM's setup on a fast day (2026-12-03) and more on slow ones;
# the objects' jiffies tell the same apart for free.  What that loses:
# an object allocated before this point and orphaned by the suites,
# when the driver and vfio-pci are not loaded yet.
kmemleak_mark() {
	echo scan=off >"$kmemleak" || return 1
	awk '$1 == "jiffies:" { print $2; exit }' /proc/timer_list >"$res/kmemleak.since"
	[ -s "$res/kmemleak.since" ] ||
		{ echo "no \"jiffies:\" line in /proc/timer_list"; return 1; }
	echo "leaks counted from jiffies $(cat "$res/kmemleak.since") on"
}

# no_leaks: forced kmemleak scans find nothing the suites left, that is
# no object allocated since kmemleak_mark: kmemleak.txt has those (every
# one a failure), kmemleak-before.txt the older ones, which do not
# count.  An object whose report has no jiffies counts.
no_leaks() {
	local since
	since=$(cat "$res/kmemleak.since" 2>/dev/null) && [ -n "$since" ] ||
		{ echo "no $res/kmemleak.since: the setup suite did not mark kmemleak's start"; return 1; }
	kmemleak_scan && echo scan >"$kmemleak" || return 1
	awk -v since="$since" -v new="$res/kmemleak.txt" -v old="$res/kmemleak-before.txt" '
		function flush() {
			if (blk != "")
				printf "%s", blk > (j != "" && j + 0 < since + 0 ? old : new)
			blk = ""; j = ""
		}
		/^unreferenced object / { flush() }
		/^  comm ".*", pid [0-9]+, jiffies [0-9]+$/ && blk != "" && j == "" { j = $NF }
		{ blk = blk $0 "\n" }
		END { flush(); printf "" > new; printf "" > old }' "$kmemleak" || return 1
	echo "$(grep -c '^unreferenced object' "$res/kmemleak-before.txt") object(s) allocated before the setup suite's mark, not counted"
	[ ! -s "$res/kmemleak.txt" ] || { head -n 40 "$res/kmemleak.txt"; return 1; }
}

# unloaded MODULE: the module is gone.
unloaded() {
	rmmod "$1" || return 1
	! grep -q "^$1 " /proc/modules
}

# Lockdep (a kernel with CONFIG_PROVE_LOCKING, booted with proving off).
prove_locking=/sys/module/lockdep/parameters/prove_locking

# lockdep_on: proving on, and lockdep still able to prove (debug_locks).
lockdep_on() {
	[ -e "$prove_locking" ] || { echo "no $prove_locking: the kernel has no lockdep (CONFIG_PROVE_LOCKING), and scripts/expected-suites expects its lockdep suite"; return 1; }
	echo 1 >"$prove_locking" && param_file_is "$prove_locking" 1 &&
		lockdep_debug_locks
}

# lockdep_debug_locks [FILE]: lockdep has not turned itself off, as it does
# after its first report or when one of its tables is full (FILE: a copy
# of /proc/lockdep_stats, default the file itself).
lockdep_debug_locks() {
	local f=${1:-/proc/lockdep_stats} v
	v=$(awk '$1 == "debug_locks:" { print $2 }' "$f") || return 1
	[ "$v" = 1 ] || { echo "debug_locks is '${v:-missing}' in $f:"; grep -E 'debug_locks|max|lock-classes' "$f"; return 1; }
}

# lockdep_deps_of NAME FILE: lockdep knows the lock class NAME with at
# least one lock taken while holding it (a " -> " line under it in FILE,
# a copy of /proc/lockdep): it saw the lock and proved orders through it.
lockdep_deps_of() {
	awk -v name="$1" '
		/^[0-9a-f]+ / {
			# NAME, or NAME#VERSION/SUBCLASS when several share it
			n = $NF
			sub(/(#[0-9]+)?(\/[0-9]+)?$/, "", n)
			inside = (n == name)
			if (inside) seen = 1
			next
		}
		inside && / -> / { deps++ }
		END {
			if (!seen) { print "no lock class " name " in /proc/lockdep"; exit 1 }
			if (!deps) { print "lock class " name " has no dependency in /proc/lockdep"; exit 1 }
			print name ": " deps " lock(s) taken under it"
		}' "$2"
}

# kunit_results SUITE: debugfs holds the KTAP of the KUnit suite SUITE,
# with its verdict line; it is added to kunit.ktap.
kunit_results() {
	local f=/sys/kernel/debug/kunit/$1/results
	cat "$f" >>"$res/kunit.ktap" || return 1
	grep -E "^(not )?ok 1 $1( |\$)" "$f" ||
		{ echo "no verdict line for $1:"; tail -n 5 "$f"; return 1; }
}

# The kernel's mtty sample, the conformance suites' second driver (suite
# mtty): mtty_load and mdev_create of scripts/lib.sh, this kernel's
# out-of-tree build of it (or its own module), two mdevs.
mtty_ko=$out/mtty/mtty.ko
mtty_load() { mtty_load_ko "$mtty_ko"; }

log "kernel $kver; results in $res"
# virtme points /dev/stdout at its console port; the kselftest runner
# writes test output to /dev/stdout, which must be our own stdout.
for i in 0:stdin 1:stdout 2:stderr; do
	ln -sfn "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"
done

# shellcheck source=SCRIPTDIR/lib.sh
. /qvp/scripts/lib.sh
# kernel_suites KVER: what scripts/expected-suites wants of this kernel
# (of all its VMs: which of them run here, the arguments say).
here=/qvp/scripts
# shellcheck source=SCRIPTDIR/verdict.sh
. /qvp/scripts/verdict.sh
# The devices the VM must have; a malformed manifest ends the run here
# (no setup suite, no guest.status: the host counts the failures).
test_devices_load || { log "$QVP_TEST_DEVICES is malformed"; exit 1; }
own_suite_begin setup
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
if kmemleak_wanted; then
	check "kmemleak is on; leaks count from here on" kmemleak_mark
fi
# A kernel with lockdep boots with proving off (see scripts/vm.sh): it
# goes on here, before vfio-pci and our module load, so every lock order
# the suites take is proven.  A kernel that scripts/expected-suites
# expects the lockdep suite of fails here if it has no lockdep.
if [ -e "$prove_locking" ] || kernel_suites "$kver" | grep -q '^lockdep '; then
	check "lockdep proves lock orders from here on" lockdep_on
fi
check "modprobe vfio-pci" modprobe vfio-pci
check "insmod qemu-vfio-pci.ko" insmod "$out/mod/qemu-vfio-pci.ko"

# Each kind of the manifest: td_found[KIND] holds its BDFs.  The devices
# of the role "migrate" (all in migrate[]) are bound below to our driver,
# those of the role "vfio" (in vfio[]) to vfio-pci; the others must be
# refused.  The VFs of a "vf-of" kind must each have an IOMMU group of
# their own, and their PF a driver.
# A VM that runs only some suites (a partial lane, one of the debug
# kernel's two VMs) leaves the devices of a kind unbound when none of
# them uses it (idle[]): under the debug kernel each bind and first open
# took 12 to 16 s of setup.  kind_suites: the suites that use each kind
# (through run_suite's arguments below); a kind not listed is always
# bound.
declare -A kind_suites=(
	[edu]="edu edu-iommufd faults vfio-mig qemu-migration qemu-migration-11.1 parallel"
	[ivshmem-64M]="ivshmem-64M faults-ivshmem-64M vfio-mig qemu-migration qemu-migration-11.1 parallel"
	[ivshmem-256M]="ivshmem-256M"
	[ivshmem-1G]="ivshmem-1G"
	[igb-vf]="igb vfio-mig parallel"
)
# kind_wanted KIND: a suite to run here uses the devices of KIND.
kind_wanted() {
	local s
	[ -n "${kind_suites[$1]:-}" ] || return 0
	for s in ${kind_suites[$1]}; do
		want "$s" && return 0
	done
	return 1
}
test_devices_scan
migrate=() vfio=() idle=() ids=() models=()
for i in "${!td_kind[@]}"; do
	read -ra bdfs <<<"${td_found[${td_kind[i]}]}"
	log "${td_kind[i]}: ${bdfs[*]:-none}"
	check "$(count_word "${td_count[i]}") ${td_label[i]}" \
		count_is "${td_count[i]}" "${td_label[i]}" "${bdfs[@]}"
	if [ "${td_role[i]}" = migrate ]; then
		if kind_wanted "${td_kind[i]}"; then
			migrate+=("${bdfs[@]}")
		else
			idle+=("${bdfs[@]}")
			log "${td_kind[i]}: left unbound, no suite of this VM uses it"
		fi
		[[ " ${ids[*]} " == *" ${td_id[i]} "* ]] || ids+=("${td_id[i]}")
		[[ " ${models[*]} " == *" ${td_model[i]} "* ]] || models+=("${td_model[i]}")
	elif [ "${td_role[i]}" = vfio ]; then
		vfio+=("${bdfs[@]}")
	fi
	[[ ${td_guest[i]} == vf-of=* ]] || continue
	for bdf in "${bdfs[@]}"; do
		check "$bdf (${td_kind[i]}): its PF is bound to a driver" pf_has_driver "$bdf"
		check "$bdf (${td_kind[i]}) is alone in its IOMMU group" alone_in_group "$bdf"
	done
done
for i in "${!td_kind[@]}"; do
	[ "${td_role[i]}" = refuse ] || continue
	for bdf in ${td_found[${td_kind[i]}]}; do
		check "$bdf (${td_model[i]}) is refused, with the reason in the log" \
			refused "$bdf" "${td_model[i]}"
	done
done

# A variant driver binds only on request (driver_override), never by
# loading: the devices must still be without a driver here.
check "modinfo lists the vfio_pci: modaliases of $(join_and "${models[@]}")" \
	has_vfio_aliases "$out/mod/qemu-vfio-pci.ko" "${ids[@]}"
for bdf in "${migrate[@]}" "${vfio[@]}" "${idle[@]}"; do
	check "$bdf is left unbound by loading the module" bound_to "$bdf" ""
done
# edu waits with memory_lock's bracket dropped between looks, but an arc
# still waits edu_timeout_ms at most: the parameter is bounded.
check "edu_timeout_ms refuses values outside 200..10000" param_bounded edu_timeout_ms 200 10000
check "precopy_scan_ms refuses values outside 10..60000" param_bounded precopy_scan_ms 10 60000
check "ivshmem_reinit_pct is 0 (off) after loading, refuses values above 100" reinit_pct_off

for bdf in "${migrate[@]}"; do
	check "$bdf is bound to qemu-vfio-pci" bind_to "$bdf" qemu-vfio-pci
	check "$bdf offers migration (vfio-mig info)" migratable "$bdf"
done
mdevs=()
if want mtty || want mtty-iommufd; then
	check "load mtty (samples/vfio-mdev)" mtty_load &&
		for u in "${mtty_uuids[@]}"; do
			check "create mdev $u (${mtty_type##*/})" mdev_create "$u" &&
				mdevs+=("$u")
		done
fi
for bdf in "${vfio[@]}"; do
	check "$bdf is bound to vfio-pci" bind_to "$bdf" vfio-pci
done
own_suite_end

# The KUnit suites of stream.c and of the DMA log's dirty_log.h
# (drivers/vfio/pci/qemu/stream_kunit.c, dirty_log_kunit.c), in the
# kernel's own build of them, one module.  It is built only for a kernel
# with KUnit (our debug kernel; scripts/expected-suites expects the suite
# there only).  Loading it runs both; debugfs keeps each one's KTAP until
# the module goes, and kunit-tap.awk turns each into one program of the
# suite kunit, a case per KUnit case or parameter.
kunit_ko=$out/mod/qemu-vfio-pci-kunit.ko
kunit_suites="qemu-vfio-pci-stream qemu-vfio-pci-dirty"
if [ -e "$kunit_ko" ] && want kunit; then
	log "suite kunit"
	own_suite_begin kunit
	rm -f "$res/kunit.ktap"
	check "insmod qemu-vfio-pci-kunit.ko (runs the KUnit suites)" insmod "$kunit_ko"
	for ks in $kunit_suites; do
		check "KTAP of $ks in debugfs" kunit_results "$ks"
	done
	check "rmmod qemu_vfio_pci_kunit" unloaded qemu_vfio_pci_kunit
	own_suite_verdict
	[ ! -s "$res/kunit.ktap" ] || awk -f /qvp/scripts/kunit-tap.awk "$res/kunit.ktap" >>"$tap"
	suite_end kunit 0
fi

# run_suite NAME DIR OUTPUT [VAR=VALUE...]: the kselftest runner (make
# run_tests of the framework's lib.mk) on one of our selftest directories.
# The runner only reads "settings" inside the kernel's selftests tree, so
# the timeout is passed explicitly.
run_suite() {
	local name=$1 dir=$2 output=$3
	shift 3
	log "suite $name"
	suite_begin "$name"
	env "$@" kselftest_override_timeout=900 \
		make -s -C "$dir" KSFT_DIR="$ksft" OUTPUT="$output" run_tests 2>&1 |
		program_times "$name" >>"$tap"
	suite_end "$name" "${PIPESTATUS[0]}"
}

# program_times SUITE: the runner's output as it comes, each line written
# at once (a VM that is cut short keeps all of it), and after each
# program's verdict line "# program-time: SUITE PROG N s", how long the
# program took from its "# selftests: DIR: PROG" line on (make check's
# table of times lists the long ones).  mawk, Debian's awk, reads a pipe
# until its buffer is full unless told -W interactive: without it every
# line of a suite would come at the suite's end, and every time as 0 s.
program_times() {
	local interactive=()
	! awk -W version </dev/null 2>&1 | grep -q mawk || interactive=(-W interactive)
	awk "${interactive[@]}" -v suite="$1" '
		function now(t) { "date +%s" | getline t; close("date +%s"); return t }
		{ print; fflush() }
		/^# selftests: / { t0 = now() }
		/^(not )?ok [0-9]+ selftests: / && t0 != "" {
			p = $0
			sub(/^(not )?ok [0-9]+ selftests: [^:]*: /, "", p)
			sub(/ .*/, "", p)
			printf "# program-time: %s %s %d s\n", suite, p, now() - t0
			fflush()
			t0 = ""
		}'
}

# dev_args "BDF..." PROG...: the devices of PROGs as the kselftest
# runner passes them, in KSELFTEST_<PROG>_ARGS: as upstream's VFIO
# selftests take them, PCI addresses at the end of the command line.
dev_args() {
	local bdfs=$1 p
	shift
	for p in "$@"; do
		echo "KSELFTEST_${p^^}_ARGS=$bdfs"
	done
}

# migration_conformance's unbind.data_fds unbinds its device from the
# driver, with data fds open, and binds it to the driver again: allowed in
# this VM, where nothing else uses the devices, for our driver's suites
# (not for mtty's: see there).
export VFIO_SELFTESTS_ALLOW_UNBIND=1

# pf_up BDF: the network interface of the VF's PF is up.  Linux's igb
# answers its VFs' mailbox only then, and the igbvf backend replays the
# PF-held configuration through the mailbox when a stream is loaded.
pf_up() {
	local n
	for n in /sys/bus/pci/devices/$1/physfn/net/*; do
		[ -e "$n" ] || { echo "the PF of $1 has no network interface"; return 1; }
		ip link set dev "${n##*/}" up || return 1
	done
}

# migration_races runs each race for 60 s on the edus under the debug
# kernel, where KASAN, UBSAN and the list and atomic-sleep checks watch
# every interleaving it reaches, and for its default 3 s elsewhere (the
# ivshmems' and igb VFs' 60 s would make that lane outgrow CI's time).
race_env=()
case $kver in
*-qvp-debug) race_env=(MIG_RACE_SECONDS=60) ;;
esac

# fuzz_ops KIND: the op count of migration_fuzz (over all its threads)
# on the devices of KIND.  Under Debian's kernels a run of a few seconds
# (2026-12-03, Debian 6.12: 8000 ops on the edus in 5.1 s, 6000 on the
# 64 MiB ivshmems in 3.1 s, 8000 on the mdevs in 2.0 s); an op on an edu
# or an mtty takes well under a millisecond there, on an ivshmem (whose
# STOP_COPY sessions stream 64 MiB) and on an igb VF (slow resets)
# milliseconds.  Under our debug kernel (KASAN, lockdep, kmemleak) an op
# takes some 14 to 21 times as long (16000 ops on the edus took 141.6 s
# that day, 216 s on a slow one), so half as many: about 30 to 40 s a
# kind on a good day.
# $MIG_FUZZ_OPS, when set, is taken for every kind.  The seed is the
# clock's; the program's TAP lines and log say how to replay a run.
fuzz_ops() {
	local n
	case $1 in
	edu | mtty) n=8000 ;;
	ivshmem) n=6000 ;;
	*) n=2000 ;;
	esac
	[[ $kver != *-qvp-debug ]] || n=$((n / 2))
	echo "${MIG_FUZZ_OPS:-$n}"
}

# Suites run on the devices of a kind, by its name in scripts/test-devices.
# A suite whose devices are missing does not run: the setup checks above
# and the suite's absence (scripts/expected-suites) are its failures.
read -ra edu <<<"${td_found[edu]:-}"
read -ra ivs64 <<<"${td_found[ivshmem-64M]:-}"
read -ra ivs256 <<<"${td_found[ivshmem-256M]:-}"
read -ra ivs1g <<<"${td_found[ivshmem-1G]:-}"
read -ra igbvf <<<"${td_found[igb-vf]:-}"

if [ "${#edu[@]}" -ge 1 ] && want edu; then
	progs="migration_conformance migration_races migration_fuzz migration_roundtrip migration_badinput edu_roundtrip edu_badinput edu_device dma_logging"
	mapfile -t args < <(dev_args "${edu[*]:0:2}" $progs)
	# dma_logging's fixtures for the other kind of device stay out.
	args+=("KSELFTEST_DMA_LOGGING_ARGS=-F ivshmem ${edu[*]:0:2}")
	run_suite edu "$tests" "$out/selftests" MIG_TESTS="$progs" "${race_env[@]}" \
		MIG_FUZZ_OPS="$(fuzz_ops edu)" "${args[@]}"
fi
# The same devices once more through iommufd: each device's cdev bound to
# /dev/iommu, its DMA mapped into an IOAS (VFIO_SELFTESTS_IOMMU_MODE,
# tools/lib/qvp/vfio_dev.h).  Only the kernels with iommufd have the
# suite: our debug and iommufd kernels, not Debian's.
if [ "${#edu[@]}" -ge 1 ] && [ -c /dev/iommu ] && want edu-iommufd; then
	progs="migration_conformance migration_roundtrip migration_badinput"
	mapfile -t args < <(dev_args "${edu[*]:0:2}" $progs)
	run_suite edu-iommufd "$tests" "$out/selftests" MIG_TESTS="$progs" \
		VFIO_SELFTESTS_IOMMU_MODE=iommufd "${args[@]}"
fi
# Fault injection (migration_faults): every allocation and user copy of
# each migration call made to fail in turn, through fail-nth; on the
# kernels with fault injection in debugfs, which scripts/expected-suites
# lists the suites for (our kernels, both with userfaultfd for the edu's
# stalls; the iommufd one runs only the edu's).  One device each: an edu,
# every call; a 64 MiB ivshmem, whose sessions allocate more (bitmaps,
# digests) and whose streams go through bulk.c, only the calls where it
# differs from an edu: each of its tests moves 64 MiB streams several
# times, a minute or more under TCG, and all of them would not fit in
# the runner's timeout.  Not its write()s either: each fault there
# writes 64 MiB into BAR2 twice (the call, then the rest of the
# stream), and write_resuming alone took more than 6 minutes.  But one
# userfaultfd stall, write_resuming_close: a page of the stream written,
# the fd closed under it, and the load of that part refused (an edu's
# whole stream fits in the page, so only a larger device's reaches that).
if [ "${#edu[@]}" -ge 1 ] && want faults &&
	kernel_suites "$kver" | grep -q '^faults '; then
	run_suite faults "$tests" "$out/selftests" MIG_TESTS=migration_faults \
		KSELFTEST_MIGRATION_FAULTS_ARGS="${edu[0]}"
fi
if [ "${#ivs64[@]}" -ge 1 ] && want faults-ivshmem-64M &&
	kernel_suites "$kver" | grep -q '^faults-ivshmem-64M '; then
	args=()
	for v in stop_to_stop_copy running_to_pre_copy stop_to_resuming \
		resuming_to_stop precopy_info read_stop_copy read_pre_copy \
		read_end_half write_resuming_close; do
		args+=(-v "$v")
	done
	run_suite faults-ivshmem-64M "$tests" "$out/selftests" \
		MIG_TESTS=migration_faults \
		KSELFTEST_MIGRATION_FAULTS_ARGS="${args[*]} ${ivs64[0]}"
fi
if [ "${#edu[@]}" -ge 1 ] && want vfio-mig; then
	# the golden igb VF stream loads only where the PF answers
	[ -z "${igbvf[0]:-}" ] || pf_up "${igbvf[0]}" ||
		log "cannot bring up the PF of ${igbvf[0]}"
	# Cross-kernel streams (vfio_mig_test.sh): make check lists in
	# xkernel/order the kernels whose VMs saved their streams before
	# this one started.
	xk=/qvp/out/xkernel xk_env=()
	[ ! -f "$xk/order" ] ||
		xk_env=(VFIO_MIG_XKERNEL="$xk"
			VFIO_MIG_XKERNEL_FROM="$(grep -vxF "$kver" "$xk/order" | paste -sd' ')")
	run_suite vfio-mig /qvp/tools/testing/selftests/vfio/vfio-mig \
		"$out/vfio-mig-selftests" "${xk_env[@]}" VFIO_MIG="$out/vfio-mig-selftests/vfio-mig" \
		VFIO_MIG_EDU_REGS="$out/vfio-mig-selftests/edu_regs" \
		VFIO_MIG_GOLDEN=/qvp/tools/testing/stream/golden \
		VFIO_MIG_IVSHMEM_BDF="${ivs64[0]:-}" VFIO_MIG_IGBVF_BDF="${igbvf[0]:-}" \
		VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
fi
# Under the debug kernel the QEMU suites run the edu migration and the
# cases that need its DMA logging or iommufd (QEMU_MIG_ONLY; the others
# SKIP, saying so, and scripts/expected-skips has them): every case
# starts nested QEMUs, and under the debug options the 10.0 suite took
# 280 s with every case (2026-12-03), against 109 s on Debian's 7.3.
# QEMU 10.0 keeps the cancelled migration too, which restarts the DMA
# log after migrate_cancel.  What runs nowhere else then: the ivshmem
# migration and the incompatible streams with the DMA log on (Debian's
# kernels run them with enable-migration=on, without it).
# qemu_only[SUITE]: the suite's QEMU_MIG_ONLY (scripts/verdict-test.sh
# reads these lines).
declare -A qemu_only=()
case $kver in
*-qvp-debug)
	qemu_only[qemu-migration]="cancel dirty iommufd multifd"
	qemu_only[qemu-migration-11.1]="dirty iommufd multifd"
	;;
esac
if [ "${#edu[@]}" -ge 1 ] && { want qemu-migration || want qemu-migration-11.1; }; then
	want qemu-migration &&
		run_suite qemu-migration /qvp/tools/testing/selftests/vfio/qemu-migration \
			"$out/qemu-migration-selftests" \
			${qemu_only[qemu-migration]:+"QEMU_MIG_ONLY=${qemu_only[qemu-migration]}"} \
			VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
	# The same with QEMU 11.1 from trixie-backports, which
	# scripts/mkqemu.sh unpacked into /opt/qemu-11.1 (qemu.env: its
	# binary, -L directories and QEMU_MODULE_DIR), on the kernels for
	# which scripts/expected-suites lists the suite (it takes minutes).
	# Without qemu.env the suite still runs, and fails, naming the binary.
	if want qemu-migration-11.1 && kernel_suites "$kver" | grep -q '^qemu-migration-11\.1 '; then
		qemu11=(QEMU_MIG_QEMU=/opt/qemu-11.1/usr/bin/qemu-system-x86_64)
		[ ! -r /opt/qemu-11.1/qemu.env ] || mapfile -t qemu11 </opt/qemu-11.1/qemu.env
		run_suite qemu-migration-11.1 /qvp/tools/testing/selftests/vfio/qemu-migration \
			"$out/qemu-migration-selftests" "${qemu11[@]}" \
			${qemu_only[qemu-migration-11.1]:+"QEMU_MIG_ONLY=${qemu_only[qemu-migration-11.1]}"} \
			VFIO_SELFTESTS_BDF="${edu[0]}" VFIO_SELFTESTS_BDF2="${edu[1]:-}"
	fi
fi

if [ "${#ivs64[@]}" -ge 1 ] && [ "${#ivs256[@]}" -ge 2 ] && want ivshmem-64M; then
	progs="migration_conformance migration_races migration_fuzz migration_roundtrip migration_badinput ivshmem_roundtrip dma_logging"
	mapfile -t args < <(dev_args "${ivs64[*]:0:2}" $progs)
	args+=("KSELFTEST_DMA_LOGGING_ARGS=-F edu -F edu_dma ${ivs64[*]:0:2}")
	run_suite ivshmem-64M "$tests" "$out/selftests" MIG_TESTS="$progs" \
		MIG_FUZZ_OPS="$(fuzz_ops ivshmem)" "${args[@]}"
fi
if [ "${#ivs64[@]}" -ge 1 ] && [ "${#ivs256[@]}" -ge 2 ] && want ivshmem-256M; then
	# Of the generic round trips, the two STOP_COPY ones (held whole and
	# piped to the second device): every variant would take minutes here.
	mapfile -t args < <(dev_args "${ivs256[*]:0:2}" ivshmem_roundtrip)
	args+=("KSELFTEST_MIGRATION_ROUNDTRIP_ARGS=-v same_stop_copy_mib -v second_stop_copy_mib ${ivs256[*]:0:2}")
	run_suite ivshmem-256M "$tests" "$out/selftests" \
		MIG_TESTS="migration_roundtrip ivshmem_roundtrip" "${args[@]}"
fi
# The largest BAR2 the backend promises: only the tests that stream
# without holding a whole stream run; the others skip, saying why.
if [ "${#ivs1g[@]}" -ge 2 ] && want ivshmem-1G; then
	progs="ivshmem_roundtrip"
	mapfile -t args < <(dev_args "${ivs1g[*]:0:2}" $progs)
	run_suite ivshmem-1G "$tests" "$out/selftests" MIG_TESTS="$progs" "${args[@]}"
fi

# The device-agnostic suites on a driver that is not ours: the mdevs of
# the mtty sample.  Where mtty breaks a sentence of the uAPI, its failure
# is listed in scripts/expected-deviations (scripts/verdict.sh).  No
# unbinding: mtty's data fds keep a pointer to the device's state, which
# unbinding the mdev from mtty frees (scripts/expected-skips).  Then
# migration_conformance once more through iommufd, as edu-iommufd: an
# mdev's cdev bound to /dev/iommu, on the kernels that have it.
if [ "${#mdevs[@]}" -ge 1 ] && want mtty; then
	progs="migration_conformance migration_races migration_fuzz"
	mapfile -t args < <(dev_args "${mdevs[*]:0:2}" $progs)
	# MIG_FUZZ_NO_CLOSE_IN_RESUMING: mtty keeps RESUMING across a
	# close of the device, which frees its resume session, and its next
	# RESUMING -> STOP dereferences that NULL session (an oops in
	# mtty_load_state()): migration_fuzz does not close it in RESUMING.
	run_suite mtty "$tests" "$out/selftests" MIG_TESTS="$progs" \
		MIG_FUZZ_OPS="$(fuzz_ops mtty)" MIG_FUZZ_NO_CLOSE_IN_RESUMING=1 \
		VFIO_SELFTESTS_ALLOW_UNBIND=0 "${args[@]}"
fi
if [ "${#mdevs[@]}" -ge 1 ] && [ -c /dev/iommu ] && want mtty-iommufd; then
	progs="migration_conformance"
	mapfile -t args < <(dev_args "${mdevs[*]:0:2}" $progs)
	run_suite mtty-iommufd "$tests" "$out/selftests" MIG_TESTS="$progs" \
		VFIO_SELFTESTS_ALLOW_UNBIND=0 VFIO_SELFTESTS_IOMMU_MODE=iommufd \
		"${args[@]}"
fi

# The igb's VFs on qemu-vfio-pci: the device-agnostic suites (the plug-in
# plugins/igbvf.c), then igbvf_traffic, which drives them from userspace
# with the PF's interface as the peer and migrates one's registers,
# PF-held configuration and traffic into the other.
if [ "${#igbvf[@]}" -ge 1 ] && want igb; then
	for bdf in "${igbvf[@]}"; do
		pf_up "$bdf" || log "cannot bring up the PF of $bdf"
	done
	progs="migration_conformance migration_races migration_fuzz migration_roundtrip migration_badinput igbvf_traffic"
	mapfile -t args < <(dev_args "${igbvf[*]:0:2}" $progs)
	run_suite igb "$tests" "$out/selftests" MIG_TESTS="$progs" \
		MIG_FUZZ_OPS="$(fuzz_ops igb)" "${args[@]}"
fi

# Devices of three backends migrate at once, each from a thread of its
# own (migration_parallel): both edu, both 64 MiB ivshmem, both igb VFs.
if want parallel; then
	for bdf in "${igbvf[@]:0:2}"; do
		pf_up "$bdf" || log "cannot bring up the PF of $bdf"
	done
	pdevs=("${edu[@]:0:2}" "${ivs64[@]:0:2}" "${igbvf[@]:0:2}")
	run_suite parallel "$tests" "$out/selftests" MIG_TESTS=migration_parallel \
		"KSELFTEST_MIGRATION_PARALLEL_ARGS=${pdevs[*]}"
fi

# The lockdep suite, on the kernels scripts/expected-suites names (ours
# with CONFIG_PROVE_LOCKING), before teardown unloads our module and
# lockdep forgets its lock classes.
if want lockdep && kernel_suites "$kver" | grep -q '^lockdep '; then
	log "suite lockdep"
	own_suite_begin lockdep
	# One read of each (each read walks lockdep's graph with interrupts
	# off), kept with the results.
	check "lockdep's tables read (lockdep.txt, lockdep_stats.txt)" \
		sh -c "cat /proc/lockdep >$res/lockdep.txt && cat /proc/lockdep_stats >$res/lockdep_stats.txt"
	check "lockdep is still proving (prove_locking is 1)" param_file_is "$prove_locking" 1
	check "no report or full table turned lockdep off (debug_locks is 1)" \
		lockdep_debug_locks "$res/lockdep_stats.txt"
	for l in "&qdev->state_mutex" "&mf->lock" "&qdev->trap_lock"; do
		check "lockdep proved locks taken under qemu-vfio-pci's $l" \
			lockdep_deps_of "$l" "$res/lockdep.txt"
	done
	# What it proved, for scripts/reliability.sh.
	echo "# lockdep: $(awk -F: '{ sub(/^ +/, "", $1); split($2, v, " ") }
		$1 == "lock-classes" || $1 == "direct dependencies" || $1 == "dependency chains" {
			printf "%s%s %s", (n++ ? ", " : ""), v[1], $1 }' "$res/lockdep_stats.txt")" >>"$tap"
	own_suite_end
fi

own_suite_begin teardown
# A test that sets it restores it in its fixture's teardown, which a
# harness timeout (SIGKILL) skips: say so rather than run on with it.
check "ivshmem_reinit_pct is 0 again after the suites" param_is ivshmem_reinit_pct 0
for bdf in "${migrate[@]}" "${vfio[@]}"; do
	check "$bdf is given back" "$tests/vfio_bind.sh" restore "$bdf"
done
# A module that will not unload holds a reference it should have dropped.
check "rmmod qemu_vfio_pci" unloaded qemu_vfio_pci
for u in "${mdevs[@]}"; do
	check "remove mdev $u" mdev_remove "$u"
done
if grep -q '^mtty ' /proc/modules; then
	check "rmmod mtty" unloaded mtty
fi
if kmemleak_wanted; then
	check_timeout=900 check "kmemleak finds no leak (see kmemleak.txt)" no_leaks
fi
own_suite_end

dmesg >"$res/dmesg.txt"
echo done >"$res/guest.status"
