// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci stream format: encoder helpers and incremental parser.
 *
 * Built both into the kernel module and into userspace (tools, tests):
 * keep it free of allocation, locking and printing.
 */
#include "stream.h"

#ifdef __KERNEL__
/* Only this file needs it in the module; the tools call the other one. */
static u32 qvp_crc32(u32 crc, const void *data, size_t len)
{
	return ~crc32_le(~crc, data, len);
}
#else
static u32 qvp_crc_table[256];

static void qvp_crc_table_init(void)
{
	u32 i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
		qvp_crc_table[i] = c;
	}
}

/**
 * qvp_crc32 - CRC-32 (zlib/Ethernet) of a buffer
 * @crc: the CRC of the bytes before @data, or 0 to start
 * @data: the bytes
 * @len: bytes at @data
 *
 * Userspace build only; the module uses crc32_le() (the static
 * qvp_crc32() above).  Builds its table on first use, without locking.
 *
 * Return: the CRC continued over @data.
 */
u32 qvp_crc32(u32 crc, const void *data, size_t len)
{
	const u8 *p = data;

	if (!qvp_crc_table[1])
		qvp_crc_table_init();
	crc = ~crc;
	while (len--)
		crc = qvp_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
#endif

#define QVP_HDR_CRC_LEN	offsetof(struct qvp_stream_header, crc)
#define QVP_REC_CRC_LEN	offsetof(struct qvp_record_header, crc)
#define QVP_BULK_HEAD_AT	sizeof(struct qvp_record_header)
#define QVP_BULK_CHECK_AT	(QVP_BULK_HEAD_AT + sizeof(struct qvp_bulk_head))

static u64 qvp_bulk_mix(u64 h)
{
	h ^= h >> 33;
	h *= QVP_BULK_K2;
	h ^= h >> 29;
	h *= QVP_BULK_K1;
	return h ^ (h >> 32);
}

static void qvp_bulk_block_start(struct qvp_bulk_sum *s)
{
	s->v[0] = s->seed + QVP_BULK_K1 + QVP_BULK_K2;
	s->v[1] = s->seed + QVP_BULK_K2;
	s->v[2] = s->seed;
	s->v[3] = s->seed - QVP_BULK_K1;
	s->pos = 0;
}

/**
 * qvp_bulk_sum_init - start a bulk record's check
 * @s: the check to start
 * @seed: the stream's seed
 * @offset: the record's head offset
 * @len: the record's data bytes
 *
 * For the digest of a lone block (qvp_bulk_digest_io()), @offset and
 * @len are 0 and only the block digests of @s are used.
 */
void qvp_bulk_sum_init(struct qvp_bulk_sum *s, u64 seed, u64 offset, u64 len)
{
	s->seed = seed;
	s->c = qvp_bulk_step(seed ^ offset, len);
	s->digest = 0;
	qvp_bulk_block_start(s);
}

/**
 * qvp_bulk_block_end - finish the current block of a bulk check
 * @s: the check, with at least one word of the block hashed
 *
 * Folds the block's digest into the record's check and starts the next
 * block.
 *
 * Return: the block's digest, also left in @s->digest.
 */
u64 qvp_bulk_block_end(struct qvp_bulk_sum *s)
{
	u64 h = qvp_rol64(s->v[0], 1) + qvp_rol64(s->v[1], 7) +
		qvp_rol64(s->v[2], 12) + qvp_rol64(s->v[3], 18) + s->pos;

	s->digest = qvp_bulk_mix(h);
	s->c = qvp_bulk_step(s->c, s->digest);
	qvp_bulk_block_start(s);
	return s->digest;
}

/**
 * qvp_bulk_sum_final - finish a bulk record's check
 * @s: the check, with every word of the data hashed
 *
 * Finishes the last block first if it is partial.
 *
 * Return: the record's check, which follows the data in the stream.
 */
u64 qvp_bulk_sum_final(struct qvp_bulk_sum *s)
{
	if (s->pos)
		qvp_bulk_block_end(s);
	return qvp_bulk_mix(s->c);
}

static u64 qvp_get_le64(const u8 *p)
{
	__le64 v;

	memcpy(&v, p, sizeof(v));
	return le64_to_cpu(v);
}

/**
 * qvp_stream_header_build - fill in a stream header
 * @hdr: the header; every field is written, reserved ones zeroed
 * @id: the identity of the device the stream is saved from
 * @seed: the stream's seed for bulk checks
 *
 * Also computes the header's CRC.
 */
void qvp_stream_header_build(struct qvp_stream_header *hdr,
			     const struct qvp_stream_id *id, u64 seed)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(QVP_STREAM_MAGIC);
	hdr->version = cpu_to_le16(QVP_STREAM_VERSION);
	hdr->header_len = cpu_to_le16(sizeof(*hdr));
	hdr->vendor = cpu_to_le16(id->vendor);
	hdr->device = cpu_to_le16(id->device);
	hdr->subsystem_vendor = cpu_to_le16(id->subsystem_vendor);
	hdr->subsystem_device = cpu_to_le16(id->subsystem_device);
	hdr->revision = id->revision;
	hdr->backend = id->backend;
	hdr->seed_lo = cpu_to_le32((u32)seed);
	hdr->seed_hi = cpu_to_le32((u32)(seed >> 32));
	hdr->crc = cpu_to_le32(qvp_crc32(0, hdr, QVP_HDR_CRC_LEN));
}

/**
 * qvp_record_header_build - fill in the header of a plain record
 * @rh: the header
 * @type: the record type (QVP_REC_*)
 * @flags: QVP_REC_F_* (for a bulk record see qvp_bulk_header_build())
 * @payload: the payload that follows the header in the stream
 * @len: payload bytes (0 with a NULL @payload for an END record)
 *
 * The CRC covers the header up to its crc field, then the payload.
 */
void qvp_record_header_build(struct qvp_record_header *rh, u16 type,
			     u16 flags, const void *payload, u32 len)
{
	u32 crc;

	rh->type = cpu_to_le16(type);
	rh->flags = cpu_to_le16(flags);
	rh->length = cpu_to_le32(len);
	crc = qvp_crc32(0, rh, QVP_REC_CRC_LEN);
	rh->crc = cpu_to_le32(qvp_crc32(crc, payload, len));
}

/**
 * qvp_bulk_header_build - fill in the header and head of a bulk record
 * @rh: the header
 * @type: the record type, a bulk one
 * @head: where the struct qvp_bulk_head goes, right after @rh in the
 *	stream (need not be 8-byte aligned)
 * @offset: the head's offset: where the data belongs
 * @data_len: data bytes
 *
 * The data and its check (struct qvp_bulk_sum) follow them in the
 * stream; the header's CRC covers the header and the head only.
 */
void qvp_bulk_header_build(struct qvp_record_header *rh, u16 type,
			   void *head, u64 offset, u32 data_len)
{
	struct qvp_bulk_head h = { .offset = cpu_to_le64(offset) };
	u32 crc;

	rh->type = cpu_to_le16(type);
	rh->flags = cpu_to_le16(QVP_REC_F_BULK);
	rh->length = cpu_to_le32(data_len + QVP_BULK_OVERHEAD);
	crc = qvp_crc32(0, rh, QVP_REC_CRC_LEN);
	rh->crc = cpu_to_le32(qvp_crc32(crc, &h, sizeof(h)));
	/* @head follows a 12-byte header: it need not be 8-byte aligned. */
	memcpy(head, &h, sizeof(h));
}

/**
 * qvp_parser_init - start parsing a stream
 * @p: the parser
 * @expect: the device identity the stream header must carry (copied)
 * @descs: the record types accepted besides END and unknown optional
 *	ones; must outlive @p
 * @nr_descs: entries in @descs
 * @buf: where whole plain record payloads are delivered
 * @buf_size: bytes at @buf; a longer plain record fails with -EFBIG
 */
void qvp_parser_init(struct qvp_parser *p, const struct qvp_stream_id *expect,
		     const struct qvp_rec_desc *descs, unsigned int nr_descs,
		     void *buf, size_t buf_size)
{
	memset(p, 0, sizeof(*p));
	p->state = QVP_PARSE_HEADER;
	p->expect = *expect;
	p->descs = descs;
	p->nr_descs = nr_descs;
	p->buf = buf;
	p->buf_size = buf_size;
}

static int qvp_parse_fail(struct qvp_parser *p, int err, const char *why)
{
	p->state = QVP_PARSE_FAILED;
	p->err = err;
	p->why = why;
	p->err_offset = p->offset;
	p->why_has_val = false;
	return err;
}

/* As qvp_parse_fail(), when @why names a field whose value was @val. */
static int qvp_parse_fail_val(struct qvp_parser *p, int err, const char *why,
			      u64 val)
{
	qvp_parse_fail(p, err, why);
	p->why_has_val = true;
	p->why_val = val;
	return err;
}

/**
 * qvp_rec_desc_find - look up a record type
 * @descs: the record types
 * @nr_descs: entries in @descs
 * @type: the type to look for (QVP_REC_*)
 *
 * Return: the descriptor of @type in @descs, or NULL if it has none.
 */
const struct qvp_rec_desc *qvp_rec_desc_find(const struct qvp_rec_desc *descs,
					     unsigned int nr_descs, u16 type)
{
	unsigned int i;

	for (i = 0; i < nr_descs; i++)
		if (descs[i].type == type)
			return &descs[i];
	return NULL;
}

static int qvp_check_header(struct qvp_parser *p)
{
	const struct qvp_stream_header *h = &p->u.hdr;
	const struct qvp_stream_id *id = &p->expect;

	/* Version first: another version may lay its header out otherwise. */
	if (le32_to_cpu(h->magic) != QVP_STREAM_MAGIC)
		return qvp_parse_fail(p, -EINVAL, "bad magic: not a qemu-vfio-pci stream");
	if (le16_to_cpu(h->version) != QVP_STREAM_VERSION)
		return qvp_parse_fail_val(p, -EINVAL, "unsupported stream version",
					  le16_to_cpu(h->version));
	if (le16_to_cpu(h->header_len) != sizeof(*h))
		return qvp_parse_fail_val(p, -EINVAL, "bad stream header length",
					  le16_to_cpu(h->header_len));
	if (le32_to_cpu(h->crc) != qvp_crc32(0, h, QVP_HDR_CRC_LEN))
		return qvp_parse_fail(p, -EINVAL, "stream header checksum mismatch");
	if (h->flags)
		return qvp_parse_fail(p, -EINVAL, "unknown stream header flags");
	if (h->backend != id->backend)
		return qvp_parse_fail(p, -EINVAL, "stream is for another device model");
	if (le16_to_cpu(h->vendor) != id->vendor ||
	    le16_to_cpu(h->device) != id->device ||
	    le16_to_cpu(h->subsystem_vendor) != id->subsystem_vendor ||
	    le16_to_cpu(h->subsystem_device) != id->subsystem_device ||
	    h->revision != id->revision)
		return qvp_parse_fail(p, -EINVAL,
				      "stream is from a device with another PCI identity");
	p->seed = le32_to_cpu(h->seed_lo) |
		  (u64)le32_to_cpu(h->seed_hi) << 32;
	return 0;
}

static int qvp_check_rechdr(struct qvp_parser *p)
{
	const struct qvp_record_header *rh = &p->u.rec;
	const struct qvp_rec_desc *d;
	u32 len = le32_to_cpu(rh->length);
	u16 type = le16_to_cpu(rh->type);
	u16 flags = le16_to_cpu(rh->flags);
	u32 max_len, min_len = 0;

	bool bulk = flags & QVP_REC_F_BULK;

	if (flags & ~QVP_REC_F_KNOWN)
		return qvp_parse_fail(p, -EINVAL, "unknown record flags");
	if (bulk && (flags & QVP_REC_F_OPTIONAL))
		return qvp_parse_fail(p, -EINVAL, "bulk record marked optional");
	p->rec_skip = false;
	if (type == QVP_REC_END) {
		max_len = 0;
		if (bulk)
			return qvp_parse_fail(p, -EINVAL, "END record marked bulk");
	} else {
		d = qvp_rec_desc_find(p->descs, p->nr_descs, type);
		if (d) {
			min_len = d->min_len;
			max_len = d->max_len;
			if (bulk != d->bulk)
				return qvp_parse_fail(p, -EINVAL,
						      bulk ? "bulk flag on a plain record type" :
						      "bulk record type without the bulk flag");
		} else if (flags & QVP_REC_F_OPTIONAL) {
			max_len = QVP_OPTIONAL_REC_MAX;
			p->rec_skip = true;
		} else {
			return qvp_parse_fail(p, -EINVAL, "unknown mandatory record type");
		}
	}
	/* Bulk data is never buffered: only plain records meet buf_size. */
	if (len > max_len || (!bulk && len > p->buf_size))
		return qvp_parse_fail(p, -EFBIG, "record length exceeds the limit of its type");
	if (len < min_len)
		return qvp_parse_fail(p, -EINVAL, "record too short for its type");
	if (bulk && (len < QVP_BULK_OVERHEAD + 8 || len % 8))
		return qvp_parse_fail(p, -EINVAL,
				      "bulk record data is not whole 64-bit words");
	p->rec_type = type;
	p->rec_flags = flags;
	p->rec_len = len;
	return 0;
}

static int qvp_check_record(struct qvp_parser *p)
{
	u32 crc = qvp_crc32(0, &p->u.rec, QVP_REC_CRC_LEN);

	crc = qvp_crc32(crc, p->buf, p->rec_len);
	if (crc != le32_to_cpu(p->u.rec.crc))
		return qvp_parse_fail(p, -EINVAL, "record checksum mismatch");
	if (p->rec_type == QVP_REC_END) {
		p->state = QVP_PARSE_DONE;
		return 0;
	}
	p->state = QVP_PARSE_RECHDR;
	return p->rec_skip ? 0 : QVP_PARSE_RECORD;
}

/* The bulk head arrived: trust it once the header's CRC matches. */
static int qvp_check_bulk_head(struct qvp_parser *p)
{
	u32 crc = qvp_crc32(0, p->u.bytes, QVP_REC_CRC_LEN);

	crc = qvp_crc32(crc, p->u.bytes + QVP_BULK_HEAD_AT,
			sizeof(struct qvp_bulk_head));
	if (crc != le32_to_cpu(p->u.rec.crc))
		return qvp_parse_fail(p, -EINVAL, "record checksum mismatch");
	p->bulk_offset = qvp_get_le64(p->u.bytes + QVP_BULK_HEAD_AT);
	p->bulk_len = p->rec_len - QVP_BULK_OVERHEAD;
	qvp_bulk_sum_init(&p->bulk_sum, p->seed, p->bulk_offset, p->bulk_len);
	p->carry_len = 0;
	p->state = QVP_PARSE_BULK_DATA;
	return QVP_PARSE_BULK;
}

static int qvp_check_bulk(struct qvp_parser *p)
{
	u64 check = qvp_get_le64(p->u.bytes + QVP_BULK_CHECK_AT);

	if (check != qvp_bulk_sum_final(&p->bulk_sum))
		return qvp_parse_fail(p, -EINVAL, "bulk data check mismatch");
	p->state = QVP_PARSE_RECHDR;
	return 0;
}

/**
 * qvp_parser_next - where the next stream bytes go
 * @p: the parser
 * @want: set to the number of bytes wanted there (always >= 1)
 *
 * Once the parser has finished or failed, bytes still go to a scratch
 * place so that the caller can report them; the commit then fails.
 *
 * Context: no locking of its own; the caller serialises use of @p.
 * Return: where to store up to *@want bytes, or NULL for bulk data,
 * which the caller stores and hashes itself (see struct qvp_parser).
 */
void *qvp_parser_next(struct qvp_parser *p, size_t *want)
{
	switch (p->state) {
	case QVP_PARSE_HEADER:
		*want = sizeof(p->u.hdr) - p->have;
		return p->u.bytes + p->have;
	case QVP_PARSE_RECHDR:
		*want = sizeof(p->u.rec) - p->have;
		return p->u.bytes + p->have;
	case QVP_PARSE_PAYLOAD:
		*want = p->rec_len - p->have;
		return p->buf + p->have;
	case QVP_PARSE_BULK_HEAD:
		*want = sizeof(struct qvp_bulk_head) - p->have;
		return p->u.bytes + QVP_BULK_HEAD_AT + p->have;
	case QVP_PARSE_BULK_DATA:
		*want = p->bulk_len - p->have;
		return NULL;
	case QVP_PARSE_BULK_CHECK:
		*want = 8 - p->have;
		return p->u.bytes + QVP_BULK_CHECK_AT + p->have;
	default:
		*want = sizeof(p->u.bytes);
		return p->u.bytes;
	}
}

/**
 * qvp_parser_commit - account @n bytes stored where qvp_parser_next() said
 * @p: the parser
 * @n: bytes stored, at most the *@want that qvp_parser_next() gave; for
 *	bulk data, bytes taken (the caller hashes each whole word through
 *	@p->bulk_sum)
 *
 * Verifies each unit (header, record, bulk head, bulk check) once all of
 * it is in.  Any byte after the END record is an error.
 *
 * Context: no locking of its own; the caller serialises use of @p.
 * Return: 0 when more bytes are needed (always for @n == 0, unless the
 * parser failed), QVP_PARSE_RECORD when a whole record of a known type
 * is in @p->buf (@p->rec_type, @p->rec_len), QVP_PARSE_BULK when a bulk
 * record's data is due (@p->rec_type, @p->bulk_offset, @p->bulk_len),
 * or a negative errno: -EINVAL for a corrupt, foreign or malformed
 * stream, -EFBIG for a record longer than its type allows.  Errors are
 * sticky.
 */
int qvp_parser_commit(struct qvp_parser *p, size_t n)
{
	int ret;

	if (!n)
		return p->state == QVP_PARSE_FAILED ? p->err : 0;

	switch (p->state) {
	case QVP_PARSE_FAILED:
		return p->err;
	case QVP_PARSE_DONE:
		return qvp_parse_fail(p, -EINVAL, "data after the END record");
	default:
		break;
	}

	p->offset += n;
	p->have += n;
	switch (p->state) {
	case QVP_PARSE_HEADER:
		if (p->have < sizeof(p->u.hdr))
			return 0;
		p->have = 0;
		ret = qvp_check_header(p);
		if (ret)
			return ret;
		p->state = QVP_PARSE_RECHDR;
		return 0;
	case QVP_PARSE_RECHDR:
		if (p->have < sizeof(p->u.rec))
			return 0;
		p->have = 0;
		ret = qvp_check_rechdr(p);
		if (ret)
			return ret;
		if (p->rec_flags & QVP_REC_F_BULK) {
			p->state = QVP_PARSE_BULK_HEAD;
			return 0;
		}
		if (p->rec_len) {
			p->state = QVP_PARSE_PAYLOAD;
			return 0;
		}
		return qvp_check_record(p);
	case QVP_PARSE_PAYLOAD:
		if (p->have < p->rec_len)
			return 0;
		p->have = 0;
		return qvp_check_record(p);
	case QVP_PARSE_BULK_HEAD:
		if (p->have < sizeof(struct qvp_bulk_head))
			return 0;
		p->have = 0;
		return qvp_check_bulk_head(p);
	case QVP_PARSE_BULK_DATA:
		if (p->have < p->bulk_len)
			return 0;
		p->have = 0;
		p->state = QVP_PARSE_BULK_CHECK;
		return 0;
	case QVP_PARSE_BULK_CHECK:
		if (p->have < 8)
			return 0;
		p->have = 0;
		return qvp_check_bulk(p);
	default:
		return qvp_parse_fail(p, -EINVAL, "parser in an impossible state");
	}
}

#ifndef __KERNEL__
/*
 * Userspace only: the tools and tests that build this file check streams
 * held in memory with these.  The module moves bulk data with bulk.c and
 * never needs them, so they are not built into it.
 */

/**
 * qvp_bulk_sum_bytes - hash bulk data held in memory
 * @s: the check so far
 * @data: the data, at any alignment
 * @len: bytes at @data: a multiple of 8 (a trailing partial word is
 *	ignored)
 */
void qvp_bulk_sum_bytes(struct qvp_bulk_sum *s, const void *data, size_t len)
{
	const u8 *p = data;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		qvp_bulk_sum_word(s, qvp_get_le64(p + i));
}

/**
 * qvp_bulk_digest - digest of one block of data held in memory
 * @seed: the stream's seed
 * @data: the block
 * @len: its length: a multiple of 8, at most QVP_BULK_BLOCK
 *
 * Return: the block's digest, as qvp_bulk_digest_io() gives it for the
 * same bytes in device memory; 0 when @len is 0.
 */
u64 qvp_bulk_digest(u64 seed, const void *data, size_t len)
{
	struct qvp_bulk_sum s;

	qvp_bulk_sum_init(&s, seed, 0, 0);
	qvp_bulk_sum_bytes(&s, data, len);
	return s.pos ? qvp_bulk_block_end(&s) : s.digest;
}

/**
 * qvp_bulk_check - check of a whole bulk record's data held in memory
 * @seed: the stream's seed
 * @offset: the record's head offset
 * @data: the data
 * @len: data bytes, a multiple of 8
 *
 * Return: the record's check, which follows the data in the stream.
 */
u64 qvp_bulk_check(u64 seed, u64 offset, const void *data, size_t len)
{
	struct qvp_bulk_sum s;

	qvp_bulk_sum_init(&s, seed, offset, len);
	qvp_bulk_sum_bytes(&s, data, len);
	return qvp_bulk_sum_final(&s);
}

/* Hash bulk data from memory, gathering words across calls. */
static void qvp_parser_hash(struct qvp_parser *p, const u8 *src, size_t n)
{
	size_t k;

	while (n) {
		if (!p->carry_len && n >= 8) {
			k = n & ~(size_t)7;
			qvp_bulk_sum_bytes(&p->bulk_sum, src, k);
		} else {
			k = 8 - p->carry_len < n ? 8 - p->carry_len : n;
			memcpy(p->carry + p->carry_len, src, k);
			p->carry_len += k;
			if (p->carry_len == 8) {
				qvp_bulk_sum_word(&p->bulk_sum,
						  qvp_get_le64(p->carry));
				p->carry_len = 0;
			}
		}
		src += k;
		n -= k;
	}
}

/**
 * qvp_parser_feed - convenience wrapper for callers that hold the bytes
 * @p: the parser
 * @data: the next bytes of the stream
 * @len: bytes at @data
 * @consumed: set to the number of bytes of @data taken
 *
 * Consumes bytes until a record is complete, an error is found or @len is
 * used up.  Bulk data is hashed and dropped; its check is verified.
 *
 * Return: what the last qvp_parser_commit() returned: 0 when @len was
 * used up without completing a record, QVP_PARSE_RECORD,
 * QVP_PARSE_BULK or a negative errno.
 */
int qvp_parser_feed(struct qvp_parser *p, const void *data, size_t len,
		    size_t *consumed)
{
	const u8 *src = data;
	size_t want, n;
	void *dst;
	int ret = 0;

	*consumed = 0;
	while (len) {
		dst = qvp_parser_next(p, &want);
		n = want < len ? want : len;
		if (dst)
			memcpy(dst, src, n);
		else
			qvp_parser_hash(p, src, n);
		src += n;
		len -= n;
		*consumed += n;
		ret = qvp_parser_commit(p, n);
		if (ret)
			break;
	}
	return ret;
}
#endif /* !__KERNEL__ */
