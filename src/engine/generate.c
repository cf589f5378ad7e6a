/*
 * generate.c — the generation loop: prompt as one batch, then one token at
 * a time, each sampled, reported through the callback and fed back.
 */
#include <time.h>

#include "base/status.h"
#include "engine/session.h"

#define PIECE_CAP 1024

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

mote_status mote_generate(mote_session *s, mote_sampler *smp, const mote_token *prompt, int n_prompt, int n_predict,
                          mote_token_fn fn, void *user, mote_generate_stats *stats)
{
    mote_generate_stats local = {0};
    if (!stats) stats = &local;
    *stats = local;
    if (!s || !smp || (n_prompt > 0 && !prompt) || n_prompt < 0)
        return mote_fail(MOTE_E_INVALID, "mote_generate: bad argument");
    if (n_prompt == 0 && mote_session_pos(s) == 0)
        return mote_fail(MOTE_E_INVALID, "mote_generate: empty prompt and empty context");
    const mote_model *model = session_model(s);

    double t0 = now_seconds();
    for (int i = 0; i < n_prompt; i++) mote_sampler_accept(smp, prompt[i]);
    MOTE_TRY(mote_session_eval(s, prompt, n_prompt, 0));
    double t1 = now_seconds();
    stats->n_prompt = n_prompt;
    stats->prompt_seconds = t1 - t0;

    char piece[PIECE_CAP];
    mote_status st = MOTE_OK;
    for (int i = 0; n_predict < 0 || i < n_predict; i++) {
        mote_token t = mote_sampler_sample(smp, mote_session_logits(s, -1));
        if (t < 0) {
            st = mote_fail_prefix(MOTE_E_INVALID, "generate: no token can be sampled: ");
            break;
        }
        mote_sampler_accept(smp, t);
        stats->n_generated++;
        size_t len = 0;
        if (mote_token_to_piece(model, t, 0, piece, sizeof piece, &len) != MOTE_OK) len = 0;
        /* the callback sees end-of-generation tokens too (their piece is empty) */
        if (fn && fn(user, t, piece, len)) break;
        if (mote_token_is_eog(model, t)) {
            stats->stopped_by_eog = 1;
            break;
        }
        if (n_predict >= 0 && i + 1 == n_predict) break;
        if (mote_session_pos(s) >= mote_session_n_ctx(s)) break; /* context full: stop cleanly */
        if ((st = mote_session_eval(s, &t, 1, 0)) != MOTE_OK) break;
    }
    stats->gen_seconds = now_seconds() - t1;
    return st;
}
