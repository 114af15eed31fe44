// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci backend for QEMU's "edu" educational device (1234:11e8).
 *
 * The device state is its BAR0 registers.  Two of them cannot simply be
 * written back:
 *  - the factorial register holds n! mod 2^32 of the last n written, and
 *    writing it starts a new computation, so it is restored by writing the
 *    n whose factorial is the saved value (0 is 34!);
 *  - the DMA command register only accepts writes that start a DMA, so it
 *    is saved for diagnosis but not loaded (the next DMA command replaces
 *    it whole; nothing else depends on it).
 * The 4 KiB internal DMA buffer can only be reached by DMA, which the
 * driver cannot do on a device whose IOMMU domain belongs to userspace; it
 * is not migrated.
 */
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/module.h>

#include "qvp.h"

#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define  EDU_STATUS_COMPUTING	0x01
#define  EDU_STATUS_IRQFACT	0x80
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define  EDU_DMA_RUN		0x01
#define  EDU_DMA_KNOWN		0x07
#define EDU_BAR0_MIN		0x100

/* 34! is the first factorial divisible by 2^32. */
#define EDU_FACT_MAX_N		34

static unsigned int edu_timeout_ms = 2000;
module_param(edu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(edu_timeout_ms,
		 "How long (ms) edu quiesce/reset/load wait for a factorial or DMA in flight (default 2000)");

struct edu_regs {
	u32 liveness;
	u32 factorial;
	u32 status;
	u32 irq_status;
	u64 dma_src;
	u64 dma_dst;
	u64 dma_count;
	u64 dma_cmd;
};

/**
 * struct edu_state - per-device private state
 * @bar0: BAR0 mapping while the device is open
 * @saved: registers captured at STOP_COPY entry
 * @save_phase: where the save session is with @saved
 * @staged: registers of a verified resume record, applied at commit
 * @staged_valid: @staged holds a record
 * @staged_fact_n: the n whose factorial is @staged.factorial
 */
struct edu_state {
	void __iomem *bar0;
	struct edu_regs saved;
	enum { EDU_SAVE_UNCAPTURED, EDU_SAVE_PENDING, EDU_SAVE_SENT } save_phase;
	struct edu_regs staged;
	bool staged_valid;
	u32 staged_fact_n;
};

static struct edu_state *edu(struct qvp_device *qdev)
{
	return qvp_priv(qdev);
}

/* n! mod 2^32, as the device computes it. */
static u32 edu_factorial(u32 n)
{
	u32 r = 1;

	while (n > 0)
		r *= n--;
	return r;
}

/* The n in [1, 34] with n! mod 2^32 == @value, or -EINVAL. */
static int edu_factorial_arg(u32 value)
{
	u32 n;

	for (n = 1; n <= EDU_FACT_MAX_N; n++)
		if (edu_factorial(n) == value)
			return n;
	return -EINVAL;
}

/* Wait until no factorial and no DMA is in flight; MMIO bracket held. */
static int edu_wait_idle(struct qvp_device *qdev)
{
	void __iomem *bar0 = edu(qdev)->bar0;
	unsigned long deadline = jiffies + msecs_to_jiffies(edu_timeout_ms);

	for (;;) {
		u32 status = ioread32(bar0 + EDU_REG_STATUS);
		u64 cmd = readq(bar0 + EDU_REG_DMA_CMD);

		if (!(status & EDU_STATUS_COMPUTING) && !(cmd & EDU_DMA_RUN))
			return 0;
		if (status == ~0U) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "edu: device does not respond to MMIO\n");
			return -EIO;
		}
		if (time_after(jiffies, deadline)) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "edu: %s still running after %u ms (edu_timeout_ms)\n",
					    status & EDU_STATUS_COMPUTING ?
					    "factorial" : "DMA", edu_timeout_ms);
			return -ETIMEDOUT;
		}
		usleep_range(100, 200);
	}
}

/* Compute @n! on the device and wait for it, with no completion IRQ. */
static int edu_load_factorial(struct qvp_device *qdev, u32 n)
{
	void __iomem *bar0 = edu(qdev)->bar0;

	iowrite32(0, bar0 + EDU_REG_STATUS);
	iowrite32(n, bar0 + EDU_REG_FACTORIAL);
	return edu_wait_idle(qdev);
}

static int edu_open(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	struct pci_dev *pdev = qdev->core.pdev;
	void __iomem *bar0;

	if (pci_resource_len(pdev, 0) < EDU_BAR0_MIN) {
		pci_err(pdev, "edu: BAR0 is too small (%pR)\n",
			&pdev->resource[0]);
		return -ENODEV;
	}
	bar0 = qvp_map_bar(qdev, 0);
	if (IS_ERR(bar0))
		return PTR_ERR(bar0);
	st->bar0 = bar0;
	return 0;
}

static void edu_close(struct qvp_device *qdev)
{
	edu(qdev)->bar0 = NULL;
}

static int edu_quiesce(struct qvp_device *qdev)
{
	u16 set = qvp_mmio_begin(qdev);
	int ret = edu_wait_idle(qdev);

	qvp_mmio_end(qdev, set);
	return ret;
}

static int edu_reset(struct qvp_device *qdev)
{
	void __iomem *bar0 = edu(qdev)->bar0;
	u16 set = qvp_mmio_begin(qdev);
	int ret;

	ret = edu_wait_idle(qdev);
	if (ret)
		goto out;
	iowrite32(0, bar0 + EDU_REG_STATUS);
	if (ioread32(bar0 + EDU_REG_FACTORIAL) != 0) {
		ret = edu_load_factorial(qdev, EDU_FACT_MAX_N);
		if (ret)
			goto out;
	}
	iowrite32(~0U, bar0 + EDU_REG_LIVENESS);	/* reads back 0 */
	iowrite32(~0U, bar0 + EDU_REG_IRQ_ACK);
	writeq(0, bar0 + EDU_REG_DMA_SRC);
	writeq(0, bar0 + EDU_REG_DMA_DST);
	writeq(0, bar0 + EDU_REG_DMA_COUNT);
out:
	qvp_mmio_end(qdev, set);
	return ret;
}

static size_t edu_stop_copy_size(struct qvp_device *qdev)
{
	if (edu(qdev)->save_phase == EDU_SAVE_SENT)
		return 0;
	return QVP_REC_SIZE(sizeof(struct qvp_edu_regs));
}

static int edu_save_begin(struct qvp_device *qdev, bool precopy, u64 *seed)
{
	/* Nothing to send while running: registers go at STOP_COPY. */
	edu(qdev)->save_phase = EDU_SAVE_UNCAPTURED;
	return 0;
}

static int edu_save_stop(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	void __iomem *bar0 = st->bar0;
	struct edu_regs *r = &st->saved;
	u16 set = qvp_mmio_begin(qdev);
	int ret;

	/* Userspace may have started work since the device was stopped. */
	ret = edu_wait_idle(qdev);
	if (!ret) {
		r->liveness = ioread32(bar0 + EDU_REG_LIVENESS);
		r->factorial = ioread32(bar0 + EDU_REG_FACTORIAL);
		r->status = ioread32(bar0 + EDU_REG_STATUS) & EDU_STATUS_IRQFACT;
		r->irq_status = ioread32(bar0 + EDU_REG_IRQ_STATUS);
		r->dma_src = readq(bar0 + EDU_REG_DMA_SRC);
		r->dma_dst = readq(bar0 + EDU_REG_DMA_DST);
		r->dma_count = readq(bar0 + EDU_REG_DMA_COUNT);
		r->dma_cmd = readq(bar0 + EDU_REG_DMA_CMD) & ~(u64)EDU_DMA_RUN;
		st->save_phase = EDU_SAVE_PENDING;
	}
	qvp_mmio_end(qdev, set);
	return ret;
}

static int edu_save_record(struct qvp_device *qdev, struct qvp_save_rec *rec)
{
	struct edu_state *st = edu(qdev);
	struct qvp_edu_regs *out = rec->buf;
	struct edu_regs *r = &st->saved;

	if (st->save_phase != EDU_SAVE_PENDING)
		return 0;
	if (rec->size < sizeof(*out))
		return -EOVERFLOW;
	out->liveness = cpu_to_le32(r->liveness);
	out->factorial = cpu_to_le32(r->factorial);
	out->status = cpu_to_le32(r->status);
	out->irq_status = cpu_to_le32(r->irq_status);
	out->dma_src = cpu_to_le64(r->dma_src);
	out->dma_dst = cpu_to_le64(r->dma_dst);
	out->dma_count = cpu_to_le64(r->dma_count);
	out->dma_cmd = cpu_to_le64(r->dma_cmd);
	st->save_phase = EDU_SAVE_SENT;
	rec->type = QVP_REC_EDU_REGS;
	rec->len = sizeof(*out);
	return 1;
}

static void edu_save_end(struct qvp_device *qdev)
{
	edu(qdev)->save_phase = EDU_SAVE_UNCAPTURED;
}

static int edu_load_begin(struct qvp_device *qdev)
{
	edu(qdev)->staged_valid = false;
	return 0;
}

static int edu_load_record(struct qvp_device *qdev, u16 type, const void *buf,
			   u32 len)
{
	struct edu_state *st = edu(qdev);
	const struct qvp_edu_regs *in = buf;
	struct edu_regs r;
	int n;

	if (st->staged_valid) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: stream has more than one register record\n");
		return -EINVAL;
	}
	r.liveness = le32_to_cpu(in->liveness);
	r.factorial = le32_to_cpu(in->factorial);
	r.status = le32_to_cpu(in->status);
	r.irq_status = le32_to_cpu(in->irq_status);
	r.dma_src = le64_to_cpu(in->dma_src);
	r.dma_dst = le64_to_cpu(in->dma_dst);
	r.dma_count = le64_to_cpu(in->dma_count);
	r.dma_cmd = le64_to_cpu(in->dma_cmd);

	if (r.status & ~EDU_STATUS_IRQFACT) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: saved status 0x%x has bits other than IRQFACT\n",
				    r.status);
		return -EINVAL;
	}
	if (r.dma_cmd & ~(u64)(EDU_DMA_KNOWN & ~EDU_DMA_RUN)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: saved DMA command 0x%llx is not an idle command\n",
				    r.dma_cmd);
		return -EINVAL;
	}
	n = r.factorial ? edu_factorial_arg(r.factorial) : EDU_FACT_MAX_N;
	if (n < 0) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: saved factorial 0x%x is no n! mod 2^32, cannot reproduce it\n",
				    r.factorial);
		return -EINVAL;
	}
	st->staged = r;
	st->staged_fact_n = n;
	st->staged_valid = true;
	return 0;
}

static int edu_load_commit(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	void __iomem *bar0 = st->bar0;
	struct edu_regs *r = &st->staged;
	u16 set;
	int ret;

	if (!st->staged_valid) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: stream has no register record\n");
		return -EINVAL;
	}

	set = qvp_mmio_begin(qdev);
	/*
	 * Everything in the record was checked by edu_load_record().  What
	 * can still fail is the device itself not finishing a computation in
	 * time: waiting for idle writes nothing, but a factorial that does
	 * not complete leaves STATUS and FACTORIAL changed; the arc then
	 * fails and the device is in ERROR, to be reset.
	 */
	ret = edu_wait_idle(qdev);
	if (ret)
		goto out;
	if (ioread32(bar0 + EDU_REG_FACTORIAL) != r->factorial) {
		ret = edu_load_factorial(qdev, st->staged_fact_n);
		if (ret)
			goto out;
	}
	iowrite32(~r->liveness, bar0 + EDU_REG_LIVENESS);
	writeq(r->dma_src, bar0 + EDU_REG_DMA_SRC);
	writeq(r->dma_dst, bar0 + EDU_REG_DMA_DST);
	writeq(r->dma_count, bar0 + EDU_REG_DMA_COUNT);
	iowrite32(~r->irq_status, bar0 + EDU_REG_IRQ_ACK);
	if (r->irq_status)
		iowrite32(r->irq_status, bar0 + EDU_REG_IRQ_RAISE);
	iowrite32(r->status, bar0 + EDU_REG_STATUS);
out:
	qvp_mmio_end(qdev, set);
	return ret;
}

static void edu_load_end(struct qvp_device *qdev)
{
	edu(qdev)->staged_valid = false;
}

const struct qvp_backend qvp_edu_backend = {
	.name = "edu",
	.id = QVP_BACKEND_EDU,
	.priv_size = sizeof(struct edu_state),
	.records = qvp_edu_records,
	.nr_records = QVP_EDU_NR_RECORDS,
	.open = edu_open,
	.close = edu_close,
	.quiesce = edu_quiesce,
	.reset = edu_reset,
	.stop_copy_size = edu_stop_copy_size,
	.save_begin = edu_save_begin,
	.save_stop = edu_save_stop,
	.save_record = edu_save_record,
	.save_end = edu_save_end,
	.load_begin = edu_load_begin,
	.load_record = edu_load_record,
	.load_commit = edu_load_commit,
	.load_end = edu_load_end,
};
