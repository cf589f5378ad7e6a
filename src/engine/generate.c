/*
 * generate.c — the generation loop: prompt as one batch, then one token at
 * a time, each sampled, reported through the callback and fed back.
 *
 * With speculation, the token fed back comes with guesses of the tokens
 * after it (drafts, engine/speculative.c), all evaluated in one pass with
 * sequence 0 set alone: row i of that pass holds, bit for bit, the logits
 * that feeding the same tokens one at a time gives. The sampler then
 * draws from rows 0, 1, ... as plain decoding would from its passes, and
 * goes on to the next row while the token drawn equals the draft there.
 * The first token that differs (or the one after the last draft) is the
 * next one fed back, and the rows of the drafts it replaced are cut from
 * the cache. So the tokens are those of plain decoding, sampled or greedy,
 * and a pass yields between 1 and drafts + 1 of them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/status.h"
#include "engine/session.h"
#include "engine/speculative.h"

#define PIECE_CAP 1024

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct gen_loop {
    mote_session *s;
    mote_sampler *smp;
    const mote_model *model;
    int n_predict;
    mote_token_fn fn;
    void *user;
    mote_generate_stats *stats;
} gen_loop;

/* Draw a token from logits (verifying draft, -1: none), record it and
 * report it. 1: generation ends with it (the callback, end of generation,
 * n_predict), 0: go on, -1: no token could be drawn (*t is then -1). */
static int next_token(gen_loop *g, const float *logits, mote_token draft, mote_token *t, int *accepted)
{
    *t = spec_verify(g->smp, logits, draft, accepted);
    if (*t < 0) return -1;
    mote_sampler_accept(g->smp, *t);
    g->stats->n_generated++;
    g->stats->n_accepted += *accepted;
    char piece[PIECE_CAP];
    size_t len = 0;
    if (mote_token_to_piece(g->model, *t, 0, piece, sizeof piece, &len) != MOTE_OK) len = 0;
    /* the callback sees end-of-generation tokens too (their piece is empty) */
    if (g->fn && g->fn(g->user, *t, piece, len)) return 1;
    if (mote_token_is_eog(g->model, *t)) {
        g->stats->stopped_by_eog = 1;
        return 1;
    }
    return g->n_predict >= 0 && g->stats->n_generated == g->n_predict;
}

/* Drafts after t: the context is the cached tokens and t (in ctx, room
 * for n_ctx + 1), at most what the context and n_predict leave room for. */
static int draft_after(gen_loop *g, drafter *d, mote_token t, mote_token *ctx, mote_token *draft)
{
    int n = 0;
    const mote_token *cached = mote_seq_tokens(g->s, 0, &n);
    if (n > 0) memcpy(ctx, cached, sizeof *ctx * (size_t)n);
    ctx[n++] = t;
    int room = mote_session_n_ctx(g->s) - n; /* positions after t's */
    if (g->n_predict >= 0 && g->n_predict - g->stats->n_generated - 1 < room)
        room = g->n_predict - g->stats->n_generated - 1;
    return drafter_draft(d, ctx, n, room, draft);
}

static mote_status generate_loop(gen_loop *g, drafter *d, int spec)
{
    mote_session *s = g->s;
    mote_token *ctx = NULL, *pass = NULL;
    if (spec) {
        ctx = malloc(sizeof *ctx * ((size_t)mote_session_n_ctx(s) + 1));
        pass = malloc(sizeof *pass * ((size_t)d->most + 1));
        if (!ctx || !pass) {
            free(ctx);
            free(pass);
            return mote_fail(MOTE_E_NOMEM, "generate: out of memory for speculation");
        }
    }
    mote_status st = MOTE_OK;
    mote_token t;
    int accepted;
    int end = next_token(g, mote_session_logits(s, -1), -1, &t, &accepted);
    while (end == 0) {
        if (mote_session_pos(s) >= mote_session_n_ctx(s)) break; /* context full: stop cleanly */
        int k = 0;
        if (spec) {
            if ((k = draft_after(g, d, t, ctx, pass + 1)) < 0) {
                st = mote_fail_prefix(MOTE_E_INVALID, "generate: the draft model failed: ");
                break;
            }
            pass[0] = t;
        }
        const int base = mote_session_pos(s);
        if ((st = mote_session_eval(s, spec ? pass : &t, k + 1, k > 0)) != MOTE_OK) break;
        g->stats->n_drafted += k;
        /* rows 0..k: the logits after t and after each draft */
        int i = 0;
        for (;; i++) {
            end = next_token(g, mote_session_logits(s, k > 0 ? i : -1), i < k ? pass[i + 1] : -1, &t, &accepted);
            if (end != 0 || !accepted) break;
        }
        /* keep t's row and the drafts drawn; t is fed back next */
        if (i < k && (st = mote_seq_truncate(s, 0, base + 1 + i)) != MOTE_OK) break;
    }
    if (end < 0) st = mote_fail_prefix(MOTE_E_INVALID, "generate: no token can be sampled: ");
    free(ctx);
    free(pass);
    return st;
}

mote_status mote_generate_speculative(mote_session *s, mote_sampler *smp, const mote_speculative *spec,
                                      const mote_token *prompt, int n_prompt, int n_predict, mote_token_fn fn,
                                      void *user, mote_generate_stats *stats)
{
    mote_generate_stats local = {0};
    if (!stats) stats = &local;
    *stats = local;
    if (!s || !smp || (n_prompt > 0 && !prompt) || n_prompt < 0)
        return mote_fail(MOTE_E_INVALID, "mote_generate: bad argument");
    if (n_prompt == 0 && mote_session_pos(s) == 0)
        return mote_fail(MOTE_E_INVALID, "mote_generate: empty prompt and empty context");
    drafter d;
    int spec_on = 0;
    MOTE_TRY(drafter_init(&d, s, spec, &spec_on));

    double t0 = now_seconds();
    for (int i = 0; i < n_prompt; i++) mote_sampler_accept(smp, prompt[i]);
    MOTE_TRY(mote_session_eval(s, prompt, n_prompt, 0));
    double t1 = now_seconds();
    stats->n_prompt = n_prompt;
    stats->prompt_seconds = t1 - t0;
    if (n_predict == 0) return MOTE_OK;

    const int was_alone = session_seq_alone(s, 0);
    if (spec_on) MOTE_TRY(mote_seq_set_alone(s, 0, 1));
    gen_loop g = {.s = s, .smp = smp, .model = session_model(s), .n_predict = n_predict, .fn = fn, .user = user,
                  .stats = stats};
    mote_status st = generate_loop(&g, &d, spec_on);
    if (spec_on) mote_seq_set_alone(s, 0, was_alone);
    stats->gen_seconds = now_seconds() - t1;
    return st;
}

mote_status mote_generate(mote_session *s, mote_sampler *smp, const mote_token *prompt, int n_prompt, int n_predict,
                          mote_token_fn fn, void *user, mote_generate_stats *stats)
{
    return mote_generate_speculative(s, smp, NULL, prompt, n_prompt, n_predict, fn, user, stats);
}
