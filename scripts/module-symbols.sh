#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every global symbol that the module's objects define must be used in the
# module (called from another object, or from its own through a
# relocation): a global that nothing calls is a function that only
# userspace calls (stream.c is built for both), which has no business in
# the module, or dead code.  The module's entry points are exempt.
# Prints TAP, one line per object file.
#
# Usage: module-symbols.sh MODDIR   (a built out-of-tree module directory)
set -u
dir=$1
objs=()
for o in "$dir"/*.o; do
	case $o in
	*.mod.o | */qemu-vfio-pci.o) ;;
	*) objs+=("$o") ;;
	esac
done
[ "${#objs[@]}" -gt 0 ] || { echo "not ok 1 - no object files in $dir"; exit 1; }
echo "1..${#objs[@]}"
n=0 failed=0
for o in "${objs[@]}"; do
	n=$((n + 1))
	unused=()
	relocs=$(objdump -r "$o" | awk 'NF >= 3 {print $3}' | sed 's/[-+].*//' | sort -u)
	for sym in $(nm -g --defined-only "$o" | awk '{print $3}'); do
		case $sym in
		init_module | cleanup_module | __mod_*) continue ;;
		esac
		used=0
		grep -qx "$sym" <<<"$relocs" && used=1
		for other in "${objs[@]}"; do
			[ "$used" = 1 ] && break
			[ "$other" = "$o" ] && continue
			nm -u "$other" | awk '{print $2}' | grep -qx "$sym" && { used=1; break; }
		done
		[ "$used" = 1 ] || unused+=("$sym")
	done
	if [ "${#unused[@]}" -eq 0 ]; then
		echo "ok $n - ${o##*/}: every global symbol is used in the module"
	else
		failed=1
		echo "not ok $n - ${o##*/}: global but used nowhere in the module (keep it out of the kernel build, or remove it): ${unused[*]}"
	fi
done
exit "$failed"
