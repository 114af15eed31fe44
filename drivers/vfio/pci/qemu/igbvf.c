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
 */
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "qvp.h"

#define IGBVF_BAR0_MIN		0x4000

#define IGBVF_CTRL		0x0000
#define IGBVF_CTRL_DUP		0x0004
#define  CTRL_RST		0x04000000	/* reset the VF */
#define IGBVF_PBACL		0x0f04		/* the PF's; never written */
#define IGBVF_PSRTYPE		0x0f0c
#define IGBVF_EICS		0x1520
#define IGBVF_EIMS		0x1524
#define IGBVF_EIMC		0x1528
#define IGBVF_EIAC		0x152c
#define IGBVF_EIAM		0x1530
#define IGBVF_EICR		0x1580		/* read to clear */
#define IGBVF_EITR(n)		(0x1680 + 4 * (n))
#define  EITR_INTERVAL		0x7ffe		/* in 1024 ns (QEMU) */
#define IGBVF_IVAR0		0x1700
#define  IVAR_VALID		0x80		/* per byte: RX 7:0, TX 15:8 */
#define  IVAR_VECTOR		0x07
#define IGBVF_IVAR_MISC		0x1740
#define IGBVF_VECTORS_ALL	0x7

/* The mailbox: control register and 16 words of message memory. */
#define IGBVF_V2PMAILBOX	0x0c40
#define  V2P_REQ		0x00000001
#define  V2P_ACK		0x00000002
#define  V2P_VFU		0x00000004
#define  V2P_PFSTS		0x00000010	/* read to clear */
#define  V2P_PFACK		0x00000020	/* read to clear */
#define  V2P_RSTI		0x00000040
#define  V2P_RSTD		0x00000080	/* read to clear */
#define  V2P_R2C		(V2P_PFSTS | V2P_PFACK | V2P_RSTD)
#define IGBVF_VMBMEM		0x0800
#define MBX_WORDS		QVP_IGBVF_MBX_WORDS

/*
 * Mailbox messages, Linux's igb <-> igbvf: word 0 is the type (15:0),
 * its info (23:16) and, in answers, the status bits (31:29).
 */
#define MSG_RESET		0x01
#define MSG_SET_MAC		0x02
#define  MAC_FILTER_CLR		1		/* SET_MAC info */
#define  MAC_FILTER_ADD		2
#define MSG_SET_MULTICAST	0x03
#define MSG_SET_VLAN		0x04
#define MSG_SET_LPE		0x05
#define MSG_SET_PROMISC		0x06
#define MSG_PF_CONTROL		0x0100		/* a type bit: the PF's own */
#define MSG_TYPE		0x0000ffffU
#define MSG_INFO_SHIFT		16
#define MSG_INFO		0x00ff0000U
#define MSG_ACK			0x80000000U
#define MSG_NACK		0x40000000U
#define PROMISC_MULTICAST	0x00020000U	/* the one mode igb takes */
#define VLAN_ID_MASK		0x0fff

/* Per queue pair, in the order of struct qvp_igbvf_queue. */
enum {
	Q_RDBAL, Q_RDBAH, Q_RDLEN, Q_SRRCTL, Q_RDH, Q_RDT, Q_RXDCTL, Q_RXCTL,
	Q_TDBAL, Q_TDBAH, Q_TDLEN, Q_TDH, Q_TDT, Q_TXDCTL, Q_TXCTL, Q_TDWBAL,
	Q_TDWBAH, Q_NR
};

static const u16 igbvf_qreg[Q_NR] = {
	[Q_RDBAL] = 0x2800, [Q_RDBAH] = 0x2804, [Q_RDLEN] = 0x2808,
	[Q_SRRCTL] = 0x280c, [Q_RDH] = 0x2810, [Q_RDT] = 0x2818,
	[Q_RXDCTL] = 0x2828, [Q_RXCTL] = 0x2814,
	[Q_TDBAL] = 0x3800, [Q_TDBAH] = 0x3804, [Q_TDLEN] = 0x3808,
	[Q_TDH] = 0x3810, [Q_TDT] = 0x3818, [Q_TXDCTL] = 0x3828,
	[Q_TXCTL] = 0x3814, [Q_TDWBAL] = 0x3838, [Q_TDWBAH] = 0x383c,
};

#define IGBVF_QSTRIDE		0x100
#define QUEUE_ENABLE		0x02000000	/* RXDCTL, TXDCTL */
#define RING_LEN_MAX		0xffff0		/* QEMU's igb_set_dlen() */
#define DESC_LEN		16
#define RING_BASE_LOW		0x1f		/* QEMU's E1000_XDBAL_MASK */
/* Power-on values that are not 0 (QEMU's igb_mac_reg_init[]). */
#define RXDCTL_POWER_ON		0x00010000
#define TXCTL_POWER_ON		0x00002a00

/*
 * Bounded waits, in ms: a TX queue to drain, a queue to report itself
 * disabled, one step of the mailbox (the PF's igb answers from its
 * interrupt handler: a few ms under TCG), and the whole replay of a
 * stream's requests, which holds the device's locks.
 */
#define IGBVF_DRAIN_MS		100
#define IGBVF_QSTOP_MS		100
#define IGBVF_MBX_MS		1000
#define IGBVF_REPLAY_MS		5000

struct igbvf_regs {
	u32 q[QVP_IGBVF_QUEUES][Q_NR];
	u32 eims, eiac, eiam, ivar0, ivar_misc, psrtype;
	u32 eitr[QVP_IGBVF_VECTORS];
	u32 mbx[MBX_WORDS];
	u32 req[MBX_WORDS];
	bool has_req;		/* @req: in flight, to be sent again */
};

/* What the PF holds for the VF, as the VF asked for it. */
struct igbvf_pf {
	u32 flags;		/* QVP_IGBVF_PF_* */
	u8 mac[ETH_ALEN];
	u16 nr_mc, nr_vlan, nr_uc;
	u16 mc[QVP_IGBVF_MC_MAX];
	u16 vlan[QVP_IGBVF_VLAN_MAX];
	u8 uc[QVP_IGBVF_UC_MAX][ETH_ALEN];
	u32 max_frame, promisc;
	const char *lost;	/* the PF took more than a stream carries */
};

enum igbvf_save_phase {
	IGBVF_SAVE_UNCAPTURED,	/* running, or nothing captured yet */
	IGBVF_SAVE_REGS,	/* captured: REGS next */
	IGBVF_SAVE_PF,		/* REGS read: PF next */
	IGBVF_SAVE_SENT,	/* everything read */
};

/**
 * struct igbvf_state - per-device private state
 * @bar0: the register BAR, mapped in @open
 * @pf: the PF-held configuration the VF asked for, kept from the trapped
 *	mailbox writes; protected by qvp_device.trap_lock
 * @req: the last message the VF sent (REQ), until the PF's answer to it
 *	is acknowledged; protected by trap_lock
 * @req_len: @req is valid (read at the REQ write), 0 if none
 * @eims: the guest's interrupt mask, kept from its trapped EIMS and EIMC
 *	writes (QEMU reads EIMS back as the last value written); protected
 *	by trap_lock
 * @eitr_max: the longest EITR interval written since the last quiesce
 *	(a moderation timer QEMU armed runs with the value of then);
 *	protected by trap_lock
 * @queues_held: the driver disabled the queues (P2P state, or a resumed
 *	state not yet running); @rxdctl and @txdctl are the guest's values
 * @rxdctl: the guest's RXDCTL of each queue pair while @queues_held
 * @txdctl: the guest's TXDCTL, likewise
 * @vectors_held: the driver masked the vectors (STOP)
 * @kick: a resumed state: raise each of the guest's unmasked vectors once
 *	when the VF runs again, for the causes the stream does not carry
 * @save_phase: where the save session is
 * @saved: the registers captured at STOP_COPY
 * @saved_pf: the PF-held configuration captured with them
 * @staged: the registers of the stream being resumed
 * @staged_pf: its PF-held configuration
 * @have_regs: @staged arrived
 * @have_pf: @staged_pf arrived
 *
 * Everything not said to be under trap_lock is the protocol layer's to
 * serialise (struct qvp_backend, "Locking").
 */
struct igbvf_state {
	void __iomem *bar0;
	struct igbvf_pf pf;
	u32 req[MBX_WORDS];
	unsigned int req_len;
	u32 eims;
	u32 eitr_max;

	bool queues_held;
	u32 rxdctl[QVP_IGBVF_QUEUES];
	u32 txdctl[QVP_IGBVF_QUEUES];
	bool vectors_held;
	bool kick;

	enum igbvf_save_phase save_phase;
	struct igbvf_regs saved;
	struct igbvf_pf saved_pf;

	struct igbvf_regs staged;
	struct igbvf_pf staged_pf;
	bool have_regs, have_pf;
};

static struct igbvf_state *igbvf(struct qvp_device *qdev)
{
	return qvp_priv(qdev);
}

static void __iomem *qreg(struct igbvf_state *st, unsigned int n,
			  unsigned int r)
{
	return st->bar0 + igbvf_qreg[r] + n * IGBVF_QSTRIDE;
}

static u32 rd(struct igbvf_state *st, u32 off)
{
	return ioread32(st->bar0 + off);
}

static void wr(struct igbvf_state *st, u32 off, u32 val)
{
	iowrite32(val, st->bar0 + off);
}

/* Read one 32-bit register in its own MMIO bracket. */
static u32 igbvf_read1(struct qvp_device *qdev, u32 off)
{
	u16 set = qvp_mmio_begin(qdev);
	u32 val = rd(igbvf(qdev), off);

	qvp_mmio_end(qdev, set);
	return val;
}

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
		ret = igbvf_wait(qdev, igbvf_qreg[Q_RXDCTL] + n * IGBVF_QSTRIDE,
				 QUEUE_ENABLE, 0, IGBVF_QSTOP_MS) ?:
		      igbvf_wait(qdev, igbvf_qreg[Q_TXDCTL] + n * IGBVF_QSTRIDE,
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
 * The VF was reset: Linux's igb forgets what the VF asked of it
 * (igb_vf_reset_event()) but its MAC filters and frame size, which it
 * keeps (@igb_kept: keep them in the record too, for a reset the guest
 * did and whose configuration it will ask for again; the driver's own
 * reset drops them: they were the last user's, whom the PF still serves,
 * a limit of igb that the driver page states).
 */
static void igbvf_pf_forget(struct igbvf_state *st, bool igb_kept)
{
	struct igbvf_pf kept = st->pf;

	memset(&st->pf, 0, sizeof(st->pf));
	if (igb_kept) {
		st->pf.nr_uc = kept.nr_uc;
		memcpy(st->pf.uc, kept.uc, sizeof(st->pf.uc));
		st->pf.max_frame = kept.max_frame;
		st->pf.flags = kept.flags & QVP_IGBVF_PF_LPE;
		st->pf.lost = kept.lost;
	}
	st->req_len = 0;
}

/*
 * Take the mailbox buffer: VFU, which QEMU grants unless the PF holds it.
 * *@seen gets the read-to-clear bits of V2PMAILBOX that the look read
 * (and so cleared), if @seen is not NULL.
 */
static int igbvf_mbx_lock(struct qvp_device *qdev, unsigned long end,
			  u32 *seen)
{
	u32 v;

	for (;;) {
		u16 set = qvp_mmio_begin(qdev);

		wr(igbvf(qdev), IGBVF_V2PMAILBOX, V2P_VFU);
		qvp_mmio_end(qdev, set);
		/* reading clears bits nobody waits for: the VF is ours here */
		v = igbvf_read1(qdev, IGBVF_V2PMAILBOX);
		if (v == ~0U)
			return -EIO;
		if (seen)
			*seen |= v & (V2P_R2C | V2P_RSTI);
		if (v & V2P_VFU)
			return 0;
		if (time_after(jiffies, end))
			return -EBUSY;
		usleep_range(200, 500);
	}
}

/*
 * Write the 16 words of the mailbox memory, holding the buffer, and give
 * it back (0) or send them to the PF (V2P_REQ), before @end.  *@seen as
 * for igbvf_mbx_lock().
 */
static int igbvf_mbx_fill(struct qvp_device *qdev, const u32 *words,
			  u32 how, unsigned long end, u32 *seen)
{
	struct igbvf_state *st = igbvf(qdev);
	unsigned int i;
	int ret;
	u16 set;

	ret = igbvf_mbx_lock(qdev, end, seen);
	if (ret)
		return ret;
	set = qvp_mmio_begin(qdev);
	for (i = 0; i < MBX_WORDS; i++)
		wr(st, IGBVF_VMBMEM + 4 * i, words ? words[i] : 0);
	wr(st, IGBVF_V2PMAILBOX, how);	/* no VFU: the buffer goes back */
	qvp_mmio_end(qdev, set);
	return 0;
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

	igbvf_pf_forget(st, false);
	st->eims = 0;
	st->eitr_max = 0;
	ret = igbvf_mbx_fill(qdev, NULL, 0,
			     jiffies + msecs_to_jiffies(IGBVF_MBX_MS), NULL);
	mutex_unlock(&qdev->trap_lock);
	igbvf_unhold(qdev);
	if (ret)
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: reset: cannot clear the mailbox memory (%d)\n",
				    ret);
	return ret;
}

/* The VF's user (trapped writes) ------------------------------------------- */

/* Add @mac to the MAC filters, once. */
static void igbvf_uc_add(struct igbvf_pf *pf, const u8 *mac)
{
	unsigned int i;

	for (i = 0; i < pf->nr_uc; i++)
		if (ether_addr_equal(pf->uc[i], mac))
			return;
	if (pf->nr_uc == QVP_IGBVF_UC_MAX) {
		pf->lost = "MAC filters";
		return;
	}
	ether_addr_copy(pf->uc[pf->nr_uc++], mac);
}

static void igbvf_vlan_set(struct igbvf_pf *pf, u16 vid, bool add)
{
	unsigned int i;

	for (i = 0; i < pf->nr_vlan && pf->vlan[i] != vid; i++)
		;
	if (!add && !vid)
		return;		/* igb ACKs it and does nothing */
	if (add && i == pf->nr_vlan) {
		if (i == QVP_IGBVF_VLAN_MAX)
			pf->lost = "VLANs";
		else
			pf->vlan[pf->nr_vlan++] = vid;
	} else if (!add && i < pf->nr_vlan) {
		pf->vlan[i] = pf->vlan[--pf->nr_vlan];
		pf->vlan[pf->nr_vlan] = 0;
	}
}

/*
 * Apply request @req, which the PF answered with @reply (its words as
 * the VF reads them), to @pf, as Linux's igb does (igb_rcv_msg_from_vf()).
 * Message payloads are bytes in the words' memory order, as igb and
 * igbvf lay them out with memcpy().
 */
static void igbvf_pf_apply(struct igbvf_pf *pf, const u32 *req,
			   const u32 *reply)
{
	u32 type = req[0] & MSG_TYPE;
	u32 info = (req[0] & MSG_INFO) >> MSG_INFO_SHIFT;
	unsigned int n;

	if (req[0] == MSG_RESET) {
		/*
		 * The PF resets the VF's configuration, ACK or NACK, but for
		 * its MAC filters and frame size, which Linux's igb keeps
		 * (igb_vf_reset() leaves vf_macs and VMOLR.RLPML alone).
		 */
		struct igbvf_pf kept = *pf;

		memset(pf, 0, sizeof(*pf));
		pf->nr_uc = kept.nr_uc;
		memcpy(pf->uc, kept.uc, sizeof(pf->uc));
		pf->max_frame = kept.max_frame;
		pf->flags = QVP_IGBVF_PF_RESET | (kept.flags & QVP_IGBVF_PF_LPE);
		pf->lost = kept.lost;
		/* ACK carries the MAC the PF has for the VF */
		if (reply[0] & MSG_ACK) {
			memcpy(pf->mac, &reply[1], ETH_ALEN);
			pf->flags |= QVP_IGBVF_PF_MAC_PF;
		}
		return;
	}
	if (!(reply[0] & MSG_ACK) || !(pf->flags & QVP_IGBVF_PF_RESET))
		return;
	switch (type) {
	case MSG_SET_MAC:
		if (info == MAC_FILTER_ADD) {
			igbvf_uc_add(pf, (const u8 *)&req[1]);
		} else if (info == MAC_FILTER_CLR) {
			pf->nr_uc = 0;
			memset(pf->uc, 0, sizeof(pf->uc));
		} else if (!info) {
			memcpy(pf->mac, &req[1], ETH_ALEN);
			pf->flags &= ~QVP_IGBVF_PF_MAC_PF;
			pf->flags |= QVP_IGBVF_PF_MAC;
		}
		break;
	case MSG_SET_MULTICAST:
		n = min_t(u32, info, QVP_IGBVF_MC_MAX);
		memset(pf->mc, 0, sizeof(pf->mc));
		memcpy(pf->mc, &req[1], n * sizeof(u16));
		pf->nr_mc = info;
		pf->flags |= QVP_IGBVF_PF_MC;
		break;
	case MSG_SET_VLAN:
		igbvf_vlan_set(pf, req[1] & VLAN_ID_MASK, info);
		break;
	case MSG_SET_LPE:
		pf->max_frame = req[1];
		pf->flags |= QVP_IGBVF_PF_LPE;
		break;
	case MSG_SET_PROMISC:
		pf->promisc = req[0] & MSG_INFO;
		pf->flags |= QVP_IGBVF_PF_PROMISC;
		break;
	}
}

/*
 * The PF's message in @msg (VMBMEM) is being acknowledged, or is there
 * at STOP_COPY: if it answers the kept request, apply the request as the
 * PF took it.  The PF's own messages (PF_CONTROL) and answers to
 * something else leave the request waiting.  Called with trap_lock held.
 */
static void igbvf_answered(struct igbvf_state *st, const u32 *msg)
{
	if (!st->req_len || (msg[0] & MSG_PF_CONTROL) ||
	    (msg[0] & MSG_TYPE) != (st->req[0] & MSG_TYPE) ||
	    !(msg[0] & (MSG_ACK | MSG_NACK)))
		return;
	igbvf_pf_apply(&st->pf, st->req, msg);
	st->req_len = 0;
}

/* Does a write of @size bytes at @off touch the register at @reg? */
static bool igbvf_touches(u32 off, u32 size, u32 reg)
{
	return off < reg + 4 && reg < off + size;
}

static const u32 igbvf_watched[] = {
	IGBVF_CTRL, IGBVF_CTRL_DUP, IGBVF_V2PMAILBOX, IGBVF_EIMS, IGBVF_EIMC,
	IGBVF_EITR(0), IGBVF_EITR(1), IGBVF_EITR(2), IGBVF_IVAR0, IGBVF_PBACL,
};

/*
 * A user's write to the trapped pages (before it reaches the VF, with
 * trap_lock held).  The driver watches:
 *
 *  - V2PMAILBOX: a message goes to the PF with REQ, its words already in
 *    VMBMEM: keep them.  The user acknowledges the PF's answer with ACK
 *    after reading it from VMBMEM, where it still is: apply the request
 *    if the PF took it.  (A write of REQ and ACK at once starts a new
 *    message: the words in VMBMEM are the new request's, the answer to
 *    the old one is gone.)  V2PMAILBOX itself is never read here: that
 *    would clear the bits the user waits for.
 *  - CTRL with RST: the VF resets, and the PF forgets its configuration.
 *  - EIMS and EIMC: the interrupt mask, which QEMU does not read back.
 *  - EITR: the longest moderation interval since the last quiesce.
 *  - IVAR0: QEMU routes a queue to PF vector 22 - 3 * VF + entry
 *    (igb_set_vtivar()), so an entry above 2 names another VF's vector:
 *    refused.  (That does not isolate the VFs: QEMU ORs each entry into
 *    the PF's IVAR and never clears it, so two different vectors written
 *    in turn can name a third; a bug of the model the VF cannot undo.)
 *  - PBACL: QEMU lets a VF write the PF's PBACLR, which clears pending
 *    bits of the PF's MSI-X vectors (igb_set_pbaclr()): refused; igbvf
 *    never writes it.
 *
 * Each of these must be written whole, as QEMU's igbvf does every access
 * (32 bits); a narrower or wider write that touches one is refused.
 */
static int igbvf_trap_write(struct qvp_device *qdev, u32 off, u32 size,
			    u64 val)
{
	struct igbvf_state *st = igbvf(qdev);
	u32 msg[MBX_WORDS];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(igbvf_watched); i++) {
		if (igbvf_touches(off, size, igbvf_watched[i]) &&
		    (off != igbvf_watched[i] || size != 4)) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "igbvf: a %u-byte write at 0x%x: register 0x%x takes 32-bit writes only\n",
					    size, off, igbvf_watched[i]);
			return -EINVAL;
		}
	}

	switch (off) {
	case IGBVF_CTRL:
	case IGBVF_CTRL_DUP:
		if (val & CTRL_RST)
			igbvf_pf_forget(st, true);
		return 0;
	case IGBVF_EIMS:
		st->eims |= val & IGBVF_VECTORS_ALL;
		return 0;
	case IGBVF_EIMC:
		st->eims &= ~val;
		return 0;
	case IGBVF_EITR(0):
	case IGBVF_EITR(1):
	case IGBVF_EITR(2):
		/* a timer armed before this write runs with the old value */
		st->eitr_max = max3(st->eitr_max, (u32)val & EITR_INTERVAL,
				    rd(st, off) & EITR_INTERVAL);
		return 0;
	case IGBVF_PBACL:
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: a write to PBACL (0x%x), which clears the PF's pending interrupts: refused\n",
				    IGBVF_PBACL);
		return -EINVAL;
	case IGBVF_IVAR0:
		if ((val & IVAR_VALID && (val & IVAR_VECTOR) > 2) ||
		    (val >> 8 & IVAR_VALID && (val >> 8 & IVAR_VECTOR) > 2)) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "igbvf: IVAR0 0x%llx names a vector above 2, which would be another VF's: refused\n",
					    val);
			return -EINVAL;
		}
		return 0;
	case IGBVF_V2PMAILBOX:
		break;
	default:
		return 0;
	}

	if (!(val & (V2P_REQ | V2P_ACK)))
		return 0;
	for (i = 0; i < MBX_WORDS; i++)
		msg[i] = rd(st, IGBVF_VMBMEM + 4 * i);
	if (val & V2P_REQ) {
		/* igb ignores a message that looks answered already */
		memcpy(st->req, msg, sizeof(msg));
		st->req_len = msg[0] & (MSG_ACK | MSG_NACK) ||
			      !(msg[0] & MSG_TYPE) ? 0 : MBX_WORDS;
		return 0;
	}
	igbvf_answered(st, msg);
	return 0;
}

/* The mailbox, driven by the driver on the destination --------------------- */

struct igbvf_mbx {
	struct qvp_device *qdev;
	unsigned long end;	/* the replay's deadline, in jiffies */
	u32 seen;		/* read-to-clear bits read and not yet used */
};

static u32 mbx_read(struct igbvf_mbx *m)
{
	u32 v = igbvf_read1(m->qdev, IGBVF_V2PMAILBOX);

	if (v == ~0U)
		return v;
	m->seen |= v & (V2P_R2C | V2P_RSTI);
	return v | m->seen;
}

/*
 * Wait for @bit of V2PMAILBOX, and use it up: at most IGBVF_MBX_MS, and
 * not past the replay's deadline.
 */
static int mbx_wait(struct igbvf_mbx *m, u32 bit)
{
	unsigned long end = jiffies + msecs_to_jiffies(IGBVF_MBX_MS);
	u32 v;

	if (time_before(m->end, end))
		end = m->end;
	for (;;) {
		v = mbx_read(m);
		if (v == ~0U)
			return -EIO;
		if (v & bit) {
			m->seen &= ~bit;
			return 0;
		}
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(200, 500);
	}
}

/*
 * The request @req0 sent again for the guest (igbvf_load_commit()): wait
 * until the PF's answer is in VMBMEM, which reads without side effects,
 * so that the guest, which may hold a PFSTS of the source's in its own
 * memory, reads the answer and not its request.  The PF holds the buffer
 * (PFU) from before it writes the answer until it raises PFSTS, so the
 * guest cannot take the buffer in between.  V2PMAILBOX is not read: its
 * status bits are the guest's.
 */
static int igbvf_mbx_answered(struct igbvf_mbx *m, u32 req0)
{
	u32 w;

	for (;;) {
		w = igbvf_read1(m->qdev, IGBVF_VMBMEM);
		if (w == ~0U)
			return -EIO;
		if ((w & MSG_TYPE) == (req0 & MSG_TYPE) &&
		    w & (MSG_ACK | MSG_NACK))
			return 0;
		if (time_after(jiffies, m->end)) {
			dev_err_ratelimited(qvp_dev(m->qdev),
					    "igbvf: the PF did not answer the guest's request in flight 0x%08x\n",
					    req0);
			return -ETIMEDOUT;
		}
		usleep_range(200, 500);
	}
}

/* Send @msg (@len words, the rest of the buffer zeroed) once. */
static int mbx_send(struct igbvf_mbx *m, const u32 *msg, unsigned int len)
{
	struct igbvf_state *st = igbvf(m->qdev);
	unsigned int i;
	int ret;
	u16 set;

	ret = igbvf_mbx_lock(m->qdev, m->end, &m->seen);
	if (ret)
		return ret;
	m->seen &= ~(V2P_PFACK | V2P_PFSTS);
	set = qvp_mmio_begin(m->qdev);
	for (i = 0; i < MBX_WORDS; i++)
		wr(st, IGBVF_VMBMEM + 4 * i, i < len ? msg[i] : 0);
	wr(st, IGBVF_V2PMAILBOX, V2P_REQ);
	qvp_mmio_end(m->qdev, set);
	return mbx_wait(m, V2P_PFACK);
}

/*
 * Send @msg and read the PF's answer to it into @reply (MBX_WORDS words),
 * passing over the PF's own messages.  A request whose answer does not
 * come (a message of the PF's, such as a link change, overwrote it) is
 * sent again, until the replay's deadline, if the PF did not take it
 * (no PFACK) or @again: taking it twice has the same effect for every
 * request but a MAC filter, which igb adds once more.
 */
static int mbx_call(struct igbvf_mbx *m, const u32 *msg, unsigned int len,
		    u32 *reply, bool again)
{
	struct igbvf_state *st = igbvf(m->qdev);
	unsigned int i, tries;
	bool taken;
	int ret;
	u16 set;

resend:
	ret = mbx_send(m, msg, len);
	taken = !ret;
	for (tries = 0; !ret && tries < 8; tries++) {
		ret = mbx_wait(m, V2P_PFSTS) ?:
		      igbvf_mbx_lock(m->qdev, m->end, &m->seen);
		if (ret)
			break;
		set = qvp_mmio_begin(m->qdev);
		for (i = 0; i < MBX_WORDS; i++)
			reply[i] = rd(st, IGBVF_VMBMEM + 4 * i);
		wr(st, IGBVF_V2PMAILBOX, V2P_ACK);
		qvp_mmio_end(m->qdev, set);
		if ((reply[0] & MSG_TYPE) == (msg[0] & MSG_TYPE))
			return 0;
		/* The PF's news (link), or a bare NACK of an early ACK. */
		if (!(reply[0] & MSG_PF_CONTROL) && (reply[0] & MSG_TYPE))
			return -EPROTO;
	}
	if (ret == -ETIMEDOUT && (!taken || again) &&
	    time_before(jiffies, m->end))
		goto resend;
	return ret ?: -EPROTO;
}

static const char *const igbvf_msg_name[] = {
	[MSG_RESET] = "RESET",
	[MSG_SET_MAC] = "SET_MAC",
	[MSG_SET_MULTICAST] = "SET_MULTICAST",
	[MSG_SET_VLAN] = "SET_VLAN",
	[MSG_SET_LPE] = "SET_LPE",
	[MSG_SET_PROMISC] = "SET_PROMISC",
};

/* One request of the replay, which the PF must ACK (RESET: answer). */
static int igbvf_replay_one(struct igbvf_mbx *m, const u32 *msg,
			    unsigned int len, u32 *reply)
{
	u32 type = msg[0] & MSG_TYPE;
	const char *hint = "";
	int ret;

	ret = mbx_call(m, msg, len, reply,
		       msg[0] != (MSG_SET_MAC | MAC_FILTER_ADD << MSG_INFO_SHIFT));
	if (ret) {
		dev_err_ratelimited(qvp_dev(m->qdev),
				    "igbvf: replaying %s to the PF: no answer (%d); is the PF's driver loaded and its interface up?\n",
				    igbvf_msg_name[type], ret);
		return ret;
	}
	if (reply[0] & MSG_ACK || (type == MSG_RESET && reply[0] & MSG_NACK))
		return 0;
	if (m->seen & (V2P_RSTI | V2P_RSTD))
		hint = ": the PF was reset during the replay and has forgotten it";
	else if (type == MSG_SET_MAC)
		hint = ": has this VF an administrative MAC (ip link set PF vf N mac)?";
	else if (type == MSG_SET_VLAN)
		hint = ": has this VF a port VLAN (ip link set PF vf N vlan)?";
	dev_err_ratelimited(qvp_dev(m->qdev),
			    "igbvf: the PF refused %s 0x%08x 0x%08x (answer 0x%08x)%s\n",
			    igbvf_msg_name[type], msg[0], len > 1 ? msg[1] : 0,
			    reply[0], hint);
	return -EINVAL;
}

/*
 * As igbvf, no request while the PF is in reset (RSTI) or just out of it
 * (RSTD, which this read clears): wait, within @m's budget, on the
 * register as it is, not on m->seen.
 */
static int igbvf_wait_pf_ready(const struct igbvf_mbx *m)
{
	struct qvp_device *qdev = m->qdev;
	u32 v;

	for (;;) {
		v = igbvf_read1(qdev, IGBVF_V2PMAILBOX);
		if (v == ~0U)
			return -EIO;
		if (!(v & (V2P_RSTI | V2P_RSTD)))
			return 0;
		if (time_after(jiffies, m->end)) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "igbvf: the PF stays in reset (V2PMAILBOX 0x%08x)\n",
					    v);
			return -ETIMEDOUT;
		}
		usleep_range(200, 500);
	}
}

/*
 * Ask the PF for @pf through the VF's own mailbox, in the order igbvf
 * does after a reset: RESET (which also lets the VF's queues run: the PF
 * sets its RX and TX enables), then the MAC, MAC filters, multicast list,
 * VLANs, frame size and promiscuous mode.  A MAC that came from the
 * source PF (an administrative one) is not asked for, which the PF would
 * refuse: the destination's PF must give the same in its answer to RESET.
 * Requests the PF took before one it refuses stay with it until the reset
 * that the ERROR state then needs.  @m0 carries the deadline, and gets
 * the read-to-clear bits seen.
 */
static int igbvf_replay(struct igbvf_mbx *m0, const struct igbvf_pf *pf)
{
	struct qvp_device *qdev = m0->qdev;
	struct igbvf_mbx m = *m0;
	u32 msg[MBX_WORDS], reply[MBX_WORDS];
	unsigned int i;
	int ret;

	if (!(pf->flags & QVP_IGBVF_PF_RESET))
		return 0;
	ret = igbvf_wait_pf_ready(&m);
	if (ret)
		return ret;
	m.seen = 0;

	memset(msg, 0, sizeof(msg));
	msg[0] = MSG_RESET;
	ret = igbvf_replay_one(&m, msg, 1, reply);
	if (ret)
		return ret;
	if (pf->flags & QVP_IGBVF_PF_MAC_PF &&
	    (!(reply[0] & MSG_ACK) || memcmp(&reply[1], pf->mac, ETH_ALEN))) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: the source PF gave the VF MAC %pM, this PF gives it %s%pM: set the same (ip link set PF vf N mac %pM)\n",
				    pf->mac, reply[0] & MSG_ACK ? "" : "none, not ",
				    &reply[1], pf->mac);
		return -EINVAL;
	}
	if (pf->flags & QVP_IGBVF_PF_MAC) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_MAC;
		memcpy(&msg[1], pf->mac, ETH_ALEN);
		ret = igbvf_replay_one(&m, msg, 3, reply);
		if (ret)
			return ret;
	}
	for (i = 0; i < pf->nr_uc; i++) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_MAC | MAC_FILTER_ADD << MSG_INFO_SHIFT;
		memcpy(&msg[1], pf->uc[i], ETH_ALEN);
		ret = igbvf_replay_one(&m, msg, 3, reply);
		if (ret)
			return ret;
	}
	if (pf->flags & QVP_IGBVF_PF_MC) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_MULTICAST | (u32)pf->nr_mc << MSG_INFO_SHIFT;
		memcpy(&msg[1], pf->mc, sizeof(pf->mc));
		ret = igbvf_replay_one(&m, msg, MBX_WORDS, reply);
		if (ret)
			return ret;
	}
	for (i = 0; i < pf->nr_vlan; i++) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_VLAN | 1 << MSG_INFO_SHIFT;
		msg[1] = pf->vlan[i];
		ret = igbvf_replay_one(&m, msg, 2, reply);
		if (ret)
			return ret;
	}
	if (pf->flags & QVP_IGBVF_PF_LPE) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_LPE;
		msg[1] = pf->max_frame;
		ret = igbvf_replay_one(&m, msg, 2, reply);
		if (ret)
			return ret;
	}
	if (pf->flags & QVP_IGBVF_PF_PROMISC) {
		memset(msg, 0, sizeof(msg));
		msg[0] = MSG_SET_PROMISC | pf->promisc;
		ret = igbvf_replay_one(&m, msg, 1, reply);
		if (ret)
			return ret;
	}
	m0->seen = m.seen;
	return 0;
}

/* Checks of a state, on both sides ---------------------------------------- */

/* A ring of queue pair @n: its base, length and indices fit each other. */
static int igbvf_check_ring(struct qvp_device *qdev, const char *side,
			    unsigned int n, const char *dir, u32 base, u32 len,
			    u32 head, u32 tail)
{
	u32 descs = len / DESC_LEN;

	if (base & RING_BASE_LOW || len % DESC_LEN || len > RING_LEN_MAX ||
	    head >= max(descs, 1U) || tail >= max(descs, 1U)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: %s %s ring %u out of range: base low bits 0x%x, length %u bytes, head %u, tail %u\n",
				    side, dir, n, base & RING_BASE_LOW, len, head,
				    tail);
		return -EINVAL;
	}
	return 0;
}

/*
 * The rules a state must follow to be carried, the same for a source's
 * capture (@side "saved": a guest's state that a destination would
 * refuse fails STOP_COPY there, saying why) and a stream (@side
 * "stream").
 */
static int igbvf_check_regs(struct qvp_device *qdev, const char *side,
			    const struct igbvf_regs *r)
{
	unsigned int n;
	int ret;

	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		const u32 *q = r->q[n];

		ret = igbvf_check_ring(qdev, side, n, "RX", q[Q_RDBAL],
				       q[Q_RDLEN], q[Q_RDH], q[Q_RDT]) ?:
		      igbvf_check_ring(qdev, side, n, "TX", q[Q_TDBAL],
				       q[Q_TDLEN], q[Q_TDH], q[Q_TDT]);
		if (ret)
			return ret;
	}
	if (r->eims & ~IGBVF_VECTORS_ALL ||
	    (r->ivar0 & IVAR_VALID && (r->ivar0 & IVAR_VECTOR) > 2) ||
	    (r->ivar0 >> 8 & IVAR_VALID && (r->ivar0 >> 8 & IVAR_VECTOR) > 2)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: %s interrupt mask 0x%x or IVAR0 0x%x names a vector the VF does not have\n",
				    side, r->eims, r->ivar0);
		return -EINVAL;
	}
	return 0;
}

/* Is @n entries of @len bytes at @p each unique and the rest zero? */
static bool igbvf_set_ok(const void *p, unsigned int n, unsigned int max,
			 size_t len)
{
	static const u8 zero[ETH_ALEN];
	unsigned int i, j;

	for (i = 0; i < max; i++) {
		const void *e = p + i * len;

		if (i >= n) {
			if (memcmp(e, zero, len))
				return false;
			continue;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(e, p + j * len, len))
				return false;
	}
	return true;
}

/*
 * The rules of a PF record, the same for a source's capture and a stream
 * (as igbvf_check_regs()).
 */
static int igbvf_check_pf(struct qvp_device *qdev, const char *side,
			  const struct igbvf_pf *pf)
{
	unsigned int nr_mc = min_t(u32, pf->nr_mc, QVP_IGBVF_MC_MAX);
	const char *bad = NULL;
	u32 has = pf->flags;
	unsigned int i;

	if (has & ~QVP_IGBVF_PF_KNOWN)
		bad = "unknown flags";
	else if (has && !(has & QVP_IGBVF_PF_RESET))
		bad = "requests without the reset handshake";
	else if ((has & QVP_IGBVF_PF_MAC) && (has & QVP_IGBVF_PF_MAC_PF))
		bad = "two kinds of MAC";
	else if (has & (QVP_IGBVF_PF_MAC | QVP_IGBVF_PF_MAC_PF) ?
		 !is_valid_ether_addr(pf->mac) : !is_zero_ether_addr(pf->mac))
		bad = "a MAC that is not a unicast address, or one without its flag";
	else if (!(has & QVP_IGBVF_PF_MC) && pf->nr_mc)
		bad = "multicast hashes without their flag";
	else if (pf->nr_mc > 0xff ||
		 !igbvf_set_ok(pf->mc + nr_mc, 0, QVP_IGBVF_MC_MAX - nr_mc,
			       sizeof(u16)))
		bad = "a bad multicast count, or hashes past it";
	else if (pf->nr_vlan > QVP_IGBVF_VLAN_MAX ||
		 !igbvf_set_ok(pf->vlan, pf->nr_vlan, QVP_IGBVF_VLAN_MAX,
			       sizeof(u16)))
		bad = "a bad VLAN count, a VLAN twice or VLANs past the count";
	else if (pf->nr_uc > QVP_IGBVF_UC_MAX ||
		 !igbvf_set_ok(pf->uc, pf->nr_uc, QVP_IGBVF_UC_MAX, ETH_ALEN))
		bad = "a bad MAC filter count, a filter twice or filters past the count";
	else if (!(has & QVP_IGBVF_PF_LPE) && pf->max_frame)
		bad = "a frame size without its flag";
	else if (pf->promisc & ~PROMISC_MULTICAST ||
		 (!(has & QVP_IGBVF_PF_PROMISC) && pf->promisc))
		bad = "a promiscuous mode igb does not take";
	for (i = 0; !bad && i < pf->nr_vlan; i++)
		if (pf->vlan[i] & ~VLAN_ID_MASK)
			bad = "a VLAN ID above 4095";
	for (i = 0; !bad && i < pf->nr_uc; i++)
		if (!is_valid_ether_addr(pf->uc[i]))
			bad = "a MAC filter that is not a unicast address";
	if (bad) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: %s PF configuration has %s\n",
				    side, bad);
		return -EINVAL;
	}
	return 0;
}

/* Save --------------------------------------------------------------------- */

static size_t igbvf_stop_copy_size(struct qvp_device *qdev)
{
	switch (igbvf(qdev)->save_phase) {
	case IGBVF_SAVE_SENT:
		return 0;
	case IGBVF_SAVE_PF:
		return QVP_REC_SIZE(sizeof(struct qvp_igbvf_pf));
	default:
		return QVP_REC_SIZE(sizeof(struct qvp_igbvf_regs)) +
		       QVP_REC_SIZE(sizeof(struct qvp_igbvf_pf));
	}
}

static int igbvf_save_begin(struct qvp_device *qdev, bool precopy, u64 *seed)
{
	/* Nothing to send while running: the state goes at STOP_COPY. */
	igbvf(qdev)->save_phase = IGBVF_SAVE_UNCAPTURED;
	return 0;
}

/*
 * The VF is stopped (queues off, vectors masked): capture its registers,
 * with the guest's queue enables and mask in place of the driver's, and
 * what the PF holds for it.  A request the guest sent and whose answer it
 * has not acknowledged travels as such (the destination sends it again,
 * last, so that the guest gets its answer there), and counts in the PF
 * record if VMBMEM shows that the PF took it; but for RESET, whose MAC
 * words the PF may still be writing, and which the destination's own
 * RESET then does.  The source's records stay as they are, for a
 * migration that fails.
 */
static int igbvf_save_stop(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	struct igbvf_regs *r = &st->saved;
	const char *lost;
	unsigned int n, i;
	u16 set;

	mutex_lock(&qdev->trap_lock);
	set = qvp_mmio_begin(qdev);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++)
		for (i = 0; i < Q_NR; i++)
			r->q[n][i] = ioread32(qreg(st, n, i));
	r->eiac = rd(st, IGBVF_EIAC);
	r->eiam = rd(st, IGBVF_EIAM);
	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		r->eitr[n] = rd(st, IGBVF_EITR(n));
	r->ivar0 = rd(st, IGBVF_IVAR0);
	r->ivar_misc = rd(st, IGBVF_IVAR_MISC);
	r->psrtype = rd(st, IGBVF_PSRTYPE);
	for (i = 0; i < MBX_WORDS; i++)
		r->mbx[i] = rd(st, IGBVF_VMBMEM + 4 * i);
	qvp_mmio_end(qdev, set);
	r->eims = st->eims;
	st->saved_pf = st->pf;
	r->has_req = st->req_len;
	memcpy(r->req, st->req, sizeof(r->req));
	if (!r->has_req)
		memset(r->req, 0, sizeof(r->req));
	else if (st->req[0] != MSG_RESET &&
		 st->req[0] != (MSG_SET_MAC | MAC_FILTER_ADD << MSG_INFO_SHIFT) &&
		 !(r->mbx[0] & MSG_PF_CONTROL) &&
		 (r->mbx[0] & MSG_TYPE) == (st->req[0] & MSG_TYPE))
		igbvf_pf_apply(&st->saved_pf, st->req, r->mbx);
	mutex_unlock(&qdev->trap_lock);

	if (r->q[0][Q_RDLEN] == ~0U)
		return -EIO;
	if (st->queues_held) {
		for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
			r->q[n][Q_RXDCTL] = st->rxdctl[n];
			r->q[n][Q_TXDCTL] = st->txdctl[n];
		}
	}
	lost = st->saved_pf.lost;
	if (lost) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: the PF took more %s for the VF than a stream carries: cannot save\n",
				    lost);
		return -EOVERFLOW;
	}
	if (igbvf_check_regs(qdev, "saved", r) ||
	    igbvf_check_pf(qdev, "saved", &st->saved_pf))
		return -EINVAL;
	st->save_phase = IGBVF_SAVE_REGS;
	return 0;
}

static void igbvf_put_regs(struct qvp_igbvf_regs *out,
			   const struct igbvf_regs *r)
{
	unsigned int n, i;

	memset(out, 0, sizeof(*out));
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		__le32 *w = (__le32 *)&out->queue[n];

		for (i = 0; i < Q_NR; i++)
			w[i] = cpu_to_le32(r->q[n][i]);
	}
	out->eims = cpu_to_le32(r->eims);
	out->eiac = cpu_to_le32(r->eiac);
	out->eiam = cpu_to_le32(r->eiam);
	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		out->eitr[n] = cpu_to_le32(r->eitr[n]);
	out->ivar0 = cpu_to_le32(r->ivar0);
	out->ivar_misc = cpu_to_le32(r->ivar_misc);
	out->psrtype = cpu_to_le32(r->psrtype);
	out->flags = cpu_to_le32(r->has_req ? QVP_IGBVF_REGS_REQ : 0);
	for (i = 0; i < MBX_WORDS; i++) {
		out->mbx[i] = cpu_to_le32(r->mbx[i]);
		out->req[i] = cpu_to_le32(r->req[i]);
	}
}

static void igbvf_put_pf(struct qvp_igbvf_pf *out, const struct igbvf_pf *pf)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->flags = cpu_to_le32(pf->flags);
	memcpy(out->mac, pf->mac, ETH_ALEN);
	out->nr_mc = cpu_to_le16(pf->nr_mc);
	out->nr_vlan = cpu_to_le16(pf->nr_vlan);
	out->nr_uc = cpu_to_le16(pf->nr_uc);
	out->max_frame = cpu_to_le32(pf->max_frame);
	out->promisc = cpu_to_le32(pf->promisc);
	for (i = 0; i < QVP_IGBVF_MC_MAX; i++)
		out->mc[i] = cpu_to_le16(pf->mc[i]);
	for (i = 0; i < QVP_IGBVF_VLAN_MAX; i++)
		out->vlan[i] = cpu_to_le16(pf->vlan[i]);
	memcpy(out->uc, pf->uc, sizeof(out->uc));
}

static int igbvf_save_record(struct qvp_device *qdev, struct qvp_save_rec *rec)
{
	struct igbvf_state *st = igbvf(qdev);

	switch (st->save_phase) {
	case IGBVF_SAVE_REGS:
		if (rec->size < sizeof(struct qvp_igbvf_regs))
			return -EOVERFLOW;
		igbvf_put_regs(rec->buf, &st->saved);
		rec->type = QVP_REC_IGBVF_REGS;
		rec->len = sizeof(struct qvp_igbvf_regs);
		st->save_phase = IGBVF_SAVE_PF;
		return 1;
	case IGBVF_SAVE_PF:
		if (rec->size < sizeof(struct qvp_igbvf_pf))
			return -EOVERFLOW;
		igbvf_put_pf(rec->buf, &st->saved_pf);
		rec->type = QVP_REC_IGBVF_PF;
		rec->len = sizeof(struct qvp_igbvf_pf);
		st->save_phase = IGBVF_SAVE_SENT;
		return 1;
	default:
		return 0;
	}
}

static void igbvf_save_end(struct qvp_device *qdev)
{
	igbvf(qdev)->save_phase = IGBVF_SAVE_UNCAPTURED;
}

/* Resume ------------------------------------------------------------------- */

static int igbvf_load_begin(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);

	st->have_regs = false;
	st->have_pf = false;
	return 0;
}

static int igbvf_load_regs(struct qvp_device *qdev,
			   const struct qvp_igbvf_regs *in)
{
	struct igbvf_state *st = igbvf(qdev);
	struct igbvf_regs *r = &st->staged;
	unsigned int n, i;
	bool bad_req;

	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		const __le32 *w = (const __le32 *)&in->queue[n];

		if (in->queue[n].reserved)
			goto reserved;
		for (i = 0; i < Q_NR; i++)
			r->q[n][i] = le32_to_cpu(w[i]);
	}
	if (le32_to_cpu(in->flags) & ~QVP_IGBVF_REGS_REQ)
		goto reserved;
	r->has_req = le32_to_cpu(in->flags) & QVP_IGBVF_REGS_REQ;
	r->eims = le32_to_cpu(in->eims);
	r->eiac = le32_to_cpu(in->eiac);
	r->eiam = le32_to_cpu(in->eiam);
	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		r->eitr[n] = le32_to_cpu(in->eitr[n]);
	r->ivar0 = le32_to_cpu(in->ivar0);
	r->ivar_misc = le32_to_cpu(in->ivar_misc);
	r->psrtype = le32_to_cpu(in->psrtype);
	for (i = 0; i < MBX_WORDS; i++) {
		r->mbx[i] = le32_to_cpu(in->mbx[i]);
		r->req[i] = le32_to_cpu(in->req[i]);
	}
	bad_req = r->has_req ? !(r->req[0] & MSG_TYPE) ||
			       r->req[0] & (MSG_ACK | MSG_NACK) :
			       !!memchr_inv(r->req, 0, sizeof(r->req));
	if (bad_req) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: stream has a bad request in flight (0x%08x)\n",
				    r->req[0]);
		return -EINVAL;
	}
	if (igbvf_check_regs(qdev, "stream", r))
		return -EINVAL;
	st->have_regs = true;
	return 0;

reserved:
	dev_err_ratelimited(qvp_dev(qdev),
			    "igbvf: register record has reserved fields or unknown flags set\n");
	return -EINVAL;
}

static int igbvf_load_pf(struct qvp_device *qdev, const struct qvp_igbvf_pf *in)
{
	struct igbvf_state *st = igbvf(qdev);
	struct igbvf_pf *pf = &st->staged_pf;
	unsigned int i;

	memset(pf, 0, sizeof(*pf));
	pf->flags = le32_to_cpu(in->flags);
	memcpy(pf->mac, in->mac, ETH_ALEN);
	pf->nr_mc = le16_to_cpu(in->nr_mc);
	pf->nr_vlan = le16_to_cpu(in->nr_vlan);
	pf->nr_uc = le16_to_cpu(in->nr_uc);
	pf->max_frame = le32_to_cpu(in->max_frame);
	pf->promisc = le32_to_cpu(in->promisc);
	for (i = 0; i < QVP_IGBVF_MC_MAX; i++)
		pf->mc[i] = le16_to_cpu(in->mc[i]);
	for (i = 0; i < QVP_IGBVF_VLAN_MAX; i++)
		pf->vlan[i] = le16_to_cpu(in->vlan[i]);
	memcpy(pf->uc, in->uc, sizeof(pf->uc));
	if (igbvf_check_pf(qdev, "stream", pf))
		return -EINVAL;
	st->have_pf = true;
	return 0;
}

static int igbvf_load_record(struct qvp_device *qdev, u16 type,
			     const void *buf, u32 len)
{
	struct igbvf_state *st = igbvf(qdev);

	if ((type == QVP_REC_IGBVF_REGS && st->have_regs) ||
	    (type == QVP_REC_IGBVF_PF && st->have_pf)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: record 0x%04x appears twice\n", type);
		return -EINVAL;
	}
	if (type == QVP_REC_IGBVF_REGS)
		return igbvf_load_regs(qdev, buf);
	return igbvf_load_pf(qdev, buf);
}

/*
 * Write the staged registers @r into the VF, with the queues disabled and
 * the vectors masked; the guest's enables are kept in st->rxdctl[] and
 * st->txdctl[].  Inside the MMIO bracket.
 */
static void igbvf_write_regs(struct igbvf_state *st,
			     const struct igbvf_regs *r)
{
	unsigned int n;

	wr(st, IGBVF_EIMC, IGBVF_VECTORS_ALL);
	for (n = 0; n < QVP_IGBVF_QUEUES; n++) {
		const u32 *q = r->q[n];

		iowrite32(q[Q_RXDCTL] & ~QUEUE_ENABLE, qreg(st, n, Q_RXDCTL));
		iowrite32(q[Q_TXDCTL] & ~QUEUE_ENABLE, qreg(st, n, Q_TXDCTL));
		iowrite32(q[Q_RDBAL], qreg(st, n, Q_RDBAL));
		iowrite32(q[Q_RDBAH], qreg(st, n, Q_RDBAH));
		iowrite32(q[Q_RDLEN], qreg(st, n, Q_RDLEN));
		iowrite32(q[Q_SRRCTL], qreg(st, n, Q_SRRCTL));
		iowrite32(q[Q_RXCTL], qreg(st, n, Q_RXCTL));
		iowrite32(q[Q_RDH], qreg(st, n, Q_RDH));
		iowrite32(q[Q_RDT], qreg(st, n, Q_RDT));
		iowrite32(q[Q_TDBAL], qreg(st, n, Q_TDBAL));
		iowrite32(q[Q_TDBAH], qreg(st, n, Q_TDBAH));
		iowrite32(q[Q_TDLEN], qreg(st, n, Q_TDLEN));
		iowrite32(q[Q_TXCTL], qreg(st, n, Q_TXCTL));
		iowrite32(q[Q_TDWBAL], qreg(st, n, Q_TDWBAL));
		iowrite32(q[Q_TDWBAH], qreg(st, n, Q_TDWBAH));
		iowrite32(q[Q_TDH], qreg(st, n, Q_TDH));
		iowrite32(q[Q_TDT], qreg(st, n, Q_TDT));
		st->rxdctl[n] = q[Q_RXDCTL];
		st->txdctl[n] = q[Q_TXDCTL];
	}
	/* EIMS as read back: the mask itself is written when the VF runs */
	wr(st, IGBVF_EIMS, 0);
	wr(st, IGBVF_EIAC, r->eiac);
	wr(st, IGBVF_EIAM, r->eiam);
	for (n = 0; n < QVP_IGBVF_VECTORS; n++)
		wr(st, IGBVF_EITR(n), r->eitr[n]);
	wr(st, IGBVF_IVAR0, r->ivar0);
	wr(st, IGBVF_IVAR_MISC, r->ivar_misc);
	wr(st, IGBVF_PSRTYPE, r->psrtype);
}

/*
 * RESUMING -> STOP.  First the PF: the requests go through the VF's own
 * mailbox, and a refusal fails the arc before any VF register is written
 * (what the PF took before it stays with the PF until the reset that
 * ERROR needs).  Then the mailbox as the guest left it: the request it
 * was waiting on, sent again, so that the guest gets the answer and the
 * status bits it waits for from this PF (its ACK then records the
 * request as on the source); or else the mailbox memory, so that the
 * guest reads there the PF's last message it had, not the replay's.  All
 * of it within IGBVF_REPLAY_MS; a PF reset meanwhile fails the arc.
 * Then the registers, with the queues disabled and the vectors masked
 * (the VF enters STOP); the guest's queue enables and mask are held and
 * given back on the arcs to RUNNING (igbvf_unquiesce(), igbvf_p2p_start()).
 * The tails are written after the heads, with the queues off, so QEMU
 * neither sends nor receives here.
 */
static int igbvf_load_commit(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	struct igbvf_regs *r = &st->staged;
	struct igbvf_mbx m = {
		.qdev = qdev,
		.end = jiffies + msecs_to_jiffies(IGBVF_REPLAY_MS),
	};
	int ret;
	u16 set;

	if (!st->have_regs || !st->have_pf) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: stream lacks its %s record\n",
				    st->have_regs ? "PF" : "register");
		return -EINVAL;
	}

	/* the VF enters STOP: masked before the mailbox raises anything */
	set = qvp_mmio_begin(qdev);
	wr(st, IGBVF_EIMC, IGBVF_VECTORS_ALL);
	qvp_mmio_end(qdev, set);

	mutex_lock(&qdev->trap_lock);
	ret = igbvf_replay(&m, &st->staged_pf);
	if (!ret)
		ret = igbvf_mbx_fill(qdev, r->has_req ? r->req : r->mbx,
				     r->has_req ? V2P_REQ : 0, m.end, &m.seen);
	if (!ret && r->has_req)
		ret = igbvf_mbx_answered(&m, r->req[0]);
	if (!ret && m.seen & (V2P_RSTI | V2P_RSTD)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: the PF was reset while the configuration was made again: it is lost\n");
		ret = -EAGAIN;
	}
	if (!ret) {
		st->pf = st->staged_pf;
		memcpy(st->req, r->req, sizeof(st->req));
		st->req_len = r->has_req ? MBX_WORDS : 0;
		st->eims = r->eims;
		st->eitr_max = 0;
	}
	mutex_unlock(&qdev->trap_lock);
	if (ret)
		return ret;

	set = qvp_mmio_begin(qdev);
	igbvf_write_regs(st, r);
	qvp_mmio_end(qdev, set);
	st->queues_held = true;
	st->vectors_held = true;
	st->kick = true;
	return 0;
}

static void igbvf_load_end(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);

	st->have_regs = false;
	st->have_pf = false;
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

/* struct qvp_igbvf_queue is the registers of igbvf_qreg[], in order. */
static_assert(offsetof(struct qvp_igbvf_queue, rxdctl) == 4 * Q_RXDCTL);
static_assert(offsetof(struct qvp_igbvf_queue, tdt) == 4 * Q_TDT);
static_assert(offsetof(struct qvp_igbvf_queue, tdwbah) == 4 * Q_TDWBAH);
static_assert(sizeof(struct qvp_igbvf_queue) == 72);
static_assert(sizeof(struct qvp_igbvf_regs) == 312);
static_assert(sizeof(struct qvp_igbvf_pf) == 244);

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
	.trap_write = igbvf_trap_write,
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
	.stop_copy_size = igbvf_stop_copy_size,
	.save_begin = igbvf_save_begin,
	.save_stop = igbvf_save_stop,
	.save_record = igbvf_save_record,
	.save_end = igbvf_save_end,
	.load_begin = igbvf_load_begin,
	.load_record = igbvf_load_record,
	.load_commit = igbvf_load_commit,
	.load_end = igbvf_load_end,
};
