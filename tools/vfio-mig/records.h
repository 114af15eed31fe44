/* SPDX-License-Identifier: GPL-2.0 */
/* vfio-mig: the record types of each backend's stream (records.c). */
#ifndef VFIO_MIG_RECORDS_H
#define VFIO_MIG_RECORDS_H

#include "stream.h"

#define QVP_EDU_NR_RECORDS	1
#define QVP_IVSHMEM_NR_RECORDS	3
#define QVP_IGBVF_NR_RECORDS	2
extern const struct qvp_rec_desc qvp_edu_records[QVP_EDU_NR_RECORDS];
extern const struct qvp_rec_desc qvp_ivshmem_records[QVP_IVSHMEM_NR_RECORDS];
extern const struct qvp_rec_desc qvp_igbvf_records[QVP_IGBVF_NR_RECORDS];

#endif /* VFIO_MIG_RECORDS_H */
