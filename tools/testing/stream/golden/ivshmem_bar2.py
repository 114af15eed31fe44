#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""BAR2 of a 64 MiB ivshmem-plain, through sysfs, for the golden streams.

Usage: ivshmem_bar2.py BDF golden|fill|check

  golden  write the state ivshmem-64M-vN.qvps.gz was saved in: zeros,
          but for a line of text at 0 and bytes 0..255 repeated in the
          4 KiB at 32 MiB (scripts/golden-streams.sh)
  fill    write 0xa5 everywhere (so that a load that moves nothing shows)
  check   exit 0 if BAR2 holds the golden state, else say where it differs

The device must be closed (bound to its vfio driver or to none): sysfs
maps the BAR itself.  Memory decoding is switched on first.
"""
import mmap
import os
import sys

SIZE = 64 << 20
TEXT = b"qemu-vfio-pci golden stream: ivshmem-plain, 64 MiB\n"
PATTERN_AT = 32 << 20


def golden():
    """The golden BAR2, as bytes."""
    want = bytearray(SIZE)
    want[0:len(TEXT)] = TEXT
    want[PATTERN_AT:PATTERN_AT + 4096] = bytes(range(256)) * 16
    return bytes(want)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("golden", "fill", "check"):
        sys.exit(__doc__.split("\n\n")[1])
    d = "/sys/bus/pci/devices/" + sys.argv[1]
    with open(d + "/config", "r+b") as f:
        f.seek(4)
        cmd = int.from_bytes(f.read(2), "little")
        f.seek(4)
        f.write((cmd | 2).to_bytes(2, "little"))
    fd = os.open(d + "/resource2", os.O_RDWR | os.O_SYNC)
    m = mmap.mmap(fd, 0)
    if len(m) != SIZE:
        sys.exit("%s: BAR2 is %d bytes, not 64 MiB" % (sys.argv[1], len(m)))
    if sys.argv[2] == "golden":
        m[:] = golden()
    elif sys.argv[2] == "fill":
        m[:] = b"\xa5" * SIZE
    else:
        want = golden()
        for off in range(0, SIZE, 1 << 20):
            if m[off:off + (1 << 20)] != want[off:off + (1 << 20)]:
                sys.exit("%s: BAR2 differs in the MiB at 0x%x" %
                         (sys.argv[1], off))
    m.flush()
    m.close()
    os.close(fd)


if __name__ == "__main__":
    main()
