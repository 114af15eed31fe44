/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Build shim for vfio-mig: the system's <linux/vfio.h> plus the parts of
 * the VFIO migration v2 uAPI that came after Linux 6.1 (PRE_COPY,
 * MIG_DATA_SIZE, VFIO_MIG_GET_PRECOPY_INFO), for hosts whose libc headers
 * predate them (Debian 12).  Values are the ABI; nothing is defined when
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

#endif /* VFIO_MIG_COMPAT_LINUX_VFIO_H */
