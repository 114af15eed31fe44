// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded ioctl-sequence fuzzer for VFIO migration drivers, device
 * agnostic.
 *
 * Worker threads (MIG_FUZZ_THREADS, default 4) share the given devices
 * (one or two; thread i works on device i % devices) and each runs a
 * random sequence of calls drawn from its own PRNG (splitmix64 of the run
 * seed and the thread's index):
 *
 *   set_state   any state: supported, unsupported, ERROR, out of range
 *   get_state   GET must succeed and name a state
 *   data_size   VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
 *   read        on a data fd of the device: sizes 0, small, page, up to
 *               1 MiB; a NULL buffer now and then
 *   write       on a data fd: the next piece of a valid stream saved at
 *               the start (the device's own or the other device's), the
 *               same with bytes flipped, random bytes, 0 bytes, NULL;
 *               a stream left half written is a truncated one
 *   poll        POLLIN | POLLOUT, no wait
 *   precopy     VFIO_MIG_GET_PRECOPY_INFO, argsz right or too small,
 *               a NULL argument now and then
 *   dma_log     DMA logging START (a valid range or a broken request),
 *               REPORT and STOP, where the device offers DMA logging
 *   reset       VFIO_DEVICE_RESET (also where it is not advertised)
 *   close_fd    close one of the device's data fds
 *   reopen      close the device (its data fds stay open) and open it
 *               again; it must open, in a state GET names
 *
 * Each call must succeed or fail with an errno of its documented set (see
 * the check_*() below); a failure names the seed, the thread, the op
 * index and the call.  The data fds of a device are shared by its
 * threads (each call works on a dup() of one), so ends of sessions, arcs
 * and resets race with I/O.  Where one thread alone works on a device
 * (e.g. --threads 1), the state is also checked after each arc, reset
 * and reopen.  A thread that makes no progress for MIG_FUZZ_OP_TIMEOUT
 * seconds (default 120) is a hang: the program fails, naming its op.
 *
 * Afterwards every device is brought back to RUNNING (a reset, or where
 * the device has none, a close and reopen) and must still migrate: with
 * a plug-in (mig_plugin.h), two known states through save, reset and
 * resume; without one (mtty), a save read to its end and accepted whole
 * by a resume, and a save after that.
 *
 * The run is bounded by its op count (MIG_FUZZ_OPS or --ops, over all
 * threads), not by time.  The seed (MIG_FUZZ_SEED or --seed; default
 * from the clock) and the count are on every TAP result line, and the
 * program prints the command that replays the run.  One thread alone
 * replays exactly (same seed, ops and devices, --threads 1, or --only K
 * for thread K of a run with more threads and its share of the ops);
 * with several threads the scheduling, and so the interleaving, differs
 * from run to run.
 *
 * Crashes, WARNs, KASAN, lockdep and kmemleak reports are caught by the
 * test bed's scan of the kernel log.  The program prints what each call
 * answered (success and each errno, counted): the paths a run took.
 *
 * MIG_FUZZ_NO_CLOSE_IN_RESUMING=1 keeps the device from being closed in
 * RESUMING, for mtty (see op_reopen()), whose NULL dereference after
 * such a close would end the run with an oops.
 *
 * Usage: migration_fuzz [--seed N] [--ops N] [--threads N] [--only K]
 *                       BDF|MDEV [BDF2|MDEV2]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "mig_common.h"
#include "mig_plugin.h"

#define MAX_DEVS	2
#define MAX_THREADS	16
#define POOL_FDS	4
#define BUF_SIZE	((size_t)1 << 20)
#define MAX_REF		((size_t)512 << 20)
#define DEFAULT_OPS	2000
#define DEFAULT_THREADS	4
#define DEFAULT_TIMEOUT	120
#define LOG_BASE	0x10000000ULL
#define LOG_PG		4096ULL
#define LOG_WORDS	64

#define ST(x)		((uint32_t)VFIO_DEVICE_STATE_##x)
#define NR_ERRNO	140	/* errnos counted: 1..NR_ERRNO-1 */

enum fd_kind { FK_NONE, FK_SAVE, FK_PRECOPY, FK_RESUME };

struct slot {
	int fd;
	enum fd_kind kind;
	unsigned long gen;	/* which fd this is, for wpos */
	size_t wpos;		/* bytes of a valid stream written */
	int src;		/* whose stream (device index) */
};

struct fdev {
	const char *name;
	unsigned int idx;
	pthread_rwlock_t open_lock;	/* write: reopen; read: any call */
	struct vfio_dev dev;
	uint64_t flags;
	bool has_reset;
	bool has_log;
	unsigned int nthreads;
	pthread_mutex_t pool_lock;
	struct slot slots[POOL_FDS];
	unsigned long gen;
	struct vfio_buf ref;	/* a valid stream, saved at the start */
};

enum op {
	OP_SET_STATE, OP_GET_STATE, OP_DATA_SIZE, OP_READ, OP_WRITE, OP_POLL,
	OP_PRECOPY, OP_LOG, OP_RESET, OP_CLOSE_FD, OP_REOPEN, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"set_state", "get_state", "data_size", "read", "write", "poll",
	"precopy_info", "dma_log", "reset", "close_fd", "reopen",
};

struct worker {
	unsigned int idx;
	struct fdev *d;
	uint64_t seed;
	uint64_t rng;
	unsigned long nops;
	volatile unsigned long done;	/* ops finished */
	volatile int cur;		/* the op under way, or -1 */
	volatile time_t since;		/* when it began */
	volatile bool finished;
	unsigned long count[NR_OPS];
	unsigned long seen[NR_OPS][NR_ERRNO];	/* answers: 0 or errno */
	uint8_t *buf;
	uint64_t bitmap[LOG_WORDS];
	bool failed;
	char why[512];
	pthread_t tid;
};

static struct fdev devs[MAX_DEVS];
static unsigned int ndevs;
static struct worker workers[MAX_THREADS];
static unsigned int nworkers;
static uint64_t g_seed;
static unsigned long g_ops;
static unsigned int g_threads = DEFAULT_THREADS;
static int g_only = -1;
static volatile bool g_stop;
/* the first write() refusal with an errno vfio.h does not rule on */
static pthread_mutex_t g_note_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_note[200];
static bool g_no_close_resuming;	/* MIG_FUZZ_NO_CLOSE_IN_RESUMING */
/* under a device's open_lock held for writing; summed over devices */
static unsigned long g_reopens_kept, g_reopens_skipped;
static char g_argv0[256];
static char g_replay[1024];

/* The result line's tail: the seed and the count, on every line. */
#define RUN_FMT		"seed=0x%016" PRIx64 " ops=%lu threads=%u"
#define RUN_ARGS	g_seed, g_ops, g_threads

static uint64_t rnd(struct worker *w)
{
	/* splitmix64: mig_splitmix() adds the increment itself */
	return mig_splitmix(w->rng++ * 0x9e3779b97f4a7c15ULL);
}

/* Uniform enough in [0, n). */
static uint64_t below(struct worker *w, uint64_t n)
{
	return n ? rnd(w) % n : 0;
}

static bool chance(struct worker *w, unsigned int pct)
{
	return below(w, 100) < pct;
}

/* Count an answer of @op: 0 or an errno. */
static void seen(struct worker *w, enum op op, int err)
{
	w->seen[op][err >= 0 && err < NR_ERRNO ? err : NR_ERRNO - 1]++;
}

/* The first failure of a worker; stops every worker. */
static __printf(2, 3) void fail(struct worker *w, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (w->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(w->why, sizeof(w->why),
		 "thread %u (seed 0x%016" PRIx64 ", %s) op %lu: %s",
		 w->idx, w->seed, w->d->dev.bdf, w->done, msg);
	w->failed = true;
	g_stop = true;
}

static const char *err_name(int err)
{
	return err ? strerror(err) : "success";
}

/* @err (0 or an errno) must be one of the zero-terminated @ok. */
static bool errno_in(int err, const int *ok)
{
	if (!err)
		return true;
	for (; *ok; ok++)
		if (*ok == err)
			return true;
	return false;
}

static const char *kind_name(enum fd_kind k)
{
	static const char *const n[] = { "none", "save", "precopy", "resume" };

	return n[k];
}

static bool state_valid(uint32_t s)
{
	return s <= ST(PRE_COPY_P2P);
}

/* --- the data fds of a device, shared by its workers --- */

static void pool_add(struct fdev *d, int fd, enum fd_kind kind,
		     struct worker *w)
{
	struct slot *s;

	pthread_mutex_lock(&d->pool_lock);
	s = &d->slots[below(w, POOL_FDS)];
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->kind = kind;
	s->gen = ++d->gen;
	s->wpos = 0;
	s->src = ndevs > 1 && chance(w, 15) ? !d->idx : (int)d->idx;
	pthread_mutex_unlock(&d->pool_lock);
}

/* A dup() of a pooled fd and what it is, or -1. */
static int pool_pick(struct fdev *d, struct worker *w, struct slot *copy)
{
	unsigned int i = below(w, POOL_FDS);
	int fd = -1;

	pthread_mutex_lock(&d->pool_lock);
	if (d->slots[i].fd >= 0) {
		fd = dup(d->slots[i].fd);
		*copy = d->slots[i];
	}
	pthread_mutex_unlock(&d->pool_lock);
	return fd;
}

static void pool_advance(struct fdev *d, unsigned long gen, size_t n)
{
	unsigned int i;

	pthread_mutex_lock(&d->pool_lock);
	for (i = 0; i < POOL_FDS; i++)
		if (d->slots[i].fd >= 0 && d->slots[i].gen == gen)
			d->slots[i].wpos += n;
	pthread_mutex_unlock(&d->pool_lock);
}

static void pool_close(struct fdev *d, unsigned int i)
{
	pthread_mutex_lock(&d->pool_lock);
	if (d->slots[i].fd >= 0)
		close(d->slots[i].fd);
	d->slots[i].fd = -1;
	d->slots[i].kind = FK_NONE;
	pthread_mutex_unlock(&d->pool_lock);
}

/* --- the ops --- */

static void expect_state(struct worker *w, uint32_t want, const char *after)
{
	uint32_t now = ~0U;
	int ret;

	ret = vfio_dev_mig_get_state(&w->d->dev, &now);
	if (ret)
		fail(w, "GET state after %s: %s", after, strerror(-ret));
	else if (now != want)
		fail(w, "after %s the device is in %s, not %s", after,
		     vfio_mig_state_name(now), vfio_mig_state_name(want));
}

/*
 * SET: a supported state may succeed or fail with EINVAL (an arc the FSM
 * refuses, ERROR without a reset, a stream RESUMING -> STOP refuses); a
 * state the device does not support, ERROR, or no state at all must fail
 * with EINVAL.  A data fd comes only with the states that open a session.
 */
static void op_set_state(struct worker *w)
{
	struct fdev *d = w->d;
	uint32_t to;
	bool legal;
	int fd = -1, ret;

	if (chance(w, 90))
		to = below(w, ST(PRE_COPY_P2P) + 1);
	else
		to = chance(w, 50) ? ST(PRE_COPY_P2P) + 1 + below(w, 8) :
				     (uint32_t)rnd(w);
	legal = state_valid(to) && to != ST(ERROR) &&
		vfio_mig_state_supported(d->flags, to);
	ret = vfio_dev_mig_set_state(&d->dev, to, &fd);
	seen(w, OP_SET_STATE, -ret);
	if (ret) {
		if (ret != -EINVAL)
			fail(w, "SET %s (%u): %s, want success or EINVAL",
			     vfio_mig_state_name(to), to, strerror(-ret));
		return;
	}
	/*
	 * vfio.h: "ERROR cannot be specified as a device state".  A driver
	 * whose SET loops "while (state != new_state)" (mlx5, hisi_acc,
	 * mtty, this project's) answers a SET of ERROR on a device already
	 * in ERROR with success and does nothing: tolerated as that no-op,
	 * which a device one thread works on must show.
	 */
	if (to == ST(ERROR) && fd < 0) {
		if (d->nthreads == 1)
			expect_state(w, ST(ERROR), "a SET of ERROR that succeeded");
		return;
	}
	if (!legal) {
		if (fd >= 0)
			close(fd);
		fail(w, "SET %s (%u) succeeded; the device does not support it (migration flags 0x%" PRIx64 ")",
		     vfio_mig_state_name(to), to, d->flags);
		return;
	}
	if (fd >= 0) {
		enum fd_kind k = to == ST(RESUMING) ? FK_RESUME :
				 to == ST(STOP_COPY) ? FK_SAVE :
				 (to == ST(PRE_COPY) || to == ST(PRE_COPY_P2P)) ?
				 FK_PRECOPY : FK_NONE;

		if (k == FK_NONE) {
			close(fd);
			fail(w, "SET %s returned a data fd", vfio_mig_state_name(to));
			return;
		}
		pool_add(d, fd, k, w);
	}
	if (d->nthreads == 1)
		expect_state(w, to, "a SET that succeeded");
}

static void op_get_state(struct worker *w)
{
	uint32_t st = ~0U;
	int ret;

	ret = vfio_dev_mig_get_state(&w->d->dev, &st);
	if (ret)
		fail(w, "GET state: %s", strerror(-ret));
	else if (!state_valid(st) ||
		 (st != ST(ERROR) && !vfio_mig_state_supported(w->d->flags, st)))
		fail(w, "GET state gave %u (%s)", st, vfio_mig_state_name(st));
}

/* MIG_DATA_SIZE is an estimate the device can always give. */
static void op_data_size(struct worker *w)
{
	uint64_t bytes;
	int ret;

	ret = vfio_dev_mig_data_size(&w->d->dev, &bytes);
	if (ret)
		fail(w, "MIG_DATA_SIZE: %s", strerror(-ret));
}

/*
 * read(): a resume fd is write-only (EBADF); else bytes, 0 (end of
 * stream), ENOMSG (a PRE_COPY fd with nothing new), ENODEV (the session
 * ended: an arc, a reset, a close), EINVAL; EFAULT only for a NULL
 * buffer, which must never take bytes.
 */
static void op_read(struct worker *w)
{
	static const int ok[] = { ENODEV, EINVAL, 0 };
	struct slot s;
	size_t count;
	bool null;
	ssize_t n;
	int fd, err;

	fd = pool_pick(w->d, w, &s);
	if (fd < 0)
		return;
	switch (below(w, 5)) {
	case 0: count = 0; break;
	case 1: count = 1 + below(w, 64); break;
	case 2: count = 4096; break;
	case 3: count = 1 + below(w, 65536); break;
	default: count = BUF_SIZE; break;
	}
	null = chance(w, 5) && count;
	n = read(fd, null ? NULL : w->buf, count);
	err = n < 0 ? errno : 0;
	seen(w, OP_READ, err);
	close(fd);
	if (s.kind == FK_RESUME) {
		if (err != EBADF)
			fail(w, "read(%zu) on a resume fd: %s, want EBADF",
			     count, err_name(err));
		return;
	}
	if (n > (ssize_t)count || (null && n > 0)) {
		fail(w, "read(%s, %zu) on a %s fd returned %zd", null ? "NULL" : "buf",
		     count, kind_name(s.kind), n);
		return;
	}
	if (errno_in(err, ok) || (err == ENOMSG && s.kind == FK_PRECOPY) ||
	    (err == EFAULT && null))
		return;
	fail(w, "read(%s, %zu) on a %s fd: %s", null ? "NULL" : "buf", count,
	     kind_name(s.kind), strerror(err));
}

/*
 * write(): a save fd is read-only (EBADF); else bytes, or a refusal:
 * EINVAL (malformed), EFBIG (a record too large), ENOMEM (more than the
 * state holds), ENODEV (the session ended); EFAULT only for a NULL
 * buffer, which must never give bytes.  A write() of @count > 0 bytes
 * that returns 0 stalls its caller: a failure.
 */
static void op_write(struct worker *w)
{
	static const int ok[] = { EINVAL, EFBIG, ENOMEM, ENODEV, 0 };
	static const char *const mode_names[] = {
		"valid", "flipped", "random", "empty", "NULL",
	};
	const struct vfio_buf *ref;
	const uint8_t *p;
	unsigned int mode, i;
	struct slot s;
	size_t count;
	ssize_t n;
	int fd, err;

	fd = pool_pick(w->d, w, &s);
	if (fd < 0)
		return;
	ref = &devs[s.src].ref;
	mode = below(w, 10);
	mode = mode < 5 ? 0 : mode < 7 ? 1 : mode < 8 ? 2 : mode < 9 ? 3 : 4;
	switch (below(w, 4)) {
	case 0: count = 1 + below(w, 64); break;
	case 1: count = 4096; break;
	case 2: count = 1 + below(w, 65536); break;
	default: count = BUF_SIZE; break;
	}
	p = w->buf;
	switch (mode) {
	case 0:
	case 1:
		if (s.wpos < ref->len && count > ref->len - s.wpos)
			count = ref->len - s.wpos;
		if (s.wpos < ref->len)
			memcpy(w->buf, ref->data + s.wpos, count);
		else	/* bytes after the stream's end */
			for (i = 0; i < count; i++)
				w->buf[i] = rnd(w);
		if (mode == 1)
			for (i = 0; i < 1 + below(w, 4); i++)
				w->buf[below(w, count)] ^= 1 << below(w, 8);
		break;
	case 2:
		for (i = 0; i < count; i += 8) {
			uint64_t r = rnd(w);

			memcpy(w->buf + i, &r, count - i < 8 ? count - i : 8);
		}
		break;
	case 3:
		count = 0;
		break;
	default:
		p = NULL;
		break;
	}
	n = write(fd, p, count);
	err = n < 0 ? errno : 0;
	seen(w, OP_WRITE, err);
	close(fd);
	if (s.kind != FK_RESUME) {
		if (err != EBADF)
			fail(w, "write(%zu) on a %s fd: %s, want EBADF", count,
			     kind_name(s.kind), err_name(err));
		return;
	}
	if (n > (ssize_t)count || (!p && n > 0) || (count && !n)) {
		fail(w, "write(%s, %zu, %s) returned %zd", p ? "buf" : "NULL",
		     count, mode_names[mode], n);
		return;
	}
	if (n > 0 && mode == 0)
		pool_advance(w->d, s.gen, n);
	if (errno_in(err, ok) || (err == EFAULT && !p))
		return;
	/*
	 * vfio.h names no errno for a write() the driver refuses: another
	 * one is noted, and skips the case at its end (see main()).
	 */
	pthread_mutex_lock(&g_note_lock);
	if (!g_note[0])
		snprintf(g_note, sizeof(g_note),
			 "write(): %s for a %s piece at %zu of a %zu-byte stream",
			 strerrorname_np(err) ? strerrorname_np(err) : "?",
			 mode_names[mode], s.wpos, ref->len);
	pthread_mutex_unlock(&g_note_lock);
}

/* poll() on a data fd never fails, and the fd is never invalid. */
static void op_poll(struct worker *w)
{
	struct pollfd pfd;
	struct slot s;
	int fd, ret;

	fd = pool_pick(w->d, w, &s);
	if (fd < 0)
		return;
	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT;
	pfd.revents = 0;
	ret = poll(&pfd, 1, 0);
	close(fd);
	if (ret < 0)
		fail(w, "poll on a %s fd: %s", kind_name(s.kind), strerror(errno));
	else if (pfd.revents & POLLNVAL)
		fail(w, "poll on a %s fd: POLLNVAL", kind_name(s.kind));
}

/*
 * VFIO_MIG_GET_PRECOPY_INFO: succeeds only on a PRE_COPY fd; else EINVAL
 * (not in PRE_COPY, argsz too small), ENOTTY (not a PRE_COPY fd),
 * ENODEV (the session ended); EFAULT only for a NULL argument.
 */
static void op_precopy(struct worker *w)
{
	static const int ok[] = { EINVAL, ENOTTY, ENODEV, 0 };
	struct vfio_precopy_info info;
	bool null, small;
	struct slot s;
	int fd, ret, err;

	fd = pool_pick(w->d, w, &s);
	if (fd < 0)
		return;
	null = chance(w, 5);
	small = chance(w, 10);
	memset(&info, 0, sizeof(info));
	info.argsz = small ? below(w, sizeof(info)) : sizeof(info);
	ret = ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, null ? NULL : &info);
	err = ret < 0 ? errno : 0;
	seen(w, OP_PRECOPY, err);
	close(fd);
	if (!err && (s.kind != FK_PRECOPY || null || small)) {
		fail(w, "VFIO_MIG_GET_PRECOPY_INFO (%s, argsz %u) on a %s fd succeeded",
		     null ? "NULL" : "info", info.argsz, kind_name(s.kind));
		return;
	}
	if (errno_in(err, ok) || (err == EFAULT && null))
		return;
	fail(w, "VFIO_MIG_GET_PRECOPY_INFO (%s, argsz %u) on a %s fd: %s",
	     null ? "NULL" : "info", info.argsz, kind_name(s.kind),
	     strerror(err));
}

static int log_feature(struct fdev *d, uint32_t flags, void *data, size_t len)
{
	return vfio_dev_feature(&d->dev, flags, data, len);
}

/*
 * DMA logging.  START of a valid range: success, or EINVAL (one already
 * runs); its page size is a hint (vfio.h), so 1000, 2048, 4097 or 12288
 * may be taken too; asked for 4096, a START that succeeds must answer
 * a power of two (to an odd hint mtty answers the hint itself: vfio.h
 * only says "the device will return the page size it selected").  A broken START (no range, a NULL range list, page size
 * 0, a range not page aligned, one that wraps) must be refused with
 * EINVAL, EOVERFLOW, or EFAULT for the NULL list.  REPORT: success,
 * EINVAL (no logging, or outside it), or EOPNOTSUPP from a kernel
 * without the IOVA bitmap (no CONFIG_IOMMUFD_DRIVER: Debian's, where
 * mtty still offers its logging ops); STOP always succeeds.
 */
static void op_log(struct worker *w)
{
	struct vfio_device_feature_dma_logging_range r = {
		.iova = LOG_BASE, .length = (1 + below(w, 64)) * LOG_PG,
	};
	struct vfio_device_feature_dma_logging_control c = {
		.page_size = LOG_PG, .num_ranges = 1, .ranges = (uintptr_t)&r,
	};
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = LOG_BASE, .length = (1 + below(w, 64)) * LOG_PG,
		.page_size = LOG_PG, .bitmap = (uintptr_t)w->bitmap,
	};
	static const char *const bad_names[] = {
		"no range", "NULL ranges", "page size 0", "unaligned iova",
		"wrapping range",
	};
	static const uint64_t hints[] = { 1000, 2048, 4097, 3 * LOG_PG };
	unsigned int bad = 0;
	uint64_t hint;
	int ret;

	switch (below(w, 4)) {
	case 0:
		if (chance(w, 30)) {
			bad = 1 + below(w, 5);
			switch (bad) {
			case 1: c.num_ranges = 0; break;
			case 2: c.ranges = 0; break;
			case 3: c.page_size = 0; break;
			case 4: r.iova += 512; break;
			default: r.iova = -LOG_PG; r.length = 2 * LOG_PG; break;
			}
		} else if (chance(w, 20)) {
			c.page_size = hints[below(w, ARRAY_SIZE(hints))];
		}
		hint = c.page_size;
		ret = log_feature(w->d, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				  &c, sizeof(c));
		seen(w, OP_LOG, -ret);
		if (!bad && ret && ret != -EINVAL)
			fail(w, "DMA_LOGGING_START: %s", strerror(-ret));
		else if (bad && (!ret || !(ret == -EINVAL || ret == -EOVERFLOW ||
					   (ret == -EFAULT && bad == 2))))
			fail(w, "DMA_LOGGING_START with %s: %s",
			     bad_names[bad - 1], err_name(-ret));
		else if (!ret && (!c.page_size ||
				  (c.page_size & (c.page_size - 1))) &&
			 hint == LOG_PG)
			fail(w, "DMA_LOGGING_START of page size 0x%llx answered 0x%" PRIx64 " (no power of two)",
			     LOG_PG, (uint64_t)c.page_size);
		break;
	case 1:
	case 2:
		ret = log_feature(w->d, VFIO_DEVICE_FEATURE_GET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
				  &rep, sizeof(rep));
		seen(w, OP_LOG, -ret);
		if (ret && ret != -EINVAL && ret != -EOPNOTSUPP)
			fail(w, "DMA_LOGGING_REPORT: %s", strerror(-ret));
		break;
	default:
		ret = log_feature(w->d, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
		if (ret)
			fail(w, "DMA_LOGGING_STOP: %s", strerror(-ret));
		break;
	}
}

/*
 * VFIO_DEVICE_RESET: succeeds where the device advertises it, and leaves
 * it in RUNNING; elsewhere success (a driver may do it unasked), ENOTTY
 * or EINVAL.
 */
static void op_reset(struct worker *w)
{
	struct fdev *d = w->d;
	int ret;

	ret = ioctl(d->dev.device_fd, VFIO_DEVICE_RESET);
	ret = ret < 0 ? errno : 0;
	seen(w, OP_RESET, ret);
	if (d->has_reset) {
		if (ret)
			fail(w, "VFIO_DEVICE_RESET: %s", strerror(ret));
		else if (d->nthreads == 1)
			expect_state(w, ST(RUNNING), "VFIO_DEVICE_RESET");
	} else if (ret && ret != ENOTTY && ret != EINVAL) {
		fail(w, "VFIO_DEVICE_RESET (not advertised): %s", strerror(ret));
	}
}

/*
 * Close the device and open it again, with its data fds left open: it
 * must open, and GET must name a state (the uAPI leaves to the driver
 * which: ours opens in RUNNING, mtty keeps the state it had).  Called
 * with open_lock held for writing.
 *
 * With g_no_close_resuming, a device in RESUMING is not closed: mtty
 * keeps RESUMING across a close that frees its resume session, and its
 * next RESUMING -> STOP dereferences the NULL session
 * (mtty_load_state(); seen as an oops in mtty_set_state()).
 */
static void op_reopen(struct worker *w)
{
	struct fdev *d = w->d;
	uint32_t st = ~0U;
	int ret;

	if (g_no_close_resuming &&
	    (vfio_dev_mig_get_state(&d->dev, &st) || st == ST(RESUMING))) {
		g_reopens_skipped++;
		return;
	}
	vfio_dev_close(&d->dev);
	ret = vfio_dev_open(&d->dev, d->name);
	if (ret) {
		fail(w, "the device did not open again: %s", d->dev.err);
		return;
	}
	ret = vfio_dev_mig_get_state(&d->dev, &st);
	if (ret)
		fail(w, "GET state after a close and open: %s", strerror(-ret));
	else if (!state_valid(st))
		fail(w, "GET state after a close and open gave %u", st);
	else if (st != ST(RUNNING))
		g_reopens_kept++;
}

/* Weights of the ops; no DMA logging where the device has none. */
static unsigned int weight(const struct fdev *d, enum op op)
{
	static const unsigned int wt[NR_OPS] = {
		[OP_SET_STATE] = 24, [OP_GET_STATE] = 4, [OP_DATA_SIZE] = 4,
		[OP_READ] = 20, [OP_WRITE] = 20, [OP_POLL] = 5,
		[OP_PRECOPY] = 8, [OP_LOG] = 6, [OP_RESET] = 4,
		[OP_CLOSE_FD] = 5, [OP_REOPEN] = 1,
	};

	if (op == OP_LOG && !d->has_log)
		return 0;
	/* without a reset, a close is the only way out of RESUMING, ERROR */
	if (op == OP_REOPEN && !d->has_reset)
		return 3;
	return wt[op];
}

static enum op pick_op(struct worker *w)
{
	unsigned int total = 0, i, x;

	for (i = 0; i < NR_OPS; i++)
		total += weight(w->d, i);
	x = below(w, total);
	for (i = 0; i < NR_OPS; i++) {
		if (x < weight(w->d, i))
			return i;
		x -= weight(w->d, i);
	}
	return OP_GET_STATE;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fdev *d = w->d;
	enum op op;

	while (w->done < w->nops && !g_stop) {
		op = pick_op(w);
		w->since = time(NULL);
		w->cur = op;
		if (op == OP_REOPEN)
			pthread_rwlock_wrlock(&d->open_lock);
		else
			pthread_rwlock_rdlock(&d->open_lock);
		switch (op) {
		case OP_SET_STATE: op_set_state(w); break;
		case OP_GET_STATE: op_get_state(w); break;
		case OP_DATA_SIZE: op_data_size(w); break;
		case OP_READ: op_read(w); break;
		case OP_WRITE: op_write(w); break;
		case OP_POLL: op_poll(w); break;
		case OP_PRECOPY: op_precopy(w); break;
		case OP_LOG: op_log(w); break;
		case OP_RESET: op_reset(w); break;
		case OP_CLOSE_FD: pool_close(d, below(w, POOL_FDS)); break;
		default: op_reopen(w); break;
		}
		pthread_rwlock_unlock(&d->open_lock);
		w->count[op]++;
		w->cur = -1;
		if (!w->failed)
			w->done++;
	}
	w->finished = true;
	return NULL;
}

/* --- before and after: the device migrates --- */

/* Bring @d back to RUNNING with no session: a reset, or a reopen. */
static int back_to_running(struct fdev *d, char *why, size_t len)
{
	uint32_t st = ~0U;
	int ret;

	if (d->has_reset) {
		ret = vfio_dev_reset(&d->dev);
		if (ret) {
			snprintf(why, len, "VFIO_DEVICE_RESET: %s", strerror(-ret));
			return ret;
		}
	} else {
		/* not advertised, but a driver may do it (mtty does) */
		ioctl(d->dev.device_fd, VFIO_DEVICE_RESET);
		if (g_no_close_resuming && !vfio_dev_mig_get_state(&d->dev, &st) &&
		    st == ST(RESUMING)) {
			snprintf(why, len, "the device is in RESUMING, which MIG_FUZZ_NO_CLOSE_IN_RESUMING keeps it from leaving by a close");
			return -EBUSY;
		}
		vfio_dev_close(&d->dev);
		ret = vfio_dev_open(&d->dev, d->name);
		if (ret) {
			snprintf(why, len, "open again: %s", d->dev.err);
			return ret;
		}
	}
	ret = vfio_dev_mig_get_state(&d->dev, &st);
	if (!ret && st != ST(RUNNING))
		ret = vfio_dev_mig_set_state(&d->dev, ST(RUNNING), NULL);
	if (ret)
		snprintf(why, len, "back to RUNNING (from %s): %s",
			 vfio_mig_state_name(st), strerror(-ret));
	return ret;
}

/* RUNNING -> STOP_COPY, read to the end -> STOP. */
static int save_stream(struct fdev *d, struct vfio_buf *out, char *why,
		       size_t len)
{
	int fd = -1, ret;

	out->len = 0;
	ret = vfio_dev_mig_set_state(&d->dev, ST(STOP_COPY), &fd);
	if (ret || fd < 0) {
		snprintf(why, len, "-> STOP_COPY: %s", ret ? strerror(-ret) : "no data fd");
		return ret ? ret : -EBADF;
	}
	ret = vfio_mig_read(fd, out, MAX_REF);
	close(fd);
	if (ret != VFIO_MIG_READ_EOF) {
		snprintf(why, len, "reading the save stream: %s",
			 ret < 0 ? strerror(-ret) : "ENOMSG in STOP_COPY");
		return ret < 0 ? ret : -ENOMSG;
	}
	if (!out->len) {
		snprintf(why, len, "the save stream is empty");
		return -ENODATA;
	}
	ret = vfio_dev_mig_set_state(&d->dev, ST(STOP), NULL);
	if (ret)
		snprintf(why, len, "STOP_COPY -> STOP: %s", strerror(-ret));
	return ret;
}

/* -> STOP -> RESUMING, write @s whole, -> STOP -> RUNNING. */
static int resume_stream(struct fdev *d, const struct vfio_buf *s, char *why,
			 size_t len)
{
	size_t done = 0;
	int fd = -1, ret;

	ret = vfio_dev_mig_set_state(&d->dev, ST(STOP), NULL);
	if (!ret)
		ret = vfio_dev_mig_set_state(&d->dev, ST(RESUMING), &fd);
	if (ret || fd < 0) {
		snprintf(why, len, "-> RESUMING: %s", ret ? strerror(-ret) : "no data fd");
		return ret ? ret : -EBADF;
	}
	ret = vfio_mig_write(fd, s->data, s->len, 0, &done);
	close(fd);
	if (ret) {
		snprintf(why, len, "resume write at %zu of %zu: %s", done,
			 s->len, strerror(-ret));
		return ret;
	}
	ret = vfio_dev_mig_set_state(&d->dev, ST(STOP), NULL);
	if (ret) {
		snprintf(why, len, "RESUMING -> STOP refused the device's own stream: %s",
			 strerror(-ret));
		return ret;
	}
	ret = vfio_dev_mig_set_state(&d->dev, ST(RUNNING), NULL);
	if (ret)
		snprintf(why, len, "STOP -> RUNNING: %s", strerror(-ret));
	return ret;
}

/*
 * The device migrates: with its plug-in, state 1 is saved, state 2 put
 * in, the device reset (or reopened) and the stream resumed: state 1
 * must be back.  Without a plug-in: a stream saved whole is accepted
 * whole, and the device saves again.  The stream (the device's own)
 * stays in @out for the fuzzing.
 */
static int check_migrates(struct fdev *d, struct vfio_buf *out, char *why,
			  size_t len)
{
	struct mig_state want, got;
	char pwhy[MIG_WHY_LEN] = "";
	struct vfio_buf again;
	struct mig_pdev pd;
	bool plugin;
	int ret, diff;

	ret = back_to_running(d, why, len);
	if (ret)
		return ret;
	ret = mig_pdev_lend(&pd, &d->dev, pwhy);
	plugin = !ret;
	if (ret && ret != -ENODEV) {
		snprintf(why, len, "plug-in: %s", pwhy);
		return ret;
	}
	if (plugin) {
		ret = pd.ops->put_state(&pd, 1, pwhy);
		if (!ret)
			ret = pd.ops->read_state(&pd, &want, pwhy);
		if (ret) {
			snprintf(why, len, "%s plug-in, state 1: %s", pd.ops->name, pwhy);
			goto out;
		}
	}
	ret = save_stream(d, out, why, len);
	if (ret)
		goto out;
	ret = vfio_dev_mig_set_state(&d->dev, ST(RUNNING), NULL);
	if (ret) {
		snprintf(why, len, "STOP -> RUNNING after the save: %s", strerror(-ret));
		goto out;
	}
	if (plugin) {
		ret = pd.ops->put_state(&pd, 2, pwhy);
		if (ret) {
			snprintf(why, len, "%s plug-in, state 2: %s", pd.ops->name, pwhy);
			goto out;
		}
		mig_pdev_unlend(&pd);
		ret = back_to_running(d, why, len);
		if (ret)
			return ret;
		ret = mig_pdev_lend(&pd, &d->dev, pwhy);
		if (ret) {
			snprintf(why, len, "plug-in after the reset: %s", pwhy);
			return ret;
		}
	}
	ret = resume_stream(d, out, why, len);
	if (ret)
		goto out;
	if (plugin) {
		ret = pd.ops->read_state(&pd, &got, pwhy);
		if (ret) {
			snprintf(why, len, "%s plug-in, reading back: %s", pd.ops->name, pwhy);
			goto out;
		}
		diff = pd.ops->compare(&want, &got, pwhy);
		if (diff) {
			snprintf(why, len, "after the round trip %d part(s) of the %s's state differ: %s",
				 diff, pd.ops->name, pwhy);
			ret = -EIO;
			goto out;
		}
	} else {
		/* and the resumed device saves again */
		vfio_buf_init(&again);
		ret = save_stream(d, &again, why, len);
		vfio_buf_free(&again);
		if (!ret)
			ret = vfio_dev_mig_set_state(&d->dev, ST(RUNNING), NULL);
		if (ret)
			goto out;
	}
out:
	if (plugin)
		mig_pdev_unlend(&pd);
	return ret;
}

/* --- the watchdog --- */

static void watchdog(unsigned int timeout)
{
	unsigned int i, running;
	time_t now;

	for (;;) {
		running = 0;
		now = time(NULL);
		for (i = 0; i < nworkers; i++) {
			struct worker *w = &workers[i];
			int cur = w->cur;

			if (!w->finished)
				running++;
			if (cur >= 0 && now - w->since > (time_t)timeout) {
				ksft_print_msg("migration_fuzz.c:%d: hang: thread %u (seed 0x%016" PRIx64 ", %s) op %lu (%s) has not returned in %u s\n",
					       __LINE__, w->idx, w->seed,
					       w->d->dev.bdf, w->done,
					       op_names[cur], timeout);
				ksft_print_msg("replay: %s\n", g_replay);
				ksft_test_result_fail("fuzz.sequences " RUN_FMT "\n", RUN_ARGS);
				/* the hung thread cannot be joined: out */
				ksft_exit_fail();
			}
		}
		if (!running)
			break;
		sleep(1);
	}
}

/* What each call answered, over all threads: the paths the run took. */
static void print_answers(void)
{
	static const enum op ops[] = {
		OP_SET_STATE, OP_READ, OP_WRITE, OP_PRECOPY, OP_LOG, OP_RESET,
	};
	unsigned long n;
	unsigned int i, e, k;
	char line[512];

	for (k = 0; k < ARRAY_SIZE(ops); k++) {
		line[0] = 0;
		for (e = 0; e < NR_ERRNO; e++) {
			for (n = 0, i = 0; i < nworkers; i++)
				n += workers[i].seen[ops[k]][e];
			if (!n)
				continue;
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "%s%s %lu", line[0] ? ", " : "",
				 !e ? "ok" : e == NR_ERRNO - 1 ? "other" :
				 strerrorname_np(e) ? strerrorname_np(e) : "?", n);
		}
		if (line[0])
			ksft_print_msg("%s: %s\n", op_names[ops[k]], line);
	}
}

/* --- main --- */

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

static void usage(void)
{
	ksft_exit_fail_msg("usage: %s [--seed N] [--ops N] [--threads N] [--only K] BDF|MDEV [BDF2|MDEV2]\n",
			   g_argv0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long timeout, per[NR_OPS] = { 0 };
	enum vfio_dev_iommu_mode mode;
	const char *bdf, *why;
	struct timespec t0, t1;
	char buf[512];
	unsigned int i, j;
	bool ok = true;
	int c, ret;

	/* line by line into the runner's pipe, even if a hang ends us */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(g_argv0, sizeof(g_argv0), "%s", argv[0]);
	ksft_print_header();
	if (vfio_dev_iommu_mode_env(&mode))
		ksft_exit_fail_msg("%s='%s': want legacy or iommufd\n",
				   VFIO_DEV_IOMMU_MODE_ENV,
				   getenv(VFIO_DEV_IOMMU_MODE_ENV));
	clock_gettime(CLOCK_REALTIME, &t0);
	g_seed = env_ul("MIG_FUZZ_SEED", 0);
	if (!getenv("MIG_FUZZ_SEED") || !*getenv("MIG_FUZZ_SEED"))
		g_seed = mig_splitmix((t0.tv_sec * 1000000000ULL + t0.tv_nsec) ^
				      getpid());
	g_ops = env_ul("MIG_FUZZ_OPS", DEFAULT_OPS);
	g_threads = env_ul("MIG_FUZZ_THREADS", DEFAULT_THREADS);
	timeout = env_ul("MIG_FUZZ_OP_TIMEOUT", DEFAULT_TIMEOUT);
	g_no_close_resuming = env_ul("MIG_FUZZ_NO_CLOSE_IN_RESUMING", 0);

	bdf = mig_take_bdf(&argc, argv);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': g_seed = strtoull(optarg, NULL, 0); break;
		case 'n': g_ops = strtoul(optarg, NULL, 0); break;
		case 't': g_threads = strtoul(optarg, NULL, 0); break;
		case 'o': g_only = strtol(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc || !g_threads || g_threads > MAX_THREADS ||
	    (g_only >= 0 && (unsigned int)g_only >= g_threads))
		usage();
	if (!bdf)
		ksft_exit_skip("no device: give a PCI address or an mdev, or set VFIO_SELFTESTS_BDF\n");

	devs[0].name = bdf;
	ndevs = 1;
	if (mig_bdf2 && strcmp(mig_bdf2, bdf))
		devs[ndevs++].name = mig_bdf2;
	for (i = 0; i < ndevs; i++) {
		why = mig_precheck(devs[i].name, false, true);
		if (why)
			ksft_exit_skip("%s\n", why);
	}

	snprintf(g_replay, sizeof(g_replay),
		 "MIG_FUZZ_SEED=0x%016" PRIx64 " MIG_FUZZ_OPS=%lu MIG_FUZZ_THREADS=%u %s %s %s",
		 g_seed, g_ops, g_threads, g_argv0, bdf,
		 ndevs > 1 ? devs[1].name : "");
	ksft_print_msg("seed 0x%016" PRIx64 ", %lu ops over %u thread(s)%s on %u device(s)\n",
		       g_seed, g_ops, g_threads,
		       g_only >= 0 ? " (one of them alone: --only)" : "", ndevs);
	ksft_print_msg("replay: %s\n", g_replay);
	ksft_print_msg("one thread K alone, exactly: add --only K to that (with several threads the interleaving is the scheduler's)\n");
	ksft_set_plan(1 + ndevs);

	/* Open, probe, and a first migration: its stream feeds the writes. */
	for (i = 0; i < ndevs; i++) {
		struct fdev *d = &devs[i];

		d->idx = i;
		pthread_rwlock_init(&d->open_lock, NULL);
		pthread_mutex_init(&d->pool_lock, NULL);
		for (j = 0; j < POOL_FDS; j++)
			d->slots[j].fd = -1;
		vfio_buf_init(&d->ref);
		ret = vfio_dev_open(&d->dev, d->name);
		if (ret)
			ksft_exit_fail_msg("%s: %s\n", d->name, d->dev.err);
		ret = vfio_dev_mig_flags(&d->dev, &d->flags);
		if (ret)
			ksft_exit_fail_msg("%s: migration flags: %s\n", d->name,
					   strerror(-ret));
		d->has_reset = d->dev.info.flags & VFIO_DEVICE_FLAGS_RESET;
		ret = vfio_dev_feature(&d->dev, VFIO_DEVICE_FEATURE_PROBE |
				       VFIO_DEVICE_FEATURE_SET |
				       VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				       NULL, 0);
		if (ret && ret != -ENOTTY)
			ksft_exit_fail_msg("%s: PROBE of DMA_LOGGING_START: %s\n",
					   d->name, strerror(-ret));
		d->has_log = !ret;
		ret = check_migrates(d, &d->ref, buf, sizeof(buf));
		if (ret)
			ksft_exit_fail_msg("%s: before fuzzing, the device does not migrate: %s\n",
					   d->dev.bdf, buf);
		ksft_print_msg("%s: migration flags 0x%" PRIx64 ", %s, %s; a stream of %zu bytes\n",
			       d->dev.bdf, d->flags,
			       d->has_reset ? "reset" : "no reset (reopen instead)",
			       d->has_log ? "DMA logging" : "no DMA logging",
			       d->ref.len);
	}

	for (i = 0; i < g_threads; i++) {
		struct worker *w = &workers[nworkers];

		if (g_only >= 0 && (int)i != g_only)
			continue;
		w->idx = i;
		w->d = &devs[i % ndevs];
		w->seed = mig_splitmix(g_seed + i);
		w->rng = w->seed;
		w->nops = g_ops / g_threads + (i < g_ops % g_threads);
		w->cur = -1;
		w->buf = malloc(BUF_SIZE);
		if (!w->buf)
			ksft_exit_fail_msg("out of memory\n");
		w->d->nthreads++;
		ksft_print_msg("thread %u: %s, seed 0x%016" PRIx64 ", %lu ops\n",
			       i, w->d->dev.bdf, w->seed, w->nops);
		nworkers++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]))
			ksft_exit_fail_msg("pthread_create failed\n");
	watchdog(timeout);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].tid, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		for (j = 0; j < NR_OPS; j++)
			per[j] += w->count[j];
		if (w->failed) {
			ksft_print_msg("migration_fuzz.c:%d: %s\n", __LINE__, w->why);
			ok = false;
		}
	}
	buf[0] = 0;
	for (j = 0; j < NR_OPS; j++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s %lu",
			 j ? ", " : "", op_names[j], per[j]);
	ksft_print_msg("%.1f s: %s\n",
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		       buf);
	print_answers();
	ksft_print_msg("reopens: %lu found the device in a state other than RUNNING; %lu not done in RESUMING (MIG_FUZZ_NO_CLOSE_IN_RESUMING=%d)\n",
		       g_reopens_kept, g_reopens_skipped, g_no_close_resuming);
	if (!ok)
		ksft_print_msg("replay: %s\n", g_replay);
	if (ok && g_note[0]) {
		/*
		 * As migration_races' two_writers_one_resume_fd: a refusal's
		 * errno vfio.h does not rule on is no failure, but skips, so
		 * that our driver's suites (where a skip not listed in
		 * scripts/expected-skips fails) still hold it to its errnos.
		 */
		ksft_print_msg("note: %s\n", g_note);
		printf("ok %u fuzz.sequences " RUN_FMT " # SKIP %s: an errno vfio.h does not rule on, not EINVAL, EFBIG or ENOMEM\n",
		       ksft_test_num() + 1, RUN_ARGS, g_note);
		ksft_inc_xskip_cnt();
	} else {
		ksft_test_result(ok, "fuzz.sequences " RUN_FMT "\n", RUN_ARGS);
	}

	/* Afterwards: no data fd left, and every device still migrates. */
	for (i = 0; i < ndevs; i++) {
		struct fdev *d = &devs[i];
		struct vfio_buf s;

		for (j = 0; j < POOL_FDS; j++)
			if (d->slots[j].fd >= 0)
				close(d->slots[j].fd);
		vfio_buf_init(&s);
		ret = check_migrates(d, &s, buf, sizeof(buf));
		if (ret)
			ksft_print_msg("migration_fuzz.c:%d: %s: after fuzzing, the device does not migrate: %s\n",
				       __LINE__, d->dev.bdf, buf);
		ksft_test_result(!ret, "fuzz.migrates_after.%u " RUN_FMT " dev=%s\n",
				 i, RUN_ARGS, d->dev.bdf);
		vfio_buf_free(&s);
		vfio_buf_free(&d->ref);
		if (d->has_reset)
			vfio_dev_reset(&d->dev);
		vfio_dev_close(&d->dev);
	}
	for (i = 0; i < nworkers; i++)
		free(workers[i].buf);
	ksft_finished();
}
