// SPDX-License-Identifier: GPL-2.0
/*
 * Round trips of a device's state through VFIO migration, for every
 * device that has a plug-in (mig_plugin.h): the plug-in puts a known
 * state into the device, the state is saved, and the device it is
 * resumed into must then hold exactly that state, while the source still
 * does.  The same device gets another state and a reset before the
 * resume.  Each case is a variant:
 *
 *   same / second       resumed into the same device, after it was given
 *                       another state, or into a second device of the
 *                       same kind that held a state of its own (BDF2)
 *   stop_copy / precopy STOP_COPY only, or PRE_COPY passes while the
 *                       device runs (and, where the plug-in can, its
 *                       state changes between them) then STOP_COPY on
 *                       the same fd
 *   bytes_7 / page / mib the resume fd is written in pieces of 7 bytes,
 *                       4 KiB or 1 MiB (the first PIECES_HEAD bytes of
 *                       the stream; the rest goes in 1 MiB pieces)
 *
 * A second device gets the stream piped from the save fd as it is read,
 * as QEMU does; the same device needs the whole stream held in memory,
 * which skips when it would take more than half of MemAvailable.
 *
 * Usage: migration_roundtrip [harness options] BDF [BDF2]
 *        (or set VFIO_SELFTESTS_BDF; VFIO_SELFTESTS_BDF2 for a second one)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mig_plugin.h"
#include "mig_test.h"

#define PIECES_HEAD	((size_t)256 << 10)
#define MIB		((size_t)1 << 20)

static const char *g_bdf;

/* A stream on its way: from a save fd, kept or into a resume fd. */
struct xfer {
	int sfd;
	int rfd;		/* -1: none, keep the stream only */
	size_t at;		/* bytes written to rfd */
	bool keep;		/* keep the whole stream in s */
	struct vfio_buf s;
};

FIXTURE(roundtrip) {
	struct mig_pdev a;
	struct mig_pdev b;	/* BDF2, if it is of the same kind */
	bool have_b;
	struct xfer x;
};

FIXTURE_VARIANT(roundtrip) {
	bool second;
	bool precopy;
	size_t chunk;
};

FIXTURE_VARIANT_ADD(roundtrip, same_stop_copy_bytes_7) {
	.chunk = 7,
};

FIXTURE_VARIANT_ADD(roundtrip, same_stop_copy_page) {
	.chunk = 4096,
};

FIXTURE_VARIANT_ADD(roundtrip, same_stop_copy_mib) {
	.chunk = MIB,
};

FIXTURE_VARIANT_ADD(roundtrip, same_precopy_bytes_7) {
	.precopy = true,
	.chunk = 7,
};

FIXTURE_VARIANT_ADD(roundtrip, same_precopy_page) {
	.precopy = true,
	.chunk = 4096,
};

FIXTURE_VARIANT_ADD(roundtrip, same_precopy_mib) {
	.precopy = true,
	.chunk = MIB,
};

FIXTURE_VARIANT_ADD(roundtrip, second_stop_copy_bytes_7) {
	.second = true,
	.chunk = 7,
};

FIXTURE_VARIANT_ADD(roundtrip, second_stop_copy_page) {
	.second = true,
	.chunk = 4096,
};

FIXTURE_VARIANT_ADD(roundtrip, second_stop_copy_mib) {
	.second = true,
	.chunk = MIB,
};

FIXTURE_VARIANT_ADD(roundtrip, second_precopy_bytes_7) {
	.second = true,
	.precopy = true,
	.chunk = 7,
};

FIXTURE_VARIANT_ADD(roundtrip, second_precopy_page) {
	.second = true,
	.precopy = true,
	.chunk = 4096,
};

FIXTURE_VARIANT_ADD(roundtrip, second_precopy_mib) {
	.second = true,
	.precopy = true,
	.chunk = MIB,
};

static void open_pdev(struct __test_metadata *_metadata, struct mig_pdev *d,
		      const char *bdf)
{
	char why[MIG_WHY_LEN];
	int ret;

	ret = mig_pdev_open(d, bdf, why);
	if (ret == -ENODEV)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ret = vfio_dev_reset(&d->dev);
	ASSERT_EQ(0, ret) TH_LOG("%s: reset: %s", d->dev.bdf, strerror(-ret));
}

FIXTURE_SETUP(roundtrip)
{
	static const char *const fields[] = { "MemAvailable", NULL };
	uint64_t bytes;
	int ret;

	self->x.sfd = -1;
	self->x.rfd = -1;
	self->a.dev.device_fd = -1;	/* not open (yet) */
	self->b.dev.device_fd = -1;
	vfio_buf_init(&self->x.s);
	open_pdev(_metadata, &self->a, g_bdf);
	if (_metadata->exit_code == KSFT_SKIP)
		return;
	ret = vfio_dev_mig_data_size(&self->a.dev, &bytes);
	ASSERT_EQ(0, ret) TH_LOG("MIG_DATA_SIZE: %s", strerror(-ret));
	self->x.keep = 2 * bytes <= (mig_meminfo_kib(fields) << 10) / 2;
	if (!variant->second || !mig_bdf2)
		return;
	open_pdev(_metadata, &self->b, mig_bdf2);
	if (_metadata->exit_code == KSFT_SKIP)
		return;
	ASSERT_NE(0, strcmp(self->a.dev.bdf, self->b.dev.bdf))
		TH_LOG("the second device is the first one");
	self->have_b = self->b.ops == self->a.ops &&
		       self->b.mem_size == self->a.mem_size;
	if (!self->have_b)
		TH_LOG("%s (%s) is not of the kind of %s (%s)",
		       self->b.dev.bdf, self->b.ops->name, self->a.dev.bdf,
		       self->a.ops->name);
}

FIXTURE_TEARDOWN(roundtrip)
{
	close_fd(&self->x.sfd);
	close_fd(&self->x.rfd);
	mig_pdev_close(&self->a);
	mig_pdev_close(&self->b);
	vfio_buf_free(&self->x.s);
}

static void put_state(struct __test_metadata *_metadata, struct mig_pdev *d,
		      unsigned int n, struct mig_state *st)
{
	char why[MIG_WHY_LEN];

	ASSERT_EQ(0, d->ops->put_state(d, n, why))
		TH_LOG("%s: state %u: %s", d->dev.bdf, n, why);
	ASSERT_EQ(0, d->ops->read_state(d, st, why))
		TH_LOG("%s: %s", d->dev.bdf, why);
}

/*
 * @d holds @want, or, if @differs, a state that differs from it in every
 * part: a round trip into it then shows that each part migrated.
 */
static void expect(struct __test_metadata *_metadata, struct mig_pdev *d,
		   const struct mig_state *want, bool differs,
		   const char *when)
{
	char why[MIG_WHY_LEN];
	struct mig_state got;
	unsigned int n;

	ASSERT_EQ(0, d->ops->read_state(d, &got, why))
		TH_LOG("%s: %s: %s", d->dev.bdf, when, why);
	n = d->ops->compare(want, &got, why);
	/* braces: ASSERT_*() ... TH_LOG() is more than one statement */
	if (differs) {
		ASSERT_EQ(d->ops->parts, n)
			TH_LOG("%s: %s: differs from the migrated state only in:%s",
			       d->dev.bdf, when, why);
	} else {
		ASSERT_EQ(0U, n) TH_LOG("%s: %s:%s", d->dev.bdf, when, why);
	}
}

/*
 * Move what the save fd has now (up to the end of the stream, or in
 * PRE_COPY until ENOMSG) to the resume fd of a second device, if any,
 * and keep it too when a whole stream fits.  Returns the bytes moved.
 */
static size_t move(struct __test_metadata *_metadata, struct xfer *x,
		   size_t chunk, int want)
{
	static uint8_t buf[1 << 20];
	size_t head, moved = 0;
	ssize_t n;
	int ret;

	for (;;) {
		n = read(x->sfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOMSG) {
			ASSERT_EQ(VFIO_MIG_READ_NODATA, want)
				TH_LOG("ENOMSG in STOP_COPY");
			return moved;
		}
		ASSERT_LE(0, n) TH_LOG("read after %zu bytes: %s", moved,
				       strerror(errno));
		if (!n) {
			ASSERT_EQ(VFIO_MIG_READ_EOF, want)
				TH_LOG("end of stream in PRE_COPY");
			return moved;
		}
		if (x->keep)
			ASSERT_EQ(0, vfio_buf_append(&x->s, buf, n));
		if (x->rfd >= 0) {
			head = x->at < PIECES_HEAD ? PIECES_HEAD - x->at : 0;
			head = head < (size_t)n ? head : (size_t)n;
			ret = vfio_mig_write(x->rfd, buf, head, chunk, NULL);
			if (!ret)
				ret = vfio_mig_write(x->rfd, buf + head,
						     n - head, MIB, NULL);
			ASSERT_EQ(0, ret)
				TH_LOG("write after %zu bytes: %s", x->at,
				       strerror(-ret));
			x->at += n;
		}
		moved += n;
	}
}

/* Resume @s into @d: the head in @chunk pieces, the rest by MiB. */
static void resume_held(struct __test_metadata *_metadata,
			const struct vfio_buf *s, struct mig_pdev *d,
			size_t chunk)
{
	size_t len = s->len;
	size_t head = len < PIECES_HEAD ? len : PIECES_HEAD;
	int fd, ret;

	go(_metadata, &d->dev, ST(STOP), NULL);
	go(_metadata, &d->dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_write(fd, s->data, head, chunk, NULL);
	if (!ret)
		ret = vfio_mig_write(fd, s->data + head, len - head, MIB,
				     NULL);
	close(fd);
	ASSERT_EQ(0, ret) TH_LOG("resume write (%zu-byte pieces): %s", chunk,
				 strerror(-ret));
	go(_metadata, &d->dev, ST(STOP), NULL);
}

TEST_F_TIMEOUT(roundtrip, migrate, 300)
{
	struct mig_pdev *a = &self->a, *dst = variant->second ? &self->b : a;
	struct mig_state want, other;
	char why[MIG_WHY_LEN];
	uint64_t flags;
	int fd;

	if (variant->second && !self->have_b)
		SKIP(return, "no second device of the kind of %s (BDF2)",
		     a->dev.bdf);
	if (!variant->second && !self->x.keep)
		SKIP(return, "holds a whole stream in memory, more than half of MemAvailable");
	ASSERT_EQ(0, vfio_dev_mig_flags(&a->dev, &flags));
	if (variant->precopy &&
	    !vfio_mig_state_supported(flags, ST(PRE_COPY)))
		SKIP(return, "the device does not support PRE_COPY");
	TH_LOG("%s %s -> %s", a->ops->name, a->dev.bdf, dst->dev.bdf);

	put_state(_metadata, a, 1, &want);
	if (variant->second) {
		put_state(_metadata, dst, 2, &other);
		expect(_metadata, dst, &want, true, "destination before");
		go(_metadata, &dst->dev, ST(STOP), NULL);
		go(_metadata, &dst->dev, ST(RESUMING), &self->x.rfd);
		ASSERT_LE(0, self->x.rfd);
	}

	if (variant->precopy) {
		go(_metadata, &a->dev, ST(PRE_COPY), &self->x.sfd);
		ASSERT_LE(0, self->x.sfd);
		move(_metadata, &self->x, variant->chunk, VFIO_MIG_READ_NODATA);
		if (a->ops->make_dirty) {
			/* the driver may look for changes only so often */
			mig_precopy_scan_wait();
			ASSERT_EQ(0, a->ops->make_dirty(a, 3, why))
				TH_LOG("%s", why);
			ASSERT_EQ(0, a->ops->read_state(a, &want, why))
				TH_LOG("%s", why);
			move(_metadata, &self->x, variant->chunk,
			     VFIO_MIG_READ_NODATA);
		}
		go(_metadata, &a->dev, ST(STOP_COPY), &fd);
		ASSERT_EQ(-1, fd) TH_LOG("PRE_COPY -> STOP_COPY opened fd %d",
					 fd);
	} else {
		go(_metadata, &a->dev, ST(STOP), NULL);
		go(_metadata, &a->dev, ST(STOP_COPY), &self->x.sfd);
		ASSERT_LE(0, self->x.sfd);
	}
	move(_metadata, &self->x, variant->chunk, VFIO_MIG_READ_EOF);
	close_fd(&self->x.sfd);
	go(_metadata, &a->dev, ST(STOP), NULL);
	if (self->x.keep && a->ops->check_stream) {
		ASSERT_EQ(0, a->ops->check_stream(a, self->x.s.data,
						  self->x.s.len, &want, why))
			TH_LOG("%s", why);
	}

	/* saving does not disturb the source */
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	expect(_metadata, a, &want, false, "source after the save");

	if (variant->second) {
		go(_metadata, &dst->dev, ST(STOP), NULL);
		close_fd(&self->x.rfd);
	} else {
		put_state(_metadata, a, 2, &other);
		ASSERT_EQ(0, vfio_dev_reset(&a->dev));
		expect(_metadata, a, &want, true, "another state, reset");
		resume_held(_metadata, &self->x.s, a, variant->chunk);
	}
	go(_metadata, &dst->dev, ST(RUNNING), NULL);
	expect(_metadata, dst, &want, false, "resumed");
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_plugin);
}
