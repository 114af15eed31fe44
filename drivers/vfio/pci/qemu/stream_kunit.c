// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the qemu-vfio-pci stream code, as the kernel builds it.
 *
 * tools/testing/stream/stream_test.c runs stream.c built in userspace,
 * with a CRC-32 and a compat header of its own.  This suite runs the
 * module's build of the same source: qvp_crc32() on the kernel's
 * crc32_le(), the kernel's byte order helpers, and only the functions
 * that the module has.  There is no qvp_parser_feed() in the kernel, so
 * the suite feeds the parser as resume.c and bulk.c do: each piece of
 * the stream goes where qvp_parser_next() says, and the caller stores
 * bulk data itself and hashes it a word at a time.
 *
 * The cases: known answers (CRC-32, the stream, record and bulk headers,
 * the bulk check, against values computed from the uapi header's
 * description alone); valid streams fed in every split into two pieces
 * and byte by byte; every refusal of the parser with its errno, reason
 * and offset, in every split too; every single-bit flip of small streams.
 */

/*
 * The code under test, compiled into this module from the very source
 * that qemu-vfio-pci.ko compiles.  Not by linking stream.o into both
 * modules: kbuild warns that an object "is added to multiple modules"
 * (each module's link would want it built for itself), and one object
 * cannot be built in for a driver =y and modular for a test =m.  Nor by
 * exporting stream.c's functions from qemu-vfio-pci.ko: that would widen
 * the driver's interface for a test, and make the test load the driver.
 */
#include "stream.c"

#include <kunit/test.h>
#include <linux/bitops.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/slab.h>

#define T_SEED		0x0123456789abcdefULL
#define T_OTHER_SEED	0xfedcba9876543210ULL
#define T_HL		sizeof(struct qvp_stream_header)
#define T_RL		sizeof(struct qvp_record_header)
#define T_HEAD		sizeof(struct qvp_bulk_head)

/* A bulk type with no minimum length, to reach the parser's own rule. */
#define T_BULK_ANY	0x7f10
/* A plain type that allows more than the ivshmem reader's buffer. */
#define T_PLAIN_BIG	0x7f20
/* The ivshmem reader's buffer: enough for its plain records only. */
#define T_IVS_BUF	64

#define T_MAX_SENT	8
#define T_GOT_BYTES	64
#define T_WHY		160

/* --- readers: the parser's configuration --------------------------------- */

struct t_reader {
	const struct qvp_stream_id *id;
	const struct qvp_rec_desc *descs;
	unsigned int nr_descs;
	size_t buf_size;
};

static const struct qvp_stream_id t_edu_id = {
	.vendor = 0x1234, .device = 0x11e8,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.revision = 0x10, .backend = QVP_BACKEND_EDU,
};

static const struct qvp_rec_desc t_edu_descs[] = {
	{
		.type = QVP_REC_EDU_REGS,
		.min_len = sizeof(struct qvp_edu_regs),
		.max_len = sizeof(struct qvp_edu_regs),
	},
};

/* Room for an unknown optional record of the largest size allowed. */
static const struct t_reader t_edu = {
	.id = &t_edu_id,
	.descs = t_edu_descs,
	.nr_descs = ARRAY_SIZE(t_edu_descs),
	.buf_size = 2 * QVP_OPTIONAL_REC_MAX,
};

static const struct qvp_stream_id t_ivs_id = {
	.vendor = 0x1af4, .device = 0x1110,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.revision = 0x01, .backend = QVP_BACKEND_IVSHMEM,
};

/* The ivshmem types as the uapi header defines them, and two of ours. */
static const struct qvp_rec_desc t_ivs_descs[] = {
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
	{ .type = T_BULK_ANY, .bulk = true, .min_len = 0, .max_len = 64 },
	{ .type = T_PLAIN_BIG, .min_len = 0, .max_len = 4096 },
};

static const struct t_reader t_ivs = {
	.id = &t_ivs_id,
	.descs = t_ivs_descs,
	.nr_descs = ARRAY_SIZE(t_ivs_descs),
	.buf_size = T_IVS_BUF,
};

/* --- the bulk check, from the uapi header's description alone ------------ */

static u64 t_ref_word(const u8 *p)
{
	u64 w = 0;
	int i;

	for (i = 7; i >= 0; i--)
		w = w << 8 | p[i];
	return w;
}

static u64 t_ref_step(u64 a, u64 w)
{
	return rol64(a + w * QVP_BULK_K2, 31) * QVP_BULK_K1;
}

static u64 t_ref_mix(u64 h)
{
	h ^= h >> 33;
	h *= QVP_BULK_K2;
	h ^= h >> 29;
	h *= QVP_BULK_K1;
	return h ^ (h >> 32);
}

static u64 t_ref_digest(u64 s, const u8 *block, size_t n)
{
	u64 v[4] = {
		s + QVP_BULK_K1 + QVP_BULK_K2, s + QVP_BULK_K2, s, s - QVP_BULK_K1,
	};
	size_t i;

	for (i = 0; i < n / 8; i++)
		v[i % 4] = t_ref_step(v[i % 4], t_ref_word(block + 8 * i));
	return t_ref_mix(rol64(v[0], 1) + rol64(v[1], 7) + rol64(v[2], 12) +
			 rol64(v[3], 18) + n);
}

static u64 t_ref_check(u64 s, u64 off, const u8 *data, size_t len)
{
	u64 c = t_ref_step(s ^ off, len);
	size_t b;

	for (b = 0; b < len; b += QVP_BULK_BLOCK)
		c = t_ref_step(c, t_ref_digest(s, data + b,
					       min_t(size_t, len - b, QVP_BULK_BLOCK)));
	return t_ref_mix(c);
}

/* The same check through the code under test, as bulk.c computes it. */
static u64 t_check(u64 seed, u64 offset, const u8 *data, size_t len)
{
	struct qvp_bulk_sum s;
	size_t i;

	qvp_bulk_sum_init(&s, seed, offset, len);
	for (i = 0; i + 8 <= len; i += 8)
		qvp_bulk_sum_word(&s, qvp_get_le64(data + i));
	return qvp_bulk_sum_final(&s);
}

/* Deterministic bytes that repeat at no word or block period. */
static void t_fill(u8 *p, size_t len, u64 x)
{
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x >> 24;
	}
}

static u8 *t_alloc(struct kunit *test, size_t size)
{
	u8 *p = kunit_kzalloc(test, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, p);
	return p;
}

/* --- test streams ---------------------------------------------------------- */

/*
 * A record that a reader of the stream is to hand over: a plain record
 * with its payload, or a bulk record's head (the data never goes through
 * the parser's buffer).
 */
struct t_sent {
	bool bulk;
	u16 type;
	u16 flags;
	u32 len;		/* payload bytes; bulk: data bytes */
	size_t payload;		/* plain: stream offset of the payload */
	u64 offset;		/* bulk: the head's offset */
	size_t at;		/* stream bytes after which it is due */
};

/*
 * A test stream and what it encodes: every record a reader must deliver
 * (all but END and unknown optional ones), and the memory that its bulk
 * records fill (@mem, from @src at the same offsets).  A stream to be
 * refused says where: @refuse_at is the parser's error offset, and
 * @refuse_fed the stream bytes after which the refusal comes.
 */
struct t_stream {
	struct kunit *test;
	const struct t_reader *reader;
	u64 seed;
	u8 *bytes;
	size_t len;
	size_t size;
	struct t_sent sent[T_MAX_SENT];
	unsigned int nr_sent;
	u8 *src;
	u8 *mem;
	size_t mem_size;
	size_t refuse_at;
	size_t refuse_fed;
};

static void ts_put(struct t_stream *s, const void *p, size_t len)
{
	KUNIT_ASSERT_LE_MSG(s->test, len, s->size - s->len, "test stream overflow");
	if (len)
		memcpy(s->bytes + s->len, p, len);
	s->len += len;
}

static struct t_sent *ts_sent(struct t_stream *s, bool bulk, u16 type,
			      u16 flags, u32 len)
{
	struct t_sent *e;

	KUNIT_ASSERT_LT_MSG(s->test, s->nr_sent, T_MAX_SENT,
			    "test stream has too many records");
	e = &s->sent[s->nr_sent++];
	*e = (struct t_sent){ .bulk = bulk, .type = type, .flags = flags, .len = len };
	return e;
}

/* A stream of @size bytes at most with its header, for @rd. */
static struct t_stream *ts_new(struct kunit *test, const struct t_reader *rd,
			       u64 seed, size_t size, size_t mem_size)
{
	struct t_stream *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct qvp_stream_header h;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, s);
	s->test = test;
	s->reader = rd;
	s->seed = seed;
	s->size = size;
	s->bytes = t_alloc(test, size);
	s->mem_size = mem_size;
	if (mem_size) {
		s->src = t_alloc(test, mem_size);
		s->mem = t_alloc(test, mem_size);
		t_fill(s->src, mem_size, 0x9e3779b97f4a7c15ULL);
	}
	qvp_stream_header_build(&h, rd->id, seed);
	ts_put(s, &h, sizeof(h));
	return s;
}

/* A plain record; returns its stream offset. */
static size_t ts_record(struct t_stream *s, u16 type, u16 flags,
			const void *payload, u32 len)
{
	struct qvp_record_header rh;
	size_t start = s->len;
	struct t_sent *e;

	if (type != QVP_REC_END && !(flags & QVP_REC_F_OPTIONAL)) {
		e = ts_sent(s, false, type, flags, len);
		e->payload = start + T_RL;
		e->at = start + T_RL + len;
	}
	qvp_record_header_build(&rh, type, flags, payload, len);
	ts_put(s, &rh, sizeof(rh));
	ts_put(s, payload, len);
	return start;
}

/* A bulk record of @len bytes of @src at @offset; returns its stream offset. */
static size_t ts_bulk(struct t_stream *s, u16 type, u64 offset, u32 len)
{
	struct qvp_record_header rh;
	u8 head[sizeof(struct qvp_bulk_head)];
	size_t start = s->len;
	struct t_sent *e;
	__le64 check;

	KUNIT_ASSERT_LE(s->test, offset + len, s->mem_size);
	e = ts_sent(s, true, type, QVP_REC_F_BULK, len);
	e->offset = offset;
	e->at = start + T_RL + T_HEAD;
	qvp_bulk_header_build(&rh, type, head, offset, len);
	ts_put(s, &rh, sizeof(rh));
	ts_put(s, head, sizeof(head));
	ts_put(s, s->src + offset, len);
	memcpy(s->mem + offset, s->src + offset, len);
	check = cpu_to_le64(t_check(s->seed, offset, s->src + offset, len));
	ts_put(s, &check, sizeof(check));
	return start;
}

static void ts_end(struct t_stream *s)
{
	ts_record(s, QVP_REC_END, 0, NULL, 0);
}

/* The refusal is found once the bytes so far are in. */
static void ts_refuse_here(struct t_stream *s)
{
	s->refuse_at = s->len;
	s->refuse_fed = s->len;
}

/* Records complete within the first @len bytes. */
static unsigned int ts_due(const struct t_stream *s, size_t len)
{
	unsigned int n = 0;

	while (n < s->nr_sent && s->sent[n].at <= len)
		n++;
	return n;
}

/* Bytes of the stream header's field at offset @at. */
static size_t t_header_field_size(size_t at)
{
	switch (at) {
	case offsetof(struct qvp_stream_header, revision):
	case offsetof(struct qvp_stream_header, backend):
		return 1;
	case offsetof(struct qvp_stream_header, magic):
	case offsetof(struct qvp_stream_header, seed_lo):
	case offsetof(struct qvp_stream_header, seed_hi):
	case offsetof(struct qvp_stream_header, crc):
		return 4;
	default:
		return 2;
	}
}

/* Set the header field at @at, with a CRC that matches again. */
static void ts_header_set(struct t_stream *s, size_t at, u32 value)
{
	struct qvp_stream_header *h = (void *)s->bytes;
	__le32 v = cpu_to_le32(value);

	memcpy(s->bytes + at, &v, t_header_field_size(at));
	h->crc = cpu_to_le32(qvp_crc32(0, h, QVP_HDR_CRC_LEN));
}

/* The CRC of the bulk record at @start, after its header or head changed. */
static void ts_bulk_fix_crc(struct t_stream *s, size_t start)
{
	struct qvp_record_header *rh = (void *)(s->bytes + start);
	u32 crc = qvp_crc32(0, rh, QVP_REC_CRC_LEN);

	rh->crc = cpu_to_le32(qvp_crc32(crc, s->bytes + start + T_RL, T_HEAD));
}

static const struct qvp_edu_regs t_regs = {
	/* No zero byte, so that a payload lost shows. */
	.liveness = cpu_to_le32(0x12345678),
	.factorial = cpu_to_le32(0x4a375f01),
	.status = cpu_to_le32(0x81a1a1a1),
	.irq_status = cpu_to_le32(0x11223344),
	.dma_src = cpu_to_le64(0x4142434445464748ULL),
	.dma_dst = cpu_to_le64(0x5152535455565758ULL),
	.dma_count = cpu_to_le64(0x6162636465666768ULL),
	.dma_cmd = cpu_to_le64(0x7172737475767778ULL),
};

static const struct qvp_ivshmem_config t_config = {
	.mem_size = cpu_to_le64(0x2000),
};

static const struct qvp_ivshmem_regs t_ivs_regs = {
	.intr_mask = cpu_to_le32(0xffffffff), .intr_status = cpu_to_le32(1),
};

static const u8 t_note[] = "made by a newer writer, skipped by this one";

/* header, EDU_REGS, END: 104 bytes */
static struct t_stream *t_edu_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_edu, T_SEED, 256, 0);

	ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	ts_end(s);
	return s;
}

static struct t_stream *t_edu_empty_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_edu, 0, 64, 0);

	ts_end(s);
	return s;
}

/* Unknown optional records around EDU_REGS: skipped, yet CRC-checked. */
static struct t_stream *t_edu_optional_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_edu, T_SEED, 512, 0);

	ts_record(s, 0x7f01, QVP_REC_F_OPTIONAL, t_note, sizeof(t_note));
	ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	ts_record(s, 0x7f02, QVP_REC_F_OPTIONAL, t_note, 7);
	ts_record(s, 0x7f03, QVP_REC_F_OPTIONAL, NULL, 0);
	ts_end(s);
	return s;
}

/* CONFIG, MEM of 8 bytes at 0 and of 24 at 0x1000, REGS, END. */
static struct t_stream *t_ivs_small_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_SEED, 512, 0x2000);

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0, 8);
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x1000, 24);
	ts_record(s, QVP_REC_IVSHMEM_REGS, 0, &t_ivs_regs, sizeof(t_ivs_regs));
	ts_end(s);
	return s;
}

/* A MEM record one word longer than a block of the check. */
static struct t_stream *t_ivs_block_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_OTHER_SEED, 8192,
				    QVP_BULK_BLOCK + 8);

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0, QVP_BULK_BLOCK + 8);
	ts_record(s, QVP_REC_IVSHMEM_REGS, 0, &t_ivs_regs, sizeof(t_ivs_regs));
	ts_end(s);
	return s;
}

/* MEM records of 8, 4096, 4104 and 65536 bytes. */
static struct t_stream *t_ivs_large_stream(struct kunit *test)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_SEED, 80 * 1024, 0x20000);

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0, 8);
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x1000, QVP_BULK_BLOCK);
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x2000, QVP_BULK_BLOCK + 8);
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x10000, QVP_IVSHMEM_CHUNK);
	ts_record(s, QVP_REC_IVSHMEM_REGS, 0, &t_ivs_regs, sizeof(t_ivs_regs));
	ts_end(s);
	return s;
}

/* --- feeding the parser ---------------------------------------------------- */

/* A QVP_PARSE_RECORD or QVP_PARSE_BULK return, and what came with it. */
struct t_got {
	int kind;
	u16 type;
	u16 flags;
	u32 len;		/* p->rec_len; bulk: p->bulk_len */
	u64 offset;		/* bulk: p->bulk_offset */
	size_t at;		/* stream bytes committed then */
	u8 bytes[T_GOT_BYTES];	/* record: p->buf as it was then */
};

/*
 * One parse of a stream.  @buf and @mem are allocated at their exact
 * sizes, so that KASAN, on a kernel built with it, sees any byte the
 * parser or the test would store beyond them.
 */
struct t_run {
	struct qvp_parser p;
	const struct t_stream *s;
	u8 *buf;
	u8 *mem;
	size_t fed;		/* stream bytes committed */
	int err;		/* the first refusal */
	unsigned int nr_got;	/* deliveries, of which got[] keeps the first */
	struct t_got got[T_MAX_SENT];
};

static void t_run_reset(struct t_run *r)
{
	const struct t_reader *rd = r->s->reader;

	qvp_parser_init(&r->p, rd->id, rd->descs, rd->nr_descs, r->buf,
			rd->buf_size);
	if (r->s->mem_size)
		memset(r->mem, 0, r->s->mem_size);
	r->fed = 0;
	r->err = 0;
	r->nr_got = 0;
}

static struct t_run *t_run_new(struct kunit *test, const struct t_stream *s)
{
	struct t_run *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r);
	r->s = s;
	r->buf = kunit_kmalloc(test, s->reader->buf_size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r->buf);
	if (s->mem_size) {
		r->mem = kunit_kmalloc(test, s->mem_size, GFP_KERNEL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r->mem);
	}
	t_run_reset(r);
	return r;
}

static void t_note_got(struct t_run *r, int kind)
{
	const struct qvp_parser *p = &r->p;
	struct t_got *g;

	if (r->nr_got++ >= T_MAX_SENT)
		return;
	g = &r->got[r->nr_got - 1];
	g->kind = kind;
	g->type = p->rec_type;
	g->flags = p->rec_flags;
	g->at = r->fed;
	if (kind == QVP_PARSE_BULK) {
		g->len = p->bulk_len;
		g->offset = p->bulk_offset;
	} else {
		g->len = p->rec_len;
		memcpy(g->bytes, p->buf, min_t(size_t, p->rec_len, T_GOT_BYTES));
	}
}

/*
 * Bulk data: @n bytes at @pos of the record's data.  Store them where the
 * head says, as a backend's load_bulk() would place them, and hash each
 * word that they complete from where it was stored, as bulk.c hashes the
 * words it moves.  Returns 0, or -ERANGE for data outside the memory.
 */
static int t_store_bulk(struct t_run *r, const u8 *data, size_t pos, size_t n)
{
	struct qvp_parser *p = &r->p;
	u8 *dst;
	size_t w;

	if (p->bulk_offset > r->s->mem_size ||
	    p->bulk_len > r->s->mem_size - p->bulk_offset)
		return -ERANGE;
	dst = r->mem + p->bulk_offset;
	memcpy(dst + pos, data, n);
	for (w = pos / 8; w < (pos + n) / 8; w++)
		qvp_bulk_sum_word(&p->bulk_sum, qvp_get_le64(dst + 8 * w));
	return 0;
}

/*
 * Feed @len stream bytes; the parser says how many it takes at a time.
 * Returns 0, or the parser's -errno (also kept in @r->err if first).
 */
static int t_feed(struct t_run *r, const u8 *data, size_t len)
{
	struct qvp_parser *p = &r->p;
	size_t want, n;
	void *dst;
	int ret;

	while (len) {
		dst = qvp_parser_next(p, &want);
		n = min(want, len);
		ret = 0;
		if (!n)
			ret = -EPIPE;		/* the parser wants nothing */
		else if (dst)
			memcpy(dst, data, n);
		else
			ret = t_store_bulk(r, data, p->bulk_len - want, n);
		if (!ret) {
			ret = qvp_parser_commit(p, n);
			r->fed += n;
			data += n;
			len -= n;
		}
		if (ret == QVP_PARSE_RECORD || ret == QVP_PARSE_BULK)
			t_note_got(r, ret);
		else if (ret > 0)
			ret = -EPROTO;		/* not a return it documents */
		if (ret < 0) {
			if (!r->err)
				r->err = ret;
			return ret;
		}
	}
	return 0;
}

/*
 * Whether @r delivered exactly the first @want records of its stream, as
 * sent: kind, type, flags, length, the stream byte with which each came,
 * a plain record's payload and a bulk record's offset.  @why says what
 * differs first.
 */
static bool t_delivered(const struct t_run *r, unsigned int want, char *why)
{
	const struct t_stream *s = r->s;
	const struct t_sent *e;
	const struct t_got *g;
	unsigned int i;

	if (r->nr_got != want) {
		scnprintf(why, T_WHY, "%u records delivered, %u due", r->nr_got, want);
		return false;
	}
	for (i = 0; i < want; i++) {
		e = &s->sent[i];
		g = &r->got[i];
		if (g->kind != (e->bulk ? QVP_PARSE_BULK : QVP_PARSE_RECORD) ||
		    g->type != e->type || g->flags != e->flags || g->len != e->len) {
			scnprintf(why, T_WHY,
				  "record %u: kind %d type %#x flags %#x length %u, sent %s %#x %#x %u",
				  i, g->kind, g->type, g->flags, g->len,
				  e->bulk ? "bulk" : "plain", e->type, e->flags, e->len);
			return false;
		}
		if (g->at != e->at) {
			scnprintf(why, T_WHY, "record %u: delivered at byte %zu, due at %zu",
				  i, g->at, e->at);
			return false;
		}
		if (e->bulk && g->offset != e->offset) {
			scnprintf(why, T_WHY, "record %u: offset %#llx, sent %#llx",
				  i, g->offset, e->offset);
			return false;
		}
		if (!e->bulk &&
		    memcmp(g->bytes, s->bytes + e->payload, min_t(u32, e->len, T_GOT_BYTES))) {
			scnprintf(why, T_WHY, "record %u: payload differs from the one sent", i);
			return false;
		}
	}
	return true;
}

/* All of a valid stream was fed: accepted, delivered, memory as sent. */
static bool t_complete(const struct t_run *r, char *why)
{
	const struct t_stream *s = r->s;

	if (r->err) {
		scnprintf(why, T_WHY, "refused (%d) at byte %llu: %s", r->err,
			  r->p.err_offset, r->p.why ? r->p.why : "?");
		return false;
	}
	if (!qvp_parser_done(&r->p)) {
		scnprintf(why, T_WHY, "not complete after all %zu bytes", s->len);
		return false;
	}
	if (!t_delivered(r, s->nr_sent, why))
		return false;
	if (s->mem_size && memcmp(r->mem, s->mem, s->mem_size)) {
		scnprintf(why, T_WHY, "bulk data did not land as sent");
		return false;
	}
	return true;
}

/* A proper prefix of @len bytes was fed: incomplete, not refused. */
static bool t_partial(const struct t_run *r, size_t len, char *why)
{
	if (r->err) {
		scnprintf(why, T_WHY, "refused (%d) at byte %llu: %s", r->err,
			  r->p.err_offset, r->p.why ? r->p.why : "?");
		return false;
	}
	if (qvp_parser_done(&r->p)) {
		scnprintf(why, T_WHY, "complete after %zu of %zu bytes", len, r->s->len);
		return false;
	}
	return t_delivered(r, ts_due(r->s, len), why);
}

/* --- known answers ----------------------------------------------------------- */

static void crc32_known_answers(struct kunit *test)
{
	static const char digits[] = "123456789";
	u8 *bytes = t_alloc(test, 256);
	unsigned int i;

	for (i = 0; i < 256; i++)
		bytes[i] = i;
	/* zlib's crc32(), as the uapi header defines the CRC */
	KUNIT_EXPECT_EQ(test, qvp_crc32(0, digits, 9), 0xcbf43926U);
	KUNIT_EXPECT_EQ(test, qvp_crc32(0, bytes, 256), 0x29058c73U);
	memset(bytes, 0, 32);
	KUNIT_EXPECT_EQ(test, qvp_crc32(0, bytes, 32), 0x190a55adU);
	KUNIT_EXPECT_EQ(test, qvp_crc32(0, digits, 0), 0U);
	for (i = 0; i <= 9; i++)
		KUNIT_EXPECT_EQ_MSG(test, qvp_crc32(qvp_crc32(0, digits, i), digits + i, 9 - i),
				    0xcbf43926U, "continued after %u bytes", i);
}

static void stream_header_known_answer(struct kunit *test)
{
	static const u8 want[] = {
		0x51, 0x56, 0x50, 0x53, 0x02, 0x00, 0x20, 0x00,	/* QVPS, 2, 32 */
		0x34, 0x12, 0xe8, 0x11, 0xf4, 0x1a, 0x00, 0x11,	/* IDs */
		0x10, 0x01, 0x00, 0x00,				/* rev, backend, flags */
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,	/* seed */
		0xa1, 0x56, 0x6e, 0xb2,				/* CRC-32 */
	};
	struct t_stream *s = t_edu_empty_stream(test);
	struct qvp_stream_header *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct t_run *r;
	char why[T_WHY];

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, h);
	BUILD_BUG_ON(sizeof(want) != sizeof(*h));
	memset(h, 0xa5, sizeof(*h));
	qvp_stream_header_build(h, &t_edu_id, T_SEED);
	KUNIT_EXPECT_MEMEQ(test, h, want, sizeof(want));

	/* ... and the parser takes it, and reports its seed */
	memcpy(s->bytes, h, sizeof(*h));
	r = t_run_new(test, s);
	t_feed(r, s->bytes, s->len);
	KUNIT_EXPECT_TRUE_MSG(test, t_complete(r, why), "%s", why);
	KUNIT_EXPECT_EQ(test, r->p.seed, T_SEED);
}

static void record_header_known_answers(struct kunit *test)
{
	static const u8 end[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x69, 0xdf, 0x22, 0x65,
	};
	static const u8 regs[] = {
		0x01, 0x01, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x5c, 0x95, 0x02, 0x44,
	};
	static const u8 opt[] = {
		0x01, 0x7f, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0xcc, 0x13, 0x8b, 0xf7,
	};
	struct qvp_record_header *rh = kunit_kzalloc(test, sizeof(*rh), GFP_KERNEL);
	u8 *payload = t_alloc(test, 48);
	unsigned int i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, rh);
	for (i = 0; i < 48; i++)
		payload[i] = 0x30 + i;
	qvp_record_header_build(rh, QVP_REC_END, 0, NULL, 0);
	KUNIT_EXPECT_MEMEQ(test, rh, end, sizeof(end));
	qvp_record_header_build(rh, QVP_REC_EDU_REGS, 0, payload, 48);
	KUNIT_EXPECT_MEMEQ(test, rh, regs, sizeof(regs));
	qvp_record_header_build(rh, 0x7f01, QVP_REC_F_OPTIONAL, "qvp", 3);
	KUNIT_EXPECT_MEMEQ(test, rh, opt, sizeof(opt));
}

static void bulk_header_known_answer(struct kunit *test)
{
	static const u8 want[] = {
		0x02, 0x02, 0x02, 0x00, 0x10, 0x10, 0x00, 0x00,	/* MEM, BULK, 4112 */
		0x21, 0xe3, 0x79, 0x23,				/* CRC-32 */
		0x00, 0x00, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00,	/* offset */
	};
	u8 *raw = t_alloc(test, 32);

	/* As in a stream: the head 12 bytes in, not 8-byte aligned. */
	memset(raw, 0xa5, 32);
	qvp_bulk_header_build((void *)raw, QVP_REC_IVSHMEM_MEM, raw + T_RL,
			      0x3ff0000, QVP_BULK_BLOCK);
	KUNIT_EXPECT_MEMEQ(test, raw, want, sizeof(want));
	KUNIT_EXPECT_EQ(test, raw[sizeof(want)], 0xa5);
}

/* Data: bytes 00 01 .. ff repeated; values computed from the uapi text. */
static const struct {
	u64 seed;
	u64 offset;
	u32 len;
	u64 check;
} t_check_kats[] = {
	{ T_SEED, 0x10000, 4096, 0x5bd68fecb5f3f499ULL },
	{ 0, 0, 8, 0x608ff3bc39a6000bULL },
	{ T_SEED, 0x1000, 24, 0x543a5b868571053aULL },
	{ ~0ULL, 0x2000, 4104, 0xb0488982ba409731ULL },
	{ 0, 0x3ff0000, 65536, 0xcd7640a407c562b3ULL },
	{ T_SEED, 0xfffffffffffff000ULL, 4088, 0x4e1e938fad70eb14ULL },
};

static const struct {
	u64 seed;
	u32 len;
	u64 digest;
} t_digest_kats[] = {
	{ T_SEED, 8, 0x4cd8108c72d1c2b2ULL },
	{ T_SEED, 4096, 0x564e214a8da0a4c3ULL },
	{ 0, 2048, 0xe6f598dc8fe5d496ULL },
};

static void bulk_check_known_answers(struct kunit *test)
{
	u8 *data = t_alloc(test, 65536);
	struct qvp_bulk_sum s;
	unsigned int i, k;
	u64 got;

	for (i = 0; i < 65536; i++)
		data[i] = i;
	for (i = 0; i < ARRAY_SIZE(t_check_kats); i++) {
		got = t_check(t_check_kats[i].seed, t_check_kats[i].offset, data,
			      t_check_kats[i].len);
		KUNIT_EXPECT_EQ_MSG(test, got, t_check_kats[i].check,
				    "check of %u bytes at %#llx, seed %#llx",
				    t_check_kats[i].len, t_check_kats[i].offset,
				    t_check_kats[i].seed);
	}
	/* A lone block's digest, as the PRE_COPY scan takes it (device.c) */
	for (i = 0; i < ARRAY_SIZE(t_digest_kats); i++) {
		qvp_bulk_sum_init(&s, t_digest_kats[i].seed, 0, 0);
		for (k = 0; k + 8 < t_digest_kats[i].len; k += 8)
			KUNIT_EXPECT_FALSE(test, qvp_bulk_sum_word(&s, qvp_get_le64(data + k)));
		if (t_digest_kats[i].len == QVP_BULK_BLOCK)
			KUNIT_EXPECT_TRUE(test, qvp_bulk_sum_word(&s, qvp_get_le64(data + k)));
		else
			KUNIT_EXPECT_FALSE(test, qvp_bulk_sum_word(&s, qvp_get_le64(data + k)));
		got = t_digest_kats[i].len == QVP_BULK_BLOCK ? s.digest :
		      qvp_bulk_block_end(&s);
		KUNIT_EXPECT_EQ_MSG(test, got, t_digest_kats[i].digest,
				    "digest of %u bytes, seed %#llx",
				    t_digest_kats[i].len, t_digest_kats[i].seed);
	}
}

/* stream.c against the reference: every length up to two blocks and more. */
static void bulk_check_matches_reference(struct kunit *test)
{
	static const u64 seeds[] = { 0, T_SEED, ~0ULL };
	size_t size = 2 * QVP_BULK_BLOCK + 64, n;
	u8 *data = t_alloc(test, size);
	unsigned int k, bad = 0, tried = 0;
	size_t first = 0;
	u64 off;

	t_fill(data, size, 0x2545f4914f6cdd1dULL);
	for (n = 8; n <= size; n += 8) {
		for (k = 0; k < ARRAY_SIZE(seeds); k++) {
			if (k && n % 512 && n < size - 64)
				continue;	/* every seed only now and then */
			off = (u64)n * QVP_IVSHMEM_PAGE + k;
			tried++;
			if (t_check(seeds[k], off, data, n) !=
			    t_ref_check(seeds[k], off, data, n) && !bad++)
				first = n;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%u of %u checks differ; first at %zu bytes",
			    bad, tried, first);

	/* Block digests: qvp_bulk_block_end() after every number of words. */
	bad = 0;
	for (n = 8; n <= QVP_BULK_BLOCK; n += 8) {
		bool whole = n == QVP_BULK_BLOCK, ended = false;
		struct qvp_bulk_sum s;
		size_t i;

		qvp_bulk_sum_init(&s, T_SEED, 0, 0);
		for (i = 0; i < n; i += 8)
			ended = qvp_bulk_sum_word(&s, qvp_get_le64(data + i));
		if (!ended)
			qvp_bulk_block_end(&s);
		if (s.digest != t_ref_digest(T_SEED, data, n) || s.pos || ended != whole) {
			if (!bad++)
				first = n;
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%u block digests differ; first at %zu bytes",
			    bad, first);
}

static void bulk_check_binds_seed_offset_length(struct kunit *test)
{
	u8 *data = t_alloc(test, 4096);
	u64 want;

	t_fill(data, 4096, 1);
	want = t_check(T_SEED, 0x1000, data, 4096);
	KUNIT_EXPECT_NE(test, t_check(T_OTHER_SEED, 0x1000, data, 4096), want);
	KUNIT_EXPECT_NE(test, t_check(T_SEED, 0x2000, data, 4096), want);
	KUNIT_EXPECT_NE(test, t_check(T_SEED, 0x1000, data, 4088), want);
	data[4095] ^= 1;
	KUNIT_EXPECT_NE(test, t_check(T_SEED, 0x1000, data, 4096), want);
}

static void rec_desc_find_types(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t_ivs_descs); i++)
		KUNIT_EXPECT_PTR_EQ(test, qvp_rec_desc_find(t_ivs_descs, ARRAY_SIZE(t_ivs_descs),
							    t_ivs_descs[i].type),
				    &t_ivs_descs[i]);
	KUNIT_EXPECT_NULL(test, qvp_rec_desc_find(t_ivs_descs, ARRAY_SIZE(t_ivs_descs),
						  QVP_REC_END));
	KUNIT_EXPECT_NULL(test, qvp_rec_desc_find(t_ivs_descs, ARRAY_SIZE(t_ivs_descs),
						  QVP_REC_EDU_REGS));
	KUNIT_EXPECT_NULL(test, qvp_rec_desc_find(t_ivs_descs, 0, QVP_REC_IVSHMEM_CONFIG));
}

/* Any seed with a good CRC is accepted and reported: it keys bulk checks only. */
static void seed_reported(struct kunit *test)
{
	struct t_stream *s = t_ivs_small_stream(test);
	struct t_run *r = t_run_new(test, s);
	char why[T_WHY];

	t_feed(r, s->bytes, s->len);
	KUNIT_EXPECT_TRUE_MSG(test, t_complete(r, why), "%s", why);
	KUNIT_EXPECT_EQ(test, r->p.seed, T_SEED);

	s = ts_new(test, &t_edu, T_OTHER_SEED, 256, 0);
	ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	ts_end(s);
	r = t_run_new(test, s);
	t_feed(r, s->bytes, s->len);
	KUNIT_EXPECT_TRUE_MSG(test, t_complete(r, why), "%s", why);
	KUNIT_EXPECT_EQ(test, r->p.seed, T_OTHER_SEED);
}

/* --- valid streams, in every split ----------------------------------------- */

struct t_valid {
	const char *name;
	struct t_stream *(*make)(struct kunit *test);
};

static const struct t_valid t_valids[] = {
	{ "edu header EDU_REGS END", t_edu_stream },
	{ "edu header and END alone", t_edu_empty_stream },
	{ "edu with unknown optional records", t_edu_optional_stream },
	{ "ivshmem with MEM of 8 and 24 bytes", t_ivs_small_stream },
	{ "ivshmem with MEM of a block and a word", t_ivs_block_stream },
};

KUNIT_ARRAY_PARAM_DESC(t_valids, t_valids, name);

/*
 * Every split of the stream into two pieces, and byte by byte: after the
 * first piece the stream is incomplete, not refused, with each record
 * whole in it delivered; after the second it is complete, every record
 * delivered as sent, each as its last byte came, and every bulk byte
 * stored where it belongs.
 */
static void valid_every_split(struct kunit *test)
{
	const struct t_valid *c = test->param_value;
	struct t_stream *s = c->make(test);
	struct t_run *r = t_run_new(test, s);
	char why[T_WHY], first[T_WHY] = "";
	unsigned int bad = 0;
	size_t k;
	bool ok;

	for (k = 0; k <= s->len; k++) {
		t_run_reset(r);
		t_feed(r, s->bytes, k);
		ok = k == s->len ? t_complete(r, why) : t_partial(r, k, why);
		if (ok) {
			t_feed(r, s->bytes + k, s->len - k);
			ok = t_complete(r, why);
		}
		if (!ok && !bad++)
			scnprintf(first, sizeof(first), "split at %zu: %s", k, why);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%u of %zu splits of %zu bytes wrong; first: %s",
			    bad, s->len + 1, s->len, first);

	bad = 0;
	t_run_reset(r);
	for (k = 1; k <= s->len; k++) {
		t_feed(r, s->bytes + k - 1, 1);
		ok = k == s->len ? t_complete(r, why) : t_partial(r, k, why);
		if (!ok && !bad++)
			scnprintf(first, sizeof(first), "after byte %zu: %s", k, why);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "bytewise: %u of %zu steps wrong; first: %s",
			    bad, s->len, first);
}

/* A larger stream, with a 65536-byte MEM, in pieces of various sizes. */
static void valid_in_pieces(struct kunit *test)
{
	static const size_t pieces[] = { 1, 3, 7, 8, 13, 4095, 4097, 65536 };
	struct t_stream *s = t_ivs_large_stream(test);
	struct t_run *r = t_run_new(test, s);
	char why[T_WHY];
	unsigned int i;
	size_t k, n;

	for (i = 0; i <= ARRAY_SIZE(pieces); i++) {
		n = i < ARRAY_SIZE(pieces) ? pieces[i] : s->len;
		t_run_reset(r);
		for (k = 0; k < s->len; k += n)
			t_feed(r, s->bytes + k, min(n, s->len - k));
		KUNIT_EXPECT_TRUE_MSG(test, t_complete(r, why), "%zu-byte pieces: %s", n, why);
	}
}

/* --- refusals ---------------------------------------------------------------- */

struct t_refusal {
	const char *name;
	struct t_stream *(*make)(struct kunit *test, const struct t_refusal *c);
	/* t_bad_header: the offset of a stream header field, set to @value */
	size_t at;
	/* t_bad_rechdr: a record header, for the edu reader if @edu */
	u16 type;
	u16 flags;
	u32 length;
	bool edu;
	/* how it is refused */
	u32 value;
	int err;
	const char *why;
	/* the refusal names the field's value, @value (why_has_val) */
	bool names_value;
};

/* A field of an edu stream's header changed, with a good CRC. */
static struct t_stream *t_bad_header(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = t_edu_stream(test);

	ts_header_set(s, c->at, c->value);
	s->nr_sent = 0;
	s->refuse_at = T_HL;
	s->refuse_fed = T_HL;
	return s;
}

/* A seed byte changed without a new CRC. */
static struct t_stream *t_header_crc(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = t_edu_stream(test);

	s->bytes[offsetof(struct qvp_stream_header, seed_hi)] ^= 0x10;
	s->nr_sent = 0;
	s->refuse_at = T_HL;
	s->refuse_fed = T_HL;
	return s;
}

static struct t_stream *t_garbage(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_edu, 0, 256, 0);

	memset(s->bytes, 0xa5, s->size);
	s->len = s->size;
	s->refuse_at = T_HL;
	s->refuse_fed = T_HL;
	return s;
}

/*
 * After a good record, a record header of any type, flags and length,
 * its CRC over the header (and a head, for a bulk one), then bytes that
 * the parser must never reach.
 */
static struct t_stream *t_bad_rechdr(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s;
	struct qvp_record_header rh = {
		.type = cpu_to_le16(c->type),
		.flags = cpu_to_le16(c->flags),
		.length = cpu_to_le32(c->length),
	};
	struct qvp_bulk_head head = { .offset = cpu_to_le64(0x1000) };
	u8 rest[24];
	u32 crc;

	if (c->edu) {
		s = ts_new(test, &t_edu, T_SEED, 256, 0);
		ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	} else {
		s = ts_new(test, &t_ivs, T_SEED, 256, 0x2000);
		ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	}
	crc = qvp_crc32(0, &rh, QVP_REC_CRC_LEN);
	if (c->flags & QVP_REC_F_BULK)
		crc = qvp_crc32(crc, &head, sizeof(head));
	rh.crc = cpu_to_le32(crc);
	ts_put(s, &rh, sizeof(rh));
	ts_refuse_here(s);
	if (c->flags & QVP_REC_F_BULK)
		ts_put(s, &head, sizeof(head));
	memset(rest, 0x5a, sizeof(rest));
	ts_put(s, rest, sizeof(rest));
	return s;
}

/* EDU_REGS with a payload byte changed: refused at its end. */
static struct t_stream *t_bad_payload(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_edu, T_SEED, 256, 0);
	size_t start;

	start = ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	s->bytes[start + T_RL + c->value] ^= 0x01;
	ts_refuse_here(s);
	ts_end(s);
	return s;
}

/* EDU_REGS with its CRC field changed. */
static struct t_stream *t_bad_rec_crc(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_edu, T_SEED, 256, 0);
	size_t start;

	start = ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	s->bytes[start + QVP_REC_CRC_LEN + 3] ^= 0x80;
	ts_refuse_here(s);
	ts_end(s);
	return s;
}

/* A skipped optional record is verified all the same. */
static struct t_stream *t_bad_optional(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_edu, T_SEED, 256, 0);
	size_t start;

	ts_record(s, QVP_REC_EDU_REGS, 0, &t_regs, sizeof(t_regs));
	start = ts_record(s, 0x7f01, QVP_REC_F_OPTIONAL, t_note, sizeof(t_note));
	s->bytes[start + T_RL + 2] ^= 0x20;
	ts_refuse_here(s);
	ts_end(s);
	return s;
}

static struct t_stream *t_bad_end_crc(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = t_edu_stream(test);

	s->bytes[s->len - 1] ^= 0x01;
	ts_refuse_here(s);
	return s;
}

/*
 * The small ivshmem stream with a byte of its second MEM record changed:
 * @value bytes into the record's head, data and check.
 */
static struct t_stream *t_bad_bulk(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_SEED, 512, 0x2000);
	size_t start;

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0, 8);
	start = ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x1000, 24);
	s->bytes[start + T_RL + c->value] ^= 0x04;
	if (c->value < T_HEAD) {
		s->nr_sent--;		/* its head is refused */
		s->refuse_at = start + T_RL + T_HEAD;
	} else {
		s->refuse_at = s->len;
	}
	s->refuse_fed = s->refuse_at;
	ts_record(s, QVP_REC_IVSHMEM_REGS, 0, &t_ivs_regs, sizeof(t_ivs_regs));
	ts_end(s);
	return s;
}

/* The data of a MEM record sent for another offset, its header CRC right. */
static struct t_stream *t_moved_bulk(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_SEED, 512, 0x2000);
	__le64 moved = cpu_to_le64(0x1800);
	size_t start;

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	start = ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x1000, 24);
	memcpy(s->bytes + start + T_RL, &moved, sizeof(moved));
	ts_bulk_fix_crc(s, start);
	s->sent[s->nr_sent - 1].offset = 0x1800;	/* its head is delivered */
	ts_refuse_here(s);
	ts_end(s);
	return s;
}

/* Another seed in the header (CRC right): the first MEM record's check fails. */
static struct t_stream *t_other_seed(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = ts_new(test, &t_ivs, T_SEED, 512, 0x2000);

	ts_record(s, QVP_REC_IVSHMEM_CONFIG, 0, &t_config, sizeof(t_config));
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0x1000, 24);
	ts_refuse_here(s);
	ts_bulk(s, QVP_REC_IVSHMEM_MEM, 0, 8);
	ts_end(s);
	ts_header_set(s, offsetof(struct qvp_stream_header, seed_lo),
		      lower_32_bits(T_OTHER_SEED));
	return s;
}

/* A valid stream, then a byte or a second END: refused once it comes. */
static struct t_stream *t_after_end(struct kunit *test, const struct t_refusal *c)
{
	struct t_stream *s = t_edu_stream(test);
	u8 zero = 0;

	s->refuse_at = s->len;
	s->refuse_fed = s->len + 1;
	if (c->value)
		ts_end(s);
	else
		ts_put(s, &zero, 1);
	return s;
}

/* A header field set to @_value; @_named: the refusal names the value. */
#define T_HDR_NAMED(_name, _field, _value, _why, _named) {		\
	.name = "header " _name, .make = t_bad_header,			\
	.at = offsetof(struct qvp_stream_header, _field),		\
	.value = _value, .err = -EINVAL, .why = _why,			\
	.names_value = _named }

#define T_HDR(_name, _field, _value, _why)				\
	T_HDR_NAMED(_name, _field, _value, _why, false)
#define T_HDR_VAL(_name, _field, _value, _why)				\
	T_HDR_NAMED(_name, _field, _value, _why, true)

#define T_REC(_name, _type, _flags, _length, _err, _why) {		\
	.name = _name, .make = t_bad_rechdr, .type = _type,		\
	.flags = _flags, .length = _length, .err = _err, .why = _why }

#define T_EDU_REC(_name, _type, _flags, _length, _err, _why) {	\
	.name = _name, .make = t_bad_rechdr, .type = _type,		\
	.flags = _flags, .length = _length, .edu = true,		\
	.err = _err, .why = _why }

#define T_MAKE(_name, _make, _value, _why) {				\
	.name = _name, .make = _make, .value = _value,			\
	.err = -EINVAL, .why = _why }

#define T_BULK		QVP_REC_F_BULK
#define T_OPT		QVP_REC_F_OPTIONAL
#define T_MEM		QVP_REC_IVSHMEM_MEM
#define T_CONFIG	QVP_REC_IVSHMEM_CONFIG
#define T_LEN(data)	(QVP_BULK_OVERHEAD + (data))

#define T_MAGIC		"bad magic: not a qemu-vfio-pci stream"
#define T_IDENTITY	"stream is from a device with another PCI identity"
#define T_FLAGS		"unknown record flags"
#define T_LONG		"record length exceeds the limit of its type"
#define T_SHORT		"record too short for its type"
#define T_WORDS		"bulk record data is not whole 64-bit words"
#define T_CRC		"record checksum mismatch"
#define T_CHECK		"bulk data check mismatch"
#define T_AFTER_END	"data after the END record"

/* Every way the parser refuses a stream. */
static const struct t_refusal t_refusals[] = {
	T_HDR("magic QVPT", magic, 0x54505651, T_MAGIC),
	T_HDR("magic byte-swapped", magic, 0x51565053, T_MAGIC),
	T_MAKE("200 bytes of 0xa5", t_garbage, 0, T_MAGIC),
	T_HDR_VAL("version 1", version, 1, "unsupported stream version"),
	T_HDR_VAL("version 3", version, 3, "unsupported stream version"),
	T_HDR_VAL("header_len 40", header_len, 40, "bad stream header length"),
	T_MAKE("header with a seed byte changed", t_header_crc, 0,
	       "stream header checksum mismatch"),
	T_HDR("flags 0x0001", flags, 0x0001, "unknown stream header flags"),
	T_HDR("flags 0x8000", flags, 0x8000, "unknown stream header flags"),
	T_HDR("of another backend", backend, QVP_BACKEND_IVSHMEM,
	      "stream is for another device model"),
	T_HDR("of another vendor", vendor, 0x8086, T_IDENTITY),
	T_HDR("of another device", device, 0x11e9, T_IDENTITY),
	T_HDR("of another subsystem vendor", subsystem_vendor, 0x1b36, T_IDENTITY),
	T_HDR("of another subsystem device", subsystem_device, 0x0001, T_IDENTITY),
	T_HDR("of another revision", revision, 0x11, T_IDENTITY),

	T_REC("MEM with unknown flag 0x0004", T_MEM, T_BULK | 0x0004, T_LEN(24),
	      -EINVAL, T_FLAGS),
	T_REC("END with unknown flag 0x8000", QVP_REC_END, 0x8000, 0, -EINVAL, T_FLAGS),
	T_REC("MEM marked bulk and optional", T_MEM, T_BULK | T_OPT, T_LEN(24),
	      -EINVAL, "bulk record marked optional"),
	T_REC("unknown type marked bulk and optional", 0x7f01, T_BULK | T_OPT,
	      T_LEN(24), -EINVAL, "bulk record marked optional"),
	T_REC("END marked bulk", QVP_REC_END, T_BULK, 0, -EINVAL, "END record marked bulk"),
	T_REC("END marked bulk with a length", QVP_REC_END, T_BULK, T_LEN(24),
	      -EINVAL, "END record marked bulk"),
	T_REC("CONFIG marked bulk", T_CONFIG, T_BULK, T_LEN(24), -EINVAL,
	      "bulk flag on a plain record type"),
	T_REC("MEM without the bulk flag", T_MEM, 0, T_LEN(24), -EINVAL,
	      "bulk record type without the bulk flag"),
	T_REC("unknown mandatory plain type", 0x7f01, 0, 8, -EINVAL,
	      "unknown mandatory record type"),
	T_REC("unknown mandatory bulk type", 0x7f01, T_BULK, T_LEN(24), -EINVAL,
	      "unknown mandatory record type"),

	T_REC("CONFIG of 24 bytes", T_CONFIG, 0, 24, -EFBIG, T_LONG),
	T_REC("END with a payload", QVP_REC_END, 0, 4, -EFBIG, T_LONG),
	T_REC("MEM of 65544 data bytes", T_MEM, T_BULK, T_LEN(65544), -EFBIG, T_LONG),
	T_REC("MEM of 4 GiB", T_MEM, T_BULK, 0xfffffff8, -EFBIG, T_LONG),
	T_REC("bulk type of 56 data bytes over its 48", T_BULK_ANY, T_BULK, T_LEN(56),
	      -EFBIG, T_LONG),
	T_REC("plain record over the parser's buffer", T_PLAIN_BIG, 0, T_IVS_BUF + 8,
	      -EFBIG, T_LONG),
	T_REC("optional record over the parser's buffer", 0x7f02, T_OPT, T_IVS_BUF + 8,
	      -EFBIG, T_LONG),
	T_EDU_REC("optional record of 4097 bytes", 0x7f02, T_OPT,
		  QVP_OPTIONAL_REC_MAX + 1, -EFBIG, T_LONG),
	T_EDU_REC("optional record of 2 GiB", 0x7f02, T_OPT, 0x7fffffff, -EFBIG, T_LONG),
	T_EDU_REC("EDU_REGS of 56 bytes", QVP_REC_EDU_REGS, 0, 56, -EFBIG, T_LONG),

	T_REC("CONFIG of 8 bytes", T_CONFIG, 0, 8, -EINVAL, T_SHORT),
	T_REC("MEM without data", T_MEM, T_BULK, T_LEN(0), -EINVAL, T_SHORT),
	T_EDU_REC("EDU_REGS of 40 bytes", QVP_REC_EDU_REGS, 0, 40, -EINVAL, T_SHORT),
	T_REC("MEM of 28 bytes", T_MEM, T_BULK, 28, -EINVAL, T_WORDS),
	T_REC("MEM of 4116 bytes", T_MEM, T_BULK, 4116, -EINVAL, T_WORDS),
	T_REC("bulk type without data", T_BULK_ANY, T_BULK, T_LEN(0), -EINVAL, T_WORDS),
	T_REC("bulk type of 8 bytes", T_BULK_ANY, T_BULK, 8, -EINVAL, T_WORDS),
	T_REC("bulk type of 20 bytes", T_BULK_ANY, T_BULK, 20, -EINVAL, T_WORDS),

	T_MAKE("EDU_REGS with a payload byte changed", t_bad_payload, 0, T_CRC),
	T_MAKE("EDU_REGS with its last byte changed", t_bad_payload,
	       sizeof(struct qvp_edu_regs) - 1, T_CRC),
	T_MAKE("EDU_REGS with its CRC changed", t_bad_rec_crc, 0, T_CRC),
	T_MAKE("skipped optional record with a byte changed", t_bad_optional, 0, T_CRC),
	T_MAKE("END with its CRC changed", t_bad_end_crc, 0, T_CRC),
	T_MAKE("MEM with a head byte changed", t_bad_bulk, 0, T_CRC),
	T_MAKE("MEM with its last head byte changed", t_bad_bulk, T_HEAD - 1, T_CRC),
	T_MAKE("MEM with its first data byte changed", t_bad_bulk, T_HEAD, T_CHECK),
	T_MAKE("MEM with a middle data byte changed", t_bad_bulk, T_HEAD + 13, T_CHECK),
	T_MAKE("MEM with its last data byte changed", t_bad_bulk, T_HEAD + 23, T_CHECK),
	T_MAKE("MEM with a check byte changed", t_bad_bulk, T_HEAD + 24 + 5, T_CHECK),
	T_MAKE("MEM data sent for another offset", t_moved_bulk, 0, T_CHECK),
	T_MAKE("another seed in the header", t_other_seed, 0, T_CHECK),
	T_MAKE("a byte after END", t_after_end, 0, T_AFTER_END),
	T_MAKE("a second END", t_after_end, 1, T_AFTER_END),
};

KUNIT_ARRAY_PARAM_DESC(t_refusals, t_refusals, name);

/*
 * The refusal of @c after all of its stream was fed: the errno and the
 * reason, at the offset expected, with only the records before it
 * delivered, and for good.
 */
static bool t_refused(const struct t_run *r, const struct t_refusal *c, char *why)
{
	const struct qvp_parser *p = &r->p;

	if (r->err != c->err || !p->why || strcmp(p->why, c->why)) {
		scnprintf(why, T_WHY, "error %d \"%s\", not %d \"%s\"", r->err,
			  p->why ? p->why : "", c->err, c->why);
		return false;
	}
	if (p->err_offset != r->s->refuse_at) {
		scnprintf(why, T_WHY, "refused at byte %llu, not %zu", p->err_offset,
			  r->s->refuse_at);
		return false;
	}
	if (p->why_has_val != c->names_value ||
	    (c->names_value && p->why_val != c->value)) {
		scnprintf(why, T_WHY, "value named: %s %llu, not %s %u",
			  p->why_has_val ? "yes" : "no", p->why_val,
			  c->names_value ? "yes" : "no", c->value);
		return false;
	}
	if (p->state != QVP_PARSE_FAILED || p->err != c->err || qvp_parser_done(p)) {
		scnprintf(why, T_WHY, "parser state %d, error %d", p->state, p->err);
		return false;
	}
	return t_delivered(r, ts_due(r->s, r->s->refuse_at - 1), why);
}

/*
 * Each refusal, with its stream fed whole, in every split into two
 * pieces and byte by byte: the same errno, reason and offset each time.
 * Nothing is refused before the offending unit is in, and the refusal
 * sticks: more bytes, even good ones, get the same error.
 */
static void refusals(struct kunit *test)
{
	const struct t_refusal *c = test->param_value;
	struct t_stream *s = c->make(test, c);
	struct t_run *r = t_run_new(test, s);
	char why[T_WHY], first[T_WHY] = "";
	unsigned int bad = 0;
	size_t k, want;
	void *dst;

	KUNIT_ASSERT_GE(test, s->refuse_at, T_HL);
	KUNIT_ASSERT_LE(test, s->refuse_fed, s->len);

	for (k = 0; k <= s->len; k++) {
		t_run_reset(r);
		t_feed(r, s->bytes, k);
		t_feed(r, s->bytes + k, s->len - k);
		if (!t_refused(r, c, why) && !bad++)
			scnprintf(first, sizeof(first), "split at %zu: %s", k, why);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "%u of %zu splits of %zu bytes wrong; first: %s",
			    bad, s->len + 1, s->len, first);

	bad = 0;
	t_run_reset(r);
	for (k = 1; k <= s->len; k++) {
		t_feed(r, s->bytes + k - 1, 1);
		if (k < s->refuse_fed && r->err && !bad++)
			scnprintf(first, sizeof(first), "refused after byte %zu of %zu (%d)",
				  k, s->refuse_fed, r->err);
		if (k >= s->refuse_fed && !t_refused(r, c, why) && !bad++)
			scnprintf(first, sizeof(first), "after byte %zu: %s", k, why);
	}
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "bytewise: %u of %zu steps wrong; first: %s",
			    bad, s->len, first);

	/* For good: a commit of nothing, a header's worth of bytes. */
	KUNIT_EXPECT_EQ(test, qvp_parser_commit(&r->p, 0), c->err);
	dst = qvp_parser_next(&r->p, &want);
	KUNIT_EXPECT_NOT_NULL(test, dst);
	KUNIT_EXPECT_GE(test, want, 1);
	KUNIT_EXPECT_EQ(test, t_feed(r, s->bytes, T_HL), c->err);
	KUNIT_EXPECT_TRUE_MSG(test, t_refused(r, c, why), "%s", why);
}

/* A parser whose state was overwritten refuses rather than guesses. */
static void impossible_state(struct kunit *test)
{
	struct t_stream *s = t_edu_stream(test);
	struct t_run *r = t_run_new(test, s);

	KUNIT_EXPECT_EQ(test, qvp_parser_commit(&r->p, 0), 0);
	t_feed(r, s->bytes, T_HL);
	KUNIT_ASSERT_EQ(test, r->err, 0);
	r->p.state = QVP_PARSE_FAILED + 1;
	KUNIT_EXPECT_EQ(test, t_feed(r, s->bytes + T_HL, 1), -EINVAL);
	KUNIT_EXPECT_STREQ(test, r->p.why, "parser in an impossible state");
	KUNIT_EXPECT_EQ(test, r->p.state, QVP_PARSE_FAILED);
	KUNIT_EXPECT_EQ(test, t_feed(r, s->bytes, 1), -EINVAL);
}

/* --- single-bit flips ---------------------------------------------------------- */

static const struct t_valid t_flip_streams[] = {
	{ "edu header EDU_REGS END", t_edu_stream },
	{ "edu with unknown optional records", t_edu_optional_stream },
	{ "ivshmem with MEM of 8 and 24 bytes", t_ivs_small_stream },
};

KUNIT_ARRAY_PARAM_DESC(t_flip_streams, t_flip_streams, name);

/*
 * No single-bit flip of the stream leaves a complete stream: the parser
 * refuses it, or waits for bytes that a length made longer promises (a
 * resume then ends with the stream incomplete, which RESUMING -> STOP
 * refuses).  Either way only the records wholly before the flipped byte
 * are delivered, as sent.
 */
static void single_bit_flips(struct kunit *test)
{
	const struct t_valid *c = test->param_value;
	struct t_stream *s = c->make(test);
	struct t_run *r = t_run_new(test, s);
	char why[T_WHY], first[T_WHY] = "";
	unsigned int accepted = 0, wrong = 0, bit;
	size_t i;

	for (i = 0; i < s->len; i++) {
		for (bit = 0; bit < 8; bit++) {
			s->bytes[i] ^= 1 << bit;
			t_run_reset(r);
			t_feed(r, s->bytes, s->len);
			s->bytes[i] ^= 1 << bit;
			if (!r->err && qvp_parser_done(&r->p)) {
				if (!accepted++ && !wrong)
					scnprintf(first, sizeof(first),
						  "bit %u of byte %zu: accepted", bit, i);
			} else if (!t_delivered(r, ts_due(s, i), why)) {
				if (!wrong++ && !accepted)
					scnprintf(first, sizeof(first), "bit %u of byte %zu: %s",
						  bit, i, why);
			}
		}
	}
	KUNIT_EXPECT_EQ_MSG(test, accepted + wrong, 0,
			    "%u of %zu flips accepted, %u delivered other records; first: %s",
			    accepted, 8 * s->len, wrong, first);
}

static struct kunit_case qvp_stream_cases[] = {
	KUNIT_CASE(crc32_known_answers),
	KUNIT_CASE(stream_header_known_answer),
	KUNIT_CASE(record_header_known_answers),
	KUNIT_CASE(bulk_header_known_answer),
	KUNIT_CASE(bulk_check_known_answers),
	KUNIT_CASE(bulk_check_matches_reference),
	KUNIT_CASE(bulk_check_binds_seed_offset_length),
	KUNIT_CASE(rec_desc_find_types),
	KUNIT_CASE(seed_reported),
	KUNIT_CASE_PARAM(valid_every_split, t_valids_gen_params),
	KUNIT_CASE(valid_in_pieces),
	KUNIT_CASE_PARAM(refusals, t_refusals_gen_params),
	KUNIT_CASE(impossible_state),
	KUNIT_CASE_PARAM(single_bit_flips, t_flip_streams_gen_params),
	{}
};

static struct kunit_suite qvp_stream_suite = {
	.name = "qemu-vfio-pci-stream",
	.test_cases = qvp_stream_cases,
};

kunit_test_suite(qvp_stream_suite);

MODULE_DESCRIPTION("KUnit tests of the qemu-vfio-pci stream code and DMA log");
MODULE_LICENSE("GPL");
