/*
 * forward.c — the decoder-only transformer forward pass (llama, qwen2).
 *
 * For a batch of n tokens at positions pos..pos+n-1:
 *
 *   x = token_embd[tokens]                                   (n, n_embd)
 *   for each layer:
 *     h = rmsnorm(x) * attn_norm
 *     q, k, v = h·Wqᵀ (+bq), h·Wkᵀ (+bk), h·Wvᵀ (+bv)         rope on q, k
 *     k, v -> KV cache;  a = softmax(q·Kᵀ/√d + causal mask)·V  per head
 *     x += a·Woᵀ
 *     h = rmsnorm(x) * ffn_norm
 *     x += (silu(h·Wgateᵀ) * h·Wupᵀ)·Wdownᵀ
 *   logits = (rmsnorm(x) * output_norm)·Woutputᵀ
 *
 * The products are matrix x matrix over the whole batch; almost all the
 * time goes into them (kernels/). The KV cache and attention over it are
 * in attention.c.
 */
#include <math.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "model/arch.h"
#include "model/attention.h"
#include "tensor/quant.h"

static void mm(forward_state *st, const weight *w, const float *X, int n, float *Y)
{
    matmul(st->pool, w->data, w->type, w->rows, w->cols, X, n, Y, st->mm_scratch);
}

size_t arch_matmul_scratch(const model_arch *a, int n_batch)
{
    size_t most = matmul_scratch_size(a->output.type, a->output.cols, n_batch);
    for (int il = 0; il < a->hp.n_layer; il++) {
        const layer_weights *l = &a->layers[il];
        const weight *ws[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            size_t s = matmul_scratch_size(ws[i]->type, ws[i]->cols, n_batch);
            if (s > most) most = s;
        }
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
    ROW_QKV,      /* biases and rope on q and k; k and v into the cache */
    ROW_RESIDUAL, /* x += tmp */
    ROW_SWIGLU,   /* hb = silu(hb) * hb2 */
};

typedef struct row_job {
    enum row_op op;
    const model_arch *a;
    forward_state *st;
    const float *w;       /* ROW_NORM: norm weights (n_embd) */
    int il, pos, n;       /* layer, position of row 0, rows */
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
        const float *cs = st->rope_cs + (size_t)t * hp->n_rot;
        for (int h = 0; h < hp->n_head; h++) op_rope(q + (size_t)h * hd, cs, hp->n_rot, neox);
        for (int h = 0; h < hp->n_head_kv; h++) op_rope(k + (size_t)h * hd, cs, hp->n_rot, neox);
        kv_cache_store(hp, st, J->il, J->pos, t);
        break;
    }
    case ROW_RESIDUAL:
        op_add(st->x + (size_t)t * E, st->tmp + (size_t)t * E, E);
        break;
    case ROW_SWIGLU: /* per row: ggml vectorises each row of n_ff separately */
        op_swiglu(st->hb + (size_t)t * F, st->hb2 + (size_t)t * F, F);
        break;
    }
}

static void row_worker(void *ctx, int ith, int nth)
{
    const row_job *J = ctx;
    long lo, hi;
    pool_split(J->n, ith, nth, &lo, &hi);
    for (long t = lo; t < hi; t++) row_apply(J, (int)t);
}

static void rows(const model_arch *a, forward_state *st, enum row_op op, const float *w, int il, int pos, int n)
{
    row_job J = {.op = op, .a = a, .st = st, .w = w, .il = il, .pos = pos, .n = n};
    if (n == 1)
        row_apply(&J, 0);
    else
        pool_run(st->pool, row_worker, &J);
}

/* ------------------------------------------------------------------------
 * The layer stack
 * ---------------------------------------------------------------------- */

static void attention_block(const model_arch *a, forward_state *st, int il, int n, int pos)
{
    const layer_weights *l = &a->layers[il];
    rows(a, st, ROW_NORM, l->attn_norm, il, pos, n);
    mm(st, &l->wq, st->xb, n, st->q);
    mm(st, &l->wk, st->xb, n, st->k);
    mm(st, &l->wv, st->xb, n, st->v);
    rows(a, st, ROW_QKV, NULL, il, pos, n);
    attention(&a->hp, st, il, n, pos);
    mm(st, &l->wo, st->xb, n, st->tmp);
    rows(a, st, ROW_RESIDUAL, NULL, il, pos, n);
}

static void ffn_block(const model_arch *a, forward_state *st, int il, int n)
{
    const layer_weights *l = &a->layers[il];
    rows(a, st, ROW_NORM, l->ffn_norm, il, 0, n);
    mm(st, &l->w_gate, st->xb, n, st->hb);
    mm(st, &l->w_up, st->xb, n, st->hb2);
    rows(a, st, ROW_SWIGLU, NULL, il, 0, n);
    mm(st, &l->w_down, st->hb, n, st->tmp);
    rows(a, st, ROW_RESIDUAL, NULL, il, 0, n);
}

void arch_forward(const model_arch *a, forward_state *st, const int32_t *tokens, int n, int pos,
                  int all_logits, float *logits)
{
    const arch_hparams *hp = &a->hp;
    const int E = hp->n_embd;

    for (int t = 0; t < n; t++) {
        const uint8_t *row = (const uint8_t *)a->tok_embd.data + (size_t)tokens[t] * a->tok_embd.row_bytes;
        dequantize_row(a->tok_embd.type, row, st->x + (size_t)t * E, E);
        op_rope_cache(st->rope_cs + (size_t)t * hp->n_rot, pos + t, hp->n_rot, hp->rope_base,
                      hp->rope_freq_scale, a->rope_freqs);
    }
    int n_rows = n; /* rows of st->x still carried */
    for (int il = 0; il < hp->n_layer; il++) {
        attention_block(a, st, il, n, pos);
        if (il == hp->n_layer - 1 && !all_logits && n > 1) {
            /* Only the last token's logits are wanted: like llama.cpp, drop
             * the other rows before the last feed-forward block. Besides the
             * saved work this keeps the arithmetic of llama.cpp's matmuls,
             * which differs between one row and a batch for some types. */
            memmove(st->x, st->x + (size_t)(n - 1) * E, sizeof(float) * (size_t)E);
            n_rows = 1;
        }
        ffn_block(a, st, il, n_rows);
    }

    rows(a, st, ROW_NORM, a->output_norm, 0, 0, n_rows);
    mm(st, &a->output, st->xb, n_rows, logits);
}
