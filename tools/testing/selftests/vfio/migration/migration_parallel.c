// SPDX-License-Identifier: GPL-2.0
/*
 * Several devices migrate at once, each from a thread of its own, device
 * agnostic through the plug-ins (mig_plugin.h).  Every round, each thread
 * puts a known state into its device and reads it back; all threads then
 * save at the same moment (a barrier), STOP_COPY read to its end; each
 * device gets another state and a reset; all resume their own stream at
 * the same moment and must hold exactly the saved state again.  So the
 * driver's sessions, its state locks, the vfio core and the IOMMU work for
 * many devices, and several backends, at once, as when a VM with several
 * migratable devices moves.
 *
 * One TAP line per device, and one for the run.  The kernel log's scan by
 * the test bed catches WARNs, lockdep and KASAN reports.
 *
 * Usage: migration_parallel BDF BDF BDF BDF [BDF...]
 *        (at least MIN_DEVICES; or $VFIO_SELFTESTS_BDFS, separated by
 *        spaces).  $MIG_PARALLEL_ROUNDS: rounds (default 3).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"
#include "mig_common.h"
#include "mig_plugin.h"

#define MIN_DEVICES	4
#define MAX_DEVICES	16
#define MAX_STREAM	((size_t)256 << 20)
#define ROUNDS_DEFAULT	3
#define WATCHDOG_S	1200

struct worker {
	const char *bdf;
	struct mig_pdev d;
	bool open;
	unsigned int rounds;	/* completed */
	size_t bytes;		/* streamed in all rounds */
	char why[MIG_WHY_LEN + 128];
};

static pthread_barrier_t g_save, g_resume;
static unsigned int g_rounds, g_ndev;

/* Fail @w with a message; the thread stays in the barriers. */
#define FAIL(w, ...) snprintf((w)->why, sizeof((w)->why), __VA_ARGS__)

static int set_state(struct worker *w, uint32_t to, int *fd)
{
	int ret = vfio_dev_mig_set_state(&w->d.dev, to, fd);

	if (ret)
		FAIL(w, "-> %s: %s", vfio_mig_state_name(to), strerror(-ret));
	return ret;
}

/* Save the device's state: STOP, STOP_COPY read to its end, STOP. */
static int save(struct worker *w, struct vfio_buf *s)
{
	int fd = -1, ret;

	if (set_state(w, VFIO_DEVICE_STATE_STOP, NULL) ||
	    set_state(w, VFIO_DEVICE_STATE_STOP_COPY, &fd))
		return -1;
	ret = vfio_mig_read(fd, s, MAX_STREAM);
	close(fd);
	if (ret != VFIO_MIG_READ_EOF) {
		if (ret >= 0)
			ret = -ENOMSG;	/* STOP_COPY has no "for now" */
		FAIL(w, "read of the STOP_COPY stream: %s", strerror(-ret));
		return -1;
	}
	return set_state(w, VFIO_DEVICE_STATE_STOP, NULL);
}

/* Load @s: RESUMING, write it, STOP, RUNNING. */
static int resume(struct worker *w, const struct vfio_buf *s)
{
	int fd = -1, ret;

	if (set_state(w, VFIO_DEVICE_STATE_RESUMING, &fd))
		return -1;
	ret = vfio_mig_write(fd, s->data, s->len, (size_t)1 << 20, NULL);
	close(fd);
	if (ret) {
		FAIL(w, "write of the %zu-byte stream: %s", s->len,
		     strerror(-ret));
		return -1;
	}
	if (set_state(w, VFIO_DEVICE_STATE_STOP, NULL))
		return -1;
	return set_state(w, VFIO_DEVICE_STATE_RUNNING, NULL);
}

/* One round; -1 with w->why set on failure. */
static int round_trip(struct worker *w, unsigned int r)
{
	struct mig_state want, got;
	char why[MIG_WHY_LEN] = "";
	struct vfio_buf s;
	int ret = -1, n;

	vfio_buf_init(&s);
	if (*w->why)
		goto wait_save;
	if (w->d.ops->put_state(&w->d, 1 + r % 2, why) ||
	    w->d.ops->read_state(&w->d, &want, why)) {
		FAIL(w, "round %u: state %u: %s", r + 1, 1 + r % 2, why);
		goto wait_save;
	}
wait_save:
	pthread_barrier_wait(&g_save);
	if (*w->why || save(w, &s))
		goto wait_resume;
	if (w->d.ops->put_state(&w->d, 1 + (r + 1) % 2, why) ||
	    vfio_dev_reset(&w->d.dev)) {
		FAIL(w, "round %u: another state, then a reset: %s", r + 1,
		     *why ? why : "VFIO_DEVICE_RESET failed");
		goto wait_resume;
	}
wait_resume:
	pthread_barrier_wait(&g_resume);
	if (*w->why || resume(w, &s))
		goto out;
	if (w->d.ops->read_state(&w->d, &got, why)) {
		FAIL(w, "round %u: reading the resumed state: %s", r + 1, why);
		goto out;
	}
	n = w->d.ops->compare(&want, &got, why);
	if (n) {
		FAIL(w, "round %u: %d part(s) of the state differ after the resume: %s",
		     r + 1, n, why);
		goto out;
	}
	w->bytes += s.len;
	ret = 0;
out:
	vfio_buf_free(&s);
	return ret;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	unsigned int r;

	/* A failed device keeps meeting the barriers, doing nothing. */
	for (r = 0; r < g_rounds; r++)
		if (round_trip(w, r) == 0)
			w->rounds++;
	return NULL;
}

/* The devices: trailing arguments, else $VFIO_SELFTESTS_BDFS. */
static unsigned int take_bdfs(int argc, char **argv, const char **bdf)
{
	static char env[1024];
	unsigned int n = 0;
	char *tok, *save;
	int i;

	for (i = 1; i < argc && n < MAX_DEVICES; i++)
		bdf[n++] = argv[i];
	if (n || !getenv("VFIO_SELFTESTS_BDFS"))
		return n;
	snprintf(env, sizeof(env), "%s", getenv("VFIO_SELFTESTS_BDFS"));
	for (tok = strtok_r(env, " \t", &save); tok && n < MAX_DEVICES;
	     tok = strtok_r(NULL, " \t", &save))
		bdf[n++] = tok;
	return n;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_DEVICES];
	const char *bdf[MAX_DEVICES], *env;
	pthread_t t[MAX_DEVICES];
	unsigned int i, failed = 0;
	char why[MIG_WHY_LEN];
	size_t bytes = 0;

	ksft_print_header();
	g_ndev = take_bdfs(argc, argv, bdf);
	if (g_ndev < MIN_DEVICES)
		ksft_exit_skip("needs %d devices or more that a plug-in knows, got %u (arguments or $VFIO_SELFTESTS_BDFS)\n",
			       MIN_DEVICES, g_ndev);
	env = getenv("MIG_PARALLEL_ROUNDS");
	g_rounds = env && *env ? strtoul(env, NULL, 10) : ROUNDS_DEFAULT;
	if (g_rounds < 1 || g_rounds > 1000)
		ksft_exit_fail_msg("MIG_PARALLEL_ROUNDS=%s: want 1 to 1000\n",
				   env);
	for (i = 0; i < g_ndev; i++) {
		w[i].bdf = bdf[i];
		if (mig_pdev_open(&w[i].d, bdf[i], why))
			ksft_exit_fail_msg("%s: %s\n", bdf[i], why);
		w[i].open = true;
	}
	ksft_set_plan(g_ndev + 1);
	alarm(WATCHDOG_S);	/* a hang ends the program, which fails */
	if (pthread_barrier_init(&g_save, NULL, g_ndev) ||
	    pthread_barrier_init(&g_resume, NULL, g_ndev))
		ksft_exit_fail_msg("pthread_barrier_init\n");
	for (i = 0; i < g_ndev; i++)
		if (pthread_create(&t[i], NULL, worker, &w[i]))
			ksft_exit_fail_msg("pthread_create\n");
	for (i = 0; i < g_ndev; i++)
		pthread_join(t[i], NULL);

	for (i = 0; i < g_ndev; i++) {
		bytes += w[i].bytes;
		if (w[i].rounds == g_rounds) {
			ksft_test_result_pass("%s (%s): %u round trips at once with %u other devices, %zu bytes\n",
					      w[i].bdf, w[i].d.ops->name,
					      g_rounds, g_ndev - 1,
					      w[i].bytes);
		} else {
			failed++;
			ksft_test_result_fail("%s (%s): %u of %u round trips: %s\n",
					      w[i].bdf, w[i].d.ops->name,
					      w[i].rounds, g_rounds, w[i].why);
		}
		vfio_dev_reset(&w[i].d.dev);
		mig_pdev_close(&w[i].d);
	}
	ksft_test_result(!failed, "%u devices migrated at once, %u rounds, %zu bytes in all\n",
			 g_ndev, g_rounds, bytes);
	ksft_finished();
}
