/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: the migration protocol's own definitions, shared by its
 * units and by nothing else:
 *
 *   fsm.c      the state machine (arcs, set/get state, data size) and the
 *              device lifecycle entry points that the PCI glue calls
 *   save.c     save sessions: STOP_COPY, PRE_COPY*, PRECOPY_INFO
 *   resume.c   resume sessions: RESUMING
 *   bulk.c     the bytes of bulk records, between device and user
 *   session.c  what every session shares: the session file, ending it,
 *              the state lock and the deferred reset
 *
 * Calls go down this list and never up it; all of them may use
 * device.c (the MMIO bracket), the backend and the stream codec.
 */
#ifndef QVP_SESSION_H
#define QVP_SESSION_H

#include <linux/fs.h>
#include <linux/wait.h>

#include "qvp.h"

/**
 * struct qvp_mig_file - a save or resume session and its data file
 * @filp: the anon-inode file handed to userspace
 * @qdev: the device; the file holds a reference on it (the vfio device's
 *	struct device), so that a data fd kept after the device was closed
 *	or unbound still finds valid memory: read() and write() answer
 *	-ENODEV, VFIO_MIG_GET_PRECOPY_INFO -EINVAL (no longer PRE_COPY)
 * @lock: protects every field below and serialises read()/write()/poll()
 *	against arcs that end or change the session ("Lock order", qvp.h)
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
 * @reinit: save, PRE_COPY: the ioctl's scan started new initial data
 *	(only after the PRECOPY_INFOv2 opt-in) and no answer of
 *	VFIO_MIG_GET_PRECOPY_INFO has delivered VFIO_PRECOPY_INFO_REINIT
 *	for it yet
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
 * @decode_held: resume: a bulk store found memory decoding off, turned it
 *	on and left it on (qvp_bulk_write()); ending the session or closing
 *	its file gives the user's setting back (qvp_mmio_give_back_decode())
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
	bool reinit;
	u64 seed;
	struct qvp_bulk bulk;
	u32 bulk_pos;
	struct qvp_bulk_sum sum;
	u8 carry[8];
	unsigned int carry_pos;
	unsigned int carry_len;
	struct qvp_parser parser;
	int error;
	bool decode_held;
	u64 bytes;
	wait_queue_head_t waitq;
};

/* session.c */
void qvp_session_init(struct qvp_device *qdev);
void qvp_session_release(struct qvp_device *qdev);
void qvp_state_lock(struct qvp_device *qdev);
void qvp_state_unlock(struct qvp_device *qdev);
void qvp_mig_reset_state(struct qvp_device *qdev);
struct qvp_mig_file *qvp_alloc_file(struct qvp_device *qdev,
				    const struct file_operations *fops,
				    int flags, size_t buf_size,
				    work_func_t scan);
struct file *qvp_session_file(struct qvp_mig_file *mf);
int qvp_file_release(struct inode *inode, struct file *filp);
void qvp_session_give_back_decode(struct qvp_mig_file *mf);
void qvp_end_save(struct qvp_device *qdev);
void qvp_end_resume(struct qvp_device *qdev);
size_t qvp_max_record(const struct qvp_backend *be);

/* save.c */
struct file *qvp_start_save(struct qvp_device *qdev, bool precopy);
int qvp_save_enter_stop_copy(struct qvp_device *qdev);
int qvp_save_session_op(struct qvp_device *qdev,
			int (*op)(struct qvp_device *qdev));
u64 qvp_save_data_size(struct qvp_device *qdev);

/* resume.c */
struct file *qvp_start_resume(struct qvp_device *qdev);
int qvp_finish_resume(struct qvp_device *qdev);

/* bulk.c */
ssize_t qvp_bulk_read(struct qvp_mig_file *mf, char __user *ubuf,
		      size_t count);
ssize_t qvp_bulk_write(struct qvp_mig_file *mf, const char __user *ubuf,
		       size_t count);

#endif /* QVP_SESSION_H */
