// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the qemu-vfio-pci DMA log's bookkeeping (dirty_log.h),
 * as the kernel builds it.
 *
 * The log keeps at most QVP_LOG_MAX_EXTENTS extents; what it must never
 * do is report less than was written.  The cases: adding extents (sorted,
 * merged when they touch or overlap, at both ends of the IOVA space); a
 * full log and one extent more, which merges the closest pair; the merge
 * after a report cut a hole, which must not fill the hole again; the
 * squeeze itself; taking partial ranges out; which reports lie inside
 * the tracked ranges; a write widened to pages and clamped to the
 * tracked ranges, with lengths that run past the end of the IOVA space;
 * and random writes and reports against a bitmap of what was written,
 * with a fixed seed: the log always covers the bitmap, holds nothing
 * outside the tracked range, never more than QVP_LOG_MAX_EXTENTS
 * extents, and a report returns exactly what the log held of its range.
 */

/*
 * The code under test: the very functions that dirty.c calls, static in
 * the header for dirty.c alone, compiled here a second time, helpers
 * (the merge, the squeeze) included.
 */
#include "dirty_log.h"

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#define T_MAX		QVP_LOG_MAX_EXTENTS
#define T_LIST		8
#define T_WHY		160
#define R(s, l)		{ .start = (s), .last = (l) }

static struct qvp_log *t_log(struct kunit *test)
{
	struct qvp_log *log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, log);
	log->page_size = SZ_4K;
	return log;
}

/* Lists of extents: a full log's, with one more, too big for the stack. */
struct t_lists {
	struct qvp_log_range e[T_MAX];
	struct qvp_log_range all[T_MAX + 1];
	struct qvp_log_range want[T_MAX];
};

static struct t_lists *t_lists(struct kunit *test)
{
	struct t_lists *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t);
	return t;
}

/* Room for a report, at its exact size (KASAN sees a write past it). */
static struct qvp_log_range *t_out(struct kunit *test)
{
	struct qvp_log_range *out;

	out = kunit_kmalloc_array(test, T_MAX + 1, sizeof(*out), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, out);
	return out;
}

static void t_set(struct qvp_log *log, const struct qvp_log_range *e,
		  unsigned int n)
{
	memcpy(log->dirty, e, n * sizeof(*e));
	log->nr_dirty = n;
}

/*
 * The log's own rules: at most T_MAX extents, each start <= last, sorted,
 * and neither overlapping nor touching (those would have been merged).
 */
static bool t_sane(const struct qvp_log *log, char *why)
{
	const struct qvp_log_range *e = log->dirty;
	unsigned int i;

	if (log->nr_dirty > T_MAX) {
		scnprintf(why, T_WHY, "%u extents", log->nr_dirty);
		return false;
	}
	for (i = 0; i < log->nr_dirty; i++) {
		if (e[i].start > e[i].last) {
			scnprintf(why, T_WHY, "extent %u is [%#llx, %#llx]",
				  i, e[i].start, e[i].last);
			return false;
		}
		if (i && (e[i - 1].last == U64_MAX ||
			  e[i - 1].last + 1 >= e[i].start)) {
			scnprintf(why, T_WHY,
				  "extents %u and %u, [%#llx, %#llx] and [%#llx, %#llx], not apart",
				  i - 1, i, e[i - 1].start, e[i - 1].last,
				  e[i].start, e[i].last);
			return false;
		}
	}
	return true;
}

#define T_EXPECT_SANE(test, log) do {					\
	char __why[T_WHY];						\
									\
	KUNIT_EXPECT_TRUE_MSG(test, t_sane(log, __why), "%s", __why);	\
} while (0)

/* The extents @got are @want, entry for entry; else a failure saying where. */
static bool t_same(struct kunit *test, const char *what,
		   const struct qvp_log_range *got, unsigned int ngot,
		   const struct qvp_log_range *want, unsigned int nwant)
{
	unsigned int i;

	for (i = 0; i < min(ngot, nwant); i++)
		if (got[i].start != want[i].start || got[i].last != want[i].last)
			break;
	if (i == ngot && i == nwant)
		return true;
	KUNIT_FAIL(test, "%s: %u extents, want %u; at %u: [%#llx, %#llx], want [%#llx, %#llx]",
		   what, ngot, nwant, i,
		   i < ngot ? got[i].start : 0, i < ngot ? got[i].last : 0,
		   i < nwant ? want[i].start : 0, i < nwant ? want[i].last : 0);
	return false;
}

/* Does the log hold every byte of [s, l]? */
static bool t_covers(const struct qvp_log *log, u64 s, u64 l)
{
	unsigned int i;

	for (i = 0; i < log->nr_dirty; i++) {
		if (log->dirty[i].last < s)
			continue;
		if (log->dirty[i].start > s)
			return false;
		if (log->dirty[i].last >= l)
			return true;
		s = log->dirty[i].last + 1;
	}
	return false;
}

/* Does the log hold any byte of [s, l]? */
static bool t_touches(const struct qvp_log *log, u64 s, u64 l)
{
	unsigned int i;

	for (i = 0; i < log->nr_dirty; i++)
		if (log->dirty[i].start <= l && log->dirty[i].last >= s)
			return true;
	return false;
}

/* --- adding extents ------------------------------------------------------ */

/*
 * A full log's worth of extents, added in a scrambled order: they come
 * out sorted, and none merged.
 */
static void add_disjoint_sorted(struct kunit *test)
{
	struct qvp_log *log = t_log(test);
	struct qvp_log_range *want = t_lists(test)->want;
	unsigned int i, k;

	for (k = 0; k < T_MAX; k++) {
		want[k].start = 0x100000 + k * (u64)SZ_64K;
		want[k].last = want[k].start + SZ_4K - 1;
	}
	/* 37 is prime to 64: every extent once, none next to the last one. */
	for (i = 0; i < T_MAX; i++) {
		k = i * 37 % T_MAX;
		qvp_log_add(log, want[k].start, want[k].last);
		KUNIT_ASSERT_EQ(test, log->nr_dirty, i + 1);
		T_EXPECT_SANE(test, log);
	}
	t_same(test, "64 extents", log->dirty, log->nr_dirty, want, T_MAX);
}

struct t_add {
	const char *name;
	struct qvp_log_range before[T_LIST];
	unsigned int nr_before;
	struct qvp_log_range add;
	struct qvp_log_range after[T_LIST];
	unsigned int nr_after;
};

static const struct t_add t_adds[] = {
	{ "into an empty log", {}, 0, R(0x1000, 0x1fff),
	  { R(0x1000, 0x1fff) }, 1 },
	{ "before, a byte apart", { R(0x2000, 0x2fff) }, 1, R(0x1000, 0x1ffe),
	  { R(0x1000, 0x1ffe), R(0x2000, 0x2fff) }, 2 },
	{ "ending right before", { R(0x2000, 0x2fff) }, 1, R(0x1000, 0x1fff),
	  { R(0x1000, 0x2fff) }, 1 },
	{ "starting right after", { R(0x1000, 0x1fff) }, 1, R(0x2000, 0x2fff),
	  { R(0x1000, 0x2fff) }, 1 },
	{ "after, a byte apart", { R(0x1000, 0x1fff) }, 1, R(0x2001, 0x2fff),
	  { R(0x1000, 0x1fff), R(0x2001, 0x2fff) }, 2 },
	{ "overlapping the start", { R(0x2000, 0x3fff) }, 1, R(0x1000, 0x2fff),
	  { R(0x1000, 0x3fff) }, 1 },
	{ "overlapping the end", { R(0x2000, 0x3fff) }, 1, R(0x3000, 0x4fff),
	  { R(0x2000, 0x4fff) }, 1 },
	{ "inside", { R(0x1000, 0x4fff) }, 1, R(0x2000, 0x2fff),
	  { R(0x1000, 0x4fff) }, 1 },
	{ "around", { R(0x2000, 0x2fff) }, 1, R(0x1000, 0x4fff),
	  { R(0x1000, 0x4fff) }, 1 },
	{ "between, touching neither",
	  { R(0x1000, 0x1fff), R(0x4000, 0x4fff) }, 2, R(0x2001, 0x3ffe),
	  { R(0x1000, 0x1fff), R(0x2001, 0x3ffe), R(0x4000, 0x4fff) }, 3 },
	{ "touching both neighbours",
	  { R(0x1000, 0x1fff), R(0x3000, 0x3fff) }, 2, R(0x2000, 0x2fff),
	  { R(0x1000, 0x3fff) }, 1 },
	{ "bridging three of four",
	  { R(0x1000, 0x1fff), R(0x3000, 0x3fff), R(0x5000, 0x5fff),
	    R(0x8000, 0x8fff) }, 4, R(0x2000, 0x5000),
	  { R(0x1000, 0x5fff), R(0x8000, 0x8fff) }, 2 },
	{ "IOVA 0, touching", { R(0x1, 0xfff) }, 1, R(0, 0),
	  { R(0, 0xfff) }, 1 },
	{ "IOVA 0, apart", { R(0x2, 0xfff) }, 1, R(0, 0),
	  { R(0, 0), R(0x2, 0xfff) }, 2 },
	{ "the last byte, touching", { R(U64_MAX - 0xfff, U64_MAX - 1) }, 1,
	  R(U64_MAX, U64_MAX), { R(U64_MAX - 0xfff, U64_MAX) }, 1 },
	{ "the last byte, apart", { R(U64_MAX - 0xfff, U64_MAX - 2) }, 1,
	  R(U64_MAX, U64_MAX),
	  { R(U64_MAX - 0xfff, U64_MAX - 2), R(U64_MAX, U64_MAX) }, 2 },
	{ "before one that ends at the last byte",
	  { R(U64_MAX - 0xfff, U64_MAX) }, 1, R(0, 0xfff),
	  { R(0, 0xfff), R(U64_MAX - 0xfff, U64_MAX) }, 2 },
	{ "touching one that ends at the last byte", { R(0x1000, U64_MAX) }, 1,
	  R(0, 0xfff), { R(0, U64_MAX) }, 1 },
	{ "inside the whole IOVA space", { R(0, U64_MAX) }, 1, R(5, 5),
	  { R(0, U64_MAX) }, 1 },
	{ "the whole IOVA space",
	  { R(0x1000, 0x1fff), R(U64_MAX, U64_MAX) }, 2, R(0, U64_MAX),
	  { R(0, U64_MAX) }, 1 },
};

KUNIT_ARRAY_PARAM_DESC(t_adds, t_adds, name);

static void add_merges(struct kunit *test)
{
	const struct t_add *c = test->param_value;
	struct qvp_log *log = t_log(test);

	t_set(log, c->before, c->nr_before);
	qvp_log_add(log, c->add.start, c->add.last);
	t_same(test, "after the add", log->dirty, log->nr_dirty, c->after, c->nr_after);
	T_EXPECT_SANE(test, log);
}

/* --- a full log and one extent more ---------------------------------------- */

#define T_STRIDE	((u64)SZ_64K)

/*
 * The log full with 64 extents of 4 KiB, T_STRIDE apart from @base on;
 * extent @widen (unless negative) grows by @grow bytes towards the next.
 */
static void t_fill(struct qvp_log *log, struct qvp_log_range *e, u64 base,
		   int widen, u64 grow)
{
	unsigned int k;

	for (k = 0; k < T_MAX; k++) {
		e[k].start = base + k * T_STRIDE;
		e[k].last = e[k].start + SZ_4K - 1;
		if ((int)k == widen)
			e[k].last += grow;
	}
	t_set(log, e, T_MAX);
}

/*
 * @e (@n sorted, disjoint extents) with @e[@i] and @e[@i + 1] made one,
 * into @out: what the squeeze must leave.
 */
static unsigned int t_merged(struct qvp_log_range *out,
			     const struct qvp_log_range *e, unsigned int n,
			     unsigned int i)
{
	memcpy(out, e, i * sizeof(*e));
	out[i].start = e[i].start;
	out[i].last = e[i + 1].last;
	memcpy(&out[i + 1], &e[i + 2], (n - i - 2) * sizeof(*e));
	return n - 1;
}

struct t_overflow {
	const char *name;
	u64 base;
	int widen;		/* extent made closer to the next, or -1 */
	u64 add;		/* the 65th extent: base + add ... */
	u64 add_len;		/* ... for add_len bytes */
	unsigned int pair;	/* of the 65, sorted: this one and the next merge */
};

/* The top of the IOVA space: the last extent ends at its last byte. */
#define T_TOP	(U64_MAX - (T_MAX - 1) * T_STRIDE - (SZ_4K - 1))

static const struct t_overflow t_overflows[] = {
	/* Extent 10 ends 0x101 before 11: the closest pair of all. */
	{ "two old extents are the closest", 0x100000, 10,
	  40 * T_STRIDE + 0x8000, SZ_4K, 10 },
	{ "the new one and the one before", 0x100000, -1,
	  20 * T_STRIDE + SZ_4K + 0x10, 0x10, 20 },
	{ "the new one and the one after", 0x100000, -1,
	  31 * T_STRIDE - 0x20, 0x10, 31 },
	{ "the new one before all", 0x100000, -1, -0x20ULL, 0x10, 0 },
	{ "the new one after all", 0x100000, -1,
	  63 * T_STRIDE + SZ_4K + 0x10, 0x10, 63 },
	{ "at IOVA 0: the first two", 0, -1, SZ_4K + 0x10, 0x10, 0 },
	{ "at the top: into the extent that ends at the last byte", T_TOP, -1,
	  63 * T_STRIDE - 0x20, 0x10, 63 },
};

KUNIT_ARRAY_PARAM_DESC(t_overflows, t_overflows, name);

/*
 * A log of exactly 64 extents, and a write apart from all of them: the
 * two extents with the smallest gap become one (the new one may be one
 * of them), so that 64 remain; nothing written is lost.
 */
static void overflow_merges_closest(struct kunit *test)
{
	const struct t_overflow *c = test->param_value;
	struct qvp_log *log = t_log(test);
	struct qvp_log_range add = R(c->base + c->add, c->base + c->add + c->add_len - 1);
	struct t_lists *t = t_lists(test);
	struct qvp_log_range *e = t->e, *all = t->all, *want = t->want;
	unsigned int i, j, n;

	t_fill(log, e, c->base, c->widen, SZ_64K - SZ_4K - 0x100);
	/* Exactly 64: the log is full, nothing merged. */
	T_EXPECT_SANE(test, log);
	KUNIT_ASSERT_EQ(test, log->nr_dirty, T_MAX);
	for (i = 0, j = 0; i < T_MAX; i++) {
		if (j == i && add.last < e[i].start)
			all[j++] = add;
		all[j++] = e[i];
	}
	if (j == T_MAX)
		all[j++] = add;
	n = t_merged(want, all, T_MAX + 1, c->pair);

	qvp_log_add(log, add.start, add.last);
	KUNIT_EXPECT_EQ(test, log->nr_dirty, T_MAX);
	T_EXPECT_SANE(test, log);
	t_same(test, "after the 65th", log->dirty, log->nr_dirty, want, n);
	for (i = 0; i < T_MAX + 1; i++)
		KUNIT_EXPECT_TRUE_MSG(test, t_covers(log, all[i].start, all[i].last),
				      "[%#llx, %#llx] written, not in the log",
				      all[i].start, all[i].last);
}

/*
 * A full log and writes that touch extents (right after one, right
 * before one, filling the gap between two): merged into them, and no
 * other extents merge.
 */
static void full_log_touching_writes(struct kunit *test)
{
	struct qvp_log *log = t_log(test);
	struct t_lists *t = t_lists(test);
	struct qvp_log_range *e = t->e, *grown = t->all, *want = t->want;
	unsigned int n;

	t_fill(log, e, 0x100000, -1, 0);
	memcpy(grown, e, T_MAX * sizeof(*e));
	grown[5].last += 0x10;
	grown[40].start -= 0x10;
	n = t_merged(want, grown, T_MAX, 20);
	qvp_log_add(log, e[5].last + 1, e[5].last + 0x10);
	qvp_log_add(log, e[40].start - 0x10, e[40].start - 1);
	qvp_log_add(log, e[20].last + 1, e[21].start - 1);
	t_same(test, "after the writes", log->dirty, log->nr_dirty, want, n);
	T_EXPECT_SANE(test, log);
}

/* --- the squeeze, and the hole that a report cut ----------------------------- */

struct t_hole {
	const char *name;
	u64 base;
	unsigned int extent;	/* the extent, 48 KiB long, the hole cuts */
	unsigned int closest;	/* the closest other pair, 0x2001 apart */
	u64 hole;		/* offset of the hole in the extent ... */
	u64 hole_len;		/* ... and its length */
};

static const struct t_hole t_holes[] = {
	{ "a byte out of a middle extent", 0x100000, 20, 40, 0x8000, 1 },
	{ "a page out of the first extent", 0x100000, 0, 40, 0x8000, SZ_4K },
	{ "a byte out of the last extent", 0x100000, 63, 10, 0x8000, 1 },
	{ "at the top: a byte out of the extent before the last", T_TOP, 62, 10,
	  0x8000, 1 },
	{ "at IOVA 0: a byte out of the first extent", 0, 0, 10, 0x1, 1 },
};

KUNIT_ARRAY_PARAM_DESC(t_holes, t_holes, name);

/*
 * A full log and a report that cuts a hole in an extent: 65 extents,
 * and the gap of the hole is the smallest.  The squeeze must merge the
 * closest other pair: merging the hole back would report again what
 * was just reported, each time, and never let the log drain.
 */
static void squeeze_spares_hole(struct kunit *test)
{
	const struct t_hole *c = test->param_value;
	struct qvp_log *log = t_log(test);
	struct qvp_log_range *out = t_out(test);
	struct t_lists *t = t_lists(test);
	struct qvp_log_range *e = t->e, *cut = t->all, *want = t->want;
	struct qvp_log_range hole;
	unsigned int i, j, n;

	/*
	 * Gaps: 0x2001 after extent @closest, 0x4001 after extent
	 * @extent, 0xf001 elsewhere; the hole's, 0x1001 at most.
	 */
	t_fill(log, e, c->base, c->extent, 0xb000);
	e[c->closest].last += 0xd000;
	t_set(log, e, T_MAX);
	T_EXPECT_SANE(test, log);
	hole.start = e[c->extent].start + c->hole;
	hole.last = hole.start + c->hole_len - 1;
	KUNIT_ASSERT_LT(test, hole.last, e[c->extent].last);

	/* The extents with the hole cut, and their closest pair merged. */
	for (i = 0, j = 0; i < T_MAX; i++) {
		cut[j++] = e[i];
		if (i == c->extent) {
			cut[j - 1].last = hole.start - 1;
			cut[j].start = hole.last + 1;
			cut[j++].last = e[i].last;
		}
	}
	n = t_merged(want, cut, T_MAX + 1,
		     c->closest + (c->closest > c->extent));

	KUNIT_ASSERT_EQ(test, qvp_log_take(log, hole.start, hole.last, out), 1);
	t_same(test, "the report", out, 1, &hole, 1);
	KUNIT_EXPECT_EQ(test, log->nr_dirty, T_MAX);
	T_EXPECT_SANE(test, log);
	KUNIT_EXPECT_FALSE_MSG(test, t_touches(log, hole.start, hole.last),
			       "the hole [%#llx, %#llx] is in the log again",
			       hole.start, hole.last);
	t_same(test, "after the report", log->dirty, log->nr_dirty, want, n);
}

struct t_squeeze {
	const char *name;
	struct qvp_log_range before[T_LIST];
	unsigned int nr;
	unsigned int keep;
	struct qvp_log_range after[T_LIST];
};

static const struct t_squeeze t_squeezes[] = {
	{ "the smallest gap", { R(0, 0), R(10, 10), R(13, 13), R(30, 30) }, 4,
	  UINT_MAX, { R(0, 0), R(10, 13), R(30, 30) } },
	{ "the first of equal gaps", { R(0, 0), R(10, 10), R(20, 20) }, 3,
	  UINT_MAX, { R(0, 10), R(20, 20) } },
	{ "not the gap after keep", { R(0, 0), R(2, 2), R(10, 10) }, 3, 0,
	  { R(0, 0), R(2, 10) } },
	{ "the gap after keep when it is the only one", { R(0, 0), R(2, 2) }, 2,
	  0, { R(0, 2) } },
	{ "gaps of 2^63 and 2^63 - 1",
	  { R(0, 0), R(BIT_ULL(63), BIT_ULL(63)), R(U64_MAX, U64_MAX) }, 3,
	  UINT_MAX, { R(0, 0), R(BIT_ULL(63), U64_MAX) } },
	{ "a gap of 2^64 - 1", { R(0, 0), R(U64_MAX, U64_MAX) }, 2, UINT_MAX,
	  { R(0, U64_MAX) } },
	{ "gaps of 2^64 - 3 and 2",
	  { R(0, 0), R(U64_MAX - 2, U64_MAX - 2), R(U64_MAX, U64_MAX) }, 3,
	  UINT_MAX, { R(0, 0), R(U64_MAX - 2, U64_MAX) } },
};

KUNIT_ARRAY_PARAM_DESC(t_squeezes, t_squeezes, name);

/* The squeeze alone, on logs too short for the add and clear to need it. */
static void squeeze_picks_pair(struct kunit *test)
{
	const struct t_squeeze *c = test->param_value;
	struct qvp_log *log = t_log(test);

	t_set(log, c->before, c->nr);
	qvp_log_squeeze(log, c->keep);
	t_same(test, "after the squeeze", log->dirty, log->nr_dirty, c->after, c->nr - 1);
}

/* --- taking partial ranges out --------------------------------------------- */

struct t_take {
	const char *name;
	struct qvp_log_range before[T_LIST];
	unsigned int nr_before;
	struct qvp_log_range take;
	struct qvp_log_range out[T_LIST];
	unsigned int nr_out;
	struct qvp_log_range after[T_LIST];
	unsigned int nr_after;
};

static const struct t_take t_takes[] = {
	{ "nothing there", { R(0x1000, 0x1fff) }, 1, R(0x3000, 0x3fff),
	  {}, 0, { R(0x1000, 0x1fff) }, 1 },
	{ "one whole extent", { R(0x1000, 0x1fff), R(0x3000, 0x3fff) }, 2,
	  R(0x1000, 0x1fff), { R(0x1000, 0x1fff) }, 1, { R(0x3000, 0x3fff) }, 1 },
	{ "the head of an extent", { R(0x1000, 0x3fff) }, 1, R(0, 0x1fff),
	  { R(0x1000, 0x1fff) }, 1, { R(0x2000, 0x3fff) }, 1 },
	{ "the tail of an extent", { R(0x1000, 0x3fff) }, 1, R(0x3000, 0x4fff),
	  { R(0x3000, 0x3fff) }, 1, { R(0x1000, 0x2fff) }, 1 },
	{ "a hole in an extent", { R(0x1000, 0x3fff) }, 1, R(0x2000, 0x2fff),
	  { R(0x2000, 0x2fff) }, 1, { R(0x1000, 0x1fff), R(0x3000, 0x3fff) }, 2 },
	{ "a one-byte hole", { R(0x1000, 0x3fff) }, 1, R(0x2000, 0x2000),
	  { R(0x2000, 0x2000) }, 1, { R(0x1000, 0x1fff), R(0x2001, 0x3fff) }, 2 },
	{ "across four, cutting two",
	  { R(0x1000, 0x1fff), R(0x3000, 0x3fff), R(0x5000, 0x5fff),
	    R(0x7000, 0x7fff) }, 4, R(0x1800, 0x57ff),
	  { R(0x1800, 0x1fff), R(0x3000, 0x3fff), R(0x5000, 0x57ff) }, 3,
	  { R(0x1000, 0x17ff), R(0x5800, 0x5fff), R(0x7000, 0x7fff) }, 3 },
	{ "from IOVA 0", { R(0, 0xfff) }, 1, R(0, 0x7ff),
	  { R(0, 0x7ff) }, 1, { R(0x800, 0xfff) }, 1 },
	{ "a hole at IOVA 1", { R(0, 0xfff) }, 1, R(1, 1),
	  { R(1, 1) }, 1, { R(0, 0), R(2, 0xfff) }, 2 },
	{ "to the last byte", { R(U64_MAX - 0xfff, U64_MAX) }, 1,
	  R(U64_MAX - 0x7ff, U64_MAX), { R(U64_MAX - 0x7ff, U64_MAX) }, 1,
	  { R(U64_MAX - 0xfff, U64_MAX - 0x800) }, 1 },
	{ "a hole before the last byte", { R(U64_MAX - 0xfff, U64_MAX) }, 1,
	  R(U64_MAX - 1, U64_MAX - 1), { R(U64_MAX - 1, U64_MAX - 1) }, 1,
	  { R(U64_MAX - 0xfff, U64_MAX - 2), R(U64_MAX, U64_MAX) }, 2 },
	{ "the whole IOVA space",
	  { R(0, 0), R(0x1000, 0x1fff), R(U64_MAX, U64_MAX) }, 3, R(0, U64_MAX),
	  { R(0, 0), R(0x1000, 0x1fff), R(U64_MAX, U64_MAX) }, 3, {}, 0 },
};

KUNIT_ARRAY_PARAM_DESC(t_takes, t_takes, name);

static void take_partial(struct kunit *test)
{
	const struct t_take *c = test->param_value;
	struct qvp_log *log = t_log(test);
	struct qvp_log_range *out = t_out(test);
	unsigned int n;

	t_set(log, c->before, c->nr_before);
	n = qvp_log_take(log, c->take.start, c->take.last, out);
	t_same(test, "the report", out, n, c->out, c->nr_out);
	t_same(test, "the log after it", log->dirty, log->nr_dirty, c->after, c->nr_after);
	T_EXPECT_SANE(test, log);
}

/* --- the tracked ranges ------------------------------------------------------ */

struct t_tracked {
	const char *name;
	const struct qvp_log_range *ranges;
	unsigned int nr;
	struct qvp_log_range report;
	bool tracked;
};

/* Two ranges that touch, a gap, a third. */
static const struct qvp_log_range t_three[] = {
	R(0x10000, 0x1ffff), R(0x20000, 0x2ffff), R(0x40000, 0x4ffff),
};

/* As many as the log tracks, each touching the next. */
static const struct qvp_log_range t_sixteen[QVP_LOG_MAX_RANGES] = {
	R(0x0000, 0x0fff), R(0x1000, 0x1fff), R(0x2000, 0x2fff), R(0x3000, 0x3fff),
	R(0x4000, 0x4fff), R(0x5000, 0x5fff), R(0x6000, 0x6fff), R(0x7000, 0x7fff),
	R(0x8000, 0x8fff), R(0x9000, 0x9fff), R(0xa000, 0xafff), R(0xb000, 0xbfff),
	R(0xc000, 0xcfff), R(0xd000, 0xdfff), R(0xe000, 0xefff), R(0xf000, 0xffff),
};

/* Two ranges with a one-byte gap between them. */
static const struct qvp_log_range t_byte_gap[] = {
	R(0x10000, 0x1ffff), R(0x20001, 0x2ffff),
};

static const struct qvp_log_range t_first_page[] = { R(0, 0xfff) };
static const struct qvp_log_range t_last_page[] = { R(U64_MAX - 0xfff, U64_MAX) };
static const struct qvp_log_range t_last_two[] = {
	R(U64_MAX - 0x1fff, U64_MAX - 0x1000), R(U64_MAX - 0xfff, U64_MAX),
};

static const struct qvp_log_range t_below_top[] = {
	R(U64_MAX - 0x1fff, U64_MAX - 0x1000),
};

static const struct t_tracked t_trackeds[] = {
	{ "no ranges", t_first_page, 0, R(0, 0), false },
	{ "inside one", t_three, 3, R(0x10000, 0x10fff), true },
	{ "one whole", t_three, 3, R(0x10000, 0x1ffff), true },
	{ "its first byte", t_three, 3, R(0x40000, 0x40000), true },
	{ "its last byte", t_three, 3, R(0x4ffff, 0x4ffff), true },
	{ "across two that touch", t_three, 3, R(0x1f000, 0x20fff), true },
	{ "two that touch, whole", t_three, 3, R(0x10000, 0x2ffff), true },
	{ "across a gap", t_three, 3, R(0x2f000, 0x40fff), false },
	{ "in the gap", t_three, 3, R(0x30000, 0x30fff), false },
	{ "across a one-byte gap", t_byte_gap, 2, R(0x1f000, 0x20fff), false },
	{ "the one-byte gap alone", t_byte_gap, 2, R(0x20000, 0x20000), false },
	{ "up to the one-byte gap", t_byte_gap, 2, R(0x1f000, 0x1ffff), true },
	{ "from right after the one-byte gap", t_byte_gap, 2,
	  R(0x20001, 0x20fff), true },
	{ "a byte before the first", t_three, 3, R(0xffff, 0x10fff), false },
	{ "a byte past the last", t_three, 3, R(0x4f000, 0x50000), false },
	{ "past the last", t_three, 3, R(0x50000, 0x50fff), false },
	{ "all three and the gap", t_three, 3, R(0x10000, 0x4ffff), false },
	{ "sixteen that touch, all", t_sixteen, 16, R(0, 0xffff), true },
	{ "sixteen that touch, and a byte more", t_sixteen, 16, R(0, 0x10000), false },
	{ "IOVA 0", t_first_page, 1, R(0, 0), true },
	{ "IOVA 0, a byte too many", t_first_page, 1, R(0, 0x1000), false },
	{ "the last byte", t_last_page, 1, R(U64_MAX, U64_MAX), true },
	{ "up to the last byte, across two", t_last_two, 2,
	  R(U64_MAX - 0x1fff, U64_MAX), true },
	{ "up to the last byte, which no range has", t_below_top, 1,
	  R(U64_MAX - 0x1fff, U64_MAX), false },
	{ "the whole IOVA space", t_three, 3, R(0, U64_MAX), false },
};

KUNIT_ARRAY_PARAM_DESC(t_trackeds, t_trackeds, name);

/* REPORT is accepted only for IOVA that lies all in the tracked ranges. */
static void report_tracked(struct kunit *test)
{
	const struct t_tracked *c = test->param_value;
	struct qvp_log *log = t_log(test);

	memcpy(log->ranges, c->ranges, c->nr * sizeof(*c->ranges));
	log->nr_ranges = c->nr;
	KUNIT_EXPECT_EQ(test, qvp_log_tracked(log, c->report.start, c->report.last),
			c->tracked);
}

/* --- a write, widened to pages within the tracked ranges --------------------- */

struct t_mark {
	const char *name;
	const struct qvp_log_range *ranges;
	unsigned int nr;
	u64 page_size;
	u64 iova;
	u64 len;
	struct qvp_log_range want[T_LIST];
	unsigned int nr_want;
};

static const struct qvp_log_range t_one[] = { R(0x10000, 0x1ffff) };
static const struct qvp_log_range t_apart[] = {
	R(0x10000, 0x1ffff), R(0x30000, 0x3ffff),
};

static const struct qvp_log_range t_unaligned[] = {
	R(0x10800, 0x117ff), R(0x11800, 0x127ff),
};

static const struct qvp_log_range t_unaligned_start[] = { R(0x10800, 0x11fff) };
static const struct qvp_log_range t_unaligned_end[] = { R(0x10000, 0x107ff) };
static const struct qvp_log_range t_four_gib[] = { R(0, SZ_4G - 1) };

static const struct t_mark t_marks[] = {
	{ "length 0", t_one, 1, SZ_4K, 0x10000, 0, {}, 0 },
	{ "a byte: its page", t_one, 1, SZ_4K, 0x12345, 1,
	  { R(0x12000, 0x12fff) }, 1 },
	{ "two bytes: two pages", t_one, 1, SZ_4K, 0x12fff, 2,
	  { R(0x12000, 0x13fff) }, 1 },
	{ "outside", t_one, 1, SZ_4K, 0x30000, SZ_4K, {}, 0 },
	{ "a byte before the range", t_one, 1, SZ_4K, 0xffff, 1, {}, 0 },
	{ "partly before the range", t_one, 1, SZ_4K, 0xf000, 0x2000,
	  { R(0x10000, 0x10fff) }, 1 },
	{ "partly after the range", t_one, 1, SZ_4K, 0x1f800, SZ_4K,
	  { R(0x1f000, 0x1ffff) }, 1 },
	{ "across two ranges and the gap", t_apart, 2, SZ_4K,
	  0x1f000, 0x12000, { R(0x1f000, 0x1ffff), R(0x30000, 0x30fff) }, 2 },
	{ "a page cut at the start of the range", t_unaligned_start, 1, SZ_4K,
	  0x10900, 1, { R(0x10800, 0x10fff) }, 1 },
	{ "a page cut at the end of the range", t_unaligned_end, 1, SZ_4K,
	  0x10100, 1, { R(0x10000, 0x107ff) }, 1 },
	{ "pages cut at two ranges that touch", t_unaligned, 2, SZ_4K,
	  0x10900, 0x1000, { R(0x10800, 0x11fff) }, 1 },
	{ "1 GiB pages", t_four_gib, 1, SZ_1G, 0x40000123, 1,
	  { R(0x40000000, 0x7fffffff) }, 1 },
	{ "from IOVA 0, length 2^64 - 1", t_one, 1, SZ_4K, 0, U64_MAX,
	  { R(0x10000, 0x1ffff) }, 1 },
	{ "the last byte", t_last_page, 1, SZ_4K, U64_MAX, 1,
	  { R(U64_MAX - 0xfff, U64_MAX) }, 1 },
	{ "the last byte and one past it", t_last_page, 1, SZ_4K, U64_MAX, 2,
	  { R(U64_MAX - 0xfff, U64_MAX) }, 1 },
	{ "ending exactly at the last byte", t_last_page, 1, SZ_4K, 1, U64_MAX,
	  { R(U64_MAX - 0xfff, U64_MAX) }, 1 },
	{ "from IOVA 2, length 2^64 - 1", t_last_page, 1, SZ_4K, 2, U64_MAX,
	  { R(U64_MAX - 0xfff, U64_MAX) }, 1 },
	{ "past the end, in a range that ends before it", t_below_top, 1, SZ_4K,
	  U64_MAX - 0x1800, U64_MAX, { R(U64_MAX - 0x1fff, U64_MAX - 0x1000) }, 1 },
	{ "past the end, from beyond the ranges", t_one, 1, SZ_4K,
	  0x20000, U64_MAX, {}, 0 },
};

KUNIT_ARRAY_PARAM_DESC(t_marks, t_marks, name);

static void mark_pages(struct kunit *test)
{
	const struct t_mark *c = test->param_value;
	struct qvp_log *log = t_log(test);

	memcpy(log->ranges, c->ranges, c->nr * sizeof(*c->ranges));
	log->nr_ranges = c->nr;
	log->page_size = c->page_size;
	qvp_log_mark(log, c->iova, c->len);
	t_same(test, "the log", log->dirty, log->nr_dirty, c->want, c->nr_want);
	T_EXPECT_SANE(test, log);
}

/* --- random writes and reports against a bitmap ------------------------------- */

/*
 * The tracked range of the model: T_SPACE bytes from the case's base,
 * logged in pages of T_PAGE bytes (the log widens writes to them; its
 * arithmetic takes any power of two, though START hands out 4 KiB to
 * 1 GiB only).
 */
#define T_SPACE		4096
#define T_PAGE		8
#define T_OPS		3000
#define T_SEED		0x0123456789abcdefULL
#define T_WRITE_MAX	8	/* bytes a write has at most */
#define T_REPORT_MAX	512	/* bytes a report has at most */
#define T_REPORT_ONE_IN	8	/* steps per report, about */

struct t_model {
	const char *name;
	u64 base;
};

static const struct t_model t_models[] = {
	{ "at IOVA 0", 0 },
	{ "at 1 TiB + 123, not page aligned", SZ_1T + 123 },
	{ "at the top of the IOVA space", U64_MAX - T_SPACE + 1 },
};

KUNIT_ARRAY_PARAM_DESC(t_models, t_models, name);

struct t_run {
	struct kunit *test;
	struct qvp_log *log;
	u64 base;
	unsigned long *written;		/* what the log must hold */
	unsigned long *held;		/* what it holds */
	unsigned long *before;		/* what it held before a report */
	unsigned long *tmp;
	unsigned int holes;		/* reports that cut one into a full log */
};

/* @held from the log, false if it holds IOVA outside the tracked range. */
static bool t_held(struct t_run *r, unsigned long *held,
		   const struct qvp_log_range *e, unsigned int n, char *why)
{
	unsigned int i;

	bitmap_zero(held, T_SPACE);
	for (i = 0; i < n; i++) {
		if (e[i].start < r->base || e[i].last - r->base >= T_SPACE ||
		    e[i].last < e[i].start) {
			scnprintf(why, T_WHY, "[%#llx, %#llx] outside the tracked range",
				  e[i].start, e[i].last);
			return false;
		}
		bitmap_set(held, e[i].start - r->base, e[i].last - e[i].start + 1);
	}
	return true;
}

/* The rules that hold after each step; @why says which did not. */
static bool t_check(struct t_run *r, char *why)
{
	unsigned int bit;

	if (!t_sane(r->log, why) ||
	    !t_held(r, r->held, r->log->dirty, r->log->nr_dirty, why))
		return false;
	if (bitmap_andnot(r->tmp, r->written, r->held, T_SPACE)) {
		bit = find_first_bit(r->tmp, T_SPACE);
		scnprintf(why, T_WHY, "IOVA %#llx written, not in the log (%u extents)",
			  r->base + bit, r->log->nr_dirty);
		return false;
	}
	return true;
}

/* A write of @len bytes at @iova: what the model says is written. */
static void t_write(struct t_run *r, u64 iova, u64 len)
{
	u64 last = len - 1 > U64_MAX - iova ? U64_MAX : iova + len - 1;
	u64 end = r->base + (T_SPACE - 1);

	qvp_log_mark(r->log, iova, len);
	if (last < r->base || iova > end)
		return;
	iova = max(iova, r->base);
	last = min(last, end);
	bitmap_set(r->written, iova - r->base, last - iova + 1);
}

/*
 * A report of [@s, @l] (inside the tracked range): it returns exactly
 * what the log held there, sorted, takes all of it out, and leaves the
 * rest at least.
 */
static bool t_report(struct t_run *r, struct qvp_log_range *out, u64 s, u64 l,
		     char *why)
{
	unsigned int i, n, from = s - r->base, len = l - s + 1;

	t_held(r, r->before, r->log->dirty, r->log->nr_dirty, why);
	for (i = 0; r->log->nr_dirty == T_MAX && i < T_MAX; i++)
		if (r->log->dirty[i].start < s && r->log->dirty[i].last > l)
			r->holes++;
	n = qvp_log_take(r->log, s, l, out);
	if (n > T_MAX + 1) {
		scnprintf(why, T_WHY, "a report of %u extents", n);
		return false;
	}
	for (i = 1; i < n; i++) {
		if (out[i - 1].last >= out[i].start) {
			scnprintf(why, T_WHY, "the report is not sorted at %u", i);
			return false;
		}
	}
	if (!t_held(r, r->tmp, out, n, why))
		return false;
	bitmap_clear(r->tmp, from, len);
	if (!bitmap_empty(r->tmp, T_SPACE)) {
		scnprintf(why, T_WHY, "the report of [%#llx, %#llx] has IOVA outside it", s, l);
		return false;
	}
	t_held(r, r->tmp, out, n, why);
	bitmap_clear(r->before, 0, from);
	bitmap_clear(r->before, from + len, T_SPACE - from - len);
	if (!bitmap_equal(r->tmp, r->before, T_SPACE)) {
		scnprintf(why, T_WHY, "the report of [%#llx, %#llx] is not what the log held there",
			  s, l);
		return false;
	}
	if (t_touches(r->log, s, l)) {
		scnprintf(why, T_WHY, "[%#llx, %#llx] still in the log after its report", s, l);
		return false;
	}
	bitmap_clear(r->written, from, len);
	return true;
}

static unsigned int t_runs(const unsigned long *map)
{
	unsigned int bit = 0, runs = 0;

	for (;;) {
		bit = find_next_bit(map, T_SPACE, bit);
		if (bit >= T_SPACE)
			return runs;
		runs++;
		bit = find_next_zero_bit(map, T_SPACE, bit);
	}
}

/*
 * A report of a few bytes strictly inside a random extent of the log, if
 * one is long enough: a hole, which in a full log must be spared by the
 * merge that follows.  False if no extent is.
 */
static bool t_hole_in_extent(struct t_run *r, struct rnd_state *rnd, u64 *s, u64 *len)
{
	const struct qvp_log_range *e;

	if (!r->log->nr_dirty)
		return false;
	e = &r->log->dirty[prandom_u32_state(rnd) % r->log->nr_dirty];
	if (e->last - e->start < 2)
		return false;
	*s = e->start + 1 + prandom_u32_state(rnd) % (e->last - e->start - 1);
	*len = 1 + prandom_u32_state(rnd) % min(e->last - *s, 8ULL);
	return true;
}

/*
 * Random writes (1 to 8 bytes, some reaching outside the tracked range)
 * and reports (of up to 512 bytes, holes in extents, and now and then
 * all), with a fixed seed, against a bitmap of what was written and not
 * yet reported.  After every step the log holds all of the bitmap and
 * nothing outside the tracked range, in at most 64 extents; most of the
 * time the bitmap has more runs than that, so the log merges again and
 * again.
 */
static void random_against_bitmap(struct kunit *test)
{
	const struct t_model *c = test->param_value;
	struct qvp_log_range *out = t_out(test);
	struct rnd_state rnd;
	struct t_run r = { .test = test, .log = t_log(test), .base = c->base };
	unsigned int op, over = 0, reports = 0;
	char why[T_WHY];
	u64 s, len;

	r.written = kunit_kcalloc(test, BITS_TO_LONGS(T_SPACE), sizeof(long), GFP_KERNEL);
	r.held = kunit_kcalloc(test, BITS_TO_LONGS(T_SPACE), sizeof(long), GFP_KERNEL);
	r.before = kunit_kcalloc(test, BITS_TO_LONGS(T_SPACE), sizeof(long), GFP_KERNEL);
	r.tmp = kunit_kcalloc(test, BITS_TO_LONGS(T_SPACE), sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.written);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.held);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.before);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.tmp);
	r.log->page_size = T_PAGE;
	r.log->ranges[0].start = c->base;
	r.log->ranges[0].last = c->base + (T_SPACE - 1);
	r.log->nr_ranges = 1;
	prandom_seed_state(&rnd, T_SEED);

	for (op = 0; op < T_OPS; op++) {
		if (op % 500 != 499 && prandom_u32_state(&rnd) % T_REPORT_ONE_IN) {
			/* 32 bytes either side of the range, wrapping at the ends. */
			s = c->base + prandom_u32_state(&rnd) % (T_SPACE + 64) - 32;
			t_write(&r, s, 1 + prandom_u32_state(&rnd) % T_WRITE_MAX);
			if (!t_check(&r, why))
				goto fail;
			if (t_runs(r.written) > T_MAX)
				over++;
			continue;
		}
		if (op % 500 == 499) {
			s = c->base;
			len = T_SPACE;
		} else if (!(prandom_u32_state(&rnd) % 2 &&
			     t_hole_in_extent(&r, &rnd, &s, &len))) {
			s = c->base + prandom_u32_state(&rnd) % T_SPACE;
			len = 1 + prandom_u32_state(&rnd) % T_REPORT_MAX;
			len = min(len, T_SPACE - (s - c->base));
		}
		reports++;
		if (!t_report(&r, out, s, s + len - 1, why) || !t_check(&r, why))
			goto fail;
	}
	/* Every run of the bitmap is one extent too many, most of the time. */
	KUNIT_EXPECT_GT_MSG(test, over, T_OPS / 2,
			    "the bitmap had more than %u runs after only %u of %u steps",
			    T_MAX, over, T_OPS);
	KUNIT_EXPECT_GT(test, reports, T_OPS / 16);
	KUNIT_EXPECT_GT(test, r.holes, 10);
	return;
fail:
	KUNIT_FAIL(test, "step %u (seed %#llx): %s", op, T_SEED, why);
}

static struct kunit_case qvp_dirty_cases[] = {
	KUNIT_CASE(add_disjoint_sorted),
	KUNIT_CASE_PARAM(add_merges, t_adds_gen_params),
	KUNIT_CASE_PARAM(overflow_merges_closest, t_overflows_gen_params),
	KUNIT_CASE(full_log_touching_writes),
	KUNIT_CASE_PARAM(squeeze_spares_hole, t_holes_gen_params),
	KUNIT_CASE_PARAM(squeeze_picks_pair, t_squeezes_gen_params),
	KUNIT_CASE_PARAM(take_partial, t_takes_gen_params),
	KUNIT_CASE_PARAM(report_tracked, t_trackeds_gen_params),
	KUNIT_CASE_PARAM(mark_pages, t_marks_gen_params),
	KUNIT_CASE_PARAM(random_against_bitmap, t_models_gen_params),
	{}
};

static struct kunit_suite qvp_dirty_suite = {
	.name = "qemu-vfio-pci-dirty",
	.test_cases = qvp_dirty_cases,
};

kunit_test_suite(qvp_dirty_suite);
