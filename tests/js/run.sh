#!/bin/sh
# run.sh MOTE — the Node tests (tests/js/*.mjs): `mote serve` through the
# official openai client (chat, completions, embeddings), structured output
# against the JSON Schema Test Suite, and the chat page in headless Chromium
# (Debian's chromium; CHROMIUM overrides); `mote mcp` through the official
# MCP SDK's client and the inspector's CLI.
# They need node and the packages of tests/package.json (`npm ci --prefix
# tests`), and ../shared's stories260K. Without them they skip, saying why;
# MOTE_REQUIRE_NODE=1 (CI) makes a missing piece a failure instead.
set -u
mote=$1
shared=${MOTE_SHARED:-../shared}
model=$shared/models/stories260K.gguf
missing=
command -v node >/dev/null 2>&1 || missing="node is not installed (apt-get install nodejs npm)"
[ -z "$missing" ] && [ ! -d tests/node_modules ] && missing="tests/node_modules is absent (npm ci --prefix tests)"
[ -z "$missing" ] && [ ! -f "$model" ] && missing="$model is absent (the reference files; set MOTE_SHARED)"
if [ -n "$missing" ]; then
    if [ "${MOTE_REQUIRE_NODE:-0}" = 1 ]; then echo "FAIL: tests/js: $missing"; exit 1; fi
    echo "SKIP: tests/js: $missing"
    exit 0
fi
fail=0
for t in openai_client schema_suite embeddings memory mcp; do
    echo "-- tests/js/$t.mjs"
    node "tests/js/$t.mjs" "$mote" "$model" || fail=1
done
# The chat page in headless Chromium (its screenshot lands beside MOTE).
browser=${CHROMIUM:-$(command -v chromium || true)}
if [ -n "$browser" ]; then
    echo "-- tests/js/chat_page.mjs"
    CHROMIUM=$browser node tests/js/chat_page.mjs "$mote" "$model" "$(dirname "$mote")" || fail=1
elif [ "${MOTE_REQUIRE_NODE:-0}" = 1 ]; then
    echo "FAIL: tests/js/chat_page.mjs: chromium is not installed (apt-get install chromium)"
    fail=1
else
    echo "SKIP: tests/js/chat_page.mjs: chromium is not installed (apt-get install chromium)"
fi
exit $fail
