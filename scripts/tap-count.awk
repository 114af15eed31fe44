# SPDX-License-Identifier: GPL-2.0
#
# Reduce the TAP printed by the kselftest runner (see guest-run.sh) to one
# line per result: "ok|fail|skip|SUITE:NAME|DETAIL".
#   "# suite: NAME"                 starts a suite (our marker)
#   "# ok N name" / "# not ok N"    a kselftest_harness test case
#   "ok N selftests: dir: prog"     a program's result from the runner
# A program that failed without any failed case (crash, timeout, a
# non-harness test) is reported as one failure of its own.
/^# suite: / { suite = $3; next }
/^# (not )?ok [0-9]+ / {
	line = substr($0, 3)
	res = (line ~ /^not ok/) ? "fail" : "ok"
	sub(/^(not )?ok [0-9]+ /, "", line)
	detail = ""
	if (line ~ /# SKIP/) {
		res = "skip"
		detail = line; sub(/.*# SKIP */, "", detail)
		sub(/ *# SKIP.*/, "", line)
	}
	prog_cases++
	if (res == "fail")
		prog_failed_cases++
	print res "|" suite ":" line "|" detail
	next
}
/^(not )?ok [0-9]+ selftests: / {
	line = $0
	res = (line ~ /^not ok/) ? "fail" : "ok"
	sub(/^(not )?ok [0-9]+ selftests: /, "", line)
	if (line ~ /# SKIP/)
		res = "skip"
	if (res == "fail" && !prog_failed_cases)
		print "fail|" suite ":" line "|program failed"
	else if (res == "skip" && !prog_cases)
		print "skip|" suite ":" line "|program skipped"
	prog_failed_cases = 0
	prog_cases = 0
	next
}
