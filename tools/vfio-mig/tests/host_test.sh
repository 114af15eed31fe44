#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test of vfio-mig that needs no VFIO device: stream decoding
# (dump) of generated, corrupted and truncated streams, JSON output,
# usage errors, help, and the message for a nonexistent device.
# TAP output; exits non-zero if any test fails.
#
#   VFIO_MIG=path/to/vfio-mig MKSTREAM=path/to/mkstream sh host_test.sh
#
# (make -C tools/vfio-mig check O=/tmp/out does this.)  Optional:
# MANPAGE=path/to/vfio-mig.1 to check that the man page renders cleanly.

VFIO_MIG=${VFIO_MIG:-./vfio-mig}
MKSTREAM=${MKSTREAM:-./mkstream}

if [ ! -x "$VFIO_MIG" ] || [ ! -x "$MKSTREAM" ]; then
	echo "1..0 # SKIP need VFIO_MIG ($VFIO_MIG) and MKSTREAM ($MKSTREAM) built"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/vfio-mig-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
	if [ -s "$T/out" ]; then
		sed 's/^/#   stdout: /' "$T/out" | head -20
	fi
	if [ -s "$T/err" ]; then
		sed 's/^/#   stderr: /' "$T/err" | head -20
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

# run NAME WANT_RC CMD...: run CMD, capturing stdout/stderr in $T/out
# and $T/err; pass if the exit code is WANT_RC.  Sets $rc.
run() {
	name=$1
	want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		return 0
	fi
	not_ok "$name" "command: $*" "exit code $rc, expected $want"
	return 1
}

# check NAME WANT_RC PATTERN_FILE PATTERN CMD...: also require PATTERN
# (grep -E) in $T/PATTERN_FILE ("out" or "err").
check() {
	name=$1
	want=$2
	where=$3
	pat=$4
	shift 4
	run "$name" "$want" "$@" || return 1
	if ! grep -Eq -- "$pat" "$T/$where"; then
		not_ok "$name" "command: $*" "std$where lacks /$pat/"
		return 1
	fi
	ok "$name"
}

have_python=false
if command -v python3 >/dev/null 2>&1; then
	have_python=true
fi

# json_check NAME PYTHON_EXPR: $T/out must parse as JSON (json.tool)
# and the Python expression on the parsed object "d" must hold.
json_check() {
	name=$1
	expr=$2
	if ! $have_python; then
		skip "$name" "no python3"
		return
	fi
	if ! python3 -m json.tool <"$T/out" >/dev/null 2>"$T/jerr"; then
		not_ok "$name" "output is not valid JSON: $(cat "$T/jerr")"
		return
	fi
	if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" \
		"$T/out" 2>"$T/jerr"; then
		not_ok "$name" "JSON does not satisfy: $expr"
		return
	fi
	ok "$name"
}

# flip FILE OFFSET: overwrite one byte with 0xff (the tests pick offsets
# whose byte is not 0xff).
flip() {
	printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

plan=70
echo "TAP version 13"
echo "1..$plan"

# --- help ----------------------------------------------------------------
check "global --help exits 0" 0 out "^usage: " "$VFIO_MIG" --help
check "global -h exits 0" 0 out "^usage: " "$VFIO_MIG" -h
for c in info state save load migrate dump; do
	check "$c --help exits 0" 0 out "usage: .*$c" "$VFIO_MIG" "$c" --help
done
check "help dump exits 0" 0 out "usage: .*dump" "$VFIO_MIG" help dump

# --- dump of good streams ------------------------------------------------
"$MKSTREAM" --liveness 0x12345678 --factorial 0x375f00 --status 0x80 \
	--dma-src 0x40000 --dma-count 0x100 "$T/good.bin" || {
	echo "Bail out! mkstream failed"
	exit 1
}
check "dump of a generated stream exits 0" 0 out "EDU_REGS" "$VFIO_MIG" dump "$T/good.bin"
if grep -q "liveness *0x12345678" "$T/out" &&
   grep -q "factorial *0x00375f00" "$T/out" &&
   grep -q "dma_src *0x0000000000040000" "$T/out" &&
   grep -Eq "^record @92: END .*crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -Eq "^record @32: EDU_REGS .*length 48 crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -q "device 1234:11e8" "$T/out"; then
	ok "dump decodes header, edu registers and END"
else
	not_ok "dump decodes header, edu registers and END"
fi
run "dump --json of a good stream" 0 "$VFIO_MIG" --json dump "$T/good.bin" &&
	json_check "dump --json is valid JSON with the registers" \
		"d['ok'] and d['record_count'] == 2 and d['header']['vendor'] == '0x1234' and d['header']['crc_ok']"
run "dump --json (records list)" 0 "$VFIO_MIG" dump --json "$T/good.bin" &&
	json_check "dump --json lists EDU_REGS then END" \
		"[r['type_name'] for r in d['records']] == ['EDU_REGS', 'END'] and d['records'][0]['edu_regs']['liveness'] == '0x12345678' and d['records'][0]['crc_ok']"
# shellcheck disable=SC2016
check "dump reads standard input" 0 out "EDU_REGS" sh -c '"$1" dump - <"$2"' sh "$VFIO_MIG" "$T/good.bin"
"$MKSTREAM" --optional "$T/opt.bin"
check "unknown optional record is shown and accepted" 0 out "UNKNOWN_0x00ff.*OPTIONAL" "$VFIO_MIG" dump "$T/opt.bin"

# --- dump of bad streams ---------------------------------------------------
cp "$T/good.bin" "$T/bad.bin"
flip "$T/bad.bin" 50		# factorial, inside the record at offset 32
check "flipped payload byte: exit 1" 1 out "crc 0x[0-9a-f]{8} BAD" "$VFIO_MIG" dump "$T/bad.bin"
if grep -q "offset 32" "$T/err" && grep -qi "checksum" "$T/err"; then
	ok "flipped payload byte: message names offset 32 and the checksum"
else
	not_ok "flipped payload byte: message names offset 32 and the checksum"
fi
run "flipped payload byte --json: exit 1" 1 "$VFIO_MIG" --json dump "$T/bad.bin" &&
	json_check "flipped payload byte --json is valid JSON with the error" \
		"not d['ok'] and d['error']['offset'] == 32 and not d['records'][0]['crc_ok']"
cp "$T/good.bin" "$T/badhdr.bin"
flip "$T/badhdr.bin" 9		# vendor ID high byte
check "flipped header byte: exit 1, offset 0" 1 err "offset 0: .*header checksum" "$VFIO_MIG" dump "$T/badhdr.bin"
head -c 60 "$T/good.bin" >"$T/trunc.bin"
check "truncated record: exit 1 with offset" 1 err "offset 32: .*only 16 remain" "$VFIO_MIG" dump "$T/trunc.bin"
head -c 20 "$T/good.bin" >"$T/short.bin"
check "truncated header: exit 1" 1 err "offset 20: .*inside the 32-byte stream header" "$VFIO_MIG" dump "$T/short.bin"
"$MKSTREAM" --no-end "$T/noend.bin"
check "missing END: exit 1" 1 err "offset 92: .*without an END record" "$VFIO_MIG" dump "$T/noend.bin"
{ cat "$T/good.bin"; printf 'junk'; } >"$T/trail.bin"
check "data after END: exit 1" 1 err "offset 104: .*after the END record" "$VFIO_MIG" dump "$T/trail.bin"
echo "this is not a migration stream, just text" >"$T/text.bin"
check "not a stream: exit 1, bad magic" 1 err "offset 0: bad magic" "$VFIO_MIG" dump "$T/text.bin"
"$MKSTREAM" --status 0x81 "$T/computing.bin"
check "edu status with COMPUTING set: exit 1" 1 err "IRQFACT" "$VFIO_MIG" dump "$T/computing.bin"
check "dump of a missing file: exit 1" 1 err "cannot open" "$VFIO_MIG" dump "$T/nonexistent.bin"

# --- stream version 2: the seed, ivshmem and bulk records ------------------
"$MKSTREAM" --seed 0x1122334455667788 "$T/seed.bin"
check "edu stream: dump shows the seed" 0 out "^  seed 0x1122334455667788$" "$VFIO_MIG" dump "$T/seed.bin"
run "edu stream --json: exit 0" 0 "$VFIO_MIG" --json dump "$T/seed.bin" &&
	json_check "edu stream --json: header has the seed, no reserved words" \
		"d['ok'] and d['header']['seed'] == '0x1122334455667788' and 'reserved0' not in d['header'] and 'reserved1' not in d['header'] and not d['records'][0]['bulk']"

# CONFIG @32, MEM @60 and @4184 (4096 bytes each), REGS @8308, END @8328.
"$MKSTREAM" --ivshmem --mem-size 8192 --chunk 4096 --intr-mask 5 \
	--intr-status 1 "$T/ivs.bin" || {
	echo "Bail out! mkstream --ivshmem failed"
	exit 1
}
check "dump of an ivshmem stream exits 0" 0 out "^stream OK: 5 records including END, 8340 bytes" "$VFIO_MIG" dump "$T/ivs.bin"
if grep -q "device 1af4:1110 .*backend 2 (ivshmem)" "$T/out" &&
   grep -q "^  seed 0x0123456789abcdef$" "$T/out" &&
   grep -Eq "^record @32: IVSHMEM_CONFIG type 0x0201 flags 0x0000 length 16 crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -q "mem_size *0x0000000000002000 (8192 bytes)" "$T/out" &&
   grep -Eq "^record @60: IVSHMEM_MEM type 0x0202 flags 0x0002 \(BULK\) length 4112 crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -Eq "^record @4184: IVSHMEM_MEM .*\(BULK\) length 4112 crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -q "^  offset *0x0000000000001000$" "$T/out" &&
   [ "$(grep -c "^  data *4096 bytes$" "$T/out")" -eq 2 ] &&
   [ "$(grep -Ec "^  check *0x[0-9a-f]{16} ok$" "$T/out")" -eq 2 ] &&
   grep -Eq "^record @8308: IVSHMEM_REGS .*length 8 crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -q "intr_mask *0x00000005" "$T/out" &&
   grep -q "intr_status *0x00000001" "$T/out" &&
   grep -Eq "^record @8328: END .*ok" "$T/out"; then
	ok "dump decodes the ivshmem config, both memory runs with their checks, registers and END"
else
	not_ok "dump decodes the ivshmem config, both memory runs with their checks, registers and END"
fi
run "ivshmem stream --json: exit 0" 0 "$VFIO_MIG" --json dump "$T/ivs.bin" &&
	json_check "ivshmem stream --json: records, seed, bulk data and checks" \
		"d['ok'] and d['record_count'] == 5 and d['header']['seed'] == '0x0123456789abcdef' and [r['type_name'] for r in d['records']] == ['IVSHMEM_CONFIG', 'IVSHMEM_MEM', 'IVSHMEM_MEM', 'IVSHMEM_REGS', 'END'] and d['records'][0]['ivshmem_config']['mem_size'] == 8192 and [r['bulk'] for r in d['records']] == [False, True, True, False, False] and [(r['bulk_data']['offset'], r['bulk_data']['length'], r['bulk_data']['check_ok']) for r in d['records'][1:3]] == [('0x0000000000000000', 4096, True), ('0x0000000000001000', 4096, True)] and d['records'][3]['ivshmem_regs'] == {'intr_mask': '0x00000005', 'intr_status': '0x00000001'}"
cp "$T/ivs.bin" "$T/ivsdata.bin"
flip "$T/ivsdata.bin" 4304	# data of the MEM record at offset 4184
check "ivshmem: flipped data byte: exit 1, check BAD" 1 out "^  check *0x[0-9a-f]{16} BAD$" "$VFIO_MIG" dump "$T/ivsdata.bin"
if grep -Eq "^record @4184: IVSHMEM_MEM .*crc 0x[0-9a-f]{8} ok" "$T/out" &&
   grep -q "offset 4184: .*bulk data check mismatch" "$T/err"; then
	ok "ivshmem: flipped data byte: the CRC is ok, the message names offset 4184 and the check"
else
	not_ok "ivshmem: flipped data byte: the CRC is ok, the message names offset 4184 and the check"
fi
run "ivshmem: flipped data byte --json: exit 1" 1 "$VFIO_MIG" --json dump "$T/ivsdata.bin" &&
	json_check "ivshmem: flipped data byte --json: check_ok false, error at 4184" \
		"not d['ok'] and d['error']['offset'] == 4184 and 'bulk data check mismatch' in d['error']['message'] and d['records'][2]['crc_ok'] and not d['records'][2]['bulk_data']['check_ok'] and d['records'][1]['bulk_data']['check_ok']"
cp "$T/ivs.bin" "$T/ivshead.bin"
flip "$T/ivshead.bin" 4197	# head (memory offset) of the MEM record at 4184
check "ivshmem: flipped bulk head byte: record checksum BAD" 1 err "offset 4184: .*IVSHMEM_MEM.*checksum mismatch" "$VFIO_MIG" dump "$T/ivshead.bin"
# A good header with another seed in front of the same records.
"$MKSTREAM" --ivshmem --seed 0x42 "$T/ivs42.bin"
{ head -c 32 "$T/ivs42.bin"; tail -c +33 "$T/ivs.bin"; } >"$T/ivsseed.bin"
check "ivshmem: another seed in a good header: the first check fails" 1 err "offset 60: .*bulk data check mismatch" "$VFIO_MIG" dump "$T/ivsseed.bin"
# Without the MEM record at 4184 (4124 bytes): REGS @4184, END @4204.
{ head -c 4184 "$T/ivs.bin"; tail -c +8309 "$T/ivs.bin"; } >"$T/ivsmiss.bin"
check "ivshmem: a page never sent: exit 1" 1 err "offset 4204: .*lacks the memory page at 0x1000" "$VFIO_MIG" dump "$T/ivsmiss.bin"
cp "$T/ivs.bin" "$T/ivsplain.bin"
printf '\000' | dd of="$T/ivsplain.bin" bs=1 seek=62 conv=notrunc 2>/dev/null
check "ivshmem: MEM without the bulk flag is reported" 1 out "bulk record type without the bulk flag" "$VFIO_MIG" dump "$T/ivsplain.bin"
cp "$T/ivs.bin" "$T/ivsflag.bin"
printf '\002' | dd of="$T/ivsflag.bin" bs=1 seek=34 conv=notrunc 2>/dev/null
check "ivshmem: CONFIG with the bulk flag: exit 1, CRC BAD" 1 out "IVSHMEM_CONFIG.*\(BULK\).*BAD" "$VFIO_MIG" dump "$T/ivsflag.bin"
if grep -q "offset 32 (IVSHMEM_CONFIG): bulk flag on a plain record type" "$T/out"; then
	ok "ivshmem: CONFIG with the bulk flag: the parser's reason is given"
else
	not_ok "ivshmem: CONFIG with the bulk flag: the parser's reason is given"
fi
head -c 5000 "$T/ivs.bin" >"$T/ivstrunc.bin"
check "ivshmem: stream cut inside bulk data: exit 1" 1 err "offset 4184: .*claims 4112 payload bytes but only 804 remain" "$VFIO_MIG" dump "$T/ivstrunc.bin"
"$MKSTREAM" --status 0x80 "$T/edu2.bin"
{ head -c 92 "$T/edu2.bin"; tail -c +33 "$T/ivs.bin" | head -c 4152; tail -c 12 "$T/edu2.bin"; } >"$T/mixed.bin"
check "edu stream with ivshmem records: exit 1" 1 err "IVSHMEM_CONFIG record at offset 92 in a stream for backend 1 \(edu\)" "$VFIO_MIG" dump "$T/mixed.bin"

# --- usage errors: exit 2 --------------------------------------------------
check "no arguments: exit 2" 2 err "usage:" "$VFIO_MIG"
check "unknown command: exit 2" 2 err "unknown command" "$VFIO_MIG" frobnicate
check "unknown option: exit 2" 2 err "unknown option" "$VFIO_MIG" --frobnicate info 0000:00:03.0
check "dump without FILE: exit 2" 2 err "missing argument" "$VFIO_MIG" dump
check "dump with two files: exit 2" 2 err "too many arguments" "$VFIO_MIG" dump a b
check "malformed BDF: exit 2" 2 err "not a PCI address" "$VFIO_MIG" info not-a-bdf
check "unknown state: exit 2" 2 err "unknown state" "$VFIO_MIG" state 0000:00:03.0 SLEEPING
check "ERROR cannot be requested: exit 2" 2 err "cannot be requested" "$VFIO_MIG" state 0000:00:03.0 error
check "save option on info: exit 2" 2 err "only to save and migrate" "$VFIO_MIG" info --no-precopy 0000:00:03.0
check "--max-rounds 0: exit 2" 2 err "max-rounds" "$VFIO_MIG" save --max-rounds 0 0000:00:03.0 "$T/x"
check "migrate a device into itself: exit 2" 2 err "same device" "$VFIO_MIG" migrate 0000:00:03.0 00:03.0

# --- nonexistent device: exit 1 with a hint --------------------------------
check "info of a nonexistent BDF: exit 1, suggests lspci" 1 err "lspci" "$VFIO_MIG" info 0000:ff:1f.7
check "load into a nonexistent BDF: exit 1" 1 err "no PCI device" "$VFIO_MIG" load 0000:ff:1f.7 "$T/good.bin"

# --- hold and release without a device ---------------------------------------
check "release with no holder: exit 1, says there is none" 1 err "no holder: $T/none.sock does not exist" "$VFIO_MIG" release --socket "$T/none.sock"
check "hold without BDF: exit 2" 2 err "missing argument" "$VFIO_MIG" hold
check "hold of a device given twice: exit 2" 2 err "given twice" "$VFIO_MIG" hold 0000:00:03.0 00:03.0
check "--background on info: exit 2" 2 err "only to hold" "$VFIO_MIG" info --background 0000:00:03.0
check "--holder with --no-holder: exit 2" 2 err "contradict" "$VFIO_MIG" --holder "$T/h.sock" --no-holder info 0000:00:03.0
if run "hold of a nonexistent device: exit 1" 1 "$VFIO_MIG" hold --socket "$T/h.sock" 0000:ff:1f.7; then
	if grep -q "no PCI device" "$T/err" && [ ! -e "$T/h.sock" ]; then
		ok "hold of a nonexistent device: exit 1, no socket made"
	else
		not_ok "hold of a nonexistent device: exit 1, no socket made"
	fi
fi

# --- golden streams ----------------------------------------------------------
# tools/testing/stream/golden keeps a stream of every format version a
# qemu-vfio-pci ever wrote, of every backend that version had
# (scripts/golden-streams.sh wrote them): this version's must decode, and
# with the known state; an older one must be refused by its version.  A
# new version without its golden streams fails here.
# golden_file NAME: the golden stream NAME, unpacked into $T if gzipped
# (once: the ivshmem streams are 64 MiB); empty if there is none.
golden_file() {
	if [ -f "$GOLDEN/$1" ]; then
		echo "$GOLDEN/$1"
	elif [ -f "$T/$1" ] ||
	     { [ -f "$GOLDEN/$1.gz" ] && gzip -dc "$GOLDEN/$1.gz" >"$T/$1"; }; then
		echo "$T/$1"
	fi
}

if [ -z "${GOLDEN:-}" ] || [ -z "${STREAM_VERSION:-}" ]; then
	echo "Bail out! GOLDEN and STREAM_VERSION must be set (make -C tools/vfio-mig check sets them)"
	exit 1
fi
missing=
v=1
while [ "$v" -le "$STREAM_VERSION" ]; do
	names="edu-v$v.qvps ivshmem-64M-v$v.qvps"
	[ "$v" -lt 2 ] || names="$names igbvf-v$v.qvps"
	for g in $names; do
		[ -n "$(golden_file "$g")" ] || missing="$missing $g"
	done
	v=$((v + 1))
done
if [ -z "$missing" ]; then
	ok "golden streams: edu and ivshmem of versions 1 to $STREAM_VERSION, igbvf from 2"
else
	not_ok "golden streams: edu and ivshmem of versions 1 to $STREAM_VERSION, igbvf from 2" \
		"missing in $GOLDEN:$missing (scripts/golden-streams.sh writes them)"
fi

v=$STREAM_VERSION
if run "golden edu v$v: decodes" 0 "$VFIO_MIG" dump "$(golden_file "edu-v$v.qvps")"; then
	if grep -Eq "liveness +0x9890939b" "$T/out" &&
	   grep -Eq "factorial +0x00375f00" "$T/out"; then
		ok "golden edu v$v: decodes, with LIVENESS 0x676f6c64 written and 10! computed"
	else
		not_ok "golden edu v$v: decodes, with LIVENESS 0x676f6c64 written and 10! computed" \
			"want liveness 0x9890939b (read back) and factorial 0x00375f00"
	fi
fi
check "golden ivshmem v$v: decodes" 0 out "^stream OK: .* records including END" \
	"$VFIO_MIG" dump "$(golden_file "ivshmem-64M-v$v.qvps")"
check "golden igbvf v$v: decodes" 0 out "^stream OK: .* records including END" \
	"$VFIO_MIG" dump "$(golden_file "igbvf-v$v.qvps")"
v=1
while [ "$v" -lt "$STREAM_VERSION" ]; do
	for g in "edu-v$v.qvps" "ivshmem-64M-v$v.qvps"; do
		check "golden $g: refused, naming version $v" 1 err \
			"unsupported stream version $v " "$VFIO_MIG" dump "$(golden_file "$g")"
	done
	v=$((v + 1))
done

# --- JSON on failure ---------------------------------------------------------
run "info --json of a nonexistent BDF: exit 1" 1 "$VFIO_MIG" --json info 0000:ff:1f.7 &&
	json_check "info --json failure is a JSON object with the error" \
		"d['ok'] is False and d['exit_code'] == 1 and 'lspci' in d['error']"
run "usage error with --json: exit 2" 2 "$VFIO_MIG" --json state 0000:00:03.0 SLEEPING &&
	json_check "usage error with --json is a JSON object" \
		"d['ok'] is False and d['exit_code'] == 2 and 'SLEEPING' in d['error']"

# --- man page --------------------------------------------------------------
if [ -n "$MANPAGE" ] && command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$MANPAGE" >"$T/out" 2>"$T/err" && [ ! -s "$T/err" ]; then
		ok "man page renders without warnings"
	else
		not_ok "man page renders without warnings"
	fi
else
	skip "man page renders without warnings" "no MANPAGE or no groff"
fi

if [ "$n" -ne "$plan" ]; then
	echo "# planned $plan tests, ran $n"
	failed=$((failed + 1))
fi
if [ "$failed" -ne 0 ]; then
	echo "# $failed test(s) failed"
	exit 1
fi
echo "# all $n tests passed"
exit 0
