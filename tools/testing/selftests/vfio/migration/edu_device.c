// SPDX-License-Identifier: GPL-2.0
/*
 * What the qemu-vfio-pci edu backend does to the device and to the PCI
 * function around it, beyond the saved bytes: interrupts and the command
 * register while the driver touches the BAR, the interrupt a stopped
 * device owes or must not send, DMA across a P2P arc, what the driver's
 * emulated reset does to the user's BAR mappings, and the reset of open
 * and close, which leaves nothing of one user to the next.
 *
 * Usage: edu_device [harness options] BDF   (or set VFIO_SELFTESTS_BDF)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mig_test.h"

#define PCI_CMD_MEMORY		0x0002
#define PCI_CMD_INTX_DISABLE	0x0400

#define OFF_IRQ_STATUS		(QVP_OFF_REGS_PAYLOAD + \
				 offsetof(struct qvp_edu_regs, irq_status))

static const char *g_bdf;

FIXTURE(dev) {
	struct vfio_dev dev;
	struct vfio_pci_ids ids;
	int efd;
	unsigned int irq_index;
	int irq;		/* whose affinity same_cpu() changed, or -1 */
	char affinity[64];	/* what it was */
};

FIXTURE_SETUP(dev)
{
	int ret;

	self->efd = -1;
	self->irq = -1;
	ret = vfio_dev_open(&self->dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->dev.err);
	ASSERT_EQ(0, vfio_dev_pci_ids(&self->dev, &self->ids));
	if (self->ids.vendor != EDU_VENDOR || self->ids.device != EDU_DEVICE)
		SKIP(return, "%s is %04x:%04x, not an edu", self->dev.bdf,
		     self->ids.vendor, self->ids.device);
	ret = vfio_dev_reset(&self->dev);
	ASSERT_EQ(0, ret) TH_LOG("reset: %s", strerror(-ret));
}

static void write_affinity(int irq, const char *list)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	f = fopen(path, "we");
	if (f) {
		fputs(list, f);
		fclose(f);
	}
}

FIXTURE_TEARDOWN(dev)
{
	if (self->irq >= 0)
		write_affinity(self->irq, self->affinity);
	if (!vfio_dev_is_open(&self->dev))
		return;
	vfio_dev_reset(&self->dev);
	if (self->efd >= 0) {
		vfio_dev_irq_disable(&self->dev, self->irq_index);
		close(self->efd);
	}
	vfio_dev_close(&self->dev);
}

/* Signal @index (MSI or INTx) of the device to a fresh eventfd. */
static void enable_irq(struct __test_metadata *_metadata,
		       FIXTURE_DATA(dev) *self, unsigned int index)
{
	int ret;

	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
	self->irq_index = index;
	ret = vfio_dev_irq_set_eventfds(&self->dev, index, &self->efd, 1);
	ASSERT_EQ(0, ret) TH_LOG("enabling IRQ index %u: %s", index,
				 strerror(-ret));
	/* an MSI is a DMA write: without bus mastering QEMU drops it */
	ret = vfio_dev_set_bus_master(&self->dev, true);
	ASSERT_EQ(0, ret) TH_LOG("bus mastering: %s", strerror(-ret));
}

/* Interrupts signalled since the last call, waiting up to @ms for one. */
static uint64_t irqs(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n = 0;

	if (ms && poll(&p, 1, ms) <= 0)
		return 0;
	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static uint16_t user_cmd(struct __test_metadata *_metadata,
			 struct vfio_dev *dev)
{
	uint16_t cmd = 0;

	ASSERT_EQ(0, mig_user_pci_command(dev, &cmd));
	return cmd;
}

static void set_user_cmd(struct __test_metadata *_metadata,
			 struct vfio_dev *dev, uint16_t cmd)
{
	ASSERT_EQ(0, mig_set_user_pci_command(dev, cmd));
}

/* PCI_COMMAND as the hardware has it (sysfs, not vfio's virtual view). */
static uint16_t hw_cmd(struct __test_metadata *_metadata, const char *bdf)
{
	uint16_t cmd = 0;
	int ret = mig_hw_pci_command(bdf, &cmd);

	ASSERT_EQ(0, ret) TH_LOG("%s's config in sysfs: %s", bdf,
				 strerror(-ret));
	return cmd;
}

/*
 * The count of "vfio-intx(BDF)" in /proc/interrupts, over all CPUs, and
 * its IRQ number in *@irq.
 */
static long long intx_count(const char *bdf, int *irq)
{
	char line[1024], name[64];
	long long total = -1;
	FILE *f;

	snprintf(name, sizeof(name), "vfio-intx(%s)", bdf);
	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!p || !strstr(line, name))
			continue;
		*irq = atoi(line);
		total = 0;
		for (p++; ; ) {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			total += v;
			p = end;
		}
	}
	fclose(f);
	return total;
}

/*
 * Deliver IRQ @irq to CPU 0 and run this thread there, so that the
 * interrupt a driver raises arrives while that driver's ioctl still runs
 * on the same CPU: with two vCPUs taking turns (single-threaded TCG) it
 * would otherwise often arrive after the ioctl, and a race inside the
 * ioctl would go unseen.
 */
static void same_cpu(struct __test_metadata *_metadata,
		     FIXTURE_DATA(dev) *self, int irq)
{
	char path[64];
	cpu_set_t cpus;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_NE(NULL, fgets(self->affinity, sizeof(self->affinity), f));
	fclose(f);
	self->irq = irq;	/* the teardown puts it back */
	f = fopen(path, "we");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	fputs("0\n", f);
	ASSERT_EQ(0, fclose(f)) TH_LOG("%s: %s", path, strerror(errno));
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
}

/* A saved stream of @dev whose interrupt status says @irq_status. */
static void stream_with_irq(struct __test_metadata *_metadata,
			    struct vfio_dev *dev, struct vfio_buf *s,
			    uint32_t irq_status)
{
	vfio_buf_init(s);
	save(_metadata, dev, s);
	go(_metadata, dev, ST(RUNNING), NULL);
	ASSERT_EQ(QVP_EDU_STREAM_LEN, s->len);
	qvp_put32(s->data + OFF_IRQ_STATUS, irq_status);
	qvp_fix_record_crc(s->data + QVP_OFF_REGS_REC);
}

/*
 * The driver's own BAR accesses must leave the rest of PCI_COMMAND alone.
 * INTx is signalled to an eventfd and memory decoding is off (as QEMU
 * does during a guest reset); then a resume raises the saved interrupt
 * from inside the driver's MMIO bracket.  The INTx handler masks the
 * line (INTx-disable) while the bracket has decoding on for itself: the
 * end of the bracket must turn decoding off again and nothing else,
 * or the line is unmasked while asserted: an interrupt storm, "nobody
 * cared" and a disabled IRQ.
 */
TEST_F(dev, intx_mask_survives_driver_mmio)
{
	struct vfio_buf s;
	long long before, after;
	uint16_t cmd, hw;
	int irq = -1;
	uint32_t v;

	stream_with_irq(_metadata, &self->dev, &s, EDU_IRQ_DMA);
	enable_irq(_metadata, self, VFIO_PCI_INTX_IRQ_INDEX);
	before = intx_count(self->dev.bdf, &irq);
	ASSERT_LE(0, before) TH_LOG("no vfio-intx(%s) in /proc/interrupts",
				    self->dev.bdf);
	same_cpu(_metadata, self, irq);

	cmd = user_cmd(_metadata, &self->dev);
	set_user_cmd(_metadata, &self->dev, cmd & ~PCI_CMD_MEMORY);
	ASSERT_EQ(0, hw_cmd(_metadata, self->dev.bdf) & PCI_CMD_MEMORY);

	resume(_metadata, &self->dev, s.data, s.len, 0);
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	ASSERT_LE(1ULL, irqs(self->efd, 2000))
		TH_LOG("the resumed interrupt was not signalled");

	hw = hw_cmd(_metadata, self->dev.bdf);
	EXPECT_EQ(0, hw & PCI_CMD_MEMORY)
		TH_LOG("decoding is on again (PCI_COMMAND 0x%04x)", hw);
	EXPECT_EQ(PCI_CMD_INTX_DISABLE, hw & PCI_CMD_INTX_DISABLE)
		TH_LOG("INTx was unmasked behind vfio's back (PCI_COMMAND 0x%04x)",
		       hw);
	/*
	 * A storm is 10000s (the kernel gives up on a line after 100000
	 * unhandled ones); other devices sharing the line add a few.
	 */
	after = intx_count(self->dev.bdf, &irq);
	EXPECT_GE(1000, after - before)
		TH_LOG("%lld interrupts for one assertion", after - before);

	/* the user's side of it: decode on, acknowledge, unmask, quiet */
	set_user_cmd(_metadata, &self->dev, cmd);
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_IRQ_STATUS, &v));
	ASSERT_EQ(EDU_IRQ_DMA, v);
	ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_IRQ_ACK, v));
	ASSERT_EQ(0, vfio_dev_irq_unmask(&self->dev, VFIO_PCI_INTX_IRQ_INDEX));
	EXPECT_EQ(0ULL, irqs(self->efd, 200));
	vfio_buf_free(&s);
}

/*
 * A resumed interrupt status is raised when the device runs again, not
 * at RESUMING -> STOP: a stopped device does not interrupt.  A stream
 * saved again before that still carries it.
 */
TEST_F(dev, resumed_interrupt_waits_for_running)
{
	struct edu_regs saved;
	struct vfio_buf s, again;
	char why[256];
	uint32_t v;

	stream_with_irq(_metadata, &self->dev, &s, EDU_IRQ_DMA);
	enable_irq(_metadata, self, VFIO_PCI_MSI_IRQ_INDEX);

	resume(_metadata, &self->dev, s.data, s.len, 0);
	EXPECT_EQ(0ULL, irqs(self->efd, 200))
		TH_LOG("the device interrupted in STOP");

	vfio_buf_init(&again);
	save(_metadata, &self->dev, &again);
	ASSERT_EQ(0, qvp_check_edu_stream(again.data, again.len, &self->ids,
					  &saved, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(EDU_IRQ_DMA, saved.irq_status)
		TH_LOG("the held interrupt is missing from a second save");
	EXPECT_EQ(0ULL, irqs(self->efd, 200))
		TH_LOG("the device interrupted in STOP_COPY");

	go(_metadata, &self->dev, ST(RUNNING), NULL);
	EXPECT_EQ(1ULL, irqs(self->efd, 2000))
		TH_LOG("the resumed interrupt was not sent when running");
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_IRQ_STATUS, &v));
	EXPECT_EQ(EDU_IRQ_DMA, v);
	vfio_buf_free(&s);
	vfio_buf_free(&again);
}

/*
 * Save @dev into @s: STOP_COPY from RUNNING, or as QEMU does, PRE_COPY
 * then PRE_COPY_P2P -> STOP_COPY on the same fd.  Ends in STOP.
 */
static void save_via(struct __test_metadata *_metadata, struct vfio_dev *dev,
		     struct vfio_buf *s, bool precopy)
{
	int fd, fd2, ret;

	if (!precopy) {
		save(_metadata, dev, s);
		return;
	}
	go(_metadata, dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ret = vfio_mig_read(fd, s, MAX_STREAM);
	ASSERT_EQ(VFIO_MIG_READ_NODATA, ret) TH_LOG("%s", strerror(-ret));
	go(_metadata, dev, ST(PRE_COPY_P2P), &fd2);
	go(_metadata, dev, ST(STOP_COPY), &fd2);
	ret = vfio_mig_read(fd, s, MAX_STREAM);
	close(fd);
	ASSERT_EQ(VFIO_MIG_READ_EOF, ret) TH_LOG("%s", strerror(-ret));
	go(_metadata, dev, ST(STOP), NULL);
}

/*
 * QEMU's edu clears COMPUTING before it raises the completion interrupt.
 * Stop the device right after starting a factorial with IRQFACT on, many
 * times: the saved interrupt status must be the one the device shows,
 * completion interrupt included, and IRQFACT must come back.
 */
static void fact_interrupt_rounds(struct __test_metadata *_metadata,
				  FIXTURE_DATA(dev) *self, bool precopy)
{
	struct edu_regs saved;
	struct vfio_buf s;
	uint32_t v, st;
	char why[256];
	int i;

	enable_irq(_metadata, self, VFIO_PCI_MSI_IRQ_INDEX);
	vfio_buf_init(&s);
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_IRQ_ACK,
					      ~0U));
		ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_STATUS,
					      EDU_STATUS_IRQFACT));
		ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0,
					      EDU_REG_FACTORIAL, 5 + i % 8));
		s.len = 0;
		save_via(_metadata, &self->dev, &s, precopy);
		ASSERT_EQ(0, qvp_check_edu_stream(s.data, s.len, &self->ids,
						  &saved, why, sizeof(why)))
			TH_LOG("%s", why);
		go(_metadata, &self->dev, ST(RUNNING), NULL);
		ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0,
					     EDU_REG_IRQ_STATUS, &v));
		ASSERT_EQ(v, saved.irq_status)
			TH_LOG("round %d: saved interrupt status 0x%x, the device then shows 0x%x",
			       i, saved.irq_status, v);
		ASSERT_EQ(EDU_IRQ_FACT, saved.irq_status)
			TH_LOG("round %d: completion interrupt not saved", i);
		ASSERT_EQ((uint32_t)EDU_STATUS_IRQFACT, saved.status);
		ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_STATUS,
					     &st));
		ASSERT_EQ((uint32_t)EDU_STATUS_IRQFACT, st)
			TH_LOG("round %d: IRQFACT not given back", i);
	}
	vfio_buf_free(&s);
}

TEST_F(dev, stop_captures_fact_interrupt)
{
	fact_interrupt_rounds(_metadata, self, false);
}

/* The same through PRE_COPY_P2P -> STOP_COPY, QEMU's path. */
TEST_F(dev, precopy_captures_fact_interrupt)
{
	fact_interrupt_rounds(_metadata, self, true);
}

/* One 8-byte edu DMA, @dir its direction, waited for; the bits kept. */
static void edu_dma8(struct __test_metadata *_metadata, struct vfio_dev *dev,
		     uint64_t src, uint64_t dst, uint64_t dir)
{
	uint64_t cmd = 0;
	int i;

	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_SRC, src));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_DST, dst));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_COUNT, 8));
	ASSERT_EQ(0, vfio_dev_write64(dev, BAR0, EDU_REG_DMA_CMD,
				      EDU_DMA_RUN | dir));
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, vfio_dev_read64(dev, BAR0, EDU_REG_DMA_CMD, &cmd));
		if (!(cmd & EDU_DMA_RUN))
			return;
		usleep(10000);
	}
	ASSERT_EQ(0ULL, cmd & EDU_DMA_RUN) TH_LOG("a DMA did not end in 5 s");
}

/*
 * vfio.h: a device that cannot tell P2P DMA from other DMA must complete
 * its outstanding DMA before the arc into a P2P state completes.  edu's
 * DMA runs for 100 ms (QEMU's timer) after its command is written; it
 * clears RUN and raises its interrupt (if asked) in one step, so RUN
 * clear means done.  From RUNNING, or from PRE_COPY.  The command asks
 * for no interrupt: edu keeps the command's other bits after a DMA, and
 * no reset clears them, which the other tests would see.
 *
 * Then, back in RUNNING, the device's buffer goes to another word of the
 * page: the word the first DMA read must arrive there.  An IOMMU that
 * refused the DMA (a mapping that is not there, in either IOMMU mode of
 * vfio_dev) only logs a fault, and edu ends the DMA all the same; only
 * the data tells.
 */
static void dma_across_p2p(struct __test_metadata *_metadata,
			   FIXTURE_DATA(dev) *self, bool precopy)
{
	const uint64_t iova = 0x100000;
	const size_t size = 4096, back = 64;
	static uint64_t calls;
	int fd = -1, fd2, tries, ret;
	uint64_t cmd, word, got;
	void *buf;

	ASSERT_EQ(0, vfio_dev_set_bus_master(&self->dev, true));
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x5a, size);
	/* a word this call alone writes, for the device to read */
	word = mig_splitmix((uint64_t)getpid() << 32 ^ ++calls ^ time(NULL));
	memcpy(buf, &word, sizeof(word));
	ret = vfio_dev_dma_map(&self->dev, iova, buf, size);
	ASSERT_EQ(0, ret) TH_LOG("DMA map (%s mode): %s",
				 vfio_dev_iommu_mode_name(self->dev.iommu_mode),
				 strerror(-ret));

	if (precopy) {
		go(_metadata, &self->dev, ST(PRE_COPY), &fd);
		ASSERT_LE(0, fd);
	}
	/* the mapped page -> the device's buffer, 8 bytes */
	ASSERT_EQ(0, vfio_dev_write64(&self->dev, BAR0, EDU_REG_DMA_SRC,
				      iova));
	ASSERT_EQ(0, vfio_dev_write64(&self->dev, BAR0, EDU_REG_DMA_DST,
				      EDU_DMA_BUF));
	ASSERT_EQ(0, vfio_dev_write64(&self->dev, BAR0, EDU_REG_DMA_COUNT, 8));
	/*
	 * The arc must find the DMA running; on a host so loaded that
	 * 100 ms pass between two MMIO accesses, try again.
	 */
	for (tries = 0; tries < 5; tries++) {
		ASSERT_EQ(0, vfio_dev_write64(&self->dev, BAR0,
					      EDU_REG_DMA_CMD, EDU_DMA_RUN));
		ASSERT_EQ(0, vfio_dev_read64(&self->dev, BAR0,
					     EDU_REG_DMA_CMD, &cmd));
		if (cmd & EDU_DMA_RUN)
			break;
	}
	ASSERT_EQ(EDU_DMA_RUN, cmd & EDU_DMA_RUN)
		TH_LOG("the DMA always ended before the arc: nothing tested");

	go(_metadata, &self->dev, precopy ? ST(PRE_COPY_P2P) : ST(RUNNING_P2P),
	   &fd2);
	ASSERT_EQ(0, vfio_dev_read64(&self->dev, BAR0, EDU_REG_DMA_CMD, &cmd));
	EXPECT_EQ(0ULL, cmd & EDU_DMA_RUN)
		TH_LOG("DMA still running in the P2P state (command 0x%llx)",
		       (unsigned long long)cmd);
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	if (fd >= 0)
		close(fd);

	/* the buffer back to the page, then a plain DMA clears TO_RAM */
	edu_dma8(_metadata, &self->dev, EDU_DMA_BUF, iova + back,
		 EDU_DMA_TO_RAM);
	memcpy(&got, (uint8_t *)buf + back, sizeof(got));
	EXPECT_EQ(word, got)
		TH_LOG("the DMA did not go through the %s mapping at IOVA 0x%llx: read back 0x%016llx, want 0x%016llx",
		       vfio_dev_iommu_mode_name(self->dev.iommu_mode),
		       (unsigned long long)iova, (unsigned long long)got,
		       (unsigned long long)word);
	edu_dma8(_metadata, &self->dev, iova, EDU_DMA_BUF, 0);

	ret = vfio_dev_dma_unmap(&self->dev, iova, size);
	EXPECT_EQ(0, ret) TH_LOG("DMA unmap: %s", strerror(-ret));
	munmap(buf, size);
}

TEST_F(dev, p2p_waits_for_dma)
{
	dma_across_p2p(_metadata, self, false);
}

TEST_F(dev, precopy_p2p_waits_for_dma)
{
	dma_across_p2p(_metadata, self, true);
}

/*
 * A device closed while stopped goes back to RUNNING without the arcs:
 * the interrupt a resumed state held for it is dropped with the session
 * (not raised at close, not left for the next user, and not raised by
 * the next STOP -> RUNNING either).  The close and the open also reset
 * the device (reopen_finds_power_on_state), so IRQ_STATUS and STATUS
 * read 0 whatever the resumed state held.
 */
TEST_F(dev, close_in_stop_drops_held_interrupt)
{
	struct vfio_buf s;
	uint32_t v;
	int ret;

	stream_with_irq(_metadata, &self->dev, &s, EDU_IRQ_DMA);
	ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_STATUS,
				      EDU_STATUS_IRQFACT));
	resume(_metadata, &self->dev, s.data, s.len, 0);
	vfio_dev_close(&self->dev);
	ret = vfio_dev_open(&self->dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->dev.err);
	expect_state(_metadata, &self->dev, ST(RUNNING));
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_IRQ_STATUS, &v));
	EXPECT_EQ(0U, v) TH_LOG("IRQ_STATUS 0x%x after a close in STOP", v);
	go(_metadata, &self->dev, ST(STOP), NULL);
	go(_metadata, &self->dev, ST(RUNNING), NULL);
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_IRQ_STATUS, &v));
	EXPECT_EQ(0U, v) TH_LOG("a held interrupt came back: 0x%x", v);
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_STATUS, &v));
	EXPECT_EQ(0U, v) TH_LOG("STATUS 0x%x, the resumed state has 0", v);
	vfio_buf_free(&s);
}

/*
 * User A leaves state, and work in flight, and closes the device; user B
 * opens it and finds the power-on values of a new edu: liveness 0,
 * factorial 0, STATUS 0 (IRQFACT off), no interrupt status, DMA addresses
 * and count 0, and the DMA command not running.  edu has no PCI reset
 * method: the driver resets it when it is closed (waiting for the
 * factorial and the DMA A started) and when it is opened, as
 * vfio-pci-core resets a device that has one.  The
 * DMA moves nothing (count 0; the test bed's edu takes an empty range),
 * so no memory needs mapping.  It leaves its direction and interrupt bits
 * in the command register, and the reset leaves them too: edu takes only
 * writes that start a DMA (the driver page says why no empty DMA clears
 * them).
 */
TEST_F(dev, reopen_finds_power_on_state)
{
	static const struct {
		unsigned int off, size;
		const char *name;
	} regs[] = {
		{ EDU_REG_LIVENESS, 4, "LIVENESS" },
		{ EDU_REG_FACTORIAL, 4, "FACTORIAL" },
		{ EDU_REG_STATUS, 4, "STATUS" },
		{ EDU_REG_IRQ_STATUS, 4, "IRQ_STATUS" },
		{ EDU_REG_DMA_SRC, 8, "DMA_SRC" },
		{ EDU_REG_DMA_DST, 8, "DMA_DST" },
		{ EDU_REG_DMA_COUNT, 8, "DMA_COUNT" },
	};
	struct vfio_dev *d = &self->dev;
	uint64_t v64 = 0;
	uint32_t v;
	unsigned int i, pass;

	/* user A */
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_LIVENESS, 0xdeadbeef));
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_IRQ_RAISE, 0x10000));
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_STATUS,
				      EDU_STATUS_IRQFACT));
	ASSERT_EQ(0, vfio_dev_write64(d, BAR0, EDU_REG_DMA_SRC, EDU_DMA_BUF));
	ASSERT_EQ(0, vfio_dev_write64(d, BAR0, EDU_REG_DMA_DST, 0x123000));
	ASSERT_EQ(0, vfio_dev_write64(d, BAR0, EDU_REG_DMA_COUNT, 0));
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_FACTORIAL, 12));
	ASSERT_EQ(0, vfio_dev_write64(d, BAR0, EDU_REG_DMA_CMD,
				      EDU_DMA_RUN | EDU_DMA_TO_RAM |
				      EDU_DMA_RAISE_IRQ));
	ASSERT_EQ(0, vfio_dev_read64(d, BAR0, EDU_REG_DMA_CMD, &v64));
	if (!(v64 & EDU_DMA_RUN))
		TH_LOG("the DMA ended before the close: the wait for it is not tested");
	ASSERT_EQ(0, vfio_dev_read32(d, BAR0, EDU_REG_LIVENESS, &v));
	ASSERT_EQ(~0xdeadbeefU, v);
	vfio_dev_close(d);

	/* user B; a second look after edu's DMA time: nothing came late */
	ASSERT_EQ(0, vfio_dev_open(d, g_bdf)) TH_LOG("%s", d->err);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ARRAY_SIZE(regs); i++) {
			v64 = 0;
			if (regs[i].size == 8) {
				ASSERT_EQ(0, vfio_dev_read64(d, BAR0,
							     regs[i].off, &v64));
			} else {
				ASSERT_EQ(0, vfio_dev_read32(d, BAR0,
							     regs[i].off, &v));
				v64 = v;
			}
			EXPECT_EQ(0ULL, v64)
				TH_LOG("%s reads 0x%llx %s, want its power-on 0",
				       regs[i].name, (unsigned long long)v64,
				       pass ? "200 ms after the open" :
					      "at the open");
		}
		ASSERT_EQ(0, vfio_dev_read64(d, BAR0, EDU_REG_DMA_CMD, &v64));
		EXPECT_EQ(0ULL, v64 & EDU_DMA_RUN)
			TH_LOG("DMA_CMD 0x%llx still runs %s",
			       (unsigned long long)v64,
			       pass ? "200 ms after the open" : "at the open");
		usleep(200 * 1000);
	}
}

/*
 * User A leaves state, engages runtime PM
 * (VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY) and closes the device without
 * LOW_POWER_EXIT.  The driver then skips its reset at close (MMIO to a
 * function out of D0 reads all ones); vfio-pci-core ends the low power
 * in vfio_pci_core_disable(), which the driver's close_device calls
 * after its own work.  The reset at open must still hand user B the
 * power-on edu, in RUNNING, and one that migrates: with the close's
 * reset skipped, it is the only one that clears A's state, and this is
 * the test that depends on it (reopen_finds_power_on_state passes on
 * the close's reset alone).  edu has no power management capability, so
 * its function stays in D0: no D3hot is tested, and a driver that reset
 * at close anyway would pass too.
 */
TEST_F(dev, low_power_close_reopen_finds_power_on_state)
{
	struct vfio_dev *d = &self->dev;
	struct edu_regs want, got, saved;
	struct vfio_buf s;
	char why[512];
	uint32_t v;
	int ret;

	/* user A */
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_LIVENESS, 0xdeadbeef));
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_IRQ_RAISE, 0x10000));
	ASSERT_EQ(0, vfio_dev_write32(d, BAR0, EDU_REG_STATUS,
				      EDU_STATUS_IRQFACT));
	ASSERT_EQ(0, edu_factorial(d, 9, &v));
	ASSERT_EQ(edu_factorial_of(9), v);
	ret = vfio_dev_feature(d, VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, NULL, 0);
	ASSERT_EQ(0, ret) TH_LOG("LOW_POWER_ENTRY: %s", strerror(-ret));
	vfio_dev_close(d);

	/* user B */
	ASSERT_EQ(0, vfio_dev_open(d, g_bdf)) TH_LOG("%s", d->err);
	expect_state(_metadata, d, ST(RUNNING));
	edu_power_on(&want);
	ASSERT_EQ(0, edu_read_regs(d, &got));
	EXPECT_EQ(0, edu_regs_diff(&want, &got, why, sizeof(why)))
		TH_LOG("after a close in low power: %s", why);
	vfio_buf_init(&s);
	save(_metadata, d, &s);
	ASSERT_EQ(0, qvp_check_edu_stream(s.data, s.len, &self->ids, &saved,
					  why, sizeof(why)))
		TH_LOG("the stream saved after the reopen: %s", why);
	EXPECT_EQ(0, edu_regs_diff(&want, &saved, why, sizeof(why)))
		TH_LOG("the stream saved after the reopen holds: %s", why);
	vfio_buf_free(&s);
	go(_metadata, d, ST(RUNNING), NULL);
}

/* BAR0's region info with room for @len bytes of capabilities. */
static struct vfio_region_info *bar0_info(struct __test_metadata *_metadata,
					  struct vfio_dev *dev, size_t len)
{
	struct vfio_region_info *info = calloc(1, sizeof(*info) + len);

	ASSERT_NE(NULL, info);
	info->argsz = sizeof(*info) + len;
	info->index = BAR0;
	ASSERT_EQ(0, ioctl(dev->device_fd, VFIO_DEVICE_GET_REGION_INFO, info))
		TH_LOG("GET_REGION_INFO BAR0: %s", strerror(errno));
	return info;
}

/*
 * The register page is trapped (trap.c) so that the driver sees every
 * DMA command: BAR0's region info offers the rest of the BAR for mmap in
 * a sparse mmap capability, asks for more room when there is none for
 * it, the page cannot be mapped, the device takes no ioeventfd (whose
 * writes would bypass the driver), and the registers work through the
 * device fd.  The rest of the BAR still maps.
 */
TEST_F(dev, register_page_trapped)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_device_ioeventfd ioe = {
		.argsz = sizeof(ioe),
		.flags = VFIO_DEVICE_IOEVENTFD_32,
	};
	long pg = sysconf(_SC_PAGESIZE);
	struct vfio_region_info *info;
	uint32_t need, v;
	void *map;
	int efd;

	info = bar0_info(_metadata, &self->dev, 0);
	ASSERT_TRUE(!!(info->flags & VFIO_REGION_INFO_FLAG_MMAP));
	ASSERT_TRUE(!!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		TH_LOG("BAR0 has no capability: its register page is not trapped");
	EXPECT_EQ(0U, info->cap_offset);
	need = info->argsz;
	ASSERT_GT(need, sizeof(*info));
	free(info);

	info = bar0_info(_metadata, &self->dev, need - sizeof(*info));
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	sparse = (void *)((char *)info + info->cap_offset);
	ASSERT_EQ(VFIO_REGION_INFO_CAP_SPARSE_MMAP, sparse->header.id);
	EXPECT_EQ(1, sparse->header.version);
	EXPECT_EQ(0U, sparse->header.next);
	ASSERT_EQ(1U, sparse->nr_areas);
	EXPECT_EQ((uint64_t)pg, sparse->areas[0].offset);
	EXPECT_EQ(info->size - pg, sparse->areas[0].size);

	map = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dev.device_fd, info->offset);
	EXPECT_EQ(MAP_FAILED, map) TH_LOG("the register page was mapped");
	EXPECT_EQ(EINVAL, errno);
	if (map != MAP_FAILED)
		munmap(map, pg);
	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dev.device_fd, info->offset);
	EXPECT_EQ(MAP_FAILED, map) TH_LOG("a map over the register page");
	EXPECT_EQ(EINVAL, errno);
	if (map != MAP_FAILED)
		munmap(map, 2 * pg);
	map = mmap(NULL, sparse->areas[0].size, PROT_READ | PROT_WRITE,
		   MAP_SHARED, self->dev.device_fd,
		   info->offset + sparse->areas[0].offset);
	EXPECT_NE(MAP_FAILED, map) TH_LOG("mmap of the sparse area: %s",
					  strerror(errno));
	if (map != MAP_FAILED)
		munmap(map, sparse->areas[0].size);

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ioe.fd = efd;
	ioe.offset = info->offset + EDU_REG_DMA_CMD;
	ioe.data = EDU_DMA_RUN;
	EXPECT_EQ(-1, ioctl(self->dev.device_fd, VFIO_DEVICE_IOEVENTFD, &ioe))
		TH_LOG("an ioeventfd on the DMA command register was taken");
	EXPECT_EQ(ENOTTY, errno);
	ioe.offset = info->offset + pg;
	ioe.data = 0;
	EXPECT_EQ(-1, ioctl(self->dev.device_fd, VFIO_DEVICE_IOEVENTFD, &ioe))
		TH_LOG("an ioeventfd past the page was taken");
	EXPECT_EQ(ENOTTY, errno);
	close(efd);

	/* Through the fd, the registers answer as edu does. */
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_ID, &v));
	EXPECT_EQ(0x010000edU, v);
	ASSERT_EQ(0, vfio_dev_write32(&self->dev, BAR0, EDU_REG_LIVENESS,
				      0x12345678));
	ASSERT_EQ(0, vfio_dev_read32(&self->dev, BAR0, EDU_REG_LIVENESS, &v));
	EXPECT_EQ(~0x12345678U, v);
	free(info);
}

/* Page faults this thread has taken so far, or -1. */
static long faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return -1;
	return ru.ru_minflt + ru.ru_majflt;
}

/*
 * Faults taken by one read of *@word; @settle: retry (up to 5 reads) while
 * the read takes some, to tell a mapped page from a fault elsewhere in
 * the window (the stack, reclaim).
 */
static long read_faults(struct __test_metadata *_metadata,
			volatile uint32_t *word, bool settle)
{
	long before, after, n;
	int i;

	for (i = 0; i < 5; i++) {
		before = faults();
		(void)*word;
		after = faults();
		ASSERT_NE(-1, before);
		ASSERT_NE(-1, after);
		n = after - before;
		if (!n || !settle)
			break;
	}
	return n;
}

/*
 * VFIO_DEVICE_RESET takes the user's BAR mappings away, as vfio-pci-core
 * does before a PCI reset (edu has none: the driver emulates it): the
 * first access through a mapping after the reset faults, and the fault
 * maps the page again, where the same access before the reset did not
 * fault.  Three resets, each must take the mapping.  A page of BAR0 past
 * the trapped register page is used.
 */
TEST_F(dev, reset_zaps_bar_mmaps)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct vfio_region_info *info;
	volatile uint32_t *word;
	void *map;
	long n;
	int i;

	info = bar0_info(_metadata, &self->dev, 0);
	ASSERT_LE((uint64_t)2 * pg, info->size);
	map = mmap(NULL, pg, PROT_READ, MAP_SHARED, self->dev.device_fd,
		   info->offset + pg);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap of BAR0's second page: %s",
					  strerror(errno));
	word = map;
	faults();			/* its own first use, outside a window */
	(void)*word;			/* maps the page */
	n = read_faults(_metadata, word, true);
	ASSERT_EQ(0, n) TH_LOG("every read of a mapped page took a fault (%ld): this count cannot show a zap",
			       n);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vfio_dev_reset(&self->dev));
		n = read_faults(_metadata, word, false);
		EXPECT_LE(1, n) TH_LOG("reset %d: the first read after VFIO_DEVICE_RESET took no fault: the reset left the BAR mapping in place",
				       i + 1);
		/* Mapped again, the page reads without a fault. */
		n = read_faults(_metadata, word, true);
		EXPECT_EQ(0, n) TH_LOG("reset %d: the page was not mapped again",
				       i + 1);
	}
	munmap(map, pg);
	free(info);
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, mig_precheck_edu);
}
