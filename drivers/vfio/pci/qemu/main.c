// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: a vfio-pci variant driver that live-migrates devices
 * emulated by QEMU (edu, ...), as a reference for VFIO migration drivers.
 *
 * This file is the PCI and vfio glue: probe, the vfio_device_ops (all of
 * vfio-pci-core's, plus migration), VFIO_DEVICE_RESET for devices without
 * a PCI reset method, and the deferred-reset locking.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "qvp.h"

/*
 * The devices we drive, each with its backend: the one list of them.
 * Like every upstream vfio-pci variant driver, we bind only on request
 * (driver_override, or libvirt's managed hostdev, which picks a driver
 * through the "vfio_pci:" modalias these entries export): loading the
 * module, or installing it with DKMS, takes no device from its driver.
 */
static const struct pci_device_id qvp_pci_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x1234, 0x11e8),	/* QEMU edu */
	  .driver_data = (kernel_ulong_t)&qvp_edu_backend },
	/* ivshmem-plain; ivshmem-doorbell has the same ID: ivs_probe() */
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x1af4, 0x1110),
	  .driver_data = (kernel_ulong_t)&qvp_ivshmem_backend },
	{}
};
MODULE_DEVICE_TABLE(pci, qvp_pci_table);

static const struct qvp_backend *qvp_find_backend(struct pci_dev *pdev)
{
	const struct pci_device_id *id = pci_match_id(qvp_pci_table, pdev);

	return id ? (const struct qvp_backend *)id->driver_data : NULL;
}

static struct qvp_device *to_qvp(struct vfio_device *vdev)
{
	return container_of(vdev, struct qvp_device, core.vdev);
}

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
 * changed, and qvp_mmio_end() changes it back and nothing else.
 *
 * Context: process context, may sleep.  Keep the bracket short: do not
 * sleep inside it (it holds up the user's config writes, BAR accesses
 * through the fd and mmap faults).  Lock order: state_mutex, then a
 * session file lock, then igate, then memory_lock (core takes igate
 * before memory_lock too).  Never fault on userspace memory between
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
		qdev->decode_off_noted = false;
		return 0;
	}
	if (!qdev->decode_off_noted)
		dev_info(qvp_dev(qdev),
			 "memory decoding is off (PCI_COMMAND 0x%04x): the driver turns it on for its own BAR accesses, and off again\n",
			 cmd);
	qdev->decode_off_noted = true;
	qvp_set_decode(qdev, true);
	return PCI_COMMAND_MEMORY;
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
 * qvp_state_lock - take state_mutex and apply a pending PCI reset
 * @qdev: the device
 *
 * Every state_mutex holder enters through here, so nobody sees the
 * migration state of before a reset that qvp_reset_done() has recorded:
 * if one is pending, qvp_mig_reset_state() ends the sessions and returns
 * to RUNNING before this returns.
 *
 * Context: process context, may sleep.  Takes state_mutex, which comes
 * before a session file's lock and vfio-pci-core's memory_lock; release
 * it with qvp_state_unlock().
 */
void qvp_state_lock(struct qvp_device *qdev)
{
	bool reset;

	mutex_lock(&qdev->state_mutex);
	spin_lock(&qdev->reset_lock);
	reset = qdev->deferred_reset;
	qdev->deferred_reset = false;
	spin_unlock(&qdev->reset_lock);
	if (reset)
		qvp_mig_reset_state(qdev);
}

/**
 * qvp_state_unlock - release state_mutex
 * @qdev: the device
 *
 * A reset recorded meanwhile is applied by the next qvp_state_lock(),
 * which the reset's work item makes sure comes soon.
 *
 * Context: state_mutex held, taken by qvp_state_lock().
 */
void qvp_state_unlock(struct qvp_device *qdev)
{
	mutex_unlock(&qdev->state_mutex);
}

static void qvp_reset_work(struct work_struct *work)
{
	struct qvp_device *qdev = container_of(work, struct qvp_device,
					       reset_work);

	qvp_state_lock(qdev);
	qvp_state_unlock(qdev);
}

/*
 * The PCI core reset the device (FLR, bus reset, ...).  vfio-pci-core calls
 * this with its memory_lock held.  Ending the sessions takes their file
 * locks, and a read() may hold a file lock while copy_to_user() faults on
 * a BAR mmap, which needs memory_lock: applying the reset here could
 * deadlock, and so could sleeping on state_mutex, whose holders may wait
 * for memory_lock.  So only record the reset: the next state_mutex holder
 * applies it, and a work item makes sure one comes soon.
 */
static void qvp_reset_done(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);
	struct qvp_device *qdev = container_of(core, struct qvp_device, core);

	spin_lock(&qdev->reset_lock);
	qdev->deferred_reset = true;
	spin_unlock(&qdev->reset_lock);
	schedule_work(&qdev->reset_work);
}

/*
 * VFIO_DEVICE_RESET for a device that has no PCI reset method (edu has no
 * FLR, no PM reset and sits on the root bus): the backend writes the
 * power-on register values and migration returns to RUNNING.
 */
static long qvp_device_reset(struct qvp_device *qdev)
{
	int ret;

	qvp_state_lock(qdev);
	qvp_mig_reset_state(qdev);
	ret = qdev->backend->reset(qdev);
	if (ret) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "device reset failed (%d); device state is ERROR, retry the reset\n",
				    ret);
		qdev->mig_state = VFIO_DEVICE_STATE_ERROR;
	}
	qvp_state_unlock(qdev);
	return ret;
}

static long qvp_ioctl(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg)
{
	struct qvp_device *qdev = to_qvp(vdev);
	struct vfio_device_info __user *uinfo = (void __user *)arg;
	u32 flags;
	long ret;

	if (qdev->core.reset_works)
		return vfio_pci_core_ioctl(vdev, cmd, arg);

	switch (cmd) {
	case VFIO_DEVICE_RESET:
		return qvp_device_reset(qdev);
	case VFIO_DEVICE_GET_INFO:
		/* We implement the reset, so advertise it. */
		ret = vfio_pci_core_ioctl(vdev, cmd, arg);
		if (ret)
			return ret;
		if (get_user(flags, &uinfo->flags))
			return -EFAULT;
		return put_user(flags | VFIO_DEVICE_FLAGS_RESET,
				&uinfo->flags);
	default:
		return vfio_pci_core_ioctl(vdev, cmd, arg);
	}
}

static int qvp_open_device(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);
	int ret;

	ret = vfio_pci_core_enable(&qdev->core);
	if (ret)
		return ret;

	ret = qdev->backend->open(qdev);
	if (ret) {
		vfio_pci_core_disable(&qdev->core);
		return ret;
	}
	qvp_state_lock(qdev);
	qvp_mig_reset_state(qdev);
	qvp_state_unlock(qdev);
	vfio_pci_core_finish_enable(&qdev->core);
	return 0;
}

static void qvp_close_device(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);

	qvp_state_lock(qdev);
	qvp_mig_reset_state(qdev);
	qvp_state_unlock(qdev);
	if (qdev->backend->close)
		qdev->backend->close(qdev);
	vfio_pci_core_close_device(vdev);
}

static int qvp_init_dev(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);
	struct pci_dev *pdev = to_pci_dev(vdev->dev);
	const struct qvp_backend *be = qvp_find_backend(pdev);
	int ret;

	qdev->backend = be;
	qdev->priv = kzalloc(be->priv_size, GFP_KERNEL);
	if (!qdev->priv)
		return -ENOMEM;
	qdev->id = (struct qvp_stream_id) {
		.vendor = pdev->vendor,
		.device = pdev->device,
		.subsystem_vendor = pdev->subsystem_vendor,
		.subsystem_device = pdev->subsystem_device,
		.revision = pdev->revision,
		.backend = be->id,
	};
	mutex_init(&qdev->state_mutex);
	spin_lock_init(&qdev->reset_lock);
	INIT_WORK(&qdev->reset_work, qvp_reset_work);
	qdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
				VFIO_MIGRATION_PRE_COPY;
	vdev->mig_ops = &qvp_mig_ops;

	ret = vfio_pci_core_init_dev(vdev);
	if (ret) {
		mutex_destroy(&qdev->state_mutex);
		kfree(qdev->priv);
	}
	return ret;
}

static void qvp_release_dev(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);

	cancel_work_sync(&qdev->reset_work);
	mutex_destroy(&qdev->state_mutex);
	kfree(qdev->priv);
	vfio_pci_core_release_dev(vdev);
}

static const struct vfio_device_ops qvp_vfio_ops = {
	.name = QVP_DRIVER_NAME,
	.init = qvp_init_dev,
	.release = qvp_release_dev,
	.open_device = qvp_open_device,
	.close_device = qvp_close_device,
	.ioctl = qvp_ioctl,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = vfio_pci_core_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
#ifdef QVP_HAVE_MATCH_TOKEN_UUID
	.match_token_uuid = vfio_pci_core_match_token_uuid,
#endif
#ifdef QVP_HAVE_GET_REGION_INFO_CAPS
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
#endif
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
};

static int qvp_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	const struct qvp_backend *be;
	struct qvp_device *qdev;
	int ret;

	/*
	 * driver_override offers any device (the PCI core then passes a
	 * match-all ID): take only those we model.
	 */
	be = qvp_find_backend(pdev);
	if (!be) {
		pci_info(pdev, "no %s backend for %04x:%04x, not binding\n",
			 QVP_DRIVER_NAME, pdev->vendor, pdev->device);
		return -ENODEV;
	}
	if (be->probe) {
		ret = be->probe(pdev);
		if (ret)
			return ret;
	}

	qdev = vfio_alloc_device(qvp_device, core.vdev, &pdev->dev,
				 &qvp_vfio_ops);
	if (IS_ERR(qdev))
		return PTR_ERR(qdev);

	dev_set_drvdata(&pdev->dev, &qdev->core);
	ret = vfio_pci_core_register_device(&qdev->core);
	if (ret) {
		vfio_put_device(&qdev->core.vdev);
		return ret;
	}
	pci_info(pdev, "%s: %s device, migration STOP_COPY|P2P|PRE_COPY\n",
		 QVP_DRIVER_NAME, qdev->backend->name);
	return 0;
}

static void qvp_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

static const struct pci_error_handlers qvp_err_handlers = {
	.reset_done = qvp_reset_done,
	.error_detected = vfio_pci_core_aer_err_detected,
};

static struct pci_driver qvp_pci_driver = {
	.name = QVP_DRIVER_NAME,
	.id_table = qvp_pci_table,
	.probe = qvp_probe,
	.remove = qvp_remove,
	.err_handler = &qvp_err_handlers,
	.driver_managed_dma = true,
};
module_pci_driver(qvp_pci_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO PCI variant driver with live migration for QEMU-emulated devices");
