/*
 * session.c — the state of up to n_seq_max sequences of one model: their
 * KV caches, the scratch buffers of the forward pass, the outputs.
 *
 * Everything the forward pass touches is allocated once here, sized for
 * n_seq sequences of n_ctx positions and n_batch tokens per pass, so
 * evaluation allocates nothing (except the output rows, which grow to the
 * most a caller has asked for). A batch is validated, then its tokens are
 * put in runs, one per sequence, in the order the sequences first appear;
 * outputs are mapped back to the caller's batch indices.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "engine/model.h"
#include "engine/session.h"
#include "gguf/ggml_type.h"
#include "model/arch.h"
#include "model/attention.h"
#include "tensor/quant.h"

#define DEFAULT_N_CTX_MAX 4096
#define DEFAULT_N_BATCH 512

/* Pooled embedding state of one sequence (embeddings sessions). */
typedef struct seq_pool {
    int n;          /* tokens summed (mean) */
    int fresh;      /* 1: `out` holds the vector of the sequence as it is */
} seq_pool;

struct mote_session {
    const mote_model *model;
    const model_arch *arch;
    forward_state st;     /* st.n_seq: the sequences */
    int *seq_len;         /* (n_seq) positions cached per sequence */
    int *seq_hw;          /* (n_seq) 1 + the highest position written since the sequence was cleared */
    kv_layer *kv_layers;  /* (n_layer) the cache's rows per layer (st.kv_layers) */
    mote_token *seq_toks; /* (n_seq, n_ctx) the tokens cached */
    int8_t *seq_alone;    /* (n_seq) 1: each token computed as a batch of it alone (mote_seq_set_alone) */

    /* Outputs of the last evaluation: rows of out_width floats. */
    int embeddings;       /* 1: rows are hidden states, else logits */
    int pooling;          /* enum mote_pooling (embeddings sessions) */
    int normalize;
    int out_width;        /* n_vocab or n_embd */
    float *out;           /* (out_cap, out_width) */
    int out_cap;          /* rows allocated */
    int n_outputs_max;    /* most rows an evaluation may keep; 0: no cap */
    int out_rows;         /* rows valid */
    int last_n;           /* tokens of the last evaluation */
    int *out_map;         /* batch index -> row, -1 if none (decode; n_batch entries) */
    int eval_first;       /* mote_session_eval: batch index of row 0, or -1: use out_map */

    /* Pooling (embeddings with pooling != none): per sequence, the running
     * sum (mean) or the chosen row, and the result; entry n_seq keeps
     * sequence 0's while mote_session_eval may have to roll it back. */
    float *pool_acc;      /* (n_seq + 1, n_embd) */
    float *pool_out;      /* (n_seq + 1, n_embd) */
    seq_pool *pool_state; /* (n_seq + 1) */

    /* One forward pass's batch in run order (n_batch entries each). */
    int32_t *b_token, *b_seq, *b_pos, *b_run, *b_src;
    int8_t *b_keep;
    int *seq_first;       /* (n_seq) scratch: run of a sequence in this batch, -1 */

    mote_progress_fn progress;
    void *progress_user;
    uint64_t prog_done, prog_total; /* layers of the current call */

    void *block;          /* one allocation behind cache and scratch */
    size_t block_bytes;
    size_t heap_bytes;    /* the other allocations (tables above) */
};

mote_session_params mote_session_default_params(void)
{
    mote_session_params p = {.kv_type = MOTE_KV_F16, .pooling = MOTE_POOL_DEFAULT};
    return p;
}

/* Carve the cache and scratch buffers out of one block; returns the bytes
 * needed when base is NULL. Each piece is 64-byte aligned. */
static size_t layout(forward_state *st, const model_arch *a, int n_threads, size_t mm_bytes, char *base)
{
    const arch_hparams *hp = &a->hp;
    const int64_t dense_rows = a->dense_2.data ? a->dense_2.rows : 0;
    const size_t B = (size_t)st->n_batch, F = sizeof(float);
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t wide = q_dim > (size_t)hp->n_embd ? q_dim : (size_t)hp->n_embd;
    const size_t cache = (size_t)st->n_seq * st->seq_rows * st->kv_row_bytes;
    const size_t gather = st->kv_type == GGML_TYPE_F32 ? (size_t)n_threads * st->gather_rows * hp->head_dim : 0;
    struct {
        void *p;      /* where the piece's pointer goes (a float * or void *) */
        size_t bytes;
    } parts[] = {
        {&st->k_cache, cache},
        {&st->v_cache, cache},
        {&st->x, B * hp->n_embd * F},
        {&st->xb, B * wide * F},
        {&st->q, B * q_dim * F},
        {&st->k, B * kv_dim * F},
        {&st->v, B * kv_dim * F},
        {&st->hb, B * hp->n_ff * F},
        {&st->hb2, B * hp->n_ff * F},
        {&st->tmp, B * hp->n_embd * F},
        {&st->rope_cs, B * ROPE_VARIANTS * hp->n_rot * F},
        {&st->att, attention_scores_floats(hp, st->kv_type, st->n_ctx, n_threads) * F},
        {&st->gather, gather * F},
        {&st->attn_part, attention_part_floats(hp, st->kv_type, st->n_ctx, n_threads) * F},
        {&st->attn_blocks, (B + 1) * sizeof(int32_t)},
        {&st->keep_seg, B * sizeof(int32_t)},
        {&st->end, B * sizeof(int32_t)},
        {&st->proj, (size_t)dense_rows * F},
    };
    size_t off = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (base) {
            void *at = parts[i].bytes ? base + off : NULL;
            memcpy(parts[i].p, &at, sizeof at); /* every target is a pointer to object */
        }
        off += (parts[i].bytes + 63) & ~(size_t)63;
    }
    if (base) st->mm_scratch = base + off;
    return off + mm_bytes;
}

/* The cache's element type for a mote_kv_type, checked against the model. */
static mote_status kv_cache_type(int kv_type, const arch_hparams *hp, uint32_t *out)
{
    switch (kv_type) {
    case MOTE_KV_F32: *out = GGML_TYPE_F32; return MOTE_OK;
    case MOTE_KV_F16: *out = GGML_TYPE_F16; break;
    case MOTE_KV_Q8_0:
        if (hp->head_dim % QK8_0 != 0)
            return mote_fail(MOTE_E_UNSUPPORTED, "session: a Q8_0 KV cache needs a head dimension that is a multiple "
                                                 "of %d (the model's is %d)", QK8_0, hp->head_dim);
        *out = GGML_TYPE_Q8_0;
        break;
    default: return mote_fail(MOTE_E_INVALID, "session: unknown kv_type %d", kv_type);
    }
    if (hp->head_dim > ATTN_HD_MAX)
        return mote_fail(MOTE_E_UNSUPPORTED, "session: head dimension %d is above %d; use an F32 KV cache",
                         hp->head_dim, ATTN_HD_MAX);
    return MOTE_OK;
}

static mote_status check_params(mote_session_params *p, const arch_hparams *hp)
{
    if (p->n_ctx < 0 || p->n_batch < 0 || p->n_threads < 0 || p->n_seq_max < 0)
        return mote_fail(MOTE_E_INVALID, "session: negative n_ctx, n_batch, n_threads or n_seq_max");
    if (p->n_ctx == 0) p->n_ctx = hp->n_ctx_train < DEFAULT_N_CTX_MAX ? hp->n_ctx_train : DEFAULT_N_CTX_MAX;
    if (p->n_batch == 0) p->n_batch = DEFAULT_N_BATCH;
    if (p->n_batch > p->n_ctx) p->n_batch = p->n_ctx;
    if (p->n_seq_max == 0) p->n_seq_max = 1;
    if (p->n_outputs_max < 0) return mote_fail(MOTE_E_INVALID, "session: negative n_outputs_max %d", p->n_outputs_max);
    if (p->n_ctx > MOTE_N_CTX_MAX)
        return mote_fail(MOTE_E_INVALID, "session: n_ctx %d is above %d", p->n_ctx, MOTE_N_CTX_MAX);
    if (p->n_seq_max > MOTE_N_SEQ_MAX)
        return mote_fail(MOTE_E_INVALID, "session: n_seq_max %d is above %d", p->n_seq_max, MOTE_N_SEQ_MAX);
    if (p->pooling == MOTE_POOL_DEFAULT) p->pooling = hp->pooling;
    if (p->embeddings && (p->pooling < MOTE_POOL_NONE || p->pooling > MOTE_POOL_LAST))
        return mote_fail(MOTE_E_INVALID, "session: unknown pooling %d", p->pooling);
    return MOTE_OK;
}

/* The arguments of create and plan (fn: the caller, for the
 * message): params (NULL: the defaults) completed and checked into *p, the
 * cache's element type into *kv_type. */
static mote_status session_args(const char *fn, const mote_model *model, const mote_session_params *params,
                                mote_session_params *p, uint32_t *kv_type)
{
    if (!model) return mote_fail(MOTE_E_INVALID, "%s: NULL argument", fn);
    if (!model->arch)
        return mote_fail(MOTE_E_INVALID, "%s: model was opened vocab-only; it has no weights to run",
                         model->gguf->path);
    *p = params ? *params : mote_session_default_params();
    const model_arch *a = model->arch;
    MOTE_TRY(check_params(p, &a->hp));
    if (a->hp.encoder && !p->embeddings)
        return mote_fail(MOTE_E_INVALID, "%s: %s: '%s' is an embedding model; it has no language-model head "
                         "(create the session with embeddings = 1)", fn, model->gguf->path, a->family);
    if (a->pos_embd.data && p->n_ctx > a->pos_embd.rows)
        return mote_fail(MOTE_E_RANGE, "%s: n_ctx %d is more positions than the model has learned (%lld)", fn,
                         p->n_ctx, (long long)a->pos_embd.rows);
    /* An encoder keeps no cache between calls: its keys and values stay F32, as llama.cpp computes them. */
    if (!a->hp.causal) p->kv_type = MOTE_KV_F32;
    return kv_cache_type(p->kv_type, &a->hp, kv_type);
}

/* The shape of a session with checked params p whose runs have nth parts:
 * s's settings, its cache's rows per layer (s->kv_layers, the one table
 * allocated here), st's sizes and block_bytes. Creation and the plan both
 * start here, so the plan is what creation allocates. */
static mote_status shape(mote_session *s, const mote_model *model, const mote_session_params *p, uint32_t kv_type,
                         int nth)
{
    const arch_hparams *hp = &model->arch->hp;
    s->model = model;
    s->arch = model->arch;
    s->embeddings = p->embeddings != 0;
    s->pooling = s->embeddings ? p->pooling : MOTE_POOL_NONE;
    s->normalize = p->normalize != 0;
    s->out_width = s->embeddings ? hp->n_embd : hp->n_vocab;
    s->progress = p->progress;
    s->progress_user = p->progress_user;
    s->n_outputs_max = p->n_outputs_max;
    s->eval_first = -1;
    s->st.n_ctx = p->n_ctx;
    s->st.rope_ff = arch_rope_factors(s->arch, p->n_ctx);
    s->st.n_seq = p->n_seq_max;
    s->st.n_batch = p->n_batch;
    s->st.kv_type = kv_type;
    s->st.kv_row_bytes = ggml_row_size(kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
    s->st.attn_kernel = attn_chunk_kernel(kv_type, kernels_get());
    s->st.attn_exact = attn_exact_kernels(kernels_get());
    s->kv_layers = calloc((size_t)hp->n_layer, sizeof *s->kv_layers);
    if (!s->kv_layers) return mote_fail(MOTE_E_NOMEM, "session: out of memory");
    s->heap_bytes += (size_t)hp->n_layer * sizeof *s->kv_layers;
    s->st.seq_rows = kv_plan(s->arch, p->n_ctx, p->n_batch, s->kv_layers);
    s->st.kv_layers = s->kv_layers;
    s->st.gather_rows = kv_gather_rows(hp->n_layer, s->kv_layers);
    s->st.symmetric = hp->swa_symmetric;
    s->block_bytes = layout(&s->st, model->arch, nth, arch_matmul_scratch(model->arch, p->n_batch), NULL);
    return MOTE_OK;
}

/* The tables beside the block, sized by s's shape, out with out_cap rows:
 * their bytes counted into s->heap_bytes and, with alloc, allocated
 * (zeroed) into s. 0: out of memory. */
static int tables(mote_session *s, int alloc)
{
    const size_t B = (size_t)s->st.n_batch, S = (size_t)s->st.n_seq, E = (size_t)s->arch->hp.n_embd;
    const size_t pooled = s->pooling != MOTE_POOL_NONE;
    struct {
        void *p;      /* where the table's pointer goes */
        size_t n, size;
    } t[] = {
        {&s->seq_len, S, sizeof *s->seq_len},
        {&s->seq_hw, S, sizeof *s->seq_hw},
        {&s->seq_toks, S * (size_t)s->st.n_ctx, sizeof *s->seq_toks},
        {&s->seq_alone, S, sizeof *s->seq_alone},
        {&s->out_map, B, sizeof *s->out_map},
        {&s->b_token, B, sizeof *s->b_token},
        {&s->b_seq, B, sizeof *s->b_seq},
        {&s->b_pos, B, sizeof *s->b_pos},
        {&s->b_run, B, sizeof *s->b_run},
        {&s->b_src, B, sizeof *s->b_src},
        {&s->b_keep, B, sizeof *s->b_keep},
        {&s->seq_first, S, sizeof *s->seq_first},
        {&s->out, (size_t)s->out_cap * (size_t)s->out_width, sizeof *s->out},
        {&s->pool_acc, pooled * (S + 1) * E, sizeof *s->pool_acc},
        {&s->pool_out, pooled * (S + 1) * E, sizeof *s->pool_out},
        {&s->pool_state, pooled * (S + 1), sizeof *s->pool_state},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        s->heap_bytes += t[i].n * t[i].size;
        if (!alloc || !t[i].n) continue;
        void *at = calloc(t[i].n, t[i].size);
        memcpy(t[i].p, &at, sizeof at); /* every target is a pointer to object */
        ok &= at != NULL;
    }
    return ok;
}

mote_status mote_session_create(const mote_model *model, const mote_session_params *params, mote_session **out)
{
    if (out) *out = NULL;
    if (!out) return mote_fail(MOTE_E_INVALID, "mote_session_create: NULL argument");
    mote_session_params p;
    uint32_t kv_type;
    MOTE_TRY(session_args("mote_session_create", model, params, &p, &kv_type));

    mote_session *s = calloc(1, sizeof *s);
    if (!s) return mote_fail(MOTE_E_NOMEM, "session: out of memory");
    /* a view on the process's workers; 0 = the whole pool */
    mote_status st = pool_create(p.n_threads, &s->st.pool);
    if (st != MOTE_OK) goto fail;
    const int nth = pool_size(s->st.pool); /* the parts of every run: per-thread scratch */
    st = shape(s, model, &p, kv_type, nth);
    if (st != MOTE_OK) goto fail;
    if (posix_memalign(&s->block, 64, s->block_bytes) != 0) {
        st = mote_fail(MOTE_E_NOMEM, "session: cannot allocate %zu MiB for %d sequence(s) of n_ctx %d",
                       s->block_bytes >> 20, p.n_seq_max, p.n_ctx);
        s->block = NULL;
        goto fail;
    }
    const arch_hparams *hp = &model->arch->hp;
    layout(&s->st, model->arch, nth, arch_matmul_scratch(model->arch, p.n_batch), s->block);
    /* A ring's rows are read (with weight 0) before they are first written
     * in some batches (see attention.c): they start as zeros, not garbage. */
    for (int il = 0; il < hp->n_layer; il++)
        for (int q = 0; s->kv_layers[il].ring && q < p.n_seq_max; q++) {
            const size_t bytes = (size_t)s->kv_layers[il].ring * s->st.kv_row_bytes;
            memset(kv_layer_rows(&s->st, s->st.k_cache, q, il), 0, bytes);
            memset(kv_layer_rows(&s->st, s->st.v_cache, q, il), 0, bytes);
        }
    s->out_cap = 1; /* grows with the outputs asked for (reserve_out) */
    if (!tables(s, 1)) {
        st = mote_fail(MOTE_E_NOMEM, "session: out of memory for %d sequence(s)", p.n_seq_max);
        goto fail;
    }
    s->st.seq_alone = s->seq_alone;
    *out = s;
    return MOTE_OK;
fail:
    mote_session_free(s);
    return st;
}

void mote_session_free(mote_session *s)
{
    if (!s) return;
    pool_free(s->st.pool);
    free(s->block);
    free(s->out);
    free(s->seq_len);
    free(s->seq_hw);
    free(s->kv_layers);
    free(s->seq_toks);
    free(s->seq_alone);
    free(s->out_map);
    free(s->b_token);
    free(s->b_seq);
    free(s->b_pos);
    free(s->b_run);
    free(s->b_src);
    free(s->b_keep);
    free(s->seq_first);
    free(s->pool_acc);
    free(s->pool_out);
    free(s->pool_state);
    free(s);
}

/* ------------------------------------------------------------------------
 * Batches
 * ---------------------------------------------------------------------- */

mote_status mote_batch_init(mote_batch *b, int cap)
{
    if (!b || cap < 1) return mote_fail(MOTE_E_INVALID, "mote_batch_init: bad argument (cap %d)", cap);
    memset(b, 0, sizeof *b);
    b->token = malloc(sizeof *b->token * (size_t)cap);
    b->seq = malloc(sizeof *b->seq * (size_t)cap);
    b->pos = malloc(sizeof *b->pos * (size_t)cap);
    b->output = malloc(sizeof *b->output * (size_t)cap);
    if (!b->token || !b->seq || !b->pos || !b->output) {
        mote_batch_free(b);
        return mote_fail(MOTE_E_NOMEM, "mote_batch_init: out of memory for %d tokens", cap);
    }
    b->cap = cap;
    return MOTE_OK;
}

void mote_batch_free(mote_batch *b)
{
    if (!b) return;
    free(b->token);
    free(b->seq);
    free(b->pos);
    free(b->output);
    memset(b, 0, sizeof *b);
}

void mote_batch_clear(mote_batch *b)
{
    if (b) b->n = 0;
}

mote_status mote_batch_add(mote_batch *b, mote_token t, int seq, int pos, int output)
{
    if (!b) return mote_fail(MOTE_E_INVALID, "mote_batch_add: NULL batch");
    if (b->n >= b->cap) return mote_fail(MOTE_E_RANGE, "mote_batch_add: the batch is full (%d tokens)", b->cap);
    b->token[b->n] = t;
    b->seq[b->n] = seq;
    b->pos[b->n] = pos;
    b->output[b->n] = output != 0;
    b->n++;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------- */

/* The outputs of the last evaluation no longer hold (the cache changed,
 * or an evaluation failed). */
static void forget_outputs(mote_session *s)
{
    s->last_n = 0;
    s->eval_first = -1;
}

static int layer_done(void *user)
{
    mote_session *s = user;
    s->prog_done++;
    return s->progress && s->progress(s->progress_user, s->prog_done, s->prog_total);
}

/* Room for rows output rows (grows only; the first evaluations that need
 * more rows than before allocate, later ones do not). */
static mote_status reserve_out(mote_session *s, int rows)
{
    if (rows <= s->out_cap) return MOTE_OK;
    if (s->n_outputs_max && rows > s->n_outputs_max)
        return mote_fail(MOTE_E_INVALID, "session: this evaluation keeps %d output rows; the session was created for "
                                         "at most %d (n_outputs_max)", rows, s->n_outputs_max);
    float *p = realloc(s->out, sizeof(float) * (size_t)s->out_width * (size_t)rows);
    if (!p) return mote_fail(MOTE_E_NOMEM, "out of memory for %d output rows", rows);
    s->heap_bytes += sizeof(float) * (size_t)s->out_width * (size_t)(rows - s->out_cap);
    s->out = p;
    s->out_cap = rows;
    return MOTE_OK;
}

/* Whether batch token t (in run order) must reach the output: asked for,
 * or (pooled embeddings, whatever was asked) a row its sequence's pooling
 * reads: the pooled vector covers every token evaluated. */
static int keeps(const mote_session *s, int t, int asked, int last_of_run)
{
    if (!s->embeddings || s->pooling == MOTE_POOL_NONE) return asked;
    switch (s->pooling) {
    case MOTE_POOL_MEAN: return 1;
    case MOTE_POOL_CLS: return s->b_pos[t] == 0;
    default: return last_of_run; /* MOTE_POOL_LAST */
    }
}

static void l2_normalize(float *v, int n)
{
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)v[i] * v[i];
    const float scale = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int i = 0; i < n; i++) v[i] *= scale;
}

/* Sequence `to` gets the pooled state of `from` (entry n_seq: the spare). */
static void pool_copy(mote_session *s, int from, int to)
{
    const size_t E = (size_t)s->arch->hp.n_embd;
    memcpy(s->pool_acc + (size_t)to * E, s->pool_acc + (size_t)from * E, sizeof(float) * E);
    memcpy(s->pool_out + (size_t)to * E, s->pool_out + (size_t)from * E, sizeof(float) * E);
    s->pool_state[to] = s->pool_state[from];
}

/* After a pass: fold the kept rows (at out) into the pooled vectors of
 * the pass's sequences (the others keep theirs). */
static void pool_rows(mote_session *s, int n, const float *out)
{
    const int E = s->arch->hp.n_embd;
    for (int t = 0, row = 0; t < n; t++) {
        const int q = s->b_seq[t];
        seq_pool *ps = &s->pool_state[q];
        if (s->b_keep[t]) {
            float *acc = s->pool_acc + (size_t)q * E;
            const float *h = out + (size_t)row++ * E;
            if (s->pooling == MOTE_POOL_MEAN) {
                if (s->b_pos[t] == 0) ps->n = 0;
                for (int i = 0; i < E; i++) acc[i] = ps->n ? acc[i] + h[i] : h[i];
                ps->n++;
            } else {
                memcpy(acc, h, sizeof(float) * (size_t)E);
                ps->n = 1;
            }
        }
        /* the sequence's last token in the pass (its run ends here) */
        if (t + 1 < n && s->b_seq[t + 1] == q) continue;
        ps->fresh = ps->n > 0;
        if (!ps->fresh) continue;
        float *o = s->pool_out + (size_t)q * E;
        const float *acc = s->pool_acc + (size_t)q * E;
        const float inv = s->pooling == MOTE_POOL_MEAN ? 1.0f / (float)ps->n : 1.0f;
        for (int i = 0; i < E; i++) o[i] = acc[i] * inv;
        arch_project_pooled(s->arch, &s->st, o);
        if (s->normalize) l2_normalize(o, E);
    }
}

/* The runs of sequences set alone become runs of one token each (the
 * forward pass computes a run of one as a batch of that token alone;
 * consecutive ones still share each pass over the weights). In place,
 * from the back: run r's pieces land at or after index r. Returns the
 * new count (at most n_batch, one run a token). */
static int split_alone_runs(mote_session *s, int n_run)
{
    int n_new = 0, any = 0;
    for (int r = 0, t0 = 0; r < n_run; t0 += s->b_run[r++]) {
        const int alone = s->seq_alone[s->b_seq[t0]];
        n_new += alone ? s->b_run[r] : 1;
        any |= alone && s->b_run[r] > 1;
    }
    if (!any) return n_run;
    int t_end = 0;
    for (int r = 0; r < n_run; r++) t_end += s->b_run[r];
    for (int r = n_run - 1, w = n_new; r >= 0; r--) {
        const int len = s->b_run[r];
        t_end -= len;
        if (s->seq_alone[s->b_seq[t_end]])
            for (int i = 0; i < len; i++) s->b_run[--w] = 1;
        else
            s->b_run[--w] = len;
    }
    return n_new;
}

/* One forward pass over the batch already in run order (b_* arrays, n
 * tokens, n_run runs), its kept rows written at out (room reserved by the
 * caller); on success the sequences advance. */
static mote_status forward(mote_session *s, int n, int n_run, float *out)
{
    n_run = split_alone_runs(s, n_run);
    int n_keep = 0;
    for (int t = 0; t < n; t++) n_keep += s->b_keep[t];
    fwd_batch fb = {
        .n = n,
        .token = s->b_token,
        .seq = s->b_seq,
        .pos = s->b_pos,
        .n_run = n_run,
        .run = s->b_run,
        .keep = s->b_keep,
        .embeddings = s->embeddings,
        .layer_done = layer_done,
        .user = s,
    };
    for (int t = 0; t < n; t++) /* before the pass: a cancelled one has written its rows too */
        if (s->b_pos[t] + 1 > s->seq_hw[s->b_seq[t]]) s->seq_hw[s->b_seq[t]] = s->b_pos[t] + 1;
    MOTE_TRY(arch_forward(s->arch, &s->st, &fb, out));
    for (int t = 0; t < n; t++) {
        const int q = s->b_seq[t];
        s->seq_toks[(size_t)q * s->st.n_ctx + s->b_pos[t]] = s->b_token[t];
        if (s->b_pos[t] + 1 > s->seq_len[q]) s->seq_len[q] = s->b_pos[t] + 1;
    }
    s->out_rows = n_keep;
    if (s->embeddings && s->pooling != MOTE_POOL_NONE) pool_rows(s, n, out);
    else if (s->embeddings && s->normalize)
        for (int r = 0; r < n_keep; r++) l2_normalize(out + (size_t)r * s->out_width, s->out_width);
    return MOTE_OK;
}

static mote_status check_token(const mote_session *s, mote_token t, int i)
{
    const int n_vocab = s->arch->hp.n_vocab;
    if (t < 0 || t >= n_vocab)
        return mote_fail(MOTE_E_INVALID, "token %d at batch index %d is out of range [0, %d)", t, i, n_vocab);
    return MOTE_OK;
}

mote_status mote_session_decode(mote_session *s, const mote_batch *b)
{
    if (!s || !b || b->n < 0 || (b->n > 0 && (!b->token || !b->seq || !b->pos || !b->output)))
        return mote_fail(MOTE_E_INVALID, "mote_session_decode: bad argument");
    const int n = b->n;
    if (n == 0) return MOTE_OK;
    forget_outputs(s); /* until this call succeeds */
    if (n > s->st.n_batch)
        return mote_fail(MOTE_E_RANGE, "batch of %d tokens is larger than the session's n_batch %d", n,
                         s->st.n_batch);

    /* Validate and count each sequence's tokens (b_run per run). */
    int n_run = 0;
    for (int q = 0; q < s->st.n_seq; q++) s->seq_first[q] = -1;
    for (int i = 0; i < n; i++) {
        const int q = b->seq[i];
        MOTE_TRY(check_token(s, b->token[i], i));
        if (q < 0 || q >= s->st.n_seq)
            return mote_fail(MOTE_E_INVALID, "batch index %d: sequence %d outside [0, %d)", i, q, s->st.n_seq);
        int r = s->seq_first[q];
        if (r < 0) {
            r = s->seq_first[q] = n_run++;
            s->b_run[r] = 0;
        }
        if (!s->arch->hp.causal && s->seq_len[q] > 0)
            return mote_fail(MOTE_E_INVALID, "batch index %d: sequence %d holds %d tokens; an encoder's sequence is "
                             "evaluated whole, in one pass (clear it first)", i, q, s->seq_len[q]);
        const int want = s->seq_len[q] + s->b_run[r];
        if (b->pos[i] != -1 && b->pos[i] != want)
            return mote_fail(MOTE_E_INVALID, "batch index %d: position %d of sequence %d must be %d (the sequence "
                                             "holds %d tokens; truncate it to rewrite)",
                             i, b->pos[i], q, want, s->seq_len[q]);
        if (want >= s->st.n_ctx)
            return mote_fail(MOTE_E_RANGE, "context full: sequence %d would need position %d, n_ctx is %d", q,
                             want, s->st.n_ctx);
        s->b_run[r]++;
    }
    /* Place the tokens run by run (b_src: the batch index of each). */
    int *fill = s->out_map; /* borrowed as the runs' write cursors */
    for (int r = 0, at = 0; r < n_run; r++) {
        fill[r] = at;
        at += s->b_run[r];
    }
    for (int i = 0; i < n; i++) {
        const int q = b->seq[i], t = fill[s->seq_first[q]]++;
        s->b_token[t] = b->token[i];
        s->b_seq[t] = q;
        s->b_src[t] = i;
    }
    /* Positions and kept rows, run by run. */
    for (int r = 0, t0 = 0; r < n_run; r++) {
        for (int t = t0; t < t0 + s->b_run[r]; t++) {
            s->b_pos[t] = s->seq_len[s->b_seq[t]] + (t - t0);
            s->b_keep[t] = (int8_t)keeps(s, t, b->output[s->b_src[t]] != 0, t == t0 + s->b_run[r] - 1);
        }
        t0 += s->b_run[r];
    }

    s->prog_done = 0;
    s->prog_total = (uint64_t)s->arch->hp.n_layer;
    int n_keep = 0;
    for (int t = 0; t < n; t++) n_keep += s->b_keep[t];
    MOTE_TRY(reserve_out(s, n_keep > 0 ? n_keep : 1));
    MOTE_TRY(forward(s, n, n_run, s->out));
    for (int i = 0; i < n; i++) s->out_map[i] = -1;
    for (int t = 0, row = 0; t < n; t++)
        if (s->b_keep[t]) s->out_map[s->b_src[t]] = row++;
    s->last_n = n;
    s->eval_first = -1;
    return MOTE_OK;
}

/* The shortest length above 0 that sequence seq can be cut back to: a
 * layer with a ring of R rows and a window of W has overwritten positions
 * below hw - R, and the next token needs the W - 1 before it. 1 when no
 * ring limits it. */
static int seq_keep_from(const mote_session *s, int seq)
{
    int from = 1;
    for (int il = 0; il < s->arch->hp.n_layer; il++) {
        const kv_layer *l = &s->kv_layers[il];
        if (!l->ring) continue;
        const int need = s->seq_hw[seq] - l->ring + l->window - 1;
        if (need > from) from = need;
    }
    return from;
}

mote_status mote_session_eval(mote_session *s, const mote_token *toks, int n, int all_logits)
{
    if (!s || (!toks && n > 0) || n < 0) return mote_fail(MOTE_E_INVALID, "mote_session_eval: bad argument");
    if (n == 0) return MOTE_OK;
    forget_outputs(s); /* until this call succeeds */
    const int start = s->seq_len[0];
    if (n > s->st.n_ctx - start)
        return mote_fail(MOTE_E_RANGE, "context full: %d cached + %d new tokens exceed n_ctx %d", start, n,
                         s->st.n_ctx);
    for (int i = 0; i < n; i++) MOTE_TRY(check_token(s, toks[i], i));
    const int B = s->st.n_batch, chunks = (n + B - 1) / B;
    if (!s->arch->hp.causal && (start > 0 || n > B))
        return mote_fail(MOTE_E_INVALID, "an encoder evaluates a sequence whole, in one pass: %d tokens after %d "
                         "cached do not fit (n_batch %d)", n, start, B);
    /* With all_logits every row is an output; otherwise each piece keeps
     * its last row (and the last piece's wins), as llama.cpp does; mean
     * pooling reads every row of a piece. */
    const int mean = s->embeddings && s->pooling == MOTE_POOL_MEAN;
    MOTE_TRY(reserve_out(s, all_logits ? n : mean ? (n < B ? n : B) : 1));
    s->prog_done = 0;
    s->prog_total = (uint64_t)chunks * (uint64_t)s->arch->hp.n_layer;
    if (s->pool_state) pool_copy(s, 0, s->st.n_seq); /* pieces pool as they go */
    for (int done = 0; done < n;) {
        const int m = n - done < B ? n - done : B;
        for (int t = 0; t < m; t++) {
            s->b_token[t] = toks[done + t];
            s->b_seq[t] = 0;
            s->b_pos[t] = s->seq_len[0] + t;
            s->b_keep[t] = (int8_t)keeps(s, t, all_logits || t == m - 1, t == m - 1);
        }
        s->b_run[0] = m;
        mote_status st = forward(s, m, 1, all_logits ? s->out + (size_t)done * s->out_width : s->out);
        if (st != MOTE_OK) {
            s->seq_len[0] = start; /* cancelled or failed: as the call found it */
            if (s->pool_state) pool_copy(s, s->st.n_seq, 0);
            /* unless the pieces done have moved a sliding-window ring past
             * the positions the next token needs: then start over */
            if (start > 0 && start < seq_keep_from(s, 0)) {
                s->seq_len[0] = s->seq_hw[0] = 0;
                if (s->pool_state) s->pool_state[0] = (seq_pool){0};
                char why[256];
                snprintf(why, sizeof why, "%s", mote_last_error());
                return mote_fail(st, "%s; sequence 0 was cleared: its sliding-window layers had overwritten "
                                 "positions before %d", why, start);
            }
            return st;
        }
        done += m;
    }
    s->last_n = n;
    s->out_rows = all_logits ? n : 1;
    s->eval_first = all_logits ? 0 : n - 1;
    return MOTE_OK;
}

/* Row of batch token i of the last evaluation, or NULL. */
static const float *out_row(const mote_session *s, int i)
{
    if (!s || s->last_n == 0) return NULL;
    if (i < 0) i += s->last_n;
    if (i < 0 || i >= s->last_n) return NULL;
    int row;
    if (s->eval_first >= 0) {
        row = i - s->eval_first;
        if (row < 0 || row >= s->out_rows) return NULL;
    } else {
        row = s->out_map[i];
        if (row < 0) return NULL;
    }
    return s->out + (size_t)row * s->out_width;
}

const float *mote_session_logits(const mote_session *s, int i)
{
    return s && !s->embeddings ? out_row(s, i) : NULL;
}

const float *mote_session_embedding(const mote_session *s, int i)
{
    return s && s->embeddings && s->pooling == MOTE_POOL_NONE ? out_row(s, i) : NULL;
}

const float *mote_session_embedding_seq(const mote_session *s, int seq)
{
    if (!s || !s->embeddings || s->pooling == MOTE_POOL_NONE || seq < 0 || seq >= s->st.n_seq) return NULL;
    if (!s->pool_state[seq].fresh) return NULL;
    return s->pool_out + (size_t)seq * s->arch->hp.n_embd;
}

int mote_session_pooling(const mote_session *s) { return s ? s->pooling : MOTE_POOL_NONE; }

const mote_model *session_model(const mote_session *s) { return s->model; }
int session_n_batch(const mote_session *s) { return s->st.n_batch; }
int session_n_outputs_max(const mote_session *s) { return s->n_outputs_max; }
int session_seq_alone(const mote_session *s, int seq)
{
    return seq >= 0 && seq < s->st.n_seq && s->seq_alone[seq];
}
void session_set_observer(mote_session *s, const fwd_observer *o) { s->st.observer = o; }

int mote_session_pos(const mote_session *s) { return s ? s->seq_len[0] : 0; }
int mote_session_n_ctx(const mote_session *s) { return s ? s->st.n_ctx : 0; }
int mote_session_n_seq(const mote_session *s) { return s ? s->st.n_seq : 0; }

/* ------------------------------------------------------------------------
 * Sequences
 * ---------------------------------------------------------------------- */

static mote_status check_seq(const mote_session *s, int seq, const char *what)
{
    if (!s) return mote_fail(MOTE_E_INVALID, "%s: NULL session", what);
    if (seq < 0 || seq >= s->st.n_seq)
        return mote_fail(MOTE_E_INVALID, "%s: sequence %d outside [0, %d)", what, seq, s->st.n_seq);
    return MOTE_OK;
}

int mote_seq_pos(const mote_session *s, int seq)
{
    return s && seq >= 0 && seq < s->st.n_seq ? s->seq_len[seq] : -1;
}

mote_status mote_seq_truncate(mote_session *s, int seq, int pos)
{
    MOTE_TRY(check_seq(s, seq, "mote_seq_truncate"));
    if (pos < 0 || pos > s->seq_len[seq])
        return mote_fail(MOTE_E_INVALID, "mote_seq_truncate: position %d outside [0, %d] of sequence %d", pos,
                         s->seq_len[seq], seq);
    /* A running mean cannot take tokens back out. */
    if (s->pooling == MOTE_POOL_MEAN && pos > 0 && pos < s->seq_len[seq])
        return mote_fail(MOTE_E_UNSUPPORTED, "mote_seq_truncate: mean pooling needs the sequence re-evaluated from "
                                             "position 0 (truncate to 0)");
    if (pos > 0 && pos < s->seq_len[seq] && pos < seq_keep_from(s, seq))
        return mote_fail(MOTE_E_UNSUPPORTED, "mote_seq_truncate: sequence %d keeps positions from %d on in its "
                         "sliding-window layers; cut it to 0 or to at least %d, not %d", seq,
                         seq_keep_from(s, seq) - 1, seq_keep_from(s, seq), pos);
    s->seq_len[seq] = pos; /* later positions are overwritten by the next evaluation */
    if (pos == 0) s->seq_hw[seq] = 0;
    if (s->pool_state) {
        if (pos == 0) s->pool_state[seq] = (seq_pool){0};
        s->pool_state[seq].fresh = 0; /* until the sequence is evaluated again */
    }
    forget_outputs(s);
    return MOTE_OK;
}

mote_status mote_seq_clear(mote_session *s, int seq) { return mote_seq_truncate(s, seq, 0); }

mote_status mote_seq_set_alone(mote_session *s, int seq, int alone)
{
    MOTE_TRY(check_seq(s, seq, "mote_seq_set_alone"));
    if (alone && (s->embeddings || !s->arch->hp.causal))
        return mote_fail(MOTE_E_UNSUPPORTED, "mote_seq_set_alone: an embeddings session or encoder evaluates a "
                                             "sequence whole; its tokens cannot be computed one by one");
    s->seq_alone[seq] = alone != 0;
    return MOTE_OK;
}

mote_status mote_session_truncate(mote_session *s, int pos) { return mote_seq_truncate(s, 0, pos); }

mote_status mote_seq_copy(mote_session *s, int src, int dst, int n)
{
    MOTE_TRY(check_seq(s, src, "mote_seq_copy"));
    MOTE_TRY(check_seq(s, dst, "mote_seq_copy"));
    if (n < 0 || n > s->seq_len[src])
        return mote_fail(MOTE_E_INVALID, "mote_seq_copy: %d positions requested, sequence %d holds %d", n, src,
                         s->seq_len[src]);
    if (s->pooling == MOTE_POOL_MEAN && n > 0 && n < s->seq_len[src])
        return mote_fail(MOTE_E_UNSUPPORTED, "mote_seq_copy: mean pooling can copy a whole sequence only");
    if (src == dst) return mote_seq_truncate(s, dst, n); /* its own first n positions */
    if (n > 0 && n < s->seq_len[src] && n < seq_keep_from(s, src))
        return mote_fail(MOTE_E_UNSUPPORTED, "mote_seq_copy: sequence %d keeps positions from %d on in its "
                         "sliding-window layers; copy 0, %d or at least %d positions, not %d", src,
                         seq_keep_from(s, src) - 1, s->seq_len[src], seq_keep_from(s, src), n);
    const arch_hparams *hp = &s->arch->hp;
    for (int il = 0; il < hp->n_layer; il++) {
        const kv_layer *l = &s->kv_layers[il];
        const size_t bytes = (size_t)(l->ring ? l->ring : n) * s->st.kv_row_bytes; /* a ring: all of it */
        memcpy(kv_layer_rows(&s->st, s->st.k_cache, dst, il), kv_layer_rows(&s->st, s->st.k_cache, src, il), bytes);
        memcpy(kv_layer_rows(&s->st, s->st.v_cache, dst, il), kv_layer_rows(&s->st, s->st.v_cache, src, il), bytes);
    }
    s->seq_hw[dst] = n ? s->seq_hw[src] : 0;
    memcpy(s->seq_toks + (size_t)dst * s->st.n_ctx, s->seq_toks + (size_t)src * s->st.n_ctx,
           sizeof(mote_token) * (size_t)n);
    if (s->pool_state) {
        pool_copy(s, src, dst);
        if (!n) s->pool_state[dst] = (seq_pool){0};
        s->pool_state[dst].fresh = 0;
    }
    s->seq_len[dst] = n;
    forget_outputs(s);
    return MOTE_OK;
}

const mote_token *mote_seq_tokens(const mote_session *s, int seq, int *n)
{
    if (!s || seq < 0 || seq >= s->st.n_seq) {
        if (n) *n = 0;
        return NULL;
    }
    if (n) *n = s->seq_len[seq];
    return s->seq_toks + (size_t)seq * s->st.n_ctx;
}

int mote_seq_common_prefix(const mote_session *s, int seq, const mote_token *toks, int n)
{
    int have = 0;
    const mote_token *c = mote_seq_tokens(s, seq, &have);
    if (!c || !toks || n <= 0) return 0;
    int k = 0;
    while (k < have && k < n && c[k] == toks[k]) k++;
    /* a cut the sliding-window layers cannot take: start over */
    if (k > 0 && k < have && k < seq_keep_from(s, seq)) return 0;
    return k;
}

/* ------------------------------------------------------------------------
 * Memory
 * ---------------------------------------------------------------------- */

/* A session's kv, scratch (outputs at out_cap rows) and heap. */
static void held(const mote_session *s, mote_memory *mem)
{
    const uint64_t out = sizeof(float) * (uint64_t)s->out_width * s->out_cap;
    mem->kv = 2ull * s->st.seq_rows * s->st.kv_row_bytes * (uint64_t)s->st.n_seq;
    mem->scratch = (uint64_t)s->block_bytes - mem->kv + out;
    mem->heap = (uint64_t)s->heap_bytes - out + sizeof *s;
}

mote_status mote_session_memory(const mote_session *s, mote_memory *mem, uint64_t *kv_bytes_per_pos)
{
    if (!s || !mem) return mote_fail(MOTE_E_INVALID, "mote_session_memory: NULL argument");
    memset(mem, 0, sizeof *mem);
    uint64_t per_pos = 0, used_rows = 0;
    for (int il = 0; il < s->arch->hp.n_layer; il++) {
        const kv_layer *l = &s->kv_layers[il];
        if (!l->ring) per_pos += 2ull * s->st.kv_row_bytes;
        for (int q = 0; q < s->st.n_seq; q++) {
            const int len = s->seq_len[q];
            used_rows += (uint64_t)(l->ring && len > l->ring ? l->ring : len);
        }
    }
    held(s, mem);
    mem->kv_used = 2ull * used_rows * s->st.kv_row_bytes;
    if (kv_bytes_per_pos) *kv_bytes_per_pos = per_pos;
    return MOTE_OK;
}

mote_status mote_session_plan(const mote_model *model, const mote_session_params *params, mote_memory *mem)
{
    if (mem) memset(mem, 0, sizeof *mem);
    if (!mem) return mote_fail(MOTE_E_INVALID, "mote_session_plan: NULL argument");
    mote_session_params p;
    uint32_t kv_type;
    MOTE_TRY(session_args("mote_session_plan", model, params, &p, &kv_type));
    /* the session creation would make, shaped but not allocated, its
     * outputs at their peak: a decode's n_batch rows, or the cap */
    mote_session s = {0};
    MOTE_TRY(shape(&s, model, &p, kv_type, pool_size_plan(p.n_threads)));
    s.out_cap = p.n_outputs_max && p.n_outputs_max < p.n_batch ? p.n_outputs_max : p.n_batch;
    tables(&s, 0);
    held(&s, mem);
    free(s.kv_layers);
    return MOTE_OK;
}

mote_status mote_session_kv_bytes(const mote_model *model, const mote_session_params *params, uint64_t *out)
{
    if (out) *out = 0;
    if (!model || !out) return mote_fail(MOTE_E_INVALID, "mote_session_kv_bytes: NULL argument");
    mote_memory mem;
    MOTE_TRY(mote_session_plan(model, params, &mem));
    *out = mem.kv;
    return MOTE_OK;
}
