/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small userspace driver for the virtual function of QEMU's igb (82576
 * VF, 8086:10ca), through VFIO, in the manner of the drivers of
 * upstream's libvfio (tools/testing/selftests/vfio/lib/drivers): enough
 * of the device for tests to move frames through it.
 *
 * It resets the VF, does the mailbox handshake with the PF's driver
 * (Linux's igb, in the same machine), takes the MAC the PF gives it (or
 * asks for one), and runs one RX and one TX queue (queue pair 0) on rings
 * in IOVA memory that it maps itself.  Everything is polled: no
 * interrupts.  The register map is tools/include/qvp/igb.h.
 *
 * Functions return 0 (or a documented non-negative value) or -errno,
 * and say what went wrong in @why (IGBVF_WHY_LEN bytes).  No kselftest
 * harness here.
 */
#ifndef QVP_DRIVERS_IGBVF_H
#define QVP_DRIVERS_IGBVF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qvp/igb.h>

#include "vfio_dev.h"

#define IGBVF_WHY_LEN		256
#define IGBVF_RING		64	/* descriptors per ring */
#define IGBVF_BUF		2048	/* bytes per frame buffer */
#define IGBVF_MBX_MS		2000	/* how long the PF may take to answer */
#define IGBVF_MAX_FRAME		1522	/* 1500 + header, VLAN tag and FCS */

struct igbvf {
	struct vfio_dev *dev;
	uint8_t mac[6];
	bool mac_from_pf;	/* the PF's reset reply carried it */
	uint32_t mbx_seen;	/* read-to-clear mailbox bits not yet used */
	unsigned int pf_msgs;	/* the PF's own messages read and dropped */
	unsigned int resets_again; /* igbvf_init()'s handshakes done twice */
	bool irqs;		/* MSI-X on (igbvf_irqs_on()) */

	/* DMA memory: the rings, then the RX buffers, then the TX buffers */
	uint8_t *mem;
	size_t mem_size;
	uint64_t iova;
	union igb_rx_desc *rx;
	union igb_tx_desc *tx;
	unsigned int rx_next;	/* next descriptor the device will fill */
	unsigned int tx_next;	/* next descriptor to post */
	unsigned int tx_clean;	/* oldest posted, not yet seen done */
};

/*
 * Map IOVA memory at @iova for @dev (an igb VF, open), reset the VF, do
 * the mailbox reset handshake and program queue pair 0.  If the PF has
 * no MAC for the VF (it NACKs the reset), ask for a locally administered
 * one made of the VF's address.  Bus mastering is enabled.
 */
int igbvf_init(struct igbvf *vf, struct vfio_dev *dev, uint64_t iova,
	       char *why);
/* Disable the queues, reset the VF, unmap and free the memory. */
void igbvf_remove(struct igbvf *vf);

/*
 * VF reset (CTRL.RST) and the E1000_VF_RESET message: 0 with the MAC in
 * vf->mac when the PF gave one, -ENODATA when it NACKed (it has none).
 */
int igbvf_reset(struct igbvf *vf, char *why);

/*
 * Send a mailbox message of @len words and wait for the PF's reply of
 * up to @rlen words (its length is returned).  A message the PF starts
 * itself (E1000_PF_CONTROL_MSG: link changes) is read and dropped.
 */
int igbvf_mbx_call(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		   uint32_t *reply, unsigned int rlen, char *why);

/* PF-held configuration, by mailbox: -EPERM when the PF NACKs. */
int igbvf_set_mac(struct igbvf *vf, const uint8_t mac[6], char *why);
int igbvf_set_multicast(struct igbvf *vf, const uint8_t (*macs)[6],
			unsigned int n, char *why);
int igbvf_set_vlan(struct igbvf *vf, uint16_t vid, bool add, char *why);
/* One more unicast MAC the VF's pool accepts (SET_MAC, FILTER_ADD). */
int igbvf_add_mac_filter(struct igbvf *vf, const uint8_t mac[6], char *why);
/* Drop all of them (SET_MAC, FILTER_CLR). */
int igbvf_clear_mac_filters(struct igbvf *vf, char *why);

/*
 * The two halves of igbvf_mbx_call(), for tests that stop the VF between
 * them: send a message without waiting for anything, and later wait for
 * the PF's ACK and answer (up to @rlen words read and acknowledged).
 */
int igbvf_mbx_post(struct igbvf *vf, const uint32_t *msg, unsigned int len,
		   char *why);
int igbvf_mbx_answer(struct igbvf *vf, uint32_t *reply, unsigned int rlen,
		     char *why);

/* Frames the VF's pool accepts, in bytes (VMOLR.RLPML): at init 1522. */
int igbvf_set_max_frame(struct igbvf *vf, uint32_t bytes, char *why);

/*
 * Post one frame of @len bytes (at most IGBVF_BUF) on the TX ring; the
 * model sends it during the tail write.  -ENOSPC when the ring is full.
 */
int igbvf_tx(struct igbvf *vf, const void *frame, size_t len, char *why);
/* Wait up to @ms for every posted frame's descriptor to be done. */
int igbvf_tx_wait(struct igbvf *vf, int ms, char *why);

/*
 * Take the next received frame into @buf (@cap bytes), waiting up to @ms
 * (0: do not wait), and give its buffer back to the device.  Returns its
 * length, or -EAGAIN when none came.
 */
int igbvf_rx(struct igbvf *vf, void *buf, size_t cap, int ms, char *why);

/*
 * MSI-X, as igbvf programs it: RX queue 0 on vector IGBVF_VEC_RX, TX
 * queue 0 on IGBVF_VEC_TX, the mailbox on IGBVF_VEC_MBX, each signalled
 * to @efds[vector] (IGBVF_MSIX_VECTORS eventfds), auto-cleared and
 * unmasked.  Polling goes on as before; the interrupts only tell.
 */
#define IGBVF_VEC_RX		0
#define IGBVF_VEC_TX		1
#define IGBVF_VEC_MBX		2
int igbvf_irqs_on(struct igbvf *vf, const int *efds, char *why);
void igbvf_irqs_off(struct igbvf *vf);

/* A 32-bit register of BAR0, for tests; 0 or -errno. */
int igbvf_read(struct igbvf *vf, uint32_t reg, uint32_t *val);

#endif /* QVP_DRIVERS_IGBVF_H */
