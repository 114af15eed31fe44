// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: resume sessions (RESUMING).
 *
 * write() copies user bytes straight to where the stream parser wants
 * them; each verified record goes to the backend; a bulk record's data
 * goes straight to the device memory that the backend names for it
 * (bulk.c), and the parser then verifies its check.  A refused stream is
 * refused for good (the session's @error), and RESUMING -> STOP commits
 * only a complete stream that nothing refused.
 */
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "session.h"

/* The parser announced bulk data: ask the backend where it goes. */
static int qvp_resume_bulk_begin(struct qvp_mig_file *mf)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_parser *p = &mf->parser;
	void __iomem *mem = NULL;
	int ret;

	ret = qdev->backend->load_bulk(qdev, p->rec_type, p->bulk_offset,
				       p->bulk_len, &mem);
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

/*
 * Commit @n bytes to the parser and hand what they complete to the
 * backend: a verified plain record, or a bulk record's head (the backend
 * says where its data goes).  A refusal is logged and sticks in
 * @mf->error.  @mf->lock held.  Returns the parser's verdict (0,
 * QVP_PARSE_RECORD or QVP_PARSE_BULK) or -errno.
 */
static int qvp_resume_commit(struct qvp_mig_file *mf, size_t n)
{
	struct qvp_device *qdev = mf->qdev;
	struct qvp_parser *p = &mf->parser;
	int ret, err = 0;

	ret = qvp_parser_commit(p, n);
	if (ret < 0 && p->why_has_val) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "resume stream refused at byte %llu: %s %llu\n",
				    p->err_offset, p->why, p->why_val);
	} else if (ret < 0) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "resume stream refused at byte %llu: %s\n",
				    p->err_offset, p->why);
	} else if (ret == QVP_PARSE_RECORD) {
		err = qdev->backend->load_record(qdev, p->rec_type, p->buf,
						 p->rec_len);
		if (err)
			dev_err_ratelimited(qvp_dev(qdev),
					    "resume stream refused at byte %llu: bad %s record 0x%04x (%d)\n",
					    p->offset, qdev->backend->name,
					    p->rec_type, err);
	} else if (ret == QVP_PARSE_BULK) {
		err = qvp_resume_bulk_begin(mf);
		if (err)
			dev_err_ratelimited(qvp_dev(qdev),
					    "resume stream refused at byte %llu: bad %s record 0x%04x at offset 0x%llx, %u bytes (%d)\n",
					    p->offset, qdev->backend->name,
					    p->rec_type, p->bulk_offset,
					    p->bulk_len, err);
	}
	/* A backend answers 0 or -errno; anything else is a driver bug. */
	if (err)
		ret = WARN_ON_ONCE(err > 0) ? -EINVAL : err;
	if (ret < 0)
		mf->error = ret;
	return ret;
}

static ssize_t qvp_resume_write(struct file *filp, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct qvp_mig_file *mf = filp->private_data;
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
			ret = qvp_bulk_write(mf, ubuf + done, n);
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
		ret = qvp_resume_commit(mf, n);
		if (ret < 0)
			break;
		if (ret == QVP_PARSE_BULK) {
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

/*
 * A close of the data fd: memory decoding that the session's stores held
 * on goes back to the user's setting now, not at the next arc, reset or
 * close of the device, which a user that gave up on a load may not make
 * for a while.  A later write() through another fd of the same file holds
 * it again.  The file lock makes a close() wait for a write() in progress
 * through another fd (as any call on the file does).
 */
static int qvp_resume_flush(struct file *filp, fl_owner_t id)
{
	struct qvp_mig_file *mf = filp->private_data;

	mutex_lock(&mf->lock);
	qvp_session_give_back_decode(mf);
	mutex_unlock(&mf->lock);
	return 0;
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
	.flush = qvp_resume_flush,
	.release = qvp_file_release,
};

/**
 * qvp_start_resume - STOP -> RESUMING: start a resume session
 * @qdev: the device
 *
 * Context: state_mutex held.
 * Return: the session's file for userspace, or an ERR_PTR().  On error
 * there is no session and the backend was told (load_end).
 */
struct file *qvp_start_resume(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct qvp_mig_file *mf;
	int ret;

	mf = qvp_alloc_file(qdev, &qvp_resume_fops, O_WRONLY,
			    qvp_max_record(be), NULL);
	if (IS_ERR(mf))
		return ERR_CAST(mf);
	qvp_parser_init(&mf->parser, &qdev->id, be->records, be->nr_records,
			mf->buf, mf->buf_size);

	ret = qvp_call(be->load_begin, qdev);
	if (ret) {
		qvp_call(be->load_end, qdev);
		fput(mf->filp);
		return ERR_PTR(ret);
	}
	qdev->resume = mf;
	return qvp_session_file(mf);
}

/**
 * qvp_finish_resume - RESUMING -> STOP: commit a complete, good stream
 * @qdev: the device, with a resume session
 *
 * Ends the session whatever the outcome.
 *
 * Context: state_mutex held.
 * Return: 0, or -errno: the stream was refused or is incomplete, or the
 * backend could not load it.
 */
int qvp_finish_resume(struct qvp_device *qdev)
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
