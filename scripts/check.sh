#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test of the project, on every kernel of the matrix.
#
#  1. the cached Debian trixie root filesystem (scripts/mkrootfs.sh) and
#     QEMU 11.1 in it (scripts/mkqemu.sh); our debug kernel (and the
#     iommufd one, if QVP_KERNELS names it: scripts/mkkernel.sh) builds
#     in the background
#  2. host-side unit tests (userspace builds of the pure-C parts), and a
#     bounded libFuzzer run on the stream parser (scripts/fuzz.sh)
#  3. per kernel: build the module (W=1, sparse C=1), the selftests and
#     the mtty sample (samples/vfio-mdev), the conformance suite's peer
#  4. checkpatch --strict on our sources; kernel-doc on them and on the
#     documents that include them (scripts/doc-check.sh)
#  5. per kernel: boot it under QEMU (TCG) with the test devices, run the
#     kselftests with the kselftest runner (on a kernel of a partial lane,
#     the iommufd one, only its suites; the debug kernel's in two VMs:
#     scripts/expected-suites), scan the guest log for oopses, WARNs and
#     lockdep reports; two VMs at most at a time (5c below)
#  6. a test of vm.sh's stall watchdog, and make demo, which must migrate
#     and exit 0: both beside a VM of the matrix (5b below)
#
# Prints TAP for everything, a summary per kernel and suite, and last
# "N passed, N failed, N skipped, N expected failures" (the expected
# failures: scripts/expected-deviations).  Exits non-zero on any failure.
#
# Environment: QVP_CACHE (cache dir), QVP_KERNELS (space-separated kernel
# versions to test, default Debian's and "debug"; "debug" and "iommufd"
# are our kernels of scripts/mkkernel.sh: the iommufd one and its lane
# only when named), QVP_VM_TIMEOUT (seconds per VM, default 5400),
# QVP_KMEMLEAK (unset: kmemleak on in our kernels built with it, the
# debug kernel; 1: in every kernel of the run built with it; 0: off, for
# a shorter run), QVP_DEADLINE (unset:
# none; N: no VM runs past N seconds after make check began, .ci/run's
# way to end with a summary before CI's own limit kills the run).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"

out=$repo/out
mkdir -p "$out"
vm_timeout=${QVP_VM_TIMEOUT:-5400}
vm_stall=${QVP_VM_STALL:-240}
# kmemleak: on by default in our kernels built with it (lane_kmemleak;
# scripts/vm.sh adds kmemleak=on to their command line, guest-run.sh
# then scans).
case ${QVP_KMEMLEAK:-} in
'' | 0 | 1) ;;
*) die "QVP_KMEMLEAK is '$QVP_KMEMLEAK': 1 turns kmemleak on in every kernel built with it, 0 leaves it off, unset (the default) turns it on in our kernels (the debug kernel)" ;;
esac
deadline=${QVP_DEADLINE:-}
[[ $deadline =~ ^([1-9][0-9]*)?$ ]] || die "QVP_DEADLINE is '$deadline': the seconds after make check's start by which every VM must be over, or unset for none"
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

# Jobs in the background (our kernels' builds, the VMs, the tail) end
# with make check, after a Ctrl-C too: a non-interactive shell's
# background jobs ignore SIGINT.  Each job's processes are listed first,
# then signalled parents first, so that no parent starts anything new
# once its child is gone (vm.sh stops its QEMU on SIGTERM).
tree_pids()
{
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do
		tree_pids "$c"
	done
}
stop_jobs()
{
	local p pids=()
	for p in $(jobs -p); do
		mapfile -t -O "${#pids[@]}" pids < <(tree_pids "$p")
	done
	[ "${#pids[@]}" -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null
}
trap stop_jobs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_root

# 1. root filesystem --------------------------------------------------------
lane "test root filesystem"
rootfs=$("$here/mkrootfs.sh") || die "no test root filesystem; see the messages above"
# The default matrix: Debian's kernels and our debug kernel.  Our iommufd
# kernel (lockdep and iommufd on 7.x) is a second build of
# some 2000 files: CI runs make check from a cold cache, and the two
# builds beside the VMs did not fit in its 90 minutes (the testing
# guide, "Time").  QVP_KERNELS=iommufd runs its lane.
kernels=${QVP_KERNELS:-$(rootfs_kernels "$rootfs" | paste -sd' ' -) debug}

[ -n "$kernels" ] || die "no kernel in $rootfs/boot"

# mtty.c of each kernel series that /opt/linux-src (linux-source-6.12) is
# not, for the suites mtty and mtty-iommufd (scripts/mksamples.sh; about
# 30 s once, cached in the root filesystem).  Without it a 7.x kernel's
# mtty is built from 6.12's mtty.c, which does not work there: the mtty
# suites of those kernels then fail.  Before our kernels' job: the
# iommufd kernel downloads the same linux-source-7.3, with the same apt
# in the root filesystem.
step "mtty.c of the kernels' own series in /opt/linux-src-X.Y (scripts/mksamples.sh)"
if srcs=$("$here/mksamples.sh" "$rootfs"); then
	record samples ok "mtty.c of linux-source ${srcs:-(none needed)} (scripts/mksamples.sh)"
else
	record samples fail "mtty.c of the kernels' linux-source (scripts/mksamples.sh)" "see the messages above and $QVP_CACHE/mksamples.log"
fi

# Our kernels (scripts/mkkernel.sh) build in the background while the
# other lanes run.  The debug kernel's build runs at the priority of the
# VM beside it: on a cold cache it is the critical path (its lane, the
# longest, waits for it), so it takes two thirds of the two cores (two
# compiler jobs and the VM's one thread) and the VM the rest, about 1.5
# times slower but far from its timeouts.  The iommufd kernel's, at nice
# 10, takes what the VMs leave (the debug kernel's VM, beside it, is a
# long one).  They join the matrix after Debian's kernels, the debug
# kernel first, then the iommufd one if named.  One job builds them one
# after the other, in that order, so that two builds do not share the
# two cores: the debug kernel's lanes are the long ones (every suite,
# in two VMs, under a debug kernel), so its kernel is wanted first; the
# iommufd kernel's lane (a few suites) comes last, and its build has the
# debug lanes' VM time to finish.  A cached kernel takes seconds.  Progress:
# out/mkkernel[-iommufd].out.
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
			nice -n "$([ "$f" = debug ] && echo 0 || echo 10)" \
				"$here/mkkernel.sh" "$rootfs" "$f" >"$o.kver" 2>"$o.out"
			echo $? >"$o.rc"
		done
	) &
	kernels_pid=$!
fi
step "kernels: $kernels${own_kernels:+ and our $own_kernels kernel(s)}"

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
# A lane is one VM of the matrix: KVER, or KVER/vmN, a further VM of a
# kernel whose suites scripts/expected-suites splits between two VMs
# (kernel_lanes, only_suites in scripts/verdict.sh).
# lane_kmemleak LANE: QVP_KMEMLEAK for LANE's VMs: as set by hand, or by
# default 1 for our kernels (*-qvp-*: the debug kernel has kmemleak) and
# 0 for Debian's, which have none (vm.sh would only say so each boot).
lane_kmemleak()
{
	if [ -n "${QVP_KMEMLEAK:-}" ]; then
		echo "$QVP_KMEMLEAK"
	elif [[ $1 == *-qvp-* ]]; then
		echo 1
	else
		echo 0
	fi
}

# boot_vm LANE N: boot N of LANE's test VM; results in out/LANE/bootN.
# The suites: all, or those of LANE (only_suites).
boot_vm()
{
	local l=$1 n=$2 d=$out/$1/boot$2 t
	rm -rf "$d"
	mkdir -p "$d"
	step "$l: boot $n under QEMU (TCG), run the selftests (console: $d/console.log)"
	t=$(vm_timeout_by "$vm_timeout" "$start" "$deadline" "$(date +%s)")
	[ "$t" = "$vm_timeout" ] ||
		echo "# $l: its timeout cut to $t s: QVP_DEADLINE=$deadline (s after make check began)"
	# shellcheck disable=SC2046	# a list of suites
	in_rootfs "$rootfs" "$repo" env QVP_VM_STALL="$vm_stall" \
		QVP_KMEMLEAK="$(lane_kmemleak "$l")" \
		QVP_VM_TCG="${QVP_VM_TCG:-thread=single}" \
		/qvp/scripts/vm.sh "${l%%/*}" "$t" \
		"/qvp/out/$l/boot$n/console.log" /qvp/scripts/guest-run.sh "/qvp/out/$l/boot$n" \
		$(only_suites "$l")
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

# Each VM runs as a job in the background (a TCG VM keeps one of the two
# cores busy), and is judged in the foreground once it is over.
#   vm_pid[L]     the job of lane L's running boot; vm_boot[L] its number
#   vm_t0[L]      when L's first boot started
#   vm_beside[L]  the other VMs that ran while L's did (for the lane table)
declare -A vm_pid=() vm_boot=() vm_t0=() vm_beside=()

# vm_begin LANE N: start boot N of LANE's VM.
vm_begin()
{
	local k=$1 n=$2
	rm -f "$out/$k/boot$n.rc"
	(
		boot_vm "$k" "$n"
		echo $? >"$out/$k/boot$n.rc"
	) &
	vm_pid[$k]=$! vm_boot[$k]=$n
	[ "$n" -gt 1 ] || vm_t0[$k]=$(date +%s) vm_beside[$k]=''
}

# vm_note_beside: each running VM notes the others (and the tail's VMs).
vm_note_beside()
{
	local k o
	for k in "${!vm_pid[@]}"; do
		for o in "${!vm_pid[@]}" ${tail_pid:+tail}; do
			[ "$o" != "$k" ] || continue
			[[ " ${vm_beside[$k]} " == *" $o "* ]] ||
				vm_beside[$k]+="${vm_beside[$k]:+ }$o"
		done
	done
}

# vm_reap LANE: LANE's running boot is over: judge it.  A run that froze
# or vanished has failed; a second boot, counted on its own, tells
# whether it happens again (see the testing guide).  Returns 0 once the
# lane's VM is done with, 1 if a second boot started.
vm_reap()
{
	local k=$1 n=${vm_boot[$1]} d rc label nfail froze end st t2
	d=$out/$k/boot$n
	wait "${vm_pid[$k]}" 2>/dev/null
	unset 'vm_pid[$k]'
	rc=$(cat "$d.rc" 2>/dev/null)
	[[ $rc =~ ^[0-9]+$ ]] || rc=1
	label=$k
	[ "$n" -eq 1 ] || label=$k/boot$n
	step "[$(elapsed)] $label: the VM is over; its results"
	nfail=$fail
	judge_vm_run "$label" "$d" "$rc" "$k"
	froze=$?
	[ "$fail" -eq "$nfail" ] || show_failed_run "$label" "$d"
	if [ "$froze" -eq 2 ] && [ "$n" -eq 1 ]; then
		# not when QVP_DEADLINE leaves it too little to reach its tests
		t2=$(vm_timeout_by "$vm_timeout" "$start" "$deadline" "$(date +%s)")
		if [ "$t2" -ge 600 ]; then
			vm_begin "$k" 2
			return 1
		fi
		echo "# $k: no second boot: QVP_DEADLINE=$deadline leaves it only $t2 s"
	fi
	# over when its status was written, not when judged
	end=$(stat -c %Y "$d.rc" 2>/dev/null || date +%s)
	lanes+=("$(printf '%-44s %5ds' "$k: VM" $((end - vm_t0[$k])))")
	[ -z "${vm_beside[$k]}" ] ||
		lanes+=("    (beside ${vm_beside[$k]})")
	# the suites of its last boot that took a minute or more, and the
	# programs of two minutes or more, where a suite's time goes
	st=$(long_times suite-time 60 "$d/selftests.tap")
	[ -z "$st" ] || lanes+=("    (suites of a minute or more: $st)")
	st=$(long_times program-time 120 "$d/selftests.tap")
	[ -z "$st" ] || lanes+=("    (programs of two minutes or more: $st)")
	return 0
}

# long_times MARK MIN TAP: "NAME Ns, ..." of guest-run.sh's "# MARK: NAME...
# N s" lines of TAP ("# suite-time: SUITE N s", "# program-time: SUITE
# PROG N s") with N of MIN or more, longest first, NAME's words joined
# by "/".
long_times()
{
	awk -v mark="$1:" -v min="$2" '$2 == mark && $(NF - 1) >= min {
		n = $3
		for (i = 4; i < NF - 1; i++)
			n = n "/" $i
		print $(NF - 1), n
	}' "$3" 2>/dev/null |
		sort -rn | awk '{ printf "%s%s %ds", (NR > 1 ? ", " : ""), $2, $1 }'
}

# 5b. the tail: vm.sh's stall watchdog and make demo -------------------------
# Neither needs our kernels, and each VM keeps one of the two cores busy:
# they run in the background beside the last VM of the matrix, once no
# kernel build is left to share the cores with and no other lane is to
# start, instead of after it.  Their output goes to files; their results are
# recorded when they are over.  The demo boots a Debian kernel and
# rebuilds that kernel's module in out/KVER/mod: never while that
# kernel's VM runs or waits to run.  At nice 10, unlike the debug
# kernel's build: nothing waits for the tail, while the VM beside it is
# judged for timeouts and stalls.
demo_kernel=${QVP_DEMO_KERNEL:-$(rootfs_kernels "$rootfs" | head -n 1)}
tail_pid=''
tail_start()
{
	# The watchdog test is vm.sh's: it boots the oldest of Debian's
	# kernels whatever QVP_KERNELS says, never ours (the lockdep kernel
	# takes minutes to send its first heartbeat; the test allows 300 s).
	local wk
	wk=$(rootfs_kernels "$rootfs" | head -n 1)
	[ -z "$tail_pid" ] || return 0
	rm -f "$out"/tail-{watchdog,demo}.{rc,time}
	step "[$(elapsed)] vm.sh's stall watchdog ($wk) and make demo, in the background${vm_pid[*]:+, beside the VM of ${!vm_pid[*]}} (output: $out/vm-watchdog.tap, $out/demo.txt)"
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
		tail_start
	else
		lane "waiting for vm.sh's watchdog test and make demo"
	fi
	wait "$tail_pid"
	lane_end
	read -r wk t 2>/dev/null <"$out/tail-watchdog.time" || wk="?" t="?"
	lanes+=("$(printf '%-44s %5ss' "  vm.sh stall watchdog ($wk)" "$t")")
	t=$(cat "$out/tail-demo.time" 2>/dev/null || echo "?")
	lanes+=("$(printf '%-44s %5ss' "  make demo" "$t")")
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

# 5c. the schedule ------------------------------------------------------------
# Full lanes, those that run the vfio-mig suite, start in order: Debian's
# kernels, then our debug kernel once built.  Each saves streams into
# xkernel/KVER/ and loads those of the kernels that xkernel/order lists
# when its vfio-mig suite starts (vfio_mig_test.sh, "cross-kernel"): a
# stream crosses kernels in every run, 6.12 to 7.x and 7.x to 6.12.  A
# kernel goes into that list once its VM has saved its streams (the
# guest then writes xkernel/KVER/done) or is over.  The next full lane
# starts when the one before is over, or, once no kernel build is left
# and at most one VM runs, as soon as the one before is in the list:
# while our kernels build, one VM and the build share the cores.  A
# partial lane runs no vfio-mig, so it starts as soon as its kernel is
# built and no kernel build is left, beside the others: our iommufd
# kernel's, and the debug kernel's second VM (scripts/expected-suites
# splits its suites between two VMs, its VM being by far the longest).
# Two VMs at most at a time, each on one core.  On a cold cache the
# debug kernel's build is the critical path (about 45 core-minutes); its
# second VM then starts beside the rest of Debian's lanes, its first
# once Debian's 7.x lane has saved its streams and one VM is left, and
# the tail beside the last.
rm -rf "$out/xkernel"
mkdir -p "$out/xkernel"
: >"$out/xkernel/order"

# builds_over: no kernel build of ours runs.
builds_over() { [ -z "$kernels_pid" ] || ! kill -0 "$kernels_pid" 2>/dev/null; }
# in_list WORD LIST...: WORD is one of LIST.
in_list() { local w=$1 x; shift; for x in "$@"; do [ "$x" != "$w" ] || return 0; done; return 1; }
# runs_vfio_mig LANE: LANE's boots run the vfio-mig suite.  Not
# "expected_suites | grep -q": under pipefail grep's early exit can fail
# the pipe (SIGPIPE), and the answer would be a false "no".
runs_vfio_mig() { grep -q '^vfio-mig ' < <(expected_suites "$1"); }
# queue_lanes KVER: KVER's lanes join the schedule: the one that runs
# vfio-mig (it exchanges streams with the other kernels) the full lanes,
# the others (a partial lane, a kernel's second VM) the partial ones.
queue_lanes()
{
	local l
	while read -r l; do
		if runs_vfio_mig "$l"; then
			full_q+=("$l")
		else
			part_q+=("$l")
		fi
	done < <(kernel_lanes "$1")
}
# kernel_runs KVER: a VM of kernel KVER runs.
kernel_runs()
{
	local l
	for l in "${!vm_pid[@]}"; do
		[ "${l%%/*}" != "$1" ] || return 0
	done
	return 1
}
# lane_begin LANE: start LANE's VM, or record that its module is missing.
lane_begin()
{
	if [ -f "$out/${1%%/*}/mod/qemu-vfio-pci.ko" ]; then
		vm_begin "$1" 1
	else
		record "$1" fail "boot and run selftests" "module did not build"
		return 1
	fi
}

full_q=() part_q=() full_last='' full_started=() xk_done=() own_pending=$own_kernels
for k in $kernels; do
	queue_lanes "$k"
done
sched_lane="VMs, two at most, and our kernels' builds"
lane "$sched_lane"
while :; do
	# one look at the build job for the round's decisions to start
	# lanes and the tail (see the tail's condition)
	built=0
	builds_over && built=1
	# VMs that are over
	for k in "${!vm_pid[@]}"; do
		# over: its status written, or the job gone without it
		[ -f "$out/$k/boot${vm_boot[$k]}.rc" ] ||
			! kill -0 "${vm_pid[$k]}" 2>/dev/null || continue
		vm_reap "$k"
	done
	# the last full lane's streams, for the lanes after it
	if [ -n "$full_last" ] && ! in_list "$full_last" "${xk_done[@]}" &&
		{ [ -f "$out/xkernel/${full_last%%/*}/done" ] || [ -z "${vm_pid[$full_last]:-}" ]; }; then
		xk_done+=("$full_last")
		! runs_vfio_mig "$full_last" || echo "${full_last%%/*}" >>"$out/xkernel/order"
	fi
	# our kernels whose build is over (the job builds them in order)
	for f in $own_pending; do
		o=$(mkkernel_out "$f")
		[ -f "$o.rc" ] || ! kill -0 "$kernels_pid" 2>/dev/null || break
		own_pending=$(echo "$own_pending" | sed "s/^$f *//")
		if [ "$(cat "$o.rc" 2>/dev/null)" = 0 ] && dk=$(cat "$o.kver") && [ -n "$dk" ]; then
			grep -v '^==>   ' "$o.out" | sed 's/^/# /'
			record kernel ok "$f kernel $dk (scripts/mkkernel.sh)"
			kernels="${kernels:+$kernels }$dk"
			build_for "$dk"
			lane "$sched_lane"
			queue_lanes "$dk"
		else
			tail -n 20 "$o.out" | sed 's/^/# /'
			record kernel fail "build the $f kernel" "see $o.out and $QVP_CACHE/mkkernel${o##*/mkkernel}.log"
		fi
	done
	# the next full lane (see above)
	while [ "${#full_q[@]}" -gt 0 ]; do
		if [ -n "$full_last" ] && [ -n "${vm_pid[$full_last]:-}" ]; then
			in_list "$full_last" "${xk_done[@]}" && [ "$built" = 1 ] &&
				[ "${#vm_pid[@]}" -lt 2 ] || break
		fi
		k=${full_q[0]}
		full_q=("${full_q[@]:1}")
		lane_begin "$k" || continue
		full_last=$k
		full_started+=("$k")
	done
	# a partial lane, beside
	if [ "${#part_q[@]}" -gt 0 ] && [ "${#vm_pid[@]}" -lt 2 ] && [ "$built" = 1 ]; then
		lane_begin "${part_q[0]}"
		part_q=("${part_q[@]:1}")
	fi
	# the tail, beside the last VM: no build and no lane left to start,
	# the demo's kernel done
	if [ -z "$tail_pid" ] && [ "${#vm_pid[@]}" -eq 1 ] && [ "$built" = 1 ] &&
		[ -z "$own_pending" ] && [ "${#full_q[@]}" -eq 0 ] && [ "${#part_q[@]}" -eq 0 ] &&
		! kernel_runs "$demo_kernel"; then
		tail_start
	fi
	vm_note_beside
	[ "${#vm_pid[@]}" -gt 0 ] || [ -n "$own_pending" ] || [ "${#full_q[@]}" -gt 0 ] ||
		[ "${#part_q[@]}" -gt 0 ] || break
	sleep 5
done
[ -z "$kernels_pid" ] || wait "$kernels_pid"

# The schedule's promise, checked: each full lane that runs vfio-mig
# loaded the streams of every such lane that started before it (its
# TAP names each kernel it loaded from), so that a kernel missing from
# xkernel/order cannot pass as "no streams to load".
xk_prev=()
for k in "${full_started[@]}"; do
	runs_vfio_mig "$k" || continue
	t=$out/$k/boot1/selftests.tap
	[ ! -f "$out/$k/boot2/selftests.tap" ] || t=$out/$k/boot2/selftests.tap
	for p in "${xk_prev[@]}"; do
		p=${p%%/*}
		if grep -qF "edu stream saved on $p loads" "$t" 2>/dev/null; then
			record "$k" ok "cross-kernel: loads the streams saved on $p"
		else
			record "$k" fail "cross-kernel: loads the streams saved on $p" "$t has no load of them: the kernel was not in out/xkernel/order when this VM started"
		fi
	done
	xk_prev+=("$k")
done

tail_finish

# QVP_KMEMLEAK=1 set by hand asks for kmemleak's scans: some VM of this
# run must have booted with kmemleak=on (km_boots, counted by
# judge_vm_run; each such boot must have run both scans, and a debug
# kernel that could not boot with it fails there).  By default, a run
# of Debian's kernels only, which have no kmemleak, does not fail here.
if [ "${QVP_KMEMLEAK:-}" = 1 ]; then
	if [ "$km_boots" -gt 0 ]; then
		record kmemleak ok "QVP_KMEMLEAK=1: $km_boots VMs booted with kmemleak=on"
	else
		record kmemleak fail "QVP_KMEMLEAK=1: a VM booted with kmemleak=on" "none did: no kernel of this run ($kernels) has CONFIG_DEBUG_KMEMLEAK=y in its build tree (the debug kernel has; name it in QVP_KERNELS)"
	fi
fi

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
