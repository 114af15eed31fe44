#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libFuzzer on the userspace build of the stream parser
# (tools/testing/stream/fuzz_stream.c, seeded with O/fuzz-seeds: the
# golden edu and igbvf streams and small streams of every backend).
#
# Usage: scripts/fuzz.sh [--check] [OUTDIR]
#
#   make fuzz: a long run of FUZZ_SECONDS (default 600) seconds.  The
#   corpus it grows stays in OUTDIR/corpus (default out/fuzz/corpus), so
#   that the next run starts from it; a status line every 30 seconds,
#   libFuzzer's own output in OUTDIR/fuzz.log.
#
#   --check: make check's bounded run, TAP on stdout: every reproducer of
#   tools/testing/stream/fuzz-crashes/ is replayed, the seeds are checked
#   to be complete streams (the v1 golden ones refused), then FUZZ_RUNS
#   (default 100000) executions from the seeds alone, with a fixed
#   libFuzzer seed so that two runs of a tree do the same.
#
# Either ends with the line
#   fuzz: N executions in S s (E exec/s), coverage: C edges (cov), F
#   features (ft), corpus K inputs, crashes X
# and exits non-zero on a crash, which libFuzzer keeps as a reproducer in
# tools/testing/stream/fuzz-crashes/.  Replay one with
# "OUTDIR/build/fuzz_stream FILE".
#
# clang and libFuzzer come from Debian (clang, libclang-rt-dev); when they
# are missing, they are installed with apt-get, which needs root.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"

check=false
case ${1:-} in
--check) check=true; shift ;;
-h|--help) sed -n '/^# Usage/,/^# clang and/p' "$0" | sed 's/^# \{0,1\}//' | head -n -1; exit 0 ;;
-*) die "unknown option $1; usage: scripts/fuzz.sh [--check] [OUTDIR]" ;;
esac
out=${1:-$repo/out/fuzz}
seconds=${FUZZ_SECONDS:-600}
runs=${FUZZ_RUNS:-100000}
crashes=$repo/tools/testing/stream/fuzz-crashes
build=$out/build
log=$out/fuzz.log
n=0 failed=0

case $seconds$runs in
*[!0-9]*) die "FUZZ_SECONDS and FUZZ_RUNS must be numbers" ;;
esac
mkdir -p "$out" || exit 1

# clang links a libFuzzer target with ASan and UBSan: the compiler alone
# is not enough, libFuzzer's runtime is in another package.
fuzz_links()
{
	local t=$out/toolchain-test rc
	mkdir -p "$t"
	printf '%s\n' '#include <stddef.h>' \
		'int LLVMFuzzerTestOneInput(const char *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const char *d, size_t n) { return d && n > 1; }' >"$t/t.c"
	clang -fsanitize=fuzzer,address,undefined -o "$t/t" "$t/t.c" >"$t/log" 2>&1
	rc=$?
	rm -rf "$t"
	return $rc
}

fuzz_toolchain()
{
	command -v clang >/dev/null && fuzz_links && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "error: clang with libFuzzer is missing and installing it needs root; run 'apt-get install clang libclang-rt-dev' as root" >&2
		return 1
	fi
	step "installing clang and libFuzzer on the host (apt-get)"
	apt-get update -qq >&2 || true
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >&2; then
		echo "error: could not install clang and libFuzzer; install them with 'apt-get install clang libclang-rt-dev'" >&2
		return 1
	fi
	fuzz_links && return 0
	echo "error: clang cannot link a libFuzzer target (-fsanitize=fuzzer,address,undefined) even after installing clang and libclang-rt-dev" >&2
	return 1
}

# cpu_ms: CPU milliseconds used by the children this shell waited for so
# far (bash's "times", second line; not in $(...), whose subshell has
# its own).  A loaded host slows the fuzzer down, and executions per
# CPU second say how much.
children_cpu()
{
	local u s
	times >"$out/times"
	read -r u s < <(tail -n 1 "$out/times")
	cpu_ms=$(($(to_ms "$u") + $(to_ms "$s")))
}
to_ms()
{
	local m=${1%%m*} sec=${1#*m}
	sec=${sec%s}
	echo $((m * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
}

# The figures of a libFuzzer run, from its output in $log, as one line;
# CPU_MS: the CPU time it took.
summary()
{
	local secs=$1 ncrash=$2 ms=$3 execs eps last cov ft corp cpu
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -a -E '^#[0-9]+.* cov: ' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	if [ -z "$execs" ]; then
		# A crash ends the run before the final statistics.
		execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
		[ -n "$execs" ] && [ "$secs" -gt 0 ] && eps=$((execs / secs))
	fi
	cpu="CPU $((ms / 1000)) s"
	[ -n "$execs" ] && [ "$ms" -gt 0 ] && cpu+=": $((execs * 1000 / ms)) exec/CPU-s"
	echo "fuzz: ${execs:-?} executions in $secs s (${eps:-?} exec/s; $cpu), coverage: ${cov:-?} edges (cov), ${ft:-?} features (ft), corpus ${corp:-?} inputs, crashes $ncrash"
}

# The refusals that the corpus CORPUS reaches, each a reason of the
# validation table on the stream format page, which the model prints:
# coverage in the terms of the format, where edges are the code's.
refusals()
{
	local list=$out/refusals.txt
	(cd "$out" && FUZZ_STREAM_VERBOSE=1 "$build/fuzz_stream" -runs=0 \
		-max_len=16384 "$1" "$build/fuzz-seeds") 2>&1 |
		sed -n 's/^fuzz_stream:   model .*refused at byte [0-9]*: \(-[0-9]* "[^"]*"\).*/\1/p' |
		sort | uniq -c | sort -rn >"$list"
	echo "fuzz: the corpus reaches $(grep -c . "$list") distinct refusals of the parser (${list#"$repo"/})"
}

# The reproducers libFuzzer wrote during the run, from its output.
new_crashes()
{
	sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"
}

report_crashes()
{
	local f
	while read -r f; do
		[ -n "$f" ] || continue
		echo "fuzz: reproducer ${f#"$repo"/}; replay: $build/fuzz_stream $f" >&2
	done < <(new_crashes)
}

# The libFuzzer options of both kinds of run.  -max_len: larger than the
# largest seed (12 KiB), so inputs can grow past it; -timeout: a hang in
# the parser becomes a timeout- reproducer instead of a stuck run.
fuzz_opts=(-max_len=16384 -timeout=30 -print_final_stats=1
	   "-artifact_prefix=$crashes/")

if $check; then
	echo "TAP version 13"
	if ! fuzz_toolchain 2>"$out/toolchain.log"; then
		sed "s/^/# /" "$out/toolchain.log"
		tap "not ok" "clang with libFuzzer: $(tail -n 1 "$out/toolchain.log")"
		echo "1..$n"
		exit 1
	fi
	if ! make -s -C "$repo/tools/testing/stream" fuzz O="$build" >"$out/build.log" 2>&1; then
		sed 's/^/# /' "$out/build.log"
		tap "not ok" "build fuzz_stream (clang, libFuzzer, ASan, UBSan) and its seeds"
		echo "1..$n"
		exit 1
	fi
	tap ok "build fuzz_stream (clang, libFuzzer, ASan, UBSan) and its seeds"

	# Every reproducer kept so far, a regression test each.
	mapfile -t repros < <(find "$crashes" -maxdepth 1 -type f ! -name README | sort)
	if [ "${#repros[@]}" -eq 0 ]; then
		tap ok "replay of tools/testing/stream/fuzz-crashes/: no reproducer kept"
	elif "$build/fuzz_stream" -runs=1 -timeout=30 "${repros[@]}" >"$out/replay.log" 2>&1; then
		tap ok "replay of ${#repros[@]} reproducers of tools/testing/stream/fuzz-crashes/: no crash"
	else
		sed 's/^/# /' "$out/replay.log" | tail -n 40
		tap "not ok" "replay of ${#repros[@]} reproducers of tools/testing/stream/fuzz-crashes/ (see $out/replay.log)"
	fi

	# The seeds must be what they claim, or the fuzzer starts from
	# nothing: each a complete stream, but the version 1 ones.
	FUZZ_STREAM_VERBOSE=1 "$build/fuzz_stream" "$build"/fuzz-seeds/* >"$out/seeds.log" 2>&1
	for f in "$build"/fuzz-seeds/*; do
		name=${f##*/}
		what=$(awk -v f="$f" '$0 == "Running: " f { on = 1; next }
			on && /^fuzz_stream:   model / {
				sub(/^fuzz_stream:   model +/, "")
				sub(/ \(trace [0-9a-f]*\)/, "")
				print
				exit
			}' "$out/seeds.log")
		case $name in
		*-v1.qvps) want='refused at byte 32: -22 "unsupported stream version" 1' ;;
		*) want=complete ;;
		esac
		if [[ $what == *"$want" ]]; then
			tap ok "seed $name: $what"
		else
			tap "not ok" "seed $name: $what (want: $want)"
		fi
	done

	rm -rf "$out/corpus-check"
	mkdir -p "$out/corpus-check" "$crashes"
	t0=$(date +%s)
	children_cpu
	cpu0=$cpu_ms
	(cd "$out" && "$build/fuzz_stream" "${fuzz_opts[@]}" -seed=1 -runs="$runs" \
		-max_total_time=600 "$out/corpus-check" "$build/fuzz-seeds") >"$log" 2>&1
	rc=$?
	children_cpu
	secs=$(($(date +%s) - t0)) cpu=$((cpu_ms - cpu0))
	ncrash=$(new_crashes | grep -c .)
	line=$(summary "$secs" "$ncrash" "$cpu")
	echo "# $line"
	echo "# $(refusals "$out/corpus-check")"
	if [ "$rc" -eq 0 ] && [ "$ncrash" -eq 0 ]; then
		tap ok "fuzz_stream: $runs runs from the seeds without a crash"
	else
		grep -a -E -A 12 'fuzz_stream: |ERROR|runtime error' "$log" | head -n 40 | sed 's/^/# /'
		report_crashes 2>&1 | sed 's/^/# /'
		tap "not ok" "fuzz_stream: $runs runs from the seeds without a crash (exit status $rc, see $log)"
	fi
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit
fi

fuzz_toolchain || exit 1
step "building fuzz_stream and its seeds in $build"
make -s -C "$repo/tools/testing/stream" fuzz O="$build" >"$out/build.log" 2>&1 ||
	{ cat "$out/build.log" >&2; die "build of fuzz_stream failed"; }
mkdir -p "$out/corpus" "$crashes"
step "fuzzing for $seconds s (corpus $out/corpus, log $log)"
t0=$(date +%s)
children_cpu
cpu0=$cpu_ms
(cd "$out" && exec "$build/fuzz_stream" "${fuzz_opts[@]}" \
	-max_total_time="$seconds" "$out/corpus" "$build/fuzz-seeds") >"$log" 2>&1 &
pid=$!
# Ctrl-C: libFuzzer prints its final statistics on SIGTERM; a background
# job of a script would ignore SIGINT.
interrupted=false
trap 'interrupted=true; kill -TERM "$pid" 2>/dev/null' INT TERM
# A line every 30 s: libFuzzer's last report of coverage (it reports
# when the corpus changes and at powers of two of executions).
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$pid" 2>/dev/null || break
	last=$(grep -a -E '^#[0-9]+.* cov: ' "$log" | tail -n 1)
	printf 'fuzz: [%ds] %s\n' $(($(date +%s) - t0)) "${last:-starting}" >&2
done
wait "$pid"
rc=$?
children_cpu
secs=$(($(date +%s) - t0)) cpu=$((cpu_ms - cpu0))
ncrash=$(new_crashes | grep -c .)
# 72: libFuzzer's exit status when a signal stopped it.
if { $interrupted || [ "$rc" -eq 72 ]; } && [ "$ncrash" -eq 0 ]; then
	summary "$secs" "$ncrash" "$cpu"
	echo "fuzz: interrupted after $secs s" >&2
	exit 130
fi
if [ "$rc" -ne 0 ] || [ "$ncrash" -ne 0 ]; then
	grep -a -E -A 12 'fuzz_stream: |ERROR|runtime error' "$log" | head -n 40 >&2
	summary "$secs" "$ncrash" "$cpu"
	report_crashes
	die "fuzz_stream failed (exit status $rc); its output: $log"
fi
summary "$secs" "$ncrash" "$cpu"
refusals "$out/corpus"
