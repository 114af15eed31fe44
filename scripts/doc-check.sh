#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The documentation's own checks, with the kernel's scripts/kernel-doc
# (make check runs this in the test root filesystem, with the kernel-doc of
# its linux-kbuild package; Sphinx is not needed):
#
#  1. kernel-doc -Wall: every kernel-doc comment of the driver and of the
#     uapi header is clean.
#  2. Every ".. kernel-doc::" directive in Documentation/ renders, as the
#     kernel's Sphinx extension would ask for it: each name of
#     :identifiers: or :functions: (one kernel-doc -rst -function NAME
#     each), each :doc: section (-function 'TITLE'), or the whole file for
#     a directive without options.  A missing file, an option this script
#     does not know, a warning, a name that is not found or an empty
#     result is a failure.
#  3. No document (Documentation/**/*.rst, README.md) names a file of
#     drivers/vfio/pci/qemu/ that does not exist: every path under it must
#     exist, and so must every bare C file name (``save.c``, ``stream.[ch]``)
#     unless some other file of the repository has that name or it is one
#     of the names below that are not ours.  Nor a qvp_*() function that
#     the code (drivers/, include/, tools/) does not name.
#
# Prints TAP; exits non-zero on any failure.
#
# Usage: doc-check.sh KERNEL_DOC
#   KERNEL_DOC: the kernel's scripts/kernel-doc (perl, 6.12 or later)
set -u
kdoc=${1:?usage: doc-check.sh KERNEL_DOC}
cd "$(dirname "$0")/.." || exit 1
driver=drivers/vfio/pci/qemu

# Bare file names that documents may use for files that are not ours: the
# kernel's headers, the kernel's mtty sample (the conformance suites'
# second driver), and the backends the design notes call planned.
not_ours='vfio.h vfio_pci_core.h kselftest.h mtty.c igbvf.c dirty.c'

# kernel-doc picks the output for the Sphinx version it finds, and warns
# when it finds none; the test root filesystem has no Sphinx.
sphinx=${QVP_SPHINX_VERSION:-7.2.6}

n=0 failed=0
tap()	# tap ok|fail DESCRIPTION [DETAIL...]
{
	local res=$1 what=$2
	shift 2
	n=$((n + 1))
	if [ "$res" = ok ]; then
		echo "ok $n - $what"
	else
		failed=1
		# The first detail on the line itself, so that make check's
		# list of failures says why; all of them below it.
		echo "not ok $n - $what${1:+ # ${1:0:200}}"
		[ $# -eq 0 ] || printf '# %s\n' "$@"
	fi
}

kdoc()
{
	perl "$kdoc" "$@"
}

# 1. the comments themselves --------------------------------------------------
if log=$(kdoc -none -Wall -Werror "$driver"/*.[ch] include/uapi/linux/qemu_vfio_pci.h 2>&1) &&
	[ -z "$log" ]; then
	tap ok "kernel-doc -Wall clean"
else
	mapfile -t lines <<<"$log"
	tap fail "kernel-doc -Wall clean" "${lines[@]}"
fi

# 2. the directives -----------------------------------------------------------
# directives: one line per directive and option, "DOC<TAB>LINE<TAB>FILE<TAB>
# OPTION<TAB>VALUE" (OPTION empty for a directive without options).
directives()
{
	find Documentation -name '*.rst' | sort | while read -r doc; do
		awk -v doc="$doc" '
		function emit() {
			if (opt != "")
				printf "%s\t%d\t%s\t%s\t%s\n", doc, line, file, opt, val
			opt = ""
		}
		function flush() {
			emit()
			if (file != "" && !opts)
				printf "%s\t%d\t%s\t\t\n", doc, line, file
			file = ""
		}
		/^[[:space:]]*\.\. kernel-doc::/ {
			flush()
			file = $0
			sub(/^[[:space:]]*\.\. kernel-doc::[[:space:]]*/, "", file)
			sub(/[[:space:]]+$/, "", file)
			if (file == "")
				file = "(none)"
			line = NR; opts = 0
			next
		}
		file != "" && /^[[:space:]]+:[^:]+:/ {
			emit()
			opt = $0
			sub(/^[[:space:]]+:/, "", opt)
			val = opt
			sub(/:.*/, "", opt)
			sub(/^[^:]*:[[:space:]]*/, "", val)
			sub(/[[:space:]]+$/, "", val)
			opts++
			next
		}
		# an option value continued on the next, indented line
		opt != "" && /^[[:space:]]+[^[:space:]]/ {
			cont = $0
			sub(/^[[:space:]]+/, "", cont)
			sub(/[[:space:]]+$/, "", cont)
			val = val (val == "" ? "" : " ") cont
			next
		}
		{ flush() }
		END { flush() }
		' "$doc"
	done
}

# render DESCRIPTION KERNEL-DOC-ARGS...: one piece of a directive.
render()
{
	local what=$1 out err rc
	shift
	err=$(mktemp)
	out=$(kdoc -rst -Wall -Werror -sphinx-version "$sphinx" "$@" 2>"$err")
	rc=$?
	mapfile -t lines <"$err"
	rm -f "$err"
	if [ "$rc" -ne 0 ] || [ "${#lines[@]}" -gt 0 ]; then
		tap fail "$what" "${lines[@]}" "kernel-doc exit status $rc"
	elif ! grep -q '[^[:space:]]' <<<"$out"; then
		tap fail "$what" "kernel-doc printed nothing for it"
	else
		tap ok "$what"
	fi
}

ndirectives=0
while IFS=$'\t' read -r doc line file opt val; do
	ndirectives=$((ndirectives + 1))
	at="$doc:$line: kernel-doc $file${opt:+ :$opt:}"
	if [ ! -f "$file" ]; then
		tap fail "$at" "no such file: $file"
		continue
	fi
	case $opt in
	'')
		render "$at (all of it)" "$file" ;;
	identifiers | functions)
		if [ -z "$val" ]; then
			render "$at (all of it)" "$file"
			continue
		fi
		for name in $val; do
			render "$at $name" -function "$name" "$file"
		done ;;
	doc)
		render "$at $val" -function "$val" "$file" ;;
	*)
		tap fail "$at" "doc-check.sh does not know the option :$opt:; teach it, as Documentation/sphinx/kerneldoc.py reads it" ;;
	esac
done < <(directives)
[ "$ndirectives" -gt 0 ] ||
	tap fail "Documentation/ pulls kernel-doc from the sources" "no .. kernel-doc:: directive found"

# 3. stale pointers -------------------------------------------------------------
# has_file NAME: a file of the repository (but for out/ and .git) is NAME.
has_file()
{
	[ -n "$(find . \( -path ./out -o -path ./.git \) -prune -o -type f -name "$1" -print -quit)" ]
}

for doc in $(find Documentation -name '*.rst' | sort) README.md; do
	missing=()
	while IFS=: read -r lnum tok; do
		case $tok in
		*'[ch]') names="${tok%\[ch\]}c ${tok%\[ch\]}h" ;;
		*) names=$tok ;;
		esac
		for name in $names; do
			case $name in
			*.ko | *.o)
				continue ;;	# built, not in the tree
			"$driver"/*)
				[ -e "$name" ] && continue ;;
			*/*)
				continue ;;	# another tree's path: not ours to check
			*)
				[ -e "$driver/$name" ] && continue
				case " $not_ours " in *" $name "*) continue ;; esac
				has_file "$name" && continue ;;
			esac
			missing+=("line $lnum: $name")
		done
	done < <(grep -noE "$driver/[A-Za-z0-9_.-]+(\[ch\])?|[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(\[ch\]|[ch])([^A-Za-z0-9_]|\$)" "$doc" |
		sed -E -e 's/[^]A-Za-z0-9_.]$//' -e 's/\.+$//')
	# and the driver's functions, qvp_*(): named somewhere in the code
	while IFS=: read -r lnum fn; do
		fn=${fn%()}
		grep -rqw -- "$fn" drivers include tools || missing+=("line $lnum: $fn()")
	done < <(grep -noE '\bqvp_[a-z0-9_]+\(\)' "$doc")
	if [ "${#missing[@]}" -eq 0 ]; then
		tap ok "$doc: every file of $driver/ and every qvp_*() function it names exists"
	else
		tap fail "$doc: names files of $driver/ or qvp_*() functions that do not exist" "${missing[@]}"
	fi
done

echo "1..$n"
exit "$failed"
