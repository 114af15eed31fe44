// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: opening devices (with a diagnosis of what stands in the way),
 * state transitions, and the info and state commands.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-mig.h"

#define SYSFS_PCI	"/sys/bus/pci/devices"

static bool is_vfio_driver(const char *driver)
{
	/* vfio-pci and its variants: qemu-vfio-pci, mlx5_vfio_pci, ... */
	return strstr(driver, "vfio") != NULL;
}

/* Basename of a sysfs symlink's target; "" if there is none. */
static void sysfs_link(const char *path, char *out, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(out, len, "%s", base ? base + 1 : target);
}

void sysfs_driver(const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/driver", bdf);
	sysfs_link(path, out, len);
}

int sysfs_group(const char *bdf)
{
	char path[PATH_MAX], name[64], *end;
	long id;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/iommu_group", bdf);
	sysfs_link(path, name, sizeof(name));
	if (!name[0])
		return -1;
	id = strtol(name, &end, 10);
	if (*end || id < 0 || id > INT_MAX)
		return -1;
	return id;
}

int check_bdf_arg(const char *cmd, const char *bdf, char *norm, size_t len)
{
	if (vfio_bdf_normalise(bdf, norm, len))
		return usage_error(cmd,
				   "'%s' is not a PCI address: expected DDDD:BB:DD.F such as 0000:00:03.0 (see lspci -D)",
				   bdf);
	return EXIT_OK;
}

/* Devices of @group bound to a driver that makes the group non-viable. */
static void list_group_culprits(int group, const char *self)
{
	char path[PATH_MAX], driver[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, self))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/kernel/iommu_groups/%d/devices/%s/driver",
			 group, de->d_name);
		sysfs_link(path, driver, sizeof(driver));
		if (!driver[0] || is_vfio_driver(driver) ||
		    !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport"))
			continue;
		fprintf(stderr, "%s  %s (driver %s)\n",
			n++ ? "" : "  devices bound to host drivers:\n",
			de->d_name, driver);
	}
	closedir(d);
}

static void explain_not_vfio(const char *bdf, const char *driver)
{
	if (driver[0])
		err_msg("%s is bound to driver '%s', not to a vfio driver", bdf,
			driver);
	else
		err_msg("%s is not bound to any driver; it must be bound to a vfio driver",
			bdf);
	fprintf(stderr,
		"  To hand it to a vfio driver (qemu-vfio-pci for QEMU's edu device;\n"
		"  a migration-capable vfio-pci variant such as mlx5_vfio_pci for others):\n"
		"    modprobe qemu-vfio-pci\n"
		"    echo qemu-vfio-pci > %s/%s/driver_override\n",
		SYSFS_PCI, bdf);
	if (driver[0])
		fprintf(stderr, "    echo %s > %s/%s/driver/unbind\n", bdf,
			SYSFS_PCI, bdf);
	fprintf(stderr, "    echo %s > /sys/bus/pci/drivers_probe\n", bdf);
}

static void explain_open_error(struct mig_dev *md, const char *bdf, int ret)
{
	int g = md->group;

	switch (-ret) {
	case EACCES:
	case EPERM:
		if (ret == -EPERM && geteuid() == 0 &&
		    strstr(md->vd.err, "viable")) {
			err_msg("IOMMU group %d of %s is not viable: other devices in the group are bound to host drivers",
				g, bdf);
			list_group_culprits(g, bdf);
			fprintf(stderr,
				"  Bind every device in /sys/kernel/iommu_groups/%d/devices to a vfio driver\n"
				"  (or unbind it) before using %s.\n", g, bdf);
			return;
		}
		err_msg("permission denied opening %s (/dev/vfio/%d): run %s as root, or give your user read-write access to /dev/vfio/%d and /dev/vfio/vfio%s",
			bdf, g, prog, g,
			strstr(md->vd.err, "viable") ? " (the kernel also says the IOMMU group is not viable)" : "");
		return;
	case EBUSY:
		err_msg("%s is busy: the device or its IOMMU group %d is already open in another process (e.g. QEMU, another vfio-mig, or a 'vfio-mig hold', whose devices are used with --holder PATH or %s=PATH); find it with 'fuser -v /dev/vfio/%d'",
			bdf, g, VFIO_HOLD_ENV, g);
		if (!access(VFIO_HOLD_DEFAULT, F_OK))
			fprintf(stderr, "  A holder's socket exists at %s: try --holder %s\n",
				VFIO_HOLD_DEFAULT, VFIO_HOLD_DEFAULT);
		return;
	case ENODEV:
		if (!is_vfio_driver(md->driver)) {
			explain_not_vfio(bdf, md->driver);
			return;
		}
		break;
	default:
		break;
	}
	err_msg("cannot open %s: %s (%s)", bdf,
		md->vd.err[0] ? md->vd.err : strerror(-ret), errno_name(ret));
}

static int mig_dev_open_how(struct mig_dev *md, const char *bdf,
			    bool need_mig, const char *holder);

int mig_dev_open(struct mig_dev *md, const char *bdf, bool need_mig)
{
	return mig_dev_open_how(md, bdf, need_mig, holder_for_devices());
}

int mig_dev_open_direct(struct mig_dev *md, const char *bdf, bool need_mig)
{
	return mig_dev_open_how(md, bdf, need_mig, NULL);
}

static int mig_dev_open_how(struct mig_dev *md, const char *bdf,
			    bool need_mig, const char *holder)
{
	char norm[32], path[PATH_MAX];
	int ret;

	memset(md, 0, sizeof(*md));
	md->vd.device_fd = md->vd.group_fd = md->vd.container_fd = -1;
	md->vd.iommufd = -1;
	md->vd.hold_fd = -1;
	md->group = -1;
	if (vfio_bdf_normalise(bdf, norm, sizeof(norm)))
		return usage_error(NULL,
				   "'%s' is not a PCI address: expected DDDD:BB:DD.F such as 0000:00:03.0 (see lspci -D)",
				   bdf);

	snprintf(path, sizeof(path), SYSFS_PCI "/%s", norm);
	if (access(path, F_OK)) {
		err_msg("no PCI device %s: %s does not exist; list the devices with 'lspci -D' (the address includes the domain, e.g. 0000:)",
			norm, path);
		return EXIT_FAIL;
	}
	sysfs_driver(norm, md->driver, sizeof(md->driver));
	md->group = sysfs_group(norm);
	if (!is_vfio_driver(md->driver)) {
		explain_not_vfio(norm, md->driver);
		return EXIT_FAIL;
	}
	if (md->group < 0) {
		err_msg("%s (driver %s) has no IOMMU group: enable the IOMMU (e.g. intel_iommu=on, or QEMU -device intel-iommu) or load vfio with enable_unsafe_noiommu_mode=1",
			norm, md->driver);
		return EXIT_FAIL;
	}
	if (holder) {
		ret = vfio_dev_open_held(&md->vd, holder, norm);
		if (ret) {
			err_msg("%s", md->vd.err);
			return EXIT_FAIL;
		}
		vlog("%s lent by the holder at %s (driver %s, IOMMU group %d)",
		     norm, holder, md->driver, md->group);
		goto flags;
	}
	if (access("/dev/vfio/vfio", F_OK)) {
		err_msg("/dev/vfio/vfio does not exist: this kernel has no VFIO group/container interface (CONFIG_VFIO_GROUP/CONFIG_VFIO_CONTAINER); the iommufd cdev interface is not supported by %s yet",
			prog);
		return EXIT_FAIL;
	}

	/*
	 * vfio-mig speaks the legacy interface only (see the check above):
	 * $VFIO_SELFTESTS_IOMMU_MODE, which vfio_dev_open() reads, is the
	 * selftests' business.
	 */
	ret = vfio_dev_open_mode(&md->vd, norm, VFIO_DEV_IOMMU_LEGACY);
	if (ret) {
		explain_open_error(md, norm, ret);
		return EXIT_FAIL;
	}
	vlog("opened %s (driver %s, IOMMU group %d%s)", norm, md->driver,
	     md->group, md->vd.noiommu ? ", no-IOMMU mode" : "");

flags:
	ret = vfio_dev_mig_flags(&md->vd, &md->flags);
	if (ret) {
		md->flags = 0;
		if (!need_mig)
			return EXIT_OK;
		if (ret == -ENOTTY || ret == -EINVAL || ret == -EOPNOTSUPP)
			err_msg("%s (driver %s) does not support migration: its driver does not advertise VFIO_DEVICE_FEATURE_MIGRATION (plain vfio-pci never does; bind a migration-capable variant driver, e.g. qemu-vfio-pci for QEMU's edu device)",
				norm, md->driver);
		else
			err_msg("%s: VFIO_DEVICE_FEATURE_MIGRATION failed: %s (%s)",
				norm, strerror(-ret), errno_name(ret));
		mig_dev_close(md);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void mig_dev_close(struct mig_dev *md)
{
	if (vfio_dev_is_open(&md->vd))
		vfio_dev_close(&md->vd);
}

void mig_flags_str(uint64_t flags, char *buf, size_t len)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = {
		{ VFIO_MIGRATION_STOP_COPY, "STOP_COPY" },
		{ VFIO_MIGRATION_P2P, "P2P" },
		{ VFIO_MIGRATION_PRE_COPY, "PRE_COPY" },
	};
	uint64_t rest = flags;
	unsigned int i;
	size_t n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		n += snprintf(buf + n, len - n, "%s%s", n ? " " : "",
			      names[i].name);
		rest &= ~names[i].bit;
		if (n >= len)
			return;
	}
	if (rest && n < len)
		snprintf(buf + n, len - n, "%s0x%llx", n ? " " : "",
			 (unsigned long long)rest);
}

int mig_go(struct mig_dev *md, uint32_t state, int *data_fd)
{
	uint32_t cur = VFIO_DEVICE_STATE_ERROR;
	int ret;

	if (opt.verbose)
		vfio_dev_mig_get_state(&md->vd, &cur);
	vlog("%s: %s -> %s", md->vd.bdf, vfio_mig_state_name(cur),
	     vfio_mig_state_name(state));
	ret = vfio_dev_mig_set_state(&md->vd, state, data_fd);
	if (ret) {
		err_msg("%s: setting migration state %s failed: %s (%s)",
			md->vd.bdf, vfio_mig_state_name(state), strerror(-ret),
			errno_name(ret));
		return ret;
	}
	vlog("%s: now %s%s", md->vd.bdf, vfio_mig_state_name(state),
	     data_fd && *data_fd >= 0 ? " (data fd opened)" : "");
	return 0;
}

uint32_t mig_report_state(struct mig_dev *md)
{
	uint32_t st;
	int ret;

	ret = vfio_dev_mig_get_state(&md->vd, &st);
	if (ret) {
		err_msg("%s: cannot read the migration state afterwards: %s; check dmesg for the driver's messages",
			md->vd.bdf, strerror(-ret));
		return VFIO_DEVICE_STATE_ERROR;
	}
	err_msg("%s is now in state %s; check dmesg for the driver's messages",
		md->vd.bdf, vfio_mig_state_name(st));
	return st;
}

/* ------------------------------------------------------------------ */

int cmd_info(int argc, char **argv)
{
	struct vfio_pci_ids ids;
	struct mig_dev md;
	uint64_t size = 0;
	uint32_t state = 0;
	bool have_ids, have_size = false, have_state = false, mig, dmalog;
	char flags[128], norm[32];
	struct json j;
	int ret;

	(void)argc;
	ret = check_bdf_arg("info", argv[0], norm, sizeof(norm));
	if (ret)
		return ret;
	ret = mig_dev_open(&md, norm, false);
	if (ret)
		return ret;
	have_ids = !vfio_dev_pci_ids(&md.vd, &ids);
	mig = md.flags & VFIO_MIGRATION_STOP_COPY;
	if (mig) {
		have_state = !vfio_dev_mig_get_state(&md.vd, &state);
		have_size = !vfio_dev_mig_data_size(&md.vd, &size);
	}
	mig_flags_str(md.flags, flags, sizeof(flags));
	/* Device DMA dirty tracking (vfio_log_ops), which QEMU prefers. */
	dmalog = !vfio_dev_feature(&md.vd, VFIO_DEVICE_FEATURE_PROBE |
				   VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
				   NULL, 0);

	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "bdf", md.vd.bdf);
		json_str(&j, "driver", md.driver);
		json_i64(&j, "iommu_group", md.group);
		json_bool(&j, "noiommu", md.vd.noiommu);
		if (have_ids) {
			json_hex(&j, "vendor", ids.vendor, 4);
			json_hex(&j, "device", ids.device, 4);
			json_hex(&j, "subsystem_vendor", ids.subsystem_vendor, 4);
			json_hex(&j, "subsystem_device", ids.subsystem_device, 4);
			json_hex(&j, "revision", ids.revision, 2);
		}
		json_bool(&j, "migration", mig);
		json_u64(&j, "migration_flags", md.flags);
		json_arr_open(&j, "migration_flag_names");
		if (md.flags & VFIO_MIGRATION_STOP_COPY)
			json_str(&j, NULL, "STOP_COPY");
		if (md.flags & VFIO_MIGRATION_P2P)
			json_str(&j, NULL, "P2P");
		if (md.flags & VFIO_MIGRATION_PRE_COPY)
			json_str(&j, NULL, "PRE_COPY");
		json_arr_close(&j);
		json_bool(&j, "dma_logging", dmalog);
		if (have_state)
			json_str(&j, "state", vfio_mig_state_name(state));
		else
			json_null(&j, "state");
		if (have_size)
			json_u64(&j, "stop_copy_size", size);
		else
			json_null(&j, "stop_copy_size");
		json_end(&j);
	} else {
		printf("device:           %s\n", md.vd.bdf);
		printf("driver:           %s\n", md.driver);
		printf("iommu group:      %d%s\n", md.group,
		       md.vd.noiommu ? " (no-IOMMU mode)" : "");
		if (have_ids)
			printf("pci id:           %04x:%04x (subsystem %04x:%04x, revision 0x%02x)\n",
			       ids.vendor, ids.device, ids.subsystem_vendor,
			       ids.subsystem_device, ids.revision);
		if (mig) {
			printf("migration flags:  0x%llx %s\n",
			       (unsigned long long)md.flags, flags);
			printf("dma logging:      %s\n", dmalog ? "yes" :
			       "no (QEMU needs enable-migration=on)");
			printf("state:            %s\n", have_state ?
			       vfio_mig_state_name(state) : "unknown");
			if (have_size)
				printf("stop-copy size:   %llu bytes (estimate)\n",
				       (unsigned long long)size);
			else
				printf("stop-copy size:   unknown (no VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)\n");
		} else {
			printf("migration:        not supported\n");
		}
	}

	if (!mig)
		err_msg("%s (driver %s) does not support migration: its driver does not advertise VFIO_DEVICE_FEATURE_MIGRATION%s",
			md.vd.bdf, md.driver, md.flags ?
			" with STOP_COPY" : " (plain vfio-pci never does; bind a migration-capable variant driver, e.g. qemu-vfio-pci for QEMU's edu device)");
	mig_dev_close(&md);
	return mig ? EXIT_OK : EXIT_FAIL;
}

int cmd_state(int argc, char **argv)
{
	uint32_t want[16], st = 0;
	struct mig_dev md;
	char flags[128], norm[32];
	struct json j;
	int i, ret, done = 0, err = 0;

	ret = check_bdf_arg("state", argv[0], norm, sizeof(norm));
	if (ret)
		return ret;
	for (i = 1; i < argc; i++) {
		if (vfio_mig_state_parse(argv[i], &want[i - 1]))
			return usage_error("state",
					   "unknown state '%s': use RUNNING, STOP, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY or PRE_COPY_P2P",
					   argv[i]);
		if (want[i - 1] == VFIO_DEVICE_STATE_ERROR)
			return usage_error("state",
					   "ERROR cannot be requested: a device enters it only when a transition fails");
	}

	ret = mig_dev_open(&md, norm, true);
	if (ret)
		return ret;
	mig_flags_str(md.flags, flags, sizeof(flags));

	if (opt.json) {
		json_begin(&j, stdout);
		json_str(&j, "bdf", md.vd.bdf);
		json_arr_open(&j, "transitions");
	}
	for (i = 0; i < argc - 1; i++) {
		int fd = -1;

		if (!vfio_mig_state_supported(md.flags, want[i])) {
			err_msg("%s does not support state %s (migration flags: %s)",
				md.vd.bdf, vfio_mig_state_name(want[i]), flags);
			err = -EOPNOTSUPP;
			break;
		}
		err = mig_go(&md, want[i], &fd);
		if (fd >= 0)
			close(fd);	/* nothing to transfer here */
		if (opt.json) {
			json_obj_open(&j, NULL);
			json_str(&j, "to", vfio_mig_state_name(want[i]));
			json_bool(&j, "ok", !err);
			if (err) {
				json_i64(&j, "errno", -err);
				json_str(&j, "error", strerror(-err));
			}
			json_obj_close(&j);
		}
		if (err)
			break;
		done++;
		if (!opt.json && i < argc - 2)
			printf("%s\n", vfio_mig_state_name(want[i]));
	}
	if (opt.json)
		json_arr_close(&j);

	if (err && err != -EOPNOTSUPP)
		st = mig_report_state(&md);
	else if ((ret = vfio_dev_mig_get_state(&md.vd, &st))) {
		err_msg("%s: reading the migration state failed: %s (%s)",
			md.vd.bdf, strerror(-ret), errno_name(ret));
		if (opt.json)
			json_end(&j);
		mig_dev_close(&md);
		return EXIT_FAIL;
	}

	if (opt.json) {
		json_str(&j, "state", vfio_mig_state_name(st));
		json_bool(&j, "ok", !err);
		json_end(&j);
	} else if (!err) {
		printf("%s\n", vfio_mig_state_name(st));
	}
	if (!err && done)
		note("note: the device returns to RUNNING when %s exits (the migration state lives only while %s has the device)",
		     prog, prog);
	mig_dev_close(&md);
	return err ? EXIT_FAIL : EXIT_OK;
}
