#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qemu_migration_test.py - QEMU live-migrates a VM that holds our device.

Runs as root in the test VM, with two QEMU edu devices bound to
qemu-vfio-pci:

  VFIO_SELFTESTS_BDF    edu A: the source QEMU's device (required)
  VFIO_SELFTESTS_BDF2   edu B: the destination QEMU's device (required)
  QEMU_MIG_QEMU         QEMU binary (default: qemu-system-x86_64, which
                        must then be on $PATH, else the test skips; a
                        QEMU_MIG_QEMU that does not run fails)
  QEMU_MIG_DATADIR      QEMU's data directories, colon-separated, each
                        passed as -L (for a QEMU installed elsewhere
                        than its build's prefix; scripts/mkqemu.sh)
  QEMU_MODULE_DIR       QEMU's own variable: where that QEMU finds its
                        modules
  QEMU_MIG_IVSHMEM_BDF, QEMU_MIG_IVSHMEM_BDF2
                        two ivshmem-plain devices; default: the first two
                        1af4:1110 devices, which the test binds to
                        qemu-vfio-pci for the ivshmem case (and gives back)
  QEMU_MIG_KEEP=1       keep the work directory (QEMU logs and traces)
  QEMU_MIG_ONLY         run only these groups of cases (space-separated,
                        of: cancel dirty ivshmem incompat iommufd
                        multifd; the case with both iommufd and multifd
                        runs if both are named); the others print a SKIP
                        that names the variable.  The first edu
                        migration, which the others build on, always
                        runs.  Default: all.  make check's debug kernel
                        runs "dirty iommufd multifd", the cases that
                        need its DMA logging or iommufd (and its QEMU
                        10.0 suite the cancel group too); Debian's
                        kernels run every group they can

With --plan it prints what QEMU_MIG_ONLY makes of each line of the plan
("run<TAB>NAME" or "skip<TAB>NAME<TAB>REASON") and touches nothing.

A nested QEMU (TCG, 32 MiB, no guest code: its BIOS is hlt instructions)
gets edu A through vfio-pci.  The test programs the device through the
nested machine (qtest: config cycles map BAR0, MMIO reaches the real device
through vfio-pci), migrates the VM with QMP to a second QEMU that holds
edu B and reads the registers back there.  QEMU's vfio trace events show
which migration states the devices went through: the source PRE_COPY (if
the device advertises it) and STOP_COPY, the destination RESUMING.  A
migration cancelled in PRE_COPY must leave the source device RUNNING with
its registers intact.  A destination whose device is an ivshmem must
refuse edu's stream before switchover (switchover-ack), with the source
device never stopped, and an edu must refuse an ivshmem's the same way,
and a stream of another version (a relay between the two QEMUs changes
the version in the stream header as it passes).
Where the kernel has iommufd and the device cdev, the edu migration runs
once more with QEMU's -object iommufd, and once more with the device
state over multifd.

Where the devices offer DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*,
which the driver has on kernels with CONFIG_IOMMUFD_DRIVER), QEMU runs in
its default mode, with device dirty tracking; elsewhere it needs
enable-migration=on (see vfio_device()).  The dirty tracking case, which
skips without DMA logging, has edu write a guest page by DMA after the RAM
stage sent it: the page reaches the destination only through the
device's log.

Output is TAP; exit 0 pass, 1 fail, 4 skip (no usable devices or QEMU).
"""

import glob
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
    "edu: dirty tracking: a page edu's DMA wrote after the RAM stage sent "
    "it reaches the destination",
    "edu: dirty tracking: QEMU took that page from the device's DMA log",
    "ivshmem: QEMU live migration keeps BAR2 contents",
    "edu to ivshmem: the destination refuses the stream before "
    "switchover; the source device never stops and keeps its state",
    "ivshmem to edu: the destination refuses the stream before "
    "switchover; the source device never stops and keeps its memory",
    "edu to edu, stream version changed on the wire: the destination "
    "driver refuses the version before switchover; the source device "
    "never stops and keeps its state",
    "edu: QEMU live migration with -object iommufd (the device cdev) "
    "keeps the registers",
    "edu: QEMU live migration with the device state over multifd keeps "
    "the registers",
    "edu: QEMU live migration with -object iommufd and the device state "
    "over multifd keeps the registers",
]
EDU_MIGRATION = PLAN[0:5]
EDU_CANCEL = PLAN[5:8]
EDU_DIRTY = PLAN[8:10]
IVSHMEM = PLAN[10]
INCOMPAT = PLAN[11]
INCOMPAT_REV = PLAN[12]
INCOMPAT_VER = PLAN[13]
IOMMUFD = PLAN[14]
MULTIFD = PLAN[15]
IOMMUFD_MULTIFD = PLAN[16]
# QEMU_MIG_ONLY's groups: the plan lines of each ("iommufd-multifd" is
# not named on its own: it runs when both "iommufd" and "multifd" do).
GROUPS = {
    "cancel": EDU_CANCEL,
    "dirty": EDU_DIRTY,
    "ivshmem": [IVSHMEM],
    "incompat": [INCOMPAT, INCOMPAT_REV, INCOMPAT_VER],
    "iommufd": [IOMMUFD],
    "multifd": [MULTIFD],
}


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


def fail_all(why):
    """A QEMU that was asked for by name and is not there: a failure (make
    check runs the suite with QEMU 11.1 by QEMU_MIG_QEMU; its absence must
    not pass as a skip)."""
    print("TAP version 13")
    print(f"1..{len(PLAN)}")
    print(f"# {why}")
    for i, name in enumerate(PLAN):
        print(f"not ok {i + 1} {name}")
    sys.exit(KSFT_FAIL)


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


def vfio_device(bdf, dirty_tracking):
    """The -device argument for @bdf.

    With the device's DMA log (@dirty_tracking: DMA_LOGGING_START's PROBE
    succeeds), QEMU's default mode, as a user runs it: QEMU tracks the
    pages the device writes with the log, in every pre-copy round.  The
    existing cases use it too where the log exists: enable-migration=on
    would then change nothing but turn the pre-copy syncs off, a
    combination nobody needs, while the default mode also puts the log's
    start, report and stop (and a new start after migrate_cancel) under
    test.

    Without a DMA log (Debian's kernels lack CONFIG_IOMMUFD_DRIVER, and
    the driver then offers none), QEMU only accepts the device for
    migration with enable-migration=on (with a warning), and then
    considers all guest RAM dirty in every pre-copy round: the RAM stage
    never converges unless x-pre-copy-dirty-page-tracking=off leaves the
    dirty-everything sync to the final (stop-copy) pass."""
    dev = f"vfio-pci,host={bdf},id=dev0,addr={SLOT:#x}.0"
    if dirty_tracking:
        return dev
    return dev + ",enable-migration=on,x-pre-copy-dirty-page-tracking=off"


def mode_name(dirty_tracking):
    return ("default mode, device dirty tracking" if dirty_tracking
            else "enable-migration=on, x-pre-copy-dirty-page-tracking=off")


def dma_logging(bdfs):
    """(True, None) if every device of @bdfs offers DMA logging, else
    (False, why).  Raises TestError where the probe fails otherwise than
    with ENOTTY (no vfio_log_ops)."""
    for bdf in bdfs:
        ok, why = qq.vfio_dma_logging(bdf)
        if ok:
            continue
        if not why.startswith("ENOTTY"):
            raise TestError(f"DMA_LOGGING_START probe of {bdf}: {why}")
        return False, bdf
    return True, None


def mig_caps(q, caps):
    q.cmd("migrate-set-capabilities",
          capabilities=[{"capability": c, "state": True} for c in caps])


# Capabilities on both sides: the return path lets the source see a
# failure to load on the destination; switchover-ack makes the source wait
# until the destination has loaded the device's PRE_COPY initial data.
CAPS = ["return-path", "switchover-ack"]


# Holding a migration in pre-copy, however fast the machine.  QEMU
# switches over once what is left to send (dirty RAM plus each device's
# stop-copy size, which it reads with VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)
# is 0 or below its threshold: the bandwidth it expects at the switchover
# (bytes/ms) times downtime-limit (ms).  That bandwidth is the one it
# measured, unless avail-switchover-bandwidth is set: at 1000 bytes/s
# and 1 ms the threshold is 1 byte, so QEMU stays in pre-copy until
# release_precopy() as long as a device has something left for STOP_COPY.
# This driver always has (its MIG_DATA_SIZE counts the stream's header
# and END record, save.c); a device that answers 0 while running would
# not be held.  QEMU asks for those exact sizes, and syncs the dirty log,
# whenever its estimate (dirty RAM plus the devices' pending pre-copy
# bytes) is 0: once the RAM stage's pass is over and the devices'
# pre-copy data read, at each iteration or every other one.
# max-bandwidth paces the iterations (100 bytes per 100 ms slice: some
# three iterations, so some thirty syncs a second); it must leave the
# devices their turn, as QEMU checks the rate limit before each handler
# and RAM's goes first, writing some 20 bytes when it has nothing to send:
# at 10 bytes/s edu's pre-copy data was never read, and QEMU never synced
# again.  The rate limit holds nothing by itself: it counts bytes as
# QEMU's buffer goes out, so how long the first pass takes depends on the
# machine (under KASAN it was over before edu's DMA was).
PRECOPY_HOLD = {"avail-switchover-bandwidth": 1000, "downtime-limit": 1,
                "max-bandwidth": 1000}
# The defaults for switchover (bandwidth as measured, 300 ms), and the
# link at full speed (QEMU's default max-bandwidth is 128 MiB/s).
PRECOPY_FREE = {"avail-switchover-bandwidth": 0, "downtime-limit": 300,
                "max-bandwidth": 1 << 30}


def hold_precopy(q):
    q.cmd("migrate-set-parameters", **PRECOPY_HOLD)


def release_precopy(q):
    """Let a held migration switch over.  The bandwidth QEMU measured while
    it held is about the crawl's 1 byte/ms: whether what is left would fit
    300 ms of it depends on the device, so the switchover bandwidth is
    given, not left to QEMU's estimate."""
    q.cmd("migrate-set-parameters",
          **dict(PRECOPY_FREE, **{"avail-switchover-bandwidth": 1 << 30}))


def incoming(q, port, caps=CAPS):
    mig_caps(q, caps)
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
    start = migration_start(src, dst, port)
    return migration_end(tap, src, dst, start, timeout)


def migration_start(src, dst, port):
    """Start migrating @src to @dst; returns what migration_end() needs."""
    t0 = time.monotonic()
    marks = [(q, q.output_size()) for q in (src, dst)]
    src.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
    return t0, marks


def migration_end(tap, src, dst, start, timeout=MIG_TIMEOUT):
    """Wait for the migration migration_start() began to end; as
    migrate()."""
    t0, marks = start
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


def edu_source(run, name, device_args, prog, want, extra=()):
    """A source QEMU named @name with edu A (@device_args), programmed
    with @prog and checked to read back @want."""
    src = run.qemu(name, device_args, extra=extra)
    edu_setup(src)
    edu_program(src, EDU_BAR0, prog)
    bad = compare(edu_read(src, EDU_BAR0), want)
    if bad:
        raise TestError("source registers wrong before migrating: "
                        + "; ".join(bad))
    return src


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

def edu_migration(tap, run, a, b, precopy, dirty):
    try:
        edu_migration_steps(tap, run, a, b, precopy, dirty)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", EDU_MIGRATION)


def edu_migration_steps(tap, run, a, b, precopy, dirty):
    t = PLAN
    prog, want = edu_state(10, 0x12345678, EDU_STATUS_IRQFACT,
                           0x1234_5000, 0x4_0000, 0x800)

    # 1. the source drives the device through vfio-pci
    try:
        src = run.qemu("src", vfio_device(a, dirty))
        dst = run.qemu("dst", vfio_device(b, dirty), incoming="defer")
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
    for ranges in src.dirty_tracking_starts(src_mark):
        tap.diag(f"source: device dirty tracking started, {ranges}")
    for q, ev, since in ((dst, "loadvm_approve_switchover", 0),
                         (dst, "loadvm_approve_switchover_legacy", 0),
                         (src, "source_return_path_thread_switchover_acked",
                          src_mark)):
        for args in q.trace_args(ev, since):
            tap.diag(f"{q.name}: {ev} {args}")
    init = src.migration_init()
    if init:
        tap.diag(f"source: vfio_migration_init {init}")
    queries = src.precopy_queries(src_mark)
    if queries:
        reinit = sum(1 for q in queries if q[2])
        tap.diag(f"source: {len(queries)} VFIO_MIG_GET_PRECOPY_INFO, "
                 f"first init {queries[0][0]} dirty {queries[0][1]} "
                 f"ret {queries[0][3]}, {reinit} with "
                 f"VFIO_PRECOPY_INFO_REINIT")
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


def edu_cancel(tap, run, a, b, precopy, dirty):
    try:
        edu_cancel_steps(tap, run, a, b, precopy, dirty)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", EDU_CANCEL)


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


def edu_cancel_steps(tap, run, a, b, precopy, dirty):
    t = PLAN
    prog, want = edu_state(7, 0xa5a5f00d, 0, 0xdead_b000, 0x4_1000, 0x40)
    try:
        src = edu_source(run, "src-cancel", vfio_device(a, dirty), prog,
                         want)
        # The migration stays in pre-copy until cancelled; the
        # destination is a sink.
        hold_precopy(src)
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
        dst = run.qemu("dst-retry", vfio_device(b, dirty), incoming="defer")
        port = free_port()
        incoming(dst, port)
        # The return path needs a channel both ways, which the exec: sink
        # of the cancelled migration is not: set the capabilities now.
        mig_caps(src, CAPS)
        src.cmd("migrate-set-parameters", **PRECOPY_FREE)
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
# device dirty tracking: edu's DMA, seen by QEMU through the driver's log

DIRTY_SKIP = ("no DMA logging (ENOTTY): the driver offers it only on "
              "kernels with CONFIG_IOMMUFD_DRIVER, and QEMU's default mode "
              "needs it")

# Pages of the nested guest's RAM, in RAMBlock "pc.ram" (whose offsets are
# guest physical addresses below 640 KiB).  Nothing in the machine writes
# them but the test and edu: its CPU runs nothing but hlt.
DT_BLOCK = "pc.ram"
DT_PATTERN = 0x6000        # the pattern, which edu's DMA reads
DT_CHECK = 0x7000          # written by a DMA before migrating: DMA works
DT_PAGE = 0x8000           # written by a DMA while the RAM stage runs
DT_STALE = 0x5a            # what DT_PAGE holds when the RAM stage sends it
PAGE = 4096
EDU_DMA_CMD = 0x98
EDU_DMA_RUN = 0x1
EDU_DMA_TO_RAM = 0x2
EDU_DMA_BUF = 0x40000      # edu's 4 KiB buffer, in the device's own space


def edu_dma(q, base, src, dst, to_ram, timeout=10):
    """One DMA of a page between guest RAM and edu's buffer; waits for its
    end (QEMU's edu performs it 100 ms after the command)."""
    q.writeq(base + EDU_DMA_SRC, src)
    q.writeq(base + EDU_DMA_DST, dst)
    q.writeq(base + EDU_DMA_COUNT, PAGE)
    q.writeq(base + EDU_DMA_CMD,
             EDU_DMA_RUN | (EDU_DMA_TO_RAM if to_ram else 0))
    when = qq.deadline(timeout)
    while q.readq(base + EDU_DMA_CMD) & EDU_DMA_RUN:
        if qq.expired(when):
            raise TestError(f"{q.name}: edu's DMA still running after "
                            f"{timeout}s")
        time.sleep(0.02)


def page_is(got, want, stale):
    if got == want:
        return None
    if got == bytes([stale]) * PAGE:
        return f"holds the stale fill {stale:#04x}"
    diff = sum(1 for x, y in zip(got, want) if x != y)
    return f"differs from the pattern in {diff} of {PAGE} bytes"


def section_syncs(src, offset, since):
    """The dirty syncs after @since of the section of guest RAM that holds
    @offset, as (iova, size, dirty pages QEMU took from the log)."""
    return [(iova, size, n) for iova, size, _, n in src.dirty_bitmaps(since)
            if iova <= offset < iova + size]


def wait_page_sent(src, offset, since, again=False, timeout=60):
    """Wait until the RAM stage sent the page at @offset of pc.ram after
    @since.  @again: a send after edu's DMA, which must come while the
    migration is held in pre-copy; whether what it sent is the page as
    the DMA left it only the destination tells (a report taken while the
    DMA was under way has the page sent before the device wrote it, and
    the driver must then log it once more)."""
    live = ("active",) if again else ("setup", "active")
    what = f"page {offset:#x}" + (" again" if again else "")
    when = qq.deadline(timeout)
    while not src.ram_pages_sent(DT_BLOCK, offset, since):
        info = src.query_migrate()
        if info.get("status") not in live:
            raise TestError(f"migration {info.get('status')} before the "
                            f"RAM stage sent {what}: "
                            f"{info.get('error-desc', '')}")
        if qq.expired(when):
            if not again:
                raise TestError(f"the RAM stage did not send {what} in "
                                f"{timeout}s (no ram_save_page traced)")
            syncs = [n for _, _, n in section_syncs(src, offset, since)]
            raise TestError(f"the RAM stage did not send {what} in "
                            f"{timeout}s after edu's DMA: {len(syncs)} "
                            f"dirty syncs of its section since, "
                            f"{sum(syncs)} dirty pages taken from the log")
        time.sleep(0.05)


def edu_dirty(tap, run, a, b):
    try:
        edu_dirty_steps(tap, run, a, b)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", EDU_DIRTY)


def edu_dirty_steps(tap, run, a, b):
    """Why the destination's copy of DT_PAGE proves the log:

    The RAM stage sends DT_PAGE (filled with DT_STALE) in its first pass,
    then edu writes the pattern into it by DMA while QEMU holds the
    migration in pre-copy (hold_precopy()).  Nothing marks the page dirty
    but the driver's DMA log: the nested guest's CPU never writes it (a
    device's DMA lands in the pinned pages behind the IOMMU mapping,
    unseen by TCG's dirty bitmap), and with every device of the container
    logging, QEMU queries the devices' logs, not the type1 container
    (whose report would count all pinned RAM dirty).  So QEMU sends
    DT_PAGE again only if the REPORT of a dirty sync has it; the test
    waits for that send, then lets the migration switch over.  If edu's
    trap hook logged nothing, the page is never sent again; if a report
    took it while the DMA was under way (QEMU's edu writes 100 ms after
    the command, and QEMU syncs at each iteration while it holds)
    and no later report had it, the last copy QEMU sent is the stale one
    and the destination's check fails.  The second check reads the
    same out of QEMU's trace: device dirty tracking was started, a sync
    from the DMA's command on took dirty pages of DT_PAGE's section from
    the log, and the RAM stage sent DT_PAGE again."""
    t = EDU_DIRTY
    pattern = os.urandom(PAGE)
    try:
        src = run.qemu("src-dirty", vfio_device(a, True),
                       extra=["-trace", "ram_save_page"])
        dst = run.qemu("dst-dirty", vfio_device(b, True), incoming="defer")
        tap.diag(f"source: {src.cmdline()}")
        for q in (src, dst):
            for line in q.output().splitlines():
                if "dirty tracking" in line:
                    raise TestError(f"{q.name} QEMU: {line.strip()}")
        pci = edu_setup(src)
        pci.enable_bus_master()
        src.b64write(DT_PATTERN, pattern)
        src.memset(DT_CHECK, PAGE, DT_STALE)
        src.memset(DT_PAGE, PAGE, DT_STALE)
        # The pattern into edu's buffer, and out once before migrating:
        # edu's DMA reaches the nested guest's RAM at all.
        edu_dma(src, EDU_BAR0, DT_PATTERN, EDU_DMA_BUF, to_ram=False)
        edu_dma(src, EDU_BAR0, EDU_DMA_BUF, DT_CHECK, to_ram=True)
        why = page_is(src.b64read(DT_CHECK, PAGE), pattern, DT_STALE)
        if why:
            raise TestError(f"before migrating, edu's DMA to guest RAM "
                            f"{DT_CHECK:#x}: the page {why}")

        port = free_port()
        incoming(dst, port)
        mig_caps(src, CAPS)
        hold_precopy(src)
        mark = src.trace_size()
        start = migration_start(src, dst, port)
        wait_page_sent(src, DT_PAGE, mark)
        if not src.dirty_tracking_starts(mark):
            raise TestError("QEMU did not start device dirty tracking "
                            "(no vfio_device_dirty_tracking_start)")
        states = src.device_states(mark)
        info = src.query_migrate()
        tap.diag(f"RAM stage sent page {DT_PAGE:#x}; dirty syncs so far "
                 f"{info.get('ram', {}).get('dirty-sync-count')}; source "
                 f"device states: {' '.join(states)}")
        dma_mark = src.trace_size()
        edu_dma(src, EDU_BAR0, EDU_DMA_BUF, DT_PAGE, to_ram=True)
        src.writeq(EDU_BAR0 + EDU_DMA_CMD, 0)
        info = src.query_migrate()
        states = src.device_states(mark)
        ram = info.get("ram", {})
        tap.diag(f"edu's DMA done: dirty RAM left to send "
                 f"{ram.get('remaining')} bytes, dirty syncs so far "
                 f"{ram.get('dirty-sync-count')}")
        if info.get("status") != "active" or \
                any(st not in ("PRE_COPY", "RUNNING") for st in states):
            raise TestError(
                f"QEMU did not hold the migration in pre-copy while edu's "
                f"DMA ran: status {info.get('status')}, source device "
                f"states {' '.join(states)}")
        why = page_is(src.b64read(DT_PAGE, PAGE), pattern, DT_STALE)
        if why:
            raise TestError(f"edu's DMA during the migration: the source's "
                            f"page {DT_PAGE:#x} {why}")
        wait_page_sent(src, DT_PAGE, dma_mark, again=True)
        release_precopy(src)
        try:
            migration_end(tap, src, dst, start)
        finally:
            tap.diag(f"source device states: "
                     f"{' '.join(src.device_states(mark))}")
        dst.wait_run_state("running", 30)
        why = page_is(dst.b64read(DT_PAGE, PAGE), pattern, DT_STALE)
        if why:
            raise TestError(f"the destination's page {DT_PAGE:#x} {why}: "
                            f"QEMU did not send it again after edu's DMA")
        why = page_is(dst.b64read(DT_CHECK, PAGE), pattern, DT_STALE)
        if why:
            raise TestError(f"the destination's page {DT_CHECK:#x} {why}")
        tap.ok(t[0])
    except TestError as e:
        tap.fail(t[0], e)
        for q in run.qemus[-2:]:
            tap.diag(f"{q.name}: {q.output_tail()}")
        return

    starts = src.dirty_tracking_starts(mark)
    syncs = section_syncs(src, DT_PAGE, dma_mark)
    synced = [(iova, size, n) for iova, size, n in syncs if n]
    resent = src.ram_pages_sent(DT_BLOCK, DT_PAGE, dma_mark)
    tap.diag(f"source: device dirty tracking started, {starts[0]}")
    for iova, size, n in synced:
        tap.diag(f"source: dirty sync of IOVA {iova:#x}+{size:#x} took "
                 f"{n} dirty page(s) from the log")
    tap.diag(f"source: the RAM stage sent page {DT_PAGE:#x} {resent} more "
             f"time(s) after the DMA")
    errors = []
    # Nothing but edu's one DMA wrote guest RAM since its command: a sync
    # that took more than one page of that section from the log
    # over-reports.
    over = [n for _, _, n in syncs if n > 1]
    if over:
        errors.append(f"dirty syncs took {', '.join(map(str, over))} pages "
                      f"of the section holding {DT_PAGE:#x} from the log; "
                      f"edu's DMA wrote one")
    if not synced:
        errors.append(f"no dirty sync after the DMA took dirty pages of "
                      f"the section holding {DT_PAGE:#x} "
                      f"(vfio_get_dirty_bitmap)")
    if not resent:
        errors.append(f"the RAM stage did not send page {DT_PAGE:#x} "
                      f"again after the DMA (ram_save_page)")
    if errors:
        tap.fail(t[1], "; ".join(errors))
    else:
        tap.ok(t[1])


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
        tap.skip_rest("an earlier step failed", [IVSHMEM])


def ivshmem_steps(tap, run):
    name = IVSHMEM
    devs, why = ivshmem_devices(run)
    if not devs:
        tap.skip(name, why)
        return
    a, b = devs
    flags = qq.vfio_migration_flags(a)
    chunk = 1 << 20
    try:
        dirty, _ = dma_logging(devs)
        tap.diag(f"ivshmem A {a}, B {b}, migration flags "
                 f"{qq.mig_flags_str(flags)}; QEMU's {mode_name(dirty)}")
        src = run.qemu("ivsrc", vfio_device(a, dirty))
        dst = run.qemu("ivdst", vfio_device(b, dirty), incoming="defer")
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


# ------------------------------------------------------------------------
# an incompatible destination: refused while the source still runs

def incompat_case(tap, run, a, precopy, dirty):
    try:
        incompat_steps(tap, run, a, precopy, dirty)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", [INCOMPAT])


def incompat_steps(tap, run, a, precopy, dirty):
    """edu A's VM migrates to a QEMU whose vfio-pci device, at the same
    address, is an ivshmem.  The driver refuses the stream header (another
    backend) with the first bytes the destination writes: PRE_COPY's
    initial data.  With switchover-ack the source waits for the
    destination to load that data before it stops the VM, so the
    migration must fail while the source device is still in PRE_COPY, and
    the source runs on, its device never stopped and its registers as
    they were."""
    name = INCOMPAT
    if not precopy:
        tap.skip(name, "edu A has no PRE_COPY: nothing reaches the "
                 "destination before switchover")
        return
    devs, why = ivshmem_devices(run)
    if not devs:
        tap.skip(name, why)
        return
    ivs = devs[0]
    prog, want = edu_state(9, 0x0badcafe, 0, 0x2000, 0x4_0800, 0x100)
    try:
        idirty, _ = dma_logging([ivs])
        src = edu_source(run, "src-incompat", vfio_device(a, dirty), prog,
                         want)
        dst = run.qemu("dst-incompat", vfio_device(ivs, idirty),
                       incoming="defer")
        refused_migration(tap, src, dst, f"edu A {a} -> ivshmem {ivs}")
        edu_kept(src, want)
        tap.ok(name)
    except TestError as e:
        tap.fail(name, e)


def edu_kept(src, want):
    """After a refused migration: edu A in @src still reads @want."""
    bad = compare(edu_read(src, EDU_BAR0), want)
    if bad:
        raise TestError("source registers changed by the refused "
                        "migration: " + "; ".join(bad))


def incompat_rev_case(tap, run, b, dirty):
    try:
        incompat_rev_steps(tap, run, b, dirty)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", [INCOMPAT_REV])


def incompat_rev_steps(tap, run, b, dirty):
    """The other way: an ivshmem's VM migrates to a QEMU whose device, at
    the same address, is edu B.  ivshmem's PRE_COPY initial data begins
    with the stream header, which names its backend and which edu's
    driver refuses; so the migration fails before switchover, the source
    device never stops, and its memory keeps what the guest wrote."""
    name = INCOMPAT_REV
    devs, why = ivshmem_devices(run)
    if not devs:
        tap.skip(name, why)
        return
    ivs = devs[0]
    if not qq.vfio_migration_flags(ivs) & qq.VFIO_MIGRATION_PRE_COPY:
        tap.skip(name, f"ivshmem {ivs} has no PRE_COPY: nothing reaches "
                 "the destination before switchover")
        return
    chunk = 1 << 20
    try:
        idirty, _ = dma_logging([ivs])
        src = run.qemu("src-incompat-rev", vfio_device(ivs, idirty))
        pci = qq.Pci(src, SLOT)
        pci.map_bar(2, IVSHMEM_BAR2, is64=True)
        pci.enable_memory()
        src.memset(IVSHMEM_BAR2, chunk, 0x5a)
        src.b64write(IVSHMEM_BAR2, os.urandom(64))
        want = bar_checksum(src, IVSHMEM_BAR2, chunk, chunk)
        dst = run.qemu("dst-incompat-rev", vfio_device(b, dirty),
                       incoming="defer")
        refused_migration(tap, src, dst, f"ivshmem {ivs} -> edu B {b}")
        got = bar_checksum(src, IVSHMEM_BAR2, chunk, chunk)
        if got != want:
            raise TestError("the source's BAR2 changed in the refused "
                            f"migration: sha256 of its first MiB {got[:16]}, "
                            f"was {want[:16]}")
        tap.ok(name)
    except TestError as e:
        tap.fail(name, e)


def incompat_ver_case(tap, run, a, b, precopy, dirty):
    try:
        incompat_ver_steps(tap, run, a, b, precopy, dirty)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", [INCOMPAT_VER])


def incompat_ver_steps(tap, run, a, b, precopy, dirty):
    """edu A's VM migrates to a QEMU that holds edu B, a device that
    could take its state, through a relay that changes the version of
    the stream header on the wire (with its CRC made right again): to
    the destination driver the stream comes from a driver of a newer
    stream version, which it must refuse with the first bytes it is
    given, PRE_COPY's initial data.  As with another device, the
    migration must fail before switchover, the source device never stop
    and keep its registers; and the destination's kernel log must name
    the version as the reason, so that the refusal is the version's and
    not the relay's doing."""
    name = INCOMPAT_VER
    if not precopy:
        tap.skip(name, "edu A has no PRE_COPY: nothing reaches the "
                 "destination before switchover")
        return
    prog, want = edu_state(7, 0x5eed1e55, 0, 0x1000, 0x4_0200, 0x80)
    relay = kmsg = None
    try:
        src = edu_source(run, "src-incompat-ver", vfio_device(a, dirty),
                         prog, want)
        dst = run.qemu("dst-incompat-ver", vfio_device(b, dirty),
                       incoming="defer")
        magic, ver = qq.uapi_defines("QVP_STREAM_MAGIC",
                                     "QVP_STREAM_VERSION")
        kmsg = qq.Kmsg()
        to = ver + 1

        def start_relay(port):
            nonlocal relay
            relay = qq.VersionRelay(port, magic, ver, to)
            return relay.port

        refused_migration(tap, src, dst,
                          f"edu A {a} -> edu B {b}, stream version "
                          f"{ver} -> {to} on the wire",
                          relay=start_relay)
        if relay.rewritten != 1:
            raise TestError(f"the relay changed {relay.rewritten} stream "
                            "headers, not 1")
        said = [ln for ln in kmsg.read()
                if b in ln and "unsupported stream version" in ln]
        for ln in said:
            tap.diag(f"destination kernel: {ln}")
        if not any(ln.endswith(f"unsupported stream version {to}")
                   for ln in said):
            raise TestError(f"the kernel log has no refusal of stream "
                            f"version {to} by {b}'s driver")
        edu_kept(src, want)
        tap.ok(name)
    except TestError as e:
        tap.fail(name, e)
    finally:
        if relay:
            relay.close()
            tap.diag(f"relay: {relay.summary()}")
        if kmsg:
            kmsg.close()


def refused_migration(tap, src, dst, what, relay=None):
    """Migrate @src to @dst, whose device cannot take @src's stream, with
    switchover-ack: both sides must fail, the source device never leave
    PRE_COPY and RUNNING and end RUNNING, the source VM run on, and the
    destination say why (EINVAL from loading the device state).  With
    @relay (a function of the destination's port that returns the port
    to migrate to) the source connects there instead."""
    port = free_port()
    incoming(dst, port)
    mig_caps(src, CAPS)
    mark = src.trace_size()
    dmark = dst.output_size()
    t0 = time.monotonic()
    to = relay(port) if relay else port
    src.cmd("migrate", uri=f"tcp:127.0.0.1:{to}")
    info = src.wait_migration(("completed", "failed", "cancelled"),
                              MIG_TIMEOUT)
    took = time.monotonic() - t0
    dinfo = dst.wait_migration(("completed", "failed"), 30)
    # QEMU reports the migration failed before its cleanup has moved the
    # device back to RUNNING (a notifier, after the status changes): give
    # that a few seconds.
    deadline = time.monotonic() + 10
    states = src.device_states(mark)
    while ((not states or states[-1] != "RUNNING") and
           info.get("status") == "failed" and time.monotonic() < deadline):
        time.sleep(0.1)
        states = src.device_states(mark)
    tap.diag(f"{what}: source {info.get('status')} after "
             f"{took:.1f}s "
             f"({info.get('error-desc', 'no error-desc')}); "
             f"destination {dinfo.get('status')} "
             f"({dinfo.get('error-desc', 'no error-desc')})")
    tap.diag(f"source device states: {' '.join(states) or 'none'}")
    said = [ln.strip() for ln in dst.output(dmark).splitlines()
            if ln.strip()]
    for ln in said[-5:]:
        tap.diag(f"destination QEMU: {ln}")
    if info.get("status") != "failed":
        raise TestError(f"source migration {info.get('status')}, "
                        "not failed")
    if dinfo.get("status") != "failed":
        raise TestError(f"destination migration {dinfo.get('status')}, "
                        "not failed")
    stopped = [st for st in states if st not in ("PRE_COPY", "RUNNING")]
    if stopped:
        raise TestError("the source device went through "
                        f"{' '.join(stopped)}: stopped before the "
                        "destination refused")
    if not states or states[-1] != "RUNNING":
        raise TestError("source device state after the failure: "
                        f"{states[-1] if states else 'none'}, not "
                        "RUNNING")
    src.wait_run_state("running", 10)
    # The destination passes on the driver's errno: 10.0 "load of
    # migration failed: Invalid argument" (and, in its output, "error
    # while loading state section id N(0000:00:04.0/vfio)"), 11.1
    # "load of migration failed: Invalid argument: Failed to load
    # vmstate version_id: 1, ret: -22".
    why = dinfo.get("error-desc", "") + " " + " ".join(said)
    if "Invalid argument" not in why:
        raise TestError("the destination does not say why it failed "
                        "(no EINVAL from loading the device state)")


# ------------------------------------------------------------------------
# the iommufd backend: the device's cdev bound to QEMU's iommufd object

def iommufd_why_not(bdfs):
    """Why QEMU cannot open @bdfs through iommufd here, or None."""
    if not os.path.exists("/dev/iommu"):
        return "no /dev/iommu: the kernel has no CONFIG_IOMMUFD"
    for bdf in bdfs:
        if not glob.glob(f"{qq.PCI_SYSFS}/{bdf}/vfio-dev/vfio*"):
            return (f"{bdf} has no vfio device cdev: the kernel has no "
                    "CONFIG_VFIO_DEVICE_CDEV")
    return None


IOMMUFD_OPTS = (",iommufd=iommufd0", ("-object", "iommufd,id=iommufd0"))
MULTIFD_OPTS = ",x-migration-multifd-transfer=on"


def iommufd_case(tap, run, a, b, precopy, dirty, multifd=False):
    """The edu migration once more, both QEMUs with -object iommufd: QEMU
    opens each device's cdev (/dev/vfio/devices/vfioN), binds it to
    /dev/iommu and maps guest RAM into an IOAS instead of a type1
    container.  The migration protocol is the same; what changes is how
    the device is opened and reset, and how its DMA is mapped.  With
    @multifd, the device state goes over multifd too (multifd_case())."""
    name = IOMMUFD_MULTIFD if multifd else IOMMUFD
    why = iommufd_why_not((a, b))
    if why:
        tap.skip(name, why)
        return
    opts, extra = IOMMUFD_OPTS
    if multifd:
        edu_variant(tap, run, a, b, precopy, dirty, name, "iommufd-multifd",
                    opts + MULTIFD_OPTS, extra, CAPS + ["multifd"],
                    multifd_used)
    else:
        edu_variant(tap, run, a, b, precopy, dirty, name, "iommufd", opts,
                    extra, CAPS)


def multifd_case(tap, run, a, b, precopy, dirty):
    """The edu migration once more, with the device's state sent over
    multifd channels (the multifd capability and the device's
    x-migration-multifd-transfer=on): the destination loads it from
    buffers in a thread of its own, so the driver's resume write() calls
    come from there, in pieces of QEMU's choosing."""
    edu_variant(tap, run, a, b, precopy, dirty, MULTIFD, "multifd",
                MULTIFD_OPTS, (), CAPS + ["multifd"], multifd_used)


def multifd_used(src, dst, mark):
    """Why the trace shows the device state did not go over multifd, or
    None."""
    if "vfio_save_complete_precopy_thread_start" not in src.trace(mark):
        return ("the source sent no device state from a multifd thread "
                "(no vfio_save_complete_precopy_thread_start)")
    if "vfio_load_state_device_buffer_load_start" not in dst.trace():
        return ("the destination loaded no device state buffer from "
                "multifd (no vfio_load_state_device_buffer_load_start)")
    return None


def edu_variant(tap, run, a, b, precopy, dirty, name, tag, dev_opts, extra,
                caps, check=None):
    try:
        edu_variant_steps(tap, run, a, b, precopy, dirty, name, tag,
                          dev_opts, extra, caps, check)
    finally:
        run.quit_all()
        tap.skip_rest("an earlier step failed", [name])


def edu_variant_steps(tap, run, a, b, precopy, dirty, name, tag, dev_opts,
                      extra, caps, check):
    """edu A to edu B with @dev_opts added to both -device arguments,
    @extra on both command lines and @caps on both sides; @check(src,
    dst, trace mark), if given, says why the traces do not show the
    variant at work."""
    prog, want = edu_state(11, 0x600df00d, EDU_STATUS_IRQFACT,
                           0x3000, 0x4_0400, 0x200)
    try:
        src = edu_source(run, f"src-{tag}", vfio_device(a, dirty) + dev_opts,
                         prog, want, extra)
        dst = run.qemu(f"dst-{tag}", vfio_device(b, dirty) + dev_opts,
                       incoming="defer", extra=extra)
        port = free_port()
        incoming(dst, port, caps)
        mig_caps(src, caps)
        mark = src.trace_size()
        migrate(tap, src, dst, port)
        dst.wait_run_state("running", 30)
        got = edu_read(dst, qq.Pci(dst, SLOT).bar_addr(0))
        tap.diag(f"{tag}: source device states: "
                 f"{' '.join(src.device_states(mark))}; destination: "
                 f"{' '.join(dst.device_states())}")
        bad = compare(got, want)
        if bad:
            raise TestError("destination registers differ: "
                            + "; ".join(bad))
        why = check_source_states(src.device_states(mark), precopy)
        why = why or check_dest_states(dst.device_states())
        why = why or (check and check(src, dst, mark))
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

def dirty_case(tap, run, a, b, dirty, dirty_error, nolog):
    """The dirty tracking case where the devices offer DMA logging; its
    failure if asking for it failed, its SKIPs if they do not offer it."""
    if dirty_error:
        for name in EDU_DIRTY:
            tap.fail(name, dirty_error)
    elif not dirty:
        tap.diag(f"{nolog} offers no DMA logging")
        for name in EDU_DIRTY:
            tap.skip(name, DIRTY_SKIP)
    else:
        edu_dirty(tap, run, a, b)


def only_groups(plan_mode=False):
    """QEMU_MIG_ONLY's groups (none: every case runs); an unknown group
    fails every line of the plan (with --plan: exit 1, saying why)."""
    only = os.environ.get("QEMU_MIG_ONLY", "").split()
    unknown = [g for g in only if g not in GROUPS]
    if unknown:
        why = (f"QEMU_MIG_ONLY={' '.join(only)}: no group "
               f"{', '.join(unknown)} (groups: {' '.join(GROUPS)})")
        if plan_mode:
            print(why, file=sys.stderr)
            sys.exit(KSFT_FAIL)
        fail_all(why)
    return only


def group_wanted(only, group):
    """The cases of @group run: the first edu migration always, the
    iommufd+multifd case when both of its groups do."""
    if not only or group == "edu":
        return True
    if group == "iommufd-multifd":
        return "iommufd" in only and "multifd" in only
    return group in only


def group_names(group):
    """The plan lines of @group (GROUPS, and the two that are not in it)."""
    if group == "edu":
        return EDU_MIGRATION
    if group == "iommufd-multifd":
        return [IOMMUFD_MULTIFD]
    return GROUPS[group]


def left_out_reason(only):
    return f"left out by QEMU_MIG_ONLY={' '.join(only)}"


# The groups in the order main() runs them (and --plan prints them).
RUN_ORDER = ["edu", "cancel", "dirty", "ivshmem", "incompat", "iommufd",
             "multifd", "iommufd-multifd"]


def print_plan():
    """--plan: what QEMU_MIG_ONLY makes of each plan line, one per line,
    "run<TAB>NAME" or "skip<TAB>NAME<TAB>REASON", without a device or a
    QEMU (make check's verdict-test holds scripts/expected-skips to it)."""
    only = only_groups(plan_mode=True)
    for group in RUN_ORDER:
        for name in group_names(group):
            if group_wanted(only, group):
                print(f"run\t{name}")
            else:
                print(f"skip\t{name}\t{left_out_reason(only)}")
    return KSFT_PASS


def main():
    if sys.argv[1:] == ["--plan"]:
        return print_plan()
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
        if "QEMU_MIG_QEMU" in os.environ:
            fail_all(f"QEMU_MIG_QEMU={qq.QEMU_BIN} does not exist or is not "
                     f"executable (make check: scripts/mkqemu.sh installs "
                     f"QEMU 11.1)")
        skip_all(f"no {qq.QEMU_BIN}")
    try:
        flags = qq.vfio_migration_flags(a)
    except OSError as e:
        skip_all(f"cannot query the VFIO migration flags of {a}: {e}")
    if not flags & qq.VFIO_MIGRATION_STOP_COPY:
        skip_all(f"{a} does not advertise VFIO migration")
    precopy = bool(flags & qq.VFIO_MIGRATION_PRE_COPY)
    try:
        dirty, nolog = dma_logging((a, b))
    except (TestError, OSError) as e:
        dirty, nolog = False, None
        dirty_error = str(e)
    else:
        dirty_error = None

    only = only_groups()

    def left_out(group):
        """@group's SKIPs, naming the variable that left it out."""
        for name in group_names(group):
            tap.skip(name, left_out_reason(only))

    tap = Tap(PLAN)
    ver = qq.qemu_version()
    tap.diag(f"{ver}; edu A {a} -> edu B {b}; migration flags of A: "
             f"{qq.mig_flags_str(flags)}; DMA logging: "
             f"{'yes' if dirty else 'no'}; QEMU's {mode_name(dirty)}")
    where = [shutil.which(qq.QEMU_BIN)]
    if qq.QEMU_DATADIRS:
        where.append("-L " + " -L ".join(qq.QEMU_DATADIRS))
    if os.environ.get("QEMU_MODULE_DIR"):
        where.append(f"QEMU_MODULE_DIR={os.environ['QEMU_MODULE_DIR']}")
    tap.diag("QEMU: " + ", ".join(where))
    if not ver.startswith("QEMU emulator version"):
        tap.fail(PLAN[0], f"{qq.QEMU_BIN} --version: {ver}")
        tap.skip_rest("QEMU does not run")
        return KSFT_FAIL
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
        # each group of cases, or its SKIPs when QEMU_MIG_ONLY leaves
        # it out
        cases = {
            "edu": lambda: edu_migration(tap, run, a, b, precopy, dirty),
            "cancel": lambda: edu_cancel(tap, run, a, b, precopy, dirty),
            "dirty": lambda: dirty_case(tap, run, a, b, dirty, dirty_error,
                                        nolog),
            "ivshmem": lambda: ivshmem_case(tap, run),
            "incompat": lambda: (
                incompat_case(tap, run, a, precopy, dirty),
                incompat_rev_case(tap, run, b, dirty),
                incompat_ver_case(tap, run, a, b, precopy, dirty)),
            "iommufd": lambda: iommufd_case(tap, run, a, b, precopy, dirty),
            "multifd": lambda: multifd_case(tap, run, a, b, precopy, dirty),
            "iommufd-multifd": lambda: iommufd_case(
                tap, run, a, b, precopy, dirty, multifd=True),
        }
        for group in RUN_ORDER:
            if group_wanted(only, group):
                cases[group]()
            else:
                left_out(group)
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
