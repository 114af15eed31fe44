// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: save sessions (STOP_COPY, PRE_COPY, PRE_COPY_P2P) and
 * VFIO_MIG_GET_PRECOPY_INFO.
 *
 * The stream header is queued when the session starts (it is the
 * PRE_COPY initial data); each read() drains the transfer buffer and
 * refills it with the next record that the backend produces for the
 * current phase (qvp_save_fill()); in STOP_COPY an END record follows the
 * last one and read() then returns 0 forever.  PRE_COPY -> STOP_COPY
 * keeps the same file and stream.  A bulk record puts only its header and
 * head in the transfer buffer; its data and check come from bulk.c.
 */
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "session.h"

#define QVP_SCAN_MIN_MS		10
#define QVP_SCAN_MAX_MS		60000
/*
 * Scans started by read() and the scan work take about 1/(1 +
 * QVP_SCAN_DUTY) of the time at most (a scan's length is counted in
 * jiffies); VFIO_MIG_GET_PRECOPY_INFO is bound by precopy_scan_ms only
 * (see qvp_precopy_scan()).
 */
#define QVP_SCAN_DUTY		4

/*
 * PRE_COPY, for a backend that finds changes by reading its state
 * (precopy_scan): the least time between the end of one scan and the
 * start of the next, however often userspace asks.  For read() and the
 * scan work the gap is also at least QVP_SCAN_DUTY times the last scan's
 * length, so that a large device is not read over and over by a caller
 * (QEMU) that calls read() on every iteration of its migration loop.
 */
static unsigned int precopy_scan_ms = 100;

static int qvp_scan_ms_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, QVP_SCAN_MIN_MS, QVP_SCAN_MAX_MS);
}

static const struct kernel_param_ops qvp_scan_ms_ops = {
	.set = qvp_scan_ms_set,
	.get = param_get_uint,
};

module_param_cb(precopy_scan_ms, &qvp_scan_ms_ops, &precopy_scan_ms, 0644);
MODULE_PARM_DESC(precopy_scan_ms,
		 "PRE_COPY: least time (ms, 10-60000) between two scans of a device's state for changes, for devices without dirty tracking (default 100)");

static bool qvp_is_precopy(enum vfio_device_mig_state s)
{
	return s == VFIO_DEVICE_STATE_PRE_COPY ||
	       s == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

/*
 * Frame the next record in the transfer buffer: a whole plain record, or
 * the header and head of a bulk record, whose data then comes from
 * qvp_bulk_read().  A PRE_COPY record that the backend marks initial
 * counts, all of it (a bulk record's data and check too), in
 * @initial_left.  @mf->lock held, nothing unread.  Returns the bytes
 * framed, 0 when the phase has nothing more, or -errno.
 */
static int qvp_save_fill(struct qvp_mig_file *mf)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_record_header *rh = (void *)mf->buf;
	struct qvp_save_rec rec = {
		.buf = mf->buf + sizeof(*rh),
		.size = mf->buf_size - sizeof(*rh),
	};
	const struct qvp_rec_desc *desc;
	int ret;

	lockdep_assert_held(&mf->lock);

	mf->pos = 0;
	mf->len = 0;
	if (mf->end_queued)
		return 0;

	ret = qdev->backend->save_record(qdev, &rec);
	if (ret < 0)
		return ret;
	if (!ret) {
		if (!mf->stop_copy)
			return 0;
		/* The backend is done with STOP_COPY: close the stream. */
		qvp_record_header_build(rh, QVP_REC_END, 0, NULL, 0);
		mf->end_queued = true;
		mf->len = QVP_REC_SIZE(0);
		return mf->len;
	}
	/* Unknown types count as plain. */
	desc = qvp_rec_desc_find(qdev->backend->records,
				 qdev->backend->nr_records, rec.type);
	/* A backend that breaks its contract is a driver bug. */
	if (WARN_ONCE(!!rec.bulk.len != (desc && desc->bulk),
		      "%s backend produced record 0x%04x as %s, its descriptor says otherwise\n",
		      qdev->backend->name, rec.type,
		      rec.bulk.len ? "bulk" : "plain"))
		return -EINVAL;
	if (rec.bulk.len) {
		if (WARN_ON_ONCE(rec.bulk.len % 8 ||
				 rec.bulk.len > U32_MAX - QVP_BULK_OVERHEAD))
			return -EOVERFLOW;
		qvp_bulk_header_build(rh, rec.type, (void *)(rh + 1),
				      rec.bulk.offset, rec.bulk.len);
		mf->bulk = rec.bulk;
		mf->bulk_pos = 0;
		mf->carry_pos = 0;
		mf->carry_len = 0;
		qvp_bulk_sum_init(&mf->sum, mf->seed, rec.bulk.offset,
				  rec.bulk.len);
		mf->len = sizeof(*rh) + sizeof(struct qvp_bulk_head);
		if (rec.initial && !mf->stop_copy)
			mf->initial_left += QVP_REC_SIZE(QVP_BULK_OVERHEAD) +
					    rec.bulk.len;
		return mf->len;
	}
	/*
	 * The backend was told rec.size before it wrote; a longer record
	 * has overrun the transfer buffer already.
	 */
	if (WARN_ON_ONCE(rec.len > rec.size))
		return -EOVERFLOW;
	qvp_record_header_build(rh, rec.type, 0, rec.buf, rec.len);
	mf->len = QVP_REC_SIZE(rec.len);
	if (rec.initial && !mf->stop_copy)
		mf->initial_left += mf->len;
	return mf->len;
}

/* Stream bytes framed or in transit that no read() has taken yet. */
static u64 qvp_save_unread(struct qvp_mig_file *mf)
{
	u64 unread = mf->len - mf->pos;

	if (mf->bulk.len)
		unread += mf->bulk.len - mf->bulk_pos + sizeof(__le64);
	return unread + mf->carry_len - mf->carry_pos;
}

/* Queue the scan work for when the next scan is allowed; @mf->lock held. */
static void qvp_arm_scan(struct qvp_mig_file *mf)
{
	long delay = (long)(mf->next_busy_scan - jiffies);

	lockdep_assert_held(&mf->lock);

	schedule_delayed_work(&mf->scan_work, max(delay, 0L));
}

/*
 * PRE_COPY bytes still to give, as VFIO_MIG_GET_PRECOPY_INFO reports them:
 * initial, the initial data framed and unread plus what the backend has
 * not framed yet of its first pass (or of new initial data a scan
 * started); dirty, the rest.  From what is known
 * now: no scan.  @mf->lock held.
 */
static void qvp_precopy_sizes(struct qvp_mig_file *mf, u64 *initial,
			      u64 *dirty)
{
	struct qvp_device *qdev = mf->qdev;
	u64 unread = qvp_save_unread(mf), bi = 0, bd = 0;

	lockdep_assert_held(&mf->lock);

	qvp_call(qdev->backend->precopy_pending, qdev, &bi, &bd);
	*initial = mf->initial_left + bi;
	/* initial_left counts unread initial bytes: never more than unread */
	if (WARN_ON_ONCE(mf->initial_left > unread))
		unread = mf->initial_left;
	*dirty = unread - mf->initial_left + bd;
}

/*
 * At PRE_COPY's temporary end of stream (nothing pending, nothing unread),
 * let a backend that finds changes by scanning look for them, unless it
 * did less than precopy_scan_ms ago (@ioctl: VFIO_MIG_GET_PRECOPY_INFO),
 * or, for read() and the scan work, which a caller may drive on every
 * iteration of a loop, less than max(precopy_scan_ms, QVP_SCAN_DUTY times
 * the last scan) ago.  All answer from the same counts, so a read() that
 * follows an answer of 0/0 returns -ENOMSG unless a scan in between found
 * something, and one that follows a non-zero answer returns those bytes.
 * Wakes poll() waiters when the scan found changes.  With @new_initial
 * (the ioctl, in PRE_COPY, after the PRECOPY_INFOv2 opt-in) the backend
 * may start new initial data, which sets @mf->reinit.  @mf->lock held.
 * Returns true if it scanned.
 */
static bool qvp_precopy_scan(struct qvp_mig_file *mf, bool ioctl,
			     bool new_initial)
{
	struct qvp_device *qdev = mf->qdev;
	unsigned long start, interval;
	u64 initial, dirty;

	lockdep_assert_held(&mf->lock);

	if (mf->disabled || mf->stop_copy || !qdev->backend->precopy_scan)
		return false;
	qvp_precopy_sizes(mf, &initial, &dirty);
	if (initial || dirty ||
	    time_before(jiffies, ioctl ? mf->next_scan : mf->next_busy_scan))
		return false;
	start = jiffies;
	qdev->backend->precopy_scan(qdev, new_initial);
	interval = msecs_to_jiffies(READ_ONCE(precopy_scan_ms));
	mf->next_scan = jiffies + interval;
	mf->next_busy_scan = jiffies +
			     max(interval, QVP_SCAN_DUTY * (jiffies - start));
	qvp_precopy_sizes(mf, &initial, &dirty);
	/*
	 * Initial data after a scan is new initial data.  Only the ioctl's
	 * own scan may start it, after the PRECOPY_INFOv2 opt-in, so that
	 * the answer that reports VFIO_PRECOPY_INFO_REINIT also counts it,
	 * before any read() can take it for dirty data.
	 */
	if (initial && !WARN_ON_ONCE(!new_initial))
		mf->reinit = true;
	if (initial || dirty)
		wake_up_interruptible_all(&mf->waitq);
	return true;
}

/*
 * Scan for a poll() waiter: armed by poll() when nothing is pending, runs
 * when the next scan is allowed, and arms itself again while someone still
 * waits and nothing was found.  Ended with the session.
 */
static void qvp_scan_work(struct work_struct *work)
{
	struct qvp_mig_file *mf = container_of(to_delayed_work(work),
					       struct qvp_mig_file, scan_work);
	u64 initial, dirty;

	mutex_lock(&mf->lock);
	if (!mf->disabled && !mf->stop_copy && !qvp_save_unread(mf)) {
		qvp_precopy_scan(mf, false, false);
		qvp_precopy_sizes(mf, &initial, &dirty);
		if (!initial && !dirty && wq_has_sleeper(&mf->waitq))
			qvp_arm_scan(mf);
	}
	mutex_unlock(&mf->lock);
}

static ssize_t qvp_save_read(struct file *filp, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct qvp_mig_file *mf = filp->private_data;
	size_t done = 0, n;
	ssize_t ret = 0;

	if (ppos)
		return -ESPIPE;

	mutex_lock(&mf->lock);
	if (mf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	/* Nothing asked, nothing done: not even a scan. */
	if (!count)
		goto out;
	while (done < count) {
		if (mf->pos < mf->len) {
			n = min(count - done, mf->len - mf->pos);
			if (copy_to_user(ubuf + done, mf->buf + mf->pos, n)) {
				ret = -EFAULT;
				break;
			}
			mf->pos += n;
		} else if (mf->bulk.len) {
			ret = qvp_bulk_read(mf, ubuf + done, count - done);
			if (ret < 0)
				break;
			n = ret;
		} else {
			/* A long read() lets others run between records. */
			cond_resched();
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
			ret = qvp_save_fill(mf);
			/* A read() that would give nothing looks for changes. */
			if (!ret && !done && qvp_precopy_scan(mf, false, false))
				ret = qvp_save_fill(mf);
			if (ret <= 0)
				break;
			continue;
		}
		mf->initial_left -= min_t(u64, mf->initial_left, n);
		mf->bytes += n;
		done += n;
	}
	if (ret < 0 && ret != -EFAULT && ret != -EINTR)
		dev_err_ratelimited(qvp_dev(mf->qdev),
				    "save stream failed after %llu bytes: %zd\n",
				    mf->bytes, ret);
	if (done)
		ret = done;
	else if (!ret && !mf->stop_copy)
		ret = -ENOMSG;	/* PRE_COPY: nothing new for now */
out:
	mutex_unlock(&mf->lock);
	return ret;
}

/* Read and check the user's VFIO_MIG_GET_PRECOPY_INFO argument. */
static int qvp_precopy_info_in(struct qvp_device *qdev, unsigned int cmd,
			       unsigned long arg,
			       struct vfio_precopy_info *info)
{
#ifdef QVP_HAVE_CHECK_PRECOPY_IOCTL
	return vfio_check_precopy_ioctl(&qdev->core.vdev, cmd, arg, info);
#else
	unsigned long minsz = offsetofend(struct vfio_precopy_info,
					  dirty_bytes);

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(info, (void __user *)arg, minsz))
		return -EFAULT;
	return info->argsz < minsz ? -EINVAL : 0;
#endif
}

/*
 * The flags VFIO_MIG_GET_PRECOPY_INFO answers.  Once userspace opts in to
 * VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 (kernels that have it), flags is
 * output, and VFIO_PRECOPY_INFO_REINIT says that new initial data follows
 * in the stream: initial_bytes counts it, and dirty_bytes counts changes
 * since it.  The ioctl's own scan starts it (qvp_precopy_scan()), and the
 * same answer reports it; an answer that did not reach the user (-EFAULT)
 * leaves it for the next.  Without the opt-in flags is reserved; this
 * driver has always answered 0 there, and no backend starts new initial
 * data then.  @mf->lock held.
 */
static u32 qvp_precopy_flags(struct qvp_mig_file *mf)
{
	lockdep_assert_held(&mf->lock);

#ifdef QVP_HAVE_CHECK_PRECOPY_IOCTL
	if (mf->reinit)
		return VFIO_PRECOPY_INFO_REINIT;
#endif
	return 0;
}

static long qvp_save_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	struct qvp_mig_file *mf = filp->private_data;
	struct qvp_device *qdev = mf->qdev;
	unsigned long minsz = offsetofend(struct vfio_precopy_info,
					  dirty_bytes);
	struct vfio_precopy_info info;
	bool new_initial;
	long ret;

	ret = qvp_precopy_info_in(qdev, cmd, arg, &info);
	if (ret)
		return ret;

	qvp_state_lock(qdev);
	if (!qvp_is_precopy(qdev->mig_state)) {
		qvp_state_unlock(qdev);
		return -EINVAL;
	}
	/*
	 * New initial data only in PRE_COPY: in PRE_COPY_P2P userspace has
	 * decided to stop the device, and a REINIT then comes too late.
	 */
	new_initial = qdev->mig_state == VFIO_DEVICE_STATE_PRE_COPY &&
		      qvp_precopy_info_v2(qdev);
	/*
	 * Every arc that leaves PRE_COPY(_P2P) or ends this session takes the
	 * file lock, so holding it keeps the answer one of PRE_COPY; a scan
	 * then holds up this session (and callers that wait for its arcs).
	 */
	mutex_lock(&mf->lock);
	qvp_state_unlock(qdev);
	if (mf->disabled) {
		ret = -ENODEV;
	} else {
		qvp_precopy_scan(mf, true, new_initial);
		qvp_precopy_sizes(mf, &info.initial_bytes, &info.dirty_bytes);
		info.flags = qvp_precopy_flags(mf);
		/* Under the file lock, as read() copies: see "Lock order". */
		if (copy_to_user((void __user *)arg, &info, minsz))
			ret = -EFAULT;
		else
			mf->reinit = false;
	}
	mutex_unlock(&mf->lock);
	return ret;
}

static __poll_t qvp_save_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct qvp_mig_file *mf = filp->private_data;
	__poll_t mask = 0;
	u64 initial, dirty;

	poll_wait(filp, &mf->waitq, wait);
	mutex_lock(&mf->lock);
	if (mf->disabled) {
		mask = EPOLLERR | EPOLLHUP;
	} else if (mf->stop_copy || qvp_save_unread(mf)) {
		mask = EPOLLIN | EPOLLRDNORM;
	} else {
		/* What is known; a scan is the work's, not poll()'s. */
		qvp_precopy_sizes(mf, &initial, &dirty);
		if (initial || dirty)
			mask = EPOLLIN | EPOLLRDNORM;
		else if (mf->qdev->backend->precopy_scan)
			qvp_arm_scan(mf);
	}
	mutex_unlock(&mf->lock);
	return mask;
}

static const struct file_operations qvp_save_fops = {
	.owner = THIS_MODULE,
	.read = qvp_save_read,
	.unlocked_ioctl = qvp_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = qvp_save_poll,
	.release = qvp_file_release,
};

/**
 * qvp_start_save - start a save session
 * @qdev: the device
 * @precopy: PRE_COPY (RUNNING -> PRE_COPY, RUNNING_P2P -> PRE_COPY_P2P);
 *	else STOP_COPY from STOP, with the device already quiesced
 *
 * Context: state_mutex held.
 * Return: the session's file for userspace, or an ERR_PTR().  On error
 * there is no session and the backend was told (save_end).
 */
struct file *qvp_start_save(struct qvp_device *qdev, bool precopy)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	int ret;

	mf = qvp_alloc_file(qdev, &qvp_save_fops, O_RDONLY,
			    QVP_REC_SIZE(qvp_max_record(be)), qvp_scan_work);
	if (IS_ERR(mf))
		return ERR_CAST(mf);

	ret = qvp_call(be->save_begin, qdev, precopy, &mf->seed);
	if (!ret && !precopy)
		ret = qvp_call(be->save_stop, qdev);
	if (ret) {
		qvp_call(be->save_end, qdev);
		fput(mf->filp);
		return ERR_PTR(ret);
	}

	qvp_stream_header_build((void *)mf->buf, &qdev->id, mf->seed);
	mf->len = sizeof(struct qvp_stream_header);
	mf->initial_left = precopy ? mf->len : 0;
	mf->stop_copy = !precopy;
	qdev->save = mf;
	return qvp_session_file(mf);
}

/**
 * qvp_save_enter_stop_copy - PRE_COPY_P2P -> STOP_COPY
 * @qdev: the device, with a save session in PRE_COPY_P2P
 *
 * Quiesces the device and switches the session to STOP_COPY, keeping its
 * file and stream.  The file lock keeps PRE_COPY reads out of the backend
 * meanwhile.
 *
 * Context: state_mutex held.
 * Return: 0, or -errno with the device still in PRE_COPY_P2P.
 */
int qvp_save_enter_stop_copy(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf = qdev->save;
	int ret;

	mutex_lock(&mf->lock);
	ret = qvp_call(be->quiesce, qdev);
	if (!ret) {
		ret = qvp_call(be->save_stop, qdev);
		/* The arc fails: PRE_COPY_P2P again, so the device runs. */
		if (ret)
			qvp_call(be->unquiesce, qdev);
	}
	if (!ret) {
		mf->stop_copy = true;
		mf->initial_left = 0;
	}
	mutex_unlock(&mf->lock);
	wake_up_interruptible_all(&mf->waitq);
	return ret;
}

/**
 * qvp_save_session_op - run an arc operation beside a live save session
 * @qdev: the device, with a save session
 * @op: the backend operation, possibly NULL
 *
 * Runs @op under the session's file lock, so that it never overlaps the
 * session's read(), poll() or PRE_COPY info calls into the backend.
 *
 * Context: state_mutex held.
 * Return: what @op returns, 0 without @op.
 */
int qvp_save_session_op(struct qvp_device *qdev,
			int (*op)(struct qvp_device *qdev))
{
	struct qvp_mig_file *mf = qdev->save;
	int ret;

	mutex_lock(&mf->lock);
	ret = qvp_call(op, qdev);
	mutex_unlock(&mf->lock);
	return ret;
}

/**
 * qvp_save_data_size - VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
 * @qdev: the device
 *
 * Context: state_mutex held.
 * Return: the bytes that completing a STOP_COPY from now would produce:
 * whatever the open save session still holds (or a fresh stream header),
 * the backend's state, and the END record.
 */
u64 qvp_save_data_size(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf = qdev->save;
	u64 size;

	lockdep_assert_held(&qdev->state_mutex);

	if (!mf)
		return sizeof(struct qvp_stream_header) +
		       be->stop_copy_size(qdev) + QVP_REC_SIZE(0);
	mutex_lock(&mf->lock);
	size = qvp_save_unread(mf);
	if (!mf->end_queued)
		size += be->stop_copy_size(qdev) + QVP_REC_SIZE(0);
	mutex_unlock(&mf->lock);
	return size;
}
