/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the device-agnostic migration protocol (session.h)
 * and a device backend (edu.c, ...).
 *
 * A backend knows its device's registers and memory; it knows nothing of
 * file descriptors, the VFIO state machine or the stream framing.  To port
 * the driver to a new device, write one backend and add its PCI ID, with
 * the backend as driver_data, to qvp_pci_table[] in main.c.
 * Documentation/driver-api/vfio/qemu-vfio-pci-porting.rst explains what
 * each operation must guarantee.
 */
#ifndef QVP_BACKEND_H
#define QVP_BACKEND_H

#include <linux/types.h>
#include "stream.h"

struct pci_dev;
struct qvp_device;

/**
 * struct qvp_bulk - device memory carried by one bulk record
 * @offset: the record's head offset (where the data belongs)
 * @mem: the data in the device's mapped memory: read from on save,
 *	written to on resume, in 64-bit accesses, within qvp_mmio_begin()
 * @len: data bytes: a multiple of 8, at least 8
 * @digests: save, optional: receives the digest of each QVP_BULK_BLOCK
 *	block of the data as it is sent (the last one possibly shorter),
 *	the same value qvp_bulk_digest_io() gives for those bytes
 */
struct qvp_bulk {
	u64 offset;
	void __iomem *mem;
	u32 len;
	u64 *digests;
};

/**
 * struct qvp_save_rec - the next record of a save, as the backend gives it
 * @type: record type (QVP_REC_*)
 * @buf: plain record: where its payload goes
 * @size: plain record: bytes available at @buf
 * @len: plain record: payload bytes written at @buf
 * @bulk: bulk record (a type whose descriptor says bulk): the memory it
 *	carries; the migration layer frames and streams it
 * @initial: PRE_COPY: the record belongs to the initial data (the first
 *	pass over the state), so its bytes count as initial_bytes until
 *	they are read; false on entry
 */
struct qvp_save_rec {
	u16 type;
	void *buf;
	size_t size;
	size_t len;
	struct qvp_bulk bulk;
	bool initial;
};

/**
 * struct qvp_backend - operations of one device model
 * @name: short name, used in log messages
 * @id: QVP_BACKEND_* written to and required in the stream header
 * @priv_size: bytes of private state allocated per device (qvp_priv())
 * @records: record types that @load_record accepts, with their lengths
 * @nr_records: entries in @records
 * @probe: optional; the driver is asked to bind @pdev: return 0 if this
 *	backend can migrate it, or -ENODEV after saying why (a device with
 *	the right ID may still be a model the backend cannot migrate)
 * @open: the device was opened by userspace and enabled; map what is
 *	needed.  Device registers keep their values.
 * @close: undo @open
 * @p2p_stop: optional; RUNNING -> RUNNING_P2P and PRE_COPY -> PRE_COPY_P2P:
 *	stop initiating peer-to-peer DMA (keep answering it), and complete
 *	what is outstanding before returning; a device that cannot tell
 *	P2P DMA from other DMA completes all of its DMA (vfio.h)
 * @p2p_start: optional; the reverse arcs of @p2p_stop
 * @quiesce: optional; RUNNING_P2P -> STOP and PRE_COPY_P2P -> STOP_COPY.
 *	Wait (bounded) until the device has finished work in flight and will
 *	not change its state by itself (a device that never does, like
 *	ivshmem, whose memory only its users write, needs none).  Return
 *	-ETIMEDOUT if it does not; the arc then fails and the device stays
 *	where it was.
 * @unquiesce: optional; STOP -> RUNNING_P2P: let the device run again,
 *	and raise what @load_commit held back; also called when
 *	PRE_COPY_P2P -> STOP_COPY fails after @quiesce succeeded
 * @unhold: optional; the migration state went back to RUNNING without
 *	the arcs (open, close, VFIO_DEVICE_RESET, a PCI reset): give back
 *	what @quiesce and @load_commit hold back, raising nothing
 * @reset: put every register back to its power-on value (VFIO_DEVICE_RESET)
 * @stop_copy_size: bytes (records with their headers) that a STOP_COPY
 *	would still produce; an estimate is fine
 * @save_begin: a save session starts; @precopy is true for PRE_COPY.
 *	*@seed, the stream's seed, is 0 on entry; a backend that compares
 *	digests of device memory (qvp_bulk_digest_io(), struct
 *	qvp_bulk.digests) to find changes sets it to a random value, so that
 *	whoever writes the memory cannot aim for a collision.  With 0 the
 *	stream of a given state is always the same bytes
 * @save_stop: the device is quiesced and the session enters STOP_COPY;
 *	capture the state that must now be sent
 * @save_record: describe the next record of the current phase in @rec
 *	and return 1, or return 0 when the phase has nothing more to send.
 *	A plain record's payload goes to @rec->buf (@rec->size is at least
 *	the largest @max_len of the plain types in @records); a bulk
 *	record names device memory in @rec->bulk, which the migration
 *	layer copies straight to the reader while it computes the check,
 *	so the session holds no copy of it.  Bulk memory is read when the
 *	reader gets to it, not when @save_record runs
 * @precopy_pending: bytes of records that PRE_COPY reads would produce
 *	now and that @save_record has not described yet: *@initial for the
 *	first pass, *@dirty for changes already found.  Must be cheap (it
 *	runs on every VFIO_MIG_GET_PRECOPY_INFO and poll()) and must not
 *	look for new changes: that is @precopy_scan
 * @precopy_scan: optional; look for state changed since it was last
 *	sent, so that @precopy_pending and @save_record then report it.
 *	For a device that finds changes only by reading its state (ivshmem
 *	hashes all of its memory).  The migration layer calls it only in
 *	PRE_COPY with nothing pending and nothing framed or in transit (so
 *	the first pass is over and no bulk record is half read), at most
 *	once per precopy_scan_ms
 * @save_end: the save session ended (any reason); free what it held
 * @load_begin: a resume session starts
 * @load_record: a plain record whose checksum was verified: validate it
 *	and stage it (small state), or apply it, return 0 or -errno
 * @load_bulk: a bulk record's head was verified: validate @offset and
 *	@len for @type and return in *@mem where the data goes.  The data
 *	is written there as it arrives and its check verified after it;
 *	a mismatch refuses the stream (sticky), so RESUMING -> STOP fails
 * @load_commit: RESUMING -> STOP with a complete stream: apply what was
 *	staged.  Must check everything that can fail before the first
 *	register write.
 * @load_end: the resume session ended (any reason); free what it held
 *
 * Required: @name, @records and @nr_records, @open, @reset,
 * @stop_copy_size, @save_record, @load_record, @load_commit, and
 * @load_bulk when @records has a bulk type; probe refuses a backend
 * without them (and WARNs: it is a driver bug).  Every other operation
 * is optional, and the protocol calls it through qvp_call().
 *
 * Locking:
 *  - @open and @close run in open_device/close_device, which vfio
 *    serialises with everything else on the device;
 *  - the arc and reset operations (@p2p_stop .. @reset, @save_begin,
 *    @save_stop, @save_end, @load_begin, @load_commit, @load_end) and
 *    @stop_copy_size run with qvp_device.state_mutex held;
 *  - @save_record, @precopy_pending, @precopy_scan, @load_record and
 *    @load_bulk run from read(), write(), poll(), the PRE_COPY info
 *    ioctl and the session's scan work with the session file's lock
 *    held, and without state_mutex; so do the copies of bulk memory.  The arcs taken with a
 *    live session (PRE_COPY <-> PRE_COPY_P2P, PRE_COPY_P2P -> STOP_COPY
 *    and every end of a session) run their operations under that file
 *    lock too, so these never overlap an operation on the same session.
 */
struct qvp_backend {
	const char *name;
	u8 id;
	size_t priv_size;
	const struct qvp_rec_desc *records;
	unsigned int nr_records;

	int (*probe)(struct pci_dev *pdev);
	int (*open)(struct qvp_device *qdev);
	void (*close)(struct qvp_device *qdev);
	int (*p2p_stop)(struct qvp_device *qdev);
	int (*p2p_start)(struct qvp_device *qdev);
	int (*quiesce)(struct qvp_device *qdev);
	int (*unquiesce)(struct qvp_device *qdev);
	void (*unhold)(struct qvp_device *qdev);
	int (*reset)(struct qvp_device *qdev);
	size_t (*stop_copy_size)(struct qvp_device *qdev);

	int (*save_begin)(struct qvp_device *qdev, bool precopy, u64 *seed);
	int (*save_stop)(struct qvp_device *qdev);
	int (*save_record)(struct qvp_device *qdev, struct qvp_save_rec *rec);
	void (*precopy_pending)(struct qvp_device *qdev, u64 *initial,
				u64 *dirty);
	void (*precopy_scan)(struct qvp_device *qdev);
	void (*save_end)(struct qvp_device *qdev);

	int (*load_begin)(struct qvp_device *qdev);
	int (*load_record)(struct qvp_device *qdev, u16 type, const void *buf,
			   u32 len);
	int (*load_bulk)(struct qvp_device *qdev, u16 type, u64 offset,
			 u32 len, void __iomem **mem);
	int (*load_commit)(struct qvp_device *qdev);
	void (*load_end)(struct qvp_device *qdev);
};

/**
 * qvp_call - call an optional backend operation
 * @fn: the operation (a member of struct qvp_backend), possibly NULL
 * @...: its arguments
 *
 * The one way of calling an operation that a backend may leave out;
 * those it must have are checked at probe (qvp_backend_valid()) and
 * called directly.
 *
 * Return: what @fn returns, or 0 (nothing, for a void operation) when
 * the backend has no @fn.
 */
#define qvp_call(fn, ...)						\
	({								\
		typeof(fn) __fn = (fn);					\
									\
		__fn ? __fn(__VA_ARGS__) :				\
		       (typeof(__fn(__VA_ARGS__)))0;			\
	})

extern const struct qvp_backend qvp_edu_backend;
extern const struct qvp_backend qvp_ivshmem_backend;

#endif /* QVP_BACKEND_H */
