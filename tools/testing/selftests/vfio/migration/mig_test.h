/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertion helpers for the migration tests, built on the kselftest
 * harness: each takes the test's _metadata so that ASSERT_*() inside
 * aborts the calling test.
 */
#ifndef MIG_TEST_H
#define MIG_TEST_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mig_common.h"

#define ST(x)		((uint32_t)VFIO_DEVICE_STATE_##x)
#define NAME(s)		vfio_mig_state_name(s)
#define MAX_STREAM	(256UL << 20)

static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline void expect_state(struct __test_metadata *_metadata,
				struct vfio_dev *dev, uint32_t want)
{
	uint32_t now = ~0U;
	int ret;

	ret = vfio_dev_mig_get_state(dev, &now);
	ASSERT_EQ(0, ret) TH_LOG("GET state: %s", strerror(-ret));
	ASSERT_EQ(want, now) TH_LOG("state is %s, want %s", NAME(now),
				    NAME(want));
}

/* Move to @to and check GET; *fd (may be NULL) receives the data fd. */
static inline void go(struct __test_metadata *_metadata,
		      struct vfio_dev *dev, uint32_t to, int *fd)
{
	int ret;

	ret = vfio_dev_mig_set_state(dev, to, fd);
	ASSERT_EQ(0, ret) TH_LOG("-> %s: %s", NAME(to), strerror(-ret));
	expect_state(_metadata, dev, to);
}

/* From the current state: STOP_COPY, read to the end, then STOP. */
static inline void save(struct __test_metadata *_metadata,
			struct vfio_dev *dev, struct vfio_buf *out)
{
	int fd, ret;

	go(_metadata, dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_read(fd, out, MAX_STREAM);
	close(fd);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret)
		TH_LOG("reading: %s", strerror(-ret));
	go(_metadata, dev, ST(STOP), NULL);
}

/* -> STOP -> RESUMING, write @len bytes in @chunk pieces, -> STOP. */
static inline void resume(struct __test_metadata *_metadata,
			  struct vfio_dev *dev, const void *data, size_t len,
			  size_t chunk)
{
	size_t done = 0;
	int fd, ret;

	go(_metadata, dev, ST(STOP), NULL);
	go(_metadata, dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_write(fd, data, len, chunk, &done);
	close(fd);
	ASSERT_EQ(0, ret) TH_LOG("write (%zu-byte pieces) failed at %zu of %zu: %s",
				 chunk, done, len, strerror(-ret));
	go(_metadata, dev, ST(STOP), NULL);
}

/* The edu's registers must be exactly @want. */
static inline void edu_expect_regs(struct __test_metadata *_metadata,
			       struct vfio_dev *dev,
			       const struct edu_regs *want, const char *when)
{
	struct edu_regs got;
	char diff[512];
	int ret;

	ret = edu_read_regs(dev, &got);
	ASSERT_EQ(0, ret) TH_LOG("%s: reading BAR0: %s", when, strerror(-ret));
	ASSERT_EQ(0, edu_regs_diff(want, &got, diff, sizeof(diff)))
		TH_LOG("%s:%s", when, diff);
}

/* Program @s into the edu and check it shows exactly what we expect. */
static inline void edu_check_apply(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, const struct edu_state *s,
			 struct edu_regs *regs)
{
	int ret;

	ret = edu_apply(dev, s);
	ASSERT_EQ(0, ret) TH_LOG("programming the edu: %s", strerror(-ret));
	edu_expected(s, regs);
	edu_expect_regs(_metadata, dev, regs, "after programming");
}

/* Skip reasons for mig_test_main(): any migratable device, or an edu. */
static inline const char *mig_precheck_any(const char *bdf)
{
	return mig_precheck(bdf, false, true);
}

static inline const char *mig_precheck_edu(const char *bdf)
{
	return mig_precheck(bdf, true, true);
}

/*
 * main() of every test program here: the device comes from argv[1] or
 * $VFIO_SELFTESTS_BDF into *@bdf; when @precheck gives a reason the device
 * cannot be tested, exit with KSFT_SKIP and print it; else run the tests.
 * A $VFIO_SELFTESTS_IOMMU_MODE that names no mode is a failure, not a
 * skip: a typo must not pass for a kernel without the mode.
 */
static inline int mig_test_main(int argc, char **argv, const char **bdf,
				const char *(*precheck)(const char *bdf))
{
	enum vfio_dev_iommu_mode mode;
	const char *why;

	if (vfio_dev_iommu_mode_env(&mode))
		ksft_exit_fail_msg("%s='%s': want legacy or iommufd\n",
				   VFIO_DEV_IOMMU_MODE_ENV,
				   getenv(VFIO_DEV_IOMMU_MODE_ENV));
	*bdf = mig_take_bdf(&argc, argv);
	if (!mig_harness_listing(argc, argv)) {
		why = precheck(*bdf);
		if (why)
			ksft_exit_skip("%s\n", why);
	}
	return test_harness_run(argc, argv);
}

#endif /* MIG_TEST_H */
