// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO device DMA logging: VFIO_DEVICE_FEATURE_DMA_LOGGING_START, _STOP
 * and _REPORT (include/uapi/linux/vfio.h), the device's own dirty page
 * tracking that QEMU uses during pre-copy.
 *
 * The "dmalog" tests are device agnostic: any device whose driver offers
 * DMA logging.  They hold the uAPI's rules (the core's checks and what
 * the driver adds: page sizes, tracked ranges, one start at a time, a
 * report that only sets bits) and check that a refused call leaves
 * logging usable.  The "edu" and "edu_dma" tests make QEMU's edu write
 * guest memory by DMA through an IOMMU mapping and read the log; the
 * "ivshmem" test writes ivshmem-plain's BAR2, which is not DMA.  Tests
 * for another kind of device than the one given skip, saying so; every
 * test skips when the device has no DMA logging (ENOTTY).
 *
 * Usage: dma_logging [harness options] BDF   (or set VFIO_SELFTESTS_BDF)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mig_test.h"

#define PG		4096ULL		/* the smallest page size to log with */
#define SZ_2M		(2ULL << 20)
#define BASE		0x10000000ULL	/* IOVA of the "dmalog" tests' ranges */

/* Bitmaps for REPORT: room for 64 MiB of 4 KiB pages, then guard words. */
#define MAP_WORDS	256
#define GUARD_WORDS	4
/* A bitmap the user had; bits 0-3 clear, for the tests that set them */
#define FILL		0x5a5aa5a5c3c3f0f0ULL

#define NO_LOG_REASON	"no DMA logging (ENOTTY): the device or the kernel does not offer it; Debian's kernels lack CONFIG_IOMMUFD_DRIVER"

static const char *g_bdf;

/* The page sizes no START and no REPORT may take. */
static const uint64_t bad_page_sizes[] = { 0, 1000, 2048, 4097, 3 * 4096 };

/* The ranges every START must take: one kernel page of them (vfio.h). */
static uint32_t log_max_ranges(void)
{
	return sysconf(_SC_PAGESIZE) /
	       sizeof(struct vfio_device_feature_dma_logging_range);
}

static int log_probe(struct vfio_dev *dev, uint32_t ops, uint32_t feature)
{
	return vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_PROBE | ops | feature,
				NULL, 0);
}

/* START; *@page_size is the hint in, the device's page size out. */
static int log_start(struct vfio_dev *dev,
		     const struct vfio_device_feature_dma_logging_range *r,
		     uint32_t nr, uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_control c = {
		.page_size = *page_size,
		.num_ranges = nr,
		.ranges = (uintptr_t)r,
	};
	int ret;

	ret = vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			       &c, sizeof(c));
	if (!ret)
		*page_size = c.page_size;
	return ret;
}

static int log_stop(struct vfio_dev *dev)
{
	return vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_SET |
				VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

static int log_report(struct vfio_dev *dev, uint64_t iova, uint64_t len,
		      uint64_t page_size, uint64_t *map)
{
	struct vfio_device_feature_dma_logging_report r = {
		.iova = iova,
		.length = len,
		.page_size = page_size,
		.bitmap = (uintptr_t)map,
	};

	return vfio_dev_feature(dev, VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
				&r, sizeof(r));
}

static const char *err_name(int ret)
{
	return ret ? strerror(-ret) : "success";
}

/* START over [@iova, @iova + @len); the device must keep @page_size. */
static void start1(struct __test_metadata *_metadata, struct vfio_dev *dev,
		   uint64_t iova, uint64_t len, uint64_t page_size)
{
	struct vfio_device_feature_dma_logging_range r = {
		.iova = iova, .length = len,
	};
	uint64_t ps = page_size;
	int ret;

	ret = log_start(dev, &r, 1, &ps);
	ASSERT_EQ(0, ret) TH_LOG("START of 0x%llx+0x%llx, page size 0x%llx: %s",
				 (unsigned long long)iova,
				 (unsigned long long)len,
				 (unsigned long long)page_size, strerror(-ret));
	ASSERT_EQ(page_size, ps)
		TH_LOG("START asked for page size 0x%llx, the device chose 0x%llx",
		       (unsigned long long)page_size, (unsigned long long)ps);
}

/*
 * REPORT [@iova, @iova + @len) at @page_size into a bitmap holding @fill
 * in every word: the bitmap must come back with bits [@first, @first +
 * @nr) set as well and no other change, guard words past it included.
 */
static void expect_report(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, uint64_t iova, uint64_t len,
			  uint64_t page_size, uint64_t fill, uint64_t first,
			  uint64_t nr)
{
	uint64_t got[MAP_WORDS + GUARD_WORDS], want[MAP_WORDS + GUARD_WORDS];
	uint64_t bits = (len + page_size - 1) / page_size;
	size_t i, words = (bits + 63) / 64;
	int ret;

	ASSERT_GE((size_t)MAP_WORDS, words);
	for (i = 0; i < words + GUARD_WORDS; i++) {
		got[i] = fill;
		want[i] = fill;
	}
	for (i = first; i < first + nr; i++)
		want[i / 64] |= 1ULL << (i % 64);
	ret = log_report(dev, iova, len, page_size, got);
	ASSERT_EQ(0, ret) TH_LOG("REPORT of 0x%llx+0x%llx at page size 0x%llx: %s",
				 (unsigned long long)iova,
				 (unsigned long long)len,
				 (unsigned long long)page_size, strerror(-ret));
	for (i = 0; i < words + GUARD_WORDS; i++)
		ASSERT_EQ(want[i], got[i])
			TH_LOG("REPORT of 0x%llx+0x%llx at page size 0x%llx: word %zu%s is 0x%016llx, want 0x%016llx (bits %llu-%llu dirty over 0x%016llx)",
			       (unsigned long long)iova,
			       (unsigned long long)len,
			       (unsigned long long)page_size, i,
			       i < words ? "" : " (past the bitmap)",
			       (unsigned long long)got[i],
			       (unsigned long long)want[i],
			       (unsigned long long)first,
			       (unsigned long long)(first + nr - 1),
			       (unsigned long long)fill);
}

/* Nothing dirty in [@iova, @iova + @len), and the bitmap left as it was. */
static void expect_clean(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, uint64_t iova, uint64_t len,
			 uint64_t page_size)
{
	expect_report(_metadata, dev, iova, len, page_size, FILL, 0, 0);
}

/* REPORT must fail with @err and leave the bitmap alone. */
static void refuse_report(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, uint64_t iova, uint64_t len,
			  uint64_t page_size, int err)
{
	uint64_t map[MAP_WORDS + GUARD_WORDS];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		map[i] = FILL;
	ret = log_report(dev, iova, len, page_size, map);
	ASSERT_EQ(-err, ret)
		TH_LOG("REPORT of 0x%llx+0x%llx at page size 0x%llx: %s, want %s",
		       (unsigned long long)iova, (unsigned long long)len,
		       (unsigned long long)page_size, err_name(ret),
		       strerror(err));
	for (i = 0; i < ARRAY_SIZE(map); i++)
		ASSERT_EQ(FILL, map[i])
			TH_LOG("a refused REPORT changed word %zu of the bitmap",
			       i);
}

/*
 * START with @nr ranges @r at @page_size must fail with @err (@what says
 * what is wrong); logging is then off, and a correct START works.
 */
static void refuse_start(struct __test_metadata *_metadata,
			 struct vfio_dev *dev,
			 const struct vfio_device_feature_dma_logging_range *r,
			 uint32_t nr, uint64_t page_size, int err,
			 const char *what)
{
	uint64_t ps = page_size;
	int ret;

	ret = log_start(dev, r, nr, &ps);
	ASSERT_EQ(-err, ret) TH_LOG("START with %s (page size 0x%llx): %s, want %s",
				    what, (unsigned long long)page_size,
				    err_name(ret), strerror(err));
	refuse_report(_metadata, dev, BASE, 16 * PG, PG, EINVAL);
	start1(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
	ASSERT_EQ(0, log_stop(dev));
}

/* The same with one range. */
static void refuse_start1(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, uint64_t iova, uint64_t len,
			  uint64_t page_size, int err, const char *what)
{
	struct vfio_device_feature_dma_logging_range r = {
		.iova = iova, .length = len,
	};

	refuse_start(_metadata, dev, &r, 1, page_size, err, what);
}

/* A device kind, for the tests that need one. */
struct dev_kind {
	uint16_t vendor;
	uint16_t device;
	const char *name;
};

static const struct dev_kind kind_edu = { EDU_VENDOR, EDU_DEVICE, "an edu" };
static const struct dev_kind kind_ivshmem = {
	IVS_VENDOR, IVS_DEVICE, "an ivshmem-plain"
};

/*
 * Open the device and reset it.  Returns NULL, or why the tests cannot
 * run on it: not of @kind (NULL: any), or no DMA logging.
 */
static const char *open_dev(struct __test_metadata *_metadata,
			    struct vfio_dev *dev, const struct dev_kind *kind)
{
	static char why[128];
	struct vfio_pci_ids ids;
	int ret;

	ret = vfio_dev_open(dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", dev->err);
	if (kind) {
		ASSERT_EQ(0, vfio_dev_pci_ids(dev, &ids));
		if (ids.vendor != kind->vendor || ids.device != kind->device) {
			snprintf(why, sizeof(why),
				 "%s is %04x:%04x, not %s (%04x:%04x)",
				 dev->bdf, ids.vendor, ids.device, kind->name,
				 kind->vendor, kind->device);
			return why;
		}
	}
	ret = log_probe(dev, VFIO_DEVICE_FEATURE_SET,
			VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
	if (ret == -ENOTTY)
		return NO_LOG_REASON;
	ASSERT_EQ(0, ret) TH_LOG("PROBE of DMA_LOGGING_START: %s",
				 strerror(-ret));
	if (dev->info.flags & VFIO_DEVICE_FLAGS_RESET) {
		ret = vfio_dev_reset(dev);
		ASSERT_EQ(0, ret) TH_LOG("reset: %s", strerror(-ret));
	}
	return NULL;
}

static void close_dev(struct vfio_dev *dev)
{
	if (!vfio_dev_is_open(dev))
		return;
	log_stop(dev);
	vfio_dev_reset(dev);
	vfio_dev_close(dev);
}

FIXTURE(dmalog) {
	struct vfio_dev dev;
};

FIXTURE_SETUP(dmalog)
{
	const char *why = open_dev(_metadata, &self->dev, NULL);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(dmalog)
{
	close_dev(&self->dev);
}

/* START and STOP take SET only, REPORT GET only. */
TEST_F(dmalog, probe)
{
	struct vfio_dev *dev = &self->dev;

	ASSERT_EQ(0, log_probe(dev, VFIO_DEVICE_FEATURE_SET,
			       VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP));
	ASSERT_EQ(0, log_probe(dev, VFIO_DEVICE_FEATURE_GET,
			       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT));
	ASSERT_EQ(-EINVAL, log_probe(dev, VFIO_DEVICE_FEATURE_GET,
				     VFIO_DEVICE_FEATURE_DMA_LOGGING_START));
	ASSERT_EQ(-EINVAL, log_probe(dev, VFIO_DEVICE_FEATURE_GET,
				     VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP));
	ASSERT_EQ(-EINVAL, log_probe(dev, VFIO_DEVICE_FEATURE_SET,
				     VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT));
}

/*
 * START's page size is a hint (vfio.h): the driver picks the size it
 * can do and says which.  qemu-vfio-pci takes the next power of two, at
 * least 4096.  The range is aligned to each hint as the core checks
 * alignment (iova & (page_size - 1)), so the answer is the driver's;
 * page size 0 passes no range through that check, so the core refuses.
 */
TEST_F(dmalog, start_page_size_hint)
{
	static const struct {
		uint64_t hint, got;
	} hints[] = {
		{ 1000, PG }, { 2048, PG }, { 4097, 2 * PG }, { 3 * PG, 4 * PG },
	};
	struct vfio_device_feature_dma_logging_range r = {
		.iova = BASE, .length = 16 * PG,
	};
	struct vfio_dev *dev = &self->dev;
	uint64_t ps;
	size_t i;

	refuse_start1(_metadata, dev, BASE, 16 * PG, 0, EINVAL,
		      "page size 0");
	for (i = 0; i < ARRAY_SIZE(hints); i++) {
		ps = hints[i].hint;
		ASSERT_EQ(0, log_start(dev, &r, 1, &ps))
			TH_LOG("page size %llu refused",
			       (unsigned long long)hints[i].hint);
		EXPECT_EQ(hints[i].got, ps)
			TH_LOG("page size %llu became %llu, want %llu",
			       (unsigned long long)hints[i].hint,
			       (unsigned long long)ps,
			       (unsigned long long)hints[i].got);
		ASSERT_EQ(0, log_stop(dev));
	}
}

/*
 * The page size that START gives back is a power of two of at least
 * 4096; the driver keeps 4 KiB and 2 MiB as asked.
 */
TEST_F(dmalog, start_page_size_kept)
{
	static const uint64_t hints[] = { 8192, 64 << 10, 1 << 20 };
	struct vfio_device_feature_dma_logging_range r = {
		.iova = BASE, .length = SZ_2M,
	};
	struct vfio_dev *dev = &self->dev;
	uint64_t ps;
	size_t i;

	start1(_metadata, dev, BASE, SZ_2M, PG);
	ASSERT_EQ(0, log_stop(dev));
	start1(_metadata, dev, BASE, SZ_2M, SZ_2M);
	expect_clean(_metadata, dev, BASE, SZ_2M, PG);
	ASSERT_EQ(0, log_stop(dev));
	for (i = 0; i < ARRAY_SIZE(hints); i++) {
		ps = hints[i];
		ASSERT_EQ(0, log_start(dev, &r, 1, &ps));
		ASSERT_TRUE(ps >= PG && !(ps & (ps - 1)))
			TH_LOG("page size 0x%llx asked, 0x%llx given: not a power of two of at least 4096",
			       (unsigned long long)hints[i],
			       (unsigned long long)ps);
		ASSERT_EQ(0, log_stop(dev));
	}
}

TEST_F(dmalog, start_no_ranges)
{
	struct vfio_device_feature_dma_logging_range r = {
		.iova = BASE, .length = PG,
	};

	refuse_start(_metadata, &self->dev, &r, 0, PG, EINVAL, "no range");
	refuse_start(_metadata, &self->dev, NULL, 1, PG, EFAULT,
		     "a NULL array of ranges");
}

TEST_F(dmalog, start_unaligned_range)
{
	refuse_start1(_metadata, &self->dev, BASE + 512, PG, PG, EINVAL,
		      "an unaligned IOVA");
	refuse_start1(_metadata, &self->dev, BASE, PG + 512, PG, EINVAL,
		      "an unaligned length");
	refuse_start1(_metadata, &self->dev, BASE + PG, SZ_2M, SZ_2M, EINVAL,
		      "a 4 KiB aligned range at page size 2 MiB");
}

TEST_F(dmalog, start_overlapping_ranges)
{
	const struct vfio_device_feature_dma_logging_range partly[] = {
		{ BASE, 2 * PG }, { BASE + PG, 2 * PG },
	};
	const struct vfio_device_feature_dma_logging_range partly_below[] = {
		{ BASE + PG, 2 * PG }, { BASE, 2 * PG },
	};
	const struct vfio_device_feature_dma_logging_range same[] = {
		{ BASE, PG }, { BASE, PG },
	};
	const struct vfio_device_feature_dma_logging_range inside[] = {
		{ BASE, 4 * PG }, { BASE + PG, PG },
	};

	refuse_start(_metadata, &self->dev, partly, 2, PG, EINVAL,
		     "ranges that overlap");
	refuse_start(_metadata, &self->dev, partly_below, 2, PG, EINVAL,
		     "ranges that overlap, the lower one second");
	refuse_start(_metadata, &self->dev, same, 2, PG, EINVAL,
		     "the same range twice");
	refuse_start(_metadata, &self->dev, inside, 2, PG, EINVAL,
		     "a range inside another");
}

TEST_F(dmalog, start_zero_length_range)
{
	const struct vfio_device_feature_dma_logging_range with_other[] = {
		{ BASE, 16 * PG }, { BASE + 64 * PG, 0 },
	};

	refuse_start1(_metadata, &self->dev, BASE, 0, PG, EINVAL,
		      "a range of length 0");
	refuse_start1(_metadata, &self->dev, 0, 0, PG, EINVAL,
		      "a range of length 0 at IOVA 0");
	refuse_start(_metadata, &self->dev, with_other, 2, PG, EINVAL,
		     "a range of length 0 after a valid one");
}

TEST_F(dmalog, start_overflowing_range)
{
	refuse_start1(_metadata, &self->dev, -PG, 2 * PG, PG, EOVERFLOW,
		      "a range past 2^64");
	refuse_start1(_metadata, &self->dev, -PG, PG, PG, EOVERFLOW,
		      "a range ending at 2^64");
}

/* @nr one-page ranges, each @stride pages after the previous one. */
static struct vfio_device_feature_dma_logging_range *
page_ranges(uint32_t nr, uint64_t stride)
{
	struct vfio_device_feature_dma_logging_range *r;
	uint32_t i;

	r = calloc(nr, sizeof(*r));
	for (i = 0; r && i < nr; i++) {
		r[i].iova = BASE + i * stride * PG;
		r[i].length = PG;
	}
	return r;
}

TEST_F(dmalog, start_too_many_ranges)
{
	uint32_t nr = log_max_ranges() + 1;
	struct vfio_device_feature_dma_logging_range *r = page_ranges(nr, 2);

	ASSERT_NE(NULL, r);
	refuse_start(_metadata, &self->dev, r, nr, PG, E2BIG,
		     "one range more than fit in a page");
	free(r);
}

/*
 * As many disjoint ranges as fit in a page: the driver may track a
 * superset, but each range must report.
 */
TEST_F(dmalog, start_max_ranges)
{
	uint32_t i, nr = log_max_ranges();
	struct vfio_device_feature_dma_logging_range *r = page_ranges(nr, 2);
	uint64_t ps = PG;
	int ret;

	ASSERT_NE(NULL, r);
	ret = log_start(&self->dev, r, nr, &ps);
	ASSERT_EQ(0, ret) TH_LOG("START with %u ranges: %s", nr,
				 strerror(-ret));
	ASSERT_EQ(PG, ps);
	for (i = 0; i < nr; i++)
		expect_clean(_metadata, &self->dev, r[i].iova, r[i].length, PG);
	free(r);
}

/* The same, ranges back to back: one REPORT covers them all. */
TEST_F(dmalog, start_max_ranges_adjacent)
{
	uint32_t nr = log_max_ranges();
	struct vfio_device_feature_dma_logging_range *r = page_ranges(nr, 1);
	uint64_t ps = PG;
	int ret;

	ASSERT_NE(NULL, r);
	ret = log_start(&self->dev, r, nr, &ps);
	ASSERT_EQ(0, ret) TH_LOG("START with %u ranges: %s", nr,
				 strerror(-ret));
	ASSERT_EQ(PG, ps);
	expect_clean(_metadata, &self->dev, BASE, nr * PG, PG);
	free(r);
}

/*
 * One START at a time: a second one is refused with EINVAL, as mlx5 and
 * pds refuse it, and changes nothing: the first one's ranges are still
 * the ones tracked.
 */
TEST_F(dmalog, start_twice)
{
	struct vfio_dev *dev = &self->dev;
	struct vfio_device_feature_dma_logging_range other = {
		.iova = BASE + SZ_2M, .length = 16 * PG,
	};
	uint64_t ps = PG;
	int ret;

	start1(_metadata, dev, BASE, 16 * PG, PG);
	ret = log_start(dev, &other, 1, &ps);
	ASSERT_EQ(-EINVAL, ret) TH_LOG("a second START: %s, want EINVAL",
				       err_name(ret));
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
	refuse_report(_metadata, dev, other.iova, other.length, PG, EINVAL);
	ASSERT_EQ(0, log_stop(dev));
	start1(_metadata, dev, other.iova, other.length, PG);
	expect_clean(_metadata, dev, other.iova, other.length, PG);
}

/* STOP without a START succeeds (the driver documents it), twice. */
TEST_F(dmalog, stop_without_start)
{
	struct vfio_dev *dev = &self->dev;

	ASSERT_EQ(0, log_stop(dev));
	ASSERT_EQ(0, log_stop(dev));
	refuse_report(_metadata, dev, BASE, 16 * PG, PG, EINVAL);
	start1(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
}

TEST_F(dmalog, stop_twice)
{
	struct vfio_dev *dev = &self->dev;

	start1(_metadata, dev, BASE, 16 * PG, PG);
	ASSERT_EQ(0, log_stop(dev));
	ASSERT_EQ(0, log_stop(dev));
	start1(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
}

TEST_F(dmalog, report_without_start)
{
	refuse_report(_metadata, &self->dev, BASE, 16 * PG, PG, EINVAL);
}

TEST_F(dmalog, report_after_stop)
{
	struct vfio_dev *dev = &self->dev;

	start1(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
	ASSERT_EQ(0, log_stop(dev));
	refuse_report(_metadata, dev, BASE, 16 * PG, PG, EINVAL);
}

/* Refused page sizes of a REPORT; logging goes on. */
TEST_F(dmalog, report_page_size_refused)
{
	struct vfio_dev *dev = &self->dev;
	size_t i;

	start1(_metadata, dev, BASE, 16 * PG, PG);
	for (i = 0; i < ARRAY_SIZE(bad_page_sizes); i++)
		refuse_report(_metadata, dev, BASE, 16 * PG, bad_page_sizes[i],
			      EINVAL);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
}

/*
 * Two tracked ranges with a gap: a REPORT must lie within them, else
 * EINVAL, and the refusals leave logging on.
 */
TEST_F(dmalog, report_untracked_range)
{
	const struct vfio_device_feature_dma_logging_range r[] = {
		{ BASE, 16 * PG }, { BASE + 32 * PG, 16 * PG },
	};
	static const struct {
		uint64_t off, len;
	} bad[] = {
		{ -PG, 2 * PG },		/* starts before the first */
		{ 15 * PG, 2 * PG },		/* runs past the first */
		{ 47 * PG, 2 * PG },		/* runs past the second */
		{ 64 * PG, PG },		/* after both */
		{ 16 * PG, 16 * PG },		/* the gap */
		{ 20 * PG, PG },		/* inside the gap */
		{ 0, 48 * PG },			/* both, and the gap */
	};
	struct vfio_dev *dev = &self->dev;
	uint64_t ps = PG;
	size_t i;

	ASSERT_EQ(0, log_start(dev, r, 2, &ps));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		refuse_report(_metadata, dev, BASE + bad[i].off, bad[i].len,
			      PG, EINVAL);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE + 32 * PG, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE + 36 * PG, 4 * PG, PG);
}

/* A REPORT only sets bits: the user's bitmap stays as it was. */
TEST_F(dmalog, report_keeps_bitmap)
{
	struct vfio_dev *dev = &self->dev;

	start1(_metadata, dev, BASE, SZ_2M, PG);
	expect_report(_metadata, dev, BASE, SZ_2M, PG, FILL, 0, 0);
	expect_report(_metadata, dev, BASE, SZ_2M, PG, ~0ULL, 0, 0);
	expect_report(_metadata, dev, BASE, SZ_2M, SZ_2M, FILL, 0, 0);
	expect_report(_metadata, dev, BASE + PG, 3 * PG, PG, FILL, 0, 0);
}

/* Closing the device stops logging. */
TEST_F(dmalog, close_stops_logging)
{
	struct vfio_dev *dev = &self->dev;
	int ret;

	start1(_metadata, dev, BASE, 16 * PG, PG);
	vfio_dev_close(dev);
	ret = vfio_dev_open(dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", dev->err);
	refuse_report(_metadata, dev, BASE, 16 * PG, PG, EINVAL);
	start1(_metadata, dev, BASE, 16 * PG, PG);
	expect_clean(_metadata, dev, BASE, 16 * PG, PG);
}

/*
 * edu: NR_PAGES of anonymous memory mapped at IOVA, filled with MEM_FILL,
 * except SRC_PAGE, which holds the pattern that the setup copies into the
 * edu's buffer by DMA.  edu forms DMA addresses within its dma_mask
 * (QEMU's default: 28 bits), so IOVA and the tracked range are below it.
 */
#define IOVA		0x200000ULL	/* 2 MiB aligned, below 2^28 */
#define NR_PAGES	16
#define SRC_PAGE	(NR_PAGES - 1)
#define MEM_FILL	0x5a
#define EDU_BUF_SIZE	4096
#define DMA_TIMEOUT_MS	5000

/* Byte @i of the edu's buffer after the setup; never MEM_FILL. */
static uint8_t edu_pattern(size_t i)
{
	return 0xa5 ^ (i & 0x7f);
}

struct edu_bed {
	struct vfio_dev dev;
	uint8_t *mem;
	bool mapped;
};

static void edu_dma_issue(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, uint64_t src, uint64_t dst,
			  uint64_t count, uint64_t cmd)
{
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_SRC, src));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_DST, dst));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_COUNT, count));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_CMD, cmd));
}

static int ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The edu's DMA command, once its DMA is over (edu clears RUN then). */
static int edu_dma_wait(struct vfio_dev *dev, uint64_t *cmd)
{
	struct timespec t0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ret = vfio_dev_read64(dev, BAR0, EDU_REG_DMA_CMD, cmd);
		if (ret || !(*cmd & EDU_DMA_RUN))
			return ret;
		if (ms_since(&t0) > DMA_TIMEOUT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static void edu_dma_done(struct __test_metadata *_metadata,
			 struct vfio_dev *dev)
{
	uint64_t cmd;
	int ret;

	ret = edu_dma_wait(dev, &cmd);
	ASSERT_EQ(0, ret) TH_LOG("waiting for the DMA to end (command 0x%llx): %s",
				 (unsigned long long)cmd, strerror(-ret));
}

/* edu writes @count bytes of its buffer from @buf_off to IOVA @dst. */
static void edu_to_ram(struct __test_metadata *_metadata,
		       struct vfio_dev *dev, uint64_t buf_off, uint64_t dst,
		       uint64_t count)
{
	edu_dma_issue(_metadata, dev, EDU_DMA_BUF + buf_off, dst, count,
		      EDU_DMA_RUN | EDU_DMA_TO_RAM);
	edu_dma_done(_metadata, dev);
}

/* edu reads @count bytes from IOVA @src into its buffer at offset 0. */
static void edu_from_ram(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, uint64_t src, uint64_t count)
{
	edu_dma_issue(_metadata, dev, src, EDU_DMA_BUF, count, EDU_DMA_RUN);
	edu_dma_done(_metadata, dev);
}

/*
 * The device wrote @count bytes of its buffer from @buf_off at @off of
 * the mapped memory, and nothing next to them.
 */
static void expect_landed(struct __test_metadata *_metadata,
			  struct edu_bed *b, uint64_t off, uint64_t buf_off,
			  uint64_t count)
{
	uint64_t i;

	for (i = 0; i < count; i++)
		ASSERT_EQ(edu_pattern(buf_off + i), b->mem[off + i])
			TH_LOG("byte 0x%llx of the memory is 0x%02x, the DMA should have written 0x%02x there",
			       (unsigned long long)(off + i), b->mem[off + i],
			       edu_pattern(buf_off + i));
	if (off)
		ASSERT_EQ(MEM_FILL, b->mem[off - 1])
			TH_LOG("the DMA wrote before its destination");
	if (off + count < SRC_PAGE * PG)
		ASSERT_EQ(MEM_FILL, b->mem[off + count])
			TH_LOG("the DMA wrote past its end");
}

/*
 * Open an edu with DMA logging, map the memory and fill the edu's buffer
 * from it.  Returns NULL, or why the tests cannot run.
 */
static const char *edu_bed_open(struct __test_metadata *_metadata,
				struct edu_bed *b)
{
	const size_t size = NR_PAGES * PG;
	const char *why;
	size_t i;
	void *p;
	int ret;

	why = open_dev(_metadata, &b->dev, &kind_edu);
	if (why)
		return why;
	if (b->dev.noiommu)
		return "the device has no IOMMU (noiommu group): no DMA mapping";
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	b->mem = p;
	memset(b->mem, MEM_FILL, size);
	for (i = 0; i < EDU_BUF_SIZE; i++)
		b->mem[SRC_PAGE * PG + i] = edu_pattern(i);
	ret = vfio_dev_dma_map(&b->dev, IOVA, p, size);
	ASSERT_EQ(0, ret) TH_LOG("DMA map (%s mode): %s",
				 vfio_dev_iommu_mode_name(b->dev.iommu_mode),
				 strerror(-ret));
	b->mapped = true;
	ASSERT_EQ(0, vfio_dev_set_bus_master(&b->dev, true));
	edu_from_ram(_metadata, &b->dev, IOVA + SRC_PAGE * PG, EDU_BUF_SIZE);
	return NULL;
}

/*
 * edu keeps the bits of a DMA command but RUN after the DMA, and no reset
 * clears them: a last DMA from RAM leaves the command 0 for the next user.
 */
static void edu_bed_close(struct __test_metadata *_metadata,
			  struct edu_bed *b)
{
	struct vfio_dev *dev = &b->dev;
	uint64_t cmd;
	int ret;

	if (vfio_dev_is_open(dev) && b->mapped) {
		log_stop(dev);
		if (!edu_dma_wait(dev, &cmd) && cmd) {
			edu_dma_issue(_metadata, dev, IOVA + SRC_PAGE * PG,
				      EDU_DMA_BUF, 8, EDU_DMA_RUN);
			EXPECT_EQ(0, edu_dma_wait(dev, &cmd));
			EXPECT_EQ(0ULL, cmd);
		}
		ret = vfio_dev_dma_unmap(dev, IOVA, NR_PAGES * PG);
		EXPECT_EQ(0, ret) TH_LOG("DMA unmap: %s", strerror(-ret));
	}
	if (b->mem)
		munmap(b->mem, NR_PAGES * PG);
	close_dev(dev);
}

FIXTURE(edu) {
	struct edu_bed b;
};

FIXTURE_SETUP(edu)
{
	const char *why = edu_bed_open(_metadata, &self->b);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu)
{
	edu_bed_close(_metadata, &self->b);
}

/*
 * DMAs from the edu to RAM, logged at page size 4 KiB over 2 MiB: the
 * report has exactly the pages written, and the data is in memory.
 */
FIXTURE(edu_dma) {
	struct edu_bed b;
};

FIXTURE_VARIANT(edu_dma) {
	uint64_t off;		/* destination, in the mapped memory */
	uint64_t count;
	uint64_t buf_off;	/* source, in the edu's buffer */
};

FIXTURE_VARIANT_ADD(edu_dma, cross_page) {
	.off = PG - 8, .count = 16, .buf_off = 0,
};

FIXTURE_VARIANT_ADD(edu_dma, one_byte) {
	.off = 3 * PG + 100, .count = 1, .buf_off = 5,
};

FIXTURE_VARIANT_ADD(edu_dma, whole_page) {
	.off = 4 * PG, .count = 4096, .buf_off = 0,
};

FIXTURE_VARIANT_ADD(edu_dma, unaligned_page) {
	.off = 6 * PG + 1, .count = 4096, .buf_off = 0,
};

FIXTURE_VARIANT_ADD(edu_dma, buffer_tail) {
	.off = 9 * PG + 4000, .count = 200, .buf_off = 3896,
};

FIXTURE_SETUP(edu_dma)
{
	const char *why = edu_bed_open(_metadata, &self->b);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_dma)
{
	edu_bed_close(_metadata, &self->b);
}

TEST_F_TIMEOUT(edu_dma, to_ram_logged, 60)
{
	uint64_t first = variant->off / PG;
	uint64_t last = (variant->off + variant->count - 1) / PG;
	struct vfio_dev *dev = &self->b.dev;

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_to_ram(_metadata, dev, variant->buf_off, IOVA + variant->off,
		   variant->count);
	expect_landed(_metadata, &self->b, variant->off, variant->buf_off,
		      variant->count);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, first,
		      last - first + 1);
}

/*
 * REPORT reads and clears: a second one finds nothing, until the device
 * writes again; then the bit is ORed into the user's bitmap.
 */
TEST_F_TIMEOUT(edu, report_clears, 60)
{
	struct vfio_dev *dev = &self->b.dev;

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_to_ram(_metadata, dev, 0, IOVA + 2 * PG + 16, 64);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 2, 1);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 0, 0);
	edu_to_ram(_metadata, dev, 0, IOVA + 2 * PG + 16, 64);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, FILL, 2, 1);
	expect_clean(_metadata, dev, IOVA, SZ_2M, PG);
}

/*
 * A DMA from RAM to the edu writes no memory: nothing is logged.  That
 * it happened shows when the edu writes its buffer back.
 */
TEST_F_TIMEOUT(edu, from_ram_not_logged, 60)
{
	struct vfio_dev *dev = &self->b.dev;
	uint8_t *src = self->b.mem + 8 * PG;
	size_t i;

	for (i = 0; i < EDU_BUF_SIZE; i++)
		src[i] = ~edu_pattern(i);
	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_from_ram(_metadata, dev, IOVA + 8 * PG, EDU_BUF_SIZE);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 0, 0);

	edu_to_ram(_metadata, dev, 0, IOVA + PG, EDU_BUF_SIZE);
	ASSERT_EQ(0, memcmp(self->b.mem + PG, src, EDU_BUF_SIZE))
		TH_LOG("the edu's buffer does not hold what it read");
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 1, 1);
}

/*
 * A REPORT at a larger page size than START's sets the bit of each
 * larger page that holds a dirty one.
 */
TEST_F_TIMEOUT(edu, report_page_size_larger, 60)
{
	struct vfio_dev *dev = &self->b.dev;

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_to_ram(_metadata, dev, 0, IOVA + 5 * PG + 8, 8);
	/* page 5 is in the second 16 KiB page */
	expect_report(_metadata, dev, IOVA, SZ_2M, 16 * 1024, 0, 1, 1);
	edu_to_ram(_metadata, dev, 0, IOVA + 5 * PG + 8, 8);
	expect_report(_metadata, dev, IOVA, SZ_2M, SZ_2M, 0, 0, 1);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 0, 0);
}

/*
 * A DMA to RAM already under way when logging starts still writes: it
 * is in the log.  edu runs a DMA 100 ms after its command; on a host so
 * slow that it ended before START returned, try again.
 */
TEST_F_TIMEOUT(edu, dma_in_flight_at_start, 60)
{
	struct vfio_dev *dev = &self->b.dev;
	uint64_t cmd = 0;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		edu_dma_issue(_metadata, dev, EDU_DMA_BUF, IOVA + 8 * PG - 16,
			      32, EDU_DMA_RUN | EDU_DMA_TO_RAM);
		start1(_metadata, dev, IOVA, SZ_2M, PG);
		ASSERT_EQ(0, vfio_dev_read64(dev, BAR0, EDU_REG_DMA_CMD,
					     &cmd));
		if (cmd & EDU_DMA_RUN)
			break;
		ASSERT_EQ(0, log_stop(dev));
	}
	ASSERT_EQ(EDU_DMA_RUN, cmd & EDU_DMA_RUN)
		TH_LOG("the DMA always ended before START returned: nothing tested");
	edu_dma_done(_metadata, dev);
	expect_landed(_metadata, &self->b, 8 * PG - 16, 0, 32);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 7, 2);
}

/*
 * edu writes to its destination within its DMA mask (28 bits by
 * default): bits above it do not change where the data goes, and the
 * log holds that page.  It holds the page as written too, for an edu
 * started with dma_mask=~0, whose mask the driver cannot see.
 */
TEST_F_TIMEOUT(edu, dma_mask, 60)
{
	const uint64_t high = 1ULL << 40;
	const struct vfio_device_feature_dma_logging_range r[] = {
		{ IOVA, SZ_2M }, { IOVA | high, SZ_2M },
	};
	struct vfio_dev *dev = &self->b.dev;
	uint64_t ps = PG;

	ASSERT_EQ(0, log_start(dev, r, 2, &ps));
	edu_to_ram(_metadata, dev, 0, (IOVA + 3 * PG + 64) | high, 128);
	expect_landed(_metadata, &self->b, 3 * PG + 64, 0, 128);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 3, 1);
	expect_report(_metadata, dev, IOVA | high, SZ_2M, PG, 0, 3, 1);
}

/* The registers answer as usual while logging is on; they are not DMA. */
TEST_F_TIMEOUT(edu, registers_with_logging, 60)
{
	static const uint32_t words[] = { 0, 0x12345678, 0xcafef00d, ~0U };
	struct vfio_dev *dev = &self->b.dev;
	uint32_t v, fact;
	uint64_t dst;
	size_t i;

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	ASSERT_EQ(0, vfio_dev_read32(dev, BAR0, EDU_REG_ID, &v));
	EXPECT_EQ(EDU_ID_VALUE, v);
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		ASSERT_EQ(0, vfio_dev_write32(dev, BAR0, EDU_REG_LIVENESS,
					      words[i]));
		ASSERT_EQ(0, vfio_dev_read32(dev, BAR0, EDU_REG_LIVENESS, &v));
		EXPECT_EQ(~words[i], v) TH_LOG("liveness: wrote 0x%08x, read 0x%08x",
					       words[i], v);
	}
	ASSERT_EQ(0, edu_factorial(dev, 10, &fact));
	EXPECT_EQ(edu_factorial_of(10), fact);
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_DST, IOVA + PG));
	ASSERT_EQ(0, vfio_dev_read64(dev, BAR0, EDU_REG_DMA_DST, &dst));
	EXPECT_EQ(IOVA + PG, dst);
	expect_report(_metadata, dev, IOVA, SZ_2M, PG, 0, 0, 0);
}

/*
 * STOP ends logging: a REPORT is refused, even after a DMA.  A new START
 * logs again; what a DMA wrote before it is not asserted either way.
 */
TEST_F_TIMEOUT(edu, stop_ends_logging, 60)
{
	struct vfio_dev *dev = &self->b.dev;

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_to_ram(_metadata, dev, 0, IOVA + PG, 8);
	ASSERT_EQ(0, log_stop(dev));
	refuse_report(_metadata, dev, IOVA, SZ_2M, PG, EINVAL);
	edu_to_ram(_metadata, dev, 0, IOVA + PG + 64, 8);
	expect_landed(_metadata, &self->b, PG + 64, 0, 8);
	refuse_report(_metadata, dev, IOVA, SZ_2M, PG, EINVAL);

	start1(_metadata, dev, IOVA, SZ_2M, PG);
	edu_to_ram(_metadata, dev, 0, IOVA + 3 * PG, 8);
	expect_report(_metadata, dev, IOVA, PG, PG, 0, 0, 0);
	expect_report(_metadata, dev, IOVA + 2 * PG, SZ_2M - 2 * PG, PG, 0,
		      1, 1);
}

/* ivshmem-plain: its BAR2 memory, written by the user, is not DMA. */
FIXTURE(ivshmem) {
	struct vfio_dev dev;
};

FIXTURE_SETUP(ivshmem)
{
	const char *why = open_dev(_metadata, &self->dev, &kind_ivshmem);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(ivshmem)
{
	close_dev(&self->dev);
}

/*
 * Write BAR2 through the device fd and through an mmap, with logging on
 * over IOVAs that equal the BAR's offsets: nothing is logged.
 */
TEST_F(ivshmem, bar2_writes_not_logged)
{
	static const uint64_t pages[] = { 0, 1, 17, 1000 };
	struct vfio_dev *dev = &self->dev;
	uint64_t size, len, off, v, old;
	uint8_t *mem, b, got;
	size_t i, msize;
	void *p;
	int ret;

	size = dev->regions[IVS_BAR_MEM].size;
	ASSERT_LE(1002 * PG, size)
		TH_LOG("BAR2 of %llu bytes", (unsigned long long)size);
	len = size < MAP_WORDS * 64 * PG ? size : MAP_WORDS * 64 * PG;
	ret = vfio_dev_region_mmap(dev, IVS_BAR_MEM, &p, &msize);
	ASSERT_EQ(0, ret) TH_LOG("mmap BAR2: %s", strerror(-ret));
	mem = p;

	start1(_metadata, dev, 0, len, PG);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		off = pages[i] * PG + 8 * i;
		ASSERT_EQ(0, vfio_dev_read64(dev, IVS_BAR_MEM, off, &old));
		ASSERT_EQ(0, vfio_dev_write64(dev, IVS_BAR_MEM, off, ~old));
		ASSERT_EQ(0, vfio_dev_read64(dev, IVS_BAR_MEM, off, &v));
		ASSERT_EQ(~old, v);
		ASSERT_EQ(0, vfio_dev_write64(dev, IVS_BAR_MEM, off, old));

		/* the mapping and the fd show the same memory */
		off += PG + 1;
		b = mem[off];
		mem[off] = ~b;
		ASSERT_EQ(0, vfio_dev_region_read(dev, IVS_BAR_MEM, off, &got,
						  1));
		ASSERT_EQ((uint8_t)~b, got);
		mem[off] = b;
	}
	expect_report(_metadata, dev, 0, len, PG, 0, 0, 0);
	munmap(p, msize);
}

static const char *precheck(const char *bdf)
{
	return mig_precheck(bdf, false, false);
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, precheck);
}
