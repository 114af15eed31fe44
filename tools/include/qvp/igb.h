/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU's "igb" NIC, an Intel 82576 with SR-IOV (hw/net/igb*.c), as
 * userspace sees its virtual functions through VFIO: the IDs, the VF's
 * BAR0 register map, the PF<->VF mailbox protocol of Linux's igb and
 * igbvf drivers, and the advanced RX and TX descriptors.  The one
 * definition for every C program of the project.
 *
 * Sources: QEMU's hw/net/igb_regs.h and igbvf.c (vf_to_pf_addr(), which
 * maps each VF register onto the PF's copy for its pool), Linux's
 * drivers/net/ethernet/intel/igbvf/{regs,mbx,vf}.h.
 */
#ifndef QVP_IGB_H
#define QVP_IGB_H

#include <stdint.h>

#define IGB_VENDOR		0x8086
#define IGB_PF_DEVICE		0x10c9	/* 82576, QEMU -device igb */
#define IGB_VF_DEVICE		0x10ca	/* 82576 virtual function */

/*
 * The VF: BAR0 is 16 KiB of registers, BAR3 the MSI-X table and PBA
 * (three vectors).  A VF has no INTx and no MSI.  Registers not listed
 * in QEMU's vf_to_pf_addr() read 0 and ignore writes.
 */
#define IGBVF_BAR_REGS		0
#define IGBVF_BAR_MSIX		3
#define IGBVF_MSIX_VECTORS	3

#define IGBVF_CTRL		0x0000
#define  IGBVF_CTRL_RST		0x04000000	/* reset the VF's queues */
#define IGBVF_STATUS		0x0008
#define IGBVF_PBACL		0x0f04	/* the PF's PBACLR in QEMU: never written */
#define  IGBVF_STATUS_LU	0x00000002	/* link up */
#define IGBVF_EICS		0x1520	/* extended interrupt cause set */
#define IGBVF_EIMS		0x1524	/* mask set/read */
#define IGBVF_EIMC		0x1528	/* mask clear */
#define IGBVF_EIAC		0x152c	/* auto clear */
#define IGBVF_EIAM		0x1530	/* auto mask */
#define IGBVF_EICR		0x1580	/* cause read (clears) */
#define IGBVF_EITR(n)		(0x1680 + 4 * (n))	/* n < 3 */
#define IGBVF_IVAR0		0x1700	/* queue 0/1 RX and TX -> vector */
#define IGBVF_IVAR_MISC		0x1740	/* mailbox -> vector */
#define  IGBVF_IVAR_VALID	0x80
#define IGBVF_PSRTYPE		0x0f0c	/* QEMU 10.0 keeps no value: reads 0 */

/* The VF's mailbox: a control register and 16 words of message memory */
#define IGBVF_V2PMAILBOX	0x0c40
#define  IGB_V2P_REQ		0x00000001	/* VF: message for the PF */
#define  IGB_V2P_ACK		0x00000002	/* VF: PF's message read */
#define  IGB_V2P_VFU		0x00000004	/* VF owns the buffer */
#define  IGB_V2P_PFU		0x00000008	/* PF owns the buffer */
#define  IGB_V2P_PFSTS		0x00000010	/* PF wrote a message (r2c) */
#define  IGB_V2P_PFACK		0x00000020	/* PF read ours (r2c) */
#define  IGB_V2P_RSTI		0x00000040	/* PF in reset */
#define  IGB_V2P_RSTD		0x00000080	/* PF reset done (r2c) */
#define IGBVF_VMBMEM		0x0800
#define IGB_MBX_WORDS		16

/* Mailbox messages (word 0), Linux's igb <-> igbvf */
#define IGB_MSG_RESET		0x01	/* reply: ACK + MAC in words 1-2 */
#define IGB_MSG_SET_MAC		0x02	/* words 1-2: the MAC */
#define  IGB_MAC_FILTER_CLR	(1U << 16)	/* info: drop the VF's filters */
#define  IGB_MAC_FILTER_ADD	(2U << 16)	/* info: one more MAC */
#define IGB_MSG_SET_MULTICAST	0x03	/* info: count; words 1..: hashes */
#define IGB_MSG_SET_VLAN	0x04	/* info: add; word 1: VLAN ID */
#define IGB_MSG_SET_LPE		0x05	/* word 1: max frame size */
#define IGB_MSG_SET_PROMISC	0x06	/* word 1: promiscuous modes */
#define IGB_MSG_INFO_SHIFT	16
#define IGB_MSG_INFO_MASK	(0xffU << IGB_MSG_INFO_SHIFT)
#define IGB_MSG_ACK		0x80000000U
#define IGB_MSG_NACK		0x40000000U
#define IGB_MSG_CTS		0x20000000U	/* PF: clear to send */
#define IGB_MSG_PF_CONTROL	0x00000100U	/* PF-initiated message */

/*
 * Queue registers; a VF has two queue pairs, n = 0 or 1 (PF queues
 * vfn and vfn + 8).
 */
#define IGBVF_RDBAL(n)		(0x2800 + 0x100 * (n))
#define IGBVF_RDBAH(n)		(0x2804 + 0x100 * (n))
#define IGBVF_RDLEN(n)		(0x2808 + 0x100 * (n))
#define IGBVF_SRRCTL(n)		(0x280c + 0x100 * (n))
#define  IGB_SRRCTL_BSIZEPKT_SHIFT	10	/* in KiB, bits 6:0 */
#define  IGB_SRRCTL_DESCTYPE_ADV_ONEBUF	0x02000000
#define  IGB_SRRCTL_DROP_EN		0x80000000
#define IGBVF_RDH(n)		(0x2810 + 0x100 * (n))
#define IGBVF_RXCTL(n)		(0x2814 + 0x100 * (n))	/* QEMU 10.0: reads 0 */
#define IGBVF_RDT(n)		(0x2818 + 0x100 * (n))
#define IGBVF_RXDCTL(n)		(0x2828 + 0x100 * (n))
#define  IGB_RXDCTL_ENABLE	0x02000000
#define IGBVF_TDBAL(n)		(0x3800 + 0x100 * (n))
#define IGBVF_TDBAH(n)		(0x3804 + 0x100 * (n))
#define IGBVF_TDLEN(n)		(0x3808 + 0x100 * (n))
#define IGBVF_TDH(n)		(0x3810 + 0x100 * (n))
#define IGBVF_TXCTL(n)		(0x3814 + 0x100 * (n))
#define IGBVF_TDT(n)		(0x3818 + 0x100 * (n))
#define IGBVF_TXDCTL(n)		(0x3828 + 0x100 * (n))
#define  IGB_TXDCTL_ENABLE	0x02000000
#define IGBVF_TDWBAL(n)		(0x3838 + 0x100 * (n))
#define IGBVF_TDWBAH(n)		(0x383c + 0x100 * (n))

/* Per-VF statistics, read-only */
#define IGBVF_GPRC		0x0f10	/* good packets received */
#define IGBVF_GPTC		0x0f14	/* good packets transmitted */
#define IGBVF_GORC		0x0f18
#define IGBVF_GOTC		0x0f34
#define IGBVF_MPRC		0x0f3c
#define IGBVF_GPRLBC		0x0f40	/* ... received by loopback */
#define IGBVF_GPTLBC		0x0f44
#define IGBVF_GORLBC		0x0f48
#define IGBVF_GOTLBC		0x0f50

/* Ring sizes: RDLEN/TDLEN are multiples of 128 bytes, 8 descriptors */
#define IGB_DESC_LEN		16
#define IGB_RING_ALIGN		128

/* Advanced receive descriptor (QEMU writes no other kind) */
union igb_rx_desc {
	struct {
		uint64_t pkt_addr;
		uint64_t hdr_addr;
	} read;
	struct {
		uint32_t info;		/* packet type, RSS type */
		uint32_t rss;
		uint32_t status_error;
		uint16_t length;
		uint16_t vlan;
	} wb;
};
#define IGB_RXD_STAT_DD		0x00000001
#define IGB_RXD_STAT_EOP	0x00000002

/* Advanced transmit data descriptor (QEMU ignores legacy ones) */
union igb_tx_desc {
	struct {
		uint64_t buffer_addr;
		uint32_t cmd_type_len;	/* length in bits 15:0 */
		uint32_t olinfo_status;	/* PAYLEN << 14 */
	} read;
	struct {
		uint64_t rsvd;
		uint32_t nxtseq_seed;
		uint32_t status;
	} wb;
};
#define IGB_TXD_DTYP_DATA	0x00300000
#define IGB_TXD_CMD_EOP		0x01000000
#define IGB_TXD_CMD_IFCS	0x02000000
#define IGB_TXD_CMD_RS		0x08000000
#define IGB_TXD_CMD_DEXT	0x20000000
#define IGB_TXD_PAYLEN_SHIFT	14
#define IGB_TXD_STAT_DD		0x00000001

#endif /* QVP_IGB_H */
