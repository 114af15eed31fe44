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
 * Nothing may follow the END record.  Each checksum is the CRC-32 used by
 * zlib and Ethernet (reflected polynomial 0xedb88320, initial value and
 * final XOR 0xffffffff) computed as documented beside each field.
 *
 * See Documentation/driver-api/vfio/qemu-vfio-pci-stream.rst for the full
 * definition, the validation rules and the errors reported for bad streams.
 */
#ifndef _UAPI_LINUX_QEMU_VFIO_PCI_H
#define _UAPI_LINUX_QEMU_VFIO_PCI_H

#include <linux/types.h>

/* "QVPS" as it appears in the stream: 'Q' 'V' 'P' 'S'. */
#define QVP_STREAM_MAGIC	0x53505651U
#define QVP_STREAM_VERSION	1

/* Backends, i.e. device models; carried in qvp_stream_header.backend. */
#define QVP_BACKEND_EDU		1	/* QEMU "edu", 1234:11e8 */
#define QVP_BACKEND_IVSHMEM	2	/* QEMU "ivshmem-plain", 1af4:1110 */

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
 * @flags:	must be 0 in version 1; a reader refuses unknown flags
 * @reserved:	must be 0
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
	__le32 reserved[2];
	__le32 crc;
};

/*
 * struct qvp_record_header - precedes every record's payload
 * @type:	QVP_REC_*
 * @flags:	QVP_REC_F_*
 * @length:	payload bytes that follow this header
 * @crc:	CRC-32 of the first 8 bytes of this header followed by the
 *		@length payload bytes
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
#define QVP_REC_F_KNOWN		QVP_REC_F_OPTIONAL

/* Record types.  0x00xx: generic; 0x01xx: edu; 0x02xx: ivshmem. */
#define QVP_REC_END		0x0000	/* last record, length 0 */
#define QVP_REC_EDU_REGS	0x0101	/* struct qvp_edu_regs */
#define QVP_REC_IVSHMEM_CONFIG	0x0201	/* struct qvp_ivshmem_config */
#define QVP_REC_IVSHMEM_MEM	0x0202	/* struct qvp_ivshmem_mem + data */
#define QVP_REC_IVSHMEM_REGS	0x0203	/* struct qvp_ivshmem_regs */

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
 * MEM record carries a run of 1 to QVP_IVSHMEM_CHUNK / QVP_IVSHMEM_PAGE
 * (16) consecutive whole pages:
 *
 *  - its offset is a multiple of QVP_IVSHMEM_PAGE and less than the
 *    memory size;
 *  - its data length is N * QVP_IVSHMEM_PAGE with 1 <= N <= 16, so at
 *    most QVP_IVSHMEM_CHUNK bytes, and offset + length is at most the
 *    memory size; a run that ends at the end of the memory may instead
 *    end with the shorter last page (length = memory size - offset);
 *  - the record length is 8 + the data length.
 *
 * A record that breaks any of these rules is refused (EINVAL).  A writer
 * is free to cut the memory into runs as it likes: the qemu-vfio-pci
 * driver sends QVP_IVSHMEM_CHUNK runs in a full pass and runs of
 * consecutive changed pages in a PRE_COPY dirty pass.  When a page
 * appears more than once, the last one wins.  RESUMING -> STOP refuses a
 * stream that did not carry every page.  The destination writes each MEM
 * record to its memory as soon as the record's CRC is verified, so a
 * stream refused later leaves the memory partly overwritten; the device is
 * then in the ERROR migration state until VFIO_DEVICE_RESET.
 *
 * Earlier readers accepted only whole QVP_IVSHMEM_CHUNK-aligned chunks;
 * they still read a stream of full passes (STOP_COPY without PRE_COPY),
 * not one with page runs.
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
 * struct qvp_ivshmem_mem - a run of pages of shared memory
 * @offset:	byte offset of the run's first page in BAR2, a multiple of
 *		QVP_IVSHMEM_PAGE
 * @data:	the run's bytes, 1 to 16 whole pages (see above); the record
 *		length is 8 + their count
 */
struct qvp_ivshmem_mem {
	__le64 offset;
	__u8   data[];
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

#endif /* _UAPI_LINUX_QEMU_VFIO_PCI_H */
