// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: moving migration data: save (device -> file), load (file ->
 * device) and migrate (device -> device), with PRE_COPY rounds, progress
 * and timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vfio-mig.h"

#define XFER_CHUNK		(64 * 1024)
#define PROGRESS_MIN_BYTES	(1024 * 1024)
#define PRECOPY_POLL_MS		100

/* ------------------------------------------------------------------ */
/* Progress bar: stderr only, only on a terminal, only for > 1 MiB.    */

struct progress {
	const char *what;
	uint64_t total;		/* 0: unknown */
	uint64_t done;
	double start;
	double last;
	bool shown;
};

static void progress_init(struct progress *pg, const char *what,
			  uint64_t total)
{
	memset(pg, 0, sizeof(*pg));
	pg->what = what;
	pg->total = total;
	pg->start = now_ms();
}

static void progress_add(struct progress *pg, uint64_t n)
{
	char done[32], rate[32];
	double t = now_ms(), secs;
	int pct, bar, i;

	pg->done += n;
	if (!opt.progress)
		return;
	if (pg->done <= PROGRESS_MIN_BYTES && pg->total <= PROGRESS_MIN_BYTES)
		return;
	if (pg->shown && t - pg->last < 100)
		return;
	pg->last = t;
	pg->shown = true;
	secs = (t - pg->start) / 1000;
	fmt_size(done, sizeof(done), pg->done);
	fmt_size(rate, sizeof(rate),
		 secs > 0 ? (uint64_t)(pg->done / secs) : 0);
	if (pg->total) {
		pct = pg->done >= pg->total ? 99 : (int)(pg->done * 100 / pg->total);
		bar = pct * 30 / 100;
		fprintf(stderr, "\r%s [", pg->what);
		for (i = 0; i < 30; i++)
			fputc(i < bar ? '#' : ' ', stderr);
		fprintf(stderr, "] %3d%% %s %s/s\033[K", pct, done, rate);
	} else {
		fprintf(stderr, "\r%s %s %s/s\033[K", pg->what, done, rate);
	}
	fflush(stderr);
}

static void progress_end(struct progress *pg)
{
	if (pg->shown)
		fputs("\r\033[K", stderr);
	pg->shown = false;
}

/* ------------------------------------------------------------------ */
/* Moving bytes                                                        */

static int write_all(int fd, const void *data, size_t len, size_t *done)
{
	const uint8_t *p = data;
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (!w) {
			ret = -EIO;
			break;
		}
		off += w;
	}
	if (done)
		*done = off;
	return ret;
}

/* Where saved bytes go: a file or a RESUMING data fd. */
struct sink {
	int fd;
	const char *name;	/* for messages */
	struct mig_dev *dev;	/* the destination device, or NULL */
	uint64_t bytes;
	struct progress pg;
};

enum pump_result {
	PUMP_EOF,		/* read() returned 0 */
	PUMP_NODATA,		/* ENOMSG: nothing more for now (PRE_COPY) */
	PUMP_FAILED,		/* message printed */
};

static enum pump_result pump(int fd, const char *src, struct sink *s,
			     uint64_t *moved)
{
	static uint8_t buf[XFER_CHUNK];
	size_t done;
	ssize_t n;
	int ret;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOMSG)
				return PUMP_NODATA;
			progress_end(&s->pg);
			err_msg("reading migration data from %s failed after %llu bytes: %s (%s)",
				src, (unsigned long long)s->bytes,
				strerror(errno), errno_name(errno));
			return PUMP_FAILED;
		}
		if (!n)
			return PUMP_EOF;
		ret = write_all(s->fd, buf, n, &done);
		s->bytes += done;
		*moved += done;
		progress_add(&s->pg, done);
		if (ret) {
			progress_end(&s->pg);
			if (s->dev)
				err_msg("%s refused the migration data at byte %llu: %s (%s)",
					s->name, (unsigned long long)s->bytes,
					strerror(-ret), errno_name(ret));
			else
				err_msg("writing %s failed after %llu bytes: %s",
					s->name, (unsigned long long)s->bytes,
					strerror(-ret));
			return PUMP_FAILED;
		}
	}
}

/* ------------------------------------------------------------------ */
/* The save side, shared by save and migrate                           */

struct save_stats {
	bool precopy;
	unsigned int rounds;
	uint64_t precopy_bytes;
	uint64_t stop_copy_bytes;
	double t_stop;		/* when the source was asked to stop */
	double t_running;	/* when the source/destination ran again */
};

/* Replace *fd by a data fd that a transition returned, if any. */
static void take_fd(int *fd, int nfd)
{
	if (nfd < 0)
		return;
	if (*fd >= 0)
		close(*fd);
	*fd = nfd;
}

/*
 * Bring @md back to RUNNING after a failure, where the protocol allows:
 * ERROR needs a reset and RESUMING could only leave through the stream
 * check; both return to RUNNING when the device is closed.
 */
static void recover(struct mig_dev *md)
{
	uint32_t st;

	if (vfio_dev_mig_get_state(&md->vd, &st))
		return;
	if (st == VFIO_DEVICE_STATE_RUNNING)
		return;
	if ((st == VFIO_DEVICE_STATE_ERROR || st == VFIO_DEVICE_STATE_RESUMING) &&
	    md->vd.hold_fd >= 0) {
		/* A holder keeps it open: no close resets it for us. */
		if (!vfio_dev_reset(&md->vd))
			note("%s: was in %s, which only a reset leaves: reset it (VFIO_DEVICE_RESET); it is RUNNING with its power-on state",
			     md->vd.bdf, vfio_mig_state_name(st));
		else
			mig_report_state(md);
		return;
	}
	if (st == VFIO_DEVICE_STATE_ERROR || st == VFIO_DEVICE_STATE_RESUMING) {
		note("%s: leaving it in %s; closing the device returns qemu-vfio-pci devices to RUNNING, and resets them (other drivers may need VFIO_DEVICE_RESET)",
		     md->vd.bdf, vfio_mig_state_name(st));
		return;
	}
	if (!vfio_dev_mig_set_state(&md->vd, VFIO_DEVICE_STATE_RUNNING, NULL))
		note("%s: returned to RUNNING", md->vd.bdf);
	else
		mig_report_state(md);
}

/*
 * Stream the whole state of @src into @s: PRE_COPY rounds if possible,
 * then STOP_COPY to the end of the stream, leaving @src in STOP.
 * Returns 0, or -1 after printing why (the device is left as it is).
 */
static int save_stream(struct mig_dev *src, struct sink *s,
		       struct save_stats *st)
{
	bool p2p = src->flags & VFIO_MIGRATION_P2P;
	struct vfio_precopy_info info;
	enum pump_result r;
	uint64_t moved;
	int fd = -1, nfd = -1;

	st->precopy = !opt.no_precopy &&
		      (src->flags & VFIO_MIGRATION_PRE_COPY);
	if (st->precopy) {
		if (mig_go(src, VFIO_DEVICE_STATE_PRE_COPY, &fd))
			goto fail;
		if (fd < 0) {
			err_msg("%s: entering PRE_COPY returned no data fd", src->vd.bdf);
			goto fail;
		}
		for (;;) {
			moved = 0;
			r = pump(fd, src->vd.bdf, s, &moved);
			if (r == PUMP_FAILED)
				goto fail;
			st->rounds++;
			st->precopy_bytes += moved;
			if (vfio_mig_precopy_info(fd, &info)) {
				vlog("PRE_COPY round %u: %llu bytes (no precopy info)",
				     st->rounds, (unsigned long long)moved);
				break;
			}
			vlog("PRE_COPY round %u: %llu bytes; initial_bytes %llu dirty_bytes %llu",
			     st->rounds, (unsigned long long)moved,
			     (unsigned long long)info.initial_bytes,
			     (unsigned long long)info.dirty_bytes);
			if (r == PUMP_EOF)
				break;
			if (!info.initial_bytes &&
			    info.dirty_bytes <= opt.dirty_threshold)
				break;
			if (st->rounds >= opt.max_rounds)
				break;
			if (r == PUMP_NODATA) {
				struct pollfd pfd = { .fd = fd, .events = POLLIN };

				poll(&pfd, 1, PRECOPY_POLL_MS);
			}
		}
		if (p2p) {
			if (mig_go(src, VFIO_DEVICE_STATE_PRE_COPY_P2P, &nfd))
				goto fail;
			take_fd(&fd, nfd);
		}
		st->t_stop = now_ms();
		if (mig_go(src, VFIO_DEVICE_STATE_STOP_COPY, &nfd))
			goto fail;
		take_fd(&fd, nfd);
	} else {
		if (p2p && mig_go(src, VFIO_DEVICE_STATE_RUNNING_P2P, NULL))
			goto fail;
		st->t_stop = now_ms();
		if (mig_go(src, VFIO_DEVICE_STATE_STOP, NULL))
			goto fail;
		if (mig_go(src, VFIO_DEVICE_STATE_STOP_COPY, &fd))
			goto fail;
		if (fd < 0) {
			err_msg("%s: entering STOP_COPY returned no data fd", src->vd.bdf);
			goto fail;
		}
	}

	moved = 0;
	r = pump(fd, src->vd.bdf, s, &moved);
	st->stop_copy_bytes = moved;
	if (r == PUMP_NODATA) {
		err_msg("%s: the driver returned ENOMSG in STOP_COPY, which the VFIO uAPI does not allow",
			src->vd.bdf);
		goto fail;
	}
	if (r == PUMP_FAILED)
		goto fail;
	progress_end(&s->pg);
	vlog("STOP_COPY: %llu bytes, end of stream", (unsigned long long)moved);
	if (mig_go(src, VFIO_DEVICE_STATE_STOP, NULL))
		goto fail;
	close(fd);
	return 0;

fail:
	progress_end(&s->pg);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* STOP -> (RUNNING_P2P) -> RUNNING */
static int resume_running(struct mig_dev *md)
{
	if ((md->flags & VFIO_MIGRATION_P2P) &&
	    mig_go(md, VFIO_DEVICE_STATE_RUNNING_P2P, NULL))
		return -1;
	return mig_go(md, VFIO_DEVICE_STATE_RUNNING, NULL) ? -1 : 0;
}

/* RUNNING -> (RUNNING_P2P) -> STOP -> RESUMING; returns the data fd. */
static int enter_resuming(struct mig_dev *md)
{
	int fd = -1;

	if ((md->flags & VFIO_MIGRATION_P2P) &&
	    mig_go(md, VFIO_DEVICE_STATE_RUNNING_P2P, NULL))
		return -1;
	if (mig_go(md, VFIO_DEVICE_STATE_STOP, NULL))
		return -1;
	if (mig_go(md, VFIO_DEVICE_STATE_RESUMING, &fd))
		return -1;
	if (fd < 0)
		err_msg("%s: entering RESUMING returned no data fd", md->vd.bdf);
	return fd;
}

static void json_error(struct json *j, const char *what)
{
	json_bool(j, "ok", false);
	json_str(j, "error", what);
}

static void json_state(struct json *j, const char *key, struct mig_dev *md)
{
	uint32_t st;

	if (vfio_dev_mig_get_state(&md->vd, &st))
		json_null(j, key);
	else
		json_str(j, key, vfio_mig_state_name(st));
}

/* ------------------------------------------------------------------ */

int cmd_save(int argc, char **argv)
{
	const char *file = argv[1];
	bool to_stdout = !strcmp(file, "-");
	struct save_stats st = { 0 };
	struct sink s = { .fd = -1 };
	struct mig_dev md;
	uint64_t est = 0;
	char norm[32], sz[32];
	struct json j;
	int ret;

	(void)argc;
	ret = check_bdf_arg("save", argv[0], norm, sizeof(norm));
	if (ret)
		return ret;
	if (to_stdout && opt.json)
		return usage_error("save", "--json and FILE '-' both need stdout");
	if (to_stdout && isatty(STDOUT_FILENO))
		return usage_error("save", "refusing to write a binary stream to a terminal; redirect stdout or give a FILE");

	ret = mig_dev_open(&md, norm, true);
	if (ret)
		return ret;

	if (to_stdout) {
		s.fd = STDOUT_FILENO;
		s.name = "standard output";
	} else {
		s.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s.fd < 0) {
			err_msg("cannot create %s: %s", file, strerror(errno));
			mig_dev_close(&md);
			return EXIT_FAIL;
		}
		s.name = file;
	}
	vfio_dev_mig_data_size(&md.vd, &est);
	progress_init(&s.pg, "saving", est);

	ret = save_stream(&md, &s, &st);
	if (!ret)
		ret = resume_running(&md);
	if (!ret)
		st.t_running = now_ms();
	if (!to_stdout) {
		int fail = ret ? 0 : fsync(s.fd);

		if (close(s.fd) && !fail)
			fail = -1;
		s.fd = -1;
		if (!ret && fail) {
			err_msg("writing %s failed: %s", file, strerror(errno));
			ret = -1;
		}
	}

	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "command", "save");
		json_str(&j, "bdf", md.vd.bdf);
		json_str(&j, "file", file);
	}
	if (ret) {
		uint32_t after = mig_report_state(&md);

		if (opt.json) {
			json_error(&j, "save failed");
			json_str(&j, "state_after_failure", vfio_mig_state_name(after));
		}
		recover(&md);
		if (!to_stdout)
			unlink(file);
	} else if (opt.json) {
		json_bool(&j, "ok", true);
	}
	if (opt.json) {
		json_u64(&j, "bytes", s.bytes);
		json_bool(&j, "precopy", st.precopy);
		json_u64(&j, "precopy_rounds", st.rounds);
		json_u64(&j, "precopy_bytes", st.precopy_bytes);
		json_u64(&j, "stop_copy_bytes", st.stop_copy_bytes);
		if (!ret)
			json_double(&j, "stopped_ms", st.t_running - st.t_stop);
		json_state(&j, "state", &md);
		json_end(&j);
	} else if (!ret) {
		fmt_size(sz, sizeof(sz), s.bytes);
		note("saved %s to %s: %s (%llu bytes; PRE_COPY: %u round%s, %llu bytes; STOP_COPY: %llu bytes); device stopped for %.3f ms",
		     md.vd.bdf, s.name, sz, (unsigned long long)s.bytes,
		     st.rounds, st.rounds == 1 ? "" : "s",
		     (unsigned long long)st.precopy_bytes,
		     (unsigned long long)st.stop_copy_bytes,
		     st.t_running - st.t_stop);
	}
	mig_dev_close(&md);
	return ret ? EXIT_FAIL : EXIT_OK;
}

static int read_file(const char *file, struct vfio_buf *buf)
{
	int fd = STDIN_FILENO;
	ssize_t n;
	int ret;

	if (strcmp(file, "-")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			err_msg("cannot open %s: %s", file, strerror(errno));
			return ret;
		}
	}
	for (;;) {
		ret = vfio_buf_reserve(buf, XFER_CHUNK);
		if (ret) {
			err_msg("%s: out of memory", file);
			break;
		}
		n = read(fd, buf->data + buf->len, buf->cap - buf->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			err_msg("reading %s failed: %s", file, strerror(errno));
			break;
		}
		if (!n)
			break;
		buf->len += n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return ret;
}

int cmd_load(int argc, char **argv)
{
	const char *file = argv[1];
	struct vfio_buf data;
	struct progress pg;
	struct mig_dev md;
	size_t off = 0, done;
	char norm[32];
	struct json j;
	const char *why = NULL;
	uint32_t after = VFIO_DEVICE_STATE_RUNNING;
	double t0, t1 = 0;
	int fd = -1, ret;

	(void)argc;
	ret = check_bdf_arg("load", argv[0], norm, sizeof(norm));
	if (ret)
		return ret;
	vfio_buf_init(&data);
	if (read_file(file, &data)) {
		vfio_buf_free(&data);
		return EXIT_FAIL;
	}
	if (!data.len) {
		err_msg("%s is empty: nothing to load", file);
		vfio_buf_free(&data);
		return EXIT_FAIL;
	}

	ret = mig_dev_open(&md, norm, true);
	if (ret) {
		vfio_buf_free(&data);
		return ret;
	}

	t0 = now_ms();
	progress_init(&pg, "loading", data.len);
	fd = enter_resuming(&md);
	if (fd < 0) {
		why = "entering RESUMING failed";
		goto out;
	}
	while (off < data.len) {
		size_t n = data.len - off < XFER_CHUNK ? data.len - off : XFER_CHUNK;

		ret = write_all(fd, data.data + off, n, &done);
		off += done;
		progress_add(&pg, done);
		if (ret) {
			progress_end(&pg);
			err_msg("%s refused the stream from %s in a write of bytes %zu-%zu (of %zu): %s (%s)",
				md.vd.bdf, file, off, off + (n - done) - 1,
				data.len, strerror(-ret), errno_name(ret));
			why = "the device refused the stream";
			goto out;
		}
	}
	progress_end(&pg);
	vlog("wrote %zu bytes", off);
	if (mig_go(&md, VFIO_DEVICE_STATE_STOP, NULL)) {
		err_msg("%s did not accept the end of the stream (RESUMING -> STOP checks that the stream is complete and loads it)",
			md.vd.bdf);
		why = "RESUMING -> STOP failed";
		goto out;
	}
	close(fd);
	fd = -1;
	if (resume_running(&md)) {
		why = "returning to RUNNING failed";
		goto out;
	}
	t1 = now_ms();

out:
	if (fd >= 0)
		close(fd);
	if (why) {
		after = mig_report_state(&md);
		stream_diagnose(data.data, data.len, file);
	}
	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "command", "load");
		json_str(&j, "bdf", md.vd.bdf);
		json_str(&j, "file", file);
		if (why) {
			json_error(&j, why);
			json_str(&j, "state_after_failure", vfio_mig_state_name(after));
		} else {
			json_bool(&j, "ok", true);
		}
		json_u64(&j, "bytes", data.len);
		json_u64(&j, "bytes_accepted", off);
		if (!why)
			json_double(&j, "elapsed_ms", t1 - t0);
		json_end(&j);
	} else if (!why) {
		note("loaded %s into %s: %zu bytes in %.3f ms; device RUNNING",
		     file, md.vd.bdf, data.len, t1 - t0);
	}
	if (why)
		recover(&md);
	mig_dev_close(&md);
	vfio_buf_free(&data);
	return why ? EXIT_FAIL : EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	struct vfio_pci_ids sid, did;
	struct save_stats st = { 0 };
	struct mig_dev src, dst;
	struct sink s = { .fd = -1 };
	char sn[32], dn[32], sz[32];
	uint32_t sst = 0, dstate = 0;
	const char *why = NULL;
	uint64_t est = 0;
	struct json j;
	double t0;
	int ret, gs, gd;

	(void)argc;
	ret = check_bdf_arg("migrate", argv[0], sn, sizeof(sn));
	if (!ret)
		ret = check_bdf_arg("migrate", argv[1], dn, sizeof(dn));
	if (ret)
		return ret;
	if (!strcmp(sn, dn))
		return usage_error("migrate", "SRC and DST are the same device (%s)", sn);
	gs = sysfs_group(sn);
	gd = sysfs_group(dn);
	if (gs >= 0 && gs == gd) {
		err_msg("%s and %s are in the same IOMMU group %d; %s opens each device through its own group, so it cannot migrate between them (use save and load)",
			sn, dn, gs, prog);
		return EXIT_FAIL;
	}

	ret = mig_dev_open(&src, sn, true);
	if (ret)
		return ret;
	ret = mig_dev_open(&dst, dn, true);
	if (ret) {
		mig_dev_close(&src);
		return ret;
	}
	if (!vfio_dev_pci_ids(&src.vd, &sid) && !vfio_dev_pci_ids(&dst.vd, &did) &&
	    (sid.vendor != did.vendor || sid.device != did.device))
		note("warning: %s is %04x:%04x but %s is %04x:%04x; the destination driver will probably refuse the stream",
		     sn, sid.vendor, sid.device, dn, did.vendor, did.device);

	t0 = now_ms();
	s.fd = enter_resuming(&dst);
	if (s.fd < 0) {
		why = "the destination could not enter RESUMING";
		goto out;
	}
	s.name = dst.vd.bdf;
	s.dev = &dst;
	vfio_dev_mig_data_size(&src.vd, &est);
	progress_init(&s.pg, "migrating", est);

	if (save_stream(&src, &s, &st)) {
		why = "saving the source failed";
		goto out;
	}
	if (mig_go(&dst, VFIO_DEVICE_STATE_STOP, NULL)) {
		err_msg("%s did not accept the end of the stream from %s",
			dn, sn);
		why = "the destination refused the stream";
		goto out;
	}
	close(s.fd);
	s.fd = -1;
	if (resume_running(&dst)) {
		why = "the destination could not return to RUNNING";
		goto out;
	}
	st.t_running = now_ms();
	if (resume_running(&src))
		why = "the source could not return to RUNNING";

out:
	if (s.fd >= 0)
		close(s.fd);
	if (why) {
		err_msg("migration %s -> %s failed: %s", sn, dn, why);
		sst = mig_report_state(&src);
		dstate = mig_report_state(&dst);
	}
	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "command", "migrate");
		json_str(&j, "src", sn);
		json_str(&j, "dst", dn);
		if (why) {
			json_error(&j, why);
			json_str(&j, "src_state_after_failure", vfio_mig_state_name(sst));
			json_str(&j, "dst_state_after_failure", vfio_mig_state_name(dstate));
		} else {
			json_bool(&j, "ok", true);
		}
		json_u64(&j, "bytes", s.bytes);
		json_bool(&j, "precopy", st.precopy);
		json_u64(&j, "precopy_rounds", st.rounds);
		json_u64(&j, "precopy_bytes", st.precopy_bytes);
		json_u64(&j, "stop_copy_bytes", st.stop_copy_bytes);
		if (!why) {
			json_double(&j, "downtime_ms", st.t_running - st.t_stop);
			json_double(&j, "total_ms", st.t_running - t0);
		}
		json_end(&j);
	} else if (!why && !opt.quiet) {
		fmt_size(sz, sizeof(sz), s.bytes);
		printf("migrated %s -> %s: %s (%llu bytes)\n", sn, dn, sz,
		       (unsigned long long)s.bytes);
		printf("  PRE_COPY:   %s%u round%s, %llu bytes\n",
		       st.precopy ? "" : "not used, ", st.rounds,
		       st.rounds == 1 ? "" : "s",
		       (unsigned long long)st.precopy_bytes);
		printf("  STOP_COPY:  %llu bytes\n",
		       (unsigned long long)st.stop_copy_bytes);
		printf("  downtime:   %.3f ms (source stopped until destination RUNNING)\n",
		       st.t_running - st.t_stop);
		printf("  total:      %.3f ms\n", st.t_running - t0);
	}
	if (why) {
		recover(&src);
		recover(&dst);
	}
	mig_dev_close(&dst);
	mig_dev_close(&src);
	return why ? EXIT_FAIL : EXIT_OK;
}
