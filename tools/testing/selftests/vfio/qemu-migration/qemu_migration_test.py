#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qemu_migration_test.py - QEMU live-migrates a VM that holds our device.

Runs as root in the test VM, with two QEMU edu devices bound to
qemu-vfio-pci:

  VFIO_SELFTESTS_BDF    edu A: the source QEMU's device (required)
  VFIO_SELFTESTS_BDF2   edu B: the destination QEMU's device (required)
  QEMU_MIG_QEMU         QEMU binary (default: qemu-system-x86_64)
  QEMU_MIG_IVSHMEM_BDF, QEMU_MIG_IVSHMEM_BDF2
                        two ivshmem-plain devices; default: the first two
                        1af4:1110 devices, which the test binds to
                        qemu-vfio-pci for the ivshmem case (and gives back)
  QEMU_MIG_KEEP=1       keep the work directory (QEMU logs and traces)

A nested QEMU (TCG, 32 MiB, no guest code: its BIOS is hlt instructions)
gets edu A through vfio-pci with enable-migration=on.  The test programs
the device through the nested machine (qtest: config cycles map BAR0,
MMIO reaches the real device through vfio-pci), migrates the VM with QMP to
a second QEMU that holds edu B and reads the registers back there.  QEMU's
vfio trace events show which migration states the devices went through:
the source PRE_COPY (if the device advertises it) and STOP_COPY, the
destination RESUMING.  A migration cancelled in PRE_COPY must leave the
source device RUNNING with its registers intact.

Output is TAP; exit 0 pass, 1 fail, 4 skip (no usable devices or QEMU).
"""

import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qvp_qemu as qq  # noqa: E402
from qvp_qemu import TestError  # noqa: E402

KSFT_PASS, KSFT_FAIL, KSFT_SKIP = 0, 1, 4
DRIVER = "qemu-vfio-pci"
WATCHDOG_S = int(os.environ.get("QEMU_MIG_WATCHDOG", "600"))

# The nested machine: the vfio-pci device is in slot 4 of bus 0 and its
# BARs are placed here (below the 4 GiB PCI hole's fixed devices).
SLOT = 4
EDU_BAR0 = 0xe0000000
IVSHMEM_BAR2 = 0xc0000000

EDU_ID = 0x00
EDU_LIVENESS = 0x04
EDU_FACTORIAL = 0x08
EDU_STATUS = 0x20
EDU_STATUS_COMPUTING = 0x01
EDU_STATUS_IRQFACT = 0x80
EDU_DMA_SRC = 0x80
EDU_DMA_DST = 0x88
EDU_DMA_COUNT = 0x90

# How long a migration may stay "active" before the test calls it hung.  A
# hang detector, not a performance target (make bench measures speed): the
# 64 MiB ivshmem migration runs nested under TCG and took over 90 s on a
# loaded 2-core host, well inside the runner's 900 s for the program.
MIG_TIMEOUT = 300
PLAN = [
    "edu: source QEMU drives edu A through vfio-pci",
    "edu: QEMU live migration to edu B completes",
    "edu: destination reads back the source's registers",
    "edu: source device went through the advertised save states",
    "edu: destination device went through RESUMING",
    "edu: migrate_cancel in pre-copy leaves the source device RUNNING",
    "edu: source registers intact and device working after the cancel",
    "edu: the cancelled source then migrates to edu B",
    "ivshmem: QEMU live migration keeps BAR2 contents",
]


class Tap:
    def __init__(self, plan):
        self.plan = plan
        self.n = 0
        self.failed = 0
        self.done = set()
        print("TAP version 13")
        print(f"1..{len(plan)}")
        sys.stdout.flush()

    def _num(self, name):
        self.done.add(name)
        return self.plan.index(name) + 1

    def ok(self, name):
        print(f"ok {self._num(name)} {name}")
        sys.stdout.flush()

    def fail(self, name, why):
        self.failed += 1
        for line in str(why).splitlines():
            print(f"# {line}")
        print(f"not ok {self._num(name)} {name}")
        sys.stdout.flush()

    def skip(self, name, why):
        print(f"ok {self._num(name)} {name} # SKIP {why}")
        sys.stdout.flush()

    def diag(self, msg):
        for line in str(msg).splitlines():
            print(f"# {line}")
        sys.stdout.flush()

    def skip_rest(self, why, names=None):
        for name in names or self.plan:
            if name not in self.done:
                self.skip(name, why)


def skip_all(why):
    print("TAP version 13")
    print(f"1..0 # SKIP {why}")
    sys.exit(KSFT_SKIP)


class Run:
    """Work directory, the QEMUs started so far, and the bound devices."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="qemu_migration_test.")
        self.qemus = []
        self.rebind = []
        self.bios = os.path.join(self.dir, "hlt.bin")
        with open(self.bios, "wb") as f:
            f.write(b"\xf4" * 65536)

    def qemu(self, name, device_args, incoming=None, extra=()):
        q = qq.Qemu(name, self.dir, self.bios, device_args, incoming, extra)
        self.qemus.append(q)
        q.start()
        return q

    def quit_all(self):
        """Stop every QEMU (so that the devices are free again)."""
        for q in self.qemus:
            q.quit()

    def cleanup(self):
        for q in self.qemus:
            q.kill()
        for bdf, prev in self.rebind:
            try:
                qq.pci_restore(bdf, prev)
            except OSError as e:
                print(f"# could not give {bdf} back to {prev}: {e}")
        if os.environ.get("QEMU_MIG_KEEP") == "1":
            print(f"# work directory kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vfio_device(bdf):
    # Our device has no DMA dirty tracking, so QEMU only accepts it for
    # migration with enable-migration=on (with a warning), and then
    # considers all guest RAM dirty in every pre-copy round: the RAM stage
    # never converges unless x-pre-copy-dirty-page-tracking=off leaves the
    # dirty-everything sync to the final (stop-copy) pass.
    return (f"vfio-pci,host={bdf},id=dev0,addr={SLOT:#x}.0,"
            "enable-migration=on,x-pre-copy-dirty-page-tracking=off")


def mig_caps(q, caps):
    q.cmd("migrate-set-capabilities",
          capabilities=[{"capability": c, "state": True} for c in caps])


# Capabilities on both sides: the return path lets the source see a
# failure to load on the destination; switchover-ack makes the source wait
# until the destination has loaded the device's PRE_COPY initial data.
CAPS = ["return-path", "switchover-ack"]


def incoming(q, port):
    mig_caps(q, CAPS)
    q.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{port}",
          **{"exit-on-error": False})


def report_figures(tap, who, info):
    parts = []
    for key in ("total-time", "downtime", "setup-time"):
        if key in info:
            parts.append(f"{key} {info[key]} ms")
    ram = info.get("ram", {})
    if "transferred" in ram:
        parts.append(f"ram {ram['transferred']} bytes")
    vfio = info.get("vfio", {})
    if "transferred" in vfio:
        parts.append(f"vfio {vfio['transferred']} bytes")
    tap.diag(f"{who} query-migrate: status {info.get('status')}, "
             + ", ".join(parts))


def migrate(tap, src, dst, port, timeout=MIG_TIMEOUT):
    """Migrate @src to @dst (incoming on @port); returns the source's final
    query-migrate, raises TestError unless both sides completed."""
    t0 = time.monotonic()
    marks = [(q, q.output_size()) for q in (src, dst)]
    src.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
    info = src.wait_migration(("completed", "failed", "cancelled"), timeout)
    report_figures(tap, src.name, info)
    dinfo = dst.wait_migration(("completed", "failed"), 30)
    tap.diag(f"migration took {time.monotonic() - t0:.1f}s wall clock; "
             f"destination status {dinfo.get('status')}")
    errors = []
    if info.get("status") != "completed":
        errors.append(f"source migration {info.get('status')}: "
                      f"{info.get('error-desc', 'no error-desc')}")
    if dinfo.get("status") != "completed":
        errors.append(f"destination migration {dinfo.get('status')}: "
                      f"{dinfo.get('error-desc', 'no error-desc')}")
    if errors:
        raise TestError("; ".join(errors))
    errors = device_errors(marks)
    if errors:
        raise DeviceError("QEMU reports the migration completed, but: "
                          + "; ".join(errors))
    return info


class DeviceError(TestError):
    """The migration completed, but QEMU reported a device error."""


# QEMU does not fail a migration whose device cannot leave RESUMING (or
# cannot be set to any state after the stream was loaded): the VM state
# change handler resets the device and the VM runs on, with the device's
# state lost.  Only its output tells.
DEVICE_ERRORS = ("Failed setting device state", "Resetting device")


def device_errors(marks):
    """QEMU's error reports (its warnings excepted): @marks is a list of
    (Qemu, output offset to look from)."""
    prog = os.path.basename(qq.QEMU_BIN) + ":"
    found = []
    for q, since in marks:
        for line in q.output(since).splitlines():
            if any(e in line for e in DEVICE_ERRORS) or \
                    (line.startswith(prog) and "warning:" not in line):
                found.append(f"{q.name} QEMU: {line.strip()}")
    return found


# ------------------------------------------------------------------------
# edu through the nested machine

def edu_setup(q):
    pci = qq.Pci(q, SLOT)
    ids = pci.read32(0x00)
    if ids != 0x11e81234:
        raise TestError(f"{q.name}: slot {SLOT} has vendor:device "
                        f"{ids & 0xffff:04x}:{ids >> 16:04x}, not edu")
    pci.map_bar(0, EDU_BAR0)
    pci.enable_memory()
    ident = q.readl(EDU_BAR0 + EDU_ID)
    if ident & 0xffff != 0xed:
        raise TestError(f"{q.name}: edu ID register reads {ident:#x} "
                        f"through the nested machine")
    return pci


def edu_wait_idle(q, base, timeout=5):
    when = qq.deadline(timeout)
    while q.readl(base + EDU_STATUS) & EDU_STATUS_COMPUTING:
        if qq.expired(when):
            raise TestError(f"{q.name}: factorial still computing "
                            f"after {timeout}s")
        time.sleep(0.01)


def edu_program(q, base, st):
    """Give the device the registers of @st (a dict as edu_read returns)."""
    q.writel(base + EDU_STATUS, 0)
    q.writel(base + EDU_FACTORIAL, st["n"])
    edu_wait_idle(q, base)
    q.writel(base + EDU_STATUS, st["status"])
    q.writel(base + EDU_LIVENESS, st["liveness_in"])
    q.writeq(base + EDU_DMA_SRC, st["dma_src"])
    q.writeq(base + EDU_DMA_DST, st["dma_dst"])
    q.writeq(base + EDU_DMA_COUNT, st["dma_count"])


def edu_read(q, base):
    return {
        "liveness": q.readl(base + EDU_LIVENESS),
        "factorial": q.readl(base + EDU_FACTORIAL),
        "status": q.readl(base + EDU_STATUS),
        "dma_src": q.readq(base + EDU_DMA_SRC),
        "dma_dst": q.readq(base + EDU_DMA_DST),
        "dma_count": q.readq(base + EDU_DMA_COUNT),
    }


def factorial32(n):
    r = 1
    for i in range(2, n + 1):
        r = (r * i) & 0xffffffff
    return r


def edu_state(n, liveness, status, src, dst, count):
    """Registers to program and what reading them back must give."""
    prog = {"n": n, "liveness_in": liveness, "status": status,
            "dma_src": src, "dma_dst": dst, "dma_count": count}
    want = {"liveness": ~liveness & 0xffffffff, "factorial": factorial32(n),
            "status": status, "dma_src": src, "dma_dst": dst,
            "dma_count": count}
    return prog, want


def compare(got, want):
    bad = [f"{k}: got {got[k]:#x}, want {want[k]:#x}"
           for k in want if got[k] != want[k]]
    return bad


def fmt_regs(r):
    return ", ".join(f"{k} {v:#x}" for k, v in r.items())


# ------------------------------------------------------------------------
# trace checks

def check_source_states(states, precopy):
    """The source's device states during a completed migration."""
    if precopy:
        need = ["PRE_COPY", "STOP_COPY"]
    else:
        need = ["STOP_COPY"]
    pos = 0
    for s in need:
        try:
            pos = states.index(s, pos) + 1
        except ValueError:
            return f"no {s} (after {' '.join(need[:need.index(s)]) or 'start'})"
    if not precopy and "PRE_COPY" in states:
        return "PRE_COPY although the device does not advertise it"
    return None


def check_dest_states(states):
    """RESUMING, then RUNNING_P2P (QEMU's vm-state handler steps through
    it as the device advertises P2P: the kernel's RESUMING -> STOP arc, which
    commits the stream, is on that way), then RUNNING."""
    try:
        i = states.index("RESUMING")
    except ValueError:
        return "no RESUMING"
    if states[i + 1:i + 3] != ["RUNNING_P2P", "RUNNING"]:
        return ("not RESUMING -> RUNNING_P2P -> RUNNING "
                "(leaving RESUMING failed?)")
    return None


# ------------------------------------------------------------------------
# the edu cases

def edu_migration(tap, run, a, b, precopy):
    try:
        edu_migration_steps(tap, run, a, b, precopy)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", PLAN[0:5])


def edu_migration_steps(tap, run, a, b, precopy):
    t = PLAN
    prog, want = edu_state(10, 0x12345678, EDU_STATUS_IRQFACT,
                           0x1234_5000, 0x4_0000, 0x800)

    # 1. the source drives the device through vfio-pci
    try:
        src = run.qemu("src", vfio_device(a))
        dst = run.qemu("dst", vfio_device(b), incoming="defer")
        tap.diag(f"source: {src.cmdline()}")
        warn = [l for l in src.output().splitlines() if l.strip()]
        for line in warn:
            tap.diag(f"source QEMU says: {line}")
        edu_setup(src)
        edu_program(src, EDU_BAR0, prog)
        got = edu_read(src, EDU_BAR0)
        bad = compare(got, want)
        if bad:
            raise TestError("registers read back wrong on the source: "
                            + "; ".join(bad))
        tap.diag(f"source registers: {fmt_regs(got)}")
        src_states0 = src.device_states()
        tap.diag(f"source device states at start: {' '.join(src_states0)}")
        tap.ok(t[0])
    except TestError as e:
        tap.fail(t[0], e)
        return False

    # 2. migrate
    try:
        port = free_port()
        incoming(dst, port)
        mig_caps(src, CAPS)
        src_mark = src.trace_size()
        try:
            migrate(tap, src, dst, port)
            dst.wait_run_state("running", 30)
            tap.ok(t[1])
        except DeviceError as e:
            # Look at what the destination holds all the same.
            tap.fail(t[1], e)
    except TestError as e:
        tap.fail(t[1], e)
        for q in (src, dst):
            tap.diag(f"{q.name} device states: {' '.join(q.device_states())}")
            tap.diag(f"{q.name}: {q.output_tail()}")
        return False

    # 3. the destination's registers
    try:
        pci = qq.Pci(dst, SLOT)
        bar = pci.bar_addr(0)
        cmd = pci.read16(0x04)
        if bar != EDU_BAR0 or not cmd & 0x2:
            raise TestError(f"destination config space: BAR0 {bar:#x}, "
                            f"command {cmd:#x} (want {EDU_BAR0:#x} with "
                            f"memory decoding)")
        got = edu_read(dst, bar)
        tap.diag(f"destination registers: {fmt_regs(got)}")
        bad = compare(got, want)
        if bad:
            raise TestError("destination registers differ: " + "; ".join(bad))
        tap.ok(t[2])
    except TestError as e:
        tap.fail(t[2], e)

    # 4, 5. the trace
    s_states = src.device_states(src_mark)
    d_states = dst.device_states()
    path = ("PRE_COPY -> STOP_COPY" if "PRE_COPY" in s_states
            else "STOP_COPY only")
    tap.diag(f"source device states: {' '.join(s_states)} (path: {path})")
    tap.diag(f"destination device states: {' '.join(d_states)}")
    why = check_source_states(s_states, precopy)
    if why:
        tap.fail(t[3], f"source trace: {why}")
    else:
        tap.ok(t[3])
    why = check_dest_states(d_states)
    if why:
        tap.fail(t[4], f"destination trace: {why}")
    else:
        tap.ok(t[4])
    return True


def edu_cancel(tap, run, a, b, precopy):
    try:
        edu_cancel_steps(tap, run, a, b, precopy)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", PLAN[5:8])


def wait_precopy_stage(src, mark, precopy, timeout=30):
    """Wait until the migration is active and, if the device advertises
    PRE_COPY, the device is in it."""
    when = qq.deadline(timeout)
    while True:
        info = src.query_migrate()
        status = info.get("status")
        if status not in ("setup", "active"):
            raise TestError(f"migration {status} before it could be "
                            f"cancelled: {info.get('error-desc', '')}")
        if status == "active" and \
                (not precopy or "PRE_COPY" in src.device_states(mark)):
            return
        if qq.expired(when):
            raise TestError(f"migration {status}, device states "
                            f"{' '.join(src.device_states(mark)) or 'none'} "
                            f"after {timeout}s; no PRE_COPY stage")
        time.sleep(0.05)


def edu_cancel_steps(tap, run, a, b, precopy):
    t = PLAN
    prog, want = edu_state(7, 0xa5a5f00d, 0, 0xdead_b000, 0x4_1000, 0x40)
    try:
        src = run.qemu("src-cancel", vfio_device(a))
        edu_setup(src)
        edu_program(src, EDU_BAR0, prog)
        bad = compare(edu_read(src, EDU_BAR0), want)
        if bad:
            raise TestError("source registers wrong before migrating: "
                            + "; ".join(bad))
        # A few KiB/s keep the RAM stage (and so PRE_COPY) going for
        # minutes; the destination is a sink.
        src.cmd("migrate-set-parameters", **{"max-bandwidth": 4096})
        mark = src.trace_size()
        src.cmd("migrate", uri="exec:cat >/dev/null")
        wait_precopy_stage(src, mark, precopy)
        src.cmd("migrate_cancel")
        info = src.wait_migration(("cancelled", "failed", "completed"), 30)
        if info.get("status") != "cancelled":
            raise TestError(f"migration {info.get('status')} after "
                            "migrate_cancel")
        src.wait_run_state("running", 10)
        states = src.device_states(mark)
        tap.diag(f"source device states: {' '.join(states) or 'none'}")
        if precopy:
            last = states[-1] if states else "none"
            if last != "RUNNING":
                raise TestError(f"device state after the cancel is {last}, "
                                "not RUNNING")
        elif states:
            raise TestError("the device changed state although it has no "
                            "PRE_COPY stage")
        tap.ok(t[5])
    except TestError as e:
        tap.fail(t[5], e)
        return

    try:
        got = edu_read(src, EDU_BAR0)
        bad = compare(got, want)
        if bad:
            raise TestError("registers changed by the cancelled migration: "
                            + "; ".join(bad))
        src.writel(EDU_BAR0 + EDU_FACTORIAL, 5)
        edu_wait_idle(src, EDU_BAR0)
        f = src.readl(EDU_BAR0 + EDU_FACTORIAL)
        if f != 120:
            raise TestError(f"5! computes to {f:#x} after the cancel")
        want["factorial"] = 120
        tap.ok(t[6])
    except TestError as e:
        tap.fail(t[6], e)
        return

    # The same source migrates for real now.
    try:
        dst = run.qemu("dst-retry", vfio_device(b), incoming="defer")
        port = free_port()
        incoming(dst, port)
        # The return path needs a channel both ways, which the exec: sink
        # of the cancelled migration is not: set the capabilities now.
        mig_caps(src, CAPS)
        src.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        mark = src.trace_size()
        migrate(tap, src, dst, port)
        dst.wait_run_state("running", 30)
        got = edu_read(dst, qq.Pci(dst, SLOT).bar_addr(0))
        bad = compare(got, want)
        why = check_source_states(src.device_states(mark), precopy)
        tap.diag(f"source device states: {' '.join(src.device_states(mark))}")
        if bad:
            raise TestError("destination registers differ: " + "; ".join(bad))
        if why:
            raise TestError(f"source trace: {why}")
        tap.ok(t[7])
    except TestError as e:
        tap.fail(t[7], e)


# ------------------------------------------------------------------------
# ivshmem

IVSHMEM_ID = (0x1af4, 0x1110)


def ivshmem_devices(run):
    """Two ivshmem devices bound to qemu-vfio-pci, or (None, reason)."""
    env = [os.environ.get("QEMU_MIG_IVSHMEM_BDF"),
           os.environ.get("QEMU_MIG_IVSHMEM_BDF2")]
    if all(env):
        devs = [qq.normalise_bdf(d) for d in env]
    else:
        # Two ivshmem-plain of the same BAR2 size, the smallest there are
        # (64 MiB).  An ivshmem-doorbell has the same ID and a BAR1 (its
        # MSI-X table); the driver refuses it.
        devs = sorted((d for d in qq.pci_devices(*IVSHMEM_ID)
                       if not os.path.exists(
                           f"/sys/bus/pci/devices/{d}/resource1")),
                      key=qq_bar_size)
        devs = [d for d in devs if devs and
                qq_bar_size(d) == qq_bar_size(devs[0])][:2]
    if len(devs) < 2:
        return None, "fewer than two ivshmem-plain devices of one size"
    for bdf in devs:
        if qq.pci_driver(bdf) == DRIVER:
            continue
        try:
            prev = qq.pci_bind(bdf, DRIVER)
            run.rebind.append((bdf, prev))
        except OSError:
            return None, ("ivshmem backend not available (qemu-vfio-pci "
                          f"does not bind ivshmem {bdf})")
    for bdf in devs:
        flags = qq.vfio_migration_flags(bdf)
        if not flags & qq.VFIO_MIGRATION_STOP_COPY:
            return None, ("ivshmem backend not available "
                          f"({bdf} advertises no migration)")
    return devs, None


def ivshmem_case(tap, run):
    try:
        ivshmem_steps(tap, run)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", PLAN[8:9])


def ivshmem_steps(tap, run):
    name = PLAN[8]
    devs, why = ivshmem_devices(run)
    if not devs:
        tap.skip(name, why)
        return
    a, b = devs
    flags = qq.vfio_migration_flags(a)
    tap.diag(f"ivshmem A {a}, B {b}, migration flags "
             f"{qq.mig_flags_str(flags)}")
    chunk = 1 << 20
    try:
        src = run.qemu("ivsrc", vfio_device(a))
        dst = run.qemu("ivdst", vfio_device(b), incoming="defer")
        pci = qq.Pci(src, SLOT)
        pci.map_bar(2, IVSHMEM_BAR2, is64=True)
        pci.enable_memory()
        size = qq_bar_size(b)
        # A pattern that differs per MiB: a fill byte per chunk, and a
        # random-looking stamp at each chunk's start.
        t0 = time.monotonic()
        stamps = {}
        for i in range(size // chunk):
            src.memset(IVSHMEM_BAR2 + i * chunk, chunk, (i * 37 + 11) & 0xff)
            stamp = os.urandom(64)
            src.b64write(IVSHMEM_BAR2 + i * chunk, stamp)
            stamps[i] = stamp
        want = bar_checksum(src, IVSHMEM_BAR2, size, chunk)
        tap.diag(f"ivshmem BAR2 {size >> 20} MiB written and summed in "
                 f"{time.monotonic() - t0:.1f}s, sha256 {want[:16]}")
        port = free_port()
        incoming(dst, port)
        mig_caps(src, CAPS)
        mark = src.trace_size()
        migrate(tap, src, dst, port)
        dst.wait_run_state("running", 30)
        dpci = qq.Pci(dst, SLOT)
        bar = dpci.bar_addr(2, is64=True)
        got = bar_checksum(dst, bar, size, chunk)
        tap.diag(f"ivshmem source states: {' '.join(src.device_states(mark))}")
        tap.diag(f"ivshmem destination states: "
                 f"{' '.join(dst.device_states())}")
        if got != want:
            raise TestError(f"BAR2 checksum on the destination {got[:16]}, "
                            f"source {want[:16]}")
        why = check_source_states(src.device_states(mark),
                                  flags & qq.VFIO_MIGRATION_PRE_COPY)
        why = why or check_dest_states(dst.device_states())
        if why:
            raise TestError(f"trace: {why}")
        tap.ok(name)
    except TestError as e:
        tap.fail(name, e)


def qq_bar_size(bdf):
    with open(f"{qq.PCI_SYSFS}/{bdf}/resource") as f:
        lines = f.read().splitlines()
    start, end, _ = (int(x, 16) for x in lines[2].split())
    return end - start + 1 if end else 0


def bar_checksum(q, addr, size, chunk):
    import hashlib
    h = hashlib.sha256()
    for off in range(0, size, chunk):
        h.update(q.b64read(addr + off, chunk))
    return h.hexdigest()


# ------------------------------------------------------------------------

def main():
    a = os.environ.get("VFIO_SELFTESTS_BDF", "")
    b = os.environ.get("VFIO_SELFTESTS_BDF2", "")
    if not a or not b:
        skip_all("VFIO_SELFTESTS_BDF and VFIO_SELFTESTS_BDF2 must name two "
                 "edu devices bound to qemu-vfio-pci")
    a, b = qq.normalise_bdf(a), qq.normalise_bdf(b)
    if os.geteuid() != 0:
        skip_all("must run as root")
    for bdf in (a, b):
        if not os.path.exists(f"{qq.PCI_SYSFS}/{bdf}"):
            skip_all(f"no PCI device {bdf}")
        if qq.pci_driver(bdf) != DRIVER:
            skip_all(f"{bdf} is bound to {qq.pci_driver(bdf)}, "
                     f"not {DRIVER}")
    if not shutil.which(qq.QEMU_BIN):
        skip_all(f"no {qq.QEMU_BIN}")
    try:
        flags = qq.vfio_migration_flags(a)
    except OSError as e:
        skip_all(f"cannot query the VFIO migration flags of {a}: {e}")
    if not flags & qq.VFIO_MIGRATION_STOP_COPY:
        skip_all(f"{a} does not advertise VFIO migration")
    precopy = bool(flags & qq.VFIO_MIGRATION_PRE_COPY)

    tap = Tap(PLAN)
    ver = os.popen(f"{qq.QEMU_BIN} --version").readline().strip()
    tap.diag(f"{ver}; edu A {a} -> edu B {b}; migration flags of A: "
             f"{qq.mig_flags_str(flags)}")
    run = Run()

    def on_alarm(signum, frame):
        raise TestError(f"watchdog: the test ran for over {WATCHDOG_S}s")

    def on_term(signum, frame):
        raise SystemExit(KSFT_FAIL)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(WATCHDOG_S)
    t0 = time.monotonic()
    try:
        edu_migration(tap, run, a, b, precopy)
        edu_cancel(tap, run, a, b, precopy)
        ivshmem_case(tap, run)
    except TestError as e:
        tap.diag(f"aborted: {e}")
        tap.failed += 1
    except Exception:
        tap.diag(traceback.format_exc())
        tap.failed += 1
    finally:
        signal.alarm(0)
        run.cleanup()
    tap.skip_rest("not reached")
    tap.diag(f"suite took {time.monotonic() - t0:.1f}s")
    if tap.failed:
        print(f"# {tap.failed} failed")
        return KSFT_FAIL
    return KSFT_PASS


if __name__ == "__main__":
    sys.exit(main())
