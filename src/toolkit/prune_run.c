/*
 * prune_run.c — mote_prune: measure a model on a calibration text, choose
 * what to cut (prune_choose) and write the smaller file (prune_write).
 *
 * The measuring watches the session's forward passes (fwd_observer):
 *   - the input of every ffn_down, per neuron: the mean of its square
 *     over the text's tokens (what an importance matrix holds for
 *     ffn_down, so a neuron's score is how loud it is times how much its
 *     column of ffn_down carries it);
 *   - the residual stream entering and leaving each block: the mean over
 *     tokens of the cosine between the two (as ShortGPT's block influence,
 *     1 - cosine), the layers that change the stream least being the ones
 *     to drop.
 * The text is cut into chunks as mote perplexity and mote imatrix cut it
 * (textchunks.h), each evaluated from an empty cache.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "engine/model.h"
#include "engine/session.h"
#include "model/arch.h"
#include "toolkit/prune.h"
#include "toolkit/textchunks.h"

#define PRUNE_DEFAULT_CTX 512

typedef struct collect {
    int n_layer;
    int64_t n_ff;
    int n_embd;
    double *act2;         /* (n_layer x n_ff) sums of squared ffn_down inputs */
    int64_t *act_rows;    /* (n_layer) rows summed */
    float *entering;      /* (cap_rows x n_embd) the stream entering the current block */
    int n_entering, cap_rows;
    double *cos_sum;      /* (n_layer) sums of per-token cosines */
    int64_t *cos_n;       /* (n_layer) tokens summed */
    mote_status failed;   /* MOTE_OK, or why the passes stop: */
    char why[256];        /* its message */
    mote_progress_fn progress;
    void *progress_user;
    uint64_t done, total; /* layers evaluated, of all chunks */
} collect;

static void collect_fail(collect *c, mote_status st)
{
    c->failed = st;
    snprintf(c->why, sizeof c->why, "%s", mote_last_error());
}

static void on_matmul(void *user, const char *name, int il, const float *x, int n, int n_in)
{
    collect *c = user;
    if (c->failed != MOTE_OK || il < 0 || il >= c->n_layer) return;
    const char *dot = strchr(name + 4, '.');
    if (strncmp(name, "blk.", 4) != 0 || !dot || strcmp(dot + 1, "ffn_down.weight") != 0) return;
    if (n_in != c->n_ff) {
        collect_fail(c, mote_fail(MOTE_E_FORMAT, "prune: %s takes %d inputs, feed_forward_length is %lld", name,
                                  n_in, (long long)c->n_ff));
        return;
    }
    double *acc = c->act2 + (size_t)il * (size_t)c->n_ff;
    for (int r = 0; r < n; r++) {
        const float *row = x + (size_t)r * (size_t)n_in;
        for (int j = 0; j < n_in; j++) acc[j] += (double)row[j] * row[j];
    }
    c->act_rows[il] += n;
}

static void on_residual(void *user, int il, int out, const float *x, int n, int n_embd)
{
    collect *c = user;
    if (c->failed != MOTE_OK || il < 0 || il >= c->n_layer || n_embd != c->n_embd) return;
    if (!out) {
        if (n > c->cap_rows) {
            float *grown = realloc(c->entering, sizeof(float) * (size_t)n * (size_t)n_embd);
            if (!grown) {
                collect_fail(c, mote_fail(MOTE_E_NOMEM, "prune: out of memory"));
                return;
            }
            c->entering = grown;
            c->cap_rows = n;
        }
        memcpy(c->entering, x, sizeof(float) * (size_t)n * (size_t)n_embd);
        c->n_entering = n;
        return;
    }
    /* Every output is kept (an embeddings session without pooling), so the
     * rows leaving are the rows that entered. */
    int rows = n < c->n_entering ? n : c->n_entering;
    for (int r = 0; r < rows; r++) {
        const float *a = c->entering + (size_t)r * (size_t)n_embd, *b = x + (size_t)r * (size_t)n_embd;
        double ab = 0, aa = 0, bb = 0;
        for (int j = 0; j < n_embd; j++) {
            ab += (double)a[j] * b[j];
            aa += (double)a[j] * a[j];
            bb += (double)b[j] * b[j];
        }
        if (aa > 0 && bb > 0) {
            c->cos_sum[il] += ab / sqrt(aa * bb);
            c->cos_n[il]++;
        }
    }
}

static int on_layers(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    collect *c = user;
    if (c->failed != MOTE_OK) return 1;
    return c->progress ? c->progress(c->progress_user, c->done + done, c->total) : 0;
}

static mote_status collect_init(collect *c, const mote_prune_params *p, const mote_model *m)
{
    const arch_hparams *hp = &m->arch->hp;
    *c = (collect){.n_layer = hp->n_layer, .n_ff = hp->n_ff, .n_embd = hp->n_embd, .progress = p->progress,
                   .progress_user = p->progress_user};
    c->act2 = calloc((size_t)c->n_layer * (size_t)c->n_ff, sizeof *c->act2);
    c->act_rows = calloc((size_t)c->n_layer, sizeof *c->act_rows);
    c->cos_sum = calloc((size_t)c->n_layer, sizeof *c->cos_sum);
    c->cos_n = calloc((size_t)c->n_layer, sizeof *c->cos_n);
    if (!c->act2 || !c->act_rows || !c->cos_sum || !c->cos_n)
        return mote_fail(MOTE_E_NOMEM, "prune: out of memory");
    return MOTE_OK;
}

static void collect_free(collect *c)
{
    free(c->act2);
    free(c->act_rows);
    free(c->entering);
    free(c->cos_sum);
    free(c->cos_n);
}

/* Evaluate every chunk of the text with the collector watching. */
static mote_status measure(const mote_prune_params *p, mote_model *m, text_chunks *tc, collect *c)
{
    mote_session_params sp = text_chunks_session_params(tc, p->n_threads, MOTE_KV_F16);
    sp.embeddings = 1; /* every row an output (no logits): the last block shows them all */
    sp.pooling = MOTE_POOL_NONE;
    sp.progress = on_layers;
    sp.progress_user = c;
    mote_session *s;
    MOTE_TRY(mote_session_create(m, &sp, &s));
    const fwd_observer obs = {.matmul = on_matmul, .residual = on_residual, .user = c};
    session_set_observer(s, &obs);
    c->total = (uint64_t)tc->n_chunks * (uint64_t)c->n_layer * 2; /* measuring is half the work shown */
    mote_status st = MOTE_OK;
    for (int i = 0; i < tc->n_chunks && st == MOTE_OK; i++) {
        memcpy(tc->chunk, tc->toks + (size_t)i * (size_t)tc->n_ctx, sizeof *tc->chunk * (size_t)tc->n_ctx);
        if (tc->bos >= 0) tc->chunk[0] = tc->bos;
        c->done = (uint64_t)i * (uint64_t)c->n_layer;
        st = mote_session_truncate(s, 0);
        if (st == MOTE_OK) st = mote_session_eval(s, tc->chunk, tc->n_ctx, 1);
        if (c->failed != MOTE_OK) st = mote_fail(c->failed, "%s", c->why);
    }
    mote_session_free(s);
    return st;
}

/* The writer's progress (bytes) as the second half of the bar. */
typedef struct write_progress {
    const mote_prune_params *p;
    uint64_t half;
} write_progress;

static int on_bytes(void *user, uint64_t done, uint64_t total)
{
    const write_progress *w = user;
    if (!w->p->progress || total == 0) return 0;
    return w->p->progress(w->p->progress_user, w->half + (uint64_t)((double)done / (double)total * (double)w->half),
                          2 * w->half);
}

mote_prune_params mote_prune_default_params(void)
{
    return (mote_prune_params){.ffn_keep = 1.0f, .n_ctx = PRUNE_DEFAULT_CTX};
}

void mote_prune_result_free(mote_prune_result *r)
{
    if (!r) return;
    free(r->dropped);
    free(r->block_cos);
    memset(r, 0, sizeof *r);
}

static mote_status check_params(const mote_prune_params *p)
{
    if (!p || !p->in_path || !p->out_path || (!p->text && !p->text_path))
        return mote_fail(MOTE_E_INVALID, "mote_prune: a model, an output path and a calibration text are needed");
    if (!(p->ffn_keep > 0 && p->ffn_keep <= 1))
        return mote_fail(MOTE_E_INVALID, "prune: --ffn-keep must be in (0, 1], not %g", (double)p->ffn_keep);
    if (p->drop_layers < 0 || p->n_chunks < 0 || p->n_threads < 0 || p->n_ctx < 0)
        return mote_fail(MOTE_E_INVALID, "mote_prune: negative layer, chunk, context or thread count");
    return MOTE_OK;
}

/* Fill the result from the plan and the statistics. */
static mote_status report(const prune_plan *plan, const prune_stats *ps, int n_chunks, mote_prune_result *r)
{
    r->n_layer_in = plan->n_layer;
    r->n_ff_in = plan->n_ff;
    r->n_ff_out = plan->n_ff_keep;
    r->n_chunks = n_chunks;
    r->block_cos = malloc(sizeof *r->block_cos * (size_t)plan->n_layer);
    r->dropped = malloc(sizeof *r->dropped * (size_t)plan->n_layer);
    if (!r->block_cos || !r->dropped) return mote_fail(MOTE_E_NOMEM, "prune: out of memory");
    for (int l = 0; l < plan->n_layer; l++) {
        r->block_cos[l] = ps->block_cos[l];
        if (plan->drop && plan->drop[l]) r->dropped[r->n_dropped++] = l;
    }
    r->n_layer_out = plan->n_layer - r->n_dropped;
    return MOTE_OK;
}

mote_status mote_prune(const mote_prune_params *p, mote_prune_result *result)
{
    if (result) memset(result, 0, sizeof *result);
    MOTE_TRY(check_params(p));
    mapfile text = {.data = (const uint8_t *)p->text, .size = p->text_len};
    if (!p->text) MOTE_TRY(mapfile_open(p->text_path, &text));
    mote_model *m = NULL;
    text_chunks tc = {0};
    collect c = {0};
    prune_plan plan = {0};
    double *cos = NULL;
    float *act = NULL;
    mote_status st = mote_model_open(p->in_path, NULL, &m);
    if (st == MOTE_OK && (!m->arch || mote_model_embedding_only(m)))
        st = mote_fail(MOTE_E_UNSUPPORTED, "prune: %s: only text generation models are pruned", p->in_path);
    if (st == MOTE_OK && m->arch->n_blocks != m->arch->hp.n_layer)
        st = mote_fail(MOTE_E_UNSUPPORTED, "prune: %s: its layers share blocks (mote.block_map): prune the "
                       "model before sharing", p->in_path);
    if (st == MOTE_OK && p->drop_layers >= m->arch->hp.n_layer)
        st = mote_fail(MOTE_E_INVALID, "prune: cannot drop %d of %d layers (at most %d)", p->drop_layers,
                       m->arch->hp.n_layer, m->arch->hp.n_layer - 1);
    int64_t width = 0;
    if (st == MOTE_OK) st = prune_ffn_width(m->gguf, m->arch->hp.n_ff, p->ffn_keep, &width);
    if (st == MOTE_OK)
        st = text_chunks_make(m, (const char *)text.data, text.size, p->n_ctx ? p->n_ctx : PRUNE_DEFAULT_CTX,
                              p->n_chunks, &tc);
    if (st == MOTE_OK) st = collect_init(&c, p, m);
    if (st == MOTE_OK) st = measure(p, m, &tc, &c);
    if (st == MOTE_OK) {
        cos = malloc(sizeof *cos * (size_t)c.n_layer);
        act = malloc(sizeof *act * (size_t)c.n_layer * (size_t)c.n_ff);
        if (!cos || !act) st = mote_fail(MOTE_E_NOMEM, "prune: out of memory");
    }
    if (st == MOTE_OK) {
        for (int l = 0; l < c.n_layer; l++) {
            cos[l] = c.cos_n[l] ? c.cos_sum[l] / (double)c.cos_n[l] : 1.0;
            for (int64_t j = 0; j < c.n_ff; j++)
                act[(size_t)l * (size_t)c.n_ff + (size_t)j] =
                    c.act_rows[l] ? (float)(c.act2[(size_t)l * (size_t)c.n_ff + (size_t)j] / (double)c.act_rows[l]) : 0;
        }
        const prune_stats ps = {.n_layer = c.n_layer, .n_ff = c.n_ff, .ffn_act2 = act, .block_cos = cos};
        st = prune_choose(m->gguf, &ps, width, p->drop_layers, &plan);
        if (st == MOTE_OK) {
            write_progress wp = {p, c.total / 2};
            st = prune_write(m->gguf, &plan, p->out_path, p->n_threads, on_bytes, &wp);
        }
        if (st == MOTE_OK && result) st = report(&plan, &ps, tc.n_chunks, result);
    }
    if (st != MOTE_OK && result) mote_prune_result_free(result);
    prune_plan_free(&plan);
    free(cos);
    free(act);
    collect_free(&c);
    text_chunks_free(&tc);
    mote_model_close(m);
    if (!p->text) mapfile_close(&text);
    return st;
}
