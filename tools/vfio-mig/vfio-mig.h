/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio-mig - inspect and drive VFIO live migration (protocol v2) from the
 * command line.  Shared declarations of the tool's source files.
 */
#ifndef VFIO_MIG_H
#define VFIO_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vfio_dev.h"

/* Exit codes, documented in vfio-mig.1 */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* Global options */
struct opts {
	bool json;
	bool quiet;
	bool verbose;
	bool no_precopy;
	unsigned int max_rounds;	/* PRE_COPY rounds at most */
	uint64_t dirty_threshold;	/* leave PRE_COPY below this */
	bool progress;			/* stderr is a terminal, not quiet */
	const char *holder;		/* --holder/--socket PATH, or NULL */
	bool no_holder;			/* --no-holder */
	bool background;		/* hold --background */
};

extern struct opts opt;
extern const char *prog;
extern bool json_emitted;	/* a JSON object went to stdout */
extern char last_error[512];	/* the last message of err_msg() */

/* Messages: everything human goes to stderr, results to stdout. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *errno_name(int err);
double now_ms(void);

/* Parse "123", "64K", "1M", "2G"; false if it does not parse. */
bool parse_size(const char *s, uint64_t *out);
void fmt_size(char *buf, size_t len, uint64_t bytes);

/* JSON output on stdout (json.c) */
struct json {
	FILE *f;
	int depth;
	bool first[16];
	bool pending_key;
};

void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_hex(struct json *j, const char *key, uint64_t val, int width);
void json_bool(struct json *j, const char *key, bool val);
void json_double(struct json *j, const char *key, double val);
void json_null(struct json *j, const char *key);

/* Devices (dev.c) */
struct mig_dev {
	struct vfio_dev vd;
	char driver[64];
	int group;		/* -1 if none */
	uint64_t flags;		/* VFIO_MIGRATION_* */
};

/* What a BDF argument needs to be before we touch the device. */
int check_bdf_arg(const char *cmd, const char *bdf, char *norm, size_t len);
/*
 * Open @bdf and read its migration flags.  Prints a diagnosis and returns
 * EXIT_FAIL (or EXIT_USAGE for a malformed BDF) on failure.
 * @need_mig: fail when the driver does not support migration.
 */
int mig_dev_open(struct mig_dev *md, const char *bdf, bool need_mig);
/* The same, never through a holder (the holder's own opens). */
int mig_dev_open_direct(struct mig_dev *md, const char *bdf, bool need_mig);
void mig_dev_close(struct mig_dev *md);
void sysfs_driver(const char *bdf, char *out, size_t len);
int sysfs_group(const char *bdf);
void mig_flags_str(uint64_t flags, char *buf, size_t len);
/* Set one state, logging; on failure print why and return -errno. */
int mig_go(struct mig_dev *md, uint32_t state, int *data_fd);
/* Print the device's state after a failure and a hint to check dmesg. */
uint32_t mig_report_state(struct mig_dev *md);

int cmd_info(int argc, char **argv);
int cmd_state(int argc, char **argv);

/* Transfers (xfer.c) */
int cmd_save(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/* Holding devices across processes (hold.c) */
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
/* The socket hold and release use: --socket, $VFIO_MIG_HOLDER, default. */
const char *holder_path(void);
/* The holder device commands go through, or NULL: open directly. */
const char *holder_for_devices(void);

/* Stream decoding (dump.c) */
int cmd_dump(int argc, char **argv);
/*
 * If @data looks like a qemu-vfio-pci stream, check it and print the first
 * problem found (for load failures).  Returns true if a problem was found.
 */
bool stream_diagnose(const uint8_t *data, size_t len, const char *name);

/* Usage (vfio-mig.c) */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* VFIO_MIG_H */
