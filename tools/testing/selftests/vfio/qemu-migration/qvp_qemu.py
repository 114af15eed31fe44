# SPDX-License-Identifier: GPL-2.0
"""Helpers of the QEMU live-migration selftest (qemu_migration_test.py).

 - Qemu: one nested QEMU process with a QMP socket, a qtest socket (the
   qtest protocol also works beside TCG, which lets the test poke the
   machine's PCI bus and memory without guest code) and a trace log.
 - Pci: config cycles and BAR programming through qtest port I/O.
 - vfio_migration_flags(), vfio_dma_logging(): VFIO_DEVICE_FEATURE_MIGRATION
   of a device and whether it offers DMA logging, asked through the legacy
   group interface while nobody else holds the device.
 - sysfs helpers to find and bind PCI devices.
"""

import base64
import contextlib
import ctypes
import errno
import fcntl
import fnmatch
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

# The QEMU under test, and its data directories (-L, colon-separated):
# the root filesystem's QEMU by default; scripts/guest-run.sh runs the
# suite a second time with QEMU 11.1 (scripts/mkqemu.sh), which also needs
# QEMU_MODULE_DIR in the environment to find its own modules.
QEMU_BIN = os.environ.get("QEMU_MIG_QEMU", "qemu-system-x86_64")
QEMU_DATADIRS = [d for d in os.environ.get("QEMU_MIG_DATADIR", "").split(":")
                 if d]
PCI_SYSFS = "/sys/bus/pci/devices"


class TestError(Exception):
    """A step of the test failed; the message says why."""


def deadline(seconds):
    return time.monotonic() + seconds


def expired(when):
    return time.monotonic() > when


# ------------------------------------------------------------------------
# sysfs

def normalise_bdf(bdf):
    if bdf.count(":") == 1:
        return "0000:" + bdf
    return bdf


def pci_id(bdf):
    with open(f"{PCI_SYSFS}/{bdf}/vendor") as f:
        vendor = int(f.read(), 16)
    with open(f"{PCI_SYSFS}/{bdf}/device") as f:
        device = int(f.read(), 16)
    return vendor, device


def pci_driver(bdf):
    link = f"{PCI_SYSFS}/{bdf}/driver"
    if os.path.islink(link):
        return os.path.basename(os.readlink(link))
    return None


def pci_devices(vendor, device):
    found = []
    for bdf in sorted(os.listdir(PCI_SYSFS)):
        try:
            if pci_id(bdf) == (vendor, device):
                found.append(bdf)
        except OSError:
            pass
    return found


def _sysfs_write(path, value):
    with open(path, "w") as f:
        f.write(value)


def pci_bind(bdf, driver):
    """Bind @bdf to @driver through driver_override.  Returns the previous
    driver (or None); raises OSError if @driver does not take the device."""
    prev = pci_driver(bdf)
    if prev == driver:
        return prev
    if prev:
        _sysfs_write(f"{PCI_SYSFS}/{bdf}/driver/unbind", bdf)
    _sysfs_write(f"{PCI_SYSFS}/{bdf}/driver_override", driver)
    try:
        _sysfs_write("/sys/bus/pci/drivers_probe", bdf)
    except OSError:
        pass
    if pci_driver(bdf) != driver:
        raise OSError(f"{driver} did not bind {bdf}")
    return prev


def pci_restore(bdf, prev):
    if pci_driver(bdf):
        _sysfs_write(f"{PCI_SYSFS}/{bdf}/driver/unbind", bdf)
    _sysfs_write(f"{PCI_SYSFS}/{bdf}/driver_override", "\n")
    if prev:
        try:
            _sysfs_write(f"/sys/bus/pci/drivers/{prev}/bind", bdf)
        except OSError:
            pass


# ------------------------------------------------------------------------
# VFIO ioctls (legacy container/group interface)

_VFIO = ord(";") << 8
VFIO_GET_API_VERSION = _VFIO | 100
VFIO_CHECK_EXTENSION = _VFIO | 101
VFIO_SET_IOMMU = _VFIO | 102
VFIO_GROUP_SET_CONTAINER = _VFIO | 104
VFIO_GROUP_GET_DEVICE_FD = _VFIO | 106
VFIO_DEVICE_FEATURE = _VFIO | 117
VFIO_TYPE1_IOMMU = 1
VFIO_TYPE1v2_IOMMU = 3
VFIO_DEVICE_FEATURE_GET = 1 << 16
VFIO_DEVICE_FEATURE_SET = 1 << 17
VFIO_DEVICE_FEATURE_PROBE = 1 << 18
VFIO_DEVICE_FEATURE_MIGRATION = 1
VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6

VFIO_MIGRATION_STOP_COPY = 1 << 0
VFIO_MIGRATION_P2P = 1 << 1
VFIO_MIGRATION_PRE_COPY = 1 << 2


def mig_flags_str(flags):
    names = [(VFIO_MIGRATION_STOP_COPY, "STOP_COPY"),
             (VFIO_MIGRATION_P2P, "P2P"),
             (VFIO_MIGRATION_PRE_COPY, "PRE_COPY")]
    s = "|".join(n for bit, n in names if flags & bit)
    return s or "none"


@contextlib.contextmanager
def vfio_device_fd(bdf):
    """The device's fd, through its group in a container of our own."""
    group = os.path.basename(os.readlink(f"{PCI_SYSFS}/{bdf}/iommu_group"))
    fds = []
    try:
        gfd = os.open(f"/dev/vfio/{group}", os.O_RDWR)
        fds.append(gfd)
        cfd = os.open("/dev/vfio/vfio", os.O_RDWR)
        fds.append(cfd)
        fcntl.ioctl(gfd, VFIO_GROUP_SET_CONTAINER, struct.pack("i", cfd))
        iommu = VFIO_TYPE1v2_IOMMU
        if not fcntl.ioctl(cfd, VFIO_CHECK_EXTENSION, iommu):
            iommu = VFIO_TYPE1_IOMMU
        fcntl.ioctl(cfd, VFIO_SET_IOMMU, iommu)
        name = ctypes.create_string_buffer(bdf.encode())
        dfd = fcntl.ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, name)
        fds.append(dfd)
        yield dfd
    finally:
        for fd in reversed(fds):
            os.close(fd)


def vfio_migration_flags(bdf):
    """The device's VFIO migration flags (0 if it has no migration)."""
    with vfio_device_fd(bdf) as dfd:
        # struct vfio_device_feature + struct vfio_device_feature_migration
        buf = bytearray(struct.pack("=IIQ", 16,
                                    VFIO_DEVICE_FEATURE_GET |
                                    VFIO_DEVICE_FEATURE_MIGRATION, 0))
        try:
            fcntl.ioctl(dfd, VFIO_DEVICE_FEATURE, buf)
        except OSError:
            return 0
        return struct.unpack_from("=Q", buf, 8)[0]


def vfio_dma_logging(bdf):
    """Whether the device offers DMA logging (device dirty tracking), the
    way QEMU asks: PROBE of DMA_LOGGING_START.  Returns (True, None) or
    (False, why), why naming the ioctl's error (ENOTTY: no vfio_log_ops)."""
    with vfio_device_fd(bdf) as dfd:
        # struct vfio_device_feature, no data: a PROBE needs none.
        buf = bytearray(struct.pack("=II", 8,
                                    VFIO_DEVICE_FEATURE_PROBE |
                                    VFIO_DEVICE_FEATURE_SET |
                                    VFIO_DEVICE_FEATURE_DMA_LOGGING_START))
        try:
            fcntl.ioctl(dfd, VFIO_DEVICE_FEATURE, buf)
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            return False, f"{name}: {os.strerror(e.errno)}"
        return True, None


# ------------------------------------------------------------------------
# QEMU

def qemu_version():
    """QEMU's first --version line."""
    out = subprocess.run([QEMU_BIN] + data_args() + ["--version"],
                         capture_output=True, text=True)
    lines = (out.stdout or out.stderr).splitlines()
    return lines[0].strip() if lines else f"no version (exit {out.returncode})"


def data_args():
    args = []
    for d in QEMU_DATADIRS:
        args += ["-L", d]
    return args


_trace_names = None


def trace_events(patterns):
    """The patterns of @patterns that name trace events of this QEMU: the
    events differ between versions, and QEMU warns of a -trace that
    matches none."""
    global _trace_names
    if _trace_names is None:
        out = subprocess.run([QEMU_BIN, "-trace", "help"],
                             capture_output=True, text=True)
        _trace_names = out.stdout.split()
    return [p for p in patterns if fnmatch.filter(_trace_names, p)]


class Qemu:
    """A nested QEMU: TCG, no guest code (a BIOS of hlt instructions),
    QMP and qtest sockets, vfio trace events in a log file."""

    # vfio_device_dirty_tracking_start: QEMU starts the devices' DMA logs
    # (device dirty tracking); vfio_get_dirty_bitmap (up to 10.x) or
    # vfio_container_query_dirty_bitmap (11.x): one dirty sync of a section
    # of guest RAM, from the devices' logs or the container.  From 11.x:
    # vfio_migration_init (whether QEMU uses PRECOPY_INFOv2),
    # vfio_query_precopy_size (with VFIO_PRECOPY_INFO_REINIT), and
    # vfio_send_init_data_flag.  loadvm_approve_switchover*: the
    # destination's switchover-ack approvals (11.x names the approver),
    # source_return_path_thread_switchover_acked: the source receiving it.
    # vfio_load_state_device_buffer_*: the destination loading device
    # state that came over multifd (vfio_save_* has the source's thread).
    # Only those this QEMU has are asked for.
    TRACE_EVENTS = ["vfio_migration_*", "vfio_save_*", "vfio_load_state",
                    "vfio_load_state_device_buffer_*",
                    "vfio_load_cleanup", "vfio_state_pending*",
                    "vfio_query_*", "vfio_send_init_data_flag",
                    "vfio_device_dirty_tracking_start",
                    "vfio_get_dirty_bitmap",
                    "vfio_container_query_dirty_bitmap",
                    "loadvm_approve_switchover*",
                    "source_return_path_thread_switchover_acked"]

    def __init__(self, name, workdir, bios, device_args, incoming=None,
                 extra=(), mem_mib=32):
        self.name = name
        self.dir = workdir
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.qtest_path = os.path.join(workdir, f"{name}.qtest")
        self.trace_path = os.path.join(workdir, f"{name}.trace")
        self.out_path = os.path.join(workdir, f"{name}.out")
        self.proc = None
        self.qmp = None
        self.qmp_rfile = None
        self.qtest = None
        self.qtest_rfile = None
        self.events = []
        self.args = [QEMU_BIN] + data_args() + [
                     "-machine", "q35", "-accel", "tcg",
                     "-m", str(mem_mib), "-nodefaults", "-display", "none",
                     "-bios", bios, "-D", self.trace_path,
                     "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
                     "-qtest", f"unix:{self.qtest_path}",
                     "-qtest-log", "/dev/null"]
        for ev in trace_events(self.TRACE_EVENTS):
            self.args += ["-trace", ev]
        if device_args:
            self.args += ["-device", device_args]
        if incoming:
            self.args += ["-incoming", incoming]
        self.args += list(extra)

    def cmdline(self):
        return " ".join(self.args)

    def start(self, timeout=30):
        for p in (self.qmp_path, self.qtest_path):
            if os.path.exists(p):
                os.unlink(p)
        # QEMU connects to the qtest socket as a client (as with libqtest).
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(self.qtest_path)
        lsock.listen(1)
        lsock.settimeout(timeout)
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        try:
            self.qtest, _ = lsock.accept()
        except socket.timeout:
            raise TestError(f"{self.name}: QEMU did not connect to the qtest "
                            f"socket in {timeout}s; {self.output_tail()}")
        finally:
            lsock.close()
        self.qtest.settimeout(timeout)
        self.qtest_rfile = self.qtest.makefile("r")
        when = deadline(timeout)
        while True:
            try:
                self.qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.qmp.connect(self.qmp_path)
                break
            except OSError:
                self.qmp.close()
                self.qmp = None
                if self.proc.poll() is not None or expired(when):
                    raise TestError(f"{self.name}: no QMP socket; "
                                    f"{self.output_tail()}")
                time.sleep(0.05)
        self.qmp.settimeout(timeout)
        self.qmp_rfile = self.qmp.makefile("r")
        greeting = self._qmp_read()
        if "QMP" not in greeting:
            raise TestError(f"{self.name}: bad QMP greeting {greeting}")
        self.cmd("qmp_capabilities")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self, since=0):
        """QEMU's stdout and stderr, from byte @since on."""
        try:
            with open(self.out_path, errors="replace") as f:
                f.seek(since)
                return f.read()
        except OSError:
            return ""

    def output_size(self):
        try:
            return os.path.getsize(self.out_path)
        except OSError:
            return 0

    def output_tail(self, lines=10):
        rc = self.proc.poll() if self.proc else None
        text = self.output().strip().splitlines()[-lines:]
        state = f"exited with {rc}" if rc is not None else "running"
        return f"QEMU {state}, output: " + (" | ".join(text) or "none")

    def kill(self):
        for f in (self.qmp_rfile, self.qmp, self.qtest_rfile, self.qtest):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        self.qmp = self.qtest = self.qmp_rfile = self.qtest_rfile = None
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def quit(self, timeout=10):
        """Ask QEMU to quit, so that it closes its devices cleanly."""
        if self.alive():
            try:
                self.cmd("quit")
            except (TestError, OSError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    # QMP ------------------------------------------------------------------

    def _qmp_read(self):
        try:
            line = self.qmp_rfile.readline()
        except (socket.timeout, OSError) as e:
            raise TestError(f"{self.name}: QMP read failed ({e}); "
                            f"{self.output_tail()}")
        if not line:
            raise TestError(f"{self.name}: QMP connection closed; "
                            f"{self.output_tail()}")
        return json.loads(line)

    def cmd(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        try:
            self.qmp.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise TestError(f"{self.name}: QMP write failed ({e}); "
                            f"{self.output_tail()}")
        while True:
            resp = self._qmp_read()
            if "event" in resp:
                self.events.append(resp)
                continue
            if "error" in resp:
                raise TestError(f"{self.name}: {command} failed: "
                                f"{resp['error'].get('desc')}")
            return resp.get("return")

    def query_migrate(self):
        return self.cmd("query-migrate")

    def wait_migration(self, statuses, timeout):
        """Poll query-migrate until its status is in @statuses."""
        when = deadline(timeout)
        while True:
            info = self.query_migrate()
            if info.get("status") in statuses:
                return info
            if expired(when):
                raise TestError(f"{self.name}: migration status still "
                                f"{info.get('status')!r} after {timeout}s")
            time.sleep(0.1)

    def run_state(self):
        return self.cmd("query-status").get("status")

    def wait_run_state(self, want, timeout):
        when = deadline(timeout)
        while True:
            st = self.run_state()
            if st == want:
                return
            if expired(when):
                raise TestError(f"{self.name}: VM is {st!r}, not {want!r}, "
                                f"after {timeout}s")
            time.sleep(0.1)

    # qtest ----------------------------------------------------------------

    def qt(self, line):
        try:
            self.qtest.sendall(line.encode() + b"\n")
            while True:
                resp = self.qtest_rfile.readline()
                if not resp:
                    raise TestError(f"{self.name}: qtest connection closed; "
                                    f"{self.output_tail()}")
                if resp.startswith("IRQ"):
                    continue
                break
        except (socket.timeout, OSError) as e:
            raise TestError(f"{self.name}: qtest '{line}' failed ({e})")
        resp = resp.strip()
        if not resp.startswith("OK"):
            raise TestError(f"{self.name}: qtest '{line}' -> '{resp}'")
        return resp[2:].strip()

    def readl(self, addr):
        return int(self.qt(f"readl 0x{addr:x}"), 16)

    def readq(self, addr):
        return int(self.qt(f"readq 0x{addr:x}"), 16)

    def writel(self, addr, val):
        self.qt(f"writel 0x{addr:x} 0x{val:x}")

    def writeq(self, addr, val):
        self.qt(f"writeq 0x{addr:x} 0x{val:x}")

    def memset(self, addr, size, byte):
        self.qt(f"memset 0x{addr:x} 0x{size:x} 0x{byte:02x}")

    def b64write(self, addr, data):
        self.qt(f"b64write 0x{addr:x} 0x{len(data):x} "
                + base64.b64encode(data).decode())

    def b64read(self, addr, size):
        return base64.b64decode(self.qt(f"b64read 0x{addr:x} 0x{size:x}"))

    # trace ----------------------------------------------------------------

    def trace_size(self):
        try:
            return os.path.getsize(self.trace_path)
        except OSError:
            return 0

    def trace(self, since=0):
        """The trace from byte @since on, whole lines only: QEMU may be
        writing the last one, and a part of it could match as a shorter
        number."""
        try:
            with open(self.trace_path, errors="replace") as f:
                f.seek(since)
                text = f.read()
        except OSError:
            return ""
        return text[:text.rfind("\n") + 1]

    _STATE_RE = re.compile(
        r"vfio_migration_set_device_state\s+\(([^)]*)\)\s+state\s+(\w+)")

    def device_states(self, since=0):
        """Device states that QEMU set, in order, from the trace."""
        return [m.group(2) for m in self._STATE_RE.finditer(self.trace(since))]

    _DIRTY_START_RE = re.compile(
        r"vfio_device_dirty_tracking_start (nr_ranges [^\n]*)")

    def dirty_tracking_starts(self, since=0):
        """The ranges of each start of device dirty tracking (DMA logging
        started on the devices), from the trace."""
        return [m.group(1) for m in
                self._DIRTY_START_RE.finditer(self.trace(since))]

    # 10.0: vfio_get_dirty_bitmap iova= size= bitmap_size= start= (a RAM
    # address); 11.1: vfio_container_query_dirty_bitmap iova= size=
    # backend_flag= bitmap_size= gpa=.
    _DIRTY_BITMAP_RE = re.compile(
        r"(?:vfio_get_dirty_bitmap|vfio_container_query_dirty_bitmap) "
        r"iova=0x([0-9a-f]+) size= ?0x([0-9a-f]+) "
        r"(?:backend_flag=0x[0-9a-f]+ )?bitmap_size=0x[0-9a-f]+ "
        r"(?:start|gpa)=0x([0-9a-f]+) dirty_pages=(\d+)")

    def dirty_bitmaps(self, since=0):
        """Each dirty sync of a section of guest RAM from the trace, as
        (iova, size, ram_addr, dirty pages QEMU took from it)."""
        return [(int(m.group(1), 16), int(m.group(2), 16),
                 int(m.group(3), 16), int(m.group(4)))
                for m in self._DIRTY_BITMAP_RE.finditer(self.trace(since))]

    _MIG_INIT_RE = re.compile(r"vfio_migration_init\s+\([^)]*\) ([^\n]*)")

    def migration_init(self):
        """What QEMU 11.x traced when it set the device up for migration
        (mig_flags, precopy_info_v2_used, dirty_pages_supported), or
        None (older QEMU)."""
        m = self._MIG_INIT_RE.search(self.trace())
        return m.group(1).strip() if m else None

    _PRECOPY_SIZE_RE = re.compile(
        r"vfio_query_precopy_size\s+\([^)]*\) init (\d+), dirty (\d+), "
        r"reinit (\d), ret (-?\d+)")

    def precopy_queries(self, since=0):
        """QEMU 11.x's VFIO_MIG_GET_PRECOPY_INFO calls from the trace, as
        (initial bytes, dirty bytes, REINIT reported, return value)."""
        return [(int(m.group(1)), int(m.group(2)), m.group(3) == "1",
                 int(m.group(4)))
                for m in self._PRECOPY_SIZE_RE.finditer(self.trace(since))]

    def trace_args(self, name, since=0):
        """The arguments of each trace line of event @name (exactly)."""
        pat = re.compile(r"(?:^|[\s:])" + re.escape(name) + r"(?: ([^\n]*))?$",
                         re.M)
        return [(m.group(1) or "").strip()
                for m in pat.finditer(self.trace(since))]

    _RAM_PAGE_RE = re.compile(r"ram_save_page (\S+): offset: 0x([0-9a-f]+)")

    def ram_pages_sent(self, block, offset, since=0):
        """How often the RAM stage sent the page at @offset of RAMBlock
        @block as a normal page (needs the trace event ram_save_page; zero
        pages are not traced)."""
        return sum(1 for m in self._RAM_PAGE_RE.finditer(self.trace(since))
                   if m.group(1) == block and int(m.group(2), 16) == offset)


class Pci:
    """Config cycles on the nested machine's bus 0 through qtest."""

    def __init__(self, qemu, slot):
        self.q = qemu
        self.devfn = slot << 3

    def _addr(self, reg):
        self.q.qt(f"outl 0xcf8 0x{0x80000000 | (self.devfn << 8) | (reg & 0xfc):x}")

    def read32(self, reg):
        self._addr(reg)
        return int(self.q.qt("inl 0xcfc"), 16)

    def write32(self, reg, val):
        self._addr(reg)
        self.q.qt(f"outl 0xcfc 0x{val:x}")

    def read16(self, reg):
        self._addr(reg)
        return int(self.q.qt(f"inw 0x{0xcfc + (reg & 2):x}"), 16)

    def write16(self, reg, val):
        self._addr(reg)
        self.q.qt(f"outw 0x{0xcfc + (reg & 2):x} 0x{val:x}")

    def map_bar(self, bar, addr, is64=False):
        reg = 0x10 + 4 * bar
        self.write32(reg, addr & 0xffffffff)
        if is64:
            self.write32(reg + 4, addr >> 32)

    def bar_addr(self, bar, is64=False):
        reg = 0x10 + 4 * bar
        addr = self.read32(reg) & ~0xf
        if is64:
            addr |= self.read32(reg + 4) << 32
        return addr

    def enable_memory(self):
        self.write16(0x04, self.read16(0x04) | 0x2)

    def enable_bus_master(self):
        self.write16(0x04, self.read16(0x04) | 0x4)


# ------------------------------------------------------------------------
# our stream header on the wire, and the kernel log

# Where our uAPI header is: the tree's include/uapi, beside which this
# suite runs in make check, else an installed copy.
UAPI_HEADERS = (
    os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)),
        "../../../../../include/uapi/linux/qemu_vfio_pci.h")),
    "/usr/include/linux/qemu_vfio_pci.h",
)
# struct qvp_stream_header: magic, version and header_len lead it; the
# CRC-32 (zlib's) of its first 28 bytes ends it.
QVP_HDR_LEN = 32
QVP_HDR_CRC_LEN = 28


def uapi_defines(*names):
    """The values of @names, #defines of our uAPI header
    (qemu_vfio_pci.h, the first of UAPI_HEADERS there is)."""
    path = next((p for p in UAPI_HEADERS if os.path.exists(p)), None)
    if not path:
        raise TestError("no qemu_vfio_pci.h (looked for "
                        + ", ".join(UAPI_HEADERS) + ")")
    got = {}
    with open(path) as f:
        for ln in f:
            m = re.match(r"#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)U?\b", ln)
            if m and m.group(1) in names:
                got[m.group(1)] = int(m.group(2), 0)
    missing = [n for n in names if n not in got]
    if missing:
        raise TestError(f"{path} has no {', '.join(missing)}")
    return [got[n] for n in names]


class VersionRelay:
    """A TCP relay from a source QEMU to a destination QEMU's incoming
    port that changes the version of the first qemu-vfio-pci stream
    header crossing it from @old to @new, and puts the header's CRC
    right again: what a destination sees when its driver is older than
    the source's.  Both directions are relayed (QEMU's return path
    shares the connection); when either ends, both sockets of the pair
    are shut down, so that the source's next write fails as it would on
    a direct connection (a source QEMU in pre-copy notices a failed
    destination only by its own writes failing).

    A header is found by its first 8 bytes (magic, @old, its length) and
    a CRC that holds; other bytes pass unchanged.  The last bytes of what
    arrived that could begin a header are held back until more data
    comes, at most a second: QEMU writes a device's buffer in one piece,
    and a migration that waits for its peer never finds its last bytes
    held."""

    def __init__(self, dst_port, magic, old, new):
        self.dst_port, self.new = dst_port, new
        self.sig = struct.pack("<IHH", magic, old, QVP_HDR_LEN)
        self.rewritten = 0
        self.bytes = [0, 0]
        self.errors = []
        self.closed = False
        self.lock = threading.Lock()
        self.socks = []
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            try:
                d = socket.create_connection(("127.0.0.1", self.dst_port),
                                             timeout=10)
                d.settimeout(None)
            except OSError as e:
                self.errors.append(f"connect to port {self.dst_port}: {e}")
                s.close()
                continue
            with self.lock:
                if self.closed:
                    s.close()
                    d.close()
                    return
                self.socks += [s, d]
            pair = {"src": s, "dst": d, "left": 2}
            for a, b, fwd in ((s, d, True), (d, s, False)):
                threading.Thread(target=self._pump, args=(a, b, fwd, pair),
                                 daemon=True).start()

    def _rewrite(self, buf):
        """Change the first whole header in @buf; returns how many bytes
        at @buf's start may go on (the rest could begin a header)."""
        if self.rewritten:
            return len(buf)
        i = buf.find(self.sig)
        while i >= 0 and i + QVP_HDR_LEN <= len(buf):
            crc = struct.unpack_from("<I", buf, i + QVP_HDR_CRC_LEN)[0]
            if zlib.crc32(bytes(buf[i:i + QVP_HDR_CRC_LEN])) == crc:
                struct.pack_into("<H", buf, i + 4, self.new)
                struct.pack_into("<I", buf, i + QVP_HDR_CRC_LEN,
                                 zlib.crc32(bytes(buf[i:i + QVP_HDR_CRC_LEN])))
                self.rewritten += 1
                return len(buf)
            i = buf.find(self.sig, i + 1)
        if i >= 0:
            return i
        # a part of the signature at the very end
        for k in range(min(len(self.sig) - 1, len(buf)), 0, -1):
            if buf.endswith(self.sig[:k]):
                return len(buf) - k
        return len(buf)

    def _end(self, pair):
        """One direction of @pair ended: shut both sockets down, which
        wakes the other direction's thread; the last thread out closes
        them, the source's with a reset (SO_LINGER 0), so that a source
        blocked in a write, or writing next, gets ECONNRESET."""
        for x in (pair["src"], pair["dst"]):
            with contextlib.suppress(OSError):
                x.shutdown(socket.SHUT_RDWR)
        with self.lock:
            pair["left"] -= 1
            if pair["left"]:
                return
        with contextlib.suppress(OSError):
            pair["src"].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        pair["src"].close()
        pair["dst"].close()

    def _pump(self, a, b, fwd, pair):
        held = bytearray()
        try:
            while True:
                if held and not select.select([a], [], [], 1.0)[0]:
                    b.sendall(held)
                    held = bytearray()
                    continue
                data = a.recv(1 << 16)
                if not data:
                    break
                self.bytes[0 if fwd else 1] += len(data)
                if not fwd:
                    b.sendall(data)
                    continue
                held += data
                n = self._rewrite(held)
                if n:
                    b.sendall(held[:n])
                    del held[:n]
            if held:
                b.sendall(held)
        except OSError as e:
            if not self.closed:
                self.errors.append(f"{'to' if fwd else 'from'} the "
                                   f"destination: {e}")
        finally:
            self._end(pair)

    def summary(self):
        s = (f"{self.bytes[0]} bytes to the destination, {self.bytes[1]} "
             f"back, {self.rewritten} stream header(s) changed to "
             f"version {self.new}")
        if self.errors:
            s += "; ended by an error " + "; ".join(self.errors)
        return s

    def close(self):
        """Stop relaying; wakes every thread (a shutdown() does, a bare
        close() does not), which then ends."""
        with self.lock:
            self.closed = True
            socks = [self.lsock] + self.socks
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class Kmsg:
    """The kernel log from now on: /dev/kmsg read from its end."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def read(self):
        """The messages logged since, or since the last read()."""
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten: go on
                    continue
                raise
            _, _, msg = rec.decode(errors="replace").partition(";")
            out.append(msg.split("\n", 1)[0])
        return out

    def close(self):
        os.close(self.fd)
