/*
 * session.c — a conversation's state: KV cache, scratch buffers, logits.
 *
 * Everything the forward pass touches is allocated once here, sized for
 * n_ctx positions and n_batch tokens per call, so evaluation allocates
 * nothing. Longer inputs are evaluated in n_batch-sized pieces.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "gguf/ggml_type.h"
#include "model/arch.h"
#include "model/attention.h"
#include "tensor/quant.h"
#include "engine/session.h"
#include "model/model.h"

#define DEFAULT_N_CTX_MAX 4096
#define DEFAULT_N_BATCH 512

struct mote_session {
    const mote_model *model;
    const model_arch *arch;
    forward_state st;
    int pos;              /* tokens in the cache */
    int n_threads;
    float *logits;        /* (logits_rows, n_vocab) */
    int logits_cap_rows;  /* rows allocated */
    int logits_first;     /* batch index of logits row 0 (-1: none kept) */
    int logits_rows;      /* rows valid after the last eval */
    int last_n;           /* size of the last batch */
    void *block;          /* one allocation behind the scratch buffers */
};

mote_session_params mote_session_default_params(void)
{
    mote_session_params p = {.n_ctx = 0, .n_threads = 0, .n_batch = 0, .kv_type = MOTE_KV_F16};
    return p;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

/* Carve the cache and scratch buffers out of one block; returns the bytes
 * needed when base is NULL. Each piece is 64-byte aligned. */
static size_t layout(forward_state *st, const arch_hparams *hp, int n_threads, size_t mm_bytes, char *base)
{
    const size_t B = (size_t)st->n_batch, C = (size_t)st->n_ctx, F = sizeof(float);
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t wide = q_dim > (size_t)hp->n_embd ? q_dim : (size_t)hp->n_embd;
    struct {
        void *p;      /* where the piece's pointer goes (a float * or void *) */
        size_t bytes;
    } parts[] = {
        {&st->k_cache, (size_t)hp->n_layer * C * st->kv_row_bytes},
        {&st->v_cache, (size_t)hp->n_layer * C * st->kv_row_bytes},
        {&st->x, B * hp->n_embd * F},
        {&st->xb, B * wide * F},
        {&st->q, B * q_dim * F},
        {&st->k, B * kv_dim * F},
        {&st->v, B * kv_dim * F},
        {&st->hb, B * hp->n_ff * F},
        {&st->hb2, B * hp->n_ff * F},
        {&st->tmp, B * hp->n_embd * F},
        {&st->rope_cs, B * hp->n_rot * F},
        {&st->att, attention_scores_floats(hp, st->kv_type, st->n_ctx, n_threads) * F},
        {&st->attn_part, attention_part_floats(hp, st->kv_type, st->n_ctx, n_threads) * F},
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

mote_status mote_session_create(const mote_model *model, const mote_session_params *params, mote_session **out)
{
    if (!model || !out) return mote_fail(MOTE_E_INVALID, "mote_session_create: NULL argument");
    *out = NULL;
    if (!model->arch)
        return mote_fail(MOTE_E_INVALID, "%s: model was opened vocab-only; it has no weights to run",
                         model->gguf->path);
    mote_session_params p = params ? *params : mote_session_default_params();
    const arch_hparams *hp = &model->arch->hp;
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_threads < 0)
        return mote_fail(MOTE_E_INVALID, "session: negative n_ctx, n_batch or n_threads");
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < DEFAULT_N_CTX_MAX ? hp->n_ctx_train : DEFAULT_N_CTX_MAX;
    if (p.n_batch == 0) p.n_batch = DEFAULT_N_BATCH;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads == 0) p.n_threads = online_cpus();
    if (p.n_ctx > (1 << 22))
        return mote_fail(MOTE_E_INVALID, "session: n_ctx %d is too large", p.n_ctx);

    uint32_t kv_type = GGML_TYPE_F16;
    MOTE_TRY(kv_cache_type(p.kv_type, hp, &kv_type));

    mote_session *s = calloc(1, sizeof *s);
    if (!s) return mote_fail(MOTE_E_NOMEM, "session: out of memory");
    s->model = model;
    s->arch = model->arch;
    s->n_threads = p.n_threads;
    s->st.n_ctx = p.n_ctx;
    s->st.n_batch = p.n_batch;
    s->st.kv_type = kv_type;
    s->st.kv_row_bytes = ggml_row_size(kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
    s->st.attn_kernel = attn_chunk_kernel(kv_type, kernels_get());
    s->st.attn_exact = attn_exact_kernels(kernels_get());
    s->logits_first = -1;
    mote_status st = pool_create(p.n_threads, &s->st.pool);
    if (st != MOTE_OK) goto fail;

    size_t mm_bytes = arch_matmul_scratch(model->arch, p.n_batch);
    size_t bytes = layout(&s->st, hp, p.n_threads, mm_bytes, NULL);
    if (posix_memalign(&s->block, 64, bytes) != 0) {
        st = mote_fail(MOTE_E_NOMEM, "session: cannot allocate %zu MiB for n_ctx %d", bytes >> 20, p.n_ctx);
        s->block = NULL;
        goto fail;
    }
    layout(&s->st, hp, p.n_threads, mm_bytes, s->block);
    s->logits_cap_rows = 1;
    s->logits = malloc(sizeof(float) * (size_t)hp->n_vocab);
    if (!s->logits) {
        st = mote_fail(MOTE_E_NOMEM, "session: out of memory for logits");
        goto fail;
    }
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
    free(s->logits);
    free(s);
}

mote_status mote_session_eval(mote_session *s, const mote_token *toks, int n, int all_logits)
{
    if (!s || (!toks && n > 0) || n < 0) return mote_fail(MOTE_E_INVALID, "mote_session_eval: bad argument");
    if (n == 0) return MOTE_OK;
    const int n_vocab = s->arch->hp.n_vocab;
    if (s->pos + n > s->st.n_ctx)
        return mote_fail(MOTE_E_RANGE, "context full: %d cached + %d new tokens exceed n_ctx %d", s->pos, n,
                         s->st.n_ctx);
    for (int i = 0; i < n; i++)
        if (toks[i] < 0 || toks[i] >= n_vocab)
            return mote_fail(MOTE_E_INVALID, "token %d at batch index %d is out of range [0, %d)", toks[i], i,
                             n_vocab);
    const int rows = all_logits ? n : 1;
    if (rows > s->logits_cap_rows) {
        float *p = realloc(s->logits, sizeof(float) * (size_t)n_vocab * (size_t)rows);
        if (!p) return mote_fail(MOTE_E_NOMEM, "out of memory for %d rows of logits", rows);
        s->logits = p;
        s->logits_cap_rows = rows;
    }
    for (int done = 0; done < n;) {
        int chunk = n - done < s->st.n_batch ? n - done : s->st.n_batch;
        /* without all_logits every chunk writes the one row; the last one wins */
        float *out = all_logits ? s->logits + (size_t)done * n_vocab : s->logits;
        arch_forward(s->arch, &s->st, toks + done, chunk, s->pos, all_logits, out);
        s->pos += chunk;
        done += chunk;
    }
    s->last_n = n;
    s->logits_first = all_logits ? 0 : n - 1;
    s->logits_rows = rows;
    return MOTE_OK;
}

const float *mote_session_logits(const mote_session *s, int i)
{
    if (!s || s->logits_first < 0) return NULL;
    if (i < 0) i = s->last_n + i;
    int row = i - s->logits_first;
    if (row < 0 || row >= s->logits_rows) return NULL;
    return s->logits + (size_t)row * s->arch->hp.n_vocab;
}

const mote_model *session_model(const mote_session *s) { return s->model; }

int mote_session_pos(const mote_session *s) { return s ? s->pos : 0; }
int mote_session_n_ctx(const mote_session *s) { return s ? s->st.n_ctx : 0; }

mote_status mote_session_truncate(mote_session *s, int pos)
{
    if (!s || pos < 0 || pos > s->pos)
        return mote_fail(MOTE_E_INVALID, "mote_session_truncate: position %d outside [0, %d]", pos, s ? s->pos : 0);
    s->pos = pos; /* later positions are overwritten by the next eval */
    s->logits_first = -1;
    return MOTE_OK;
}
