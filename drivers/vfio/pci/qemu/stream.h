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

#ifndef __KERNEL__
/* Userspace only (stream.c). */
u32 qvp_crc32(u32 crc, const void *data, size_t len);
#endif

/* Bytes of a bulk record's payload around its data: head and check. */
#define QVP_BULK_OVERHEAD	(sizeof(struct qvp_bulk_head) + 8)

/*
 * The check of bulk record data (QVP_BULK_* in the uapi header), built a
 * 64-bit word at a time as the data passes, so that a copy loop hashes
 * each word it moves.  Words are the data's bytes read as little endian.
 */
static __always_inline u64 qvp_rol64(u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static __always_inline u64 qvp_bulk_step(u64 acc, u64 w)
{
	return qvp_rol64(acc + w * QVP_BULK_K2, 31) * QVP_BULK_K1;
}

/**
 * struct qvp_bulk_sum - a bulk record's check in the making
 * @seed: the stream's seed
 * @v: lanes of the current block
 * @pos: bytes of the current block hashed so far
 * @c: the record's running check (blocks folded in so far)
 * @digest: digest of the block that qvp_bulk_sum_word() last completed
 */
struct qvp_bulk_sum {
	u64 seed;
	u64 v[4];
	u32 pos;
	u64 c;
	u64 digest;
};

void qvp_bulk_sum_init(struct qvp_bulk_sum *s, u64 seed, u64 offset,
		       u64 len);
u64 qvp_bulk_block_end(struct qvp_bulk_sum *s);
u64 qvp_bulk_sum_final(struct qvp_bulk_sum *s);
#ifndef __KERNEL__
/* Userspace only (stream.c): data held in memory. */
void qvp_bulk_sum_bytes(struct qvp_bulk_sum *s, const void *data, size_t len);
u64 qvp_bulk_digest(u64 seed, const void *data, size_t len);
u64 qvp_bulk_check(u64 seed, u64 offset, const void *data, size_t len);
#endif

/**
 * qvp_bulk_sum_word - hash one word of bulk data
 * @s: the check so far
 * @w: the word, in host order (the data's bytes read as little endian)
 *
 * Return: true when it completed a block; its digest is in @s->digest.
 */
static inline bool qvp_bulk_sum_word(struct qvp_bulk_sum *s, u64 w)
{
	unsigned int lane = (s->pos / 8) % 4;

	s->v[lane] = qvp_bulk_step(s->v[lane], w);
	s->pos += 8;
	if (s->pos < QVP_BULK_BLOCK)
		return false;
	qvp_bulk_block_end(s);
	return true;
}

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
			     const struct qvp_stream_id *id, u64 seed);
void qvp_record_header_build(struct qvp_record_header *rh, u16 type,
			     u16 flags, const void *payload, u32 len);
void qvp_bulk_header_build(struct qvp_record_header *rh, u16 type,
			   void *head, u64 offset, u32 data_len);

/*
 * A record type a reader accepts, with the payload length it allows (for
 * a bulk type, head and check included) and whether it is bulk.
 */
struct qvp_rec_desc {
	u16 type;
	u32 min_len;
	u32 max_len;
	bool bulk;
};

const struct qvp_rec_desc *qvp_rec_desc_find(const struct qvp_rec_desc *descs,
					     unsigned int nr_descs, u16 type);

enum qvp_parse_state {
	QVP_PARSE_HEADER,	/* collecting struct qvp_stream_header */
	QVP_PARSE_RECHDR,	/* collecting a struct qvp_record_header */
	QVP_PARSE_PAYLOAD,	/* collecting a record payload */
	QVP_PARSE_BULK_HEAD,	/* collecting a struct qvp_bulk_head */
	QVP_PARSE_BULK_DATA,	/* bulk data: the caller stores and hashes it */
	QVP_PARSE_BULK_CHECK,	/* collecting a bulk record's check */
	QVP_PARSE_DONE,		/* END record seen; nothing may follow */
	QVP_PARSE_FAILED,	/* an error was found; sticky */
};

/* qvp_parser_commit() return values: a whole record is in @buf ... */
#define QVP_PARSE_RECORD	1
/* ... a bulk record's head was verified: its data comes next. */
#define QVP_PARSE_BULK		2

/*
 * struct qvp_parser - incremental, copy-once stream parser
 *
 * The caller asks qvp_parser_next() where the next bytes of the stream go,
 * copies at most the returned count there (from userspace, in the kernel)
 * and reports them with qvp_parser_commit().  A record's payload is
 * delivered only after its CRC has been verified.  Memory is bounded by
 * @buf_size, which must hold the largest plain record that @descs allows.
 *
 * Bulk data does not go through the parser: after QVP_PARSE_BULK
 * (@rec_type, @bulk_offset, @bulk_len), qvp_parser_next() returns NULL
 * with the data bytes still due, and the caller stores them wherever they
 * belong, passes every whole word through @bulk_sum (qvp_bulk_sum_word())
 * and commits the bytes it took.  The parser then collects the check and
 * compares it.  qvp_parser_feed() does all of that for data in memory,
 * which it hashes and drops.
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
		/* a record header, then a bulk head, then its check */
		u8 bytes[sizeof(struct qvp_stream_header)];
	} u;
	u64 offset;		/* stream bytes committed so far */
	u64 seed;		/* the stream header's seed */

	/* The record delivered by the last QVP_PARSE_RECORD. */
	u16 rec_type;
	u16 rec_flags;
	u32 rec_len;
	bool rec_skip;		/* unknown optional record: not delivered */

	/* The bulk record announced by the last QVP_PARSE_BULK. */
	u64 bulk_offset;
	u32 bulk_len;		/* data bytes */
	struct qvp_bulk_sum bulk_sum;
	u8 carry[8];		/* qvp_parser_feed(): a word being gathered */
	unsigned int carry_len;

	int err;		/* -errno once state is QVP_PARSE_FAILED */
	const char *why;	/* human-readable reason of @err */
	u64 err_offset;		/* stream offset where the error was seen */
	u64 why_val;		/* with @why_has_val: the refused field's value */
	bool why_has_val;	/* @why_val is set (version, header length) */
};

void qvp_parser_init(struct qvp_parser *p, const struct qvp_stream_id *expect,
		     const struct qvp_rec_desc *descs, unsigned int nr_descs,
		     void *buf, size_t buf_size);
void *qvp_parser_next(struct qvp_parser *p, size_t *want);
int qvp_parser_commit(struct qvp_parser *p, size_t n);
#ifndef __KERNEL__
/* Userspace only (stream.c). */
int qvp_parser_feed(struct qvp_parser *p, const void *data, size_t len,
		    size_t *consumed);
#endif

static inline bool qvp_parser_done(const struct qvp_parser *p)
{
	return p->state == QVP_PARSE_DONE;
}

#endif /* QVP_STREAM_H */
