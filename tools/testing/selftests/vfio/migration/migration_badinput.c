// SPDX-License-Identifier: GPL-2.0
/*
 * Bad migration streams, for every device that has a plug-in
 * (mig_plugin.h): the generic counterpart of edu_badinput, which knows
 * edu's stream field by field.  This suite knows no stream format.  It
 * saves a real stream of the device, spoils it in ways that need no
 * format (cut short, one bit flipped, random bytes, bytes after its end)
 * and resumes each spoilt stream into the device.  Each way is a variant,
 * a TAP line of its own; a variant may try a few offsets.
 *
 * What every driver must do, as vfio.h says: no hang, and after whatever
 * the attempt gave, VFIO_DEVICE_RESET brings the device back to RUNNING,
 * and the good stream then resumes and gives exactly the saved state.
 * Where the plug-in says the driver checks its streams end to end
 * (mig_plugin.refuses_bad_streams), also: the attempt is refused, by a
 * write() failing with EINVAL or EFBIG (and failing again for one more
 * byte), or else by RESUMING -> STOP failing with EINVAL; and a refused
 * arc leaves the device in ERROR.
 *
 * Usage: migration_badinput [harness options] BDF
 *        (or set VFIO_SELFTESTS_BDF)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig_plugin.h"
#include "mig_test.h"

#define MIB		((size_t)1 << 20)
#define MAX_TRIES	4
#define TRAILER_LEN	16

static const char *g_bdf;

/* How a variant spoils the stream: at up to MAX_TRIES offsets. */
enum spoil {
	SPOIL_CUT,		/* keep only the bytes before the offset */
	SPOIL_FLIP,		/* flip one bit of the byte at the offset */
	SPOIL_RANDOM,		/* random bytes, as long as the stream */
	SPOIL_TRAILER,		/* the stream, then TRAILER_LEN more bytes */
	SPOIL_TWICE,		/* the stream twice */
};

/*
 * Offsets are given as what a stream of any length has: @at bytes from
 * the start, or, with @from_end, that many before the end, or with
 * @per_mille, that share of the length.  Offsets past the stream are
 * skipped.
 */
struct where {
	size_t at;
	bool from_end;
	unsigned int per_mille;
};

FIXTURE(bad) {
	struct mig_pdev d;
	struct vfio_buf good;		/* saved from state 1 */
	struct mig_state saved;		/* state 1, as the plug-in reads it */
	uint8_t *buf;			/* a spoilt stream */
	size_t buf_size;
};

FIXTURE_VARIANT(bad) {
	enum spoil spoil;
	struct where where[MAX_TRIES];
	unsigned int tries;
};

FIXTURE_VARIANT_ADD(bad, empty) {
	.spoil = SPOIL_CUT,
	.where = { { .at = 0 } },
	.tries = 1,
};

FIXTURE_VARIANT_ADD(bad, cut_in_the_first_bytes) {
	.spoil = SPOIL_CUT,
	.where = { { .at = 1 }, { .at = 7 }, { .at = 16 }, { .at = 63 } },
	.tries = 4,
};

FIXTURE_VARIANT_ADD(bad, cut_in_the_middle) {
	.spoil = SPOIL_CUT,
	.where = { { .per_mille = 333 }, { .per_mille = 500 },
		   { .per_mille = 750 } },
	.tries = 3,
};

FIXTURE_VARIANT_ADD(bad, cut_before_the_last_byte) {
	.spoil = SPOIL_CUT,
	.where = { { .at = 1, .from_end = true },
		   { .at = 8, .from_end = true } },
	.tries = 2,
};

FIXTURE_VARIANT_ADD(bad, flip_in_the_first_bytes) {
	.spoil = SPOIL_FLIP,
	.where = { { .at = 0 }, { .at = 5 }, { .at = 13 }, { .at = 31 } },
	.tries = 4,
};

FIXTURE_VARIANT_ADD(bad, flip_in_the_middle) {
	.spoil = SPOIL_FLIP,
	.where = { { .per_mille = 333 }, { .per_mille = 500 },
		   { .per_mille = 750 } },
	.tries = 3,
};

FIXTURE_VARIANT_ADD(bad, flip_in_the_last_bytes) {
	.spoil = SPOIL_FLIP,
	.where = { { .at = 1, .from_end = true },
		   { .at = 9, .from_end = true } },
	.tries = 2,
};

FIXTURE_VARIANT_ADD(bad, random_bytes) {
	.spoil = SPOIL_RANDOM,
	.tries = 1,
};

FIXTURE_VARIANT_ADD(bad, bytes_after_the_end) {
	.spoil = SPOIL_TRAILER,
	.tries = 1,
};

FIXTURE_VARIANT_ADD(bad, the_stream_twice) {
	.spoil = SPOIL_TWICE,
	.tries = 1,
};

/* The state @d holds, read by its plug-in. */
static void read_state(struct __test_metadata *_metadata, struct mig_pdev *d,
		       struct mig_state *st)
{
	char why[MIG_WHY_LEN];

	ASSERT_EQ(0, d->ops->read_state(d, st, why))
		TH_LOG("%s: %s", d->dev.bdf, why);
}

FIXTURE_SETUP(bad)
{
	char why[MIG_WHY_LEN];
	int ret;

	vfio_buf_init(&self->good);
	ret = mig_pdev_open(&self->d, g_bdf, why);
	if (ret == -ENODEV)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(0, vfio_dev_reset(&self->d.dev));

	ASSERT_EQ(0, self->d.ops->put_state(&self->d, 1, why))
		TH_LOG("%s", why);
	read_state(_metadata, &self->d, &self->saved);
	go(_metadata, &self->d.dev, ST(STOP), NULL);
	save(_metadata, &self->d.dev, &self->good);
	go(_metadata, &self->d.dev, ST(RUNNING), NULL);
	ASSERT_LT(0U, self->good.len) TH_LOG("the saved stream is empty");

	self->buf_size = 2 * self->good.len + TRAILER_LEN;
	self->buf = malloc(self->buf_size);
	ASSERT_NE(NULL, self->buf) TH_LOG("%zu bytes", self->buf_size);
}

FIXTURE_TEARDOWN(bad)
{
	mig_pdev_close(&self->d);
	vfio_buf_free(&self->good);
	free(self->buf);
}

/* The offset @w names in a stream of @len bytes; false: past its end. */
static bool offset_of(const struct where *w, size_t len, size_t *off)
{
	if (w->per_mille)
		*off = len / 1000 * w->per_mille +
		       len % 1000 * w->per_mille / 1000;
	else if (w->from_end)
		*off = w->at <= len ? len - w->at : len;
	else
		*off = w->at;
	return *off < len;
}

/*
 * Spoil the good stream into self->buf, the variant's way at its offset
 * @i: the spoilt stream's length in *@out and what it is in @what; false
 * when the offset is past the end of this stream.
 */
static bool spoil(struct __test_metadata *_metadata, FIXTURE_DATA(bad) *self,
		  const FIXTURE_VARIANT(bad) *v, unsigned int i, size_t *out,
		  char *what, size_t what_len)
{
	const uint8_t *g = self->good.data;
	size_t len = self->good.len, off = 0, k;
	uint32_t seed = 0x5eed + i;

	if ((v->spoil == SPOIL_CUT || v->spoil == SPOIL_FLIP) &&
	    !offset_of(&v->where[i], len, &off))
		return false;
	memcpy(self->buf, g, len);
	switch (v->spoil) {
	case SPOIL_CUT:
		*out = off;
		snprintf(what, what_len, "the first %zu of %zu bytes", off,
			 len);
		return true;
	case SPOIL_FLIP:
		self->buf[off] ^= 1u << (off % 8);
		*out = len;
		snprintf(what, what_len,
			 "bit %zu of byte %zu of %zu flipped (0x%02x -> 0x%02x)",
			 off % 8, off, len, g[off], self->buf[off]);
		return true;
	case SPOIL_RANDOM:
		for (k = 0; k < len; k++)
			self->buf[k] = mig_rand(&seed);
		*out = len;
		snprintf(what, what_len, "%zu random bytes", len);
		return true;
	case SPOIL_TRAILER:
		memset(self->buf + len, 0, TRAILER_LEN);
		*out = len + TRAILER_LEN;
		snprintf(what, what_len,
			 "the %zu-byte stream and %d zero bytes after it",
			 len, TRAILER_LEN);
		return true;
	case SPOIL_TWICE:
		memcpy(self->buf + len, g, len);
		*out = 2 * len;
		snprintf(what, what_len, "the %zu-byte stream twice", len);
		return true;
	}
	EXPECT_TRUE(false) TH_LOG("unknown spoil %d", v->spoil);
	return false;
}

/*
 * Resume @len bytes of self->buf into the device, from RUNNING, and
 * check what the driver did with them; then reset it to RUNNING.
 */
static void attempt(struct __test_metadata *_metadata,
		    FIXTURE_DATA(bad) *self, size_t len, const char *what)
{
	bool strict = self->d.ops->refuses_bad_streams;
	struct vfio_dev *dev = &self->d.dev;
	int fd, werr, again = 0, serr;
	uint32_t state = ~0U;
	size_t done = 0;
	uint8_t one = 0;

	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	werr = vfio_mig_write(fd, self->buf, len, MIB, &done);
	if (werr) {
		again = write(fd, &one, 1) < 0 ? -errno : 0;
		TH_LOG("%s: the write() at byte %zu: %s; one byte more: %s",
		       what, done, strerror(-werr),
		       again ? strerror(-again) : "accepted");
	}
	close(fd);
	serr = vfio_dev_mig_set_state(dev, ST(STOP), NULL);
	ASSERT_EQ(0, vfio_dev_mig_get_state(dev, &state));
	if (serr)
		TH_LOG("%s: RESUMING -> STOP: %s, now %s", what,
		       strerror(-serr), NAME(state));

	if (strict) {
		if (werr) {
			EXPECT_TRUE(werr == -EINVAL || werr == -EFBIG)
				TH_LOG("%s: write() failed with %s, want EINVAL or EFBIG",
				       what, strerror(-werr));
			EXPECT_EQ(werr, again)
				TH_LOG("%s: the write() after the refusal: %s, want %s again",
				       what, again ? strerror(-again) : "accepted",
				       strerror(-werr));
		}
		ASSERT_NE(0, serr)
			TH_LOG("%s: accepted: RESUMING -> STOP succeeded%s",
			       what, werr ? " after a refused write()" : "");
		EXPECT_EQ(-EINVAL, serr)
			TH_LOG("%s: RESUMING -> STOP failed with %s, want EINVAL",
			       what, strerror(-serr));
		EXPECT_EQ(ST(ERROR), state)
			TH_LOG("%s: %s after the refused arc, want ERROR",
			       what, NAME(state));
	}

	ASSERT_EQ(0, vfio_dev_reset(dev)) TH_LOG("%s: reset", what);
	expect_state(_metadata, dev, ST(RUNNING));
}

TEST_F_TIMEOUT(bad, refused_then_good_stream_resumes, 600)
{
	struct mig_pdev *d = &self->d;
	struct mig_state other, got;
	char why[MIG_WHY_LEN], what[160];
	unsigned int i, n, tried = 0;
	size_t len;

	TH_LOG("%s %s: a %zu-byte stream", d->ops->name, d->dev.bdf,
	       self->good.len);
	for (i = 0; i < variant->tries; i++) {
		if (!spoil(_metadata, self, variant, i, &len, what,
			   sizeof(what)))
			continue;
		attempt(_metadata, self, len, what);
		tried++;
	}
	ASSERT_LT(0U, tried) TH_LOG("no offset of this variant is in a %zu-byte stream",
				    self->good.len);

	/* another state, so that the resume must bring back every part */
	ASSERT_EQ(0, d->ops->put_state(d, 2, why)) TH_LOG("%s", why);
	read_state(_metadata, d, &other);
	n = d->ops->compare(&self->saved, &other, why);
	ASSERT_EQ(d->ops->parts, n)
		TH_LOG("state 2 differs from the saved state only in:%s", why);

	resume(_metadata, &d->dev, self->good.data, self->good.len, MIB);
	go(_metadata, &d->dev, ST(RUNNING), NULL);
	read_state(_metadata, d, &got);
	n = d->ops->compare(&self->saved, &got, why);
	ASSERT_EQ(0U, n)
		TH_LOG("the good stream, after the bad ones, gave:%s", why);
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_plugin);
}
