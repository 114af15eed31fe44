// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: what every migration session shares.
 *
 * A session (save or resume) is a struct qvp_mig_file and the anon-inode
 * file that userspace reads or writes; the device holds at most one of
 * each kind (qvp_device.save, .resume).  This unit creates the file,
 * ends a session (its file then answers -ENODEV, the backend is told),
 * frees it when the last reference goes, and owns the state lock with
 * the deferred reset that every state_mutex holder applies first.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "session.h"

/**
 * qvp_state_lock - take state_mutex and apply a pending PCI reset
 * @qdev: the device
 *
 * Every state_mutex holder enters through here, so nobody sees the
 * migration state of before a reset that qvp_mig_reset_done() has recorded:
 * if one is pending, qvp_mig_reset_state() ends the sessions and returns
 * to RUNNING before this returns.
 *
 * Context: process context, may sleep.  Takes state_mutex, the first lock
 * of the driver's lock order ("Lock order", qvp.h); release it with
 * qvp_state_unlock().
 */
void qvp_state_lock(struct qvp_device *qdev)
{
	bool reset;

	mutex_lock(&qdev->state_mutex);
	spin_lock(&qdev->reset_lock);
	reset = qdev->deferred_reset;
	qdev->deferred_reset = false;
	spin_unlock(&qdev->reset_lock);
	if (reset)
		qvp_mig_reset_state(qdev);
}

/**
 * qvp_state_unlock - release state_mutex
 * @qdev: the device
 *
 * A reset recorded meanwhile is applied by the next qvp_state_lock(),
 * which the reset's work item makes sure comes soon.
 *
 * Context: state_mutex held, taken by qvp_state_lock().
 */
void qvp_state_unlock(struct qvp_device *qdev)
{
	mutex_unlock(&qdev->state_mutex);
}

static void qvp_reset_work(struct work_struct *work)
{
	struct qvp_device *qdev = container_of(work, struct qvp_device,
					       reset_work);

	qvp_state_lock(qdev);
	qvp_state_unlock(qdev);
}

/**
 * qvp_mig_reset_done - record that the PCI core reset the device
 * @qdev: the device
 *
 * For the pci_error_handlers .reset_done of an FLR, a bus reset, ...
 * vfio-pci-core calls that with its memory_lock held.  Ending the
 * sessions takes their file locks, and a read() may hold a file lock
 * while copy_to_user() faults on a BAR mmap, which needs memory_lock:
 * applying the reset here could deadlock, and so could sleeping on
 * state_mutex, whose holders may wait for memory_lock.  So this only
 * records the reset: the next qvp_state_lock() applies it, and a work
 * item makes sure one comes soon.
 *
 * Context: process context, possibly with vfio-pci-core's memory_lock
 * held; does not sleep.
 */
void qvp_mig_reset_done(struct qvp_device *qdev)
{
	spin_lock(&qdev->reset_lock);
	qdev->deferred_reset = true;
	spin_unlock(&qdev->reset_lock);
	schedule_work(&qdev->reset_work);
}

/**
 * qvp_session_init - set up the state lock and the deferred reset
 * @qdev: the device, being initialised
 */
void qvp_session_init(struct qvp_device *qdev)
{
	mutex_init(&qdev->state_mutex);
	spin_lock_init(&qdev->reset_lock);
	INIT_WORK(&qdev->reset_work, qvp_reset_work);
}

/**
 * qvp_session_release - undo qvp_session_init()
 * @qdev: the device, being freed: no file or caller can reach it
 *
 * Context: process context, may sleep (waits for the reset work).
 */
void qvp_session_release(struct qvp_device *qdev)
{
	cancel_work_sync(&qdev->reset_work);
	mutex_destroy(&qdev->state_mutex);
}

/**
 * qvp_session_give_back_decode - end the session's hold on memory decoding
 * @mf: the session
 *
 * Memory decoding that the session's bulk stores kept on
 * (qvp_bulk_write()) goes back to the user's setting; nothing if they
 * hold none.
 *
 * Context: @mf->lock held; takes igate and memory_lock.
 */
void qvp_session_give_back_decode(struct qvp_mig_file *mf)
{
	lockdep_assert_held(&mf->lock);
	if (!mf->decode_held)
		return;
	qvp_mmio_give_back_decode(mf->qdev);
	mf->decode_held = false;
}

/* Disable a session file (and its hold on decoding); state_mutex held. */
static void qvp_disable_file(struct qvp_mig_file *mf)
{
	lockdep_assert_held(&mf->qdev->state_mutex);
	mutex_lock(&mf->lock);
	mf->disabled = true;
	qvp_session_give_back_decode(mf);
	kvfree(mf->buf);
	mf->buf = NULL;
	mf->pos = 0;
	mf->len = 0;
	mf->bulk.len = 0;
	mf->carry_pos = 0;
	mf->carry_len = 0;
	mutex_unlock(&mf->lock);
	wake_up_interruptible_all(&mf->waitq);
	/* Not rearmed: it checks @disabled under the lock. */
	cancel_delayed_work_sync(&mf->scan_work);
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
	qvp_call(backend_end, qdev);
	fput(mf->filp);
	*slot = NULL;
}

/**
 * qvp_end_save - end the save session, if there is one
 * @qdev: the device
 *
 * Its file answers -ENODEV from now on; the backend's save_end runs.
 *
 * Context: state_mutex held; may sleep.
 */
void qvp_end_save(struct qvp_device *qdev)
{
	qvp_end_session(qdev, &qdev->save, qdev->backend->save_end);
}

/**
 * qvp_end_resume - end the resume session, if there is one
 * @qdev: the device
 *
 * Its file answers -ENODEV from now on; the backend's load_end runs.
 *
 * Context: state_mutex held; may sleep.
 */
void qvp_end_resume(struct qvp_device *qdev)
{
	qvp_end_session(qdev, &qdev->resume, qdev->backend->load_end);
}

/**
 * qvp_mig_reset_state - end every session and return to RUNNING
 * @qdev: the device
 *
 * Disables the save and resume session files (they return -ENODEV from
 * now on) and tells the backend that they ended, lets the backend give
 * back what it held back (&struct qvp_backend.unhold), and sets the
 * migration state to RUNNING without running the arcs.  Used on open,
 * close, VFIO_DEVICE_RESET and a deferred PCI reset.
 *
 * Context: state_mutex held; may sleep (takes the session file locks and
 * waits for their scan work).
 */
void qvp_mig_reset_state(struct qvp_device *qdev)
{
	lockdep_assert_held(&qdev->state_mutex);
	qvp_end_save(qdev);
	qvp_end_resume(qdev);
	qvp_call(qdev->backend->unhold, qdev);
	qdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
}

/**
 * qvp_file_release - free a session when its file goes
 * @inode: the file's inode
 * @filp: the file
 *
 * The .release of both kinds of session file.
 *
 * Return: 0.
 */
int qvp_file_release(struct inode *inode, struct file *filp)
{
	struct qvp_mig_file *mf = filp->private_data;

	/* The session holds a reference of its own, so it has ended by now. */
	cancel_delayed_work_sync(&mf->scan_work);
	put_device(&mf->qdev->core.vdev.device);
	mutex_destroy(&mf->lock);
	kvfree(mf->buf);
	kfree(mf);
	return 0;
}

/*
 * The scan work of a session that never scans (a resume): never queued,
 * it gives qvp_disable_file() and qvp_file_release() a work item that
 * cancel_delayed_work_sync() accepts (it WARNs on one without a function).
 */
static void qvp_no_scan(struct work_struct *work)
{
}

/**
 * qvp_alloc_file - a new session and its data file
 * @qdev: the device
 * @fops: the file's operations
 * @flags: O_RDONLY (save) or O_WRONLY (resume)
 * @buf_size: bytes of the session's transfer buffer (&qvp_mig_file.buf)
 * @scan: the session's scan work function, or NULL if it never scans
 *
 * The session holds a reference on the vfio device (see
 * &qvp_mig_file.qdev) and on its file; the caller either makes it the
 * device's session and gives userspace qvp_session_file(), or drops it
 * with fput(&qvp_mig_file.filp).
 *
 * Context: process context, may sleep.
 * Return: the session, or an ERR_PTR().
 */
struct qvp_mig_file *qvp_alloc_file(struct qvp_device *qdev,
				    const struct file_operations *fops,
				    int flags, size_t buf_size,
				    work_func_t scan)
{
	struct qvp_mig_file *mf;
	struct file *filp;
	int ret = -ENOMEM;

	mf = kzalloc(sizeof(*mf), QVP_GFP_SESSION);
	if (!mf)
		goto err;
	mf->buf = kvzalloc(buf_size, QVP_GFP_SESSION);
	if (!mf->buf)
		goto err_free_mf;
	mf->buf_size = buf_size;
	mf->qdev = qdev;
	mutex_init(&mf->lock);
	init_waitqueue_head(&mf->waitq);
	INIT_DELAYED_WORK(&mf->scan_work, scan ?: qvp_no_scan);
	mf->next_scan = jiffies;
	mf->next_busy_scan = jiffies;
	get_device(&qdev->core.vdev.device);
	filp = anon_inode_getfile("qemu_vfio_pci_mig", fops, mf, flags);
	if (IS_ERR(filp)) {
		ret = PTR_ERR(filp);
		goto err_put_device;
	}
	mf->filp = filp;
	stream_open(filp->f_inode, filp);
	return mf;

err_put_device:
	put_device(&qdev->core.vdev.device);
	mutex_destroy(&mf->lock);
	kvfree(mf->buf);
err_free_mf:
	kfree(mf);
err:
	dev_warn_ratelimited(qvp_dev(qdev),
			     "no migration session (%zu-byte buffer): %pe%s\n",
			     buf_size, ERR_PTR(ret), ret == -ENOMEM ?
			     ", out of memory or the caller's memory cgroup at its limit" : "");
	return ERR_PTR(ret);
}

/**
 * qvp_session_file - the session's file, for userspace
 * @mf: the session
 *
 * Return: @mf's file with a reference of its own, which the file
 * descriptor that vfio installs owns.
 */
struct file *qvp_session_file(struct qvp_mig_file *mf)
{
	get_file(mf->filp);
	return mf->filp;
}

/**
 * qvp_max_record - the largest plain record payload of a backend
 * @be: the backend
 *
 * Return: what &qvp_mig_file.buf must hold for @be's plain records and
 * for an unknown optional record that a resume skips.
 */
size_t qvp_max_record(const struct qvp_backend *be)
{
	size_t max = QVP_OPTIONAL_REC_MAX;
	unsigned int i;

	for (i = 0; i < be->nr_records; i++)
		if (!be->records[i].bulk)
			max = max_t(size_t, max, be->records[i].max_len);
	return max;
}
