# SPDX-License-Identifier: GPL-2.0
#
# qemu-vfio-pci: top-level Makefile.
#
#   make [KDIR=...]     build qemu-vfio-pci.ko out of tree (default: the
#                       running kernel's build directory)
#   make check          every test, on every kernel of the matrix, in VMs
#   make demo           migrate an edu device's state in a VM, narrated
#   make bench          migration throughput, memory and latency in a VM
#                       (out/bench.json)
#   make fuzz           libFuzzer on the stream parser for FUZZ_SECONDS
#                       (default 600); crashes kept in
#                       tools/testing/stream/fuzz-crashes/ (scripts/fuzz.sh)
#   make install        install the module (modules_install) into KDIR's tree
#   make clean
#
# make check and make demo need root: they build a cached Debian root
# filesystem with mmdebstrap and boot kernels under QEMU (see README.md).

KDIR ?= /lib/modules/$(shell uname -r)/build
MODDIR := $(CURDIR)/drivers/vfio/pci/qemu
KBUILD_ARGS := M=$(MODDIR) CONFIG_QEMU_VFIO_PCI=m QVP_UAPI=$(CURDIR)/include/uapi

.PHONY: all modules install clean check demo bench fuzz checkpatch

all: modules

modules:
	@test -d "$(KDIR)" || { echo "error: no kernel build directory at $(KDIR); install the kernel headers (apt-get install linux-headers-$$(uname -r)) or pass KDIR=/path/to/build" >&2; exit 1; }
	$(MAKE) -C $(KDIR) $(KBUILD_ARGS) modules

install: modules
	$(MAKE) -C $(KDIR) $(KBUILD_ARGS) modules_install

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) $(KBUILD_ARGS) clean; fi
	rm -rf out

check:
	@scripts/check.sh

demo:
	@scripts/demo.sh

bench:
	@scripts/bench.sh

FUZZ_SECONDS ?= 600
fuzz:
	@FUZZ_SECONDS="$(FUZZ_SECONDS)" scripts/fuzz.sh
