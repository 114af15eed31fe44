// SPDX-License-Identifier: GPL-2.0
/*
 * The migration selftests' plug-in for QEMU's edu (1234:11e8): its state
 * is its registers (struct edu_regs), programmed with edu_apply().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mig_common.h"
#include "mig_plugin.h"

/* Known states; the DMA command register is never written. */
static const struct edu_state edu_states[] = {
	{
		.liveness = 0x12345678,
		.fact_n = 10,
		.irq_on_fact = true,
		.dma_src = 0x1122334455667788ULL,
		.dma_dst = 0x8877665544332211ULL,
		.dma_count = 0xdeadbeefULL,
	}, {
		.liveness = 0xa5a5c3c3,
		.fact_n = 7,
		.dma_src = 0x40000,
		.dma_dst = 0xfffffffffffff000ULL,
		.dma_count = 0x1000,
	}, {
		.liveness = 0x0badf00d,
		.fact_n = 12,
		.irq_on_fact = true,
		.dma_src = 0x1000,
		.dma_dst = 0x2000,
		.dma_count = 0x30,
	},
};

static_assert(sizeof(struct edu_regs) <= MIG_STATE_MAX,
	      "struct edu_regs does not fit in struct mig_state");

static int edu_init(struct mig_pdev *d, char *why)
{
	if (!(d->dev.info.flags & VFIO_DEVICE_FLAGS_RESET)) {
		snprintf(why, MIG_WHY_LEN,
			 "%s: VFIO_DEVICE_GET_INFO does not report RESET",
			 d->dev.bdf);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int edu_read_state(struct mig_pdev *d, struct mig_state *st,
			  char *why)
{
	struct edu_regs *r = (struct edu_regs *)st->data;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = edu_read_regs(&d->dev, r);
	if (ret)
		snprintf(why, MIG_WHY_LEN, "reading BAR0: %s", strerror(-ret));
	return ret;
}

/*
 * One part per register; edu_states[] and the power-on state differ in
 * six: liveness, factorial, status and the three DMA addresses.
 */
static int edu_compare(const struct mig_state *want,
		       const struct mig_state *got, char *why)
{
	return edu_regs_diff((const struct edu_regs *)want->data,
			     (const struct edu_regs *)got->data, why,
			     MIG_WHY_LEN);
}

/* Program state @n, and check that the edu shows exactly that. */
static int edu_put_state(struct mig_pdev *d, unsigned int n, char *why)
{
	const struct edu_state *s = &edu_states[(n - 1) % ARRAY_SIZE(edu_states)];
	struct mig_state want, got;
	int ret;

	memset(&want, 0, sizeof(want));
	ret = edu_apply(&d->dev, s);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "programming the edu: %s",
			 strerror(-ret));
		return ret;
	}
	edu_expected(s, (struct edu_regs *)want.data);
	ret = edu_read_state(d, &got, why);
	if (!ret && edu_compare(&want, &got, why))
		ret = -EIO;
	return ret;
}

/* A running edu changes when it is written: its liveness register. */
static int edu_make_dirty(struct mig_pdev *d, unsigned int n, char *why)
{
	int ret = vfio_dev_write32(&d->dev, BAR0, EDU_REG_LIVENESS,
				   0x5a5a0000U | n);

	if (ret)
		snprintf(why, MIG_WHY_LEN, "writing liveness: %s",
			 strerror(-ret));
	return ret;
}

/* Every field of the stream, and its registers are @want. */
static int edu_check_stream(struct mig_pdev *d, const uint8_t *s,
			    size_t len, const struct mig_state *want,
			    char *why)
{
	struct vfio_pci_ids ids;
	struct edu_regs saved;
	char diff[MIG_WHY_LEN - 32];
	int ret;

	ret = vfio_dev_pci_ids(&d->dev, &ids);
	if (ret) {
		snprintf(why, MIG_WHY_LEN, "PCI IDs: %s", strerror(-ret));
		return ret;
	}
	if (qvp_check_edu_stream(s, len, &ids, &saved, diff, sizeof(diff))) {
		snprintf(why, MIG_WHY_LEN, "bad stream: %s", diff);
		return -EINVAL;
	}
	if (edu_regs_diff((const struct edu_regs *)want->data, &saved, diff,
			  sizeof(diff))) {
		snprintf(why, MIG_WHY_LEN, "stream payload:%s", diff);
		return -EINVAL;
	}
	return 0;
}

const struct mig_plugin mig_plugin_edu = {
	.name = "edu",
	.vendor = EDU_VENDOR,
	.device = EDU_DEVICE,
	.parts = 6,
	.init = edu_init,
	.put_state = edu_put_state,
	.read_state = edu_read_state,
	.compare = edu_compare,
	.make_dirty = edu_make_dirty,
	.check_stream = edu_check_stream,
	/* qemu-vfio-pci: header and record CRCs */
	.refuses_bad_streams = true,
};
