// SPDX-License-Identifier: GPL-2.0
/*
 * A userspace driver for the VF of QEMU's igb (82576 VF), through VFIO:
 * see igbvf.h.  It follows Linux's igbvf (drivers/net/ethernet/intel/
 * igbvf: vf.c, mbx.c, netdev.c) for the order of things, and QEMU's model
 * (hw/net/igb_core.c, igbvf.c) for what the device does with them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "igbvf.h"

#define BAR		IGBVF_BAR_REGS
#define RING_BYTES	(IGBVF_RING * IGB_DESC_LEN)
/* whole pages, as VFIO maps them */
#define MEM_SIZE	((2 * RING_BYTES + 2 * IGBVF_RING * IGBVF_BUF + 4095) & \
			 ~4095)

/* Offsets in the DMA memory */
#define OFF_RX_RING	0
#define OFF_TX_RING	RING_BYTES
#define OFF_RX_BUF(i)	(2 * RING_BYTES + (size_t)(i) * IGBVF_BUF)
#define OFF_TX_BUF(i)	(OFF_RX_BUF(IGBVF_RING) + (size_t)(i) * IGBVF_BUF)

static void say(char *why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	va_start(ap, fmt);
	vsnprintf(why, IGBVF_WHY_LEN, fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int igbvf_read(struct igbvf *vf, uint32_t reg, uint32_t *val)
{
	return vfio_dev_read32(vf->dev, BAR, reg, val);
}

static int wr(struct igbvf *vf, uint32_t reg, uint32_t val, char *why)
{
	int ret = vfio_dev_write32(vf->dev, BAR, reg, val);

	if (ret)
		say(why, "writing 0x%x to register 0x%04x: %s", val, reg,
		    strerror(-ret));
	return ret;
}

static int rd(struct igbvf *vf, uint32_t reg, uint32_t *val, char *why)
{
	int ret = vfio_dev_read32(vf->dev, BAR, reg, val);

	if (ret)
		say(why, "reading register 0x%04x: %s", reg, strerror(-ret));
	return ret;
}

/* Mailbox ------------------------------------------------------------------ */

/*
 * V2PMAILBOX, with the read-to-clear bits (PFSTS, PFACK, RSTD) of every
 * read kept in vf->mbx_seen until used, as igbvf's
 * e1000_read_v2p_mailbox() keeps them.
 */
static int mbx_read(struct igbvf *vf, uint32_t *val, char *why)
{
	int ret = rd(vf, IGBVF_V2PMAILBOX, val, why);

	if (ret)
		return ret;
	vf->mbx_seen |= *val & (IGB_V2P_PFSTS | IGB_V2P_PFACK | IGB_V2P_RSTD);
	*val |= vf->mbx_seen;
	return 0;
}

/* Wait up to IGBVF_MBX_MS for @bit (consumed), polling. */
static int mbx_wait(struct igbvf *vf, uint32_t bit, const char *what,
		    char *why)
{
	uint64_t end = now_ms() + IGBVF_MBX_MS;
	uint32_t v;
	int ret;

	for (;;) {
		ret = mbx_read(vf, &v, why);
		if (ret)
			return ret;
		if (v & bit) {
			vf->mbx_seen &= ~bit;
			return 0;
		}
		if (now_ms() > end) {
			say(why, "mailbox: no %s from the PF in %d ms (V2PMAILBOX 0x%08x): is the PF's interface up?",
			    what, IGBVF_MBX_MS, v);
			return -ETIMEDOUT;
		}
		usleep(200);
	}
}

/* Take the buffer: set VFU and read it back (the PF may hold PFU). */
static int mbx_lock(struct igbvf *vf, char *why)
{
	uint64_t end = now_ms() + IGBVF_MBX_MS;
	uint32_t v;
	int ret;

	for (;;) {
		ret = wr(vf, IGBVF_V2PMAILBOX, IGB_V2P_VFU, why);
		if (!ret)
			ret = mbx_read(vf, &v, why);
		if (ret)
			return ret;
		if (v & IGB_V2P_VFU)
			return 0;
		if (now_ms() > end) {
			say(why, "mailbox: the PF holds the buffer (V2PMAILBOX 0x%08x)",
			    v);
			return -EBUSY;
		}
		usleep(200);
	}
}

int igbvf_mbx_post(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		   char *why)
{
	unsigned int i;
	int ret;

	if (!len || len > IGB_MBX_WORDS) {
		say(why, "mailbox: a message of %u words", len);
		return -EINVAL;
	}
	ret = mbx_lock(vf, why);
	if (ret)
		return ret;
	/*
	 * As igbvf's e1000_write_mbx_vf(): an ACK or a message of the PF's
	 * from before (a ping: the buffer is overwritten now) must not pass
	 * for this one's.  Holding VFU, the PF (Linux's igb) cannot send.
	 */
	vf->mbx_seen &= ~(IGB_V2P_PFACK | IGB_V2P_PFSTS);
	for (i = 0; i < len && !ret; i++)
		ret = wr(vf, IGBVF_VMBMEM + 4 * i, msg[i], why);
	/* REQ without VFU: the message is the PF's, the buffer too */
	return ret ?: wr(vf, IGBVF_V2PMAILBOX, IGB_V2P_REQ, why);
}

/* Send a message and wait for the PF's ACK of it (igbvf's write_posted). */
static int mbx_send(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		    char *why)
{
	return igbvf_mbx_post(vf, msg, len, why) ?:
	       mbx_wait(vf, IGB_V2P_PFACK, "ACK of our message", why);
}

/* Read the PF's message of @len words into @msg. */
static int mbx_recv(struct igbvf *vf, uint32_t *msg, unsigned int len,
		    char *why)
{
	unsigned int i;
	int ret;

	ret = mbx_wait(vf, IGB_V2P_PFSTS, "reply", why);
	if (!ret)
		ret = mbx_lock(vf, why);
	for (i = 0; i < len && !ret; i++)
		ret = rd(vf, IGBVF_VMBMEM + 4 * i, &msg[i], why);
	/* ACK the PF and give the buffer back */
	if (!ret)
		ret = wr(vf, IGBVF_V2PMAILBOX, IGB_V2P_ACK, why);
	return ret;
}

int igbvf_mbx_call(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		   uint32_t *reply, unsigned int rlen, char *why)
{
	uint32_t type = msg[0] & 0xffff;
	int ret, tries;

	ret = mbx_send(vf, msg, len, why);
	if (ret)
		return ret;
	for (tries = 0; tries < 8; tries++) {
		memset(reply, 0, rlen * sizeof(*reply));
		ret = mbx_recv(vf, reply, rlen, why);
		if (ret == -ETIMEDOUT) {
			say(why, "mailbox: the PF took message 0x%08x (ACK) and sent no reply in %d ms",
			    msg[0], IGBVF_MBX_MS);
			return ret;
		}
		if (ret)
			return ret;
		if ((reply[0] & 0xffff) == type)
			return rlen;
		/*
		 * Not our reply: the PF's own news (a link change), or a
		 * bare NACK of igb_rcv_ack_from_vf() for an ACK of ours
		 * while we were not clear to send.
		 */
		if ((reply[0] & IGB_MSG_PF_CONTROL) || !(reply[0] & 0xffff)) {
			vf->pf_msgs++;
			continue;
		}
		say(why, "mailbox: reply 0x%08x to message 0x%08x", reply[0],
		    msg[0]);
		return -EPROTO;
	}
	say(why, "mailbox: only PF control messages, no reply to 0x%08x",
	    msg[0]);
	return -EPROTO;
}

/* A call whose reply is ACK or NACK alone. */
static int mbx_ack(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		   const char *what, char *why)
{
	uint32_t reply[IGB_MBX_WORDS];
	int ret;

	ret = igbvf_mbx_call(vf, msg, len, reply, 1, why);
	if (ret < 0)
		return ret;
	if (reply[0] & IGB_MSG_ACK)
		return 0;
	say(why, "the PF refused %s (reply 0x%08x)", what, reply[0]);
	return (reply[0] & IGB_MSG_NACK) ? -EPERM : -EPROTO;
}

int igbvf_reset(struct igbvf *vf, char *why)
{
	uint32_t v, msg[1] = { IGB_MSG_RESET }, reply[3];
	uint64_t end;
	int ret;

	ret = wr(vf, IGBVF_CTRL, IGBVF_CTRL_RST, why);
	if (ret)
		return ret;
	/* as igbvf's e1000_reset_hw_vf(): not while RSTI/RSTD are set */
	end = now_ms() + IGBVF_MBX_MS;
	for (;;) {
		ret = mbx_read(vf, &v, why);
		if (ret)
			return ret;
		vf->mbx_seen &= ~IGB_V2P_RSTD;
		if (!(v & (IGB_V2P_RSTI | IGB_V2P_RSTD)))
			break;
		if (now_ms() > end) {
			say(why, "the PF stays in reset (V2PMAILBOX 0x%08x)", v);
			return -ETIMEDOUT;
		}
		usleep(200);
	}
	vf->mbx_seen = 0;
	ret = igbvf_mbx_call(vf, msg, 1, reply, 3, why);
	if (ret < 0)
		return ret;
	if (reply[0] & IGB_MSG_NACK) {
		memset(vf->mac, 0, sizeof(vf->mac));
		vf->mac_from_pf = false;
		return -ENODATA;
	}
	if (!(reply[0] & IGB_MSG_ACK)) {
		say(why, "reset: reply 0x%08x is neither ACK nor NACK",
		    reply[0]);
		return -EPROTO;
	}
	memcpy(vf->mac, &reply[1], 6);
	vf->mac_from_pf = true;
	return 0;
}

int igbvf_set_mac(struct igbvf *vf, const uint8_t mac[6], char *why)
{
	uint32_t msg[3] = { IGB_MSG_SET_MAC, 0, 0 };
	int ret;

	memcpy(&msg[1], mac, 6);
	ret = mbx_ack(vf, msg, 3, "the MAC", why);
	if (!ret)
		memcpy(vf->mac, mac, 6);
	return ret;
}

/*
 * As igbvf's e1000_update_mc_addr_list_vf(): up to 30 12-bit hashes of
 * the multicast addresses (filter type 0: bits 47:36), two a word.
 */
int igbvf_set_multicast(struct igbvf *vf, const uint8_t (*macs)[6],
			unsigned int n, char *why)
{
	uint32_t msg[IGB_MBX_WORDS] = { 0 };
	uint16_t *hash = (uint16_t *)&msg[1];
	unsigned int i;

	if (n > 30) {
		say(why, "%u multicast addresses: the mailbox takes 30", n);
		return -EINVAL;
	}
	msg[0] = IGB_MSG_SET_MULTICAST | n << IGB_MSG_INFO_SHIFT;
	for (i = 0; i < n; i++)
		hash[i] = ((macs[i][4] >> 4) | ((uint16_t)macs[i][5] << 4)) &
			  0xfff;
	return mbx_ack(vf, msg, 1 + (n + 1) / 2, "the multicast list", why);
}

int igbvf_set_vlan(struct igbvf *vf, uint16_t vid, bool add, char *why)
{
	uint32_t msg[2] = { IGB_MSG_SET_VLAN, vid };

	if (add)
		msg[0] |= 1 << IGB_MSG_INFO_SHIFT;
	return mbx_ack(vf, msg, 2, add ? "a VLAN" : "removing a VLAN", why);
}

int igbvf_set_max_frame(struct igbvf *vf, uint32_t bytes, char *why)
{
	uint32_t msg[2] = { IGB_MSG_SET_LPE, bytes };

	return mbx_ack(vf, msg, 2, "the maximum frame size", why);
}

int igbvf_add_mac_filter(struct igbvf *vf, const uint8_t mac[6], char *why)
{
	uint32_t msg[3] = { IGB_MSG_SET_MAC | IGB_MAC_FILTER_ADD, 0, 0 };

	memcpy(&msg[1], mac, 6);
	return mbx_ack(vf, msg, 3, "a MAC filter", why);
}

/*
 * Linux's igb frees a VF's MAC filters only on this request, not when
 * the VF resets, and checks its address even here: the VF's own MAC
 * goes with it (igbvf's all-zero one is refused).
 */
int igbvf_clear_mac_filters(struct igbvf *vf, char *why)
{
	uint32_t msg[3] = { IGB_MSG_SET_MAC | IGB_MAC_FILTER_CLR, 0, 0 };

	memcpy(&msg[1], vf->mac, 6);
	return mbx_ack(vf, msg, 3, "clearing the MAC filters", why);
}

int igbvf_mbx_answer(struct igbvf *vf, uint32_t *reply, unsigned int rlen,
		     char *why)
{
	int ret = mbx_wait(vf, IGB_V2P_PFACK, "ACK of our message", why);

	return ret ?: mbx_recv(vf, reply, rlen, why);
}

/* Queues ------------------------------------------------------------------- */

static uint64_t rx_buf_iova(struct igbvf *vf, unsigned int i)
{
	return vf->iova + OFF_RX_BUF(i);
}

static int queues_off(struct igbvf *vf, char *why)
{
	int ret = wr(vf, IGBVF_RXDCTL(0), 0, why);

	return ret ?: wr(vf, IGBVF_TXDCTL(0), 0, why);
}

/* Program queue pair 0 as igbvf's configure_rx/tx do, buffers posted. */
static int queues_on(struct igbvf *vf, char *why)
{
	uint64_t rx = vf->iova + OFF_RX_RING, tx = vf->iova + OFF_TX_RING;
	unsigned int i;
	int ret;

	memset(vf->mem, 0, 2 * RING_BYTES);
	vf->rx_next = vf->tx_next = vf->tx_clean = 0;
	ret = queues_off(vf, why);
	if (ret)
		return ret;

	ret = wr(vf, IGBVF_TDBAL(0), (uint32_t)tx, why) ?:
	      wr(vf, IGBVF_TDBAH(0), tx >> 32, why) ?:
	      wr(vf, IGBVF_TDLEN(0), RING_BYTES, why) ?:
	      wr(vf, IGBVF_TDH(0), 0, why) ?:
	      wr(vf, IGBVF_TDT(0), 0, why) ?:
	      wr(vf, IGBVF_TXDCTL(0), IGB_TXDCTL_ENABLE, why);
	if (ret)
		return ret;

	for (i = 0; i < IGBVF_RING; i++) {
		vf->rx[i].read.pkt_addr = rx_buf_iova(vf, i);
		vf->rx[i].read.hdr_addr = 0;
	}
	__sync_synchronize();
	ret = wr(vf, IGBVF_RDBAL(0), (uint32_t)rx, why) ?:
	      wr(vf, IGBVF_RDBAH(0), rx >> 32, why) ?:
	      wr(vf, IGBVF_RDLEN(0), RING_BYTES, why) ?:
	      wr(vf, IGBVF_SRRCTL(0), (IGBVF_BUF >> IGB_SRRCTL_BSIZEPKT_SHIFT) |
		 IGB_SRRCTL_DESCTYPE_ADV_ONEBUF | IGB_SRRCTL_DROP_EN, why) ?:
	      wr(vf, IGBVF_RDH(0), 0, why) ?:
	      wr(vf, IGBVF_RDT(0), 0, why) ?:
	      wr(vf, IGBVF_RXDCTL(0), IGB_RXDCTL_ENABLE, why);
	if (ret)
		return ret;
	/* all but one descriptor are the device's (head == tail: empty) */
	return wr(vf, IGBVF_RDT(0), IGBVF_RING - 1, why);
}

int igbvf_tx(struct igbvf *vf, const void *frame, size_t len, char *why)
{
	unsigned int i = vf->tx_next, next = (i + 1) % IGBVF_RING;
	union igb_tx_desc *d = &vf->tx[i];

	if (len > IGBVF_BUF || len < 14) {
		say(why, "a frame of %zu bytes", len);
		return -EINVAL;
	}
	if (next == vf->tx_clean) {
		/* reclaim what is done, then try once more */
		igbvf_tx_wait(vf, 0, NULL);
		if (next == vf->tx_clean) {
			say(why, "the TX ring is full");
			return -ENOSPC;
		}
	}
	memcpy(vf->mem + OFF_TX_BUF(i), frame, len);
	d->read.buffer_addr = vf->iova + OFF_TX_BUF(i);
	d->read.cmd_type_len = IGB_TXD_DTYP_DATA | IGB_TXD_CMD_DEXT |
			       IGB_TXD_CMD_IFCS | IGB_TXD_CMD_EOP |
			       IGB_TXD_CMD_RS | (uint32_t)len;
	d->read.olinfo_status = (uint32_t)len << IGB_TXD_PAYLEN_SHIFT;
	__sync_synchronize();
	vf->tx_next = next;
	return wr(vf, IGBVF_TDT(0), next, why);
}

int igbvf_tx_wait(struct igbvf *vf, int ms, char *why)
{
	uint64_t end = now_ms() + ms;
	uint32_t st;

	while (vf->tx_clean != vf->tx_next) {
		__sync_synchronize();
		st = ((volatile union igb_tx_desc *)&vf->tx[vf->tx_clean])->wb.status;
		if (st & IGB_TXD_STAT_DD) {
			vf->tx_clean = (vf->tx_clean + 1) % IGBVF_RING;
			continue;
		}
		if (now_ms() >= end) {
			uint32_t tdh = ~0U;

			igbvf_read(vf, IGBVF_TDH(0), &tdh);
			say(why, "TX descriptor %u not done after %d ms (TDH %u, TDT %u)",
			    vf->tx_clean, ms, tdh, vf->tx_next);
			return -ETIMEDOUT;
		}
		usleep(100);
	}
	return 0;
}

int igbvf_rx(struct igbvf *vf, void *buf, size_t cap, int ms, char *why)
{
	volatile union igb_rx_desc *d = &vf->rx[vf->rx_next];
	uint64_t end = now_ms() + ms;
	unsigned int i = vf->rx_next;
	uint32_t st;
	size_t len;
	int ret;

	for (;;) {
		__sync_synchronize();
		st = d->wb.status_error;
		if (st & IGB_RXD_STAT_DD)
			break;
		if (now_ms() >= end) {
			say(why, "no frame in %d ms", ms);
			return -EAGAIN;
		}
		usleep(100);
	}
	__sync_synchronize();
	len = d->wb.length;
	if (!(st & IGB_RXD_STAT_EOP)) {
		say(why, "RX descriptor %u: a frame over several buffers (status 0x%08x)",
		    i, st);
		ret = -EMSGSIZE;
	} else if (len > cap) {
		say(why, "a frame of %zu bytes, room for %zu", len, cap);
		ret = -EMSGSIZE;
	} else {
		memcpy(buf, vf->mem + OFF_RX_BUF(i), len);
		ret = (int)len;
	}
	/* give the buffer back: it becomes the tail */
	d->read.pkt_addr = rx_buf_iova(vf, i);
	d->read.hdr_addr = 0;
	__sync_synchronize();
	vf->rx_next = (i + 1) % IGBVF_RING;
	if (wr(vf, IGBVF_RDT(0), i, why))
		return -EIO;
	return ret;
}

/* Interrupts ---------------------------------------------------------------- */

int igbvf_irqs_on(struct igbvf *vf, const int *efds, char *why)
{
	uint32_t all = (1U << IGBVF_MSIX_VECTORS) - 1;
	int ret;

	ret = vfio_dev_irq_set_eventfds(vf->dev, VFIO_PCI_MSIX_IRQ_INDEX, efds,
					IGBVF_MSIX_VECTORS);
	if (ret) {
		say(why, "MSI-X: %s", strerror(-ret));
		return ret;
	}
	vf->irqs = true;
	/* as igbvf_configure_msix(): RX 0, TX 1, mailbox 2; auto-clear */
	return wr(vf, IGBVF_IVAR0, (IGBVF_IVAR_VALID | IGBVF_VEC_RX) |
		  (IGBVF_IVAR_VALID | IGBVF_VEC_TX) << 8, why) ?:
	       wr(vf, IGBVF_IVAR_MISC, IGBVF_IVAR_VALID | IGBVF_VEC_MBX, why) ?:
	       wr(vf, IGBVF_EIAC, all, why) ?:
	       wr(vf, IGBVF_EIMS, all, why);
}

void igbvf_irqs_off(struct igbvf *vf)
{
	if (!vf->irqs)
		return;
	wr(vf, IGBVF_EIMC, (1U << IGBVF_MSIX_VECTORS) - 1, NULL);
	vfio_dev_irq_disable(vf->dev, VFIO_PCI_MSIX_IRQ_INDEX);
	vf->irqs = false;
}

/* Setup -------------------------------------------------------------------- */

int igbvf_init(struct igbvf *vf, struct vfio_dev *dev, uint64_t iova,
	       char *why)
{
	unsigned int bus, devfn, d, f;
	uint8_t mac[6];
	void *mem;
	int ret;

	memset(vf, 0, sizeof(*vf));
	vf->dev = dev;
	vf->iova = iova;
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		say(why, "mmap of %d bytes: %s", MEM_SIZE, strerror(errno));
		return -ENOMEM;
	}
	vf->mem = mem;
	vf->mem_size = MEM_SIZE;
	vf->rx = (union igb_rx_desc *)(vf->mem + OFF_RX_RING);
	vf->tx = (union igb_tx_desc *)(vf->mem + OFF_TX_RING);
	ret = vfio_dev_dma_map(dev, iova, mem, MEM_SIZE);
	if (ret) {
		say(why, "mapping %d bytes at IOVA 0x%llx: %s", MEM_SIZE,
		    (unsigned long long)iova, strerror(-ret));
		munmap(mem, MEM_SIZE);
		vf->mem = NULL;
		return ret;
	}
	ret = vfio_dev_set_bus_master(dev, true);
	if (ret) {
		say(why, "bus mastering: %s", strerror(-ret));
		goto fail;
	}

	/*
	 * Linux's igb handles a VF's reset (CTRL.RST here, or an FLR) in
	 * its mailbox interrupt, after the fact; when that runs after it
	 * answered our RESET message, the VF is no longer clear to send and
	 * the PF takes its next message without answering.  A VF reset just
	 * before ours (igbvf_remove()) leaves that window open: one more
	 * handshake, and vf->resets_again counts it.
	 */
again:
	ret = igbvf_reset(vf, why);
	if (ret == -ENODATA) {
		/* no MAC from the PF: a locally administered one of ours */
		if (sscanf(dev->bdf, "%*x:%x:%x.%x", &bus, &d, &f) != 3) {
			say(why, "cannot parse %s", dev->bdf);
			ret = -EINVAL;
			goto fail;
		}
		devfn = d << 3 | f;
		mac[0] = 0x02;
		mac[1] = 'q';
		mac[2] = 'v';
		mac[3] = 'p';
		mac[4] = bus;
		mac[5] = devfn;
		ret = igbvf_set_mac(vf, mac, why);
	}
	/* as igbvf_set_rlpml(): a full frame with a VLAN tag and the FCS */
	if (!ret)
		ret = igbvf_set_max_frame(vf, IGBVF_MAX_FRAME, why);
	if (ret == -ETIMEDOUT && !vf->resets_again++)
		goto again;
	if (ret)
		goto fail;
	ret = queues_on(vf, why);
	if (ret)
		goto fail;
	return 0;
fail:
	igbvf_remove(vf);
	return ret;
}

void igbvf_remove(struct igbvf *vf)
{
	if (!vf->mem)
		return;
	igbvf_irqs_off(vf);
	queues_off(vf, NULL);
	wr(vf, IGBVF_CTRL, IGBVF_CTRL_RST, NULL);
	vfio_dev_set_bus_master(vf->dev, false);
	vfio_dev_dma_unmap(vf->dev, vf->iova, vf->mem_size);
	munmap(vf->mem, vf->mem_size);
	vf->mem = NULL;
}
