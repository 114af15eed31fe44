/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Build shim for vfio-mig: the system's <linux/vfio.h> plus the parts of
 * the VFIO migration v2 uAPI that came after Linux 6.1 (PRE_COPY,
 * MIG_DATA_SIZE, VFIO_MIG_GET_PRECOPY_INFO) and the device cdev's iommufd
 * ioctls that tools/lib/qvp's iommufd mode uses (Linux 6.6), for hosts
 * whose libc headers predate them (Debian 12).  Values are the ABI; nothing is defined when
 * the system header already has it.
 */
#ifndef VFIO_MIG_COMPAT_LINUX_VFIO_H
#define VFIO_MIG_COMPAT_LINUX_VFIO_H

#include_next <linux/vfio.h>

#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY		(1 << 2)
/* enum vfio_device_mig_state members missing from 6.1 headers */
#define VFIO_DEVICE_STATE_PRE_COPY	6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P	7
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#endif /* VFIO_MIG_COMPAT_LINUX_VFIO_H */
