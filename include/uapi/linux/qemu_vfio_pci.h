/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qemu-vfio-pci migration stream format.
 *
 * The bytes that the qemu-vfio-pci variant driver produces on a VFIO
 * migration data fd (STOP_COPY / PRE_COPY) and accepts on a RESUMING data
 * fd.  Userspace never needs to understand them to migrate a device; this
 * header exists so that tools (vfio-mig dump), tests and other
 * implementations can decode, check and generate streams.
 *
 * All multi-byte fields are little endian.  A stream is:
 *
 *	struct qvp_stream_header
 *	struct qvp_record_header + payload    (zero or more)
 *	struct qvp_record_header of type QVP_REC_END, length 0
 *
 * Nothing may follow the END record.  Headers and small records carry the
 * CRC-32 used by zlib and Ethernet (reflected polynomial 0xedb88320,
 * initial value and final XOR 0xffffffff) computed as documented beside
 * each field.  Bulk records (QVP_REC_F_BULK, below) carry device memory:
 * their data is followed by a 64-bit check that a writer computes while
 * it copies the data and a reader while it stores it (QVP_BULK_*).
 *
 * See Documentation/driver-api/vfio/qemu-vfio-pci-stream.rst for the full
 * definition, the validation rules and the errors reported for bad streams.
 */
#ifndef _UAPI_LINUX_QEMU_VFIO_PCI_H
#define _UAPI_LINUX_QEMU_VFIO_PCI_H

#include <linux/types.h>

/* "QVPS" as it appears in the stream: 'Q' 'V' 'P' 'S'. */
#define QVP_STREAM_MAGIC	0x53505651U
#define QVP_STREAM_VERSION	2

/* Backends, i.e. device models; carried in qvp_stream_header.backend. */
#define QVP_BACKEND_EDU		1	/* QEMU "edu", 1234:11e8 */
#define QVP_BACKEND_IVSHMEM	2	/* QEMU "ivshmem-plain", 1af4:1110 */
#define QVP_BACKEND_IGBVF	3	/* QEMU "igb" virtual function, 8086:10ca */

/*
 * struct qvp_stream_header - first 32 bytes of every stream
 * @magic:	QVP_STREAM_MAGIC
 * @version:	QVP_STREAM_VERSION; a reader refuses any other version
 * @header_len:	sizeof(struct qvp_stream_header) for this version
 * @vendor:	PCI vendor ID of the source device
 * @device:	PCI device ID of the source device
 * @subsystem_vendor: PCI subsystem vendor ID of the source device
 * @subsystem_device: PCI subsystem device ID of the source device
 * @revision:	PCI revision ID of the source device
 * @backend:	QVP_BACKEND_* that produced the stream
 * @flags:	must be 0 in version 2; a reader refuses unknown flags
 * @seed_lo:	low 32 bits of the stream's seed, which keys the checks of
 *		its bulk records.  A writer that reuses block digests to
 *		find changed memory picks it at random per stream (see
 *		QVP_BULK_*); otherwise it may be 0, which makes the stream
 *		of a given state always the same
 * @seed_hi:	high 32 bits of the seed
 * @crc:	CRC-32 of the first 28 bytes of this header
 *
 * The destination accepts a stream only if vendor, device, subsystem IDs,
 * revision and backend all equal its own.
 */
struct qvp_stream_header {
	__le32 magic;
	__le16 version;
	__le16 header_len;
	__le16 vendor;
	__le16 device;
	__le16 subsystem_vendor;
	__le16 subsystem_device;
	__u8   revision;
	__u8   backend;
	__le16 flags;
	__le32 seed_lo;
	__le32 seed_hi;
	__le32 crc;
};

/*
 * struct qvp_record_header - precedes every record's payload
 * @type:	QVP_REC_*
 * @flags:	QVP_REC_F_*
 * @length:	payload bytes that follow this header
 * @crc:	CRC-32 of the first 8 bytes of this header followed by the
 *		@length payload bytes; for a bulk record, followed by its
 *		8-byte struct qvp_bulk_head only
 *
 * A reader refuses a record whose @length exceeds what the record type
 * (or the backend) allows as soon as it has read the header, before any
 * payload is buffered.
 */
struct qvp_record_header {
	__le16 type;
	__le16 flags;
	__le32 length;
	__le32 crc;
};

/* An unknown record with this flag is skipped; without it, refused. */
#define QVP_REC_F_OPTIONAL	0x0001
/*
 * A bulk record: the payload is a struct qvp_bulk_head, then the data
 * (at least 8 bytes, a multiple of 8), then a __le64 check of the data:
 *
 *	@length = sizeof(struct qvp_bulk_head) + data bytes + 8
 *
 * The header's CRC covers the head, so that a reader can trust the
 * offset before it stores any data; the check covers the data and binds
 * it to its offset and length, so a writer streams device memory straight
 * to the reader with no copy to checksum first.  Whether a record type is
 * bulk is part of its definition: a reader refuses a known type whose
 * QVP_REC_F_BULK differs from it, and any record with both this flag and
 * QVP_REC_F_OPTIONAL.
 */
#define QVP_REC_F_BULK		0x0002
#define QVP_REC_F_KNOWN		(QVP_REC_F_OPTIONAL | QVP_REC_F_BULK)

/*
 * struct qvp_bulk_head - first bytes of a bulk record's payload
 * @offset:	where the data belongs in the device's memory, as the
 *		record type defines it
 */
struct qvp_bulk_head {
	__le64 offset;
};

/*
 * The check of a bulk record's data.  All words are little endian; rol()
 * rotates a 64-bit value left; arithmetic is modulo 2^64.
 *
 *	step(a, w) = rol(a + w * QVP_BULK_K2, 31) * QVP_BULK_K1
 *	mix(h):	h ^= h >> 33; h *= QVP_BULK_K2; h ^= h >> 29;
 *		h *= QVP_BULK_K1; h ^= h >> 32
 *
 * The data is cut into blocks of QVP_BULK_BLOCK bytes from its start (the
 * last one shorter, a multiple of 8, if the length is not a multiple of
 * QVP_BULK_BLOCK; there is no empty block).  A block of n bytes, words w[0] ..
 * w[n/8 - 1], hashes with the stream's seed s to
 *
 *	v[0] = s + K1 + K2, v[1] = s + K2, v[2] = s, v[3] = s - K1
 *	for each i: v[i % 4] = step(v[i % 4], w[i])
 *	digest = mix(rol(v[0], 1) + rol(v[1], 7) + rol(v[2], 12) +
 *		     rol(v[3], 18) + n)
 *
 * and the record's check, for data of length len at head offset off, is
 *
 *	c = step(s ^ off, len)
 *	for each block in order: c = step(c, digest)
 *	check = mix(c)
 *
 * It is not a cryptographic hash.  A writer may reuse a block's digest
 * to find changed memory (qemu-vfio-pci does for ivshmem during
 * PRE_COPY); it then draws the seed at random per stream and keeps it
 * from whatever writes the device memory, which therefore cannot aim for
 * a collision.  Other writers may use seed 0.
 */
#define QVP_BULK_BLOCK		4096
#define QVP_BULK_K1		0x9e3779b97f4a7c15ULL
#define QVP_BULK_K2		0xd6e8feb86659fd93ULL

/* Record types.  0x00xx: generic; 0x01xx: edu; 0x02xx: ivshmem; 0x03xx: igbvf. */
#define QVP_REC_END		0x0000	/* last record, length 0 */
#define QVP_REC_EDU_REGS	0x0101	/* struct qvp_edu_regs */
#define QVP_REC_IVSHMEM_CONFIG	0x0201	/* struct qvp_ivshmem_config */
#define QVP_REC_IVSHMEM_MEM	0x0202	/* bulk: a run of pages */
#define QVP_REC_IVSHMEM_REGS	0x0203	/* struct qvp_ivshmem_regs */
#define QVP_REC_IGBVF_REGS	0x0301	/* struct qvp_igbvf_regs */
#define QVP_REC_IGBVF_PF	0x0302	/* struct qvp_igbvf_pf */

/*
 * struct qvp_edu_regs - the migratable registers of QEMU's edu device
 * @liveness:	value read back from the liveness register (BAR0 + 0x04)
 * @factorial:	value read back from the factorial register (BAR0 + 0x08)
 * @status:	status register (BAR0 + 0x20); only bit 0x80 (raise an
 *		interrupt when a factorial completes) is state, bit 0x01
 *		(computing) is always 0 in a saved stream
 * @irq_status:	interrupt status register (BAR0 + 0x24)
 * @dma_src:	DMA source address (BAR0 + 0x80)
 * @dma_dst:	DMA destination address (BAR0 + 0x88)
 * @dma_count:	DMA transfer count (BAR0 + 0x90)
 * @dma_cmd:	DMA command register (BAR0 + 0x98) as read at save time;
 *		bit 0x01 (running) is always 0 in a saved stream.  Recorded
 *		for diagnosis: edu cannot load it without starting a DMA, so
 *		the destination keeps its own value (see the driver docs).
 */
struct qvp_edu_regs {
	__le32 liveness;
	__le32 factorial;
	__le32 status;
	__le32 irq_status;
	__le64 dma_src;
	__le64 dma_dst;
	__le64 dma_count;
	__le64 dma_cmd;
};

/*
 * ivshmem streams (backend QVP_BACKEND_IVSHMEM, QEMU "ivshmem-plain").
 *
 * The state is the shared memory behind BAR2 and two BAR0 registers.  A
 * stream is:
 *
 *	QVP_REC_IVSHMEM_CONFIG		exactly once, first
 *	QVP_REC_IVSHMEM_MEM		one or more; every page of the memory
 *					at least once, possibly more often (a
 *					PRE_COPY stream sends again what changed)
 *	QVP_REC_IVSHMEM_REGS		exactly once, after the last MEM
 *	QVP_REC_END
 *
 * The memory is cut into pages of QVP_IVSHMEM_PAGE bytes (the last one
 * shorter if the memory size is not a multiple of a page; as BAR sizes
 * are powers of two, only a memory smaller than one page has that).  A
 * MEM record is a bulk record (QVP_REC_F_BULK) whose head offset is the
 * byte offset of a run of 1 to QVP_IVSHMEM_CHUNK / QVP_IVSHMEM_PAGE (16)
 * consecutive whole pages, and whose data are those pages:
 *
 *  - the offset is a multiple of QVP_IVSHMEM_PAGE and less than the
 *    memory size;
 *  - the data length is N * QVP_IVSHMEM_PAGE with 1 <= N <= 16, so at
 *    most QVP_IVSHMEM_CHUNK bytes, and offset + length is at most the
 *    memory size; a run that ends at the end of the memory may instead
 *    end with the shorter last page (length = memory size - offset);
 *  - the record length is 8 + the data length + 8.
 *
 * A record that breaks any of these rules is refused (EINVAL).  A writer
 * is free to cut the memory into runs as it likes: the qemu-vfio-pci
 * driver sends QVP_IVSHMEM_CHUNK runs in a full pass and runs of
 * consecutive changed pages in a PRE_COPY dirty pass.  When a page
 * appears more than once, the last one wins.  RESUMING -> STOP refuses a
 * stream that did not carry every page.  The destination writes a MEM
 * record's data to its memory as it arrives, once the head's CRC has been
 * verified, and verifies the check after the last byte: a stream refused
 * then or later leaves the memory partly overwritten; the device is then
 * in the ERROR migration state until VFIO_DEVICE_RESET.
 */
#define QVP_IVSHMEM_PAGE	4096
#define QVP_IVSHMEM_CHUNK	65536	/* largest data of one MEM record */

/*
 * struct qvp_ivshmem_config - first record of an ivshmem stream
 * @mem_size:	size in bytes of the source's shared memory (BAR2); the
 *		destination refuses a stream whose size differs from its own
 * @reserved:	must be 0
 */
struct qvp_ivshmem_config {
	__le64 mem_size;
	__le64 reserved;
};

/*
 * struct qvp_ivshmem_regs - the BAR0 registers of ivshmem-plain that are
 * state.  IVPosition (0x08) is read-only and the doorbell (0x0c) is
 * write-only and unused without peers; neither is migrated.
 * @intr_mask:	IntrMask (BAR0 + 0x00)
 * @intr_status: IntrStatus (BAR0 + 0x04); reading it on the device clears
 *		it, the driver writes the value back after saving it
 */
struct qvp_ivshmem_regs {
	__le32 intr_mask;
	__le32 intr_status;
};

/*
 * igbvf streams (backend QVP_BACKEND_IGBVF, a virtual function of QEMU's
 * "igb", an 82576).  A stream is:
 *
 *	QVP_REC_IGBVF_REGS		exactly once
 *	QVP_REC_IGBVF_PF		exactly once
 *	QVP_REC_END
 *
 * The VF's own registers travel as values; what the PF holds for the VF
 * (its MAC and MAC filters, VLANs, multicast list, frame size,
 * promiscuous mode) travels as the mailbox requests that the VF made and
 * the PF accepted, which the destination makes again through its own
 * mailbox.
 */
#define QVP_IGBVF_QUEUES	2	/* queue pairs of a VF */
#define QVP_IGBVF_VECTORS	3	/* MSI-X vectors of a VF */
#define QVP_IGBVF_MBX_WORDS	16	/* the mailbox memory, VMBMEM */
#define QVP_IGBVF_MC_MAX	30	/* multicast hashes one request carries */
#define QVP_IGBVF_VLAN_MAX	32	/* VLAN filters of the whole PF */
#define QVP_IGBVF_UC_MAX	16	/* extra unicast MAC filters carried */

/*
 * struct qvp_igbvf_queue - one queue pair's registers (VF BAR0 offsets
 * for pair 0; pair 1 is 0x100 further)
 * @rdbal:	RDBAL (0x2800), bits 4:0 zero
 * @rdbah:	RDBAH (0x2804)
 * @rdlen:	RDLEN (0x2808): bytes, a multiple of 16, at most 0xffff0
 * @srrctl:	SRRCTL (0x280c)
 * @rdh:	RDH (0x2810): below @rdlen / 16, or 0 when @rdlen is 0
 * @rdt:	RDT (0x2818): likewise
 * @rxdctl:	RXDCTL (0x2828) as the guest set it, enable bit included
 * @rxctl:	RXCTL (0x2814)
 * @tdbal:	TDBAL (0x3800), as @rdbal
 * @tdbah:	TDBAH (0x3804)
 * @tdlen:	TDLEN (0x3808), as @rdlen
 * @tdh:	TDH (0x3810), as @rdh
 * @tdt:	TDT (0x3818), as @rdh
 * @txdctl:	TXDCTL (0x3828), as @rxdctl
 * @txctl:	TXCTL (0x3814)
 * @tdwbal:	TDWBAL (0x3838)
 * @tdwbah:	TDWBAH (0x383c)
 * @reserved:	must be 0
 */
struct qvp_igbvf_queue {
	__le32 rdbal;
	__le32 rdbah;
	__le32 rdlen;
	__le32 srrctl;
	__le32 rdh;
	__le32 rdt;
	__le32 rxdctl;
	__le32 rxctl;
	__le32 tdbal;
	__le32 tdbah;
	__le32 tdlen;
	__le32 tdh;
	__le32 tdt;
	__le32 txdctl;
	__le32 txctl;
	__le32 tdwbal;
	__le32 tdwbah;
	__le32 reserved;
};

/*
 * struct qvp_igbvf_regs - the VF's own registers that are state
 * @queue:	the two queue pairs
 * @eims:	the VF's interrupt mask, bits 2:0 (a bit set: the vector is
 *		enabled), as the guest left it by its writes to EIMS (0x1524,
 *		sets) and EIMC (0x1528, clears); QEMU reads EIMS back as the
 *		last value written, so the driver keeps the mask itself
 * @eiac:	EIAC (0x152c)
 * @eiam:	EIAM (0x1530)
 * @eitr:	EITR0-2 (0x1680 + 4 * n)
 * @ivar0:	IVAR0 (0x1700): the vector of a valid RX (byte 0) or TX
 *		(byte 1) entry at most 2
 * @ivar_misc:	IVAR_MISC (0x1740)
 * @psrtype:	PSRTYPE (0x0f0c)
 * @flags:	QVP_IGBVF_REGS_*
 * @mbx:	the mailbox memory VMBMEM (0x0800), which the VF reads the
 *		PF's last message from
 * @req:	with QVP_IGBVF_REGS_REQ, the request the VF sent last and
 *		whose answer it had not acknowledged when it stopped (word 0
 *		has a type and neither the ACK nor the NACK bit); the
 *		destination sends it again, last, so that the VF gets its
 *		answer there; else 0
 *
 * Not state, not carried: the interrupt causes (EICR clears on read;
 * the destination raises each unmasked vector once instead), the
 * statistics (read-only), the mailbox control bits (read to clear).
 */
struct qvp_igbvf_regs {
	struct qvp_igbvf_queue queue[QVP_IGBVF_QUEUES];
	__le32 eims;
	__le32 eiac;
	__le32 eiam;
	__le32 eitr[QVP_IGBVF_VECTORS];
	__le32 ivar0;
	__le32 ivar_misc;
	__le32 psrtype;
	__le32 flags;
	__le32 mbx[QVP_IGBVF_MBX_WORDS];
	__le32 req[QVP_IGBVF_MBX_WORDS];
};

/* struct qvp_igbvf_regs.flags */
#define QVP_IGBVF_REGS_REQ	0x0001	/* @req holds a request in flight */

/* struct qvp_igbvf_pf.flags: which requests the VF made and the PF took */
#define QVP_IGBVF_PF_RESET	0x0001	/* E1000_VF_RESET: the rest applies */
#define QVP_IGBVF_PF_MAC	0x0002	/* @mac, set by the VF (SET_MAC) */
#define QVP_IGBVF_PF_MC		0x0004	/* @nr_mc and @mc */
#define QVP_IGBVF_PF_LPE	0x0008	/* @max_frame */
#define QVP_IGBVF_PF_PROMISC	0x0010	/* @promisc */
#define QVP_IGBVF_PF_MAC_PF	0x0020	/* @mac, the PF's (RESET answer) */
#define QVP_IGBVF_PF_KNOWN	0x003f

/*
 * struct qvp_igbvf_pf - what the PF holds for the VF, as the VF asked it
 * over the mailbox (Linux's igb/igbvf message numbers) and the PF ACKed
 * @flags:	QVP_IGBVF_PF_*; without QVP_IGBVF_PF_RESET the VF never
 *		completed the reset handshake and nothing else may be set
 * @mac:	the VF's MAC: the PF's own for it (QVP_IGBVF_PF_MAC_PF: the
 *		PF's answer to RESET carried it; the destination's PF must
 *		answer with the same), or the VF's last SET_MAC (0x02)
 *		(QVP_IGBVF_PF_MAC: made again on the destination); 0 without
 *		either flag
 * @nr_mc:	SET_MULTICAST (0x03): the count the VF gave (bits 23:16,
 *		more than 30 puts the VF in all-multicast), 0 without the
 *		flag
 * @nr_vlan:	VLAN IDs in @vlan, at most QVP_IGBVF_VLAN_MAX
 * @nr_uc:	MAC filters in @uc (SET_MAC with FILTER_ADD), at most
 *		QVP_IGBVF_UC_MAX
 * @max_frame:	SET_LPE (0x05): the frame size the VF asked for, 0
 *		without the flag
 * @promisc:	SET_PROMISC (0x06): bits 23:16 of its message word, 0
 *		without the flag
 * @mc:		the first min(@nr_mc, 30) multicast hashes, unused ones 0
 * @vlan:	VLAN IDs (12 bits) added by SET_VLAN (0x04) and not removed
 *		since, each once, unused ones 0
 * @uc:		MAC filters, each once, unused ones 0
 */
struct qvp_igbvf_pf {
	__le32 flags;
	__u8 mac[6];
	__le16 nr_mc;
	__le16 nr_vlan;
	__le16 nr_uc;
	__le32 max_frame;
	__le32 promisc;
	__le16 mc[QVP_IGBVF_MC_MAX];
	__le16 vlan[QVP_IGBVF_VLAN_MAX];
	__u8 uc[QVP_IGBVF_UC_MAX][6];
};

#endif /* _UAPI_LINUX_QEMU_VFIO_PCI_H */
