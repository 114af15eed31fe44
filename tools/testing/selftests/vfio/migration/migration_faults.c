// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection into every call of VFIO migration (protocol v2), on any
 * device that has a plug-in (mig_plugin.h).
 *
 * Allocations and user copies: for each call (a variant below: each arc
 * the device supports, GET of the state, MIG_DATA_SIZE,
 * VFIO_MIG_GET_PRECOPY_INFO, read() of a save fd, write() of the first
 * 4 KiB of a stream (or less: the whole stream) to a resume fd,
 * VFIO_DEVICE_RESET, close() of a data fd), the device is brought into
 * the state the call starts from, /proc/thread-self/fail-nth is set to N
 * and the call made once: the N-th fault-injection point the call passes
 * (a slab or page allocation, filtered as failslab and fail_page_alloc
 * are set up below, or a copy_{to,from}_user) fails.  N = 1, 2, ... until
 * the call succeeds without consuming the fault: the call passed N - 1
 * points, its "fault sites", which each test prints and main() sums up.
 *
 * For each injected fault the call must either fail with an errno of the
 * accepted set (ENOMEM, EFAULT; see accepted_errno()) or succeed (the
 * kernel had a fallback); it must never fail without a fault.  After a
 * failed arc the device is in the old state, in ERROR, or (see
 * arc_state_ok()) in the new state: the VFIO core makes the arc before it
 * installs the data fd and copies the result out, and a failure there
 * discards the fd of a finished arc.  ERROR (and every other state) must
 * reset to RUNNING.  After a failed read() or write() the rest of the
 * stream must still come out (go in) whole: the stream is finished and
 * resumed, and the device must hold the state that was saved.  At the end
 * of each test a full save -> resume round trip must restore a state.
 *
 * The usercopy tests fault without injection: read() into and write()
 * from a buffer that ends in (or starts in) a PROT_NONE page.  The call
 * fails with EFAULT or is short; no byte may be lost.
 *
 * Knobs: main() sets failslab, fail_page_alloc and fail_usercopy in
 * debugfs so that they apply to every GFP_KERNEL allocation of any order
 * (ignore-gfp-wait=N, ignore-gfp-highmem=N, min-order=0), print nothing
 * (verbose=0) and, for their random mode, only to tasks with make-it-fail
 * (task-filter=Y; none has it), with probability 100: kernels from 6.10
 * test fail-nth only where that is non-zero.  It restores them all at its
 * exit.  Without /proc/thread-self/fail-nth or these debugfs files
 * (CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC,
 * CONFIG_FAULT_INJECTION_USERCOPY) the program skips, saying which.
 *
 * Usage: migration_faults [harness options] BDF
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pthread_timedjoin_np() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mig_plugin.h"
#include "mig_test.h"

#define MAX_SITES	4096U	/* more points than this in one call: fail */
#define READ_CHUNK	4096
/*
 * write() of the stream's first 4 KiB at most: each user copy is a fault
 * point, and a whole stream of an ivshmem makes thousands of them.
 */
#define WRITE_CHUNK	4096
#define DBG		"/sys/kernel/debug/"

static const char *g_bdf;

enum call {
	C_ARC, C_GET_STATE, C_DATA_SIZE, C_PRECOPY_INFO, C_READ, C_WRITE,
	C_RESET, C_CLOSE,
};

FIXTURE(faults) {
	struct mig_pdev d;
	uint64_t flags;
	int nth;		/* /proc/thread-self/fail-nth */
	int fd;			/* the data fd of the state we start in */
	struct vfio_buf good;	/* a stream of state 1, for resuming */
	struct mig_state want1;
};

FIXTURE_VARIANT(faults) {
	const char *name;
	enum call call;
	uint32_t from;		/* the state the call starts in */
	uint32_t to;		/* C_ARC: the state it asks for */
	uint32_t mid;		/* C_ARC: a state on its way, or 0 */
	unsigned int idx;	/* in the table of counts */
};

/* The counts of each test, for the lines main() prints at the end. */
struct site_count {
	char name[48];
	int sites;		/* -1: did not finish */
	int failed;		/* injected faults the call failed on */
	int absorbed;		/* injected faults it succeeded despite */
	int nomem, fault, other;
	int done_anyway;	/* failed arcs that were made (see above) */
};
#define NR_COUNTS	32
static struct site_count *g_counts;	/* shared with the tests' children */

#define S(x)		VFIO_DEVICE_STATE_##x
#define ARC(n, f, t, m, i)						\
	FIXTURE_VARIANT_ADD(faults, n) {				\
		.name = #n, .call = C_ARC, .from = S(f), .to = S(t),	\
		.mid = (m), .idx = (i),					\
	}

ARC(running_to_stop,		RUNNING,	STOP,	S(RUNNING_P2P), 0);
ARC(stop_to_running,		STOP,		RUNNING, S(RUNNING_P2P), 1);
ARC(running_to_running_p2p,	RUNNING,	RUNNING_P2P, 0, 2);
ARC(running_p2p_to_stop,	RUNNING_P2P,	STOP,	0, 3);
ARC(stop_to_running_p2p,	STOP,		RUNNING_P2P, 0, 4);
ARC(running_p2p_to_running,	RUNNING_P2P,	RUNNING, 0, 5);
ARC(stop_to_stop_copy,		STOP,		STOP_COPY, 0, 6);
ARC(stop_copy_to_stop,		STOP_COPY,	STOP,	0, 7);
ARC(stop_to_resuming,		STOP,		RESUMING, 0, 8);
ARC(resuming_to_stop,		RESUMING,	STOP,	0, 9);
ARC(running_to_pre_copy,	RUNNING,	PRE_COPY, 0, 10);
ARC(pre_copy_to_running,	PRE_COPY,	RUNNING, 0, 11);
ARC(pre_copy_to_stop_copy,	PRE_COPY,	STOP_COPY, S(PRE_COPY_P2P), 12);
ARC(pre_copy_to_pre_copy_p2p,	PRE_COPY,	PRE_COPY_P2P, 0, 13);
ARC(pre_copy_p2p_to_stop_copy,	PRE_COPY_P2P,	STOP_COPY, 0, 14);
ARC(pre_copy_p2p_to_pre_copy,	PRE_COPY_P2P,	PRE_COPY, 0, 15);

/* A call other than an arc, made in state @f. */
#define CALL(n, c, f, i)						\
	FIXTURE_VARIANT_ADD(faults, n) {				\
		.name = #n, .call = (c), .from = S(f), .idx = (i),	\
	}

CALL(get_state,		C_GET_STATE,	STOP_COPY, 16);
CALL(data_size,		C_DATA_SIZE,	RUNNING, 17);
CALL(precopy_info,	C_PRECOPY_INFO,	PRE_COPY, 18);
CALL(read_stop_copy,	C_READ,		STOP_COPY, 19);
CALL(read_pre_copy,	C_READ,		PRE_COPY, 20);
CALL(write_resuming,	C_WRITE,	RESUMING, 21);
CALL(reset_stop_copy,	C_RESET,	STOP_COPY, 22);
CALL(close_save_fd,	C_CLOSE,	STOP_COPY, 23);
CALL(close_resume_fd,	C_CLOSE,	RESUMING, 24);

/* fail-nth: the N-th fault-injection point of this thread fails. */
static int nth_set(int fd, unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	return pwrite(fd, b, len, 0) == len ? 0 : -errno;
}

/*
 * Whether the armed fault was injected; disarms.  Reading fail-nth copies
 * to user, itself a point: when one was left, that copy fails (EFAULT),
 * which also says "not injected".  Writing 0 copies from user: if that
 * consumes the last point, fail_nth is 0 all the same.
 */
static bool nth_fired(int fd)
{
	char b[16] = "";
	ssize_t r = pread(fd, b, sizeof(b) - 1, 0);
	bool fired = r > 0 && strtoul(b, NULL, 10) == 0;

	if (nth_set(fd, 0))
		nth_set(fd, 0);
	return fired;
}

/*
 * ENOMEM: a failed allocation; EFAULT: a failed user copy.  Anything else
 * (e.g. ENFILE, EINVAL, EIO) would pass another failure off as the
 * fault's and is reported.
 */
static bool accepted_errno(int e)
{
	return e == ENOMEM || e == EFAULT;
}

static void count_errno(struct site_count *c, int e)
{
	if (e == ENOMEM)
		c->nomem++;
	else if (e == EFAULT)
		c->fault++;
	else
		c->other++;
}

static void put_state(struct __test_metadata *_metadata, struct mig_pdev *d,
		      unsigned int n, struct mig_state *st)
{
	char why[MIG_WHY_LEN];

	ASSERT_EQ(0, d->ops->put_state(d, n, why))
		TH_LOG("%s: state %u: %s", d->dev.bdf, n, why);
	if (st)
		ASSERT_EQ(0, d->ops->read_state(d, st, why))
			TH_LOG("%s: %s", d->dev.bdf, why);
}

static void expect_state_of(struct __test_metadata *_metadata,
			    struct mig_pdev *d, const struct mig_state *want,
			    const char *when)
{
	char why[MIG_WHY_LEN];
	struct mig_state got;
	int n;

	ASSERT_EQ(0, d->ops->read_state(d, &got, why))
		TH_LOG("%s: %s", when, why);
	n = d->ops->compare(want, &got, why);
	ASSERT_EQ(0, n) TH_LOG("%s:%s", when, why);
}

/* Reset to RUNNING, whatever the state, and check it. */
static void reset_running(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, const char *when)
{
	int ret = vfio_dev_reset(dev);

	ASSERT_EQ(0, ret) TH_LOG("%s: reset: %s", when, strerror(-ret));
	expect_state(_metadata, dev, ST(RUNNING));
}

/* The whole stream of the device's current state, STOP afterwards. */
static void save_all(struct __test_metadata *_metadata, struct vfio_dev *dev,
		     struct vfio_buf *out)
{
	go(_metadata, dev, ST(STOP), NULL);
	save(_metadata, dev, out);
}

FIXTURE_SETUP(faults)
{
	char why[MIG_WHY_LEN];
	int ret;

	self->d.dev.device_fd = -1;
	self->fd = -1;
	self->nth = -1;
	vfio_buf_init(&self->good);
	ret = mig_pdev_open(&self->d, g_bdf, why);
	if (ret == -ENODEV)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(0, vfio_dev_mig_flags(&self->d.dev, &self->flags));
	reset_running(_metadata, &self->d.dev, "setup");
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, self->nth) TH_LOG("fail-nth: %s", strerror(errno));
	put_state(_metadata, &self->d, 1, &self->want1);
	/* a stream to resume, for the calls that start in RESUMING */
	if (variant->from == ST(RESUMING)) {
		save_all(_metadata, &self->d.dev, &self->good);
		reset_running(_metadata, &self->d.dev, "after saving state 1");
	}
	snprintf(g_counts[variant->idx].name, sizeof(g_counts->name), "%s",
		 variant->name);
	g_counts[variant->idx].sites = -1;
}

FIXTURE_TEARDOWN(faults)
{
	close_fd(&self->fd);
	close_fd(&self->nth);
	mig_pdev_close(&self->d);
	vfio_buf_free(&self->good);
}

/* Whether the device can be asked for @s. */
static bool supported(uint64_t flags, uint32_t s)
{
	return !s || vfio_mig_state_supported(flags, s);
}

/*
 * From RUNNING (after a reset) into @from, keeping its data fd in
 * self->fd; RESUMING gets the good stream written unless @empty.
 */
static void enter(struct __test_metadata *_metadata,
		  FIXTURE_DATA(faults) *self, uint32_t from, bool empty)
{
	struct vfio_dev *dev = &self->d.dev;
	int ret;

	close_fd(&self->fd);
	switch (from) {
	case ST(RUNNING):
		return;
	case ST(STOP_COPY):
	case ST(RESUMING):
		go(_metadata, dev, ST(STOP), NULL);
		go(_metadata, dev, from, &self->fd);
		ASSERT_LE(0, self->fd);
		if (from == ST(RESUMING) && !empty) {
			ret = vfio_mig_write(self->fd, self->good.data,
					     self->good.len, 0, NULL);
			ASSERT_EQ(0, ret) TH_LOG("resume write: %s",
						 strerror(-ret));
		}
		return;
	case ST(PRE_COPY_P2P):
		go(_metadata, dev, ST(PRE_COPY), &self->fd);
		ASSERT_LE(0, self->fd);
		go(_metadata, dev, from, NULL);
		return;
	default:
		go(_metadata, dev, from, &self->fd);
		return;
	}
}

/*
 * After the call failed (or was short) at a fault: the rest of the
 * stream still comes whole.  C_READ: read it all (what was read before,
 * @head, @hlen bytes, first); resume it into the device after another
 * state and a reset, which must then hold state 1.  C_WRITE: write the
 * rest from @done on, load, compare.
 */
static void finish_read(struct __test_metadata *_metadata,
			FIXTURE_DATA(faults) *self, uint32_t from,
			const void *head, size_t hlen, const char *when)
{
	struct vfio_dev *dev = &self->d.dev;
	struct vfio_buf s;
	int ret, fd;

	vfio_buf_init(&s);
	ASSERT_EQ(0, vfio_buf_append(&s, head, hlen));
	if (from == ST(PRE_COPY)) {
		ret = vfio_mig_read(self->fd, &s, MAX_STREAM);
		ASSERT_EQ(VFIO_MIG_READ_NODATA, ret)
			TH_LOG("%s: PRE_COPY read: %s", when, strerror(-ret));
		go(_metadata, dev, ST(STOP_COPY), NULL);
	}
	ret = vfio_mig_read(self->fd, &s, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret)
		TH_LOG("%s: read: %s", when, strerror(-ret));
	close_fd(&self->fd);
	go(_metadata, dev, ST(STOP), NULL);
	reset_running(_metadata, dev, when);
	put_state(_metadata, &self->d, 2, NULL);
	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd);
	ret = vfio_mig_write(fd, s.data, s.len, 0, NULL);
	close(fd);
	vfio_buf_free(&s);
	ASSERT_EQ(0, ret) TH_LOG("%s: resume: %s", when, strerror(-ret));
	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RUNNING), NULL);
	expect_state_of(_metadata, &self->d, &self->want1, when);
}

static void finish_write(struct __test_metadata *_metadata,
			 FIXTURE_DATA(faults) *self, size_t done,
			 const char *when)
{
	struct vfio_dev *dev = &self->d.dev;
	int ret;

	ret = vfio_mig_write(self->fd, self->good.data + done,
			     self->good.len - done, 0, NULL);
	ASSERT_EQ(0, ret) TH_LOG("%s: the rest from %zu: %s", when, done,
				 strerror(-ret));
	close_fd(&self->fd);
	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RUNNING), NULL);
	expect_state_of(_metadata, &self->d, &self->want1, when);
}

/* After a failed arc: the states it may have left the device in. */
static bool arc_state_ok(const FIXTURE_VARIANT(faults) *v, uint32_t now)
{
	return now == v->from || now == v->to || now == ST(ERROR) ||
	       (v->mid && now == v->mid);
}

/* The end of every test: a round trip of a state works. */
static void round_trip(struct __test_metadata *_metadata,
		       FIXTURE_DATA(faults) *self)
{
	struct vfio_dev *dev = &self->d.dev;
	struct mig_state want;
	struct vfio_buf s;

	vfio_buf_init(&s);
	reset_running(_metadata, dev, "round trip");
	put_state(_metadata, &self->d, 3, &want);
	save_all(_metadata, dev, &s);
	reset_running(_metadata, dev, "round trip, saved");
	put_state(_metadata, &self->d, 2, NULL);
	resume(_metadata, dev, s.data, s.len, 0);
	vfio_buf_free(&s);
	go(_metadata, dev, ST(RUNNING), NULL);
	expect_state_of(_metadata, &self->d, &want, "round trip, resumed");
}

TEST_F_TIMEOUT(faults, inject, 900)
{
	struct site_count *c = &g_counts[variant->idx];
	struct vfio_dev *dev = &self->d.dev;
	struct vfio_device_feature_mig_state *ms;
	struct vfio_device_feature_mig_data_size *ds;
	struct vfio_precopy_info pi;
	uint64_t fbuf[(sizeof(struct vfio_device_feature) + 16) / 8 + 1];
	struct vfio_device_feature *f = (void *)fbuf;
	static uint8_t rbuf[READ_CHUNK];
	unsigned int n;
	char when[96];
	uint32_t now;
	ssize_t r = 0;
	int e = 0;
	bool fired;

	if (!supported(self->flags, variant->from) ||
	    !supported(self->flags, variant->to))
		SKIP(return, "the device does not support %s -> %s",
		     NAME(variant->from), NAME(variant->to));
	ms = (void *)f->data;
	ds = (void *)f->data;

	for (n = 1; n <= MAX_SITES; n++) {
		snprintf(when, sizeof(when), "fault %u", n);
		reset_running(_metadata, dev, when);
		if (variant->call == C_READ)
			put_state(_metadata, &self->d, 1, NULL);
		enter(_metadata, self, variant->from,
		      variant->call == C_WRITE ||
		      (variant->call == C_ARC && variant->to != ST(STOP)) ||
		      variant->call == C_CLOSE);

		memset(fbuf, 0, sizeof(fbuf));
		f->argsz = sizeof(*f) + sizeof(*ms);
		memset(&pi, 0, sizeof(pi));
		pi.argsz = sizeof(pi);
		ASSERT_EQ(0, nth_set(self->nth, n));
		/* from here to nth_fired(): the call and no other syscall */
		switch (variant->call) {
		case C_ARC:
			f->flags = VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
			ms->device_state = variant->to;
			ms->data_fd = -1;
			r = ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, f);
			break;
		case C_GET_STATE:
			f->flags = VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
			r = ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, f);
			break;
		case C_DATA_SIZE:
			f->argsz = sizeof(*f) + sizeof(*ds);
			f->flags = VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_MIG_DATA_SIZE;
			r = ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, f);
			break;
		case C_PRECOPY_INFO:
			r = ioctl(self->fd, VFIO_MIG_GET_PRECOPY_INFO, &pi);
			break;
		case C_READ:
			r = read(self->fd, rbuf, sizeof(rbuf));
			break;
		case C_WRITE:
			r = write(self->fd, self->good.data,
				  self->good.len < WRITE_CHUNK ?
				  self->good.len : WRITE_CHUNK);
			break;
		case C_RESET:
			r = ioctl(dev->device_fd, VFIO_DEVICE_RESET);
			break;
		case C_CLOSE:
			r = close(self->fd);
			self->fd = -1;
			break;
		}
		e = errno;
		fired = nth_fired(self->nth);

		if (r >= 0 && !fired)
			break;		/* n - 1 points, none left */
		if (r >= 0) {
			c->absorbed++;
		} else {
			c->failed++;
			count_errno(c, e);
			ASSERT_TRUE(fired)
				TH_LOG("%s: failed without a fault: %s", when,
				       strerror(e));
			ASSERT_TRUE(accepted_errno(e))
				TH_LOG("%s: errno %d (%s)", when, e,
				       strerror(e));
		}

		switch (variant->call) {
		case C_ARC:
			if (r >= 0) {
				if (ms->data_fd >= 0)
					close(ms->data_fd);
				expect_state(_metadata, dev, variant->to);
				break;
			}
			ASSERT_EQ(0, vfio_dev_mig_get_state(dev, &now));
			ASSERT_TRUE(arc_state_ok(variant, now))
				TH_LOG("%s: %s -> %s failed (%s), left %s",
				       when, NAME(variant->from),
				       NAME(variant->to), strerror(e),
				       NAME(now));
			if (now == variant->to)
				c->done_anyway++;
			break;
		case C_READ:
			finish_read(_metadata, self, variant->from, rbuf,
				    r > 0 ? r : 0, when);
			break;
		case C_WRITE:
			finish_write(_metadata, self, r > 0 ? r : 0, when);
			break;
		case C_GET_STATE:
		case C_RESET:
			if (r >= 0)
				break;
			/* the device answers, as it did before */
			ASSERT_EQ(0, vfio_dev_mig_get_state(dev, &now));
			break;
		default:
			break;
		}
		if (_metadata->exit_code)
			return;
		close_fd(&self->fd);
	}
	ASSERT_GE(MAX_SITES, n) TH_LOG("more than %u fault sites", MAX_SITES);
	c->sites = n - 1;
	/* the call succeeded: clean up what it made */
	if (variant->call == C_ARC && ms->data_fd >= 0)
		close(ms->data_fd);
	close_fd(&self->fd);
	TH_LOG("%s: %u fault sites; failed %d (ENOMEM %d, EFAULT %d), succeeded anyway %d, arc made though failed %d",
	       variant->name, n - 1, c->failed, c->nomem, c->fault,
	       c->absorbed, c->done_anyway);
	round_trip(_metadata, self);
}

/*
 * User copies that fault by themselves: a buffer of @len bytes whose end
 * (or start, @start) is at a PROT_NONE page.
 */
struct guarded {
	uint8_t *map;
	size_t size;
};

static uint8_t *guard_buf(struct __test_metadata *_metadata,
			  struct guarded *g, size_t len, bool start)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t body = (len + pg - 1) / pg * pg;

	g->size = body + 2 * pg;
	g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, g->map);
	ASSERT_EQ(0, mprotect(g->map, pg, PROT_NONE));
	ASSERT_EQ(0, mprotect(g->map + pg + body, pg, PROT_NONE));
	/* start: the first byte is the last of the guard before */
	return start ? g->map + pg - 1 : g->map + pg + body - len;
}

FIXTURE(usercopy) {
	struct mig_pdev d;
	int fd;
	struct vfio_buf good;
	struct mig_state want1;
};

FIXTURE_VARIANT(usercopy) {
	bool write;
	bool start;		/* the buffer starts in the guard page */
	size_t room;		/* of the buffer, the bytes before the guard */
};

/* room: half the stream, at most 64 KiB */
#define HALF		((size_t)-1)

FIXTURE_VARIANT_ADD(usercopy, read_end_1) { .room = 1 };
FIXTURE_VARIANT_ADD(usercopy, read_end_17) { .room = 17 };
FIXTURE_VARIANT_ADD(usercopy, read_end_half) { .room = HALF };
FIXTURE_VARIANT_ADD(usercopy, read_start) { .start = true };
FIXTURE_VARIANT_ADD(usercopy, write_end_1) { .write = true, .room = 1 };
FIXTURE_VARIANT_ADD(usercopy, write_end_17) { .write = true, .room = 17 };
FIXTURE_VARIANT_ADD(usercopy, write_end_half) { .write = true, .room = HALF };
FIXTURE_VARIANT_ADD(usercopy, write_start) { .write = true, .start = true };

FIXTURE_SETUP(usercopy)
{
	char why[MIG_WHY_LEN];
	int ret;

	self->d.dev.device_fd = -1;
	self->fd = -1;
	vfio_buf_init(&self->good);
	ret = mig_pdev_open(&self->d, g_bdf, why);
	if (ret == -ENODEV)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	reset_running(_metadata, &self->d.dev, "setup");
	put_state(_metadata, &self->d, 1, &self->want1);
	save_all(_metadata, &self->d.dev, &self->good);
	reset_running(_metadata, &self->d.dev, "after saving state 1");
}

FIXTURE_TEARDOWN(usercopy)
{
	close_fd(&self->fd);
	mig_pdev_close(&self->d);
	vfio_buf_free(&self->good);
}

/*
 * Each read() (write()) of the stream goes through the guarded buffer,
 * asking for room + 4096 bytes (or, @start, 4096 from the guard page): it
 * must fail with EFAULT or move at most the bytes before the guard; the
 * next call moves the next bytes, through a good buffer.  The stream
 * must be whole: resumed, the device holds state 1 again.
 */
TEST_F_TIMEOUT(usercopy, guard_page, 600)
{
	struct vfio_dev *dev = &self->d.dev;
	size_t len = self->good.len, room = variant->room, at = 0, shorts = 0;
	size_t ask;
	unsigned int efaults = 0;
	struct vfio_buf s;
	struct guarded g;
	uint8_t *buf, tmp[4096];
	bool eof;
	ssize_t r;

	if (variant->start)
		room = 0;
	else if (room == HALF)
		room = len / 2 < 65536 ? (len / 2 ?: 1) : 65536;
	ask = room + 4096;
	ASSERT_LT(room, len) TH_LOG("a stream of %zu bytes", len);
	buf = guard_buf(_metadata, &g, room ? room : 1, variant->start);
	vfio_buf_init(&s);
	if (!variant->write) {
		put_state(_metadata, &self->d, 1, NULL);
		go(_metadata, dev, ST(STOP), NULL);
		go(_metadata, dev, ST(STOP_COPY), &self->fd);
		for (;;) {
			r = read(self->fd, buf, ask);
			if (r < 0) {
				ASSERT_EQ(EFAULT, errno)
					TH_LOG("read at %zu: %s", s.len,
					       strerror(errno));
				efaults++;
			} else {
				/* at most the bytes before the guard */
				ASSERT_GE(room, (size_t)r);
				if (r)
					shorts++;
				ASSERT_EQ(0, vfio_buf_append(&s, buf, r));
			}
			/* a good read of the next bytes */
			eof = r == 0;
			r = read(self->fd, tmp, sizeof(tmp));
			ASSERT_LE(0, r) TH_LOG("read at %zu: %s", s.len,
					       strerror(errno));
			/* 0 means the end; it must be one */
			ASSERT_FALSE(eof && r) TH_LOG("read 0 at %zu, then %zd bytes",
						      s.len, r);
			if (!r)
				break;
			ASSERT_EQ(0, vfio_buf_append(&s, tmp, r));
		}
		close_fd(&self->fd);
		go(_metadata, dev, ST(STOP), NULL);
		reset_running(_metadata, dev, "saved");
		put_state(_metadata, &self->d, 2, NULL);
		resume(_metadata, dev, s.data, s.len, 0);
	} else {
		put_state(_metadata, &self->d, 2, NULL);
		go(_metadata, dev, ST(STOP), NULL);
		go(_metadata, dev, ST(RESUMING), &self->fd);
		while (at < len) {
			size_t k = len - at < room ? len - at : room;
			size_t want = len - at < ask ? len - at : ask;

			if (want > k) {
				memcpy(buf, self->good.data + at, k);
				r = write(self->fd, buf, want);
				if (r < 0) {
					ASSERT_EQ(EFAULT, errno)
						TH_LOG("write at %zu: %s", at,
						       strerror(errno));
					efaults++;
				} else {
					ASSERT_LT(0, r) TH_LOG("write at %zu: 0",
							       at);
					ASSERT_GE(k, (size_t)r);
					shorts++;
					at += r;
				}
			}
			want = len - at < sizeof(tmp) ? len - at : sizeof(tmp);
			if (!want)
				break;
			r = write(self->fd, self->good.data + at, want);
			ASSERT_LT(0, r) TH_LOG("write at %zu: %s", at,
					       strerror(errno));
			at += r;
		}
		close_fd(&self->fd);
		go(_metadata, dev, ST(STOP), NULL);
	}
	vfio_buf_free(&s);
	munmap(g.map, g.size);
	TH_LOG("%s of %zu bytes through %zu before the guard: %u EFAULT, %zu short",
	       variant->write ? "write" : "read", len, room, efaults, shorts);
	/* the stream is longer than room: the guard was hit */
	ASSERT_LT(0U, efaults + shorts);
	go(_metadata, dev, ST(RUNNING), NULL);
	expect_state_of(_metadata, &self->d, &self->want1, "resumed");
}

/*
 * Stalls: a read() (write()) whose buffer is a missing page registered
 * with userfaultfd stops in copy_to_user() (copy_from_user()) with the
 * session's lock held, until the test resolves the fault.  Meanwhile a
 * second thread makes another call; the test logs whether that call
 * waited for the stalled one (an arc that ends the session, a
 * VFIO_MIG_GET_PRECOPY_INFO on the same fd, a reset, a close() of a
 * resume fd may) or not (GET of the state, MIG_DATA_SIZE, a close() of a
 * save fd).  Then UFFDIO_COPY fills the page: both calls must return
 * within WATCHDOG_S, with results the uAPI allows; where the other call
 * left the session open on an fd, the rest of the stream must still
 * read or write whole; after a close() the arc out of the state ends the
 * session; and the device must migrate.
 */
#define WATCHDOG_S	20
#define WAIT_MS		2000	/* how long "waits for it" is looked for */

enum other { O_GET_STATE, O_DATA_SIZE, O_PRECOPY_INFO, O_ARC, O_RESET,
	     O_CLOSE };

FIXTURE(uffd) {
	struct mig_pdev d;
	int fd;
	int uffd;
	uint8_t *area;
	size_t pg;
	struct vfio_buf good;
	struct mig_state want1;
};

FIXTURE_VARIANT(uffd) {
	bool write;
	uint32_t from;
	enum other other;
	uint32_t to;		/* O_ARC */
};

FIXTURE_VARIANT_ADD(uffd, read_stop_copy_get_state) {
	.from = S(STOP_COPY), .other = O_GET_STATE,
};
FIXTURE_VARIANT_ADD(uffd, read_stop_copy_data_size) {
	.from = S(STOP_COPY), .other = O_DATA_SIZE,
};
FIXTURE_VARIANT_ADD(uffd, read_stop_copy_to_stop) {
	.from = S(STOP_COPY), .other = O_ARC, .to = S(STOP),
};
FIXTURE_VARIANT_ADD(uffd, read_stop_copy_reset) {
	.from = S(STOP_COPY), .other = O_RESET,
};
FIXTURE_VARIANT_ADD(uffd, read_pre_copy_precopy_info) {
	.from = S(PRE_COPY), .other = O_PRECOPY_INFO,
};
FIXTURE_VARIANT_ADD(uffd, read_pre_copy_to_stop_copy) {
	.from = S(PRE_COPY), .other = O_ARC, .to = S(STOP_COPY),
};
FIXTURE_VARIANT_ADD(uffd, read_pre_copy_to_running) {
	.from = S(PRE_COPY), .other = O_ARC, .to = S(RUNNING),
};
FIXTURE_VARIANT_ADD(uffd, write_resuming_get_state) {
	.write = true, .from = S(RESUMING), .other = O_GET_STATE,
};
FIXTURE_VARIANT_ADD(uffd, write_resuming_to_stop) {
	.write = true, .from = S(RESUMING), .other = O_ARC, .to = S(STOP),
};
FIXTURE_VARIANT_ADD(uffd, write_resuming_reset) {
	.write = true, .from = S(RESUMING), .other = O_RESET,
};
FIXTURE_VARIANT_ADD(uffd, read_stop_copy_close) {
	.from = S(STOP_COPY), .other = O_CLOSE,
};
FIXTURE_VARIANT_ADD(uffd, write_resuming_close) {
	.write = true, .from = S(RESUMING), .other = O_CLOSE,
};

FIXTURE_SETUP(uffd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	char why[MIG_WHY_LEN];
	uint64_t flags;
	int ret;

	self->d.dev.device_fd = -1;
	self->fd = -1;
	self->area = MAP_FAILED;
	vfio_buf_init(&self->good);
	self->pg = sysconf(_SC_PAGESIZE);
	/* kernel faults too: no UFFD_USER_MODE_ONLY (we are root) */
	self->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (self->uffd < 0 && errno == ENOSYS)
		SKIP(return, "no userfaultfd (ENOSYS): the kernel lacks CONFIG_USERFAULTFD");
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_API, &api))
		TH_LOG("UFFDIO_API: %s", strerror(errno));
	ret = mig_pdev_open(&self->d, g_bdf, why);
	if (ret == -ENODEV)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(0, vfio_dev_mig_flags(&self->d.dev, &flags));
	if (!supported(flags, variant->from) || !supported(flags, variant->to))
		SKIP(return, "the device does not support %s",
		     NAME(variant->from));
	reset_running(_metadata, &self->d.dev, "setup");
	put_state(_metadata, &self->d, 1, &self->want1);
	save_all(_metadata, &self->d.dev, &self->good);
	reset_running(_metadata, &self->d.dev, "after saving state 1");
	self->area = mmap(NULL, self->pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	reg.range.start = (uintptr_t)self->area;
	reg.range.len = self->pg;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
}

FIXTURE_TEARDOWN(uffd)
{
	/*
	 * The userfaultfd goes first: a test that failed before it filled
	 * the page leaves a call stalled with the session's lock held, and
	 * closing the userfaultfd ends its copy (EFAULT), which the end of
	 * the session at the device's close would otherwise wait for.
	 */
	close_fd(&self->uffd);
	if (self->area != MAP_FAILED)
		munmap(self->area, self->pg);
	close_fd(&self->fd);
	mig_pdev_close(&self->d);
	vfio_buf_free(&self->good);
}

struct call_thread {
	pthread_t t;
	int fd;			/* data fd or device fd */
	bool write;
	enum other other;
	uint32_t to;
	void *buf;
	size_t len;
	ssize_t ret;
	int err;
	volatile bool done;
};

static void *io_thread(void *arg)
{
	struct call_thread *c = arg;

	c->ret = c->write ? write(c->fd, c->buf, c->len) :
			    read(c->fd, c->buf, c->len);
	c->err = errno;
	c->done = true;
	return NULL;
}

static void *other_thread(void *arg)
{
	struct call_thread *c = arg;
	struct vfio_precopy_info pi = { .argsz = sizeof(pi) };
	struct vfio_dev *dev = c->buf;
	uint64_t bytes;
	uint32_t st;
	int fd = -1;

	switch (c->other) {
	case O_GET_STATE:
		c->ret = vfio_dev_mig_get_state(dev, &st);
		break;
	case O_DATA_SIZE:
		c->ret = vfio_dev_mig_data_size(dev, &bytes);
		break;
	case O_PRECOPY_INFO:
		c->ret = ioctl(c->fd, VFIO_MIG_GET_PRECOPY_INFO, &pi) ?
			 -errno : 0;
		break;
	case O_ARC:
		c->ret = vfio_dev_mig_set_state(dev, c->to, &fd);
		if (fd >= 0)
			close(fd);
		break;
	case O_RESET:
		c->ret = vfio_dev_reset(dev);
		break;
	case O_CLOSE:
		c->ret = close(c->fd) ? -errno : 0;
		break;
	}
	c->done = true;
	return NULL;
}

static const char *const other_names[] = {
	[O_GET_STATE] = "GET of the state", [O_DATA_SIZE] = "MIG_DATA_SIZE",
	[O_PRECOPY_INFO] = "VFIO_MIG_GET_PRECOPY_INFO",
	[O_ARC] = "the arc", [O_RESET] = "VFIO_DEVICE_RESET",
	[O_CLOSE] = "close() of the data fd",
};

static bool wait_done(volatile bool *done, int ms)
{
	for (; ms > 0 && !*done; ms -= 10)
		usleep(10000);
	return *done;
}

static int join_within(pthread_t t, int s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	return pthread_timedjoin_np(t, NULL, &ts);
}

TEST_F_TIMEOUT(uffd, stall, 300)
{
	struct vfio_dev *dev = &self->d.dev;
	struct call_thread io = { 0 }, other = { 0 };
	struct uffdio_copy cp = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd = { .fd = self->uffd, .events = POLLIN };
	bool waited, ends, refused = false;
	struct vfio_buf s;
	uint8_t *src;
	uint32_t now;
	size_t n;
	int ret;

	if (!variant->write)
		put_state(_metadata, &self->d, 1, NULL);
	else
		put_state(_metadata, &self->d, 2, NULL);
	if (variant->from != ST(PRE_COPY))
		go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, variant->from, &self->fd);
	ASSERT_LE(0, self->fd);

	n = variant->write ? (self->good.len < self->pg ? self->good.len :
			      self->pg) : self->pg;
	io.fd = self->fd;
	io.write = variant->write;
	io.buf = self->area;
	io.len = n;
	ASSERT_EQ(0, pthread_create(&io.t, NULL, io_thread, &io));
	/* the call stalls on the page */
	ASSERT_EQ(1, poll(&pfd, 1, WATCHDOG_S * 1000))
		TH_LOG("no page fault from the %s", variant->write ? "write" : "read");
	ASSERT_EQ((ssize_t)sizeof(msg), read(self->uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_FALSE(io.done);

	other.fd = self->fd;
	if (variant->other == O_CLOSE)
		self->fd = -1;	/* the other thread closes it */
	other.buf = dev;
	other.other = variant->other;
	other.to = variant->to;
	ASSERT_EQ(0, pthread_create(&other.t, NULL, other_thread, &other));
	waited = !wait_done(&other.done, WAIT_MS);
	TH_LOG("%s while a %s is stalled in a user copy: %s",
	       other_names[variant->other], variant->write ? "write" : "read",
	       waited ? "waits for it" : "answers at once");

	/* resolve: the page gets the stream's first bytes (write) */
	src = aligned_alloc(self->pg, self->pg);
	ASSERT_NE(NULL, src);
	memset(src, 0, self->pg);
	if (variant->write)
		memcpy(src, self->good.data, n);
	cp.dst = (uintptr_t)self->area;
	cp.src = (uintptr_t)src;
	cp.len = self->pg;
	ret = ioctl(self->uffd, UFFDIO_COPY, &cp);
	free(src);
	ASSERT_EQ(0, ret) TH_LOG("UFFDIO_COPY: %s", strerror(errno));
	ASSERT_EQ(0, join_within(io.t, WATCHDOG_S))
		TH_LOG("the %s did not return within %d s of the fault's end",
		       variant->write ? "write" : "read", WATCHDOG_S);
	ASSERT_EQ(0, join_within(other.t, WATCHDOG_S))
		TH_LOG("%s did not return within %d s of the fault's end",
		       other_names[variant->other], WATCHDOG_S);

	/* the stalled call finished its copy, or saw its session end */
	if (io.ret < 0) {
		ASSERT_EQ(ENODEV, io.err) TH_LOG("stalled call: %s",
						 strerror(io.err));
	}
	ends = variant->other == O_ARC || variant->other == O_RESET;
	/*
	 * RESUMING -> STOP loads what was written: a part of the stream
	 * (more than a page of it), or nothing if the arc came first, is
	 * refused and leaves ERROR.
	 */
	if (variant->write && variant->other == O_ARC && other.ret &&
	    (io.ret < 0 || (size_t)io.ret < self->good.len)) {
		ASSERT_EQ(-EINVAL, other.ret) TH_LOG("load: %s",
						     strerror(-other.ret));
		expect_state(_metadata, dev, ST(ERROR));
		refused = true;
	} else {
		ASSERT_EQ(0, other.ret)
			TH_LOG("%s: %s", other_names[variant->other],
			       strerror(-other.ret));
	}
	if (variant->other == O_CLOSE) {
		/*
		 * The fd is gone, the file is not: the stalled call holds
		 * it (the VFS's reference for the syscall) and finished its
		 * copy, and the session holds it too, so the arc out of the
		 * state still finds the session and ends it.  A resume
		 * loads what was written: the whole stream (an edu's fits
		 * in the page), or a part of it (an ivshmem's), which the
		 * load refuses.
		 */
		ASSERT_LT(0, io.ret) TH_LOG("the stalled %s after the close: %s",
					    variant->write ? "write" : "read",
					    io.ret < 0 ? strerror(io.err) : "0");
		if (variant->write && (size_t)io.ret < self->good.len) {
			ret = vfio_dev_mig_set_state(dev, ST(STOP), NULL);
			ASSERT_EQ(-EINVAL, ret)
				TH_LOG("loading %zd of %zu bytes: %s", io.ret,
				       self->good.len, strerror(-ret));
			expect_state(_metadata, dev, ST(ERROR));
		} else {
			go(_metadata, dev, ST(STOP), NULL);
			go(_metadata, dev, ST(RUNNING), NULL);
			/* state 1: saved from, or loaded */
			expect_state_of(_metadata, &self->d, &self->want1,
					"after a close during the stall");
		}
	} else if (!ends && io.ret > 0) {
		ASSERT_EQ(0, vfio_dev_mig_get_state(dev, &now));
		ASSERT_EQ(variant->from, now);
		if (variant->write) {
			ret = vfio_mig_write(self->fd, self->good.data + io.ret,
					     self->good.len - io.ret, 0, NULL);
			ASSERT_EQ(0, ret) TH_LOG("the rest: %s", strerror(-ret));
			close_fd(&self->fd);
			go(_metadata, dev, ST(STOP), NULL);
		} else {
			vfio_buf_init(&s);
			ASSERT_EQ(0, vfio_buf_append(&s, self->area, io.ret));
			if (variant->from == ST(PRE_COPY)) {
				ret = vfio_mig_read(self->fd, &s, MAX_STREAM);
				ASSERT_EQ(VFIO_MIG_READ_NODATA, ret);
				go(_metadata, dev, ST(STOP_COPY), NULL);
			}
			ret = vfio_mig_read(self->fd, &s, MAX_STREAM);
			ASSERT_EQ(VFIO_MIG_READ_EOF, ret);
			close_fd(&self->fd);
			go(_metadata, dev, ST(STOP), NULL);
			reset_running(_metadata, dev, "saved");
			put_state(_metadata, &self->d, 2, NULL);
			resume(_metadata, dev, s.data, s.len, 0);
			vfio_buf_free(&s);
		}
		go(_metadata, dev, ST(RUNNING), NULL);
		expect_state_of(_metadata, &self->d, &self->want1,
				"after the stall");
	} else if (variant->other == O_ARC && !refused) {
		expect_state(_metadata, dev, variant->to);
	} else if (variant->other == O_RESET) {
		expect_state(_metadata, dev, ST(RUNNING));
	}
	close_fd(&self->fd);
	/* the device still migrates */
	{
		struct mig_state want;

		vfio_buf_init(&s);
		reset_running(_metadata, dev, "round trip");
		put_state(_metadata, &self->d, 3, &want);
		save_all(_metadata, dev, &s);
		reset_running(_metadata, dev, "round trip, saved");
		put_state(_metadata, &self->d, 2, NULL);
		resume(_metadata, dev, s.data, s.len, 0);
		vfio_buf_free(&s);
		go(_metadata, dev, ST(RUNNING), NULL);
		expect_state_of(_metadata, &self->d, &want, "round trip");
	}
}

/* The debugfs knobs main() sets, with their old values. */
static const struct knob {
	const char *path;
	const char *value;
} knobs[] = {
	{ DBG "failslab/ignore-gfp-wait", "N" },
	{ DBG "fail_page_alloc/ignore-gfp-wait", "N" },
	{ DBG "fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DBG "fail_page_alloc/min-order", "0" },
#define ATTR(a)								\
	{ DBG a "/verbose", "0" }, { DBG a "/task-filter", "Y" },	\
	{ DBG a "/interval", "1" }, { DBG a "/times", "-1" },		\
	{ DBG a "/space", "0" }, { DBG a "/probability", "100" }
	ATTR("failslab"), ATTR("fail_page_alloc"), ATTR("fail_usercopy"),
};
static char saved[ARRAY_SIZE(knobs)][32];
static pid_t knobs_owner;

static int knob_rw(const char *path, char *old, size_t len, const char *new)
{
	ssize_t r;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return -errno;
	if (old) {
		r = read(fd, old, len - 1);
		old[r > 0 ? r : 0] = 0;
		old[strcspn(old, "\n")] = 0;
	}
	r = write(fd, new, strlen(new));
	close(fd);
	return r < 0 ? -errno : 0;
}

static void restore_knobs(void)
{
	struct site_count *c;
	int total = 0, i;
	size_t k;

	if (getpid() != knobs_owner)
		return;		/* a test's child */
	for (k = ARRAY_SIZE(knobs); k-- > 0;)
		if (saved[k][0] && knob_rw(knobs[k].path, NULL, 0, saved[k]))
			printf("# cannot restore %s to %s\n", knobs[k].path,
			       saved[k]);
	for (i = 0; i < NR_COUNTS; i++) {
		c = &g_counts[i];
		if (!c->name[0])
			continue;
		if (c->sites < 0) {
			printf("# fault sites: %s did not finish\n", c->name);
			continue;
		}
		printf("# fault sites: %-26s %4d  (failed %d: ENOMEM %d, EFAULT %d, other %d; succeeded anyway %d; arc made though failed %d)\n",
		       c->name, c->sites, c->failed, c->nomem, c->fault,
		       c->other, c->absorbed, c->done_anyway);
		total += c->sites;
	}
	printf("# fault sites: total %d\n", total);
	fflush(stdout);
}

/* NULL, or why fault injection cannot run here. */
static const char *setup_knobs(void)
{
	static char why[160];
	size_t k;
	int ret;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return "no /proc/thread-self/fail-nth: the kernel lacks CONFIG_FAULT_INJECTION";
	for (k = 0; k < ARRAY_SIZE(knobs); k++)
		if (access(knobs[k].path, W_OK)) {
			snprintf(why, sizeof(why),
				 "no %s: the kernel lacks CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC or CONFIG_FAULT_INJECTION_USERCOPY, or debugfs is not mounted",
				 knobs[k].path);
			return why;
		}
	knobs_owner = getpid();
	atexit(restore_knobs);
	for (k = 0; k < ARRAY_SIZE(knobs); k++) {
		ret = knob_rw(knobs[k].path, saved[k], sizeof(saved[k]),
			      knobs[k].value);
		if (ret) {
			snprintf(why, sizeof(why), "%s: %s", knobs[k].path,
				 strerror(-ret));
			ksft_exit_fail_msg("setting %s\n", why);
		}
	}
	return NULL;
}

static const char *precheck(const char *bdf)
{
	const char *why = mig_precheck_plugin(bdf);

	return why ? why : setup_knobs();
}

int main(int argc, char **argv)
{
	g_counts = mmap(NULL, NR_COUNTS * sizeof(*g_counts),
			PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	if (g_counts == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return mig_test_main(argc, argv, &g_bdf, precheck);
}
