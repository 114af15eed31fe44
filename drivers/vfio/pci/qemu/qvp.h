/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu-vfio-pci: the device, as the PCI glue (main.c), the migration
 * protocol (fsm.c and the units session.h lists) and the backends share
 * it.  The layers, each calling only those below it:
 *
 *   main.c       PCI and vfio glue
 *   fsm.c ...    the migration protocol, device agnostic (session.h)
 *   edu.c, ...   the backends, one per device model (backend.h)
 *   device.c     BAR mapping and the MMIO bracket; stream.c, the format
 */
#ifndef QVP_H
#define QVP_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/workqueue.h>

#include "backend.h"

#define QVP_DRIVER_NAME	"qemu-vfio-pci"

struct qvp_mig_file;

/**
 * struct qvp_device - one device bound to qemu-vfio-pci
 * @core: the vfio-pci-core device; everything vfio-pci offers comes from it
 * @backend: the device model, chosen at probe time
 * @priv: @backend's private state (struct qvp_backend.priv_size bytes)
 * @id: the identity written to, and required in, stream headers
 * @state_mutex: serialises migration state changes, VFIO_DEVICE_RESET,
 *	MIG_DATA_SIZE, VFIO_MIG_GET_PRECOPY_INFO and open/close against each
 *	other.  Protects @mig_state, @save and @resume and the backend.
 *	Taken before a session file's lock and before vfio's memory_lock,
 *	never after them.  Never held across copy_to_user()/copy_from_user().
 *	Taken only through qvp_state_lock(), which applies a deferred reset.
 * @mig_state: current VFIO migration state
 * @save: the open save session (STOP_COPY / PRE_COPY*), or NULL
 * @resume: the open resume session (RESUMING), or NULL
 * @reset_lock: protects @deferred_reset.  A PCI reset notification
 *	(qvp_mig_reset_done()) arrives with vfio's memory_lock held, so it
 *	must neither sleep on @state_mutex nor end sessions itself: it only
 *	sets @deferred_reset under this spinlock and queues @reset_work.
 * @deferred_reset: a reset happened and its effect on the migration state
 *	(sessions ended, RUNNING) is not applied yet; qvp_state_lock() applies
 *	it
 * @reset_work: takes @state_mutex soon after a reset notification, so the
 *	reset is applied even if userspace makes no further call
 * @decode_off_noted: the log says that memory decoding was found off and
 *	is turned on for the driver's accesses; cleared when it is found
 *	on.  Protected by vfio-pci-core's memory_lock (qvp_mmio_begin()).
 */
struct qvp_device {
	struct vfio_pci_core_device core;
	const struct qvp_backend *backend;
	void *priv;
	struct qvp_stream_id id;

	struct mutex state_mutex;	/* see @state_mutex above */
	enum vfio_device_mig_state mig_state;
	struct qvp_mig_file *save;
	struct qvp_mig_file *resume;

	spinlock_t reset_lock;		/* see @reset_lock above */
	bool deferred_reset;
	struct work_struct reset_work;

	bool decode_off_noted;
};

static inline void *qvp_priv(struct qvp_device *qdev)
{
	return qdev->priv;
}

static inline struct device *qvp_dev(struct qvp_device *qdev)
{
	return &qdev->core.pdev->dev;
}

/* device.c: for the backends and the protocol */
void __iomem *qvp_map_bar(struct qvp_device *qdev, int bar);
u16 qvp_mmio_begin(struct qvp_device *qdev);
void qvp_mmio_end(struct qvp_device *qdev, u16 set);
u64 qvp_bulk_digest_io(u64 seed, const void __iomem *src, size_t len);

/* fsm.c and session.c: the protocol's entry points for the PCI glue */
void qvp_mig_init(struct qvp_device *qdev);
void qvp_mig_release(struct qvp_device *qdev);
void qvp_mig_restart(struct qvp_device *qdev);
long qvp_mig_device_reset(struct qvp_device *qdev);
void qvp_mig_reset_done(struct qvp_device *qdev);

#endif /* QVP_H */
