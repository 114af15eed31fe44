#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A minimal ivshmem server, so that the test VM can have an
ivshmem-doorbell device (QEMU's own ivshmem-server is not packaged by
Debian).  It speaks the setup half of the protocol of QEMU's
docs/specs/ivshmem-spec.rst: to each client that connects it sends the
protocol version (0), the client's ID and the shared memory (-1 with the
memory's file descriptor), all as little-endian 64-bit integers, then
keeps the connection open.  It sends no interrupt eventfds: the device
works, and rings nobody.

Usage: ivshmem-server.py SOCKET SIZE_MIB
Prints "ready" once it listens; runs until killed.
"""
import os
import socket
import struct
import sys


def main():
    path, size_mib = sys.argv[1], int(sys.argv[2])
    shm = os.memfd_create("ivshmem-doorbell", 0)
    os.ftruncate(shm, size_mib << 20)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    print("ready", flush=True)
    clients = []
    next_id = 0
    while True:
        conn, _ = srv.accept()
        conn.sendall(struct.pack("<q", 0))          # protocol version
        conn.sendall(struct.pack("<q", next_id))    # the client's ID
        socket.send_fds(conn, [struct.pack("<q", -1)], [shm])
        clients.append(conn)
        next_id += 1


if __name__ == "__main__":
    main()
