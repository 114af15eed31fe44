// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: device DMA dirty tracking (vfio_log_ops).
 *
 * VFIO_DEVICE_FEATURE_DMA_LOGGING_START, _STOP and _REPORT, for every
 * backend that says it reports its DMA writes (struct
 * qvp_backend.dma_log).  The backend's part is one call:
 * qvp_log_dirty(qdev, iova, len) before the device writes that range of
 * IOVA.  Everything else is here: the uAPI checks, the tracked ranges,
 * the log's locking and the bitmap the user reads; the log's own
 * bookkeeping is in dirty_log.h.
 *
 * A DMA that the device performs some time after the backend learns of
 * it stays reported until a report has seen it complete: before each
 * report the backend logs such writes again (struct
 * qvp_backend.log_sync).
 *
 * The log is a short sorted list of dirty extents of a fixed size
 * (QVP_LOG_MAX_EXTENTS) that may report more than was written, never
 * less: dirty_log.h says how.  The tracked ranges have a fixed size
 * too: more than QVP_LOG_MAX_RANGES are combined by the core's
 * vfio_combine_iova_ranges(), as mlx5 does, which makes the tracked
 * space, and what REPORT accepts, a superset of what the user asked
 * for.
 *
 * The report needs the core's iova_bitmap, which exists only in kernels
 * built with CONFIG_IOMMUFD_DRIVER; elsewhere (Debian's kernels) the
 * driver offers no DMA logging at all (qvp_log_init()), because a log
 * that cannot be read would fail QEMU's dirty sync.
 */
#include <linux/interval_tree.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "dirty_log.h"
#include "qvp.h"

/**
 * qvp_log_dirty - the device is about to write a range of IOVA
 * @qdev: the device
 * @iova: first byte the device writes
 * @len: bytes it writes (0: nothing)
 *
 * For backends that set struct qvp_backend.dma_log: call it for every
 * DMA write before the device can perform it, and again from
 * struct qvp_backend.log_sync for as long as the write may still be to
 * come, so that every report taken after the write sees it.  Parts
 * outside the tracked ranges, and calls while logging is off, are
 * ignored; the range is widened to whole pages of the log's page size,
 * within the tracked range.
 *
 * Context: process context; takes the log's mutex (see "Lock order").
 */
void qvp_log_dirty(struct qvp_device *qdev, u64 iova, u64 len)
{
	struct qvp_log *log = &qdev->log;

	mutex_lock(&log->lock);
	if (log->active)
		qvp_log_mark(log, iova, len);
	mutex_unlock(&log->lock);
}

static int qvp_log_start(struct vfio_device *vdev,
			 struct rb_root_cached *ranges, u32 nnodes,
			 u64 *page_size)
{
	struct qvp_device *qdev = to_qvp(vdev);
	struct qvp_log *log = &qdev->log;
	struct interval_tree_node *node;
	unsigned int n = 0;
	int ret = 0;

	/*
	 * A hint: the log keeps whole pages of a power of two, at least
	 * 4096 bytes, at most 1 GiB, and says which.
	 */
	if (*page_size <= SZ_4K)
		*page_size = SZ_4K;
	else if (*page_size >= SZ_1G)
		*page_size = SZ_1G;
	else
		*page_size = roundup_pow_of_two(*page_size);
	/*
	 * The core computes last = iova + length - 1: a range of length 0
	 * comes out with last before start, or, at IOVA 0, as ULONG_MAX,
	 * which no valid range reaches (iova + length must fit).
	 */
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (node->last < node->start || node->last == ULONG_MAX) {
			dev_info_ratelimited(qvp_dev(qdev),
					     "DMA logging: a range of length 0 (IOVA 0x%lx) refused\n",
					     node->start);
			return -EINVAL;
		}
	}

	/* The user's page of the trap, then the log: see qvp_trap_write(). */
	mutex_lock(&qdev->trap_lock);
	mutex_lock(&log->lock);
	if (log->active) {
		dev_info_ratelimited(qvp_dev(qdev),
				     "DMA logging: started twice; stop it first\n");
		ret = -EINVAL;
		goto out;
	}
	if (nnodes > QVP_LOG_MAX_RANGES)
		vfio_combine_iova_ranges(ranges, nnodes, QVP_LOG_MAX_RANGES);
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX);
	     node && n < QVP_LOG_MAX_RANGES;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX), n++) {
		log->ranges[n].start = node->start;
		log->ranges[n].last = node->last;
	}
	log->nr_ranges = n;
	log->nr_dirty = 0;
	log->page_size = *page_size;
	log->active = true;
	mutex_unlock(&log->lock);
	/* DMA already under way writes too: the backend reports it now. */
	qvp_call(qdev->backend->log_start, qdev);
	mutex_unlock(&qdev->trap_lock);
	return 0;
out:
	mutex_unlock(&log->lock);
	mutex_unlock(&qdev->trap_lock);
	return ret;
}

/**
 * qvp_log_stop - DMA logging ends (VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP)
 * @vdev: the device
 *
 * Also called when the device is closed.  Stopping a log that is not
 * running succeeds: the core keeps no state, and a user cleaning up
 * after a failed start must not see an error (mlx5 does the same).
 *
 * Return: 0.
 */
int qvp_log_stop(struct vfio_device *vdev)
{
	struct qvp_log *log = &to_qvp(vdev)->log;

	mutex_lock(&log->lock);
	log->active = false;
	log->nr_dirty = 0;
	log->nr_ranges = 0;
	mutex_unlock(&log->lock);
	return 0;
}

static int qvp_log_read_and_clear(struct vfio_device *vdev,
				  unsigned long iova, unsigned long length,
				  struct iova_bitmap *dirty)
{
	struct qvp_device *qdev = to_qvp(vdev);
	struct qvp_log *log = &qdev->log;
	u64 last = (u64)iova + length - 1;
	struct qvp_log_range *got;
	unsigned int i, n = 0;
	int ret = 0;

	if (!length)
		return 0;
	got = kmalloc_array(QVP_LOG_MAX_EXTENTS + 1, sizeof(*got),
			    GFP_KERNEL);
	if (!got)
		return -ENOMEM;
	/* DMA that may still be under way is logged again first. */
	mutex_lock(&qdev->trap_lock);
	qvp_call(qdev->backend->log_sync, qdev);
	mutex_unlock(&qdev->trap_lock);

	mutex_lock(&log->lock);
	if (!log->active) {
		dev_info_ratelimited(qvp_dev(qdev),
				     "DMA logging: report without a start\n");
		ret = -EINVAL;
	} else if (!qvp_log_tracked(log, iova, last)) {
		dev_info_ratelimited(qvp_dev(qdev),
				     "DMA logging: report of IOVA 0x%lx-0x%llx, which is not all tracked\n",
				     iova, last);
		ret = -EINVAL;
	} else {
		n = qvp_log_take(log, iova, last, got);
	}
	mutex_unlock(&log->lock);

	/*
	 * Outside the lock: iova_bitmap_set() may pin the user's bitmap,
	 * which takes mmap_lock, under which a fault on a BAR mmap takes
	 * memory_lock, under which a trapped write takes the log's lock.
	 * A pin that fails leaves bits unset that the log no longer holds;
	 * iova_bitmap_set() cannot say so (mlx5 has the same limit).
	 */
	for (i = 0; !ret && i < n; i++)
		iova_bitmap_set(dirty, got[i].start,
				got[i].last - got[i].start + 1);
	kfree(got);
	return ret;
}

#if IS_ENABLED(CONFIG_IOMMUFD_DRIVER)
/* iova_bitmap_set() is in the IOMMUFD namespace. */
#ifdef QVP_IMPORT_NS_BARE
MODULE_IMPORT_NS(IOMMUFD);
#else
MODULE_IMPORT_NS("IOMMUFD");
#endif
#endif

static const struct vfio_log_ops qvp_log_ops = {
	.log_start = qvp_log_start,
	.log_stop = qvp_log_stop,
	.log_read_and_clear = qvp_log_read_and_clear,
};

/**
 * qvp_log_init - set up DMA logging for a device being initialised
 * @qdev: the device
 *
 * Offers vfio_log_ops when the backend reports its DMA writes and the
 * kernel can build a report (CONFIG_IOMMUFD_DRIVER, see the top of this
 * file); without them, the DMA_LOGGING features fail with -ENOTTY, and
 * QEMU needs enable-migration=on to migrate the device.
 */
void qvp_log_init(struct qvp_device *qdev)
{
	mutex_init(&qdev->log.lock);
	mutex_init(&qdev->trap_lock);
	if (qdev->backend->dma_log && IS_ENABLED(CONFIG_IOMMUFD_DRIVER))
		qdev->core.vdev.log_ops = &qvp_log_ops;
}

/**
 * qvp_log_release - undo qvp_log_init()
 * @qdev: the device
 */
void qvp_log_release(struct qvp_device *qdev)
{
	mutex_destroy(&qdev->trap_lock);
	mutex_destroy(&qdev->log.lock);
}
