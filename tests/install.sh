#!/bin/sh
# install.sh MAKE BUILD — `make install` into a temporary prefix, then a
# program built with `pkg-config mote` against that prefix links to the
# versioned libmote.so (its SONAME) and runs. A failure prints what broke.
set -eu
make_cmd=$1
build=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install: $*"; exit 1; }

$make_cmd -s install PREFIX="$tmp/prefix" BUILD="$build" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "make install failed"; }
lib=$tmp/prefix/lib
soname=$(readelf -d "$lib/libmote.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || fail "libmote.so has no SONAME"
[ -e "$lib/$soname" ] || fail "no $soname installed beside libmote.so"
[ -L "$lib/libmote.so" ] || fail "libmote.so is not a link to the versioned library"

cat > "$tmp/app.c" <<'C'
#include <mote.h>
#include <stdio.h>
int main(void)
{
    mote_model *m = NULL;
    mote_status st = mote_model_open("/nonexistent.gguf", NULL, &m);
    printf("%s|%s\n", mote_status_name(st), m ? "model" : "no model");
    return 0;
}
C
export PKG_CONFIG_PATH="$lib/pkgconfig"
flags=$(pkg-config --cflags --libs mote) || fail "pkg-config does not know mote"
cc "$tmp/app.c" -o "$tmp/app" $flags || fail "cannot build a program with: cc app.c $flags"
needed=$(readelf -d "$tmp/app" | sed -n 's/.*(NEEDED).*\[\(libmote[^]]*\)\]/\1/p')
[ "$needed" = "$soname" ] || fail "the program needs '$needed', not the SONAME $soname"
out=$(LD_LIBRARY_PATH=$lib "$tmp/app") || fail "the program did not run against $lib"
[ "$out" = "i/o error|no model" ] || fail "the program printed '$out'"
echo "install: $soname in a fresh prefix; a pkg-config program links and runs"
