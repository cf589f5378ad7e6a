/*
 * forward.c — the decoder-only transformer forward pass, for every family
 * arch_load describes.
 *
 * For a batch of n tokens at positions pos..pos+n-1 (bracketed steps are
 * the families' options, set in arch_hparams and layer_weights):
 *
 *   x = token_embd[tokens] [× embd_scale]                    (n, n_embd)
 *   for each layer:
 *     h = rmsnorm(x) * attn_norm
 *     q, k, v = h·Wqᵀ (+bq), h·Wkᵀ (+bk), h·Wvᵀ (+bv)
 *     [rmsnorm of each q and k head * q_norm, k_norm]
 *     rope on q, k [unless the layer has none; its own variant]  [q × q_scale]
 *     k, v -> KV cache;  a = softmax(q·Kᵀ·kq_scale + mask)·V  per head, the
 *       mask causal [and limited to the layer's window]
 *     o = a·Woᵀ [rmsnorm(o) * attn_post_norm];  x += o [× residual_scale]
 *     h = rmsnorm(x) * ffn_norm
 *     f = (act(h·Wgateᵀ) * h·Wupᵀ)·Wdownᵀ, act SiLU or GELU
 *       [rmsnorm(f) * ffn_post_norm];  x += f [× residual_scale]
 *   logits = (rmsnorm(x) * output_norm)·Woutputᵀ [× logit_scale] [softcap]
 *
 * Encoders (bert, nomic-bert) are post-norm instead, with biases: their
 * input is token_embd[tokens] + token_types[0] [+ position_embd[pos]]
 * through a LayerNorm, and each block ends x = layernorm(x + block(x));
 * their attention, like EmbeddingGemma's, sees the whole sequence.
 *
 * The products are matrix x matrix over the whole batch; almost all the
 * time goes into them (kernels/). The KV cache and attention over it are
 * in attention.c. A batch may hold tokens of several sequences (runs, see
 * fwd_batch): they share the passes over the weights, each token attends
 * to its own sequence's cache.
 */
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "gguf/ggml_type.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "model/arch.h"
#include "model/attention.h"
#include "tensor/quant.h"

/* Y = X·Wᵀ for rows in runs run[0..n_run): each run of two or more rows is
 * its own product, with the kernels a batch of that size picks; adjacent
 * runs of one row share one product that computes each row as a batch of
 * one. A sequence's rows then get the arithmetic they would get alone. */
static void mm_runs(forward_state *st, const weight *w, const float *X, const int32_t *run, int n_run, float *Y)
{
    const size_t k = (size_t)w->cols, m = (size_t)w->rows;
    for (int i = 0, row = 0; i < n_run;) {
        int rows = run[i], j = i + 1;
        if (rows == 1)
            while (j < n_run && run[j] == 1) rows++, j++;
        const float *x = X + (size_t)row * k;
        float *y = Y + (size_t)row * m;
        if (rows == 1 || run[i] > 1)
            matmul(st->pool, w->data, w->type, w->rows, w->cols, x, rows, y, st->mm_scratch);
        else
            matmul_alone(st->pool, w->data, w->type, w->rows, w->cols, x, rows, y, st->mm_scratch);
        row += rows;
        i = j;
    }
}

/* The product for the current rows of a pass (see layer_ctx). */
typedef struct layer_ctx {
    const model_arch *a;
    forward_state *st;
    const int32_t *run; /* rows per run */
    int n_run;
    int n;              /* rows */
} layer_ctx;

static void mm(const layer_ctx *L, const weight *w, const float *X, float *Y)
{
    mm_runs(L->st, w, X, L->run, L->n_run, Y);
}

/* Show the observer (if any) the input X of w in layer il. prev: the
 * weight multiplied just before with the same X, or NULL; a view of the
 * same fused tensor (same name) is then not shown again. */
static void observe_mm(const layer_ctx *L, const weight *w, const weight *prev, int il, const float *X)
{
    const fwd_observer *o = L->st->observer;
    if (!o || !o->matmul || (prev && strcmp(prev->name, w->name) == 0)) return;
    o->matmul(o->user, w->name, il, X, L->n, (int)w->cols);
}

static void observe_residual(const layer_ctx *L, int il, int out)
{
    const fwd_observer *o = L->st->observer;
    if (o && o->residual) o->residual(o->user, il, out, L->st->x, L->n, L->a->hp.n_embd);
}

size_t arch_matmul_scratch(const model_arch *a, int n_batch)
{
    size_t most = matmul_scratch_size(a->output.type, a->output.cols, n_batch);
    for (int il = 0; il < a->hp.n_layer; il++) {
        const layer_weights *l = &a->layers[il];
        const weight *ws[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            size_t s = ws[i]->data ? matmul_scratch_size(ws[i]->type, ws[i]->cols, n_batch) : 0;
            if (s > most) most = s;
        }
    }
    for (const weight *w = &a->dense_2; w <= &a->dense_3; w++) {
        size_t s = w->data ? matmul_scratch_size(w->type, w->cols, 1) : 0;
        if (s > most) most = s;
    }
    return most;
}

/* ------------------------------------------------------------------------
 * Row-wise steps
 *
 * The element-wise work between the matrix products is done row by row
 * (token by token); a batch's rows are spread over the pool. Each row's
 * arithmetic is the same wherever it runs, so results do not depend on the
 * split. A single row stays on the calling thread: waking the workers
 * would cost more than the row.
 * ---------------------------------------------------------------------- */

enum row_op {
    ROW_NORM,     /* xb = rmsnorm(x) * w */
    ROW_QKV,      /* biases, norms and rope on q and k; k and v into the cache */
    ROW_RESIDUAL, /* [tmp += bias] [tmp = rmsnorm(tmp) * w] [tmp *= residual_scale]; x += tmp
                   * [x = layernorm(x) * ln_w + ln_b] */
    ROW_GATE,     /* hb = act(hb) * hb2 */
    ROW_ACT,      /* hb = gelu(hb [+ bias]): the ungated FFN */
    ROW_LOGITS,   /* out [*= logit_scale] [softcap] */
};

typedef struct row_job {
    enum row_op op;
    const model_arch *a;
    forward_state *st;
    const float *w;       /* ROW_NORM, ROW_RESIDUAL: norm weights (n_embd) or NULL */
    const float *bias;    /* ROW_RESIDUAL, ROW_ACT: added first, or NULL */
    const float *ln_w, *ln_b; /* ROW_RESIDUAL: LayerNorm after the add, or NULL */
    float *out;           /* ROW_LOGITS: the logits */
    int il, n;            /* layer, rows */
} row_job;

static void row_apply(const row_job *J, int t)
{
    const arch_hparams *hp = &J->a->hp;
    forward_state *st = J->st;
    const int E = hp->n_embd, F = hp->n_ff, hd = hp->head_dim;
    switch (J->op) {
    case ROW_NORM:
        op_rmsnorm(st->xb + (size_t)t * E, st->x + (size_t)t * E, J->w, E, hp->norm_eps);
        break;
    case ROW_QKV: {
        const layer_weights *l = &J->a->layers[J->il];
        const int q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd, neox = hp->rope_style == ROPE_NEOX;
        float *q = st->q + (size_t)t * q_dim, *k = st->k + (size_t)t * kv_dim, *v = st->v + (size_t)t * kv_dim;
        if (l->bq) op_add(q, l->bq, q_dim);
        if (l->bk) op_add(k, l->bk, kv_dim);
        if (l->bv) op_add(v, l->bv, kv_dim);
        if (l->q_norm) {
            for (int h = 0; h < hp->n_head; h++) op_rmsnorm(q + (size_t)h * hd, q + (size_t)h * hd, l->q_norm, hd, hp->norm_eps);
            for (int h = 0; h < hp->n_head_kv; h++)
                op_rmsnorm(k + (size_t)h * hd, k + (size_t)h * hd, l->k_norm, hd, hp->norm_eps);
        }
        if (l->rope >= 0) {
            const float *cs = st->rope_cs + ((size_t)t * ROPE_VARIANTS + (size_t)l->rope) * hp->n_rot;
            for (int h = 0; h < hp->n_head; h++) op_rope(q + (size_t)h * hd, cs, hp->n_rot, neox);
            for (int h = 0; h < hp->n_head_kv; h++) op_rope(k + (size_t)h * hd, cs, hp->n_rot, neox);
        }
        if (hp->q_scale != 1.0f) op_scale(q, q_dim, hp->q_scale);
        kv_cache_store(hp, st, J->il, t);
        break;
    }
    case ROW_RESIDUAL: {
        float *o = st->tmp + (size_t)t * E, *x = st->x + (size_t)t * E;
        if (J->bias) op_add(o, J->bias, E);
        if (J->w) op_rmsnorm(o, o, J->w, E, hp->norm_eps);
        if (hp->residual_scale != 1.0f) op_scale(o, E, hp->residual_scale);
        op_add(x, o, E);
        if (J->ln_w) op_layernorm(x, x, J->ln_w, J->ln_b, E, hp->norm_eps);
        break;
    }
    case ROW_ACT:
        if (J->bias) op_add(st->hb + (size_t)t * F, J->bias, F);
        op_gelu(st->hb + (size_t)t * F, F);
        break;
    case ROW_GATE: /* per row: ggml vectorises each row of n_ff separately */
        if (hp->act == FFN_GELU)
            op_geglu(st->hb + (size_t)t * F, st->hb2 + (size_t)t * F, F);
        else
            op_swiglu(st->hb + (size_t)t * F, st->hb2 + (size_t)t * F, F);
        break;
    case ROW_LOGITS: {
        float *y = J->out + (size_t)t * hp->n_vocab;
        if (hp->logit_scale != 1.0f) op_scale(y, hp->n_vocab, hp->logit_scale);
        if (hp->softcap > 0.0f) op_softcap(y, hp->n_vocab, hp->softcap);
        break;
    }
    }
}

static void row_worker(void *ctx, int ith, int nth)
{
    const row_job *J = ctx;
    long lo, hi;
    pool_split(J->n, ith, nth, &lo, &hi);
    for (long t = lo; t < hi; t++) row_apply(J, (int)t);
}

static void run_rows(const layer_ctx *L, row_job *J)
{
    J->a = L->a;
    J->st = L->st;
    J->n = L->n;
    if (J->n == 1)
        row_apply(J, 0);
    else
        pool_run(L->st->pool, row_worker, J);
}

static void rows_out(const layer_ctx *L, enum row_op op, const float *w, int il, float *out)
{
    row_job J = {.op = op, .w = w, .out = out, .il = il};
    run_rows(L, &J);
}

static void rows(const layer_ctx *L, enum row_op op, const float *w, int il) { rows_out(L, op, w, il, NULL); }

/* x += [bias +] block output (tmp), with the block's post norms. */
static void residual(const layer_ctx *L, const float *bias, const float *post_norm, const float *ln_w,
                     const float *ln_b)
{
    row_job J = {.op = ROW_RESIDUAL, .w = post_norm, .bias = bias, .ln_w = ln_w, .ln_b = ln_b};
    run_rows(L, &J);
}

/* ------------------------------------------------------------------------
 * The layer stack
 * ---------------------------------------------------------------------- */

static void attention_block(const layer_ctx *L, int il)
{
    const layer_weights *l = &L->a->layers[il];
    forward_state *st = L->st;
    const float *in = st->x; /* post-norm layers read x itself */
    if (l->attn_norm) {
        rows(L, ROW_NORM, l->attn_norm, il);
        in = st->xb;
    }
    observe_mm(L, &l->wq, NULL, il, in);
    observe_mm(L, &l->wk, &l->wq, il, in);
    observe_mm(L, &l->wv, &l->wk, il, in);
    mm(L, &l->wq, in, st->q);
    mm(L, &l->wk, in, st->k);
    mm(L, &l->wv, in, st->v);
    rows(L, ROW_QKV, NULL, il);
    attention(&L->a->hp, st, il, l->window, L->n);
    observe_mm(L, &l->wo, NULL, il, st->xb);
    mm(L, &l->wo, st->xb, st->tmp);
    residual(L, l->bo, l->attn_post_norm, l->ln_attn_w, l->ln_attn_b);
}

static void ffn_block(const layer_ctx *L, int il)
{
    const layer_weights *l = &L->a->layers[il];
    forward_state *st = L->st;
    const float *in = st->x;
    if (l->ffn_norm) {
        rows(L, ROW_NORM, l->ffn_norm, il);
        in = st->xb;
    }
    if (l->w_gate.data) {
        observe_mm(L, &l->w_gate, NULL, il, in);
        observe_mm(L, &l->w_up, &l->w_gate, il, in);
        mm(L, &l->w_gate, in, st->hb);
        mm(L, &l->w_up, in, st->hb2);
        rows(L, ROW_GATE, NULL, il);
    } else {
        observe_mm(L, &l->w_up, NULL, il, in);
        mm(L, &l->w_up, in, st->hb);
        row_job J = {.op = ROW_ACT, .bias = l->b_up, .il = il};
        run_rows(L, &J);
    }
    observe_mm(L, &l->w_down, NULL, il, st->hb);
    mm(L, &l->w_down, st->hb, st->tmp);
    residual(L, l->b_down, l->ffn_post_norm, l->ln_ffn_w, l->ln_ffn_b);
}

/* Before the last feed-forward block: move the kept rows of x to the front
 * and count them per run (runs left empty are dropped). */
static void keep_rows(layer_ctx *L, const fwd_batch *b)
{
    forward_state *st = L->st;
    const size_t E = (size_t)L->a->hp.n_embd;
    int row = 0, kept = 0, n_run = 0;
    for (int i = 0; i < b->n_run; i++) {
        int in_run = 0;
        for (int t = row; t < row + b->run[i]; t++) {
            if (!b->keep[t]) continue;
            if (kept != t) memmove(st->x + kept * E, st->x + t * E, sizeof(float) * E);
            kept++, in_run++;
        }
        if (in_run) st->keep_seg[n_run++] = in_run;
        row += b->run[i];
    }
    L->run = st->keep_seg;
    L->n_run = n_run;
    L->n = kept;
}

/* x = token_embd[token] [+ token_types[0] + position_embd[pos], then
 * the inputs' LayerNorm] (tmp: n_embd floats of scratch). */
static void embed_row(const model_arch *a, int32_t token, int pos, float *x, float *tmp)
{
    const int E = a->hp.n_embd;
    dequantize_row(a->tok_embd.type, (const uint8_t *)a->tok_embd.data + (size_t)token * a->tok_embd.row_bytes, x, E);
    if (a->tok_types.data) {
        dequantize_row(a->tok_types.type, a->tok_types.data, tmp, E);
        op_add(x, tmp, E);
    }
    if (a->pos_embd.data) {
        dequantize_row(a->pos_embd.type, (const uint8_t *)a->pos_embd.data + (size_t)pos * a->pos_embd.row_bytes, tmp, E);
        op_add(x, tmp, E);
    }
    if (a->embd_norm_w) op_layernorm(x, x, a->embd_norm_w, a->embd_norm_b, E, a->hp.norm_eps);
}

void arch_project_pooled(const model_arch *a, forward_state *st, float *v)
{
    if (!a->dense_2.data) return;
    const weight *d2 = &a->dense_2, *d3 = &a->dense_3;
    const fwd_observer *o = st->observer;
    if (o && o->matmul) o->matmul(o->user, d2->name, -1, v, 1, (int)d2->cols);
    matmul_alone(st->pool, d2->data, d2->type, d2->rows, d2->cols, v, 1, st->proj, st->mm_scratch);
    if (o && o->matmul) o->matmul(o->user, d3->name, -1, st->proj, 1, (int)d3->cols);
    matmul_alone(st->pool, d3->data, d3->type, d3->rows, d3->cols, st->proj, 1, v, st->mm_scratch);
}

mote_status arch_forward(const model_arch *a, forward_state *st, const fwd_batch *b, float *out)
{
    const arch_hparams *hp = &a->hp;
    const int E = hp->n_embd;
    st->seq = b->seq;
    st->pos = b->pos;

    /* Non-causal: a token sees its run (its sequence, whole). */
    for (int i = 0, t0 = 0; i < b->n_run; t0 += b->run[i++])
        for (int t = t0; t < t0 + b->run[i]; t++) st->end[t] = b->pos[hp->causal ? t : t0 + b->run[i] - 1] + 1;
    for (int t = 0; t < b->n; t++) {
        float *x = st->x + (size_t)t * E;
        embed_row(a, b->token[t], b->pos[t], x, st->tmp + (size_t)t * E);
        if (hp->embd_scale != 1.0f) op_scale(x, E, hp->embd_scale);
        float *cs = st->rope_cs + (size_t)t * ROPE_VARIANTS * hp->n_rot;
        op_rope_cache(cs, b->pos[t], hp->n_rot, hp->rope_base, hp->rope_freq_scale, st->rope_ff, hp->rope_mscale);
        if (hp->n_swa) /* the local layers' variant: their own base, no scaling */
            op_rope_cache(cs + hp->n_rot, b->pos[t], hp->n_rot, hp->rope_base_local, 1.0f, NULL, hp->rope_mscale);
    }
    layer_ctx L = {.a = a, .st = st, .run = b->run, .n_run = b->n_run, .n = b->n};
    for (int il = 0; il < hp->n_layer; il++) {
        observe_residual(&L, il, 0);
        attention_block(&L, il);
        /* Only the kept rows' outputs are wanted: like llama.cpp, drop the
         * others before the last feed-forward block. Besides the saved
         * work this keeps the arithmetic of llama.cpp's matmuls, which
         * differs between one row and a batch for some types. */
        if (il == hp->n_layer - 1) keep_rows(&L, b);
        if (L.n > 0) ffn_block(&L, il);
        observe_residual(&L, il, 1);
        if (b->layer_done && b->layer_done(b->user)) return mote_fail(MOTE_E_CANCELLED, "evaluation cancelled");
    }
    if (L.n == 0) return MOTE_OK;

    const float *h = st->x; /* the final hidden states: normed, unless the model has no final norm */
    if (a->output_norm) {
        rows(&L, ROW_NORM, a->output_norm, 0);
        h = st->xb;
    }
    if (b->embeddings)
        memcpy(out, h, sizeof(float) * (size_t)L.n * E);
    else {
        observe_mm(&L, &a->output, NULL, -1, st->xb);
        mm(&L, &a->output, st->xb, out);
        if (hp->logit_scale != 1.0f || hp->softcap > 0.0f) rows_out(&L, ROW_LOGITS, NULL, 0, out);
    }
    return MOTE_OK;
}
