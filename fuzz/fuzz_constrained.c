/*
 * fuzz_constrained.c — libFuzzer target for sampling under a grammar
 * (mote_sampler_set_grammar over engine/grammar.c and engine/schema.c):
 * any schema, any logits, a real vocabulary with byte tokens (the 512
 * tokens of ../shared's stories260K, opened vocabulary-only), so that
 * characters arrive cut into bytes as a model makes them.
 *
 * Input: byte 0: bit 0 greedy (else temperature 1), bits 1-3 + 1 steps
 * of 8; then the schema up to a NUL byte; the rest seeds the logits of
 * each step (each step reads 8 bytes, cyclically, into a PRNG seed).
 *
 * Contract:
 * - a schema that compiles constrains a sampler; each token the sampler
 *   returns keeps the text a prefix of a sentence of the grammar (checked
 *   by matching the whole text again from the start), and an
 *   end-of-generation token comes only when the text is whole JSON (cJSON
 *   parses it);
 * - when no token fits, mote_sampler_sample returns -1 with a message;
 * - nothing leaks (ASan).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "engine/grammar.h"
#include "fuzz.h"

#define MAX_STEPS 64
#define TEXT_MAX 8192

static mote_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = fuzz_shared_dir();
    if (!dir) {
        fuzz_skip_reason = "no reference folder (set MOTE_SHARED or provide ../shared)";
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", dir);
    mote_model_params p = mote_model_default_params();
    p.vocab_only = 1;
    if (mote_model_open(path, &p, &model) != MOTE_OK) {
        fprintf(stderr, "fuzz_constrained: %s: %s\n", path, mote_last_error());
        fuzz_skip_reason = "stories260K's vocabulary did not open";
    }
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Is text[0..n) a prefix of a sentence (1), or whole (2)? 0: neither. */
static int matches(const mote_grammar *g, const char *text, size_t n)
{
    gram_state st, out = {0};
    fuzz_check(grammar_start(g, &st) == 0, "start");
    const int rc = grammar_feed(g, &st, text, n, &out);
    fuzz_check(rc >= 0, "feed: out of memory");
    const int whole = rc == 1 && out.complete && out.partial_left == 0;
    grammar_state_free(&st);
    grammar_state_free(&out);
    return rc == 1 ? 1 + whole : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model || size < 1) return 0;
    const int greedy = data[0] & 1, steps = (((data[0] >> 1) & 7) + 1) * 8;
    const uint8_t *schema = data + 1, *nul = memchr(schema, 0, size - 1);
    const size_t schema_len = nul ? (size_t)(nul - schema) : size - 1;
    const uint8_t *seed_bytes = nul ? nul + 1 : NULL;
    const size_t n_seed = nul ? size - 1 - schema_len - 1 : 0;
    char *s = malloc(schema_len + 1);
    fuzz_check(s != NULL, "malloc");
    memcpy(s, schema, schema_len);
    mote_grammar *g = NULL;
    if (mote_grammar_from_json_schema(s, schema_len, &g) != MOTE_OK) {
        free(s);
        return 0;
    }
    mote_sampler_params sp = mote_sampler_default_params();
    sp.temp = greedy ? 0.0f : 1.0f;
    sp.top_k = 0;
    sp.top_p = 1;
    sp.min_p = 0;
    sp.seed = 7;
    const int n_vocab = mote_vocab_size(model);
    mote_sampler *smp = NULL;
    fuzz_check(mote_sampler_create(&sp, n_vocab, &smp) == MOTE_OK, "sampler");
    fuzz_check(mote_sampler_set_grammar(smp, model, g) == MOTE_OK, "set_grammar");
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    char *text = malloc(TEXT_MAX + 64);
    fuzz_check(logits && text, "malloc");
    size_t len = 0;
    for (int step = 0; step < steps && step < MAX_STEPS; step++) {
        uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(step + 1);
        for (size_t k = 0; k < 8 && n_seed; k++) seed ^= (uint64_t)seed_bytes[(8 * (size_t)step + k) % n_seed] << (8 * k);
        if (!seed) seed = 1;
        for (int t = 0; t < n_vocab; t++) logits[t] = (float)(xorshift(&seed) % 2000) / 100.0f - 10.0f;
        const mote_token t = mote_sampler_sample(smp, logits);
        if (t < 0) {
            fuzz_check(mote_last_error()[0] != '\0', "a message when no token fits");
            break;
        }
        fuzz_check(t < n_vocab, "a token of the vocabulary");
        if (mote_token_is_eog(model, t)) {
            fuzz_check(matches(g, text, len) == 2, "end of generation only on a whole sentence");
            cJSON *j = cJSON_ParseWithLength(text, len);
            fuzz_check(j != NULL, "a whole sentence is JSON");
            cJSON_Delete(j);
            break;
        }
        char piece[256];
        size_t n = 0;
        fuzz_check(mote_token_to_piece(model, t, 0, piece, sizeof piece, &n) == MOTE_OK, "piece");
        fuzz_check(n > 0, "a token with text");
        if (len + n > TEXT_MAX) break;
        memcpy(text + len, piece, n);
        len += n;
        fuzz_check(matches(g, text, len) >= 1, "the text stays a prefix of a sentence");
    }
    if (getenv("MOTE_FUZZ_VERBOSE")) fprintf(stderr, "fuzz_constrained: %zu bytes: %.*s\n", len, (int)len, text);
    fuzz_sink += len;
    free(text);
    free(logits);
    mote_sampler_free(smp);
    mote_grammar_free(g);
    free(s);
    return 0;
}
