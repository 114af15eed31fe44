// SPDX-License-Identifier: GPL-2.0
/*
 * igbvf backend: the records.  The same checks of a state on the source
 * (STOP_COPY fails) and the destination (the stream is refused), then the
 * save of QVP_REC_IGBVF_REGS and QVP_REC_IGBVF_PF and their resume.  See
 * igbvf.c.
 */
#include <linux/jiffies.h>
#include <linux/string.h>

#include "igbvf.h"

/* struct qvp_igbvf_queue is the registers of qvp_igbvf_qreg[], in order. */
static_assert(offsetof(struct qvp_igbvf_queue, rxdctl) == 4 * Q_RXDCTL);
static_assert(offsetof(struct qvp_igbvf_queue, tdt) == 4 * Q_TDT);
static_assert(offsetof(struct qvp_igbvf_queue, tdwbah) == 4 * Q_TDWBAH);
static_assert(sizeof(struct qvp_igbvf_queue) == 72);
static_assert(sizeof(struct qvp_igbvf_regs) == 312);
static_assert(sizeof(struct qvp_igbvf_pf) == 244);

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

size_t qvp_igbvf_stop_copy_size(struct qvp_device *qdev)
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

int qvp_igbvf_save_begin(struct qvp_device *qdev, bool precopy, u64 *seed)
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
 * record if VMBMEM shows that the PF took it, but for RESET and
 * FILTER_ADD (qvp_igbvf_fold_answer()).  The source's records stay as
 * they are, for a migration that fails.
 */
int qvp_igbvf_save_stop(struct qvp_device *qdev)
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
	else
		qvp_igbvf_fold_answer(st, &st->saved_pf, r->mbx);
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

int qvp_igbvf_save_record(struct qvp_device *qdev, struct qvp_save_rec *rec)
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

void qvp_igbvf_save_end(struct qvp_device *qdev)
{
	igbvf(qdev)->save_phase = IGBVF_SAVE_UNCAPTURED;
}

/* Resume ------------------------------------------------------------------- */

int qvp_igbvf_load_begin(struct qvp_device *qdev)
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

int qvp_igbvf_load_record(struct qvp_device *qdev, u16 type, const void *buf,
			  u32 len)
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
 * RESUMING -> STOP.  First the PF and the mailbox
 * (qvp_igbvf_mbx_restore()): the requests go through the VF's own
 * mailbox, and a refusal fails the arc before any VF register is written
 * (what the PF took before it stays with the PF until the reset that
 * ERROR needs), then the mailbox as the guest left it; all of it within
 * IGBVF_REPLAY_MS of the arc's start.  Then the registers, with the
 * queues disabled and the vectors masked (the VF enters STOP); the
 * guest's queue enables and mask are held and given back on the arcs to
 * RUNNING (igbvf_unquiesce(), igbvf_p2p_start() in igbvf.c).  The tails
 * are written after the heads, with the queues off, so QEMU neither sends
 * nor receives here.
 */
int qvp_igbvf_load_commit(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);
	struct igbvf_regs *r = &st->staged;
	unsigned long end = jiffies + msecs_to_jiffies(IGBVF_REPLAY_MS);
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
	ret = qvp_igbvf_mbx_restore(qdev, &st->staged_pf, r, end);
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

void qvp_igbvf_load_end(struct qvp_device *qdev)
{
	struct igbvf_state *st = igbvf(qdev);

	st->have_regs = false;
	st->have_pf = false;
}
