// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the vfio migration selftests.  See mig_common.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>

#include "mig_common.h"

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

const char *mig_bdf2;

/*
 * A device named at the end of the command line: a PCI address in full,
 * segment:bus:device.function, as upstream's, or a mediated device, by
 * its UUID or its path /sys/bus/mdev/devices/UUID.
 */
static bool is_bdf(const char *s)
{
	unsigned int seg, bus, dev, fn;
	char uuid[40];
	int len = 0;

	if (!vfio_mdev_uuid(s, uuid, sizeof(uuid)))
		return true;
	return sscanf(s, "%4x:%2x:%2x.%2x%n", &seg, &bus, &dev, &fn,
		      &len) == 4 && (size_t)len == strlen(s);
}

/* Take argv[@i] out of argv. */
static void drop_arg(int *argc, char **argv, int i)
{
	for (; i < *argc - 1; i++)
		argv[i] = argv[i + 1];
	argv[--*argc] = NULL;
}

static const char *env_bdf(const char *name)
{
	const char *bdf = getenv(name);

	return bdf && *bdf ? bdf : NULL;
}

const char *mig_take_bdf(int *argc, char **argv)
{
	const char *bdf = NULL;
	int first = *argc;

	/* upstream's way: every PCI address at the end of the line */
	while (first > 1 && is_bdf(argv[first - 1]))
		first--;
	if (first < *argc) {
		bdf = argv[first];
		mig_bdf2 = first + 1 < *argc ? argv[first + 1] : NULL;
		*argc = first;
		argv[first] = NULL;
		return bdf;
	}
	/* ours since the start: one device, first, before the options */
	if (*argc > 1 && argv[1][0] != '-') {
		bdf = argv[1];
		drop_arg(argc, argv, 1);
	}
	if (!bdf)
		bdf = env_bdf("VFIO_SELFTESTS_BDF");
	mig_bdf2 = env_bdf("VFIO_SELFTESTS_BDF2");
	return bdf;
}

bool mig_harness_listing(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

const char *mig_precheck(const char *bdf, bool need_edu, bool need_mig)
{
	static char why[VFIO_DEV_ERR_LEN + 64];
	struct vfio_pci_ids ids;
	struct vfio_dev dev;
	uint64_t flags;
	int ret;

	if (!bdf)
		return "no device: pass PCI addresses (segment:bus:device.function) or mdevs (UUID or /sys/bus/mdev/devices/UUID) after the options or set VFIO_SELFTESTS_BDF";

	ret = vfio_dev_open(&dev, bdf);
	if (ret == -EOPNOTSUPP) {
		/* the IOMMU mode asked for is not in this kernel */
		snprintf(why, sizeof(why), "%s", dev.err);
		return why;
	}
	if (ret) {
		snprintf(why, sizeof(why), "cannot open %s: %s", bdf, dev.err);
		return why;
	}
	if (need_edu) {
		ret = vfio_dev_pci_ids(&dev, &ids);
		if (ret) {
			snprintf(why, sizeof(why),
				 "cannot read the PCI IDs of %s: %s", dev.bdf,
				 strerror(-ret));
			goto out;
		}
		if (ids.vendor != EDU_VENDOR || ids.device != EDU_DEVICE) {
			snprintf(why, sizeof(why),
				 "%s is %s%04x:%04x, not a QEMU edu (%04x:%04x)",
				 dev.bdf, dev.mdev ? "an mdev, " : "",
				 ids.vendor, ids.device, EDU_VENDOR,
				 EDU_DEVICE);
			ret = -ENODEV;
			goto out;
		}
	}
	if (need_mig) {
		ret = vfio_dev_mig_flags(&dev, &flags);
		if (ret) {
			snprintf(why, sizeof(why),
				 "%s: the driver does not support migration (VFIO_DEVICE_FEATURE_MIGRATION: %s)",
				 dev.bdf, strerror(-ret));
			goto out;
		}
	}
out:
	vfio_dev_close(&dev);
	return ret ? why : NULL;
}

/*
 * Deliberately not the driver's stream.c: the tests check the kernel's
 * streams against the documented format with code of their own, so that
 * a shared misreading of the format cannot hide.
 */
uint32_t qvp_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int bit;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

void qvp_put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

void qvp_put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t get_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

uint32_t qvp_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

uint64_t qvp_stream_seed(const uint8_t *s)
{
	return qvp_get32(s + offsetof(struct qvp_stream_header, seed_lo)) |
	       (uint64_t)qvp_get32(s + offsetof(struct qvp_stream_header,
						seed_hi)) << 32;
}

static uint64_t rol64(uint64_t x, unsigned int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t bulk_step(uint64_t acc, uint64_t w)
{
	return rol64(acc + w * QVP_BULK_K2, 31) * QVP_BULK_K1;
}

static uint64_t bulk_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= QVP_BULK_K2;
	h ^= h >> 29;
	h *= QVP_BULK_K1;
	return h ^ h >> 32;
}

uint64_t qvp_bulk_check(uint64_t seed, uint64_t off, const uint8_t *data,
			size_t len)
{
	uint64_t c = bulk_step(seed ^ off, len), v[4], h;
	size_t at, n, i;

	for (at = 0; at < len; at += n) {
		n = len - at < QVP_BULK_BLOCK ? len - at : QVP_BULK_BLOCK;
		v[0] = seed + QVP_BULK_K1 + QVP_BULK_K2;
		v[1] = seed + QVP_BULK_K2;
		v[2] = seed;
		v[3] = seed - QVP_BULK_K1;
		for (i = 0; i < n / 8; i++)
			v[i % 4] = bulk_step(v[i % 4],
					     get_le64(data + at + 8 * i));
		h = rol64(v[0], 1) + rol64(v[1], 7) + rol64(v[2], 12) +
		    rol64(v[3], 18) + n;
		c = bulk_step(c, bulk_mix(h));
	}
	return bulk_mix(c);
}

void qvp_fix_bulk(uint8_t *rec, uint64_t seed)
{
	size_t at = offsetof(struct qvp_record_header, crc);
	uint32_t len = qvp_get32(rec + offsetof(struct qvp_record_header,
					       length));
	const uint8_t *head = rec + QVP_REC_HDR_LEN;
	uint64_t check;

	qvp_put32(rec + at, qvp_crc32(qvp_crc32(0, rec, at), head, 8));
	check = htole64(qvp_bulk_check(seed, get_le64(head), head + 8,
				       len - 16));
	memcpy(rec + QVP_REC_HDR_LEN + len - 8, &check, 8);
}

size_t qvp_put_bulk(uint8_t *dst, uint16_t type, uint64_t seed, uint64_t off,
		    const void *data, uint32_t len)
{
	uint64_t le = htole64(off);

	qvp_put16(dst + offsetof(struct qvp_record_header, type), type);
	qvp_put16(dst + offsetof(struct qvp_record_header, flags),
		  QVP_REC_F_BULK);
	qvp_put32(dst + offsetof(struct qvp_record_header, length), len + 16);
	memcpy(dst + QVP_REC_HDR_LEN, &le, 8);
	memmove(dst + QVP_REC_HDR_LEN + 8, data, len);
	qvp_fix_bulk(dst, seed);
	return QVP_REC_HDR_LEN + len + 16;
}

void qvp_fix_header_crc(uint8_t *s)
{
	size_t at = offsetof(struct qvp_stream_header, crc);

	qvp_put32(s + at, qvp_crc32(0, s, at));
}

void qvp_fix_record_crc(uint8_t *rec)
{
	size_t at = offsetof(struct qvp_record_header, crc);
	uint32_t len = qvp_get32(rec + offsetof(struct qvp_record_header,
					       length));
	uint32_t crc;

	crc = qvp_crc32(0, rec, at);
	crc = qvp_crc32(crc, rec + QVP_REC_HDR_LEN, len);
	qvp_put32(rec + at, crc);
}

size_t qvp_put_record(uint8_t *dst, uint16_t type, uint16_t flags,
		      const void *payload, uint32_t len)
{
	qvp_put16(dst + offsetof(struct qvp_record_header, type), type);
	qvp_put16(dst + offsetof(struct qvp_record_header, flags), flags);
	qvp_put32(dst + offsetof(struct qvp_record_header, length), len);
	if (payload)
		memmove(dst + QVP_REC_HDR_LEN, payload, len);
	else
		memset(dst + QVP_REC_HDR_LEN, 0, len);
	qvp_fix_record_crc(dst);
	return QVP_REC_HDR_LEN + len;
}

static int __printf(3, 4)
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int qvp_check_edu_stream(const uint8_t *s, size_t len,
			 const struct vfio_pci_ids *ids, struct edu_regs *regs,
			 char *why, size_t wl)
{
	const uint8_t *rec, *pl;
	uint32_t crc, got;

	if (len != QVP_EDU_STREAM_LEN)
		return refuse(why, wl, "stream is %zu bytes, want %zu", len,
			      QVP_EDU_STREAM_LEN);

#define HF(f) (s + offsetof(struct qvp_stream_header, f))
	if (qvp_get32(HF(magic)) != QVP_STREAM_MAGIC)
		return refuse(why, wl, "magic 0x%08x", qvp_get32(HF(magic)));
	if (get_le16(HF(version)) != QVP_STREAM_VERSION)
		return refuse(why, wl, "version %u", get_le16(HF(version)));
	if (get_le16(HF(header_len)) != QVP_HDR_LEN)
		return refuse(why, wl, "header_len %u",
			      get_le16(HF(header_len)));
	if (get_le16(HF(vendor)) != ids->vendor ||
	    get_le16(HF(device)) != ids->device)
		return refuse(why, wl, "identity %04x:%04x",
			      get_le16(HF(vendor)), get_le16(HF(device)));
	if (get_le16(HF(subsystem_vendor)) != ids->subsystem_vendor ||
	    get_le16(HF(subsystem_device)) != ids->subsystem_device)
		return refuse(why, wl, "subsystem %04x:%04x",
			      get_le16(HF(subsystem_vendor)),
			      get_le16(HF(subsystem_device)));
	if (*HF(revision) != ids->revision)
		return refuse(why, wl, "revision %u, device has %u",
			      *HF(revision), ids->revision);
	if (*HF(backend) != QVP_BACKEND_EDU)
		return refuse(why, wl, "backend %u", *HF(backend));
	if (get_le16(HF(flags)))
		return refuse(why, wl, "header flags 0x%x",
			      get_le16(HF(flags)));
	crc = qvp_crc32(0, s, offsetof(struct qvp_stream_header, crc));
	got = qvp_get32(HF(crc));
	if (got != crc)
		return refuse(why, wl, "header crc 0x%08x, want 0x%08x", got,
			      crc);
#undef HF

#define RF(r, f) ((r) + offsetof(struct qvp_record_header, f))
	rec = s + QVP_OFF_REGS_REC;
	if (get_le16(RF(rec, type)) != QVP_REC_EDU_REGS ||
	    get_le16(RF(rec, flags)) ||
	    qvp_get32(RF(rec, length)) != QVP_EDU_REGS_LEN)
		return refuse(why, wl,
			      "first record type 0x%x flags 0x%x length %u",
			      get_le16(RF(rec, type)), get_le16(RF(rec, flags)),
			      qvp_get32(RF(rec, length)));
	crc = qvp_crc32(0, rec, offsetof(struct qvp_record_header, crc));
	crc = qvp_crc32(crc, rec + QVP_REC_HDR_LEN, QVP_EDU_REGS_LEN);
	got = qvp_get32(RF(rec, crc));
	if (got != crc)
		return refuse(why, wl, "EDU_REGS crc 0x%08x, want 0x%08x",
			      got, crc);

	rec = s + QVP_OFF_END_REC;
	if (get_le16(RF(rec, type)) != QVP_REC_END ||
	    get_le16(RF(rec, flags)) || qvp_get32(RF(rec, length)))
		return refuse(why, wl,
			      "last record type 0x%x flags 0x%x length %u",
			      get_le16(RF(rec, type)), get_le16(RF(rec, flags)),
			      qvp_get32(RF(rec, length)));
	crc = qvp_crc32(0, rec, offsetof(struct qvp_record_header, crc));
	got = qvp_get32(RF(rec, crc));
	if (got != crc)
		return refuse(why, wl, "END crc 0x%08x, want 0x%08x", got,
			      crc);
#undef RF

	pl = s + QVP_OFF_REGS_PAYLOAD;
#define PF(f) (pl + offsetof(struct qvp_edu_regs, f))
	if (qvp_get32(PF(status)) & EDU_STATUS_COMPUTING)
		return refuse(why, wl, "saved status 0x%x is computing",
			      qvp_get32(PF(status)));
	if (get_le64(PF(dma_cmd)) & 1)
		return refuse(why, wl, "saved dma_cmd 0x%llx is running",
			      (unsigned long long)get_le64(PF(dma_cmd)));
	if (regs) {
		regs->id = EDU_ID_VALUE;
		regs->liveness = qvp_get32(PF(liveness));
		regs->factorial = qvp_get32(PF(factorial));
		regs->status = qvp_get32(PF(status));
		regs->irq_status = qvp_get32(PF(irq_status));
		regs->dma_src = get_le64(PF(dma_src));
		regs->dma_dst = get_le64(PF(dma_dst));
		regs->dma_count = get_le64(PF(dma_count));
		regs->dma_cmd = get_le64(PF(dma_cmd));
	}
#undef PF
	return 0;
}

int edu_read_regs(struct vfio_dev *dev, struct edu_regs *r)
{
	int ret;

	ret = vfio_dev_read32(dev, BAR0, EDU_REG_ID, &r->id);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_LIVENESS, &r->liveness);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_FACTORIAL,
				      &r->factorial);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_STATUS, &r->status);
	if (!ret)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_IRQ_STATUS,
				      &r->irq_status);
	if (!ret)
		ret = vfio_dev_read64(dev, BAR0, EDU_REG_DMA_SRC, &r->dma_src);
	if (!ret)
		ret = vfio_dev_read64(dev, BAR0, EDU_REG_DMA_DST, &r->dma_dst);
	if (!ret)
		ret = vfio_dev_read64(dev, BAR0, EDU_REG_DMA_COUNT,
				      &r->dma_count);
	if (!ret)
		ret = vfio_dev_read64(dev, BAR0, EDU_REG_DMA_CMD, &r->dma_cmd);
	return ret;
}

int edu_wait_idle(struct vfio_dev *dev)
{
	struct timespec start, now;
	uint32_t status;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_STATUS, &status);
		if (ret)
			return ret;
		if (!(status & EDU_STATUS_COMPUTING))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5)
			return -ETIMEDOUT;
		usleep(100);
	}
}

int edu_factorial(struct vfio_dev *dev, uint32_t n, uint32_t *result)
{
	int ret;

	ret = edu_wait_idle(dev);
	if (!ret)
		ret = vfio_dev_write32(dev, BAR0, EDU_REG_FACTORIAL, n);
	if (!ret)
		ret = edu_wait_idle(dev);
	if (!ret && result)
		ret = vfio_dev_read32(dev, BAR0, EDU_REG_FACTORIAL, result);
	return ret;
}

uint32_t edu_factorial_of(uint32_t n)
{
	uint32_t r = 1;

	while (n)
		r *= n--;
	return r;
}

/*
 * The order matters: the factorial completes before status bit 0x80 is
 * set, so no completion interrupt is raised, and irq_status is only
 * touched when the caller asked for it (it must have enabled MSI).
 */
int edu_apply(struct vfio_dev *dev, const struct edu_state *s)
{
	int ret;

	ret = vfio_dev_write32(dev, BAR0, EDU_REG_LIVENESS, s->liveness);
	if (!ret)
		ret = vfio_dev_write32(dev, BAR0, EDU_REG_STATUS, 0);
	if (!ret)
		ret = edu_factorial(dev, s->fact_n, NULL);
	if (!ret)
		ret = vfio_dev_write64(dev, BAR0, EDU_REG_DMA_SRC, s->dma_src);
	if (!ret)
		ret = vfio_dev_write64(dev, BAR0, EDU_REG_DMA_DST, s->dma_dst);
	if (!ret)
		ret = vfio_dev_write64(dev, BAR0, EDU_REG_DMA_COUNT,
				       s->dma_count);
	if (!ret && s->irq_raise)
		ret = vfio_dev_write32(dev, BAR0, EDU_REG_IRQ_RAISE,
				       s->irq_raise);
	if (!ret && s->irq_ack)
		ret = vfio_dev_write32(dev, BAR0, EDU_REG_IRQ_ACK, s->irq_ack);
	if (!ret && s->irq_on_fact)
		ret = vfio_dev_write32(dev, BAR0, EDU_REG_STATUS,
				       EDU_STATUS_IRQFACT);
	return ret;
}

void edu_expected(const struct edu_state *s, struct edu_regs *r)
{
	r->id = EDU_ID_VALUE;
	r->liveness = ~s->liveness;
	r->factorial = edu_factorial_of(s->fact_n);
	r->status = s->irq_on_fact ? EDU_STATUS_IRQFACT : 0;
	r->irq_status = s->irq_raise & ~s->irq_ack;
	r->dma_src = s->dma_src;
	r->dma_dst = s->dma_dst;
	r->dma_count = s->dma_count;
	r->dma_cmd = 0;
}

void edu_power_on(struct edu_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->id = EDU_ID_VALUE;
}

int edu_regs_diff(const struct edu_regs *want, const struct edu_regs *got,
		  char *buf, size_t len)
{
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
#define CMP(f) do {							\
	if (want->f != got->f) {					\
		n++;							\
		if (used < len)						\
			used += snprintf(buf + used, len - used,	\
					 " %s=0x%llx(want 0x%llx)", #f,	\
					 (unsigned long long)got->f,	\
					 (unsigned long long)want->f);	\
	}								\
} while (0)
	CMP(id);
	CMP(liveness);
	CMP(factorial);
	CMP(status);
	CMP(irq_status);
	CMP(dma_src);
	CMP(dma_dst);
	CMP(dma_count);
	/*
	 * Of the DMA command only "running": edu takes only writes that
	 * start a DMA, so its other bits are those of the last command a
	 * user gave, which no reset clears and no migration carries (the
	 * stream saves them for diagnosis; the destination keeps its own).
	 */
	if ((want->dma_cmd ^ got->dma_cmd) & EDU_DMA_RUN) {
		n++;
		if (used < len)
			used += snprintf(buf + used, len - used,
					 " dma_cmd=0x%llx(want running %s)",
					 (unsigned long long)got->dma_cmd,
					 want->dma_cmd & EDU_DMA_RUN ? "on" : "off");
	}
#undef CMP
	return n;
}

uint32_t mig_rand(uint32_t *seed)
{
	uint32_t x = *seed ? *seed : 0x2545f491;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*seed = x;
	return x;
}

unsigned long long mig_meminfo_kib(const char *const *fields)
{
	unsigned long long v, sum = 0;
	char line[128], name[64];
	const char *const *f;
	FILE *fp = fopen("/proc/meminfo", "r");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%63[^:]: %llu", name, &v) != 2)
			continue;
		for (f = fields; *f; f++)
			if (!strcmp(name, *f))
				sum += v;
	}
	fclose(fp);
	return sum;
}

int mig_hw_pci_command(const char *bdf, uint16_t *cmd)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, cmd, sizeof(*cmd), PCI_COMMAND);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == sizeof(*cmd) ? 0 : -EIO;
}

int mig_user_pci_command(struct vfio_dev *dev, uint16_t *cmd)
{
	return vfio_dev_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				    PCI_COMMAND, cmd, sizeof(*cmd));
}

int mig_set_user_pci_command(struct vfio_dev *dev, uint16_t cmd)
{
	return vfio_dev_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX,
				     PCI_COMMAND, &cmd, sizeof(cmd));
}

void mig_precopy_scan_wait(void)
{
	FILE *f = fopen("/sys/module/qemu_vfio_pci/parameters/precopy_scan_ms",
			"r");
	unsigned int ms = 100;

	if (f) {
		if (fscanf(f, "%u", &ms) != 1)
			ms = 100;
		fclose(f);
	}
	usleep((ms + 50) * 1000);
}
