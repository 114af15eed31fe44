// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_dev - userspace helpers for VFIO PCI devices and VFIO migration v2.
 * See vfio_dev.h for the conventions.
 */
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/iommufd.h>

#include "vfio_dev.h"

#define SYSFS_PCI_DEVICES	"/sys/bus/pci/devices"
#define SYSFS_MDEV_DEVICES	"/sys/bus/mdev/devices"

#ifndef __printf
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

static void __printf(2, 3) set_err(struct vfio_dev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof(dev->err), fmt, ap);
	va_end(ap);
}

int vfio_bdf_normalise(const char *bdf, char *out, size_t len)
{
	unsigned int dom = 0, bus, slot, fn;
	char extra;
	int n;

	if (!bdf)
		return -EINVAL;
	n = sscanf(bdf, "%x:%x:%x.%x%c", &dom, &bus, &slot, &fn, &extra);
	if (n != 4) {
		dom = 0;
		n = sscanf(bdf, "%x:%x.%x%c", &bus, &slot, &fn, &extra);
		if (n != 3)
			return -EINVAL;
	}
	if (dom > 0xffff || bus > 0xff || slot > 0x1f || fn > 7)
		return -EINVAL;
	n = snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return 0;
}

int vfio_mdev_uuid(const char *name, char *out, size_t len)
{
	static const char dir[] = SYSFS_MDEV_DEVICES "/";
	static const int group[] = { 8, 4, 4, 4, 12 };
	const char *p;
	size_t i, n;
	int g;

	if (!name)
		return -EINVAL;
	if (!strncmp(name, dir, sizeof(dir) - 1))
		name += sizeof(dir) - 1;
	n = strlen(name);
	if (n && name[n - 1] == '/')
		n--;
	if (n != 36 || len < 37)
		return -EINVAL;
	for (p = name, g = 0; g < 5; g++) {
		for (i = 0; i < (size_t)group[g]; i++, p++)
			if (!isxdigit((unsigned char)*p))
				return -EINVAL;
		if (g < 4 && *p++ != '-')
			return -EINVAL;
	}
	for (i = 0; i < 36; i++)
		out[i] = tolower((unsigned char)name[i]);
	out[36] = '\0';
	return 0;
}

/* The device's directory in sysfs. */
static void sysfs_dir(const struct vfio_dev *dev, char *path, size_t len)
{
	snprintf(path, len, "%s/%s",
		 dev->mdev ? SYSFS_MDEV_DEVICES : SYSFS_PCI_DEVICES, dev->bdf);
}

/* Basename of the target of a sysfs symlink, e.g. the driver's name. */
static int sysfs_link_name(const struct vfio_dev *dev, const char *link,
			   char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	sysfs_dir(dev, path, sizeof(path));
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s",
		 link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

bool vfio_dev_is_open(const struct vfio_dev *dev)
{
	return dev->device_fd >= 0;
}

void vfio_dev_init(struct vfio_dev *dev, enum vfio_dev_iommu_mode mode)
{
	memset(dev, 0, sizeof(*dev));
	dev->iommu_mode = mode;
	dev->container_fd = -1;
	dev->group_fd = -1;
	dev->iommufd = -1;
	dev->device_fd = -1;
	dev->group_id = -1;
	dev->hold_fd = -1;
}

void vfio_dev_close(struct vfio_dev *dev)
{
	/* the device first: closing it unbinds it from its group or iommufd */
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	if (dev->group_fd >= 0)
		close(dev->group_fd);
	if (dev->container_fd >= 0)
		close(dev->container_fd);
	if (dev->iommufd >= 0)
		close(dev->iommufd);
	dev->device_fd = -1;
	dev->group_fd = -1;
	dev->container_fd = -1;
	dev->iommufd = -1;
	dev->ioas_id = 0;
	dev->devid = 0;
	/* last: the holder takes the device back once our fds are gone */
	if (dev->hold_fd >= 0)
		close(dev->hold_fd);
	dev->hold_fd = -1;
}

int vfio_dev_iommu_mode_env(enum vfio_dev_iommu_mode *mode)
{
	const char *s = getenv(VFIO_DEV_IOMMU_MODE_ENV);

	if (!s || !*s || !strcmp(s, "legacy"))
		*mode = VFIO_DEV_IOMMU_LEGACY;
	else if (!strcmp(s, "iommufd"))
		*mode = VFIO_DEV_IOMMU_IOMMUFD;
	else
		return -EINVAL;
	return 0;
}

const char *vfio_dev_iommu_mode_name(enum vfio_dev_iommu_mode mode)
{
	switch (mode) {
	case VFIO_DEV_IOMMU_LEGACY:
		return "legacy";
	case VFIO_DEV_IOMMU_IOMMUFD:
		return "iommufd";
	}
	return "?";
}

static int open_group(struct vfio_dev *dev, const char *driver)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", dev->group_id);
	if (access(path, F_OK)) {
		snprintf(path, sizeof(path), "/dev/vfio/noiommu-%d",
			 dev->group_id);
		if (access(path, F_OK)) {
			set_err(dev,
				"%s is not bound to a vfio driver (driver: %s; no /dev/vfio/%d); bind it with vfio_bind.sh",
				dev->bdf, driver, dev->group_id);
			return -ENODEV;
		}
		dev->noiommu = true;
	}

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == EACCES || err == EPERM)
			set_err(dev, "no permission to open %s (run as root or grant access to the group)",
				path);
		else if (err == EBUSY)
			set_err(dev, "%s is busy: the IOMMU group is already open (QEMU or another test?)",
				path);
		else
			set_err(dev, "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	dev->group_fd = fd;
	return 0;
}

static int setup_container(struct vfio_dev *dev)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int iommu, err;

	if (ioctl(dev->group_fd, VFIO_GROUP_GET_STATUS, &status)) {
		err = errno;
		set_err(dev, "VFIO_GROUP_GET_STATUS on group %d: %s",
			dev->group_id, strerror(err));
		return -err;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		set_err(dev,
			"IOMMU group %d is not viable: bind every device in /sys/kernel/iommu_groups/%d/devices to a vfio driver or unbind it",
			dev->group_id, dev->group_id);
		return -EPERM;
	}

	dev->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (dev->container_fd < 0) {
		err = errno;
		set_err(dev, "cannot open /dev/vfio/vfio: %s", strerror(err));
		return -err;
	}
	if (ioctl(dev->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		set_err(dev, "unsupported VFIO API version");
		return -EINVAL;
	}

	/*
	 * An mdev's group is an emulated one: the type1 driver takes it as
	 * an "external" domain, without an IOMMU behind it, in either
	 * version.
	 */
	if (dev->noiommu)
		iommu = VFIO_NOIOMMU_IOMMU;
	else if (ioctl(dev->container_fd, VFIO_CHECK_EXTENSION,
		       VFIO_TYPE1v2_IOMMU) > 0)
		iommu = VFIO_TYPE1v2_IOMMU;
	else
		iommu = VFIO_TYPE1_IOMMU;

	if (ioctl(dev->group_fd, VFIO_GROUP_SET_CONTAINER,
		  &dev->container_fd)) {
		err = errno;
		set_err(dev, "VFIO_GROUP_SET_CONTAINER on group %d: %s",
			dev->group_id, strerror(err));
		return -err;
	}
	if (ioctl(dev->container_fd, VFIO_SET_IOMMU, iommu)) {
		err = errno;
		set_err(dev, "VFIO_SET_IOMMU(%d) on group %d: %s", iommu,
			dev->group_id, strerror(err));
		return -err;
	}
	return 0;
}

/* Legacy mode: the device fd from the group. */
static int get_group_device(struct vfio_dev *dev, const char *driver)
{
	int fd, err;

	fd = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, dev->bdf);
	if (fd < 0) {
		err = errno;
		if (err == EBUSY)
			set_err(dev, "%s is busy: already opened by another user",
				dev->bdf);
		else if (err == ENODEV || err == EINVAL)
			set_err(dev, "%s is not bound to a vfio driver (driver: %s)",
				dev->bdf, driver);
		else
			set_err(dev, "VFIO_GROUP_GET_DEVICE_FD(%s): %s",
				dev->bdf, strerror(err));
		return -err;
	}
	dev->device_fd = fd;
	return 0;
}

static int open_legacy(struct vfio_dev *dev, const char *driver)
{
	int ret;

	ret = open_group(dev, driver);
	if (!ret)
		ret = setup_container(dev);
	if (!ret)
		ret = get_group_device(dev, driver);
	return ret;
}

#define NO_IOMMUFD \
	"no iommufd: the kernel lacks CONFIG_IOMMUFD / CONFIG_VFIO_DEVICE_CDEV (Debian's kernels do)"

/*
 * iommufd mode: the path of the device's cdev, /dev/vfio/devices/vfioN,
 * with N from /sys/bus/pci/devices/BDF/vfio-dev/vfioN, or for an mdev
 * /sys/bus/mdev/devices/UUID/vfio-dev/vfioN.  The sysfs entry exists
 * whenever a vfio driver has the device, the /dev node only with
 * CONFIG_VFIO_DEVICE_CDEV.
 */
static int find_cdev(struct vfio_dev *dev, const char *driver, char *path,
		     size_t len)
{
	char dir[PATH_MAX];
	struct dirent *e;
	unsigned int n;
	int found = -1;
	char extra;
	DIR *d;

	sysfs_dir(dev, dir, sizeof(dir));
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/vfio-dev");
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)))
			if (sscanf(e->d_name, "vfio%u%c", &n, &extra) == 1 &&
			    n <= INT_MAX) {
				found = n;
				break;
			}
		closedir(d);
	}
	if (found < 0) {
		if (dev->mdev)
			set_err(dev, "mdev %s has no vfio device (driver: %s; nothing in %s): is its vendor driver a vfio driver?",
				dev->bdf, driver, dir);
		else
			set_err(dev,
				"%s is not bound to a vfio driver (driver: %s; nothing in %s); bind it with vfio_bind.sh",
				dev->bdf, driver, dir);
		return -ENODEV;
	}
	snprintf(path, len, "/dev/vfio/devices/vfio%d", found);
	if (access(path, F_OK)) {
		set_err(dev, NO_IOMMUFD);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * iommufd mode: open the device's cdev, bind it to a fresh fd of
 * /dev/iommu and attach it to an IOAS of its own, into which
 * vfio_dev_dma_map() maps.  An mdev binds and attaches the same way: the
 * vfio core gives a device with an emulated IOMMU an iommufd access to the
 * IOAS instead of a hardware page table.
 */
static int open_iommufd(struct vfio_dev *dev, const char *driver)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char path[64], noiommu[64];
	int ret, err;

	if (access("/dev/iommu", F_OK)) {
		set_err(dev, NO_IOMMUFD);
		return -EOPNOTSUPP;
	}
	snprintf(noiommu, sizeof(noiommu), "/dev/vfio/noiommu-%d",
		 dev->group_id);
	if (!access(noiommu, F_OK)) {
		dev->noiommu = true;
		set_err(dev, "%s is in a no-IOMMU group (%s): the iommufd mode needs an IOMMU",
			dev->bdf, noiommu);
		return -EOPNOTSUPP;
	}
	ret = find_cdev(dev, driver, path, sizeof(path));
	if (ret)
		return ret;

	dev->device_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->device_fd < 0) {
		err = errno;
		if (err == EACCES || err == EPERM)
			set_err(dev, "no permission to open %s (run as root or grant access to it)",
				path);
		else
			set_err(dev, "cannot open %s: %s", path, strerror(err));
		return -err;
	}
	dev->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (dev->iommufd < 0) {
		err = errno;
		set_err(dev, "cannot open /dev/iommu: %s", strerror(err));
		return -err;
	}

	bind.iommufd = dev->iommufd;
	if (ioctl(dev->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		err = errno;
		/*
		 * No flags and a valid iommufd: EINVAL is a device that
		 * another fd of its cdev holds; EBUSY one whose group is
		 * open through the legacy interface.
		 */
		if (err == EBUSY || err == EINVAL) {
			set_err(dev, "%s is busy: already opened by another user (%s: %s)",
				dev->bdf, "VFIO_DEVICE_BIND_IOMMUFD",
				strerror(err));
			return -EBUSY;
		}
		set_err(dev, "VFIO_DEVICE_BIND_IOMMUFD(%s): %s", path,
			strerror(err));
		return -err;
	}
	dev->devid = bind.out_devid;

	if (ioctl(dev->iommufd, IOMMU_IOAS_ALLOC, &alloc)) {
		err = errno;
		set_err(dev, "IOMMU_IOAS_ALLOC: %s", strerror(err));
		return -err;
	}
	dev->ioas_id = alloc.out_ioas_id;

	attach.pt_id = dev->ioas_id;
	if (ioctl(dev->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
		err = errno;
		set_err(dev, "VFIO_DEVICE_ATTACH_IOMMUFD_PT(%s, IOAS %u): %s",
			dev->bdf, dev->ioas_id, strerror(err));
		return -err;
	}
	return 0;
}

/* Both modes: the device's info and its regions. */
static int get_device_info(struct vfio_dev *dev)
{
	int fd = dev->device_fd;
	unsigned int i;
	int err;

	dev->info.argsz = sizeof(dev->info);
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &dev->info)) {
		err = errno;
		set_err(dev, "VFIO_DEVICE_GET_INFO: %s", strerror(err));
		return -err;
	}
	if (!(dev->info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		set_err(dev, "%s is not a vfio PCI device", dev->bdf);
		return -ENODEV;
	}

	dev->nr_regions = dev->info.num_regions;
	if (dev->nr_regions > VFIO_DEV_MAX_REGIONS)
		dev->nr_regions = VFIO_DEV_MAX_REGIONS;
	for (i = 0; i < dev->nr_regions; i++) {
		struct vfio_region_info ri = {
			.argsz = sizeof(ri),
			.index = i,
		};

		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
			err = errno;
			/* every vfio PCI device has a config region */
			if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
				set_err(dev, "VFIO_DEVICE_GET_REGION_INFO of the PCI config region: %s",
					strerror(err));
				return -err;
			}
			continue;	/* e.g. no VGA region: leave it empty */
		}
		dev->regions[i].offset = ri.offset;
		dev->regions[i].size = ri.size;
		dev->regions[i].flags = ri.flags;
	}
	return 0;
}

int vfio_dev_open(struct vfio_dev *dev, const char *bdf)
{
	enum vfio_dev_iommu_mode mode;

	if (vfio_dev_iommu_mode_env(&mode)) {
		vfio_dev_init(dev, VFIO_DEV_IOMMU_LEGACY);
		set_err(dev, "%s='%s' names no IOMMU mode: want legacy or iommufd",
			VFIO_DEV_IOMMU_MODE_ENV,
			getenv(VFIO_DEV_IOMMU_MODE_ENV));
		return -EINVAL;
	}
	return vfio_dev_open_mode(dev, bdf, mode);
}

int vfio_dev_open_mode(struct vfio_dev *dev, const char *bdf,
		       enum vfio_dev_iommu_mode mode)
{
	char path[PATH_MAX], driver[64], group[32];
	struct stat st;
	char *end;
	long id;
	int ret;

	vfio_dev_init(dev, mode);
	if (mode != VFIO_DEV_IOMMU_LEGACY && mode != VFIO_DEV_IOMMU_IOMMUFD) {
		set_err(dev, "unknown IOMMU mode %d", (int)mode);
		return -EINVAL;
	}
	if (!vfio_mdev_uuid(bdf, dev->bdf, sizeof(dev->bdf))) {
		dev->mdev = true;
	} else if (vfio_bdf_normalise(bdf, dev->bdf, sizeof(dev->bdf))) {
		set_err(dev, "'%s' is neither a PCI address (DDDD:BB:DD.F) nor an mdev (UUID or %s/UUID)",
			bdf ? bdf : "(null)", SYSFS_MDEV_DEVICES);
		return -EINVAL;
	}
	sysfs_dir(dev, path, sizeof(path));
	if (stat(path, &st)) {
		set_err(dev, "%s %s not found (no %s)",
			dev->mdev ? "mdev" : "device", dev->bdf, path);
		return -ENOENT;
	}
	if (sysfs_link_name(dev, "driver", driver, sizeof(driver)))
		snprintf(driver, sizeof(driver), "none");

	if (sysfs_link_name(dev, "iommu_group", group, sizeof(group))) {
		if (dev->mdev)
			set_err(dev, "mdev %s has no IOMMU group (driver: %s): is its vendor driver a vfio driver?",
				dev->bdf, driver);
		else
			set_err(dev,
				"%s has no IOMMU group (driver: %s); without an IOMMU it must be bound to vfio with enable_unsafe_noiommu_mode",
				dev->bdf, driver);
		return -ENODEV;
	}
	id = strtol(group, &end, 10);
	if (*end || id < 0 || id > INT_MAX) {
		set_err(dev, "%s: unexpected IOMMU group name '%s'", dev->bdf,
			group);
		return -EINVAL;
	}
	dev->group_id = id;

	if (mode == VFIO_DEV_IOMMU_IOMMUFD)
		ret = open_iommufd(dev, driver);
	else
		ret = open_legacy(dev, driver);
	if (!ret)
		ret = get_device_info(dev);
	if (ret)
		vfio_dev_close(dev);
	return ret;
}

int vfio_hold_connect(const char *socket_path, char *err, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (!socket_path || !*socket_path ||
	    strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, len, "'%s' cannot be a holder's socket: empty or longer than %zu bytes",
			 socket_path ? socket_path : "", sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, len, "socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = errno;
		close(fd);
		if (e == ENOENT)
			snprintf(err, len, "no holder: %s does not exist; start one with 'vfio-mig hold --socket %s BDF...', or open devices directly (no --holder, %s unset)",
				 socket_path, socket_path, VFIO_HOLD_ENV);
		else if (e == ECONNREFUSED)
			snprintf(err, len, "no holder listens at %s: the holder that made it is gone (its devices were closed, and so reset); start a new one with 'vfio-mig hold --socket %s BDF...'",
				 socket_path, socket_path);
		else
			snprintf(err, len, "cannot reach the holder at %s: %s",
				 socket_path, strerror(e));
		return -e;
	}
	return fd;
}

/* Send @req and receive the reply, with up to VFIO_HOLD_MAX_FDS fds. */
static int hold_call(int fd, const struct vfio_hold_req *req,
		     struct vfio_hold_reply *rep, int *fds, const char *where,
		     char *err, size_t len)
{
	char cbuf[CMSG_SPACE(VFIO_HOLD_MAX_FDS * sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	unsigned int n = 0, i;
	ssize_t r;
	int e;

	for (i = 0; i < VFIO_HOLD_MAX_FDS; i++)
		fds[i] = -1;
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != sizeof(*req)) {
		e = errno;
		snprintf(err, len, "the holder at %s hung up: %s", where,
			 strerror(e));
		return -ECONNRESET;
	}
	memset(rep, 0, sizeof(*rep));
	do {
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	for (c = r > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c;
	     c = CMSG_NXTHDR(&msg, c)) {
		unsigned int k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (n < VFIO_HOLD_MAX_FDS)
				fds[n++] = f;
			else
				close(f);
		}
	}
	if (r <= 0) {
		snprintf(err, len, "the holder at %s hung up without answering%s%s",
			 where, r ? ": " : "", r ? strerror(errno) : "");
		return -ECONNRESET;
	}
	if ((size_t)r != sizeof(*rep) || rep->magic != VFIO_HOLD_MAGIC ||
	    rep->nfds != n || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		snprintf(err, len, "%s does not answer as a vfio-mig holder of this version does",
			 where);
		for (i = 0; i < n; i++)
			close(fds[i]);
		return -EPROTO;
	}
	rep->msg[sizeof(rep->msg) - 1] = '\0';
	rep->bdf[sizeof(rep->bdf) - 1] = '\0';
	return 0;
}

int vfio_dev_open_held(struct vfio_dev *dev, const char *socket_path,
		       const char *bdf)
{
	struct vfio_hold_req req = {
		.magic = VFIO_HOLD_MAGIC,
		.op = VFIO_HOLD_GET,
	};
	struct vfio_hold_reply rep;
	int fds[VFIO_HOLD_MAX_FDS];
	int fd, ret;

	vfio_dev_init(dev, VFIO_DEV_IOMMU_LEGACY);
	if (vfio_bdf_normalise(bdf, dev->bdf, sizeof(dev->bdf))) {
		set_err(dev, "'%s' is not a PCI address (want DDDD:BB:DD.F)",
			bdf ? bdf : "(null)");
		return -EINVAL;
	}
	fd = vfio_hold_connect(socket_path, dev->err, sizeof(dev->err));
	if (fd < 0)
		return fd;
	memcpy(req.bdf, dev->bdf, sizeof(req.bdf));
	ret = hold_call(fd, &req, &rep, fds, socket_path, dev->err,
			sizeof(dev->err));
	if (!ret && rep.status) {
		set_err(dev, "%s", rep.msg);
		ret = rep.status < 0 ? rep.status : -EPROTO;
	}
	if (!ret && (rep.nfds != 2 || fds[0] < 0 || fds[1] < 0 ||
		     (rep.iommu_mode != VFIO_DEV_IOMMU_LEGACY &&
		      rep.iommu_mode != VFIO_DEV_IOMMU_IOMMUFD))) {
		set_err(dev, "the holder at %s lent %s without its fds",
			socket_path, dev->bdf);
		ret = -EPROTO;
	}
	if (ret) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		close(fd);
		return ret;
	}
	dev->iommu_mode = rep.iommu_mode;
	dev->group_id = rep.group_id;
	dev->noiommu = rep.noiommu;
	dev->device_fd = fds[0];
	if (dev->iommu_mode == VFIO_DEV_IOMMU_IOMMUFD) {
		dev->iommufd = fds[1];
		dev->ioas_id = rep.ioas_id;
		dev->devid = rep.devid;
	} else {
		dev->container_fd = fds[1];
	}
	dev->hold_fd = fd;
	ret = get_device_info(dev);
	if (ret)
		vfio_dev_close(dev);
	return ret;
}

int vfio_hold_release(const char *socket_path, char *err, size_t len)
{
	struct vfio_hold_req req = {
		.magic = VFIO_HOLD_MAGIC,
		.op = VFIO_HOLD_RELEASE,
	};
	struct vfio_hold_reply rep;
	int fds[VFIO_HOLD_MAX_FDS];
	char c;
	int fd, ret;

	fd = vfio_hold_connect(socket_path, err, len);
	if (fd < 0)
		return fd;
	ret = hold_call(fd, &req, &rep, fds, socket_path, err, len);
	if (!ret && rep.status) {
		snprintf(err, len, "%s", rep.msg);
		ret = rep.status < 0 ? rep.status : -EPROTO;
	}
	/* The holder hangs up once its devices are closed. */
	while (!ret && recv(fd, &c, 1, 0) > 0)
		;
	close(fd);
	return ret;
}

int vfio_dev_dma_map(struct vfio_dev *dev, uint64_t iova, void *vaddr,
		     size_t size)
{
	if (dev->iommu_mode == VFIO_DEV_IOMMU_IOMMUFD) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = dev->ioas_id,
			.user_va = (uintptr_t)vaddr,
			.length = size,
			.iova = iova,
		};

		if (ioctl(dev->iommufd, IOMMU_IOAS_MAP, &map))
			return -errno;
	} else {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ |
				 VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)vaddr,
			.iova = iova,
			.size = size,
		};

		if (ioctl(dev->container_fd, VFIO_IOMMU_MAP_DMA, &map))
			return -errno;
	}
	return 0;
}

int vfio_dev_dma_unmap(struct vfio_dev *dev, uint64_t iova, size_t size)
{
	uint64_t done;

	if (dev->iommu_mode == VFIO_DEV_IOMMU_IOMMUFD) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap),
			.ioas_id = dev->ioas_id,
			.iova = iova,
			.length = size,
		};

		if (ioctl(dev->iommufd, IOMMU_IOAS_UNMAP, &unmap))
			return -errno;
		done = unmap.length;
	} else {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.iova = iova,
			.size = size,
		};

		if (ioctl(dev->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
			return -errno;
		done = unmap.size;
	}
	return done == size ? 0 : -ENOENT;
}

int vfio_dev_reset(struct vfio_dev *dev)
{
	if (!(dev->info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	if (ioctl(dev->device_fd, VFIO_DEVICE_RESET))
		return -errno;
	return 0;
}

static int region_check(struct vfio_dev *dev, unsigned int index,
			uint64_t off, size_t len, uint32_t need)
{
	const struct vfio_dev_region *r;

	if (index >= dev->nr_regions)
		return -EINVAL;
	r = &dev->regions[index];
	if ((r->flags & need) != need)
		return -EINVAL;
	if (off > r->size || len > r->size - off)
		return -EINVAL;
	return 0;
}

int vfio_dev_region_read(struct vfio_dev *dev, unsigned int index,
			 uint64_t off, void *buf, size_t len)
{
	ssize_t n;
	int ret;

	ret = region_check(dev, index, off, len, VFIO_REGION_INFO_FLAG_READ);
	if (ret)
		return ret;
	n = pread(dev->device_fd, buf, len, dev->regions[index].offset + off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_dev_region_write(struct vfio_dev *dev, unsigned int index,
			  uint64_t off, const void *buf, size_t len)
{
	ssize_t n;
	int ret;

	ret = region_check(dev, index, off, len, VFIO_REGION_INFO_FLAG_WRITE);
	if (ret)
		return ret;
	n = pwrite(dev->device_fd, buf, len, dev->regions[index].offset + off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_dev_read32(struct vfio_dev *dev, unsigned int index, uint64_t off,
		    uint32_t *val)
{
	return vfio_dev_region_read(dev, index, off, val, sizeof(*val));
}

int vfio_dev_read64(struct vfio_dev *dev, unsigned int index, uint64_t off,
		    uint64_t *val)
{
	return vfio_dev_region_read(dev, index, off, val, sizeof(*val));
}

int vfio_dev_write32(struct vfio_dev *dev, unsigned int index, uint64_t off,
		     uint32_t val)
{
	return vfio_dev_region_write(dev, index, off, &val, sizeof(val));
}

int vfio_dev_write64(struct vfio_dev *dev, unsigned int index, uint64_t off,
		     uint64_t val)
{
	return vfio_dev_region_write(dev, index, off, &val, sizeof(val));
}

int vfio_dev_region_mmap(struct vfio_dev *dev, unsigned int index,
			 void **addr, size_t *len)
{
	const struct vfio_dev_region *r;
	int prot = 0;
	void *p;

	if (index >= dev->nr_regions)
		return -EINVAL;
	r = &dev->regions[index];
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP) || !r->size)
		return -EINVAL;
	if (r->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (r->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	p = mmap(NULL, r->size, prot, MAP_SHARED, dev->device_fd, r->offset);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	*len = r->size;
	return 0;
}

int vfio_dev_pci_ids(struct vfio_dev *dev, struct vfio_pci_ids *ids)
{
	uint8_t cfg[0x30];
	int ret;

	ret = vfio_dev_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
				   sizeof(cfg));
	if (ret)
		return ret;
	ids->vendor = cfg[0x00] | cfg[0x01] << 8;
	ids->device = cfg[0x02] | cfg[0x03] << 8;
	ids->revision = cfg[0x08];
	ids->subsystem_vendor = cfg[0x2c] | cfg[0x2d] << 8;
	ids->subsystem_device = cfg[0x2e] | cfg[0x2f] << 8;
	return 0;
}

int vfio_dev_set_bus_master(struct vfio_dev *dev, bool enable)
{
	uint16_t cmd;
	int ret;

	ret = vfio_dev_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0x04,
				   &cmd, sizeof(cmd));
	if (ret)
		return ret;
	cmd = le16toh(cmd);
	if (enable)
		cmd |= 0x04;	/* PCI_COMMAND_MASTER */
	else
		cmd &= ~0x04;
	cmd = htole16(cmd);
	return vfio_dev_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, 0x04,
				     &cmd, sizeof(cmd));
}

int vfio_dev_irq_set_eventfds(struct vfio_dev *dev, unsigned int index,
			      const int *fds, unsigned int count)
{
	struct vfio_irq_set *set;
	size_t sz = sizeof(*set) + count * sizeof(int32_t);
	int ret = 0;

	set = calloc(1, sz);
	if (!set)
		return -ENOMEM;
	set->argsz = sz;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = index;
	set->start = 0;
	set->count = count;
	memcpy(set->data, fds, count * sizeof(int32_t));
	if (ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, set))
		ret = -errno;
	free(set);
	return ret;
}

/* VFIO_DEVICE_SET_IRQS without data: @action on @count vectors. */
static int vfio_dev_irq_none(struct vfio_dev *dev, uint32_t action,
			     unsigned int index, unsigned int count)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | action,
		.index = index,
		.start = 0,
		.count = count,
	};

	if (ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set))
		return -errno;
	return 0;
}

int vfio_dev_irq_disable(struct vfio_dev *dev, unsigned int index)
{
	return vfio_dev_irq_none(dev, VFIO_IRQ_SET_ACTION_TRIGGER, index, 0);
}

int vfio_dev_irq_unmask(struct vfio_dev *dev, unsigned int index)
{
	return vfio_dev_irq_none(dev, VFIO_IRQ_SET_ACTION_UNMASK, index, 1);
}

int vfio_dev_feature(struct vfio_dev *dev, uint32_t flags, void *data,
		     size_t len)
{
	struct vfio_device_feature *f;
	size_t sz = sizeof(*f) + len;
	int ret = 0;

	f = calloc(1, sz);
	if (!f)
		return -ENOMEM;
	f->argsz = sz;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (ioctl(dev->device_fd, VFIO_DEVICE_FEATURE, f))
		ret = -errno;
	else if (len)
		memcpy(data, f->data, len);
	free(f);
	return ret;
}

int vfio_dev_mig_flags(struct vfio_dev *dev, uint64_t *flags)
{
	struct vfio_device_feature_migration mig = { 0 };
	int ret;

	ret = vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));
	if (!ret)
		*flags = mig.flags;
	return ret;
}

int vfio_dev_mig_get_state(struct vfio_dev *dev, uint32_t *state)
{
	struct vfio_device_feature_mig_state mig = { .data_fd = -1 };
	int ret;

	ret = vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			       &mig, sizeof(mig));
	if (!ret)
		*state = mig.device_state;
	return ret;
}

int vfio_dev_mig_set_state(struct vfio_dev *dev, uint32_t state,
			   int *data_fd)
{
	struct vfio_device_feature_mig_state mig = {
		.device_state = state,
		.data_fd = -1,
	};
	int ret;

	if (data_fd)
		*data_fd = -1;
	ret = vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			       &mig, sizeof(mig));
	if (ret)
		return ret;
	if (data_fd)
		*data_fd = mig.data_fd;
	else if (mig.data_fd >= 0)
		close(mig.data_fd);
	return 0;
}

int vfio_dev_mig_data_size(struct vfio_dev *dev, uint64_t *bytes)
{
	struct vfio_device_feature_mig_data_size ds = { 0 };
	int ret;

	ret = vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
			       &ds, sizeof(ds));
	if (!ret)
		*bytes = ds.stop_copy_length;
	return ret;
}

int vfio_mig_precopy_info(int data_fd, struct vfio_precopy_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	if (ioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, info))
		return -errno;
	return 0;
}

int vfio_dev_precopy_info_v2(struct vfio_dev *dev, bool probe)
{
	return vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_SET |
				(probe ? VFIO_DEVICE_FEATURE_PROBE : 0) |
				VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2, NULL, 0);
}

void vfio_buf_init(struct vfio_buf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void vfio_buf_free(struct vfio_buf *buf)
{
	free(buf->data);
	vfio_buf_init(buf);
}

int vfio_buf_reserve(struct vfio_buf *buf, size_t extra)
{
	size_t cap = buf->cap ? buf->cap : 4096;
	uint8_t *p;

	if (extra > SIZE_MAX - buf->len)
		return -ENOMEM;
	if (buf->len + extra <= buf->cap)
		return 0;
	while (cap < buf->len + extra) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(buf->data, cap);
	if (!p)
		return -ENOMEM;
	buf->data = p;
	buf->cap = cap;
	return 0;
}

int vfio_buf_append(struct vfio_buf *buf, const void *data, size_t len)
{
	int ret = vfio_buf_reserve(buf, len);

	if (ret)
		return ret;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	return 0;
}

int vfio_mig_read(int fd, struct vfio_buf *buf, size_t max)
{
	for (;;) {
		size_t room;
		ssize_t n;
		int ret;

		if (max && buf->len >= max)
			return -EFBIG;
		ret = vfio_buf_reserve(buf, 65536);
		if (ret)
			return ret;
		room = buf->cap - buf->len;
		if (max && room > max - buf->len)
			room = max - buf->len;
		n = read(fd, buf->data + buf->len, room);
		if (n > 0) {
			buf->len += n;
			continue;
		}
		if (n == 0)
			return VFIO_MIG_READ_EOF;
		if (errno == EINTR)
			continue;
		if (errno == ENOMSG)
			return VFIO_MIG_READ_NODATA;
		return -errno;
	}
}

int vfio_mig_write(int fd, const void *data, size_t len, size_t chunk,
		   size_t *done)
{
	const uint8_t *p = data;
	size_t off = 0;
	int ret = 0;

	if (!chunk)
		chunk = len;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(fd, p + off, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (w == 0) {
			ret = -EIO;
			break;
		}
		off += w;
	}
	if (done)
		*done = off;
	return ret;
}

static const char * const state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
};

#define NR_STATES ARRAY_SIZE(state_names)

const char *vfio_mig_state_name(uint32_t state)
{
	if (state >= NR_STATES || !state_names[state])
		return "?";
	return state_names[state];
}

int vfio_mig_state_parse(const char *name, uint32_t *state)
{
	static const char prefix[] = "VFIO_DEVICE_STATE_";
	uint32_t i;

	if (!strncasecmp(name, prefix, sizeof(prefix) - 1))
		name += sizeof(prefix) - 1;
	for (i = 0; i < NR_STATES; i++) {
		if (state_names[i] && !strcasecmp(name, state_names[i])) {
			*state = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool vfio_mig_state_supported(uint64_t flags, uint32_t state)
{
	if (!(flags & VFIO_MIGRATION_STOP_COPY))
		return false;

	switch (state) {
	case VFIO_DEVICE_STATE_STOP:
	case VFIO_DEVICE_STATE_RUNNING:
	case VFIO_DEVICE_STATE_STOP_COPY:
	case VFIO_DEVICE_STATE_RESUMING:
		return true;
	case VFIO_DEVICE_STATE_RUNNING_P2P:
		return flags & VFIO_MIGRATION_P2P;
	case VFIO_DEVICE_STATE_PRE_COPY:
		return flags & VFIO_MIGRATION_PRE_COPY;
	case VFIO_DEVICE_STATE_PRE_COPY_P2P:
		return (flags & VFIO_MIGRATION_PRE_COPY) &&
		       (flags & VFIO_MIGRATION_P2P);
	default:
		return false;
	}
}
