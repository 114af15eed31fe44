/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: the DMA log's bookkeeping, for dirty.c.
 *
 * The log is a short sorted list of dirty extents, not a bitmap: its
 * size is fixed (QVP_LOG_MAX_EXTENTS), whatever the size of the IOVA
 * space the user tracks.  When a new extent would not fit, the two
 * extents with the smallest gap between them become one, which also
 * marks the gap: the log may report more than was written, never less.
 * For a device that writes many scattered pages between two reports,
 * "more" can grow large (QEMU then re-sends much RAM, and may not
 * converge): such a device wants its own tracker, as mlx5 and pds have.
 *
 * Only arithmetic over the ranges and extents of struct qvp_log (qvp.h)
 * is here: no locking, no allocation, no vfio.  Every function expects
 * the log's lock held by its caller: in the driver, dirty.c, the only
 * file of the driver that includes this header; the KUnit suite
 * (dirty_log_kunit.c) works on a log of its own that nothing else sees.
 * The functions are static inline, as static as when they lived in
 * dirty.c, so that the suite can build them without dirty.c's vfio code
 * and without the driver exporting them.
 */
#ifndef QVP_DIRTY_LOG_H
#define QVP_DIRTY_LOG_H

#include <linux/limits.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/types.h>

#include "qvp.h"

/* Does [s1, l1] overlap [s2, l2], or end right before it?  Those merge. */
static inline bool qvp_log_touch(u64 s1, u64 l1, u64 s2, u64 l2)
{
	return (l2 == U64_MAX || s1 <= l2 + 1) &&
	       (l1 == U64_MAX || s2 <= l1 + 1);
}

/*
 * The log holds one extent too many: make the two closest neighbours one
 * extent, gap included.  The gap after extent @keep is merged only if it
 * is the one gap there is: it is the hole a report just took out.
 */
static inline void qvp_log_squeeze(struct qvp_log *log, unsigned int keep)
{
	unsigned int i, best = 0;
	u64 gap, best_gap = U64_MAX;

	for (i = 0; i + 1 < log->nr_dirty; i++) {
		gap = log->dirty[i + 1].start - log->dirty[i].last;
		if (i == keep && log->nr_dirty > 2)
			continue;
		if (gap < best_gap) {
			best_gap = gap;
			best = i;
		}
	}
	log->dirty[best].last = log->dirty[best + 1].last;
	memmove(&log->dirty[best + 1], &log->dirty[best + 2],
		(log->nr_dirty - best - 2) * sizeof(log->dirty[0]));
	log->nr_dirty--;
}

/* Add [s, l] to the sorted, disjoint extents of the log. */
static inline void qvp_log_add(struct qvp_log *log, u64 s, u64 l)
{
	unsigned int i = 0, j;

	/* Skip the extents that end before s - 1. */
	while (i < log->nr_dirty && log->dirty[i].last != U64_MAX &&
	       log->dirty[i].last + 1 < s)
		i++;
	/* Extents i .. j - 1 touch [s, l] and become one. */
	for (j = i; j < log->nr_dirty &&
	     qvp_log_touch(log->dirty[j].start, log->dirty[j].last, s, l); j++) {
		s = min(s, log->dirty[j].start);
		l = max(l, log->dirty[j].last);
	}
	if (j > i) {
		log->dirty[i].start = s;
		log->dirty[i].last = l;
		memmove(&log->dirty[i + 1], &log->dirty[j],
			(log->nr_dirty - j) * sizeof(log->dirty[0]));
		log->nr_dirty -= j - i - 1;
		return;
	}
	memmove(&log->dirty[i + 1], &log->dirty[i],
		(log->nr_dirty - i) * sizeof(log->dirty[0]));
	log->dirty[i].start = s;
	log->dirty[i].last = l;
	if (++log->nr_dirty > QVP_LOG_MAX_EXTENTS)
		qvp_log_squeeze(log, UINT_MAX);
}

/* Take [s, l] out of the log, after it was reported. */
static inline void qvp_log_clear(struct qvp_log *log, u64 s, u64 l)
{
	unsigned int i = 0;

	while (i < log->nr_dirty) {
		struct qvp_log_range *e = &log->dirty[i];

		if (e->last < s || e->start > l) {
			i++;
			continue;
		}
		if (e->start >= s && e->last <= l) {
			memmove(e, e + 1, (log->nr_dirty - i - 1) * sizeof(*e));
			log->nr_dirty--;
			continue;
		}
		if (e->start < s && e->last > l) {
			/* A hole in the middle: two extents, one more entry. */
			memmove(e + 1, e, (log->nr_dirty - i) * sizeof(*e));
			e->last = s - 1;
			e[1].start = l + 1;
			if (++log->nr_dirty > QVP_LOG_MAX_EXTENTS)
				qvp_log_squeeze(log, i);
			return;
		}
		if (e->start < s)
			e->last = s - 1;
		else
			e->start = l + 1;
		i++;
	}
}

/**
 * qvp_log_mark - log a write of IOVA in the tracked ranges
 * @log: the log, locked and active
 * @iova: first byte written
 * @len: bytes written (0: nothing); a range that would run past the end
 *	of the IOVA space ends there
 *
 * The parts of the write outside the tracked ranges are ignored; each
 * part inside one is widened to whole pages of @log's page size, but
 * never past that range.
 */
static inline void qvp_log_mark(struct qvp_log *log, u64 iova, u64 len)
{
	u64 last, s, l;
	unsigned int i;

	if (!len)
		return;
	if (check_add_overflow(iova, len - 1, &last))
		last = U64_MAX;
	for (i = 0; i < log->nr_ranges; i++) {
		if (log->ranges[i].last < iova || log->ranges[i].start > last)
			continue;
		/* Whole pages, but never past the range. */
		s = max(round_down(iova, log->page_size), log->ranges[i].start);
		l = round_down(min(last, log->ranges[i].last), log->page_size);
		l = min(l + log->page_size - 1, log->ranges[i].last);
		qvp_log_add(log, s, l);
	}
}

/**
 * qvp_log_tracked - is a range of IOVA all tracked?
 * @log: the log
 * @s: first byte
 * @l: last byte, at least @s
 *
 * Return: true if [@s, @l] lies within the union of the tracked ranges.
 */
static inline bool qvp_log_tracked(const struct qvp_log *log, u64 s, u64 l)
{
	unsigned int i;

	for (i = 0; i < log->nr_ranges; i++) {
		if (log->ranges[i].last < s)
			continue;
		if (log->ranges[i].start > s)
			return false;
		if (log->ranges[i].last >= l)
			return true;
		s = log->ranges[i].last + 1;
	}
	return false;
}

/**
 * qvp_log_take - take a range of IOVA out of the log, for a report
 * @log: the log
 * @s: first byte
 * @l: last byte, at least @s
 * @out: room for QVP_LOG_MAX_EXTENTS + 1 entries
 *
 * What the log holds of [@s, @l] goes to @out, sorted, and out of the
 * log.  Cutting a hole in an extent may leave one extent too many; the
 * merge that follows never fills that hole again.
 *
 * Return: the entries of @out.
 */
static inline unsigned int qvp_log_take(struct qvp_log *log, u64 s, u64 l,
					struct qvp_log_range *out)
{
	unsigned int i, n = 0;

	for (i = 0; i < log->nr_dirty; i++) {
		u64 a = max(log->dirty[i].start, s);
		u64 b = min(log->dirty[i].last, l);

		if (a <= b) {
			out[n].start = a;
			out[n++].last = b;
		}
	}
	qvp_log_clear(log, s, l);
	return n;
}

#endif /* QVP_DIRTY_LOG_H */
