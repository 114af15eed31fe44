/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: the device, as the PCI glue (main.c), the migration
 * protocol (fsm.c and the units session.h lists) and the backends share
 * it.  The layers, each calling only those below it:
 *
 *   main.c       PCI and vfio glue
 *   fsm.c ...    the migration protocol, device agnostic (session.h)
 *   edu.c, ...   the backends, one per device model (backend.h)
 *   device.c     BAR mapping and the MMIO bracket; stream.c, the format
 */
#ifndef QVP_H
#define QVP_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/workqueue.h>

#include "backend.h"

#define QVP_DRIVER_NAME	"qemu-vfio-pci"

struct qvp_mig_file;

/* The log's fixed size: see dirty_log.h. */
#define QVP_LOG_MAX_RANGES	16
#define QVP_LOG_MAX_EXTENTS	64

/**
 * struct qvp_log_range - an inclusive range of IOVA
 * @start: first byte
 * @last: last byte
 */
struct qvp_log_range {
	u64 start;
	u64 last;
};

/**
 * struct qvp_log - the device's DMA log (dirty.c)
 * @lock: protects everything below
 * @active: logging started and not stopped
 * @page_size: the granule of @dirty, as logging started with it
 * @nr_ranges: entries of @ranges
 * @ranges: the tracked IOVA ranges, sorted and disjoint
 * @nr_dirty: entries of @dirty
 * @dirty: the IOVA written since the last report, as sorted, disjoint
 *	extents (whole pages when logged; a report of another page size
 *	may cut them); one spare entry for the insertion or split that
 *	overflows, undone at once by merging
 */
struct qvp_log {
	struct mutex lock;		/* see @lock above */
	bool active;
	u64 page_size;
	unsigned int nr_ranges;
	struct qvp_log_range ranges[QVP_LOG_MAX_RANGES];
	unsigned int nr_dirty;
	struct qvp_log_range dirty[QVP_LOG_MAX_EXTENTS + 1];
};

/**
 * DOC: Lock order
 *
 * The driver's locks, outermost first::
 *
 *   vfio dev_set->lock          vfio's, held for open_device and
 *                               close_device (their reset takes
 *                               state_mutex under it)
 *   qvp_device.state_mutex      one per device, qvp_state_lock()
 *   qvp_mig_file.lock           one per session file
 *   qvp_device.trap_lock        a user's write to the trapped range
 *   vfio-pci-core igate         qvp_mmio_begin(),
 *                               qvp_mmio_give_back_decode()
 *   vfio-pci-core memory_lock   qvp_mmio_begin() and
 *                               qvp_mmio_give_back_decode() (under
 *                               the resume file's lock, and
 *                               state_mutex when a session ends),
 *                               for writing; a trapped write, for
 *                               reading;
 *                               qvp_zap_bars(), for writing, alone
 *                               (no igate), under state_mutex;
 *                               qvp_reset_at_close(), for reading,
 *                               alone, under dev_set only
 *   vfio-pci-core irqlock       the bracket's PCI_COMMAND update
 *
 *   qvp_log.lock                the DMA log (dirty.c): a mutex, taken
 *                               under trap_lock or memory_lock (read),
 *                               never under the bracket; nothing is
 *                               taken under it
 *   qvp_device.reset_lock       innermost: nothing is taken under it
 *
 * state_mutex serialises migration state changes, migration_get_state,
 * MIG_DATA_SIZE, VFIO_MIG_GET_PRECOPY_INFO, the driver's
 * VFIO_DEVICE_RESET and the migration part and reset of open and close
 * against each other, and protects the migration state, the session
 * pointers and the backend.  It is taken only through qvp_state_lock(),
 * which applies a pending PCI reset first, and released with
 * qvp_state_unlock().
 *
 * A session file's lock protects the file's buffer and position, the bulk
 * record in transit (its memory, progress, check so far and split word),
 * the parser and the disabled flag.  read(), write(), poll(), the resume
 * file's flush (qvp_resume_flush(), which then takes igate and
 * memory_lock to give decoding back) and the scan work (qvp_scan_work())
 * take only this lock; an arc or ioctl that
 * touches a live session takes it after state_mutex.
 * VFIO_MIG_GET_PRECOPY_INFO takes it after checking the state under
 * state_mutex and releases the mutex while holding it, so that a scan
 * runs under the file lock alone.  Ending a session cancels its scan work
 * (cancel_delayed_work_sync()) with state_mutex held and the file lock
 * released; the work takes no state_mutex.
 *
 * igate and memory_lock are vfio-pci-core's; qvp_mmio_begin() takes both
 * (igate first, as vfio-pci-core does) for every kernel access to the
 * BARs, and the bracket updates PCI_COMMAND under irqlock.
 *
 * trap_lock makes the backend's look at a user's write to the trapped
 * range (struct qvp_backend.trap_write) and the write itself one step,
 * against other such writes and against the start of DMA logging
 * (qvp_trap_write(), dirty.c); no state_mutex or file lock is taken
 * under it, and it is never taken under igate or memory_lock.  The
 * log's lock, a mutex, is taken last: by the log ops, and by
 * qvp_log_dirty() from the backend's look at a trapped write (under
 * memory_lock for reading) or from backend code outside the MMIO
 * bracket, never inside it (the bracket does not sleep).  It guards
 * nothing but the log; the report fills the user's bitmap after
 * releasing it, since pinning that bitmap takes mmap_lock, under which
 * a fault on a BAR mmap takes memory_lock.
 *
 * reset_lock, a spinlock, protects only the deferred_reset flag.  It is
 * the one lock that the PCI reset notification takes
 * (qvp_mig_reset_done(), called with memory_lock held); qvp_state_lock()
 * takes it under state_mutex.
 *
 * Rules that follow:
 *
 *  - memory_lock is never held when state_mutex or a file lock is taken:
 *    the reset notification, which runs under it, takes only reset_lock,
 *    and the next qvp_state_lock() applies the reset (the deferred
 *    reset).
 *  - copy_to_user() and copy_from_user() are never called with
 *    state_mutex held: read() and write() copy under the file lock only,
 *    and VFIO_MIG_GET_PRECOPY_INFO copies its argument before taking the
 *    mutex and its result after releasing it (under the file lock, as
 *    read() does).  A page fault on a user
 *    buffer, which may need mm locks or, for a BAR mmap, memory_lock,
 *    therefore never happens under state_mutex.
 *  - Between qvp_mmio_begin() and qvp_mmio_end() (or
 *    qvp_mmio_end_hold()) nothing sleeps, and
 *    user memory is touched only by the copies of bulk record data
 *    (bulk.c), with page faults disabled: a fault on an mmap of the
 *    device's own BARs would wait for the memory_lock its own thread
 *    holds.
 */

/**
 * struct qvp_device - one device bound to qemu-vfio-pci
 * @core: the vfio-pci-core device; everything vfio-pci offers comes from it
 * @backend: the device model, chosen at probe time
 * @priv: @backend's private state (struct qvp_backend.priv_size bytes)
 * @id: the identity written to, and required in, stream headers
 * @state_mutex: the device's migration lock; protects @mig_state, @save,
 *	@resume and the backend.  What it serialises, and where it stands
 *	in the lock order: "Lock order" above.
 * @mig_state: current VFIO migration state
 * @save: the open save session (STOP_COPY / PRE_COPY*), or NULL
 * @resume: the open resume session (RESUMING), or NULL
 * @reset_lock: protects @deferred_reset.  A PCI reset notification
 *	(qvp_mig_reset_done()) arrives with vfio's memory_lock held, so it
 *	must neither sleep on @state_mutex nor end sessions itself: it only
 *	sets @deferred_reset under this spinlock and queues @reset_work.
 * @deferred_reset: a reset happened and its effect on the migration state
 *	(sessions ended, RUNNING) is not applied yet; qvp_state_lock() applies
 *	it
 * @reset_work: takes @state_mutex soon after a reset notification, so the
 *	reset is applied even if userspace makes no further call
 * @trap_lock: serialises the user's writes to the trapped range with
 *	one another and with the start of DMA logging ("Lock order")
 * @log: the DMA log
 * @decode_off_noted: the log says that memory decoding was found off and
 *	is turned on for the driver's accesses; cleared when it is found
 *	on, and not held on by the driver.  Protected by vfio-pci-core's
 *	memory_lock (qvp_mmio_begin()).
 * @decode_held: a resume session holds memory decoding on that the user
 *	turned off (qvp_mmio_end_hold() to qvp_mmio_give_back_decode()).
 *	Protected by memory_lock.
 */
struct qvp_device {
	struct vfio_pci_core_device core;
	const struct qvp_backend *backend;
	void *priv;
	struct qvp_stream_id id;

	struct mutex state_mutex;	/* see @state_mutex above */
	enum vfio_device_mig_state mig_state;
	struct qvp_mig_file *save;
	struct qvp_mig_file *resume;

	spinlock_t reset_lock;		/* see @reset_lock above */
	bool deferred_reset;
	struct work_struct reset_work;

	struct mutex trap_lock;		/* see @trap_lock above */
	struct qvp_log log;

	bool decode_off_noted;
	bool decode_held;
};

static inline void *qvp_priv(struct qvp_device *qdev)
{
	return qdev->priv;
}

static inline struct qvp_device *to_qvp(struct vfio_device *vdev)
{
	return container_of(vdev, struct qvp_device, core.vdev);
}

static inline struct device *qvp_dev(struct qvp_device *qdev)
{
	return &qdev->core.pdev->dev;
}

/*
 * Userspace opted in to VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2, on kernels
 * that have it (the vfio core takes the SET and clears the opt-in at the
 * device's last close): the flags of VFIO_MIG_GET_PRECOPY_INFO are output,
 * and a backend may start new initial data in PRE_COPY
 * (struct qvp_backend.precopy_scan).  A plain read is enough: the opt-in
 * only goes from off to on while the device is open, and the core clears
 * it only after close_device, which has ended every session under its
 * file lock.
 */
static inline bool qvp_precopy_info_v2(struct qvp_device *qdev)
{
#ifdef QVP_HAVE_CHECK_PRECOPY_IOCTL
	return READ_ONCE(qdev->core.vdev.precopy_info_v2);
#else
	return false;
#endif
}

/* device.c: for the backends and the protocol */
void __iomem *qvp_map_bar(struct qvp_device *qdev, int bar);
u16 qvp_mmio_begin(struct qvp_device *qdev);
void qvp_mmio_end(struct qvp_device *qdev, u16 set);
bool qvp_mmio_end_hold(struct qvp_device *qdev, u16 set);
void qvp_mmio_give_back_decode(struct qvp_device *qdev);
void qvp_zap_bars(struct qvp_device *qdev);
u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len);

/* trap.c: the trapped BAR range, for the PCI glue */
int qvp_trap_check(struct qvp_device *qdev);
int qvp_trap_mmap(struct qvp_device *qdev, struct vm_area_struct *vma);
ssize_t qvp_trap_write(struct qvp_device *qdev, const char __user *buf,
		       size_t count, loff_t *ppos);
#ifdef QVP_HAVE_GET_REGION_INFO_CAPS
int qvp_trap_region_info(struct vfio_device *vdev,
			 struct vfio_region_info *info,
			 struct vfio_info_cap *caps);
#else
long qvp_trap_region_info(struct qvp_device *qdev, unsigned long arg);
#endif

/* dirty.c: DMA logging; qvp_log_dirty() is for the backends */
void qvp_log_init(struct qvp_device *qdev);
void qvp_log_release(struct qvp_device *qdev);
int qvp_log_stop(struct vfio_device *vdev);
void qvp_log_dirty(struct qvp_device *qdev, u64 iova, u64 len);

/* fsm.c and session.c: the protocol's entry points for the PCI glue */
void qvp_mig_init(struct qvp_device *qdev);
void qvp_mig_release(struct qvp_device *qdev);
int qvp_mig_restart(struct qvp_device *qdev, bool reset);
long qvp_mig_device_reset(struct qvp_device *qdev);
void qvp_mig_reset_done(struct qvp_device *qdev);

#endif /* QVP_H */
