#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Usage: qmp.py SOCKET CMD...
# Run QEMU human monitor commands (e.g. "info cpus", "stop") through the
# QMP socket SOCKET and print each as "(qemu) CMD" followed by its output.
# Used by vm.sh (QEMU's state when a guest stalls) and its test.
import json
import socket
import sys

s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()                                    # greeting


def qmp(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r


qmp("qmp_capabilities")
for c in sys.argv[2:]:
    r = qmp("human-monitor-command", **{"command-line": c})
    print("(qemu) " + c)
    print(r.get("return", r.get("error")))
