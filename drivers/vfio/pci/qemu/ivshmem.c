// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci backend for QEMU's "ivshmem-plain" device (1af4:1110).
 *
 * State
 * -----
 * BAR2 is the shared memory (any size; 64 MiB and 256 MiB are tested, up
 * to 1 GiB is intended).  Of the BAR0 registers only IntrMask (0x00) and
 * IntrStatus (0x04) are state: IVPosition (0x08) is read-only and the
 * doorbell (0x0c) is write-only and does nothing without peers, which
 * ivshmem-plain does not have.  Reading IntrStatus clears it, so a save
 * writes the value it read straight back.
 *
 * Reset
 * -----
 * VFIO_DEVICE_RESET puts the registers to their power-on values (both 0),
 * as QEMU's own reset does.  It does not touch the memory: it is shared
 * memory, which QEMU keeps across a device reset too.  After a refused
 * resume the memory therefore holds whatever the stream wrote before it
 * was refused.
 *
 * Stream
 * ------
 * IVSHMEM_CONFIG (the memory size), IVSHMEM_MEM records, IVSHMEM_REGS; see
 * include/uapi/linux/qemu_vfio_pci.h.  A MEM record is a bulk record that
 * carries a run of 1 to 16 consecutive 4 KiB pages (QVP_IVSHMEM_PAGE; at
 * most QVP_IVSHMEM_CHUNK bytes of data).  A full pass (STOP_COPY, or the
 * first PRE_COPY pass) sends 64 KiB runs; a PRE_COPY dirty pass sends only
 * the changed pages, consecutive ones coalesced into runs of up to 16
 * pages.  The backend only names each run (struct qvp_bulk); the migration
 * layer copies it from BAR2 straight into the reader's buffer, 64 bits at
 * a time, hashing it on the way (bulk.c).  So a save session holds no
 * copy of the memory at all: besides the migration layer's small transfer
 * buffer, a bit per page (32 KiB per GiB of BAR2) and, for PRE_COPY
 * sessions only, an 8-byte digest per page (2 MiB per GiB).  The digests
 * are the price of finding scattered 4 KiB changes by content without
 * tracking: 0.2% of the memory being migrated, charged to the caller
 * (QVP_GFP_SESSION: a caller whose memory cgroup is full gets -ENOMEM),
 * allocated with __vcalloc() so no contiguous pages are needed, and held
 * only while a PRE_COPY session lasts.  A resume session holds a bit per
 * page; each MEM record's data is written to BAR2 as it arrives, in
 * 64-bit accesses.
 *
 * PRE_COPY
 * --------
 * ivshmem has no dirty tracking, and the memory may be written through
 * the user's mmap of BAR2 at any time while the device runs, so changes
 * are found by content.  Each page sent in PRE_COPY gets a 64-bit digest:
 * the bulk check's block digest (QVP_BULK_* in the uapi header), keyed by
 * the stream's seed, which a PRE_COPY session draws at random (a session
 * that starts in STOP_COPY compares no digests and keeps seed 0, so its
 * stream is always the same for the same state), and which the copy to
 * the reader computes anyway, of exactly the bytes sent:
 *
 *  - the first pass sends every page, in 64 KiB runs; this is
 *    initial_bytes;
 *  - when a pass is over and everything marked has been read, the
 *    migration layer calls precopy_scan (from read(), the PRE_COPY info
 *    ioctl or, for a poll() waiter, its scan work; at most once per
 *    precopy_scan_ms): the whole BAR2 is read and hashed page by page
 *    (qvp_bulk_digest_io()), and the pages whose digest changed are
 *    marked.  dirty_bytes is the exact size of the records that will
 *    carry them (runs of consecutive marked pages, cut every 16 pages,
 *    each with its header, head and check), plus bytes already framed
 *    and not yet read.  The following reads send the marked pages (their
 *    current content) and then report ENOMSG until the next scan;
 *  - new initial data, only where the administrator sets
 *    ivshmem_reinit_pct (default 0: never) and userspace opted in to
 *    VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2: a scan run by
 *    VFIO_MIG_GET_PRECOPY_INFO that finds at least that share of BAR2
 *    changed (a guest that reloads or reformats the region), once per
 *    session, counts those pages in initial_bytes rather than
 *    dirty_bytes, and that answer reports VFIO_PRECOPY_INFO_REINIT.  The
 *    stream is the same bytes either way.  ivshmem's destination has
 *    nothing to prepare (a load is plain writes to BAR2), so this only
 *    shows the protocol: a user that waits for initial data (QEMU's
 *    switchover-ack) holds switchover until it is loaded, and QEMU 11.1
 *    fails a migration whose device reports REINIT after it decided to
 *    switch over.  Hence off by default and once per session;
 *  - STOP_COPY sends what is still marked or never sent and reads and
 *    hashes every other page once more, sending those that changed
 *    (coalesced the same way), then the registers.
 *
 * Cost: a scan reads all of BAR2 and hashes it (about two multiplies per
 * 8 bytes), i.e. one full memory read per PRE_COPY iteration (at most one
 * per precopy_scan_ms, however often userspace asks) and one in
 * STOP_COPY, however little changed; what it saves is the sending (the
 * copy to userspace, the transfer and the destination's writes), which is
 * proportional to the pages written rather than to the 64 KiB blocks they
 * fall in.  The STOP_COPY read of the whole memory is part of the
 * downtime.  The seed is random per PRE_COPY session and reaches only
 * the reader of the stream, not whoever writes the memory, so a writer
 * cannot aim for collisions; an accidental one (a change that keeps the
 * digest) has a probability of about 2^-64 per changed page.  Memory
 * written while the device is in STOP or STOP_COPY (by the user's mmap or
 * by another VM sharing the memory) is not the driver's to prevent:
 * userspace must not do it.
 */
#include <linux/bitmap.h>
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>

#include "qvp.h"

#define IVS_REG_INTRMASK	0x00
#define IVS_REG_INTRSTATUS	0x04
#define IVS_BAR0_MIN		0x10
#define IVS_PAGE		QVP_IVSHMEM_PAGE
#define IVS_RUN_PAGES		(QVP_IVSHMEM_CHUNK / QVP_IVSHMEM_PAGE)

/* The smallest BAR2 on which a rewrite may start new initial data. */
#define IVS_REINIT_MIN_PAGES	(2 * IVS_RUN_PAGES)

#define IVS_CONFIG_REC		QVP_REC_SIZE(sizeof(struct qvp_ivshmem_config))
#define IVS_MEM_REC_HDR		QVP_REC_SIZE(QVP_BULK_OVERHEAD)
#define IVS_REGS_REC		QVP_REC_SIZE(sizeof(struct qvp_ivshmem_regs))

/*
 * PRE_COPY, after userspace opted in to PRECOPY_INFOv2: the share of BAR2
 * (percent) that a scan must find rewritten to start new initial data
 * (see "PRE_COPY" above); 0, the default, never does.
 */
static unsigned int ivshmem_reinit_pct;

static int ivs_reinit_pct_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 100);
}

static const struct kernel_param_ops ivs_reinit_pct_ops = {
	.set = ivs_reinit_pct_set,
	.get = param_get_uint,
};

module_param_cb(ivshmem_reinit_pct, &ivs_reinit_pct_ops, &ivshmem_reinit_pct,
		0644);
MODULE_PARM_DESC(ivshmem_reinit_pct,
		 "ivshmem PRE_COPY, with the PRECOPY_INFOv2 opt-in: percentage of BAR2 (1-100) a scan must find rewritten to report it as new initial data (VFIO_PRECOPY_INFO_REINIT), once per session; 0 never does (default)");

/**
 * struct ivs_state - per-device private state
 * @bar0: BAR0 (registers) mapping while the device is open
 * @bar2: BAR2 (shared memory) mapping while the device is open
 * @mem_size: BAR2 size
 * @nr_pages: QVP_IVSHMEM_PAGE pieces of BAR2, the last may be shorter
 * @saving: a save session is open
 * @precopy: the save session started in PRE_COPY
 * @stop: the save session is in STOP_COPY
 * @initial: the current PRE_COPY pass sends initial data: the first pass
 *	(every page), or one that a scan started as new initial data
 * @reinit_done: PRE_COPY: a scan of this session started new initial data
 * @config_sent: the CONFIG record was produced
 * @regs_sent: the REGS record was produced
 * @cursor: next page to consider in the current pass
 * @pending: pages the current pass must send
 * @npending: bits set in @pending; whatever changes a bit of @pending
 *	changes it too, under the same lock (the session's file lock while
 *	saving): ivs_pending_bytes() answers 0 from it without looking
 * @digest: PRE_COPY: digest of each page as last sent
 * @seed: PRE_COPY: the stream's seed, which keys the digests
 * @intr_mask: IntrMask captured when STOP_COPY was entered
 * @intr_status: IntrStatus captured when STOP_COPY was entered
 * @got_config: resume: CONFIG record seen
 * @got_regs: resume: REGS record seen (and staged)
 * @loaded: resume: pages written from the stream
 * @staged_mask: resume: IntrMask to load at commit
 * @staged_status: resume: IntrStatus to load at commit
 */
struct ivs_state {
	void __iomem *bar0;
	void __iomem *bar2;
	u64 mem_size;
	unsigned long nr_pages;

	bool saving;
	bool precopy;
	bool stop;
	bool initial;
	bool reinit_done;
	bool config_sent;
	bool regs_sent;
	unsigned long cursor;
	unsigned long *pending;
	unsigned long npending;
	u64 *digest;
	u64 seed;
	u32 intr_mask;
	u32 intr_status;

	bool got_config;
	bool got_regs;
	unsigned long *loaded;
	u32 staged_mask;
	u32 staged_status;
};

static struct ivs_state *ivs(struct qvp_device *qdev)
{
	return qvp_priv(qdev);
}

/* Bytes of BAR2 from page @first up to (not including) page @end. */
static size_t ivs_span(struct ivs_state *st, unsigned long first,
		       unsigned long end)
{
	return min_t(u64, (u64)end * IVS_PAGE, st->mem_size) -
	       (u64)first * IVS_PAGE;
}

/* Per-page bookkeeping of a session grows with BAR2: see QVP_GFP_SESSION. */
static void *ivs_session_array(size_t n, size_t size)
{
	return __vcalloc(n, size, QVP_GFP_SESSION);
}

static unsigned long *ivs_bitmap_alloc(unsigned long nbits)
{
	return ivs_session_array(BITS_TO_LONGS(nbits), sizeof(unsigned long));
}

static int ivs_nomem(struct qvp_device *qdev, const char *what, size_t bytes)
{
	dev_warn_ratelimited(qvp_dev(qdev),
			     "no memory for the %s (%zu bytes): out of memory, or the caller's memory cgroup is at its limit\n",
			     what, bytes);
	return -ENOMEM;
}

/* Where page @i is in BAR2. */
static void __iomem *ivs_page(struct ivs_state *st, unsigned long i)
{
	return st->bar2 + (u64)i * IVS_PAGE;
}

/* Digest of page @i as BAR2 holds it now; within the MMIO bracket. */
static u64 ivs_page_digest(struct ivs_state *st, unsigned long i)
{
	return qvp_bulk_digest_io(st->seed, ivs_page(st, i),
				  ivs_span(st, i, i + 1));
}

/*
 * ivshmem-doorbell has ivshmem-plain's PCI ID, plus MSI-X (its table in
 * BAR1), an IVPosition and peers behind a server: they write BAR2 and
 * ring this device's vectors whenever they like, also while it is
 * stopped.  Nothing here can stop them, so a saved BAR2 would be a torn
 * copy that resumes without complaint.  Refuse the device instead.
 */
static int ivs_probe(struct pci_dev *pdev)
{
	if (!pdev->msix_cap && !pci_resource_len(pdev, 1))
		return 0;
	pci_info(pdev,
		 "ivshmem: this is an ivshmem-doorbell (MSI-X, BAR1): its peers change it while it is stopped, so it cannot be migrated; not binding\n");
	return -ENODEV;
}

static int ivs_open(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);
	struct pci_dev *pdev = qdev->core.pdev;
	void __iomem *bar;

	if (pci_resource_len(pdev, 0) < IVS_BAR0_MIN ||
	    !(pci_resource_flags(pdev, 0) & IORESOURCE_MEM)) {
		pci_err(pdev, "ivshmem: BAR0 is not a register BAR (%pR)\n",
			&pdev->resource[0]);
		return -ENODEV;
	}
	if (pci_resource_len(pdev, 2) < 8 ||
	    !(pci_resource_flags(pdev, 2) & IORESOURCE_MEM)) {
		pci_err(pdev, "ivshmem: BAR2 is not a memory BAR (%pR)\n",
			&pdev->resource[2]);
		return -ENODEV;
	}
	bar = qvp_map_bar(qdev, 0);
	if (IS_ERR(bar))
		return PTR_ERR(bar);
	st->bar0 = bar;
	bar = qvp_map_bar(qdev, 2);
	if (IS_ERR(bar)) {
		st->bar0 = NULL;
		return PTR_ERR(bar);
	}
	st->bar2 = bar;
	/* Page digests are the bulk check's block digests. */
	BUILD_BUG_ON(IVS_PAGE != QVP_BULK_BLOCK);
	st->mem_size = pci_resource_len(pdev, 2);
	st->nr_pages = DIV_ROUND_UP_ULL(st->mem_size, IVS_PAGE);
	return 0;
}

static void ivs_close(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);

	st->bar0 = NULL;
	st->bar2 = NULL;
}

static int ivs_reset(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);
	u32 mask;
	u16 set;

	lockdep_assert_held(&qdev->state_mutex);
	set = qvp_mmio_begin(qdev);
	iowrite32(0, st->bar0 + IVS_REG_INTRMASK);
	iowrite32(0, st->bar0 + IVS_REG_INTRSTATUS);
	mask = ioread32(st->bar0 + IVS_REG_INTRMASK);
	qvp_mmio_end(qdev, set);
	/*
	 * A device that no longer answers reads all ones.  Anything else
	 * but 0 is a write that raced the reset: a user's BAR0 mmap
	 * faulted in again after the zap (VFIO_DEVICE_RESET).
	 */
	if (mask) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: IntrMask reads 0x%x after the reset, want 0: %s\n",
				    mask, mask == ~0U ? "the device does not answer" :
				    "a write through a BAR0 mapping raced the reset");
		return -EIO;
	}
	return 0;
}

/*
 * Bytes of the MEM records that send the pages marked in @map: each run of
 * consecutive marked pages is cut into records of at most IVS_RUN_PAGES
 * pages, which is how ivs_next_pending_run() sends them.
 */
static u64 ivs_runs_bytes(struct ivs_state *st, const unsigned long *map)
{
	unsigned long first = 0, end;
	u64 bytes = 0;

	for (;;) {
		first = find_next_bit(map, st->nr_pages, first);
		if (first >= st->nr_pages)
			return bytes;
		end = find_next_zero_bit(map, st->nr_pages, first);
		bytes += DIV_ROUND_UP(end - first, IVS_RUN_PAGES) *
			 IVS_MEM_REC_HDR + ivs_span(st, first, end);
		first = end;
	}
}

static u64 ivs_all_mem_rec(struct ivs_state *st)
{
	return DIV_ROUND_UP(st->nr_pages, IVS_RUN_PAGES) * IVS_MEM_REC_HDR +
	       st->mem_size;
}

/*
 * Bytes of the MEM records that would send the pending pages.  Walks the
 * bitmap only when some but not all pages are pending: between scans,
 * with everything found sent, a VFIO_MIG_GET_PRECOPY_INFO then costs the
 * same whatever BAR2's size.
 */
static u64 ivs_pending_bytes(struct ivs_state *st)
{
	if (!st->npending)
		return 0;
	if (st->npending == st->nr_pages)
		return ivs_all_mem_rec(st);
	return ivs_runs_bytes(st, st->pending);
}

/*
 * What STOP_COPY would still send.  In a PRE_COPY session this counts the
 * pages known to be pending; pages changed since the last scan are not
 * known until STOP_COPY reads them.
 */
static size_t ivs_stop_copy_size(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);
	size_t size = 0;

	if (!st->saving)
		return IVS_CONFIG_REC + ivs_all_mem_rec(st) + IVS_REGS_REC;
	if (!st->config_sent)
		size += IVS_CONFIG_REC;
	size += ivs_pending_bytes(st);
	if (!st->regs_sent)
		size += IVS_REGS_REC;
	return size;
}

static void ivs_free_session(struct ivs_state *st)
{
	vfree(st->pending);
	st->pending = NULL;
	st->npending = 0;
	vfree(st->digest);
	st->digest = NULL;
	st->saving = false;
}

static int ivs_save_begin(struct qvp_device *qdev, bool precopy, u64 *seed)
{
	struct ivs_state *st = ivs(qdev);

	st->pending = ivs_bitmap_alloc(st->nr_pages);
	if (!st->pending)
		return ivs_nomem(qdev, "save bitmap",
				 BITS_TO_LONGS(st->nr_pages) * sizeof(long));
	bitmap_fill(st->pending, st->nr_pages);
	st->npending = st->nr_pages;
	if (precopy) {
		/* 8 bytes per page: see "Stream" above for why. */
		st->digest = ivs_session_array(st->nr_pages, sizeof(*st->digest));
		if (!st->digest) {
			ivs_free_session(st);
			return ivs_nomem(qdev, "PRE_COPY digests",
					 st->nr_pages * sizeof(*st->digest));
		}
		st->seed = get_random_u64();
		*seed = st->seed;
	}
	st->saving = true;
	st->precopy = precopy;
	st->initial = precopy;
	st->reinit_done = false;
	st->stop = false;
	st->config_sent = false;
	st->regs_sent = false;
	st->cursor = 0;
	return 0;
}

static int ivs_save_stop(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);
	u16 set = qvp_mmio_begin(qdev);

	st->intr_mask = ioread32(st->bar0 + IVS_REG_INTRMASK);
	st->intr_status = ioread32(st->bar0 + IVS_REG_INTRSTATUS);
	/* The read cleared IntrStatus: the source keeps its state. */
	iowrite32(st->intr_status, st->bar0 + IVS_REG_INTRSTATUS);
	qvp_mmio_end(qdev, set);

	st->stop = true;
	st->initial = false;
	st->cursor = 0;
	return 0;
}

/*
 * Whether the pages a scan marked are a rewrite that starts new initial
 * data (see "PRE_COPY" above): at least ivshmem_reinit_pct percent of
 * BAR2 and at least a run of pages (64 KiB), once per session, and not
 * on a BAR2 of fewer than IVS_REINIT_MIN_PAGES.
 */
static bool ivs_rewrite_is_initial(struct ivs_state *st)
{
	unsigned int pct = READ_ONCE(ivshmem_reinit_pct);

	return pct && !st->reinit_done &&
	       st->nr_pages >= IVS_REINIT_MIN_PAGES &&
	       st->npending >= IVS_RUN_PAGES &&
	       st->npending >= DIV_ROUND_UP_ULL((u64)st->nr_pages * pct, 100);
}

/*
 * Mark the pages whose content changed since they were last sent.  The
 * migration layer calls this only when everything marked has been sent
 * and read: the first pass is over and the digests of every page sent are
 * complete.  Reads and hashes all of BAR2, taking the MMIO bracket for
 * IVS_RUN_PAGES pages at a time.  A fatal signal cuts the scan short:
 * what it did not reach, the next scan or STOP_COPY finds.
 */
static void ivs_precopy_scan(struct qvp_device *qdev, bool new_initial)
{
	struct ivs_state *st = ivs(qdev);
	unsigned long i, end;
	u16 set;

	if (!st->saving || st->stop)
		return;
	st->initial = false;
	for (i = 0; i < st->nr_pages; ) {
		if (fatal_signal_pending(current))
			break;
		cond_resched();
		end = min(i + IVS_RUN_PAGES, st->nr_pages);
		set = qvp_mmio_begin(qdev);
		for (; i < end; i++)
			if (ivs_page_digest(st, i) != st->digest[i] &&
			    !__test_and_set_bit(i, st->pending))
				st->npending++;
		qvp_mmio_end(qdev, set);
	}
	if (new_initial && ivs_rewrite_is_initial(st)) {
		st->initial = true;
		st->reinit_done = true;
	}
	st->cursor = 0;
}

/* What the pages marked (and, in the first pass, the config) come to. */
static void ivs_precopy_pending(struct qvp_device *qdev, u64 *initial,
				u64 *dirty)
{
	struct ivs_state *st = ivs(qdev);
	u64 bytes;

	if (!st->saving || st->stop)
		return;
	bytes = ivs_pending_bytes(st);
	if (st->initial)
		*initial = bytes + (st->config_sent ? 0 : IVS_CONFIG_REC);
	else
		*dirty = bytes;
}

static int ivs_save_config(struct ivs_state *st, struct qvp_save_rec *rec)
{
	struct qvp_ivshmem_config *cfg = rec->buf;

	if (rec->size < sizeof(*cfg))
		return -EOVERFLOW;
	cfg->mem_size = cpu_to_le64(st->mem_size);
	cfg->reserved = 0;
	st->config_sent = true;
	rec->type = QVP_REC_IVSHMEM_CONFIG;
	rec->len = sizeof(*cfg);
	return 1;
}

static int ivs_save_regs(struct ivs_state *st, struct qvp_save_rec *rec)
{
	struct qvp_ivshmem_regs *regs = rec->buf;

	if (rec->size < sizeof(*regs))
		return -EOVERFLOW;
	regs->intr_mask = cpu_to_le32(st->intr_mask);
	regs->intr_status = cpu_to_le32(st->intr_status);
	st->regs_sent = true;
	rec->type = QVP_REC_IVSHMEM_REGS;
	rec->len = sizeof(*regs);
	return 1;
}

/* The MEM record of pages [@first, @end): BAR2 itself is its data. */
static int ivs_run(struct ivs_state *st, unsigned long first,
		   unsigned long end, u64 *digests, struct qvp_save_rec *rec)
{
	rec->type = QVP_REC_IVSHMEM_MEM;
	rec->bulk.offset = (u64)first * IVS_PAGE;
	rec->bulk.mem = ivs_page(st, first);
	rec->bulk.len = ivs_span(st, first, end);
	rec->bulk.digests = digests;
	return 1;
}

/*
 * The next run of the pages marked pending, from the cursor on: up to
 * IVS_RUN_PAGES consecutive ones.  PRE_COPY passes, and STOP_COPY of a
 * session that has no digests.  In PRE_COPY the copy to the reader
 * records the digest of each page as sent.  Returns 1 with the run in
 * @rec, or 0 at the end of the pass.
 */
static int ivs_next_pending_run(struct qvp_device *qdev,
				struct qvp_save_rec *rec)
{
	struct ivs_state *st = ivs(qdev);
	unsigned long first, end;

	first = find_next_bit(st->pending, st->nr_pages, st->cursor);
	if (first >= st->nr_pages) {
		st->cursor = st->nr_pages;
		return 0;
	}
	end = find_next_zero_bit(st->pending,
				 min(first + IVS_RUN_PAGES, st->nr_pages),
				 first);
	bitmap_clear(st->pending, first, end - first);
	st->npending -= end - first;
	st->cursor = end;
	return ivs_run(st, first, end, st->digest ? st->digest + first : NULL,
		       rec);
}

/* STOP_COPY of a PRE_COPY session: must page @i be sent?  In the bracket. */
static bool ivs_stop_changed(struct ivs_state *st, unsigned long i)
{
	if (__test_and_clear_bit(i, st->pending)) {
		st->npending--;
		return true;
	}
	return ivs_page_digest(st, i) != st->digest[i];
}

/*
 * STOP_COPY of a PRE_COPY session: the next run of pages that are pending
 * or whose digest changed, up to IVS_RUN_PAGES consecutive ones.  Every
 * page is hashed once more, IVS_RUN_PAGES pages per MMIO bracket; the
 * memory no longer changes, so no digest is updated.  Returns 1 with the
 * run in @rec, 0 when every page was considered, or -EINTR.
 */
static int ivs_next_stop_run(struct qvp_device *qdev, struct qvp_save_rec *rec)
{
	struct ivs_state *st = ivs(qdev);
	unsigned long i = st->cursor, end, first = 0, n = 0;
	bool stop = false;
	u16 set;

	while (!stop && i < st->nr_pages && n < IVS_RUN_PAGES) {
		if (!n && i != st->cursor) {
			/* A whole window unchanged: let others run. */
			if (fatal_signal_pending(current)) {
				st->cursor = i;
				return -EINTR;
			}
			cond_resched();
		}
		end = min(round_down(i, IVS_RUN_PAGES) + IVS_RUN_PAGES,
			  st->nr_pages);
		set = qvp_mmio_begin(qdev);
		for (; i < end && n < IVS_RUN_PAGES; i++) {
			if (!ivs_stop_changed(st, i)) {
				if (n) {
					stop = true;
					break;
				}
				continue;
			}
			if (!n)
				first = i;
			n++;
		}
		qvp_mmio_end(qdev, set);
	}
	/* Page i, if it ended the run, was found unchanged already. */
	st->cursor = stop ? i + 1 : i;
	if (!n)
		return 0;
	return ivs_run(st, first, first + n, NULL, rec);
}

static int ivs_save_record(struct qvp_device *qdev, struct qvp_save_rec *rec)
{
	struct ivs_state *st = ivs(qdev);
	int ret;

	if (!st->saving)
		return -EINVAL;
	rec->initial = st->initial;
	if (!st->config_sent)
		return ivs_save_config(st, rec);
	if (!st->stop || st->cursor < st->nr_pages) {
		if (st->stop && st->digest)
			ret = ivs_next_stop_run(qdev, rec);
		else
			ret = ivs_next_pending_run(qdev, rec);
		if (ret)
			return ret;
		/* The end of a pass. */
		st->initial = false;
	}
	if (st->stop && !st->regs_sent)
		return ivs_save_regs(st, rec);
	return 0;
}

static void ivs_save_end(struct qvp_device *qdev)
{
	ivs_free_session(ivs(qdev));
}

static int ivs_load_begin(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);

	st->loaded = ivs_bitmap_alloc(st->nr_pages);
	if (!st->loaded)
		return ivs_nomem(qdev, "resume bitmap",
				 BITS_TO_LONGS(st->nr_pages) * sizeof(long));
	st->got_config = false;
	st->got_regs = false;
	return 0;
}

static int ivs_load_config(struct qvp_device *qdev,
			   const struct qvp_ivshmem_config *cfg)
{
	struct ivs_state *st = ivs(qdev);
	u64 size = le64_to_cpu(cfg->mem_size);

	if (st->got_config) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: stream has a second config record\n");
		return -EINVAL;
	}
	if (cfg->reserved) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: config record has reserved bits set\n");
		return -EINVAL;
	}
	if (size != st->mem_size) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: stream is of a %llu-byte memory, this device has %llu bytes\n",
				    size, st->mem_size);
		return -EINVAL;
	}
	st->got_config = true;
	return 0;
}

/*
 * A MEM record's head: the run's offset is page-aligned and within BAR2,
 * and it holds whole pages up to QVP_IVSHMEM_CHUNK bytes (the record
 * descriptor bounds the length), the last one shorter only where BAR2
 * ends.  Its data then goes straight to BAR2.
 */
static int ivs_load_bulk(struct qvp_device *qdev, u16 type, u64 off, u32 len,
			 void __iomem **mem)
{
	struct ivs_state *st = ivs(qdev);

	if (type != QVP_REC_IVSHMEM_MEM)
		return -EINVAL;
	if (!st->got_config || st->got_regs) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: memory record %s\n",
				    st->got_regs ? "after the register record" :
				    "before the config record");
		return -EINVAL;
	}
	if (off % IVS_PAGE || off >= st->mem_size) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: memory record at offset 0x%llx is not at a page\n",
				    off);
		return -EINVAL;
	}
	if (len > st->mem_size - off ||
	    (len % IVS_PAGE && len != st->mem_size - off)) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: memory record at 0x%llx has %u bytes, not whole pages of the memory\n",
				    off, len);
		return -EINVAL;
	}
	/* A data check that fails later refuses the whole stream. */
	bitmap_set(st->loaded, off / IVS_PAGE, DIV_ROUND_UP(len, IVS_PAGE));
	*mem = st->bar2 + off;
	return 0;
}

static int ivs_load_record(struct qvp_device *qdev, u16 type, const void *buf,
			   u32 len)
{
	struct ivs_state *st = ivs(qdev);
	const struct qvp_ivshmem_regs *regs = buf;

	if (type == QVP_REC_IVSHMEM_CONFIG)
		return ivs_load_config(qdev, buf);
	if (!st->got_config || st->got_regs) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: record 0x%04x %s\n", type,
				    st->got_regs ? "after the register record" :
				    "before the config record");
		return -EINVAL;
	}
	switch (type) {
	case QVP_REC_IVSHMEM_REGS:
		st->staged_mask = le32_to_cpu(regs->intr_mask);
		st->staged_status = le32_to_cpu(regs->intr_status);
		st->got_regs = true;
		return 0;
	default:
		return -EINVAL;
	}
}

static int ivs_load_commit(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);
	unsigned long missing;
	u16 set;

	if (!st->got_regs) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: stream has no register record\n");
		return -EINVAL;
	}
	missing = find_first_zero_bit(st->loaded, st->nr_pages);
	if (missing < st->nr_pages) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "ivshmem: stream lacks the memory page at 0x%llx\n",
				    (u64)missing * IVS_PAGE);
		return -EINVAL;
	}
	set = qvp_mmio_begin(qdev);
	iowrite32(st->staged_mask, st->bar0 + IVS_REG_INTRMASK);
	iowrite32(st->staged_status, st->bar0 + IVS_REG_INTRSTATUS);
	qvp_mmio_end(qdev, set);
	return 0;
}

static void ivs_load_end(struct qvp_device *qdev)
{
	struct ivs_state *st = ivs(qdev);

	vfree(st->loaded);
	st->loaded = NULL;
}

/* The records of an ivshmem stream (include/uapi/linux/qemu_vfio_pci.h). */
static const struct qvp_rec_desc ivs_records[] = {
	{
		.type = QVP_REC_IVSHMEM_CONFIG,
		.min_len = sizeof(struct qvp_ivshmem_config),
		.max_len = sizeof(struct qvp_ivshmem_config),
	},
	{
		.type = QVP_REC_IVSHMEM_MEM,
		.bulk = true,
		/* a page, or all of a memory smaller than a page (>= 8 bytes) */
		.min_len = QVP_BULK_OVERHEAD + 8,
		.max_len = QVP_BULK_OVERHEAD + QVP_IVSHMEM_CHUNK,
	},
	{
		.type = QVP_REC_IVSHMEM_REGS,
		.min_len = sizeof(struct qvp_ivshmem_regs),
		.max_len = sizeof(struct qvp_ivshmem_regs),
	},
};

const struct qvp_backend qvp_ivshmem_backend = {
	.name = "ivshmem",
	.id = QVP_BACKEND_IVSHMEM,
	.priv_size = sizeof(struct ivs_state),
	.records = ivs_records,
	.nr_records = ARRAY_SIZE(ivs_records),
	.probe = ivs_probe,
	/*
	 * ivshmem-plain has no DMA engine: its memory is a BAR that the
	 * guest and the host write, and the device never writes the
	 * guest's RAM.  Its DMA log is empty, and truthfully so, which
	 * lets QEMU migrate it with device dirty tracking.
	 */
	.dma_log = true,
	.open = ivs_open,
	.close = ivs_close,
	.reset = ivs_reset,
	.stop_copy_size = ivs_stop_copy_size,
	.save_begin = ivs_save_begin,
	.save_stop = ivs_save_stop,
	.save_record = ivs_save_record,
	.precopy_pending = ivs_precopy_pending,
	.precopy_scan = ivs_precopy_scan,
	.save_end = ivs_save_end,
	.load_begin = ivs_load_begin,
	.load_record = ivs_load_record,
	.load_bulk = ivs_load_bulk,
	.load_commit = ivs_load_commit,
	.load_end = ivs_load_end,
};
