#!/bin/sh
# run.sh NAME SECONDS — run the libFuzzer target build-fuzz/fuzz/fuzz-NAME
# (built by `make fuzz`) for SECONDS from its corpus, under ASan and UBSan.
#
# New inputs go to build-fuzz/corpus/NAME (the committed seeds in
# fuzz/corpus/NAME are read, never written). A finding stops the run: its
# input is saved as build-fuzz/artifacts/NAME-crash-..., printed here in
# hex, and the script fails; add the file under tests/fuzz/NAME/ (with the
# fix) so that `make test` replays it. The last lines of the log give the
# executions, coverage and corpus size for RELIABILITY.md.
set -eu
name=$1
seconds=$2
bin=build-fuzz/fuzz/fuzz-$name
[ -x "$bin" ] || { echo "run.sh: $bin missing: run make fuzz first"; exit 2; }
work=build-fuzz/corpus/$name
art=build-fuzz/artifacts
log=build-fuzz/fuzz-$name.log
mkdir -p "$work" "$art"
set -- "$work"
for d in fuzz/corpus/$name tests/fuzz/$name; do [ -d "$d" ] && set -- "$@" "$d"; done
case $name in
gguf|model) set -- "$@" build-fuzz/fuzz/corpus-seeds ;;
# the real chat templates are seeds too, read in place (never copied)
jinja) shared=${MOTE_SHARED:-../shared}; [ -d "$shared/templates" ] && set -- "$@" "$shared/templates" ;;
esac
dict=
case $name in model) dictfile=fuzz/gguf.dict ;; *) dictfile=fuzz/$name.dict ;; esac
[ -f "$dictfile" ] && dict=-dict=$dictfile

echo "== fuzz $name for ${seconds}s (log: $log)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
# -rss_limit_mb and -timeout: an input that needs more than 2 GB or 10 s is
# a finding too (each parser bounds its memory and time per input). On a
# loaded machine (several runs at once) FUZZ_TIMEOUT=120 keeps a slow
# moment from passing for a hang; replay the input alone to judge it.
"$bin" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$art/$name-" $dict "$@" >"$log" 2>&1 || rc=$?
grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1 || true
grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added' "$log" || true
if [ $rc -ne 0 ]; then
    tail -60 "$log"
    for f in $(grep -o "Test unit written to [^ ]*" "$log" | sed 's/Test unit written to //'); do
        echo "== reproducer $f ($(wc -c <"$f") bytes), hex:"
        od -An -tx1 -v "$f" | head -64
    done
    echo "== fuzz $name: FINDING (exit $rc)"
    exit 1
fi
echo "== fuzz $name: no finding"
