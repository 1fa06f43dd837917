#!/bin/bash
# layers.sh - fail when a library source calls a function of a source
# listed after it in src/meson.build (a call that goes up a layer).
#
#   scripts/layers.sh SRC_MESON_BUILD ARCHIVE [--expect-up]
#
# The order of ht_sources in SRC_MESON_BUILD is the layer order, bottom
# first.  ARCHIVE is the internal static library (libhtable_internal.a);
# each of its objects is named after its source (reader/scan.c ->
# reader_scan.c.o).  For every undefined symbol of an object that another
# object defines, the definer must come earlier in the list.  Calls inside
# one file are free.  --expect-up reverses the list and succeeds only if
# the check then fails: the test of the check itself.
# Exit 0 when the graph points down, 1 with each upward call listed.
set -euo pipefail

build_file=$1
archive=$2
expect_up=${3:-}

# The sources in layer order, as object names.
mapfile -t order < <(awk '
	/^ht_sources = files\(/ { on = 1; next }
	on && /^\)/ { exit }
	on { if (match($0, /'"'"'[^'"'"']+\.c'"'"'/))
		print substr($0, RSTART + 1, RLENGTH - 2) }
' "$build_file" | sed 's|/|_|g; s|$|.o|')
if [ "${#order[@]}" -lt 2 ]; then
	echo "layers.sh: no ht_sources list in $build_file" >&2
	exit 2
fi
if [ "$expect_up" = "--expect-up" ]; then
	mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
fi

# object -> rank
declare -A rank
for i in "${!order[@]}"; do
	rank[${order[$i]}]=$i
done

# One line per symbol: "D object symbol" (defined, global) or
# "U object symbol".
table=$(nm -A "$archive" 2>/dev/null | awk '
	{
		# archive:member:value type name, or archive:member: U name
		n = split($1, p, ":"); obj = p[n - 1]
		sub(/.*\//, "", obj)
		if ($2 == "U") print "U", obj, $3
		else if (NF == 3 && $2 ~ /^[TDBRCV]$/) print "D", obj, $3
	}')

while read -r kind obj sym; do
	if [ -z "${rank[$obj]+x}" ]; then
		echo "layers.sh: $obj is not in the ht_sources list" >&2
		exit 2
	fi
done < <(awk '$1 == "D"' <<<"$table")

ups=$(awk -v order="${order[*]}" '
	BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) r[o[i]] = i }
	$1 == "D" { def[$3] = $2; next }
	$1 == "U" { use[NR] = $2 " " $3 }
	END {
		for (k in use) {
			split(use[k], u, " ")
			d = def[u[2]]
			if (d != "" && d != u[1] && r[d] > r[u[1]])
				printf "%s calls %s() of %s, listed after it\n", \
				    u[1], u[2], d
		}
	}' <<<"$(awk '$1 == "D"' <<<"$table"; awk '$1 == "U"' <<<"$table")" |
    sort)

if [ "$expect_up" = "--expect-up" ]; then
	if [ -z "$ups" ]; then
		echo "layers.sh: the reversed order shows no upward call: the" \
		    "check sees nothing" >&2
		exit 1
	fi
	echo "reversed order: $(wc -l <<<"$ups") upward calls found, as expected"
	exit 0
fi
if [ -n "$ups" ]; then
	echo "calls that go up a layer (src/meson.build lists the order):"
	echo "$ups" | sed 's/\.c\.o//g; s/^/  /'
	exit 1
fi
echo "${#order[@]} sources, every call points down"
