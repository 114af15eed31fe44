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
 *
 * Interrupts: a stopped device must not interrupt, and a saved state must
 * hold every interrupt the device owes.  QEMU's edu clears COMPUTING
 * before it looks at IRQFACT and raises the completion interrupt, so an
 * idle device may still owe one (see edu_quiesce()).  A resumed
 * interrupt status is held in struct edu_state and raised only when the
 * device runs again (STOP -> RUNNING_P2P).
 *
 * The driver never sleeps inside an MMIO bracket: waits poll with a
 * bracket per look (see edu_wait_idle()).
 */
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>

#include "qvp.h"

#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define  EDU_STATUS_COMPUTING	0x01
#define  EDU_STATUS_IRQFACT	0x80
#define EDU_REG_IRQ_STATUS	0x24
#define  EDU_IRQ_FACT		0x00000001
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define  EDU_DMA_RUN		0x01
#define  EDU_DMA_TO_RAM		0x02
#define  EDU_DMA_KNOWN		0x07
/* The address bits edu uses by default (QEMU's dma_mask property). */
#define EDU_DMA_MASK		GENMASK_ULL(27, 0)
#define EDU_BAR0_MIN		0x100

/* 34! is the first factorial divisible by 2^32. */
#define EDU_FACT_MAX_N		34

/* At least twice QEMU's 100 ms DMA, at most what a user can wait. */
#define EDU_TIMEOUT_MIN_MS	200
#define EDU_TIMEOUT_MAX_MS	10000

static unsigned int edu_timeout_ms = 2000;

static int edu_timeout_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, EDU_TIMEOUT_MIN_MS,
				     EDU_TIMEOUT_MAX_MS);
}

static const struct kernel_param_ops edu_timeout_ops = {
	.set = edu_timeout_set,
	.get = param_get_uint,
};

module_param_cb(edu_timeout_ms, &edu_timeout_ops, &edu_timeout_ms, 0644);
MODULE_PARM_DESC(edu_timeout_ms,
		 "How long (ms, 200-10000) edu arcs, reset and load wait for a factorial or DMA in flight (default 2000)");

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
 * @pend_irq: interrupt status bits the stopped device owes and does not
 *	show: those of a resumed state, or a completion interrupt that
 *	quiesce cancelled; raised when the device runs again
 * @dma_pending: the DMA to RAM of @dma_dst and @dma_cnt may not have
 *	been seen complete by a report of the DMA log (edu_log_sync())
 * @dma_dst: its destination, as written to the device
 * @dma_cnt: its length
 *
 * @dma_pending, @dma_dst and @dma_cnt are protected by
 * qvp_device.trap_lock (the dirty tracking hooks run under it);
 * everything else but @bar0 by the device's state_mutex (the backend's
 * arc operations run under it).
 */
struct edu_state {
	void __iomem *bar0;
	struct edu_regs saved;
	enum { EDU_SAVE_UNCAPTURED, EDU_SAVE_PENDING, EDU_SAVE_SENT } save_phase;
	struct edu_regs staged;
	bool staged_valid;
	u32 staged_fact_n;
	u32 pend_irq;
	bool dma_pending;
	u64 dma_dst;
	u64 dma_cnt;
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

/* What edu_wait_idle() waits for. */
#define EDU_BUSY_FACT	BIT(0)
#define EDU_BUSY_DMA	BIT(1)
#define EDU_BUSY_ANY	(EDU_BUSY_FACT | EDU_BUSY_DMA)
/*
 * How long edu_wait_idle() looks again at once, before it starts to
 * sleep, while only a factorial is in flight: a factorial is a few
 * multiplications in QEMU's edu thread and usually ends within a look
 * or two (each a config read of PCI_COMMAND and two BAR0 reads), while
 * the shortest sleep costs 100-200 us and more under TCG.  A time, not a
 * count of looks, so that the budget is the same whatever a look costs.
 * A DMA, which edu ends 100 ms after it starts, is not looked for at
 * once: it gets the sleeps.
 */
#define EDU_SPIN_US	200

/* EDU_BUSY_* bits of what is in flight now, or -EIO; MMIO bracket held. */
static int edu_busy(struct qvp_device *qdev)
{
	void __iomem *bar0 = edu(qdev)->bar0;
	u32 status;
	u64 cmd;

	lockdep_assert_held_write(&qdev->core.memory_lock);
	status = ioread32(bar0 + EDU_REG_STATUS);
	cmd = readq(bar0 + EDU_REG_DMA_CMD);

	if (status == ~0U) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: device does not respond to MMIO\n");
		return -EIO;
	}
	return (status & EDU_STATUS_COMPUTING ? EDU_BUSY_FACT : 0) |
	       (cmd & EDU_DMA_RUN ? EDU_BUSY_DMA : 0);
}

/*
 * Wait (bounded by edu_timeout_ms) until none of @what is in flight.
 * Each look takes an MMIO bracket of its own and the sleeps are outside
 * it, so the bracket never holds memory_lock across a sleep.  While only
 * a factorial is in flight, looks follow each other without sleeping for
 * the first EDU_SPIN_US.  Call it without the bracket held.  *@seen (if
 * not NULL) gets the EDU_BUSY_* bits of what any look found in flight.
 */
static int edu_wait_idle(struct qvp_device *qdev, unsigned int what,
			 unsigned int *seen)
{
	unsigned int ms = READ_ONCE(edu_timeout_ms);
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);
	ktime_t spin_end = ktime_add_us(ktime_get(), EDU_SPIN_US);
	int busy;
	u16 set;

	if (seen)
		*seen = 0;
	for (;;) {
		set = qvp_mmio_begin(qdev);
		busy = edu_busy(qdev);
		qvp_mmio_end(qdev, set);
		if (busy < 0)
			return busy;
		busy &= what;
		if (seen)
			*seen |= busy;
		if (!busy)
			return 0;
		if (time_after(jiffies, deadline)) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "edu: %s still running after %u ms (edu_timeout_ms)\n",
					    busy & EDU_BUSY_FACT ? "factorial" : "DMA",
					    ms);
			return -ETIMEDOUT;
		}
		if (!(busy & EDU_BUSY_DMA) &&
		    ktime_before(ktime_get(), spin_end)) {
			cpu_relax();
			continue;
		}
		usleep_range(100, 200);
	}
}

/*
 * Work started since edu_wait_idle() saw the device idle: only a user
 * that touches the device in the middle of an arc or a reset, which
 * vfio.h forbids, does that.  MMIO bracket held.
 */
static int edu_check_idle(struct qvp_device *qdev)
{
	int busy = edu_busy(qdev);

	if (busy > 0) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: a %s was started during an arc or reset\n",
				    busy & EDU_BUSY_FACT ? "factorial" : "DMA");
		return -EBUSY;
	}
	return busy;
}

/*
 * Wait for work in flight to end, then take the MMIO bracket and make sure
 * no new work started meanwhile.  Returns 0 with the bracket held (give
 * *@set to qvp_mmio_end()), or -errno without it.  *@seen as for
 * edu_wait_idle().
 */
static int edu_begin_idle(struct qvp_device *qdev, unsigned int *seen,
			  u16 *set)
{
	int ret = edu_wait_idle(qdev, EDU_BUSY_ANY, seen);

	if (ret)
		return ret;
	*set = qvp_mmio_begin(qdev);
	ret = edu_check_idle(qdev);
	if (ret)
		qvp_mmio_end(qdev, *set);
	return ret;
}

/* The n whose factorial the device holds, to compute it again. */
static int edu_fact_n(u32 value)
{
	return value ? edu_factorial_arg(value) : EDU_FACT_MAX_N;
}

/*
 * Start computing @n! with IRQFACT off, so that it raises no interrupt;
 * MMIO bracket held.  Its end is to be waited for with edu_wait_idle().
 */
static void edu_start_factorial(struct qvp_device *qdev, u32 n)
{
	void __iomem *bar0 = edu(qdev)->bar0;

	lockdep_assert_held_write(&qdev->core.memory_lock);
	iowrite32(0, bar0 + EDU_REG_STATUS);
	iowrite32(n, bar0 + EDU_REG_FACTORIAL);
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

/*
 * RUNNING -> RUNNING_P2P, PRE_COPY -> PRE_COPY_P2P.  edu cannot tell
 * peer-to-peer DMA from other DMA, so vfio.h asks for all of its DMA to
 * be complete before the arc into a P2P state completes.  edu can only
 * drain it: a new DMA command is the user's (vfio.h: the user does not
 * touch a device in a P2P state), and the peers that could write BAR0
 * are in a P2P state themselves.
 */
static int edu_p2p_stop(struct qvp_device *qdev)
{
	return edu_wait_idle(qdev, EDU_BUSY_DMA, NULL);
}

/*
 * STOP -> RUNNING_P2P, and PRE_COPY_P2P again after a failed
 * PRE_COPY_P2P -> STOP_COPY: the device runs, and may interrupt.  Raise
 * what it owes and does not show yet.
 */
static int edu_unquiesce(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	void __iomem *bar0 = st->bar0;
	u32 owed;
	u16 set;

	if (!st->pend_irq)
		return 0;
	set = qvp_mmio_begin(qdev);
	owed = st->pend_irq & ~ioread32(bar0 + EDU_REG_IRQ_STATUS);
	if (owed)
		iowrite32(owed, bar0 + EDU_REG_IRQ_RAISE);
	qvp_mmio_end(qdev, set);
	st->pend_irq = 0;
	return 0;
}

/*
 * Back to RUNNING without the arcs (open, close, reset, a PCI reset):
 * interrupts a stopped state owed are dropped, as the session that owed
 * them has ended.  The device is not touched (it may be closed).
 */
static void edu_unhold(struct qvp_device *qdev)
{
	edu(qdev)->pend_irq = 0;
}

static void edu_close(struct qvp_device *qdev)
{
	/* Logging stopped; a pending range concerns no log any more. */
	edu(qdev)->dma_pending = false;
	edu(qdev)->bar0 = NULL;
}

/*
 * RUNNING_P2P -> STOP.  Wait for the work in flight; then, with IRQFACT
 * off so that it raises nothing, compute the factorial the device holds
 * once more, and give IRQFACT back.  The device is then idle, and only a
 * user who touches a stopped device (vfio.h forbids it) can make it
 * change or interrupt.
 *
 * The extra computation is for the completion interrupt of the user's
 * last factorial.  QEMU's edu clears COMPUTING, then reads IRQFACT, then
 * raises FACT_IRQ (under its big lock).  The extra computation ends only
 * after the previous one got through all three steps, so a raise already
 * decided is in IRQ_STATUS once the wait returns.  But turning IRQFACT off
 * can come between the first two steps and cancel that raise: when a
 * factorial was in flight at any look of the wait and IRQFACT was on,
 * FACT_IRQ is owed, and is held (raised at unquiesce, saved by
 * save_stop) if the device does not show it.  What remains open is a
 * factorial that ended before the first look, with edu's thread stopped
 * between its first two steps for as long as the few MMIO accesses
 * before the IRQFACT write take; its completion interrupt can be lost
 * (trapping BAR0, so the driver sees every factorial started, would
 * close that).
 */
static int edu_quiesce(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	void __iomem *bar0 = st->bar0;
	unsigned int seen;
	u32 irqfact, fact;
	int ret, n;
	u16 set;

	ret = edu_begin_idle(qdev, &seen, &set);
	if (ret)
		return ret;
	irqfact = ioread32(bar0 + EDU_REG_STATUS) & EDU_STATUS_IRQFACT;
	fact = ioread32(bar0 + EDU_REG_FACTORIAL);
	n = edu_fact_n(fact);
	if (n < 0) {
		qvp_mmio_end(qdev, set);
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: factorial register reads 0x%x, which no computation gives\n",
				    fact);
		return -EIO;
	}
	edu_start_factorial(qdev, n);
	qvp_mmio_end(qdev, set);

	ret = edu_wait_idle(qdev, EDU_BUSY_FACT, NULL);

	set = qvp_mmio_begin(qdev);
	if (!ret && (seen & EDU_BUSY_FACT) && irqfact &&
	    !(ioread32(bar0 + EDU_REG_IRQ_STATUS) & EDU_IRQ_FACT))
		st->pend_irq |= EDU_IRQ_FACT;
	iowrite32(irqfact, bar0 + EDU_REG_STATUS);
	qvp_mmio_end(qdev, set);
	return ret;
}

/*
 * VFIO_DEVICE_RESET, and open and close (main.c): the power-on values
 * of QEMU's edu, which has no reset of its own (its registers keep their
 * values across a reset of the VM).  The same extra computation as in
 * quiesce, with IRQFACT off, lets any completion interrupt still on its
 * way arrive (or be cancelled) before the status is cleared; it also
 * leaves FACTORIAL at its power-on value, 0 (34!).  Everything in flight
 * has ended when it returns 0.
 *
 * The DMA command register takes only writes that start a DMA, so the
 * direction and interrupt bits of the last command stay.  Clearing them
 * would take a DMA of count 0, which QEMU's edu aborts the whole VM on
 * in releases that end an out-of-range DMA with hw_error() (an empty
 * range counts as out of range there): not worth two bits of the last
 * user's command.  RUN is clear once edu_begin_idle() has waited.
 */
static int edu_reset(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	void __iomem *bar0 = st->bar0;
	int ret;
	u16 set;

	lockdep_assert_held(&qdev->state_mutex);
	ret = edu_begin_idle(qdev, NULL, &set);
	if (ret)
		return ret;
	edu_start_factorial(qdev, EDU_FACT_MAX_N);
	qvp_mmio_end(qdev, set);
	ret = edu_wait_idle(qdev, EDU_BUSY_FACT, NULL);
	if (ret)
		return ret;

	set = qvp_mmio_begin(qdev);
	iowrite32(~0U, bar0 + EDU_REG_LIVENESS);	/* reads back 0 */
	iowrite32(~0U, bar0 + EDU_REG_IRQ_ACK);
	writeq(0, bar0 + EDU_REG_DMA_SRC);
	writeq(0, bar0 + EDU_REG_DMA_DST);
	writeq(0, bar0 + EDU_REG_DMA_COUNT);
	qvp_mmio_end(qdev, set);
	st->pend_irq = 0;
	return 0;
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
	int ret;
	u16 set;

	/* Userspace may have started work since the device was stopped. */
	ret = edu_begin_idle(qdev, NULL, &set);
	if (ret)
		return ret;
	r->liveness = ioread32(bar0 + EDU_REG_LIVENESS);
	r->factorial = ioread32(bar0 + EDU_REG_FACTORIAL);
	r->status = ioread32(bar0 + EDU_REG_STATUS) & EDU_STATUS_IRQFACT;
	r->irq_status = ioread32(bar0 + EDU_REG_IRQ_STATUS) | st->pend_irq;
	r->dma_src = readq(bar0 + EDU_REG_DMA_SRC);
	r->dma_dst = readq(bar0 + EDU_REG_DMA_DST);
	r->dma_count = readq(bar0 + EDU_REG_DMA_COUNT);
	r->dma_cmd = readq(bar0 + EDU_REG_DMA_CMD) & ~(u64)EDU_DMA_RUN;
	st->save_phase = EDU_SAVE_PENDING;
	qvp_mmio_end(qdev, set);
	return 0;
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
	n = edu_fact_n(r.factorial);
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
	bool computing = false;
	int ret;
	u16 set;

	if (!st->staged_valid) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "edu: stream has no register record\n");
		return -EINVAL;
	}

	/*
	 * Everything in the record was checked by edu_load_record().  What
	 * can still fail is the device: work in flight that does not end in
	 * time (-ETIMEDOUT), a user who starts work meanwhile (-EBUSY), a
	 * device that does not answer (-EIO).  Waiting writes nothing; a
	 * factorial that does not complete leaves STATUS and FACTORIAL
	 * changed.  The arc then fails and the device is in ERROR, to be
	 * reset.
	 */
	ret = edu_begin_idle(qdev, NULL, &set);
	if (ret)
		return ret;
	/*
	 * The device enters STOP: it must not interrupt, so the saved
	 * interrupt status is held until it runs again (unquiesce), and
	 * IRQFACT is written once the factorial is recomputed.
	 */
	iowrite32(0, bar0 + EDU_REG_STATUS);
	if (ioread32(bar0 + EDU_REG_FACTORIAL) != r->factorial) {
		edu_start_factorial(qdev, st->staged_fact_n);
		computing = true;
	}
	iowrite32(~r->liveness, bar0 + EDU_REG_LIVENESS);
	writeq(r->dma_src, bar0 + EDU_REG_DMA_SRC);
	writeq(r->dma_dst, bar0 + EDU_REG_DMA_DST);
	writeq(r->dma_count, bar0 + EDU_REG_DMA_COUNT);
	iowrite32(~0U, bar0 + EDU_REG_IRQ_ACK);
	st->pend_irq = r->irq_status;
	qvp_mmio_end(qdev, set);
	if (computing) {
		ret = edu_wait_idle(qdev, EDU_BUSY_FACT, NULL);
		if (ret)
			return ret;
	}
	set = qvp_mmio_begin(qdev);
	iowrite32(r->status, bar0 + EDU_REG_STATUS);
	qvp_mmio_end(qdev, set);
	return 0;
}

static void edu_load_end(struct qvp_device *qdev)
{
	edu(qdev)->staged_valid = false;
}

/*
 * Dirty tracking.  QEMU's edu copies to RAM 100 ms after the DMA command,
 * from a timer, and clears RUN only after the copy.  Logging the range
 * when the command is written is not enough: a report in between would
 * take it out of the log before the device writes it.  So the range of
 * the last DMA to RAM stays pending, and is logged again at every report
 * (edu_log_sync()), until a report finds RUN clear: the copy is then
 * done, and that report carries it.
 *
 * The range is where edu really writes: @dst within its DMA mask (28
 * bits, QEMU's default dma_mask), and @dst itself too when that differs,
 * for an edu started with dma_mask=~0; the driver cannot see the
 * property, and logging both only over-reports.  The whole @cnt: QEMU
 * (since 7.2) logs a count past its 4 KiB buffer as a guest error and
 * copies it anyway.
 */
static void edu_log_pending(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);

	if (!st->dma_pending)
		return;
	qvp_log_dirty(qdev, st->dma_dst & EDU_DMA_MASK, st->dma_cnt);
	if (st->dma_dst & ~EDU_DMA_MASK)
		qvp_log_dirty(qdev, st->dma_dst, st->dma_cnt);
}

/* A DMA to RAM from @dst, @cnt bytes, may start: it is pending. */
static void edu_dma_starts(struct qvp_device *qdev, u64 dst, u64 cnt)
{
	struct edu_state *st = edu(qdev);

	/*
	 * The DMA pending so far is over, or is this one (the device
	 * ignores a command while it runs, and its dst and count cannot
	 * change meanwhile): log it once more, as no report may have seen
	 * it end.
	 */
	edu_log_pending(qdev);
	st->dma_dst = dst;
	st->dma_cnt = cnt;
	st->dma_pending = cnt != 0;
	edu_log_pending(qdev);
}

/*
 * A user's write to the register page (trapped: trap.c), with trap_lock
 * held.  A DMA command that copies to RAM dirties its destination, as
 * dst and count are now: edu ignores writes to them while a DMA runs,
 * and trap_lock keeps other users' writes out until this one is done.
 * Whether a DMA runs is not asked: it may end between that look and the
 * write, and a command the device then ignores only over-reports.
 */
static int edu_trap_write(struct qvp_device *qdev, u32 off, u32 size, u64 val)
{
	void __iomem *bar0 = edu(qdev)->bar0;

	if (off != EDU_REG_DMA_CMD || (size != 4 && size != 8) ||
	    (val & (EDU_DMA_RUN | EDU_DMA_TO_RAM)) !=
	    (EDU_DMA_RUN | EDU_DMA_TO_RAM))
		return 0;
	edu_dma_starts(qdev, readq(bar0 + EDU_REG_DMA_DST),
		       readq(bar0 + EDU_REG_DMA_COUNT));
	return 0;
}

/* Read the DMA registers; false if the device does not answer. */
static bool edu_read_dma(struct qvp_device *qdev, u64 *cmd, u64 *dst,
			 u64 *cnt)
{
	void __iomem *bar0 = edu(qdev)->bar0;
	u16 set;

	set = qvp_mmio_begin(qdev);
	*cmd = readq(bar0 + EDU_REG_DMA_CMD);
	*dst = readq(bar0 + EDU_REG_DMA_DST);
	*cnt = readq(bar0 + EDU_REG_DMA_COUNT);
	qvp_mmio_end(qdev, set);
	return *cmd != ~0ULL;
}

/* Logging starts: a DMA to RAM under way still writes. */
static void edu_log_start(struct qvp_device *qdev)
{
	u64 cmd, dst, cnt;

	if (edu_read_dma(qdev, &cmd, &dst, &cnt) &&
	    (cmd & (EDU_DMA_RUN | EDU_DMA_TO_RAM)) ==
	    (EDU_DMA_RUN | EDU_DMA_TO_RAM))
		edu_dma_starts(qdev, dst, cnt);
}

/* A report is about to read the log: see the comment above. */
static void edu_log_sync(struct qvp_device *qdev)
{
	struct edu_state *st = edu(qdev);
	u64 cmd, dst, cnt;

	if (!st->dma_pending)
		return;
	/* RUN is read before the range is logged again. */
	if (!edu_read_dma(qdev, &cmd, &dst, &cnt)) {
		edu_log_pending(qdev);
		return;
	}
	edu_log_pending(qdev);
	if (!(cmd & EDU_DMA_RUN))
		st->dma_pending = false;
}

/* The records of an edu stream (include/uapi/linux/qemu_vfio_pci.h). */
static const struct qvp_rec_desc edu_records[] = {
	{
		.type = QVP_REC_EDU_REGS,
		.min_len = sizeof(struct qvp_edu_regs),
		.max_len = sizeof(struct qvp_edu_regs),
	},
};

const struct qvp_backend qvp_edu_backend = {
	.name = "edu",
	.id = QVP_BACKEND_EDU,
	.priv_size = sizeof(struct edu_state),
	.records = edu_records,
	.nr_records = ARRAY_SIZE(edu_records),
	/*
	 * The register page: the DMA command starts writes to guest memory
	 * that dirty tracking must see.
	 */
	.trap_bar = 0,
	.trap_len = PAGE_SIZE,
	.trap_write = edu_trap_write,
	.dma_log = true,
	.log_start = edu_log_start,
	.log_sync = edu_log_sync,
	.open = edu_open,
	.close = edu_close,
	.p2p_stop = edu_p2p_stop,
	.quiesce = edu_quiesce,
	.unquiesce = edu_unquiesce,
	.unhold = edu_unhold,
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
