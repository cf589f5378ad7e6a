/*
 * vocab_merges.c — BPE merges: "left right", rank = position in the list
 * (see vocab_merges.h).
 */
#include "engine/vocab_merges.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/vocab.h"

#define KEY_MERGES "tokenizer.ggml.merges"
#define MERGE_BATCH 64 /* merges indexed together */

struct bpe_merges {
    char *text;           /* every merge's text, one after another */
    uint32_t *off;        /* [n + 1]: merge i is text[off[i] .. off[i + 1]) */
    uint32_t n;
    pthread_mutex_t lock; /* held while the index is built */
    atomic_int built;     /* 1 once index is complete (release/acquire) */
    pairmap index;        /* (left id, right id) -> (rank, merged id) */
};

/* The byte that splits a merge: the first space after its first byte (so
 * a half may itself start with a space, as in llama.cpp), or NULL. */
static const char *merge_space(const char *s, size_t len)
{
    return len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
}

/* ------------------------------------------------------------------------
 * Loading: check and copy
 * ---------------------------------------------------------------------- */

mote_status merges_load(struct vocab *v, const gguf_file *f)
{
    const gguf_kv *kv = gguf_find_kv(f, KEY_MERGES);
    if (!kv)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: a BPE vocabulary needs " KEY_MERGES, f->path);
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != GGUF_TYPE_STRING)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: " KEY_MERGES " is not an array of strings", f->path);
    if (kv->arr_n > INT32_MAX)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: %llu merges", f->path, (unsigned long long)kv->arr_n);
    const uint32_t n = (uint32_t)kv->arr_n;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        gguf_str s = kv->arr_strs[i];
        if (!merge_space(s.ptr, s.len))
            return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: merge %u '%.*s' has no space between its halves",
                             f->path, i, (int)(s.len < 64 ? s.len : 64), s.ptr);
        total += s.len;
    }
    if (total > UINT32_MAX)
        return mote_fail(MOTE_E_FORMAT, "tokenizer: %s: merge texts total %llu bytes", f->path,
                         (unsigned long long)total);

    struct bpe_merges *m = calloc(1, sizeof *m);
    if (!m) return mote_fail(MOTE_E_NOMEM, "tokenizer: merges");
    v->merges = m;
    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->built, 0);
    m->n = n;
    m->off = malloc(((size_t)n + 1) * sizeof *m->off);
    m->text = malloc(total ? (size_t)total : 1);
    if (!m->off || !m->text) return mote_fail(MOTE_E_NOMEM, "tokenizer: %u merges", n);
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        gguf_str s = kv->arr_strs[i];
        m->off[i] = off;
        memcpy(m->text + off, s.ptr, s.len);
        off += (uint32_t)s.len;
    }
    m->off[n] = off;
    return MOTE_OK;
}

void merges_free(struct bpe_merges *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->lock);
    pairmap_free(&m->index);
    free(m->text);
    free(m->off);
    free(m);
}

size_t merges_bytes(struct bpe_merges *m)
{
    if (!m) return 0;
    size_t b = sizeof *m + ((size_t)m->n + 1) * sizeof *m->off + m->off[m->n];
    if (atomic_load_explicit(&m->built, memory_order_acquire))
        b += (m->index.mask + 1) * sizeof *m->index.slots;
    return b;
}

/* ------------------------------------------------------------------------
 * Indexing
 * ---------------------------------------------------------------------- */

/* One merge in flight: its halves, their hashes and ids. */
typedef struct merge_job {
    const char *l, *r;     /* halves (in m->text) */
    size_t ll, rl;         /* their bytes */
    uint64_t hl, hr, hj;   /* hashes of left, right, and left+right */
    int32_t il, ir;        /* ids of the halves */
} merge_job;

static void merge_parse(const struct bpe_merges *m, uint32_t i, merge_job *j)
{
    const char *s = m->text + m->off[i];
    const size_t len = m->off[i + 1] - m->off[i];
    const char *sp = merge_space(s, len); /* present: checked at load */
    j->l = s;
    j->ll = (size_t)(sp - s);
    j->r = sp + 1;
    j->rl = len - j->ll - 1;
    j->hl = strmap_hash(j->l, j->ll);
    j->hr = strmap_hash(j->r, j->rl);
    j->hj = j->hl;
    for (size_t k = 0; k < j->rl; k++) j->hj = strmap_hash_step(j->hj, (unsigned char)j->r[k]);
}

/* Merges are indexed in batches, in passes (parse, look up, insert) that
 * each prefetch what the next one reads, so that the cache misses of a
 * batch overlap instead of queueing (about twice as fast on 500k merges). */
static mote_status build_index(const struct vocab *v, struct bpe_merges *m, pairmap *index)
{
    MOTE_TRY(pairmap_init(index, m->n));
    merge_job job[MERGE_BATCH];
    const size_t stride = 2 * v->max_token_len;
    char *joined = malloc(MERGE_BATCH * stride + 1);
    if (!joined) {
        pairmap_free(index);
        return mote_fail(MOTE_E_NOMEM, "tokenizer: merge scratch");
    }
    mote_status st = MOTE_OK;
    for (uint32_t base = 0; st == MOTE_OK && base < m->n; base += MERGE_BATCH) {
        const uint32_t nb = m->n - base < MERGE_BATCH ? m->n - base : MERGE_BATCH;
        for (uint32_t k = 0; k < nb; k++) {
            merge_parse(m, base + k, &job[k]);
            strmap_prefetch(&v->ids, job[k].hl);
            strmap_prefetch(&v->ids, job[k].hr);
            strmap_prefetch(&v->ids, job[k].hj);
        }
        for (uint32_t k = 0; k < nb; k++) {
            strmap_prefetch_key(&v->ids, job[k].hl);
            strmap_prefetch_key(&v->ids, job[k].hr);
            strmap_prefetch_key(&v->ids, job[k].hj);
        }
        for (uint32_t k = 0; k < nb; k++) {
            merge_job *j = &job[k];
            j->il = strmap_get_hashed(&v->ids, j->l, j->ll, j->hl);
            j->ir = strmap_get_hashed(&v->ids, j->r, j->rl, j->hr);
            if (j->il != TOKEN_NONE && j->ir != TOKEN_NONE) pairmap_prefetch(index, j->il, j->ir);
        }
        for (uint32_t k = 0; st == MOTE_OK && k < nb; k++) {
            merge_job *j = &job[k];
            /* A merge of texts that are not tokens can never apply (and
             * Hugging Face rejects such files). */
            if (j->il == TOKEN_NONE || j->ir == TOKEN_NONE) continue;
            char *b = joined + k * stride;
            memcpy(b, j->l, j->ll);
            memcpy(b + j->ll, j->r, j->rl);
            int32_t id = strmap_get_hashed(&v->ids, b, j->ll + j->rl, j->hj);
            st = pairmap_put(index, j->il, j->ir, (int32_t)(base + k), id);
        }
    }
    free(joined);
    if (st != MOTE_OK) pairmap_free(index);
    return st;
}

mote_status vocab_merges(const struct vocab *v, const pairmap **out)
{
    struct bpe_merges *m = v->merges;
    *out = NULL;
    if (!m) return mote_fail(MOTE_E_INVALID, "tokenizer: the vocabulary has no merges");
    if (!atomic_load_explicit(&m->built, memory_order_acquire)) {
        pthread_mutex_lock(&m->lock);
        mote_status st = MOTE_OK;
        if (!atomic_load_explicit(&m->built, memory_order_relaxed)) {
            st = build_index(v, m, &m->index);
            if (st == MOTE_OK) atomic_store_explicit(&m->built, 1, memory_order_release);
        }
        pthread_mutex_unlock(&m->lock);
        if (st != MOTE_OK) return st;
    }
    *out = &m->index;
    return MOTE_OK;
}
