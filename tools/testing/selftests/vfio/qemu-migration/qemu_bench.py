#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qemu_bench.py - what a QEMU user sees when QEMU migrates our devices.

Runs as root in the test VM (make bench, scripts/bench-guest.sh), with
the devices bound to qemu-vfio-pci:

  QVP_BENCH_EDU         "A B": two edu devices
  QVP_BENCH_IVSHMEM     "A B [A2 B2 ...]": pairs of ivshmem-plain devices,
                        each pair of one BAR2 size
  QVP_BENCH_JSON        file to append one JSON line per case to
  QEMU_MIG_QEMU         QEMU binary (default: qemu-system-x86_64)

Each case migrates a nested QEMU (TCG, no guest code, as in
qemu_migration_test.py) from a source to a destination QEMU in this VM,
with QEMU's default migration parameters, and reports what query-migrate
says: total time, downtime, setup time, the bytes sent for RAM and for
VFIO, and the RAM stage's dirty syncs (pre-copy rounds); from QEMU's
trace, how many times QEMU read a block of device data while pre-copy
ran and how large the blocks were.  The cases:

  base-32M          32 MiB of RAM, no device: the machine the edu runs in
  edu               the same machine with edu A, migrated to edu B
  base-N            32 + N MiB of RAM, N MiB of it filled (not zero), no
                    device: the RAM-only baseline of an ivshmem of N MiB
  ivshmem-N         32 MiB of RAM and ivshmem A (BAR2 of N MiB, filled
                    from this VM), migrated to ivshmem B; B's BAR2 is
                    checked against A's afterwards
  edu-512M-log      512 MiB of RAM, all filled, and edu A: QEMU's default
                    mode, which tracks the device's DMA with its DMA log
  edu-512M-nolog    the same with enable-migration=on and
                    x-pre-copy-dirty-page-tracking=off: QEMU cannot know
                    what the device wrote, and sends all RAM again while
                    the VM is stopped

  ivshmem-64M-multifd
                    ivshmem-64M once more with the device state of the
                    switch-over sent over multifd channels (the multifd
                    capability, x-migration-multifd-transfer=on), where
                    the QEMU has it

Under each row with device data, the driver's CPU time on each side
(source, destination, other: a kworker's scan): the kernel's
function_graph tracer times the driver's entry points (read() and
write() on the data fds, their ioctls and poll, the state arcs,
MIG_DATA_SIZE, the DMA log's calls, the scan work, and the ivshmem
scans and MMIO brackets within them); the rest of the total time is
QEMU's (its migration loop, the RAM stage, the nested TCG).

and the targets (PASS/FAIL, not a test: the figures are what matters):

  - ivshmem-64M total time at most 3x that of base-64M;
  - edu downtime at most that of base-32M + 50 ms;
  - edu-512M-log downtime at least 5x lower than edu-512M-nolog's.

The edu-512M pair needs DMA logging (a kernel with CONFIG_IOMMUFD_DRIVER):
on other kernels it says so and measures nothing.
"""

import hashlib
import json
import mmap
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qvp_qemu as qq  # noqa: E402
from qvp_qemu import TestError  # noqa: E402
import qemu_migration_test as qmt  # noqa: E402

MIB = 1 << 20
PAGE = 4096
BAR2_OFFSET = 2 << 40		# VFIO_PCI_INDEX_TO_OFFSET(BAR2)
MIG_TIMEOUT = int(os.environ.get("QVP_BENCH_MIG_TIMEOUT", "900"))


class Bench:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="qemu_bench.")
        self.bios = os.path.join(self.dir, "hlt.bin")
        with open(self.bios, "wb") as f:
            f.write(b"\xf4" * 65536)
        self.qemus = []
        self.rows = {}
        self.failed = 0
        self.json = os.environ.get("QVP_BENCH_JSON")
        self.driver = DriverTime()

    def qemu(self, name, device, incoming=None, extra=(), mem_mib=32):
        # Timestamps on the trace lines: the time between iterations.
        extra = ["-msg", "timestamp=on"] + list(extra)
        q = qq.Qemu(name, self.dir, self.bios, device, incoming, extra,
                    mem_mib)
        self.qemus.append(q)
        q.start()
        return q

    def quit_all(self):
        for q in self.qemus:
            q.quit()
        self.qemus = []

    def cleanup(self):
        for q in self.qemus:
            q.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def record(self, case, row):
        self.rows[case] = row
        if self.json:
            with open(self.json, "a") as f:
                f.write(json.dumps(dict(kind="qemu_migration", case=case,
                                        **row)) + "\n")


class DriverTime:
    """Time spent in the driver's entry points during a migration, from
    the kernel's function_graph tracer, limited to those functions (no
    cost elsewhere).  A function this build lacks (the DMA log's, on a
    kernel without CONFIG_IOMMUFD_DRIVER) or the compiler inlined is
    left out and named in missing; why_not says why nothing can be
    timed."""

    TOP = (
        ("qvp_save_read", "read"),
        ("qvp_save_ioctl", "PRECOPY_INFO"),
        ("qvp_save_poll", "poll"),
        ("qvp_resume_write", "write"),
        ("qvp_resume_ioctl", "resume ioctl"),
        ("qvp_set_state", "arcs"),
        ("qvp_get_data_size", "MIG_DATA_SIZE"),
        ("qvp_log_start", "log start"),
        ("qvp_log_read_and_clear", "log report"),
        ("qvp_log_stop", "log stop"),
        ("qvp_scan_work", "scan work"),
    )
    # Called from the functions above: reported, not added to the total.
    # The backend's PRE_COPY scan is called through its ops, so it is
    # never inlined (the core's qvp_precopy_scan() usually is).
    # qvp_mmio_begin() and qvp_mmio_end() bracket each access to a BAR
    # (and turn memory decoding on and off around it if it was off).
    NESTED = (("ivs_precopy_scan", "ivshmem scans"),
              ("qvp_mmio_begin", "MMIO bracket begin"),
              ("qvp_mmio_end", "MMIO bracket end"))
    # A duration of a second or more has no decimals (7 digits of us).
    _LINE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?) us\s*\|\s*(?:\}\s*/\*\s*"
                          r"([A-Za-z0-9_]+)[^*]*\*/|([A-Za-z0-9_]+)"
                          r"(?:\s*\[[^\]]*\])?\(\);)")

    # funcgraph-proc's "comm-tid |" before the duration.
    _PROC_RE = re.compile(r"^\s*\d+\)\s+\S*?-(\d+)\s+\|")
    # The trace's header: fewer entries kept than written is a loss.
    _ENTRIES_RE = re.compile(r"entries-in-buffer/entries-written: "
                             r"(\d+)/(\d+)")

    def __init__(self):
        self.dir = None
        self.funcs = []
        self.missing = []
        self.why_not = None
        for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
            if not os.path.exists(os.path.join(d, "current_tracer")):
                continue
            self.dir = d
            break
        if not self.dir:
            os.system("mount -t tracefs nodev /sys/kernel/tracing "
                      ">/dev/null 2>&1")
            if os.path.exists("/sys/kernel/tracing/current_tracer"):
                self.dir = "/sys/kernel/tracing"
        if not self.dir:
            self.why_not = "no tracefs"
            return
        with open(os.path.join(self.dir, "available_tracers")) as f:
            if "function_graph" not in f.read().split():
                self.why_not = ("the kernel has no function_graph tracer "
                                "(CONFIG_FUNCTION_GRAPH_TRACER)")
                return
        with open(os.path.join(self.dir, "available_filter_functions")) as f:
            have = {ln.split()[0] for ln in f if "[qemu_vfio_pci]" in ln}
        for fn, _ in self.TOP + self.NESTED:
            (self.funcs if fn in have else self.missing).append(fn)
        if not self.funcs:
            self.why_not = ("none of the driver's entry points is "
                            "traceable (is qemu-vfio-pci loaded?)")

    def _put(self, name, value):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(value)

    def start(self):
        if self.why_not:
            return
        self._put("tracing_on", "0")
        self._put("current_tracer", "nop")
        self._put("set_ftrace_filter", "\n".join(self.funcs) + "\n")
        # Each call's own CPU time (not the time it spent scheduled out:
        # both QEMUs share this VM's CPUs), and who made it.
        self._put("options/funcgraph-tail", "1")
        self._put("options/funcgraph-proc", "1")
        self._put("options/sleep-time", "0")
        self._put("trace", "")
        self._put("current_tracer", "function_graph")
        self._put("tracing_on", "1")

    @staticmethod
    def _tgid(tid, cache):
        if tid not in cache:
            cache[tid] = None
            try:
                with open(f"/proc/{tid}/status") as f:
                    for ln in f:
                        if ln.startswith("Tgid:"):
                            cache[tid] = int(ln.split()[1])
            except OSError:
                pass
        return cache[tid]

    # A thread that calls these is the source's or the destination's,
    # whatever else it calls (its state arcs, the MMIO brackets).
    SAVE_SIDE = ("qvp_save_read", "qvp_save_ioctl", "qvp_save_poll")
    RESUME_SIDE = ("qvp_resume_write", "qvp_resume_ioctl")

    def stop(self, sides):
        """{side: {function: [calls, microseconds]}} since start(), and
        whether the trace buffer lost events (the figures are then too
        low).  A call's side is the name in @sides ({name: pid}) of the
        process that made it; for a thread /proc no longer knows (QEMU's
        migration thread has ended by now), "source" if it called the
        save side's functions, "destination" if the resume side's, else
        "other" (a kworker's scan)."""
        if self.why_not:
            return {}, False
        self._put("tracing_on", "0")
        by_pid = {pid: name for name, pid in sides.items()}
        calls, lost = [], False
        with open(os.path.join(self.dir, "trace")) as f:
            for ln in f:
                w = self._ENTRIES_RE.search(ln)
                if (w and w.group(1) != w.group(2)) or "LOST" in ln:
                    lost = True
                m = self._LINE_RE.search(ln)
                if not m:
                    continue
                p = self._PROC_RE.search(ln)
                calls.append((int(p.group(1)) if p else None,
                              m.group(2) or m.group(3), float(m.group(1))))
        self._put("current_tracer", "nop")
        self._put("set_ftrace_filter", "")
        self._put("trace", "")
        side_of, tgids = {}, {}
        for tid, fn, _ in calls:
            if tid in side_of:
                continue
            side = by_pid.get(self._tgid(tid, tgids)) if tid else None
            if side:
                side_of[tid] = side
            elif fn in self.SAVE_SIDE:
                side_of[tid] = "source"
            elif fn in self.RESUME_SIDE:
                side_of[tid] = "destination"
        got = {}
        for tid, fn, us in calls:
            c = got.setdefault(side_of.get(tid, "other"), {})
            c = c.setdefault(fn, [0, 0.0])
            c[0] += 1
            c[1] += us
        return got, lost

    @classmethod
    def summary(cls, got, lost):
        """The row's fields: driver_ms, {side: CPU milliseconds in the
        driver's entry points (nested calls not counted twice)}, and
        driver_parts, {side: {what: {calls, ms}}}."""
        ms, parts = {}, {}
        for side, funcs in sorted(got.items()):
            total = 0.0
            for fn, label in cls.TOP + cls.NESTED:
                if fn not in funcs:
                    continue
                calls, us = funcs[fn]
                parts.setdefault(side, {})[label] = {
                    "calls": calls, "ms": round(us / 1000, 2)}
                if (fn, label) in cls.TOP:
                    total += us
            ms[side] = round(total / 1000, 1)
        return {"driver_ms": ms, "driver_parts": parts,
                "driver_trace_lost": lost}


def filled_file(path, size, filled):
    """A file of @size bytes whose first @filled bytes are not zero (a
    different stamp in each page), the rest zero."""
    page = bytearray(b"\xa5" * PAGE)
    with open(path, "wb") as f:
        for i in range(filled // PAGE):
            page[0:8] = (i + 1).to_bytes(8, "little")
            f.write(page)
        f.truncate(size)


def ram_args(bench, name, mem_mib, filled_mib, incoming):
    """QEMU options for @mem_mib of RAM in a memory backend named "mem":
    on the source, a private mapping of a file whose first @filled_mib
    MiB are not zero (QEMU must send them: a zero page costs it nothing);
    on the destination, plain RAM of the same size."""
    if not filled_mib:
        return []
    size = f"{mem_mib}M"
    if incoming:
        obj = f"memory-backend-ram,id=mem,size={size}"
    else:
        path = os.path.join(bench.dir, f"{name}.ram")
        filled_file(path, mem_mib * MIB, filled_mib * MIB)
        obj = (f"memory-backend-file,id=mem,size={size},mem-path={path},"
               f"share=off")
    return ["-object", obj, "-machine", "memory-backend=mem"]


_TS = r"(?:\d+@(\d+\.\d+):)?"
_SAVE_BLOCK_RE = re.compile(_TS + r"vfio_save_block\s+\(\S+\)\s+"
                            r"data_size\s+(-?\d+)")
_ITERATE_RE = re.compile(_TS + r"vfio_save_iterate\s")
_STOP_COPY_RE = re.compile(r"vfio_migration_set_device_state\s+\(\S+\)\s+"
                           r"state\s+STOP_COPY")


def vfio_blocks(q, since):
    """From QEMU's trace: the device data blocks QEMU read while pre-copy
    ran (vfio_save_iterate, one call per iteration of the migration loop)
    and in the stop-copy pass, with their sizes and the mean time between
    two pre-copy iterations."""
    text = q.trace(since)
    stop = _STOP_COPY_RE.search(text)
    cut = stop.start() if stop else len(text)
    pre = [(m.group(1), int(m.group(2)))
           for m in _SAVE_BLOCK_RE.finditer(text[:cut])]
    post = [int(m.group(2)) for m in _SAVE_BLOCK_RE.finditer(text[cut:])]
    its = [m.group(1) for m in _ITERATE_RE.finditer(text[:cut])]
    gap = None
    stamps = [float(t) for t in its if t]
    if len(stamps) >= 2:
        gap = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return {
        "precopy_iterations": len(its),
        "precopy_blocks": len([s for _, s in pre if s > 0]),
        "precopy_block_max": max([s for _, s in pre] or [0]),
        "precopy_iteration_gap_ms": round(gap * 1000) if gap else None,
        "stopcopy_blocks": len([s for s in post if s > 0]),
    }


def migrate(bench, case, src, dst, caps=qmt.CAPS):
    port = qmt.free_port()
    qmt.incoming(dst, port, caps)
    qmt.mig_caps(src, caps)
    mark = src.trace_size()
    bench.driver.start()
    t0 = time.monotonic()
    try:
        src.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
        info = src.wait_migration(("completed", "failed", "cancelled"),
                                  MIG_TIMEOUT)
        wall = time.monotonic() - t0
    finally:
        got, lost = bench.driver.stop({"source": src.proc.pid,
                                       "destination": dst.proc.pid})
    if info.get("status") != "completed":
        raise TestError(f"{case}: migration {info.get('status')}: "
                        f"{info.get('error-desc', 'no error-desc')}")
    dinfo = dst.wait_migration(("completed", "failed"), 60)
    if dinfo.get("status") != "completed":
        raise TestError(f"{case}: destination {dinfo.get('status')}")
    errors = qmt.device_errors([(src, 0), (dst, 0)])
    if errors:
        raise TestError(f"{case}: " + "; ".join(errors))
    ram = info.get("ram", {})
    row = {
        "total_ms": info.get("total-time"),
        "downtime_ms": info.get("downtime"),
        "setup_ms": info.get("setup-time"),
        "wall_s": round(wall, 2),
        "ram_bytes": ram.get("transferred", 0),
        "ram_dirty_syncs": ram.get("dirty-sync-count", 0),
        "vfio_bytes": info.get("vfio", {}).get("transferred", 0),
    }
    row.update(vfio_blocks(src, mark))
    if not bench.driver.why_not:
        row.update(DriverTime.summary(got, lost))
    return row


def print_row(case, row):
    gap = row.get("precopy_iteration_gap_ms")
    vfio = ""
    if row["vfio_bytes"]:
        vfio = (f", {row['precopy_iterations']} pre-copy iterations "
                f"({row['precopy_blocks']} data blocks of at most "
                f"{row['precopy_block_max'] // 1024} KiB"
                + (f", {gap} ms apart" if gap else "")
                + f"), {row['stopcopy_blocks']} blocks at stop-copy")
    ratio = ""
    if "ratio_to_base" in row:
        ratio = f" ({row['ratio_to_base']:.2f}x {row['base']})"
    print(f"  {case:<16} total {row['total_ms']:>6} ms{ratio}  downtime "
          f"{row['downtime_ms']:>5} ms  setup {row['setup_ms']:>4} ms  "
          f"RAM {row['ram_bytes'] / MIB:7.1f} MiB in "
          f"{row['ram_dirty_syncs']} syncs  VFIO "
          f"{row['vfio_bytes'] / MIB:7.1f} MiB{vfio}", flush=True)
    if "driver_ms" in row and row["vfio_bytes"]:
        total = max(row["total_ms"] or 1, 1)
        for side, ms in row["driver_ms"].items():
            parts = ", ".join(f"{k} {v['ms']} ms in {v['calls']}"
                              for k, v in row["driver_parts"][side].items())
            print(f"  {'':<16} CPU in the driver, {side}: {ms} ms "
                  f"({100 * ms / total:.1f}% of the total time; {parts})",
                  flush=True)
        if row["driver_trace_lost"]:
            print(f"  {'':<16} (the trace lost events: too low)",
                  flush=True)


def run_case(bench, case, fn, base=None):
    """Run case @fn; @base names its RAM-only baseline, whose total
    time the row's is compared with (ratio_to_base)."""
    try:
        row = fn()
    except TestError as e:
        bench.failed += 1
        print(f"  {case:<16} FAILED: {e}", flush=True)
        for q in bench.qemus:
            print(f"    {q.name}: {q.output_tail(3)}", flush=True)
        return None
    finally:
        bench.quit_all()
    b = bench.rows.get(base)
    if b and b["total_ms"] and row["total_ms"] is not None:
        row["base"] = base
        row["ratio_to_base"] = row["total_ms"] / b["total_ms"]
    bench.record(case, row)
    print_row(case, row)
    return row


def base_case(bench, case, mem_mib, filled_mib):
    src = bench.qemu(f"{case}-src", None, None,
                     ram_args(bench, f"{case}-src", mem_mib, filled_mib,
                              False), mem_mib)
    dst = bench.qemu(f"{case}-dst", None, "defer",
                     ram_args(bench, f"{case}-dst", mem_mib, filled_mib,
                              True), mem_mib)
    return migrate(bench, case, src, dst)


def vfio_device(bdf, log):
    """qemu_migration_test's -device argument; without @log also with
    QEMU's device dirty tracking off, for a device that has a DMA log:
    QEMU then tracks as it must for a device without one (all the RAM the
    container maps is dirty at every sync)."""
    dev = qmt.vfio_device(bdf, log)
    return dev if log else dev + ",x-device-dirty-page-tracking=off"


def edu_case(bench, case, a, b, log, mem_mib=32, filled_mib=0):
    src = bench.qemu(f"{case}-src", vfio_device(a, log), None,
                     ram_args(bench, f"{case}-src", mem_mib, filled_mib,
                              False), mem_mib)
    dst = bench.qemu(f"{case}-dst", vfio_device(b, log), "defer",
                     ram_args(bench, f"{case}-dst", mem_mib, filled_mib,
                              True), mem_mib)
    qmt.edu_setup(src)
    prog, _ = qmt.edu_state(10, 0x12345678, qmt.EDU_STATUS_IRQFACT,
                            0x40000, 0x41000, 0x100)
    qmt.edu_program(src, qmt.EDU_BAR0, prog)
    return migrate(bench, case, src, dst)


def bar2(bdf, fn):
    """Run @fn on a writable mapping of @bdf's BAR2 (through VFIO, with
    no QEMU holding the device)."""
    size = qmt.qq_bar_size(bdf)
    with qq.vfio_device_fd(bdf) as dfd:
        m = mmap.mmap(dfd, size, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE, offset=BAR2_OFFSET)
        try:
            return fn(m, size)
        finally:
            m.close()


def fill_bar2(m, size):
    h = hashlib.sha256()
    chunk = bytearray(MIB)
    for i in range(size // MIB):
        chunk[:] = bytes([(i * 37 + 11) & 0xff or 1]) * MIB
        chunk[0:16] = os.urandom(16)
        m[i * MIB:(i + 1) * MIB] = chunk
        h.update(chunk)
    return h.hexdigest()


def sum_bar2(m, size):
    h = hashlib.sha256()
    for off in range(0, size, MIB):
        h.update(m[off:off + MIB])
    return h.hexdigest()


def ivshmem_case(bench, case, a, b, log, multifd=False):
    want = bar2(a, fill_bar2)
    opts, caps = "", qmt.CAPS
    if multifd:
        opts, caps = qmt.MULTIFD_OPTS, qmt.CAPS + ["multifd"]
    src = bench.qemu(f"{case}-src", qmt.vfio_device(a, log) + opts)
    dst = bench.qemu(f"{case}-dst", qmt.vfio_device(b, log) + opts,
                     "defer")
    pci = qq.Pci(src, qmt.SLOT)
    pci.map_bar(2, qmt.IVSHMEM_BAR2, is64=True)
    pci.enable_memory()
    row = migrate(bench, case, src, dst, caps)
    if multifd:
        why = qmt.multifd_used(src, dst, 0)
        if why:
            raise TestError(f"{case}: {why}")
    bench.quit_all()
    got = bar2(b, sum_bar2)
    if got != want:
        raise TestError(f"{case}: B's BAR2 sha256 {got[:16]} after the "
                        f"migration, A's was {want[:16]}")
    return row


def target(ok, text):
    print(f"  {'PASS' if ok else 'FAIL'}: {text}", flush=True)


def main():
    edu = os.environ.get("QVP_BENCH_EDU", "").split()
    ivs = os.environ.get("QVP_BENCH_IVSHMEM", "").split()
    ver = os.popen(f"{qq.QEMU_BIN} --version").readline().strip()
    print(f"QEMU migrations ({ver}, nested TCG, QEMU's default migration "
          f"parameters)", flush=True)
    bench = Bench()
    if bench.driver.why_not:
        print(f"  time in the driver: not measured: {bench.driver.why_not}",
              flush=True)
    elif bench.driver.missing:
        print("  time in the driver: not traceable (not in this build, "
              "or inlined): " + ", ".join(bench.driver.missing), flush=True)
    try:
        log = False
        if len(edu) >= 2:
            log, _ = qmt.dma_logging(edu[:2])
        mode = qmt.mode_name(log)
        print(f"  edu and ivshmem devices: {mode}", flush=True)
        r = bench.rows
        run_case(bench, "base-32M", lambda: base_case(bench, "base-32M",
                                                      32, 0))
        if len(edu) >= 2:
            run_case(bench, "edu", lambda: edu_case(bench, "edu", edu[0],
                                                    edu[1], log),
                     "base-32M")
        for i in range(0, len(ivs) - 1, 2):
            a, b = ivs[i], ivs[i + 1]
            n = qmt.qq_bar_size(a) // MIB
            base = f"base-{n}M"
            run_case(bench, base, lambda: base_case(bench, base, 32 + n, n))
            run_case(bench, f"ivshmem-{n}M",
                     lambda: ivshmem_case(bench, f"ivshmem-{n}M", a, b, log),
                     base)
            if n == 64:
                case = "ivshmem-64M-multifd"
                run_case(bench, case,
                         lambda: ivshmem_case(bench, case, a, b, log, True),
                         base)
        if len(edu) >= 2 and log:
            for case, use in (("edu-512M-log", True),
                              ("edu-512M-nolog", False)):
                run_case(bench, case,
                         lambda: edu_case(bench, case, edu[0], edu[1], use,
                                          512, 512))
        elif len(edu) >= 2:
            print("  edu-512M-log/nolog: not measured: the devices offer "
                  "no DMA logging on this kernel (no "
                  "CONFIG_IOMMUFD_DRIVER); run make bench with "
                  "QVP_BENCH_KERNEL=6.12.117-qvp-debug", flush=True)

        print("targets:", flush=True)
        if "ratio_to_base" in r.get("ivshmem-64M", {}):
            ratio = r["ivshmem-64M"]["ratio_to_base"]
            why = ""
            if ratio > 3 and r["ivshmem-64M"]["precopy_iterations"]:
                row = r["ivshmem-64M"]
                why = (f"; QEMU read {row['precopy_blocks']} blocks of at "
                       f"most {row['precopy_block_max'] // 1024} KiB, one "
                       f"per iteration of its migration loop"
                       + (f", {row['precopy_iteration_gap_ms']} ms apart"
                          if row['precopy_iteration_gap_ms'] else "")
                       + (f"; CPU in the driver: "
                          f"{sum(row['driver_ms'].values())} ms"
                          if "driver_ms" in row else ""))
            target(ratio <= 3, f"ivshmem-64M total time {ratio:.2f}x "
                   f"base-64M's (at most 3x){why}")
        if "edu" in r and "base-32M" in r:
            d, b = r["edu"]["downtime_ms"], r["base-32M"]["downtime_ms"]
            target(d <= b + 50, f"edu downtime {d} ms, base-32M {b} ms "
                   f"(at most +50 ms)")
        if "edu-512M-log" in r and "edu-512M-nolog" in r:
            d1 = r["edu-512M-log"]["downtime_ms"]
            d0 = r["edu-512M-nolog"]["downtime_ms"]
            target(d1 * 5 <= d0, f"edu with 512 MiB of RAM: downtime "
                   f"{d1} ms with device dirty tracking, {d0} ms without "
                   f"(at least 5x lower)")
    finally:
        bench.cleanup()
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
