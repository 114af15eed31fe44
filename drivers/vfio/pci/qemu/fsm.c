// SPDX-License-Identifier: GPL-2.0
/*
 * qemu-vfio-pci: the VFIO migration protocol v2 state machine.
 *
 * vfio_mig_get_next_state() splits every requested transition into the
 * single arcs that STOP_COPY | P2P | PRE_COPY allow; qvp_step() performs
 * one, with the backend (the device) and the save and resume sessions
 * (save.c, resume.c).  Also here: MIG_DATA_SIZE and the entry points
 * through which the PCI glue (main.c) starts, restarts and resets the
 * migration state of a device.
 */
#include <linux/err.h>
#include <linux/file.h>

#include "session.h"

#define ARC(a, b)	(((u32)(a) << 8) | (u32)(b))

/**
 * qvp_step - perform one arc of the FSM
 * @qdev: the device
 * @next: the state one arc away from @qdev->mig_state
 *
 * On error the device stays in its current state, except for a failed
 * RESUMING -> STOP, which leaves it in ERROR.
 *
 * Context: state_mutex held.
 * Return: the new data file (arcs that start a session), NULL, or an
 * ERR_PTR().
 */
static struct file *qvp_step(struct qvp_device *qdev,
			     enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = qdev->mig_state;
	const struct qvp_backend *be = qdev->backend;
	int ret = 0;

	switch (ARC(cur, next)) {
	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P):
		ret = qvp_call(be->p2p_stop, qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_RUNNING):
		ret = qvp_call(be->p2p_start, qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY_P2P):
		ret = qvp_save_session_op(qdev, be->p2p_stop);
		break;

	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_PRE_COPY):
		ret = qvp_save_session_op(qdev, be->p2p_start);
		break;

	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_STOP):
		ret = qvp_call(be->quiesce, qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING_P2P):
		ret = qvp_call(be->unquiesce, qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY):
		return qvp_start_save(qdev, false);

	case ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_PRE_COPY):
	case ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_PRE_COPY_P2P):
		return qvp_start_save(qdev, true);

	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_STOP_COPY):
		ret = qvp_save_enter_stop_copy(qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY, VFIO_DEVICE_STATE_RUNNING):
	case ARC(VFIO_DEVICE_STATE_PRE_COPY_P2P, VFIO_DEVICE_STATE_RUNNING_P2P):
		qvp_end_save(qdev);
		break;

	case ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING):
		return qvp_start_resume(qdev);

	case ARC(VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_STOP):
		ret = qvp_finish_resume(qdev);
		if (ret) {
			qdev->mig_state = VFIO_DEVICE_STATE_ERROR;
			ret = -EINVAL;
		}
		break;

	default:
		/*
		 * vfio_mig_get_next_state() refuses what the device does not
		 * support and splits the rest into these arcs: any other is
		 * a bug in the driver or the core, not bad input.
		 */
		WARN_ONCE(1, "%s: no migration arc from state %u to %u\n",
			  dev_name(qvp_dev(qdev)), cur, next);
		ret = -EINVAL;
		break;
	}
	return ret ? ERR_PTR(ret) : NULL;
}

static struct file *qvp_set_state(struct vfio_device *vdev,
				  enum vfio_device_mig_state new_state)
{
	struct qvp_device *qdev = to_qvp(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	qvp_state_lock(qdev);
	if (qdev->mig_state == VFIO_DEVICE_STATE_ERROR &&
	    new_state != VFIO_DEVICE_STATE_ERROR) {
		/* vfio_mig_get_next_state() has no arc out of ERROR. */
		dev_err_ratelimited(qvp_dev(qdev),
				    "device is in the ERROR migration state; VFIO_DEVICE_RESET it\n");
		res = ERR_PTR(-EINVAL);
	}
	while (!res && qdev->mig_state != new_state) {
		ret = vfio_mig_get_next_state(vdev, qdev->mig_state,
					      new_state, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = qvp_step(qdev, next);
		if (IS_ERR(res))
			break;
		qdev->mig_state = next;
		if (!res)
			continue;
		if (next != new_state) {
			/* Only the requested end state may open a session. */
			dev_err_ratelimited(qvp_dev(qdev),
					    "arc to %u opened a session before reaching %u\n",
					    next, new_state);
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	qvp_state_unlock(qdev);
	return res;
}

static int qvp_get_state(struct vfio_device *vdev,
			 enum vfio_device_mig_state *state)
{
	struct qvp_device *qdev = to_qvp(vdev);

	qvp_state_lock(qdev);
	*state = qdev->mig_state;
	qvp_state_unlock(qdev);
	return 0;
}

static int qvp_get_data_size(struct vfio_device *vdev,
			     unsigned long *stop_copy_length)
{
	struct qvp_device *qdev = to_qvp(vdev);

	qvp_state_lock(qdev);
	*stop_copy_length = qvp_save_data_size(qdev);
	qvp_state_unlock(qdev);
	return 0;
}

static const struct vfio_migration_ops qvp_mig_ops = {
	.migration_set_state = qvp_set_state,
	.migration_get_state = qvp_get_state,
	.migration_get_data_size = qvp_get_data_size,
};

/**
 * qvp_mig_init - set up migration for a device being initialised
 * @qdev: the device, with its backend chosen
 *
 * Advertises STOP_COPY | P2P | PRE_COPY with our migration ops and starts
 * in RUNNING.
 */
void qvp_mig_init(struct qvp_device *qdev)
{
	struct vfio_device *vdev = &qdev->core.vdev;

	qvp_session_init(qdev);
	qdev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
				VFIO_MIGRATION_PRE_COPY;
	vdev->mig_ops = &qvp_mig_ops;
}

/**
 * qvp_mig_release - undo qvp_mig_init()
 * @qdev: the device, being freed
 *
 * Context: process context, may sleep.
 */
void qvp_mig_release(struct qvp_device *qdev)
{
	qvp_session_release(qdev);
}

/**
 * qvp_mig_restart - end any session, return to RUNNING, reset if asked
 * @qdev: the device, opened by its backend (struct qvp_backend.open)
 * @reset: also put the device's registers to their power-on values
 *	(struct qvp_backend.reset): for a device without a PCI reset
 *	method, which vfio-pci-core cannot reset itself, or one whose PCI
 *	reset leaves state (struct qvp_backend.pci_reset_partial)
 *
 * For open_device and close_device: a new user starts from RUNNING with
 * no session, a closed device keeps none and, with @reset, no state of
 * its last user reaches the next one.
 *
 * Context: process context, may sleep; vfio's dev_set lock held (open_device,
 * close_device); takes state_mutex.
 * Return: 0, or the backend's -errno from the reset; the migration state
 * is RUNNING either way (no user can see it: the open fails, or the
 * device is closing).
 */
int qvp_mig_restart(struct qvp_device *qdev, bool reset)
{
	int ret = 0;

	qvp_state_lock(qdev);
	qvp_mig_reset_state(qdev);
	/*
	 * No user mapping of the BARs exists to zap (qvp_zap_bars()): at
	 * open the user has no fd yet, at close every mmap is gone.
	 */
	if (reset)
		ret = qdev->backend->reset(qdev);
	qvp_state_unlock(qdev);
	return ret;
}

/**
 * qvp_mig_device_reset - VFIO_DEVICE_RESET by the backend
 * @qdev: the device
 *
 * For a device that has no PCI reset method (edu has no FLR, no PM reset
 * and sits on the root bus), or after vfio-pci-core's reset of one whose
 * PCI reset leaves state (struct qvp_backend.pci_reset_partial): the
 * sessions end, the backend writes the power-on register values and
 * migration returns to RUNNING.  The user's
 * BAR mappings are taken away (qvp_zap_bars()) before the backend's reset,
 * as vfio-pci-core takes them before a PCI reset, and again after it,
 * whether it succeeded or not: the emulated reset does not hold
 * memory_lock throughout, so a user's access in the middle of it maps a
 * page again, and that mapping must not outlive the reset either.
 *
 * Context: process context, may sleep.
 * Return: 0, or the backend's -errno, which leaves the migration state
 * ERROR until a reset succeeds.
 */
long qvp_mig_device_reset(struct qvp_device *qdev)
{
	int ret;

	qvp_state_lock(qdev);
	qvp_mig_reset_state(qdev);
	qvp_zap_bars(qdev);
	ret = qdev->backend->reset(qdev);
	qvp_zap_bars(qdev);
	if (ret) {
		dev_err_ratelimited(qvp_dev(qdev),
				    "device reset failed (%d); device state is ERROR, retry the reset\n",
				    ret);
		qdev->mig_state = VFIO_DEVICE_STATE_ERROR;
	}
	qvp_state_unlock(qdev);
	return ret;
}
