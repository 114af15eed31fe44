#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Test of make check's counting (scripts/verdict.sh), run by make check:
# fake VM runs (console log, TAP, dmesg, guest status and vm.sh's exit
# status, as a real boot leaves them) go through the very functions that
# check.sh uses, against the real manifests (scripts/expected-suites,
# scripts/expected-skips), and each verdict is checked.  Needs no VM and
# no root.  Prints TAP.
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

# good_tap FILE: the TAP of a run in which everything passed: every suite
# and program of scripts/expected-suites, each with one passing case.
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
	done < <(manifest_lines "$QVP_EXPECTED_SUITES") >"$1"
}

# fake_run NAME: a directory holding a clean run, to be spoilt by a case.
fake_run()
{
	local d=$work/$1
	rm -rf "$d"
	mkdir -p "$d"
	good_tap "$d/selftests.tap"
	printf '%s\n' "Linux version 6.12.0 (fake)" "[guest] kernel 6.12.0" >"$d/console.log"
	echo "[    0.000000] Linux version 6.12.0 (fake)" >"$d/dmesg.txt"
	echo done >"$d/guest.status"
	echo "$d"
}

# judge NAME DIR RC [LABEL2 DIR2 RC2]: count DIR like check.sh does (and
# DIR2 as a second boot when the first froze); sets j_pass, j_fail,
# j_skip, j_froze and leaves the printed lines in $work/NAME.out.
judge()
{
	local name=$1 dir=$2 rc=$3
	verdict_init
	{
		judge_vm_run 6.12.0-fake "$dir" "$rc"
		j_froze=$?
		if [ "$j_froze" -eq 2 ] && [ $# -ge 5 ]; then
			judge_vm_run "6.12.0-fake/$4" "$5" "${6:-0}"
		fi
	} >"$work/$name.out" 2>&1
	j_pass=$pass j_fail=$fail j_skip=$skip
}

# expect NAME WHAT COND GREP: COND (an arithmetic test on j_*) holds, and
# the printed lines match the extended regular expression GREP.
expect()
{
	local name=$1 what=$2 cond=$3 re=$4
	if (($cond)) && grep -Eq -- "$re" "$work/$name.out"; then
		tap ok "$what"
	else
		tap "not ok" "$what (passed $j_pass, failed $j_fail, skipped $j_skip; wanted $cond and /$re/; output: $work/$name.out)"
		sed 's/^/# /' "$work/$name.out" | grep -v '^# ok ' | head -n 20
	fi
}

echo "1..19"

d=$(fake_run clean)
judge clean "$d" 0
expect clean "a clean run passes: no failure, no skip" \
	"j_fail == 0 && j_skip == 0 && j_pass > 10" '^ok - 6.12.0-fake: guest test script completed'

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

d=$(fake_run missing-suite)
sed -i '/# suite: ivshmem-1G/,/# suite-end: ivshmem-1G/d' "$d/selftests.tap"
judge missing-suite "$d" 0
expect missing-suite "a missing suite is a failure" \
	"j_fail == 1" '^not ok - 6.12.0-fake: suite ivshmem-1G ran # not in .*scripts/expected-suites expects it'

d=$(fake_run missing-program)
sed -i '/# selftests: vfio: migration_races/,/selftests: vfio: migration_races$/d' "$d/selftests.tap"
judge missing-program "$d" 0
expect missing-program "a program without a result is a failure" \
	"j_fail == 2" '^not ok - 6.12.0-fake/(edu|ivshmem-64M): migration_races # no result'

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
	"j_fail == 2" 'migration_races # program failed without a failed case: exit=139'

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

# The manifests themselves: every expected skip says why it is expected,
# and every suite names its programs.
bad=$(manifest_lines "$QVP_EXPECTED_SKIPS" | awk -F'|' 'NF != 3 || $1 ~ /^[[:blank:]]*$/ || $2 ~ /^[[:blank:]]*$/ || $3 !~ /[[:alpha:]]/')
if [ -z "$bad" ] && manifest_lines "$QVP_EXPECTED_SKIPS" | grep -q .; then
	tap ok "every line of scripts/expected-skips is TEST | REASON | WHY"
else
	tap "not ok" "every line of scripts/expected-skips is TEST | REASON | WHY (bad: ${bad:-the file is empty})"
fi
bad=$(manifest_lines "$QVP_EXPECTED_SUITES" | awk 'NF < 2')
if [ -z "$bad" ]; then
	tap ok "every line of scripts/expected-suites is SUITE PROGRAM..."
else
	tap "not ok" "every line of scripts/expected-suites is SUITE PROGRAM... (bad: $bad)"
fi

[ "$failed" -eq 0 ] && rm -rf "$work"
exit $((failed > 0))
