// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: the VFIO migration protocol v2, device agnostic.
 *
 * This file implements the single-step arcs that vfio_mig_get_next_state()
 * asks for with STOP_COPY | P2P | PRE_COPY, the data files of the save
 * (STOP_COPY, PRE_COPY*) and resume (RESUMING) sessions, the stream framing
 * and VFIO_MIG_GET_PRECOPY_INFO.  What a device's state is, and how it is
 * stopped, captured and loaded, is the backend's business (backend.h).
 *
 * Data flow of a save session: the stream header is queued when the
 * session starts (it is the PRE_COPY initial data); each read() drains the
 * transfer buffer and refills it with the next record that the backend
 * produces for the current phase; in STOP_COPY an END record follows the
 * last one and read() then returns 0 forever.  PRE_COPY -> STOP_COPY keeps
 * the same file and stream.
 *
 * Data flow of a resume session: write() copies user bytes straight to
 * where the stream parser wants them; each verified record goes to the
 * backend; RESUMING -> STOP requires the END record and commits.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "qvp.h"

/*
 * Smallest transfer buffer of a save session.  It grows to hold the
 * largest record the backend declares (struct qvp_backend.records), since
 * one record is framed into it at a time.
 */
#define QVP_SAVE_BUF_SIZE	(64 * 1024)

/**
 * struct qvp_mig_file - a save or resume session and its data file
 * @filp: the anon-inode file handed to userspace
 * @qdev: the device; the file holds a reference on it (the vfio device's
 *	struct device), so that a data fd kept after the device was closed
 *	or unbound still finds valid memory: read() and write() answer
 *	-ENODEV, VFIO_MIG_GET_PRECOPY_INFO -EINVAL (no longer PRE_COPY)
 * @lock: protects every field below and serialises read()/write()/poll()
 *	against arcs that end or change the session.  Taken after
 *	qdev->state_mutex, never before it.
 * @disabled: the session ended; the file only returns -ENODEV now
 * @stop_copy: a save session is in STOP_COPY (else PRE_COPY*)
 * @end_queued: the END record has been put in @buf
 * @buf: save: framed bytes not yet read; resume: parser record buffer
 * @buf_size: capacity of @buf
 * @pos: save: first unread byte in @buf
 * @len: save: bytes in @buf
 * @initial_left: save: bytes of the PRE_COPY initial data still unread
 *	(counted within @buf)
 * @parser: resume: the stream parser
 * @error: resume: sticky -errno of the first bad write()
 * @bytes: bytes read or written so far, for messages
 * @waitq: poll() waiters; woken when the session changes phase or ends
 */
struct qvp_mig_file {
	struct file *filp;
	struct qvp_device *qdev;
	struct mutex lock;		/* see @lock above */
	bool disabled;
	bool stop_copy;
	bool end_queued;
	u8 *buf;
	size_t buf_size;
	size_t pos;
	size_t len;
	u64 initial_left;
	struct qvp_parser parser;
	int error;
	u64 bytes;
	wait_queue_head_t waitq;
};

/* Run an optional backend operation. */
static int qvp_call(struct qvp_device *qdev, int (*op)(struct qvp_device *qdev))
{
	return op ? op(qdev) : 0;
}

static bool qvp_is_precopy(enum vfio_device_mig_state s)
{
	return s == VFIO_DEVICE_STATE_PRE_COPY ||
	       s == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

/* Disable a session file; state_mutex held. */
static void qvp_disable_file(struct qvp_mig_file *mf)
{
	mutex_lock(&mf->lock);
	mf->disabled = true;
	kvfree(mf->buf);
	mf->buf = NULL;
	mf->pos = 0;
	mf->len = 0;
	mutex_unlock(&mf->lock);
	wake_up_interruptible_all(&mf->waitq);
}

/* End the session in *@slot (if any): disable its file, tell the backend. */
static void qvp_end_session(struct qvp_device *qdev,
			    struct qvp_mig_file **slot,
			    void (*backend_end)(struct qvp_device *qdev))
{
	struct qvp_mig_file *mf = *slot;

	if (!mf)
		return;
	qvp_disable_file(mf);
	if (backend_end)
		backend_end(qdev);
	fput(mf->filp);
	*slot = NULL;
}

static void qvp_end_save(struct qvp_device *qdev)
{
	qvp_end_session(qdev, &qdev->save, qdev->backend->save_end);
}

static void qvp_end_resume(struct qvp_device *qdev)
{
	qvp_end_session(qdev, &qdev->resume, qdev->backend->load_end);
}

/*
 * qvp_mig_reset_state - end every session and return to RUNNING
 *
 * Used on open, close and reset.  Caller holds state_mutex.
 */
void qvp_mig_reset_state(struct qvp_device *qdev)
{
	lockdep_assert_held(&qdev->state_mutex);
	qvp_end_save(qdev);
	qvp_end_resume(qdev);
	qdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
}

static int qvp_file_release(struct inode *inode, struct file *filp)
{
	struct qvp_mig_file *mf = filp->private_data;

	/* The session holds a reference of its own, so it has ended by now. */
	put_device(&mf->qdev->core.vdev.device);
	mutex_destroy(&mf->lock);
	kvfree(mf->buf);
	kfree(mf);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Save sessions                                                       */

/* Append one framed record to the transfer buffer; @mf->lock held. */
static int qvp_save_fill(struct qvp_mig_file *mf)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_record_header *rh = (void *)mf->buf;
	size_t room = mf->buf_size - sizeof(*rh);
	ssize_t n = 0;
	u16 type = QVP_REC_END;

	mf->pos = 0;
	mf->len = 0;
	if (mf->end_queued)
		return 0;

	n = qdev->backend->save_record(qdev, &type, mf->buf + sizeof(*rh),
				       room);
	if (n < 0)
		return n;
	if (n > room)
		return -EOVERFLOW;
	if (!n) {
		if (!mf->stop_copy)
			return 0;
		/* The backend is done with STOP_COPY: close the stream. */
		type = QVP_REC_END;
		mf->end_queued = true;
	}
	qvp_record_header_build(rh, type, 0, mf->buf + sizeof(*rh), n);
	mf->len = QVP_REC_SIZE(n);
	return mf->len;
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
	while (done < count) {
		if (mf->pos == mf->len) {
			ret = qvp_save_fill(mf);
			if (ret <= 0)
				break;
		}
		n = min(count - done, mf->len - mf->pos);
		if (copy_to_user(ubuf + done, mf->buf + mf->pos, n)) {
			ret = -EFAULT;
			break;
		}
		mf->pos += n;
		mf->initial_left -= min_t(u64, mf->initial_left, n);
		mf->bytes += n;
		done += n;
	}
	if (ret < 0 && ret != -EFAULT)
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

/* Bytes a save session still has to give in PRE_COPY; @mf->lock held. */
static void qvp_precopy_sizes(struct qvp_mig_file *mf, u64 *initial,
			      u64 *dirty)
{
	struct qvp_device *qdev = mf->qdev;
	u64 unread = mf->len - mf->pos, bi = 0, bd = 0;

	if (qdev->backend->precopy_pending)
		qdev->backend->precopy_pending(qdev, &bi, &bd);
	*initial = mf->initial_left + bi;
	*dirty = unread - min(unread, mf->initial_left) + bd;
}

static long qvp_save_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	struct qvp_mig_file *mf = filp->private_data;
	struct qvp_device *qdev = mf->qdev;
	unsigned long minsz = offsetofend(struct vfio_precopy_info,
					  dirty_bytes);
	struct vfio_precopy_info info;
	long ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	qvp_state_lock(qdev);
	if (!qvp_is_precopy(qdev->mig_state)) {
		ret = -EINVAL;
		goto unlock;
	}
	mutex_lock(&mf->lock);
	if (mf->disabled)
		ret = -ENODEV;
	else
		qvp_precopy_sizes(mf, &info.initial_bytes, &info.dirty_bytes);
	mutex_unlock(&mf->lock);
unlock:
	qvp_state_unlock(qdev);
	if (ret)
		return ret;
	info.flags = 0;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
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
	} else if (mf->stop_copy || mf->pos < mf->len) {
		mask = EPOLLIN | EPOLLRDNORM;
	} else {
		qvp_precopy_sizes(mf, &initial, &dirty);
		if (initial || dirty)
			mask = EPOLLIN | EPOLLRDNORM;
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

static struct qvp_mig_file *qvp_alloc_file(struct qvp_device *qdev,
					   const struct file_operations *fops,
					   int flags, size_t buf_size)
{
	struct qvp_mig_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return ERR_PTR(-ENOMEM);
	mf->buf = kvzalloc(buf_size, GFP_KERNEL_ACCOUNT);
	if (!mf->buf) {
		kfree(mf);
		return ERR_PTR(-ENOMEM);
	}
	mf->buf_size = buf_size;
	mf->qdev = qdev;
	mutex_init(&mf->lock);
	init_waitqueue_head(&mf->waitq);
	get_device(&qdev->core.vdev.device);
	mf->filp = anon_inode_getfile("qemu_vfio_pci_mig", fops, mf, flags);
	if (IS_ERR(mf->filp)) {
		struct file *err = mf->filp;

		put_device(&qdev->core.vdev.device);
		mutex_destroy(&mf->lock);
		kvfree(mf->buf);
		kfree(mf);
		return ERR_CAST(err);
	}
	stream_open(mf->filp->f_inode, mf->filp);
	return mf;
}

/* The file returned to userspace carries a reference of its own. */
static struct file *qvp_session_file(struct qvp_mig_file *mf)
{
	get_file(mf->filp);
	return mf->filp;
}

static size_t qvp_max_record(const struct qvp_backend *be)
{
	size_t max = QVP_OPTIONAL_REC_MAX;
	unsigned int i;

	for (i = 0; i < be->nr_records; i++)
		max = max_t(size_t, max, be->records[i].max_len);
	return max;
}

static struct file *qvp_start_save(struct qvp_device *qdev, bool precopy)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	int ret;

	mf = qvp_alloc_file(qdev, &qvp_save_fops, O_RDONLY,
			    max_t(size_t, QVP_SAVE_BUF_SIZE,
				  QVP_REC_SIZE(qvp_max_record(be))));
	if (IS_ERR(mf))
		return ERR_CAST(mf);

	ret = be->save_begin ? be->save_begin(qdev, precopy) : 0;
	if (!ret && !precopy && be->save_stop)
		ret = be->save_stop(qdev);
	if (ret) {
		if (be->save_end)
			be->save_end(qdev);
		fput(mf->filp);
		return ERR_PTR(ret);
	}

	qvp_stream_header_build((void *)mf->buf, &qdev->id);
	mf->len = sizeof(struct qvp_stream_header);
	mf->initial_left = precopy ? mf->len : 0;
	mf->stop_copy = !precopy;
	qdev->save = mf;
	return qvp_session_file(mf);
}

/*
 * PRE_COPY(_P2P) -> STOP_COPY: quiesce the device and switch the session to
 * STOP_COPY, keeping its file.  The file lock keeps PRE_COPY reads out of
 * the backend meanwhile.
 */
static int qvp_save_enter_stop_copy(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf = qdev->save;
	int ret;

	mutex_lock(&mf->lock);
	ret = qvp_call(qdev, be->quiesce);
	if (!ret && be->save_stop)
		ret = be->save_stop(qdev);
	if (!ret) {
		mf->stop_copy = true;
		mf->initial_left = 0;
	}
	mutex_unlock(&mf->lock);
	wake_up_interruptible_all(&mf->waitq);
	return ret;
}

/*
 * Run a backend arc operation (@op may be NULL) on a device with a live
 * save session, under the session's file lock, so that it never overlaps
 * the session's read(), poll() or PRE_COPY info calls into the backend.
 */
static int qvp_save_session_op(struct qvp_device *qdev,
			       int (*op)(struct qvp_device *qdev))
{
	struct qvp_mig_file *mf = qdev->save;
	int ret;

	mutex_lock(&mf->lock);
	ret = qvp_call(qdev, op);
	mutex_unlock(&mf->lock);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Resume sessions                                                     */

static ssize_t qvp_resume_write(struct file *filp, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct qvp_mig_file *mf = filp->private_data;
	struct qvp_device *qdev = mf->qdev;
	struct qvp_parser *p = &mf->parser;
	size_t done = 0, want, n;
	ssize_t ret = 0;
	void *dst;

	if (ppos)
		return -ESPIPE;

	mutex_lock(&mf->lock);
	if (mf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	if (mf->error) {
		ret = mf->error;
		goto out;
	}
	while (done < count) {
		dst = qvp_parser_next(p, &want);
		n = min(want, count - done);
		if (copy_from_user(dst, ubuf + done, n)) {
			ret = done ? 0 : -EFAULT;
			break;
		}
		done += n;
		mf->bytes += n;
		ret = qvp_parser_commit(p, n);
		if (ret < 0) {
			dev_err_ratelimited(qvp_dev(qdev),
					    "resume stream refused at byte %llu: %s\n",
					    p->err_offset, p->why);
			mf->error = ret;
			break;
		}
		if (ret == QVP_PARSE_RECORD) {
			ret = qdev->backend->load_record(qdev, p->rec_type,
							 p->buf, p->rec_len);
			if (ret) {
				dev_err_ratelimited(qvp_dev(qdev),
						    "resume stream refused at byte %llu: bad %s record 0x%04x (%zd)\n",
						    p->offset, qdev->backend->name,
						    p->rec_type, ret);
				mf->error = ret;
				break;
			}
		}
	}
	if (ret >= 0)
		ret = done;
out:
	mutex_unlock(&mf->lock);
	return ret;
}

static __poll_t qvp_resume_poll(struct file *filp,
				struct poll_table_struct *wait)
{
	struct qvp_mig_file *mf = filp->private_data;
	__poll_t mask;

	poll_wait(filp, &mf->waitq, wait);
	mutex_lock(&mf->lock);
	mask = mf->disabled ? EPOLLERR | EPOLLHUP : EPOLLOUT | EPOLLWRNORM;
	mutex_unlock(&mf->lock);
	return mask;
}

/* VFIO_MIG_GET_PRECOPY_INFO is valid only in PRE_COPY states: -EINVAL. */
static long qvp_resume_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	return cmd == VFIO_MIG_GET_PRECOPY_INFO ? -EINVAL : -ENOTTY;
}

static const struct file_operations qvp_resume_fops = {
	.owner = THIS_MODULE,
	.write = qvp_resume_write,
	.unlocked_ioctl = qvp_resume_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = qvp_resume_poll,
	.release = qvp_file_release,
};

static struct file *qvp_start_resume(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	int ret;

	mf = qvp_alloc_file(qdev, &qvp_resume_fops, O_WRONLY,
			    qvp_max_record(be));
	if (IS_ERR(mf))
		return ERR_CAST(mf);
	qvp_parser_init(&mf->parser, &qdev->id, be->records, be->nr_records,
			mf->buf, mf->buf_size);

	ret = be->load_begin ? be->load_begin(qdev) : 0;
	if (ret) {
		if (be->load_end)
			be->load_end(qdev);
		fput(mf->filp);
		return ERR_PTR(ret);
	}
	qdev->resume = mf;
	return qvp_session_file(mf);
}

/* RESUMING -> STOP: the stream must be complete and good. */
static int qvp_finish_resume(struct qvp_device *qdev)
{
	struct qvp_mig_file *mf = qdev->resume;
	int ret;

	mutex_lock(&mf->lock);
	if (mf->error) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "RESUMING -> STOP refused: the stream was refused earlier (%d)\n",
				    mf->error);
		ret = -EINVAL;
	} else if (!qvp_parser_done(&mf->parser)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "RESUMING -> STOP refused: stream truncated after %llu bytes\n",
				    mf->bytes);
		ret = -EINVAL;
	} else {
		ret = qdev->backend->load_commit(qdev);
		if (ret)
			dev_err_ratelimited(qvp_dev(qdev),
					    "RESUMING -> STOP: loading the %s state failed (%d)\n",
					    qdev->backend->name, ret);
	}
	mutex_unlock(&mf->lock);
	qvp_end_resume(qdev);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The state machine                                                   */

#define ARC(a, b)	(((u32)(a) << 8) | (u32)(b))

/*
 * qvp_step - perform one arc of the FSM
 *
 * Returns the new data file (terminal states that start a session), NULL,
 * or an ERR_PTR.  On error the device stays in its current state, except
 * for a failed RESUMING -> STOP, which leaves it in ERROR.
 */
static struct file *qvp_step(struct qvp_device *qdev,
			     enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = qdev->mig_state;
	const struct qvp_backend *be = qdev->backend;
	int ret = 0;

	switch (ARC(cur, next)) {
	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P):
		ret = qvp_call(qdev, be->p2p_stop);
		break;

	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_RUNNING):
		ret = qvp_call(qdev, be->p2p_start);
		break;

	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P):
		ret = qvp_save_session_op(qdev, be->p2p_stop);
		break;

	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_PRE_COPY):
		ret = qvp_save_session_op(qdev, be->p2p_start);
		break;

	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_STOP):
		ret = qvp_call(qdev, be->quiesce);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING_P2P):
		ret = qvp_call(qdev, be->unquiesce);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY):
		return qvp_start_save(qdev, false);

	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_PRE_COPY):
	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_PRE_COPY_P2P):
		return qvp_start_save(qdev, true);

	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_STOP_COPY):
		ret = qvp_save_enter_stop_copy(qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RUNNING):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_RUNNING_P2P):
		qvp_end_save(qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING):
		return qvp_start_resume(qdev);

	case ARC(VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_STOP):
		ret = qvp_finish_resume(qdev);
		if (ret) {
			qdev->mig_state = VFIO_DEVICE_STATE_ERROR;
			ret = -EINVAL;
		}
		break;

	default:
		dev_err_ratelimited(qvp_dev(qdev),
				    "no migration arc from state %u to %u\n",
				    cur, next);
		ret = -EINVAL;
		break;
	}
	return ret ? ERR_PTR(ret) : NULL;
}

static struct file *qvp_set_state(struct vfio_device *vdev,
				  enum vfio_device_mig_state new_state)
{
	struct qvp_device *qdev = container_of(vdev, struct qvp_device,
					       core.vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	qvp_state_lock(qdev);
	if (qdev->mig_state == VFIO_DEVICE_STATE_ERROR &&
	    new_state != VFIO_DEVICE_STATE_ERROR) {
		/* vfio_mig_get_next_state() has no arc out of ERROR. */
		dev_err_ratelimited(qvp_dev(qdev),
				    "device is in the ERROR migration state; VFIO_DEVICE_RESET it\n");
		res = ERR_PTR(-EINVAL);
	}
	while (!res && qdev->mig_state != new_state) {
		ret = vfio_mig_get_next_state(vdev, qdev->mig_state,
					      new_state, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = qvp_step(qdev, next);
		if (IS_ERR(res))
			break;
		qdev->mig_state = next;
		if (!res)
			continue;
		if (next != new_state) {
			/* Only the requested end state may open a session. */
			dev_err_ratelimited(qvp_dev(qdev),
					    "arc to %u opened a session before reaching %u\n",
					    next, new_state);
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	qvp_state_unlock(qdev);
	return res;
}

static int qvp_get_state(struct vfio_device *vdev,
			 enum vfio_device_mig_state *state)
{
	struct qvp_device *qdev = container_of(vdev, struct qvp_device,
					       core.vdev);

	qvp_state_lock(qdev);
	*state = qdev->mig_state;
	qvp_state_unlock(qdev);
	return 0;
}

/*
 * Bytes that completing a STOP_COPY from now would produce: whatever the
 * open save session still holds (or a fresh stream header), the backend's
 * state, and the END record.
 */
static int qvp_get_data_size(struct vfio_device *vdev,
			     unsigned long *stop_copy_length)
{
	struct qvp_device *qdev = container_of(vdev, struct qvp_device,
					       core.vdev);
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	u64 size;

	qvp_state_lock(qdev);
	mf = qdev->save;
	if (mf) {
		mutex_lock(&mf->lock);
		size = mf->len - mf->pos;
		if (!mf->end_queued)
			size += be->stop_copy_size(qdev) + QVP_REC_SIZE(0);
		mutex_unlock(&mf->lock);
	} else {
		size = sizeof(struct qvp_stream_header) +
		       be->stop_copy_size(qdev) + QVP_REC_SIZE(0);
	}
	qvp_state_unlock(qdev);
	*stop_copy_length = size;
	return 0;
}

const struct vfio_migration_ops qvp_mig_ops = {
	.migration_set_state = qvp_set_state,
	.migration_get_state = qvp_get_state,
	.migration_get_data_size = qvp_get_data_size,
};
