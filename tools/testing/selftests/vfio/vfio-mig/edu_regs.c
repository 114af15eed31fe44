// SPDX-License-Identifier: GPL-2.0
/*
 * edu_regs - set and read the registers of a QEMU edu device through VFIO,
 * for vfio_mig_test.sh.
 *
 *   edu_regs [--holder PATH] BDF get     print the registers (one line)
 *   edu_regs [--holder PATH] BDF set LIVENESS N
 *                          write LIVENESS to 0x04, compute N! in 0x08
 *                          (waits until done), then print
 *   edu_regs [--holder PATH] BDF hold SECONDS
 *                          keep the device open (prints "ready")
 *
 * "get" prints "liveness=0x... factorial=0x... status=0x..." with the
 * values read back (edu's liveness register reads as the complement of
 * what was written).  qemu-vfio-pci resets the device when it is opened
 * and closed, so the registers outlive this process only when a holder
 * keeps the device open ("vfio-mig hold"): with --holder PATH, or
 * $VFIO_MIG_HOLDER, edu_regs takes the device from the holder at PATH.
 * Exit: 0 ok, 1 failure, 2 usage, 4 (KSFT_SKIP) device cannot be opened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qvp/edu.h>

#include "vfio_dev.h"

#define BAR0			VFIO_PCI_BAR0_REGION_INDEX
#define PCI_CMD			0x04
#define PCI_CMD_MEMORY		0x02

static int fail(const char *what, int ret)
{
	fprintf(stderr, "edu_regs: %s: %s\n", what, strerror(-ret));
	return 1;
}

static int enable_memory(struct vfio_dev *dev)
{
	uint16_t cmd;
	int ret;

	ret = vfio_dev_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, PCI_CMD,
				   &cmd, sizeof(cmd));
	if (ret || (cmd & PCI_CMD_MEMORY))
		return ret;
	cmd |= PCI_CMD_MEMORY;
	return vfio_dev_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				     PCI_CMD, &cmd, sizeof(cmd));
}

static int wait_idle(struct vfio_dev *dev)
{
	uint32_t status;
	int i, ret;

	for (i = 0; i < 2000; i++) {
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_STATUS, &status);
		if (ret)
			return ret;
		if (!(status & EDU_STATUS_COMPUTING))
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static int print_regs(struct vfio_dev *dev)
{
	uint32_t live, fact, status;
	int ret;

	ret = vfio_dev_read32(dev, BAR0, EDU_REG_LIVENESS, &live);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_FACTORIAL, &fact);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_STATUS, &status);
	if (ret)
		return fail("reading BAR0", ret);
	printf("liveness=0x%08x factorial=0x%08x status=0x%08x\n", live, fact,
	       status);
	return 0;
}

#define USAGE	"usage: edu_regs [--holder PATH] BDF get | set LIVENESS N | hold SECONDS\n"

int main(int argc, char **argv)
{
	const char *holder = getenv(VFIO_HOLD_ENV);
	struct vfio_dev dev;
	unsigned long live, n, secs;
	char *end;
	int ret;

	if (argc > 2 && !strcmp(argv[1], "--holder")) {
		holder = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (holder && *holder)
		ret = vfio_dev_open_held(&dev, holder, argv[1]);
	else
		ret = vfio_dev_open(&dev, argv[1]);
	if (ret) {
		fprintf(stderr, "edu_regs: cannot open %s: %s\n", argv[1],
			dev.err);
		return 4;
	}
	ret = enable_memory(&dev);
	if (ret) {
		vfio_dev_close(&dev);
		return fail("enabling memory decoding", ret);
	}

	if (!strcmp(argv[2], "get") && argc == 3) {
		ret = print_regs(&dev);
	} else if (!strcmp(argv[2], "set") && argc == 5) {
		live = strtoul(argv[3], &end, 0);
		if (*end)
			goto usage;
		n = strtoul(argv[4], &end, 0);
		if (*end)
			goto usage;
		ret = wait_idle(&dev);
		if (!ret)
			ret = vfio_dev_write32(&dev, BAR0, EDU_REG_LIVENESS, live);
		if (!ret)
			ret = vfio_dev_write32(&dev, BAR0, EDU_REG_FACTORIAL, n);
		if (!ret)
			ret = wait_idle(&dev);
		ret = ret ? fail("writing BAR0", ret) : print_regs(&dev);
	} else if (!strcmp(argv[2], "hold") && argc == 4) {
		secs = strtoul(argv[3], &end, 0);
		if (*end)
			goto usage;
		printf("ready\n");
		fflush(stdout);
		sleep(secs);
		ret = 0;
	} else {
		goto usage;
	}
	vfio_dev_close(&dev);
	return ret;

usage:
	vfio_dev_close(&dev);
	fputs(USAGE, stderr);
	return 2;
}
