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
 * the same file and stream.  A bulk record puts only its header and head
 * in the transfer buffer; its data goes from device memory straight to
 * the reader's buffer, hashed on the way (bulk.c), and its check follows
 * through the transfer buffer again.
 *
 * Data flow of a resume session: write() copies user bytes straight to
 * where the stream parser wants them; each verified record goes to the
 * backend; bulk data goes straight to the device memory that the backend
 * names for it, hashed on the way, and the parser then verifies its
 * check.  RESUMING -> STOP requires the END record and commits.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "bulk.h"
#include "qvp.h"

#define QVP_SCAN_MIN_MS		10
#define QVP_SCAN_MAX_MS		60000
/* A scan takes at most 1/(1 + QVP_SCAN_DUTY) of the time, however asked. */
#define QVP_SCAN_DUTY		4

/*
 * PRE_COPY, for a backend that finds changes by reading its state
 * (precopy_scan): the least time between the end of one scan and the
 * start of the next, however often userspace asks.  The gap is also at
 * least QVP_SCAN_DUTY times the last scan's length, so that a large
 * device is not read over and over by a caller (QEMU) that calls read()
 * on every iteration of its migration loop.
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
 * @buf: save: framed bytes not yet read; resume: parser record buffer.
 *	Sized for the largest plain record: bulk data never passes here
 * @buf_size: capacity of @buf
 * @pos: save: first unread byte in @buf
 * @len: save: bytes in @buf
 * @initial_left: save, PRE_COPY: bytes framed or in transit that belong
 *	to the initial data (the stream header, the backend's records marked
 *	initial) and that no read() has taken yet; never more than
 *	qvp_save_unread()
 * @next_scan: save, PRE_COPY: jiffies before which the ioctl does not call
 *	precopy_scan again (precopy_scan_ms after the last scan's end)
 * @next_busy_scan: the same for read() and the scan work, which a caller
 *	may drive on every loop: also at least QVP_SCAN_DUTY times the last
 *	scan's length after its end
 * @scan_work: save, PRE_COPY: scans for a poll() waiter (qvp_scan_work())
 * @seed: save: the stream's seed (in its header; keys the bulk checks),
 *	chosen by the backend's save_begin
 * @bulk: the bulk record whose data is in transit (@bulk.len 0: none)
 * @bulk_pos: bytes of @bulk's data moved to or from the device so far
 * @sum: save: @bulk's check so far (a resume's is in @parser)
 * @carry: a word of bulk data in transit in pieces: save, read from the
 *	device and given to the reader from @carry_pos on; resume, gathered
 *	from the writer until @carry_len reaches 8
 * @carry_pos: save: bytes of @carry already read
 * @carry_len: bytes in @carry
 * @parser: resume: the stream parser
 * @error: resume: sticky -errno of the first bad write()
 * @bytes: bytes read or written so far, for messages
 * @waitq: poll() waiters; woken when the session changes phase or ends,
 *	and when a scan finds changes
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
	unsigned long next_scan;
	unsigned long next_busy_scan;
	struct delayed_work scan_work;
	u64 seed;
	struct qvp_bulk bulk;
	u32 bulk_pos;
	struct qvp_bulk_sum sum;
	u8 carry[8];
	unsigned int carry_pos;
	unsigned int carry_len;
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
	lockdep_assert_held(&mf->qdev->state_mutex);
	mutex_lock(&mf->lock);
	mf->disabled = true;
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
	if (qdev->backend->unhold)
		qdev->backend->unhold(qdev);
	qdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
}

static int qvp_file_release(struct inode *inode, struct file *filp)
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

/* ------------------------------------------------------------------ */
/* Save sessions                                                       */

/*
 * Frame the next record in the transfer buffer: a whole plain record, or
 * the header and head of a bulk record, whose data then comes from
 * qvp_save_bulk().  A PRE_COPY record that the backend marks initial
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

/*
 * The reader's pointer is fit for whole-word stores.  Some architectures
 * cannot store a word to an unaligned address; those get bulk data a word
 * at a time through @carry instead.
 */
static bool qvp_word_ok(const void __user *p)
{
	return IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS) ||
	       IS_ALIGNED((unsigned long)p, 8);
}

/*
 * Give the reader bytes of the bulk record in transit: what is left of a
 * word in @carry, else data copied straight from the device, else the
 * check, which goes to the transfer buffer and ends the bulk data.
 *
 * The straight copy runs with page faults disabled (bulk.c).  When it
 * cannot store even the first word (its page is not present, or the word
 * straddles into a page that cannot take it), that word goes to @carry
 * and from there by copy_to_user() outside the MMIO bracket, which faults
 * the page in or fails with -EFAULT: every call makes progress.
 *
 * @mf->lock held.  Returns the bytes given (0 when it only moved data to
 * @carry or queued the check), or -errno.
 */
static ssize_t qvp_save_bulk(struct qvp_mig_file *mf, char __user *ubuf,
			     size_t count)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_bulk *b = &mf->bulk;
	size_t n = 0, words;
	__le64 check;
	u64 raw;
	u16 set;

	lockdep_assert_held(&mf->lock);

	if (mf->carry_pos < mf->carry_len) {
		n = min_t(size_t, count, mf->carry_len - mf->carry_pos);
		n -= copy_to_user(ubuf, mf->carry + mf->carry_pos, n);
		if (!n)
			return -EFAULT;
		mf->carry_pos += n;
		return n;
	}
	if (mf->bulk_pos == b->len) {
		check = cpu_to_le64(qvp_bulk_finish_out(b, &mf->sum));
		memcpy(mf->buf, &check, sizeof(check));
		mf->pos = 0;
		mf->len = sizeof(check);
		b->len = 0;
		return 0;
	}
	words = min_t(size_t, count, b->len - mf->bulk_pos) / 8;
	if (!qvp_word_ok(ubuf))
		words = 0;
	set = qvp_mmio_begin(qdev);
	if (words)
		n = qvp_bulk_copy_out(b, mf->bulk_pos, &mf->sum,
				      (u64 __user *)ubuf, words) * 8;
	if (!n)
		qvp_bulk_word_out(b, mf->bulk_pos, &mf->sum, &raw);
	qvp_mmio_end(qdev, set);
	if (!n) {
		memcpy(mf->carry, &raw, sizeof(raw));
		mf->carry_pos = 0;
		mf->carry_len = sizeof(raw);
		mf->bulk_pos += sizeof(raw);
		return 0;
	}
	mf->bulk_pos += n;
	return n;
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
 * not framed yet of its first pass; dirty, the rest.  From what is known
 * now: no scan.  @mf->lock held.
 */
static void qvp_precopy_sizes(struct qvp_mig_file *mf, u64 *initial,
			      u64 *dirty)
{
	struct qvp_device *qdev = mf->qdev;
	u64 unread = qvp_save_unread(mf), bi = 0, bd = 0;

	lockdep_assert_held(&mf->lock);

	if (qdev->backend->precopy_pending)
		qdev->backend->precopy_pending(qdev, &bi, &bd);
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
 * Wakes poll() waiters when the scan found changes.  @mf->lock held.
 * Returns true if it scanned.
 */
static bool qvp_precopy_scan(struct qvp_mig_file *mf, bool ioctl)
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
	qdev->backend->precopy_scan(qdev);
	interval = msecs_to_jiffies(READ_ONCE(precopy_scan_ms));
	mf->next_scan = jiffies + interval;
	mf->next_busy_scan = jiffies +
			     max(interval, QVP_SCAN_DUTY * (jiffies - start));
	qvp_precopy_sizes(mf, &initial, &dirty);
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
		qvp_precopy_scan(mf, false);
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
			ret = qvp_save_bulk(mf, ubuf + done, count - done);
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
			if (!ret && !done && qvp_precopy_scan(mf, false))
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
		qvp_state_unlock(qdev);
		return -EINVAL;
	}
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
		qvp_precopy_scan(mf, true);
		qvp_precopy_sizes(mf, &info.initial_bytes, &info.dirty_bytes);
	}
	mutex_unlock(&mf->lock);
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

static struct qvp_mig_file *qvp_alloc_file(struct qvp_device *qdev,
					   const struct file_operations *fops,
					   int flags, size_t buf_size)
{
	struct qvp_mig_file *mf;
	struct file *filp;
	int ret = -ENOMEM;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		goto err;
	mf->buf = kvzalloc(buf_size, GFP_KERNEL_ACCOUNT);
	if (!mf->buf)
		goto err_free_mf;
	mf->buf_size = buf_size;
	mf->qdev = qdev;
	mutex_init(&mf->lock);
	init_waitqueue_head(&mf->waitq);
	INIT_DELAYED_WORK(&mf->scan_work, qvp_scan_work);
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
	return ERR_PTR(ret);
}

/* The file returned to userspace carries a reference of its own. */
static struct file *qvp_session_file(struct qvp_mig_file *mf)
{
	get_file(mf->filp);
	return mf->filp;
}

/* The largest plain record payload: what @buf must hold. */
static size_t qvp_max_record(const struct qvp_backend *be)
{
	size_t max = QVP_OPTIONAL_REC_MAX;
	unsigned int i;

	for (i = 0; i < be->nr_records; i++)
		if (!be->records[i].bulk)
			max = max_t(size_t, max, be->records[i].max_len);
	return max;
}

static struct file *qvp_start_save(struct qvp_device *qdev, bool precopy)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	int ret;

	mf = qvp_alloc_file(qdev, &qvp_save_fops, O_RDONLY,
			    QVP_REC_SIZE(qvp_max_record(be)));
	if (IS_ERR(mf))
		return ERR_CAST(mf);

	ret = be->save_begin ? be->save_begin(qdev, precopy, &mf->seed) : 0;
	if (!ret && !precopy && be->save_stop)
		ret = be->save_stop(qdev);
	if (ret) {
		if (be->save_end)
			be->save_end(qdev);
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
	if (!ret && be->save_stop) {
		ret = be->save_stop(qdev);
		/* The arc fails: PRE_COPY_P2P again, so the device runs. */
		if (ret)
			qvp_call(qdev, be->unquiesce);
	}
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

/*
 * Store up to @count bytes of the bulk data the parser expects: straight
 * to the device while whole words come, through @carry otherwise.  As for
 * a save, a word that the straight copy (page faults disabled) cannot
 * load goes through @carry by copy_from_user(), outside the MMIO bracket,
 * which faults its page in or fails.  @mf->lock held.  Returns the bytes
 * taken (at least one), or -errno.
 */
static ssize_t qvp_resume_bulk(struct qvp_mig_file *mf,
			       const char __user *ubuf, size_t count)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_bulk_sum *s = &mf->parser.bulk_sum;
	size_t n, words = count / 8;
	u64 raw;
	u16 set;

	lockdep_assert_held(&mf->lock);

	if (!mf->carry_len && words && qvp_word_ok(ubuf)) {
		set = qvp_mmio_begin(qdev);
		n = qvp_bulk_copy_in(&mf->bulk, mf->bulk_pos, s,
				     (const u64 __user *)ubuf, words) * 8;
		qvp_mmio_end(qdev, set);
		mf->bulk_pos += n;
		if (n)
			return n;
	}
	n = min_t(size_t, count, sizeof(raw) - mf->carry_len);
	n -= copy_from_user(mf->carry + mf->carry_len, ubuf, n);
	if (!n)
		return -EFAULT;
	mf->carry_len += n;
	if (mf->carry_len < sizeof(raw))
		return n;
	memcpy(&raw, mf->carry, sizeof(raw));
	set = qvp_mmio_begin(qdev);
	qvp_bulk_word_in(&mf->bulk, mf->bulk_pos, s, raw);
	qvp_mmio_end(qdev, set);
	mf->bulk_pos += sizeof(raw);
	mf->carry_len = 0;
	return n;
}

/* The parser announced bulk data: ask the backend where it goes. */
static int qvp_resume_bulk_begin(struct qvp_mig_file *mf)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_parser *p = &mf->parser;
	void __iomem *mem = NULL;
	int ret = -EINVAL;

	if (qdev->backend->load_bulk)
		ret = qdev->backend->load_bulk(qdev, p->rec_type,
					       p->bulk_offset, p->bulk_len,
					       &mem);
	if (ret)
		return ret;
	mf->bulk = (struct qvp_bulk){
		.offset = p->bulk_offset,
		.mem = mem,
		.len = p->bulk_len,
	};
	mf->bulk_pos = 0;
	mf->carry_len = 0;
	return 0;
}

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
		if (!dst) {
			ret = qvp_resume_bulk(mf, ubuf + done, n);
			if (ret < 0) {
				if (done)
					ret = 0;
				break;
			}
			n = ret;
		} else if (copy_from_user(dst, ubuf + done, n)) {
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
		} else if (ret == QVP_PARSE_BULK) {
			ret = qvp_resume_bulk_begin(mf);
			if (ret) {
				dev_err_ratelimited(qvp_dev(qdev),
						    "resume stream refused at byte %llu: bad %s record 0x%04x at offset 0x%llx, %u bytes (%zd)\n",
						    p->offset, qdev->backend->name,
						    p->rec_type, p->bulk_offset,
						    p->bulk_len, ret);
				mf->error = ret;
				break;
			}
			/* A long write() lets others run between records. */
			cond_resched();
			if (fatal_signal_pending(current))
				break;
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

/**
 * qvp_step - perform one arc of the FSM
 * @qdev: the device
 * @next: the state one arc away from @qdev->mig_state
 *
 * On error the device stays in its current state, except for a failed
 * RESUMING -> STOP, which leaves it in ERROR.
 *
 * Context: state_mutex held.
 * Return: the new data file (arcs that start a session), NULL, or an
 * ERR_PTR().
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
		/*
		 * vfio_mig_get_next_state() refuses what the device does not
		 * support and splits the rest into these arcs: any other is
		 * a bug in the driver or the core, not bad input.
		 */
		WARN_ONCE(1, "%s: no migration arc from state %u to %u\n",
			  dev_name(qvp_dev(qdev)), cur, next);
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
		size = qvp_save_unread(mf);
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
