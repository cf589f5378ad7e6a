/*
 * attention.c — KV cache stores and attention over the cache (see
 * attention.h).
 */
#include "model/attention.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/ops.h"
#include "tensor/quant.h"

/* Slots of per-thread partials, ATTN_QMAX queries each: the running ones,
 * a chunk's, and the gathered queries of a token block (stride hd). */
#define THREAD_PARTS (3 * ATTN_QMAX)
/* Attention of fewer multiply-adds than this (q.k and p.v over every
 * position) runs on the calling thread alone, for the reasons matmul's
 * small products do (kernels.c, INLINE_MACS): a worker's part would cost
 * more to hand over than it saves. */
#define INLINE_MACS 65536

static int n_chunks(int n_pos) { return (n_pos + ATTN_CHUNK - 1) / ATTN_CHUNK; }

/* The positions batch token t sees on a layer with this window (0: no
 * window) are first_seen .. end_seen - 1. A causal query at p attends to
 * p - window + 1 .. p; a symmetric window (encoders) reaches window/2
 * either side, within the sequence (st->end). */
static int first_seen(const forward_state *st, int window, int t)
{
    const int pos = st->pos[t];
    if (window > 0 && st->symmetric) return pos > window / 2 ? pos - window / 2 : 0;
    return window > 0 && pos >= window ? pos - window + 1 : 0;
}

static int end_seen(const forward_state *st, int window, int t)
{
    const int end = st->end[t];
    if (window > 0 && st->symmetric && st->pos[t] + window / 2 + 1 < end) return st->pos[t] + window / 2 + 1;
    return end;
}

/* The streaming path's chunks of token t: positions split at multiples of
 * ATTN_CHUNK, so a chunk's rows are contiguous in a ring too (its size is
 * a multiple). chunk_base: where chunk 0 starts (at or before the first
 * position seen); chunk c is then [max(first, base + c·CHUNK),
 * min(pos + 1, base + (c + 1)·CHUNK)). */
static int chunk_base(const forward_state *st, int window, int t)
{
    const int first = first_seen(st, window, t);
    return first - first % ATTN_CHUNK;
}

static int token_chunks(const forward_state *st, int window, int t)
{
    return n_chunks(end_seen(st, window, t) - chunk_base(st, window, t));
}

size_t attention_scores_floats(const arch_hparams *hp, uint32_t kv_type, int n_ctx, int n_threads)
{
    (void)hp;
    return kv_type == GGML_TYPE_F32 ? (size_t)n_threads * (size_t)n_ctx : 0;
}

/* Partials for splitting positions: every head of one token over n_ctx. */
static size_t split_slots(const arch_hparams *hp, int n_ctx) { return (size_t)hp->n_head * (size_t)n_chunks(n_ctx); }

size_t attention_part_floats(const arch_hparams *hp, uint32_t kv_type, int n_ctx, int n_threads)
{
    if (kv_type == GGML_TYPE_F32) return 0;
    return ((size_t)THREAD_PARTS * (size_t)n_threads + split_slots(hp, n_ctx)) * attn_part_stride(hp->head_dim);
}

/* Exact attention reads from a multiple of EXACT_ALIGN positions (see
 * exact_worker). */
#define EXACT_ALIGN 64

size_t kv_plan(const model_arch *a, int n_ctx, int n_batch, kv_layer *layers)
{
    size_t rows = 0;
    for (int il = 0; il < a->hp.n_layer; il++) {
        const int64_t w = a->layers[il].window;
        /* A batch stores all its positions before attending: the ring
         * keeps the window of its first token while its last is written.
         * Whole ATTN_CHUNKs: the streaming kernel's chunks, aligned to
         * positions, then never cross the ring's end. */
        const int64_t ring = (w + n_batch - 1 + ATTN_CHUNK - 1) / ATTN_CHUNK * ATTN_CHUNK;
        kv_layer l = {.row0 = rows};
        /* (an encoder's sequence is evaluated whole: no ring) */
        if (w > 0 && ring < n_ctx && a->hp.causal) l.ring = (int)ring, l.window = (int)w;
        rows += l.ring ? (size_t)ring : (size_t)n_ctx;
        if (layers) layers[il] = l;
    }
    return rows;
}

int kv_gather_rows(int n_layer, const kv_layer *layers)
{
    int most = 0;
    for (int il = 0; il < n_layer; il++)
        if (layers[il].window > most) most = layers[il].window;
    return most ? most + EXACT_ALIGN : 0;
}

void kv_cache_store(const arch_hparams *hp, forward_state *st, int il, int t)
{
    const int kv_dim = hp->n_head_kv * hp->head_dim;
    const size_t row = kv_row(st, il, st->pos[t]), rb = st->kv_row_bytes;
    char *kd = kv_layer_rows(st, st->k_cache, st->seq[t], il) + row * rb;
    char *vd = kv_layer_rows(st, st->v_cache, st->seq[t], il) + row * rb;
    const float *k = st->k + (size_t)t * kv_dim, *v = st->v + (size_t)t * kv_dim;
    switch (st->kv_type) {
    case GGML_TYPE_F16:
        f16_quantize(k, kd, kv_dim);
        f16_quantize(v, vd, kv_dim);
        break;
    case GGML_TYPE_Q8_0: /* as ggml's x86 build converts rows for a Q8_0 cache */
        q8_0_quantize_x86(k, kd, kv_dim);
        q8_0_quantize_x86(v, vd, kv_dim);
        break;
    default:
        memcpy(kd, k, sizeof(float) * (size_t)kv_dim);
        memcpy(vd, v, sizeof(float) * (size_t)kv_dim);
        break;
    }
}

/* ------------------------------------------------------------------------
 * F32 cache: exact two-pass attention
 * ---------------------------------------------------------------------- */

typedef struct exact_job {
    const arch_hparams *hp;
    forward_state *st;
    int il, n, window;
} exact_job;

/* One thread's share of the (token, head) pairs: out = softmax(q·Kᵀ·scale)·V
 * over the positions 0..pos+t the token may see. */
static void exact_worker(void *ctx, int ith, int nth)
{
    const exact_job *J = ctx;
    const arch_hparams *hp = J->hp;
    const int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;
    const int group = hp->n_head / hp->n_head_kv;
    const float scale = hp->kq_scale;
    float *att = J->st->att + (size_t)ith * J->st->n_ctx;
    const attn_exact_ops *ops = &J->st->attn_exact;
    long lo, hi;
    pool_split((long)J->n * hp->n_head, ith, nth, &lo, &hi);
    for (long job = lo; job < hi; job++) {
        const int t = (int)(job / hp->n_head), h = (int)(job % hp->n_head);
        const int kvh = h / group, n_kv = end_seen(J->st, J->window, t), seq = J->st->seq[t];
        /* Positions before the window are masked. llama.cpp's rows hold
         * every position, and a masked one adds exact zeros to the sums;
         * starting the row at a multiple of EXACT_ALIGN (a multiple of the
         * softmax's and the value sum's lane periods) keeps each position
         * in the lane it has there, so the sums are the same bits. */
        const int first = first_seen(J->st, J->window, t), s0 = first - first % EXACT_ALIGN, n = n_kv - s0;
        const float *k_layer = (const float *)kv_layer_rows(J->st, J->st->k_cache, seq, J->il);
        const float *v_layer = (const float *)kv_layer_rows(J->st, J->st->v_cache, seq, J->il);
        const float *q = J->st->q + (size_t)t * q_dim + (size_t)h * hd;
        for (int j = s0; j < first; j++) att[j - s0] = -INFINITY;
        for (int j = first; j < n_kv; j++)
            att[j - s0] = ops->dot(q, k_layer + kv_row(J->st, J->il, j) * kv_dim + (size_t)kvh * hd, hd);
        op_softmax(att, n, scale);
        /* The values of positions s0.. as rows of stride kv_dim; a window
         * that wraps round its ring is gathered first (rows s0..first - 1
         * carry weight 0: whatever they hold adds nothing). */
        const float *v_rows = v_layer + kv_row(J->st, J->il, s0) * kv_dim + (size_t)kvh * hd;
        int64_t v_stride = kv_dim;
        const int ring = J->st->kv_layers[J->il].ring;
        if (ring && kv_row(J->st, J->il, s0) + (size_t)n > (size_t)ring) {
            float *g = J->st->gather + (size_t)ith * (size_t)J->st->gather_rows * hd;
            for (int j = 0; j < n; j++)
                memcpy(g + (size_t)j * hd, v_layer + kv_row(J->st, J->il, s0 + j) * kv_dim + (size_t)kvh * hd,
                       sizeof(float) * (size_t)hd);
            v_rows = g;
            v_stride = hd;
        }
        float *out = J->st->xb + (size_t)t * q_dim + (size_t)h * hd;
        /* A token in a run of two or more gets llama.cpp's batch order (its
         * probabilities are then a contiguous matrix and tinyBLAS sums). */
        const int alone = J->st->seq_alone && J->st->seq_alone[seq];
        const int in_batch =
            !alone && ((t > 0 && J->st->seq[t - 1] == seq) || (t + 1 < J->n && J->st->seq[t + 1] == seq));
        if (in_batch)
            ops->values_batch(out, att, v_rows, v_stride, n, hd);
        else
            ops->values(out, att, v_rows, v_stride, n, hd);
    }
}

/* ------------------------------------------------------------------------
 * F16/Q8_0 cache: streaming attention
 *
 * A job is a block of consecutive tokens of one sequence (up to
 * ATTN_QMAX / g of them) and one group of g <= ATTN_GMAX query heads of a
 * KV head. The block's queries are gathered, and each chunk of positions
 * that all its tokens see whole is one kernel call for all of them (the
 * K/V rows are read and widened once per block, not once per token); a
 * chunk the tokens see differently (the causal diagonal, a window's edge)
 * is a call per token. Every token folds its chunks left to right, so its
 * result does not depend on the threads.
 *
 * Jobs are taken from a shared counter, so threads that drew short jobs
 * (early tokens of a prompt see few positions) take more of them; blocks
 * are handed out last first, the longest jobs at the start.
 * ---------------------------------------------------------------------- */

typedef struct stream_job {
    const arch_hparams *hp;
    forward_state *st;
    int il, window;
    size_t head_bytes;  /* bytes of one head's head_dim elements in a row */
    int n;
    int n_sub;          /* groups of <= ATTN_GMAX query heads per KV head */
    int block;          /* most tokens per job (ATTN_QMAX / the group's heads); 1 in split mode */
    int n_blocks;       /* token blocks, starts in block_start */
    int32_t *block_start; /* first token of block b; block_start[n_blocks] = n */
    int split;          /* chunks per token in split mode (one job each); 0: not split */
    long n_jobs;
    atomic_long next;   /* the next job to take */
    float *slots;       /* split mode: partial of (token t, chunk c, head h) at slot (t * split + c) * n_head + h */
} stream_job;

/* Positions of the chunk starting at P (a multiple of ATTN_CHUNK) that
 * token t sees: [*a, *a + return). */
static int chunk_seen(const forward_state *st, int window, int t, int P, int *a)
{
    const int first = first_seen(st, window, t), end = end_seen(st, window, t);
    *a = P > first ? P : first;
    const int e = P + ATTN_CHUNK < end ? P + ATTN_CHUNK : end;
    return e > *a ? e - *a : 0;
}

/* Split mode: chunk c of token t for heads h0.. (one job). */
static void stream_split_job(stream_job *J, int t, int c, int kvh, int h0, int g)
{
    const arch_hparams *hp = J->hp;
    const forward_state *st = J->st;
    const int hd = hp->head_dim, q_dim = hp->n_head * hd;
    const size_t ps = attn_part_stride(hd), rb = st->kv_row_bytes;
    if (c >= token_chunks(st, J->window, t)) return;
    int a;
    const int len = chunk_seen(st, J->window, t, chunk_base(st, J->window, t) + c * ATTN_CHUNK, &a);
    const size_t r = kv_row(st, J->il, a);
    const char *k = kv_layer_rows(st, st->k_cache, st->seq[t], J->il) + kvh * J->head_bytes;
    const char *v = kv_layer_rows(st, st->v_cache, st->seq[t], J->il) + kvh * J->head_bytes;
    st->attn_kernel(st->q + (size_t)t * q_dim + (size_t)h0 * hd, hd, g, k + r * rb, v + r * rb, rb, len, hd,
                    hp->kq_scale, J->slots + ((size_t)(t * J->split + c) * hp->n_head + h0) * ps);
}

/* An empty partial of g queries (neutral for attn_merge). */
static void part_empty(float *part, int g, int hd)
{
    const size_t ps = attn_part_stride(hd);
    for (int j = 0; j < g; j++, part += ps) {
        memset(part, 0, sizeof(float) * (size_t)hd);
        part[hd] = -INFINITY;
        part[hd + 1] = 0.0f;
    }
}

/* Tokens t0..t1-1 (one sequence), heads h0..h0+g-1 of KV head kvh. */
static void stream_block_job(stream_job *J, int ith, int t0, int t1, int kvh, int h0, int g)
{
    const arch_hparams *hp = J->hp;
    const forward_state *st = J->st;
    const int hd = hp->head_dim, q_dim = hp->n_head * hd, nb = t1 - t0, gq = nb * g;
    const size_t ps = attn_part_stride(hd), rb = st->kv_row_bytes;
    float *run = st->attn_part + (size_t)ith * THREAD_PARTS * ps;
    float *chunk = run + (size_t)ATTN_QMAX * ps, *qb = chunk + (size_t)ATTN_QMAX * ps;
    const char *k = kv_layer_rows(st, st->k_cache, st->seq[t0], J->il) + kvh * J->head_bytes;
    const char *v = kv_layer_rows(st, st->v_cache, st->seq[t0], J->il) + kvh * J->head_bytes;
    int lo = INT_MAX, hi = 0; /* the block's chunks start at lo.. and end by hi */
    for (int t = t0; t < t1; t++) {
        memcpy(qb + (size_t)(t - t0) * g * hd, st->q + (size_t)t * q_dim + (size_t)h0 * hd,
               sizeof(float) * (size_t)g * hd);
        const int base = chunk_base(st, J->window, t), end = end_seen(st, J->window, t);
        lo = base < lo ? base : lo;
        hi = end > hi ? end : hi;
    }
    part_empty(run, gq, hd);
    /* a sequence computed alone (speculative verification) takes each
     * token's own calls: a call for the whole block may take the wide
     * kernel body, which rounds otherwise than one-token decoding's */
    const int alone = st->seq_alone && st->seq_alone[st->seq[t0]];
    for (int P = lo; P < hi; P += ATTN_CHUNK) {
        int a0, a, same = !alone;
        const int len0 = chunk_seen(st, J->window, t0, P, &a0);
        for (int t = t0 + 1; t < t1 && same; t++) same = chunk_seen(st, J->window, t, P, &a) == len0 && a == a0;
        if (same) { /* one call for the whole block (or no positions for any) */
            if (!len0) continue;
            const size_t r = kv_row(st, J->il, a0);
            st->attn_kernel(qb, hd, gq, k + r * rb, v + r * rb, rb, len0, hd, hp->kq_scale, chunk);
            attn_merge(run, chunk, gq, hd);
            continue;
        }
        for (int t = t0; t < t1; t++) {
            const int len = chunk_seen(st, J->window, t, P, &a);
            if (!len) continue;
            const size_t r = kv_row(st, J->il, a), off = (size_t)(t - t0) * g;
            st->attn_kernel(qb + off * hd, hd, g, k + r * rb, v + r * rb, rb, len, hd, hp->kq_scale, chunk + off * ps);
            attn_merge(run + off * ps, chunk + off * ps, g, hd);
        }
    }
    for (int t = t0; t < t1; t++)
        attn_finish(st->xb + (size_t)t * q_dim + (size_t)h0 * hd, hd, run + (size_t)(t - t0) * g * ps, g, hd);
}

static void stream_worker(void *ctx, int ith, int nth)
{
    (void)nth;
    stream_job *J = ctx;
    const arch_hparams *hp = J->hp;
    const int group = hp->n_head / hp->n_head_kv;
    const long per_block = (long)hp->n_head_kv * J->n_sub;

    for (;;) {
        long i = atomic_fetch_add_explicit(&J->next, 1, memory_order_relaxed);
        if (i >= J->n_jobs) break;
        int c = 0;
        if (J->split) {
            c = (int)(i % J->split);
            i /= J->split;
        }
        const int b = J->n_blocks - 1 - (int)(i / per_block);
        const int kvh = (int)(i % per_block) / J->n_sub, sub = (int)(i % per_block) % J->n_sub;
        const int h0 = kvh * group + sub * ATTN_GMAX;
        const int g = group - sub * ATTN_GMAX < ATTN_GMAX ? group - sub * ATTN_GMAX : ATTN_GMAX;
        if (J->split)
            stream_split_job(J, J->block_start[b], c, kvh, h0, g);
        else
            stream_block_job(J, ith, J->block_start[b], J->block_start[b + 1], kvh, h0, g);
    }
}

/* Split mode, second pass: fold each (token, head)'s chunk partials in order. */
static void fold_worker(void *ctx, int ith, int nth)
{
    const stream_job *J = ctx;
    const arch_hparams *hp = J->hp;
    const int hd = hp->head_dim, q_dim = hp->n_head * hd;
    const size_t ps = attn_part_stride(hd);
    long lo, hi;
    pool_split((long)J->n * hp->n_head, ith, nth, &lo, &hi);
    for (long job = lo; job < hi; job++) {
        const int t = (int)(job / hp->n_head), h = (int)(job % hp->n_head);
        float *first = J->slots + ((size_t)t * J->split * hp->n_head + h) * ps;
        for (int c = 1; c < token_chunks(J->st, J->window, t); c++) attn_merge(first, first + (size_t)c * hp->n_head * ps, 1, hd);
        attn_finish(J->st->xb + (size_t)t * q_dim + (size_t)h * hd, hd, first, 1, hd);
    }
}

static void stream_attention(const arch_hparams *hp, forward_state *st, mote_pool *pool, int il, int window, int n)
{
    const int nth = pool_size(pool);
    const int group = hp->n_head / hp->n_head_kv;
    const int g_most = group < ATTN_GMAX ? group : ATTN_GMAX;
    stream_job J = {
        .hp = hp,
        .st = st,
        .il = il,
        .window = window,
        .head_bytes = ggml_row_size(st->kv_type, hp->head_dim),
        .n = n,
        .n_sub = (group + ATTN_GMAX - 1) / ATTN_GMAX,
        .block = ATTN_QMAX / g_most,
        .block_start = st->attn_blocks,
        .slots = st->attn_part + (size_t)THREAD_PARTS * nth * attn_part_stride(hp->head_dim),
    };
    /* Too few jobs for the threads (generation with few KV heads): split
     * the positions too, if the partials fit (always for one token). */
    int most_chunks = 0;
    for (int t = 0; t < n; t++)
        if (token_chunks(st, window, t) > most_chunks) most_chunks = token_chunks(st, window, t);
    if (nth > 1 && most_chunks > 1 && (long)n * hp->n_head_kv * J.n_sub < 2L * nth &&
        (size_t)n * most_chunks * hp->n_head <= split_slots(hp, st->n_ctx)) {
        J.split = most_chunks;
        J.block = 1;
    }
    /* token blocks: runs of one sequence, at most J.block tokens each */
    J.n_blocks = 0;
    for (int t = 0; t < n; t++)
        if (t == 0 || st->seq[t] != st->seq[t - 1] || t - J.block_start[J.n_blocks - 1] == J.block)
            J.block_start[J.n_blocks++] = t;
    J.block_start[J.n_blocks] = n;
    J.n_jobs = (long)J.n_blocks * hp->n_head_kv * J.n_sub * (J.split ? J.split : 1);
    atomic_init(&J.next, 0);
    pool_run(pool, stream_worker, &J);
    if (J.split) pool_run(pool, fold_worker, &J);
}

void attention(const arch_hparams *hp, forward_state *st, int il, int window, int n)
{
    double positions = 0; /* attended, over the batch */
    for (int t = 0; t < n; t++) positions += end_seen(st, window, t) - first_seen(st, window, t);
    const double macs = 2.0 * hp->n_head * positions * hp->head_dim;
    mote_pool *pool = macs < INLINE_MACS ? NULL : st->pool; /* NULL: this thread alone */
    if (st->kv_type != GGML_TYPE_F32) {
        stream_attention(hp, st, pool, il, window, n);
        return;
    }
    exact_job J = {.hp = hp, .st = st, .il = il, .n = n, .window = window};
    pool_run(pool, exact_worker, &J);
}
