// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the qemu-vfio-pci stream encoder and parser, built from
 * the very same stream.c that goes into the kernel module.  TAP output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "records.h"
#include "stream.h"

static int test_nr, test_failed;

static void check(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++test_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		test_failed++;
}

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static const struct qvp_stream_id edu_id = {
	.vendor = 0x1234, .device = 0x11e8,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.revision = 0x10, .backend = QVP_BACKEND_EDU,
};

static const struct qvp_rec_desc edu_descs[] = {
	{
		.type = QVP_REC_EDU_REGS,
		.min_len = sizeof(struct qvp_edu_regs),
		.max_len = sizeof(struct qvp_edu_regs),
	},
};

static const struct qvp_rec_desc igbvf_descs[] = {
	{
		.type = QVP_REC_IGBVF_REGS,
		.min_len = sizeof(struct qvp_igbvf_regs),
		.max_len = sizeof(struct qvp_igbvf_regs),
	},
	{
		.type = QVP_REC_IGBVF_PF,
		.min_len = sizeof(struct qvp_igbvf_pf),
		.max_len = sizeof(struct qvp_igbvf_pf),
	},
};

static const struct qvp_stream_id ivs_id = {
	.vendor = 0x1af4, .device = 0x1110,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.revision = 0x01, .backend = QVP_BACKEND_IVSHMEM,
};

/* A bulk type with no minimum, to reach the parser's own length rule. */
#define T_BULK_ANY	0x7f10

/* Like the ivshmem backend's table, plus T_BULK_ANY. */
static const struct qvp_rec_desc ivs_descs[] = {
	{
		.type = QVP_REC_IVSHMEM_CONFIG,
		.min_len = sizeof(struct qvp_ivshmem_config),
		.max_len = sizeof(struct qvp_ivshmem_config),
	},
	{
		.type = QVP_REC_IVSHMEM_MEM,
		.bulk = true,
		.min_len = QVP_BULK_OVERHEAD + 8,
		.max_len = QVP_BULK_OVERHEAD + QVP_IVSHMEM_CHUNK,
	},
	{
		.type = QVP_REC_IVSHMEM_REGS,
		.min_len = sizeof(struct qvp_ivshmem_regs),
		.max_len = sizeof(struct qvp_ivshmem_regs),
	},
	{
		.type = T_BULK_ANY,
		.bulk = true,
		.min_len = 0,
		.max_len = 64,
	},
};

/*
 * The parser's record buffer in the ivshmem tests: enough for the plain
 * records only, so bulk records must not go through it.
 */
#define IVS_BUF_SIZE	64

#define TEST_SEED	0x0123456789abcdefULL
#define OTHER_SEED	0xfedcba9876543210ULL
#define KAT_OFFSET	0x10000
/* The check of 4096 bytes 00 01 .. ff repeated, TEST_SEED, KAT_OFFSET. */
#define KAT_CHECK	0x5bd68fecb5f3f499ULL

#define HL		sizeof(struct qvp_stream_header)
#define RL		sizeof(struct qvp_record_header)
#define BULK_HEAD	sizeof(struct qvp_bulk_head)

#define STREAM_MAX	(160 * 1024)
#define MAX_SENT	8

/*
 * A record that a reader of the stream is to hand over: a plain record
 * with its payload, or a bulk record's head (its data never goes through
 * the parser's buffer).
 */
struct sent {
	bool bulk;
	u16 type;
	u16 flags;
	u32 len;		/* payload bytes; bulk: data bytes */
	size_t start;		/* stream offset of its record header */
	size_t payload;		/* plain: stream offset of its payload */
	u64 offset;		/* bulk: the head's offset */
	size_t at;		/* stream bytes up to which it is complete */
};

/*
 * A test stream, and what it encodes: @sent lists every record a reader
 * must deliver, in order, i.e. all but END and the optional records
 * (which are all of types unknown to the readers of these tests).
 */
struct stream {
	u8 bytes[STREAM_MAX];
	size_t len;
	struct sent sent[MAX_SENT];
	unsigned int nr_sent;
};

static void put_bytes(struct stream *s, const void *p, size_t len)
{
	if (s->len + len > STREAM_MAX) {
		printf("Bail out! test stream overflow\n");
		exit(1);
	}
	if (len)
		memcpy(s->bytes + s->len, p, len);
	s->len += len;
}

/*
 * Forget the records logged past the end of @s: the tests rewind a
 * stream by setting its length and write other records from there.
 */
static void sent_trim(struct stream *s)
{
	while (s->nr_sent && s->sent[s->nr_sent - 1].start >= s->len)
		s->nr_sent--;
}

static struct sent *sent_add(struct stream *s, bool bulk, u16 type,
			     u16 flags, u32 len)
{
	struct sent *e;

	if (s->nr_sent == MAX_SENT) {
		printf("Bail out! test stream has too many records\n");
		exit(1);
	}
	e = &s->sent[s->nr_sent++];
	memset(e, 0, sizeof(*e));
	e->bulk = bulk;
	e->type = type;
	e->flags = flags;
	e->len = len;
	e->start = s->len;
	return e;
}

static void put_le64(struct stream *s, u64 v)
{
	__le64 w = htole64(v);

	put_bytes(s, &w, sizeof(w));
}

static void put_record(struct stream *s, u16 type, u16 flags,
		       const void *payload, u32 len)
{
	struct qvp_record_header rh;
	struct sent *e;

	sent_trim(s);
	if (type != QVP_REC_END && !(flags & QVP_REC_F_OPTIONAL)) {
		e = sent_add(s, false, type, flags, len);
		e->payload = s->len + RL;
		e->at = s->len + RL + len;
	}
	qvp_record_header_build(&rh, type, flags, payload, len);
	put_bytes(s, &rh, sizeof(rh));
	put_bytes(s, payload, len);
}

/* A good bulk record: header and head, data, check keyed by @seed. */
static void put_bulk(struct stream *s, u16 type, u64 seed, u64 offset,
		     const void *data, u32 len)
{
	struct qvp_record_header rh;
	struct qvp_bulk_head head;
	struct sent *e;

	sent_trim(s);
	e = sent_add(s, true, type, QVP_REC_F_BULK, len);
	e->offset = offset;
	e->at = s->len + RL + BULK_HEAD;
	qvp_bulk_header_build(&rh, type, &head, offset, len);
	put_bytes(s, &rh, sizeof(rh));
	put_bytes(s, &head, sizeof(head));
	put_bytes(s, data, len);
	put_le64(s, qvp_bulk_check(seed, offset, data, len));
}

/*
 * A bulk-looking record with any type, flags and length, and a CRC over
 * the header and head as a bulk record has; @data_len data bytes and a
 * zero check follow (whatever @length says).
 */
static void put_raw_bulk(struct stream *s, u16 type, u16 flags, u32 length,
			 u64 offset, const void *data, u32 data_len)
{
	struct qvp_record_header rh;
	struct qvp_bulk_head head;
	u32 crc;

	sent_trim(s);
	rh.type = htole16(type);
	rh.flags = htole16(flags);
	rh.length = htole32(length);
	head.offset = htole64(offset);
	crc = qvp_crc32(0, &rh, offsetof(struct qvp_record_header, crc));
	rh.crc = htole32(qvp_crc32(crc, &head, sizeof(head)));
	put_bytes(s, &rh, sizeof(rh));
	put_bytes(s, &head, sizeof(head));
	put_bytes(s, data, data_len);
	put_le64(s, 0);
}

/* An EDU_REGS record with no byte 0, so that a payload lost shows. */
static void put_edu_regs(struct stream *s)
{
	struct qvp_edu_regs regs = {
		.liveness = htole32(0x12345678), .factorial = htole32(0x4a375f01),
		.status = htole32(0x81a1a1a1), .irq_status = htole32(0x11223344),
		.dma_src = htole64(0x4142434445464748ULL),
		.dma_dst = htole64(0x5152535455565758ULL),
		.dma_count = htole64(0x6162636465666768ULL),
		.dma_cmd = htole64(0x7172737475767778ULL),
	};

	put_record(s, QVP_REC_EDU_REGS, 0, &regs, sizeof(regs));
}

static void make_stream(struct stream *s)
{
	s->len = 0;
	qvp_stream_header_build((void *)s->bytes, &edu_id, TEST_SEED);
	s->len = HL;
	put_edu_regs(s);
	put_record(s, QVP_REC_END, 0, NULL, 0);
}

/* --- the ivshmem-like streams ------------------------------------------ */

#define IMAGE_SIZE	0x20000

/* The source memory: distinct, deterministic, not word-periodic bytes. */
static u8 image[IMAGE_SIZE];

static void image_init(void)
{
	u64 x = 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < sizeof(image); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		image[i] = (u8)(x >> 24);
	}
}

struct run {
	u64 offset;
	u32 len;
};

/* Bulk records of 8, 4096, 4096 + 8 and 65536 bytes. */
static const struct run good_runs[] = {
	{ 0x0, 8 }, { 0x1000, 4096 }, { 0x2000, 4096 + 8 },
	{ 0x10000, 65536 },
};

static size_t ivs_start(struct stream *s, u64 seed)
{
	struct qvp_ivshmem_config cfg = {
		.mem_size = htole64(IMAGE_SIZE),
	};

	s->len = 0;
	qvp_stream_header_build((void *)s->bytes, &ivs_id, seed);
	s->len = HL;
	put_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &cfg, sizeof(cfg));
	return s->len;
}

static void ivs_finish(struct stream *s)
{
	struct qvp_ivshmem_regs regs = {
		.intr_mask = htole32(0xffffffff), .intr_status = htole32(1),
	};

	put_record(s, QVP_REC_IVSHMEM_REGS, 0, &regs, sizeof(regs));
	put_record(s, QVP_REC_END, 0, NULL, 0);
}

/*
 * CONFIG, a MEM record of each run of @runs, REGS, END; the stream
 * offset of each MEM record goes to @at[] if not NULL.
 */
static void make_ivs_stream(struct stream *s, u64 seed, const struct run *runs,
			    unsigned int nr, size_t *at)
{
	unsigned int i;

	ivs_start(s, seed);
	for (i = 0; i < nr; i++) {
		if (at)
			at[i] = s->len;
		put_bulk(s, QVP_REC_IVSHMEM_MEM, seed, runs[i].offset,
			 image + runs[i].offset, runs[i].len);
	}
	ivs_finish(s);
}

/* --- parsing ------------------------------------------------------------- */

#define MAX_GOT		8
/* Payload bytes kept of a delivered record: more than any test sends. */
#define GOT_BYTES	64

/* A QVP_PARSE_RECORD or QVP_PARSE_BULK return, and what came with it. */
struct got {
	int kind;		/* QVP_PARSE_RECORD or QVP_PARSE_BULK */
	u16 type;		/* p->rec_type */
	u16 flags;		/* p->rec_flags */
	u32 len;		/* p->rec_len; bulk: p->bulk_len */
	u64 offset;		/* bulk: p->bulk_offset */
	size_t at;		/* bytes consumed when it was returned */
	u8 bytes[GOT_BYTES];	/* record: p->buf as it was then */
};

struct result {
	int err;		/* first negative return, or 0 */
	size_t err_at;		/* bytes consumed when it happened */
	const char *why;	/* the parser's reason */
	long long val;		/* the value it names, -1 if none (0 if not refused) */
	int records;		/* QVP_PARSE_RECORD deliveries */
	int bulks;		/* QVP_PARSE_BULK reports */
	struct got got[MAX_GOT];	/* the first MAX_GOT of both, in order */
	unsigned int nr_got;
	u64 seed;		/* p->seed at the end */
	int done;
};

/* Keep what the parser hands over with a QVP_PARSE_* return @kind. */
static void note_got(struct result *r, const struct qvp_parser *p, int kind,
		     size_t at)
{
	struct got *g;

	if (r->nr_got == MAX_GOT)
		return;
	g = &r->got[r->nr_got++];
	g->kind = kind;
	g->type = p->rec_type;
	g->flags = p->rec_flags;
	g->at = at;
	if (kind == QVP_PARSE_BULK) {
		g->len = p->bulk_len;
		g->offset = p->bulk_offset;
	} else {
		g->len = p->rec_len;
		memcpy(g->bytes, p->buf,
		       p->rec_len < GOT_BYTES ? p->rec_len : GOT_BYTES);
	}
}

/*
 * Whether the parser, given the first @len bytes of @s, handed over
 * exactly the records that lie whole in them (for a bulk record, its
 * head), in order, each with the type, flags and length encoded, a plain
 * record with its payload's bytes and a bulk record with its offset, each
 * as soon as its last byte was consumed.  @why (@size bytes) says how
 * many matched, or what differs first.
 */
static bool delivered(const struct result *r, const struct stream *s,
		      size_t len, char *why, size_t size)
{
	unsigned int i, k, want = 0;
	const struct sent *e;
	const struct got *g;

	while (want < s->nr_sent && s->sent[want].at <= len)
		want++;
	if (r->records + r->bulks != (int)want) {
		snprintf(why, size, "%d records and %d bulk heads delivered, %u sent",
			 r->records, r->bulks, want);
		return false;
	}
	if (want > MAX_GOT) {
		snprintf(why, size, "%u records: more than the test keeps", want);
		return false;
	}
	for (i = 0; i < want; i++) {
		e = &s->sent[i];
		g = &r->got[i];
		if (g->kind != (e->bulk ? QVP_PARSE_BULK : QVP_PARSE_RECORD)) {
			snprintf(why, size, "record %u: delivered as %s, sent as %s",
				 i, g->kind == QVP_PARSE_BULK ? "bulk" : "plain",
				 e->bulk ? "bulk" : "plain");
			return false;
		}
		if (g->type != e->type || g->flags != e->flags) {
			snprintf(why, size,
				 "record %u: type 0x%04x flags 0x%04x, sent 0x%04x 0x%04x",
				 i, g->type, g->flags, e->type, e->flags);
			return false;
		}
		if (g->len != e->len) {
			snprintf(why, size, "record %u (type 0x%04x): length %u, sent %u",
				 i, e->type, g->len, e->len);
			return false;
		}
		if (g->at != e->at) {
			snprintf(why, size,
				 "record %u (type 0x%04x): delivered at byte %zu, complete at %zu",
				 i, e->type, g->at, e->at);
			return false;
		}
		if (e->bulk && g->offset != e->offset) {
			snprintf(why, size,
				 "record %u (type 0x%04x): offset 0x%llx, sent 0x%llx",
				 i, e->type, (unsigned long long)g->offset,
				 (unsigned long long)e->offset);
			return false;
		}
		if (!e->bulk && e->len > GOT_BYTES) {
			snprintf(why, size, "record %u: %u bytes, more than the test keeps",
				 i, e->len);
			return false;
		}
		for (k = 0; !e->bulk && k < e->len; k++) {
			if (g->bytes[k] != s->bytes[e->payload + k]) {
				snprintf(why, size,
					 "record %u (type 0x%04x): payload byte %u is 0x%02x, sent 0x%02x",
					 i, e->type, k, g->bytes[k],
					 s->bytes[e->payload + k]);
				return false;
			}
		}
	}
	snprintf(why, size, "%u record%s as sent", want, want == 1 ? "" : "s");
	return true;
}

/*
 * Account what qvp_parser_feed() or qvp_parser_commit() returned, with
 * @off bytes consumed; true when the parser refused the stream.
 */
static bool note_ret(struct result *r, const struct qvp_parser *p, int ret,
		     size_t off)
{
	if (ret < 0) {
		r->err = ret;
		r->err_at = off;
		r->why = p->why;
		r->val = p->why_has_val ? (long long)p->why_val : -1;
		return true;
	}
	if (ret == QVP_PARSE_RECORD)
		r->records++;
	if (ret == QVP_PARSE_BULK)
		r->bulks++;
	if (ret == QVP_PARSE_RECORD || ret == QVP_PARSE_BULK)
		note_got(r, p, ret, off);
	return false;
}

/* Feed @len bytes in pieces of @piece bytes with qvp_parser_feed(). */
static struct result parse_as(const struct qvp_stream_id *id,
			      const struct qvp_rec_desc *descs,
			      unsigned int nr_descs, size_t buf_size,
			      const void *data, size_t len, size_t piece)
{
	static u8 buf[QVP_OPTIONAL_REC_MAX];
	struct result r = { 0 };
	struct qvp_parser p;
	size_t off = 0, used;
	int ret;

	qvp_parser_init(&p, id, descs, nr_descs, buf, buf_size);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;

		while (n) {
			ret = qvp_parser_feed(&p, (const u8 *)data + off, n,
					      &used);
			off += used;
			n -= used;
			if (note_ret(&r, &p, ret, off))
				return r;
		}
	}
	r.seed = p.seed;
	r.done = qvp_parser_done(&p);
	return r;
}

static struct result parse(const void *data, size_t len, size_t piece)
{
	return parse_as(&edu_id, edu_descs, ARRAY_SIZE(edu_descs),
			QVP_OPTIONAL_REC_MAX, data, len, piece);
}

static struct result parse_ivs(const void *data, size_t len, size_t piece)
{
	return parse_as(&ivs_id, ivs_descs, ARRAY_SIZE(ivs_descs),
			IVS_BUF_SIZE, data, len, piece);
}

/*
 * The copy-once interface as the driver uses it: qvp_parser_next() and
 * qvp_parser_commit(), with bulk data stored by the caller into @mem at
 * the record's offset and hashed a word at a time through p->bulk_sum.
 * Pieces of at most @piece bytes (bulk data: whole words, at least one).
 */
static struct result parse_direct(const u8 *data, size_t len, size_t piece,
				  u8 *mem, size_t mem_size)
{
	static u8 buf[IVS_BUF_SIZE];
	struct result r = { 0 };
	struct qvp_parser p;
	size_t off = 0, want, n, pos, i;
	__le64 w;
	void *dst;

	qvp_parser_init(&p, &ivs_id, ivs_descs, ARRAY_SIZE(ivs_descs),
			buf, sizeof(buf));
	while (off < len) {
		dst = qvp_parser_next(&p, &want);
		n = want < piece ? want : piece;
		if (dst) {
			if (n > len - off)
				n = len - off;
			memcpy(dst, data + off, n);
		} else {
			n &= ~(size_t)7;
			if (!n)
				n = 8;
			if (n > len - off)
				break;	/* a truncated word: incomplete */
			pos = p.bulk_len - want;
			if (p.bulk_offset > mem_size ||
			    pos + n > mem_size - p.bulk_offset) {
				r.err = -ERANGE;
				r.err_at = off;
				r.why = "bulk data outside the test memory";
				return r;
			}
			memcpy(mem + p.bulk_offset + pos, data + off, n);
			for (i = 0; i < n; i += 8) {
				memcpy(&w, data + off + i, 8);
				qvp_bulk_sum_word(&p.bulk_sum, le64toh(w));
			}
		}
		off += n;
		if (note_ret(&r, &p, qvp_parser_commit(&p, n), off))
			return r;
	}
	r.seed = p.seed;
	r.done = qvp_parser_done(&p);
	return r;
}

/* --- an independent implementation of the bulk check ------------------- */

/*
 * Written from the description in include/uapi/linux/qemu_vfio_pci.h
 * alone, as simply as possible: whole buffers, bytes assembled into
 * little-endian words by hand, blocks cut by index arithmetic.
 */
static u64 ref_rol(u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static u64 ref_step(u64 a, u64 w)
{
	return ref_rol(a + w * QVP_BULK_K2, 31) * QVP_BULK_K1;
}

static u64 ref_mix(u64 h)
{
	h ^= h >> 33;
	h *= QVP_BULK_K2;
	h ^= h >> 29;
	h *= QVP_BULK_K1;
	h ^= h >> 32;
	return h;
}

static u64 ref_word(const u8 *p)
{
	u64 w = 0;
	int i;

	for (i = 7; i >= 0; i--)
		w = w << 8 | p[i];
	return w;
}

static u64 ref_digest(u64 s, const u8 *block, size_t n)
{
	u64 v[4] = { s + QVP_BULK_K1 + QVP_BULK_K2, s + QVP_BULK_K2, s,
		     s - QVP_BULK_K1 };
	size_t i;

	for (i = 0; i < n / 8; i++)
		v[i % 4] = ref_step(v[i % 4], ref_word(block + 8 * i));
	return ref_mix(ref_rol(v[0], 1) + ref_rol(v[1], 7) +
		       ref_rol(v[2], 12) + ref_rol(v[3], 18) + n);
}

static u64 ref_check(u64 s, u64 off, const u8 *data, size_t len)
{
	u64 c = ref_step(s ^ off, len);
	size_t b, n;

	for (b = 0; b < len; b += QVP_BULK_BLOCK) {
		n = len - b < QVP_BULK_BLOCK ? len - b : QVP_BULK_BLOCK;
		c = ref_step(c, ref_digest(s, data + b, n));
	}
	return ref_mix(c);
}

/* --- tests --------------------------------------------------------------- */

static void test_crc(void)
{
	check(qvp_crc32(0, "123456789", 9) == 0xcbf43926,
	      "CRC-32 of \"123456789\" is 0xcbf43926 (zlib/Ethernet CRC)");
	check(qvp_crc32(qvp_crc32(0, "1234", 4), "56789", 5) == 0xcbf43926,
	      "CRC-32 continues across pieces");
}

static void test_valid(void)
{
	static const size_t pieces[] = { 1, 7, 12, 32, 4096 };
	static struct stream s;
	struct result r;
	unsigned int i;
	char why[128];
	bool ok;

	make_stream(&s);
	check(s.len == 104, "edu stream is 104 bytes (got %zu)", s.len);
	check(!memcmp(s.bytes, "QVPS", 4), "stream starts with the magic \"QVPS\"");
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		r = parse(s.bytes, s.len, pieces[i]);
		ok = delivered(&r, &s, s.len, why, sizeof(why));
		check(!r.err && r.done && ok,
		      "valid stream in %zu-byte pieces: complete, EDU_REGS delivered with the type, length and bytes sent (err %d, %s)",
		      pieces[i], r.err, why);
	}
}

static void test_truncated(void)
{
	static struct stream s;
	struct result r;
	size_t len;
	int bad = 0;
	char why[128];

	make_stream(&s);
	for (len = 0; len < s.len; len++) {
		r = parse(s.bytes, len, 4096);
		if (r.err || r.done || !delivered(&r, &s, len, why, sizeof(why))) {
			if (!bad)
				printf("# prefix of %zu bytes: err %d, done %d, %s\n",
				       len, r.err, r.done, why);
			bad++;
		}
	}
	check(!bad, "every proper prefix is incomplete, not an error, and delivers the record it holds whole as sent (%d bad)",
	      bad);
}

static void test_bitflips(void)
{
	static struct stream s;
	struct result r;
	size_t i;
	int bit, accepted = 0, wrong = 0;
	char why[128];

	make_stream(&s);
	for (i = 0; i < s.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			s.bytes[i] ^= 1 << bit;
			r = parse(s.bytes, s.len, 4096);
			s.bytes[i] ^= 1 << bit;
			if (!r.err && r.done)
				accepted++;
			/* only records wholly before the flip, as sent */
			if (!delivered(&r, &s, i, why, sizeof(why))) {
				if (!wrong)
					printf("# bit %d of byte %zu flipped: %s\n",
					       bit, i, why);
				wrong++;
			}
		}
	}
	check(!accepted, "every single-bit flip of the %zu bytes is refused (%d accepted)",
	      s.len, accepted);
	check(!wrong, "with a flipped bit, only the records wholly before it are delivered, as sent (%d flips delivered others)",
	      wrong);
}

static void rebuild_header(struct stream *s, void (*edit)(struct qvp_stream_header *))
{
	struct qvp_stream_header *h = (void *)s->bytes;

	edit(h);
	h->crc = htole32(qvp_crc32(0, h, offsetof(struct qvp_stream_header, crc)));
}

static void hdr_magic(struct qvp_stream_header *h) { h->magic = htole32(0x54505651); }
static void hdr_magic_be(struct qvp_stream_header *h) { h->magic = htobe32(QVP_STREAM_MAGIC); }
static void hdr_version1(struct qvp_stream_header *h) { h->version = htole16(1); }
static void hdr_version3(struct qvp_stream_header *h) { h->version = htole16(3); }
static void hdr_vendor(struct qvp_stream_header *h) { h->vendor = htole16(0x8086); }
static void hdr_device(struct qvp_stream_header *h) { h->device = htole16(0x11e9); }
static void hdr_revision(struct qvp_stream_header *h) { h->revision = 0x11; }
static void hdr_backend(struct qvp_stream_header *h) { h->backend = QVP_BACKEND_IVSHMEM; }
static void hdr_subsys_vendor(struct qvp_stream_header *h) { h->subsystem_vendor = htole16(0x1b36); }
static void hdr_subsys(struct qvp_stream_header *h) { h->subsystem_device = htole16(1); }
static void hdr_flags(struct qvp_stream_header *h) { h->flags = htole16(1); }
static void hdr_flags_hi(struct qvp_stream_header *h) { h->flags = htole16(0x8000); }
static void hdr_len(struct qvp_stream_header *h) { h->header_len = htole16(40); }

static void hdr_other_seed(struct qvp_stream_header *h)
{
	h->seed_lo = htole32((u32)OTHER_SEED);
	h->seed_hi = htole32((u32)(OTHER_SEED >> 32));
}

static void test_header_fields(void)
{
	static const struct {
		const char *what;
		void (*edit)(struct qvp_stream_header *h);
		const char *why;
		long long val;	/* the value the refusal names, or -1 */
	} cases[] = {
		{ "magic \"QVPT\"", hdr_magic,
		  "bad magic: not a qemu-vfio-pci stream", -1 },
		{ "magic \"SPVQ\" (byte-swapped)", hdr_magic_be,
		  "bad magic: not a qemu-vfio-pci stream", -1 },
		{ "version 1", hdr_version1, "unsupported stream version", 1 },
		{ "version 3", hdr_version3, "unsupported stream version", 3 },
		{ "another vendor", hdr_vendor,
		  "stream is from a device with another PCI identity", -1 },
		{ "another device", hdr_device,
		  "stream is from a device with another PCI identity", -1 },
		{ "another revision", hdr_revision,
		  "stream is from a device with another PCI identity", -1 },
		{ "another backend", hdr_backend,
		  "stream is for another device model", -1 },
		{ "another subsystem vendor", hdr_subsys_vendor,
		  "stream is from a device with another PCI identity", -1 },
		{ "another subsystem device", hdr_subsys,
		  "stream is from a device with another PCI identity", -1 },
		{ "flags 0x0001", hdr_flags, "unknown stream header flags", -1 },
		{ "flags 0x8000", hdr_flags_hi, "unknown stream header flags", -1 },
		{ "header_len 40", hdr_len, "bad stream header length", 40 },
	};
	static struct stream s;
	struct result r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		make_stream(&s);
		rebuild_header(&s, cases[i].edit);
		r = parse(s.bytes, s.len, 4096);
		check(r.err == -EINVAL && r.err_at == HL &&
		      same(r.why, cases[i].why) &&
		      r.val == cases[i].val,
		      "header with %s and a good CRC: EINVAL at byte 32, \"%s\", value %lld (err %d at %zu, \"%s\", value %lld)",
		      cases[i].what, cases[i].why, cases[i].val, r.err, r.err_at,
		      r.why ? r.why : "", r.val);
	}
}

static void test_seed(void)
{
	static struct stream s;
	const struct qvp_stream_header *h = (const void *)s.bytes;
	static const u8 want[8] = {
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
	};
	struct result r;
	int i, refused = 0;

	make_stream(&s);
	check(le32toh(h->seed_lo) == 0x89abcdef &&
	      le32toh(h->seed_hi) == 0x01234567 &&
	      !memcmp(s.bytes + 20, want, 8),
	      "header build stores the seed little endian at bytes 20-27");
	r = parse(s.bytes, s.len, 4096);
	check(!r.err && r.done && r.seed == TEST_SEED,
	      "the parser reports the header's seed (0x%016llx)",
	      (unsigned long long)r.seed);

	/* The CRC covers all of the seed. */
	for (i = 20; i < 28; i++) {
		s.bytes[i] ^= 0x10;
		r = parse(s.bytes, s.len, 4096);
		s.bytes[i] ^= 0x10;
		if (r.err == -EINVAL && r.err_at == HL &&
		    same(r.why, "stream header checksum mismatch"))
			refused++;
	}
	check(refused == 8,
	      "a changed seed byte without a new CRC is a header checksum mismatch (%d of 8)",
	      refused);

	/* Any seed is good: it only keys the bulk checks. */
	rebuild_header(&s, hdr_other_seed);
	r = parse(s.bytes, s.len, 4096);
	check(!r.err && r.done && r.records == 1 && r.seed == OTHER_SEED,
	      "another seed with a good CRC is accepted and reported (0x%016llx)",
	      (unsigned long long)r.seed);
}

static void test_records(void)
{
	static struct stream s;
	struct result r;
	u8 note[100] = "made by a newer writer";
	u8 big[64] = { 0 };
	char why[128];
	bool ok;

	/*
	 * Unknown optional records: skipped, and the record after one is
	 * delivered whole although the skipped one went through the buffer.
	 */
	s.len = 0;
	qvp_stream_header_build((void *)s.bytes, &edu_id, TEST_SEED);
	s.len = HL;
	put_record(&s, 0x7f01, QVP_REC_F_OPTIONAL, note, sizeof(note));
	put_edu_regs(&s);
	put_record(&s, 0x7f02, QVP_REC_F_OPTIONAL, note, 7);
	put_record(&s, QVP_REC_END, 0, NULL, 0);
	r = parse(s.bytes, s.len, 5);
	ok = delivered(&r, &s, s.len, why, sizeof(why));
	check(!r.err && r.done && ok,
	      "unknown optional records are skipped, EDU_REGS between them delivered as sent (err %d, %s)",
	      r.err, why);

	/* Unknown mandatory record: refused at its header. */
	s.len = HL;
	put_record(&s, 0x7f01, 0, note, sizeof(note));
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == HL + RL &&
	      same(r.why, "unknown mandatory record type") && !r.records,
	      "unknown mandatory record: EINVAL at its header, nothing delivered (err %d at %zu, %d records)",
	      r.err, r.err_at, r.records);

	/* Oversized length: refused at the header, before any payload. */
	s.len = HL;
	put_record(&s, QVP_REC_EDU_REGS, 0, big, sizeof(big));
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG && r.err_at == HL + RL &&
	      same(r.why, "record length exceeds the limit of its type") &&
	      !r.records,
	      "EDU_REGS of 64 bytes: EFBIG at its header, nothing delivered (err %d at %zu \"%s\", %d records)",
	      r.err, r.err_at, r.why ? r.why : "", r.records);
	s.len = HL;
	put_record(&s, 0x7f02, QVP_REC_F_OPTIONAL, big, 0);
	((struct qvp_record_header *)(s.bytes + HL))->length = htole32(0x7fffffff);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG && r.err_at == HL + RL &&
	      same(r.why, "record length exceeds the limit of its type"),
	      "optional record of 2 GiB: EFBIG at its header (err %d at %zu \"%s\")",
	      r.err, r.err_at, r.why ? r.why : "");

	/* Too short for its type. */
	s.len = HL;
	put_record(&s, QVP_REC_EDU_REGS, 0, big, 40);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == HL + RL &&
	      same(r.why, "record too short for its type") && !r.records,
	      "EDU_REGS of 40 bytes: EINVAL at its header, nothing delivered (err %d at %zu \"%s\", %d records)",
	      r.err, r.err_at, r.why ? r.why : "", r.records);

	/* A payload that does not match its CRC is not delivered. */
	make_stream(&s);
	s.bytes[HL + RL + 5] ^= 0x01;
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == HL + RL + sizeof(struct qvp_edu_regs) &&
	      same(r.why, "record checksum mismatch") && !r.records,
	      "EDU_REGS with a changed payload byte: EINVAL at its end, not delivered (err %d at %zu \"%s\", %d records)",
	      r.err, r.err_at, r.why ? r.why : "", r.records);

	/* END with a payload, unknown record flags. */
	s.len = HL;
	put_record(&s, QVP_REC_END, 0, big, 4);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG && r.err_at == HL + RL &&
	      same(r.why, "record length exceeds the limit of its type"),
	      "END record with a payload: EFBIG at its header (err %d at %zu \"%s\")",
	      r.err, r.err_at, r.why ? r.why : "");
	s.len = HL;
	put_record(&s, QVP_REC_END, 0x8000, NULL, 0);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == HL + RL &&
	      same(r.why, "unknown record flags"),
	      "record with unknown flags: EINVAL at its header (err %d at %zu \"%s\")",
	      r.err, r.err_at, r.why ? r.why : "");

	/* Data after END. */
	make_stream(&s);
	s.bytes[s.len++] = 0;
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == s.len &&
	      same(r.why, "data after the END record"),
	      "a byte after END: EINVAL");

	/* Garbage. */
	memset(s.bytes, 0xa5, 200);
	r = parse(s.bytes, 200, 4096);
	check(r.err == -EINVAL && r.err_at == HL &&
	      same(r.why, "bad magic: not a qemu-vfio-pci stream"),
	      "garbage: EINVAL at byte 32, \"bad magic\" (err %d at %zu, \"%s\")",
	      r.err, r.err_at, r.why ? r.why : "");

	/* Errors are sticky. */
	{
		static u8 buf[QVP_OPTIONAL_REC_MAX];
		struct qvp_parser p;
		size_t used;
		int first, again;

		qvp_parser_init(&p, &edu_id, edu_descs, 1, buf, sizeof(buf));
		first = qvp_parser_feed(&p, s.bytes, 200, &used);
		make_stream(&s);
		again = qvp_parser_feed(&p, s.bytes, s.len, &used);
		check(first == -EINVAL && again == -EINVAL && !qvp_parser_done(&p),
		      "after an error, good bytes are refused too");
	}
}

/* The bulk check against the reference, and one pinned value. */
static void test_bulk_check(void)
{
	static const size_t lens[] = {
		8, 16, 24, 32, 40, 56, 4088, 4096, 4104, 8192, 8192 + 4088,
		65536 - 8, 65536, 65536 + 8,
	};
	static const u64 seeds[] = { 0, TEST_SEED, ~0ULL };
	static u8 data[65536 + 8];
	u64 got, want, off;
	unsigned int i, k;
	int bad = 0, tried = 0;
	size_t n;

	for (n = 0; n < 4096; n++)
		data[n] = n & 0xff;
	got = qvp_bulk_check(TEST_SEED, KAT_OFFSET, data, 4096);
	want = ref_check(TEST_SEED, KAT_OFFSET, data, 4096);
	printf("# known answer: check of 4096 bytes 00 01 .. ff repeated, seed 0x%016llx, offset 0x%x: stream.c 0x%016llx, reference 0x%016llx\n",
	       (unsigned long long)TEST_SEED, KAT_OFFSET,
	       (unsigned long long)got, (unsigned long long)want);
	check(got == want, "known answer: stream.c and the reference agree");
	check(want == KAT_CHECK,
	      "known answer: the reference gives the pinned 0x%016llx",
	      (unsigned long long)KAT_CHECK);

	memcpy(data, image, sizeof(data));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		for (k = 0; k < ARRAY_SIZE(seeds); k++) {
			off = (u64)i * QVP_IVSHMEM_PAGE + k;
			tried++;
			got = qvp_bulk_check(seeds[k], off, data, lens[i]);
			want = ref_check(seeds[k], off, data, lens[i]);
			if (got != want) {
				printf("# len %zu seed 0x%016llx: 0x%016llx, reference 0x%016llx\n",
				       lens[i], (unsigned long long)seeds[k],
				       (unsigned long long)got,
				       (unsigned long long)want);
				bad++;
			}
		}
	}
	check(!bad, "qvp_bulk_check() equals the reference for %d lengths and seeds (%d differ)",
	      tried, bad);

	bad = 0;
	for (n = 8; n <= QVP_BULK_BLOCK; n += 8)
		if (qvp_bulk_digest(TEST_SEED, data, n) !=
		    ref_digest(TEST_SEED, data, n))
			bad++;
	check(!bad, "qvp_bulk_digest() equals the reference for every block length (%d differ)",
	      bad);

	/* The check binds the data to seed, offset and length. */
	want = qvp_bulk_check(TEST_SEED, 0x1000, data, 4096);
	check(qvp_bulk_check(OTHER_SEED, 0x1000, data, 4096) != want &&
	      qvp_bulk_check(TEST_SEED, 0x2000, data, 4096) != want &&
	      qvp_bulk_check(TEST_SEED, 0x1000, data, 4088) != want,
	      "the check changes with the seed, the offset and the length");
}

static void test_bulk_valid(void)
{
	static const size_t pieces[] = {
		1, 3, 5, 7, 9, 13, 4095, 4097, 100000, STREAM_MAX,
	};
	static struct stream s;
	struct result r;
	unsigned int i;
	char why[128];
	bool ok;

	make_ivs_stream(&s, TEST_SEED, good_runs, ARRAY_SIZE(good_runs), NULL);
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		r = parse_ivs(s.bytes, s.len, pieces[i]);
		ok = delivered(&r, &s, s.len, why, sizeof(why));
		check(!r.err && r.done && ok,
		      "bulk records of 8, 4096, 4104 and 65536 bytes in %zu-byte pieces: parsed; CONFIG, REGS and QVP_PARSE_BULK after each head delivered with the type, length, bytes and offset sent (err %d \"%s\", %s)",
		      pieces[i], r.err, r.why ? r.why : "", why);
	}
}

/* The copy-once path: the caller stores and hashes bulk data itself. */
static void test_bulk_direct(void)
{
	static const size_t pieces[] = { 1, 8, 13, 24, 4096, 65536 };
	static u8 mem[IMAGE_SIZE], expect[IMAGE_SIZE];
	static struct stream s;
	struct result r;
	unsigned int i, k;
	size_t at[ARRAY_SIZE(good_runs)];
	char why[128];
	bool ok;

	memset(expect, 0, sizeof(expect));
	for (k = 0; k < ARRAY_SIZE(good_runs); k++)
		memcpy(expect + good_runs[k].offset,
		       image + good_runs[k].offset, good_runs[k].len);
	make_ivs_stream(&s, TEST_SEED, good_runs, ARRAY_SIZE(good_runs), at);
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		memset(mem, 0, sizeof(mem));
		r = parse_direct(s.bytes, s.len, pieces[i], mem, sizeof(mem));
		ok = delivered(&r, &s, s.len, why, sizeof(why));
		check(!r.err && r.done && ok && !memcmp(mem, expect, sizeof(mem)),
		      "next/commit with the caller hashing words, %zu-byte pieces: stream accepted, records delivered and memory as sent (err %d \"%s\", %s, memory %s)",
		      pieces[i], r.err, r.why ? r.why : "", why,
		      memcmp(mem, expect, sizeof(mem)) ? "differs" : "as sent");
	}

	/* The caller stores data before the check: a bad byte is caught. */
	s.bytes[at[3] + RL + BULK_HEAD + 30000] ^= 0x01;
	memset(mem, 0, sizeof(mem));
	r = parse_direct(s.bytes, s.len, 4096, mem, sizeof(mem));
	check(r.err == -EINVAL && same(r.why, "bulk data check mismatch") &&
	      r.err_at == at[3] + RL + good_runs[3].len + QVP_BULK_OVERHEAD,
	      "next/commit: a flipped data byte fails the check after the record (err %d \"%s\" at %zu)",
	      r.err, r.why ? r.why : "", r.err_at);
}

/* Corruption of a bulk record, in each of its parts. */
static void test_bulk_corrupt(void)
{
	static struct stream s;
	size_t at[ARRAY_SIZE(good_runs)], data, end, pos;
	static const size_t data_pos[] = { 0, 7, 8, 4095, 4096, 32767, 65535 };
	struct result r;
	unsigned int i;
	int right = 0;

	make_ivs_stream(&s, TEST_SEED, good_runs, ARRAY_SIZE(good_runs), at);
	data = at[3] + RL + BULK_HEAD;
	end = data + good_runs[3].len + 8;

	for (i = 0; i < ARRAY_SIZE(data_pos); i++) {
		pos = data + data_pos[i];
		s.bytes[pos] ^= 0x80;
		r = parse_ivs(s.bytes, s.len, 4099);
		s.bytes[pos] ^= 0x80;
		if (r.err == -EINVAL && r.err_at == end &&
		    same(r.why, "bulk data check mismatch"))
			right++;
	}
	check(right == ARRAY_SIZE(data_pos),
	      "a flipped data byte (at 7 places of the 65536) is \"bulk data check mismatch\" after the check (%d of %zu)",
	      right, ARRAY_SIZE(data_pos));

	/* The 8-byte record: a flip in its only word. */
	pos = at[0] + RL + BULK_HEAD + 3;
	s.bytes[pos] ^= 0x04;
	r = parse_ivs(s.bytes, s.len, 1);
	s.bytes[pos] ^= 0x04;
	check(r.err == -EINVAL && r.err_at == at[0] + RL + 24 &&
	      same(r.why, "bulk data check mismatch"),
	      "8-byte bulk record with a flipped data byte, fed bytewise: check mismatch (err %d \"%s\" at %zu)",
	      r.err, r.why ? r.why : "", r.err_at);

	right = 0;
	for (i = 0; i < BULK_HEAD; i++) {
		pos = at[1] + RL + i;
		s.bytes[pos] ^= 0x01;
		r = parse_ivs(s.bytes, s.len, 4096);
		s.bytes[pos] ^= 0x01;
		if (r.err == -EINVAL && r.err_at == at[1] + RL + BULK_HEAD &&
		    same(r.why, "record checksum mismatch"))
			right++;
	}
	check(right == BULK_HEAD,
	      "a flipped head byte is \"record checksum mismatch\" before any data (%d of 8)",
	      right);

	right = 0;
	for (i = 0; i < 8; i++) {
		pos = end - 8 + i;
		s.bytes[pos] ^= 0x01;
		r = parse_ivs(s.bytes, s.len, 4096);
		s.bytes[pos] ^= 0x01;
		if (r.err == -EINVAL && r.err_at == end &&
		    same(r.why, "bulk data check mismatch"))
			right++;
	}
	check(right == 8, "a flipped check byte is refused (%d of 8)", right);

	/* The head's offset is bound to the data by the check too. */
	{
		struct qvp_record_header rh;
		struct qvp_bulk_head head = { .offset = htole64(0x3000) };
		u32 crc;

		memcpy(&rh, s.bytes + at[1], sizeof(rh));
		crc = qvp_crc32(0, &rh, offsetof(struct qvp_record_header, crc));
		rh.crc = htole32(qvp_crc32(crc, &head, sizeof(head)));
		memcpy(s.bytes + at[1], &rh, sizeof(rh));
		memcpy(s.bytes + at[1] + RL, &head, sizeof(head));
		r = parse_ivs(s.bytes, s.len, 4096);
		/* CONFIG, then the heads of the first two MEM records */
		check(r.err == -EINVAL && r.bulks == 2 && r.nr_got == 3 &&
		      r.got[2].kind == QVP_PARSE_BULK &&
		      r.got[2].offset == 0x3000 &&
		      same(r.why, "bulk data check mismatch"),
		      "data moved to another offset (head CRC fixed): check mismatch (err %d \"%s\")",
		      r.err, r.why ? r.why : "");
	}

	/* The check is keyed by the stream's seed. */
	make_ivs_stream(&s, TEST_SEED, good_runs, ARRAY_SIZE(good_runs), at);
	rebuild_header(&s, hdr_other_seed);
	r = parse_ivs(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.bulks == 1 &&
	      r.err_at == at[0] + RL + 24 &&
	      same(r.why, "bulk data check mismatch"),
	      "another seed in the header (CRC fixed): the first bulk record fails its check (err %d \"%s\" at %zu)",
	      r.err, r.why ? r.why : "", r.err_at);
}

/* A small stream: every prefix and every single-bit flip. */
static void test_bulk_small(void)
{
	static const struct run runs[] = { { 0x0, 8 }, { 0x1000, 24 } };
	static struct stream s;
	struct result r;
	size_t len, i;
	int bit, bad = 0, accepted = 0, wrong = 0;
	char why[128];
	bool ok;

	make_ivs_stream(&s, TEST_SEED, runs, ARRAY_SIZE(runs), NULL);
	r = parse_ivs(s.bytes, s.len, 1);
	ok = delivered(&r, &s, s.len, why, sizeof(why));
	check(!r.err && r.done && ok,
	      "small bulk stream (%zu bytes) parses bytewise, records delivered as sent (err %d, %s)",
	      s.len, r.err, why);
	for (len = 0; len < s.len; len++) {
		r = parse_ivs(s.bytes, len, 3);
		if (r.err || r.done || !delivered(&r, &s, len, why, sizeof(why))) {
			if (!bad)
				printf("# prefix of %zu bytes: err %d, done %d, %s\n",
				       len, r.err, r.done, why);
			bad++;
		}
	}
	check(!bad, "every proper prefix of it is incomplete, not an error, and delivers the records it holds whole as sent (%d bad)",
	      bad);
	for (i = 0; i < s.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			s.bytes[i] ^= 1 << bit;
			r = parse_ivs(s.bytes, s.len, 4096);
			s.bytes[i] ^= 1 << bit;
			if (!r.err && r.done)
				accepted++;
			if (!delivered(&r, &s, i, why, sizeof(why))) {
				if (!wrong)
					printf("# bit %d of byte %zu flipped: %s\n",
					       bit, i, why);
				wrong++;
			}
		}
	}
	check(!accepted, "every single-bit flip of it is refused (%d accepted)",
	      accepted);
	check(!wrong, "with a flipped bit, only the records (bulk: heads) wholly before it are delivered, as sent (%d flips delivered others)",
	      wrong);
}

/* Records that the parser refuses at their header, and why. */
static void test_bulk_refusals(void)
{
	static const struct {
		const char *what;
		u16 type;
		u16 flags;
		u32 length;	/* 0: that of 4096 data bytes */
		int err;
		const char *why;
	} cases[] = {
		{ "MEM marked BULK|OPTIONAL", QVP_REC_IVSHMEM_MEM,
		  QVP_REC_F_BULK | QVP_REC_F_OPTIONAL, 0, -EINVAL,
		  "bulk record marked optional" },
		{ "unknown type marked BULK|OPTIONAL", 0x7f01,
		  QVP_REC_F_BULK | QVP_REC_F_OPTIONAL, 0, -EINVAL,
		  "bulk record marked optional" },
		{ "unknown type marked BULK", 0x7f01, QVP_REC_F_BULK, 0,
		  -EINVAL, "unknown mandatory record type" },
		{ "END marked BULK", QVP_REC_END, QVP_REC_F_BULK, 0, -EINVAL,
		  "END record marked bulk" },
		{ "END marked BULK, length 0", QVP_REC_END, QVP_REC_F_BULK,
		  0xffffffff, -EINVAL, "END record marked bulk" },
		{ "CONFIG marked BULK", QVP_REC_IVSHMEM_CONFIG, QVP_REC_F_BULK,
		  0, -EINVAL, "bulk flag on a plain record type" },
		{ "REGS marked BULK, length 24", QVP_REC_IVSHMEM_REGS,
		  QVP_REC_F_BULK, 24, -EINVAL,
		  "bulk flag on a plain record type" },
		{ "MEM with length 28", QVP_REC_IVSHMEM_MEM, QVP_REC_F_BULK, 28,
		  -EINVAL, "bulk record data is not whole 64-bit words" },
		{ "MEM with length 4116", QVP_REC_IVSHMEM_MEM, QVP_REC_F_BULK,
		  4116, -EINVAL, "bulk record data is not whole 64-bit words" },
		{ "MEM with length 16 (no data)", QVP_REC_IVSHMEM_MEM,
		  QVP_REC_F_BULK, 16, -EINVAL, "record too short for its type" },
		{ "unlimited bulk type, length 16 (no data)", T_BULK_ANY,
		  QVP_REC_F_BULK, 16, -EINVAL,
		  "bulk record data is not whole 64-bit words" },
		{ "unlimited bulk type, length 8 (head only)", T_BULK_ANY,
		  QVP_REC_F_BULK, 8, -EINVAL,
		  "bulk record data is not whole 64-bit words" },
		{ "unlimited bulk type, length 20", T_BULK_ANY,
		  QVP_REC_F_BULK, 20, -EINVAL,
		  "bulk record data is not whole 64-bit words" },
		{ "MEM of 65544 data bytes", QVP_REC_IVSHMEM_MEM,
		  QVP_REC_F_BULK, QVP_BULK_OVERHEAD + 65544, -EFBIG,
		  "record length exceeds the limit of its type" },
		{ "MEM of 4 GiB", QVP_REC_IVSHMEM_MEM, QVP_REC_F_BULK,
		  0xfffffff8, -EFBIG,
		  "record length exceeds the limit of its type" },
		{ "unlimited bulk type, 56 data bytes", T_BULK_ANY,
		  QVP_REC_F_BULK, QVP_BULK_OVERHEAD + 56, -EFBIG,
		  "record length exceeds the limit of its type" },
		{ "MEM with unknown flag 0x0004", QVP_REC_IVSHMEM_MEM,
		  QVP_REC_F_BULK | 0x0004, 0, -EINVAL, "unknown record flags" },
	};
	static struct stream s;
	struct result r;
	unsigned int i;
	size_t at;
	u32 len;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		len = cases[i].length;
		if (!len)
			len = QVP_BULK_OVERHEAD + 4096;
		else if (len == 0xffffffff)
			len = 0;
		at = ivs_start(&s, TEST_SEED);
		put_raw_bulk(&s, cases[i].type, cases[i].flags, len, 0x1000,
			     image, 4096);
		r = parse_ivs(s.bytes, s.len, 4096);
		check(r.err == cases[i].err && r.err_at == at + RL &&
		      !r.bulks && same(r.why, cases[i].why),
		      "%s: %s \"%s\" at its header (err %d \"%s\" at %zu)",
		      cases[i].what, cases[i].err == -EFBIG ? "EFBIG" : "EINVAL",
		      cases[i].why, r.err, r.why ? r.why : "", r.err_at);
	}

	/* A bulk type sent as a plain record, its CRC over all of it. */
	{
		static u8 payload[QVP_BULK_OVERHEAD + 4096];
		struct qvp_bulk_head head = { .offset = htole64(0x1000) };
		__le64 c = htole64(qvp_bulk_check(TEST_SEED, 0x1000, image,
						  4096));

		memcpy(payload, &head, sizeof(head));
		memcpy(payload + BULK_HEAD, image, 4096);
		memcpy(payload + BULK_HEAD + 4096, &c, sizeof(c));
		at = ivs_start(&s, TEST_SEED);
		put_record(&s, QVP_REC_IVSHMEM_MEM, 0, payload,
			   sizeof(payload));
		ivs_finish(&s);
		r = parse_ivs(s.bytes, s.len, 4096);
		check(r.err == -EINVAL && r.err_at == at + RL &&
		      same(r.why, "bulk record type without the bulk flag"),
		      "MEM without the BULK flag: EINVAL \"bulk record type without the bulk flag\" at its header (err %d \"%s\")",
		      r.err, r.why ? r.why : "");
	}

	/* Plain records still meet the buffer size; bulk ones do not. */
	{
		u8 big[IVS_BUF_SIZE + 8] = { 0 };
		char why[128];
		bool ok;
		static const struct qvp_rec_desc loose[] = {
			{
				.type = QVP_REC_IVSHMEM_CONFIG,
				.min_len = sizeof(struct qvp_ivshmem_config),
				.max_len = sizeof(struct qvp_ivshmem_config),
			},
			{
				.type = QVP_REC_IVSHMEM_REGS,
				.min_len = sizeof(struct qvp_ivshmem_regs),
				.max_len = sizeof(struct qvp_ivshmem_regs),
			},
			{ .type = 0x0300, .min_len = 0, .max_len = 4096 },
			{
				.type = QVP_REC_IVSHMEM_MEM,
				.bulk = true,
				.min_len = QVP_BULK_OVERHEAD + 8,
				.max_len = QVP_BULK_OVERHEAD + QVP_IVSHMEM_CHUNK,
			},
		};

		at = ivs_start(&s, TEST_SEED);
		put_record(&s, 0x0300, 0, big, sizeof(big));
		r = parse_as(&ivs_id, loose, ARRAY_SIZE(loose), IVS_BUF_SIZE,
			     s.bytes, s.len, 4096);
		check(r.err == -EFBIG && r.err_at == at + RL,
		      "a plain record larger than the parser's buffer: EFBIG (err %d)",
		      r.err);
		s.len = at;
		put_bulk(&s, QVP_REC_IVSHMEM_MEM, TEST_SEED, 0, image, 65536);
		ivs_finish(&s);
		r = parse_as(&ivs_id, loose, ARRAY_SIZE(loose), IVS_BUF_SIZE,
			     s.bytes, s.len, 4096);
		ok = delivered(&r, &s, s.len, why, sizeof(why));
		check(!r.err && r.done && ok,
		      "a 65536-byte bulk record with a %d-byte parser buffer is accepted (err %d, %s)",
		      IVS_BUF_SIZE, r.err, why);
	}
}

/*
 * vfio-mig's record tables (tools/vfio-mig/records.c), with which it
 * checks streams, say what this test's own tables (written from the uapi
 * header) say.  The driver's tables, beside its backends, are checked in
 * the VM: its streams go through "vfio-mig dump", and edu_badinput
 * feeds it records of wrong lengths.
 */
static void same_descs(const char *name, const struct qvp_rec_desc *got,
		       unsigned int nr_got, const struct qvp_rec_desc *want,
		       unsigned int nr_want)
{
	unsigned int i;
	bool same = nr_got == nr_want;

	for (i = 0; same && i < nr_got; i++)
		same = got[i].type == want[i].type &&
		       got[i].min_len == want[i].min_len &&
		       got[i].max_len == want[i].max_len &&
		       got[i].bulk == want[i].bulk;
	check(same, "vfio-mig's %s record table matches the format", name);
}

static void test_tables(void)
{
	same_descs("edu", qvp_edu_records, QVP_EDU_NR_RECORDS, edu_descs,
		   ARRAY_SIZE(edu_descs));
	/* ivs_descs ends with T_BULK_ANY, a type of this test's own */
	same_descs("ivshmem", qvp_ivshmem_records, QVP_IVSHMEM_NR_RECORDS,
		   ivs_descs, ARRAY_SIZE(ivs_descs) - 1);
	same_descs("igbvf", qvp_igbvf_records, QVP_IGBVF_NR_RECORDS,
		   igbvf_descs, ARRAY_SIZE(igbvf_descs));
}

int main(void)
{
	image_init();
	printf("TAP version 13\n");
	test_crc();
	test_valid();
	test_truncated();
	test_bitflips();
	test_header_fields();
	test_seed();
	test_records();
	test_bulk_check();
	test_bulk_valid();
	test_bulk_direct();
	test_bulk_corrupt();
	test_bulk_small();
	test_bulk_refusals();
	test_tables();
	printf("1..%d\n", test_nr);
	return test_failed ? 1 : 0;
}
