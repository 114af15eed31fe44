/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between the device-agnostic migration protocol (session.h)
 * and a device backend (edu.c, ...).
 *
 * A backend knows its device's registers and memory; it knows nothing of
 * file descriptors, the VFIO state machine or the stream framing.  To port
 * the driver to a new device, write one backend and add its PCI ID, with
 * the backend as driver_data, to qvp_pci_table[] in main.c.
 * struct qvp_backend is the contract: what each operation must guarantee
 * and under which locks it runs.  The porting guide,
 * Documentation/driver-api/vfio/qemu-vfio-pci-porting.rst, includes it.
 */
#ifndef QVP_BACKEND_H
#define QVP_BACKEND_H

#include <linux/gfp.h>
#include <linux/types.h>
#include "stream.h"

struct pci_dev;
struct qvp_device;

/**
 * QVP_GFP_SESSION - gfp flags of a migration session's own allocations
 *
 * For what a session allocates for itself, whose size the device picks
 * and whose caller is the user that opened the session: charged to the
 * caller's memory cgroup (%__GFP_ACCOUNT); at the cgroup's limit, after
 * reclaiming in it, the allocation fails and the caller gets -ENOMEM,
 * instead of the cgroup's OOM killer being called
 * (%__GFP_RETRY_MAYFAIL); the failure prints no allocation report
 * (%__GFP_NOWARN), the site logs one rate-limited line instead.  The
 * session's file and file descriptor, which the VFS and the vfio core
 * allocate, keep their default behaviour, and so do the caller's own
 * page faults.
 *
 * Use it with kzalloc() or kvzalloc() of at most a few pages (a
 * kmalloc() try below the costly order), and with __vcalloc() for
 * arrays that grow with the device: no kmalloc() try of the whole array,
 * which %__GFP_RETRY_MAYFAIL would make compact hard.  On 6.12,
 * vmalloc's kernel-doc calls %__GFP_RETRY_MAYFAIL unsupported, but the
 * data pages and their charges honour it (as kvmalloc(), which documents
 * it, relies on) while the page tables do not; 7.3 supports it "with
 * limitation" (page tables may fail, never OOM).  A kernel whose
 * GFP_VMALLOC_SUPPORTED lacks one of these flags warns and drops it:
 * use plain %GFP_KERNEL_ACCOUNT there.  Not with kvmalloc() of large
 * sizes, and only in the opener's task: another task (a work item)
 * charges its own cgroup.
 */
#define QVP_GFP_SESSION	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/**
 * struct qvp_bulk - device memory carried by one bulk record
 * @offset: the record's head offset (where the data belongs)
 * @mem: the data in the device's mapped memory: read from on save,
 *	written to on resume, in 64-bit accesses, within qvp_mmio_begin()
 * @len: data bytes: a multiple of 8, at least 8
 * @digests: save, optional: an array of DIV_ROUND_UP(@len,
 *	QVP_BULK_BLOCK) entries that receives the digest of each
 *	QVP_BULK_BLOCK (4096-byte) block of the data as the copy completes
 *	it (the last one possibly shorter), the same value
 *	qvp_bulk_digest_io() gives for those bytes
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
 *	pass over the state, or new initial data that a scan started), so
 *	its bytes count as initial_bytes until they are read; false on entry
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
 * @priv_size: bytes of private state allocated per device, which
 *	qvp_priv() returns
 * @records: the record types of the backend's stream (struct
 *	qvp_rec_desc), each with its bulk flag (true for a bulk type, whose
 *	records go to @load_bulk; false for a plain one, whose records go to
 *	@load_record) and a minimum and maximum payload length; for a bulk
 *	type these include the 8-byte head and the 8-byte check.  On save,
 *	@save_record must produce each type as its flag says; on resume the
 *	parser refuses a record whose bulk flag does not match, a longer
 *	record with -EFBIG as soon as its header arrives and a shorter one
 *	with -EINVAL.  The save transfer buffer and the resume record buffer
 *	are sized after the largest max_len of the plain types (at least
 *	4096 bytes), so this is also the kernel memory a session holds: keep
 *	plain records to a few KiB.  Bulk types do not count, as their data
 *	never passes through a kernel buffer; their max_len only bounds one
 *	record (ivshmem: 64 KiB of data).  The table is static in the
 *	backend's file, beside the code that produces and takes the records
 *	(edu_records[] in edu.c), and follows the uapi header; the stream
 *	codec (stream.c) knows no device.
 * @nr_records: entries in @records
 *
 * Each operation returns 0 or a negative errno unless stated otherwise.
 *
 * Required: @name, @records and @nr_records, @open, @reset,
 * @stop_copy_size, @save_record, @load_record, @load_commit, and
 * @load_bulk when @records has a bulk type; probe refuses a backend
 * without them (and WARNs: it is a driver bug).  Every other operation
 * is optional, may be left NULL, and the protocol calls it through
 * qvp_call().
 *
 * Locking: the protocol layer serialises the backend; a backend needs no
 * lock of its own for the state it shares with the protocol layer.
 *
 *  - @open and @close run in open_device/close_device, which vfio
 *    serialises with everything else on the device;
 *  - the arc and reset operations (@p2p_stop, @p2p_start, @quiesce,
 *    @unquiesce, @unhold, @reset, @save_begin, @save_stop, @save_end,
 *    @load_begin, @load_commit, @load_end) and @stop_copy_size run with
 *    qvp_device.state_mutex held;
 *  - @save_record, @precopy_pending, @precopy_scan, @load_record and
 *    @load_bulk run from read(), write(), poll(), the PRE_COPY info
 *    ioctl and the session's scan work with the session file's lock
 *    held, and without state_mutex; so do the copies of bulk memory.
 *    The arcs taken with a live session (PRE_COPY <-> PRE_COPY_P2P,
 *    PRE_COPY_P2P -> STOP_COPY, RESUMING -> STOP) run their operations
 *    under that file lock too, and every end of a session disables the
 *    file under it before @save_end or @load_end, so these never overlap
 *    an operation on the same session.
 *
 * Each operation's description says exactly what it is called with.
 * Rules that follow (the locks themselves are in "Lock order", qvp.h):
 *
 *  - Operations may use qvp_mmio_begin()/qvp_mmio_end() under the file
 *    lock (ivshmem reads and hashes BAR2 in @precopy_scan and, in
 *    STOP_COPY, in @save_record), but must never fault on userspace
 *    memory between the two.  A backend operation does not touch user
 *    memory at all; only the protocol layer's bulk copies do, with page
 *    faults disabled.
 *  - Do not take state_mutex in an operation: it is already held, or
 *    must not be taken under the file lock.  Never take it directly
 *    anywhere else either: every holder enters through qvp_state_lock(),
 *    which applies a deferred reset first.
 *  - Do not sleep unboundedly anywhere; every wait needs a timeout, and
 *    a module parameter that sets one needs limits.
 */
struct qvp_backend {
	const char *name;
	u8 id;
	size_t priv_size;
	const struct qvp_rec_desc *records;
	unsigned int nr_records;

	/**
	 * @trap_bar: optional, with @trap_len: the BAR whose first
	 * @trap_len bytes userspace may not map (trap.c), so that every
	 * access to them goes through the device fd, where the driver sees
	 * it.  The BAR must have no MSI-X table (open checks).  A device
	 * with a trap takes no ioeventfd (VFIO_DEVICE_IOEVENTFD fails with
	 * -ENOTTY).
	 */
	u8 trap_bar;
	/**
	 * @trap_len: bytes trapped at the start of @trap_bar, a multiple of
	 * PAGE_SIZE; 0 traps nothing.
	 */
	size_t trap_len;

	/**
	 * @trap_write: optional, with @trap_len: userspace writes @val, the
	 * @size (1, 2, 4 or 8) bytes at @off of the trapped range, in the
	 * device's byte order as a number.  Called before the value reaches
	 * the device, with qvp_device.trap_lock held (no other trapped write
	 * and no start of DMA logging comes in between), vfio-pci-core's
	 * memory_lock held for reading and memory decoding on, so the
	 * backend may read the device's registers (not through the MMIO
	 * bracket: the lock is held already).  A device whose register
	 * write starts DMA reports the range here with qvp_log_dirty()
	 * (edu's DMA command).  Return 0 to let the write through, or a
	 * negative errno to fail it unwritten.  Must not sleep but for
	 * qvp_log_dirty().
	 */
	int (*trap_write)(struct qvp_device *qdev, u32 off, u32 size,
			  u64 val);

	/**
	 * @dma_log: the backend reports every DMA write of its device with
	 * qvp_log_dirty(), from before the device can perform it until a
	 * report has been taken after it (@log_sync), or its device
	 * performs none (ivshmem); the driver then offers DMA logging
	 * (VFIO_DEVICE_FEATURE_DMA_LOGGING_*, dirty.c) on kernels that can
	 * report it.  A device whose DMA is started by a register write
	 * needs that register trapped (@trap_len) and @trap_write.
	 */
	bool dma_log;

	/**
	 * @log_start: optional, with @dma_log: DMA logging has just started;
	 * report with qvp_log_dirty() the writes of DMA already under way,
	 * which the device may perform from now on.  Called with
	 * qvp_device.trap_lock held, so no trapped write starts new DMA
	 * meanwhile, and nothing else of the driver's; use the MMIO bracket
	 * to read the device, and call qvp_log_dirty() after leaving it.
	 */
	void (*log_start)(struct qvp_device *qdev);

	/**
	 * @log_sync: optional, with @dma_log: a report is about to read the
	 * log.  Log again, with qvp_log_dirty(), every DMA write that may
	 * have happened since the last report: writes still to come, and
	 * writes that completed after that report read the log (it took
	 * their range out before the device wrote it).  edu logs its last
	 * DMA to RAM here until it finds RUN clear, because the device
	 * copies 100 ms after the command.  A device that writes at once,
	 * under the trapped write, needs none.  Called with
	 * qvp_device.trap_lock held, like @log_start; use the MMIO bracket
	 * to read the device, and call qvp_log_dirty() after leaving it.
	 */
	void (*log_sync)(struct qvp_device *qdev);

	/**
	 * @pci_reset_partial: the device's PCI reset (the function-level
	 * reset that vfio-pci-core uses) leaves registers that are state.
	 * The driver then calls @reset as it does for a device without a
	 * PCI reset method: at open, after vfio-pci-core's reset; for
	 * VFIO_DEVICE_RESET, after vfio-pci-core's reset; at close, before
	 * vfio-pci-core's (which comes after close_device).  So @reset must
	 * do the whole job itself, not count on the PCI reset.  A reset the
	 * user starts through config space (the FLR bit) or a hot reset of
	 * the bus (VFIO_DEVICE_PCI_HOT_RESET) reaches the backend only as
	 * @unhold, some time later (the deferred reset); the next open
	 * calls @reset.  QEMU's igb VF needs it: its FLR only disables the
	 * queues (igbvf.c).
	 */
	bool pci_reset_partial;

	/**
	 * @probe: optional.  The driver is asked to bind @pdev, whose ID is
	 * in the table: return 0 if this backend can migrate it, or -ENODEV
	 * after saying why in the log.  One ID can cover models the backend
	 * cannot migrate: ivshmem's refuses an ivshmem-doorbell.  Runs
	 * before anything is allocated; look at the struct pci_dev only.
	 */
	int (*probe)(struct pci_dev *pdev);

	/**
	 * @open: the device was opened by userspace and vfio-pci-core has
	 * enabled it.  Map what is needed with qvp_map_bar() (it works on
	 * both supported vfio-pci-core APIs).  Do not reset the device
	 * here: on a device without a PCI reset method, or with
	 * @pci_reset_partial, the PCI glue calls @reset right after @open
	 * (and before @close), and vfio-pci-core has reset one with such a
	 * method already.  An error fails the
	 * open.  Called from open_device, which vfio serialises with
	 * everything else on the device.
	 */
	int (*open)(struct qvp_device *qdev);

	/**
	 * @close: optional; undo @open.  All sessions have ended by then.
	 * Called from close_device.
	 */
	void (*close)(struct qvp_device *qdev);

	/**
	 * @p2p_stop: optional; RUNNING -> RUNNING_P2P and PRE_COPY ->
	 * PRE_COPY_P2P.  The device must stop initiating peer-to-peer DMA
	 * (to other devices' BARs) but keep answering peer-to-peer
	 * accesses to itself, and any such DMA still outstanding must be
	 * complete before the arc completes (vfio.h).  A device that
	 * cannot tell peer-to-peer DMA from other DMA stops and completes
	 * all of it.  edu waits (bounded) for its DMA in flight; it cannot
	 * refuse a new DMA command, which only a user breaking vfio.h
	 * would write in a P2P state.  A device that can refuse new DMA
	 * should.  On error the arc fails and the device stays where it
	 * was.  Advertising VFIO_MIGRATION_P2P promises this.
	 *
	 * Called with state_mutex held, and also the save session's file
	 * lock on PRE_COPY -> PRE_COPY_P2P.
	 */
	int (*p2p_stop)(struct qvp_device *qdev);

	/**
	 * @p2p_start: optional; the reverse arcs of @p2p_stop,
	 * RUNNING_P2P -> RUNNING and PRE_COPY_P2P -> PRE_COPY: the device
	 * may initiate peer-to-peer DMA again.  Called with state_mutex
	 * held, and also the save session's file lock on PRE_COPY_P2P ->
	 * PRE_COPY.
	 */
	int (*p2p_start)(struct qvp_device *qdev);

	/**
	 * @quiesce: optional; RUNNING_P2P -> STOP and PRE_COPY_P2P ->
	 * STOP_COPY (the latter just before @save_stop).  When it returns
	 * 0 the device must not change its state on its own and must not
	 * issue DMA.  A device that never does, like ivshmem, whose memory
	 * only its users write, needs none.  It must be bounded: wait for
	 * work in flight for a limited time (edu uses the edu_timeout_ms
	 * module parameter) and return -ETIMEDOUT if the device does not
	 * become idle.  On error the arc fails and the device stays in the
	 * state it was in, so leave the device as you found it.
	 *
	 * Make sure the state is complete when @quiesce returns: a device
	 * that finishes work and raises its completion interrupt in
	 * separate steps may look idle and still owe the interrupt.  QEMU's
	 * edu does that (COMPUTING is cleared, then IRQFACT is read, then
	 * the interrupt raised), so edu's @quiesce computes the current
	 * factorial once more with IRQFACT off (its end proves the previous
	 * computation got through all its steps), gives IRQFACT back and,
	 * when it saw a factorial in flight with IRQFACT on, holds the
	 * completion interrupt as owed if the device does not show it
	 * (turning IRQFACT off may have cancelled it).  A stopped device
	 * must not interrupt at all: keep whatever would interrupt held
	 * until @unquiesce.
	 *
	 * Called with state_mutex held, and also the session file's lock
	 * on PRE_COPY_P2P -> STOP_COPY.
	 */
	int (*quiesce)(struct qvp_device *qdev);

	/**
	 * @unquiesce: optional; STOP -> RUNNING_P2P: undo @quiesce, let the
	 * device run again.  Needed if @quiesce really freezes the device,
	 * or if @load_commit holds back something the device does only
	 * when running: edu's raises the interrupt status that a resumed
	 * state carries (or that @quiesce found owed), which @load_commit
	 * does not, since the device enters STOP.  Also called when
	 * PRE_COPY_P2P -> STOP_COPY fails after @quiesce succeeded
	 * (@save_stop failed): the device is back in PRE_COPY_P2P and runs.
	 *
	 * Called with state_mutex held, and also the save session's file
	 * lock after a failed PRE_COPY_P2P -> STOP_COPY.
	 */
	int (*unquiesce)(struct qvp_device *qdev);

	/**
	 * @unhold: optional; the migration state went back to RUNNING
	 * without the arcs: open, close, VFIO_DEVICE_RESET, a PCI reset
	 * applied by the deferred-reset path.  Give back what @quiesce and
	 * @load_commit hold back, raising nothing (the session that owed
	 * it has ended); edu's drops the interrupts it held.  Called with
	 * state_mutex held, after the sessions ended; the device may be
	 * closed (a PCI reset of a closed device), so touch it only while
	 * it is open.
	 */
	void (*unhold)(struct qvp_device *qdev);

	/**
	 * @reset: put every register back to its power-on value, and wait
	 * (bounded) for work in flight to end first, so that nothing of a user
	 * reaches the next one: values, interrupt status and masks, work
	 * started.  Called only on devices that have no working PCI reset
	 * method (vfio_pci_core_device.reset_works false, which a failed FLR
	 * at open also gives; vfio-pci-core resets the others), and on those
	 * whose backend sets @pci_reset_partial: for
	 * VFIO_DEVICE_RESET, where an error leaves the migration state in
	 * ERROR and userspace may retry; on open, after @open and before the
	 * user can reach the device, where an error fails the open (handing
	 * over a device that was not reset would hand over the last user's
	 * state); and on close, before @close, once the user is gone and only
	 * if the device is in D0 and not in runtime low power, where an error
	 * is logged and the next open tries again.  Memory that is not the
	 * device's state (ivshmem's shared memory) is left alone.  The
	 * sessions have already ended.  Called with state_mutex held; the
	 * user's interrupts may or may not be set up, so raise none.
	 */
	int (*reset)(struct qvp_device *qdev);

	/**
	 * @stop_copy_size: the number of bytes of records, record headers
	 * included (and, for a bulk record, its 16 bytes of head and
	 * check), that a STOP_COPY from now would still produce; not the
	 * stream header or the END record, which the protocol layer adds.
	 * An estimate is fine, but it must not fail and should be cheap:
	 * it answers MIG_DATA_SIZE.  Called with state_mutex held, and
	 * also the save session's file lock while one exists.
	 */
	size_t (*stop_copy_size)(struct qvp_device *qdev);

	/**
	 * @save_begin: optional; a save session starts, @precopy true for
	 * PRE_COPY.  @seed points to the stream's seed, 0 on entry, which
	 * the protocol layer writes into the stream header once
	 * @save_begin returns and which keys the checks of bulk records.
	 * A backend that compares digests of its memory with the ones bulk
	 * records produce to find what changed (qvp_bulk_digest_io(),
	 * struct qvp_bulk.digests) sets it to a fresh random value
	 * (get_random_u64()) and keeps it for those comparisons, so that
	 * whoever writes the memory cannot aim for a collision; ivshmem
	 * does this for PRE_COPY sessions only.  Otherwise leave it 0 (edu
	 * always does): the stream of a given state is then always the same
	 * bytes, which the conformance test mig.resume_in_pieces and the edu
	 * tests rely on when they compare a re-saved stream byte for byte.
	 * Without @save_begin the seed is 0.  Allocate what the session
	 * needs, with QVP_GFP_SESSION (the caller's full memory cgroup
	 * then refuses the session with -ENOMEM rather than call its OOM
	 * killer).  If it
	 * fails, no session is created (@save_end is still called to clean
	 * up).  Called with state_mutex held.
	 */
	int (*save_begin)(struct qvp_device *qdev, bool precopy, u64 *seed);

	/**
	 * @save_stop: optional; the device is quiesced and the session
	 * enters STOP_COPY: right after @save_begin for STOP -> STOP_COPY,
	 * or after @quiesce, under the same file lock, for PRE_COPY_P2P ->
	 * STOP_COPY.  Capture, or prepare to stream, the state that must
	 * now be sent.  On failure the arc fails; a session that was in
	 * PRE_COPY_P2P stays there.  Called with state_mutex held, and also
	 * the session file's lock on PRE_COPY_P2P -> STOP_COPY.
	 */
	int (*save_stop)(struct qvp_device *qdev);

	/**
	 * @save_record: describe the next record of the current phase in
	 * @rec and return 1; return 0 when the phase has nothing more: in
	 * PRE_COPY the reader then gets -ENOMSG (and may come back later),
	 * in STOP_COPY the protocol layer closes the stream with END.  A
	 * negative errno fails the read() with it.  @rec arrives zeroed but
	 * for buf and size.  Set its type, then either:
	 *
	 *  - a plain record: write the payload to rec->buf and set
	 *    rec->len.  rec->size is the transfer buffer minus a record
	 *    header: at least the largest max_len of the plain types in
	 *    @records, and at least 4096 bytes.  A longer len fails the read
	 *    with -EOVERFLOW;
	 *  - a bulk record: fill rec->bulk (struct qvp_bulk) with the head
	 *    that tells the destination where the data belongs, the data in
	 *    the kernel mapping of the device memory (qvp_map_bar()), its
	 *    length (a multiple of 8 and at least 8, otherwise -EOVERFLOW)
	 *    and, optionally, the array that receives each block's digest.
	 *    Leave rec->buf alone.  The protocol layer writes the header
	 *    and head, copies the data from the device straight to the
	 *    reader, computes the check on the way and appends it, so the
	 *    session holds no copy of it.
	 *
	 * A non-zero rec->bulk.len is what makes the record bulk; it must
	 * agree with the type's descriptor in @records.  The protocol layer
	 * checks this at the source: a record produced as bulk whose
	 * descriptor says plain, or the reverse, fails the read() with
	 * -EINVAL and a rate-limited "backend produced record 0x.... as
	 * bulk/plain, its descriptor says otherwise" (a type missing from
	 * @records counts as plain here).  Bulk memory is read when the
	 * reader gets to it, over as many read() calls as it takes, not
	 * when @save_record runs: keep it mapped, and keep the digests
	 * array, until the session ends.  @save_record is called again only
	 * once the record's data and check have been read.  In PRE_COPY the
	 * memory may change while it is being read; that is fine, as the
	 * check and the digests describe exactly the bytes the reader got.
	 *
	 * Called with the session file's lock held (from read()), without
	 * state_mutex; the copies of bulk data run there too, in the MMIO
	 * bracket.
	 */
	int (*save_record)(struct qvp_device *qdev, struct qvp_save_rec *rec);

	/**
	 * @precopy_pending: optional; in PRE_COPY, the bytes of records
	 * (headers included, and a bulk record's head and check) that reads
	 * would produce now and that @save_record has not described yet:
	 * @initial for the first pass over the state (and new initial
	 * data that @precopy_scan started), @dirty for changes
	 * already found.  The protocol layer adds what is framed and
	 * unread, including the rest of a bulk record being read, and
	 * counts it as initial or dirty by the record's initial mark
	 * (struct qvp_save_rec.initial: set it for each record of the first
	 * pass, so that the record counts whole as initial from when it is
	 * framed until its last byte is read).  It runs on every
	 * VFIO_MIG_GET_PRECOPY_INFO and poll(): keep it cheap, and do not
	 * look for new changes here; that is @precopy_scan.  Be honest:
	 * the initial count may only shrink during a session (except when
	 * @precopy_scan starts new initial data), the dirty one
	 * must include everything that will be produced, and both must
	 * reach 0 when there is nothing left, because userspace decides
	 * when to stop the device from these numbers.  Called with the
	 * session file's lock held (from read(), poll(), the ioctl or the
	 * scan work), without state_mutex.
	 */
	void (*precopy_pending)(struct qvp_device *qdev, u64 *initial,
				u64 *dirty);

	/**
	 * @precopy_scan: optional; for a device without dirty tracking,
	 * which finds changes only by reading its state (ivshmem hashes all
	 * of its memory): look for state changed since it was last sent and
	 * mark it, so that @precopy_pending and @save_record then report
	 * and send it.  The protocol layer calls it only in PRE_COPY(_P2P) with
	 * nothing pending, framed or in transit (the first pass is over and
	 * no bulk record is half read, so digests recorded by the copy are
	 * complete), at most once per precopy_scan_ms, from read() (instead
	 * of returning -ENOMSG), from VFIO_MIG_GET_PRECOPY_INFO, and from
	 * the scan work that serves poll() waiters.  It runs under the
	 * session's file lock, without state_mutex, possibly in a kworker.
	 * Take the MMIO bracket in pieces (ivshmem: 64 KiB), do not sleep
	 * inside it, and cond_resched() between pieces.  A backend with
	 * dirty tracking does not need it: it reports changes from
	 * @precopy_pending as the tracking finds them (waking poll()
	 * waiters as they appear would need a hook in the protocol layer).
	 *
	 * With @new_initial, the scan may start new initial data: changes
	 * that the destination should have before switchover as it had the
	 * first pass (ivshmem: a rewrite of a large share of its memory,
	 * if the administrator asked for it), counted as initial by
	 * @precopy_pending and marked initial in their records.  The
	 * protocol layer passes it only from VFIO_MIG_GET_PRECOPY_INFO in
	 * PRE_COPY (not PRE_COPY_P2P, where userspace has decided to stop
	 * the device) after the PRECOPY_INFOv2 opt-in, reports
	 * VFIO_PRECOPY_INFO_REINIT in that same answer, and warns if a
	 * scan without it starts initial data.  Otherwise the same changes
	 * are dirty data.  Users may fail a migration on a late REINIT
	 * (QEMU 11.1 does, when one arrives after it decided to switch
	 * over), so start new initial data only for what the destination
	 * must really have before switchover, and not again and again.
	 */
	void (*precopy_scan)(struct qvp_device *qdev, bool new_initial);

	/**
	 * @save_end: optional; the save session ended, for whatever reason.
	 * Free what it held.  It cannot fail.  Called with state_mutex
	 * held; the session's file has been disabled under its lock just
	 * before.
	 */
	void (*save_end)(struct qvp_device *qdev);

	/**
	 * @load_begin: optional; a resume session starts.  Allocate as
	 * @save_begin does.  Called with state_mutex held.
	 */
	int (*load_begin)(struct qvp_device *qdev);

	/**
	 * @load_record: one plain record whose header and CRC have been
	 * checked, whose type is in @records and whose length is within
	 * its bounds.  Check its contents and stage it (keep a copy, do not
	 * touch the device); apply it in @load_commit.  Return -EINVAL for
	 * contents the backend does not accept; the stream is then refused
	 * and the error is sticky.  With more than one plain type in
	 * @records, switch on @type.  Called with the session file's lock
	 * held (from write()), without state_mutex.
	 */
	int (*load_record)(struct qvp_device *qdev, u16 type, const void *buf,
			   u32 len);

	/**
	 * @load_bulk: required if @records has a bulk type.  The head of a
	 * bulk record has arrived and the record CRC (header and head) has
	 * been checked; @type is a bulk type of @records and the length is
	 * within its bounds.  @offset is the head, @len the data length
	 * (the record length minus 16: a multiple of 8, at least 8).  Check
	 * the type, the order of records and that @offset and @len fit the
	 * device memory, then set @mem to where the data goes, a kernel
	 * mapping of the device memory with @len bytes behind it, and
	 * return 0; or return -EINVAL to refuse the stream.  The protocol
	 * layer then writes the data there as it arrives, in 64-bit writes,
	 * over as many write() calls as it takes, and verifies the check
	 * after the last byte; a mismatch refuses the stream (sticky), so
	 * RESUMING -> STOP fails.  Bulk data is applied, not staged: if the
	 * check fails, or the stream is refused later, the memory is
	 * already partly overwritten and the device is in ERROR until it is
	 * reset, which is the contract userspace expects; document and test
	 * it.  Record what arrived (ivshmem keeps a bit per page) so that
	 * @load_commit can refuse an incomplete stream.  Called with the
	 * session file's lock held (from write()), without state_mutex.
	 */
	int (*load_bulk)(struct qvp_device *qdev, u16 type, u64 offset,
			 u32 len, void __iomem **mem);

	/**
	 * @load_commit: RESUMING -> STOP with a complete stream: apply what
	 * was staged.  Check everything that can fail (required records
	 * present, device idle, values reproducible) before the first
	 * register write, so that a failure leaves the device untouched.
	 * Any error makes the arc fail with -EINVAL and the device enter
	 * ERROR.  The device enters STOP: do not let it interrupt here;
	 * raise the interrupts the state owes in @unquiesce (edu keeps them
	 * in its private state, and a save taken before the device runs
	 * again still carries them).  Called with state_mutex and the
	 * session file's lock held.
	 */
	int (*load_commit)(struct qvp_device *qdev);

	/**
	 * @load_end: optional; the resume session ended, for whatever
	 * reason: free staged data.  Called with state_mutex held; the
	 * session's file has been disabled under its lock just before.
	 */
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
extern const struct qvp_backend qvp_igbvf_backend;

#endif /* QVP_BACKEND_H */
