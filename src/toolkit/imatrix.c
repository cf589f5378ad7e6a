/*
 * imatrix.c — mote_imatrix: an importance matrix over a calibration text,
 * computed as llama.cpp's tools/imatrix/imatrix.cpp does.
 *
 * The collector watches the session's forward passes (fwd_observer): for
 * every product with a weight named blk.* (output.weight on request) it
 * adds each input row's squares to the weight's sums, in float and in row
 * order, as imatrix.cpp's collect_imatrix adds the src1 rows of a
 * MUL_MAT. Passes of fewer than MOTE_IMATRIX_CHUNK_MIN tokens are skipped
 * as there; mote evaluates a whole chunk per pass, so none are.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "engine/model.h"
#include "engine/session.h"
#include "engine/vocab.h"
#include "model/arch.h"
#include "toolkit/imatrix.h"

typedef struct collector {
    imatrix_acc *acc;       /* (n) one per weight seen */
    size_t n, cap;
    int process_output;
    mote_status failed;     /* MOTE_OK, or why the passes must stop: */
    char why[256];          /* its message */
    /* progress over all chunks: layers done before this chunk, and the total */
    mote_progress_fn progress;
    void *progress_user;
    uint64_t done, total;
} collector;

static int wanted(const collector *c, const char *name)
{
    return strncmp(name, "blk.", 4) == 0 || (c->process_output && strcmp(name, "output.weight") == 0);
}

static void fail(collector *c, mote_status st)
{
    c->failed = st;
    snprintf(c->why, sizeof c->why, "%s", mote_last_error());
}

/* The weight's accumulator, made on first sight; NULL when out of memory
 * or of another width than before (c->failed says). */
static imatrix_acc *find_acc(collector *c, const char *name, int n_in)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->acc[i].name, name) == 0) {
            if (c->acc[i].n_in == n_in) return &c->acc[i];
            fail(c, mote_fail(MOTE_E_FORMAT, "imatrix: inconsistent size for %s (%lld vs %d)", name,
                              (long long)c->acc[i].n_in, n_in));
            return NULL;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        imatrix_acc *a = realloc(c->acc, cap * sizeof *a);
        if (!a) goto oom;
        c->acc = a;
        c->cap = cap;
    }
    imatrix_acc *a = &c->acc[c->n];
    *a = (imatrix_acc){.name = strdup(name), .n_in = n_in, .n_mat = 1};
    a->sums = calloc((size_t)n_in, sizeof(float));
    a->counts = calloc(1, sizeof(int64_t));
    c->n++;
    if (a->name && a->sums && a->counts) return a;
oom:
    fail(c, mote_fail(MOTE_E_NOMEM, "imatrix: out of memory"));
    return NULL;
}

static void on_matmul(void *user, const char *name, int il, const float *x, int n, int n_in)
{
    (void)il;
    collector *c = user;
    if (c->failed != MOTE_OK || n < MOTE_IMATRIX_CHUNK_MIN || !wanted(c, name)) return;
    imatrix_acc *a = find_acc(c, name, n_in);
    if (!a) return;
    float *acc = a->sums;
    for (int r = 0; r < n; r++) {
        const float *row = x + (size_t)r * n_in;
        for (int j = 0; j < n_in; j++) acc[j] += row[j] * row[j];
    }
    a->counts[0] += n;
    for (int j = 0; j < n_in; j++)
        if (!isfinite(acc[j])) {
            fail(c, mote_fail(MOTE_E_FORMAT, "imatrix: non-finite values in the inputs of %s", name));
            return;
        }
}

/* The session's progress (layers of this chunk) as progress over all. */
static int on_layers(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    collector *c = user;
    if (c->failed != MOTE_OK) return 1; /* stop the pass: the error is kept */
    return c->progress ? c->progress(c->progress_user, c->done + done, c->total) : 0;
}

mote_imatrix_params mote_imatrix_default_params(void)
{
    return (mote_imatrix_params){.chunk_size = MOTE_IMATRIX_CHUNK};
}

/* The text's tokens, BOS first as the vocabulary says (malloc'd). */
static mote_status tokenize_all(const mote_model *m, const char *text, size_t len, mote_token **out, size_t *n)
{
    mote_status st = mote_tokenize(m, text, len, 1, 0, NULL, 0, n);
    if (st != MOTE_OK && st != MOTE_E_RANGE) return st;
    if (!(*out = malloc((*n ? *n : 1) * sizeof **out))) return mote_fail(MOTE_E_NOMEM, "imatrix: out of memory");
    return mote_tokenize(m, text, len, 1, 0, *out, *n, n);
}

/* Evaluate the chunks with the collector watching. */
static mote_status run_chunks(const mote_imatrix_params *p, mote_model *m, const mote_token *toks, int n_chunks,
                              collector *c)
{
    const int C = p->chunk_size;
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = sp.n_batch = C;
    sp.n_threads = p->n_threads;
    sp.kv_type = p->kv_type;
    /* Without the output head, hidden states are kept instead of logits:
     * every row is still an output (no row is dropped before the last
     * feed-forward block), without n_vocab floats a token. */
    sp.embeddings = !p->process_output;
    sp.pooling = MOTE_POOL_NONE;
    sp.progress = on_layers;
    sp.progress_user = c;
    mote_session *s;
    MOTE_TRY(mote_session_create(m, &sp, &s));
    const fwd_observer obs = {.matmul = on_matmul, .user = c};
    session_set_observer(s, &obs);
    mote_token *chunk = malloc((size_t)C * sizeof *chunk);
    mote_status st = chunk ? MOTE_OK : mote_fail(MOTE_E_NOMEM, "imatrix: out of memory");
    const int add_bos = m->vocab->add_bos && mote_token_bos(m) >= 0;
    c->total = (uint64_t)n_chunks * (uint64_t)m->arch->hp.n_layer;
    for (int i = 0; i < n_chunks && st == MOTE_OK; i++) {
        memcpy(chunk, toks + (size_t)i * C, (size_t)C * sizeof *chunk);
        if (add_bos) chunk[0] = mote_token_bos(m);
        c->done = (uint64_t)i * m->arch->hp.n_layer;
        st = mote_session_truncate(s, 0);
        if (st == MOTE_OK) st = mote_session_eval(s, chunk, C, 1);
        if (c->failed != MOTE_OK) st = mote_fail(c->failed, "%s", c->why); /* not the cancellation's */
    }
    free(chunk);
    mote_session_free(s);
    return st;
}

static mote_status check_params(const mote_imatrix_params *p)
{
    if (!p || !p->model_path || !p->out_path || (!p->text && !p->text_path))
        return mote_fail(MOTE_E_INVALID, "mote_imatrix: a model, a text (or its path) and an output path are needed");
    if (p->chunk_size < MOTE_IMATRIX_CHUNK_MIN || p->chunk_size > MOTE_N_CTX_MAX)
        return mote_fail(MOTE_E_INVALID, "mote_imatrix: chunk size %d is out of range [%d, %d] (llama.cpp's imatrix "
                         "ignores passes of fewer than %d tokens)", p->chunk_size, MOTE_IMATRIX_CHUNK_MIN,
                         MOTE_N_CTX_MAX, MOTE_IMATRIX_CHUNK_MIN);
    if (p->n_chunks < 0 || p->n_threads < 0)
        return mote_fail(MOTE_E_INVALID, "mote_imatrix: negative chunk count or thread count");
    return MOTE_OK;
}

mote_status mote_imatrix(const mote_imatrix_params *p, mote_imatrix_stats *stats)
{
    MOTE_TRY(check_params(p));
    if (stats) *stats = (mote_imatrix_stats){0};
    mapfile text = {.data = (const uint8_t *)p->text, .size = p->text_len};
    if (!p->text) MOTE_TRY(mapfile_open(p->text_path, &text));
    mote_model *m = NULL;
    mote_token *toks = NULL;
    size_t n_tok = 0;
    collector c = {.process_output = p->process_output, .progress = p->progress, .progress_user = p->progress_user};
    mote_status st = mote_model_open(p->model_path, NULL, &m);
    if (st == MOTE_OK) st = tokenize_all(m, (const char *)text.data, text.size, &toks, &n_tok);
    int n_chunks = (int)(n_tok / (size_t)p->chunk_size);
    if (st == MOTE_OK && n_chunks == 0)
        st = mote_fail(MOTE_E_RANGE, "imatrix: the text is %zu tokens, less than one chunk of %d (-c)", n_tok,
                       p->chunk_size);
    if (p->n_chunks > 0 && p->n_chunks < n_chunks) n_chunks = p->n_chunks;
    if (st == MOTE_OK) st = run_chunks(p, m, toks, n_chunks, &c);
    if (st == MOTE_OK) {
        const imatrix_meta meta = {.dataset = p->text_path, .chunk_size = p->chunk_size};
        st = imatrix_write(p->out_path, p->legacy, c.acc, c.n, &meta);
    }
    if (st == MOTE_OK && stats) *stats = (mote_imatrix_stats){(int)n_tok, n_chunks, (int)c.n};
    imatrix_acc_free(c.acc, c.n);
    free(toks);
    mote_model_close(m);
    if (!p->text) mapfile_close(&text);
    return st;
}
