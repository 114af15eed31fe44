/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vfio migration selftests: device selection, the
 * qemu-vfio-pci stream format (CRC-32, record crafting) and the registers
 * of QEMU's edu device.  No kselftest harness dependencies here.
 */
#ifndef MIG_COMMON_H
#define MIG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/qemu_vfio_pci.h>

#include <qvp/edu.h>
#include <qvp/ivshmem.h>

#include "vfio_dev.h"

#define BAR0			VFIO_PCI_BAR0_REGION_INDEX

/* Sizes of the stream that qemu-vfio-pci produces for an edu. */
#define QVP_HDR_LEN		((size_t)sizeof(struct qvp_stream_header))
#define QVP_REC_HDR_LEN		((size_t)sizeof(struct qvp_record_header))
#define QVP_EDU_REGS_LEN	((size_t)sizeof(struct qvp_edu_regs))
#define QVP_EDU_STREAM_LEN	(QVP_HDR_LEN + 2 * QVP_REC_HDR_LEN + \
				 QVP_EDU_REGS_LEN)
/* Offsets inside that stream */
#define QVP_OFF_REGS_REC	QVP_HDR_LEN
#define QVP_OFF_REGS_PAYLOAD	(QVP_OFF_REGS_REC + QVP_REC_HDR_LEN)
#define QVP_OFF_END_REC		(QVP_OFF_REGS_PAYLOAD + QVP_EDU_REGS_LEN)

/* Everything we read back from an edu (host byte order). */
struct edu_regs {
	uint32_t id;
	uint32_t liveness;
	uint32_t factorial;
	uint32_t status;
	uint32_t irq_status;
	uint64_t dma_src;
	uint64_t dma_dst;
	uint64_t dma_count;
	uint64_t dma_cmd;
};

/* A state to program into an edu; see edu_apply(). */
struct edu_state {
	uint32_t liveness;	/* written; reads back as ~liveness */
	uint32_t fact_n;	/* factorial input; result n! mod 2^32 */
	bool irq_on_fact;	/* status bit 0x80 */
	uint64_t dma_src;
	uint64_t dma_dst;
	uint64_t dma_count;
	uint32_t irq_raise;	/* written to 0x60 if non-zero (needs MSI) */
	uint32_t irq_ack;	/* then written to 0x64 if non-zero */
};

/*
 * Device selection, as upstream's vfio_selftests_get_bdfs(): the PCI
 * addresses that end the command line, else argv[1] if it is not an
 * option, else $VFIO_SELFTESTS_BDF.  Wherever a PCI address goes, a
 * mediated device may go instead, by its UUID or its path
 * /sys/bus/mdev/devices/UUID (vfio_dev_open() takes both).  Takes them
 * out of argv and returns the first; sets mig_bdf2 to the second (the
 * next device on the command line, else $VFIO_SELFTESTS_BDF2), or NULL.
 */
const char *mig_take_bdf(int *argc, char **argv);
/* The second device, for tests that migrate between two; may be NULL. */
extern const char *mig_bdf2;
/* True if the harness was asked only to list tests or print help. */
bool mig_harness_listing(int argc, char **argv);
/*
 * Check that @bdf (a PCI address or an mdev) can be opened (and is an edu
 * when @need_edu, and supports migration when @need_mig).  Returns NULL
 * if so, else a reason to skip.
 */
const char *mig_precheck(const char *bdf, bool need_edu, bool need_mig);

/* CRC-32 as zlib's crc32(): pass 0 to start, the previous value to chain. */
uint32_t qvp_crc32(uint32_t crc, const void *buf, size_t len);

/* Little-endian field access in a stream buffer. */
void qvp_put16(uint8_t *p, uint16_t v);
void qvp_put32(uint8_t *p, uint32_t v);
uint32_t qvp_get32(const uint8_t *p);

/* The seed of the stream whose header is at @s. */
uint64_t qvp_stream_seed(const uint8_t *s);
/*
 * The check of a bulk record's @len data bytes at head offset @off, as
 * the uapi header defines it, with code of the tests' own.
 */
uint64_t qvp_bulk_check(uint64_t seed, uint64_t off, const uint8_t *data,
			size_t len);
/*
 * Emit a bulk record (header, head @off, @len data bytes, check under
 * @seed) at @dst and return its size.
 */
size_t qvp_put_bulk(uint8_t *dst, uint16_t type, uint64_t seed, uint64_t off,
		    const void *data, uint32_t len);
/* Recompute the CRC and the check of the bulk record at @rec. */
void qvp_fix_bulk(uint8_t *rec, uint64_t seed);

/* Recompute the CRC of the stream header at @s. */
void qvp_fix_header_crc(uint8_t *s);
/* Recompute the CRC of the record whose header is at @rec. */
void qvp_fix_record_crc(uint8_t *rec);
/*
 * Emit a record (header + @len payload bytes, correct CRC) at @dst and
 * return its size.  @payload may be NULL for @len zero bytes.
 */
size_t qvp_put_record(uint8_t *dst, uint16_t type, uint16_t flags,
		      const void *payload, uint32_t len);
/*
 * Check a complete edu stream: every field, every CRC and the record
 * sequence.  Returns 0 or -EINVAL with an explanation in @why; on success
 * *regs (if not NULL) gets the decoded registers.
 */
int qvp_check_edu_stream(const uint8_t *s, size_t len,
			 const struct vfio_pci_ids *ids, struct edu_regs *regs,
			 char *why, size_t whylen);

/* edu access; all return 0 or -errno. */
int edu_read_regs(struct vfio_dev *dev, struct edu_regs *r);
int edu_wait_idle(struct vfio_dev *dev);
int edu_factorial(struct vfio_dev *dev, uint32_t n, uint32_t *result);
int edu_apply(struct vfio_dev *dev, const struct edu_state *s);
uint32_t edu_factorial_of(uint32_t n);
/* The registers edu_apply(@s) should produce on a freshly reset edu. */
void edu_expected(const struct edu_state *s, struct edu_regs *r);
/* Registers of an edu after reset (power-on values). */
void edu_power_on(struct edu_regs *r);
/*
 * Compare two register sets; returns the number of differing fields and
 * describes them in @buf.  Of the DMA command only its "running" bit
 * counts (the rest is the last user's command, which edu keeps).
 */
int edu_regs_diff(const struct edu_regs *want, const struct edu_regs *got,
		  char *buf, size_t len);

/* Small deterministic PRNG (xorshift32) for reproducible "random" input. */
uint32_t mig_rand(uint32_t *seed);

/*
 * Sum of the /proc/meminfo @fields (NULL-terminated names, e.g. "Slab"),
 * in KiB, read in one pass; 0 if the file cannot be read.
 */
unsigned long long mig_meminfo_kib(const char *const *fields);
/*
 * PCI_COMMAND of device @bdf as the hardware has it (its sysfs config
 * file, not vfio's virtual view) in *@cmd; 0 or -errno.
 */
int mig_hw_pci_command(const char *bdf, uint16_t *cmd);
/* PCI_COMMAND as the user sees and sets it (vfio's config region). */
int mig_user_pci_command(struct vfio_dev *dev, uint16_t *cmd);
int mig_set_user_pci_command(struct vfio_dev *dev, uint16_t cmd);
/*
 * qemu-vfio-pci, PRE_COPY: the driver scans device memory for changes at
 * most once per precopy_scan_ms (a module parameter) when asked through
 * VFIO_MIG_GET_PRECOPY_INFO; wait until the next scan may run.
 */
void mig_precopy_scan_wait(void);

/* A well-mixed 64-bit value from @x (splitmix64): test patterns. */
static inline uint64_t mig_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A checksum of @size bytes (a multiple of 8) of device memory. */
static inline uint64_t mig_mem_checksum(const uint8_t *mem, size_t size)
{
	const uint64_t *p = (const uint64_t *)mem;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < size / 8; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL + (h >> 29);
	return h;
}

#endif /* MIG_COMMON_H */
