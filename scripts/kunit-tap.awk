# SPDX-License-Identifier: GPL-2.0
#
# Turn the KTAP of a KUnit suite, as debugfs keeps it
# (/sys/kernel/debug/kunit/SUITE/results), into the shape of the suites
# that guest-run.sh writes and tap-count.awk reads:
#
#   # selftests: kunit: SUITE        the KUnit suite, as one program
#   # ok N CASE                      a test case
#   # ok N CASE: PARAM               each parameter of a parameterised case
#   ok 1 selftests: kunit: SUITE     the suite's verdict
#
# The results of several suites, one after the other, become one program
# each.  KTAP nests by four spaces: the suite's cases at depth 1, the
# parameters of a parameterised case at depth 2.  A parameterised case
# counts by its parameters only (its own line sums them up and would
# count a failure twice).  Directives stay ("# SKIP why" is a skip that must be expected).
# Other lines (diagnostics, the suite's counts) become "# # " comments;
# KTAP version lines and plans are dropped.  Used by guest-run.sh in the
# VM (mawk) and by verdict-test.sh: plain POSIX awk.

function depth(line)
{
	match(line, /^ */)
	return int(RLENGTH / 4)
}

{
	d = depth($0)
	line = $0
	sub(/^ +/, "", line)
}

line ~ /^KTAP version / || line ~ /^1\.\.[0-9]+/ { next }

line ~ /^# Subtest: / {
	name = substr(line, 12)
	if (d <= 1)
		print "# selftests: kunit: " name
	else
		param_case = name
	next
}

line ~ /^(not )?ok [0-9]+ / {
	match(line, /^(not )?ok [0-9]+ /)
	head = substr(line, 1, RLENGTH)
	rest = substr(line, RLENGTH + 1)
	if (d == 0) {
		print head "selftests: kunit: " rest
	} else if (d == 1) {
		if (!params)
			print "# " line
		params = 0
		param_case = ""
	} else {
		print "# " head param_case ": " rest
		params = 1
	}
	next
}

line != "" { print "# # " line }
