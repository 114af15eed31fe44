// SPDX-License-Identifier: GPL-2.0
/*
 * Racing callers against a VFIO migration driver, device agnostic.
 *
 * Several threads hammer one device at once for a few seconds (60 in
 * make check's debug kernel: $MIG_RACE_SECONDS): one walks
 * the migration state machine, one does read(), write(), poll() and
 * VFIO_MIG_GET_PRECOPY_INFO on whatever data fds the walk produced
 * (including fds of sessions that have ended), one resets the device and
 * asks for its state and data size.  Every call must either succeed or
 * fail with an errno the uAPI allows for it; afterwards the device must
 * still migrate.  Crashes, hangs, WARNs and lockdep reports are caught by
 * the test bed's scan of the kernel log.  Also: two threads writing one
 * valid stream to one resume fd at once (two_writers_one_resume_fd).
 *
 * On a device without VFIO_DEVICE_RESET the walk leaves RESUMING out:
 * vfio.h says "To abort a RESUMING session the device must be reset", and
 * the junk the I/O thread writes into a resume fd would leave such a
 * device in RESUMING for good, where no arc can lead it out.
 *
 * Usage: migration_races [harness options] BDF|MDEV   (or VFIO_SELFTESTS_BDF)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "mig_test.h"

#define POOL_FDS	8

/*
 * How long each race runs: $MIG_RACE_SECONDS, else 3 s.  make check runs
 * the races for 60 s on its debug kernel (UBSAN, list and atomic-sleep
 * checks) and for the default on the others; the harness's timeout of
 * each case leaves room for up to RACE_SECONDS_MAX.
 */
#define RACE_SECONDS_DEFAULT	3
#define RACE_SECONDS_MAX	300

/* The seconds a race runs, or -1 if $MIG_RACE_SECONDS is not 1..MAX. */
static int race_seconds(void)
{
	const char *env = getenv("MIG_RACE_SECONDS");
	char *end;
	long v;

	if (!env || !*env)
		return RACE_SECONDS_DEFAULT;
	errno = 0;
	v = strtol(env, &end, 10);
	if (errno || *end || v < 1 || v > RACE_SECONDS_MAX)
		return -1;
	return v;
}

#define RACE_SECONDS_OR_FAIL(secs)					\
	do {								\
		secs = race_seconds();					\
		ASSERT_LT(0, secs)					\
			TH_LOG("MIG_RACE_SECONDS=%s: want 1 to %d",	\
			       getenv("MIG_RACE_SECONDS"), RACE_SECONDS_MAX); \
	} while (0)

static const char *g_bdf;

struct race {
	struct vfio_dev *dev;
	uint64_t flags;
	bool has_reset;
	volatile bool stop;

	pthread_mutex_t lock;	/* protects fds[] */
	int fds[POOL_FDS];
	unsigned int next;

	/* Results, each written by one thread only. */
	unsigned long arcs, io, resets;
	int bad_errno[3];
	const char *bad_what[3];
};

static void note_bad(struct race *r, int who, const char *what, int err)
{
	if (!r->bad_errno[who]) {
		r->bad_errno[who] = err;
		r->bad_what[who] = what;
	}
}

static void pool_add(struct race *r, int fd)
{
	pthread_mutex_lock(&r->lock);
	if (r->fds[r->next] >= 0)
		close(r->fds[r->next]);
	r->fds[r->next] = fd;
	r->next = (r->next + 1) % POOL_FDS;
	pthread_mutex_unlock(&r->lock);
}

/* A private duplicate of a pooled fd, or -1. */
static int pool_pick(struct race *r, unsigned int i)
{
	int fd = -1;

	pthread_mutex_lock(&r->lock);
	if (r->fds[i % POOL_FDS] >= 0)
		fd = dup(r->fds[i % POOL_FDS]);
	pthread_mutex_unlock(&r->lock);
	return fd;
}

static void *walker(void *arg)
{
	static const uint32_t targets[] = {
		ST(RUNNING), ST(STOP), ST(STOP_COPY), ST(RESUMING),
		ST(RUNNING_P2P), ST(PRE_COPY), ST(PRE_COPY_P2P), ST(STOP),
	};
	struct race *r = arg;
	unsigned int i = 0;
	int fd, ret;

	while (!r->stop) {
		uint32_t to = targets[(i++ * 7) % ARRAY_SIZE(targets)];

		if (!vfio_mig_state_supported(r->flags, to) ||
		    (to == ST(RESUMING) && !r->has_reset))
			continue;
		fd = -1;
		ret = vfio_dev_mig_set_state(r->dev, to, &fd);
		r->arcs++;
		if (fd >= 0)
			pool_add(r, fd);
		/*
		 * EINVAL: arcs the FSM refuses (STOP_COPY -> PRE_COPY),
		 * leaving ERROR without a reset, RESUMING -> STOP without a
		 * stream.  Nothing else is acceptable.
		 */
		if (ret && ret != -EINVAL)
			note_bad(r, 0, "set state", -ret);
	}
	return NULL;
}

static bool io_errno_ok(int err)
{
	switch (err) {
	case ENODEV:	/* session ended */
	case ENOMSG:	/* PRE_COPY: nothing new */
	case EINVAL:	/* PRECOPY_INFO outside PRE_COPY, refused stream */
	case EFBIG:	/* garbage parsed as an oversized record */
	case EBADF:	/* read on a resume fd, write on a save fd */
	case ENOTTY:	/* PRECOPY_INFO on a resume fd */
		return true;
	default:
		return false;
	}
}

static void *io_thread(void *arg)
{
	static const char junk[13] = "not a stream";
	struct race *r = arg;
	struct vfio_precopy_info info;
	struct pollfd pfd;
	unsigned int i = 0;
	char buf[4096];
	int fd;

	while (!r->stop) {
		fd = pool_pick(r, i++);
		if (fd < 0) {
			usleep(100);
			continue;
		}
		if (read(fd, buf, sizeof(buf)) < 0 && !io_errno_ok(errno))
			note_bad(r, 1, "read", errno);
		if (write(fd, junk, sizeof(junk)) < 0 && !io_errno_ok(errno))
			note_bad(r, 1, "write", errno);
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		if (ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info) < 0 &&
		    !io_errno_ok(errno))
			note_bad(r, 1, "VFIO_MIG_GET_PRECOPY_INFO", errno);
		pfd.fd = fd;
		pfd.events = POLLIN | POLLOUT;
		if (poll(&pfd, 1, 0) < 0)
			note_bad(r, 1, "poll", errno);
		close(fd);
		r->io++;
	}
	return NULL;
}

static void *resetter(void *arg)
{
	struct race *r = arg;
	uint64_t size;
	uint32_t state;
	int ret;

	while (!r->stop) {
		if (r->has_reset) {
			ret = vfio_dev_reset(r->dev);
			if (ret)
				note_bad(r, 2, "VFIO_DEVICE_RESET", -ret);
			r->resets++;
		}
		ret = vfio_dev_mig_get_state(r->dev, &state);
		if (ret)
			note_bad(r, 2, "get state", -ret);
		ret = vfio_dev_mig_data_size(r->dev, &size);
		if (ret)
			note_bad(r, 2, "MIG_DATA_SIZE", -ret);
		usleep(2000);
	}
	return NULL;
}

FIXTURE(race) {
	struct vfio_dev dev;
	uint64_t flags;
};

FIXTURE_SETUP(race)
{
	int ret;

	ret = vfio_dev_open(&self->dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->dev.err);
	ASSERT_EQ(0, vfio_dev_mig_flags(&self->dev, &self->flags));
}

FIXTURE_TEARDOWN(race)
{
	if (vfio_dev_is_open(&self->dev))
		vfio_dev_close(&self->dev);
}

/* Arcs, data fd I/O and resets at once: only documented errnos. */
TEST_F_TIMEOUT(race, arcs_io_and_resets, RACE_SECONDS_MAX + 120)
{
	static const char *who[] = { "walker", "io", "resetter" };
	struct race r = { .dev = &self->dev, .flags = self->flags };
	pthread_t t[3];
	struct vfio_buf ref;
	unsigned int i;
	uint32_t state;
	int bad, secs;

	RACE_SECONDS_OR_FAIL(secs);
	r.has_reset = self->dev.info.flags & VFIO_DEVICE_FLAGS_RESET;
	if (!r.has_reset)
		TH_LOG("no VFIO_DEVICE_RESET: RESUMING, which only a reset can abort, is left out of the walk");
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < POOL_FDS; i++)
		r.fds[i] = -1;

	ASSERT_EQ(0, pthread_create(&t[0], NULL, walker, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, io_thread, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, resetter, &r));
	sleep(secs);
	r.stop = true;
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < POOL_FDS; i++)
		if (r.fds[i] >= 0)
			close(r.fds[i]);

	TH_LOG("%lu arcs, %lu fd rounds, %lu resets in %d s", r.arcs, r.io,
	       r.resets, secs);
	bad = 0;
	for (i = 0; i < 3; i++) {
		if (!r.bad_errno[i])
			continue;
		TH_LOG("%s: %s failed with %s", who[i], r.bad_what[i],
		       strerror(r.bad_errno[i]));
		bad++;
	}
	ASSERT_EQ(0, bad);
	ASSERT_LT(0UL, r.arcs);
	ASSERT_LT(0UL, r.io);

	/* The device must still work: back to RUNNING and a full save. */
	if (r.has_reset)
		ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	ASSERT_EQ(0, vfio_dev_mig_get_state(&self->dev, &state));
	if (state != ST(RUNNING))
		go(_metadata, &self->dev, ST(RUNNING), NULL);
	vfio_buf_init(&ref);
	save(_metadata, &self->dev, &ref);
	ASSERT_LT(0UL, ref.len);
	vfio_buf_free(&ref);
	pthread_mutex_destroy(&r.lock);
}

/*
 * Two writers on one resume fd.  A driver must do the bounds and offset
 * checks of a write() under the same lock as the copy, or two writers can
 * both pass the check and write past the end of the session's buffer
 * (the class of "vfio/qat: fix f_pos race in qat_vf_resume_write()",
 * 2026).  Each round, two threads, released together, write the same
 * valid stream (the device's own, saved first) to one resume fd, each in
 * pieces of its own size; a write() must take bytes or fail.  RESUMING ->
 * STOP must then accept the bytes as a consistent stream or refuse them
 * (vfio.h: "the migration driver must fail the SET_STATE ioctl"); if it
 * accepts them, the device must hold the saved state (checked where the
 * device saves the same state as the same bytes).  After every round a
 * reset, after all of them a plain resume of the stream, and the device
 * must hold the saved state.  An overrun shows as an oops, or as a KASAN
 * report on a kernel built with KASAN; the test bed's scan of the kernel
 * log fails on either (its kernels have no KASAN: see the testing guide).
 *
 * vfio.h names no errno for a refused stream.  Those the drivers answer
 * are EINVAL (malformed; also the core's, and qemu-vfio-pci's for
 * RESUMING -> STOP), EFBIG (a record too large, qemu-vfio-pci) and ENOMEM
 * (more data than the state holds, as hisi_acc, qat and mtty answer).
 * Another errno is no failure: the test runs to its end and then skips,
 * naming it, so that a driver's own suite can hold it to its errnos (an
 * unexpected skip fails make check) and another driver's can list it.
 * Skips, too, on a device without VFIO_DEVICE_RESET, which a refused
 * stream would leave in RESUMING or ERROR.
 */
struct resume_writer {
	pthread_barrier_t *start;
	int fd;
	const uint8_t *data;
	size_t len;
	size_t piece;
	size_t done;		/* bytes the fd took */
	int err;		/* 0, or the errno that stopped it */
	bool stalled;		/* write() returned 0: no progress */
	unsigned long calls;
};

static void *resume_writer(void *arg)
{
	struct resume_writer *w = arg;
	ssize_t n;

	pthread_barrier_wait(w->start);
	while (w->done < w->len) {
		n = w->len - w->done;
		if ((size_t)n > w->piece)
			n = w->piece;
		n = write(w->fd, w->data + w->done, n);
		w->calls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (!n) {
			w->stalled = true;
			break;
		}
		if (n < 0) {
			w->err = errno;
			break;
		}
		w->done += n;
	}
	return NULL;
}

/* The errnos that drivers refuse a stream with; see above. */
static bool writer_errno_known(int err)
{
	return !err || err == EINVAL || err == EFBIG || err == ENOMEM;
}

/*
 * A writer took bytes or failed; an errno that writer_errno_known() does
 * not know goes into @other (a note of the first one), for the skip at
 * the end.
 */
static void expect_writer(struct __test_metadata *_metadata,
			  const struct resume_writer *w, unsigned long round,
			  char *other, size_t len)
{
	ASSERT_FALSE(w->stalled)
		TH_LOG("round %lu: write() of %zu-byte pieces gave 0 after %zu",
		       round + 1, w->piece, w->done);
	if (writer_errno_known(w->err) || *other)
		return;
	snprintf(other, len, "round %lu: write() of %zu-byte pieces: %s after %zu",
		 round + 1, w->piece, strerror(w->err), w->done);
	TH_LOG("note: %s", other);
}

/* Piece sizes of the two writers, round after round. */
static const size_t writer_pieces[][2] = {
	{ 7, 7 }, { 7, 4096 }, { 4096, 4096 }, { 1 << 20, 1 << 20 },
	{ 13, 1 << 20 }, { 64, 65536 },
};

/* Where two streams first differ, or -1. */
static long first_diff(const struct vfio_buf *a, const struct vfio_buf *b)
{
	size_t i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n; i++)
		if (a->data[i] != b->data[i])
			return i;
	return a->len == b->len ? -1 : (long)n;
}

TEST_F_TIMEOUT(race, two_writers_one_resume_fd, RACE_SECONDS_MAX + 300)
{
	unsigned long rounds = 0, accepted = 0, refused = 0;
	char other[160] = "";
	struct resume_writer w[2];
	pthread_barrier_t start;
	struct vfio_buf ref, again;
	bool deterministic;
	pthread_t t[2];
	time_t end;
	int fd, ret, i, secs;

	RACE_SECONDS_OR_FAIL(secs);
	if (!(self->dev.info.flags & VFIO_DEVICE_FLAGS_RESET))
		SKIP(return, "device does not support VFIO_DEVICE_RESET, the way out of a refused stream");
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	vfio_buf_init(&ref);
	vfio_buf_init(&again);
	save(_metadata, &self->dev, &ref);
	save(_metadata, &self->dev, &again);
	deterministic = first_diff(&ref, &again) < 0;
	vfio_buf_free(&again);
	TH_LOG("stream of %zu bytes; two saves of one state are %s", ref.len,
	       deterministic ? "the same bytes" : "different bytes");
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 2));

	end = time(NULL) + secs;
	do {
		const size_t *pieces = writer_pieces[rounds %
						     ARRAY_SIZE(writer_pieces)];

		go(_metadata, &self->dev, ST(STOP), NULL);
		go(_metadata, &self->dev, ST(RESUMING), &fd);
		ASSERT_LE(0, fd);
		for (i = 0; i < 2; i++) {
			w[i] = (struct resume_writer) {
				.start = &start, .fd = fd, .data = ref.data,
				.len = ref.len, .piece = pieces[i],
			};
			ASSERT_EQ(0, pthread_create(&t[i], NULL, resume_writer,
						    &w[i]));
		}
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		expect_writer(_metadata, &w[0], rounds, other, sizeof(other));
		expect_writer(_metadata, &w[1], rounds, other, sizeof(other));
		ret = vfio_dev_mig_set_state(&self->dev, ST(STOP), NULL);
		close(fd);
		if (ret && ret != -EINVAL && !*other) {
			snprintf(other, sizeof(other),
				 "round %lu: RESUMING -> STOP: %s",
				 rounds + 1, strerror(-ret));
			TH_LOG("note: %s", other);
		}
		if (!ret) {
			/* a consistent stream: the saved state, nothing else */
			accepted++;
			if (deterministic) {
				save(_metadata, &self->dev, &again);
				ASSERT_EQ(-1, first_diff(&ref, &again))
					TH_LOG("round %lu: the device accepted what two writers wrote (%zu + %zu bytes) and holds another state",
					       rounds + 1, w[0].done,
					       w[1].done);
				vfio_buf_free(&again);
			}
		} else {
			refused++;
		}
		ASSERT_EQ(0, vfio_dev_reset(&self->dev));
		expect_state(_metadata, &self->dev, ST(RUNNING));
		rounds++;
	} while (time(NULL) < end);
	pthread_barrier_destroy(&start);
	TH_LOG("%lu rounds in %d s: %lu accepted, %lu refused", rounds, secs,
	       accepted, refused);

	/* the device is whole: one writer, the saved state */
	resume(_metadata, &self->dev, ref.data, ref.len, 0);
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	if (deterministic) {
		save(_metadata, &self->dev, &again);
		ASSERT_EQ(-1, first_diff(&ref, &again))
			TH_LOG("after the races a plain resume did not give the saved state back");
		vfio_buf_free(&again);
	}
	vfio_buf_free(&ref);
	if (*other)
		SKIP(return, "%s: an errno vfio.h does not rule on, not EINVAL, EFBIG or ENOMEM",
		     other);
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_any);
}
