// SPDX-License-Identifier: GPL-2.0
/*
 * Bad migration streams fed to qemu-vfio-pci on a QEMU edu device.
 *
 * Starting from a real saved stream: every truncation, single bit flips,
 * wrong version and identity (with a correct header CRC, so that only the
 * identity is wrong), oversized record lengths, records after END, unknown
 * mandatory and optional records, and garbage.  For each the driver must
 * refuse with the documented errno on the documented write() (EINVAL, or
 * EFBIG for an oversized record length as soon as the record header is
 * complete), keep returning that errno, fail RESUMING -> STOP with EINVAL
 * and enter ERROR, leave the registers alone, and recover on reset.
 *
 * Usage: edu_badinput [harness options] BDF
 *        (or set VFIO_SELFTESTS_BDF)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig_test.h"

#define LEN		QVP_EDU_STREAM_LEN
#define ANY_ERR		(-1)	/* EINVAL or EFBIG, or only STOP fails */
#define BIG_LEN		0x10000	/* a record length above this is EFBIG */
#define OFF_HDR(f)	offsetof(struct qvp_stream_header, f)
#define OFF_REC(f)	offsetof(struct qvp_record_header, f)

static const char *g_bdf;

/* The state that the saved stream carries */
static const struct edu_state state_saved = {
	.liveness = 0x11111111,
	.fact_n = 6,			/* 720 */
	.irq_on_fact = false,
	.dma_src = 0xe0e0e0e0e0e0e000ULL,
	.dma_dst = 0x0000000e0e0e0000ULL,
	.dma_count = 0xe0e,
};

/* The live state each bad stream is resumed over; it must survive. */
static const struct edu_state state_live = {
	.liveness = 0x22222222,
	.fact_n = 9,			/* 362880 */
	.irq_on_fact = true,
	.dma_src = 0xd0d0d0d0d0d0d000ULL,
	.dma_dst = 0x0000000d0d0d0000ULL,
	.dma_count = 0xd0d,
};

FIXTURE(bad) {
	struct vfio_dev dev;
	struct vfio_pci_ids ids;
	uint8_t good[LEN];		/* saved from state_saved */
	struct edu_regs good_regs;
	struct edu_regs live_regs;	/* state_live, before each attempt */
	uint8_t buf[LEN + 8192];	/* scratch for crafted streams */
};

/* Outcome of one resume attempt */
struct attempt {
	int write_err;		/* errno of the first failed write(), or 0 */
	size_t fail_at;		/* stream offset where that write() began */
	int sticky_err;		/* errno of one more write() after it */
	int stop_err;		/* errno of RESUMING -> STOP, or 0 */
};

FIXTURE_SETUP(bad)
{
	struct vfio_buf s;
	char why[256];
	int ret;

	ret = vfio_dev_open(&self->dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->dev.err);
	ASSERT_EQ(0, vfio_dev_pci_ids(&self->dev, &self->ids));
	if (self->ids.vendor != EDU_VENDOR || self->ids.device != EDU_DEVICE)
		SKIP(return, "%s is not an edu", self->dev.bdf);
	ret = vfio_dev_reset(&self->dev);
	ASSERT_EQ(0, ret) TH_LOG("reset: %s", strerror(-ret));

	edu_check_apply(_metadata, &self->dev, &state_saved, &self->good_regs);
	vfio_buf_init(&s);
	save(_metadata, &self->dev, &s);
	ASSERT_EQ(0, qvp_check_edu_stream(s.data, s.len, &self->ids, NULL,
					  why, sizeof(why)))
		TH_LOG("the driver's own stream is bad: %s", why);
	memcpy(self->good, s.data, LEN);
	vfio_buf_free(&s);

	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	edu_check_apply(_metadata, &self->dev, &state_live, &self->live_regs);
}

FIXTURE_TEARDOWN(bad)
{
	if (vfio_dev_is_open(&self->dev)) {
		vfio_dev_reset(&self->dev);
		vfio_dev_close(&self->dev);
	}
}

/*
 * Resume @len bytes of @data, in write() calls ending at each of the
 * ascending offsets @cuts and at @len, then RESUMING -> STOP.
 */
static void attempt(struct __test_metadata *_metadata, struct vfio_dev *dev,
		    const uint8_t *data, size_t len, const size_t *cuts,
		    unsigned int ncuts, struct attempt *a)
{
	size_t off = 0, end;
	unsigned int i;
	uint8_t zero = 0;
	ssize_t n;
	int fd, ret;

	memset(a, 0, sizeof(*a));
	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);

	for (i = 0; i <= ncuts && off < len; i++) {
		end = i < ncuts && cuts[i] < len ? cuts[i] : len;
		if (end <= off)
			continue;
		n = write(fd, data + off, end - off);
		if (n < 0) {
			a->write_err = errno;
			a->fail_at = off;
			break;
		}
		ASSERT_EQ((ssize_t)(end - off), n)
			TH_LOG("short write at %zu", off);
		off = end;
	}
	if (a->write_err) {
		n = write(fd, &zero, 1);
		ASSERT_EQ(-1, n) TH_LOG("write accepted after an error");
		a->sticky_err = errno;
	}
	ret = vfio_dev_mig_set_state(dev, ST(STOP), NULL);
	a->stop_err = -ret;
	close(fd);
}

static const char *err_name(int err)
{
	return err ? strerror(err) : "no error";
}

/*
 * Check the outcome of a refused stream: the write error (@err at the
 * write() beginning at @at, or ANY_ERR for "EINVAL, EFBIG or none"), a
 * failed RESUMING -> STOP, ERROR, registers unchanged.  Then reset,
 * check that the device computes again and restore the live state.
 */
static void expect_refused(struct __test_metadata *_metadata,
			   FIXTURE_DATA(bad) *self, const struct attempt *a,
			   int err, size_t at, const char *what)
{
	uint32_t v;

	if (err == ANY_ERR) {
		ASSERT_TRUE(!a->write_err || a->write_err == EINVAL ||
			    a->write_err == EFBIG)
			TH_LOG("%s: write: %s", what, err_name(a->write_err));
	} else {
		ASSERT_EQ(err, a->write_err)
			TH_LOG("%s: write: %s, want %s", what,
			       err_name(a->write_err), err_name(err));
		if (err)
			ASSERT_EQ(at, a->fail_at)
				TH_LOG("%s: the write() at %zu failed, want the one at %zu",
				       what, a->fail_at, at);
	}
	if (a->write_err)
		ASSERT_EQ(a->write_err, a->sticky_err)
			TH_LOG("%s: later write: %s", what,
			       err_name(a->sticky_err));
	ASSERT_EQ(EINVAL, a->stop_err)
		TH_LOG("%s: RESUMING -> STOP: %s", what, err_name(a->stop_err));
	expect_state(_metadata, &self->dev, ST(ERROR));
	edu_expect_regs(_metadata, &self->dev, &self->live_regs, what);

	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	expect_state(_metadata, &self->dev, ST(RUNNING));
	ASSERT_EQ(0, edu_factorial(&self->dev, 5, &v));
	ASSERT_EQ(120U, v) TH_LOG("%s: no factorial after reset", what);
	edu_check_apply(_metadata, &self->dev, &state_live, &self->live_regs);
}

/* A stream that must be accepted restores state_saved. */
static void expect_accepted(struct __test_metadata *_metadata,
			    FIXTURE_DATA(bad) *self, const struct attempt *a,
			    const char *what)
{
	ASSERT_EQ(0, a->write_err)
		TH_LOG("%s: write at %zu: %s", what, a->fail_at,
		       err_name(a->write_err));
	ASSERT_EQ(0, a->stop_err)
		TH_LOG("%s: RESUMING -> STOP: %s", what, err_name(a->stop_err));
	expect_state(_metadata, &self->dev, ST(STOP));
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	edu_expect_regs(_metadata, &self->dev, &self->good_regs, what);
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	edu_check_apply(_metadata, &self->dev, &state_live, &self->live_regs);
}

/* The fixture's stream is fine, however it is cut into write()s. */
TEST_F(bad, control_valid_stream)
{
	const size_t cuts[] = {
		1, QVP_HDR_LEN, QVP_OFF_REGS_PAYLOAD, QVP_OFF_END_REC, LEN - 1,
	};
	struct attempt a;

	attempt(_metadata, &self->dev, self->good, LEN, NULL, 0, &a);
	expect_accepted(_metadata, self, &a, "one write");
	attempt(_metadata, &self->dev, self->good, LEN, cuts, ARRAY_SIZE(cuts),
		&a);
	expect_accepted(_metadata, self, &a, "cut at record boundaries");
}

/*
 * The seed keys only bulk records, which edu streams have none of: any
 * seed (under a correct header CRC) is accepted.
 */
TEST_F(bad, any_seed)
{
	const uint32_t seeds[][2] = {
		{ 0, 0 }, { 1, 0 }, { 0, 0x80000000 }, { ~0U, ~0U },
	};
	struct attempt a;
	unsigned int i;
	char what[64];

	for (i = 0; i < ARRAY_SIZE(seeds); i++) {
		memcpy(self->buf, self->good, LEN);
		qvp_put32(self->buf + OFF_HDR(seed_lo), seeds[i][0]);
		qvp_put32(self->buf + OFF_HDR(seed_hi), seeds[i][1]);
		qvp_fix_header_crc(self->buf);
		snprintf(what, sizeof(what), "seed 0x%08x%08x", seeds[i][1],
			 seeds[i][0]);
		attempt(_metadata, &self->dev, self->buf, LEN, NULL, 0, &a);
		expect_accepted(_metadata, self, &a, what);
	}
}

TEST_F_TIMEOUT(bad, truncated_stream, 600)
{
	struct attempt a;
	char what[64];
	size_t len;

	for (len = 0; len < LEN; len++) {
		snprintf(what, sizeof(what), "first %zu bytes", len);
		attempt(_metadata, &self->dev, self->good, len, NULL, 0, &a);
		/* nothing is wrong with a prefix: only STOP fails */
		expect_refused(_metadata, self, &a, 0, 0, what);
	}
}

/* Any flipped bit in the header is refused once the header is complete. */
TEST_F_TIMEOUT(bad, header_bit_flips, 600)
{
	const size_t cuts[] = { QVP_HDR_LEN };
	struct attempt a;
	char what[64];
	int byte, bit;

	for (byte = 0; byte < (int)QVP_HDR_LEN; byte++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(self->buf, self->good, LEN);
			self->buf[byte] ^= 1 << bit;
			snprintf(what, sizeof(what), "header byte %d bit %d",
				 byte, bit);
			attempt(_metadata, &self->dev, self->buf, LEN, cuts, 1,
				&a);
			expect_refused(_metadata, self, &a, EINVAL, 0, what);
		}
	}
}

static bool in_length_field(size_t byte, size_t *rec)
{
	static const size_t recs[] = { QVP_OFF_REGS_REC, QVP_OFF_END_REC };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(recs); i++) {
		if (byte >= recs[i] + OFF_REC(length) &&
		    byte < recs[i] + OFF_REC(length) + 4) {
			*rec = recs[i];
			return true;
		}
	}
	return false;
}

/* Flip @bit of @byte (>= the header) and check the refusal. */
static void flip_record_bit(struct __test_metadata *_metadata,
			    FIXTURE_DATA(bad) *self, size_t byte, int bit)
{
	struct attempt a;
	size_t rec, cut;
	char what[96];
	uint32_t len;

	memcpy(self->buf, self->good, LEN);
	self->buf[byte] ^= 1 << bit;
	snprintf(what, sizeof(what), "stream byte %zu bit %d", byte, bit);

	if (!in_length_field(byte, &rec)) {
		/* a CRC, type or flags mismatch: EINVAL in this write() */
		attempt(_metadata, &self->dev, self->buf, LEN, NULL, 0, &a);
		expect_refused(_metadata, self, &a, EINVAL, 0, what);
		return;
	}

	len = qvp_get32(self->buf + rec + OFF_REC(length));
	cut = rec + QVP_REC_HDR_LEN;
	attempt(_metadata, &self->dev, self->buf, LEN, &cut, 1, &a);
	if (len > BIG_LEN)
		/* refused when the record header is complete */
		expect_refused(_metadata, self, &a, EFBIG, 0, what);
	else
		/* refused, be it at the header, the payload or at STOP */
		expect_refused(_metadata, self, &a, ANY_ERR, 0, what);
}

TEST_F_TIMEOUT(bad, record_bit_flips, 600)
{
	uint32_t seed = 0x5eed1234;
	size_t byte, rec;
	int bit;

	/* one pseudo-random bit of every byte after the header */
	for (byte = QVP_HDR_LEN; byte < LEN; byte++)
		flip_record_bit(_metadata, self, byte, mig_rand(&seed) % 8);

	/* and every bit of both length fields */
	for (byte = QVP_HDR_LEN; byte < LEN; byte++) {
		if (!in_length_field(byte, &rec))
			continue;
		for (bit = 0; bit < 8; bit++)
			flip_record_bit(_metadata, self, byte, bit);
	}
}

/* Header variations with a correct header CRC: refused at the header. */
struct header_case {
	const char *what;
	size_t off;
	unsigned int size;	/* 1, 2 or 4 */
	uint32_t value;
};

static void header_cases(struct __test_metadata *_metadata,
			 FIXTURE_DATA(bad) *self,
			 const struct header_case *c, unsigned int n)
{
	const size_t cuts[] = { QVP_HDR_LEN };
	struct attempt a;
	unsigned int i;

	for (i = 0; i < n; i++) {
		memcpy(self->buf, self->good, LEN);
		if (c[i].size == 1)
			self->buf[c[i].off] = c[i].value;
		else if (c[i].size == 2)
			qvp_put16(self->buf + c[i].off, c[i].value);
		else
			qvp_put32(self->buf + c[i].off, c[i].value);
		qvp_fix_header_crc(self->buf);
		attempt(_metadata, &self->dev, self->buf, LEN, cuts, 1, &a);
		expect_refused(_metadata, self, &a, EINVAL, 0, c[i].what);
	}
}

TEST_F(bad, wrong_version)
{
	const struct header_case c[] = {
		{ "version 0", OFF_HDR(version), 2, 0 },
		{ "version 1", OFF_HDR(version), 2, 1 },
		{ "version 3", OFF_HDR(version), 2, 3 },
		{ "version 0x101", OFF_HDR(version), 2, 0x101 },
		{ "version 0xffff", OFF_HDR(version), 2, 0xffff },
	};

	header_cases(_metadata, self, c, ARRAY_SIZE(c));
}

TEST_F(bad, wrong_identity)
{
	const struct vfio_pci_ids *id = &self->ids;
	const struct header_case c[] = {
		{ "vendor", OFF_HDR(vendor), 2, 0x1af4 },
		{ "device", OFF_HDR(device), 2, id->device ^ 1 },
		{ "subsystem vendor", OFF_HDR(subsystem_vendor), 2,
		  id->subsystem_vendor ^ 1 },
		{ "subsystem device", OFF_HDR(subsystem_device), 2,
		  id->subsystem_device ^ 0x8000 },
		{ "revision", OFF_HDR(revision), 1, id->revision ^ 1 },
		{ "backend ivshmem", OFF_HDR(backend), 1, QVP_BACKEND_IVSHMEM },
		{ "backend 0", OFF_HDR(backend), 1, 0 },
		{ "backend 0xff", OFF_HDR(backend), 1, 0xff },
	};

	header_cases(_metadata, self, c, ARRAY_SIZE(c));
}

TEST_F(bad, bad_header_fields)
{
	const struct header_case c[] = {
		{ "magic QVPT", OFF_HDR(magic), 4, 0x54505651 },
		{ "magic 0", OFF_HDR(magic), 4, 0 },
		{ "header_len 0", OFF_HDR(header_len), 2, 0 },
		{ "header_len 31", OFF_HDR(header_len), 2, 31 },
		{ "header_len 33", OFF_HDR(header_len), 2, 33 },
		{ "header_len 64", OFF_HDR(header_len), 2, 64 },
		{ "flags 1", OFF_HDR(flags), 2, 1 },
		{ "flags 0x8000", OFF_HDR(flags), 2, 0x8000 },
	};
	const size_t cuts[] = { QVP_HDR_LEN };
	struct attempt a;

	header_cases(_metadata, self, c, ARRAY_SIZE(c));

	/* and the CRC itself */
	memcpy(self->buf, self->good, LEN);
	qvp_put32(self->buf + OFF_HDR(crc),
		  qvp_get32(self->buf + OFF_HDR(crc)) ^ 0x80000000);
	attempt(_metadata, &self->dev, self->buf, LEN, cuts, 1, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "header crc");
}

/* A record CRC can only be checked with its last byte. */
TEST_F(bad, bad_record_crc)
{
	size_t crc_at = QVP_OFF_REGS_REC + OFF_REC(crc);
	size_t cut = LEN - QVP_REC_HDR_LEN - 1;
	uint8_t *p = self->buf;
	struct attempt a;
	size_t len;

	memcpy(p, self->good, LEN);
	qvp_put32(p + crc_at, qvp_get32(p + crc_at) ^ 1);
	attempt(_metadata, &self->dev, p, LEN, &cut, 1, &a);
	expect_refused(_metadata, self, &a, EINVAL, cut, "EDU_REGS crc");

	memcpy(p, self->good, LEN);
	crc_at = QVP_OFF_END_REC + OFF_REC(crc);
	qvp_put32(p + crc_at, qvp_get32(p + crc_at) ^ 1);
	cut = LEN - 1;
	attempt(_metadata, &self->dev, p, LEN, &cut, 1, &a);
	expect_refused(_metadata, self, &a, EINVAL, cut, "END crc");

	/* an optional record is skipped, but its CRC still counts */
	memcpy(p, self->good, QVP_OFF_END_REC);
	len = QVP_OFF_END_REC;
	len += qvp_put_record(p + len, 0x00fe, QVP_REC_F_OPTIONAL,
			      "optional", 8);
	p[len - 1] ^= 0x20;
	cut = len - 1;
	memcpy(p + len, self->good + QVP_OFF_END_REC, QVP_REC_HDR_LEN);
	len += QVP_REC_HDR_LEN;
	attempt(_metadata, &self->dev, p, len, &cut, 1, &a);
	expect_refused(_metadata, self, &a, EINVAL, cut, "optional record crc");
}

TEST_F(bad, oversized_record_length)
{
	static const struct {
		const char *what;
		uint16_t type, flags;
		uint32_t length;
	} c[] = {
		{ "EDU_REGS 0x7fffffff", QVP_REC_EDU_REGS, 0, 0x7fffffff },
		{ "EDU_REGS 0xffffffff", QVP_REC_EDU_REGS, 0, 0xffffffff },
		{ "EDU_REGS 64K+1", QVP_REC_EDU_REGS, 0, BIG_LEN + 1 },
		{ "optional 0x7fffffff", 0x00fe, QVP_REC_F_OPTIONAL,
		  0x7fffffff },
		{ "optional 64K+1", 0x00fe, QVP_REC_F_OPTIONAL, BIG_LEN + 1 },
		{ "END 0x7fffffff", QVP_REC_END, 0, 0x7fffffff },
	};
	const size_t rec_end = QVP_HDR_LEN + QVP_REC_HDR_LEN;
	const size_t cuts[] = { QVP_HDR_LEN, rec_end - 1, rec_end };
	size_t len = rec_end + QVP_EDU_REGS_LEN;
	uint8_t *p = self->buf;
	struct attempt a;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memcpy(p, self->good, QVP_HDR_LEN);
		qvp_put_record(p + QVP_HDR_LEN, c[i].type, c[i].flags, NULL, 0);
		qvp_put32(p + QVP_HDR_LEN + OFF_REC(length), c[i].length);
		/* some payload, as if it followed */
		memset(p + rec_end, 0x5a, QVP_EDU_REGS_LEN);

		/* the write() with the last header byte fails */
		attempt(_metadata, &self->dev, p, len, cuts, ARRAY_SIZE(cuts),
			&a);
		expect_refused(_metadata, self, &a, EFBIG, rec_end - 1,
			       c[i].what);
		/* also when everything comes in one write() */
		attempt(_metadata, &self->dev, p, len, NULL, 0, &a);
		expect_refused(_metadata, self, &a, EFBIG, 0, c[i].what);
	}
}

TEST_F(bad, wrong_regs_length)
{
	static const struct {
		uint32_t length;
		int err;
	} c[] = {
		{ 0, EINVAL },
		{ 40, EINVAL },
		{ QVP_EDU_REGS_LEN - 1, EINVAL },
		/* over the limit of 48: EFBIG is as fine as EINVAL */
		{ QVP_EDU_REGS_LEN + 1, ANY_ERR },
		{ 56, ANY_ERR },
	};
	uint8_t payload[64];
	uint8_t *p = self->buf;
	struct attempt a;
	char what[64];
	unsigned int i;
	size_t len;

	memset(payload, 0, sizeof(payload));
	memcpy(payload, self->good + QVP_OFF_REGS_PAYLOAD, QVP_EDU_REGS_LEN);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memcpy(p, self->good, QVP_HDR_LEN);
		len = QVP_HDR_LEN;
		len += qvp_put_record(p + len, QVP_REC_EDU_REGS, 0, payload,
				      c[i].length);
		len += qvp_put_record(p + len, QVP_REC_END, 0, NULL, 0);
		snprintf(what, sizeof(what), "EDU_REGS length %u",
			 c[i].length);
		attempt(_metadata, &self->dev, p, len, NULL, 0, &a);
		if (c[i].err == ANY_ERR)
			/* the END record follows, so the write must fail */
			ASSERT_NE(0, a.write_err) TH_LOG("%s accepted", what);
		expect_refused(_metadata, self, &a, c[i].err, 0, what);
	}
}

TEST_F(bad, record_after_end)
{
	static const struct {
		const char *what;
		size_t len;
	} c[] = {
		{ "one byte", 1 },
		{ "second END", QVP_REC_HDR_LEN },
		{ "EDU_REGS after END", QVP_REC_HDR_LEN + QVP_EDU_REGS_LEN },
		{ "4 KiB of zeroes", 4096 },
	};
	const size_t cut = LEN;
	uint8_t *p = self->buf;
	struct attempt a;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memcpy(p, self->good, LEN);
		memset(p + LEN, 0, c[i].len);
		if (i == 1)
			memcpy(p + LEN, self->good + QVP_OFF_END_REC,
			       QVP_REC_HDR_LEN);
		if (i == 2)
			memcpy(p + LEN, self->good + QVP_OFF_REGS_REC,
			       c[i].len);
		/* the valid stream is accepted, the extra bytes are not */
		attempt(_metadata, &self->dev, p, LEN + c[i].len, &cut, 1, &a);
		expect_refused(_metadata, self, &a, EINVAL, LEN, c[i].what);
		/* in one write() the stream is consumed and -1 returned */
		attempt(_metadata, &self->dev, p, LEN + c[i].len, NULL, 0, &a);
		expect_refused(_metadata, self, &a, EINVAL, 0, c[i].what);
	}
}

TEST_F(bad, unknown_mandatory_record)
{
	static const struct {
		uint16_t type, flags;
	} c[] = {
		{ 0x00fe, 0 },
		{ 0x0001, 0 },
		{ 0x01ff, 0 },
		{ 0x0200, 0 },
		{ 0xffff, 0 },
		{ 0x00fe, 0x0002 },	/* flags, but not OPTIONAL */
	};
	const size_t cut = QVP_HDR_LEN;
	uint8_t *p = self->buf;
	struct attempt a;
	char what[64];
	unsigned int i;
	size_t len;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memcpy(p, self->good, QVP_HDR_LEN);
		len = QVP_HDR_LEN;
		len += qvp_put_record(p + len, c[i].type, c[i].flags,
				      "mandatory", 9);
		memcpy(p + len, self->good + QVP_HDR_LEN, LEN - QVP_HDR_LEN);
		len += LEN - QVP_HDR_LEN;
		snprintf(what, sizeof(what), "record type 0x%04x flags 0x%x",
			 c[i].type, c[i].flags);
		attempt(_metadata, &self->dev, p, len, &cut, 1, &a);
		expect_refused(_metadata, self, &a, EINVAL, cut, what);
	}
}

TEST_F(bad, unknown_optional_record_skipped)
{
	static const struct {
		uint16_t type;
		uint32_t length;
		bool first;	/* before EDU_REGS, else before END */
	} c[] = {
		{ 0x00fe, 16, true },
		{ 0x00fe, 16, false },
		{ 0x01ff, 0, true },
		{ 0x7fff, 4096, false },
	};
	uint8_t payload[4096];
	uint8_t *p = self->buf;
	size_t at, len;
	struct attempt a;
	char what[64];
	unsigned int i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i * 7;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		at = c[i].first ? QVP_HDR_LEN : QVP_OFF_END_REC;
		memcpy(p, self->good, at);
		len = at + qvp_put_record(p + at, c[i].type,
					  QVP_REC_F_OPTIONAL, payload,
					  c[i].length);
		memcpy(p + len, self->good + at, LEN - at);
		len += LEN - at;
		snprintf(what, sizeof(what), "optional 0x%04x, %u bytes",
			 c[i].type, c[i].length);
		attempt(_metadata, &self->dev, p, len, NULL, 0, &a);
		expect_accepted(_metadata, self, &a, what);
	}
}

TEST_F(bad, garbage)
{
	uint32_t seed = 0xbadc0de;
	uint8_t *p = self->buf;
	struct attempt a;
	size_t i;

	/* refused once the "header" is complete: in the first write() */
	for (i = 0; i < 4096; i++)
		p[i] = mig_rand(&seed);
	attempt(_metadata, &self->dev, p, LEN, NULL, 0, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "random 104 bytes");
	attempt(_metadata, &self->dev, p, 4096, NULL, 0, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "random 4 KiB");

	memset(p, 0, LEN);
	attempt(_metadata, &self->dev, p, QVP_HDR_LEN, NULL, 0, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "32 zero bytes");

	memset(p, 0xff, LEN);
	attempt(_metadata, &self->dev, p, LEN, NULL, 0, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "104 0xff bytes");

	/* the right magic, garbage after it */
	memcpy(p, self->good, 4);
	for (i = 4; i < LEN; i++)
		p[i] = mig_rand(&seed);
	attempt(_metadata, &self->dev, p, LEN, NULL, 0, &a);
	expect_refused(_metadata, self, &a, EINVAL, 0, "magic + garbage");

	/* a valid header, garbage records */
	memcpy(p, self->good, QVP_HDR_LEN);
	for (i = QVP_HDR_LEN; i < 1024; i++)
		p[i] = mig_rand(&seed);
	attempt(_metadata, &self->dev, p, 1024, NULL, 0, &a);
	expect_refused(_metadata, self, &a, ANY_ERR, 0, "header + garbage");
}

/* The test's own CRC-32 is zlib's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
TEST(crc32_matches_zlib)
{
	ASSERT_EQ(0xcbf43926U, qvp_crc32(0, "123456789", 9));
	ASSERT_EQ(0U, qvp_crc32(0, "", 0));
	ASSERT_EQ(qvp_crc32(0, "123456789", 9),
		  qvp_crc32(qvp_crc32(0, "1234", 4), "56789", 5));
}
#pragma GCC diagnostic pop

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_edu);
}
