// SPDX-License-Identifier: GPL-2.0
/*
 * qvp_bench - performance of qemu-vfio-pci migration (make bench).
 *
 *   qvp_bench ivshmem BDF JSON   save/resume throughput against a memcpy
 *                                from the mmapped BAR2 and against the
 *                                kernel's own user copies (read() and
 *                                write() of a memfd), session kernel
 *                                memory, PRE_COPY with a writer, the
 *                                cost of VFIO_MIG_GET_PRECOPY_INFO, arc
 *                                latencies
 *   qvp_bench edu BDF JSON       arc latencies, save cycle
 *   qvp_bench mtty UUID JSON     the same for an mdev of the kernel's mtty
 *                                sample (samples/vfio-mdev): the floor
 *                                that edu's figures are held to
 *
 * Prints a table on stdout and appends one JSON object per line to JSON.
 * Every figure is measured in this run; nothing is compared across runs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create() */
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "mig_common.h"

#define ST(x)		((uint32_t)VFIO_DEVICE_STATE_##x)
#define PAGE		4096UL
/*
 * Best of REPS runs for every throughput figure, the baselines as much as
 * save and resume: under TCG a stray time slice of the other vCPU (both
 * run on one host thread) lands in any of them.
 */
#define REPS		5

static FILE *g_json;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "qvp_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void set_state(struct vfio_dev *dev, uint32_t s, int *fd)
{
	int ret = vfio_dev_mig_set_state(dev, s, fd);

	if (ret) {
		fprintf(stderr, "-> %s: ", vfio_mig_state_name(s));
		die("set state", ret);
	}
}

/* Slab + VmallocUsed of /proc/meminfo, in KiB. */
static long kmem_kib(void)
{
	static const char *const fields[] = { "Slab", "VmallocUsed", NULL };

	return mig_meminfo_kib(fields);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double best(double *t, int n)
{
	qsort(t, n, sizeof(*t), cmp_double);
	return t[0];
}

/* Median and p99 of @n times in seconds (sorts @t), in microseconds. */
static void med_p99(double *t, int n, double *med, double *p99)
{
	qsort(t, n, sizeof(double), cmp_double);
	*med = t[n / 2] * 1e6;
	*p99 = t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] * 1e6;
}

/* Read a save fd to its end (or ENOMSG) into @buf; returns bytes. */
static size_t drain(int fd, uint8_t *buf, size_t cap, long *peak, long base)
{
	size_t len = 0;
	unsigned int n = 0;
	ssize_t r;
	long k;

	for (;;) {
		r = read(fd, buf + len, cap - len < (1 << 20) ? cap - len : (1 << 20));
		if (r > 0) {
			len += r;
			if (peak && !(n++ % 16)) {
				k = kmem_kib() - base;
				if (k > *peak)
					*peak = k;
			}
			continue;
		}
		if (r == 0 || errno == ENOMSG)
			return len;
		if (errno != EINTR)
			die("read", errno);
	}
}

struct arc {
	const char *name;
	uint32_t from, to;
	double *t;
	int n;
};

static void time_arc(struct vfio_dev *dev, struct arc *a, int *fd)
{
	double t0 = now();

	set_state(dev, a->to, fd);
	a->t[a->n++] = now() - t0;
}

static void report_arcs(const char *dev, struct arc *arcs, int narcs)
{
	int i;

	for (i = 0; i < narcs; i++) {
		struct arc *a = &arcs[i];
		double med, p99;

		if (!a->n)
			continue;
		med_p99(a->t, a->n, &med, &p99);
		printf("  %-8s %-28s n=%-4d median %9.1f us  p99 %9.1f us%s\n",
		       dev, a->name, a->n, med, p99,
		       strcmp(dev, "edu") ? "" : med < 100 ? "  [PASS <100us]" :
		       "  [FAIL <100us]");
		fprintf(g_json, "{\"kind\":\"arc\",\"device\":\"%s\",\"arc\":\"%s\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f}\n",
			dev, a->name, a->n, med, p99);
	}
}

/*
 * Every arc of the FSM, @iters times, each timed alone.  @stream (a saved
 * stream of this device) is written, untimed, before RESUMING -> STOP.
 */
static void bench_arcs(struct vfio_dev *dev, const char *name, int iters,
		       int resume_iters, const uint8_t *stream, size_t len)
{
	enum { R_P2P, P2P_STOP, STOP_P2P, P2P_R, STOP_SC, SC_STOP, STOP_RES,
	       RES_STOP, R_PC, PC_PCP2P, PCP2P_PC, PCP2P_SC, PC_R, NARCS };
	struct arc arcs[NARCS] = {
		[R_P2P] = { "RUNNING->RUNNING_P2P" },
		[P2P_STOP] = { "RUNNING_P2P->STOP" },
		[STOP_P2P] = { "STOP->RUNNING_P2P" },
		[P2P_R] = { "RUNNING_P2P->RUNNING" },
		[STOP_SC] = { "STOP->STOP_COPY" },
		[SC_STOP] = { "STOP_COPY->STOP" },
		[STOP_RES] = { "STOP->RESUMING" },
		[RES_STOP] = { "RESUMING->STOP" },
		[R_PC] = { "RUNNING->PRE_COPY" },
		[PC_PCP2P] = { "PRE_COPY->PRE_COPY_P2P" },
		[PCP2P_PC] = { "PRE_COPY_P2P->PRE_COPY" },
		[PCP2P_SC] = { "PRE_COPY_P2P->STOP_COPY" },
		[PC_R] = { "PRE_COPY->RUNNING" },
	};
	static const uint32_t to[NARCS] = {
		ST(RUNNING_P2P), ST(STOP), ST(RUNNING_P2P), ST(RUNNING),
		ST(STOP_COPY), ST(STOP), ST(RESUMING), ST(STOP), ST(PRE_COPY),
		ST(PRE_COPY_P2P), ST(PRE_COPY), ST(STOP_COPY), ST(RUNNING),
	};
	int i, k, fd, wfd;

	for (k = 0; k < NARCS; k++) {
		arcs[k].to = to[k];
		arcs[k].t = calloc(iters, sizeof(double));
	}
	vfio_dev_reset(dev);
	for (i = 0; i < iters; i++) {
		time_arc(dev, &arcs[R_P2P], NULL);
		time_arc(dev, &arcs[P2P_STOP], NULL);
		time_arc(dev, &arcs[STOP_SC], &fd);
		time_arc(dev, &arcs[SC_STOP], NULL);
		close(fd);
		if (i < resume_iters) {
			time_arc(dev, &arcs[STOP_RES], &wfd);
			if (vfio_mig_write(wfd, stream, len, 1 << 20, NULL))
				die("resume write", errno);
			time_arc(dev, &arcs[RES_STOP], NULL);
			close(wfd);
		}
		time_arc(dev, &arcs[STOP_P2P], NULL);
		time_arc(dev, &arcs[P2P_R], NULL);
		time_arc(dev, &arcs[R_PC], &fd);
		time_arc(dev, &arcs[PC_PCP2P], NULL);
		time_arc(dev, &arcs[PCP2P_PC], NULL);
		time_arc(dev, &arcs[PC_R], NULL);
		close(fd);
		set_state(dev, ST(PRE_COPY), &fd);
		set_state(dev, ST(PRE_COPY_P2P), NULL);
		time_arc(dev, &arcs[PCP2P_SC], NULL);
		close(fd);
		set_state(dev, ST(STOP), NULL);
		set_state(dev, ST(RUNNING_P2P), NULL);
		set_state(dev, ST(RUNNING), NULL);
	}
	report_arcs(name, arcs, NARCS);
	for (k = 0; k < NARCS; k++)
		free(arcs[k].t);
}

/*
 * A whole save as a migration does it, @iters times from RUNNING:
 * RUNNING -> STOP (also timed on its own, as the one arc that stops the
 * device), STOP -> STOP_COPY, read to the end of the stream, STOP_COPY
 * -> STOP, STOP -> RUNNING.  One "arc" line for RUNNING -> STOP and one
 * "cycle" line; the JSON kinds alike.
 */
static void bench_cycle(struct vfio_dev *dev, const char *name, int iters)
{
	double *stop = calloc(iters, sizeof(double));
	double *cycle = calloc(iters, sizeof(double));
	static uint8_t buf[1 << 16];
	double t0, t1, med, p99;
	size_t len = 0;
	int i, fd;

	if (!stop || !cycle)
		die("calloc", ENOMEM);
	for (i = 0; i < iters; i++) {
		t0 = now();
		set_state(dev, ST(STOP), NULL);
		t1 = now();
		set_state(dev, ST(STOP_COPY), &fd);
		len = drain(fd, buf, sizeof(buf), NULL, 0);
		set_state(dev, ST(STOP), NULL);
		set_state(dev, ST(RUNNING), NULL);
		cycle[i] = now() - t0;
		stop[i] = t1 - t0;
		close(fd);
	}
	med_p99(stop, iters, &med, &p99);
	printf("  %-8s %-28s n=%-4d median %9.1f us  p99 %9.1f us\n",
	       name, "RUNNING->STOP", iters, med, p99);
	fprintf(g_json, "{\"kind\":\"arc\",\"device\":\"%s\",\"arc\":\"RUNNING->STOP\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f}\n",
		name, iters, med, p99);
	med_p99(cycle, iters, &med, &p99);
	printf("  %-8s %-28s n=%-4d median %9.1f us  p99 %9.1f us  (%zu-byte stream)\n",
	       name, "save cycle", iters, med, p99, len);
	fprintf(g_json, "{\"kind\":\"cycle\",\"device\":\"%s\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f,\"stream_bytes\":%zu}\n",
		name, iters, med, p99, len);
	free(stop);
	free(cycle);
}

static void fill(uint8_t *mem, size_t size, uint64_t seed)
{
	uint64_t *p = (uint64_t *)mem, x = seed;
	size_t i;

	for (i = 0; i < size / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

/* Dirty @pct % of the 4 KiB pages: at random, or in 64 KiB-aligned runs. */
static size_t dirty_pages(uint8_t *mem, size_t size, double pct, bool runs,
			  uint32_t *seed)
{
	size_t pages = size / PAGE, want = pages * pct / 100, i, n = 0;

	if (runs) {
		for (i = 0; n < want && i < pages; i += 16 * (100 / pct))
			for (size_t j = 0; j < 16 && n < want; j++, n++)
				mem[(i + j) * PAGE] ^= 0x5a;
		return n;
	}
	for (n = 0; n < want; n++)
		mem[(mig_rand(seed) % pages) * PAGE + n % PAGE] ^= 0xa5;
	return n;
}

/* One pass of @size bytes between @buf and a memfd, 1 MiB a call; seconds. */
static double memfd_pass(int fd, uint8_t *buf, size_t size, bool write)
{
	double t0 = now();
	size_t off, n;
	ssize_t r;

	for (off = 0; off < size; off += n) {
		n = size - off < (1 << 20) ? size - off : 1 << 20;
		r = write ? pwrite(fd, buf + off, n, off) :
			    pread(fd, buf + off, n, off);
		if (r != (ssize_t)n)
			die(write ? "memfd write" : "memfd read", errno);
	}
	return now() - t0;
}

/*
 * The kernel's user copies at the data fds' pace: @size bytes written to
 * a memfd (copy_from_user into the page cache) and read back (copy_to_user)
 * in 1 MiB calls.  A save can be no faster than the read, a resume no
 * faster than the write (which also pays for shmem's page cache),
 * whatever the driver does: the figures say how much of the gap to the
 * memcpy is the kernel's copying and how much the driver's own work.
 */
static void kernel_copies(uint8_t *buf, size_t size, double *t_write,
			  double *t_read)
{
	int fd = memfd_create("qvp_bench", 0);

	if (fd < 0)
		die("memfd_create", errno);
	if (ftruncate(fd, size))
		die("ftruncate memfd", errno);
	memfd_pass(fd, buf, size, true);	/* allocates the page cache */
	*t_write = memfd_pass(fd, buf, size, true);
	*t_read = memfd_pass(fd, buf, size, false);
	close(fd);
}

/*
 * What one VFIO_MIG_GET_PRECOPY_INFO costs, in PRE_COPY with the first pass
 * read and nothing written since.  The driver scans BAR2 for changes in the
 * ioctl only when nothing is pending and precopy_scan_ms has passed since
 * its last scan; every other query answers from counts.  So: SCANS rounds
 * of a wait past the interval, one query (which scans, a read of all of
 * BAR2), then QUERIES / SCANS queries at once (which must not).  The
 * answers from counts are the cost that must not grow with BAR2.
 */
#define PI_SCANS	5
#define PI_QUERIES	500

static void bench_precopy_info(struct vfio_dev *dev, size_t size,
			       uint8_t *stream, size_t cap)
{
	double t_scan[PI_SCANS], t_q[PI_QUERIES], med, p99, smed, sp99;
	struct vfio_precopy_info info;
	int fd, i, j, n = 0, ret;

	vfio_dev_reset(dev);
	set_state(dev, ST(PRE_COPY), &fd);
	drain(fd, stream, cap, NULL, 0);
	for (i = 0; i < PI_SCANS; i++) {
		double t0;

		mig_precopy_scan_wait();
		t0 = now();
		ret = vfio_mig_precopy_info(fd, &info);
		t_scan[i] = now() - t0;
		if (ret)
			die("VFIO_MIG_GET_PRECOPY_INFO", ret);
		for (j = 0; j < PI_QUERIES / PI_SCANS; j++) {
			t0 = now();
			ret = vfio_mig_precopy_info(fd, &info);
			t_q[n++] = now() - t0;
			if (ret)
				die("VFIO_MIG_GET_PRECOPY_INFO", ret);
		}
	}
	close(fd);
	set_state(dev, ST(RUNNING), NULL);
	med_p99(t_q, n, &med, &p99);
	med_p99(t_scan, PI_SCANS, &smed, &sp99);
	printf("  VFIO_MIG_GET_PRECOPY_INFO: %.1f us median, %.1f us p99 answered from counts (%d queries); %.2f ms median when it scans BAR2 (once per precopy_scan_ms at most; %d queries)\n",
	       med, p99, n, smed / 1e3, PI_SCANS);
	fprintf(g_json, "{\"kind\":\"precopy_info\",\"size_mib\":%zu,\"query_median_us\":%.2f,\"query_p99_us\":%.2f,\"queries\":%d,\"scan_median_ms\":%.3f,\"scans\":%d}\n",
		size >> 20, med, p99, n, smed / 1e3, PI_SCANS);
}

static void bench_ivshmem(struct vfio_dev *dev, const char *bdf)
{
	double t_memcpy[REPS], t_save[REPS], t_res[REPS];
	double t_kwrite[REPS], t_kread[REPS];
	size_t size, cap, len = 0;
	long base, peak_save = 0, peak_res = 0, peak_pre = 0, k;
	uint8_t *mem, *user, *stream;
	static const double pcts[] = { 1, 5, 20 };
	uint32_t seed = 1;
	void *addr;
	int i, fd, ret;

	ret = vfio_dev_region_mmap(dev, IVS_BAR_MEM, &addr, &size);
	if (ret)
		die("mmap BAR2", ret);
	mem = addr;
	cap = size + size / 256 + (1 << 20);
	user = malloc(size);
	stream = malloc(cap);
	if (!user || !stream)
		die("malloc", ENOMEM);
	memset(user, 0, size);
	memset(stream, 0, cap);
	vfio_dev_reset(dev);
	fill(mem, size, 0x1234567);

	for (i = 0; i < REPS; i++) {
		double t0 = now();

		memcpy(user, mem, size);
		t_memcpy[i] = now() - t0;
	}
	for (i = 0; i < REPS; i++)
		kernel_copies(user, size, &t_kwrite[i], &t_kread[i]);
	for (i = 0; i < REPS; i++) {
		double t0;

		set_state(dev, ST(STOP), NULL);
		base = kmem_kib();
		t0 = now();
		set_state(dev, ST(STOP_COPY), &fd);
		len = drain(fd, stream, cap, &peak_save, base);
		t_save[i] = now() - t0;
		k = kmem_kib() - base;
		if (k > peak_save)
			peak_save = k;
		close(fd);
		set_state(dev, ST(STOP), NULL);

		base = kmem_kib();
		t0 = now();
		set_state(dev, ST(RESUMING), &fd);
		for (size_t off = 0; off < len; off += 1 << 20) {
			size_t n = len - off < (1 << 20) ? len - off : 1 << 20;

			if (write(fd, stream + off, n) != (ssize_t)n)
				die("resume write", errno);
			if (!((off >> 20) % 16)) {
				k = kmem_kib() - base;
				if (k > peak_res)
					peak_res = k;
			}
		}
		set_state(dev, ST(STOP), NULL);
		t_res[i] = now() - t0;
		close(fd);
		set_state(dev, ST(RUNNING_P2P), NULL);
		set_state(dev, ST(RUNNING), NULL);
	}

	/* PRE_COPY session memory (digests), full first pass */
	base = kmem_kib();
	set_state(dev, ST(PRE_COPY), &fd);
	drain(fd, stream, cap, &peak_pre, base);
	close(fd);
	set_state(dev, ST(RUNNING), NULL);

	{
		double mc = size / best(t_memcpy, REPS) / 1e6;
		double kr = size / best(t_kread, REPS) / 1e6;
		double kw = size / best(t_kwrite, REPS) / 1e6;
		double sv = size / best(t_save, REPS) / 1e6;
		double rs = size / best(t_res, REPS) / 1e6;

		printf("ivshmem %s, BAR2 %zu MiB, stream %zu bytes\n", bdf,
		       size >> 20, len);
		printf("  memcpy from BAR2 mmap   %8.1f MB/s\n", mc);
		printf("  read() of a memfd       %8.1f MB/s  (copy_to_user)\n", kr);
		printf("  write() to a memfd      %8.1f MB/s  (copy_from_user)\n", kw);
		printf("  save (STOP_COPY)        %8.1f MB/s  ratio %.2f  [%s >=0.8]  %.2f of read()\n",
		       sv, sv / mc, sv / mc >= 0.8 ? "PASS" : "FAIL", sv / kr);
		printf("  resume (RESUMING)       %8.1f MB/s  ratio %.2f  [%s >=0.8]  %.2f of write()\n",
		       rs, rs / mc, rs / mc >= 0.8 ? "PASS" : "FAIL", rs / kw);
		printf("  kernel memory delta: save %ld KiB, resume %ld KiB, PRE_COPY %ld KiB (Slab+VmallocUsed)\n",
		       peak_save, peak_res, peak_pre);
		fprintf(g_json, "{\"kind\":\"throughput\",\"size_mib\":%zu,\"memcpy_mbs\":%.1f,\"memfd_read_mbs\":%.1f,\"memfd_write_mbs\":%.1f,\"save_mbs\":%.1f,\"resume_mbs\":%.1f,\"save_ratio\":%.3f,\"resume_ratio\":%.3f,\"save_of_read\":%.3f,\"resume_of_write\":%.3f,\"save_pass\":%s,\"resume_pass\":%s}\n",
			size >> 20, mc, kr, kw, sv, rs, sv / mc, rs / mc,
			sv / kr, rs / kw,
			sv / mc >= 0.8 ? "true" : "false",
			rs / mc >= 0.8 ? "true" : "false");
		fprintf(g_json, "{\"kind\":\"session_memory\",\"size_mib\":%zu,\"save_kib\":%ld,\"resume_kib\":%ld,\"precopy_kib\":%ld}\n",
			size >> 20, peak_save, peak_res, peak_pre);
	}

	/* PRE_COPY with a writer */
	for (int runs = 0; runs < 2; runs++) {
		for (i = 0; i < 3; i++) {
			struct vfio_precopy_info info;
			size_t sc;
			double t0, t;

			vfio_dev_reset(dev);
			set_state(dev, ST(PRE_COPY), &fd);
			drain(fd, stream, cap, NULL, 0);
			mig_precopy_scan_wait();
			dirty_pages(mem, size, pcts[i], runs, &seed);
			vfio_mig_precopy_info(fd, &info);
			drain(fd, stream, cap, NULL, 0);
			dirty_pages(mem, size, pcts[i], runs, &seed);
			set_state(dev, ST(PRE_COPY_P2P), NULL);
			t0 = now();
			set_state(dev, ST(STOP_COPY), NULL);
			sc = drain(fd, stream, cap, NULL, 0);
			t = now() - t0;
			close(fd);
			set_state(dev, ST(STOP), NULL);
			printf("  PRE_COPY, %4.0f%% of pages dirtied per pass (%s): pass 2 %llu bytes, STOP_COPY %zu bytes = %5.1f%% of state in %.1f ms%s\n",
			       pcts[i], runs ? "64K runs" : "random 4K",
			       (unsigned long long)info.dirty_bytes, sc,
			       100.0 * sc / size, t * 1e3,
			       pcts[i] != 5 ? "" : 100.0 * sc / size <= 10 ?
			       "  [PASS <=10%]" : "  [FAIL <=10%]");
			fprintf(g_json, "{\"kind\":\"precopy\",\"size_mib\":%zu,\"dirty_pct\":%g,\"pattern\":\"%s\",\"pass2_dirty_bytes\":%llu,\"stop_copy_bytes\":%zu,\"stop_copy_pct\":%.2f,\"stop_copy_ms\":%.2f}\n",
				size >> 20, pcts[i], runs ? "runs64k" : "random4k",
				(unsigned long long)info.dirty_bytes, sc,
				100.0 * sc / size, t * 1e3);
			set_state(dev, ST(RUNNING_P2P), NULL);
			set_state(dev, ST(RUNNING), NULL);
		}
	}

	bench_precopy_info(dev, size, stream, cap);

	/* arcs; a fresh stream for RESUMING -> STOP */
	set_state(dev, ST(STOP), NULL);
	set_state(dev, ST(STOP_COPY), &fd);
	len = drain(fd, stream, cap, NULL, 0);
	close(fd);
	set_state(dev, ST(RUNNING), NULL);
	if (size <= (64UL << 20))
		bench_arcs(dev, "ivshmem", 50, 5, stream, len);

	munmap(mem, size);
	free(user);
	free(stream);
}

/*
 * One register read of edu's BAR0 through the device fd, @iters times:
 * the cost of one access to the emulated device (a trip through the
 * driver's trapped page and a VM exit to QEMU), the unit of edu's arcs,
 * which each read and write a handful of registers.
 */
static void bench_mmio(struct vfio_dev *dev, const char *name, int iters)
{
	double *t = calloc(iters, sizeof(double));
	double t0, med, p99;
	uint32_t v;
	int i, ret;

	if (!t)
		die("calloc", ENOMEM);
	for (i = 0; i < iters; i++) {
		t0 = now();
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_STATUS, &v);
		t[i] = now() - t0;
		if (ret)
			die("BAR0 read", ret);
	}
	med_p99(t, iters, &med, &p99);
	printf("  %-8s %-28s n=%-4d median %9.1f us  p99 %9.1f us\n",
	       name, "one BAR0 register read", iters, med, p99);
	fprintf(g_json, "{\"kind\":\"mmio\",\"device\":\"%s\",\"n\":%d,\"median_us\":%.1f,\"p99_us\":%.1f}\n",
		name, iters, med, p99);
	free(t);
}

/*
 * A device with a small state (edu, mtty): every arc, then the save
 * cycle.  vfio_dev_reset() fails harmlessly on a device without
 * VFIO_DEVICE_FLAGS_RESET (mtty), which starts in RUNNING anyway.
 */
static void bench_small(struct vfio_dev *dev, const char *name)
{
	uint8_t stream[1 << 16];
	size_t len;
	int fd;

	vfio_dev_reset(dev);
	set_state(dev, ST(STOP), NULL);
	set_state(dev, ST(STOP_COPY), &fd);
	len = drain(fd, stream, sizeof(stream), NULL, 0);
	close(fd);
	set_state(dev, ST(STOP), NULL);
	set_state(dev, ST(RUNNING), NULL);
	bench_arcs(dev, name, 500, 500, stream, len);
	bench_cycle(dev, name, 500);
	if (!strcmp(name, "edu"))
		bench_mmio(dev, name, 500);
}

int main(int argc, char **argv)
{
	struct vfio_dev dev;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s ivshmem|edu|mtty DEVICE JSON\n",
			argv[0]);
		return 2;
	}
	g_json = fopen(argv[3], "a");
	if (!g_json)
		die(argv[3], errno);
	ret = vfio_dev_open(&dev, argv[2]);
	if (ret) {
		fprintf(stderr, "qvp_bench: %s\n", dev.err);
		return 1;
	}
	if (!strcmp(argv[1], "ivshmem"))
		bench_ivshmem(&dev, dev.bdf);
	else
		bench_small(&dev, argv[1]);
	vfio_dev_reset(&dev);
	vfio_dev_close(&dev);
	fclose(g_json);
	return 0;
}
