#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test of make check's counting (scripts/verdict.sh), run by make check:
# fake VM runs (console log, TAP, dmesg, guest status and vm.sh's exit
# status, as a real boot leaves them) go through the very functions that
# check.sh uses, against the real manifests (scripts/expected-suites,
# scripts/expected-skips, scripts/expected-deviations), and each verdict
# is checked.  Needs no VM and no root.  Prints TAP.
#
# The sentences of scripts/expected-deviations are looked up in the uAPI
# header: QVP_UAPI_VFIO_H, else the newest kernel headers' vfio.h in the
# cached root filesystem, else /usr/include/linux/vfio.h.
#
# Usage: verdict-test.sh [WORKDIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"
. "$here/verdict.sh"
work=${1:-$(mktemp -d)}
mkdir -p "$work"
n=0 failed=0

# good_tap FILE [KVER]: the TAP of a run of kernel KVER (default
# 6.12.0-fake) in which everything passed: every suite and program that
# scripts/expected-suites expects of KVER, each with one passing case.
good_tap()
{
	local s progs p i
	: >"$1"
	while read -r s progs; do
		echo "# suite: $s"
		i=0
		for p in $progs; do
			i=$((i + 1))
			echo "# selftests: vfio: $p"
			echo "# TAP version 13"
			echo "# 1..1"
			echo "# ok 1 $p.works"
			echo "ok $i selftests: vfio: $p"
		done
		echo "# suite-end: $s 0"
	done < <(expected_suites "${2:-6.12.0-fake}") >"$1"
}

# fake_run NAME [KVER]: a directory holding a clean run of kernel KVER
# (default 6.12.0-fake), to be spoilt by a case.
fake_run()
{
	local d=$work/$1 k=${2:-6.12.0-fake}
	rm -rf "$d"
	mkdir -p "$d"
	good_tap "$d/selftests.tap" "$k"
	printf '%s\n' "Linux version $k (fake)" "[guest] kernel $k" >"$d/console.log"
	echo "[    0.000000] Linux version $k (fake)" >"$d/dmesg.txt"
	echo done >"$d/guest.status"
	echo "$d"
}

# judge NAME DIR RC [LABEL2 DIR2 RC2]: count DIR like check.sh does (and
# DIR2 as a second boot when the first froze), as a run of lane $j_kver
# (default 6.12.0-fake), labelled $j_label (default the lane); sets
# j_pass, j_fail, j_skip, j_froze and leaves the printed lines in
# $work/NAME.out.
judge()
{
	local name=$1 dir=$2 rc=$3 k=${j_kver:-6.12.0-fake}
	verdict_init
	{
		judge_vm_run "${j_label:-$k}" "$dir" "$rc" "$k"
		j_froze=$?
		if [ "$j_froze" -eq 2 ] && [ $# -ge 5 ]; then
			judge_vm_run "$k/$4" "$5" "${6:-0}" "$k"
		fi
		print_summary
	} >"$work/$name.out" 2>&1
	j_pass=$pass j_fail=$fail j_skip=$skip j_xfail=$xfail
}

# expect NAME WHAT COND GREP: COND (an arithmetic test on j_*) holds, and
# the printed lines match the extended regular expression GREP.
expect()
{
	local name=$1 what=$2 cond=$3 re=$4
	if (($cond)) && grep -Eq -- "$re" "$work/$name.out"; then
		tap ok "$what"
	else
		tap "not ok" "$what (passed $j_pass, failed $j_fail, skipped $j_skip, expected failures $j_xfail; wanted $cond and /$re/; output: $work/$name.out)"
		sed 's/^/# /' "$work/$name.out" | grep -v '^# ok ' | head -n 20
	fi
}

# without_suite NAME LANE SUITE WHAT: a clean run of LANE whose TAP
# lacks SUITE fails, the verdict naming the suite and the manifest.
without_suite()
{
	local name=$1 lane=$2 s=$3 what=$4 d
	d=$(fake_run "$name" "$lane")
	sed -i "/# suite: $s\$/,/# suite-end: $s /d" "$d/selftests.tap"
	j_kver=$lane judge "$name" "$d" 0
	expect "$name" "$what" \
		"j_fail == 1" "^not ok - ${lane//+/\\+}: suite $s ran # not in .*scripts/expected-suites expects it"
}

d=$(fake_run clean)
judge clean "$d" 0
expect clean "a clean run passes: no failure, no skip" \
	"j_fail == 0 && j_skip == 0 && j_xfail == 0 && j_pass > 10" '^ok - 6.12.0-fake: guest test script completed'

# A failed kselftest_harness.h case: the summary says why, from the last
# lines its program logged about it.
d=$(fake_run why)
sed -i 's/^# ok 1 edu_badinput.works$/# #  RUN           edu.works ...\n# # edu_badinput.c:10:works:an older line\n# # edu_badinput.c:11:works:setting up\n# # edu_badinput.c:12:works:Expected 0 (0) == ret (-110)\n# # edu_badinput.c:12:works:mailbox: no reply|from the PF\n# not ok 1 edu_badinput.works/' "$d/selftests.tap"
judge why "$d" 0
expect why "a failed case's summary line gives its last three log lines" \
	"j_fail == 1" '^    6.12.0-fake/edu: edu_badinput: edu_badinput.works \(edu_badinput.c:11:works:setting up / edu_badinput.c:12:works:Expected 0 \(0\) == ret \(-110\) / edu_badinput.c:12:works:mailbox: no reply/from the PF\)$'

# The case the audit found: a first boot with a WARN from our driver, a
# failed case and a stall, then a clean second boot.
d=$(fake_run stall)
sed -i '/# suite: ivshmem-64M/,$d' "$d/selftests.tap"
sed -i 's/^# ok 1 edu_badinput.works/# not ok 1 edu_badinput.works/' "$d/selftests.tap"
rm "$d/guest.status" "$d/dmesg.txt"
cat >>"$d/console.log" <<'EOF'
[  101.000000] WARNING: CPU: 1 PID: 412 at drivers/vfio/pci/qemu/migration.c:321 qvp_save_read+0x51/0x2a0 [qemu_vfio_pci]
vm.sh: guest stalled: no heartbeat for 241s; QEMU's view of the vCPUs:
EOF
d2=$(fake_run stall-boot2)
judge stall "$d" 123 boot2 "$d2" 0
expect stall "a stall is a failure, never a skip" \
	"j_froze == 2 && j_skip == 0" '^not ok - 6.12.0-fake: VM finished in time # the guest stalled'
expect stall "the stalled run's WARN counts" \
	"j_fail >= 1" '^not ok - 6.12.0-fake: guest log free of oops/WARN/lockdep'
expect stall "the stalled run's failed case counts" \
	"j_fail >= 1" '^not ok - 6.12.0-fake/edu: edu_badinput: edu_badinput.works'
expect stall "the suites the stall cut off are failures" \
	"j_fail >= 4" '^not ok - 6.12.0-fake: suite ivshmem-64M ran'
expect stall "a clean second boot is reported beside it, and the verdict stays failed" \
	"j_fail >= 5" '^ok - 6.12.0-fake/boot2: guest test script completed'

d=$(fake_run vanish)
rm "$d/guest.status"
judge vanish "$d" 255
expect vanish "QEMU vanishing is a failure of the run" \
	"j_froze == 2 && j_fail >= 1 && j_skip == 0" 'QEMU ended \(status 255\)'

# The driver no longer binds: setup says so, and every program skips as
# the selftests do without a vfio device.
d=$(fake_run unbound)
sed -i 's/^# ok 1 setup.works/# not ok 1 0000:00:03.0 is bound to qemu-vfio-pci/' "$d/selftests.tap"
sed -i 's/^\(ok [0-9]* selftests: vfio: \(migration_conformance\|edu_roundtrip\)\)$/# 1..0 # SKIP 0000:00:03.0 is not bound to vfio-pci\n\1 # SKIP/' \
	"$d/selftests.tap"
sed -i '/^# ok 1 \(migration_conformance\|edu_roundtrip\).works$/d' "$d/selftests.tap"
judge unbound "$d" 0
expect unbound "unbound devices are a failure" \
	"j_fail >= 4 && j_skip == 0" '^not ok - 6.12.0-fake/setup: 0000:00:03.0 is bound to qemu-vfio-pci'
expect unbound "a program that skips because its device is unbound is a failure" \
	"j_fail >= 4" '^not ok - 6.12.0-fake/edu: edu_roundtrip # unexpected SKIP: 0000:00:03.0 is not bound'

d=$(fake_run unexpected-skip)
sed -i 's/^# ok 1 migration_races.works$/# ok 1 race.arcs # SKIP driver does not support migration/' "$d/selftests.tap"
judge unexpected-skip "$d" 0
expect unexpected-skip "an unexpected SKIP is a failure that names the manifest" \
	"j_fail >= 1 && j_skip == 0" 'unexpected SKIP: driver does not support migration; a skip counts only when scripts/expected-skips lists it'

without_suite missing-suite 6.12.0-fake ivshmem-1G "a missing suite is a failure"

# migration_races runs in several suites: a change to it fails in each.
nraces=$(manifest_lines "$QVP_EXPECTED_SUITES" | grep -cw migration_races)

d=$(fake_run missing-program)
sed -i '/# selftests: vfio: migration_races/,/selftests: vfio: migration_races$/d' "$d/selftests.tap"
judge missing-program "$d" 0
expect missing-program "a program without a result is a failure" \
	"j_fail == nraces" '^not ok - 6.12.0-fake/(edu|ivshmem-64M|mtty): migration_races # no result'

# The runner dies in the middle of a suite: no verdict line, no end.
d=$(fake_run runner-died)
sed -i '/^ok [0-9]* selftests: vfio: edu_badinput$/,/# suite-end: edu 0/d' "$d/selftests.tap"
judge runner-died "$d" 0
expect runner-died "a runner that ends early is a failure" \
	"j_fail >= 2" '^not ok - 6.12.0-fake: suite edu ran to its end # the runner stopped early'

d=$(fake_run crash)
sed -i 's/^ok 2 selftests: vfio: migration_races$/not ok 2 selftests: vfio: migration_races # exit=139/' "$d/selftests.tap"
judge crash "$d" 0
expect crash "a program that crashes after passing cases is a failure" \
	"j_fail == nraces" 'migration_races # program failed without a failed case: exit=139'

d=$(fake_run rmmod)
sed -i 's/^# ok 1 teardown.works$/# not ok 1 rmmod qemu_vfio_pci/' "$d/selftests.tap"
judge rmmod "$d" 0
expect rmmod "a failing rmmod is a failure" \
	"j_fail == 1" '^not ok - 6.12.0-fake/teardown: rmmod qemu_vfio_pci'

# A skip that scripts/expected-skips lists: the 1 GiB round trips that
# would hold a whole stream in the VM's memory.
d=$(fake_run expected-skip)
sed -i '/# suite: ivshmem-1G/,/# suite-end/s/^# ok 1 ivshmem_roundtrip.works$/# ok 1 ivs.roundtrip # SKIP holds a 1024 MiB stream and image in memory, more than half of MemAvailable (2645 MiB); streamed_to_second_device covers this size/' \
	"$d/selftests.tap"
judge expected-skip "$d" 0
expect expected-skip "a SKIP that the manifest lists is a skip" \
	"j_fail == 0 && j_skip == 1" '^ok - 6.12.0-fake/ivshmem-1G: ivshmem_roundtrip: ivs.roundtrip # SKIP holds'

# The same reason anywhere else is not expected.
d=$(fake_run expected-skip-elsewhere)
sed -i '/# suite: ivshmem-64M/,/# suite-end/s/^# ok 1 ivshmem_roundtrip.works$/# ok 1 ivs.roundtrip # SKIP holds a 1024 MiB stream and image in memory, more than half of MemAvailable (2645 MiB); streamed_to_second_device covers this size/' \
	"$d/selftests.tap"
judge expected-skip-elsewhere "$d" 0
expect expected-skip-elsewhere "a listed reason on another suite is a failure" \
	"j_fail == 1 && j_skip == 0" 'unexpected SKIP: holds a 1024 MiB'

# The kunit suite: expected of the debug kernel only (a kernel-version
# glob in scripts/expected-suites), whose build has qemu-vfio-pci-kunit.ko.
debug=6.12.117-qvp-debug debian=6.12.117+deb13-amd64

# The debug kernel's suites are split between two VMs ("@*-qvp-debug/vm2
# SUITE..."): the second runs those, the first every other suite of the
# kernel; both run the suites that judge the VM: setup, lockdep (the
# debug kernel has lockdep) and teardown.  No suite is in neither VM,
# none but those three in both.
mapfile -t debug_lanes < <(kernel_lanes "$debug")
lane_names() { expected_suites "$1" | awk '{ print $1 }' | sort; }
all=$(kernel_suites "$debug" | awk '{ print $1 }' | sort)
both=$(comm -12 <(lane_names "$debug") <(lane_names "$debug/vm2") | paste -sd' ')
union=$(sort -u <(lane_names "$debug") <(lane_names "$debug/vm2"))
if [ "${debug_lanes[*]}" != "$debug $debug/vm2" ]; then
	tap "not ok" "the debug kernel has two lanes, $debug and $debug/vm2 (kernel_lanes gives: ${debug_lanes[*]})"
elif [ "$union" != "$all" ] || [ "$both" != "lockdep setup teardown" ]; then
	tap "not ok" "the debug kernel's two VMs run each of its suites once, setup, lockdep and teardown in both (in both: $both; in neither: $(comm -23 <(echo "$all") <(echo "$union") | paste -sd' '))"
else
	tap ok "the debug kernel's two VMs run each of its suites once, setup, lockdep and teardown in both"
fi
for l in "$debug" "$debug/vm2"; do
	d=$(fake_run "debug-lane-${l##*/}" "$l")
	j_kver=$l judge "debug-lane-${l##*/}" "$d" 0
	expect "debug-lane-${l##*/}" "a clean run of the debug kernel's VM $l passes" \
		"j_fail == 0 && j_skip == 0" "^ok - $l: guest test script completed"
done
# A suite of the other VM in a run fails that run, both ways; a run
# without one of its own suites fails.
d=$(fake_run debug-lane-swap "$debug/vm2")
good_tap "$work/debug-lane1.tap" "$debug"
sed -n '/# suite: vfio-mig/,/# suite-end: vfio-mig/p' "$work/debug-lane1.tap" >>"$d/selftests.tap"
j_kver=$debug/vm2 judge debug-lane-swap "$d" 0
expect debug-lane-swap "the debug kernel's second VM running a suite of the first fails" \
	"j_fail == 1" "^not ok - $debug/vm2: suite vfio-mig is expected of $debug/vm2 # it ran, but"
d=$(fake_run debug-lane-swap1 "$debug")
sed -n '/# suite: edu$/,/# suite-end: edu /p' "$(fake_run debug-lane-vm2 "$debug/vm2")/selftests.tap" >>"$d/selftests.tap"
j_kver=$debug judge debug-lane-swap1 "$d" 0
expect debug-lane-swap1 "the debug kernel's first VM running a suite of the second fails" \
	"j_fail == 1" "^not ok - $debug: suite edu is expected of $debug # it ran, but"
# The larger ivshmems' suites run on every kernel, the debug kernel's
# split between its VMs (scripts/expected-suites): each debug VM without
# its own fails, and so does the other VM running it, and a Debian
# kernel's run without either.  The suite's lines come from a Debian
# kernel's run, which has both whatever the debug kernel's split.
for pair in "$debug/vm2 ivshmem-256M $debug" "$debug ivshmem-1G $debug/vm2"; do
	read -r l s other <<<"$pair"
	without_suite "debug-no-$s" "$l" "$s" "the debug kernel's VM $l without $s fails"
	d=$(fake_run "debug-other-$s" "$other")
	sed -n "/# suite: $s\$/,/# suite-end: $s /p" "$(fake_run "debian-own-$s" "$debian")/selftests.tap" >>"$d/selftests.tap"
	j_kver=$other judge "debug-other-$s" "$d" 0
	expect "debug-other-$s" "the debug kernel's VM $other running $s fails" \
		"j_fail == 1" "^not ok - $other: suite $s is expected of $other # it ran, but"
	without_suite "debian-no-$s" "$debian" "$s" "a Debian kernel's run without $s fails"
done
without_suite debug-lane-lost "$debug" igb "the debug kernel's first VM without one of its suites fails"

# The debug kernel has userfaultfd (scripts/debug-kernel.config): a
# skip of the fault injection suite's userfaultfd cases is a failure in
# the VM that runs the suite, in a second boot too.
uffd_cases=0
for l in "$debug" "$debug/vm2"; do
	lane_names "$l" | grep -qx faults || continue
	for b in "" /boot2; do
		uffd_cases=$((uffd_cases + 1))
		d=$(fake_run "debug-uffd-${l##*/}${b#/}" "$l")
		sed -i '/# suite: faults$/,/# suite-end: faults /s/^# ok 1 migration_faults.works$/# ok 1 uffd.read_stop # SKIP no userfaultfd (ENOSYS): the kernel lacks CONFIG_USERFAULTFD/' \
			"$d/selftests.tap"
		j_kver=$l j_label=$l$b judge "debug-uffd-${l##*/}${b#/}" "$d" 0
		expect "debug-uffd-${l##*/}${b#/}" "a userfaultfd case's skip in $l$b's faults suite fails" \
			"j_fail == 1 && j_skip == 0" "^not ok - $l$b/faults: migration_faults: uffd.read_stop # unexpected SKIP: no userfaultfd"
	done
done
if [ "$uffd_cases" -eq 2 ]; then
	tap ok "one of the debug kernel's VMs runs the faults suite"
else
	tap "not ok" "one of the debug kernel's VMs runs the faults suite (scripts/expected-suites gives it to $((uffd_cases / 2)))"
fi

# A Debian kernel's expected QEMU skips hold in its second boot too.
why="no DMA logging (ENOTTY): the driver offers it only on kernels with CONFIG_IOMMUFD_DRIVER, and QEMU's default mode needs it"
if expected_skip "$debian/boot2/qemu-migration: qemu_migration_test.py: edu: dirty tracking: x" "$why"; then
	tap ok "a Debian kernel's expected QEMU skip holds in a second boot"
else
	tap "not ok" "a Debian kernel's expected QEMU skip holds in a second boot ($debian/boot2/qemu-migration does not match scripts/expected-skips)"
fi

# The debug kernel's QEMU suites leave out, by QEMU_MIG_ONLY (guest-run.sh's
# qemu_only[SUITE]), cases that Debian's kernels run.  For each of the two
# suites, the test's own --plan, given that value, says which lines SKIP
# and why: each of those SKIPs must be in scripts/expected-skips for each
# of the debug kernel's VMs and their second boots, and on no Debian
# kernel; no line that runs may be there.
qmt=$here/../tools/testing/selftests/vfio/qemu-migration/qemu_migration_test.py
qbad=() qlines=0 qskips=0
for suite in qemu-migration qemu-migration-11.1; do
	only=$(sed -n "s/^[[:space:]]*qemu_only\[$suite\]=\"\([^\"]*\)\"\$/\1/p" "$here/guest-run.sh")
	if [ -z "$only" ]; then
		qbad+=("guest-run.sh sets no qemu_only[$suite]")
		continue
	fi
	if ! plan=$(QEMU_MIG_ONLY=$only python3 "$qmt" --plan 2>&1); then
		qbad+=("QEMU_MIG_ONLY=$only qemu_migration_test.py --plan failed: $plan")
		continue
	fi
	while IFS=$'\t' read -r what name why; do
		qlines=$((qlines + 1))
		[ "$what" != skip ] || qskips=$((qskips + 1))
		for l in "${debug_lanes[@]}"; do
			for b in "" /boot2; do
				t="$l$b/$suite: qemu_migration_test.py: $name"
				if [ "$what" = skip ]; then
					expected_skip "$t" "$why" || qbad+=("not expected: $t")
				elif expected_skip "$t" "left out by QEMU_MIG_ONLY=$only"; then
					qbad+=("expected, but it must run: $t")
				fi
			done
		done
		[ "$what" = skip ] || continue
		for k in "$debian" 7.3.4+deb13-amd64; do
			! expected_skip "$k/$suite: qemu_migration_test.py: $name" "$why" ||
				qbad+=("expected on $k too: $suite: $name")
		done
	done <<<"$plan"
done
if [ "${#qbad[@]}" -gt 0 ]; then
	tap "not ok" "the debug kernel's QEMU suites leave out only what scripts/expected-skips lists (${qbad[*]})"
elif [ "$qlines" -ne 34 ] || [ "$qskips" -eq 0 ]; then
	tap "not ok" "the debug kernel's QEMU suites leave out only what scripts/expected-skips lists (--plan gave $qlines lines, $qskips SKIPs: want the two plans of 17, some SKIPs)"
else
	tap ok "the debug kernel's QEMU suites leave out only what scripts/expected-skips lists ($qskips SKIPs)"
fi

# The lane that runs the kunit suite.
debug_k=
for l in "${debug_lanes[@]}"; do
	lane_names "$l" | grep -qx kunit && debug_k=$l
done
d=$(fake_run debug-clean "$debug_k")
j_kver=$debug_k judge debug-clean "$d" 0
expect debug-clean "a debug-kernel run with the kunit suite passes" \
	"j_fail == 0 && j_skip == 0" "^ok - $debug_k/kunit: qemu-vfio-pci-stream: "

without_suite debug-no-kunit "$debug_k" kunit "a debug-kernel run without the kunit suite fails"

d=$(fake_run debian-no-kunit "$debian")
j_kver=$debian judge debian-no-kunit "$d" 0
if grep -q '# suite: kunit' "$d/selftests.tap"; then
	tap "not ok" "a Debian-kernel run without the kunit suite passes (its fake TAP has the suite: scripts/expected-suites expects it of $debian)"
else
	expect debian-no-kunit "a Debian-kernel run without the kunit suite passes" \
		"j_fail == 0 && j_skip == 0 && j_pass > 10" "^ok - ${debian//+/\\+}: guest test script completed"
fi

# The iommufd kernel, a partial lane ("@*-qvp-iommufd SUITE..." in
# scripts/expected-suites): exactly its suites, each as strictly as in a
# full run.
iommufd=7.3.4-qvp-iommufd
d=$(fake_run iommufd-clean "$iommufd")
got=$(sed -n 's/^# suite: //p' "$d/selftests.tap" | paste -sd' ')
if [ "$got" != "setup edu edu-iommufd faults mtty-iommufd lockdep teardown" ]; then
	tap "not ok" "scripts/expected-suites gives the iommufd kernel setup, edu, edu-iommufd, faults, mtty-iommufd, lockdep and teardown (it gives: $got)"
else
	j_kver=$iommufd judge iommufd-clean "$d" 0
	expect iommufd-clean "an iommufd-kernel run of only its suites passes" \
		"j_fail == 0 && j_skip == 0" "^ok - $iommufd/mtty-iommufd: migration_conformance: "
fi

# A lockdep kernel's boot names lockdep without reporting anything; its
# reports fail the run, and so does a kernel that lost the lockdep suite.
d=$(fake_run iommufd-lockdep-boot "$iommufd")
cat >>"$d/console.log" <<'EOF'
[    0.000000] Kernel command line: console=ttyS0 intel_iommu=on iommu=pt panic=-1 oops=panic softlockup_panic=1 lockdep.prove_locking=0
[    0.000000] rcu: 	RCU lockdep checking is enabled.
EOF
j_kver=$iommufd judge iommufd-lockdep-boot "$d" 0
expect iommufd-lockdep-boot "a lockdep kernel's boot lines are not reports" \
	"j_fail == 0" "^ok - $iommufd: guest log free of oops/WARN/lockdep"

# lockdep_fails NAME WHAT LINE...: a lockdep-kernel run whose dmesg has
# the LINEs fails on its log scan.
lockdep_fails()
{
	local name=$1 what=$2 d
	shift 2
	d=$(fake_run "$name" "$iommufd")
	printf '[  300.000000] %s\n' "$@" >>"$d/dmesg.txt"
	j_kver=$iommufd judge "$name" "$d" 0
	expect "$name" "$what" \
		"j_fail == 1" "^not ok - $iommufd: guest log free of oops/WARN/lockdep"
}
lockdep_fails iommufd-lockdep-report "a lockdep report fails the run" \
	"======================================================" \
	"WARNING: possible circular locking dependency detected" \
	"7.3.4-qvp-iommufd #1 Not tainted"
lockdep_fails iommufd-lockdep-off "lockdep turning itself off fails the run" \
	"BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low!" \
	"turning off the locking correctness validator."
# Each of lockdep's lines without WARNING:, BUG: or a call trace, alone.
i=0
for line in "INFO: trying to register non-static key." \
	"turning off the locking correctness validator." \
	"INFO: lockdep is turned off." \
	"Disabling lock debugging due to kernel taint"; do
	i=$((i + 1))
	lockdep_fails "iommufd-lockdep-line$i" "the log line \"$line\" fails the run" "$line"
done

without_suite iommufd-no-lockdep "$iommufd" lockdep "an iommufd-kernel run without the lockdep suite fails"

# The debug kernel has lockdep too: each of its two VMs must run the
# lockdep suite, which judges that VM's lock graph.
for l in "$debug" "$debug/vm2"; do
	without_suite "debug-no-lockdep-${l##*/}" "$l" lockdep \
		"a run of the debug kernel's VM $l without the lockdep suite fails"
done

# kmemleak: a boot that vm.sh gave kmemleak=on must have run both checks
# (the setup suite's mark, the teardown suite's scans); a debug kernel asked to boot
# with it that could not fails; a Debian kernel without it does not.
km_scans() {
	sed -i -e 's/^# ok 1 setup.works$/# ok 1 kmemleak is on; leaks count from here on/' \
		-e 's/^# ok 1 teardown.works$/# ok 1 kmemleak finds no leak (see kmemleak.txt)/' "$1/selftests.tap"
}
# km_run NAME KVER STATE [scans]: a clean run of KVER that vm.sh booted
# with kmemleak STATE (on, off, none), with both checks' results if asked.
km_run() {
	local d
	d=$(fake_run "$1" "$2")
	echo "$3" >"$d/console.kmemleak"
	[ "${4:-}" != scans ] || km_scans "$d"
	echo "$d"
}
d=$(km_run km-scans "$debug" on scans)
j_kver=$debug judge km-scans "$d" 0
expect km-scans "a kmemleak=on boot of the debug kernel with both scans passes" \
	"j_fail == 0" "^ok - $debug: guest test script completed"
d=$(km_run km-no-scan "$debug" on scans)
sed -i 's/^# ok 1 kmemleak finds no leak.*/# ok 1 teardown.works/' "$d/selftests.tap"
j_kver=$debug judge km-no-scan "$d" 0
expect km-no-scan "a kmemleak=on boot without the scan after the suites fails" \
	"j_fail == 1" "^not ok - $debug: kmemleak finds no leak \(the check ran\)"
d=$(km_run km-no-mark "$debug" on scans)
sed -i 's/^# ok 1 kmemleak is on; leaks count.*/# ok 1 setup.works/' "$d/selftests.tap"
j_kver=$debug judge km-no-mark "$d" 0
expect km-no-mark "a kmemleak=on boot without the setup suite's mark fails" \
	"j_fail == 1" "^not ok - $debug: kmemleak is on; leaks count from here on \(the check ran\)"
d=$(km_run km-none "$debug" none)
j_kver=$debug judge km-none "$d" 0
expect km-none "a debug kernel asked for kmemleak=on that booted without it fails" \
	"j_fail == 1" "^not ok - $debug: booted with kmemleak=on # kmemleak was asked for"
d=$(km_run km-debian "$debian" none)
j_kver=$debian judge km-debian "$d" 0
expect km-debian "a Debian kernel, which has no kmemleak, passes without it" \
	"j_fail == 0" "^ok - ${debian//+/\\+}: guest test script completed"
d=$(km_run km-scan-area "$debug" on scans)
echo "[ 1226.371994] kmemleak: Cannot allocate a scan area, scanning the full object" >>"$d/dmesg.txt"
j_kver=$debug judge km-scan-area "$d" 0
expect km-scan-area "kmemleak without a scan area (fault injection provokes it) passes" \
	"j_fail == 0" "^ok - $debug: guest log free of oops/WARN/lockdep"
d=$(km_run km-off "$debug" off)
j_kver=$debug judge km-off "$d" 0
expect km-off "a debug kernel booted without kmemleak when not asked for (QVP_KMEMLEAK=0) passes" \
	"j_fail == 0" "^ok - $debug: guest test script completed"
d=$(km_run km-unfinished "$debug" on)
rm "$d/guest.status"
j_kver=$debug judge km-unfinished "$d" 1
expect km-unfinished "a kmemleak=on boot whose script did not finish fails once for that, not for its scans" \
	"j_fail == 1" "^not ok - $debug: guest test script completed"
d=$(km_run km-pool "$debug" on scans)
echo "[  500.000000] kmemleak: Memory pool empty, consider increasing CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE" >>"$d/console.log"
j_kver=$debug judge km-pool "$d" 0
expect km-pool "kmemleak running out of its pool fails the run (log scan)" \
	"j_fail == 1" "^not ok - $debug: guest log free of oops/WARN/lockdep"

# QVP_DEADLINE cuts a VM's timeout so that it is over a minute before
# the deadline, never below 60 s, and leaves it alone without one.
got="$(vm_timeout_by 4500 1000 '' 3000) $(vm_timeout_by 4500 1000 5100 1200) $(vm_timeout_by 4500 1000 5100 3000) $(vm_timeout_by 4500 1000 5100 6000)"
if [ "$got" = "4500 4500 3040 60" ]; then
	tap ok "QVP_DEADLINE cuts a VM's timeout to what is left of the run, never below 60 s"
else
	tap "not ok" "QVP_DEADLINE cuts a VM's timeout to what is left of the run, never below 60 s (got $got, wanted 4500 4500 3040 60)"
fi

without_suite iommufd-no-mtty "$iommufd" mtty-iommufd "an iommufd-kernel run without one of its suites fails"

d=$(fake_run iommufd-no-program "$iommufd")
sed -i '/# suite: edu-iommufd/,/# suite-end: edu-iommufd/{/# selftests: vfio: migration_badinput/,/selftests: vfio: migration_badinput$/d}' "$d/selftests.tap"
j_kver=$iommufd judge iommufd-no-program "$d" 0
expect iommufd-no-program "an iommufd-kernel suite without one of its programs fails" \
	"j_fail == 1" "^not ok - $iommufd/edu-iommufd: migration_badinput # no result"

# A suite that ran where it is not expected fails: the iommufd kernel
# running the ivshmem-256M suite, a Debian kernel running edu-iommufd.
d=$(fake_run iommufd-extra "$iommufd")
printf '%s\n' "# suite: ivshmem-256M" "# selftests: vfio: ivshmem_roundtrip" "# 1..1" "# ok 1 ivs.works" \
	"ok 1 selftests: vfio: ivshmem_roundtrip" "# suite-end: ivshmem-256M 0" >>"$d/selftests.tap"
j_kver=$iommufd judge iommufd-extra "$d" 0
expect iommufd-extra "an iommufd-kernel run with a suite of the full lanes fails" \
	"j_fail == 1" "^not ok - $iommufd: suite ivshmem-256M is expected of $iommufd # it ran, but"

d=$(fake_run debian-extra "$debian")
printf '%s\n' "# suite: edu-iommufd" "# selftests: vfio: migration_badinput" "# 1..1" "# ok 1 mig.works" \
	"ok 1 selftests: vfio: migration_badinput" "# suite-end: edu-iommufd 0" >>"$d/selftests.tap"
j_kver=$debian judge debian-extra "$d" 0
expect debian-extra "a Debian-kernel run with an iommufd suite fails" \
	"j_fail == 1" "^not ok - ${debian//+/\\+}: suite edu-iommufd is expected of"

# A partial lane split between two VMs: the first runs what the line
# "@KERNELS SUITE..." names and the second VM's line does not; both run
# the suites that judge the VM (setup, lockdep, teardown), named or not.
printf '%s\n' "@*-qvp-iommufd/vm2	edu" | cat "$QVP_EXPECTED_SUITES" - >"$work/expected-suites.split"
got=$(QVP_EXPECTED_SUITES=$work/expected-suites.split only_suites "$iommufd")
got2=$(QVP_EXPECTED_SUITES=$work/expected-suites.split only_suites "$iommufd/vm2")
if [ "$got" = "setup edu-iommufd faults mtty-iommufd lockdep teardown" ] && [ "$got2" = "setup edu lockdep teardown" ]; then
	tap ok "a partial lane split between two VMs runs the rest of its own suites in the first"
else
	tap "not ok" "a partial lane split between two VMs runs the rest of its own suites in the first (first: $got; second: $got2)"
fi

# A partial lane naming a suite that has no line of its own (a typo): its
# runs fail, they cannot pass without it.
sed 's/^@\*-qvp-iommufd\(.*\)$/@*-qvp-iommufd\1 edu-iommufdd/' "$QVP_EXPECTED_SUITES" >"$work/expected-suites.typo"
d=$(fake_run iommufd-typo "$iommufd")
QVP_EXPECTED_SUITES=$work/expected-suites.typo j_kver=$iommufd judge iommufd-typo "$d" 0
expect iommufd-typo "a partial lane's suite without a line of its own is expected all the same" \
	"j_fail == 1" "^not ok - $iommufd: suite edu-iommufdd ran # not in"

# KUnit's own KTAP (debugfs), through kunit-tap.awk as guest-run.sh does:
# a case per KUnit case and per parameter, one failure counted once.
# kunit_run NAME KTAP: a debug-kernel run whose kunit suite printed KTAP.
kunit_run()
{
	local d
	d=$(fake_run "$1" "$debug_k")
	{
		sed '/# suite: kunit/,$d' "$d/selftests.tap"
		echo "# suite: kunit"
		echo "# selftests: guest: kunit"
		echo "# ok 1 insmod qemu-vfio-pci-kunit.ko (runs the KUnit suites)"
		echo "ok 1 selftests: guest: kunit"
		awk -f "$here/kunit-tap.awk" "$2"
		echo "# suite-end: kunit 0"
		sed '1,/# suite-end: kunit/d' "$d/selftests.tap"
	} >"$d/selftests.tap.new"
	mv "$d/selftests.tap.new" "$d/selftests.tap"
	echo "$d"
}

# ktap_dirty: the debugfs file of a small second suite, as 6.12 writes
# it, all passing.
ktap_dirty()
{
	cat <<EOF
KTAP version 1
1..1
    KTAP version 1
    # Subtest: qemu-vfio-pci-dirty
    1..2
    ok 1 add_disjoint_sorted
        KTAP version 1
        # Subtest: random_against_bitmap
        ok 1 at IOVA 0
        ok 2 at the top of the IOVA space
    # random_against_bitmap: pass:2 fail:0 skip:0 total:2
    ok 2 random_against_bitmap
    # module: qemu_vfio_pci_kunit
# qemu-vfio-pci-dirty: pass:2 fail:0 skip:0 total:2
# Totals: pass:3 fail:0 skip:0 total:3
ok 1 qemu-vfio-pci-dirty
EOF
}

# ktap RESULT: the debugfs files of the two suites one after the other,
# as guest-run.sh keeps them: a small first suite, in which the parameter
# "header version 1" has RESULT (ok, "not ok"), then ktap_dirty.
ktap()
{
	local verdict=ok fails=0
	[ "$1" = ok ] || verdict="not ok" fails=1
	cat <<EOF
KTAP version 1
1..1
    KTAP version 1
    # Subtest: qemu-vfio-pci-stream
    1..3
    ok 1 crc32_known_answers
        KTAP version 1
        # Subtest: refusals
        ok 1 header magic QVPT
        $1 2 header version 1
    # refusals: pass:$((2 - fails)) fail:$fails skip:0 total:2
    $verdict 2 refusals
    ok 3 impossible_state
    # module: qemu_vfio_pci_kunit
# qemu-vfio-pci-stream: pass:$((3 - fails)) fail:$fails skip:0 total:3
# Totals: pass:$((4 - fails)) fail:$fails skip:0 total:4
$verdict 1 qemu-vfio-pci-stream
EOF
	ktap_dirty
}

ktap ok >"$work/kunit-pass.ktap"
d=$(kunit_run kunit-pass "$work/kunit-pass.ktap")
j_kver=$debug_k judge kunit-pass "$d" 0
expect kunit-pass "a passing KUnit suite counts its cases and each parameter" \
	"j_fail == 0 && j_skip == 0" "^ok - $debug_k/kunit: qemu-vfio-pci-stream: refusals: header version 1\$"
expect kunit-pass "the second KUnit suite is a program of its own" \
	"j_fail == 0" "^ok - $debug_k/kunit: qemu-vfio-pci-dirty: random_against_bitmap: at IOVA 0\$"
# shellcheck disable=SC2034	# read by expect's arithmetic below
n_pass=$j_pass

ktap "not ok" |
	sed 's/^        not ok 2 header version 1$/        # refusals: EXPECTATION FAILED at stream_kunit.c:1400\n&/' \
	>"$work/kunit-fail.ktap"
d=$(kunit_run kunit-fail "$work/kunit-fail.ktap")
j_kver=$debug_k judge kunit-fail "$d" 0
expect kunit-fail "a failed KUnit parameter is one failure, not two with its case's line" \
	"j_fail == 1 && j_pass == n_pass - 1" "^not ok - $debug_k/kunit: qemu-vfio-pci-stream: refusals: header version 1\$"

ktap ok | sed 's/^    ok 3 impossible_state$/& # SKIP no reason/' >"$work/kunit-skip.ktap"
d=$(kunit_run kunit-skip "$work/kunit-skip.ktap")
j_kver=$debug_k judge kunit-skip "$d" 0
expect kunit-skip "a skipped KUnit case is an unexpected SKIP" \
	"j_fail == 1 && j_skip == 0" "qemu-vfio-pci-stream: impossible_state # unexpected SKIP: no reason"

ktap ok | sed '/^ok 1 qemu-vfio-pci-stream$/q' >"$work/kunit-one-suite.ktap"
d=$(kunit_run kunit-one-suite "$work/kunit-one-suite.ktap")
j_kver=$debug_k judge kunit-one-suite "$d" 0
expect kunit-one-suite "a KUnit suite missing from the KTAP is a failure" \
	"j_fail == 1" "^not ok - $debug_k/kunit: qemu-vfio-pci-dirty # no result"

# Another driver's deviation from the uAPI (scripts/expected-deviations):
# mtty answers read() at PRE_COPY's temporary end of stream with 0.
# spoil_case NAME SUITE CASE RES: in the run NAME, SUITE's
# migration_conformance gets one more case, CASE, with RES ("ok" or "not
# ok"), and the runner's verdict on the program follows it.
spoil_case()
{
	local d=$1 suite=$2 case=$3 res=$4
	sed -i "/# suite: $suite\$/,/# suite-end/{
		s/^# ok 1 migration_conformance.works\$/&\n# $res 2 $case/
		s/^# 1..1\$/# 1..2/
	}" "$d/selftests.tap"
	[ "$res" = ok ] ||
		sed -i "/# suite: $suite\$/,/# suite-end/s/^\(ok \([0-9]*\) selftests: vfio: migration_conformance\)\$/not \1 # exit=1/" \
			"$d/selftests.tap"
}

d=$(fake_run deviation)
spoil_case "$d" mtty mig.precopy_enomsg "not ok"
judge deviation "$d" 0
expect deviation "a failure that scripts/expected-deviations lists is an expected failure" \
	"j_fail == 0 && j_xfail == 1 && j_skip == 0" \
	'^not ok - 6.12.0-fake/mtty: migration_conformance: mig.precopy_enomsg # TODO expected failure: the driver breaks "When read\(\) is done on this temporary end of stream'
expect deviation "the summary lists the expected failure" \
	"j_xfail == 1" 'expected failures \(scripts/expected-deviations'
d=$(fake_run deviation-passes)
spoil_case "$d" mtty mig.precopy_enomsg ok
judge deviation-passes "$d" 0
expect deviation-passes "a listed deviation that passes fails: the list is out of date" \
	"j_fail == 1 && j_xfail == 0" \
	'^not ok - 6.12.0-fake/mtty: migration_conformance: mig.precopy_enomsg # scripts/expected-deviations lists it as a deviation .*but it passed: the list is out of date'
d=$(fake_run deviation-unlisted)
spoil_case "$d" mtty mig.feature_query "not ok"
judge deviation-unlisted "$d" 0
expect deviation-unlisted "a failure that scripts/expected-deviations does not list fails" \
	"j_fail == 1 && j_xfail == 0" '^not ok - 6.12.0-fake/mtty: migration_conformance: mig.feature_query$'
# Our driver is held to the uAPI: mtty's deviation in our own suite fails.
d=$(fake_run deviation-elsewhere)
spoil_case "$d" edu mig.precopy_enomsg "not ok"
judge deviation-elsewhere "$d" 0
expect deviation-elsewhere "a listed deviation in another suite (ours) fails" \
	"j_fail == 1 && j_xfail == 0" '^not ok - 6.12.0-fake/edu: migration_conformance: mig.precopy_enomsg$'

# The manifests themselves: every expected skip says why it is expected,
# and every suite names its programs.
bad=$(manifest_lines "$QVP_EXPECTED_SKIPS" | awk -F'|' 'NF != 3 || $1 ~ /^[[:blank:]]*$/ || $2 ~ /^[[:blank:]]*$/ || $3 !~ /[[:alpha:]]/')
if [ -z "$bad" ] && manifest_lines "$QVP_EXPECTED_SKIPS" | grep -q .; then
	tap ok "every line of scripts/expected-skips is TEST | REASON | WHY"
else
	tap "not ok" "every line of scripts/expected-skips is TEST | REASON | WHY (bad: ${bad:-the file is empty})"
fi
bad=$(manifest_lines "$QVP_EXPECTED_DEVIATIONS" | awk -F'|' 'NF != 3 || $1 ~ /^[[:blank:]]*$/ || $2 !~ /[[:alpha:]]/ || $3 !~ /[[:alpha:]]/')
if [ -z "$bad" ]; then
	tap ok "every line of scripts/expected-deviations is TEST | SENTENCE | EVIDENCE"
else
	tap "not ok" "every line of scripts/expected-deviations is TEST | SENTENCE | EVIDENCE (bad: $bad)"
fi
# Each SENTENCE is the uAPI's, word for word: the comments of vfio.h
# with their "*" and line breaks taken out hold it.
uapi=${QVP_UAPI_VFIO_H:-}
if [ -z "$uapi" ]; then
	uapi=$(ls -d "$QVP_CACHE"/rootfs-*/usr/src/linux-headers-*-common/include/uapi/linux/vfio.h 2>/dev/null |
		sort -V | tail -n 1)
	[ -n "$uapi" ] || uapi=/usr/include/linux/vfio.h
fi
if [ ! -r "$uapi" ]; then
	tap "not ok" "the sentences of scripts/expected-deviations are vfio.h's (no vfio.h: set QVP_UAPI_VFIO_H)"
else
	text=$(sed -e 's/^[[:blank:]]*\/\?\*\/\?//' "$uapi" | tr -s '[:space:]' ' ')
	bad=
	while IFS='|' read -r _ sentence _; do
		trim sentence
		[[ $text == *"$sentence"* ]] || bad+="${bad:+; }$sentence"
	done < <(manifest_lines "$QVP_EXPECTED_DEVIATIONS")
	if [ -z "$bad" ]; then
		tap ok "the sentences of scripts/expected-deviations are in $uapi"
	else
		tap "not ok" "the sentences of scripts/expected-deviations are in $uapi (not found: $bad)"
	fi
fi
bad=$(manifest_lines "$QVP_EXPECTED_SUITES" | awk 'NF < 2 || $1 !~ /^([A-Za-z0-9.-]+(@[^@]+)?|@[^@]+)$/')
if [ -z "$bad" ]; then
	tap ok "every line of scripts/expected-suites is SUITE[@KERNELS] PROGRAM... or @KERNELS SUITE..."
else
	tap "not ok" "every line of scripts/expected-suites is SUITE[@KERNELS] PROGRAM... or @KERNELS SUITE... (bad: $bad)"
fi
# Each KERNELS glob matches a kernel of the matrix: a typo (or an
# unbalanced !(...)) would match none, and silently take its suite out.
bad=
while read -r f _; do
	[[ $f == *@* ]] || continue
	g=${f#*@}
	ok=
	for k in "$debian" 7.3.4+deb13-amd64 "$debug" "$debug/vm2" "$iommufd"; do
		# shellcheck disable=SC2053	# a glob on purpose
		[[ $k == $g ]] && ok=1
	done
	[ -n "$ok" ] || bad+="$f "
done < <(manifest_lines "$QVP_EXPECTED_SUITES")
if [ -z "$bad" ]; then
	tap ok "every KERNELS glob of scripts/expected-suites matches a kernel of the matrix"
else
	tap "not ok" "every KERNELS glob of scripts/expected-suites matches a kernel of the matrix (none for: $bad)"
fi
# Each suite of a partial lane has a line of its own (its programs).
bad=$(manifest_lines "$QVP_EXPECTED_SUITES" | awk '
	$1 ~ /^@/ { for (i = 2; i <= NF; i++) named[$i] = 1; next }
	{ sub(/@.*/, "", $1); have[$1] = 1 }
	END { for (s in named) if (!(s in have)) printf "%s ", s }')
if [ -z "$bad" ]; then
	tap ok "every suite of a partial lane (@KERNELS SUITE...) has its own line in scripts/expected-suites"
else
	tap "not ok" "every suite of a partial lane (@KERNELS SUITE...) has its own line in scripts/expected-suites (not: $bad)"
fi

echo "1..$n"
[ "$failed" -eq 0 ] && rm -rf "$work"
exit $((failed > 0))
