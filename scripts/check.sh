#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of the project, on every kernel of the matrix.
#
#  1. the cached Debian trixie root filesystem (scripts/mkrootfs.sh)
#  2. host-side unit tests (userspace builds of the pure-C parts)
#  3. per kernel: build the module (W=1, sparse C=1) and the selftests
#  4. checkpatch --strict on our sources
#  5. per kernel: boot it under QEMU (TCG) with the test devices, run the
#     kselftests with the kselftest runner, scan the guest log for oopses,
#     WARNs and lockdep reports
#  6. make demo, which must migrate and exit 0
#
# Prints TAP for everything, a summary per kernel and suite, and last
# "N passed, N failed, N skipped".  Exits non-zero on any failure.
#
# Environment: QVP_CACHE (cache dir), QVP_KERNELS (space-separated subset of
# kernel versions to test), QVP_VM_TIMEOUT (seconds per VM, default 1500).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

out=$repo/out
mkdir -p "$out"
vm_timeout=${QVP_VM_TIMEOUT:-1500}
vm_stall=${QVP_VM_STALL:-240}
start=$(date +%s)

pass=0 fail=0 skip=0
failures=()
declare -A sum_pass sum_fail sum_skip
summary_keys=()

# record GROUP ok|fail|skip NAME [DETAIL]
record()
{
	local group=$1 res=$2 name=$3 detail=${4:-}
	if [ -z "${sum_pass[$group]+x}" ]; then
		sum_pass[$group]=0 sum_fail[$group]=0 sum_skip[$group]=0
		summary_keys+=("$group")
	fi
	case $res in
	ok)
		pass=$((pass + 1)); sum_pass[$group]=$((sum_pass[$group] + 1))
		echo "ok - $group: $name" ;;
	skip)
		skip=$((skip + 1)); sum_skip[$group]=$((sum_skip[$group] + 1))
		echo "ok - $group: $name # SKIP $detail" ;;
	*)
		fail=$((fail + 1)); sum_fail[$group]=$((sum_fail[$group] + 1))
		failures+=("$group: $name${detail:+ ($detail)}")
		echo "not ok - $group: $name${detail:+ # $detail}" ;;
	esac
}

# record_tap GROUP FILE RC WHAT: one result of GROUP per TAP line of FILE;
# a non-zero RC, the exit status of WHAT that wrote FILE, shows FILE's
# tail and is one more failure.
record_tap()
{
	local group=$1 file=$2 rc=$3 what=$4 line
	while read -r line; do
		case $line in
		"ok "*"# SKIP"*) record "$group" skip "${line#ok }" ;;
		"ok "*) record "$group" ok "${line#ok }" ;;
		"not ok "*) record "$group" fail "${line#not ok }" ;;
		esac
	done <"$file"
	if [ "$rc" -ne 0 ]; then
		sed 's/^/# /' "$file" | tail -n 40
		record "$group" fail "$what exit status $rc"
	fi
}

elapsed() { echo "$(($(date +%s) - start))s"; }

need_root

# 1. root filesystem --------------------------------------------------------
step "[$(elapsed)] test root filesystem"
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem; see the messages above"
kernels=${QVP_KERNELS:-$(rootfs_kernels "$rootfs" | paste -sd' ' -)}
[ -n "$kernels" ] || die "no kernel in $rootfs/boot"
step "kernels: $kernels"

# 2. host tests -------------------------------------------------------------
step "[$(elapsed)] host unit tests (userspace build of the stream code)"
if make -s -C "$repo/tools/testing/stream" O="$out/host" >"$out/host-build.log" 2>&1; then
	"$out/host/stream_test" >"$out/host-tests.tap" 2>&1
	record_tap host "$out/host-tests.tap" $? stream_test
else
	cat "$out/host-build.log"
	record host fail "build of host tests" "see $out/host-build.log"
fi

step "[$(elapsed)] host tests of vfio-mig (no device needed)"
make -s -C "$repo/tools/vfio-mig" check O="$out/host/vfio-mig" >"$out/host-vfio-mig.tap" 2>&1
record_tap host/vfio-mig "$out/host-vfio-mig.tap" $? "make -C tools/vfio-mig check"

# 3. builds -------------------------------------------------------------------
for k in $kernels; do
	ko=$out/$k
	rm -rf "$ko"
	mkdir -p "$ko"

	step "[$(elapsed)] $k: build qemu-vfio-pci.ko (W=1 C=1)"
	build_module "$rootfs" "$repo" "$k"
	rc=$?
	if [ $rc -ne 0 ] || [ ! -f "$ko/mod/qemu-vfio-pci.ko" ]; then
		tail -n 30 "$ko/build.log"
		record "$k" fail "build module" "see $ko/build.log"
	elif grep -E 'warning:|error:' "$ko/build.log" | grep -v 'C=1 specified'; then
		record "$k" fail "build module without warnings" "see $ko/build.log"
	else
		record "$k" ok "build module (W=1)"
		if grep -q 'C=1 specified, but sparse is not available' "$ko/build.log"; then
			record "$k" skip "sparse (C=1)" "Debian's headers for this kernel lack scripts/checker-valid.sh, and the kernel needs a sparse with __typeof_unqual__ (Debian ships 0.6.4)"
		else
			record "$k" ok "sparse (C=1) clean"
		fi
	fi

	for t in selftests:tools/testing/selftests/vfio/migration \
		vfio-mig-selftests:tools/testing/selftests/vfio/vfio-mig; do
		name=${t%%:*} dir=${t#*:}
		step "[$(elapsed)] $k: build $dir"
		if build_user "$rootfs" "$repo" "$k" "$name" "$dir" \
			KSFT_DIR=/opt/linux-src/tools/testing/selftests &&
			! grep -E 'warning:|error:' "$ko/$name-build.log"; then
			record "$k" ok "build $dir (-Wall -Wextra)"
		else
			tail -n 30 "$ko/$name-build.log"
			record "$k" fail "build $dir" "see $ko/$name-build.log"
		fi
	done
done

# 4. checkpatch -------------------------------------------------------------
step "[$(elapsed)] checkpatch --strict"
# Kernel code only: tools and selftests are userspace C.
srcs=$(cd "$repo" && find drivers include -name '*.[ch]' | sort)
for f in $srcs; do
	if in_rootfs "$rootfs" "$repo" perl /opt/linux-src/scripts/checkpatch.pl --strict \
		--no-tree --quiet --show-types --ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES \
		-f "/qvp/$f" >"$out/checkpatch.log" 2>&1; then
		record checkpatch ok "$f"
	else
		sed 's/^/# /' "$out/checkpatch.log"
		record checkpatch fail "$f"
	fi
done

# 5. the VMs ----------------------------------------------------------------
scan_log()
{
	grep -E -n 'WARNING:|BUG:|Oops|Kernel panic|general protection fault|Call Trace:|possible circular locking|lockdep|UBSAN:|kernel BUG|RIP: |nobody cared|hung_task|soft lockup' "$@"
}

for k in $kernels; do
	ko=$out/$k
	[ -f "$ko/mod/qemu-vfio-pci.ko" ] || { record "$k" fail "boot and run selftests" "module did not build"; continue; }
	for attempt in 1 2; do
		step "[$(elapsed)] $k: boot under QEMU (TCG) and run the selftests (console: $ko/console.log)"
		rm -f "$ko/guest.status" "$ko/selftests.tap" "$ko/dmesg.txt"
		in_rootfs "$rootfs" "$repo" env QVP_VM_STALL="$vm_stall" \
			QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
			/qvp/scripts/vm.sh "$k" "$vm_timeout" \
			"/qvp/out/$k/console.log" /qvp/scripts/guest-run.sh
		rc=$?
		# Under TCG the VM has been seen to vanish (QEMU ends with
		# vng status 255, neither a guest panic nor the guest script
		# finishing), sometimes after an RCU stall in which a halted
		# vCPU never takes an IPI, and to freeze as a whole (vm.sh's
		# heartbeat watchdog, status 123).  Keep that log and boot
		# once more; the summary reports the retry.
		[ "$attempt" = 1 ] || break
		if [ "$rc" -eq 123 ] && grep -q '^vm.sh: guest stalled' "$ko/console.log"; then
			why="the guest stalled (no heartbeat for ${vm_stall}s)"
		elif [ "$rc" -eq 255 ] && [ ! -f "$ko/guest.status" ] &&
			! grep -q 'Kernel panic' "$ko/console.log"; then
			why="QEMU vanished (status 255) without a guest panic"
		else
			break
		fi
		mv "$ko/console.log" "$ko/console.first-run.log"
		scan_log "$ko/console.first-run.log" | head -n 5 | sed 's/^/# /'
		grep -A 3 '^vm.sh: guest stalled' "$ko/console.first-run.log" | sed 's/^/# /'
		record "$k" skip "first VM run" "$why; log kept in $ko/console.first-run.log; retried once"
	done
	nfail=$fail
	if [ -f "$ko/selftests.tap" ]; then
		# Count the harness test cases; a program that failed without
		# a failed case (crash, timeout) counts as one failure.
		while IFS='|' read -r res name detail; do
			record "$k/${name%%:*}" "$res" "${name#*:}" "$detail"
		done < <(awk -f "$here/tap-count.awk" "$ko/selftests.tap")
	fi
	if [ "$fail" -ne "$nfail" ]; then
		step "$k: failing selftest output (whole TAP: $ko/selftests.tap)"
		grep -B 30 '^# not ok\|^not ok' "$ko/selftests.tap" | tail -n 80
	fi
	if [ "$rc" -eq 124 ]; then
		record "$k" fail "VM finished in time" "timed out after ${vm_timeout}s"
	elif [ "$rc" -eq 123 ] && grep -q '^vm.sh: guest stalled' "$ko/console.log"; then
		record "$k" fail "VM finished in time" "the guest stalled (no heartbeat for ${vm_stall}s)"
	elif grep -q 'Kernel panic' "$ko/console.log"; then
		record "$k" fail "VM ran without kernel panic" "guest panicked"
	elif [ ! -f "$ko/guest.status" ]; then
		record "$k" fail "guest test script completed" "exit status $rc"
	else
		record "$k" ok "guest test script completed"
	fi
	logs=("$ko/console.log")
	[ -f "$ko/dmesg.txt" ] && logs+=("$ko/dmesg.txt")
	if scan_log "${logs[@]}" >"$ko/splats.txt"; then
		sed 's/^/# /' "$ko/splats.txt" | head -n 40
		record "$k" fail "guest log free of oops/WARN/lockdep" "see $ko/splats.txt"
	else
		record "$k" ok "guest log free of oops/WARN/lockdep"
	fi
	if [ "$fail" -ne "$nfail" ] && [ -f "$ko/console.log" ]; then
		step "$k: tail of the guest console log ($ko/console.log)"
		tail -n 25 "$ko/console.log" | sed 's/^/# /'
	fi
done

# 6. vm.sh's stall watchdog ------------------------------------------------
k=${kernels%% *}
step "[$(elapsed)] vm.sh: a frozen guest is noticed and stopped ($k; output: $out/vm-watchdog.tap)"
"$here/vm-watchdog-test.sh" "$rootfs" "$repo" "$k" >"$out/vm-watchdog.tap" 2>&1
record_tap vm.sh "$out/vm-watchdog.tap" $? vm-watchdog-test.sh

# 7. make demo --------------------------------------------------------------
step "[$(elapsed)] make demo (a VM of its own; output: $out/demo.txt)"
if "$here/demo.sh" >"$out/demo.txt" 2>&1 &&
	grep -q '^edu B now holds exactly the state of edu A' "$out/demo.txt"; then
	record demo ok "make demo migrates edu A's state into edu B and exits 0"
else
	tail -n 30 "$out/demo.txt" | sed 's/^/# /'
	record demo fail "make demo" "see $out/demo.txt"
fi

# Summary -------------------------------------------------------------------
echo
step "[$(elapsed)] summary"
for g in "${summary_keys[@]}"; do
	printf '  %-48s %4d passed, %d failed, %d skipped\n' "$g" \
		"${sum_pass[$g]}" "${sum_fail[$g]}" "${sum_skip[$g]}"
done
if [ "${#failures[@]}" -gt 0 ]; then
	echo "  failed:"
	printf '    %s\n' "${failures[@]}"
	echo "  logs: $out"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
