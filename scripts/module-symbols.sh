#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every global symbol that a module's objects define must be used in that
# module (called from another of its objects, or from its own through a
# relocation): a global that nothing calls is a function that only
# userspace calls (stream.c is built for both), which has no business in
# the module, or dead code.  The module's entry points are exempt.
# MODDIR may hold several modules: kbuild lists each one's objects in
# NAME.mod, and each module is checked on its own, so that a symbol is
# never counted as used by an object of another module.
#
# On a kernel with KUnit, MODDIR also holds qemu-vfio-pci-kunit, whose
# stream_kunit.c includes stream.c.  Its globals are stream.c's, whose
# use is judged in the driver's module (the test's calls to them, inlined
# or not, say nothing about the driver); what it must not have is a
# global of its own: every global of a module other than qemu-vfio-pci
# must be one that qemu-vfio-pci defines too.
# Prints TAP, one line per object file.
#
# Usage: module-symbols.sh MODDIR   (a built out-of-tree module directory)
set -u
dir=$1
mods=() objs=()
for m in "$dir"/*.mod; do
	[ -f "$m" ] || continue
	name=${m##*/}
	# One object per line (7.x: ./main.o) or per word (6.12: full paths).
	# shellcheck disable=SC2013	# words, not lines
	for o in $(cat "$m"); do
		mods+=("${name%.mod}")
		objs+=("$dir/${o##*/}")
	done
done
[ "${#objs[@]}" -gt 0 ] || { echo "not ok 1 - no module object lists (*.mod) in $dir"; exit 1; }
driver=qemu-vfio-pci
# The driver's own globals, for the other modules.
driver_syms=$(for i in "${!objs[@]}"; do
	[ "${mods[i]}" = "$driver" ] && [ -f "${objs[i]}" ] &&
		nm -g --defined-only "${objs[i]}" | awk '{print $3}'
done | sort -u)
echo "1..${#objs[@]}"
n=0 failed=0
for i in "${!objs[@]}"; do
	o=${objs[i]}
	n=$((n + 1))
	if [ ! -f "$o" ]; then
		failed=1
		echo "not ok $n - ${o##*/}: not found, though ${mods[i]}.mod lists it"
		continue
	fi
	unused=() own=()
	relocs=$(objdump -r "$o" | awk 'NF >= 3 {print $3}' | sed 's/[-+].*//' | sort -u)
	for sym in $(nm -g --defined-only "$o" | awk '{print $3}'); do
		case $sym in
		init_module | cleanup_module | __mod_*) continue ;;
		esac
		if [ "${mods[i]}" != "$driver" ]; then
			grep -qx "$sym" <<<"$driver_syms" || own+=("$sym")
			continue
		fi
		used=0
		grep -qx "$sym" <<<"$relocs" && used=1
		for j in "${!objs[@]}"; do
			[ "$used" = 1 ] && break
			[ "$j" = "$i" ] || [ "${mods[j]}" != "${mods[i]}" ] && continue
			nm -u "${objs[j]}" | awk '{print $2}' | grep -qx "$sym" && { used=1; break; }
		done
		[ "$used" = 1 ] || unused+=("$sym")
	done
	if [ "${mods[i]}" != "$driver" ]; then
		if [ "${#own[@]}" -eq 0 ]; then
			echo "ok $n - ${o##*/}: no global symbol but those of $driver.ko in ${mods[i]}.ko"
		else
			failed=1
			echo "not ok $n - ${o##*/}: globals of its own in ${mods[i]}.ko (make them static): ${own[*]}"
		fi
	elif [ "${#unused[@]}" -eq 0 ]; then
		echo "ok $n - ${o##*/}: every global symbol is used in ${mods[i]}.ko"
	else
		failed=1
		echo "not ok $n - ${o##*/}: global but used nowhere in ${mods[i]}.ko (keep it out of the kernel build, or remove it): ${unused[*]}"
	fi
done
exit "$failed"
