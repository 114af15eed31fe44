// SPDX-License-Identifier: GPL-2.0
/*
 * The migration selftests' plug-in for QEMU's ivshmem-plain (1af4:1110):
 * its state is the shared memory of BAR2, by checksum, and the IntrMask
 * and IntrStatus registers of BAR0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mig_common.h"
#include "mig_plugin.h"

#define IVS_CHUNK	((size_t)QVP_IVSHMEM_CHUNK)

/*
 * IntrMask & IntrStatus must stay 0: a set bit in both asserts INTx,
 * which nobody has requested here.
 */
#define IVS_MASK	0xffff0000U
#define IVS_STATUS	0x0000c0deU

struct ivs_state {
	uint64_t sum;		/* of the whole BAR2 */
	uint64_t size;
	uint32_t mask;
	uint32_t status;
};

static_assert(sizeof(struct ivs_state) <= MIG_STATE_MAX,
	      "struct ivs_state does not fit in struct mig_state");

static int ivs_init(struct mig_pdev *d, char *why)
{
	int ret;

	if (!(d->dev.info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		snprintf(why, MIG_WHY_LEN,
			 "%s: VFIO_DEVICE_GET_INFO does not report RESET",
			 d->dev.bdf);
		return -EOPNOTSUPP;
	}
	ret = vfio_dev_region_mmap(&d->dev, IVS_BAR_MEM, &d->mem,
				   &d->mem_size);
	if (ret)
		snprintf(why, MIG_WHY_LEN, "%s: mmap of BAR2: %s", d->dev.bdf,
			 strerror(-ret));
	return ret;
}

static void ivs_remove(struct mig_pdev *d)
{
	if (d->mem)
		munmap(d->mem, d->mem_size);
	d->mem = NULL;
}

static int ivs_set_regs(struct mig_pdev *d, uint32_t mask, uint32_t status,
			char *why)
{
	int ret;

	ret = vfio_dev_write32(&d->dev, IVS_BAR_REGS, IVS_REG_INTRMASK, mask);
	if (!ret)
		ret = vfio_dev_write32(&d->dev, IVS_BAR_REGS,
				       IVS_REG_INTRSTATUS, status);
	if (ret)
		snprintf(why, MIG_WHY_LEN, "writing BAR0: %s", strerror(-ret));
	return ret;
}

/* The memory from seed @n, and registers that say @n too. */
static int ivs_put_state(struct mig_pdev *d, unsigned int n, char *why)
{
	uint64_t *p = d->mem;
	size_t i;

	for (i = 0; i < d->mem_size / 8; i++)
		p[i] = mig_splitmix(((uint64_t)n << 40) + i);
	return ivs_set_regs(d, IVS_MASK, IVS_STATUS ^ n, why);
}

/* Reading IntrStatus clears it: write it back. */
static int ivs_read_state(struct mig_pdev *d, struct mig_state *st,
			  char *why)
{
	struct ivs_state *s = (struct ivs_state *)st->data;
	int ret;

	memset(st, 0, sizeof(*st));
	s->sum = mig_mem_checksum(d->mem, d->mem_size);
	s->size = d->mem_size;
	ret = vfio_dev_read32(&d->dev, IVS_BAR_REGS, IVS_REG_INTRMASK,
			      &s->mask);
	if (!ret)
		ret = vfio_dev_read32(&d->dev, IVS_BAR_REGS,
				      IVS_REG_INTRSTATUS, &s->status);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "reading BAR0: %s", strerror(-ret));
		return ret;
	}
	return ivs_set_regs(d, s->mask, s->status, why);
}

/* Add a difference to @why (MIG_WHY_LEN bytes, *@used of them full). */
static int note(char *why, size_t *used, const char *fmt, ...)
{
	va_list ap;

	if (*used < MIG_WHY_LEN) {
		va_start(ap, fmt);
		*used += vsnprintf(why + *used, MIG_WHY_LEN - *used, fmt, ap);
		va_end(ap);
	}
	return 1;
}

/* Two parts: the memory (size and checksum) and the registers. */
static int ivs_compare(const struct mig_state *want,
		       const struct mig_state *got, char *why)
{
	const struct ivs_state *w = (const struct ivs_state *)want->data;
	const struct ivs_state *g = (const struct ivs_state *)got->data;
	int mem = 0, regs = 0;
	size_t used = 0;

	why[0] = '\0';
	if (w->size != g->size)
		mem = note(why, &used, " BAR2 of %llu bytes, want %llu",
			   (unsigned long long)g->size,
			   (unsigned long long)w->size);
	if (w->sum != g->sum)
		mem = note(why, &used, " BAR2 checksum 0x%llx, want 0x%llx",
			   (unsigned long long)g->sum,
			   (unsigned long long)w->sum);
	if (w->mask != g->mask)
		regs = note(why, &used, " IntrMask 0x%x, want 0x%x", g->mask,
			    w->mask);
	if (w->status != g->status)
		regs = note(why, &used, " IntrStatus 0x%x, want 0x%x",
			    g->status, w->status);
	return mem + regs;
}

/* One byte in every 7th chunk of the memory, as a guest would write. */
static int ivs_make_dirty(struct mig_pdev *d, unsigned int n, char *why)
{
	uint8_t *mem = d->mem;
	size_t i;

	(void)why;
	for (i = 1; i * IVS_CHUNK < d->mem_size; i += 7)
		mem[i * IVS_CHUNK + (i * 97) % IVS_CHUNK] ^= 0x80 | n;
	return 0;
}

const struct mig_plugin mig_plugin_ivshmem = {
	.name = "ivshmem",
	.vendor = IVS_VENDOR,
	.device = IVS_DEVICE,
	.parts = 2,
	.init = ivs_init,
	.remove = ivs_remove,
	.put_state = ivs_put_state,
	.read_state = ivs_read_state,
	.compare = ivs_compare,
	.make_dirty = ivs_make_dirty,
	/* qemu-vfio-pci: header and record CRCs, bulk checks */
	.refuses_bad_streams = true,
};
