/*
 * fuzz_schema.c — libFuzzer target for the JSON Schema compiler
 * (src/engine/schema.c) and the grammar matcher (src/engine/grammar.c):
 * a schema comes in a request body, so it is untrusted input.
 *
 * Input: the schema, then optionally a NUL byte and a text (at most 4 KiB
 * of it is used) to match against the schema's grammar.
 *
 * Contract:
 * - mote_grammar_from_json_schema returns MOTE_OK with a grammar, or
 *   MOTE_E_UNSUPPORTED (the message quotes the keyword), MOTE_E_INVALID
 *   or MOTE_E_NOMEM with a message and no grammar; the same schema gives
 *   the same status twice;
 * - the matcher gives the same verdict on the text fed whole and fed one
 *   byte at a time;
 * - a text the grammar accepts whole is JSON (cJSON parses it): whatever
 *   the schema, the grammar never accepts anything that is not JSON.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/grammar.h"
#include "fuzz.h"

#define TEXT_MAX 4096

/* Feed text[0..n) in pieces of step bytes: 1 whole, 0 not, -1 cut short. */
static int verdict(const mote_grammar *g, const char *text, size_t n, size_t step)
{
    gram_state st, next = {0};
    fuzz_check(grammar_start(g, &st) == 0, "start");
    int ok = 1;
    for (size_t i = 0; i < n && ok; i += step) {
        const size_t k = n - i < step ? n - i : step;
        const int rc = grammar_feed(g, &st, text + i, k, &next);
        fuzz_check(rc >= 0, "feed: out of memory");
        ok = rc == 1;
        gram_state t = st;
        st = next;
        next = t;
    }
    const int whole = ok && st.complete && st.partial_left == 0;
    grammar_state_free(&st);
    grammar_state_free(&next);
    return whole;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    const size_t schema_len = nul ? (size_t)(nul - data) : size;
    char *schema = malloc(schema_len ? schema_len : 1);
    fuzz_check(schema != NULL, "malloc");
    memcpy(schema, data, schema_len);
    mote_grammar *g = (mote_grammar *)&g;
    const mote_status st = mote_grammar_from_json_schema(schema, schema_len, &g);
    fuzz_check(st == MOTE_OK || st == MOTE_E_UNSUPPORTED || st == MOTE_E_INVALID || st == MOTE_E_NOMEM, "status");
    if (st != MOTE_OK) {
        fuzz_check(g == NULL, "no grammar on failure");
        fuzz_check(mote_last_error()[0] != '\0', "a message");
        if (st == MOTE_E_UNSUPPORTED) fuzz_check(strchr(mote_last_error(), '\'') != NULL, "the keyword quoted");
    }
    mote_grammar *again = NULL;
    fuzz_check(mote_grammar_from_json_schema(schema, schema_len, &again) == st, "same status twice");
    mote_grammar_free(again);
    if (st == MOTE_OK && nul) {
        const char *text = (const char *)nul + 1;
        size_t n = size - schema_len - 1;
        if (n > TEXT_MAX) n = TEXT_MAX;
        const int whole = verdict(g, text, n, n + 1);
        fuzz_check(verdict(g, text, n, 1) == whole, "same verdict byte by byte");
        if (whole) {
            cJSON *j = cJSON_ParseWithLength(text, n);
            fuzz_check(j != NULL, "an accepted text is JSON");
            cJSON_Delete(j);
        }
    }
    if (st == MOTE_OK) mote_grammar_free(g);
    free(schema);
    return 0;
}
