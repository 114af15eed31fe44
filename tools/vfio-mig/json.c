// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-mig: a minimal streaming JSON writer (objects, arrays, scalars).
 */
#include <inttypes.h>
#include <stdio.h>

#include "vfio-mig.h"

#define JSON_MAX_DEPTH	((int)(sizeof(((struct json *)0)->first)))

static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator, indentation and key of the next member or element. */
static void json_member(struct json *j, const char *key)
{
	int i;

	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			fputc(',', j->f);
		j->first[j->depth - 1] = false;
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth < JSON_MAX_DEPTH)
		j->first[j->depth] = true;
	j->depth++;
}

static void json_close(struct json *j, char c)
{
	int i;
	bool empty = j->depth <= JSON_MAX_DEPTH && j->first[j->depth - 1];

	j->depth--;
	if (!empty) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
}

bool json_emitted;

void json_begin(struct json *j, FILE *f)
{
	json_emitted = true;
	j->f = f;
	j->depth = 0;
	json_open(j, NULL, '{');
}

void json_end(struct json *j)
{
	while (j->depth > 1)
		json_close(j, '}');
	json_close(j, '}');
	fputc('\n', j->f);
}

void json_obj_open(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void json_str(struct json *j, const char *key, const char *val)
{
	json_member(j, key);
	json_string(j->f, val);
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_member(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	json_member(j, key);
	fprintf(j->f, "%" PRId64, val);
}

/* Hex values are strings ("0x11e8"): JSON has no hex numbers. */
void json_hex(struct json *j, const char *key, uint64_t val, int width)
{
	json_member(j, key);
	fprintf(j->f, "\"0x%0*" PRIx64 "\"", width, val);
}

void json_bool(struct json *j, const char *key, bool val)
{
	json_member(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_double(struct json *j, const char *key, double val)
{
	json_member(j, key);
	fprintf(j->f, "%.3f", val);
}

void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}
