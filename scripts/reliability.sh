#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The reliability figures of one make check run, from what it left in
# OUT (default out/): the testing guide's reliability table is made of
# these lines.  make check prints them at its end.
#
# Usage: scripts/reliability.sh [OUT]
#
# Each line is "reliability: WHAT: FIGURE"; a figure the run did not
# produce says "none" (a lane that did not run, or a suite that did not
# print it), never a guess.
set -uo pipefail

out=${1:-$(cd "$(dirname "$0")/.." && pwd)/out}
[ -d "$out" ] || { echo "reliability.sh: no $out: run make check first" >&2; exit 1; }

say() { printf 'reliability: %s: %s\n' "$1" "${2:-none}"; }

# The last boot of each VM that ran: out/LANE/bootN/selftests.tap, LANE
# a kernel or its second VM (KVER/vm2, scripts/verdict.sh)
taps=()
for d in "$out"/*/boot1 "$out"/*/vm*/boot1; do
	[ -f "$d/selftests.tap" ] || continue
	k=${d%/boot1}
	k=${k#"$out"/}
	t=$d/selftests.tap
	[ -f "$out/$k/boot2/selftests.tap" ] && t=$out/$k/boot2/selftests.tap
	taps+=("$k=$t")
done

for kt in "${taps[@]}"; do
	k=${kt%%=*} t=${kt#*=}
	d=$(dirname "$t")
	if [ ! -e "$d/splats.txt" ]; then
		say "$k: kernel log" "not judged (the run did not reach its scan)"
	elif [ -s "$d/splats.txt" ]; then
		say "$k: kernel log" "$(wc -l <"$d/splats.txt") reports (see $d/splats.txt)"
	else
		say "$k: kernel log" "clean (no line that scripts/verdict.sh scans for: oops, WARN, BUG, KASAN, UBSAN, hung task...)"
	fi
	# the lockdep suite: "# lockdep: N lock-classes, N direct dependencies, N dependency chains"
	say "$k: lockdep" "$(sed -n 's/^# lockdep: \(.*[0-9].*\)/\1 at the end of the suites/p' "$t" | head -n 1)"
	# kmemleak: on when vm.sh booted the kernel with kmemleak=on (its
	# console.kmemleak); the teardown suite's scans after the suites
	km=$(cat "$d/console.kmemleak" 2>/dev/null)
	if [ "$km" != on ]; then
		case $km in
		off) km="not asked for" ;;
		none) km="the kernel has none" ;;
		*) km="no record from vm.sh" ;;
		esac
		say "$k: kmemleak" "off ($km)"
	elif grep -qE '^# ok [0-9]+ kmemleak finds no leak' "$t"; then
		say "$k: kmemleak" "on from boot, no leak in the scans after the suites"
	elif [ -s "$d/kmemleak.txt" ]; then
		say "$k: kmemleak" "$(grep -c '^unreferenced object' "$d/kmemleak.txt") leaks reported (see $d/kmemleak.txt)"
	elif grep -qE '^# not ok [0-9]+ kmemleak finds no leak' "$t"; then
		say "$k: kmemleak" "on, but the scan after the suites failed (kmemleak refused it: it turned itself off?)"
	else
		say "$k: kmemleak" "on, but the scans after the suites did not run"
	fi
	# migration_races: "N arcs, N fd rounds, N resets in S s", one per suite
	say "$k: races" "$(grep -ho '[0-9]* arcs, [0-9]* fd rounds, [0-9]* resets in [0-9]* s' "$t" |
		awk '{a += $1; f += $3; r += $6; s += $9; n++}
		     END { if (n) printf "%d runs, %d s in all: %d arcs, %d fd rounds, %d resets", n, s, a, f, r }')"
	say "$k: two writers" "$(grep -ho '[0-9]* rounds in [0-9]* s: [0-9]* accepted, [0-9]* refused' "$t" |
		awk '{r += $1; s += $4; n++} END { if (n) printf "%d runs, %d s in all: %d rounds", n, s, r }')"
	# migration_fuzz: "fuzz.sequences seed=0x... ops=N threads=T"
	say "$k: ioctl-sequence fuzzer" "$(grep -h '^# ok [0-9]* fuzz.sequences seed=' "$t" |
		sed 's/.*seed=\(0x[0-9a-f]*\) ops=\([0-9]*\) threads=\([0-9]*\).*/\1 \2 \3/' |
		awk '{o += $2; n++; seeds = seeds (n > 1 ? " " : "") $1}
		     END { if (n) printf "%d runs, %d ops in all (seeds %s)", n, o, seeds }')"
	# migration_faults: "# fault sites: total N", one per suite
	say "$k: fault sites" "$(grep -h '^# # fault sites: total\|^# fault sites: total' "$t" |
		awk '{n += $NF; r++} END { if (r) printf "%d in %d suites", n, r }')"
	# migration_parallel: "N devices migrated at once, R rounds, B bytes in all"
	say "$k: devices at once" "$(grep -ho '[0-9]* devices migrated at once, [0-9]* rounds' "$t" | head -n 1)"
	# vfio_mig_test.sh: golden and cross-kernel streams
	say "$k: golden streams" "$(grep -c '^# ok [0-9]* golden ' "$t") loaded or refused as their version says"
	say "$k: streams of other kernels" "$(grep -h '^# ok [0-9]* .* stream saved on .* loads' "$t" |
		sed 's/.* saved on \([^ ]*\) .*/\1/' | sort | uniq -c | awk '{printf "%s%d from %s", (NR > 1 ? ", " : ""), $1, $2}')"
	# ivshmem_roundtrip: the memory cgroup case
	say "$k: PRE_COPY in a small memory cgroup" "$(grep -h 'ok [0-9]* ivs.precopy_in_small_memcg' "$t" |
		sed 's/^# //' | awk '{ if ($0 ~ /SKIP/) s++; else if ($1 == "ok") p++; else f++ }
		     END { if (p + f + s) printf "%d ENOMEM and no OOM kill, %d failed, %d skipped", p, f, s }')"
done

# The host lane: the bounded libFuzzer run
say "libFuzzer, stream parser (make check)" "$(sed -n 's/^# fuzz: \(.*executions.*\)/\1/p' "$out/host-fuzz.tap" 2>/dev/null | head -n 1)"
say "libFuzzer, refusals reached" "$(sed -n 's/^# fuzz: the corpus reaches \(.*\)/\1/p' "$out/host-fuzz.tap" 2>/dev/null | head -n 1)"
