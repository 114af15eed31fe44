#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM for make bench (see bench.sh): load the driver,
# bind two edus and the ivshmem devices, run qvp_bench on each kind,
# then qemu_bench.py: QEMU migrating them.
set -u
kver=$(uname -r)
out=/qvp/out/$kver
tests=/qvp/tools/testing/selftests/vfio/migration
bench=$out/selftests/qvp_bench
json=/qvp/out/bench.json
txt=/qvp/out/bench.txt

log() { printf '[bench] %s\n' "$*"; }

modprobe vfio-pci || { log "modprobe vfio-pci failed"; exit 1; }
insmod "$out/mod/qemu-vfio-pci.ko" || { log "insmod qemu-vfio-pci failed"; exit 1; }

# shellcheck source=SCRIPTDIR/lib.sh
. /qvp/scripts/lib.sh
test_devices_load || { log "$QVP_TEST_DEVICES is malformed"; exit 1; }
# The devices of scripts/test-devices: the kind "edu", and the
# ivshmem-plain kinds.
mapfile -t edu < <(test_devices_find edu)
ivs=()
for i in "${!td_kind[@]}"; do
	[ "${td_model[i]}" = ivshmem-plain ] || continue
	mapfile -t -O "${#ivs[@]}" ivs < <(test_devices_find "${td_kind[i]}")
done

# The first ivshmem of each size up to 256 MiB: qvp_bench holds a copy
# of BAR2, the whole stream and a memfd of BAR2's size in the guest's
# 3 GiB, which a 1 GiB BAR2 would exhaust (make check covers 1 GiB).
# The QEMU section migrates from the first device of each size to the
# second (by_size2).
declare -A by_size by_size2
for bdf in "${ivs[@]}"; do
	size=$(stat -c %s "/sys/bus/pci/devices/$bdf/resource2")
	[ "$size" -le $((256 << 20)) ] || continue
	if [ -z "${by_size[$size]:-}" ]; then
		by_size[$size]=$bdf
	elif [ -z "${by_size2[$size]:-}" ]; then
		by_size2[$size]=$bdf
	fi
done
picked=("${edu[@]:0:2}")
qemu_ivs=()
for size in $(printf '%s\n' "${!by_size[@]}" | sort -n); do
	picked+=("${by_size[$size]}")
	[ -n "${by_size2[$size]:-}" ] || continue
	picked+=("${by_size2[$size]}")
	qemu_ivs+=("${by_size[$size]}" "${by_size2[$size]}")
done

# The NIC: the igb's two VFs, which the lookup below creates.
mapfile -t igbvf < <(test_devices_find igb-vf)
[ "${#igbvf[@]}" -ge 2 ] && picked+=("${igbvf[@]:0:2}")

for bdf in "${picked[@]}"; do
	[ -n "$bdf" ] && "$tests/vfio_bind.sh" bind "$bdf" qemu-vfio-pci >/dev/null
done

: >"$json"
{
	echo "qemu-vfio-pci benchmark, kernel $kver, $(nproc) vCPUs (TCG)"
	echo "session kernel memory: peak growth of Slab + VmallocUsed during a session"
	for size in $(printf '%s\n' "${!by_size[@]}" | sort -n); do
		"$bench" ivshmem "${by_size[$size]}" "$json"
	done
	echo "arc latencies (single-step VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE) and save cycles"
	[ -n "${edu[0]:-}" ] && "$bench" edu "${edu[0]}" "$json"
	# The floor: an mdev of the kernel's mtty sample, whose migration
	# state is a few bytes of memory with no device behind it.
	if mtty_load_ko "$out/mtty/mtty.ko" >/dev/null && mdev_create "${mtty_uuids[0]}" >/dev/null; then
		"$bench" mtty "${mtty_uuids[0]}" "$json"
		mdev_remove "${mtty_uuids[0]}"
		rmmod mtty
	else
		echo "  mtty: no mtty module or mdev: no floor for the targets below"
	fi
	# The NIC: an igb VF's state migrated into the other with frames
	# flowing both ways (igbvf_traffic's live test), three times: the
	# downtime, the traffic gap and the frames lost on the wire meanwhile,
	# and the size of the stream.
	if [ "${#igbvf[@]}" -ge 2 ]; then
		echo "igb VF live migration (frames flowing both ways; 3 runs)"
		for run in 1 2 3; do
			line=$("$out/selftests/igbvf_traffic" -r igbvf.migrate_live_traffic \
				"${igbvf[0]}" "${igbvf[1]}" 2>&1 | grep 'igbvf live migration:')
			if [[ $line =~ downtime\ ([0-9]+)\ us.*gap\ ([0-9]+)\ us\;\ ([0-9]+)\ of\ the\ ([0-9]+).*stream\ ([0-9]+)\ bytes ]]; then
				echo "  run $run: downtime ${BASH_REMATCH[1]} us, traffic gap ${BASH_REMATCH[2]} us, ${BASH_REMATCH[3]} of ${BASH_REMATCH[4]} frames lost, stream ${BASH_REMATCH[5]} bytes"
				printf '{"kind": "igbvf_live", "run": %d, "downtime_us": %d, "gap_us": %d, "lost": %d, "sent_meanwhile": %d, "stream_bytes": %d}\n' \
					"$run" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" \
					"${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" \
					"${BASH_REMATCH[5]}" >>"$json"
			else
				echo "  run $run: igbvf_traffic's live test printed no figures (it failed or skipped; make check runs it)"
			fi
		done
	else
		echo "igb VF live migration: fewer than two igb VFs in this VM"
	fi
	# QEMU as its users run it: total time and downtime, next to a VM of
	# as much RAM and no device.  qemu_bench JSON [VAR=VALUE...]: one
	# pass, its rows in JSON, with the QEMU that VAR=VALUE name (default:
	# the root filesystem's).
	qemu_bench() {
		local rows=$1
		shift
		env "$@" QVP_BENCH_EDU="${edu[*]:0:2}" \
			QVP_BENCH_IVSHMEM="${qemu_ivs[*]}" QVP_BENCH_JSON="$rows" \
			python3 /qvp/tools/testing/selftests/vfio/qemu-migration/qemu_bench.py
	}
	qemu_bench "$json"
	# The same with QEMU 11.1 (scripts/mkqemu.sh; qemu.env: its binary,
	# modules and data), its rows in a file of their own.
	if [ -r /opt/qemu-11.1/qemu.env ]; then
		mapfile -t qemu11 </opt/qemu-11.1/qemu.env
		qemu_bench "${json%.json}-qemu-11.1.json" "${qemu11[@]}"
	else
		echo "QEMU migrations with QEMU 11.1: not measured: no /opt/qemu-11.1/qemu.env (scripts/mkqemu.sh installs it; make check runs it)"
	fi
	python3 - "$json" <<'PY' 2>/dev/null || true
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mem = {r["size_mib"]: r for r in rows if r["kind"] == "session_memory"}
if len(mem) >= 2:
    vals = [m["save_kib"] for m in mem.values()]
    ok = max(vals) - min(vals) <= 256
    print("session memory independent of size (STOP_COPY, within 256 KiB): %s (%s)"
          % ("PASS" if ok else "FAIL",
             ", ".join("%d MiB: %d KiB" % (k, v["save_kib"]) for k, v in sorted(mem.items()))))
# VFIO_MIG_GET_PRECOPY_INFO (issue target): a query answered from the
# driver's counts must cost the same whatever BAR2's size (the largest
# size's median at most 1.5x the smallest's, plus 2 us of TCG noise); the
# query that scans (once per precopy_scan_ms at most) reads all of BAR2,
# and must cost at least 10x a counted one, or the premise (that the
# other queries did not scan) is not shown.
pi = {r["size_mib"]: r for r in rows if r["kind"] == "precopy_info"}
if len(pi) >= 2:
    lo, hi = min(pi), max(pi)
    a, b = pi[lo]["query_median_us"], pi[hi]["query_median_us"]
    ok = b <= 1.5 * a + 2
    for k, v in sorted(pi.items()):
        if v["scan_median_ms"] * 1e3 < 10 * v["query_median_us"]:
            ok = False
            print("VFIO_MIG_GET_PRECOPY_INFO at %d MiB: the query after precopy_scan_ms costs %.1f ms, not 10x a counted one's %.1f us: it did not scan"
                  % (k, v["scan_median_ms"], v["query_median_us"]))
    print("VFIO_MIG_GET_PRECOPY_INFO from counts independent of BAR2 size (%d MiB's median <= 1.5x %d MiB's + 2 us): %s (%s); "
          "a query that scans: %s (a pass over BAR2, at most once per precopy_scan_ms)"
          % (hi, lo, "PASS" if ok else "FAIL",
             ", ".join("%d MiB: %.1f us" % (k, v["query_median_us"]) for k, v in sorted(pi.items())),
             ", ".join("%d MiB: %.1f ms" % (k, v["scan_median_ms"]) for k, v in sorted(pi.items()))))
# edu against the mtty sample's floor (issue targets): RUNNING->STOP
# median at most 2x mtty's, the save cycle's at most 3x, each p99 at most
# 10x its median.
stop = {r["device"]: r for r in rows if r["kind"] == "arc" and r["arc"] == "RUNNING->STOP"}
cyc = {r["device"]: r for r in rows if r["kind"] == "cycle"}
if "edu" in stop and "mtty" in stop and "edu" in cyc and "mtty" in cyc:
    for what, d, lim in (("RUNNING->STOP", stop, 2), ("save cycle", cyc, 3)):
        e, m = d["edu"]["median_us"], d["mtty"]["median_us"]
        r = e / m if m else float("inf")
        print("edu %s median %.1f us = %.1fx mtty's %.1f us (target <= %dx): %s"
              % (what, e, r, m, lim, "PASS" if r <= lim else "FAIL"))
        for dev in ("edu", "mtty"):
            p, q = d[dev]["p99_us"], d[dev]["median_us"]
            print("%s %s p99 %.1f us = %.1fx its median (target <= 10x): %s"
                  % (dev, what, p, p / q if q else float("inf"),
                     "PASS" if q and p <= 10 * q else "FAIL"))
    mmio = [r for r in rows if r["kind"] == "mmio" and r["device"] == "edu"]
    if mmio:
        one = mmio[0]["median_us"]
        print("why: one register read of edu costs %.1f us here (a VM exit to QEMU, through the"
              " driver's trapped page); edu's RUNNING->STOP takes as long as %.0f of them (it makes"
              " some 18 accesses to the device from the kernel), mtty's"
              " arcs touch only memory (porting guide, \"What an arc costs\")"
              % (one, stop["edu"]["median_us"] / one if one else 0))
else:
    print("edu against mtty: not measured (no mtty, or no edu)")
PY
} 2>&1 | tee "$txt"

for bdf in "${picked[@]}"; do
	[ -n "$bdf" ] && "$tests/vfio_bind.sh" restore "$bdf" >/dev/null
done
rmmod qemu_vfio_pci
echo done >"$out/bench.status"
