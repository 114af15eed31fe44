/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio_dev - a small userspace helper library for VFIO PCI devices and the
 * VFIO live migration protocol v2.
 *
 * Used by the qemu-vfio-pci selftests and by the vfio-mig tool.  Devices are
 * opened in one of two IOMMU modes (enum vfio_dev_iommu_mode): through the
 * legacy group/container interface (/dev/vfio/vfio and /dev/vfio/<group>),
 * which works on kernels without IOMMUFD, or through the device's cdev
 * bound to iommufd (/dev/vfio/devices/vfioN and /dev/iommu).  A device is
 * a PCI function, or a mediated device (mdev) whose vendor driver presents
 * a vfio PCI device, such as the kernel's mtty sample, in either mode.
 *
 * Conventions: every function that can fail returns 0 (or a documented
 * non-negative value) on success and a negative errno on failure.  Nothing
 * here prints or exits; vfio_dev_open() additionally leaves a human readable
 * explanation of a failure in dev->err.
 */
#ifndef QVP_VFIO_DEV_H
#define QVP_VFIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

#define VFIO_DEV_ERR_LEN	256
#define VFIO_DEV_MAX_REGIONS	VFIO_PCI_NUM_REGIONS

/*
 * How a device is opened and its DMA mapped, as upstream's libvfio runs
 * each test in several IOMMU modes:
 *	VFIO_DEV_IOMMU_LEGACY	/dev/vfio/<group> in a container of
 *				/dev/vfio/vfio (type1, or no-IOMMU);
 *				VFIO_IOMMU_MAP_DMA
 *	VFIO_DEV_IOMMU_IOMMUFD	/dev/vfio/devices/vfioN, bound to an fd of
 *				/dev/iommu (VFIO_DEVICE_BIND_IOMMUFD) and
 *				attached to an IOAS of its own
 *				(VFIO_DEVICE_ATTACH_IOMMUFD_PT);
 *				IOMMU_IOAS_MAP
 * vfio_dev_open() takes the mode from $VFIO_SELFTESTS_IOMMU_MODE: "legacy"
 * (also when unset or empty) or "iommufd".
 */
enum vfio_dev_iommu_mode {
	VFIO_DEV_IOMMU_LEGACY,
	VFIO_DEV_IOMMU_IOMMUFD,
};

#define VFIO_DEV_IOMMU_MODE_ENV	"VFIO_SELFTESTS_IOMMU_MODE"

struct vfio_dev_region {
	uint64_t offset;	/* of the region in the device fd */
	uint64_t size;
	uint32_t flags;		/* VFIO_REGION_INFO_FLAG_* */
};

struct vfio_dev {
	/*
	 * The device's name: a PCI address, normalised ("0000:00:03.0"),
	 * or an mdev's UUID, in lower case.
	 */
	char bdf[64];
	bool mdev;		/* a mediated device (/sys/bus/mdev/devices) */
	enum vfio_dev_iommu_mode iommu_mode;
	int group_id;
	bool noiommu;		/* opened through a /dev/vfio/noiommu-N group */
	int container_fd;	/* legacy mode, else -1 */
	int group_fd;		/* legacy mode, else -1 */
	int iommufd;		/* iommufd mode: the fd of /dev/iommu, else -1 */
	uint32_t ioas_id;	/* iommufd mode: the IOAS the device is in */
	uint32_t devid;		/* iommufd mode: the device's object ID */
	int device_fd;
	struct vfio_device_info info;
	unsigned int nr_regions;
	struct vfio_dev_region regions[VFIO_DEV_MAX_REGIONS];
	char err[VFIO_DEV_ERR_LEN];	/* why vfio_dev_open() failed */
	int hold_fd;		/* the connection to a holder, else -1 */
};

/* PCI identity, read from the device's config space. */
struct vfio_pci_ids {
	uint16_t vendor;
	uint16_t device;
	uint16_t subsystem_vendor;
	uint16_t subsystem_device;
	uint8_t revision;
};

/* A growable byte buffer for migration streams. */
struct vfio_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/*
 * Open the device @bdf: a PCI address ("0000:00:03.0" or "00:03.0"), or a
 * mediated device, by its UUID or its sysfs path /sys/bus/mdev/devices/UUID,
 * in the IOMMU mode that $VFIO_SELFTESTS_IOMMU_MODE asks for
 * (vfio_dev_iommu_mode_env()).  An mdev's group is
 * /sys/bus/mdev/devices/UUID/iommu_group, an emulated IOMMU group that the
 * type1 IOMMU driver of the container serves (legacy mode); its cdev is
 * /sys/bus/mdev/devices/UUID/vfio-dev/vfioN (iommufd mode).  The device
 * must be a vfio PCI device (VFIO_DEVICE_FLAGS_PCI) whose config region
 * VFIO_DEVICE_GET_REGION_INFO describes.  On failure returns a negative
 * errno and explains it in dev->err:
 *	-EINVAL	@bdf names no PCI address and no mdev; or the device's
 *		config region is not described; or
 *		$VFIO_SELFTESTS_IOMMU_MODE names no mode
 *	-ENOENT	no such PCI device or mdev
 *	-ENODEV	not bound to a vfio driver (or no IOMMU group)
 *	-EACCES	no permission to open the group or the device's cdev (or
 *		-EPERM from the kernel)
 *	-EPERM	the IOMMU group is not viable (other devices bound to
 *		non-vfio drivers); dev->err says which case it is
 *	-EBUSY	group or device already opened by someone else
 *	-EOPNOTSUPP  iommufd mode, and the kernel has no /dev/iommu or no
 *		cdev for the device (CONFIG_IOMMUFD, CONFIG_VFIO_DEVICE_CDEV),
 *		or the device has no IOMMU (no-IOMMU mode)
 * dev is left closed (all fds -1) on failure.
 */
int vfio_dev_open(struct vfio_dev *dev, const char *bdf);
/* The same in the IOMMU mode @mode, whatever the environment says. */
int vfio_dev_open_mode(struct vfio_dev *dev, const char *bdf,
		       enum vfio_dev_iommu_mode mode);
void vfio_dev_close(struct vfio_dev *dev);
bool vfio_dev_is_open(const struct vfio_dev *dev);
/*
 * A closed handle in IOMMU mode @mode: every fd -1, as vfio_dev_open()
 * leaves @dev on failure; vfio_dev_is_open() is false on it and
 * vfio_dev_close() does nothing.
 */
void vfio_dev_init(struct vfio_dev *dev, enum vfio_dev_iommu_mode mode);

/*
 * A holder ("vfio-mig hold", tools/vfio-mig/hold.c) keeps devices open
 * across processes and lends them, one client at a time, over a unix
 * socket: the device fd and the container fd (legacy) or iommufd, passed
 * with SCM_RIGHTS.  The lease lasts as long as the client's connection,
 * which the vfio_dev keeps in hold_fd and vfio_dev_close() closes; the
 * holder then brings the device back to RUNNING, with no interrupts or
 * DMA mappings of the client left, and keeps it open (its registers
 * with it).  Every request and reply is one SOCK_SEQPACKET message.
 */
#define VFIO_HOLD_ENV		"VFIO_MIG_HOLDER"	/* the socket's path */
#define VFIO_HOLD_DEFAULT	"/run/vfio-mig.sock"
#define VFIO_HOLD_MAGIC		0x444c4856U		/* "VHLD" */
#define VFIO_HOLD_MAX_FDS	2

enum vfio_hold_op {
	VFIO_HOLD_GET = 1,	/* lend @bdf to this connection */
	VFIO_HOLD_RELEASE,	/* close every device and exit */
};

struct vfio_hold_req {
	uint32_t magic;
	uint32_t op;		/* enum vfio_hold_op */
	char bdf[32];		/* VFIO_HOLD_GET: normalised */
};

struct vfio_hold_reply {
	uint32_t magic;
	int32_t status;		/* 0 or -errno; @msg says why */
	int32_t pid;		/* the holder's */
	uint32_t iommu_mode;	/* enum vfio_dev_iommu_mode */
	int32_t group_id;
	uint32_t noiommu;
	uint32_t ioas_id;
	uint32_t devid;
	uint32_t nfds;		/* the device fd, then container or iommufd */
	char bdf[32];
	char msg[VFIO_DEV_ERR_LEN];
};

/*
 * Open @bdf through the holder listening at @socket: on success @dev is
 * like one vfio_dev_open() opened (its fds are the holder's, duplicated)
 * and holds the lease until vfio_dev_close().  On failure a negative
 * errno, explained in dev->err:
 *	-ENOENT, -ECONNREFUSED	no holder listens at @socket
 *	-ENODEV	the holder does not hold @bdf (dev->err lists what it holds)
 *	-EBUSY	the holder has lent @bdf to another client (its pid)
 *	-EPROTO, -ECONNRESET	the holder answered nonsense, or hung up
 */
int vfio_dev_open_held(struct vfio_dev *dev, const char *socket,
		       const char *bdf);
/* Ask the holder at @socket to exit; waits until it has closed its devices. */
int vfio_hold_release(const char *socket, char *err, size_t len);
/* Connect to the holder at @socket; -errno, explained in @err. */
int vfio_hold_connect(const char *socket, char *err, size_t len);

/*
 * The mode $VFIO_SELFTESTS_IOMMU_MODE asks for, legacy when it is unset or
 * empty; -EINVAL if it names no mode.
 */
int vfio_dev_iommu_mode_env(enum vfio_dev_iommu_mode *mode);
/* "legacy", "iommufd"; "?" if unknown. */
const char *vfio_dev_iommu_mode_name(enum vfio_dev_iommu_mode mode);

/*
 * Map @size bytes at @vaddr for the device's DMA, readable and writable,
 * at the I/O virtual address @iova exactly (VFIO_IOMMU_MAP_DMA in the
 * legacy mode, IOMMU_IOAS_MAP with IOMMU_IOAS_MAP_FIXED_IOVA in the
 * iommufd mode); @iova, @vaddr and @size page aligned.  Returns 0 or the
 * kernel's -errno.
 */
int vfio_dev_dma_map(struct vfio_dev *dev, uint64_t iova, void *vaddr,
		     size_t size);
/*
 * Unmap what vfio_dev_dma_map() mapped at @iova, @size bytes; -ENOENT if
 * that is not exactly what is mapped there.
 */
int vfio_dev_dma_unmap(struct vfio_dev *dev, uint64_t iova, size_t size);

/* Normalise a BDF into "DDDD:BB:DD.F"; -EINVAL if it does not parse. */
int vfio_bdf_normalise(const char *bdf, char *out, size_t len);
/*
 * The UUID of the mdev that @name names, a UUID or the path
 * /sys/bus/mdev/devices/UUID, in lower case; -EINVAL if it names none.
 */
int vfio_mdev_uuid(const char *name, char *out, size_t len);

/* VFIO_DEVICE_RESET; -ENOTTY if the device does not advertise reset. */
int vfio_dev_reset(struct vfio_dev *dev);

int vfio_dev_pci_ids(struct vfio_dev *dev, struct vfio_pci_ids *ids);

/* Region access at @off inside region @index (e.g. VFIO_PCI_BAR0_REGION_INDEX). */
int vfio_dev_region_read(struct vfio_dev *dev, unsigned int index,
			 uint64_t off, void *buf, size_t len);
int vfio_dev_region_write(struct vfio_dev *dev, unsigned int index,
			  uint64_t off, const void *buf, size_t len);
int vfio_dev_read32(struct vfio_dev *dev, unsigned int index, uint64_t off,
		    uint32_t *val);
int vfio_dev_read64(struct vfio_dev *dev, unsigned int index, uint64_t off,
		    uint64_t *val);
int vfio_dev_write32(struct vfio_dev *dev, unsigned int index, uint64_t off,
		     uint32_t val);
int vfio_dev_write64(struct vfio_dev *dev, unsigned int index, uint64_t off,
		     uint64_t val);
/* mmap a whole region; unmap with munmap(*addr, *len). */
int vfio_dev_region_mmap(struct vfio_dev *dev, unsigned int index,
			 void **addr, size_t *len);

/*
 * Set or clear Bus Master Enable in the PCI command register.  Needed for
 * the device's DMA and MSI (an MSI is a memory write) to reach anything.
 */
int vfio_dev_set_bus_master(struct vfio_dev *dev, bool enable);

/* VFIO_DEVICE_SET_IRQS: trigger eventfds for @count vectors of @index. */
int vfio_dev_irq_set_eventfds(struct vfio_dev *dev, unsigned int index,
			      const int *fds, unsigned int count);
int vfio_dev_irq_disable(struct vfio_dev *dev, unsigned int index);
/* Unmask vector 0 of @index (INTx, after the kernel masked it). */
int vfio_dev_irq_unmask(struct vfio_dev *dev, unsigned int index);

/* Raw VFIO_DEVICE_FEATURE: @flags holds the feature and GET/SET/PROBE. */
int vfio_dev_feature(struct vfio_dev *dev, uint32_t flags, void *data,
		     size_t len);

/* VFIO_DEVICE_FEATURE_MIGRATION: VFIO_MIGRATION_* flags. */
int vfio_dev_mig_flags(struct vfio_dev *dev, uint64_t *flags);
/* VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, GET. */
int vfio_dev_mig_get_state(struct vfio_dev *dev, uint32_t *state);
/*
 * VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, SET.  Returns 0 or -errno; on
 * success *data_fd (if not NULL) is the new data fd or -1 when the
 * transition opened none.  A data fd that is not wanted is closed.
 */
int vfio_dev_mig_set_state(struct vfio_dev *dev, uint32_t state,
			   int *data_fd);
/* VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: estimated STOP_COPY bytes. */
int vfio_dev_mig_data_size(struct vfio_dev *dev, uint64_t *bytes);

/* VFIO_MIG_GET_PRECOPY_INFO on a data fd. */
int vfio_mig_precopy_info(int data_fd, struct vfio_precopy_info *info);

/* Linux 7.x (values fixed by the uAPI), for older uapi headers. */
#ifndef VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2
#define VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2	12
#endif
#ifndef VFIO_PRECOPY_INFO_REINIT
#define VFIO_PRECOPY_INFO_REINIT		(1 << 0)
#endif

/*
 * Opt in to VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 (SET; with @probe,
 * only ask whether the SET is supported).  -ENOTTY: the kernel predates
 * it.  The opt-in lasts until the device's last close.
 */
int vfio_dev_precopy_info_v2(struct vfio_dev *dev, bool probe);

/* Results of vfio_mig_read() */
#define VFIO_MIG_READ_EOF	0	/* read() returned 0: end of stream */
#define VFIO_MIG_READ_NODATA	1	/* ENOMSG: no more data for now */

/*
 * Append everything readable from @fd to @buf until end of stream or, in
 * PRE_COPY, until read() fails with ENOMSG.  @max bounds buf->len (0: no
 * bound; -EFBIG when reached).  Returns VFIO_MIG_READ_EOF,
 * VFIO_MIG_READ_NODATA or -errno.
 */
int vfio_mig_read(int fd, struct vfio_buf *buf, size_t max);

/*
 * Write @len bytes to a RESUMING data fd in write() calls of at most
 * @chunk bytes (0: as few calls as possible).  Returns 0 or the -errno of
 * the failing write(); *done (optional) gets the bytes accepted before it.
 */
int vfio_mig_write(int fd, const void *data, size_t len, size_t chunk,
		   size_t *done);

/* Buffers */
void vfio_buf_init(struct vfio_buf *buf);
void vfio_buf_free(struct vfio_buf *buf);
int vfio_buf_reserve(struct vfio_buf *buf, size_t extra);
int vfio_buf_append(struct vfio_buf *buf, const void *data, size_t len);

/* State names as in the uAPI: "RUNNING", "STOP_COPY", ...; "?" if unknown. */
const char *vfio_mig_state_name(uint32_t state);
/*
 * Parse a state name, case-insensitively, with or without the
 * "VFIO_DEVICE_STATE_" prefix.  -EINVAL if unknown.
 */
int vfio_mig_state_parse(const char *name, uint32_t *state);
/* Whether @state may be requested from a device with migration @flags. */
bool vfio_mig_state_supported(uint64_t flags, uint32_t state);

#endif /* QVP_VFIO_DEV_H */
