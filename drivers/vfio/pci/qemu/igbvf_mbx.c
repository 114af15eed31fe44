// SPDX-License-Identifier: GPL-2.0
/*
 * igbvf backend: the user's trapped writes, and what the PF holds for
 * the VF.  The VF asks its PF for its MAC, filters, VLANs, multicast
 * list, frame size and promiscuous mode over the mailbox, and cannot
 * read any of it back: the driver traps the user's writes of BAR0's
 * first pages (the mailbox, and on the way the interrupt mask and
 * moderation and the VF reset), keeps what the PF accepted (struct
 * igbvf_pf), and on the destination asks its own PF the same through the
 * VF's mailbox (igbvf_replay()).  See igbvf.c.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/string.h>

#include "igbvf.h"

/*
 * The VF was reset: Linux's igb forgets what the VF asked of it
 * (igb_vf_reset_event()) but its MAC filters and frame size, which it
 * keeps (@igb_kept: keep them in the record too, for a reset the guest
 * did and whose configuration it will ask for again; the driver's own
 * reset drops them: they were the last user's, whom the PF still serves,
 * a limit of igb that the driver page states).  Called with trap_lock
 * held.
 */
void qvp_igbvf_pf_forget(struct igbvf_state *st, bool igb_kept)
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
 * Write the 16 words of the mailbox memory (zeroes if @words is NULL),
 * holding the buffer, and give it back (@how 0) or send them to the PF
 * (V2P_REQ), before @end.  *@seen, if not NULL, gets the read-to-clear
 * bits of V2PMAILBOX read on the way.  Called with trap_lock held: the
 * user's own mailbox writes wait.
 */
int qvp_igbvf_mbx_fill(struct qvp_device *qdev, const u32 *words, u32 how,
		       unsigned long end, u32 *seen)
{
	struct igbvf_state *st = igbvf(qdev);
	unsigned int i;
	int ret;
	u16 set;

	lockdep_assert_held(&qdev->trap_lock);
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
 * Whether the PF's message @msg answers request @req: not one of the
 * PF's own (PF_CONTROL), and of the request's type.
 */
static bool igbvf_answers(const u32 *req, const u32 *msg)
{
	return !(msg[0] & MSG_PF_CONTROL) &&
	       (msg[0] & MSG_TYPE) == (req[0] & MSG_TYPE);
}

/*
 * The PF's message in @msg (VMBMEM) is being acknowledged by the guest:
 * if it answers the kept request, apply the request as the PF took it.
 * The PF's own messages and answers to something else leave the request
 * waiting.  Called with trap_lock held.
 */
static void igbvf_answered(struct igbvf_state *st, const u32 *msg)
{
	if (!st->req_len || !igbvf_answers(st->req, msg) ||
	    !(msg[0] & (MSG_ACK | MSG_NACK)))
		return;
	igbvf_pf_apply(&st->pf, st->req, msg);
	st->req_len = 0;
}

/*
 * For the save, at STOP_COPY (not a trapped write): the request still
 * waiting for the guest's acknowledgment counts in @pf, the saved record,
 * if the PF's answer to it is in @mbx (VMBMEM; igbvf_pf_apply() takes
 * only an ACK); but not RESET, whose MAC words the PF may still be
 * writing and which the destination's own RESET does, nor FILTER_ADD,
 * which the destination sends again as the request in flight and must
 * not send twice.  The kept request itself stays.  Called with trap_lock
 * held, and a request kept (st->req_len).
 */
void qvp_igbvf_fold_answer(const struct igbvf_state *st, struct igbvf_pf *pf,
			   const u32 *mbx)
{
	if (st->req[0] == MSG_RESET ||
	    st->req[0] == (MSG_SET_MAC | MAC_FILTER_ADD << MSG_INFO_SHIFT) ||
	    !igbvf_answers(st->req, mbx))
		return;
	igbvf_pf_apply(pf, st->req, mbx);
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
int qvp_igbvf_trap_write(struct qvp_device *qdev, u32 off, u32 size, u64 val)
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
			qvp_igbvf_pf_forget(st, true);
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
 * The request @req0 sent again for the guest (qvp_igbvf_mbx_restore()): wait
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

/*
 * The PF's part of RESUMING -> STOP, before @end: the requests of @pf
 * through the VF's own mailbox (igbvf_replay()), then the mailbox as the
 * guest left it in @r: the request it was waiting on, sent again, so
 * that the guest gets the answer and the status bits it waits for from
 * this PF (its ACK then records the request as on the source); or else
 * the mailbox memory, so that the guest reads there the PF's last message
 * it had, not the replay's.  A PF reset meanwhile fails the restore
 * (-EAGAIN).  Called with trap_lock held.
 */
int qvp_igbvf_mbx_restore(struct qvp_device *qdev, const struct igbvf_pf *pf,
			  const struct igbvf_regs *r, unsigned long end)
{
	struct igbvf_mbx m = { .qdev = qdev, .end = end };
	int ret;

	lockdep_assert_held(&qdev->trap_lock);
	ret = igbvf_replay(&m, pf);
	if (!ret)
		ret = qvp_igbvf_mbx_fill(qdev, r->has_req ? r->req : r->mbx,
					 r->has_req ? V2P_REQ : 0, m.end,
					 &m.seen);
	if (!ret && r->has_req)
		ret = igbvf_mbx_answered(&m, r->req[0]);
	if (!ret && m.seen & (V2P_RSTI | V2P_RSTD)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "igbvf: the PF was reset while the configuration was made again: it is lost\n");
		ret = -EAGAIN;
	}
	return ret;
}
