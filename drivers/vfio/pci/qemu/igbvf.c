// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci backend for a virtual function of QEMU's "igb" NIC, an
 * Intel 82576 with SR-IOV (VF 8086:10ca): the NIC example of the porting
 * guide.
 *
 * A VF's state is in three places, and each travels its own way:
 *
 *  - its own registers (rings, queue control, interrupt routing and
 *    moderation), read and written through BAR0: QVP_REC_IGBVF_REGS;
 *  - what the PF holds for it (its MAC, VLAN filters, multicast list,
 *    frame size, promiscuous mode), which the VF asked for over the
 *    PF<->VF mailbox and which the VF cannot read back: the driver traps
 *    the mailbox registers, keeps the last accepted request of each kind,
 *    and the destination asks its own PF the same through its own
 *    mailbox (QVP_REC_IGBVF_PF), so that the PF applies them by its
 *    normal path and may refuse them;
 *  - the guest's memory (descriptor rings and buffers), which QEMU
 *    migrates.  The driver cannot see where the device writes it: the
 *    descriptors point there (see the driver documentation on dirty
 *    tracking).
 *
 * Quiesce is a NIC's: RX queues are disabled and TX queues drained, then
 * disabled, on the arc into a P2P state (a VF cannot tell peer-to-peer DMA
 * from other DMA), and a stopped VF's vectors are masked so that the
 * PF's mailbox messages raise no interrupt.  The queues are enabled again,
 * and the TX tail written once more so that descriptors posted before the
 * stop go out, on the arc back to RUNNING.
 *
 * Facts of QEMU's model (hw/net/igb_core.c) the code depends on, named
 * where they are used: transmission happens during the TDT write
 * (igb_set_tdt()), so a TX queue that is enabled is always drained;
 * EIMS reads back the last value written, not the mask, so the driver
 * keeps the mask from the trapped EIMS/EIMC writes; reading V2PMAILBOX
 * clears PFSTS, PFACK and RSTD (igb_mac_vfmailbox_read()), so the driver
 * never reads it while the user drives the mailbox; the function-level
 * reset only disables the queues (igb_core_vf_reset()), so the driver
 * writes the other registers itself (@reset at open, close and
 * VFIO_DEVICE_RESET: struct qvp_backend.pci_reset_partial).
 *
 * This file is the device: open, queues, quiesce, reset and the ops
 * table.  The user's trapped writes and the PF-held configuration are
 * igbvf_mbx.c's, the records igbvf_stream.c's; igbvf.h is between them.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sizes.h>

#include "igbvf.h"

const u16 qvp_igbvf_qreg[Q_NR] = {
	[Q_RDBAL] = 0x2800, [Q_RDBAH] = 0x2804, [Q_RDLEN] = 0x2808,
	[Q_SRRCTL] = 0x280c, [Q_RDH] = 0x2810, [Q_RDT] = 0x2818,
	[Q_RXDCTL] = 0x2828, [Q_RXCTL] = 0x2814,
	[Q_TDBAL] = 0x3800, [Q_TDBAH] = 0x3804, [Q_TDLEN] = 0x3808,
	[Q_TDH] = 0x3810, [Q_TDT] = 0x3818, [Q_TXDCTL] = 0x3828,
	[Q_TXCTL] = 0x3814, [Q_TDWBAL] = 0x3838, [Q_TDWBAH] = 0x383c,
};

static int igbvf_open(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	struct pci_dev *pdev = qdev->core.pdev;
	void __iomem *bar0;

	if (pci_resource_len(pdev, 0) < IGBVF_BAR0_MIN) {
		pci_err(pdev, "igbvf: BAR0 is too small (%pR)\n",
			&pdev->resource[0]);
		return -ENODEV;
	}
	bar0 = qvp_map_bar(qdev, 0);
	if (IS_ERR(bar0))
		return PTR_ERR(bar0);
	st->bar0 = bar0;
	return 0;
}

static void igbvf_close(struct qvp_device *qdev)
{
	igbvf(qdev)->bar0 = NULL;
}

/* Queues ------------------------------------------------------------------ */

/*
 * Wait (bounded) until register @off & @mask reads @want; polls with a
 * bracket per look and sleeps outside it.
 */
static int igbvf_wait(struct qvp_device *qdev, u32 off, u32 mask, u32 want,
		      unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);
	u32 val;

	for (;;) {
		val = igbvf_read1(qdev, off);
		if (val == ~0U)
			return -EIO;
		if ((val & mask) == want)
			return 0;
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(500, 1000);
	}
}

static int igbvf_p2p_start(struct qvp_device *qdev);

/* Has TX queue pair @n sent everything posted (head meets tail)? */
static bool igbvf_tx_drained(struct qvp_device *qdev, unsigned int n)
{
	struct igbvf_state *st = igbvf(qdev);
	u16 set = qvp_mmio_begin(qdev);
	bool done = ioread32(qreg(st, n, Q_TDH)) == ioread32(qreg(st, n, Q_TDT));

	qvp_mmio_end(qdev, set);
	return done;
}

/*
 * RUNNING -> RUNNING_P2P, PRE_COPY -> PRE_COPY_P2P: stop the queues, the
 * VF's only DMA.  The VF cannot tell peer-to-peer DMA from other DMA, so
 * all of it stops.  As a NIC must: RX is disabled first, so nothing more
 * is written to the rings; TX is given IGBVF_DRAIN_MS to send what is
 * posted, then disabled; each queue is polled until it reads disabled
 * (QEMU's model stops at once; hardware takes time, and a vendor's
 * driver must wait here, never assume).  A TX queue that does not drain
 * (the PF has the VF's TX switched off, or the link is down) keeps its
 * descriptors posted: they travel in the ring and go out once, here or on
 * the destination, when the queue runs again.  On failure the queues run
 * as before and the arc fails.
 */
static int igbvf_p2p_stop(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	unsigned long end;
	unsigned int n;
	int ret = 0;
	u16 set;

	if (st->queues_held)
		return 0;
	set = qvp_mmio_begin(qdev);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		st->rxdctl[n] = ioread32(qreg(st, n, Q_RXDCTL));
		st->txdctl[n] = ioread32(qreg(st, n, Q_TXDCTL));
		if (st->rxdctl[n] == ~0U || st->txdctl[n] == ~0U)
			ret = -EIO;
	}
	for (n = 0; n < QVP_IGBVF_QUEUES && !ret; n++)
		iowrite32(st->rxdctl[n] & ~QUEUE_ENABLE, qreg(st, n, Q_RXDCTL));
	qvp_mmio_end(qdev, set);
	if (ret)
		return ret;

	end = jiffies + msecs_to_jiffies(IGBVF_DRAIN_MS);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		if (!(st->txdctl[n] & QUEUE_ENABLE))
			continue;
		while (!igbvf_tx_drained(qdev, n) && !time_after(jiffies, end))
			usleep_range(500, 1000);
	}

	set = qvp_mmio_begin(qdev);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++)
		iowrite32(st->txdctl[n] & ~QUEUE_ENABLE, qreg(st, n, Q_TXDCTL));
	qvp_mmio_end(qdev, set);
	st->queues_held = true;

	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		ret = igbvf_wait(qdev, qvp_igbvf_qreg[Q_RXDCTL] + n * IGBVF_QSTRIDE,
				 QUEUE_ENABLE, 0, IGBVF_QSTOP_MS) ?:
		      igbvf_wait(qdev, qvp_igbvf_qreg[Q_TXDCTL] + n * IGBVF_QSTRIDE,
				 QUEUE_ENABLE, 0, IGBVF_QSTOP_MS);
		if (ret)
			goto undo;
	}
	return 0;

undo:
	dev_err_ratelimited(qvp_dev(qdev),
			    "igbvf: queue pair %u does not stop (%d)\n", n, ret);
	igbvf_p2p_start(qdev);
	return ret;
}

/*
 * RUNNING_P2P -> RUNNING, PRE_COPY_P2P -> PRE_COPY: the queues run again
 * as the guest had them.  Writing a tail is what makes QEMU look at a
 * ring (igb_set_tdt() transmits what is posted, igb_set_rdt() delivers
 * frames it queued), so both are written back once the queue is on.
 */
static int igbvf_p2p_start(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	unsigned int n;
	u16 set;

	if (!st->queues_held)
		return 0;
	set = qvp_mmio_begin(qdev);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		iowrite32(st->rxdctl[n], qreg(st, n, Q_RXDCTL));
		if (st->rxdctl[n] & QUEUE_ENABLE)
			iowrite32(ioread32(qreg(st, n, Q_RDT)),
				  qreg(st, n, Q_RDT));
		iowrite32(st->txdctl[n], qreg(st, n, Q_TXDCTL));
		if (st->txdctl[n] & QUEUE_ENABLE)
			iowrite32(ioread32(qreg(st, n, Q_TDT)),
				  qreg(st, n, Q_TDT));
	}
	qvp_mmio_end(qdev, set);
	st->queues_held = false;
	return 0;
}

/*
 * The longest moderation interval a timer QEMU armed may still run with:
 * the EITRs now, and every value they held since the last look (kept by
 * the trap, st->eitr_max, which this starts again).  Called with
 * trap_lock held, in the MMIO bracket.
 */
static u32 igbvf_eitr_longest(struct igbvf_state *st)
{
	u32 interval = st->eitr_max;
	unsigned int n;

	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		interval = max(interval, rd(st, IGBVF_EITR(n)) & EITR_INTERVAL);
	st->eitr_max = 0;
	return interval;
}

/* Sleep out an interval of EITR's 1024 ns units (at most about 34 ms). */
static void igbvf_eitr_wait(u32 interval)
{
	if (interval)
		fsleep(DIV_ROUND_UP(interval * 1024, NSEC_PER_USEC) + 100);
}

/*
 * RUNNING_P2P -> STOP, PRE_COPY_P2P -> STOP_COPY: the queues stopped on
 * the way into P2P; what can still interrupt is the PF's mailbox, whose
 * messages raise the mailbox vector.  Mask every vector (EIMC; the
 * guest's mask stays in st->eims).  QEMU delays an interrupt by its
 * vector's EITR interval and then sends it whatever the mask
 * (igb_intrmgr_on_msix_throttling_timer()): wait out the longest
 * interval, now or written since the last quiesce (a timer runs with the
 * value it was armed with), so that none is still to come once the VF
 * reports STOP.
 */
static int igbvf_quiesce(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	u32 interval;
	u16 set;

	if (st->vectors_held)
		return 0;
	mutex_lock(&qdev->trap_lock);
	set = qvp_mmio_begin(qdev);
	wr(st, IGBVF_EIMC, IGBVF_VECTORS_ALL);
	interval = igbvf_eitr_longest(st);
	qvp_mmio_end(qdev, set);
	mutex_unlock(&qdev->trap_lock);
	st->vectors_held = true;
	igbvf_eitr_wait(interval);
	return 0;
}

/*
 * STOP -> RUNNING_P2P: unmask the guest's vectors.  After a resume, also
 * raise each of them once (EICS): the causes pending on the source
 * (EICR, which clears on read) do not travel, and an interrupt too many
 * only makes the guest's driver look at a ring it finds as it left it.
 */
static int igbvf_unquiesce(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	u32 eims;
	u16 set;

	if (!st->vectors_held)
		return 0;
	mutex_lock(&qdev->trap_lock);
	eims = st->eims;
	set = qvp_mmio_begin(qdev);
	wr(st, IGBVF_EIMS, eims);
	if (st->kick)
		wr(st, IGBVF_EICS, eims);
	qvp_mmio_end(qdev, set);
	mutex_unlock(&qdev->trap_lock);
	st->vectors_held = false;
	st->kick = false;
	return 0;
}

/*
 * Back to RUNNING by a reset, at open or close or at the user's request:
 * nothing is held any more; vectors the driver masked are unmasked as the
 * guest had them (a reset through config space comes here, and QEMU's
 * FLR keeps the mask).  The queues stay off, as that FLR leaves them.
 * The record of the PF-held configuration is
 * cleared by igbvf_reset() and by the trapped VF resets, not here: this
 * also runs, later, after a reset the user asked through config space,
 * and could then wipe what the guest has asked for again since.
 */
static void igbvf_unhold(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	u16 set;

	/* QEMU's FLR keeps EIMS: unmask what the guest had, if open */
	if (st->vectors_held && st->bar0) {
		mutex_lock(&qdev->trap_lock);
		set = qvp_mmio_begin(qdev);
		wr(st, IGBVF_EIMS, st->eims);
		qvp_mmio_end(qdev, set);
		mutex_unlock(&qdev->trap_lock);
	}
	st->queues_held = false;
	st->vectors_held = false;
	st->kick = false;
}

/*
 * Power-on values of the VF's state.  Called at open, close and
 * VFIO_DEVICE_RESET (pci_reset_partial), as the VF's FLR in QEMU
 * only disables the queues and tells the PF (igb_core_vf_reset()): ring
 * addresses, heads, interrupt routing and the mailbox memory would
 * otherwise pass to the next user.  The VF reset (CTRL.RST) tells the
 * PF again, so that this does not depend on the FLR: Linux's igb then
 * forgets the VF's configuration (igb_vf_reset_event()), and so does the
 * driver.  The queues are disabled before their rings are cleared; QEMU
 * disables at once, hardware must be polled (as igbvf_p2p_stop() does).
 * EIAC and the PF's IVAR entries keep bits QEMU never clears
 * (igb_set_eiac() and igb_set_vtivar() OR into the PF's registers); the
 * VF's own read-back values are cleared.
 */
static int igbvf_reset(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	unsigned int n, r;
	u32 interval;
	int ret;
	u16 set;

	lockdep_assert_held(&qdev->state_mutex);
	mutex_lock(&qdev->trap_lock);
	set = qvp_mmio_begin(qdev);
	wr(st, IGBVF_EIMC, IGBVF_VECTORS_ALL);
	interval = igbvf_eitr_longest(st);
	wr(st, IGBVF_CTRL, CTRL_RST);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		iowrite32(RXDCTL_POWER_ON, qreg(st, n, Q_RXDCTL));
		iowrite32(0, qreg(st, n, Q_TXDCTL));
		for (r = 0; r < Q_NR; r++) {
			if (r == Q_RXDCTL || r == Q_TXDCTL)
				continue;
			iowrite32(r == Q_TXCTL ? TXCTL_POWER_ON : 0,
				  qreg(st, n, r));
		}
	}
	wr(st, IGBVF_EIMS, 0);
	wr(st, IGBVF_EIMC, IGBVF_VECTORS_ALL);
	wr(st, IGBVF_EIAC, 0);
	wr(st, IGBVF_EIAM, 0);
	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		wr(st, IGBVF_EITR(n), 0);
	wr(st, IGBVF_IVAR0, 0);
	wr(st, IGBVF_IVAR_MISC, 0);
	wr(st, IGBVF_PSRTYPE, 0);
	qvp_mmio_end(qdev, set);
	/* a moderated interrupt of the last user's comes now, not later */
	igbvf_eitr_wait(interval);
	/* the causes, in the PF's EICR: a write clears them (a read does not) */
	set = qvp_mmio_begin(qdev);
	wr(st, IGBVF_EICR, IGBVF_VECTORS_ALL);
	qvp_mmio_end(qdev, set);

	qvp_igbvf_pf_forget(st, false);
	st->eims = 0;
	st->eitr_max = 0;
	ret = qvp_igbvf_mbx_fill(qdev, NULL, 0,
				 jiffies + msecs_to_jiffies(IGBVF_MBX_MS), NULL);
	mutex_unlock(&qdev->trap_lock);
	igbvf_unhold(qdev);
	if (ret)
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: reset: cannot clear the mailbox memory (%d)\n",
				    ret);
	return ret;
}

/* The records of an igbvf stream (include/uapi/linux/qemu_vfio_pci.h). */
static const struct qvp_rec_desc igbvf_records[] = {
	{
		.type = QVP_REC_IGBVF_REGS,
		.min_len = sizeof(struct qvp_igbvf_regs),
		.max_len = sizeof(struct qvp_igbvf_regs),
	},
	{
		.type = QVP_REC_IGBVF_PF,
		.min_len = sizeof(struct qvp_igbvf_pf),
		.max_len = sizeof(struct qvp_igbvf_pf),
	},
};

/*
 * The trapped pages are BAR0's first two; with larger pages the trap
 * would cover more than the 16 KiB of BAR0, which the driver refuses.
 */
static int igbvf_probe(struct pci_dev *pdev)
{
	if (PAGE_SIZE > SZ_8K) {
		pci_info(pdev, "igbvf: needs 4 KiB or 8 KiB pages to trap the mailbox, the kernel has %lu; not binding\n",
			 PAGE_SIZE);
		return -ENODEV;
	}
	return 0;
}

const struct qvp_backend qvp_igbvf_backend = {
	.name = "igbvf",
	.id = QVP_BACKEND_IGBVF,
	.priv_size = sizeof(struct igbvf_state),
	.records = igbvf_records,
	.nr_records = ARRAY_SIZE(igbvf_records),
	/*
	 * The mailbox and the VF's control register (page 0) and the
	 * interrupt registers (page 1); the ring registers (pages 2-3),
	 * whose tails are written for every frame, stay mapped.  Kernels
	 * with larger pages are refused at probe.
	 */
	.trap_bar = 0,
	.trap_len = PAGE_ALIGN(SZ_8K),
	.trap_write = qvp_igbvf_trap_write,
	.pci_reset_partial = true,
	.probe = igbvf_probe,
	.open = igbvf_open,
	.close = igbvf_close,
	.p2p_stop = igbvf_p2p_stop,
	.p2p_start = igbvf_p2p_start,
	.quiesce = igbvf_quiesce,
	.unquiesce = igbvf_unquiesce,
	.unhold = igbvf_unhold,
	.reset = igbvf_reset,
	.stop_copy_size = qvp_igbvf_stop_copy_size,
	.save_begin = qvp_igbvf_save_begin,
	.save_stop = qvp_igbvf_save_stop,
	.save_record = qvp_igbvf_save_record,
	.save_end = qvp_igbvf_save_end,
	.load_begin = qvp_igbvf_load_begin,
	.load_record = qvp_igbvf_load_record,
	.load_commit = qvp_igbvf_load_commit,
	.load_end = qvp_igbvf_load_end,
};
