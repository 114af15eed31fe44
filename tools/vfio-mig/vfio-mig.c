// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig - inspect and drive VFIO live migration (protocol v2) of a PCI
 * device from the command line: info, state, save, load, migrate, dump.
 *
 * This file: option parsing, command dispatch, help, message helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfio-mig.h"

struct opts opt = {
	.max_rounds = 16,
	.dirty_threshold = 1024 * 1024,
};
const char *prog = "vfio-mig";
char last_error[512];

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	int min_args;
	int max_args;
	bool xfer_opts;		/* accepts --no-precopy & co */
	const char *synopsis;
	const char *help;
	bool hold_opts;		/* accepts --background */
};

static const struct command commands[] = {
	{
		"info", cmd_info, 1, 1, false, "info BDF",
		"Show the device's driver, PCI IDs, IOMMU group, migration flags,\n"
		"current migration state and the estimated STOP_COPY data size.\n",
		false,
	},
	{
		"state", cmd_state, 1, 16, false, "state BDF [STATE...]",
		"Without STATE, print the current migration state.  With one or more\n"
		"STATEs, request each in turn and print the state reached.  STATE is\n"
		"RUNNING, STOP, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY or\n"
		"PRE_COPY_P2P (any case, optional VFIO_DEVICE_STATE_ prefix).\n"
		"The state lives only while the device is open: it returns to RUNNING\n"
		"when vfio-mig exits, so this is mainly for testing transitions.\n",
		false,
	},
	{
		"save", cmd_save, 2, 2, true, "save [--no-precopy] [--max-rounds N] [--dirty-threshold SIZE] BDF FILE",
		"Save the device's migration state into FILE (\"-\": stdout).  Uses\n"
		"PRE_COPY rounds first when the device offers PRE_COPY, then stops it\n"
		"(STOP_COPY), reads the stream to its end and resumes it (RUNNING).\n",
		false,
	},
	{
		"load", cmd_load, 2, 2, false, "load BDF FILE",
		"Resume the device from FILE (\"-\": stdin): RUNNING -> STOP ->\n"
		"RESUMING, write the stream, -> STOP -> RUNNING.\n",
		false,
	},
	{
		"migrate", cmd_migrate, 2, 2, true, "migrate [--no-precopy] [--max-rounds N] [--dirty-threshold SIZE] SRC DST",
		"Move the migration state of device SRC into device DST, streaming\n"
		"the data directly, and report bytes, PRE_COPY rounds, STOP_COPY\n"
		"bytes and the downtime (SRC stopped until DST running).\n",
		false,
	},
	{
		"hold", cmd_hold, 1, 16, false, "hold [--socket PATH] [--background] BDF...",
		"Keep the devices open, and so their state, across processes, and lend\n"
		"them to other vfio-mig commands (and tools that speak its protocol)\n"
		"over the unix socket PATH (default $VFIO_MIG_HOLDER, else\n"
		VFIO_HOLD_DEFAULT "): drivers reset a device when it is opened\n"
		"and closed.  A command uses the holder when given --holder PATH or\n"
		"VFIO_MIG_HOLDER=PATH.  Each device goes to one client at a time; when\n"
		"the client exits, the holder returns the device to RUNNING (resetting\n"
		"it only if it was left in ERROR or RESUMING), disables its interrupts\n"
		"and unmaps the client's DMA.  Runs until 'vfio-mig release', SIGTERM or\n"
		"SIGINT, then closes the devices.  --background returns once the devices\n"
		"are held and the socket listens, leaving the holder running.\n",
		true,
	},
	{
		"release", cmd_release, 0, 0, false, "release [--socket PATH]",
		"Stop the holder at PATH (as for hold): it closes its devices, which\n"
		"resets them, and exits; waits until it has.  Fails while a client\n"
		"still uses one of its devices.\n",
		false,
	},
	{
		"dump", cmd_dump, 1, 1, false, "dump FILE",
		"Decode a stream saved from the qemu-vfio-pci driver (\"-\": stdin):\n"
		"header, records with their checksums, edu registers, END.  Exits 1\n"
		"with the byte offset of the first problem if the stream is corrupt.\n"
		"Needs no device.\n",
		false,
	},
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void global_usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: %s [OPTIONS] COMMAND [ARGS]\n\ncommands:\n", prog);
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f,
		"\noptions:\n"
		"  --json            machine-readable output on stdout\n"
		"  -q, --quiet       no progress bar or summaries; errors only\n"
		"  -v, --verbose     log every state transition on stderr\n"
		"  -h, --help        help (COMMAND --help: help for COMMAND)\n"
		"  --no-precopy      save/migrate: do not use PRE_COPY\n"
		"  --max-rounds N    save/migrate: PRE_COPY rounds at most (default 16)\n"
		"  --dirty-threshold SIZE\n"
		"                    save/migrate: leave PRE_COPY once the device has\n"
		"                    no initial data left and less than SIZE dirty\n"
		"                    (default 1M; K, M, G suffixes)\n"
		"  --holder PATH, --socket PATH\n"
		"                    take devices from the holder at PATH (default:\n"
		"                    $" VFIO_HOLD_ENV "); hold, release: its socket\n"
		"  --no-holder       open devices directly, whatever $" VFIO_HOLD_ENV " says\n"
		"  --background      hold: return once the devices are held\n"
		"\nBDF is a PCI address such as 0000:00:03.0 (see lspci -D); the device\n"
		"must be bound to a vfio driver with migration support.  Its state lives\n"
		"only while it is open: use 'hold' to keep it between commands.\n"
		"Exit status: 0 success, 1 operation failed, 2 usage error.\n"
		"See vfio-mig(1).\n");
}

static void command_usage(const struct command *c, FILE *f)
{
	fprintf(f, "usage: %s [--json] [--quiet] [--verbose] %s\n\n%s",
		prog, c->synopsis, c->help);
	fprintf(f, "\nExit status: 0 success, 1 operation failed, 2 usage error.\n");
}

static const struct command *find_command(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	const struct command *c = find_command(cmd);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", prog);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	fputs(last_error, stderr);
	if (c)
		fprintf(stderr, "\nusage: %s %s\nTry '%s %s --help'.\n", prog,
			c->synopsis, prog, c->name);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, last_error);
}

/* With --json, a failure that printed no result still gets an object. */
static int json_failure(const char *cmd, int ret)
{
	struct json j;

	if (!opt.json || json_emitted || ret == EXIT_OK)
		return ret;
	json_begin(&j, stdout);
	if (cmd)
		json_str(&j, "command", cmd);
	json_bool(&j, "ok", false);
	json_i64(&j, "exit_code", ret);
	json_str(&j, "error", last_error);
	json_end(&j);
	return ret;
}

void note(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	fprintf(stderr, "[%10.3f ms] ", now_ms());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double now_ms(void)
{
	static struct timespec t0;
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = t;
	return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

const char *errno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ EBADF, "EBADF" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" },
		{ ESPIPE, "ESPIPE" }, { EPIPE, "EPIPE" }, { ERANGE, "ERANGE" },
		{ ENOTTY, "ENOTTY" }, { ENOMSG, "ENOMSG" }, { EOVERFLOW, "EOVERFLOW" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EAGAIN, "EAGAIN" }, { EINTR, "EINTR" }, { ENXIO, "ENXIO" },
	};
	unsigned int i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return "E?";
}

bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		v <<= 10;
		end++;
		break;
	case 'm': case 'M':
		v <<= 20;
		end++;
		break;
	case 'g': case 'G':
		v <<= 30;
		end++;
		break;
	default:
		return false;
	}
	if (*end)
		return false;
	*out = v;
	return true;
}

void fmt_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes < 10 * 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else if (bytes < 10 * 1024 * 1024)
		snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
	else if (bytes < 10ULL * 1024 * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, len, "%.1f GiB", bytes / 1073741824.0);
}

/* Option taking a value: "--opt VALUE" or "--opt=VALUE". */
static const char *opt_value(const char *arg, const char *name, int *i,
			     int argc, char **argv, bool *missing)
{
	size_t n = strlen(name);

	*missing = false;
	if (strncmp(arg, name, n))
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* A usage error from main(), also reported in JSON with --json. */
#define USAGE(cmd, ...) json_failure(cmdname, usage_error(cmd, __VA_ARGS__))

int main(int argc, char **argv)
{
	const struct command *c = NULL;
	bool help = false, xfer_opt = false, dashdash = false;
	const char *cmdname = NULL, *bad_xfer = NULL;
	bool hold_opt = false;
	char **pos;
	int npos = 0, i;

	now_ms();
	pos = calloc(argc + 1, sizeof(*pos));
	if (!pos) {
		err_msg("out of memory");
		return EXIT_FAIL;
	}

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		bool missing;

		if (dashdash || a[0] != '-' || !a[1]) {
			if (!cmdname)
				cmdname = a;
			else
				pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (!strcmp(a, "--json")) {
			opt.json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			opt.quiet = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
		} else if (!strcmp(a, "--no-precopy")) {
			opt.no_precopy = true;
			xfer_opt = true;
			bad_xfer = a;
		} else if ((v = opt_value(a, "--max-rounds", &i, argc, argv,
					  &missing)) || missing) {
			uint64_t n;

			if (missing)
				return USAGE(NULL, "--max-rounds needs a value");
			if (!parse_size(v, &n) || !n || n > 1000000)
				return USAGE(NULL, "--max-rounds: '%s' is not a number from 1 to 1000000", v);
			opt.max_rounds = n;
			xfer_opt = true;
			bad_xfer = "--max-rounds";
		} else if ((v = opt_value(a, "--dirty-threshold", &i, argc,
					  argv, &missing)) || missing) {
			if (missing)
				return USAGE(NULL, "--dirty-threshold needs a value");
			if (!parse_size(v, &opt.dirty_threshold))
				return USAGE(NULL, "--dirty-threshold: '%s' is not a size (e.g. 65536, 64K, 1M)", v);
			xfer_opt = true;
			bad_xfer = "--dirty-threshold";
		} else if ((v = opt_value(a, "--holder", &i, argc, argv,
					  &missing)) || missing ||
			   (v = opt_value(a, "--socket", &i, argc, argv,
					  &missing)) || missing) {
			if (missing || !*v)
				return USAGE(NULL, "%s needs a path", a);
			opt.holder = v;
		} else if (!strcmp(a, "--no-holder")) {
			opt.no_holder = true;
		} else if (!strcmp(a, "--background")) {
			opt.background = true;
			hold_opt = true;
		} else {
			return USAGE(cmdname, "unknown option '%s'", a);
		}
	}

	if (cmdname && !strcmp(cmdname, "help")) {
		/* "vfio-mig help [COMMAND]" */
		cmdname = npos ? pos[0] : NULL;
		npos = 0;
		help = true;
	}
	if (!cmdname) {
		if (help) {
			global_usage(stdout);
			return EXIT_OK;
		}
		global_usage(stderr);
		snprintf(last_error, sizeof(last_error), "no command given");
		return json_failure(NULL, EXIT_USAGE);
	}
	c = find_command(cmdname);
	if (!c)
		return USAGE(NULL, "unknown command '%s'", cmdname);
	if (help) {
		command_usage(c, stdout);
		return EXIT_OK;
	}
	if (xfer_opt && !c->xfer_opts)
		return USAGE(c->name, "%s applies only to save and migrate",
			     bad_xfer);
	if (hold_opt && !c->hold_opts)
		return USAGE(c->name, "--background applies only to hold");
	if (opt.holder && opt.no_holder)
		return USAGE(c->name, "--holder and --no-holder contradict each other");
	if (npos < c->min_args)
		return USAGE(c->name, "missing argument");
	if (npos > c->max_args)
		return USAGE(c->name, "too many arguments ('%s')",
			     pos[c->max_args]);

	opt.progress = !opt.quiet && isatty(STDERR_FILENO);
	i = json_failure(c->name, c->fn(npos, pos));
	free(pos);
	if (fflush(stdout) && !i) {
		err_msg("writing the output failed: %s", strerror(errno));
		i = EXIT_FAIL;
	}
	return i;
}
