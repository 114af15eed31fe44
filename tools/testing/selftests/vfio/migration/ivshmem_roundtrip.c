// SPDX-License-Identifier: GPL-2.0
/*
 * Round trips of QEMU ivshmem-plain state (BAR2 shared memory and the
 * IntrMask/IntrStatus registers) through qemu-vfio-pci migration.
 *
 * The plain round trips, into the same device or a second one, are cases
 * of migration_roundtrip (the ivshmem plug-in, plugins/ivshmem.c).  Here:
 * the stream layout, a reset that restores the registers only (ivshmem
 * memory is shared and survives it), as the reset of a close and an open
 * does (one user's registers never reach the next), PRE_COPY with pages
 * dirtied between
 * passes (exact initial_bytes/dirty_bytes and a STOP_COPY that sends only
 * the 4 KiB pages that changed, consecutive ones in runs of up to 16),
 * streams cut into runs of any length, migration to a second ivshmem of
 * the same size (BDF2) piped 1 MiB at a time with exact lengths
 * (STOP_COPY alone or after PRE_COPY passes), and corrupted, truncated
 * and forged streams, which leave the target in ERROR until a reset, and
 * new initial data (VFIO_PRECOPY_INFO_REINIT) after a rewrite of a share
 * of BAR2 (ivshmem_reinit_pct), where the kernel has PRECOPY_INFOv2,
 * a PRE_COPY refused with ENOMEM, not an OOM kill, to a caller whose
 * memory cgroup cannot hold the session's digests, and memory decoding
 * that a resume keeps on while the user has it off, given back when the
 * session ends.
 * Tests that hold a whole stream skip when it would take more than half
 * of MemAvailable (a 1 GiB BAR2 in the test VM).
 *
 * Usage: ivshmem_roundtrip [harness options] BDF [BDF2]
 *        (or set VFIO_SELFTESTS_BDF; VFIO_SELFTESTS_BDF2 for a second one)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/pci_regs.h>

#include "mig_test.h"

#define CHUNK		((size_t)QVP_IVSHMEM_CHUNK)
#define PAGE		((size_t)QVP_IVSHMEM_PAGE)
#define RUN_PAGES	(CHUNK / PAGE)
#define CONFIG_REC	(QVP_REC_HDR_LEN + sizeof(struct qvp_ivshmem_config))
#define MEM_REC(len)	(QVP_REC_HDR_LEN + 16 + (len))	/* bulk: head, check */
#define REGS_REC	(QVP_REC_HDR_LEN + sizeof(struct qvp_ivshmem_regs))
#define END_REC		QVP_REC_HDR_LEN

/*
 * IntrMask & IntrStatus must stay 0: a set bit in both asserts INTx, which
 * nobody has requested here.
 */
#define MASK_A		0xffff0000U
#define STATUS_A	0x0000c0deU

static const char *g_bdf;

struct ivs {
	struct vfio_dev dev;
	uint8_t *mem;		/* BAR2 mmap */
	size_t size;
};

static void fill(struct ivs *d, uint64_t seed)
{
	uint64_t *p = (uint64_t *)d->mem;
	size_t i;

	for (i = 0; i < d->size / 8; i++)
		p[i] = mig_splitmix(seed + i);
}

/*
 * Change one byte in every @every-th chunk, from chunk @first; count.
 * Each change is in one page, and no two are in neighbouring pages.
 */
static size_t dirty(struct ivs *d, size_t first, size_t every, uint8_t v)
{
	size_t i, n = 0;

	for (i = first; i * CHUNK < d->size; i += every, n++)
		d->mem[i * CHUNK + (i * 97) % CHUNK] ^= v;
	return n;
}

/* Change one byte in each of @n consecutive pages from page @first. */
static void dirty_run(struct ivs *d, size_t first, size_t n, uint8_t v)
{
	size_t i;

	for (i = first; i < first + n; i++)
		d->mem[i * PAGE + (i * 61) % PAGE] ^= v;
}

/* Bytes of the MEM records that carry @n consecutive whole pages. */
static size_t run_recs(size_t n)
{
	return (n + RUN_PAGES - 1) / RUN_PAGES * MEM_REC(0) + n * PAGE;
}

static void open_ivs(struct __test_metadata *_metadata, struct ivs *d,
		     const char *bdf)
{
	struct vfio_pci_ids ids;
	void *addr;
	int ret;

	ret = vfio_dev_open(&d->dev, bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", d->dev.err);
	ASSERT_EQ(0, vfio_dev_pci_ids(&d->dev, &ids));
	if (ids.vendor != IVS_VENDOR || ids.device != IVS_DEVICE)
		SKIP(return, "%s is %04x:%04x, not an ivshmem", d->dev.bdf,
		     ids.vendor, ids.device);
	ASSERT_TRUE(!!(d->dev.info.flags & VFIO_DEVICE_FLAGS_RESET));
	ret = vfio_dev_region_mmap(&d->dev, IVS_BAR_MEM, &addr, &d->size);
	ASSERT_EQ(0, ret) TH_LOG("mmap BAR2: %s", strerror(-ret));
	d->mem = addr;
	ret = vfio_dev_reset(&d->dev);
	ASSERT_EQ(0, ret) TH_LOG("reset: %s", strerror(-ret));
}

static void close_ivs(struct ivs *d)
{
	if (d->mem)
		munmap(d->mem, d->size);
	d->mem = NULL;
	if (vfio_dev_is_open(&d->dev)) {
		vfio_dev_reset(&d->dev);
		vfio_dev_close(&d->dev);
	}
}

static void set_regs(struct __test_metadata *_metadata, struct ivs *d,
		     uint32_t mask, uint32_t status)
{
	ASSERT_EQ(0, vfio_dev_write32(&d->dev, IVS_BAR_REGS, IVS_REG_INTRMASK,
				      mask));
	ASSERT_EQ(0, vfio_dev_write32(&d->dev, IVS_BAR_REGS,
				      IVS_REG_INTRSTATUS, status));
}

/* Reading IntrStatus clears it: write it back. */
static void expect_regs(struct __test_metadata *_metadata, struct ivs *d,
			uint32_t mask, uint32_t status)
{
	uint32_t m, s;

	ASSERT_EQ(0, vfio_dev_read32(&d->dev, IVS_BAR_REGS, IVS_REG_INTRMASK,
				     &m));
	ASSERT_EQ(0, vfio_dev_read32(&d->dev, IVS_BAR_REGS, IVS_REG_INTRSTATUS,
				     &s));
	ASSERT_EQ(0, vfio_dev_write32(&d->dev, IVS_BAR_REGS,
				      IVS_REG_INTRSTATUS, s));
	ASSERT_EQ(mask, m) TH_LOG("IntrMask 0x%x, want 0x%x", m, mask);
	ASSERT_EQ(status, s) TH_LOG("IntrStatus 0x%x, want 0x%x", s, status);
}

static size_t nr_chunks(size_t size)
{
	return (size + CHUNK - 1) / CHUNK;
}

static size_t full_stream_len(size_t size)
{
	return QVP_HDR_LEN + CONFIG_REC + nr_chunks(size) * MEM_REC(0) + size +
	       REGS_REC + END_REC;
}


/* Read a PRE_COPY fd until ENOMSG, keeping nothing; the bytes read. */
static size_t drain(struct __test_metadata *_metadata, int fd)
{
	static uint8_t buf[1 << 20];
	size_t total = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == ENOMSG)
			return total;
		ASSERT_LT(0, n) TH_LOG("read after %zu bytes: %s", total,
				       n ? strerror(errno) : "end of stream");
		total += n;
	}
}

/* Read a data fd until @want (VFIO_MIG_READ_*), with no size bound. */
static void read_all(struct __test_metadata *_metadata, int fd,
		     struct vfio_buf *b, int want)
{
	int ret = vfio_mig_read(fd, b, 0);

	ASSERT_EQ(want, ret) TH_LOG("read: %s", ret < 0 ? strerror(-ret) :
				    ret ? "ENOMSG" : "end of stream");
}

static void save_all(struct __test_metadata *_metadata, struct ivs *d,
		     struct vfio_buf *b)
{
	int fd;

	go(_metadata, &d->dev, ST(STOP), NULL);
	go(_metadata, &d->dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	read_all(_metadata, fd, b, VFIO_MIG_READ_EOF);
	close(fd);
	go(_metadata, &d->dev, ST(STOP), NULL);
}

/*
 * An arc between the states of a live save session (PRE_COPY, PRE_COPY_P2P,
 * STOP_COPY): the session keeps its fd, so the arc must open none.
 */
static void go_in_session(struct __test_metadata *_metadata, struct ivs *d,
			  uint32_t to)
{
	int fd;

	go(_metadata, &d->dev, to, &fd);
	ASSERT_EQ(-1, fd) TH_LOG("-> %s inside a save session opened fd %d",
				 NAME(to), fd);
}

/* STOP -> RESUMING, write, RESUMING -> STOP; returns the errors seen. */
static void resume_raw(struct __test_metadata *_metadata, struct ivs *d,
		       const uint8_t *s, size_t len, int *write_err,
		       int *stop_err)
{
	int fd;

	go(_metadata, &d->dev, ST(STOP), NULL);
	go(_metadata, &d->dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	*write_err = -vfio_mig_write(fd, s, len, 1 << 20, NULL);
	*stop_err = -vfio_dev_mig_set_state(&d->dev, ST(STOP), NULL);
	close(fd);
}

static void resume_ok(struct __test_metadata *_metadata, struct ivs *d,
		      const uint8_t *s, size_t len)
{
	int werr, serr;

	resume_raw(_metadata, d, s, len, &werr, &serr);
	ASSERT_EQ(0, werr) TH_LOG("resume write: %s", strerror(werr));
	ASSERT_EQ(0, serr) TH_LOG("RESUMING -> STOP: %s", strerror(serr));
	go(_metadata, &d->dev, ST(RUNNING), NULL);
}

/*
 * Resume stream @s into @t and check that @t's memory sums to @sum.  When
 * @t is the source @a itself, @a's memory is first overwritten (seed
 * @seed) and the device reset, so that only the stream can bring it back.
 */
static void resume_check(struct __test_metadata *_metadata, struct ivs *a,
			 struct ivs *t, const struct vfio_buf *s, uint64_t sum,
			 uint64_t seed)
{
	if (t == a) {
		go(_metadata, &a->dev, ST(RUNNING), NULL);
		fill(a, seed);
		ASSERT_EQ(0, vfio_dev_reset(&a->dev));
	}
	resume_ok(_metadata, t, s->data, s->len);
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
}

/* The refused stream left ERROR; a reset brings back a working device. */
static void expect_error_then_reset(struct __test_metadata *_metadata,
				    struct ivs *d, int werr, int serr,
				    const char *what)
{
	TH_LOG("%s: write %s, RESUMING -> STOP %s", what,
	       werr ? strerror(werr) : "ok", serr ? strerror(serr) : "ok");
	ASSERT_EQ(EINVAL, serr) TH_LOG("%s: RESUMING -> STOP not refused",
				       what);
	expect_state(_metadata, &d->dev, ST(ERROR));
	ASSERT_EQ(-EINVAL, vfio_dev_mig_set_state(&d->dev, ST(RUNNING), NULL));
	ASSERT_EQ(0, vfio_dev_reset(&d->dev));
	expect_state(_metadata, &d->dev, ST(RUNNING));
	expect_regs(_metadata, d, 0, 0);
}

struct walk {
	size_t config, mem, regs, other;
	uint64_t mem_size;
	uint32_t mask, status;
	bool ordered;		/* CONFIG first, REGS after every MEM */
};

/*
 * Check every CRC and bulk check and the record sequence of a stream and
 * apply its MEM records to @image (if not NULL, @size bytes).  Returns
 * NULL or what is wrong.
 */
static const char *walk(const uint8_t *s, size_t len, struct walk *w,
			uint8_t *image, size_t size, bool need_end)
{
	size_t off = QVP_HDR_LEN;
	uint32_t rlen, type, flags;
	const uint8_t *pl;
	uint64_t moff = 0, check, seed;

	memset(w, 0, sizeof(*w));
	w->ordered = true;
	if (len < QVP_HDR_LEN ||
	    qvp_crc32(0, s, QVP_HDR_LEN - 4) != qvp_get32(s + QVP_HDR_LEN - 4))
		return "bad stream header";
	seed = qvp_stream_seed(s);
	while (off < len) {
		if (len - off < QVP_REC_HDR_LEN)
			return "truncated record header";
		type = s[off] | s[off + 1] << 8;
		flags = s[off + 2] | s[off + 3] << 8;
		rlen = qvp_get32(s + off + 4);
		if (len - off - QVP_REC_HDR_LEN < rlen)
			return "truncated record";
		pl = s + off + QVP_REC_HDR_LEN;
		if ((type == QVP_REC_IVSHMEM_MEM) != !!(flags & QVP_REC_F_BULK))
			return "MEM records, and only they, are bulk";
		if (flags & QVP_REC_F_BULK) {
			if (rlen < 24 || rlen % 8)
				return "bulk record of a bad length";
			if (qvp_crc32(qvp_crc32(0, s + off, 8), pl, 8) !=
			    qvp_get32(s + off + 8))
				return "bulk record CRC mismatch";
			memcpy(&check, pl + rlen - 8, 8);
			memcpy(&moff, pl, 8);
			if (le64toh(check) !=
			    qvp_bulk_check(seed, le64toh(moff), pl + 8,
					   rlen - 16))
				return "bulk record check mismatch";
		} else if (qvp_crc32(qvp_crc32(0, s + off, 8), pl, rlen) !=
			   qvp_get32(s + off + 8)) {
			return "record CRC mismatch";
		}
		off += QVP_REC_HDR_LEN + rlen;
		switch (type) {
		case QVP_REC_END:
			if (off != len)
				return "bytes after END";
			return NULL;
		case QVP_REC_IVSHMEM_CONFIG:
			if (w->config || w->mem || w->regs)
				w->ordered = false;
			w->config++;
			memcpy(&w->mem_size, pl, 8);
			break;
		case QVP_REC_IVSHMEM_MEM:
			if (w->regs)
				w->ordered = false;
			w->mem++;
			moff = le64toh(moff);
			rlen -= 16;	/* data only */
			if (image) {
				if (moff >= size || rlen > size - moff)
					return "MEM record out of bounds";
				if (moff % PAGE || rlen > CHUNK ||
				    (rlen % PAGE && moff + rlen != size))
					return "MEM record not a run of pages";
				memcpy(image + moff, pl + 8, rlen);
			}
			break;
		case QVP_REC_IVSHMEM_REGS:
			w->regs++;
			w->mask = qvp_get32(pl);
			w->status = qvp_get32(pl + 4);
			break;
		default:
			w->other++;
			break;
		}
	}
	return need_end ? "no END record" : NULL;
}

#define REINIT_PCT	"/sys/module/qemu_vfio_pci/parameters/ivshmem_reinit_pct"

/* Read or write the driver's ivshmem_reinit_pct; -errno on failure. */
static int reinit_pct(int set)
{
	FILE *f = fopen(REINIT_PCT, set < 0 ? "r" : "w");
	int v = set, ok;

	if (!f)
		return -errno;
	ok = set < 0 ? fscanf(f, "%d", &v) == 1 : fprintf(f, "%d\n", set) > 0;
	if (fclose(f) || !ok)
		return -EIO;
	return v;
}

FIXTURE(ivs) {
	struct ivs a;
	struct ivs b;		/* BDF2, if usable */
	bool have_b;
	bool fits;		/* a whole stream and an image fit in memory */
	struct vfio_buf s;
	uint8_t *image;
	int fd;			/* a data fd the teardown closes */
	int old_reinit_pct;	/* to restore, or -1 */
};

/* MemAvailable of /proc/meminfo in bytes, 0 if unknown. */
static size_t mem_available(void)
{
	static const char *const fields[] = { "MemAvailable", NULL };

	return mig_meminfo_kib(fields) << 10;
}

/*
 * Most tests hold a whole saved stream (and some an image of BAR2) in
 * memory.  On a BAR2 too large for that they skip, saying so, and
 * streamed_to_second_device, which holds 1 MiB at a time, covers it.
 */
#define NEEDS_WHOLE_STREAM()						\
	do {								\
		if (!self->fits)					\
			SKIP(return, "holds a %zu MiB stream and image in memory, more than half of MemAvailable (%zu MiB); streamed_to_second_device covers this size", \
			     self->a.size >> 20, mem_available() >> 20);	\
	} while (0)

FIXTURE_SETUP(ivs)
{
	const char *bdf2 = mig_bdf2;

	self->fd = -1;
	self->old_reinit_pct = -1;
	vfio_buf_init(&self->s);
	open_ivs(_metadata, &self->a, g_bdf);
	self->fits = 2 * full_stream_len(self->a.size) <= mem_available() / 2;
	self->image = malloc(self->a.size);
	ASSERT_NE(NULL, self->image);
	if (bdf2) {
		open_ivs(_metadata, &self->b, bdf2);
		self->have_b = self->b.size == self->a.size;
		if (!self->have_b)
			TH_LOG("%s has a %zu-byte BAR2, %s %zu: no cross-device test",
			       self->b.dev.bdf, self->b.size, self->a.dev.bdf,
			       self->a.size);
	}
}

FIXTURE_TEARDOWN(ivs)
{
	if (self->old_reinit_pct >= 0)
		reinit_pct(self->old_reinit_pct);
	close_fd(&self->fd);
	close_ivs(&self->a);
	close_ivs(&self->b);
	free(self->image);
	vfio_buf_free(&self->s);
}

/* The destination: the second device if there is one, else the first. */
static struct ivs *target(FIXTURE_DATA(ivs) *self)
{
	return self->have_b ? &self->b : &self->a;
}

TEST_F_TIMEOUT(ivs, stream_layout, 300)
{
	struct ivs *a = &self->a;
	uint64_t bytes;
	const char *why;
	struct walk w;

	NEEDS_WHOLE_STREAM();
	TH_LOG("%s: BAR2 %zu MiB", a->dev.bdf, a->size >> 20);
	fill(a, 1);
	set_regs(_metadata, a, MASK_A, STATUS_A);
	go(_metadata, &a->dev, ST(STOP), NULL);
	ASSERT_EQ(0, vfio_dev_mig_data_size(&a->dev, &bytes));
	ASSERT_EQ(full_stream_len(a->size), bytes);
	save_all(_metadata, a, &self->s);
	ASSERT_EQ(full_stream_len(a->size), self->s.len);

	memset(self->image, 0, a->size);
	why = walk(self->s.data, self->s.len, &w, self->image, a->size, true);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	ASSERT_TRUE(w.ordered);
	ASSERT_EQ(1U, w.config);
	ASSERT_EQ(a->size, w.mem_size);
	ASSERT_EQ(nr_chunks(a->size), w.mem);
	ASSERT_EQ(1U, w.regs);
	ASSERT_EQ(0U, w.other);
	ASSERT_EQ(MASK_A, w.mask);
	ASSERT_EQ(STATUS_A, w.status);
	ASSERT_EQ(0, memcmp(self->image, a->mem, a->size));
	/* saving did not clear IntrStatus */
	expect_regs(_metadata, a, MASK_A, STATUS_A);
}

/*
 * Reset restores the registers only; the shared memory stays.  It fills
 * and sums all of BAR2 (1 GiB on the largest), so it has the 300 s of its
 * siblings, a hang detector: the harness's default 30 s is not enough on
 * a debug kernel under TCG with another VM on the same cores.
 */
TEST_F_TIMEOUT(ivs, reset_keeps_memory, 300)
{
	struct ivs *a = &self->a;
	uint64_t sum;

	fill(a, 2);
	sum = mig_mem_checksum(a->mem, a->size);
	set_regs(_metadata, a, MASK_A, STATUS_A);
	ASSERT_EQ(0, vfio_dev_reset(&a->dev));
	expect_regs(_metadata, a, 0, 0);
	ASSERT_EQ(sum, mig_mem_checksum(a->mem, a->size));
}

/*
 * Decoding off as the user, STOP -> RESUMING, then the first half of
 * stream @s written in 32 KiB pieces (as QEMU writes them): the driver
 * must hold decoding on now.  Returns the data fd, also in *@self_fd;
 * *@hw0 the hardware's PCI_COMMAND before.
 */
static int begin_held(struct __test_metadata *_metadata, struct ivs *t,
		      const struct vfio_buf *s, uint16_t user, uint16_t *hw0,
		      int *self_fd)
{
	uint16_t hw, seen;
	int fd;

	ASSERT_EQ(0, mig_set_user_pci_command(&t->dev,
					      user & ~PCI_COMMAND_MEMORY));
	ASSERT_EQ(0, mig_hw_pci_command(t->dev.bdf, hw0));
	ASSERT_EQ(0, *hw0 & PCI_COMMAND_MEMORY);
	go(_metadata, &t->dev, ST(STOP), NULL);
	go(_metadata, &t->dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	*self_fd = fd;
	ASSERT_EQ(0, -vfio_mig_write(fd, s->data, s->len / 2, 32 << 10, NULL));
	ASSERT_EQ(0, mig_hw_pci_command(t->dev.bdf, &hw));
	EXPECT_EQ(PCI_COMMAND_MEMORY, hw & PCI_COMMAND_MEMORY)
		TH_LOG("decoding is not held on in RESUMING (PCI_COMMAND 0x%04x)",
		       hw);
	/* Not uAPI, so not checked: today vfio shows the hardware's bit. */
	ASSERT_EQ(0, mig_user_pci_command(&t->dev, &seen));
	TH_LOG("held: PCI_COMMAND 0x%04x in hardware, 0x%04x in the user's config read",
	       hw, seen);
	return fd;
}

static void expect_hw_cmd(struct __test_metadata *_metadata, struct ivs *t,
			  uint16_t want, const char *after)
{
	uint16_t hw;

	ASSERT_EQ(0, mig_hw_pci_command(t->dev.bdf, &hw));
	EXPECT_EQ(want, hw) TH_LOG("after %s: PCI_COMMAND 0x%04x, want 0x%04x",
				   after, hw, want);
}

/*
 * QEMU's destination keeps memory decoding off while it loads a device (it
 * restores the config space after the device data) and writes the stream
 * in pieces.  The driver turns decoding on at the first store of memory
 * data and keeps it on for the rest of the session, rather than turning
 * it on and off around each piece (each a remap of the BARs under a
 * hypervisor), and gives the user's setting back when the session ends:
 * off, and nothing else of PCI_COMMAND changed; or on, when the user
 * turned it on meanwhile (QEMU's config restore comes in RESUMING).
 */
TEST_F_TIMEOUT(ivs, resume_gives_decoding_back, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	uint16_t user, hw0, hw_mid;
	size_t half;
	uint64_t sum;
	int round, fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 11);
	sum = mig_mem_checksum(a->mem, a->size);
	save_all(_metadata, a, &self->s);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	if (t == a)
		fill(a, 12);
	half = self->s.len / 2;
	ASSERT_EQ(0, mig_user_pci_command(&t->dev, &user));

	for (round = 0; round < 2; round++) {
		fd = begin_held(_metadata, t, &self->s, user, &hw0, &self->fd);
		if (round == 1)
			ASSERT_EQ(0, mig_set_user_pci_command(&t->dev, user |
							      PCI_COMMAND_MEMORY));
		ASSERT_EQ(0, -vfio_mig_write(fd, self->s.data + half,
					     self->s.len - half, 32 << 10,
					     NULL));
		ASSERT_EQ(0, mig_hw_pci_command(t->dev.bdf, &hw_mid));
		ASSERT_EQ(0, vfio_dev_mig_set_state(&t->dev, ST(STOP), NULL));
		expect_hw_cmd(_metadata, t, round ? hw_mid : hw0,
			      round ? "RESUMING -> STOP, the user having turned decoding on" :
			      "RESUMING -> STOP");
		close_fd(&self->fd);
		go(_metadata, &t->dev, ST(RUNNING), NULL);
	}
	ASSERT_EQ(0, mig_set_user_pci_command(&t->dev, user));
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
}

/*
 * Every other way a resume ends gives decoding back too: a refused stream
 * (the write fails, RESUMING -> STOP fails into ERROR), the data fd
 * closed while still RESUMING (a QEMU that gave up on a load), and
 * VFIO_DEVICE_RESET.
 */
TEST_F_TIMEOUT(ivs, resume_gives_decoding_back_on_failure, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	uint16_t user, hw0;
	size_t half;
	int fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 13);
	save_all(_metadata, a, &self->s);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	ASSERT_EQ(0, mig_user_pci_command(&t->dev, &user));

	/*
	 * Refused: the rest of the stream with one byte flipped, which
	 * some record's check catches (CRC or bulk check, wherever it is).
	 */
	fd = begin_held(_metadata, t, &self->s, user, &hw0, &self->fd);
	half = self->s.len / 2;
	self->s.data[half + (self->s.len - half) / 2] ^= 0x5a;
	EXPECT_NE(0, vfio_mig_write(fd, self->s.data + half,
				    self->s.len - half, 32 << 10, NULL));
	self->s.data[half + (self->s.len - half) / 2] ^= 0x5a;
	EXPECT_NE(0, vfio_dev_mig_set_state(&t->dev, ST(STOP), NULL));
	expect_state(_metadata, &t->dev, ST(ERROR));
	expect_hw_cmd(_metadata, t, hw0, "a refused stream");
	close_fd(&self->fd);
	ASSERT_EQ(0, vfio_dev_reset(&t->dev));

	/* the data fd closed in RESUMING */
	begin_held(_metadata, t, &self->s, user, &hw0, &self->fd);
	close_fd(&self->fd);
	expect_hw_cmd(_metadata, t, hw0, "closing the data fd in RESUMING");
	ASSERT_EQ(0, vfio_dev_reset(&t->dev));

	/* a reset in RESUMING (ivshmem's is the driver's own, synchronous) */
	begin_held(_metadata, t, &self->s, user, &hw0, &self->fd);
	ASSERT_EQ(0, vfio_dev_reset(&t->dev));
	expect_hw_cmd(_metadata, t, hw0, "VFIO_DEVICE_RESET in RESUMING");
	close_fd(&self->fd);
	ASSERT_EQ(0, mig_set_user_pci_command(&t->dev, user));
}

/*
 * User A sets the registers and writes the memory, and closes the device;
 * user B opens it and finds the registers at their power-on values (0),
 * since the driver resets the device when it is closed and opened, and the
 * memory as A left it: it is shared memory, not device state, and QEMU's
 * own reset keeps it too (the driver page says why).
 */
TEST_F_TIMEOUT(ivs, reopen_resets_registers_keeps_memory, 300)
{
	struct ivs *a = &self->a;
	size_t i, at[3] = { 0, a->size / 2, a->size - CHUNK };
	uint64_t sum[3];
	void *addr;
	int ret;

	/* A chunk at the start, the middle and the end: a 1 GiB BAR2 is slow */
	for (i = 0; i < 3; i++) {
		memset(a->mem + at[i], 0x5a + i, CHUNK);
		a->mem[at[i] + i] ^= 0xff;
		sum[i] = mig_mem_checksum(a->mem + at[i], CHUNK);
	}
	set_regs(_metadata, a, MASK_A, STATUS_A);
	munmap(a->mem, a->size);
	a->mem = NULL;
	vfio_dev_close(&a->dev);

	ret = vfio_dev_open(&a->dev, g_bdf);
	ASSERT_EQ(0, ret) TH_LOG("%s", a->dev.err);
	expect_regs(_metadata, a, 0, 0);
	ret = vfio_dev_region_mmap(&a->dev, IVS_BAR_MEM, &addr, &a->size);
	ASSERT_EQ(0, ret) TH_LOG("mmap BAR2: %s", strerror(-ret));
	a->mem = addr;
	for (i = 0; i < 3; i++) {
		size_t off = at[i];
		uint64_t want = sum[i];

		ASSERT_EQ(want, mig_mem_checksum(a->mem + off, CHUNK))
			TH_LOG("the shared memory at 0x%zx changed across the close and open",
			       off);
	}
}

/*
 * Pipe a save fd into a resume fd 1 MiB at a time, as QEMU does over a
 * migration channel, until the end of the stream or, in PRE_COPY, until
 * nothing is left for now (ENOMSG).  *@moved gets the bytes moved.
 */
static void pipe_stream(struct __test_metadata *_metadata, int sfd, int rfd,
			size_t *moved)
{
	const size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);
	ssize_t n;
	int ret;

	ASSERT_NE(NULL, buf);
	*moved = 0;
	for (;;) {
		n = read(sfd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOMSG)
			break;
		ASSERT_LE(0, n) TH_LOG("read after %zu bytes: %s", *moved,
				       strerror(errno));
		if (!n)
			break;
		ret = vfio_mig_write(rfd, buf, n, 0, NULL);
		ASSERT_EQ(0, ret) TH_LOG("write after %zu bytes: %s", *moved,
					 strerror(-ret));
		*moved += n;
	}
	free(buf);
}

/*
 * Fill both memories differently (from @seed), set @a's registers and
 * open @b's resume fd, returned in *@rfd.
 */
static void begin_piped(struct __test_metadata *_metadata, struct ivs *a,
			struct ivs *b, uint64_t seed, int *rfd)
{
	TH_LOG("%s -> %s, %zu MiB", a->dev.bdf, b->dev.bdf, a->size >> 20);
	fill(a, seed);
	fill(b, seed + 1);
	set_regs(_metadata, a, MASK_A, STATUS_A);
	go(_metadata, &b->dev, ST(STOP), NULL);
	go(_metadata, &b->dev, ST(RESUMING), rfd);
}

/* RESUMING -> STOP -> RUNNING of the target, which must hold @sum. */
static void finish_piped(struct __test_metadata *_metadata, struct ivs *a,
			 struct ivs *b, int rfd, uint64_t sum)
{
	int ret = vfio_dev_mig_set_state(&b->dev, ST(STOP), NULL);

	ASSERT_EQ(0, ret) TH_LOG("RESUMING -> STOP: %s", strerror(-ret));
	close(rfd);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	go(_metadata, &b->dev, ST(RUNNING), NULL);
	ASSERT_EQ(sum, mig_mem_checksum(b->mem, b->size));
	expect_regs(_metadata, b, MASK_A, STATUS_A);
}

/*
 * STOP_COPY piped into RESUMING of the second device.  With the next
 * test, the ones here that hold no whole stream, so they also run where
 * BAR2 is too large for the others.
 */
TEST_F_TIMEOUT(ivs, streamed_to_second_device, 600)
{
	struct ivs *a = &self->a, *b = &self->b;
	size_t moved;
	int sfd, rfd;
	uint64_t sum;

	if (!self->have_b)
		SKIP(return, "no second ivshmem of the same size (BDF2)");
	begin_piped(_metadata, a, b, 16, &rfd);
	sum = mig_mem_checksum(a->mem, a->size);
	go(_metadata, &a->dev, ST(STOP), NULL);
	go(_metadata, &a->dev, ST(STOP_COPY), &sfd);
	pipe_stream(_metadata, sfd, rfd, &moved);
	close(sfd);
	ASSERT_EQ(full_stream_len(a->size), moved);
	finish_piped(_metadata, a, b, rfd, sum);
}

/*
 * The same with PRE_COPY: the first pass (the whole memory) and a dirty
 * pass go to the target while the source runs, then STOP_COPY on the
 * same fd sends what changed after that; the target ends up with the
 * memory of the stop.  The pages dirtied are whole chunks apart, so
 * every dirty page is a record of its own.
 */
TEST_F_TIMEOUT(ivs, streamed_precopy_to_second_device, 600)
{
	struct ivs *a = &self->a, *b = &self->b;
	struct vfio_precopy_info info;
	int sfd, rfd;
	size_t moved, n;
	uint64_t sum;

	if (!self->have_b)
		SKIP(return, "no second ivshmem of the same size (BDF2)");
	begin_piped(_metadata, a, b, 18, &rfd);
	go(_metadata, &a->dev, ST(PRE_COPY), &sfd);
	pipe_stream(_metadata, sfd, rfd, &moved);
	ASSERT_EQ(full_stream_len(a->size) - REGS_REC - END_REC, moved);

	/*
	 * QEMU asks before each pass; the driver looks for changes then,
	 * unless its last look (the read() that got ENOMSG) is too recent.
	 */
	mig_precopy_scan_wait();
	n = dirty(a, 3, 7, 0x3c);
	ASSERT_EQ(0, vfio_mig_precopy_info(sfd, &info));
	ASSERT_EQ(n * MEM_REC(PAGE), info.dirty_bytes);
	pipe_stream(_metadata, sfd, rfd, &moved);
	ASSERT_EQ(n * MEM_REC(PAGE), moved);

	n = dirty(a, 4, 5, 0xc3);
	sum = mig_mem_checksum(a->mem, a->size);
	go_in_session(_metadata, a, ST(PRE_COPY_P2P));
	go_in_session(_metadata, a, ST(STOP_COPY));
	pipe_stream(_metadata, sfd, rfd, &moved);
	close(sfd);
	ASSERT_EQ(n * MEM_REC(PAGE) + REGS_REC + END_REC, moved);
	finish_piped(_metadata, a, b, rfd, sum);
}

/*
 * PRE_COPY while the memory changes: the first pass is the whole memory
 * (initial_bytes), then exactly the pages dirtied since (dirty_bytes), and
 * STOP_COPY sends only the pages dirtied after the last pass.  Scattered
 * pages go one per record, consecutive ones in runs of up to 16 pages.
 * The runs need a memory of 1 MiB or more (chunks 7 to 9).
 */
TEST_F_TIMEOUT(ivs, precopy_dirty_passes, 600)
{
	struct ivs *a = &self->a, *t = target(self);
	struct vfio_precopy_info info;
	size_t n, len0, len1, nchunks = nr_chunks(a->size);
	size_t page_len = a->size < PAGE ? a->size : PAGE;
	bool runs = a->size >= (1 << 20);
	size_t run_bytes;
	const char *why;
	struct walk w;
	uint64_t sum;
	int fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 7);
	set_regs(_metadata, a, MASK_A, STATUS_A);
	go(_metadata, &a->dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(QVP_HDR_LEN + CONFIG_REC + nchunks * MEM_REC(0) + a->size,
		  info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);

	/* first pass, while the memory changes under it */
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_NODATA);
	ASSERT_EQ(info.initial_bytes, self->s.len);
	mig_precopy_scan_wait();
	n = dirty(a, 0, 16, 0x5a);
	run_bytes = 0;
	if (runs) {
		/* pages 131..150 of chunks 8 and 9: 16 + 4 pages */
		dirty_run(a, 8 * RUN_PAGES + 3, 20, 0x5a);
		run_bytes = MEM_REC(16 * PAGE) + MEM_REC(4 * PAGE);
		ASSERT_EQ(run_recs(20), run_bytes);
	}

	/* second pass: exactly the dirtied pages */
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	ASSERT_EQ(n * MEM_REC(page_len) + run_bytes, info.dirty_bytes)
		TH_LOG("%zu single pages dirtied, runs %s", n,
		       runs ? "too" : "not");
	len0 = self->s.len;
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_NODATA);
	ASSERT_EQ(info.dirty_bytes, self->s.len - len0);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.dirty_bytes);

	/* nothing changed: nothing to send */
	ASSERT_EQ(-1, read(fd, &w, 1));
	ASSERT_EQ(ENOMSG, errno);

	/* STOP_COPY: the pages dirtied after the last pass, and registers */
	n = dirty(a, 5, 32, 0xa5);
	run_bytes = 0;
	if (runs) {
		/* pages 127..143, some sent in the second pass: 16 + 1 */
		dirty_run(a, 7 * RUN_PAGES + 15, 17, 0xa5);
		run_bytes = MEM_REC(16 * PAGE) + MEM_REC(PAGE);
	}
	go_in_session(_metadata, a, ST(PRE_COPY_P2P));
	go_in_session(_metadata, a, ST(STOP_COPY));
	len1 = self->s.len;
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_EOF);
	close(fd);
	TH_LOG("STOP_COPY sent %zu bytes of a %zu-byte state (%zu single pages dirty)",
	       self->s.len - len1, a->size, n);
	ASSERT_EQ(n * MEM_REC(page_len) + run_bytes + REGS_REC + END_REC,
		  self->s.len - len1);
	sum = mig_mem_checksum(a->mem, a->size);
	go(_metadata, &a->dev, ST(STOP), NULL);

	memset(self->image, 0, a->size);
	why = walk(self->s.data, self->s.len, &w, self->image, a->size, true);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	ASSERT_TRUE(w.ordered);
	ASSERT_EQ(sum, mig_mem_checksum(self->image, a->size));

	resume_check(_metadata, a, t, &self->s, sum, 8);
	expect_regs(_metadata, t, MASK_A, STATUS_A);
}

/*
 * dirty_bytes asked for while the reader is inside a record: the rest of
 * that record, and nothing for its page, whose new content it carries.
 */
TEST_F_TIMEOUT(ivs, precopy_info_inside_record, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	size_t page_len = a->size < PAGE ? a->size : PAGE;
	size_t rec = MEM_REC(page_len), part = QVP_REC_HDR_LEN + 8 + 100;
	struct vfio_precopy_info info;
	uint8_t buf[QVP_REC_HDR_LEN + 8 + 100];
	uint64_t sum;
	int fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 15);
	go(_metadata, &a->dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_NODATA);
	mig_precopy_scan_wait();
	a->mem[100] ^= 0x3c;		/* page 0 only */
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(rec, info.dirty_bytes);

	ASSERT_EQ((ssize_t)part, read(fd, buf, part));
	ASSERT_EQ(0, vfio_buf_append(&self->s, buf, part));
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(rec - part, info.dirty_bytes)
		TH_LOG("the page in flight was counted again");
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_NODATA);
	ASSERT_EQ(0, vfio_mig_precopy_info(fd, &info));
	ASSERT_EQ(0ULL, info.dirty_bytes);

	go_in_session(_metadata, a, ST(PRE_COPY_P2P));
	go_in_session(_metadata, a, ST(STOP_COPY));
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_EOF);
	close(fd);
	sum = mig_mem_checksum(a->mem, a->size);
	go(_metadata, &a->dev, ST(STOP), NULL);
	resume_check(_metadata, a, t, &self->s, sum, 16);
}

/*
 * A buffer that ends in a page no access may touch, 4 bytes into the word
 * being copied: read() and write() take the 4 bytes before it and then
 * fail with EFAULT, and the stream goes on from there in the next call.
 * (Copies run with page faults disabled; a word that straddles into such
 * a page must neither hang the call nor be lost.)
 */
TEST_F_TIMEOUT(ivs, buffer_ends_in_guard_page, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	size_t pg = sysconf(_SC_PAGESIZE), len;
	const size_t head = QVP_HDR_LEN + CONFIG_REC + QVP_REC_HDR_LEN + 8 + 100;
	uint8_t first[QVP_HDR_LEN + CONFIG_REC + QVP_REC_HDR_LEN + 8 + 100];
	uint8_t *map, *edge, *s;
	ssize_t n;
	uint64_t sum;
	int fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 17);
	sum = mig_mem_checksum(a->mem, a->size);
	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));
	edge = map + pg - 4;

	/* save: stop 100 bytes into the first MEM record's data */
	go(_metadata, &a->dev, ST(STOP), NULL);
	go(_metadata, &a->dev, ST(STOP_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)head, read(fd, first, head));
	ASSERT_EQ(0, vfio_buf_append(&self->s, first, head));
	/* at most the 4 bytes before the guard page, however copied */
	n = read(fd, edge, 4096);
	ASSERT_TRUE(n >= 1 && n <= 4)
		TH_LOG("read into a guarded buffer: %zd (%s)", n,
		       n < 0 ? strerror(errno) : "bytes");
	ASSERT_EQ(0, vfio_buf_append(&self->s, edge, n));
	if (n == 4) {
		ASSERT_EQ(-1, read(fd, edge + n, 4096));
		ASSERT_EQ(EFAULT, errno);
	}
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_EOF);
	close(fd);
	go(_metadata, &a->dev, ST(RUNNING), NULL);

	/* resume: the same, from a buffer whose last 4 bytes are readable */
	s = self->s.data;
	len = self->s.len;
	if (t == a) {
		fill(a, 18);
		ASSERT_EQ(0, vfio_dev_reset(&a->dev));
	}
	go(_metadata, &t->dev, ST(STOP), NULL);
	go(_metadata, &t->dev, ST(RESUMING), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)head, write(fd, s, head));
	memcpy(edge, s + head, 4);
	n = write(fd, edge, 4096);
	ASSERT_TRUE(n >= 1 && n <= 4)
		TH_LOG("write from a guarded buffer: %zd (%s)", n,
		       n < 0 ? strerror(errno) : "bytes");
	if (n == 4) {
		ASSERT_EQ(-1, write(fd, edge + n, 4096));
		ASSERT_EQ(EFAULT, errno);
	}
	ASSERT_EQ(0, vfio_mig_write(fd, s + head + n, len - head - n, 1 << 20,
				    NULL));
	ASSERT_EQ(0, vfio_dev_mig_set_state(&t->dev, ST(STOP), NULL));
	close(fd);
	munmap(map, 2 * pg);
	go(_metadata, &t->dev, ST(RUNNING), NULL);
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
}

/*
 * initial_bytes falls with every byte read, whatever the framing, and
 * nothing is dirty while nothing was written: read in odd pieces through
 * the header, the CONFIG record and 100 bytes into the first MEM record.
 */
TEST_F_TIMEOUT(ivs, precopy_initial_byte_for_byte, 300)
{
	static const size_t pieces[] = { 1, 7, 24, 3, 14, 3, 8, 1, 19, 100 };
	struct ivs *a = &self->a;
	struct vfio_precopy_info info;
	uint64_t initial;
	size_t i, total = 0;
	uint8_t buf[128];

	fill(a, 19);
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
	initial = info.initial_bytes;
	ASSERT_EQ(full_stream_len(a->size) - REGS_REC - END_REC, initial);
	ASSERT_EQ(0ULL, info.dirty_bytes);
	for (i = 0; i < ARRAY_SIZE(pieces); i++) {
		ASSERT_EQ((ssize_t)pieces[i], read(self->fd, buf, pieces[i]));
		total += pieces[i];
		ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
		ASSERT_EQ(initial - total, info.initial_bytes)
			TH_LOG("after %zu bytes", total);
		ASSERT_EQ(0ULL, info.dirty_bytes)
			TH_LOG("after %zu bytes, nothing written", total);
	}
	/* the header, CONFIG, then 100 bytes into the first MEM record */
	ASSERT_EQ(QVP_HDR_LEN + CONFIG_REC + QVP_REC_HDR_LEN + 8 + 100, total);
	ASSERT_EQ(initial - total, drain(_metadata, self->fd));
	ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);
}

/*
 * A page written after the first pass: read() finds it itself (it does
 * not return ENOMSG while there is something to send), and
 * VFIO_MIG_GET_PRECOPY_INFO and read() agree on what is left, both ways.
 */
TEST_F_TIMEOUT(ivs, precopy_read_finds_changes, 600)
{
	struct ivs *a = &self->a;
	size_t page_len = a->size < PAGE ? a->size : PAGE;
	struct vfio_precopy_info info;
	uint8_t buf[2 * PAGE];
	ssize_t n;
	int tries;

	fill(a, 20);
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	drain(_metadata, self->fd);

	/*
	 * read() first: it must look for the change itself.  Scans that
	 * read() starts are rate-limited (precopy_scan_ms, and four times
	 * the last scan's length), so it may answer -ENOMSG a while: keep
	 * reading, as QEMU does, for up to 30 s.
	 */
	mig_precopy_scan_wait();
	a->mem[5] ^= 0x42;		/* page 0 */
	for (tries = 0; tries < 600; tries++) {
		n = read(self->fd, buf, sizeof(buf));
		if (n >= 0 || errno != ENOMSG)
			break;
		usleep(50 * 1000);
	}
	ASSERT_EQ((ssize_t)MEM_REC(page_len), n)
		TH_LOG("read() after a page was written, %d reads: %s",
		       tries + 1, n < 0 ? strerror(errno) : "a short record");
	ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	ASSERT_EQ(0ULL, info.dirty_bytes);
	/* 0/0: the temporary end of stream */
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(ENOMSG, errno);

	/* the ioctl first: read() gives exactly what it announced */
	if (a->size < 3 * PAGE)
		return;
	mig_precopy_scan_wait();
	a->mem[PAGE + 7] ^= 0x42;	/* pages 1 and 2: one run */
	a->mem[2 * PAGE + 9] ^= 0x42;
	ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
	ASSERT_EQ(0ULL, info.initial_bytes);
	ASSERT_EQ(MEM_REC(2 * PAGE), info.dirty_bytes);
	ASSERT_EQ(info.dirty_bytes, drain(_metadata, self->fd));
	ASSERT_EQ(0, vfio_mig_precopy_info(self->fd, &info));
	ASSERT_EQ(0ULL, info.dirty_bytes);
}

/* VFIO_MIG_GET_PRECOPY_INFO, checked: flags, initial_bytes, dirty_bytes. */
static void expect_info(struct __test_metadata *_metadata, int fd,
			uint32_t flags, uint64_t initial, uint64_t dirty,
			const char *when)
{
	struct vfio_precopy_info info;
	int ret = vfio_mig_precopy_info(fd, &info);

	ASSERT_EQ(0, ret) TH_LOG("%s: PRECOPY_INFO: %s", when, strerror(-ret));
	ASSERT_EQ(flags, info.flags) TH_LOG("%s: flags", when);
	ASSERT_EQ(initial, info.initial_bytes) TH_LOG("%s: initial_bytes", when);
	ASSERT_EQ(dirty, info.dirty_bytes) TH_LOG("%s: dirty_bytes", when);
}

/* Write @n consecutive pages from page 0, then read() until it gives data. */
static size_t rewrite_read_first(struct __test_metadata *_metadata,
				 struct ivs *d, int fd, struct vfio_buf *s,
				 size_t n, uint8_t v)
{
	size_t len0 = s->len;
	int tries, ret;

	mig_precopy_scan_wait();
	dirty_run(d, 0, n, v);
	/* read()'s scans are rate-limited too: retry as QEMU does */
	for (tries = 0; tries < 600; tries++) {
		ret = vfio_mig_read(fd, s, 0);
		if (ret != VFIO_MIG_READ_NODATA || s->len != len0)
			break;
		usleep(50 * 1000);
	}
	ASSERT_EQ(VFIO_MIG_READ_NODATA, ret) TH_LOG("read: %s",
		ret < 0 ? strerror(-ret) : "end of stream");
	ASSERT_NE(len0, s->len) TH_LOG("read() found no rewrite in 30 s");
	return s->len - len0;
}

#define SHARE_PCT	10

/*
 * New initial data (ivshmem.c, "PRE_COPY"), with ivshmem_reinit_pct at
 * SHARE_PCT: a rewrite of that share of BAR2 (the "share", a tenth: the
 * test moves less than a whole BAR2 per case) is dirty data like any
 * other change until userspace opts in to
 * VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2.  After the opt-in: one page less than the share is dirty; the share found by read()
 * first is dirty (only the ioctl's scan may start initial data, so that
 * its answer reports it); found by the ioctl in PRE_COPY_P2P it is dirty
 * (too late); found by the ioctl in PRE_COPY it is new initial data, with
 * VFIO_PRECOPY_INFO_REINIT in that answer only, initial_bytes exactly the
 * records of those pages and falling as they are read, dirty_bytes 0;
 * the share again in the same session is dirty (once per session).  The
 * stream then resumes to the memory as it was at STOP_COPY.
 */
TEST_F_TIMEOUT(ivs, precopy_rewrite_reinit, 600)
{
	struct ivs *a = &self->a, *t = target(self);
	size_t npages = a->size / PAGE;
	size_t share = (npages * SHARE_PCT + 99) / 100;
	uint8_t buf[100];
	uint64_t sum;
	size_t len0;
	int ret;

	NEEDS_WHOLE_STREAM();
	if (a->size % PAGE || share < RUN_PAGES)
		SKIP(return, "BAR2 of %zu bytes: the driver starts new initial data only on a rewrite of at least %zu whole pages",
		     a->size, RUN_PAGES);
	ret = vfio_dev_precopy_info_v2(&a->dev, true);
	if (ret == -ENOTTY)
		SKIP(return, "no VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 (%s): the kernel predates it",
		     strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("probe of the opt-in: %s", strerror(-ret));
	self->old_reinit_pct = reinit_pct(-1);
	ASSERT_LE(0, self->old_reinit_pct) TH_LOG("%s: %s", REINIT_PCT,
		strerror(-self->old_reinit_pct));
	ASSERT_EQ(SHARE_PCT, reinit_pct(SHARE_PCT));
	fill(a, 22);

	/* without the opt-in: dirty data */
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	drain(_metadata, self->fd);
	mig_precopy_scan_wait();
	dirty_run(a, 0, share, 0x5a);
	expect_info(_metadata, self->fd, 0, 0, run_recs(share),
		    "the share rewritten, no opt-in");
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	close_fd(&self->fd);

	ret = vfio_dev_precopy_info_v2(&a->dev, false);
	ASSERT_EQ(0, ret) TH_LOG("opt in: %s", strerror(-ret));
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_NODATA);
	expect_info(_metadata, self->fd, 0, 0, 0, "first pass read");

	/* a page less than the share: dirty */
	mig_precopy_scan_wait();
	dirty_run(a, 0, share - 1, 0xa5);
	expect_info(_metadata, self->fd, 0, 0, run_recs(share - 1),
		    "the share but a page rewritten");
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_NODATA);

	/* the share, found by read(): dirty, and no REINIT after it */
	ASSERT_EQ(run_recs(share), rewrite_read_first(_metadata, a, self->fd,
						      &self->s, share, 0x3c));
	expect_info(_metadata, self->fd, 0, 0, 0, "read() took a rewrite");

	/* found by the ioctl in PRE_COPY_P2P: dirty, too late for more */
	go_in_session(_metadata, a, ST(PRE_COPY_P2P));
	mig_precopy_scan_wait();
	dirty_run(a, 0, share, 0x69);
	expect_info(_metadata, self->fd, 0, 0, run_recs(share),
		    "the share rewritten in PRE_COPY_P2P");
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_NODATA);
	go_in_session(_metadata, a, ST(PRE_COPY));

	/* found by the ioctl: new initial data, reported once */
	mig_precopy_scan_wait();
	dirty_run(a, 0, share, 0xc3);
	expect_info(_metadata, self->fd, VFIO_PRECOPY_INFO_REINIT,
		    run_recs(share), 0, "the share rewritten, opted in");
	expect_info(_metadata, self->fd, 0, run_recs(share), 0,
		    "asked again");
	ASSERT_EQ((ssize_t)sizeof(buf), read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, vfio_buf_append(&self->s, buf, sizeof(buf)));
	expect_info(_metadata, self->fd, 0, run_recs(share) - sizeof(buf), 0,
		    "100 bytes of it read");
	len0 = self->s.len;
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_NODATA);
	ASSERT_EQ(run_recs(share) - sizeof(buf), self->s.len - len0);
	expect_info(_metadata, self->fd, 0, 0, 0, "new initial data read");

	/* again: once per session, so dirty */
	mig_precopy_scan_wait();
	dirty_run(a, 0, share, 0x99);
	expect_info(_metadata, self->fd, 0, 0, run_recs(share),
		    "the share rewritten a second time");
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_NODATA);

	go_in_session(_metadata, a, ST(PRE_COPY_P2P));
	go_in_session(_metadata, a, ST(STOP_COPY));
	read_all(_metadata, self->fd, &self->s, VFIO_MIG_READ_EOF);
	close_fd(&self->fd);
	sum = mig_mem_checksum(a->mem, a->size);
	go(_metadata, &a->dev, ST(STOP), NULL);
	resume_check(_metadata, a, t, &self->s, sum, 23);
}

struct late_write {
	struct ivs *d;
	unsigned int delay_ms;
};

static void *write_late(void *arg)
{
	struct late_write *w = arg;

	usleep(w->delay_ms * 1000);
	w->d->mem[3 * 61] ^= 0x24;	/* page 0 */
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * poll() on a PRE_COPY fd with nothing pending sleeps; the driver scans
 * for it (at most once per precopy_scan_ms) and wakes it when a scan
 * finds a change: here a page written while it sleeps (poll() times out
 * after 60 s and must be woken well before).  read() then gives that
 * page.
 */
TEST_F_TIMEOUT(ivs, precopy_poll_wakes, 300)
{
	struct ivs *a = &self->a;
	size_t page_len = a->size < PAGE ? a->size : PAGE;
	struct late_write w = { .d = a, .delay_ms = 500 };
	struct pollfd pfd;
	uint8_t buf[PAGE + 64];
	pthread_t thread;
	double t0, waited;
	int ret;

	fill(a, 21);
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	drain(_metadata, self->fd);
	pfd = (struct pollfd){ .fd = self->fd, .events = POLLIN };
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("readable with nothing written");

	ASSERT_EQ(0, pthread_create(&thread, NULL, write_late, &w));
	t0 = now_s();
	ret = poll(&pfd, 1, 60000);
	waited = now_s() - t0;
	pthread_join(thread, NULL);
	TH_LOG("poll() returned %d after %.2f s, revents 0x%x", ret, waited,
	       pfd.revents);
	ASSERT_EQ(1, ret) TH_LOG("not woken by the page written after 0.5 s");
	/* poll() looks once more when it times out: that is no wake-up */
	ASSERT_GT(50.0, waited) TH_LOG("not woken before poll()'s timeout");
	ASSERT_EQ(POLLIN, pfd.revents & (POLLIN | POLLERR | POLLHUP));
	ASSERT_EQ((ssize_t)MEM_REC(page_len), read(self->fd, buf, sizeof(buf)));

	/* leaving PRE_COPY wakes it too: readable to the end in STOP_COPY */
	go(_metadata, &a->dev, ST(STOP_COPY), NULL);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(POLLIN, pfd.revents);
}

/* PRE_COPY -> STOP_COPY before the first pass is over. */
TEST_F_TIMEOUT(ivs, precopy_cut_short, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	uint8_t buf[4096];
	uint64_t sum;
	int fd;

	NEEDS_WHOLE_STREAM();
	fill(a, 9);
	go(_metadata, &a->dev, ST(PRE_COPY), &fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(buf), read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, vfio_buf_append(&self->s, buf, sizeof(buf)));
	dirty(a, 1, 3, 0x11);	/* chunk 0 was framed already */
	sum = mig_mem_checksum(a->mem, a->size);
	go_in_session(_metadata, a, ST(STOP_COPY));
	read_all(_metadata, fd, &self->s, VFIO_MIG_READ_EOF);
	close(fd);
	ASSERT_EQ(full_stream_len(a->size), self->s.len);
	go(_metadata, &a->dev, ST(STOP), NULL);
	resume_ok(_metadata, t, self->s.data, self->s.len);
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
}

/* A flipped bit in a memory chunk: refused at that record, then ERROR. */
TEST_F_TIMEOUT(ivs, corrupted_stream, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	int werr, serr;
	uint64_t sum;

	NEEDS_WHOLE_STREAM();
	fill(a, 10);
	sum = mig_mem_checksum(a->mem, a->size);
	save_all(_metadata, a, &self->s);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	self->s.data[self->s.len / 2] ^= 0x10;
	resume_raw(_metadata, t, self->s.data, self->s.len, &werr, &serr);
	ASSERT_EQ(EINVAL, werr);
	expect_error_then_reset(_metadata, t, werr, serr, "corrupted chunk");

	/* and the device takes a good stream after the reset */
	self->s.data[self->s.len / 2] ^= 0x10;
	resume_ok(_metadata, t, self->s.data, self->s.len);
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
}

TEST_F_TIMEOUT(ivs, truncated_stream, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	size_t cuts[] = { QVP_HDR_LEN + CONFIG_REC, 0, 0 };
	int werr, serr;
	unsigned int i;
	char what[64];

	NEEDS_WHOLE_STREAM();
	cuts[1] = self->a.size / 2 + 12345;
	fill(a, 11);
	save_all(_metadata, a, &self->s);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	cuts[2] = self->s.len - END_REC;
	for (i = 0; i < ARRAY_SIZE(cuts); i++) {
		snprintf(what, sizeof(what), "stream cut at %zu", cuts[i]);
		resume_raw(_metadata, t, self->s.data, cuts[i], &werr, &serr);
		ASSERT_EQ(0, werr) TH_LOG("%s: write %s", what, strerror(werr));
		expect_error_then_reset(_metadata, t, werr, serr, what);
	}
}

/*
 * A writer may cut the memory into runs of any length from 1 to 16 pages:
 * the saved memory is sent again in runs of 1, 2, .. 16, 1, .. pages.
 */
TEST_F_TIMEOUT(ivs, runs_of_any_length, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	size_t head = QVP_HDR_LEN + CONFIG_REC;
	size_t pages = (a->size + PAGE - 1) / PAGE;
	size_t cap = head + pages * MEM_REC(0) + a->size + REGS_REC + END_REC;
	size_t p, n, k = 1, len, dlen;
	uint64_t sum, off, seed;
	uint8_t *s;

	NEEDS_WHOLE_STREAM();
	fill(a, 13);
	set_regs(_metadata, a, MASK_A, STATUS_A);
	sum = mig_mem_checksum(a->mem, a->size);
	save_all(_metadata, a, &self->s);
	s = malloc(cap);
	ASSERT_NE(NULL, s);
	memcpy(s, self->s.data, head);
	seed = qvp_stream_seed(s);
	len = head;
	for (p = 0; p < pages; p += n, k = k % RUN_PAGES + 1) {
		n = pages - p < k ? pages - p : k;
		off = p * PAGE;
		dlen = a->size - off < n * PAGE ? a->size - off : n * PAGE;
		len += qvp_put_bulk(s + len, QVP_REC_IVSHMEM_MEM, seed, off,
				    a->mem + off, dlen);
	}
	memcpy(s + len, self->s.data + self->s.len - REGS_REC - END_REC,
	       REGS_REC + END_REC);
	len += REGS_REC + END_REC;
	ASSERT_LE(len, cap);
	go(_metadata, &a->dev, ST(RUNNING), NULL);

	if (t == a) {
		fill(a, 14);
		ASSERT_EQ(0, vfio_dev_reset(&a->dev));
	}
	resume_ok(_metadata, t, s, len);
	free(s);
	ASSERT_EQ(sum, mig_mem_checksum(t->mem, t->size));
	expect_regs(_metadata, t, MASK_A, STATUS_A);
}

/* Streams with valid CRCs and checks that are still wrong. */
TEST_F_TIMEOUT(ivs, forged_streams, 300)
{
	struct ivs *a = &self->a, *t = target(self);
	uint8_t *s, *cfg, *mem1, *bad;
	size_t len, cut, rec = MEM_REC(a->size < CHUNK ? a->size : CHUNK);
	uint8_t run[2 * PAGE];
	uint64_t v, seed;
	int werr, serr;

	NEEDS_WHOLE_STREAM();
	fill(a, 12);
	save_all(_metadata, a, &self->s);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
	s = self->s.data;
	len = self->s.len;
	cfg = s + QVP_HDR_LEN;
	mem1 = cfg + CONFIG_REC;
	seed = qvp_stream_seed(s);

	/* another memory size */
	v = a->size * 2;
	memcpy(cfg + QVP_REC_HDR_LEN, &v, 8);
	qvp_fix_record_crc(cfg);
	resume_raw(_metadata, t, s, len, &werr, &serr);
	ASSERT_EQ(EINVAL, werr) TH_LOG("size mismatch: write %s",
				       strerror(werr));
	expect_error_then_reset(_metadata, t, werr, serr, "size mismatch");
	v = a->size;
	memcpy(cfg + QVP_REC_HDR_LEN, &v, 8);
	qvp_fix_record_crc(cfg);

	/* a run at an offset that is not a page boundary */
	memcpy(&v, mem1 + QVP_REC_HDR_LEN, 8);
	ASSERT_EQ(0ULL, v);
	v = 8;
	memcpy(mem1 + QVP_REC_HDR_LEN, &v, 8);
	qvp_fix_bulk(mem1, seed);
	resume_raw(_metadata, t, s, len, &werr, &serr);
	ASSERT_EQ(EINVAL, werr);
	expect_error_then_reset(_metadata, t, werr, serr, "unaligned run");
	v = 0;
	memcpy(mem1 + QVP_REC_HDR_LEN, &v, 8);
	qvp_fix_bulk(mem1, seed);

	/* a good run under another seed: its check no longer matches */
	qvp_fix_bulk(mem1, seed ^ 1);
	resume_raw(_metadata, t, s, len, &werr, &serr);
	ASSERT_EQ(EINVAL, werr);
	expect_error_then_reset(_metadata, t, werr, serr, "check, other seed");
	qvp_fix_bulk(mem1, seed);

	/* a MEM record that is not marked bulk (and has a CRC to match) */
	qvp_put16(mem1 + 2, 0);
	qvp_fix_record_crc(mem1);
	resume_raw(_metadata, t, s, len, &werr, &serr);
	ASSERT_EQ(EINVAL, werr);
	expect_error_then_reset(_metadata, t, werr, serr, "MEM not bulk");
	qvp_put16(mem1 + 2, QVP_REC_F_BULK);
	qvp_fix_bulk(mem1, seed);

	/* a run of a page and a half, at the start of the memory */
	if (a->size >= 2 * PAGE) {
		bad = malloc(QVP_HDR_LEN + CONFIG_REC + MEM_REC(sizeof(run)));
		ASSERT_NE(NULL, bad);
		memcpy(bad, s, QVP_HDR_LEN + CONFIG_REC);
		memset(run, 0, sizeof(run));
		cut = QVP_HDR_LEN + CONFIG_REC +
		      qvp_put_bulk(bad + QVP_HDR_LEN + CONFIG_REC,
				   QVP_REC_IVSHMEM_MEM, seed, 0, run,
				   PAGE + PAGE / 2);
		resume_raw(_metadata, t, bad, cut, &werr, &serr);
		free(bad);
		ASSERT_EQ(EINVAL, werr);
		expect_error_then_reset(_metadata, t, werr, serr,
					"partial page");
	}

	/* the first chunk left out: every write succeeds, the end fails */
	cut = QVP_HDR_LEN + CONFIG_REC;
	memmove(mem1, mem1 + rec, len - cut - rec);
	resume_raw(_metadata, t, s, len - rec, &werr, &serr);
	ASSERT_EQ(0, werr);
	expect_error_then_reset(_metadata, t, werr, serr, "missing chunk");
}

/* The cgroup2 hierarchy that precopy_in_small_memcg makes its cgroup in */
#define CG_ROOT		"/sys/fs/cgroup"

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* The number after @key (or the first number, for a NULL @key); -1 if none. */
static long long cg_read(const char *dir, const char *file, const char *key)
{
	char path[256], name[64];
	long long v, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!key) {
		if (fscanf(f, "%lld", &v) == 1)
			ret = v;
	} else {
		while (fscanf(f, "%63s %lld", name, &v) == 2)
			if (!strcmp(name, key))
				ret = v;
	}
	fclose(f);
	return ret;
}

/* The file at @path holds the word @word. */
static bool cg_has_word(const char *path, const char *word)
{
	char w[64];
	bool ret = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!ret && fscanf(f, "%63s", w) == 1)
		ret = !strcmp(w, word);
	fclose(f);
	return ret;
}

/*
 * A memory cgroup of this test's own under CG_ROOT, with the memory
 * controller.  Returns 0 and its path in @dir, or -1 and why not in @why.
 */
static int memcg_make(char *dir, size_t len, char *why, size_t whylen)
{
	struct statfs fs;
	int ret;

	if (statfs(CG_ROOT, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(why, whylen, "no cgroup2 hierarchy at %s", CG_ROOT);
		return -1;
	}
	if (!cg_has_word(CG_ROOT "/cgroup.controllers", "memory")) {
		snprintf(why, whylen, "the kernel's cgroup2 has no memory controller (CONFIG_MEMCG)");
		return -1;
	}
	ret = cg_write(CG_ROOT, "cgroup.subtree_control", "+memory");
	if (ret) {
		snprintf(why, whylen, "cannot enable the memory controller in %s: %s",
			 CG_ROOT, strerror(-ret));
		return -1;
	}
	snprintf(dir, len, "%s/qvp-ivshmem-test-%d", CG_ROOT, (int)getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(why, whylen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The PRE_COPY digests (8 bytes a page of BAR2) are charged to the memory
 * cgroup of whoever opens the session (QVP_GFP_SESSION): a caller
 * confined to a cgroup with room for half of them gets ENOMEM, the device
 * stays RUNNING, and the cgroup's OOM killer is never called (its
 * memory.events count no "oom"; an OOM kill would have killed the caller,
 * the only task there).  From outside the cgroup the same arc works.
 */
TEST_F_TIMEOUT(ivs, precopy_in_small_memcg, 120)
{
	struct ivs *a = &self->a;
	size_t digests = a->size / PAGE * 8;
	long long cur, oom, oom_kill, hit_max;
	char cg[96], why[192], val[32], c;
	int ready[2], go_on[2], status;
	pid_t pid;

	if (digests < (128 << 10))
		SKIP(return, "a %zu MiB BAR2 has %zu KiB of PRE_COPY digests, too few to tell the cgroup's limit from the test's own pages",
		     a->size >> 20, digests >> 10);
	if (memcg_make(cg, sizeof(cg), why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go_on));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile char touch[64 << 10];
		int fd = -1, ret;

		close(ready[0]);
		close(go_on[1]);
		/*
		 * Most of its own pages are in place before it joins the
		 * cgroup, so that what it charges there is mostly the
		 * driver's (the parent reads memory.current after this).
		 * A parent that fails closes go_on: EOF, and the child
		 * leaves the device alone.
		 */
		memset((char *)touch, 1, sizeof(touch));
		if (write(ready[1], "r", 1) != 1 || read(go_on[0], &c, 1) != 1)
			_exit(254);
		ret = vfio_dev_mig_set_state(&a->dev, ST(PRE_COPY), &fd);
		_exit(ret < 0 && -ret < 254 ? -ret : 255);
	}
	close(ready[1]);
	close(go_on[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	snprintf(val, sizeof(val), "%d", (int)pid);
	ASSERT_EQ(0, cg_write(cg, "cgroup.procs", val));
	cur = cg_read(cg, "memory.current", NULL);
	ASSERT_LE(0, cur);
	snprintf(val, sizeof(val), "%lld", cur + (long long)digests / 2);
	ASSERT_EQ(0, cg_write(cg, "memory.max", val));
	ASSERT_EQ(1, write(go_on[1], "g", 1));
	close(go_on[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	oom = cg_read(cg, "memory.events", "oom");
	oom_kill = cg_read(cg, "memory.events", "oom_kill");
	hit_max = cg_read(cg, "memory.events", "max");
	rmdir(cg);
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("the caller in a cgroup of %s bytes died of signal %d (OOM kills: %lld)",
		       val, WTERMSIG(status), oom_kill);
	ASSERT_EQ(ENOMEM, WEXITSTATUS(status))
		TH_LOG("RUNNING -> PRE_COPY in a cgroup of %s bytes (%zu KiB of digests): %s",
		       val, digests >> 10, WEXITSTATUS(status) == 255 ?
		       "it worked" : strerror(WEXITSTATUS(status)));
	EXPECT_LT(0, hit_max) TH_LOG("the cgroup never reached memory.max");
	EXPECT_EQ(0, oom) TH_LOG("the cgroup's OOM killer was called");
	EXPECT_EQ(0, oom_kill);
	expect_state(_metadata, &a->dev, ST(RUNNING));
	go(_metadata, &a->dev, ST(PRE_COPY), &self->fd);
	ASSERT_LE(0, self->fd);
	close_fd(&self->fd);
	go(_metadata, &a->dev, ST(RUNNING), NULL);
}

/* NULL if @bdf is an ivshmem whose driver migrates, else why not. */
static const char *precheck(const char *bdf)
{
	static char why[VFIO_DEV_ERR_LEN + 64];
	struct vfio_pci_ids ids;
	struct vfio_dev dev;
	const char *res;

	res = mig_precheck(bdf, false, true);
	if (res)
		return res;
	if (vfio_dev_open(&dev, bdf))
		return "cannot reopen the device";
	if (vfio_dev_pci_ids(&dev, &ids) == 0 &&
	    (ids.vendor != IVS_VENDOR || ids.device != IVS_DEVICE)) {
		snprintf(why, sizeof(why),
			 "%s is %04x:%04x, not a QEMU ivshmem (%04x:%04x)",
			 dev.bdf, ids.vendor, ids.device, IVS_VENDOR,
			 IVS_DEVICE);
		res = why;
	}
	vfio_dev_close(&dev);
	return res;
}

int main(int argc, char **argv)
{
	return mig_test_main(argc, argv, &g_bdf, precheck);
}
