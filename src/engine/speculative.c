/*
 * speculative.c — drafts for speculative decoding: prompt lookup (the
 * tokens that followed an earlier occurrence of the context's last
 * n-gram) and a draft model decoding greedily; and a short plain versus
 * speculative measurement. The verification loop is mote_generate's
 * (generate.c).
 */
#include "engine/speculative.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/session.h"
#include "engine/spec_policy.h"

#define DRAFT_MAX_DEFAULT 8
#define PIECE_CAP 256

mote_token spec_verify(mote_sampler *smp, const float *logits, mote_token draft, int *accepted)
{
    const mote_token t = mote_sampler_sample(smp, logits);
    *accepted = t >= 0 && t == draft;
    return t;
}

/* ------------------------------------------------------------------------
 * Prompt lookup
 * ---------------------------------------------------------------------- */

int lookup_draft(const mote_token *ctx, int n, int ngram_min, int ngram_max, int k, mote_token *out)
{
    for (int g = ngram_max; g >= ngram_min; g--) {
        if (g >= n) continue;
        const mote_token *tail = ctx + n - g;
        /* latest first: the nearest repeat is the likeliest to go on alike */
        for (int i = n - g - 1; i >= 0; i--) {
            if (memcmp(ctx + i, tail, sizeof *tail * (size_t)g) != 0) continue;
            int m = 0;
            for (int j = i + g; j < n && m < k; j++) out[m++] = ctx[j];
            return m;
        }
    }
    return 0;
}

int mote_lookup_draft(const mote_token *ctx, int n, int ngram_min, int ngram_max, int k, mote_token *out)
{
    if (ngram_max == 0) ngram_max = SPEC_NGRAM_MAX_DEFAULT;
    if (ngram_min == 0) ngram_min = SPEC_NGRAM_MIN_DEFAULT;
    if (!ctx || !out || n < 1 || k < 1 || ngram_min < 1 || ngram_max < ngram_min) return 0;
    return lookup_draft(ctx, n, ngram_min, ngram_max, k, out);
}

/* ------------------------------------------------------------------------
 * Draft model
 * ---------------------------------------------------------------------- */

/* The two vocabularies are the same: size and every token's text. */
static mote_status same_vocab(const mote_model *target, const mote_model *draft)
{
    const int n = mote_vocab_size(target);
    if (mote_vocab_size(draft) != n)
        return mote_fail(MOTE_E_INVALID, "speculative: the draft model has %d tokens, the model %d: a draft needs "
                                         "the same vocabulary", mote_vocab_size(draft), n);
    char a[PIECE_CAP], b[PIECE_CAP];
    for (int t = 0; t < n; t++) {
        size_t la = 0, lb = 0;
        const mote_status sa = mote_token_to_piece(target, t, 1, a, sizeof a, &la);
        const mote_status sb = mote_token_to_piece(draft, t, 1, b, sizeof b, &lb);
        if (sa != sb || la != lb || (sa == MOTE_OK && memcmp(a, b, la) != 0))
            return mote_fail(MOTE_E_INVALID, "speculative: token %d differs between the model (\"%.*s\") and the "
                             "draft model (\"%.*s\"): a draft needs the same vocabulary", t,
                             (int)(la < 40 ? la : 40), a, (int)(lb < 40 ? lb : 40), b);
    }
    return MOTE_OK;
}

mote_status drafter_init(drafter *d, const mote_session *s, const mote_speculative *spec, int *active)
{
    memset(d, 0, sizeof *d);
    *active = 0;
    if (!spec) return MOTE_OK;
    mote_speculative c = *spec;
    if (c.ngram_max == 0) c.ngram_max = SPEC_NGRAM_MAX_DEFAULT;
    if (c.ngram_min == 0) c.ngram_min = SPEC_NGRAM_MIN_DEFAULT;
    if (c.draft_max == 0) c.draft_max = DRAFT_MAX_DEFAULT;
    if (c.lookup < 0 || c.lookup > MOTE_DRAFT_MAX || c.draft_max < 0 || c.draft_max > MOTE_DRAFT_MAX ||
        c.draft_min < 0 || c.ngram_min < 1 || c.ngram_max < c.ngram_min || !(c.draft_p_min >= 0.0f) ||
        c.draft_p_min > 1.0f)
        return mote_fail(MOTE_E_INVALID, "speculative: lookup %d, draft_max %d (each 0..%d), draft_min %d, n-grams "
                         "%d..%d or draft_p_min %g out of range", c.lookup, c.draft_max, MOTE_DRAFT_MAX,
                         c.draft_min, c.ngram_min, c.ngram_max, (double)c.draft_p_min);
    if (c.adaptive) {
        if (c.draft)
            return mote_fail(MOTE_E_INVALID, "speculative: the adaptive length is for prompt lookup, not a draft model "
                                             "(whose drafting time it does not count)");
        if (c.lookup == 0 || c.lookup > MOTE_SPEC_COST_N - 1) c.lookup = MOTE_SPEC_COST_N - 1;
        for (int i = 0; i < MOTE_SPEC_COST_N; i++)
            if (!(c.cost[i] > 0.0f) || !isfinite(c.cost[i]))
                return mote_fail(MOTE_E_INVALID, "speculative: pass cost %d is %g, not a positive number", i + 1,
                                 (double)c.cost[i]);
        mote_spec_state_init(&d->adapt);
    }
    if (c.draft) {
        if (c.draft == s) return mote_fail(MOTE_E_INVALID, "speculative: the draft session is the model's own");
        MOTE_TRY(same_vocab(session_model(s), session_model(c.draft)));
        if (mote_session_n_ctx(c.draft) < mote_session_n_ctx(s))
            return mote_fail(MOTE_E_INVALID, "speculative: the draft session's context (%d) is shorter than the "
                             "model's (%d)", mote_session_n_ctx(c.draft), mote_session_n_ctx(s));
        MOTE_TRY(mote_seq_clear(c.draft, 0));
    }
    d->cfg = c;
    d->most = c.lookup > (c.draft ? c.draft_max : 0) ? c.lookup : (c.draft ? c.draft_max : 0);
    /* one verification pass holds the next token and the drafts, and
     * keeps the logits of each */
    if (d->most > session_n_batch(s) - 1) d->most = session_n_batch(s) - 1;
    const int rows = session_n_outputs_max(s);
    if (rows && d->most > rows - 1) d->most = rows - 1;
    *active = d->most > 0;
    return MOTE_OK;
}

/* The draft's most likely token (ties to the lower id) and its
 * probability under the draft's softmax. */
static mote_token argmax(const float *logits, int n_vocab, float *prob)
{
    int best = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best]) best = i;
    if (prob) {
        double sum = 0.0;
        for (int i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - (double)logits[best]);
        *prob = (float)(1.0 / sum);
    }
    return best;
}

/* Greedy drafting: the draft's cache is cut back to what it shares with
 * ctx, the rest of ctx evaluated, then k tokens decoded one at a time. */
static int model_draft(drafter *d, const mote_token *ctx, int n, int k, mote_token *out)
{
    mote_session *ds = d->cfg.draft;
    const int n_vocab = mote_vocab_size(session_model(ds));
    if (n + k > mote_session_n_ctx(ds)) k = mote_session_n_ctx(ds) - n;
    if (k <= 0) return 0;
    int keep = mote_seq_common_prefix(ds, 0, ctx, n);
    if (keep >= n) keep = n - 1; /* the last token is evaluated again for its logits */
    if (mote_seq_truncate(ds, 0, keep) != MOTE_OK) {
        /* a sliding window that cannot be cut back there: start over */
        keep = 0;
        if (mote_seq_clear(ds, 0) != MOTE_OK) return -1;
    }
    if (mote_session_eval(ds, ctx + keep, n - keep, 0) != MOTE_OK) return -1;
    int m = 0;
    while (m < k) {
        float p;
        const mote_token t = argmax(mote_session_logits(ds, -1), n_vocab, d->cfg.draft_p_min > 0 ? &p : NULL);
        if (d->cfg.draft_p_min > 0 && p < d->cfg.draft_p_min) break;
        out[m++] = t;
        if (m == k || mote_token_is_eog(session_model(ds), t)) break;
        if (mote_session_eval(ds, &t, 1, 0) != MOTE_OK) return -1;
    }
    return m;
}

int drafter_draft(drafter *d, const mote_token *ctx, int n, int k, mote_token *out)
{
    if (k > d->most) k = d->most;
    if (n <= 0) return 0;
    if (d->cfg.adaptive) {
        const int m = spec_adaptive_draft(&d->adapt, d->cfg.cost, ctx, n, d->cfg.ngram_min, d->cfg.ngram_max,
                                          d->cfg.lookup, k < 0 ? 0 : k, out);
        return m < d->cfg.draft_min ? 0 : m;
    }
    if (k <= 0) return 0;
    int m = 0;
    if (d->cfg.lookup > 0)
        m = lookup_draft(ctx, n, d->cfg.ngram_min, d->cfg.ngram_max, k < d->cfg.lookup ? k : d->cfg.lookup, out);
    if (m == 0 && d->cfg.draft) {
        m = model_draft(d, ctx, n, k < d->cfg.draft_max ? k : d->cfg.draft_max, out);
        if (m < 0) return -1;
    }
    return m < d->cfg.draft_min ? 0 : m;
}

/* ------------------------------------------------------------------------
 * Measurement: plain against speculative
 * ---------------------------------------------------------------------- */

typedef struct token_log {
    mote_token *toks;
    int n, cap;
} token_log;

static int log_token(void *user, mote_token t, const char *piece, size_t len)
{
    (void)piece;
    (void)len;
    token_log *l = user;
    if (l->n < l->cap) l->toks[l->n++] = t;
    return 0;
}

static mote_status timed_run(mote_session *s, const mote_speculative *spec, const mote_token *prompt, int n_prompt,
                             int n_predict, token_log *log, mote_generate_stats *st)
{
    mote_sampler_params sp = mote_sampler_default_params();
    sp.temp = 0.0f;
    mote_sampler *smp = NULL;
    MOTE_TRY(mote_sampler_create(&sp, mote_vocab_size(session_model(s)), &smp));
    mote_status rc = mote_seq_clear(s, 0);
    log->n = 0;
    if (rc == MOTE_OK)
        rc = mote_generate_speculative(s, smp, spec, prompt, n_prompt, n_predict, log_token, log, st);
    mote_sampler_free(smp);
    return rc;
}

mote_status mote_speculative_measure(mote_session *s, const mote_speculative *spec, const mote_token *prompt,
                                     int n_prompt, int n_predict, mote_speculative_bench *out)
{
    if (!s || !spec || !out || n_predict < 1 || n_prompt < 1 || !prompt)
        return mote_fail(MOTE_E_INVALID, "mote_speculative_measure: bad argument");
    memset(out, 0, sizeof *out);
    token_log a = {.cap = n_predict}, b = {.cap = n_predict};
    a.toks = malloc(sizeof *a.toks * (size_t)n_predict);
    b.toks = malloc(sizeof *b.toks * (size_t)n_predict);
    mote_status rc = a.toks && b.toks ? MOTE_OK : mote_fail(MOTE_E_NOMEM, "mote_speculative_measure: out of memory");
    mote_generate_stats pa, pb;
    if (rc == MOTE_OK) rc = timed_run(s, NULL, prompt, n_prompt, n_predict, &a, &pa);
    if (rc == MOTE_OK) rc = timed_run(s, spec, prompt, n_prompt, n_predict, &b, &pb);
    if (rc == MOTE_OK) {
        out->plain_tps = pa.gen_seconds > 0 ? pa.n_generated / pa.gen_seconds : 0.0;
        out->spec_tps = pb.gen_seconds > 0 ? pb.n_generated / pb.gen_seconds : 0.0;
        out->n_generated = pb.n_generated;
        out->n_drafted = pb.n_drafted;
        out->n_accepted = pb.n_accepted;
        out->identical = a.n == b.n && memcmp(a.toks, b.toks, sizeof *a.toks * (size_t)a.n) == 0;
    }
    free(a.toks);
    free(b.toks);
    return rc;
}
