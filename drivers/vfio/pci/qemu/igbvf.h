/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The igbvf backend's own header: the VF's registers, its state, and what
 * each of its three files gives the others.
 *
 *   igbvf.c         the device: open, queues, quiesce, reset, the ops
 *   igbvf_mbx.c     the user's trapped writes (mailbox, interrupt mask
 *                   and moderation, reset) and the PF-held configuration
 *                   they lead to; its replay on the destination
 *   igbvf_stream.c  the records: checks, save, resume
 *
 * Nothing outside these files includes it.
 */
#ifndef QVP_IGBVF_H
#define QVP_IGBVF_H

#include <linux/etherdevice.h>
#include <linux/io.h>

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

/* Each one's offset in queue pair 0; pair n is IGBVF_QSTRIDE further. */
extern const u16 qvp_igbvf_qreg[Q_NR];

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

static inline struct igbvf_state *igbvf(struct qvp_device *qdev)
{
	return qvp_priv(qdev);
}

static inline void __iomem *qreg(struct igbvf_state *st, unsigned int n,
				 unsigned int r)
{
	return st->bar0 + qvp_igbvf_qreg[r] + n * IGBVF_QSTRIDE;
}

static inline u32 rd(struct igbvf_state *st, u32 off)
{
	return ioread32(st->bar0 + off);
}

static inline void wr(struct igbvf_state *st, u32 off, u32 val)
{
	iowrite32(val, st->bar0 + off);
}

/* Read one 32-bit register in its own MMIO bracket. */
static inline u32 igbvf_read1(struct qvp_device *qdev, u32 off)
{
	u16 set = qvp_mmio_begin(qdev);
	u32 val = rd(igbvf(qdev), off);

	qvp_mmio_end(qdev, set);
	return val;
}

/* igbvf_mbx.c */
void qvp_igbvf_fold_answer(const struct igbvf_state *st, struct igbvf_pf *pf,
			   const u32 *mbx);
int qvp_igbvf_mbx_fill(struct qvp_device *qdev, const u32 *words, u32 how,
		       unsigned long end, u32 *seen);
int qvp_igbvf_mbx_restore(struct qvp_device *qdev, const struct igbvf_pf *pf,
			  const struct igbvf_regs *r, unsigned long end);
void qvp_igbvf_pf_forget(struct igbvf_state *st, bool igb_kept);
int qvp_igbvf_trap_write(struct qvp_device *qdev, u32 off, u32 size, u64 val);

/* igbvf_stream.c: the ops of save and resume */
int qvp_igbvf_load_begin(struct qvp_device *qdev);
int qvp_igbvf_load_commit(struct qvp_device *qdev);
void qvp_igbvf_load_end(struct qvp_device *qdev);
int qvp_igbvf_load_record(struct qvp_device *qdev, u16 type, const void *buf,
			  u32 len);
int qvp_igbvf_save_begin(struct qvp_device *qdev, bool precopy, u64 *seed);
void qvp_igbvf_save_end(struct qvp_device *qdev);
int qvp_igbvf_save_record(struct qvp_device *qdev, struct qvp_save_rec *rec);
int qvp_igbvf_save_stop(struct qvp_device *qdev);
size_t qvp_igbvf_stop_copy_size(struct qvp_device *qdev);

#endif /* QVP_IGBVF_H */
