# SPDX-License-Identifier: GPL-2.0
#
# Reduce the TAP that guest-run.sh collects (the kselftest runner's output,
# with our suite markers) to one line per fact, fields separated by "|":
#
#   begin|SUITE                         "# suite: SUITE"       (guest-run.sh)
#   end|SUITE|STATUS                    "# suite-end: SUITE STATUS"
#   case|SUITE|PROG: NAME|RES|DETAIL    "# ok N NAME", "# not ok N NAME"
#                                       ("PROG: " is left out where PROG
#                                       is the suite's name)
#                                       (a kselftest_harness case or a TAP
#                                       line a test script printed)
#   prog|SUITE|PROG|RES|CASES|FAILED|DETAIL
#                                       "ok N selftests: DIR: PROG" (the
#                                       runner's verdict on one program,
#                                       with the number of its cases and
#                                       of its failed cases)
#
# RES is ok, fail or skip.  DETAIL is a case's SKIP reason, or for a
# failed case the last lines its program logged about it ("FILE.c:LINE:"
# lines of kselftest_harness.h's ASSERTs and TH_LOG, at most three, since
# its "RUN" line): the summary then says why it failed; for a program,
# the runner's directive (exit=N, TIMEOUT ...) or, for a program that
# skipped as a whole, the reason it printed last ("1..0 # SKIP why",
# "ok N # SKIP why").  scripts/verdict.sh judges the
# lines; this script only parses.
function flush_prog_state() {
	prog_cases = 0
	prog_failed = 0
	prog_reason = ""
}

BEGIN { suite = "?"; prog = "?"; flush_prog_state(); ndiag = 0 }

# a kselftest_harness.h case begins; its log lines
/^# #  RUN / { ndiag = 0; next }
/^# # [^ ]+\.c:[0-9]+:/ {
	d = substr($0, 5)
	gsub(/\|/, "/", d)
	if (ndiag == 3) {
		diag[1] = diag[2]; diag[2] = diag[3]; ndiag = 2
	}
	diag[++ndiag] = substr(d, 1, 200)
	next
}

/^# suite: / { suite = $3; prog = "?"; flush_prog_state(); print "begin|" suite; next }
/^# suite-end: / { print "end|" $3 "|" $4; next }
/^# selftests: / {
	prog = $0
	sub(/^# selftests: [^:]*: /, "", prog)
	flush_prog_state()
	next
}
/^# (not )?ok [0-9]+ / {
	line = substr($0, 3)
	res = (line ~ /^not ok/) ? "fail" : "ok"
	sub(/^(not )?ok [0-9]+ /, "", line)
	detail = ""
	if (line ~ /# SKIP/) {
		detail = line
		sub(/.*# SKIP */, "", detail)
		sub(/ *# SKIP.*/, "", line)
		# "ok 1 # SKIP why" without a name: a whole-program skip
		# (ksft_exit_skip() after the plan), not a case.
		if (line == "") {
			prog_reason = detail
			next
		}
		if (res == "ok")
			res = "skip"
	}
	prog_cases++
	if (res == "fail") {
		prog_failed++
		for (i = 1; i <= ndiag; i++)
			detail = detail (i > 1 ? " / " : "") diag[i]
	}
	ndiag = 0
	# guest-run.sh's own suites (setup, teardown) are their program
	print "case|" suite "|" (prog == suite ? "" : prog ": ") line "|" res "|" detail
	next
}
/^# .*1\.\.0 # SKIP/ {
	prog_reason = $0
	sub(/.*# SKIP */, "", prog_reason)
	next
}
/^(not )?ok [0-9]+ selftests: / {
	line = $0
	res = (line ~ /^not ok/) ? "fail" : "ok"
	directive = ""
	if (line ~ / # /) {
		directive = line
		sub(/^[^#]* # /, "", directive)
	}
	if (directive ~ /^SKIP/) {
		res = "skip"
		directive = prog_reason
	}
	name = line
	sub(/^(not )?ok [0-9]+ selftests: [^:]*: /, "", name)
	sub(/ # .*/, "", name)
	print "prog|" suite "|" name "|" res "|" prog_cases "|" prog_failed "|" directive
	prog = "?"
	flush_prog_state()
	next
}
