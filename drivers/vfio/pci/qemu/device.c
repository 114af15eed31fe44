// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: device access for the driver's own use, below everything
 * else: the kernel mapping of a BAR, the MMIO bracket, which makes the
 * BARs safe to touch while userspace owns the device, and the digest of
 * device memory that backends compare to find changed blocks.  Used by
 * the backends and by the bulk data path; calls nothing of the driver
 * but the stream format's hash (stream.c).
 */
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci.h>

#include "qvp.h"

/**
 * qvp_map_bar - kernel mapping of a BAR of an opened device
 * @qdev: the device; only valid between open_device and close_device
 * @bar: BAR index
 *
 * Maps the BAR on first use through vfio-pci-core, which owns the
 * mapping and undoes it when the device is closed: do not unmap it.
 *
 * Context: process context, may sleep.
 * Return: the mapping, or an IOMEM_ERR_PTR() on failure.
 */
void __iomem *qvp_map_bar(struct qvp_device *qdev, int bar)
{
#ifdef QVP_HAVE_GET_IOMAP
	return vfio_pci_core_get_iomap(&qdev->core, bar);
#else
	int ret = vfio_pci_core_setup_barmap(&qdev->core, bar);

	return ret ? IOMEM_ERR_PTR(ret) : qdev->core.barmap[bar];
#endif
}

/*
 * Set or clear PCI_COMMAND_MEMORY and leave every other bit as it is now.
 * vfio-pci-core changes INTx-disable behind our back: the INTx handler
 * (pci_check_and_mask_intx()) and mask/unmask (pci_intx()) do so under
 * its irqlock, which we take around our read-modify-write; enabling INTx
 * does so under igate, which the caller holds (qvp_mmio_begin()).
 * Userspace writes to PCI_COMMAND through the config region take
 * memory_lock, which the caller holds for writing, except a write of the
 * upper byte alone (SERR#, fast back-to-back), which could still race.
 */
static void qvp_set_decode(struct qvp_device *qdev, bool on)
{
	struct pci_dev *pdev = qdev->core.pdev;
	unsigned long flags;
	u16 cmd;

	spin_lock_irqsave(&qdev->core.irqlock, flags);
	if (!pci_read_config_word(pdev, PCI_COMMAND, &cmd) && cmd != 0xffff) {
		if (on)
			cmd |= PCI_COMMAND_MEMORY;
		else
			cmd &= ~PCI_COMMAND_MEMORY;
		pci_write_config_word(pdev, PCI_COMMAND, cmd);
	}
	spin_unlock_irqrestore(&qdev->core.irqlock, flags);
}

/**
 * qvp_mmio_begin - make the device's BARs safe for kernel MMIO
 * @qdev: the device
 *
 * Takes the vfio-pci-core igate (INTx and MSI setup) and memory_lock for
 * writing, which fences userspace config-space writes to PCI_COMMAND,
 * BAR reads and writes through the device fd and new faults on BAR
 * mmaps.  If userspace (e.g. QEMU during a guest reset) turned memory
 * decoding off, turns it on for the driver's own accesses and says so in
 * the log, once until decoding is found on again.  Only that bit is ever
 * changed, and qvp_mmio_end() changes it back and nothing else
 * (qvp_mmio_end_hold() leaves it on, for a resume session's bulk stores).
 *
 * Context: process context, may sleep.  Keep the bracket short: do not
 * sleep inside it (it holds up the user's config writes, BAR accesses
 * through the fd and mmap faults).  For the lock order, see "Lock
 * order" in qvp.h.  Never fault on userspace memory between
 * qvp_mmio_begin() and qvp_mmio_end(): a fault on an mmap of this
 * device's BARs takes memory_lock and would deadlock against ourselves.
 * User memory may be touched there only with page faults disabled
 * (bulk.c).
 *
 * Return: the PCI_COMMAND bits the bracket turned on (0 or
 * PCI_COMMAND_MEMORY), to give to qvp_mmio_end().
 */
u16 qvp_mmio_begin(struct qvp_device *qdev)
{
	struct pci_dev *pdev = qdev->core.pdev;
	u16 cmd;

	mutex_lock(&qdev->core.igate);
	down_write(&qdev->core.memory_lock);
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	if (cmd & PCI_COMMAND_MEMORY) {
		/* on by the user's word, not by our own hold */
		if (!qdev->decode_held)
			qdev->decode_off_noted = false;
		return 0;
	}
	if (!qdev->decode_off_noted)
		dev_info_ratelimited(qvp_dev(qdev),
				     "memory decoding is off (PCI_COMMAND 0x%04x); enabling it for the driver's BAR accesses\n",
				     cmd);
	qdev->decode_off_noted = true;
	qvp_set_decode(qdev, true);
	return PCI_COMMAND_MEMORY;
}

/**
 * qvp_mmio_give_back_decode - memory decoding as the user set it, again
 * @qdev: the device
 *
 * Ends a hold that qvp_mmio_end_hold() began: turns memory decoding off
 * if the memory bit that the user last wrote to PCI_COMMAND is off, and
 * leaves it on if the user turned it on meanwhile.  vfio-pci-core records
 * the user's writes in its virtual config space (vdev->vconfig, a public
 * member that it updates under memory_lock); the bit itself is not
 * virtualised (except on a VF, whose hardware bit reads 0), so the user's
 * config reads see the hardware's.  Not __vfio_pci_memory_enabled(): 6.12
 * does not export it, and in D3hot it says "off" whatever the user wrote.
 *
 * Context: process context, may sleep; takes igate and memory_lock as
 * qvp_mmio_begin() does, so neither may be held (never from a reset
 * notification, which runs under memory_lock).  The device is open
 * (vdev->vconfig exists): a hold ends with its session, and every
 * session ends before the device closes.
 */
void qvp_mmio_give_back_decode(struct qvp_device *qdev)
{
	struct vfio_pci_core_device *vdev = &qdev->core;

	lockdep_assert_not_held(&vdev->memory_lock);
	mutex_lock(&vdev->igate);
	down_write(&vdev->memory_lock);
	qdev->decode_held = false;
	if (!(le16_to_cpup((__le16 *)&vdev->vconfig[PCI_COMMAND]) &
	      PCI_COMMAND_MEMORY))
		qvp_set_decode(qdev, false);
	up_write(&vdev->memory_lock);
	mutex_unlock(&vdev->igate);
}

/**
 * qvp_mmio_end_hold - end an MMIO bracket, keeping memory decoding on
 * @qdev: the device
 * @set: what qvp_mmio_begin() returned
 *
 * As qvp_mmio_end(), except that memory decoding that qvp_mmio_begin()
 * turned on stays on: for a resume session's bulk stores (bulk.c), which
 * would otherwise write PCI_COMMAND twice per write() of the user's.
 * While it is held the device decodes its BARs although the user turned
 * decoding off; the user's BAR accesses and mmap faults still go by the
 * user's bit (vfio-pci-core checks its virtual config space), but the
 * user's config reads and the host's lspci show the bit on, and on real
 * hardware a peer could reach the BARs.  So hold it only where no guest
 * runs on the device (RESUMING), never in PRE_COPY.
 *
 * Context: inside the bracket; ends it.
 * Return: true if decoding is now held on: the caller must end the hold
 * with qvp_mmio_give_back_decode().
 */
bool qvp_mmio_end_hold(struct qvp_device *qdev, u16 set)
{
	bool hold = set & PCI_COMMAND_MEMORY;

	if (hold) {
		qdev->decode_held = true;
		dev_dbg(qvp_dev(qdev),
			"keeping memory decoding on until the resume session ends or its data fd is closed\n");
	}
	up_write(&qdev->core.memory_lock);
	mutex_unlock(&qdev->core.igate);
	return hold;
}

/**
 * qvp_mmio_end - end an MMIO bracket
 * @qdev: the device
 * @set: what qvp_mmio_begin() returned
 *
 * Turns memory decoding off again if qvp_mmio_begin() turned it on, then
 * releases memory_lock and igate.
 *
 * Context: inside the bracket that qvp_mmio_begin() opened (igate and
 * memory_lock held for writing); ends it.
 */
void qvp_mmio_end(struct qvp_device *qdev, u16 set)
{
	if (set & PCI_COMMAND_MEMORY)
		qvp_set_decode(qdev, false);
	up_write(&qdev->core.memory_lock);
	mutex_unlock(&qdev->core.igate);
}

/**
 * qvp_zap_bars - take every user mapping of the device's BARs away
 * @qdev: the device
 *
 * What vfio-pci-core does before it resets a device: the user's next
 * access through a BAR mmap faults, and vfio-pci-core's fault handler
 * maps the page again, under memory_lock, if memory decoding is on and
 * runtime PM is not engaged (else the access gets SIGBUS).  The zap
 * happens under memory_lock held for writing, as vfio-pci-core zaps, so
 * that it cannot interleave with a fault that is inserting a page.  Only
 * the mappings that exist at the zap go; the BAR regions only, as in
 * vfio-pci-core (the ROM and device-specific regions are not mmapped).
 *
 * vfio-pci-core holds memory_lock from its zap to the end of the reset,
 * so faults wait for the reset.  The driver's emulated reset keeps the
 * BARs usable and takes memory_lock only in its own short MMIO brackets
 * (qvp_mmio_begin()), so it zaps before and after the backend's reset
 * (qvp_mig_device_reset()).  A device whose reset makes the BARs unusable
 * for a while has a real reset method, and belongs on vfio-pci-core's
 * path (core.reset_works); a driver that must emulate such a reset needs
 * its own bracket around the whole reset (igate, then memory_lock, then
 * the zap) and no qvp_mmio_begin() inside it.  On 7.x vfio-pci-core's
 * reset also revokes the device's DMA-BUFs; this driver exports none (no
 * pci_ops), and one that does cannot do the same from a variant driver.
 *
 * Context: process context, may sleep.  Not with memory_lock held: not
 * inside the MMIO bracket, nor from reset_done or the PCI error handlers,
 * which vfio-pci-core calls with it held.
 */
void qvp_zap_bars(struct qvp_device *qdev)
{
	struct inode *inode = qdev->core.vdev.inode;
	loff_t start = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
	loff_t end = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_ROM_REGION_INDEX);

	lockdep_assert_not_held(&qdev->core.memory_lock);
	down_write(&qdev->core.memory_lock);
	unmap_mapping_range(inode->i_mapping, start, end - start, true);
	up_write(&qdev->core.memory_lock);
}

/* A word as read from device memory, as the bulk check's hash sees it. */
static __always_inline u64 qvp_word_le(u64 raw)
{
	return le64_to_cpu((__force __le64)raw);
}

/**
 * qvp_bulk_digest_io - digest of one block of device memory
 * @seed: the stream's seed
 * @src: the block in the mapped device memory
 * @len: its length: a multiple of 8, 8 to QVP_BULK_BLOCK
 *
 * Context: within the MMIO bracket (qvp_mmio_begin()).
 * Return: the block's digest: the value that a save (bulk.c) records
 * in struct qvp_bulk.digests for the same bytes.
 */
u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len)
{
	struct qvp_bulk_sum s;
	u64 a, b, c, d;
	size_t i;

	qvp_bulk_sum_init(&s, seed, 0, 0);
	a = s.v[0];
	b = s.v[1];
	c = s.v[2];
	d = s.v[3];
	for (i = 0; i + 32 <= len; i += 32) {
		a = qvp_bulk_step(a, qvp_word_le(__raw_readq(src + i)));
		b = qvp_bulk_step(b, qvp_word_le(__raw_readq(src + i + 8)));
		c = qvp_bulk_step(c, qvp_word_le(__raw_readq(src + i + 16)));
		d = qvp_bulk_step(d, qvp_word_le(__raw_readq(src + i + 24)));
	}
	s.v[0] = a;
	s.v[1] = b;
	s.v[2] = c;
	s.v[3] = d;
	for (; i < len; i += 8)
		s.v[(i / 8) % 4] = qvp_bulk_step(s.v[(i / 8) % 4],
						 qvp_word_le(__raw_readq(src + i)));
	s.pos = len;
	return qvp_bulk_block_end(&s);
}
