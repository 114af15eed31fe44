// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: a trapped BAR range.
 *
 * A backend may name one range at the start of one BAR that userspace
 * must not map (struct qvp_backend.trap_bar and .trap_len): every access
 * to it then comes through the device fd's read() and write(), which
 * the driver sees.  A device whose registers start work that the driver
 * must know of traps them: edu's register page, whose DMA command the
 * dirty tracking has to see; a NIC's mailbox.
 *
 * Keeping the range out of reach takes three things, all here:
 *  - the region info of the BAR carries a sparse mmap capability that
 *    lists the rest of the BAR, so QEMU maps that and accesses the range
 *    through the fd;
 *  - mmap() of any part of the range is refused;
 *  - VFIO_DEVICE_IOEVENTFD is refused on the whole device: vfio-pci-core
 *    writes an ioeventfd's value to the BAR from the kernel, past
 *    write(), and it reads the user's request again after any check we
 *    could make, so a check of the offset could be raced.  QEMU uses
 *    ioeventfds only for quirks of other devices and falls back to its
 *    own handler when the ioctl fails.
 * User writes to the range do not go through vfio-pci-core: the driver
 * copies each access (1, 2, 4 or 8 bytes, as the core splits them) from
 * the user once, shows it to the backend (struct qvp_backend.trap_write)
 * and writes it to the device, all under trap_lock, so that what the
 * backend looked at is what the device gets and no other trapped write
 * comes in between (qvp_trap_write()).  Reads go to the core.
 *
 * The range starts at offset 0 and its length is a multiple of
 * PAGE_SIZE, so that the pages after it can still be mapped; probe and
 * open check that (qvp_trap_check()).
 *
 * Other ways to the BAR that bypass write() stay closed as long as the
 * driver does not offer them: a DMA-BUF export of BAR pages
 * (VFIO_DEVICE_FEATURE_DMA_BUF, 7.x) needs vfio_pci_core_device.pci_ops,
 * which this driver does not set; IOMMU mappings of the BAR need an mmap
 * of it first.
 */
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "qvp.h"

/*
 * [@off, @off + @len) of region @index overlaps the trapped range, which
 * starts at offset 0 of its BAR.
 */
static bool qvp_trap_hits(struct qvp_device *qdev, unsigned int index,
			  u64 off, u64 len)
{
	const struct qvp_backend *be = qdev->backend;

	return be->trap_len && index == be->trap_bar && len &&
	       off < be->trap_len;
}

/**
 * qvp_trap_check - the trapped range fits the device
 * @qdev: the device, enabled by vfio-pci-core
 *
 * The range must lie within its BAR, a memory BAR (only those can be
 * mapped, and the trapped writes use MMIO accessors), and that BAR must
 * hold no MSI-X table, whose capability the core adds to the region
 * info.
 *
 * Context: open_device.
 * Return: 0, or -ENODEV after saying why.
 */
int qvp_trap_check(struct qvp_device *qdev)
{
	const struct qvp_backend *be = qdev->backend;
	struct pci_dev *pdev = qdev->core.pdev;

	if (!be->trap_len)
		return 0;
	if (!(pci_resource_flags(pdev, be->trap_bar) & IORESOURCE_MEM) ||
	    be->trap_len > pci_resource_len(pdev, be->trap_bar) ||
	    (pdev->msix_cap && qdev->core.msix_bar == be->trap_bar)) {
		pci_warn(pdev, "cannot trap the first %zu bytes of BAR%u (%llu bytes%s)\n",
			 be->trap_len, be->trap_bar,
			 (u64)pci_resource_len(pdev, be->trap_bar),
			 pdev->msix_cap ? ", MSI-X table" : "");
		return -ENODEV;
	}
	return 0;
}

/**
 * qvp_trap_mmap - refuse an mmap of the trapped range
 * @qdev: the device
 * @vma: the mapping userspace asks for on the device fd
 *
 * Context: process context (the .mmap of the device fd).
 * Return: -EINVAL if @vma covers part of the trapped range, 0 if the
 * mapping is vfio-pci-core's to make.
 */
int qvp_trap_mmap(struct qvp_device *qdev, struct vm_area_struct *vma)
{
	u64 pgoff_mask = (1ULL << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT)) - 1;
	unsigned int index = vma->vm_pgoff >> (VFIO_PCI_OFFSET_SHIFT -
					       PAGE_SHIFT);
	u64 off = (u64)(vma->vm_pgoff & pgoff_mask) << PAGE_SHIFT;

	if (!qvp_trap_hits(qdev, index, off, vma->vm_end - vma->vm_start))
		return 0;
	dev_dbg(qvp_dev(qdev),
		"mmap of BAR%u at 0x%llx refused: its first %zu bytes are trapped (see the region's sparse mmap capability)\n",
		index, off, qdev->backend->trap_len);
	return -EINVAL;
}

/*
 * Memory decoding as the user set it, as vfio-pci-core checks it before
 * each BAR access: off, or the device in D3, and the access fails with
 * -EIO.  Called with memory_lock held.
 */
static bool qvp_trap_decode_on(struct qvp_device *qdev)
{
	struct vfio_pci_core_device *core = &qdev->core;
	u16 cmd = le16_to_cpu(*(__le16 *)&core->vconfig[PCI_COMMAND]);

	pci_power_t state = core->pdev->current_state;

	if (state == PCI_D3hot || state == PCI_D3cold || state == PCI_UNKNOWN)
		return false;
	return core->pdev->no_command_memory || (cmd & PCI_COMMAND_MEMORY);
}

/* One access of a trapped write: look, then write, under trap_lock. */
static int qvp_trap_write_one(struct qvp_device *qdev, void __iomem *io,
			      u32 off, u32 size, u64 val)
{
	int ret;

	mutex_lock(&qdev->trap_lock);
	down_read(&qdev->core.memory_lock);
	if (!qvp_trap_decode_on(qdev)) {
		ret = -EIO;
		goto out;
	}
	ret = qvp_call(qdev->backend->trap_write, qdev, off, size, val);
	if (ret)
		goto out;
	switch (size) {
	case 8:
		writeq(val, io + off);
		break;
	case 4:
		writel(val, io + off);
		break;
	case 2:
		writew(val, io + off);
		break;
	default:
		writeb(val, io + off);
	}
out:
	up_read(&qdev->core.memory_lock);
	mutex_unlock(&qdev->trap_lock);
	return ret;
}

/*
 * The next access of a trapped write at @off, @left bytes to go: the
 * widest naturally aligned one, 8 bytes at most, as vfio-pci-core splits
 * them, read from the user in the device's byte order (little endian, as
 * the core passes the bytes on unchanged).  Return: its size or -errno.
 */
static int qvp_trap_write_next(struct qvp_device *qdev, void __iomem *io,
			       const char __user *buf, u64 off, size_t left)
{
	__le64 v64;
	__le32 v32;
	__le16 v16;
	u8 v8;

	if (left >= 8 && IS_ALIGNED(off, 8)) {
		if (copy_from_user(&v64, buf, 8))
			return -EFAULT;
		return qvp_trap_write_one(qdev, io, off, 8,
					  le64_to_cpu(v64)) ?: 8;
	}
	if (left >= 4 && IS_ALIGNED(off, 4)) {
		if (copy_from_user(&v32, buf, 4))
			return -EFAULT;
		return qvp_trap_write_one(qdev, io, off, 4,
					  le32_to_cpu(v32)) ?: 4;
	}
	if (left >= 2 && IS_ALIGNED(off, 2)) {
		if (copy_from_user(&v16, buf, 2))
			return -EFAULT;
		return qvp_trap_write_one(qdev, io, off, 2,
					  le16_to_cpu(v16)) ?: 2;
	}
	if (copy_from_user(&v8, buf, 1))
		return -EFAULT;
	return qvp_trap_write_one(qdev, io, off, 1, v8) ?: 1;
}

/**
 * qvp_trap_write - a user's write() to the device fd, if it is trapped
 * @qdev: the device
 * @buf: the user's data
 * @count: its length
 * @ppos: the file position: region index and offset
 *
 * Writes that start in the trapped range are done here, access by access
 * (naturally aligned, 8 bytes at most, as vfio-pci-core does them); a
 * write that runs past the range ends at its end (a short write).
 *
 * Context: process context (the .write of the device fd).
 * Return: 0 if the write does not start in the trapped range (it is
 * vfio-pci-core's), else the bytes written, or -EFAULT, -EIO (memory
 * decoding off), or the backend's error if none was written.
 */
ssize_t qvp_trap_write(struct qvp_device *qdev, const char __user *buf,
		       size_t count, loff_t *ppos)
{
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	u64 off = *ppos & VFIO_PCI_OFFSET_MASK;
	void __iomem *io;
	size_t done = 0;
	int ret = 0;

	if (!qvp_trap_hits(qdev, index, off, count))
		return 0;
	count = min_t(u64, count, qdev->backend->trap_len - off);
	io = qvp_map_bar(qdev, index);
	if (IS_ERR(io))
		return PTR_ERR(io);

	while (done < count) {
		ret = qvp_trap_write_next(qdev, io, buf + done, off,
					  count - done);
		if (ret < 0)
			break;
		done += ret;
		off += ret;
		ret = 0;
	}
	if (!done)
		return ret;
	*ppos += done;
	return done;
}

/* The sparse mmap capability of the trapped BAR: the rest of it. */
static int qvp_trap_add_sparse(struct qvp_device *qdev, u64 bar_size,
			       struct vfio_info_cap *caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	size_t size = struct_size(sparse, areas, 1);
	u64 trap = qdev->backend->trap_len;
	int ret;

	sparse = kzalloc(size, GFP_KERNEL);
	if (!sparse)
		return -ENOMEM;
	sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
	sparse->header.version = 1;
	sparse->nr_areas = bar_size > trap ? 1 : 0;
	sparse->areas[0].offset = trap;
	sparse->areas[0].size = bar_size > trap ? bar_size - trap : 0;
	ret = vfio_info_add_capability(caps, &sparse->header,
				       struct_size(sparse, areas,
						   sparse->nr_areas));
	kfree(sparse);
	return ret;
}

#ifdef QVP_HAVE_GET_REGION_INFO_CAPS
/**
 * qvp_trap_region_info - VFIO_DEVICE_GET_REGION_INFO with the trap
 * @vdev: the device
 * @info: the region info, as the core fills it
 * @caps: its capability chain
 *
 * The .get_region_info_caps of kernels that have it: vfio-pci-core's,
 * plus the sparse mmap capability of the trapped BAR.
 *
 * Context: process context (the ioctl).
 * Return: 0 or -errno.
 */
int qvp_trap_region_info(struct vfio_device *vdev,
			 struct vfio_region_info *info,
			 struct vfio_info_cap *caps)
{
	struct qvp_device *qdev = to_qvp(vdev);
	int ret;

	ret = vfio_pci_ioctl_get_region_info(vdev, info, caps);
	if (ret || !qdev->backend->trap_len ||
	    info->index != qdev->backend->trap_bar ||
	    !(info->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return ret;
	return qvp_trap_add_sparse(qdev, info->size, caps);
}
#else
/**
 * qvp_trap_region_info - VFIO_DEVICE_GET_REGION_INFO with the trap
 * @qdev: the device
 * @arg: the user's struct vfio_region_info
 *
 * For kernels whose vfio-pci-core answers the ioctl itself: the core
 * answers for every region but the trapped BAR, whose answer is built
 * here, from one copy of the request, as the core would build it, plus
 * the sparse mmap capability.
 *
 * Context: process context (the ioctl).
 * Return: 0 or -errno.
 */
long qvp_trap_region_info(struct qvp_device *qdev, unsigned long arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info __user *uinfo = (void __user *)arg;
	struct pci_dev *pdev = qdev->core.pdev;
	unsigned int bar = qdev->backend->trap_bar;
	struct vfio_info_cap caps = {};
	struct vfio_region_info info;
	long ret = 0;

	if (!qdev->backend->trap_len)
		goto core;
	if (copy_from_user(&info, uinfo, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.index != bar)
		goto core;

	info.offset = VFIO_PCI_INDEX_TO_OFFSET(bar);
	info.size = pci_resource_len(pdev, bar);
	info.flags = 0;
	info.cap_offset = 0;
	if (info.size) {
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		if (qdev->core.bar_mmap_supported[bar]) {
			info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
			ret = qvp_trap_add_sparse(qdev, info.size, &caps);
			if (ret)
				return ret;
		}
	}
	if (caps.size) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			/* Too small for the capability: say what it needs. */
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(uinfo + 1, caps.buf, caps.size))
				ret = -EFAULT;
			info.cap_offset = sizeof(info);
		}
		kfree(caps.buf);
	}
	if (!ret && copy_to_user(uinfo, &info, minsz))
		ret = -EFAULT;
	return ret;

core:
	return vfio_pci_core_ioctl(&qdev->core.vdev,
				   VFIO_DEVICE_GET_REGION_INFO, arg);
}
#endif
