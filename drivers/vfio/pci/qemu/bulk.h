/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: what backends use of bulk.c, the data path of bulk
 * records: the digest of device memory that a save records per block
 * (struct qvp_bulk.digests), to find changed blocks later.
 */
#ifndef QVP_BULK_H
#define QVP_BULK_H

#include "backend.h"

u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len);

#endif /* QVP_BULK_H */
