/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Build shim for tools/lib/qvp/vfio_dev.c: the system's <linux/iommufd.h>
 * if there is one, plus the part of the iommufd uAPI that the library's
 * iommufd mode uses (IOAS alloc, map, unmap; Linux 6.2) for hosts whose
 * libc headers predate it (Debian 12 has none).  Values are the ABI;
 * nothing is defined when the system header already has it.
 */
#ifndef VFIO_MIG_COMPAT_LINUX_IOMMUFD_H
#define VFIO_MIG_COMPAT_LINUX_IOMMUFD_H

#if __has_include_next(<linux/iommufd.h>)
#include_next <linux/iommufd.h>
#endif

#ifndef IOMMU_IOAS_ALLOC
#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE			(';')

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC		_IO(IOMMUFD_TYPE, 0x81)

enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP			_IO(IOMMUFD_TYPE, 0x85)

struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP		_IO(IOMMUFD_TYPE, 0x86)
#endif /* !IOMMU_IOAS_ALLOC */

#endif /* VFIO_MIG_COMPAT_LINUX_IOMMUFD_H */
