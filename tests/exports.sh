#!/bin/sh
# exports.sh LIB HEADER... — libmote.so exports exactly the functions its
# public headers declare with MOTE_API: nothing internal leaks, nothing
# public is missing.
lib=$1; shift
nm=${NM:-nm}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u > "$tmp/exported"
grep -hv '^#' "$@" | tr '\n' ' ' | grep -o 'MOTE_API [^(;]*(' | sed 's/ *($//; s/.*[ *]//' | sort -u > "$tmp/declared"
n=$(wc -l < "$tmp/declared")
if [ "$n" -lt 10 ]; then echo "exports: found only $n MOTE_API declarations in $*"; exit 1; fi
if ! cmp -s "$tmp/exported" "$tmp/declared"; then
    echo "exports: $lib does not export exactly the public API (< exported only, > declared only):"
    diff "$tmp/exported" "$tmp/declared" | grep '^[<>]'
    exit 1
fi
echo "exports: $n public functions, nothing else"
