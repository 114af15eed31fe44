// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the qemu-vfio-pci stream encoder and parser, built from
 * the very same stream.c that goes into the kernel module.  TAP output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "stream.h"

static int test_nr, test_failed;

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

static const struct qvp_stream_id edu_id = {
	.vendor = 0x1234, .device = 0x11e8,
	.subsystem_vendor = 0x1af4, .subsystem_device = 0x1100,
	.revision = 0x10, .backend = QVP_BACKEND_EDU,
};

static const struct qvp_rec_desc edu_descs[] = {
	{ QVP_REC_EDU_REGS, sizeof(struct qvp_edu_regs), sizeof(struct qvp_edu_regs) },
};

struct stream {
	u8 bytes[4096];
	size_t len;
};

static void put_record(struct stream *s, u16 type, u16 flags,
		       const void *payload, u32 len)
{
	struct qvp_record_header rh;

	qvp_record_header_build(&rh, type, flags, payload, len);
	memcpy(s->bytes + s->len, &rh, sizeof(rh));
	memcpy(s->bytes + s->len + sizeof(rh), payload, len);
	s->len += sizeof(rh) + len;
}

static void make_stream(struct stream *s)
{
	struct qvp_edu_regs regs = {
		.liveness = htole32(0x12345678), .factorial = htole32(3628800),
		.status = htole32(0x80), .dma_src = htole64(0x1000),
	};

	s->len = sizeof(struct qvp_stream_header);
	qvp_stream_header_build((void *)s->bytes, &edu_id);
	put_record(s, QVP_REC_EDU_REGS, 0, &regs, sizeof(regs));
	put_record(s, QVP_REC_END, 0, NULL, 0);
}

struct result {
	int err;		/* first negative return, or 0 */
	size_t err_at;		/* bytes consumed when it happened */
	int records;		/* QVP_PARSE_RECORD deliveries */
	int done;
};

/* Feed @len bytes in pieces of @piece bytes. */
static struct result parse(const void *data, size_t len, size_t piece)
{
	static u8 buf[QVP_OPTIONAL_REC_MAX];
	struct result r = { 0 };
	struct qvp_parser p;
	size_t off = 0, used;
	int ret;

	qvp_parser_init(&p, &edu_id, edu_descs, 1, buf, sizeof(buf));
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;

		while (n) {
			ret = qvp_parser_feed(&p, (const u8 *)data + off, n, &used);
			off += used;
			n -= used;
			if (ret < 0) {
				r.err = ret;
				r.err_at = off;
				return r;
			}
			if (ret == QVP_PARSE_RECORD)
				r.records++;
		}
	}
	r.done = qvp_parser_done(&p);
	return r;
}

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
	struct stream s;
	struct result r;
	unsigned int i;

	make_stream(&s);
	check(s.len == 104, "edu stream is 104 bytes (got %zu)", s.len);
	check(!memcmp(s.bytes, "QVPS", 4), "stream starts with the magic \"QVPS\"");
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		r = parse(s.bytes, s.len, pieces[i]);
		check(!r.err && r.done && r.records == 1,
		      "valid stream in %zu-byte pieces: one record, complete", pieces[i]);
	}
}

static void test_truncated(void)
{
	struct stream s;
	struct result r;
	size_t len;
	int bad = 0;

	make_stream(&s);
	for (len = 0; len < s.len; len++) {
		r = parse(s.bytes, len, 4096);
		if (r.err || r.done)
			bad++;
	}
	check(!bad, "every proper prefix is incomplete and not an error (%d bad)", bad);
}

static void test_bitflips(void)
{
	struct stream s, t;
	struct result r;
	size_t i;
	int bit, accepted = 0;

	make_stream(&s);
	for (i = 0; i < s.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			t = s;
			t.bytes[i] ^= 1 << bit;
			r = parse(t.bytes, t.len, 4096);
			if (!r.err && r.done)
				accepted++;
		}
	}
	check(!accepted, "every single-bit flip of the %zu bytes is refused (%d accepted)",
	      s.len, accepted);
}

static void rebuild_header(struct stream *s, void (*edit)(struct qvp_stream_header *))
{
	struct qvp_stream_header *h = (void *)s->bytes;

	edit(h);
	h->crc = htole32(qvp_crc32(0, h, offsetof(struct qvp_stream_header, crc)));
}

static void hdr_version(struct qvp_stream_header *h) { h->version = htole16(2); }
static void hdr_vendor(struct qvp_stream_header *h) { h->vendor = htole16(0x8086); }
static void hdr_device(struct qvp_stream_header *h) { h->device = htole16(0x11e9); }
static void hdr_revision(struct qvp_stream_header *h) { h->revision = 0x11; }
static void hdr_backend(struct qvp_stream_header *h) { h->backend = QVP_BACKEND_IVSHMEM; }
static void hdr_subsys(struct qvp_stream_header *h) { h->subsystem_device = htole16(1); }
static void hdr_flags(struct qvp_stream_header *h) { h->flags = htole16(1); }
static void hdr_reserved(struct qvp_stream_header *h) { h->reserved[1] = htole32(1); }
static void hdr_len(struct qvp_stream_header *h) { h->header_len = htole16(40); }

static void test_header_fields(void)
{
	static const struct {
		const char *what;
		void (*edit)(struct qvp_stream_header *h);
	} cases[] = {
		{ "version 2", hdr_version }, { "another vendor", hdr_vendor },
		{ "another device", hdr_device }, { "another revision", hdr_revision },
		{ "another backend", hdr_backend }, { "another subsystem", hdr_subsys },
		{ "unknown flags", hdr_flags }, { "reserved bits", hdr_reserved },
		{ "header_len 40", hdr_len },
	};
	struct stream s;
	struct result r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		make_stream(&s);
		rebuild_header(&s, cases[i].edit);
		r = parse(s.bytes, s.len, 4096);
		check(r.err == -EINVAL && r.err_at == sizeof(struct qvp_stream_header),
		      "header with %s and a good CRC: EINVAL at byte 32 (err %d at %zu)",
		      cases[i].what, r.err, r.err_at);
	}
}

static void test_records(void)
{
	const size_t hl = sizeof(struct qvp_stream_header);
	const size_t rl = sizeof(struct qvp_record_header);
	struct stream s;
	struct result r;
	u8 note[100] = "made by a newer writer";
	u8 big[64] = { 0 };

	/* Unknown optional record: skipped. */
	s.len = hl;
	qvp_stream_header_build((void *)s.bytes, &edu_id);
	put_record(&s, 0x7f01, QVP_REC_F_OPTIONAL, note, sizeof(note));
	put_record(&s, QVP_REC_END, 0, NULL, 0);
	r = parse(s.bytes, s.len, 5);
	check(!r.err && r.done && r.records == 0, "unknown optional record is skipped");

	/* Unknown mandatory record: refused at its header. */
	s.len = hl;
	put_record(&s, 0x7f01, 0, note, sizeof(note));
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == hl + rl,
	      "unknown mandatory record: EINVAL at its header (err %d at %zu)", r.err, r.err_at);

	/* Oversized length: refused at the header, before any payload. */
	s.len = hl;
	put_record(&s, QVP_REC_EDU_REGS, 0, big, sizeof(big));
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG && r.err_at == hl + rl,
	      "EDU_REGS of 64 bytes: EFBIG at its header (err %d at %zu)", r.err, r.err_at);
	s.len = hl;
	put_record(&s, 0x7f02, QVP_REC_F_OPTIONAL, big, 0);
	((struct qvp_record_header *)(s.bytes + hl))->length = htole32(0x7fffffff);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG && r.err_at == hl + rl,
	      "optional record of 2 GiB: EFBIG at its header (err %d at %zu)", r.err, r.err_at);

	/* Too short for its type. */
	s.len = hl;
	put_record(&s, QVP_REC_EDU_REGS, 0, big, 40);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == hl + rl, "EDU_REGS of 40 bytes: EINVAL");

	/* END with a payload, unknown record flags. */
	s.len = hl;
	put_record(&s, QVP_REC_END, 0, big, 4);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EFBIG, "END record with a payload is refused (err %d)", r.err);
	s.len = hl;
	put_record(&s, QVP_REC_END, 0x8000, NULL, 0);
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL, "record with unknown flags is refused");

	/* Data after END. */
	make_stream(&s);
	s.bytes[s.len++] = 0;
	r = parse(s.bytes, s.len, 4096);
	check(r.err == -EINVAL && r.err_at == s.len, "a byte after END: EINVAL");

	/* Garbage. */
	memset(s.bytes, 0xa5, 200);
	r = parse(s.bytes, 200, 4096);
	check(r.err == -EINVAL && r.err_at == hl, "garbage: EINVAL at byte 32");

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

int main(void)
{
	printf("TAP version 13\n");
	test_crc();
	test_valid();
	test_truncated();
	test_bitflips();
	test_header_fields();
	test_records();
	printf("1..%d\n", test_nr);
	return test_failed ? 1 : 0;
}
