/* tokenize_api.c — the "Tokenizer" section of mote.h over struct vocab. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/vocab.h"
#include "engine/model.h"

static const struct vocab *vocab_of(const mote_model *model)
{
    return model ? model->vocab : NULL;
}

int mote_vocab_size(const mote_model *model)
{
    const struct vocab *v = vocab_of(model);
    return v ? v->n_tokens : 0;
}

mote_token mote_token_bos(const mote_model *model)
{
    const struct vocab *v = vocab_of(model);
    return v ? v->bos : TOKEN_NONE;
}

mote_token mote_token_eos(const mote_model *model)
{
    const struct vocab *v = vocab_of(model);
    return v ? v->eos : TOKEN_NONE;
}

mote_token mote_token_eot(const mote_model *model)
{
    const struct vocab *v = vocab_of(model);
    return v ? v->eot : TOKEN_NONE;
}

int mote_token_is_eog(const mote_model *model, mote_token t)
{
    const struct vocab *v = vocab_of(model);
    return v && vocab_is_eog(v, t);
}

mote_status mote_tokenize(const mote_model *model, const char *text, size_t len, int add_special,
                          int parse_special, mote_token *out, size_t cap, size_t *n_out)
{
    const struct vocab *v = vocab_of(model);
    if (n_out) *n_out = 0;
    if (!v) return mote_fail(MOTE_E_INVALID, "tokenize: no model or vocabulary");
    if (!n_out || (cap > 0 && !out)) return mote_fail(MOTE_E_INVALID, "tokenize: NULL output");
    tokbuf b = {0};
    mote_status st = vocab_tokenize(v, text, len, add_special != 0, parse_special != 0, &b);
    if (st == MOTE_OK) {
        *n_out = b.n;
        if (b.n > 0 && cap > 0) memcpy(out, b.ids, (b.n < cap ? b.n : cap) * sizeof *out);
        if (b.n > cap)
            st = mote_fail(MOTE_E_RANGE, "tokenize: %zu tokens, room for %zu", b.n, cap);
    }
    tokbuf_free(&b);
    return st;
}

mote_status mote_token_to_piece(const mote_model *model, mote_token t, int render_special, char *buf,
                                size_t cap, size_t *n_out)
{
    const struct vocab *v = vocab_of(model);
    if (n_out) *n_out = 0;
    if (!v) return mote_fail(MOTE_E_INVALID, "token_to_piece: no model or vocabulary");
    if (!n_out || (cap > 0 && !buf)) return mote_fail(MOTE_E_INVALID, "token_to_piece: NULL output");
    return vocab_token_to_piece(v, t, 0, render_special != 0, buf, cap, n_out);
}

mote_status mote_detokenize(const mote_model *model, const mote_token *toks, size_t n,
                            int render_special, char **out)
{
    const struct vocab *v = vocab_of(model);
    if (!out) return mote_fail(MOTE_E_INVALID, "detokenize: NULL output");
    *out = NULL;
    if (!v) return mote_fail(MOTE_E_INVALID, "detokenize: no model or vocabulary");
    return vocab_detokenize(v, toks, n, render_special != 0, out, NULL);
}
