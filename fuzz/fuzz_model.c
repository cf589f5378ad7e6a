/*
 * fuzz_model.c — libFuzzer target for opening a whole model from memory:
 * the GGUF reader, hyper-parameter validation, the tensor checks and the
 * tokenizer's construction (model_open_gguf on gguf_open_buffer).
 *
 * Contract: an input either opens, or fails with a message and leaves no
 * model. A model that opens also runs: a short text tokenizes to ids in
 * the vocabulary, detokenizes, and one token evaluates in a session to
 * logits of the vocabulary's width (finite or not: random weights may
 * overflow, the code must not). Seeds: tiny models from fuzz/seeds.c.
 */
#include <string.h>

#include "base/status.h"
#include "engine/model.h"
#include "fuzz.h"
#include "gguf/gguf.h"

/* Tokenize and detokenize a short text. */
static void check_text(const mote_model *m)
{
    static const char text[] = "Once upon a time, the <s> end.\n";
    mote_token ids[64];
    size_t n = 0;
    mote_status st = mote_tokenize(m, text, sizeof text - 1, 1, 0, ids, 64, &n);
    fuzz_check(st == MOTE_OK || st == MOTE_E_RANGE, "tokenize failed on a model that opened");
    if (st != MOTE_OK) return;
    int n_vocab = mote_vocab_size(m);
    for (size_t i = 0; i < n; i++) fuzz_check(ids[i] >= 0 && ids[i] < n_vocab, "token id outside the vocabulary");
    char *back = NULL;
    fuzz_check(mote_detokenize(m, ids, n, 0, &back) == MOTE_OK && back, "detokenize failed");
    mote_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *g = NULL;
    mote_clear_error();
    if (gguf_open_buffer(data, size, "fuzz", &g) != MOTE_OK) {
        fuzz_check(!g && mote_last_error()[0], "a failed open left a file or no message");
        return 0;
    }
    mote_model *m = NULL;
    mote_clear_error();
    if (model_open_gguf(g, NULL, &m) != MOTE_OK) {
        fuzz_check(!m && mote_last_error()[0], "a failed model open left a model or no message");
        return 0;
    }
    check_text(m);
    mote_model_info info;
    fuzz_check(mote_model_get_info(m, &info) == MOTE_OK, "get_info failed");
    if (!info.vocab_only && info.n_layer > 0) {
        mote_session_params sp = mote_session_default_params();
        sp.n_ctx = 8;
        sp.n_threads = 1;
        mote_session *s = NULL;
        mote_status st = mote_session_create(m, &sp, &s);
        fuzz_check(st == MOTE_OK || st == MOTE_E_NOMEM, "no session for a model that opened");
        if (st == MOTE_OK) {
            mote_token t = mote_token_bos(m) >= 0 ? mote_token_bos(m) : 0;
            fuzz_check(mote_session_eval(s, &t, 1, 0) == MOTE_OK, "one token did not run on a model that opened");
            fuzz_check(mote_session_logits(s, -1) != NULL, "no logits after a token");
            mote_session_free(s);
        }
    }
    mote_model_close(m);
    return 0;
}
