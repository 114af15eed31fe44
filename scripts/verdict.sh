# SPDX-License-Identifier: GPL-2.0
#
# How make check counts: the one place that turns what a step left behind
# into "ok", "not ok" and "# SKIP" lines and the final tally.  Sourced by
# check.sh, and by verdict-test.sh, which feeds it fake VM runs and checks
# the verdicts.  Source lib.sh first.  Rules (the testing guide has them
# in prose):
#
#  - A SKIP is a skip only when scripts/expected-skips lists it (test and
#    reason), with the fact that makes it expected.  Any other SKIP is a
#    failure that names the manifest.
#  - A failed test is an expected failure only when
#    scripts/expected-deviations lists it, with the sentence of the uAPI
#    that the driver under test (not ours: mtty) breaks and the evidence.
#    A listed test that passes is a failure: the list is out of date.
#    Any other failure is a failure.
#  - Every suite of scripts/expected-suites for the run's lane (its
#    kernel's VM, or one of its two VMs) must have begun and ended in the
#    TAP of a VM run, with a result line for each of its programs; a
#    missing suite or program, or a runner that ended early, is a
#    failure; so is a suite that ran but is not expected of the lane.  A
#    kernel of a partial lane ("@KERNELS SUITE..." there) must run exactly
#    the suites that line names, each as strictly, between its VMs; a
#    kernel split between two VMs ("@KERNELS/vmN SUITE...") runs those
#    suites in the second and every other one in the first, and in both
#    those of the suites that judge the VM itself (vm_suites) it has.
#  - A VM run that timed out, stalled, panicked or vanished is a failure
#    of that run.  Its TAP and its kernel log are still counted.
#  - Oops, WARN, BUG, KASAN, UBSAN, lockdep, kmemleak, hung-task and
#    similar lines in the guest's console or dmesg are a failure.
#  - A boot that vm.sh gave kmemleak=on (its console.kmemleak says "on")
#    and whose guest script finished must have run both of guest-run.sh's
#    kmemleak checks (setup's mark, teardown's scans); a kernel of
#    ours (*-qvp-debug) asked to boot with it that could not ("none")
#    fails.

QVP_EXPECTED_SKIPS=${QVP_EXPECTED_SKIPS:-$here/expected-skips}
QVP_EXPECTED_SUITES=${QVP_EXPECTED_SUITES:-$here/expected-suites}
QVP_EXPECTED_DEVIATIONS=${QVP_EXPECTED_DEVIATIONS:-$here/expected-deviations}

verdict_init()
{
	pass=0 fail=0 skip=0 xfail=0
	km_boots=0
	failures=() deviations=()
	unset sum_pass sum_fail sum_skip sum_xfail
	declare -gA sum_pass sum_fail sum_skip sum_xfail
	summary_keys=()
}

# trim VAR: strip the blanks around $VAR.
trim()
{
	local -n v=$1
	v=${v#"${v%%[![:blank:]]*}"}
	v=${v%"${v##*[![:blank:]]}"}
}

# manifest_lines FILE: FILE without comments and blank lines.
manifest_lines()
{
	sed -e 's/^[[:blank:]]*#.*//' -e '/^[[:blank:]]*$/d' "$1"
}

# A lane is one VM of make check's matrix: KVER, the kernel's first (or
# only) VM, or KVER/vmN, a further VM of the same kernel that runs beside
# the first.  A line "@KERNELS/vmN SUITE..." of scripts/expected-suites
# splits each kernel that KERNELS matches into two VMs: KVER/vmN runs
# those suites, and KVER runs every other suite of the kernel (of its
# partial lane, if it has one), with the VM suites it has (vm_suites).
# A line "@KERNELS SUITE..." (no "/") makes the kernel's VM a partial
# lane.

# vm_suites: the suites that judge a VM, not a device: setup and
# teardown (the module, the bindings, kmemleak), which every boot runs,
# and lockdep (the lock graph of that boot's kernel).  Each VM of a split
# kernel runs those of them that the kernel has, whether or not the
# second VM's line names them.
vm_suites="setup lockdep teardown"

# kernel_lanes KVER: the lanes of kernel KVER, one a line: KVER, then
# KVER/vmN for each "@KERNELS/vmN" line whose bash glob matches it.
kernel_lanes()
{
	local kver=$1 s rest n
	local -A have=()
	echo "$kver"
	while read -r s rest; do
		[[ $s == @*/* ]] || continue
		n=${s##*/}
		# shellcheck disable=SC2053	# a glob on purpose
		[[ $kver/$n == ${s#@} ]] && [ -z "${have[$n]:-}" ] || continue
		have[$n]=1
		echo "$kver/$n"
	done < <(manifest_lines "$QVP_EXPECTED_SUITES")
}

# kernel_suites KVER: every suite that kernel KVER's lanes run between
# them, "SUITE PROGRAM..." a line: the lines of scripts/expected-suites
# without "@KERNELS", and those "SUITE@KERNELS ..." whose bash glob
# KERNELS matches KVER, without it.
kernel_suites()
{
	local kver=$1 s progs
	while read -r s progs; do
		[[ $s != @* ]] || continue
		if [[ $s == *@* ]]; then
			# shellcheck disable=SC2053	# a glob on purpose
			[[ $kver == ${s#*@} ]] || continue
			s=${s%%@*}
		fi
		echo "$s $progs"
	done < <(manifest_lines "$QVP_EXPECTED_SUITES")
}

# only_suites LANE: the only suites that the boots of LANE run, on one
# line, or nothing when they run every suite of the kernel.  A kernel's
# list: the suites of the "@KERNELS SUITE..." lines whose KERNELS
# matches it (a partial lane, such as the iommufd kernel's), or when
# none does, every suite of the kernel.  For KVER: that list, or if the
# kernel has further lanes, those of it that no further lane names, and
# its vm_suites.  For KVER/vmN: those of the list that the
# "@KERNELS/vmN SUITE..." lines matching it name, and its vm_suites,
# which the line need not name; a suite the line names that the list
# lacks is kept too: the lane must run it (and if no line of the
# manifest gives the kernel that suite, its runs fail).
only_suites()
{
	local lane=$1 kver=${1%%/*} s rest partial='' mine='' others='' list out=''
	while read -r s rest; do
		[[ $s == @* ]] || continue
		# shellcheck disable=SC2053	# globs on purpose
		if [[ $s == @*/* ]]; then
			[[ $lane != "$kver" && $lane == ${s#@} ]] && mine+=" $rest"
			[[ $kver/${s##*/} == ${s#@} ]] && others+=" $rest"
		elif [[ $kver == ${s#@} ]]; then
			partial+=" $rest"
		fi
	done < <(manifest_lines "$QVP_EXPECTED_SUITES")
	if [[ $lane == "$kver" && -z $others ]]; then
		# shellcheck disable=SC2086	# a list of suites, one line
		echo $partial
		return
	fi
	list=$partial
	[ -n "$list" ] || list=$(kernel_suites "$kver" | while read -r s rest; do echo "$s"; done)
	for s in $list; do
		[[ " $out " != *" $s "* ]] || continue
		if [[ " $vm_suites " == *" $s "* ]]; then
			out+=" $s"
		elif [[ $lane == "$kver" ]]; then
			[[ " $others " == *" $s "* ]] || out+=" $s"
		else
			[[ " $mine " != *" $s "* ]] || out+=" $s"
		fi
	done
	for s in $mine; do
		[[ " $out " == *" $s "* ]] || out+=" $s"
	done
	# shellcheck disable=SC2086	# a list of suites, one line
	echo $out
}

# expected_suites LANE: the suites that every boot of LANE must run,
# "SUITE PROGRAM..." a line: those of its kernel (kernel_suites), or for
# a lane that runs only some (only_suites), those; one of them that no
# line gives the kernel is expected all the same, without programs, so
# that the run fails unless it has it: a lane cannot lose a suite
# quietly.
expected_suites()
{
	local lane=$1 s progs only
	local -A have=()
	only=$(only_suites "$lane")
	while read -r s progs; do
		[ -z "$only" ] || [[ " $only " == *" $s "* ]] || continue
		have[$s]=1
		echo "$s $progs"
	done < <(kernel_suites "${lane%%/*}")
	for s in $only; do
		[ -n "${have[$s]:-}" ] || echo "$s"
	done
}

# expected_skip "GROUP: NAME" REASON: true when scripts/expected-skips
# lists this skip.  Each line is "TEST | REASON | WHY", TEST and REASON
# bash glob patterns matched against the whole text.
expected_skip()
{
	local what=$1 reason=$2 pat rpat why
	[ -r "$QVP_EXPECTED_SKIPS" ] || return 1
	while IFS='|' read -r pat rpat why; do
		trim pat
		trim rpat
		# shellcheck disable=SC2053	# globs on purpose
		[[ $what == $pat && $reason == $rpat ]] && return 0
	done < <(manifest_lines "$QVP_EXPECTED_SKIPS")
	return 1
}

# expected_deviation "GROUP: NAME": print the uAPI sentence that
# scripts/expected-deviations says this test's failure shows broken; false
# when the test is not listed.  Each line is "TEST | SENTENCE | EVIDENCE",
# TEST a bash glob matched against the whole text.
expected_deviation()
{
	local what=$1 pat sentence why
	[ -r "$QVP_EXPECTED_DEVIATIONS" ] || return 1
	while IFS='|' read -r pat sentence why; do
		trim pat
		trim sentence
		# shellcheck disable=SC2053	# globs on purpose
		[[ $what == $pat ]] && { echo "$sentence"; return 0; }
	done < <(manifest_lines "$QVP_EXPECTED_DEVIATIONS")
	return 1
}

# record GROUP ok|fail|skip NAME [DETAIL]
record()
{
	local group=$1 res=$2 name=$3 detail=${4:-} sentence
	local devs=${QVP_EXPECTED_DEVIATIONS#"${repo:-}"/}
	if [ -z "${sum_pass[$group]+x}" ]; then
		sum_pass[$group]=0 sum_fail[$group]=0 sum_skip[$group]=0
		sum_xfail[$group]=0
		summary_keys+=("$group")
	fi
	if [ "$res" = skip ] && ! expected_skip "$group: $name" "$detail"; then
		res=fail
		detail="unexpected SKIP: ${detail:-no reason given}; a skip counts only when ${QVP_EXPECTED_SKIPS#"${repo:-}"/} lists it, so fix the cause, or add it there with the fact behind it"
	elif [ "$res" != skip ] && sentence=$(expected_deviation "$group: $name"); then
		if [ "$res" = ok ]; then
			res=fail
			detail="$devs lists it as a deviation of the driver from the uAPI (\"$sentence\"), but it passed: the list is out of date, remove the line (or the test no longer sees the deviation: find out why)"
		else
			res=xfail
			detail="expected failure: the driver breaks \"$sentence\" ($devs)"
		fi
	fi
	case $res in
	ok)
		pass=$((pass + 1)); sum_pass[$group]=$((sum_pass[$group] + 1))
		echo "ok - $group: $name" ;;
	skip)
		skip=$((skip + 1)); sum_skip[$group]=$((sum_skip[$group] + 1))
		echo "ok - $group: $name # SKIP $detail" ;;
	xfail)
		# TAP's TODO: a failure that is expected, not counted as one
		xfail=$((xfail + 1)); sum_xfail[$group]=$((sum_xfail[$group] + 1))
		deviations+=("$group: $name")
		echo "not ok - $group: $name # TODO $detail" ;;
	*)
		fail=$((fail + 1)); sum_fail[$group]=$((sum_fail[$group] + 1))
		failures+=("$group: $name${detail:+ ($detail)}")
		echo "not ok - $group: $name${detail:+ # $detail}" ;;
	esac
}

# record_tap GROUP FILE RC WHAT: one result of GROUP per TAP line of FILE
# (a plain TAP producer: host tests, vm-watchdog-test.sh); a non-zero RC,
# the exit status of WHAT that wrote FILE, shows FILE's tail and is one
# more failure, and so is a FILE without a single result.
record_tap()
{
	local group=$1 file=$2 rc=$3 what=$4 line n=0
	while read -r line; do
		case $line in
		"ok "*"# SKIP"*)
			line=${line#ok }
			record "$group" skip "${line%% # SKIP*}" "${line#* # SKIP }" ;;
		"ok "*) record "$group" ok "${line#ok }" ;;
		"not ok "*) record "$group" fail "${line#not ok }" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done <"$file"
	if [ "$rc" -ne 0 ]; then
		sed 's/^/# /' "$file" | tail -n 40
		record "$group" fail "$what exit status $rc"
	elif [ "$n" -eq 0 ]; then
		sed 's/^/# /' "$file" | tail -n 40
		record "$group" fail "$what printed results" "no TAP result in $file"
	fi
}

# vm_timeout_by TIMEOUT START DEADLINE NOW: the timeout of a VM started
# at NOW (seconds since the epoch) in a make check that began at START:
# TIMEOUT, or less so that the VM is over DEADLINE seconds after START
# with a minute to spare for the summary (QVP_DEADLINE; empty: none);
# never less than 60.
vm_timeout_by()
{
	local t=$1 left
	if [ -n "$3" ]; then
		left=$(($2 + $3 - 60 - $4))
		[ "$left" -ge 60 ] || left=60
		[ "$left" -ge "$t" ] || t=$left
	fi
	echo "$t"
}

# scan_log FILE...: the lines of a kernel report.  kmemleak's leaks are
# in its report, which the teardown suite checks, counting only the
# objects allocated since the setup suite's mark (a scan's "N new
# suspected memory leaks" line is not scanned for: the teardown scans
# find what boot left too, which does not count; and "unreferenced
# object" lines appear in the log only with kmemleak.verbose=1, which
# make check does not set); here only its running out of
# memory for its own records, after which it stops tracking ("Cannot
# allocate a scan area" is not that: the fault injection suites provoke
# it, and kmemleak then scans the whole object, as it should).  Lockdep's reports
# carry WARNING: or BUG: with a call trace, except "INFO: trying to
# register non-static key"; it says "turning off the locking correctness
# validator" when a table is full (a KERN_DEBUG line: dmesg.txt has it),
# and a taint that makes it unreliable "Disabling lock debugging".  Not
# the bare word: a lockdep kernel prints "RCU lockdep checking is
# enabled" at boot, and vm.sh's command line names lockdep.prove_locking.
scan_log()
{
	grep -E -n 'WARNING:|BUG:|Oops|Kernel panic|general protection fault|Call Trace:|possible circular locking|lockdep is turned off|locking correctness validator|non-static key|Disabling lock debugging|UBSAN:|KASAN|unreferenced object|kmemleak: Memory pool empty|kmemleak: Cannot allocate a kmemleak_object|kernel BUG|RIP: |nobody cared|hung_task|soft lockup|detected stall' "$@"
}

# judge_vm_run LABEL DIR RC [LANE]: count one boot of the test VM of
# LANE (a kernel, or KVER/vmN: see only_suites; default: LABEL up to its
# first "/").  DIR holds what
# guest-run.sh and vm.sh left: console.log, selftests.tap, dmesg.txt,
# guest.status; RC is vm.sh's exit status.  Results go to groups LABEL and
# LABEL/SUITE.  Returns 2 when the VM froze or vanished (a second boot may
# help a person see whether it repeats), else 0.
judge_vm_run()
{
	local label=$1 dir=$2 rc=$3 lane=${4:-${1%%/*}} ret=0
	local log=$dir/console.log tap=$dir/selftests.tap
	local kind suite a b c d e s p progs
	local -A began=() ended=() seen=()

	touch "$log"
	if [ "$rc" -eq 124 ]; then
		record "$label" fail "VM finished in time" "timed out; console log: $log"
	elif [ "$rc" -eq 123 ] && grep -q '^vm.sh: guest stalled' "$log"; then
		# A driver deadlock looks the same as a frozen TCG: never a skip.
		record "$label" fail "VM finished in time" "the guest stalled (no heartbeat for ${QVP_VM_STALL:-240}s); QEMU's view of the vCPUs is at the end of $log"
		ret=2
	elif grep -q 'Kernel panic' "$log"; then
		record "$label" fail "VM ran without kernel panic" "guest panicked; console log: $log"
	elif [ ! -f "$dir/guest.status" ]; then
		if [ "$rc" -eq 255 ]; then
			record "$label" fail "guest test script completed" "QEMU ended (status 255) before the guest script finished; console log: $log"
			ret=2
		else
			record "$label" fail "guest test script completed" "exit status $rc; console log: $log"
		fi
	else
		record "$label" ok "guest test script completed"
	fi

	local logs=("$log")
	[ -f "$dir/dmesg.txt" ] && logs+=("$dir/dmesg.txt")
	if scan_log "${logs[@]}" >"$dir/splats.txt"; then
		sed 's/^/# /' "$dir/splats.txt" | head -n 40
		record "$label" fail "guest log free of oops/WARN/lockdep" "see $dir/splats.txt"
	else
		record "$label" ok "guest log free of oops/WARN/lockdep"
	fi

	[ -f "$tap" ] || : >"$tap"
	# kmemleak: vm.sh's decision for this boot (see the header)
	local km chk
	km=$(cat "${log%.log}.kmemleak" 2>/dev/null)
	# (a boot whose guest script did not finish has failed already; its
	# scans are not asked for again)
	if [ "$km" = on ] && [ -f "$dir/guest.status" ]; then
		km_boots=$((km_boots + 1))
		for chk in "kmemleak is on; leaks count from here on" "kmemleak finds no leak"; do
			grep -qE "^# (not )?ok [0-9]+ $chk" "$tap" ||
				record "$label" fail "$chk (the check ran)" "booted with kmemleak=on, but $tap has no result of it"
		done
	elif [ "$km" = none ] && [[ $lane == *-qvp-debug* ]]; then
		record "$label" fail "booted with kmemleak=on" "kmemleak was asked for, but vm.sh found no CONFIG_DEBUG_KMEMLEAK=y in the kernel's build tree (vm.sh said so in make check's output)"
	fi

	while IFS='|' read -r kind suite a b c d e; do
		case $kind in
		begin) began[$suite]=1 ;;
		end) ended[$suite]=$a ;;
		case) record "$label/$suite" "$b" "$a" "$c" ;;
		prog)
			# a=PROG b=RES c=CASES d=FAILED e=DETAIL; cases
			# were counted one by one already.
			seen[$suite:$a]=1
			if [ "$b" = fail ] && [ "$d" -eq 0 ]; then
				record "$label/$suite" fail "$a" "program failed without a failed case: ${e:-no reason}"
			elif [ "$b" = skip ] && [ "$c" -eq 0 ]; then
				record "$label/$suite" skip "$a" "$e"
			elif [ "$c" -eq 0 ]; then
				record "$label/$suite" "$b" "$a" "$e"
			fi ;;
		esac
	done < <(awk -f "$here/tap-count.awk" "$tap")

	local -A want=()
	while read -r s progs; do
		want[$s]=1
		if [ -z "${began[$s]:-}" ]; then
			record "$label" fail "suite $s ran" "not in $tap (${QVP_EXPECTED_SUITES#"${repo:-}"/} expects it)"
			continue
		fi
		if [ -z "${ended[$s]:-}" ]; then
			record "$label" fail "suite $s ran to its end" "the runner stopped early; see $tap"
		elif [ "${ended[$s]}" != 0 ]; then
			record "$label" fail "suite $s ran to its end" "the runner's exit status was ${ended[$s]}; see $tap"
		fi
		for p in $progs; do
			[ -n "${seen[$s:$p]:-}" ] ||
				record "$label/$s" fail "$p" "no result: the program did not run, or the runner ended before it (${QVP_EXPECTED_SUITES#"${repo:-}"/} expects it)"
		done
	done < <(expected_suites "$lane")
	# and no other: a suite that ran where it is not expected is a
	# lane of the matrix that the manifest does not describe.
	for s in "${!began[@]}"; do
		[ -n "${want[$s]:-}" ] ||
			record "$label" fail "suite $s is expected of $lane" "it ran, but ${QVP_EXPECTED_SUITES#"${repo:-}"/} does not expect it of this kernel's VM"
	done
	return $ret
}

# print_summary: the per-group table, the failures and the last line.
print_summary()
{
	local g
	for g in "${summary_keys[@]}"; do
		printf '  %-48s %4d passed, %d failed, %d skipped%s\n' "$g" \
			"${sum_pass[$g]}" "${sum_fail[$g]}" "${sum_skip[$g]}" \
			"$( [ "${sum_xfail[$g]}" -eq 0 ] || echo ", ${sum_xfail[$g]} expected failures")"
	done
	if [ "${#deviations[@]}" -gt 0 ]; then
		echo "  expected failures (${QVP_EXPECTED_DEVIATIONS#"${repo:-}"/}: another driver's deviations from the uAPI):"
		printf '    %s\n' "${deviations[@]}"
	fi
	if [ "${#failures[@]}" -gt 0 ]; then
		echo "  failed:"
		printf '    %s\n' "${failures[@]}"
	fi
}
