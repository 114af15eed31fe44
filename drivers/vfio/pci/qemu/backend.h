/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the device-agnostic migration layer (migration.c)
 * and a device backend (edu.c, ...).
 *
 * A backend knows its device's registers and memory; it knows nothing of
 * file descriptors, the VFIO state machine or the stream framing.  To port
 * the driver to a new device, write one backend and add it to
 * qvp_backends[] in main.c.  Documentation/driver-api/vfio/qemu-vfio-pci-porting.rst
 * explains what each operation must guarantee.
 */
#ifndef QVP_BACKEND_H
#define QVP_BACKEND_H

#include <linux/types.h>
#include "stream.h"

struct qvp_device;

/**
 * struct qvp_backend - operations of one device model
 * @name: short name, used in log messages
 * @id: QVP_BACKEND_* written to and required in the stream header
 * @vendor: PCI vendor ID this backend drives
 * @device: PCI device ID this backend drives
 * @priv_size: bytes of private state allocated per device (qvp_priv())
 * @records: record types that @load_record accepts, with their lengths
 * @nr_records: entries in @records
 * @open: the device was opened by userspace and enabled; map what is
 *	needed.  Device registers keep their values.
 * @close: undo @open
 * @p2p_stop: optional; RUNNING -> RUNNING_P2P and PRE_COPY -> PRE_COPY_P2P:
 *	stop initiating peer-to-peer DMA (keep answering it)
 * @p2p_start: optional; the reverse arcs of @p2p_stop
 * @quiesce: RUNNING_P2P -> STOP and PRE_COPY_P2P -> STOP_COPY.  Wait
 *	(bounded) until the device has finished work in flight and will not
 *	change its state by itself.  Return -ETIMEDOUT if it does not; the
 *	arc then fails and the device stays where it was.
 * @unquiesce: optional; STOP -> RUNNING_P2P: let the device run again
 * @reset: put every register back to its power-on value (VFIO_DEVICE_RESET)
 * @stop_copy_size: bytes (records with their headers) that a STOP_COPY
 *	would still produce; an estimate is fine
 * @save_begin: a save session starts; @precopy is true for PRE_COPY
 * @save_stop: the device is quiesced and the session enters STOP_COPY;
 *	capture the state that must now be sent
 * @save_record: produce the payload of the next record of the current
 *	phase into @buf (at most @size bytes), set *@type and return its
 *	length; return 0 when the phase has nothing more to send.  @size is
 *	at least the largest @max_len in @records, so a backend with large
 *	state sizes its records to bound the session's memory
 * @precopy_pending: bytes of records that PRE_COPY reads would produce
 *	now: *@initial for the first pass, *@dirty for changes since.  May
 *	do real work to find out (ivshmem reads its memory to find changed
 *	pages), so it should be exact rather than cheap
 * @save_end: the save session ended (any reason); free what it held
 * @load_begin: a resume session starts
 * @load_record: a record whose checksum was verified: validate it and stage
 *	it (small state), or apply it (large memory), return 0 or -errno
 * @load_commit: RESUMING -> STOP with a complete stream: apply what was
 *	staged.  Must check everything that can fail before the first
 *	register write.
 * @load_end: the resume session ended (any reason); free what it held
 *
 * Locking:
 *  - @open and @close run in open_device/close_device, which vfio
 *    serialises with everything else on the device;
 *  - the arc and reset operations (@p2p_stop .. @reset, @save_begin,
 *    @save_stop, @save_end, @load_begin, @load_commit, @load_end) and
 *    @stop_copy_size run with qvp_device.state_mutex held;
 *  - @save_record, @precopy_pending and @load_record run from read(),
 *    write(), poll() and the PRE_COPY info ioctl with the session file's
 *    lock held, and possibly without state_mutex.  The arcs taken with a
 *    live session (PRE_COPY <-> PRE_COPY_P2P, PRE_COPY_P2P -> STOP_COPY
 *    and every end of a session) run their operations under that file
 *    lock too, so these never overlap an operation on the same session.
 */
struct qvp_backend {
	const char *name;
	u8 id;
	u16 vendor;
	u16 device;
	size_t priv_size;
	const struct qvp_rec_desc *records;
	unsigned int nr_records;

	int (*open)(struct qvp_device *qdev);
	void (*close)(struct qvp_device *qdev);
	int (*p2p_stop)(struct qvp_device *qdev);
	int (*p2p_start)(struct qvp_device *qdev);
	int (*quiesce)(struct qvp_device *qdev);
	int (*unquiesce)(struct qvp_device *qdev);
	int (*reset)(struct qvp_device *qdev);
	size_t (*stop_copy_size)(struct qvp_device *qdev);

	int (*save_begin)(struct qvp_device *qdev, bool precopy);
	int (*save_stop)(struct qvp_device *qdev);
	ssize_t (*save_record)(struct qvp_device *qdev, u16 *type, void *buf,
			       size_t size);
	void (*precopy_pending)(struct qvp_device *qdev, u64 *initial,
				u64 *dirty);
	void (*save_end)(struct qvp_device *qdev);

	int (*load_begin)(struct qvp_device *qdev);
	int (*load_record)(struct qvp_device *qdev, u16 type, const void *buf,
			   u32 len);
	int (*load_commit)(struct qvp_device *qdev);
	void (*load_end)(struct qvp_device *qdev);
};

extern const struct qvp_backend qvp_edu_backend;
extern const struct qvp_backend qvp_ivshmem_backend;

#endif /* QVP_BACKEND_H */
