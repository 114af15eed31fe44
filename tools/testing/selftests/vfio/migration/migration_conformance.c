// SPDX-License-Identifier: GPL-2.0
/*
 * Device-agnostic conformance tests for the VFIO migration protocol v2.
 *
 * Works with any vfio PCI device whose driver implements migration, a PCI
 * function or an mdev: the tests read VFIO_DEVICE_FEATURE_MIGRATION and
 * only exercise what its flags promise (P2P and PRE_COPY states are
 * skipped when absent).  Devices are known by name in one place,
 * state_knobs[], which tells resume_in_pieces and reopen_migrate_again
 * how to change the state of QEMU's edu and ivshmem and of the kernel's
 * mtty sample; for any other device those two ask the per-device
 * plug-ins of the generic suites (mig_plugin.h, plugins/), which the
 * suite does not itself know (today they take the igb VF).
 *
 * What a test asserts is what include/uapi/linux/vfio.h says; where the
 * uAPI leaves a choice to the driver (the state a device opens in, the
 * ERROR state after a failed resume), the test takes either, or skips,
 * saying which the device chose.
 *
 * Requests that a broken kernel or driver may never return from (refused
 * arcs, a reset with a reader waiting) run in a child process under a
 * watchdog, so that a hang is reported instead of stopping the run.
 *
 * Usage: migration_conformance [harness options] DEV [DEV2]
 *        (or set VFIO_SELFTESTS_BDF, and VFIO_SELFTESTS_BDF2)
 * DEV is a PCI address (BDF) or an mdev, by its UUID or
 * /sys/bus/mdev/devices/UUID.  DEV2, a second device of the same kind, is
 * for reopen_migrate_again.  unbind.data_fds unbinds DEV from its driver
 * and binds it again, and runs only with VFIO_SELFTESTS_ALLOW_UNBIND=1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mig_test.h"
#include "mig_plugin.h"

static const char *g_bdf;

/*
 * Set, in memory that every test process of the run shares, once a test
 * left a request hung in the kernel on the device (see watched()): the
 * tests after it skip instead of opening the device again.
 */
static volatile int *g_lost;

static const uint32_t all_states[] = {
	ST(RUNNING), ST(STOP), ST(STOP_COPY), ST(RESUMING),
	ST(RUNNING_P2P), ST(PRE_COPY), ST(PRE_COPY_P2P),
};

#define for_each_state(s, i)					\
	for ((i) = 0; (i) < ARRAY_SIZE(all_states) &&		\
		      ((s) = all_states[(i)], true); (i)++)

static bool is_precopy(uint32_t s)
{
	return s == ST(PRE_COPY) || s == ST(PRE_COPY_P2P);
}

/*
 * The two tables of vfio_mig_get_next_state() (drivers/vfio/vfio_main.c),
 * which decide the path of every request for a driver that uses the
 * core's FSM, as include/uapi/linux/vfio.h describes it in words:
 * fsm_next[from][to] is the next state on the way from @from to @to when
 * every optional state exists (ERROR: a blocked arc), fsm_needs[s] the
 * VFIO_MIGRATION_* flags state @s needs.
 */
#define MIG_STATES	(ST(PRE_COPY_P2P) + 1)

static const uint8_t fsm_next[MIG_STATES][MIG_STATES] = {
	[ST(STOP)] = {
		[ST(STOP)] = ST(STOP),
		[ST(RUNNING)] = ST(RUNNING_P2P),
		[ST(PRE_COPY)] = ST(RUNNING_P2P),
		[ST(PRE_COPY_P2P)] = ST(RUNNING_P2P),
		[ST(STOP_COPY)] = ST(STOP_COPY),
		[ST(RESUMING)] = ST(RESUMING),
		[ST(RUNNING_P2P)] = ST(RUNNING_P2P),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(RUNNING)] = {
		[ST(STOP)] = ST(RUNNING_P2P),
		[ST(RUNNING)] = ST(RUNNING),
		[ST(PRE_COPY)] = ST(PRE_COPY),
		[ST(PRE_COPY_P2P)] = ST(RUNNING_P2P),
		[ST(STOP_COPY)] = ST(RUNNING_P2P),
		[ST(RESUMING)] = ST(RUNNING_P2P),
		[ST(RUNNING_P2P)] = ST(RUNNING_P2P),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(PRE_COPY)] = {
		[ST(STOP)] = ST(RUNNING),
		[ST(RUNNING)] = ST(RUNNING),
		[ST(PRE_COPY)] = ST(PRE_COPY),
		[ST(PRE_COPY_P2P)] = ST(PRE_COPY_P2P),
		[ST(STOP_COPY)] = ST(PRE_COPY_P2P),
		[ST(RESUMING)] = ST(RUNNING),
		[ST(RUNNING_P2P)] = ST(RUNNING),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(PRE_COPY_P2P)] = {
		[ST(STOP)] = ST(RUNNING_P2P),
		[ST(RUNNING)] = ST(RUNNING_P2P),
		[ST(PRE_COPY)] = ST(PRE_COPY),
		[ST(PRE_COPY_P2P)] = ST(PRE_COPY_P2P),
		[ST(STOP_COPY)] = ST(STOP_COPY),
		[ST(RESUMING)] = ST(RUNNING_P2P),
		[ST(RUNNING_P2P)] = ST(RUNNING_P2P),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(STOP_COPY)] = {
		[ST(STOP)] = ST(STOP),
		[ST(RUNNING)] = ST(STOP),
		[ST(PRE_COPY)] = ST(ERROR),
		[ST(PRE_COPY_P2P)] = ST(ERROR),
		[ST(STOP_COPY)] = ST(STOP_COPY),
		[ST(RESUMING)] = ST(STOP),
		[ST(RUNNING_P2P)] = ST(STOP),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(RESUMING)] = {
		[ST(STOP)] = ST(STOP),
		[ST(RUNNING)] = ST(STOP),
		[ST(PRE_COPY)] = ST(STOP),
		[ST(PRE_COPY_P2P)] = ST(STOP),
		[ST(STOP_COPY)] = ST(STOP),
		[ST(RESUMING)] = ST(RESUMING),
		[ST(RUNNING_P2P)] = ST(STOP),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(RUNNING_P2P)] = {
		[ST(STOP)] = ST(STOP),
		[ST(RUNNING)] = ST(RUNNING),
		[ST(PRE_COPY)] = ST(RUNNING),
		[ST(PRE_COPY_P2P)] = ST(PRE_COPY_P2P),
		[ST(STOP_COPY)] = ST(STOP),
		[ST(RESUMING)] = ST(STOP),
		[ST(RUNNING_P2P)] = ST(RUNNING_P2P),
		[ST(ERROR)] = ST(ERROR),
	},
	[ST(ERROR)] = {
		[ST(STOP)] = ST(ERROR),
		[ST(RUNNING)] = ST(ERROR),
		[ST(PRE_COPY)] = ST(ERROR),
		[ST(PRE_COPY_P2P)] = ST(ERROR),
		[ST(STOP_COPY)] = ST(ERROR),
		[ST(RESUMING)] = ST(ERROR),
		[ST(RUNNING_P2P)] = ST(ERROR),
		[ST(ERROR)] = ST(ERROR),
	},
};

static const uint64_t fsm_needs[MIG_STATES] = {
	[ST(STOP)] = VFIO_MIGRATION_STOP_COPY,
	[ST(RUNNING)] = VFIO_MIGRATION_STOP_COPY,
	[ST(PRE_COPY)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
	[ST(PRE_COPY_P2P)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			     VFIO_MIGRATION_PRE_COPY,
	[ST(STOP_COPY)] = VFIO_MIGRATION_STOP_COPY,
	[ST(RESUMING)] = VFIO_MIGRATION_STOP_COPY,
	[ST(RUNNING_P2P)] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
	[ST(ERROR)] = ~0ULL,
};

/*
 * A blocked arc: @from (a state the device supports, not ERROR) to @to (a
 * state it supports), which vfio_mig_get_next_state() refuses because its
 * walk through the states the device has ends in ERROR.  With the core's
 * tables that is STOP_COPY -> PRE_COPY and STOP_COPY -> PRE_COPY_P2P, on
 * a device that has them; computed rather than listed, so that a device
 * with other flags gets exactly the arcs the core refuses for it.
 */
static bool arc_blocked(uint64_t flags, uint32_t from, uint32_t to)
{
	unsigned int steps = 0;
	uint32_t next;

	if (from == ST(ERROR) || !vfio_mig_state_supported(flags, from) ||
	    !vfio_mig_state_supported(flags, to))
		return false;
	next = fsm_next[from][to];
	while (next != ST(ERROR) && (fsm_needs[next] & flags) != fsm_needs[next]) {
		next = fsm_next[next][to];
		if (++steps > MIG_STATES)	/* the tables have no cycle */
			return true;
	}
	return next == ST(ERROR);
}

/*
 * Whether moving @from -> @to opens a new data fd: entering STOP_COPY,
 * RESUMING or a PRE_COPY state does, except that a running PRE_COPY
 * session carries on into the other PRE_COPY state and into STOP_COPY on
 * the same fd.
 */
static bool arc_new_fd(uint32_t from, uint32_t to)
{
	if (from == to)
		return false;
	if (is_precopy(from) && (is_precopy(to) || to == ST(STOP_COPY)))
		return false;
	return to == ST(STOP_COPY) || to == ST(RESUMING) || is_precopy(to);
}

/*
 * The number this process's next fd gets, or -errno.  The kernel installs
 * every new fd at the lowest free number, so if this changes across a
 * call, the call left a new fd behind.
 */
static int next_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return fd;
}

/*
 * In a child the test forked: get SIGKILL when the test process ends.
 * The harness does not run a fixture's teardown after a failed ASSERT
 * (its wrapper loses fork()'s result across the longjmp, see harness.h),
 * so a child that must not outlive the test cannot rely on it.
 */
static void die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
}

/* How long a request that should take milliseconds may take. */
#define WATCHDOG_S	10

/* The fix of the endless loop of vfio_mig_get_next_state(). */
#define NEXT_STATE_LOOP_FIX \
	"vfio: prevent infinite loop in vfio_mig_get_next_state() on blocked arc"

/*
 * Run @fn(@arg, @out) in a child process and copy the @len bytes it leaves
 * in @out back to the caller's @out.  The child shares the caller's fds
 * (the device's, the data fds), so it acts on the same device; the caller
 * waits for it at most @timeout_s seconds.  Returns 0, or -ETIMEDOUT if
 * the child did not answer by then: its call is stuck in the kernel.  The
 * child is sent SIGKILL, which ends it if and when the call returns (a
 * kernel loop never does), and the caller must leave the device alone
 * (lose_device()): the stuck call may hold the driver's locks, and any
 * other request would then block as well.
 */
static int watched(void (*fn)(void *arg, void *out), void *arg, void *out,
		   size_t len, int timeout_s)
{
	struct pollfd pfd;
	pid_t pid, parent;
	int p[2], ret;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (!pid) {
		close(p[0]);
		die_with_parent(parent);
		fn(arg, out);
		n = write(p[1], out, len);
		_exit(n == (ssize_t)len ? 0 : 1);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, timeout_s * 1000);
	while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		kill(pid, SIGKILL);
		close(p[0]);
		return ret ? -errno : -ETIMEDOUT;
	}
	n = read(p[0], out, len);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* A state request made by a child of watched(), and what it saw. */
struct set_call {
	struct vfio_dev *dev;
	uint32_t to;
};

struct set_answer {
	int ret;		/* 0 or -errno */
	int fd_before;		/* next_free_fd() before the request */
	int fd_after;		/* and after it */
};

static void set_state_child(void *arg, void *out)
{
	const struct set_call *c = arg;
	struct set_answer *a = out;
	int fd;

	a->fd_before = next_free_fd();
	a->ret = vfio_dev_mig_set_state(c->dev, c->to, &fd);
	a->fd_after = next_free_fd();
	if (fd >= 0)
		close(fd);
}

static void reset_child(void *arg, void *out)
{
	*(int *)out = vfio_dev_reset(arg);
}

static bool has_reset(struct vfio_dev *dev)
{
	return dev->info.flags & VFIO_DEVICE_FLAGS_RESET;
}

/* Back to RUNNING: by reset when the device has it, else by the FSM. */
static int to_running(struct vfio_dev *dev)
{
	if (has_reset(dev))
		return vfio_dev_reset(dev);
	return vfio_dev_mig_set_state(dev, ST(RUNNING), NULL);
}

/*
 * vfio.h: "To abort a RESUMING session the device must be reset."  On a
 * device without VFIO_DEVICE_RESET nothing but a complete stream ends a
 * RESUMING session: a device left in RESUMING with a stream it refuses,
 * or none, stays there for good, and the next test cannot begin.  So on
 * such a device a test writes a stream saved from the device into every
 * resume fd it opens before it closes it.  resume_ref() saves that
 * stream, when the device needs one (the device is left in STOP);
 * end_resume() writes it, if any, and closes the fd.
 */
static void resume_ref(struct __test_metadata *_metadata, struct vfio_dev *dev,
		       struct vfio_buf *ref)
{
	vfio_buf_init(ref);
	if (!has_reset(dev))
		save(_metadata, dev, ref);
}

static void end_resume(struct __test_metadata *_metadata, int *fd,
		       const struct vfio_buf *ref)
{
	int ret = 0;

	if (*fd >= 0 && ref->len)
		ret = vfio_mig_write(*fd, ref->data, ref->len, 0, NULL);
	close_fd(fd);
	ASSERT_EQ(0, ret) TH_LOG("completing the resume (no VFIO_DEVICE_RESET to abort it): %s",
				 strerror(-ret));
}

/*
 * What every fixture here holds: the device, open and RUNNING, its
 * migration flags and the state it was in when opened; @lost once a
 * request on it hung (watched()): nothing may touch it any more.
 */
struct mig_dev {
	struct vfio_dev dev;
	uint64_t flags;
	uint32_t open_state;
	bool lost;
};

/* A request hung on the device: leave it alone, in this test and after. */
static void lose_device(struct mig_dev *m)
{
	m->lost = true;
	*g_lost = 1;
}

static void mig_dev_open_bdf(struct __test_metadata *_metadata,
			     struct mig_dev *self, const char *bdf)
{
	int ret;

	if (*g_lost)
		SKIP(return, "an earlier test left a request hung in the kernel on %s: the device is not opened again",
		     g_bdf);
	ret = vfio_dev_open(&self->dev, bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->dev.err);
	ASSERT_EQ(0, vfio_dev_mig_flags(&self->dev, &self->flags));
	ASSERT_EQ(0, vfio_dev_mig_get_state(&self->dev, &self->open_state));
	ret = to_running(&self->dev);
	ASSERT_EQ(0, ret) TH_LOG("back to RUNNING: %s", strerror(-ret));
}

static void mig_dev_open(struct __test_metadata *_metadata,
			 struct mig_dev *self)
{
	mig_dev_open_bdf(_metadata, self, g_bdf);
}

/*
 * Back to RUNNING and closed; a lost device only has its fds closed: a
 * child stuck in the kernel holds them too, so no close releases them.
 */
static void mig_dev_close(struct mig_dev *self)
{
	if (vfio_dev_is_open(&self->dev)) {
		if (!self->lost)
			to_running(&self->dev);
		vfio_dev_close(&self->dev);
	}
}

/*
 * Ask for @to, which the device, in @from, must refuse with @err, staying
 * in @from.  A refused arc must not open a data fd either.  The fd that
 * the library gives back cannot tell: it drops the feature's output when
 * the ioctl fails and reports -1.  What is checked instead is that no fd
 * was installed in the process that asked.
 *
 * The request runs in a child under the watchdog (watched()).  Kernels
 * without the fix NEXT_STATE_LOOP_FIX (Linux 7.2, marked for stable)
 * loop forever in vfio_mig_get_next_state() on a blocked arc of a device
 * with PRE_COPY (STOP_COPY -> PRE_COPY or PRE_COPY_P2P), with the
 * driver's state lock held: there the request never returns, and the test
 * skips, naming the fix, instead of hanging the run.  (A kernel without
 * preemption may still report a soft lockup of that CPU, and panic with
 * softlockup_panic: no process can stop a kernel loop.)  Any other refused
 * request that hangs is the driver's bug and fails.  Either way the device
 * is lost to the hung request (lose_device()), and this returns false:
 * the caller must return at once, touching neither the device nor its fds.
 */
static bool refuse_arc(struct __test_metadata *_metadata, struct mig_dev *m,
		       uint32_t from, uint32_t to, int err)
{
	struct set_call call = { .dev = &m->dev, .to = to };
	struct set_answer a = { 0 };
	int ret;

	ret = watched(set_state_child, &call, &a, sizeof(a), WATCHDOG_S);
	if (ret == -ETIMEDOUT) {
		lose_device(m);
		if (arc_blocked(m->flags, from, to))
			SKIP(return false,
			     "%s -> %s, a blocked arc, did not return in %d s: this kernel's vfio_mig_get_next_state() loops on it; fixed by \"%s\"",
			     NAME(from), NAME(to), WATCHDOG_S,
			     NEXT_STATE_LOOP_FIX);
		ASSERT_TRUE(false)
			TH_LOG("%s -> %u (%s), which must be refused, did not return in %d s: the device is left to the hung request",
			       NAME(from), to, NAME(to), WATCHDOG_S);
	}
	ASSERT_EQ(0, ret) TH_LOG("the child asking for %s: %s", NAME(to),
				 strerror(-ret));
	ASSERT_EQ(err, a.ret)
		TH_LOG("%s -> %u (%s) must be refused with %s: %s", NAME(from),
		       to, NAME(to), strerror(-err),
		       a.ret ? strerror(-a.ret) : "accepted");
	ASSERT_EQ(a.fd_before, a.fd_after)
		TH_LOG("%s -> %u (%s) was refused but left fd %d open",
		       NAME(from), to, NAME(to), a.fd_before);
	expect_state(_metadata, &m->dev, from);
	return true;
}

static bool supported(struct mig_dev *self, uint32_t s)
{
	return vfio_mig_state_supported(self->flags, s);
}

/*
 * @dev was closed in @closed_in and has just been opened again (as @bdf):
 * vfio.h does not say which state a device opens in.  The upstream PCI
 * variant drivers set RUNNING in their open_device(), as qemu-vfio-pci
 * does; the mtty sample keeps the state it was closed in.  Either passes
 * (the second with a note); anything else fails.  The device is then
 * brought to RUNNING.
 */
static void expect_reopened(struct __test_metadata *_metadata,
			    struct vfio_dev *dev, const char *bdf,
			    uint32_t closed_in)
{
	uint32_t now = ~0U;
	int ret;

	ASSERT_EQ(0, vfio_dev_mig_get_state(dev, &now));
	ASSERT_TRUE(now == ST(RUNNING) || now == closed_in)
		TH_LOG("%s: closed in %s, open again in %s, not RUNNING nor %s",
		       bdf, NAME(closed_in), NAME(now), NAME(closed_in));
	if (now == ST(RUNNING))
		return;
	TH_LOG("note: %s kept %s across close and reopen", bdf, NAME(now));
	ret = to_running(dev);
	ASSERT_EQ(0, ret) TH_LOG("%s: back to RUNNING: %s", bdf,
				 strerror(-ret));
}

/*
 * Leave the device in @s, close it, open it again and return the state it
 * is in then (see expect_reopened()).
 */
static uint32_t state_after_reopen(struct __test_metadata *_metadata,
				   struct mig_dev *m, uint32_t s)
{
	uint32_t now = ~0U;

	go(_metadata, &m->dev, s, NULL);
	vfio_dev_close(&m->dev);
	ASSERT_EQ(0, vfio_dev_open(&m->dev, g_bdf))
		TH_LOG("reopen: %s", m->dev.err);
	ASSERT_EQ(0, vfio_dev_mig_get_state(&m->dev, &now));
	return now;
}

/*
 * A test that closes the device with a RESUMING session open: on a device
 * without VFIO_DEVICE_RESET that keeps its state across close and reopen,
 * the device would keep RESUMING too, with no fd left to complete the
 * session and no reset to abort it (vfio.h: "To abort a RESUMING session
 * the device must be reset.").  Returns NULL if the test may close the
 * device in RESUMING, else why not (a skip reason).  Finds out by closing
 * the device in STOP; the device is left RUNNING.
 */
static const char *no_close_in_resuming(struct __test_metadata *_metadata,
					struct mig_dev *m)
{
	static char why[256];
	uint32_t now;

	if (has_reset(&m->dev))
		return NULL;
	now = state_after_reopen(_metadata, m, ST(STOP));
	if (now == ST(RUNNING))
		return NULL;
	ASSERT_EQ(0, to_running(&m->dev));
	snprintf(why, sizeof(why),
		 "no VFIO_DEVICE_RESET, and the device kept %s across close and reopen: closed in RESUMING, it would stay there for good (vfio.h: \"To abort a RESUMING session the device must be reset.\")",
		 NAME(now));
	return why;
}

FIXTURE(mig) {
	struct mig_dev m;
};

FIXTURE_SETUP(mig)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(mig)
{
	mig_dev_close(&self->m);
}

/* The library's state names are the uAPI's. */
TEST_F(mig, state_names)
{
	uint32_t s, i;

	for (i = 0; i <= ST(PRE_COPY_P2P); i++) {
		ASSERT_EQ(0, vfio_mig_state_parse(NAME(i), &s));
		ASSERT_EQ(i, s);
	}
	ASSERT_EQ(0, vfio_mig_state_parse("stop_copy", &s));
	ASSERT_EQ(ST(STOP_COPY), s);
	ASSERT_EQ(0, vfio_mig_state_parse("VFIO_DEVICE_STATE_PRE_COPY_P2P",
					  &s));
	ASSERT_EQ(ST(PRE_COPY_P2P), s);
	ASSERT_EQ(-EINVAL, vfio_mig_state_parse("STOPCOPY", &s));
	ASSERT_STREQ("ERROR", NAME(ST(ERROR)));
	ASSERT_STREQ("?", NAME(8));
}

TEST_F(mig, feature_query)
{
	uint64_t known = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			 VFIO_MIGRATION_PRE_COPY;
	struct vfio_device_feature_migration mig;

	TH_LOG("%s migration flags 0x%llx", self->m.dev.bdf,
	       (unsigned long long)self->m.flags);
	ASSERT_TRUE(!!(self->m.flags & VFIO_MIGRATION_STOP_COPY));
	if (self->m.flags & ~known)
		TH_LOG("flags beyond this test's knowledge: 0x%llx",
		       (unsigned long long)(self->m.flags & ~known));

	/* PROBE: which operations each migration feature supports */
	ASSERT_EQ(0, vfio_dev_feature(&self->m.dev, VFIO_DEVICE_FEATURE_PROBE |
				      VFIO_DEVICE_FEATURE_GET |
				      VFIO_DEVICE_FEATURE_MIGRATION, NULL, 0));
	ASSERT_EQ(-EINVAL, vfio_dev_feature(&self->m.dev,
					    VFIO_DEVICE_FEATURE_PROBE |
					    VFIO_DEVICE_FEATURE_SET |
					    VFIO_DEVICE_FEATURE_MIGRATION,
					    NULL, 0));
	ASSERT_EQ(0, vfio_dev_feature(&self->m.dev, VFIO_DEVICE_FEATURE_PROBE |
				      VFIO_DEVICE_FEATURE_GET |
				      VFIO_DEVICE_FEATURE_SET |
				      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
				      NULL, 0));
	ASSERT_EQ(0, vfio_dev_feature(&self->m.dev, VFIO_DEVICE_FEATURE_PROBE |
				      VFIO_DEVICE_FEATURE_GET |
				      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
				      NULL, 0));
	/* SET of the read-only MIGRATION feature is refused */
	memset(&mig, 0, sizeof(mig));
	ASSERT_EQ(-EINVAL, vfio_dev_feature(&self->m.dev,
					    VFIO_DEVICE_FEATURE_SET |
					    VFIO_DEVICE_FEATURE_MIGRATION,
					    &mig, sizeof(mig)));
}

/*
 * A device opens RUNNING, also after it was closed in STOP.  vfio.h does
 * not say so: a device that keeps STOP across close and reopen skips,
 * saying so; any other state fails.
 */
TEST_F(mig, initial_state_running)
{
	uint32_t now;

	ASSERT_EQ(ST(RUNNING), self->m.open_state)
		TH_LOG("state after open: %s", NAME(self->m.open_state));

	now = state_after_reopen(_metadata, &self->m, ST(STOP));
	if (now == ST(STOP))
		SKIP(return, "the device kept STOP across close and reopen; vfio.h does not say which state a device opens in");
	ASSERT_EQ(ST(RUNNING), now)
		TH_LOG("closed in STOP, the device opened again in %s: neither RUNNING nor the state it was left in",
		       NAME(now));
}

/*
 * MIG_DATA_SIZE answers in every state.  The uAPI calls its value an
 * estimate of the data STOP_COPY will need and sets no bound on it, so a
 * device-agnostic suite can hold no driver to a value: it only logs each
 * next to the length of a stream then saved.  A driver that promises more
 * checks it in its own suite (qemu-vfio-pci promises the exact length:
 * edu_roundtrip and ivshmem_roundtrip compare it with the stream read).
 */
TEST_F(mig, data_size_every_state)
{
	struct vfio_buf stream, ref;
	uint64_t bytes;
	uint32_t s, i;
	int fd, ret;

	resume_ref(_metadata, &self->m.dev, &ref);
	for_each_state(s, i) {
		if (!supported(&self->m, s))
			continue;
		ASSERT_EQ(0, to_running(&self->m.dev));
		go(_metadata, &self->m.dev, s, &fd);
		ret = vfio_dev_mig_data_size(&self->m.dev, &bytes);
		if (s == ST(RESUMING))
			end_resume(_metadata, &fd, &ref);
		close_fd(&fd);
		ASSERT_EQ(0, ret) TH_LOG("MIG_DATA_SIZE in %s: %s", NAME(s),
					 strerror(-ret));
		TH_LOG("MIG_DATA_SIZE in %s: %llu", NAME(s),
		       (unsigned long long)bytes);
	}
	vfio_buf_free(&ref);
	ASSERT_EQ(0, to_running(&self->m.dev));
	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);
	TH_LOG("a STOP_COPY save from RUNNING then: %zu bytes", stream.len);
	vfio_buf_free(&stream);
}

/*
 * Every ordered pair of states, each from a fresh RUNNING device: the
 * variants are where the arc starts, the tests where it goes, so that
 * each arc is a case of its own.  An arc with a state the device does not
 * support skips.  Leaving RESUMING requires a complete stream (otherwise
 * the driver fails RESUMING -> STOP and goes to ERROR), so a stream saved
 * first is fed into the resume fd; on a device without VFIO_DEVICE_RESET
 * also into a resume fd that the arc opens (see resume_ref()).
 */
FIXTURE(all_transitions) {
	struct mig_dev m;
};

FIXTURE_VARIANT(all_transitions) {
	uint32_t from;
};

FIXTURE_VARIANT_ADD(all_transitions, from_RUNNING) {
	.from = ST(RUNNING),
};

FIXTURE_VARIANT_ADD(all_transitions, from_STOP) {
	.from = ST(STOP),
};

FIXTURE_VARIANT_ADD(all_transitions, from_STOP_COPY) {
	.from = ST(STOP_COPY),
};

FIXTURE_VARIANT_ADD(all_transitions, from_RESUMING) {
	.from = ST(RESUMING),
};

FIXTURE_VARIANT_ADD(all_transitions, from_RUNNING_P2P) {
	.from = ST(RUNNING_P2P),
};

FIXTURE_VARIANT_ADD(all_transitions, from_PRE_COPY) {
	.from = ST(PRE_COPY),
};

FIXTURE_VARIANT_ADD(all_transitions, from_PRE_COPY_P2P) {
	.from = ST(PRE_COPY_P2P),
};

FIXTURE_SETUP(all_transitions)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(all_transitions)
{
	mig_dev_close(&self->m);
}

/*
 * After a refused blocked arc out of STOP_COPY, the save session is as it
 * was: its fd *@fd still gives the whole stream, which then resumes.
 * Catches a driver that starts on the way (ends the session, stops the
 * device) before it learns that the arc is refused.
 */
static void blocked_keeps_session(struct __test_metadata *_metadata,
				  struct mig_dev *m, uint32_t from,
				  uint32_t to, int *fd)
{
	struct vfio_buf s;
	int ret;

	if (from != ST(STOP_COPY)) {
		close_fd(fd);
		return;
	}
	vfio_buf_init(&s);
	ret = vfio_mig_read(*fd, &s, MAX_STREAM);
	close_fd(fd);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret)
		TH_LOG("reading the STOP_COPY stream after %s -> %s was refused: %s",
		       NAME(from), NAME(to), strerror(-ret));
	resume(_metadata, &m->dev, s.data, s.len, 0);
	vfio_buf_free(&s);
}

static void arc(struct __test_metadata *_metadata, struct mig_dev *m,
		uint32_t from, uint32_t to)
{
	struct vfio_dev *dev = &m->dev;
	struct vfio_buf ref;
	int fd1, fd2, ret;

	if (!supported(m, from) || !supported(m, to))
		SKIP(return, "the device does not support %s",
		     supported(m, from) ? NAME(to) : NAME(from));

	vfio_buf_init(&ref);
	if ((from == ST(RESUMING) && to != from) ||
	    ((from == ST(RESUMING) || to == ST(RESUMING)) && !has_reset(dev)))
		save(_metadata, dev, &ref);

	ASSERT_EQ(0, to_running(dev));
	expect_state(_metadata, dev, ST(RUNNING));
	go(_metadata, dev, from, &fd1);
	ASSERT_EQ(arc_new_fd(ST(RUNNING), from), fd1 >= 0)
		TH_LOG("RUNNING -> %s: data fd %d", NAME(from), fd1);
	if (from == ST(RESUMING) && to != from) {
		ret = vfio_mig_write(fd1, ref.data, ref.len, 0, NULL);
		ASSERT_EQ(0, ret) TH_LOG("resume write: %s", strerror(-ret));
	}

	if (arc_blocked(m->flags, from, to)) {
		vfio_buf_free(&ref);
		/* on a lost device even a close may block: leave fd1 */
		if (!refuse_arc(_metadata, m, from, to, -EINVAL))
			return;
		blocked_keeps_session(_metadata, m, from, to, &fd1);
		return;
	}
	ret = vfio_dev_mig_set_state(dev, to, &fd2);
	/* RESUMING -> RESUMING: the session of fd1 goes on */
	if (from == ST(RESUMING) && to == from && !has_reset(dev))
		end_resume(_metadata, &fd1, &ref);
	close_fd(&fd1);
	ASSERT_EQ(0, ret) TH_LOG("%s -> %s: %s", NAME(from), NAME(to),
				 strerror(-ret));
	ASSERT_EQ(arc_new_fd(from, to), fd2 >= 0)
		TH_LOG("%s -> %s: data fd %d", NAME(from), NAME(to), fd2);
	if (to == ST(RESUMING) && !has_reset(dev))
		end_resume(_metadata, &fd2, &ref);
	close_fd(&fd2);
	vfio_buf_free(&ref);
	expect_state(_metadata, dev, to);
}

TEST_F_TIMEOUT(all_transitions, to_RUNNING, 120)
{
	arc(_metadata, &self->m, variant->from, ST(RUNNING));
}

TEST_F_TIMEOUT(all_transitions, to_STOP, 120)
{
	arc(_metadata, &self->m, variant->from, ST(STOP));
}

TEST_F_TIMEOUT(all_transitions, to_STOP_COPY, 120)
{
	arc(_metadata, &self->m, variant->from, ST(STOP_COPY));
}

TEST_F_TIMEOUT(all_transitions, to_RESUMING, 120)
{
	arc(_metadata, &self->m, variant->from, ST(RESUMING));
}

TEST_F_TIMEOUT(all_transitions, to_RUNNING_P2P, 120)
{
	arc(_metadata, &self->m, variant->from, ST(RUNNING_P2P));
}

TEST_F_TIMEOUT(all_transitions, to_PRE_COPY, 120)
{
	arc(_metadata, &self->m, variant->from, ST(PRE_COPY));
}

TEST_F_TIMEOUT(all_transitions, to_PRE_COPY_P2P, 120)
{
	arc(_metadata, &self->m, variant->from, ST(PRE_COPY_P2P));
}

/*
 * From each state the device supports, every target it cannot reach is
 * refused with EINVAL, and state and fds stay as they were: the states
 * the device does not support, ERROR, numbers that name no state, and
 * the supported states that vfio_mig_get_next_state() blocks from here
 * (arc_blocked(): from STOP_COPY, the PRE_COPY states).  Each request
 * runs under the watchdog of refuse_arc().
 */
TEST_F_TIMEOUT(all_transitions, refused_targets, 120)
{
	uint32_t from = variant->from, bad[16], nbad = 0, s, i;
	struct vfio_buf ref;
	int fd;

	if (!supported(&self->m, from))
		SKIP(return, "the device does not support %s", NAME(from));
	for_each_state(s, i)
		if (!supported(&self->m, s) ||
		    arc_blocked(self->m.flags, from, s))
			bad[nbad++] = s;
	bad[nbad++] = ST(ERROR);
	bad[nbad++] = 8;
	bad[nbad++] = 0x80000000U;
	bad[nbad++] = 0xffffffffU;

	vfio_buf_init(&ref);
	if (from == ST(RESUMING))
		resume_ref(_metadata, &self->m.dev, &ref);
	ASSERT_EQ(0, to_running(&self->m.dev));
	go(_metadata, &self->m.dev, from, &fd);
	for (i = 0; i < nbad; i++)
		if (!refuse_arc(_metadata, &self->m, from, bad[i], -EINVAL)) {
			vfio_buf_free(&ref);
			return;
		}
	if (from == ST(RESUMING))
		end_resume(_metadata, &fd, &ref);
	close_fd(&fd);
	vfio_buf_free(&ref);
}

/* VFIO_DEVICE_RESET in each state the device supports returns to RUNNING. */
TEST_F_TIMEOUT(all_transitions, reset, 120)
{
	uint32_t from = variant->from;
	int fd, ret;

	if (!supported(&self->m, from))
		SKIP(return, "the device does not support %s", NAME(from));
	if (!has_reset(&self->m.dev))
		SKIP(return, "device does not support VFIO_DEVICE_RESET");

	ASSERT_EQ(0, vfio_dev_reset(&self->m.dev));
	go(_metadata, &self->m.dev, from, &fd);
	ret = vfio_dev_reset(&self->m.dev);
	close_fd(&fd);
	ASSERT_EQ(0, ret) TH_LOG("reset in %s: %s", NAME(from),
				 strerror(-ret));
	expect_state(_metadata, &self->m.dev, ST(RUNNING));
}
TEST_F(mig, data_fd_file_ops)
{
	struct vfio_buf stream;
	char b[16];
	int fd;

	/* save fd */
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(-1, pread(fd, b, sizeof(b), 0));
	ASSERT_EQ(ESPIPE, errno);
	ASSERT_EQ(-1, lseek(fd, 0, SEEK_CUR));
	ASSERT_EQ(ESPIPE, errno);
	ASSERT_EQ(-1, write(fd, b, sizeof(b)));
	ASSERT_EQ(EBADF, errno);
	/* none of that consumed anything: the stream is still complete */
	vfio_buf_init(&stream);
	ASSERT_EQ(VFIO_MIG_READ_EOF, vfio_mig_read(fd, &stream, MAX_STREAM));
	close(fd);
	go(_metadata, &self->m.dev, ST(STOP), NULL);

	/* resume fd */
	go(_metadata, &self->m.dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_WRONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(-1, read(fd, b, sizeof(b)));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, pwrite(fd, stream.data, stream.len, 0));
	ASSERT_EQ(ESPIPE, errno);
	ASSERT_EQ(-1, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(ESPIPE, errno);
	/* and the resume fd still takes the whole stream */
	ASSERT_EQ(0, vfio_mig_write(fd, stream.data, stream.len, 0, NULL));
	close(fd);
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	vfio_buf_free(&stream);
}

TEST_F(mig, stop_copy_end_of_stream)
{
	struct vfio_buf stream;
	int fd, i, ret;
	char b[64];

	vfio_buf_init(&stream);
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_read(fd, &stream, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret) TH_LOG("read: %s", strerror(-ret));
	TH_LOG("STOP_COPY stream: %zu bytes", stream.len);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, read(fd, b, sizeof(b)))
			TH_LOG("read %d after end", i + 1);
	expect_state(_metadata, &self->m.dev, ST(STOP_COPY));
	close(fd);
	vfio_buf_free(&stream);
}

TEST_F(mig, precopy_enomsg)
{
	struct vfio_precopy_info info;
	uint64_t initial, total = 0;
	static uint8_t b[65531];
	ssize_t n;
	int fd;

	if (!supported(&self->m, ST(PRE_COPY)))
		SKIP(return, "device does not support PRE_COPY");

	go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	initial = info.initial_bytes;
	TH_LOG("PRE_COPY initial_bytes %llu dirty_bytes %llu",
	       (unsigned long long)info.initial_bytes,
	       (unsigned long long)info.dirty_bytes);

	/*
	 * Read in odd pieces, 7 bytes for the first 64 KiB, then a little
	 * less than 64 KiB (devices with large state); initial_bytes may
	 * only shrink.
	 */
	for (;;) {
		n = read(fd, b, total < 65536 ? 7 : sizeof(b));
		if (n < 0)
			break;
		ASSERT_LT(0, n) TH_LOG("read() == 0 in PRE_COPY");
		total += n;
		ASSERT_GT(MAX_STREAM, total);
		ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
		ASSERT_GE(initial, info.initial_bytes)
			TH_LOG("initial_bytes grew after %llu bytes",
			       (unsigned long long)total);
		initial = info.initial_bytes;
	}
	ASSERT_EQ(ENOMSG, errno) TH_LOG("read: %s", strerror(errno));
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes)
		TH_LOG("ENOMSG while %llu initial bytes are left",
		       (unsigned long long)info.initial_bytes);
	/* drained stays drained */
	ASSERT_EQ(-1, read(fd, b, 7));
	ASSERT_EQ(ENOMSG, errno);
	expect_state(_metadata, &self->m.dev, ST(PRE_COPY));
	close(fd);
}

TEST_F(mig, precopy_info_states)
{
	struct vfio_precopy_info info;
	struct vfio_buf ref;
	int fd, fd2, ret;

	if (!supported(&self->m, ST(PRE_COPY)))
		SKIP(return, "device does not support PRE_COPY");

	resume_ref(_metadata, &self->m.dev, &ref);
	ASSERT_EQ(0, to_running(&self->m.dev));
	go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	if (supported(&self->m, ST(PRE_COPY_P2P))) {
		go(_metadata, &self->m.dev, ST(PRE_COPY_P2P), &fd2);
		ASSERT_EQ(-1, fd2);
		ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	}
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd2);
	ASSERT_EQ(-1, fd2);
	ret = vfio_mig_precopy_info(fd, &info);
	ASSERT_EQ(-EINVAL, ret)
		TH_LOG("PRECOPY_INFO in STOP_COPY: %s", strerror(-ret));
	close(fd);

	/* a STOP_COPY fd that never was in PRE_COPY */
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_precopy_info(fd, &info);
	ASSERT_EQ(-EINVAL, ret)
		TH_LOG("PRECOPY_INFO on a STOP_COPY fd: %s", strerror(-ret));
	close(fd);

	/*
	 * A resume fd: EINVAL as in any state but PRE_COPY, or ENOTTY from a
	 * resume fd that has no ioctls at all (as upstream drivers do).
	 */
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	go(_metadata, &self->m.dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_precopy_info(fd, &info);
	ASSERT_TRUE(ret == -EINVAL || ret == -ENOTTY)
		TH_LOG("PRECOPY_INFO on a resume fd: %s", strerror(-ret));
	if (ret == -ENOTTY)
		TH_LOG("note: a resume fd answers PRECOPY_INFO with ENOTTY");
	end_resume(_metadata, &fd, &ref);
	vfio_buf_free(&ref);
}

/* VFIO_MIG_GET_PRECOPY_INFO with @in as the flags given; the flags back. */
static uint32_t precopy_flags(struct __test_metadata *_metadata, int fd,
			      uint32_t in)
{
	struct vfio_precopy_info info = {
		.argsz = sizeof(info),
		.flags = in,
	};

	ASSERT_EQ(0, ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		TH_LOG("PRECOPY_INFO: %s", strerror(errno));
	return info.flags;
}

/*
 * VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 (Linux 7.x): until userspace
 * opts in, the flags of VFIO_MIG_GET_PRECOPY_INFO are reserved and a
 * driver must not report VFIO_PRECOPY_INFO_REINIT there (the core keeps
 * what the user passed, for bug compatibility); after the opt-in they
 * are output, so whatever garbage went in, only REINIT may come back.
 * The opt-in cannot be undone: it lasts until the device's last close,
 * so nothing after it in this test may expect v1 answers.
 */
TEST_F(mig, precopy_info_v2)
{
	uint32_t flags;
	int fd, ret;

	if (!supported(&self->m, ST(PRE_COPY)))
		SKIP(return, "device does not support PRE_COPY");
	ret = vfio_dev_precopy_info_v2(&self->m.dev, true);
	if (ret == -ENOTTY)
		SKIP(return, "no VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 (%s): the kernel predates it",
		     strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("probe of the opt-in: %s", strerror(-ret));

	go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	flags = precopy_flags(_metadata, fd, 0);
	EXPECT_EQ(0U, flags & VFIO_PRECOPY_INFO_REINIT)
		TH_LOG("REINIT reported before the opt-in");
	go(_metadata, &self->m.dev, ST(RUNNING), NULL);
	close(fd);

	ret = vfio_dev_precopy_info_v2(&self->m.dev, false);
	ASSERT_EQ(0, ret) TH_LOG("opt in: %s", strerror(-ret));
	go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	flags = precopy_flags(_metadata, fd, ~0U);
	EXPECT_EQ(0U, flags & ~(uint32_t)VFIO_PRECOPY_INFO_REINIT)
		TH_LOG("flags 0x%x after the opt-in: unknown output bits", flags);
	go(_metadata, &self->m.dev, ST(RUNNING), NULL);
	close(fd);
}

TEST_F(mig, precopy_continues_into_stop_copy)
{
	struct vfio_buf stream;
	int fd, fd2, ret;

	if (!supported(&self->m, ST(PRE_COPY)))
		SKIP(return, "device does not support PRE_COPY");

	vfio_buf_init(&stream);
	go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_read(fd, &stream, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_NODATA, ret)
		TH_LOG("PRE_COPY read: %s", strerror(-ret));
	TH_LOG("PRE_COPY part: %zu bytes", stream.len);
	if (supported(&self->m, ST(PRE_COPY_P2P))) {
		go(_metadata, &self->m.dev, ST(PRE_COPY_P2P), &fd2);
		ASSERT_EQ(-1, fd2) TH_LOG("PRE_COPY -> PRE_COPY_P2P opened an fd");
	}
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd2);
	ASSERT_EQ(-1, fd2) TH_LOG("-> STOP_COPY opened a new fd");
	ret = vfio_mig_read(fd, &stream, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret)
		TH_LOG("STOP_COPY read: %s", strerror(-ret));
	close(fd);
	TH_LOG("whole stream: %zu bytes", stream.len);

	/* the concatenation is one valid stream */
	ASSERT_EQ(0, to_running(&self->m.dev));
	resume(_metadata, &self->m.dev, stream.data, stream.len, 0);
	go(_metadata, &self->m.dev, ST(RUNNING), NULL);
	vfio_buf_free(&stream);
}

/*
 * A zero-length read() returns 0, as on any Linux file, and changes
 * nothing: in PRE_COPY with data pending, at PRE_COPY's temporary end of
 * stream (where a longer read() gets ENOMSG), and in STOP_COPY before
 * and after the end of the stream.
 */
TEST_F(mig, zero_length_read)
{
	struct vfio_precopy_info info, again;
	struct vfio_buf stream;
	int fd, fd2, ret;
	char b[8];

	vfio_buf_init(&stream);
	if (supported(&self->m, ST(PRE_COPY))) {
		go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
		ASSERT_EQ(0, read(fd, b, 0))
			TH_LOG("PRE_COPY, data pending: %s", strerror(errno));
		ASSERT_EQ(0, vfio_mig_precopy_info(fd, &again));
		ASSERT_EQ(info.initial_bytes, again.initial_bytes);
		ASSERT_EQ(info.dirty_bytes, again.dirty_bytes);
		ret = vfio_mig_read(fd, &stream, MAX_STREAM);
		ASSERT_EQ(VFIO_MIG_READ_NODATA, ret)
			TH_LOG("PRE_COPY read: %s", strerror(-ret));
		ASSERT_EQ(0, read(fd, b, 0))
			TH_LOG("PRE_COPY, nothing pending: %s",
			       strerror(errno));
		if (supported(&self->m, ST(PRE_COPY_P2P))) {
			go(_metadata, &self->m.dev, ST(PRE_COPY_P2P), &fd2);
			ASSERT_EQ(-1, fd2);
		}
		go(_metadata, &self->m.dev, ST(STOP_COPY), &fd2);
		ASSERT_EQ(-1, fd2);
	} else {
		go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
		ASSERT_LE(0, fd);
	}
	ASSERT_EQ(0, read(fd, b, 0))
		TH_LOG("STOP_COPY: %s", strerror(errno));
	ret = vfio_mig_read(fd, &stream, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret)
		TH_LOG("STOP_COPY read: %s", strerror(-ret));
	ASSERT_EQ(0, read(fd, b, 0));
	close(fd);
	vfio_buf_free(&stream);
}

/* read or write on @fd must fail with ENODEV */
static void expect_enodev(struct __test_metadata *_metadata, int fd,
			  bool is_write, const char *what)
{
	char b[8] = { 0 };
	ssize_t n;

	n = is_write ? write(fd, b, sizeof(b)) : read(fd, b, sizeof(b));
	ASSERT_EQ(-1, n) TH_LOG("%s: %s returned %zd", what,
				is_write ? "write" : "read", n);
	ASSERT_EQ(ENODEV, errno) TH_LOG("%s: %s", what, strerror(errno));
}

TEST_F(mig, ended_session_enodev)
{
	struct vfio_buf stream;
	int fd;

	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);

	/* STOP_COPY -> STOP, nothing read */
	go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	expect_enodev(_metadata, fd, false, "STOP_COPY fd after -> STOP");
	close(fd);

	/* RESUMING -> STOP after a complete stream */
	go(_metadata, &self->m.dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_mig_write(fd, stream.data, stream.len, 0, NULL));
	go(_metadata, &self->m.dev, ST(STOP), NULL);
	expect_enodev(_metadata, fd, true, "resume fd after -> STOP");
	close(fd);

	if (supported(&self->m, ST(PRE_COPY))) {
		ASSERT_EQ(0, to_running(&self->m.dev));
		go(_metadata, &self->m.dev, ST(PRE_COPY), &fd);
		ASSERT_LE(0, fd);
		go(_metadata, &self->m.dev, ST(RUNNING), NULL);
		expect_enodev(_metadata, fd, false,
			      "PRE_COPY fd after -> RUNNING");
		close(fd);
	}

	if (has_reset(&self->m.dev)) {
		go(_metadata, &self->m.dev, ST(STOP_COPY), &fd);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, vfio_dev_reset(&self->m.dev));
		expect_enodev(_metadata, fd, false, "STOP_COPY fd after reset");
		close(fd);

		go(_metadata, &self->m.dev, ST(STOP), NULL);
		go(_metadata, &self->m.dev, ST(RESUMING), &fd);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, vfio_dev_reset(&self->m.dev));
		expect_enodev(_metadata, fd, true, "resume fd after reset");
		close(fd);
	}
	vfio_buf_free(&stream);
}
/*
 * ERROR, and the way out of it.  No arc leads to ERROR; a driver may go
 * there when an arc fails, and one arc must fail: RESUMING -> STOP when
 * the data written is "incomplete, inconsistent, or otherwise invalid"
 * (vfio.h).  An empty stream is incomplete for a device whose saved
 * stream is not empty, so the arc must fail; whether the device then is
 * in ERROR is up to the driver ("optionally go to the ERROR state").  A
 * driver that does not go there leaves nothing to test: skip, saying so.
 */
/*
 * Put the device into ERROR: RESUMING -> STOP with an empty stream, which
 * must fail.  Returns NULL, or why the device is not in ERROR (a skip
 * reason; @what is what then goes untested).
 */
static const char *enter_error(struct __test_metadata *_metadata,
			       struct mig_dev *m, const char *what)
{
	static char why[256];
	struct vfio_buf stream;
	size_t len;
	uint32_t st;
	int fd, ret;

	if (!has_reset(&m->dev))
		return "device does not support VFIO_DEVICE_RESET, the only way out of ERROR";

	vfio_buf_init(&stream);
	save(_metadata, &m->dev, &stream);
	len = stream.len;
	vfio_buf_free(&stream);
	if (!len)
		return "the device saves an empty stream, so an empty resume is complete and no arc is known to fail";

	go(_metadata, &m->dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_dev_mig_set_state(&m->dev, ST(STOP), NULL);
	close(fd);
	ASSERT_NE(0, ret)
		TH_LOG("RESUMING -> STOP accepted an empty stream, but the device saves %zu bytes: incomplete data must fail the arc",
		       len);
	ASSERT_EQ(0, vfio_dev_mig_get_state(&m->dev, &st));
	if (st == ST(ERROR))
		return NULL;
	snprintf(why, sizeof(why),
		 "RESUMING -> STOP refused an empty stream (%s) but the device is in %s, not ERROR (optional in the uAPI): %s not tested",
		 strerror(-ret), NAME(st), what);
	return why;
}

TEST_F(mig, reset_from_error)
{
	struct vfio_buf stream;
	const char *why;
	int ret;

	why = enter_error(_metadata, &self->m, "reset from ERROR");
	if (why)
		SKIP(return, "%s", why);

	/* only a reset leads out of ERROR */
	ret = vfio_dev_mig_set_state(&self->m.dev, ST(RUNNING), NULL);
	ASSERT_NE(0, ret) TH_LOG("ERROR -> RUNNING accepted without a reset");
	expect_state(_metadata, &self->m.dev, ST(ERROR));
	ASSERT_EQ(0, vfio_dev_reset(&self->m.dev));
	expect_state(_metadata, &self->m.dev, ST(RUNNING));

	/* and the device migrates again */
	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);
	vfio_buf_free(&stream);
}

/*
 * In ERROR every request but ERROR is refused with EINVAL, opens no data
 * fd, and leaves the device in ERROR: each state, and numbers that name
 * none, each under the watchdog of refuse_arc().  The core has no arc out
 * of ERROR: vfio_mig_get_next_state() WARNs when a driver asks it for one
 * (the test bed fails on the WARN in the kernel log), so a driver must
 * refuse first, as qemu-vfio-pci does.  Catches a driver that leaves
 * ERROR by an arc, opens a session from ERROR, or hangs there.
 */
TEST_F(mig, error_refuses_every_target)
{
	static const uint32_t garbage[] = { 8, 0x80000000U, 0xffffffffU };
	struct vfio_buf stream;
	const char *why;
	uint32_t s, i;

	why = enter_error(_metadata, &self->m, "requests in ERROR");
	if (why)
		SKIP(return, "%s", why);

	for_each_state(s, i)
		if (!refuse_arc(_metadata, &self->m, ST(ERROR), s, -EINVAL))
			return;
	for (i = 0; i < ARRAY_SIZE(garbage); i++)
		if (!refuse_arc(_metadata, &self->m, ST(ERROR), garbage[i],
				-EINVAL))
			return;

	ASSERT_EQ(0, vfio_dev_reset(&self->m.dev));
	expect_state(_metadata, &self->m.dev, ST(RUNNING));
	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);
	vfio_buf_free(&stream);
}

/*
 * Closing the device with a data transfer session open ends the session:
 * the data fd fails with ENODEV, and the device, open again, migrates.  A
 * variant per session.  vfio.h does not say which state the device is in
 * when it opens again: RUNNING, or the state it was closed in (mtty
 * keeps it); anything else fails (expect_reopened()).  A device without
 * VFIO_DEVICE_RESET that keeps its state across close would keep
 * RESUMING too, with no fd left to complete the session and no reset to
 * abort it, so on such a device the resuming variant skips
 * (no_close_in_resuming()).
 */
FIXTURE(close_with_session_open) {
	struct mig_dev m;
};

FIXTURE_VARIANT(close_with_session_open) {
	uint32_t session;
};

FIXTURE_VARIANT_ADD(close_with_session_open, stop_copy) {
	.session = ST(STOP_COPY),
};

FIXTURE_VARIANT_ADD(close_with_session_open, pre_copy) {
	.session = ST(PRE_COPY),
};

FIXTURE_VARIANT_ADD(close_with_session_open, resuming) {
	.session = ST(RESUMING),
};

FIXTURE_SETUP(close_with_session_open)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(close_with_session_open)
{
	mig_dev_close(&self->m);
}

TEST_F(close_with_session_open, close)
{
	uint32_t s = variant->session;
	struct vfio_buf stream;
	const char *why;
	int fd;

	if (!supported(&self->m, s))
		SKIP(return, "the device does not support %s", NAME(s));
	if (s == ST(RESUMING)) {
		why = no_close_in_resuming(_metadata, &self->m);
		if (why)
			SKIP(return, "%s", why);
	}

	ASSERT_EQ(0, to_running(&self->m.dev));
	go(_metadata, &self->m.dev, s, &fd);
	ASSERT_LE(0, fd);

	vfio_dev_close(&self->m.dev);
	ASSERT_EQ(0, vfio_dev_open(&self->m.dev, g_bdf))
		TH_LOG("reopen: %s", self->m.dev.err);
	expect_reopened(_metadata, &self->m.dev, g_bdf, s);
	expect_enodev(_metadata, fd, s == ST(RESUMING),
		      "data fd after the device was closed");
	close(fd);

	/* and the reopened device migrates */
	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);
	go(_metadata, &self->m.dev, ST(RUNNING), NULL);
	vfio_buf_free(&stream);
}

/*
 * Everything a data fd of an ended session may be asked, after its device
 * was closed (or unbound): read() or write(), whichever the fd is for,
 * fails with ENODEV; the other with EBADF (the VFS); PRECOPY_INFO with
 * EINVAL (the device is not in a PRE_COPY state) or ENODEV (the session
 * ended), or ENOTTY from a resume fd that has no ioctls; any other ioctl
 * with ENOTTY; and poll() answers at once with some event, so that a
 * waiter would wake.  The checks do not stop the test (EXPECT): the
 * unbinding test must bind its device again whatever they find.
 */
static void expect_ended_fd(struct __test_metadata *_metadata, int fd,
			    bool is_resume, const char *when)
{
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	struct vfio_precopy_info info;
	const char *dir = is_resume ? "write" : "read";
	const char *other = is_resume ? "read" : "write";
	char b[8] = { 0 };
	int ret, err;
	ssize_t n;

	n = is_resume ? write(fd, b, sizeof(b)) : read(fd, b, sizeof(b));
	err = errno;
	EXPECT_EQ(-1, n) TH_LOG("%s: %s returned %zd", when, dir, n);
	EXPECT_EQ(ENODEV, err) TH_LOG("%s: %s: %s", when, dir, strerror(err));
	n = is_resume ? read(fd, b, sizeof(b)) : write(fd, b, sizeof(b));
	err = errno;
	EXPECT_EQ(-1, n) TH_LOG("%s: %s returned %zd", when, other, n);
	EXPECT_EQ(EBADF, err) TH_LOG("%s: %s: %s", when, other, strerror(err));
	ret = vfio_mig_precopy_info(fd, &info);
	EXPECT_TRUE(ret == -EINVAL || ret == -ENODEV ||
		    (is_resume && ret == -ENOTTY))
		TH_LOG("%s: VFIO_MIG_GET_PRECOPY_INFO: %s", when,
		       ret ? strerror(-ret) : "answered");
	ret = ioctl(fd, VFIO_DEVICE_GET_INFO, &dinfo);
	err = errno;
	EXPECT_EQ(-1, ret)
		TH_LOG("%s: VFIO_DEVICE_GET_INFO on a data fd answered", when);
	EXPECT_EQ(ENOTTY, err) TH_LOG("%s: VFIO_DEVICE_GET_INFO: %s", when,
				      strerror(err));
	ret = poll(&pfd, 1, 1000);
	err = errno;
	EXPECT_EQ(1, ret)
		TH_LOG("%s: poll() reported nothing in 1 s (%s): a waiter would sleep on an ended session",
		       when, ret < 0 ? strerror(err) : "timeout");
	TH_LOG("%s: poll() events 0x%x", when, pfd.revents);
}

/*
 * A data fd outlives its device fd.  For each kind of session the device
 * has (STOP_COPY, PRE_COPY, RESUMING; a variant each), the device (its
 * fd, and its group and container or its iommufd) is closed with the
 * session open and not opened again; then every call on the data fd fails
 * as expect_ended_fd() says, and closing it last is harmless.
 * close_with_session_open reopens the device first; this looks at the fd
 * while the device is closed.  The device opened again may be in RUNNING
 * or in the state it was closed in (expect_reopened()), and the resuming
 * variant skips on a device that could not leave RESUMING after that
 * (no_close_in_resuming()), as close_with_session_open's does.  Catches a
 * driver whose close_device leaves the session running (a read() that
 * still gives data, or reaches into a device whose BARs are unmapped),
 * frees what the session file still points to (an oops, or a KASAN report
 * on a kernel with KASAN), or whose file operations then hang or answer
 * with an errno no caller expects.
 */
FIXTURE(data_fd_after_device_close) {
	struct mig_dev m;
};

FIXTURE_VARIANT(data_fd_after_device_close) {
	uint32_t session;
};

FIXTURE_VARIANT_ADD(data_fd_after_device_close, stop_copy) {
	.session = ST(STOP_COPY),
};

FIXTURE_VARIANT_ADD(data_fd_after_device_close, pre_copy) {
	.session = ST(PRE_COPY),
};

FIXTURE_VARIANT_ADD(data_fd_after_device_close, resuming) {
	.session = ST(RESUMING),
};

FIXTURE_SETUP(data_fd_after_device_close)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(data_fd_after_device_close)
{
	mig_dev_close(&self->m);
}

TEST_F(data_fd_after_device_close, calls)
{
	uint32_t s = variant->session;
	struct vfio_buf stream;
	const char *why;
	char when[96];
	int fd;

	if (!supported(&self->m, s))
		SKIP(return, "the device does not support %s", NAME(s));
	if (s == ST(RESUMING)) {
		why = no_close_in_resuming(_metadata, &self->m);
		if (why)
			SKIP(return, "%s", why);
	}

	ASSERT_EQ(0, to_running(&self->m.dev));
	go(_metadata, &self->m.dev, s, &fd);
	ASSERT_LE(0, fd);
	vfio_dev_close(&self->m.dev);
	snprintf(when, sizeof(when), "%s fd, device closed", NAME(s));
	expect_ended_fd(_metadata, fd, s == ST(RESUMING), when);
	close(fd);
	ASSERT_EQ(0, vfio_dev_open(&self->m.dev, g_bdf))
		TH_LOG("reopen: %s", self->m.dev.err);
	expect_reopened(_metadata, &self->m.dev, g_bdf, s);

	/* and the device migrates */
	vfio_buf_init(&stream);
	save(_metadata, &self->m.dev, &stream);
	vfio_buf_free(&stream);
}

/* What the reader of reset_reader tells its parent, through a pipe. */
struct reader_msg {
	int kind;
	int err;		/* MSG_DONE: 0 (end of stream) or the errno */
	unsigned long long bytes;	/* read so far */
};

enum {
	MSG_READ = 1,		/* the first bytes were read */
	MSG_WAITING,		/* read() said ENOMSG: poll() next */
	MSG_DONE,		/* read() returned 0 or failed: the end */
};

static void reader_tell(int p, struct reader_msg *m, int kind)
{
	m->kind = kind;
	if (write(p, m, sizeof(*m)) != sizeof(*m))
		_exit(1);
}

/*
 * The reader, in a child process: read @fd in @piece-byte calls as a
 * migration tool would; at ENOMSG (PRE_COPY, nothing for now) wait in
 * poll() for more; stop at the end of the stream or at the first other
 * failure, and say which.
 */
static void reader_child(int fd, int p, size_t piece)
{
	static uint8_t buf[1 << 16];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct reader_msg m = { 0 };
	ssize_t n;

	if (piece > sizeof(buf))
		piece = sizeof(buf);
	for (;;) {
		n = read(fd, buf, piece);
		if (n > 0) {
			m.bytes += n;
			if (m.bytes == (unsigned long long)n)
				reader_tell(p, &m, MSG_READ);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOMSG) {
			reader_tell(p, &m, MSG_WAITING);
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
				m.err = errno;
				break;
			}
			continue;
		}
		m.err = n < 0 ? errno : 0;
		break;
	}
	reader_tell(p, &m, MSG_DONE);
	_exit(0);
}

/* The reader's next message within @ms: 1, 0 if none came, or -errno. */
static int reader_next(int p, struct reader_msg *m, int ms)
{
	struct pollfd pfd = { .fd = p, .events = POLLIN };
	ssize_t n;
	int ret;

	do
		ret = poll(&pfd, 1, ms);
	while (ret < 0 && errno == EINTR);
	if (ret <= 0)
		return ret ? -errno : 0;
	n = read(p, m, sizeof(*m));
	if (n == sizeof(*m))
		return 1;
	return n ? -EIO : -EPIPE;	/* EPIPE: it died without a word */
}

/* The state letter of /proc/PID/stat (R, S, D, ...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * VFIO_DEVICE_RESET while a reader waits on the data fd: in PRE_COPY,
 * once the reader has read what there was and sleeps (in poll() after
 * read() said ENOMSG, or in a read() that blocks); in STOP_COPY, as soon
 * as it has read its first bytes (qemu-vfio-pci's read() never blocks:
 * on a large device the reset lands mid-stream, on a small one the reader
 * may reach the end first).  The reset must return within WATCHDOG_S
 * (it runs in a child under the watchdog), the reader must return within
 * WATCHDOG_S of it, with the end of the stream or ENODEV (the session
 * ended: what the upstream drivers' data fds answer then, as
 * ended_session_enodev asserts), the device must be in RUNNING,
 * the fd must answer ENODEV, and the device must migrate.  The reader is
 * a child process, so that the test can kill it if it stays asleep.
 * Catches a reset that does not end the sessions or does not wake their
 * waiters (the reader sleeps on), that waits for the reader (the reset
 * hangs), or that lets a reader go on with a session the reset ended.
 */
FIXTURE(reset_reader) {
	struct mig_dev m;
	pid_t reader;
};

FIXTURE_VARIANT(reset_reader) {
	uint32_t state;
	size_t piece;		/* bytes per read() */
};

FIXTURE_VARIANT_ADD(reset_reader, pre_copy) {
	.state = ST(PRE_COPY),
	.piece = 65536,
};

FIXTURE_VARIANT_ADD(reset_reader, stop_copy) {
	.state = ST(STOP_COPY),
	.piece = 64,
};

FIXTURE_SETUP(reset_reader)
{
	self->reader = -1;
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(reset_reader)
{
	if (self->reader > 0) {
		kill(self->reader, SIGKILL);
		if (!self->m.lost)
			waitpid(self->reader, NULL, 0);
	}
	mig_dev_close(&self->m);
}

/* How long a reader may take to read what PRE_COPY has at first. */
#define READER_START_S	180

TEST_F_TIMEOUT(reset_reader, reader_returns, 300)
{
	struct vfio_dev *dev = &self->m.dev;
	uint32_t st = variant->state;
	struct reader_msg msg = { 0 };
	struct vfio_buf stream;
	bool waiting = false;
	time_t deadline;
	pid_t parent;
	int p[2], fd, ret, reset_ret = -1, asleep = 0;

	if (!has_reset(dev))
		SKIP(return, "device does not support VFIO_DEVICE_RESET");
	if (!supported(&self->m, st))
		SKIP(return, "the device does not support %s", NAME(st));

	go(_metadata, dev, st, &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	self->reader = fork();
	ASSERT_LE(0, self->reader) TH_LOG("fork: %s", strerror(errno));
	if (!self->reader) {
		close(p[0]);
		die_with_parent(parent);
		reader_child(fd, p[1], variant->piece);
	}
	close(p[1]);

	/* wait until the reader is where the reset should find it */
	deadline = time(NULL) + READER_START_S;
	for (;;) {
		ASSERT_GT(deadline, time(NULL))
			TH_LOG("%s: the reader neither read nor slept in %d s",
			       NAME(st), READER_START_S);
		ret = reader_next(p[0], &msg, 100);
		ASSERT_LE(0, ret) TH_LOG("reader: %s", strerror(-ret));
		if (ret) {
			ASSERT_NE(MSG_DONE, msg.kind)
				TH_LOG("%s: the reader ended before the reset, after %llu bytes: %s",
				       NAME(st), msg.bytes,
				       msg.err ? strerror(msg.err) : "end of stream");
			if (st == ST(STOP_COPY) && msg.kind == MSG_READ)
				break;
			waiting |= msg.kind == MSG_WAITING;
			asleep = 0;
			continue;
		}
		/* no word for 100 ms: asleep three times in a row? */
		asleep = proc_state(self->reader) == 'S' ? asleep + 1 : 0;
		if (st != ST(STOP_COPY) && asleep >= 3)
			break;
	}
	TH_LOG("%s: reset with the reader %s after %llu bytes", NAME(st),
	       st == ST(STOP_COPY) ? "reading" :
	       waiting ? "in poll()" : "asleep in read()", msg.bytes);

	ret = watched(reset_child, dev, &reset_ret, sizeof(reset_ret),
		      WATCHDOG_S);
	if (ret == -ETIMEDOUT)
		lose_device(&self->m);
	ASSERT_EQ(0, ret)
		TH_LOG("VFIO_DEVICE_RESET with a reader on the %s fd: %s",
		       NAME(st), ret == -ETIMEDOUT ?
		       "did not return in time (it waits for the reader?)" :
		       strerror(-ret));
	ASSERT_EQ(0, reset_ret) TH_LOG("VFIO_DEVICE_RESET: %s",
				       strerror(-reset_ret));

	/* the reader returns, with what the session's end allows */
	deadline = time(NULL) + WATCHDOG_S;
	do {
		ret = reader_next(p[0], &msg, 1000);
		ASSERT_LE(0, ret) TH_LOG("reader: %s", strerror(-ret));
	} while (!(ret && msg.kind == MSG_DONE) && time(NULL) < deadline);
	if (!ret || msg.kind != MSG_DONE) {
		/* not left to the teardown, which a failure skips */
		kill(self->reader, SIGKILL);
		waitpid(self->reader, NULL, 0);
		self->reader = -1;
	}
	ASSERT_TRUE(ret && msg.kind == MSG_DONE)
		TH_LOG("%s: the reader is still in read() or poll() %d s after VFIO_DEVICE_RESET: the reset did not end the session or did not wake its waiters",
		       NAME(st), WATCHDOG_S);
	close(p[0]);
	waitpid(self->reader, NULL, 0);
	self->reader = -1;
	TH_LOG("%s: the reader returned %s after %llu bytes", NAME(st),
	       msg.err ? strerror(msg.err) : "end of stream", msg.bytes);
	ASSERT_TRUE(msg.err == 0 || msg.err == ENODEV)
		TH_LOG("%s: after the reset read() failed with %s: want the end of the stream or ENODEV",
		       NAME(st), strerror(msg.err));

	expect_state(_metadata, dev, ST(RUNNING));
	expect_enodev(_metadata, fd, false, "data fd after the reset");
	close(fd);
	vfio_buf_init(&stream);
	save(_metadata, dev, &stream);
	vfio_buf_free(&stream);
}

/*
 * Unbinding the device from its driver, with data fds kept, needs leave:
 * VFIO_SELFTESTS_ALLOW_UNBIND=1 (scripts/guest-run.sh sets it in the test
 * VM, for the suites of our driver).  The test binds the device to the
 * same driver again.  The device is a PCI function, on the bus
 * /sys/bus/pci, or an mdev, on /sys/bus/mdev, where its driver is the
 * vendor driver's mdev driver.
 */
#define ALLOW_UNBIND	"VFIO_SELFTESTS_ALLOW_UNBIND"

static const char *bus_sysfs(const struct vfio_dev *dev)
{
	return dev->mdev ? "/sys/bus/mdev" : "/sys/bus/pci";
}

static int sysfs_write(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * The driver the device @bdf on the bus @bus is bound to, in @name ("" for
 * none); 0 or -errno.
 */
static int driver_of(const char *bus, const char *bdf, char *name,
		     size_t len)
{
	char path[160], link[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/devices/%s/driver", bus, bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		n = 0;
	}
	link[n] = 0;
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

/*
 * Bind @bdf on the bus @bus to @driver: its bind file, else the bus's
 * drivers_probe; 0 or -errno.
 */
static int driver_bind(const char *bus, const char *bdf, const char *driver)
{
	char path[160], now[64];
	int ret;

	snprintf(path, sizeof(path), "%s/drivers/%s/bind", bus, driver);
	ret = sysfs_write(path, bdf);
	if (ret) {
		snprintf(path, sizeof(path), "%s/drivers_probe", bus);
		sysfs_write(path, bdf);
	}
	ret = driver_of(bus, bdf, now, sizeof(now));
	if (ret)
		return ret;
	return strcmp(now, driver) ? -ENODEV : 0;
}

FIXTURE(unbind) {
	struct mig_dev m;
	char driver[64];
};

FIXTURE_SETUP(unbind)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(unbind)
{
	mig_dev_close(&self->m);
}

/*
 * Data fds kept across the unbinding of their device: a save session
 * ended by its arc, a resume session ended by its arc, and a session
 * still live (PRE_COPY, else STOP_COPY) when the device is closed; then
 * the device is unbound from its driver (sysfs), and every call on the
 * three fds fails as expect_ended_fd() says; closing them comes after
 * the driver let go of the device.  Then the device is bound to its
 * driver again and migrates.  Catches a driver whose session files point
 * at what the unbinding freed (the device's structure, its BAR mappings,
 * the driver's module state): an oops, or a KASAN report on a kernel
 * with KASAN, in the calls or in the files' release; or a call that
 * hangs.
 */
TEST_F_TIMEOUT(unbind, data_fds, 180)
{
	struct vfio_dev *dev = &self->m.dev;
	int fd_save, fd_resume, fd_live, ret;
	const char *allow = getenv(ALLOW_UNBIND);
	uint32_t live = supported(&self->m, ST(PRE_COPY)) ? ST(PRE_COPY) :
							   ST(STOP_COPY);
	const char *bus = bus_sysfs(dev);
	struct vfio_buf stream;
	char bdf[sizeof(dev->bdf)], now[64] = "", path[160];

	if (!allow || strcmp(allow, "1"))
		SKIP(return, "unbinding %s from its driver is not allowed: set %s=1 to let the test unbind it and bind it again",
		     dev->bdf, ALLOW_UNBIND);
	snprintf(bdf, sizeof(bdf), "%s", dev->bdf);
	ASSERT_EQ(0, driver_of(bus, bdf, self->driver, sizeof(self->driver)));
	ASSERT_NE(0, self->driver[0]) TH_LOG("%s has no driver", bdf);

	vfio_buf_init(&stream);
	save(_metadata, dev, &stream);
	go(_metadata, dev, ST(STOP_COPY), &fd_save);
	ASSERT_LE(0, fd_save);
	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd_resume);
	ASSERT_LE(0, fd_resume);
	ret = vfio_mig_write(fd_resume, stream.data, stream.len, 0, NULL);
	ASSERT_EQ(0, ret) TH_LOG("resume write: %s", strerror(-ret));
	vfio_buf_free(&stream);
	go(_metadata, dev, ST(STOP), NULL);
	ASSERT_EQ(0, to_running(dev));
	go(_metadata, dev, live, &fd_live);
	ASSERT_LE(0, fd_live);

	/* the device must be closed, or the unbinding waits for it */
	vfio_dev_close(dev);
	snprintf(path, sizeof(path), "%s/devices/%s/driver/unbind", bus, bdf);
	ret = sysfs_write(path, bdf);
	ASSERT_EQ(0, ret) TH_LOG("unbinding %s from %s: %s", bdf,
				 self->driver, strerror(-ret));
	/*
	 * From here to the binding, no ASSERT: a failed one ends the test
	 * without its teardown (see die_with_parent()), which would leave
	 * the device without its driver for the tests after this one.
	 */
	EXPECT_EQ(0, driver_of(bus, bdf, now, sizeof(now)));
	EXPECT_STREQ("", now);
	TH_LOG("%s unbound from %s, with three data fds open", bdf,
	       self->driver);

	expect_ended_fd(_metadata, fd_save, false,
			"STOP_COPY fd ended by its arc, device unbound");
	expect_ended_fd(_metadata, fd_resume, true,
			"RESUMING fd ended by its arc, device unbound");
	expect_ended_fd(_metadata, fd_live, false,
			"save fd live at the close, device unbound");
	close(fd_save);
	close(fd_resume);
	close(fd_live);

	ret = driver_bind(bus, bdf, self->driver);
	ASSERT_EQ(0, ret) TH_LOG("binding %s to %s again: %s", bdf,
				 self->driver, strerror(-ret));
	ASSERT_EQ(0, vfio_dev_open(dev, bdf)) TH_LOG("reopen: %s", dev->err);
	expect_reopened(_metadata, dev, bdf, live);
	vfio_buf_init(&stream);
	save(_metadata, dev, &stream);
	vfio_buf_free(&stream);
}

/*
 * Resume @len bytes: the first PIECES_HEAD bytes in @chunk-byte write()s,
 * the rest in one, so that tiny pieces stay affordable on devices with
 * large state.
 */
#define PIECES_HEAD	(256 * 1024)

static void resume_pieces(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, const uint8_t *data,
			  size_t len, size_t chunk)
{
	size_t head = len < PIECES_HEAD ? len : PIECES_HEAD, done = 0;
	int fd, ret;

	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_write(fd, data, head, chunk, &done);
	if (!ret && head < len)
		ret = vfio_mig_write(fd, data + head, len - head, 0, &done);
	close(fd);
	ASSERT_EQ(0, ret) TH_LOG("write (%zu-byte pieces) failed: %s",
				 chunk, strerror(-ret));
	go(_metadata, dev, ST(STOP), NULL);
}

/* Offset of the first byte where @a and @b differ, or -1 if they do not. */
static long stream_diff(const struct vfio_buf *a, const struct vfio_buf *b)
{
	size_t i, n = a->len < b->len ? a->len : b->len;

	if (a->len == b->len && (!n || !memcmp(a->data, b->data, n)))
		return -1;
	for (i = 0; i < n; i++)
		if (a->data[i] != b->data[i])
			return i;
	return n;
}

/*
 * The kernel's mtty sample (samples/vfio-mdev/mtty.c), an mdev: the PCI
 * IDs of its emulated config space, and the 16550 scratch register of
 * its first port, which it keeps and saves (struct serial_port).
 */
#define MTTY_VENDOR		0x4348
#define MTTY_DEVICE		0x3253
#define MTTY_REG_SCR		7

/*
 * Devices whose state the suite knows how to change: a location of
 * @width bytes (4 or 1) that the device keeps and saves, and that nothing
 * else depends on.  Writing it is harmless on these devices; no other
 * device is written.
 */
static const struct state_knob {
	uint16_t vendor;
	uint16_t device;
	unsigned int region;
	uint64_t offset;
	unsigned int width;
	const char *what;
} state_knobs[] = {
	{ EDU_VENDOR, EDU_DEVICE, VFIO_PCI_BAR0_REGION_INDEX,
	  EDU_REG_LIVENESS, 4, "QEMU edu liveness register" },
	{ IVS_VENDOR, IVS_DEVICE, IVS_BAR_MEM, 0, 4,
	  "first word of QEMU ivshmem's shared memory" },
	{ MTTY_VENDOR, MTTY_DEVICE, VFIO_PCI_BAR0_REGION_INDEX, MTTY_REG_SCR,
	  1, "scratch register of mtty's first port" },
};

/* How long a device without a knob or plug-in runs to see if it moves. */
#define OTHER_STATE_RUN_MS	250

/* Move the RUNNING @dev by knob @k (or by plug-in @pd) to try number @i. */
static void change_state(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, const struct state_knob *k,
			 struct mig_pdev *pd, unsigned int i)
{
	static const uint32_t values[] = { 0x5a5a5a5a, 0xa5a5a5a5 };
	char why[MIG_WHY_LEN];
	int ret;

	if (k && k->width == 1) {
		uint8_t v = values[i];

		ret = vfio_dev_region_write(dev, k->region, k->offset, &v, 1);
		ASSERT_EQ(0, ret) TH_LOG("writing the %s: %s", k->what,
					 strerror(-ret));
	} else if (k) {
		ret = vfio_dev_write32(dev, k->region, k->offset, values[i]);
		ASSERT_EQ(0, ret) TH_LOG("writing the %s: %s", k->what,
					 strerror(-ret));
	} else if (pd->ops) {
		ret = pd->ops->put_state(pd, i + 1, why);
		ASSERT_EQ(0, ret) TH_LOG("%s plug-in, state %u: %s",
					 pd->ops->name, i + 1, why);
	} else {
		usleep(OTHER_STATE_RUN_MS * 1000);
	}
}

/*
 * Bring the device into a state that saves differently from @ref (a
 * stream saved from it as it is now) and save that state into @other.
 * The suite does not know devices in general: on one of state_knobs[] it
 * writes the knob; on any other device that a plug-in of the generic
 * suites takes (mig_plugin.h; today the igb VF), it has the plug-in put
 * its states 1 and 2; on the rest it lets the device run for a while, in
 * case its state moves by itself.  Returns NULL, or why no other state
 * was found.  The device is left in STOP.
 */
static const char *other_state(struct __test_metadata *_metadata,
			       struct vfio_dev *dev, const struct vfio_buf *ref,
			       struct vfio_buf *other)
{
	static char why[2 * MIG_WHY_LEN];
	char lend_why[MIG_WHY_LEN] = "";
	const struct state_knob *k = NULL;
	int lend = -ENODEV;
	struct mig_pdev pd = { 0 };
	struct vfio_pci_ids ids;
	unsigned int i, tries = 2;
	int ret;

	ret = vfio_dev_pci_ids(dev, &ids);
	ASSERT_EQ(0, ret) TH_LOG("PCI IDs: %s", strerror(-ret));
	for (i = 0; i < ARRAY_SIZE(state_knobs); i++)
		if (state_knobs[i].vendor == ids.vendor &&
		    state_knobs[i].device == ids.device)
			k = &state_knobs[i];
	/* no plug-in, or one that refuses the device: wait, as for any */
	if (!k)
		lend = mig_pdev_lend(&pd, dev, lend_why);
	if (!k && lend)
		tries = 1;

	/* two states: the device may hold one of them already */
	for (i = 0; i < tries; i++) {
		go(_metadata, dev, ST(RUNNING), NULL);
		change_state(_metadata, dev, k, &pd, i);
		vfio_buf_free(other);
		save(_metadata, dev, other);
		if (stream_diff(ref, other) >= 0) {
			mig_pdev_unlend(&pd);
			return NULL;
		}
	}
	vfio_buf_free(other);
	if (k)
		snprintf(why, sizeof(why),
			 "writing the %s did not change the saved state",
			 k->what);
	else if (pd.ops)
		snprintf(why, sizeof(why),
			 "the %s plug-in's states 1 and 2 did not change the saved state",
			 pd.ops->name);
	else
		snprintf(why, sizeof(why),
			 "%04x:%04x saved the same state after %d ms of RUNNING and the suite knows no way to change it%s%s%s",
			 ids.vendor, ids.device, OTHER_STATE_RUN_MS,
			 lend == -ENODEV ? "" : " (its plug-in refused it: ",
			 lend == -ENODEV ? "" : lend_why,
			 lend == -ENODEV ? "" : ")");
	mig_pdev_unlend(&pd);
	return why;
}

/*
 * Save the device and compare with @want: the device must hold the state
 * that @want was saved from.
 */
static void expect_saves(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, const struct vfio_buf *want,
			 const char *what, size_t chunk)
{
	struct vfio_buf again;
	char how[48];
	long at;

	if (chunk)
		snprintf(how, sizeof(how), "%zu-byte pieces", chunk);
	else
		snprintf(how, sizeof(how), "one write");
	vfio_buf_init(&again);
	save(_metadata, dev, &again);
	at = stream_diff(want, &again);
	vfio_buf_free(&again);
	ASSERT_EQ(-1, at)
		TH_LOG("resume in %s: %s: its stream differs at byte %ld",
		       how, what, at);
}

/*
 * A stream resumed in pieces of 1, 7 and PAGE_SIZE bytes, and in one
 * write (a variant each), gives the device back the state it was saved
 * from: the device then saves the same stream again.  That shows
 * something only if the device held another state before: a resume that
 * ignored what it was written would pass on a device that holds the
 * saved state already.  So each resume goes into a device that holds
 * another state (see other_state()), and the test checks that it saves
 * that other state before the resume and the resumed one after it.
 */
FIXTURE(resume_in_pieces) {
	struct mig_dev m;
};

FIXTURE_VARIANT(resume_in_pieces) {
	size_t chunk;		/* bytes per write(); 0: all in one */
	bool page;		/* instead, the page size */
};

FIXTURE_VARIANT_ADD(resume_in_pieces, bytes_1) {
	.chunk = 1,
};

FIXTURE_VARIANT_ADD(resume_in_pieces, bytes_7) {
	.chunk = 7,
};

FIXTURE_VARIANT_ADD(resume_in_pieces, page_size) {
	.page = true,
};

FIXTURE_VARIANT_ADD(resume_in_pieces, one_write) {
	.chunk = 0,
};

FIXTURE_SETUP(resume_in_pieces)
{
	mig_dev_open(_metadata, &self->m);
}

FIXTURE_TEARDOWN(resume_in_pieces)
{
	mig_dev_close(&self->m);
}

TEST_F_TIMEOUT(resume_in_pieces, resume, 300)
{
	size_t chunk = variant->page ? (size_t)sysconf(_SC_PAGESIZE) :
				       variant->chunk;
	struct vfio_dev *dev = &self->m.dev;
	struct vfio_buf ref, other;
	const char *why;

	vfio_buf_init(&ref);
	vfio_buf_init(&other);
	save(_metadata, dev, &ref);
	TH_LOG("reference stream: %zu bytes", ref.len);
	why = other_state(_metadata, dev, &ref, &other);
	if (why) {
		vfio_buf_free(&ref);
		SKIP(return, "no other state to resume over: %s", why);
	}
	TH_LOG("other state: %zu-byte stream, differs at byte %ld",
	       other.len, stream_diff(&ref, &other));

	expect_saves(_metadata, dev, &other,
		     "before the resume, the device does not hold the other state",
		     chunk);
	resume_pieces(_metadata, dev, ref.data, ref.len, chunk);
	expect_saves(_metadata, dev, &ref,
		     "the device does not hold the resumed state", chunk);
	go(_metadata, dev, ST(RUNNING), NULL);
	vfio_buf_free(&other);
	vfio_buf_free(&ref);
}

/*
 * Reopen after a complete migration, and migrate again.  Each round: the
 * state of device A (saved as @want) migrates into device B, which held
 * another state; A is given another state still; B's state migrates back
 * into A, which must then save exactly @want again (a round trip A -> B
 * -> A, compared on A's own streams, so that streams that name their
 * device cannot make a false failure).  Then both devices, in STOP, are
 * closed (device fd, and group and container or iommufd) and opened
 * again, without a VFIO_DEVICE_RESET: each must be in RUNNING, or still
 * in STOP, which vfio.h allows as well (expect_reopened()); either way it
 * is brought to RUNNING.  The close and the open may reset the device
 * (vfio-pci-core does for a device with a PCI reset method, qemu-vfio-pci
 * for its own), so nothing here relies on state kept across them: each
 * round gives A, then B, a state of its own, and the next round starts
 * from a state of A that differs from the last round's.  The first round
 * is the complete migration; the others run on fresh opens of devices
 * that migrated before.  Catches per-open state that a driver keeps from
 * one open to the next (a session, a flag that a migration is done, a
 * cached stream or its position): the migration after the reopen fails,
 * or moves the stale state instead.  Needs DEV2, a second device of the
 * kind of the first.
 */
#define REOPEN_ROUNDS	3

FIXTURE(pair) {
	struct mig_dev a;
	struct mig_dev b;
};

FIXTURE_SETUP(pair)
{
	struct vfio_pci_ids ia, ib;

	self->a.dev.device_fd = -1;
	self->b.dev.device_fd = -1;
	if (!mig_bdf2)
		SKIP(return, "no second device: pass a second PCI address or mdev (or set VFIO_SELFTESTS_BDF2)");
	mig_dev_open(_metadata, &self->a);
	mig_dev_open_bdf(_metadata, &self->b, mig_bdf2);
	ASSERT_NE(0, strcmp(self->a.dev.bdf, self->b.dev.bdf))
		TH_LOG("the second device is the first one");
	ASSERT_EQ(0, vfio_dev_pci_ids(&self->a.dev, &ia));
	ASSERT_EQ(0, vfio_dev_pci_ids(&self->b.dev, &ib));
	if (ia.vendor != ib.vendor || ia.device != ib.device)
		SKIP(return, "%s (%04x:%04x) is not of the kind of %s (%04x:%04x)",
		     self->b.dev.bdf, ib.vendor, ib.device, self->a.dev.bdf,
		     ia.vendor, ia.device);
}

FIXTURE_TEARDOWN(pair)
{
	mig_dev_close(&self->a);
	mig_dev_close(&self->b);
}

/* Resume @s into @to and run it. */
static void resume_run(struct __test_metadata *_metadata, struct vfio_dev *to,
		       const struct vfio_buf *s)
{
	resume(_metadata, to, s->data, s->len, 0);
	go(_metadata, to, ST(RUNNING), NULL);
}

TEST_F_TIMEOUT(pair, reopen_migrate_again, 600)
{
	struct vfio_dev *a = &self->a.dev, *b = &self->b.dev;
	struct vfio_buf want, prev, other, back;
	const char *why = NULL;
	unsigned int r;
	long at;

	vfio_buf_init(&want);
	vfio_buf_init(&prev);
	vfio_buf_init(&other);
	vfio_buf_init(&back);
	save(_metadata, a, &want);
	for (r = 0; r < REOPEN_ROUNDS && !why; r++) {
		/* A: a state other than the last round's */
		if (r) {
			vfio_buf_free(&prev);
			prev = want;
			vfio_buf_init(&want);
			why = other_state(_metadata, a, &prev, &want);
			if (why)
				break;
		}
		/* B: a state other than A's */
		why = other_state(_metadata, b, &want, &other);
		if (why)
			break;
		vfio_buf_free(&other);
		resume_run(_metadata, b, &want);
		TH_LOG("round %u: %zu bytes from %s into %s", r + 1, want.len,
		       a->bdf, b->bdf);

		/* A: another state again; then B's comes back into it */
		why = other_state(_metadata, a, &want, &other);
		if (why)
			break;
		vfio_buf_free(&other);
		save(_metadata, b, &back);
		resume_run(_metadata, a, &back);
		vfio_buf_free(&back);
		save(_metadata, a, &back);
		at = stream_diff(&want, &back);
		vfio_buf_free(&back);
		ASSERT_EQ(-1, at)
			TH_LOG("round %u (%s): after %s -> %s -> %s, %s does not hold the state it had: its stream differs at byte %ld",
			       r + 1, r ? "after a reopen" : "first open",
			       a->bdf, b->bdf, a->bdf, a->bdf, at);

		/*
		 * Close both devices, which a save left in STOP, and open
		 * them again: each must be in RUNNING, or in STOP if the
		 * driver keeps the state across close (expect_reopened()).
		 */
		vfio_dev_close(a);
		vfio_dev_close(b);
		ASSERT_EQ(0, vfio_dev_open(a, g_bdf)) TH_LOG("%s", a->err);
		ASSERT_EQ(0, vfio_dev_open(b, mig_bdf2)) TH_LOG("%s", b->err);
		expect_reopened(_metadata, a, g_bdf, ST(STOP));
		expect_reopened(_metadata, b, mig_bdf2, ST(STOP));
	}
	vfio_buf_free(&want);
	vfio_buf_free(&prev);
	vfio_buf_free(&other);
	if (why)
		SKIP(return, "round %u: no other state to migrate: %s", r + 1,
		     why);
}

int main(int argc, char **argv)
{
	/* shared by every test process: see lose_device() */
	g_lost = mmap(NULL, sizeof(*g_lost), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_lost == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_any);
}
