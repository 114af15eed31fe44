// SPDX-License-Identifier: GPL-2.0
/*
 * The migration selftests' plug-in for the VF of QEMU's igb (82576 VF,
 * 8086:10ca): its state is the BAR0 registers that qemu-vfio-pci
 * migrates, both queue pairs' ring registers and the interrupt
 * registers.  The queues stay disabled (no ENABLE bit is ever written),
 * so nothing here makes the device DMA, and the PF's driver is never
 * asked for anything: the mailbox is not touched.
 *
 * Every value is one QEMU 10.0 reads back as written (hw/net/igb_core.c:
 * igb_set_dlen() keeps bits 19:4, igb_set_dbal() clears bits 4:0,
 * igb_set_16bit() and igb_set_rdt() keep 16 bits, igb_set_eitr() reads
 * back all but bit 31, the other registers are plain).  RXCTL and
 * PSRTYPE have no handler in the model: they read 0 whatever is written,
 * so each shares a part with a register that keeps its value.
 *
 * IVAR0 keeps igbvf's mapping of queue pair 0 (RX on vector 0, TX on
 * vector 1) in every state: the model ORs a VF's mapping into the PF's
 * IVAR0 and never clears it (igb_set_vtivar()), so another mapping would
 * stay in the PF and misroute the VF's interrupts for every later user.
 * Queue pair 1's half, which the model ignores, carries the state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <qvp/igb.h>

#include "mig_common.h"
#include "mig_plugin.h"

#define IGBVF_BAR	IGBVF_BAR_REGS

/* A register of the state, and the part (as compare() counts) it is in. */
struct igbvf_reg {
	const char *name;
	uint32_t off;
	unsigned int part;
};

#define Q(name, n, part)	{ #name #n, IGBVF_##name(n), part }

/*
 * Write order: the queues' control registers first (disabled), the
 * lengths before the heads and tails.
 */
static const struct igbvf_reg igbvf_regs[] = {
	Q(RXDCTL, 0, 0), Q(TXDCTL, 0, 1), Q(RXDCTL, 1, 2), Q(TXDCTL, 1, 3),
	Q(RDBAL, 0, 4), Q(RDBAH, 0, 5), Q(RDLEN, 0, 6), Q(SRRCTL, 0, 7),
	Q(RXCTL, 0, 7), Q(RDH, 0, 8), Q(RDT, 0, 9),
	Q(TDBAL, 0, 10), Q(TDBAH, 0, 11), Q(TDLEN, 0, 12), Q(TXCTL, 0, 13),
	Q(TDWBAL, 0, 14), Q(TDWBAH, 0, 15), Q(TDH, 0, 16), Q(TDT, 0, 17),
	Q(RDBAL, 1, 18), Q(RDBAH, 1, 19), Q(RDLEN, 1, 20), Q(SRRCTL, 1, 21),
	Q(RXCTL, 1, 21), Q(RDH, 1, 22), Q(RDT, 1, 23),
	Q(TDBAL, 1, 24), Q(TDBAH, 1, 25), Q(TDLEN, 1, 26), Q(TXCTL, 1, 27),
	Q(TDWBAL, 1, 28), Q(TDWBAH, 1, 29), Q(TDH, 1, 30), Q(TDT, 1, 31),
	{ "EIAC", IGBVF_EIAC, 32 },
	{ "EIAM", IGBVF_EIAM, 33 },
	{ "EIMS", IGBVF_EIMS, 34 },
	{ "EITR0", IGBVF_EITR(0), 35 },
	{ "EITR1", IGBVF_EITR(1), 36 },
	{ "EITR2", IGBVF_EITR(2), 37 },
	{ "IVAR0", IGBVF_IVAR0, 38 },
	{ "IVAR_MISC", IGBVF_IVAR_MISC, 39 },
	{ "PSRTYPE", IGBVF_PSRTYPE, 39 },
};

#define IGBVF_NREGS	ARRAY_SIZE(igbvf_regs)
#define IGBVF_PARTS	40

struct igbvf_state {
	uint32_t val[IGBVF_NREGS];
};

static_assert(sizeof(struct igbvf_state) <= MIG_STATE_MAX,
	      "struct igbvf_state does not fit in struct mig_state");

/* The value of register @i in state @n (1, 2, ...); 0 is never one. */
static uint32_t igbvf_value(unsigned int i, unsigned int n)
{
	uint32_t off = igbvf_regs[i].off, q = 0;

	if (off >= 0x2800 && off < 0x4000)
		q = (off >> 8) & 1;
	switch (off) {
	/*
	 * Thresholds only: never ENABLE (bit 25) nor SWFLUSH; never QEMU's
	 * power-on 1 << 16 either
	 */
	case IGBVF_RXDCTL(0):
	case IGBVF_RXDCTL(1):
		return (n + q + 1) | (n + 2) << 8 | (q + 1) << 16;
	case IGBVF_TXDCTL(0):
	case IGBVF_TXDCTL(1):
		return (n + q + 2) | (n + 1) << 8 | (n + q) << 16;
	/* ring bases 128-byte aligned, lengths multiples of 128 */
	case IGBVF_RDBAL(0):
	case IGBVF_RDBAL(1):
		return 0x10000000 + (n << 20) + (q << 16);
	case IGBVF_RDBAH(0):
	case IGBVF_RDBAH(1):
		return 0x10 * n + q + 1;
	case IGBVF_RDLEN(0):
	case IGBVF_RDLEN(1):
		return IGB_RING_ALIGN * (4 * n + q + 1);
	case IGBVF_SRRCTL(0):
	case IGBVF_SRRCTL(1):
		return IGB_SRRCTL_DESCTYPE_ADV_ONEBUF | (n & 3) << 8 |
		       (n + q + 1);
	case IGBVF_RXCTL(0):
	case IGBVF_RXCTL(1):
		return n << 24 | (q + 1);
	/* heads and tails below the ring's 8 * (4n + q + 1) descriptors */
	case IGBVF_RDH(0):
	case IGBVF_RDH(1):
		return 2 * n + q + 1;
	case IGBVF_RDT(0):
	case IGBVF_RDT(1):
		return 3 * n + q + 2;
	case IGBVF_TDBAL(0):
	case IGBVF_TDBAL(1):
		return 0x20000000 + (n << 20) + (q << 16);
	case IGBVF_TDBAH(0):
	case IGBVF_TDBAH(1):
		return 0x20 * n + q + 1;
	/* 8 * (2n + q + 1) descriptors */
	case IGBVF_TDLEN(0):
	case IGBVF_TDLEN(1):
		return IGB_RING_ALIGN * (2 * n + q + 1);
	/* not QEMU's power-on 0x2a00 (the relaxed ordering bits) */
	case IGBVF_TXCTL(0):
	case IGBVF_TXCTL(1):
		return n << 24 | 0x20 | q;
	/* head write-back off (bit 0): no DMA even if a queue ran */
	case IGBVF_TDWBAL(0):
	case IGBVF_TDWBAL(1):
		return 0x30000000 + (n << 12) + (q << 8);
	case IGBVF_TDWBAH(0):
	case IGBVF_TDWBAH(1):
		return 0x30 * n + q + 1;
	case IGBVF_TDH(0):
	case IGBVF_TDH(1):
		return n + q + 1;
	case IGBVF_TDT(0):
	case IGBVF_TDT(1):
		return 2 * n + q + 2;
	/* the VF's three vectors; 1..7 */
	case IGBVF_EIAC:
		return (n + 0) % 7 + 1;
	case IGBVF_EIAM:
		return (n + 2) % 7 + 1;
	case IGBVF_EIMS:
		return (n + 4) % 7 + 1;
	/* intervals; bit 31 (CNT_IGNR) is not read back */
	case IGBVF_EITR(0):
	case IGBVF_EITR(1):
	case IGBVF_EITR(2):
		return 0x100 * n + 0x40 * ((off - IGBVF_EITR(0)) / 4) + 0x10;
	case IGBVF_IVAR0:
		return (IGBVF_IVAR_VALID | (n + 1) % 3) << 24 |
		       (IGBVF_IVAR_VALID | n % 3) << 16 |
		       (IGBVF_IVAR_VALID | 1) << 8 | (IGBVF_IVAR_VALID | 0);
	case IGBVF_IVAR_MISC:
		return IGBVF_IVAR_VALID | (n - 1) % 3;
	case IGBVF_PSRTYPE:
		return n << 29;
	}
	return 0;
}

static int igbvf_init(struct mig_pdev *d, char *why)
{
	if (!(d->dev.info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		snprintf(why, MIG_WHY_LEN,
			 "%s: VFIO_DEVICE_GET_INFO does not report RESET",
			 d->dev.bdf);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int igbvf_read_state(struct mig_pdev *d, struct mig_state *st,
			    char *why)
{
	struct igbvf_state *s = (struct igbvf_state *)st->data;
	unsigned int i;
	int ret;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < IGBVF_NREGS; i++) {
		ret = vfio_dev_read32(&d->dev, IGBVF_BAR, igbvf_regs[i].off,
				      &s->val[i]);
		if (ret) {
			snprintf(why, MIG_WHY_LEN, "reading %s (BAR0 + 0x%04x): %s",
				 igbvf_regs[i].name, igbvf_regs[i].off,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Add a difference to @why (MIG_WHY_LEN bytes, *@used of them full). */
static void note(char *why, size_t *used, const char *fmt, ...)
{
	va_list ap;

	if (*used >= MIG_WHY_LEN)
		return;
	va_start(ap, fmt);
	*used += vsnprintf(why + *used, MIG_WHY_LEN - *used, fmt, ap);
	va_end(ap);
}

/* IGBVF_PARTS parts: each register, RXCTL and PSRTYPE with another. */
static int igbvf_compare(const struct mig_state *want,
			 const struct mig_state *got, char *why)
{
	const struct igbvf_state *w = (const struct igbvf_state *)want->data;
	const struct igbvf_state *g = (const struct igbvf_state *)got->data;
	bool differs[IGBVF_PARTS] = { false };
	unsigned int i, n = 0;
	size_t used = 0;

	why[0] = '\0';
	for (i = 0; i < IGBVF_NREGS; i++) {
		if (w->val[i] == g->val[i])
			continue;
		note(why, &used, " %s 0x%x, want 0x%x", igbvf_regs[i].name,
		     g->val[i], w->val[i]);
		if (!differs[igbvf_regs[i].part])
			n++;
		differs[igbvf_regs[i].part] = true;
	}
	return n;
}

/*
 * Program state @n and check that the VF reads back exactly what was
 * written, but for the registers that QEMU does not keep.
 */
static int igbvf_put_state(struct mig_pdev *d, unsigned int n, char *why)
{
	struct mig_state got;
	struct igbvf_state *g = (struct igbvf_state *)got.data;
	unsigned int i;
	uint32_t v;
	int ret;

	/*
	 * EIMS sets mask bits and EIMC clears them, but EIMS reads back the
	 * last value written: clear the mask first, so that it is exactly
	 * the value written below, whatever the device had.
	 */
	ret = vfio_dev_write32(&d->dev, IGBVF_BAR, IGBVF_EIMC,
			       (1U << IGBVF_MSIX_VECTORS) - 1);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "writing EIMC: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < IGBVF_NREGS; i++) {
		v = igbvf_value(i, n);
		ret = vfio_dev_write32(&d->dev, IGBVF_BAR, igbvf_regs[i].off, v);
		if (ret) {
			snprintf(why, MIG_WHY_LEN,
				 "writing 0x%x to %s (BAR0 + 0x%04x): %s", v,
				 igbvf_regs[i].name, igbvf_regs[i].off,
				 strerror(-ret));
			return ret;
		}
	}
	ret = igbvf_read_state(d, &got, why);
	if (ret)
		return ret;
	for (i = 0; i < IGBVF_NREGS; i++) {
		v = igbvf_value(i, n);
		if (igbvf_regs[i].off == IGBVF_PSRTYPE ||
		    igbvf_regs[i].off == IGBVF_RXCTL(0) ||
		    igbvf_regs[i].off == IGBVF_RXCTL(1) || g->val[i] == v)
			continue;
		snprintf(why, MIG_WHY_LEN,
			 "state %u: %s (BAR0 + 0x%04x) reads 0x%x, written 0x%x",
			 n, igbvf_regs[i].name, igbvf_regs[i].off, g->val[i], v);
		return -EIO;
	}
	return 0;
}

/* What a guest may change while PRE_COPY runs: an interrupt interval. */
static int igbvf_make_dirty(struct mig_pdev *d, unsigned int n, char *why)
{
	int ret = vfio_dev_write32(&d->dev, IGBVF_BAR, IGBVF_EITR(1),
				   0x7000 | n << 2);

	if (ret)
		snprintf(why, MIG_WHY_LEN, "writing EITR1: %s", strerror(-ret));
	return ret;
}

const struct mig_plugin mig_plugin_igbvf = {
	.name = "igbvf",
	.vendor = IGB_VENDOR,
	.device = IGB_VF_DEVICE,
	.parts = IGBVF_PARTS,
	.init = igbvf_init,
	.put_state = igbvf_put_state,
	.read_state = igbvf_read_state,
	.compare = igbvf_compare,
	.make_dirty = igbvf_make_dirty,
	/* qemu-vfio-pci: header and record CRCs, ring bounds */
	.refuses_bad_streams = true,
};
