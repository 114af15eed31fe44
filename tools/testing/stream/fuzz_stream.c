// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target of the qemu-vfio-pci stream parser: the very same
 * stream.c that goes into the module, built for userspace as stream_test
 * builds it, with AddressSanitizer and UndefinedBehaviorSanitizer.
 *
 * An input is a stream as it would be written to a resume fd.  Its header's
 * backend byte (modulo 3) picks the record table (tools/vfio-mig/records.c)
 * and the device identity (fuzz.h) the parser expects.  Each input is
 * parsed twice over: as it is, and with every CRC and bulk check that the
 * input has room for made right, so that mutations reach the rules behind
 * the checksums.  Each of the two is parsed four ways: with
 * qvp_parser_feed() in one piece, in pieces of sizes drawn from a
 * generator seeded by the input, byte by byte (its first KiB), and with
 * qvp_parser_next() and qvp_parser_commit() as the driver's resume path
 * uses them (bulk data stored and hashed a word at a time by the caller).
 *
 * The target abort()s, which libFuzzer keeps as a crash, when
 *  - any of the four disagrees with a model of the format written from
 *    the validation table of the stream format page
 *    (Documentation/driver-api/vfio/qemu-vfio-pci-stream.rst): the records
 *    handed over, each with its type, length, payload or bulk head and the
 *    stream byte at which it comes, and the outcome: complete, incomplete,
 *    or refused with that errno, reason, value and stream offset;
 *  - a promise of stream.h breaks: qvp_parser_next() points outside the
 *    parser's own storage or wants no byte; qvp_parser_feed() takes more
 *    than it was given, or stops early without a record or an error;
 *    qvp_parser_commit() of 0 bytes is not a no-op returning 0 (or the
 *    error); a return value is not one of those documented; a refusal
 *    does not stick (same errno, reason and offset on every later call);
 *    an accepted stream takes one more byte without being refused.
 * The payload buffer is allocated to its exact size, so that ASan sees
 * any write past it.
 *
 * With FUZZ_STREAM_VERBOSE=1 in the environment it also prints, per
 * input, what the model made of it (scripts/fuzz.sh uses that to check
 * that the seed corpus holds complete streams).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "stream.h"

#define HL	sizeof(struct qvp_stream_header)
#define RL	sizeof(struct qvp_record_header)

/*
 * Only stream.c is the code under test: the model, the reference
 * checksums and the loops that feed the parser get no coverage
 * instrumentation.  Instrumented, they took more than half of the time,
 * and their branches would count as coverage of the parser and steer
 * libFuzzer for nothing.
 */
#define ORACLE	__attribute__((no_sanitize("coverage")))

/*
 * What a parse produced: a digest and count of the records handed over
 * (so that two parses compare without storing them), and how it ended.
 */
struct outcome {
	u64 trace;
	unsigned int nr;
	bool done;
	int err;
	const char *why;
	u64 err_offset;
	bool has_val;
	u64 val;
};

/* --- helpers written from the format alone, not from stream.c ---------- */

ORACLE static u64 get_le(const u8 *p, unsigned int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

ORACLE static void put_le(u8 *p, u64 v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (u8)v;
}

/* CRC-32 of zlib, bit by bit: another implementation than stream.c's. */
ORACLE static u32 ref_crc(u32 crc, const u8 *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

ORACLE static u64 ref_rol(u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

ORACLE static u64 ref_step(u64 a, u64 w)
{
	return ref_rol(a + w * QVP_BULK_K2, 31) * QVP_BULK_K1;
}

ORACLE static u64 ref_mix(u64 h)
{
	h ^= h >> 33;
	h *= QVP_BULK_K2;
	h ^= h >> 29;
	h *= QVP_BULK_K1;
	return h ^ (h >> 32);
}

/* The check of a bulk record's data, as the uapi header defines it. */
ORACLE static u64 ref_check(u64 s, u64 off, const u8 *data, size_t len)
{
	u64 c = ref_step(s ^ off, len), v[4];
	size_t at, i, n;

	for (at = 0; at < len; at += n) {
		n = len - at < QVP_BULK_BLOCK ? len - at : QVP_BULK_BLOCK;
		v[0] = s + QVP_BULK_K1 + QVP_BULK_K2;
		v[1] = s + QVP_BULK_K2;
		v[2] = s;
		v[3] = s - QVP_BULK_K1;
		for (i = 0; i < n / 8; i++)
			v[i % 4] = ref_step(v[i % 4], get_le(data + at + 8 * i, 8));
		c = ref_step(c, ref_mix(ref_rol(v[0], 1) + ref_rol(v[1], 7) +
					ref_rol(v[2], 12) + ref_rol(v[3], 18) + n));
	}
	return ref_mix(c);
}

ORACLE static u64 fnv(u64 h, const void *data, size_t len)
{
	const u8 *p = data;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* A record handed over, folded into @o's trace. */
ORACLE static void note(struct outcome *o, int kind, u16 type, u64 len, u64 at,
		 u64 bulk_offset, const u8 *payload)
{
	u64 v[5] = { (u64)kind, type, len, at, bulk_offset };

	o->trace = fnv(o->trace, v, sizeof(v));
	if (payload)
		o->trace = fnv(o->trace, payload, len);
	o->nr++;
}

/* --- the model ---------------------------------------------------------- */

ORACLE static void refuse(struct outcome *o, int err, const char *why, u64 at)
{
	o->err = err;
	o->why = why;
	o->err_offset = at;
}

ORACLE static void refuse_val(struct outcome *o, int err, const char *why, u64 at,
		       u64 val)
{
	refuse(o, err, why, at);
	o->has_val = true;
	o->val = val;
}

ORACLE static bool model_header(const struct fz_backend *be, const u8 *d,
			 struct outcome *o)
{
	const struct qvp_stream_id *id = &be->id;

	/* Steps 1 to 7 of the table, in its order. */
	if (get_le(d, 4) != QVP_STREAM_MAGIC)
		refuse(o, -EINVAL, "bad magic: not a qemu-vfio-pci stream", HL);
	else if (get_le(d + 4, 2) != QVP_STREAM_VERSION)
		refuse_val(o, -EINVAL, "unsupported stream version", HL,
			   get_le(d + 4, 2));
	else if (get_le(d + 6, 2) != HL)
		refuse_val(o, -EINVAL, "bad stream header length", HL,
			   get_le(d + 6, 2));
	else if (get_le(d + 28, 4) != ref_crc(0, d, 28))
		refuse(o, -EINVAL, "stream header checksum mismatch", HL);
	else if (get_le(d + 18, 2))
		refuse(o, -EINVAL, "unknown stream header flags", HL);
	else if (d[17] != id->backend)
		refuse(o, -EINVAL, "stream is for another device model", HL);
	else if (get_le(d + 8, 2) != id->vendor ||
		 get_le(d + 10, 2) != id->device ||
		 get_le(d + 12, 2) != id->subsystem_vendor ||
		 get_le(d + 14, 2) != id->subsystem_device ||
		 d[16] != id->revision)
		refuse(o, -EINVAL,
		       "stream is from a device with another PCI identity", HL);
	return !o->err;
}

/*
 * Steps 8 to 15 for the record header at @d; @at is the stream offset
 * just past it.  Sets *@skip for an unknown optional record.
 */
ORACLE static bool model_rechdr(const struct fz_backend *be, size_t buf_size,
			 const u8 *d, u64 at, bool *skip, struct outcome *o)
{
	u16 type = get_le(d, 2), flags = get_le(d + 2, 2);
	u32 len = get_le(d + 4, 4), min = 0, max;
	const struct qvp_rec_desc *desc = NULL;
	bool bulk = flags & QVP_REC_F_BULK;
	unsigned int i;

	for (i = 0; i < be->nr_descs; i++)
		if (be->descs[i].type == type)
			desc = &be->descs[i];
	*skip = false;
	if (flags & ~(QVP_REC_F_OPTIONAL | QVP_REC_F_BULK)) {
		refuse(o, -EINVAL, "unknown record flags", at);
	} else if (bulk && (flags & QVP_REC_F_OPTIONAL)) {
		refuse(o, -EINVAL, "bulk record marked optional", at);
	} else if (type == QVP_REC_END && bulk) {
		refuse(o, -EINVAL, "END record marked bulk", at);
	} else if (type != QVP_REC_END && desc && bulk != desc->bulk) {
		refuse(o, -EINVAL, bulk ? "bulk flag on a plain record type" :
		       "bulk record type without the bulk flag", at);
	} else if (type != QVP_REC_END && !desc &&
		   !(flags & QVP_REC_F_OPTIONAL)) {
		refuse(o, -EINVAL, "unknown mandatory record type", at);
	} else {
		if (type == QVP_REC_END) {
			max = 0;
		} else if (desc) {
			min = desc->min_len;
			max = desc->max_len;
		} else {
			max = QVP_OPTIONAL_REC_MAX;
			*skip = true;
		}
		if (len > max || (!bulk && len > buf_size))
			refuse(o, -EFBIG,
			       "record length exceeds the limit of its type", at);
		else if (len < min)
			refuse(o, -EINVAL, "record too short for its type", at);
		else if (bulk && (len < 24 || len % 8))
			refuse(o, -EINVAL,
			       "bulk record data is not whole 64-bit words", at);
	}
	return !o->err;
}

/* What the format says of the first @len bytes of a stream. */
ORACLE static void model(const struct fz_backend *be, size_t buf_size, const u8 *d,
		  size_t len, struct outcome *o)
{
	size_t pos = HL, at, dlen;
	u64 seed, off;
	u32 rlen, crc;
	bool skip;

	memset(o, 0, sizeof(*o));
	if (len < HL || !model_header(be, d, o))
		return;
	seed = get_le(d + 20, 4) | get_le(d + 24, 4) << 32;
	for (;;) {
		if (len - pos < RL)
			return;
		at = pos + RL;
		if (!model_rechdr(be, buf_size, d + pos, at, &skip, o))
			return;
		rlen = get_le(d + pos + 4, 4);
		crc = ref_crc(0, d + pos, 8);
		if (get_le(d + pos + 2, 2) & QVP_REC_F_BULK) {
			/* Step 18 once the head is in, 20 after the check. */
			if (len - at < 8)
				return;
			if (get_le(d + pos + 8, 4) != ref_crc(crc, d + at, 8)) {
				refuse(o, -EINVAL, "record checksum mismatch",
				       at + 8);
				return;
			}
			off = get_le(d + at, 8);
			dlen = rlen - 16;
			note(o, QVP_PARSE_BULK, get_le(d + pos, 2), dlen, at + 8,
			     off, NULL);
			at += 8;
			if (len - at < dlen + 8)
				return;
			if (get_le(d + at + dlen, 8) !=
			    ref_check(seed, off, d + at, dlen)) {
				refuse(o, -EINVAL, "bulk data check mismatch",
				       at + dlen + 8);
				return;
			}
			pos = at + dlen + 8;
			continue;
		}
		/* Step 16, then END and step 21. */
		if (len - at < rlen)
			return;
		if (get_le(d + pos + 8, 4) != ref_crc(crc, d + at, rlen)) {
			refuse(o, -EINVAL, "record checksum mismatch",
			       at + rlen);
			return;
		}
		pos = at + rlen;
		if (get_le(d + at - RL, 2) == QVP_REC_END) {
			o->done = true;
			if (pos < len) {
				o->done = false;
				refuse(o, -EINVAL, "data after the END record",
				       pos);
			}
			return;
		}
		if (!skip)
			note(o, QVP_PARSE_RECORD, get_le(d + pos - rlen - RL, 2),
			     rlen, pos, 0, d + at);
	}
}

/*
 * Make every CRC and bulk check that the input has room for right, as a
 * writer would have computed them, whatever the fields around them say.
 */
ORACLE static void fix_checks(u8 *d, size_t len)
{
	size_t pos = HL, dlen;
	u64 seed;
	u32 rlen, crc;

	if (len < HL)
		return;
	put_le(d + 28, ref_crc(0, d, 28), 4);
	seed = get_le(d + 20, 4) | get_le(d + 24, 4) << 32;
	while (len - pos >= RL) {
		rlen = get_le(d + pos + 4, 4);
		crc = ref_crc(0, d + pos, 8);
		if (get_le(d + pos + 2, 2) & QVP_REC_F_BULK) {
			if (rlen < 16 || len - pos - RL < 8)
				return;
			put_le(d + pos + 8, ref_crc(crc, d + pos + RL, 8), 4);
			dlen = rlen - 16;
			if (len - pos - RL - 8 < dlen + 8)
				return;
			put_le(d + pos + RL + 8 + dlen,
			       ref_check(seed, get_le(d + pos + RL, 8),
					 d + pos + RL + 8, dlen), 8);
			pos += RL + rlen;
		} else {
			if (len - pos - RL < rlen)
				return;
			put_le(d + pos + 8, ref_crc(crc, d + pos + RL, rlen), 4);
			pos += RL + rlen;
		}
	}
}

/* --- the parser, fed four ways ------------------------------------------ */

enum split { SPLIT_WHOLE, SPLIT_RANDOM, SPLIT_BYTES, SPLIT_DIRECT };

struct run {
	const struct fz_backend *be;
	const u8 *d;
	size_t len;
	u8 *buf;
	size_t buf_size;
	u64 rnd;
};

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_stream: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

ORACLE static u64 rnd_next(struct run *r)
{
	/* xorshift64*: any generator will do; it only has to be repeatable. */
	r->rnd ^= r->rnd >> 12;
	r->rnd ^= r->rnd << 25;
	r->rnd ^= r->rnd >> 27;
	return r->rnd * 0x2545f4914f6cdd1dULL;
}

/* The size of the next piece: mostly small, sometimes all that is left. */
ORACLE static size_t piece(struct run *r, enum split how, size_t left)
{
	u64 x;

	if (how == SPLIT_WHOLE)
		return left;
	/*
	 * Byte by byte through the first KiB (headers and the first
	 * records), then as SPLIT_RANDOM: a whole 12 KiB seed byte by byte
	 * cost more than all other ways together, for bulk data that small
	 * random pieces split at every offset anyway.
	 */
	if (how == SPLIT_BYTES && r->len - left < 1024)
		return 1;
	x = rnd_next(r);
	switch (x & 3) {
	case 0:
		return 1 + (x >> 8) % 8;
	case 1:
		return 1 + (x >> 8) % 64;
	case 2:
		return 1 + (x >> 8) % 8192;
	default:
		return left;
	}
}

ORACLE static bool in(const void *p, size_t n, const void *base, size_t size)
{
	const u8 *a = p, *b = base;

	return a >= b && a <= b + size && n <= (size_t)(b + size - a);
}

/*
 * What qvp_parser_commit() or qvp_parser_feed() returned after @at bytes
 * in all: checked against stream.h and noted.  True when parsing stops.
 */
ORACLE static bool account(const struct run *r, const struct qvp_parser *p, int ret,
		    u64 at, struct outcome *o)
{
	const struct qvp_rec_desc *desc;

	CHECK(ret == 0 || ret == QVP_PARSE_RECORD || ret == QVP_PARSE_BULK ||
	      ret == -EINVAL || ret == -EFBIG);
	if (ret < 0) {
		CHECK(p->state == QVP_PARSE_FAILED && p->err == ret);
		CHECK(p->why && *p->why && p->err_offset <= at);
		o->err = ret;
		o->why = p->why;
		o->err_offset = p->err_offset;
		o->has_val = p->why_has_val;
		o->val = p->why_has_val ? p->why_val : 0;
		return true;
	}
	CHECK(p->state != QVP_PARSE_FAILED && p->offset == at);
	if (!ret)
		return false;
	desc = qvp_rec_desc_find(r->be->descs, r->be->nr_descs, p->rec_type);
	CHECK(desc && p->rec_type != QVP_REC_END);
	CHECK(p->rec_len >= desc->min_len && p->rec_len <= desc->max_len);
	if (ret == QVP_PARSE_RECORD) {
		/* A plain record, whole in the buffer: the input's bytes. */
		CHECK(!desc->bulk && p->state == QVP_PARSE_RECHDR);
		CHECK(p->rec_len <= r->buf_size && p->rec_len <= at);
		CHECK(!memcmp(p->buf, r->d + at - p->rec_len, p->rec_len));
		note(o, ret, p->rec_type, p->rec_len, at, 0, p->buf);
	} else {
		/* A bulk head: its offset is the input's last 8 bytes. */
		CHECK(desc->bulk && p->state == QVP_PARSE_BULK_DATA);
		CHECK(p->bulk_len == p->rec_len - QVP_BULK_OVERHEAD);
		CHECK(p->bulk_len >= 8 && !(p->bulk_len % 8) && at >= 8);
		CHECK(p->bulk_offset == get_le(r->d + at - 8, 8));
		note(o, ret, p->rec_type, p->bulk_len, at, p->bulk_offset, NULL);
	}
	return false;
}

/* A refused stream stays refused, the same way, whatever comes next. */
ORACLE static void check_sticky(struct qvp_parser *p, const u8 *more, size_t n)
{
	struct qvp_parser was = *p;
	static const u8 junk[1];
	size_t used;

	if (!n) {
		more = junk;
		n = sizeof(junk);
	}
	CHECK(qvp_parser_feed(p, more, n, &used) == was.err);
	CHECK(used >= 1 && used <= n);
	CHECK(qvp_parser_commit(p, 0) == was.err);
	CHECK(p->state == QVP_PARSE_FAILED && p->err == was.err);
	CHECK(p->why == was.why && p->err_offset == was.err_offset);
	CHECK(p->why_has_val == was.why_has_val);
	CHECK(!was.why_has_val || p->why_val == was.why_val);
}

ORACLE static void parse_feed(struct run *r, enum split how, struct outcome *o)
{
	size_t off = 0, n, used;
	struct qvp_parser p;
	int ret;

	memset(o, 0, sizeof(*o));
	qvp_parser_init(&p, &r->be->id, r->be->descs, r->be->nr_descs,
			r->buf, r->buf_size);
	while (off < r->len) {
		n = piece(r, how, r->len - off);
		if (n > r->len - off)
			n = r->len - off;
		/* The parser stops at each record: go on from there. */
		while (n) {
			ret = qvp_parser_feed(&p, r->d + off, n, &used);
			CHECK(used >= 1 && used <= n);
			CHECK(ret || used == n);
			off += used;
			n -= used;
			if (account(r, &p, ret, off, o)) {
				check_sticky(&p, r->d + off, r->len - off);
				return;
			}
		}
	}
	o->done = qvp_parser_done(&p);
	if (o->done && how == SPLIT_WHOLE) {
		/* Not a byte more after END. */
		u8 one = 0;

		ret = qvp_parser_feed(&p, &one, 1, &used);
		CHECK(ret == -EINVAL && used == 1 && p.err_offset == r->len);
		check_sticky(&p, NULL, 0);
	}
}

/*
 * The driver's way (resume.c): qvp_parser_next() says where the bytes
 * go; bulk data the caller stores and hashes a word at a time itself.
 * A stream cut inside a word of bulk data stops here, incomplete.
 */
ORACLE static void parse_direct(struct run *r, struct outcome *o)
{
	size_t off = 0, want, n, i;
	struct qvp_parser p;
	u8 *dst;

	memset(o, 0, sizeof(*o));
	qvp_parser_init(&p, &r->be->id, r->be->descs, r->be->nr_descs,
			r->buf, r->buf_size);
	while (off < r->len) {
		/* Committing nothing is no step: 0, and nothing changes. */
		CHECK(qvp_parser_commit(&p, 0) == 0);
		CHECK(p.offset == off && p.state != QVP_PARSE_FAILED);
		dst = qvp_parser_next(&p, &want);
		CHECK(want >= 1);
		n = piece(r, SPLIT_RANDOM, r->len - off);
		if (n > want)
			n = want;
		if (dst) {
			CHECK(p.state != QVP_PARSE_BULK_DATA);
			CHECK(in(dst, want, &p.u, sizeof(p.u)) ||
			      in(dst, want, r->buf, r->buf_size));
			if (n > r->len - off)
				n = r->len - off;
			memcpy(dst, r->d + off, n);
		} else {
			CHECK(p.state == QVP_PARSE_BULK_DATA);
			CHECK(want <= p.bulk_len && !(want % 8));
			/* Whole words, at least one, as many as are in. */
			n = n < 8 ? 8 : n;
			if (n > r->len - off)
				n = r->len - off;
			n &= ~(size_t)7;
			if (!n)
				break;
			for (i = 0; i < n; i += 8)
				qvp_bulk_sum_word(&p.bulk_sum,
						  get_le(r->d + off + i, 8));
		}
		off += n;
		if (account(r, &p, qvp_parser_commit(&p, n), off, o)) {
			check_sticky(&p, r->d + off, r->len - off);
			return;
		}
	}
	o->done = qvp_parser_done(&p);
}

ORACLE static void print_outcome(const char *what, const struct outcome *o)
{
	fprintf(stderr, "fuzz_stream:   %-8s %u records (trace %016llx), ",
		what, o->nr, (unsigned long long)o->trace);
	if (o->err)
		fprintf(stderr, "refused at byte %llu: %d \"%s\"",
			(unsigned long long)o->err_offset, o->err, o->why);
	else
		fprintf(stderr, "%s", o->done ? "complete" : "incomplete");
	if (o->has_val)
		fprintf(stderr, " %llu", (unsigned long long)o->val);
	fprintf(stderr, "\n");
}

ORACLE static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->trace == b->trace && a->nr == b->nr && a->done == b->done &&
	       a->err == b->err && a->err_offset == b->err_offset &&
	       a->has_val == b->has_val && a->val == b->val &&
	       (a->why == b->why || (a->why && b->why && !strcmp(a->why, b->why)));
}

ORACLE static void check_input(const struct fz_backend *be, const u8 *d, size_t len,
			u64 seed, const char *what)
{
	static const char *const names[] = { "whole", "random", "bytes",
					     "direct" };
	struct outcome want, got;
	size_t largest = 0;
	struct run r;
	unsigned int i;

	/*
	 * The driver's buffer holds the largest plain record of the backend
	 * or an optional one (qvp_max_record()); the smallest that holds the
	 * table's records makes optional ones meet the buffer limit.
	 */
	for (i = 0; i < be->nr_descs; i++)
		if (!be->descs[i].bulk && be->descs[i].max_len > largest)
			largest = be->descs[i].max_len;
	r = (struct run){ .be = be, .d = d, .len = len, .rnd = seed | 1 };
	r.buf_size = seed & 2 ? largest :
		     largest > QVP_OPTIONAL_REC_MAX ? largest :
		     QVP_OPTIONAL_REC_MAX;
	r.buf = malloc(r.buf_size);
	CHECK(r.buf);

	model(be, r.buf_size, d, len, &want);
	if (getenv("FUZZ_STREAM_VERBOSE")) {
		fprintf(stderr, "fuzz_stream: %s, %zu bytes, %s:\n", what, len,
			be->name);
		print_outcome("model", &want);
	}
	for (i = SPLIT_WHOLE; i <= SPLIT_DIRECT; i++) {
		if (i == SPLIT_DIRECT)
			parse_direct(&r, &got);
		else
			parse_feed(&r, i, &got);
		if (same_outcome(&want, &got))
			continue;
		fprintf(stderr, "fuzz_stream: %s, %zu bytes, %s: parser (%s) and model differ\n",
			what, len, be->name, names[i]);
		print_outcome("model", &want);
		print_outcome(names[i], &got);
		abort();
	}
	free(r.buf);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t len);

ORACLE int LLVMFuzzerTestOneInput(const u8 *data, size_t len)
{
	const struct fz_backend *be = &fz_backends[len > 17 ? data[17] % 3 : 1];
	u64 seed = fnv(0xcbf29ce484222325ULL, data, len);
	u8 *fixed;

	check_input(be, data, len, seed, "raw");
	fixed = malloc(len ? len : 1);
	CHECK(fixed);
	if (len)
		memcpy(fixed, data, len);
	fix_checks(fixed, len);
	if (len && memcmp(fixed, data, len))
		check_input(be, fixed, len, seed, "fixed");
	free(fixed);
	return 0;
}
