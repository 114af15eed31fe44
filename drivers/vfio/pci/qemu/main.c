// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: a vfio-pci variant driver that live-migrates devices
 * emulated by QEMU (edu, ...), as a reference for VFIO migration drivers.
 *
 * This file is the PCI and vfio glue: the ID table, probe, the
 * vfio_device_ops (all of vfio-pci-core's, plus migration) and the PCI
 * reset notification.  It calls the migration protocol (fsm.c and what
 * it names) through the qvp_mig_*() entry points in qvp.h and nothing
 * calls back into it.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

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
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x8086, 0x10ca),	/* QEMU igb VF */
	  .driver_data = (kernel_ulong_t)&qvp_igbvf_backend },
	{}
};
MODULE_DEVICE_TABLE(pci, qvp_pci_table);

static const struct qvp_backend *qvp_find_backend(struct pci_dev *pdev)
{
	const struct pci_device_id *id = pci_match_id(qvp_pci_table, pdev);

	return id ? (const struct qvp_backend *)id->driver_data : NULL;
}

static long qvp_ioctl(struct vfio_device *vdev, unsigned int cmd,
		      unsigned long arg)
{
	struct qvp_device *qdev = to_qvp(vdev);
	struct vfio_device_info __user *uinfo = (void __user *)arg;
	u32 flags;
	long ret;

	switch (cmd) {
	case VFIO_DEVICE_IOEVENTFD:
		/* Its writes would bypass the trap (trap.c). */
		if (qdev->backend->trap_len)
			return -ENOTTY;
		break;
#ifndef QVP_HAVE_GET_REGION_INFO_CAPS
	case VFIO_DEVICE_GET_REGION_INFO:
		return qvp_trap_region_info(qdev, arg);
#endif
	}

	if (qdev->core.reset_works) {
		ret = vfio_pci_core_ioctl(vdev, cmd, arg);
		/* A PCI reset that leaves state: the backend does the rest. */
		if (!ret && cmd == VFIO_DEVICE_RESET &&
		    qdev->backend->pci_reset_partial)
			ret = qvp_mig_device_reset(qdev);
		return ret;
	}

	switch (cmd) {
	case VFIO_DEVICE_RESET:
		return qvp_mig_device_reset(qdev);
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

static int qvp_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	int ret = qvp_trap_mmap(to_qvp(vdev), vma);

	return ret ?: vfio_pci_core_mmap(vdev, vma);
}

static ssize_t qvp_write(struct vfio_device *vdev, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	ssize_t ret = qvp_trap_write(to_qvp(vdev), buf, count, ppos);

	return ret ?: vfio_pci_core_write(vdev, buf, count, ppos);
}

/*
 * vfio-pci-core resets a device that has a PCI reset method when it is
 * opened (vfio_pci_core_enable()) and closed (vfio_pci_core_disable()),
 * so that no register or interrupt state of one user reaches the next.
 * For a device without one (core.reset_works false: edu, ivshmem-plain)
 * the driver does the same with the reset it offers as VFIO_DEVICE_RESET
 * (struct qvp_backend.reset), and for a device whose PCI reset leaves
 * state (struct qvp_backend.pci_reset_partial: the igb VF) it adds that
 * reset to vfio-pci-core's.  core.reset_works is known only once
 * vfio_pci_core_enable() has run, on every open.
 */
static bool qvp_emulates_reset(struct qvp_device *qdev)
{
	return !qdev->core.reset_works || qdev->backend->pci_reset_partial;
}

/*
 * The reset at close touches the device only in D0.  A user may have
 * left it in low power (VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, or D3hot
 * through config space), which vfio_pci_core_disable() ends only after
 * close_device's own work, and MMIO to a device that is not in D0 reads
 * all ones or worse.  The reset at open, which finds the device in D0,
 * covers it: that one, not this, is what keeps one user's state from
 * the next.
 */
static bool qvp_reset_at_close(struct qvp_device *qdev)
{
	bool d0;

	if (!qvp_emulates_reset(qdev))
		return false;
	down_read(&qdev->core.memory_lock);
	d0 = !qdev->core.pm_runtime_engaged &&
	     qdev->core.pdev->current_state == PCI_D0;
	up_read(&qdev->core.memory_lock);
	return d0;
}

static int qvp_open_device(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);
	ret = vfio_pci_core_enable(&qdev->core);
	if (ret)
		return ret;
	ret = qvp_trap_check(qdev);
	if (ret)
		goto err_disable;
	ret = qdev->backend->open(qdev);
	if (ret)
		goto err_disable;

	/*
	 * The user cannot reach the device before open_device returns, so
	 * the reset runs against nobody.  Handing over a device that was
	 * not reset would hand over the last user's state: fail the open.
	 */
	ret = qvp_mig_restart(qdev, qvp_emulates_reset(qdev));
	if (ret) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "reset at open failed (%d): open refused, so that the last user's device state does not pass to this one\n",
				    ret);
		goto err_close;
	}
	vfio_pci_core_finish_enable(&qdev->core);
	return 0;

err_close:
	qvp_call(qdev->backend->close, qdev);
err_disable:
	vfio_pci_core_disable(&qdev->core);
	return ret;
}

static void qvp_close_device(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);
	qvp_log_stop(vdev);
	/*
	 * The user is gone (every fd and mmap of the device is); the reset
	 * also waits for work it left in flight, while its DMA mappings
	 * still exist.  It is best effort: the user's interrupt triggers
	 * stay attached until vfio_pci_core_disable(), so work that ends
	 * during the wait still signals them, and an ivshmem ioeventfd
	 * stays armed (a write to it still reaches BAR0) until then.  If
	 * it fails or is skipped, the next open resets again and refuses
	 * to open a device it cannot reset.
	 */
	ret = qvp_mig_restart(qdev, qvp_reset_at_close(qdev));
	if (ret)
		dev_err_ratelimited(qvp_dev(qdev),
				    "reset at close failed (%d); the next open resets it again\n",
				    ret);
	qvp_call(qdev->backend->close, qdev);
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
	qvp_mig_init(qdev);
	qvp_log_init(qdev);

	ret = vfio_pci_core_init_dev(vdev);
	if (ret) {
		qvp_log_release(qdev);
		qvp_mig_release(qdev);
		kfree(qdev->priv);
	}
	return ret;
}

static void qvp_release_dev(struct vfio_device *vdev)
{
	struct qvp_device *qdev = to_qvp(vdev);

	qvp_log_release(qdev);
	qvp_mig_release(qdev);
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
	.write = qvp_write,
	.mmap = qvp_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
#ifdef QVP_HAVE_MATCH_TOKEN_UUID
	.match_token_uuid = vfio_pci_core_match_token_uuid,
#endif
#ifdef QVP_HAVE_GET_REGION_INFO_CAPS
	.get_region_info_caps = qvp_trap_region_info,
#endif
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
};

/*
 * The operations a backend must have (backend.h); the protocol calls the
 * rest through qvp_call().  A backend that lacks one is a driver bug: say
 * which, loudly, and bind nothing to it.
 */
static bool qvp_backend_valid(const struct qvp_backend *be)
{
	const char *lacks = NULL;
	bool bulk = false;
	unsigned int i;

	for (i = 0; be->records && i < be->nr_records; i++)
		bulk |= be->records[i].bulk;
	if (!be->name || !be->records || !be->nr_records)
		lacks = "a name or a record table";
	else if (!be->open)
		lacks = "open";
	else if (!be->reset)
		lacks = "reset";
	else if (!be->stop_copy_size)
		lacks = "stop_copy_size";
	else if (!be->save_record)
		lacks = "save_record";
	else if (!be->load_record)
		lacks = "load_record";
	else if (!be->load_commit)
		lacks = "load_commit";
	else if (bulk && !be->load_bulk)
		lacks = "load_bulk, which its bulk record types need";
	else if (be->trap_len && (!PAGE_ALIGNED(be->trap_len) ||
				  be->trap_bar >= PCI_STD_NUM_BARS))
		lacks = "a trap_len that is a multiple of PAGE_SIZE in a BAR";
	else if ((be->trap_write && !be->trap_len) ||
		 ((be->log_start || be->log_sync) && !be->dma_log))
		lacks = "trap_len for trap_write, or dma_log for log_start and log_sync";
	else if (be->precopy_scan && !be->precopy_pending)
		lacks = "precopy_pending, without which precopy_scan finds nothing";
	return !WARN(lacks, "%s: backend %s lacks %s\n", QVP_DRIVER_NAME,
		     be->name ?: "(unnamed)", lacks);
}

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
	if (!qvp_backend_valid(be))
		return -EINVAL;
	ret = qvp_call(be->probe, pdev);
	if (ret)
		return ret;

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

/* The PCI core reset the device (FLR, bus reset, ...). */
static void qvp_reset_done(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	qvp_mig_reset_done(container_of(core, struct qvp_device, core));
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
