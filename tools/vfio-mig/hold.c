// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: hold and release.  A holder keeps devices open across
 * processes, because a device's state does not outlive its last open:
 * drivers reset a device when it is opened and closed (qemu-vfio-pci
 * does so for devices without a PCI reset method too).  It lends each
 * device, one client at a time, over a unix socket (the protocol is in
 * tools/lib/qvp/vfio_dev.h); when a client's connection ends, it brings
 * the device back to RUNNING, as a close would, but keeps it open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/iommufd.h>

#include "vfio-mig.h"

#ifndef VFIO_DMA_UNMAP_FLAG_ALL
#define VFIO_DMA_UNMAP_FLAG_ALL	(1 << 1)
#endif

#define HOLD_MAX_DEVS	16
#define HOLD_MAX_CONNS	64

struct held {
	struct mig_dev md;
	int conn;		/* index in conns[] of the client, or -1 */
};

struct conn {
	int fd;			/* -1: free slot */
	pid_t pid;
};

static struct held held[HOLD_MAX_DEVS];
static unsigned int nheld;
static struct conn conns[HOLD_MAX_CONNS];
static volatile sig_atomic_t stop_signal;

const char *holder_path(void)
{
	const char *p = opt.holder ? opt.holder : getenv(VFIO_HOLD_ENV);

	return p && *p ? p : VFIO_HOLD_DEFAULT;
}

/* The holder the device commands use, or NULL to open devices directly. */
const char *holder_for_devices(void)
{
	const char *p;

	if (opt.no_holder)
		return NULL;
	p = opt.holder ? opt.holder : getenv(VFIO_HOLD_ENV);
	return p && *p ? p : NULL;
}

/* Holder messages: stderr, with the time, unless --quiet. */
static void hlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void hlog(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	fprintf(stderr, "%s hold: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/*
 * What a close would do but the reset: no interrupt or DMA mapping of the
 * last client stays, and the migration state is RUNNING.  A device left
 * in ERROR or RESUMING has no arc to RUNNING that keeps its state: it is
 * reset (VFIO_DEVICE_RESET), as the uAPI requires for ERROR.
 */
static void hold_restore(struct held *h, pid_t pid)
{
	struct vfio_dev *vd = &h->md.vd;
	unsigned int idx[] = {
		VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX,
		VFIO_PCI_MSIX_IRQ_INDEX,
	};
	uint32_t st;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		vfio_dev_irq_disable(vd, idx[i]);
	if (vd->iommu_mode == VFIO_DEV_IOMMU_IOMMUFD) {
		struct iommu_ioas_unmap un = {
			.size = sizeof(un),
			.ioas_id = vd->ioas_id,
			.length = UINT64_MAX,
		};

		ioctl(vd->iommufd, IOMMU_IOAS_UNMAP, &un);
	} else if (!vd->noiommu) {
		struct vfio_iommu_type1_dma_unmap un = {
			.argsz = sizeof(un),
			.flags = VFIO_DMA_UNMAP_FLAG_ALL,
		};

		ioctl(vd->container_fd, VFIO_IOMMU_UNMAP_DMA, &un);
	}

	if (!(h->md.flags & VFIO_MIGRATION_STOP_COPY) ||
	    vfio_dev_mig_get_state(vd, &st) || st == VFIO_DEVICE_STATE_RUNNING)
		return;
	if (st != VFIO_DEVICE_STATE_ERROR && st != VFIO_DEVICE_STATE_RESUMING &&
	    !vfio_dev_mig_set_state(vd, VFIO_DEVICE_STATE_RUNNING, NULL)) {
		hlog("%s: client pid %d left it in %s; back to RUNNING",
		     vd->bdf, (int)pid, vfio_mig_state_name(st));
		return;
	}
	ret = vfio_dev_reset(vd);
	hlog("%s: client pid %d left it in %s; VFIO_DEVICE_RESET %s",
	     vd->bdf, (int)pid, vfio_mig_state_name(st),
	     ret ? strerror(-ret) : "done (its state is lost)");
}

static void conn_close(unsigned int c)
{
	unsigned int i;

	for (i = 0; i < nheld; i++) {
		if (held[i].conn != (int)c)
			continue;
		held[i].conn = -1;
		hold_restore(&held[i], conns[c].pid);
	}
	close(conns[c].fd);
	conns[c].fd = -1;
}

/* The client of connection @c has hung up (a lease it holds is over). */
static bool conn_gone(unsigned int c)
{
	struct pollfd p = { .fd = conns[c].fd, .events = POLLIN };
	char b;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR))
		return true;
	return recv(conns[c].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void reply(unsigned int c, struct vfio_hold_reply *rep, const int *fds,
		  unsigned int nfds)
{
	char cbuf[CMSG_SPACE(VFIO_HOLD_MAX_FDS * sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	rep->magic = VFIO_HOLD_MAGIC;
	rep->pid = getpid();
	rep->nfds = nfds;
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	if (sendmsg(conns[c].fd, &msg, MSG_NOSIGNAL) < 0)
		hlog("answering client pid %d failed: %s", (int)conns[c].pid,
		     strerror(errno));
}

static void held_list(char *buf, size_t len)
{
	size_t n = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < nheld && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? " " : "",
			      held[i].md.vd.bdf);
}

static void do_get(unsigned int c, const struct vfio_hold_req *req)
{
	struct vfio_hold_reply rep = { 0 };
	char bdf[32], list[160];
	struct held *h = NULL;
	struct vfio_dev *vd;
	int fds[2];
	unsigned int i;

	if (vfio_bdf_normalise(req->bdf, bdf, sizeof(bdf)))
		bdf[0] = '\0';
	for (i = 0; i < nheld; i++)
		if (!strcmp(held[i].md.vd.bdf, bdf))
			h = &held[i];
	if (!h) {
		held_list(list, sizeof(list));
		rep.status = -ENODEV;
		snprintf(rep.msg, sizeof(rep.msg),
			 "the holder at %s (pid %d) does not hold %.32s; it holds %s (start another holder for it, or open it without one: --no-holder)",
			 holder_path(), (int)getpid(), req->bdf, list);
		reply(c, &rep, NULL, 0);
		return;
	}
	if (h->conn >= 0 && h->conn != (int)c && conn_gone(h->conn))
		conn_close(h->conn);
	if (h->conn >= 0) {
		rep.status = -EBUSY;
		snprintf(rep.msg, sizeof(rep.msg),
			 "%s is busy: the holder at %s has lent it to pid %d, which still uses it; wait for it to finish",
			 bdf, holder_path(), (int)conns[h->conn].pid);
		reply(c, &rep, NULL, 0);
		return;
	}
	vd = &h->md.vd;
	h->conn = c;
	rep.iommu_mode = vd->iommu_mode;
	rep.group_id = vd->group_id;
	rep.noiommu = vd->noiommu;
	rep.ioas_id = vd->ioas_id;
	rep.devid = vd->devid;
	snprintf(rep.bdf, sizeof(rep.bdf), "%s", bdf);
	fds[0] = vd->device_fd;
	fds[1] = vd->iommu_mode == VFIO_DEV_IOMMU_IOMMUFD ? vd->iommufd :
							    vd->container_fd;
	vlog("lent %s to pid %d", bdf, (int)conns[c].pid);
	reply(c, &rep, fds, 2);
}

/* true: the holder is to exit */
static bool do_release(unsigned int c)
{
	struct vfio_hold_reply rep = { 0 };
	unsigned int i;

	for (i = 0; i < nheld; i++) {
		int l = held[i].conn;

		if (l < 0 || l == (int)c)
			continue;
		if (conn_gone(l)) {
			conn_close(l);
			continue;
		}
		rep.status = -EBUSY;
		snprintf(rep.msg, sizeof(rep.msg),
			 "the holder at %s has lent %s to pid %d, which still uses it; release it when that is done",
			 holder_path(), held[i].md.vd.bdf, (int)conns[l].pid);
		reply(c, &rep, NULL, 0);
		return false;
	}
	reply(c, &rep, NULL, 0);
	hlog("released by pid %d", (int)conns[c].pid);
	return true;
}

/* One request from connection @c; true: the holder is to exit. */
static bool serve(unsigned int c)
{
	struct vfio_hold_req req;
	struct vfio_hold_reply rep = { 0 };
	ssize_t n;

	n = recv(conns[c].fd, &req, sizeof(req), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		conn_close(c);
		return false;
	}
	if ((size_t)n != sizeof(req) || req.magic != VFIO_HOLD_MAGIC) {
		rep.status = -EPROTO;
		snprintf(rep.msg, sizeof(rep.msg),
			 "not a request of this version of vfio-mig");
		reply(c, &rep, NULL, 0);
		return false;
	}
	req.bdf[sizeof(req.bdf) - 1] = '\0';
	switch (req.op) {
	case VFIO_HOLD_GET:
		do_get(c, &req);
		return false;
	case VFIO_HOLD_RELEASE:
		return do_release(c);
	}
	rep.status = -EOPNOTSUPP;
	snprintf(rep.msg, sizeof(rep.msg), "unknown request %u", req.op);
	reply(c, &rep, NULL, 0);
	return false;
}

static void accept_conn(int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	unsigned int c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (c = 0; c < HOLD_MAX_CONNS && conns[c].fd >= 0; c++)
		;
	if (c == HOLD_MAX_CONNS) {
		hlog("%d clients at once: refusing one", HOLD_MAX_CONNS);
		close(fd);
		return;
	}
	conns[c].fd = fd;
	conns[c].pid = 0;
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		conns[c].pid = cred.pid;
}

static int serve_loop(int lfd)
{
	struct pollfd p[HOLD_MAX_CONNS + 1];
	unsigned int idx[HOLD_MAX_CONNS];
	sigset_t block, none;
	unsigned int c, n;
	bool quit = false;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigdelset(&none, SIGTERM);
	sigdelset(&none, SIGINT);
	sigdelset(&none, SIGHUP);

	while (!quit && !stop_signal) {
		n = 0;
		for (c = 0; c < HOLD_MAX_CONNS; c++) {
			if (conns[c].fd < 0)
				continue;
			p[n].fd = conns[c].fd;
			p[n].events = POLLIN;
			idx[n++] = c;
		}
		p[n].fd = lfd;
		p[n].events = POLLIN;
		if (ppoll(p, n + 1, NULL, &none) < 0) {
			if (errno == EINTR)
				continue;
			err_msg("hold: poll: %s", strerror(errno));
			return EXIT_FAIL;
		}
		/* Hang-ups first, so that a lease ends before the next GET. */
		for (c = 0; c < n; c++)
			if ((p[c].revents & (POLLHUP | POLLERR)) &&
			    conns[idx[c]].fd >= 0)
				conn_close(idx[c]);
		for (c = 0; c < n && !quit; c++)
			if ((p[c].revents & POLLIN) && conns[idx[c]].fd >= 0)
				quit = serve(idx[c]);
		if (!quit && (p[n].revents & POLLIN))
			accept_conn(lfd);
	}
	if (stop_signal)
		hlog("signal %d: closing the devices", (int)stop_signal);
	return EXIT_OK;
}

/* A socket at @path: -1 with a message if another holder listens there. */
static int make_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[VFIO_DEV_ERR_LEN];
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err_msg("hold: socket path %s is longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			err_msg("hold: %s exists and is not a socket; choose another path with --socket",
				path);
			return -1;
		}
		fd = vfio_hold_connect(path, why, sizeof(why));
		if (fd >= 0) {
			close(fd);
			err_msg("hold: a holder already listens at %s; use it (--holder %s), stop it (%s release --socket %s) or choose another path",
				path, path, prog, path);
			return -1;
		}
		unlink(path);	/* a stale socket of a holder that died */
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_msg("hold: socket: %s", strerror(errno));
		return -1;
	}
	/* The fds it hands out are the devices: for the owner only. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		umask(old);
		err_msg("hold: cannot create the socket %s: %s", path,
			strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (listen(fd, 16)) {
		err_msg("hold: listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static void close_all(void)
{
	unsigned int i;

	for (i = 0; i < nheld; i++)
		mig_dev_close(&held[i].md);
	nheld = 0;
}

static void print_ready(const char *path, pid_t pid)
{
	struct json j;
	unsigned int i;

	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "command", "hold");
		json_bool(&j, "ok", true);
		json_str(&j, "socket", path);
		json_i64(&j, "pid", pid);
		json_arr_open(&j, "devices");
		for (i = 0; i < nheld; i++)
			json_str(&j, NULL, held[i].md.vd.bdf);
		json_arr_close(&j);
		json_end(&j);
	} else if (!opt.quiet) {
		printf("holding");
		for (i = 0; i < nheld; i++)
			printf(" %s", held[i].md.vd.bdf);
		printf(" at %s (pid %d); use them with --holder %s or %s=%s, stop with '%s release --socket %s'\n",
		       path, (int)pid, path, VFIO_HOLD_ENV, path, prog, path);
	}
	fflush(stdout);
}

/* Detach: the parent reports and exits, the child holds. */
static int background(const char *path)
{
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err_msg("hold: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		print_ready(path, pid);
		_exit(EXIT_OK);
	}
	setsid();
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	return 0;
}

int cmd_hold(int argc, char **argv)
{
	const char *path = holder_path();
	struct sigaction sa = { .sa_handler = on_signal };
	char norm[32];
	unsigned int i, k;
	int lfd, ret;

	for (i = 0; i < (unsigned int)argc; i++) {
		ret = check_bdf_arg("hold", argv[i], norm, sizeof(norm));
		if (ret)
			return ret;
		for (k = 0; k < i; k++) {
			char other[32];

			vfio_bdf_normalise(argv[k], other, sizeof(other));
			if (!strcmp(other, norm))
				return usage_error("hold", "%s is given twice",
						   norm);
		}
	}
	for (i = 0; i < HOLD_MAX_CONNS; i++)
		conns[i].fd = -1;
	/* Opening them may fail: before the socket exists. */
	for (i = 0; i < (unsigned int)argc; i++) {
		vfio_bdf_normalise(argv[i], norm, sizeof(norm));
		if (mig_dev_open_direct(&held[i].md, norm, false)) {
			close_all();
			return EXIT_FAIL;
		}
		held[i].conn = -1;
		nheld++;
	}
	lfd = make_socket(path);
	if (lfd < 0) {
		close_all();
		return EXIT_FAIL;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (opt.background) {
		if (background(path)) {
			close(lfd);
			unlink(path);
			close_all();
			return EXIT_FAIL;
		}
	} else {
		print_ready(path, getpid());
	}
	/* The --json object is out: a failure below prints no other. */
	json_emitted = true;

	ret = serve_loop(lfd);
	/* Devices first: a client that connects now finds no holder. */
	close(lfd);
	unlink(path);
	for (i = 0; i < HOLD_MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conn_gone(i))
			conn_close(i);
	close_all();
	for (i = 0; i < HOLD_MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	return ret;
}

int cmd_release(int argc, char **argv)
{
	const char *path = holder_path();
	char why[VFIO_DEV_ERR_LEN];
	struct json j;
	int ret;

	(void)argc;
	(void)argv;
	ret = vfio_hold_release(path, why, sizeof(why));
	if (ret) {
		err_msg("release: %s", why);
		return EXIT_FAIL;
	}
	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "command", "release");
		json_bool(&j, "ok", true);
		json_str(&j, "socket", path);
		json_end(&j);
	} else {
		note("released the holder at %s: its devices are closed", path);
	}
	return EXIT_OK;
}
