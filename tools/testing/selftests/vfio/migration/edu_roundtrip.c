// SPDX-License-Identifier: GPL-2.0
/*
 * Round trips of QEMU edu device state through qemu-vfio-pci migration.
 *
 * A recognisable state is written through BAR0, saved in STOP_COPY, the
 * device is reset to its power-on values, the stream is resumed and every
 * register must come back.  Also: the stream layout, a resume on top of
 * another live state, PRE_COPY followed by STOP_COPY and an interrupt
 * status with MSI enabled.  A migration from one edu to another is a case
 * of migration_roundtrip, as for any device with a plug-in.
 *
 * Usage: edu_roundtrip [harness options] BDF   (or set VFIO_SELFTESTS_BDF)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "mig_test.h"

static const char *g_bdf;

/* Recognisable states; the DMA command register is never written. */
static const struct edu_state state_a = {
	.liveness = 0x12345678,
	.fact_n = 10,			/* 3628800 == 0x375f00 */
	.irq_on_fact = true,
	.dma_src = 0x1122334455667788ULL,
	.dma_dst = 0x8877665544332211ULL,
	.dma_count = 0xdeadbeefULL,
};

static const struct edu_state state_b = {
	.liveness = 0xa5a5c3c3,
	.fact_n = 7,			/* 5040 */
	.irq_on_fact = false,
	.dma_src = 0x40000,
	.dma_dst = 0xfffffffffffff000ULL,
	.dma_count = 0x1000,
};

/* Needs MSI enabled: irq_status ends up 0xf0 & ~0x10 == 0xe0. */
static const struct edu_state state_irq = {
	.liveness = 0x0badf00d,
	.fact_n = 12,			/* 479001600 */
	.irq_on_fact = true,
	.dma_src = 0x1000,
	.dma_dst = 0x2000,
	.dma_count = 0x30,
	.irq_raise = 0xf0,
	.irq_ack = 0x10,
};

FIXTURE(edu) {
	struct vfio_dev dev;
	struct vfio_pci_ids ids;
	int efd;
};

static void open_edu(struct __test_metadata *_metadata,
		     struct vfio_dev *dev, const char *bdf,
		     struct vfio_pci_ids *ids)
{
	int ret;

	ret = vfio_dev_open(dev, bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", dev->err);
	ASSERT_EQ(0, vfio_dev_pci_ids(dev, ids));
	if (ids->vendor != EDU_VENDOR || ids->device != EDU_DEVICE)
		SKIP(return, "%s is %04x:%04x, not an edu", dev->bdf,
		     ids->vendor, ids->device);
	ASSERT_TRUE(!!(dev->info.flags & VFIO_DEVICE_FLAGS_RESET))
		TH_LOG("VFIO_DEVICE_GET_INFO does not report RESET");
	ret = vfio_dev_reset(dev);
	ASSERT_EQ(0, ret) TH_LOG("reset: %s", strerror(-ret));
}

FIXTURE_SETUP(edu)
{
	self->efd = -1;
	open_edu(_metadata, &self->dev, g_bdf, &self->ids);
}

FIXTURE_TEARDOWN(edu)
{
	if (!vfio_dev_is_open(&self->dev))
		return;
	vfio_dev_reset(&self->dev);
	if (self->efd >= 0) {
		vfio_dev_irq_disable(&self->dev, VFIO_PCI_MSI_IRQ_INDEX);
		close(self->efd);
	}
	vfio_dev_close(&self->dev);
}

static void expect_power_on(struct __test_metadata *_metadata,
			    struct vfio_dev *dev)
{
	struct edu_regs po;

	edu_power_on(&po);
	edu_expect_regs(_metadata, dev, &po, "after reset");
	expect_state(_metadata, dev, ST(RUNNING));
}

static void check_stream(struct __test_metadata *_metadata,
			 const struct vfio_buf *s,
			 const struct vfio_pci_ids *ids,
			 const struct edu_regs *want)
{
	struct edu_regs saved;
	char why[256];

	ASSERT_EQ(0, qvp_check_edu_stream(s->data, s->len, ids, &saved, why,
					  sizeof(why)))
		TH_LOG("bad stream: %s", why);
	ASSERT_EQ(0, edu_regs_diff(want, &saved, why, sizeof(why)))
		TH_LOG("stream payload:%s", why);
}

static void enable_msi(struct __test_metadata *_metadata,
		       FIXTURE_DATA(edu) *self)
{
	int ret;

	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
	ret = vfio_dev_irq_set_eventfds(&self->dev, VFIO_PCI_MSI_IRQ_INDEX,
					&self->efd, 1);
	ASSERT_EQ(0, ret) TH_LOG("enabling MSI: %s", strerror(-ret));
	/* an MSI is a DMA write: without bus mastering QEMU drops it */
	ret = vfio_dev_set_bus_master(&self->dev, true);
	ASSERT_EQ(0, ret) TH_LOG("enabling bus mastering: %s", strerror(-ret));
}

/* Resume @s into @dev, run it, and check it shows exactly @want. */
static void resume_running(struct __test_metadata *_metadata,
			   struct vfio_dev *dev, const struct vfio_buf *s,
			   const struct edu_regs *want, const char *when)
{
	resume(_metadata, dev, s->data, s->len, 0);
	go(_metadata, dev, ST(RUNNING), NULL);
	edu_expect_regs(_metadata, dev, want, when);
}

/* Liveness, factorial, status and DMA registers behave as we assume. */
TEST_F(edu, register_model)
{
	struct edu_regs r;
	uint32_t v;

	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_ID, &v));
	ASSERT_EQ(EDU_ID_VALUE, v);
	ASSERT_EQ(0x375f00U, edu_factorial_of(10));
	edu_check_apply(_metadata, &self->dev, &state_a, &r);
	ASSERT_EQ(~0x12345678U, r.liveness);
	ASSERT_EQ(3628800U, r.factorial);
	/* a factorial of 0 is 1: the power-on 0 is not a factorial result */
	ASSERT_EQ(0, edu_factorial(&self->dev, 0, &v));
	ASSERT_EQ(1U, v);
}

TEST_F(edu, reset_restores_power_on)
{
	struct edu_regs r;
	int fd;

	expect_power_on(_metadata, &self->dev);
	edu_check_apply(_metadata, &self->dev, &state_a, &r);
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	expect_power_on(_metadata, &self->dev);

	/* also from STOP, with a save session open */
	edu_check_apply(_metadata, &self->dev, &state_b, &r);
	go(_metadata, &self->dev, ST(STOP_COPY), &fd);
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	close(fd);
	expect_power_on(_metadata, &self->dev);
}

/*
 * The uAPI calls MIG_DATA_SIZE an estimate of the STOP_COPY data, so the
 * device-agnostic conformance suite only asks that it answers.  For edu,
 * qemu-vfio-pci documents it as exact (qemu-vfio-pci.rst, "MIG_DATA_SIZE"):
 * the bytes that completing a STOP_COPY from now produces, 104 before a
 * save, then fewer as the stream is read, 0 after its end.  So it must
 * equal what is then actually read: the whole stream before the save,
 * the rest of it after each piece read.
 */
#define PIECE		13
#define MAX_PIECES	(QVP_EDU_STREAM_LEN / PIECE + 2)

TEST_F(edu, stream_layout)
{
	uint64_t size, left[MAX_PIECES];
	size_t at[MAX_PIECES], i, n = 0;
	uint8_t b[PIECE];
	struct vfio_buf s;
	struct edu_regs r;
	ssize_t got;
	int fd;

	edu_check_apply(_metadata, &self->dev, &state_a, &r);
	go(_metadata, &self->dev, ST(STOP), NULL);
	ASSERT_EQ(0, vfio_dev_mig_data_size(&self->dev, &size));
	TH_LOG("MIG_DATA_SIZE %llu", (unsigned long long)size);

	vfio_buf_init(&s);
	go(_metadata, &self->dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	for (;;) {
		ASSERT_GT(MAX_PIECES, n) TH_LOG("stream longer than %zu bytes",
						 MAX_PIECES * PIECE);
		at[n] = s.len;
		ASSERT_EQ(0, vfio_dev_mig_data_size(&self->dev, &left[n++]));
		got = read(fd, b, sizeof(b));
		ASSERT_LE(0, got) TH_LOG("read: %s", strerror(errno));
		if (!got)
			break;
		ASSERT_EQ(0, vfio_buf_append(&s, b, got));
	}
	close(fd);
	go(_metadata, &self->dev, ST(STOP), NULL);

	ASSERT_EQ(s.len, size)
		TH_LOG("MIG_DATA_SIZE in STOP was %llu, the save gave %zu bytes",
		       (unsigned long long)size, s.len);
	/* braces: ASSERT_EQ() ... TH_LOG() is more than one statement */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(s.len - at[i], left[i])
			TH_LOG("MIG_DATA_SIZE after %zu bytes read was %llu, %zu were still to come",
			       at[i], (unsigned long long)left[i],
			       s.len - at[i]);
	}
	ASSERT_EQ(QVP_EDU_STREAM_LEN, s.len);
	check_stream(_metadata, &s, &self->ids, &r);
	vfio_buf_free(&s);
}

TEST_F(edu, save_reset_resume)
{
	struct vfio_buf s, again;
	struct edu_regs r;
	uint32_t v;

	edu_check_apply(_metadata, &self->dev, &state_a, &r);
	vfio_buf_init(&s);
	save(_metadata, &self->dev, &s);
	check_stream(_metadata, &s, &self->ids, &r);

	/* saving does not disturb the source */
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	edu_expect_regs(_metadata, &self->dev, &r, "source after save");

	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	expect_power_on(_metadata, &self->dev);

	resume(_metadata, &self->dev, s.data, s.len, 0);
	edu_expect_regs(_metadata, &self->dev, &r, "resumed, in STOP");
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	edu_expect_regs(_metadata, &self->dev, &r, "resumed, RUNNING");

	/* the resumed device saves the same stream */
	vfio_buf_init(&again);
	save(_metadata, &self->dev, &again);
	ASSERT_EQ(s.len, again.len);
	ASSERT_EQ(0, memcmp(s.data, again.data, s.len));

	/* and still works */
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_STATUS, 0));
	ASSERT_EQ(0, edu_factorial(&self->dev, 5, &v));
	ASSERT_EQ(120U, v);
	vfio_buf_free(&s);
	vfio_buf_free(&again);
}

TEST_F(edu, resume_over_live_state)
{
	struct edu_regs ra, rb;
	struct vfio_buf sa, sb;

	vfio_buf_init(&sa);
	vfio_buf_init(&sb);

	edu_check_apply(_metadata, &self->dev, &state_a, &ra);
	save(_metadata, &self->dev, &sa);
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	edu_check_apply(_metadata, &self->dev, &state_b, &rb);
	save(_metadata, &self->dev, &sb);

	/* b is live (status 0x80 clear), resume a (0x80 set) over it */
	resume_running(_metadata, &self->dev, &sa, &ra, "a over b");

	/* and the other way round: 0x80 must get cleared */
	resume_running(_metadata, &self->dev, &sb, &rb, "b over a");

	vfio_buf_free(&sa);
	vfio_buf_free(&sb);
}

TEST_F(edu, irq_status_with_msi)
{
	struct vfio_buf s;
	struct pollfd pfd;
	struct edu_regs r;
	uint64_t count = 0;

	enable_msi(_metadata, self);
	pfd.fd = self->efd;
	pfd.events = POLLIN;
	edu_check_apply(_metadata, &self->dev, &state_irq, &r);
	ASSERT_EQ(0xe0U, r.irq_status);
	/* MSI delivery is asynchronous: wait for it */
	ASSERT_EQ(1, poll(&pfd, 1, 5000))
		TH_LOG("raising an interrupt did not signal the MSI eventfd");
	ASSERT_EQ((ssize_t)sizeof(count), read(self->efd, &count,
					       sizeof(count)));
	ASSERT_LT(0ULL, (unsigned long long)count);

	vfio_buf_init(&s);
	save(_metadata, &self->dev, &s);
	check_stream(_metadata, &s, &self->ids, &r);
	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	expect_power_on(_metadata, &self->dev);

	resume_running(_metadata, &self->dev, &s, &r, "resumed");

	/* acknowledging clears it as on the source */
	ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_IRQ_ACK, 0xe0));
	r.irq_status = 0;
	edu_expect_regs(_metadata, &self->dev, &r, "after ack");
	vfio_buf_free(&s);
}

TEST_F(edu, precopy_then_stop_copy)
{
	struct vfio_precopy_info info;
	struct vfio_buf s, direct;
	struct edu_regs r;
	uint8_t b[64];
	int fd, fd2;

	edu_check_apply(_metadata, &self->dev, &state_a, &r);
	go(_metadata, &self->dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ((unsigned long long)QVP_HDR_LEN,
		  (unsigned long long)info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);
	ASSERT_EQ(0U, info.flags);

	vfio_buf_init(&s);
	ASSERT_EQ(10, read(fd, b, 10));
	ASSERT_EQ(0, vfio_buf_append(&s, b, 10));
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(QVP_HDR_LEN - 10, (size_t)info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);

	/* the rest of the initial data, even if asked for more */
	ASSERT_EQ((ssize_t)(QVP_HDR_LEN - 10), read(fd, b, sizeof(b)));
	ASSERT_EQ(0, vfio_buf_append(&s, b, QVP_HDR_LEN - 10));
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);
	ASSERT_EQ(-1, read(fd, b, sizeof(b)));
	ASSERT_EQ(ENOMSG, errno);

	go(_metadata, &self->dev, ST(PRE_COPY_P2P), &fd2);
	ASSERT_EQ(-1, fd2);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	go(_metadata, &self->dev, ST(STOP_COPY), &fd2);
	ASSERT_EQ(-1, fd2);
	ASSERT_EQ(VFIO_MIG_READ_EOF, vfio_mig_read(fd, &s, MAX_STREAM));
	close(fd);
	ASSERT_EQ(QVP_EDU_STREAM_LEN, s.len);
	check_stream(_metadata, &s, &self->ids, &r);

	/* identical to a plain STOP_COPY save of the same state */
	go(_metadata, &self->dev, ST(STOP), NULL);
	vfio_buf_init(&direct);
	save(_metadata, &self->dev, &direct);
	ASSERT_EQ(0, memcmp(s.data, direct.data, s.len));

	ASSERT_EQ(0, vfio_dev_reset(&self->dev));
	expect_power_on(_metadata, &self->dev);
	resume_running(_metadata, &self->dev, &s, &r, "resumed");
	vfio_buf_free(&s);
	vfio_buf_free(&direct);
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_edu);
}
