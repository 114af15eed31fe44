/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci stream format: encoder helpers and incremental parser.
 *
 * Pure C with no kernel dependencies beyond a few types, so that the very
 * same code is built into the module and into userspace tools and tests.
 * The format itself is defined in include/uapi/linux/qemu_vfio_pci.h.
 */
#ifndef QVP_STREAM_H
#define QVP_STREAM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/crc32.h>
#include <asm/byteorder.h>
#else
#include <qvp/kcompat.h>	/* userspace build: tools/include */
#endif

#include <linux/qemu_vfio_pci.h>

/* Bytes a record of @len payload bytes occupies in the stream. */
#define QVP_REC_SIZE(len)	(sizeof(struct qvp_record_header) + (len))

/* Largest unknown optional record that a reader skips. */
#define QVP_OPTIONAL_REC_MAX	4096

/* CRC-32 (zlib/Ethernet) continued from @crc; start with crc = 0. */
u32 qvp_crc32(u32 crc, const void *data, size_t len);

/* Identity of a device, as carried in the stream header. */
struct qvp_stream_id {
	u16 vendor;
	u16 device;
	u16 subsystem_vendor;
	u16 subsystem_device;
	u8 revision;
	u8 backend;
};

void qvp_stream_header_build(struct qvp_stream_header *hdr,
			     const struct qvp_stream_id *id);
void qvp_record_header_build(struct qvp_record_header *rh, u16 type,
			     u16 flags, const void *payload, u32 len);

/* A record type a reader accepts, with the payload length it allows. */
struct qvp_rec_desc {
	u16 type;
	u32 min_len;
	u32 max_len;
};

enum qvp_parse_state {
	QVP_PARSE_HEADER,	/* collecting struct qvp_stream_header */
	QVP_PARSE_RECHDR,	/* collecting a struct qvp_record_header */
	QVP_PARSE_PAYLOAD,	/* collecting a record payload */
	QVP_PARSE_DONE,		/* END record seen; nothing may follow */
	QVP_PARSE_FAILED,	/* an error was found; sticky */
};

/* qvp_parser_commit() return value: a whole record is in @buf. */
#define QVP_PARSE_RECORD	1

/*
 * struct qvp_parser - incremental, copy-once stream parser
 *
 * The caller asks qvp_parser_next() where the next bytes of the stream go,
 * copies at most the returned count there (from userspace, in the kernel)
 * and reports them with qvp_parser_commit().  A record's payload is
 * delivered only after its CRC has been verified.  Memory is bounded by
 * @buf_size, which must hold the largest record that @descs allows.
 */
struct qvp_parser {
	enum qvp_parse_state state;
	struct qvp_stream_id expect;
	const struct qvp_rec_desc *descs;
	unsigned int nr_descs;
	u8 *buf;
	size_t buf_size;

	size_t have;		/* bytes of the current unit collected */
	union {
		struct qvp_stream_header hdr;
		struct qvp_record_header rec;
		u8 bytes[sizeof(struct qvp_stream_header)];
	} u;
	u64 offset;		/* stream bytes committed so far */

	/* The record delivered by the last QVP_PARSE_RECORD. */
	u16 rec_type;
	u16 rec_flags;
	u32 rec_len;
	bool rec_skip;		/* unknown optional record: not delivered */

	int err;		/* -errno once state is QVP_PARSE_FAILED */
	const char *why;	/* human-readable reason of @err */
	u64 err_offset;		/* stream offset where the error was seen */
};

void qvp_parser_init(struct qvp_parser *p, const struct qvp_stream_id *expect,
		     const struct qvp_rec_desc *descs, unsigned int nr_descs,
		     void *buf, size_t buf_size);
void *qvp_parser_next(struct qvp_parser *p, size_t *want);
int qvp_parser_commit(struct qvp_parser *p, size_t n);
int qvp_parser_feed(struct qvp_parser *p, const void *data, size_t len,
		    size_t *consumed);

static inline bool qvp_parser_done(const struct qvp_parser *p)
{
	return p->state == QVP_PARSE_DONE;
}

#endif /* QVP_STREAM_H */
