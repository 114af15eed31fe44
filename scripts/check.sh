#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of the project, on every kernel of the matrix.
#
#  1. the cached Debian trixie root filesystem (scripts/mkrootfs.sh) and
#     QEMU 11.1 in it (scripts/mkqemu.sh); our own kernels, the debug one
#     and the iommufd one (scripts/mkkernel.sh), build in the background
#  2. host-side unit tests (userspace builds of the pure-C parts), and a
#     bounded libFuzzer run on the stream parser (scripts/fuzz.sh)
#  3. per kernel: build the module (W=1, sparse C=1), the selftests and
#     the mtty sample (samples/vfio-mdev), the conformance suite's peer
#  4. checkpatch --strict on our sources; kernel-doc on them and on the
#     documents that include them (scripts/doc-check.sh)
#  5. per kernel: boot it under QEMU (TCG) with the test devices, run the
#     kselftests with the kselftest runner (on a kernel of a partial lane,
#     the iommufd one, only its suites: scripts/expected-suites), scan the
#     guest log for oopses, WARNs and lockdep reports
#  6. a test of vm.sh's stall watchdog, and make demo, which must migrate
#     and exit 0: both beside the VM of one of our kernels (5b below)
#
# Prints TAP for everything, a summary per kernel and suite, and last
# "N passed, N failed, N skipped, N expected failures" (the expected
# failures: scripts/expected-deviations).  Exits non-zero on any failure.
#
# Environment: QVP_CACHE (cache dir), QVP_KERNELS (space-separated subset of
# kernel versions to test; "debug" and "iommufd" are our kernels of
# scripts/mkkernel.sh), QVP_VM_TIMEOUT (seconds per VM, default 2700).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

out=$repo/out
mkdir -p "$out"
vm_timeout=${QVP_VM_TIMEOUT:-2700}
vm_stall=${QVP_VM_STALL:-240}
start=$(date +%s)

. "$here/verdict.sh"
verdict_init

elapsed() { echo "$(($(date +%s) - start))s"; }

# lane NAME: a new lane of the run starts (the previous one ends); the
# summary lists how long each took, so that growth shows.
lanes=() lane_name='' lane_start=0
lane_end()
{
	[ -n "$lane_name" ] || return 0
	lanes+=("$(printf '%-44s %5ds' "$lane_name" $(($(date +%s) - lane_start)))")
	lane_name=''
}
lane()
{
	lane_end
	lane_name=$1 lane_start=$(date +%s)
	step "[$(elapsed)] $1"
}

need_root

# 1. root filesystem --------------------------------------------------------
lane "test root filesystem"
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem; see the messages above"
kernels=${QVP_KERNELS:-$(rootfs_kernels "$rootfs" | paste -sd' ' -) debug iommufd}

# QEMU 11.1 from trixie-backports beside the root filesystem's own (10.0),
# for the suite qemu-migration-11.1 (scripts/mkqemu.sh; seconds, cached in
# the root filesystem).  Without it that suite fails in every VM that
# must run it; the rest goes on.
step "QEMU 11.1 in the root filesystem's /opt/qemu-11.1 (scripts/mkqemu.sh)"
if qemu11=$("$here/mkqemu.sh" "$rootfs"); then
	record qemu ok "QEMU $qemu11 from trixie-backports in /opt/qemu-11.1 (scripts/mkqemu.sh)"
else
	record qemu fail "QEMU 11.1 in /opt/qemu-11.1 (scripts/mkqemu.sh)" "see the messages above and $QVP_CACHE/mkqemu.log"
fi
# mtty.c of each kernel series that /opt/linux-src (linux-source-6.12) is
# not, for the suites mtty and mtty-iommufd (scripts/mksamples.sh; about
# 30 s once, cached in the root filesystem).  Without it a 7.x kernel's
# mtty is built from 6.12's mtty.c, which does not work there: the mtty
# suites of those kernels then fail.
step "mtty.c of the kernels' own series in /opt/linux-src-X.Y (scripts/mksamples.sh)"
if srcs=$("$here/mksamples.sh" "$rootfs"); then
	record samples ok "mtty.c of linux-source ${srcs:-(none needed)} (scripts/mksamples.sh)"
else
	record samples fail "mtty.c of the kernels' linux-source (scripts/mksamples.sh)" "see the messages above and $QVP_CACHE/mksamples.log"
fi
[ -n "$kernels" ] || die "no kernel in $rootfs/boot"

# Our kernels (scripts/mkkernel.sh) build in the background while the
# other lanes run: a TCG VM keeps one core busy, the build takes the
# rest.  They join the matrix after Debian's kernels, the debug kernel
# first, then the iommufd one.  One job builds them one after the other,
# in that order, so that two builds do not share the two cores: the debug
# kernel's lane is the long one (every suite under a debug kernel), so
# its kernel is wanted first; the iommufd kernel's lane (a few suites)
# comes last, and its build has the debug lane's VM time to finish.  A
# cached kernel takes seconds.  Progress: out/mkkernel[-iommufd].out.
own_kernels=
for f in debug iommufd; do
	if [[ " $kernels " == *" $f "* || " $kernels " == *-qvp-$f* ]]; then
		kernels=$(echo " $kernels " | sed -e "s/ $f / /" -e "s/ [^ ]*-qvp-$f / /" -e 's/^ *//' -e 's/ *$//')
		own_kernels+="${own_kernels:+ }$f"
	fi
done
# mkkernel_out FLAVOUR: the stem of FLAVOUR's files in out/ (.out:
# progress, .kver: the kernel's version, .rc: mkkernel.sh's exit status).
mkkernel_out()
{
	case $1 in
	debug) echo "$out/mkkernel" ;;
	*) echo "$out/mkkernel-$1" ;;
	esac
}
kernels_pid=
if [ -n "$own_kernels" ]; then
	for f in $own_kernels; do
		rm -f "$(mkkernel_out "$f")".{out,kver,rc}
	done
	step "our kernels ($own_kernels): building or checking the cache in the background (progress: $out/mkkernel*.out)"
	(
		for f in $own_kernels; do
			o=$(mkkernel_out "$f")
			nice -n 10 "$here/mkkernel.sh" "$rootfs" "$f" >"$o.kver" 2>"$o.out"
			echo $? >"$o.rc"
		done
	) &
	kernels_pid=$!
fi
step "kernels: $kernels${own_kernels:+ and our $own_kernels kernel(s)}"

# 2. host tests -------------------------------------------------------------
lane "host tests"
step "host unit tests (userspace build of the stream code)"
if make -s -C "$repo/tools/testing/stream" O="$out/host" >"$out/host-build.log" 2>&1; then
	"$out/host/stream_test" >"$out/host-tests.tap" 2>&1
	record_tap host "$out/host-tests.tap" $? stream_test
else
	cat "$out/host-build.log"
	record host fail "build of host tests" "see $out/host-build.log"
fi

step "host tests of vfio-mig (no device needed)"
make -s -C "$repo/tools/vfio-mig" check O="$out/host/vfio-mig" >"$out/host-vfio-mig.tap" 2>&1
record_tap host/vfio-mig "$out/host-vfio-mig.tap" $? "make -C tools/vfio-mig check"

# A bounded libFuzzer run on the same parser (make fuzz runs long): the
# kept reproducers replayed, the seeds checked, then a fixed number of
# executions.  clang and libFuzzer are installed on the host with apt-get
# if missing; where they cannot be had, that is a failure, not a skip.
step "libFuzzer on the stream parser, a bounded run (scripts/fuzz.sh --check)"
"$here/fuzz.sh" --check "$out/host/fuzz" >"$out/host-fuzz.tap" 2>&1
rc=$?
sed -n 's/^# \(fuzz: .*\)/\1/p' "$out/host-fuzz.tap"
record_tap host/fuzz "$out/host-fuzz.tap" $rc "scripts/fuzz.sh --check"

step "make check's own counting, fed fake VM runs (scripts/verdict-test.sh)"
"$here/verdict-test.sh" "$out/verdict-test" >"$out/verdict-test.tap" 2>&1
record_tap check.sh "$out/verdict-test.tap" $? verdict-test.sh

step "the test VM's device manifest, parsed and spoilt (scripts/manifest-test.sh)"
"$here/manifest-test.sh" "$out/manifest-test" >"$out/manifest-test.tap" 2>&1
record_tap check.sh "$out/manifest-test.tap" $? manifest-test.sh

# 3. builds -------------------------------------------------------------------
# build_for KVER: the module (W=1, sparse) and the selftests for KVER.
build_for()
{
	local k=$1 ko=$out/$1 rc t name dir own
	rm -rf "$ko"
	mkdir -p "$ko"
	lane "$k: builds"

	step "$k: build qemu-vfio-pci.ko (W=1 C=1)"
	build_module "$rootfs" "$repo" "$k"
	rc=$?
	if [ $rc -ne 0 ] || [ ! -f "$ko/mod/qemu-vfio-pci.ko" ]; then
		tail -n 30 "$ko/build.log"
		record "$k" fail "build module" "see $ko/build.log"
	elif grep -E 'warning:|error:' "$ko/build.log" | grep -v 'C=1 specified'; then
		record "$k" fail "build module without warnings" "see $ko/build.log"
	else
		record "$k" ok "build module (W=1)"
		# Globals the module defines but never uses: functions
		# that only userspace calls (stream.c is built for both).
		"$here/module-symbols.sh" "$ko/mod" >"$ko/symbols.tap" 2>&1
		record_tap "$k" "$ko/symbols.tap" $? module-symbols.sh
		if grep -q 'C=1 specified, but sparse is not available' "$ko/build.log"; then
			# Our own 7.x tree has the script, which says no.
			why="the kernel needs a sparse with __typeof_unqual__ (Debian ships 0.6.4)"
			chroot "$rootfs" test -e "/usr/lib/modules/$k/build/scripts/checker-valid.sh" ||
				why="Debian's headers for this kernel lack scripts/checker-valid.sh, and $why"
			record "$k" skip "sparse (C=1)" "$why"
		else
			record "$k" ok "sparse (C=1) clean"
		fi
	fi

	# The conformance suite's peer (the VM's suite mtty): the kernel's
	# mtty sample, an mdev driver with VFIO migration.  A kernel that
	# has it among its modules (the debug kernel) brings its own; for
	# the others it is built out of tree from the source in the root
	# filesystem.
	step "$k: mtty.ko (samples/vfio-mdev), the conformance suite's peer"
	own=$(mtty_own "$rootfs" "$k")
	if [ -n "$own" ]; then
		record "$k" ok "mtty.ko: the kernel's own module ($own)"
	elif ! grep -qs '^CONFIG_VFIO_MDEV=[ym]' "$rootfs/boot/config-$k"; then
		record "$k" fail "build mtty.ko" "the kernel has no CONFIG_VFIO_MDEV, which mtty needs"
	elif build_mtty "$rootfs" "$repo" "$k"; then
		# upstream's code, not ours: its warnings are shown, not held
		grep 'warning:' "$ko/mtty-build.log" | sed 's/^/# /'
		record "$k" ok "build mtty.ko out of tree from $(mtty_src "$rootfs" "$k")/samples/vfio-mdev/mtty.c"
	else
		tail -n 30 "$ko/mtty-build.log"
		record "$k" fail "build mtty.ko out of tree from $(mtty_src "$rootfs" "$k")/samples/vfio-mdev/mtty.c" "see $ko/mtty-build.log"
	fi

	for t in selftests:tools/testing/selftests/vfio/migration \
		vfio-mig-selftests:tools/testing/selftests/vfio/vfio-mig; do
		name=${t%%:*} dir=${t#*:}
		step "$k: build $dir"
		if build_user "$rootfs" "$repo" "$k" "$name" "$dir" \
			KSFT_DIR=/opt/linux-src/tools/testing/selftests &&
			! grep -E 'warning:|error:' "$ko/$name-build.log"; then
			record "$k" ok "build $dir (-Wall -Wextra)"
		else
			tail -n 30 "$ko/$name-build.log"
			record "$k" fail "build $dir" "see $ko/$name-build.log"
		fi
	done
}

for k in $kernels; do
	build_for "$k"
done

# 4. checkpatch -------------------------------------------------------------
lane "checkpatch --strict"
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

# kernel-doc, as the kernel's own checker sees it (from the 6.12 kbuild
# package in the root filesystem): the comments, every ".. kernel-doc::"
# directive of Documentation/, and the driver files the documents name
# (scripts/doc-check.sh).
kdoc=$(cd "$rootfs" && ls -d usr/lib/linux-kbuild-*/scripts/kernel-doc 2>/dev/null | head -n 1)
if [ -z "$kdoc" ]; then
	record checkpatch fail "kernel-doc" "no scripts/kernel-doc in $rootfs/usr/lib/linux-kbuild-*"
else
	in_rootfs "$rootfs" "$repo" /qvp/scripts/doc-check.sh "/$kdoc" >"$out/doc-check.tap" 2>&1
	record_tap checkpatch "$out/doc-check.tap" $? doc-check.sh
fi

# 5. the VMs ----------------------------------------------------------------
# boot_vm KVER N: boot N of KVER's test VM; results in out/KVER/bootN.
# The suites: all, or those of KVER's partial lane (only_suites).
boot_vm()
{
	local k=$1 n=$2 d=$out/$1/boot$2
	rm -rf "$d"
	mkdir -p "$d"
	step "$k: boot $n under QEMU (TCG), run the selftests (console: $d/console.log)"
	# A kernel of a partial lane runs only its suites.
	# shellcheck disable=SC2046	# a list of suites
	in_rootfs "$rootfs" "$repo" env QVP_VM_STALL="$vm_stall" \
		QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
		/qvp/scripts/vm.sh "$k" "$vm_timeout" \
		"/qvp/out/$k/boot$n/console.log" /qvp/scripts/guest-run.sh "/qvp/out/$k/boot$n" \
		$(only_suites "$k")
}

# show_failed_run LABEL DIR: what a person needs to see of a failed run.
show_failed_run()
{
	local label=$1 d=$2
	if grep -q '^# not ok\|^not ok' "$d/selftests.tap" 2>/dev/null; then
		step "$label: failing selftest output (whole TAP: $d/selftests.tap)"
		grep -B 30 '^# not ok\|^not ok' "$d/selftests.tap" | tail -n 80
	fi
	step "$label: tail of the guest console log ($d/console.log)"
	tail -n 25 "$d/console.log" | sed 's/^/# /'
}

# vm_for KVER: KVER's test VM, judged; a second boot if it froze.
vm_for()
{
	local k=$1 ko=$out/$1 nfail froze
	[ -f "$ko/mod/qemu-vfio-pci.ko" ] || { record "$k" fail "boot and run selftests" "module did not build"; return; }
	lane "$k: VM"
	nfail=$fail
	boot_vm "$k" 1
	judge_vm_run "$k" "$ko/boot1" $? "$k"
	froze=$?
	[ "$fail" -eq "$nfail" ] || show_failed_run "$k" "$ko/boot1"
	# A run that froze or vanished has failed; a second boot, counted
	# on its own, tells whether it happens again (see the testing guide).
	if [ "$froze" -eq 2 ]; then
		nfail=$fail
		boot_vm "$k" 2
		judge_vm_run "$k/boot2" "$ko/boot2" $? "$k"
		[ "$fail" -eq "$nfail" ] || show_failed_run "$k/boot2" "$ko/boot2"
	fi
}

# Each kernel's VM saves streams into xkernel/KVER/ and loads those of
# the kernels whose VMs ran before it, which xkernel/order lists
# (vfio_mig_test.sh, "cross-kernel"): a stream crosses kernels in every
# run.
rm -rf "$out/xkernel"
mkdir -p "$out/xkernel"
: >"$out/xkernel/order"
for k in $kernels; do
	vm_for "$k"
	echo "$k" >>"$out/xkernel/order"
done

# 5b. the tail: vm.sh's stall watchdog and make demo -------------------------
# Neither needs our kernels, and each VM keeps one of the two cores busy:
# they run in the background beside the VM of one of our kernels, once no
# kernel build is left to share the cores with, instead of after it (about
# 6 minutes less on 2 cores).  Their output goes to files; their results
# are recorded when they are over.  The demo boots a Debian kernel and
# rebuilds that kernel's module in out/KVER/mod: never beside that
# kernel's VM, so only beside one of ours (a run without our kernels runs
# the tail last, on its own).  At nice 10, as the kernel builds: the VM
# beside it is the one judged for timeouts and stalls.
tail_pid='' tail_beside=''
tail_start()
{
	# The watchdog test is vm.sh's: it boots the oldest of Debian's
	# kernels whatever QVP_KERNELS says, never ours (the lockdep kernel
	# takes minutes to send its first heartbeat; the test allows 300 s).
	local wk
	wk=$(rootfs_kernels "$rootfs" | head -n 1)
	[ -z "$tail_pid" ] || return 0
	# QVP_DEMO_KERNEL may name one of ours (demo.sh)
	[ -z "$1" ] || [ "${QVP_DEMO_KERNEL:-}" != "$1" ] || return 0
	tail_beside=$1
	rm -f "$out"/tail-{watchdog,demo}.{rc,time}
	step "vm.sh's stall watchdog ($wk) and make demo, in the background${tail_beside:+, beside the VM of $tail_beside} (output: $out/vm-watchdog.tap, $out/demo.txt)"
	nice -n 10 bash -c '
		here=$1 rootfs=$2 repo=$3 wk=$4 out=$5
		t=$(date +%s)
		"$here/vm-watchdog-test.sh" "$rootfs" "$repo" "$wk" >"$out/vm-watchdog.tap" 2>&1
		echo $? >"$out/tail-watchdog.rc"
		echo "$wk $(($(date +%s) - t))" >"$out/tail-watchdog.time"
		t=$(date +%s)
		"$here/demo.sh" >"$out/demo.txt" 2>&1
		echo $? >"$out/tail-demo.rc"
		echo "$(($(date +%s) - t))" >"$out/tail-demo.time"
	' tail "$here" "$rootfs" "$repo" "$wk" "$out" &
	tail_pid=$!
}
# tail_finish: wait for the tail, then judge it.
tail_finish()
{
	local wk t
	if [ -z "$tail_pid" ]; then
		lane "vm.sh stall watchdog and make demo"
		tail_start ''
	else
		lane "waiting for vm.sh's watchdog test and make demo"
	fi
	wait "$tail_pid"
	lane_end
	read -r wk t 2>/dev/null <"$out/tail-watchdog.time" || wk="?" t="?"
	lanes+=("$(printf '%-44s %5ss' "  vm.sh stall watchdog ($wk)${tail_beside:+ [beside $tail_beside]}" "$t")")
	t=$(cat "$out/tail-demo.time" 2>/dev/null || echo "?")
	lanes+=("$(printf '%-44s %5ss' "  make demo${tail_beside:+ [beside $tail_beside]}" "$t")")
	step "a frozen guest is noticed and stopped (output: $out/vm-watchdog.tap)"
	rc=$(cat "$out/tail-watchdog.rc" 2>/dev/null)
	[[ $rc =~ ^[0-9]+$ ]] || rc=1	# no status: the test did not end
	record_tap vm.sh "$out/vm-watchdog.tap" "$rc" vm-watchdog-test.sh
	step "make demo (output: $out/demo.txt)"
	if [ "$(cat "$out/tail-demo.rc" 2>/dev/null)" = 0 ] &&
		grep -q '^edu B now holds exactly the state of edu A' "$out/demo.txt"; then
		record demo ok "make demo migrates edu A's state into edu B and exits 0"
	else
		tail -n 30 "$out/demo.txt" | sed 's/^/# /'
		record demo fail "make demo" "see $out/demo.txt"
	fi
}

# 5c. our kernels -----------------------------------------------------------
# wait_kernel FLAVOUR: FLAVOUR's build (in the background job) is over.
wait_kernel()
{
	local o
	o=$(mkkernel_out "$1")
	while [ ! -f "$o.rc" ] && kill -0 "$kernels_pid" 2>/dev/null; do
		sleep 5
	done
	[ "$(cat "$o.rc" 2>/dev/null)" = 0 ]
}
for f in $own_kernels; do
	o=$(mkkernel_out "$f")
	lane "$f kernel: waiting for its build"
	if wait_kernel "$f" && dk=$(cat "$o.kver") && [ -n "$dk" ]; then
		grep -v '^==>   ' "$o.out" | sed 's/^/# /'
		record kernel ok "$f kernel $dk (scripts/mkkernel.sh)"
		kernels="${kernels:+$kernels }$dk"
		build_for "$dk"
		# no build left to share the cores with: the tail beside it
		kill -0 "$kernels_pid" 2>/dev/null || tail_start "$dk"
		vm_for "$dk"
		# a partial lane may not run vfio-mig: no streams to cross
		! expected_suites "$dk" | grep -q '^vfio-mig ' ||
			echo "$dk" >>"$out/xkernel/order"
	else
		tail -n 20 "$o.out" | sed 's/^/# /'
		record kernel fail "build the $f kernel" "see $o.out and $QVP_CACHE/mkkernel${o##*/mkkernel}.log"
	fi
done
[ -z "$kernels_pid" ] || wait "$kernels_pid"
tail_finish

# The figures of the testing guide's reliability table, from this run.
step "reliability figures of this run (scripts/reliability.sh)"
"$here/reliability.sh" "$out" | sed 's/^/  /'

# Summary -------------------------------------------------------------------
echo
lane_end
step "[$(elapsed)] summary"
echo "  time per lane:"
printf '    %s\n' "${lanes[@]}"
print_summary
[ "${#failures[@]}" -eq 0 ] || echo "  logs: $out"
echo "$pass passed, $fail failed, $skip skipped, $xfail expected failures"
[ "$fail" -eq 0 ]
