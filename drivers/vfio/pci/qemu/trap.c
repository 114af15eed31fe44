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
 * The range must lie within its BAR, and that BAR must hold no MSI-X
 * table, whose capability the core adds to the region info.
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
	if (be->trap_len > pci_resource_len(pdev, be->trap_bar) ||
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
