/*
 * test_imatrix.c — importance matrices (src/toolkit/imatrix*.c) and the
 * forward pass's observer they are built on (model/arch.h, fwd_observer).
 *
 * Without ../shared: the observer sees every weight product of a model
 * once with its input width, fused tensors under their own name, and the
 * residual stream around each block; files round-trip through the writer
 * and the reader (values = in_sum2 / counts as llama-quantize computes
 * them), a handmade legacy .dat reads as llama.cpp reads it, and corrupt
 * files fail with messages. With ../shared: mote_imatrix on the trained
 * models; with tests/peer/imatrix-peer (libllama, bench/llama) also held
 * to llama.cpp's own matrix: the same file bytes up to the data, values
 * within MAX_REL.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/session.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "model/arch.h"
#include "mote.h"
#include "mote_tools.h"
#include "runmote.h"
#include "synthmodel.h"
#include "testutil.h"
#include "toolkit/imatrix.h"

/* Largest relative difference allowed between mote's importance and
 * llama.cpp's, per column (over the columns above 1e-3 of the entry's
 * largest). With an F32 cache both compute the same activations (mote's
 * exact attention is llama.cpp's arithmetic); with F16, llama.cpp's flash
 * attention sums the values in F16 and mote's streaming kernel in F32, so
 * attention outputs differ by about 1e-3 (measured at most 9.5e-4 on
 * stories260K, 2e-5 on TinyStories-656K). */
#define MAX_REL_F32 1e-5
#define MAX_REL_F16 2e-3

/* ------------------------------------------------------------------------
 * The observer
 * ---------------------------------------------------------------------- */

#define SEEN_MAX 256

typedef struct seen {
    char name[GGUF_MAX_NAME];
    int n_in, calls, rows;
} seen;

typedef struct watch {
    seen w[SEEN_MAX];
    int n;
    int res_in, res_out;   /* residual calls */
    int res_rows;          /* rows of the last one */
    int bad_residual;      /* a residual call with the wrong layer order or width */
    int n_embd, next_il;
} watch;

static void watch_matmul(void *user, const char *name, int il, const float *x, int n, int n_in)
{
    (void)il;
    watch *W = user;
    for (int r = 0; r < n * n_in; r++) assert_true(isfinite(x[r]));
    for (int i = 0; i < W->n; i++)
        if (!strcmp(W->w[i].name, name)) {
            W->w[i].calls++;
            W->w[i].rows += n;
            assert_int_equal(W->w[i].n_in, n_in);
            return;
        }
    assert_true(W->n < SEEN_MAX);
    seen *s = &W->w[W->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->n_in = n_in, s->calls = 1, s->rows = n;
}

static void watch_residual(void *user, int il, int out, const float *x, int n, int n_embd)
{
    (void)x;
    watch *W = user;
    if (n_embd != W->n_embd || il != W->next_il) W->bad_residual = 1;
    if (out) W->res_out++, W->next_il = il + 1;
    else W->res_in++;
    W->res_rows = n;
}

/* Run n tokens through a model file with a watch on; check that every
 * 2-D weight other than the token embedding was multiplied exactly once,
 * with n rows of its ne[0] inputs, and nothing else. */
static void check_coverage(const char *path, int n)
{
    mote_model *m;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    mote_session *s;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    watch *W = calloc(1, sizeof *W);
    W->n_embd = info.n_embd;
    const fwd_observer obs = {.matmul = watch_matmul, .residual = watch_residual, .user = W};
    session_set_observer(s, &obs);
    mote_token toks[64];
    for (int i = 0; i < n; i++) toks[i] = 1 + i % 20;
    assert_int_equal(mote_session_eval(s, toks, n, 1), MOTE_OK);

    int weights = 0, tied = 1;
    for (int64_t i = 0; i < mote_model_tensor_count(m); i++) {
        const char *name;
        int64_t ne[4];
        int n_dims;
        assert_int_equal(mote_model_tensor_info(m, i, &name, NULL, ne, &n_dims, NULL), MOTE_OK);
        if (!strcmp(name, "output.weight")) tied = 0;
        if (n_dims != 2 || !strcmp(name, "token_embd.weight")) continue;
        weights++;
        const seen *hit = NULL;
        for (int j = 0; j < W->n; j++)
            if (!strcmp(W->w[j].name, name)) hit = &W->w[j];
        if (!hit) fail_msg("%s: %s was not observed", path, name);
        assert_int_equal(hit->n_in, ne[0]);
        assert_int_equal(hit->calls, 1);
        assert_int_equal(hit->rows, n);
    }
    /* a tied head multiplies by token_embd: observed under that name */
    assert_int_equal(W->n, weights + tied);
    assert_int_equal(W->res_in, info.n_layer);
    assert_int_equal(W->res_out, info.n_layer);
    assert_int_equal(W->res_rows, n);
    assert_false(W->bad_residual);

    /* without an observer the results are the same bits */
    float *with = malloc(sizeof(float) * (size_t)info.n_vocab);
    memcpy(with, mote_session_logits(s, n - 1), sizeof(float) * (size_t)info.n_vocab);
    session_set_observer(s, NULL);
    assert_int_equal(mote_session_truncate(s, 0), MOTE_OK);
    assert_int_equal(mote_session_eval(s, toks, n, 1), MOTE_OK);
    assert_memory_equal(with, mote_session_logits(s, n - 1), sizeof(float) * (size_t)info.n_vocab);
    free(with);
    free(W);
    mote_session_free(s);
    mote_model_close(m);
}

static void test_observer_coverage(void **state)
{
    (void)state;
    char *dir = synthmodel_tempdir();
    /* separate q/k/v and gate/up, a batch (gemm) and a single token */
    char *llama = synthmodel_make(dir, "tiny-llama", "Q8_0", 2);
    check_coverage(llama, 20);
    check_coverage(llama, 1);
    /* fused attn_qkv and gate+up ffn_up: one product each, by their names */
    char *phi = synthmodel_make(dir, "tiny-phi3", "F16", 2);
    check_coverage(phi, 20);
    check_coverage(phi, 1);
    free(llama);
    free(phi);
    synthmodel_tempdir_remove(dir);
}

/* ------------------------------------------------------------------------
 * Files
 * ---------------------------------------------------------------------- */

/* Two weights: a dense one and one of two matrices, the second without
 * any row counted (values 1 for the quantizer). */
static void make_accs(imatrix_acc *a)
{
    static float s0[4] = {1.5f, 4.0f, 0.25f, 9.0f}, s1[6] = {2, 4, 6, 8, 10, 12};
    static int64_t c0[1] = {3}, c1[2] = {4, 0};
    a[0] = (imatrix_acc){.name = "blk.1.ffn_down.weight", .n_in = 4, .n_mat = 1, .sums = s0, .counts = c0};
    a[1] = (imatrix_acc){.name = "blk.0.ffn_up_exps.weight", .n_in = 3, .n_mat = 2, .sums = s1, .counts = c1};
}

static void test_round_trip_gguf(void **state)
{
    (void)state;
    imatrix_acc a[2];
    make_accs(a);
    char *path = test_temp_file("imatrix-rt");
    const imatrix_meta meta = {.dataset = "calib.txt", .chunk_size = 2};
    assert_int_equal(imatrix_write(path, 0, a, 2, &meta), MOTE_OK);
    mote_imatrix_set *set;
    assert_int_equal(mote_imatrix_load(path, &set), MOTE_OK);
    assert_false(set->legacy);
    assert_int_equal(set->n_entries, 2);
    assert_int_equal(set->chunk_size, 2);
    assert_int_equal(set->chunk_count, 4 / 2); /* the largest count / chunk size */
    assert_int_equal(set->n_datasets, 1);
    assert_string_equal(set->datasets[0], "calib.txt");
    assert_string_equal(set->entries[0].name, "blk.0.ffn_up_exps.weight"); /* sorted */
    for (int k = 0; k < 2; k++) {
        const mote_imatrix_entry *e = mote_imatrix_find(set, a[k].name);
        assert_non_null(e);
        assert_int_equal(e->n, a[k].n_in * a[k].n_mat);
        assert_int_equal(e->n_mat, a[k].n_mat);
        assert_memory_equal(e->sums, a[k].sums, e->n * sizeof(float));
        for (int64_t j = 0; j < e->n_mat; j++) {
            assert_int_equal(e->counts[j], a[k].counts[j]);
            for (int64_t i = 0; i < a[k].n_in; i++) {
                const size_t at = (size_t)(j * a[k].n_in + i);
                const float want = a[k].counts[j] ? a[k].sums[at] / (float)a[k].counts[j] : 1.0f;
                assert_true(e->data[at] == want);
            }
        }
    }
    assert_null(mote_imatrix_find(set, "blk.9.attn_q.weight"));
    mote_imatrix_free(set);

    /* the shapes ggml writes: 1-D for a dense weight, (n_in, n_mat) else */
    gguf_file *f;
    assert_int_equal(gguf_open(path, &f), MOTE_OK);
    const gguf_tensor *t = gguf_find_tensor(f, "blk.1.ffn_down.weight.in_sum2");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 1);
    assert_int_equal(t->ne[0], 4);
    t = gguf_find_tensor(f, "blk.0.ffn_up_exps.weight.counts");
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 1);
    assert_int_equal(t->ne[1], 2);
    gguf_str type;
    assert_int_equal(gguf_get_str(f, "general.type", &type), MOTE_OK);
    assert_int_equal(type.len, 7);
    assert_memory_equal(type.ptr, "imatrix", 7);
    gguf_close(f);
    test_remove_temp(path);
}

static void test_round_trip_dat(void **state)
{
    (void)state;
    imatrix_acc a[2];
    make_accs(a);
    char *path = test_temp_file("imatrix-dat");
    const imatrix_meta meta = {.dataset = "calib.txt", .chunk_size = 2};
    assert_int_equal(imatrix_write(path, 1, a, 2, &meta), MOTE_OK);
    mote_imatrix_set *set;
    assert_int_equal(mote_imatrix_load(path, &set), MOTE_OK);
    assert_true(set->legacy);
    assert_int_equal(set->chunk_count, 2);
    assert_int_equal(set->n_datasets, 1);
    assert_string_equal(set->datasets[0], "calib.txt");
    assert_int_equal(set->n_entries, 2);
    for (int k = 0; k < 2; k++) {
        const mote_imatrix_entry *e = mote_imatrix_find(set, a[k].name);
        assert_non_null(e);
        int64_t most = 0;
        for (int64_t j = 0; j < a[k].n_mat; j++) most = a[k].counts[j] > most ? a[k].counts[j] : most;
        const int64_t ncall = (most + 1) / 2; /* rounded up to whole chunks */
        assert_int_equal(e->counts[0], ncall);
        for (size_t i = 0; i < e->n; i++) {
            const int64_t c = a[k].counts[i / (size_t)a[k].n_in];
            const float mean = c ? a[k].sums[i] / (float)c : 1.0f;
            assert_true(e->sums[i] == mean * (float)ncall);
            assert_true(e->data[i] == e->sums[i] / (float)ncall);
            assert_true(fabsf(e->data[i] - mean) <= 1e-6f * mean);
        }
    }
    mote_imatrix_free(set);
    test_remove_temp(path);
}

/* A legacy file put together by hand. */
typedef struct buf {
    unsigned char b[1024];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put_i32(buf *b, int32_t v) { put(b, &v, 4); }
static void put_f32(buf *b, float v) { put(b, &v, 4); }

static void test_dat_handmade(void **state)
{
    (void)state;
    buf b = {.n = 0};
    put_i32(&b, 3);
    put_i32(&b, 6), put(&b, "w.a\0xy", 6), put_i32(&b, 4), put_i32(&b, 2), put_f32(&b, 8), put_f32(&b, 2);
    put_i32(&b, 3), put(&b, "w.b", 3), put_i32(&b, 0), put_i32(&b, 1), put_f32(&b, 5);
    put_i32(&b, 3), put(&b, "w.a", 3), put_i32(&b, 2), put_i32(&b, 2), put_f32(&b, 6), put_f32(&b, 3);
    put_i32(&b, 7), put_i32(&b, 4), put(&b, "t.tx", 4);
    mote_imatrix_set *set;
    assert_int_equal(mote_imatrix_load_buffer(b.b, b.n, "hand.dat", &set), MOTE_OK);
    assert_int_equal(set->n_entries, 2); /* "w.a\0xy" is w.a, and the later w.a wins */
    assert_int_equal(set->chunk_count, 7);
    assert_int_equal(set->chunk_size, 0);
    assert_string_equal(set->datasets[0], "t.tx");
    const mote_imatrix_entry *a = mote_imatrix_find(set, "w.a"), *w = mote_imatrix_find(set, "w.b");
    assert_true(a->n == 2 && a->counts[0] == 2 && a->data[0] == 3.0f && a->data[1] == 1.5f);
    assert_true(w->n == 1 && w->data[0] == 5.0f); /* ncall 0: the values as they are */
    mote_imatrix_free(set);

    /* the trailing part is optional, also cut short */
    for (size_t cut = 0; cut <= 12; cut += 2) {
        assert_int_equal(mote_imatrix_load_buffer(b.b, b.n - cut, "hand.dat", &set), MOTE_OK);
        mote_imatrix_free(set);
    }
}

/* A GGUF buffer from a writer (freed by the caller). */
static void *gguf_bytes(gguf_writer *w, size_t *n)
{
    void *p;
    assert_int_equal(gguf_writer_write_buffer(w, &p, n), MOTE_OK);
    gguf_writer_free(w);
    return p;
}

enum bad_kind { BAD_NO_META, BAD_UNPAIRED, BAD_TYPE, BAD_COUNT_NAN, BAD_SPLIT, BAD_NO_TENSORS, BAD_VALUE_INF };

static void *bad_gguf(enum bad_kind k, size_t *n)
{
    static float sums[4] = {1, 2, 3, 4}, counts[2] = {1, 1}, nan_count[1] = {NAN}, inf_sums[4] = {1, INFINITY, 0, 0};
    static uint16_t f16[2] = {0x3c00, 0x3c00};
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    if (k != BAD_NO_META) assert_int_equal(gguf_writer_add_arr_str(w, "imatrix.datasets", NULL, 0), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "imatrix.chunk_count", 1), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "imatrix.chunk_size", 4), MOTE_OK);
    const int64_t ne4[1] = {4}, ne1[1] = {1}, ne2[1] = {2}, ne3[1] = {3};
    if (k == BAD_NO_TENSORS) return gguf_bytes(w, n);
    assert_int_equal(gguf_writer_add_tensor(w, "x.in_sum2", GGML_TYPE_F32, 1, k == BAD_SPLIT ? ne3 : ne4,
                                            k == BAD_VALUE_INF ? inf_sums : sums), MOTE_OK);
    if (k == BAD_TYPE) assert_int_equal(gguf_writer_add_tensor(w, "x.counts", GGML_TYPE_F16, 1, ne2, f16), MOTE_OK);
    else if (k == BAD_COUNT_NAN) assert_int_equal(gguf_writer_add_tensor(w, "x.counts", GGML_TYPE_F32, 1, ne1, nan_count), MOTE_OK);
    else if (k == BAD_SPLIT) assert_int_equal(gguf_writer_add_tensor(w, "x.counts", GGML_TYPE_F32, 1, ne2, counts), MOTE_OK);
    else if (k != BAD_UNPAIRED) assert_int_equal(gguf_writer_add_tensor(w, "x.counts", GGML_TYPE_F32, 1, ne1, counts), MOTE_OK);
    return gguf_bytes(w, n);
}

static void expect_format_error(const void *data, size_t n, const char *needle)
{
    mote_imatrix_set *set = (mote_imatrix_set *)1;
    assert_int_not_equal(mote_imatrix_load_buffer(data, n, "bad", &set), MOTE_OK);
    assert_null(set);
    if (!strstr(mote_last_error(), needle)) fail_msg("message '%s' lacks '%s'", mote_last_error(), needle);
}

static void test_corrupt_files(void **state)
{
    (void)state;
    static const struct { enum bad_kind k; const char *msg; } cases[] = {
        {BAD_NO_META, "missing imatrix metadata"}, {BAD_UNPAIRED, "mismatched sums and counts"},
        {BAD_TYPE, "must be F32"},                 {BAD_COUNT_NAN, "count 0 is nan"},
        {BAD_SPLIT, "do not split"},               {BAD_NO_TENSORS, "no data"},
        {BAD_VALUE_INF, "not finite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        void *p = bad_gguf(cases[i].k, &n);
        expect_format_error(p, n, cases[i].msg);
        expect_format_error(p, n / 2, "bad"); /* a cut GGUF: the GGUF reader's message, naming the buffer */
        free(p);
    }
    /* legacy: empty, no entries, a negative or overlong name, no values, values past the end */
    buf b = {.n = 0};
    expect_format_error(b.b, 0, "no data");
    put_i32(&b, 0);
    expect_format_error(b.b, b.n, "no data");
    b.n = 0, put_i32(&b, 1), put_i32(&b, -1);
    expect_format_error(b.b, b.n, "cannot read its name");
    b.n = 0, put_i32(&b, 1), put_i32(&b, 100), put(&b, "abc", 3);
    expect_format_error(b.b, b.n, "cannot read its name");
    b.n = 0, put_i32(&b, 1), put_i32(&b, 1), put(&b, "a", 1), put_i32(&b, 1), put_i32(&b, 0);
    expect_format_error(b.b, b.n, "no value count");
    b.n = 0, put_i32(&b, 1), put_i32(&b, 1), put(&b, "a", 1), put_i32(&b, 1), put_i32(&b, 1000), put_f32(&b, 1);
    expect_format_error(b.b, b.n, "run past the end");
    b.n = 0, put_i32(&b, 1), put_i32(&b, 1), put(&b, "a", 1), put_i32(&b, 1), put_i32(&b, 1), put_f32(&b, NAN);
    expect_format_error(b.b, b.n, "not finite");
    /* a file that is absent, and NULL arguments */
    mote_imatrix_set *set;
    assert_int_not_equal(mote_imatrix_load("/nonexistent/imatrix.gguf", &set), MOTE_OK);
    assert_null(set);
    assert_int_equal(mote_imatrix_load(NULL, &set), MOTE_E_INVALID);
    assert_null(mote_imatrix_find(NULL, "x"));
    mote_imatrix_free(NULL);
}

/* ------------------------------------------------------------------------
 * mote_imatrix on the trained models, and llama.cpp's matrix
 * ---------------------------------------------------------------------- */

#define CHUNK 128

static mote_imatrix_set *run_imatrix(const char *model, const char *text, int legacy, int kv_f32, const char *out)
{
    mote_imatrix_params p = mote_imatrix_default_params();
    p.model_path = model;
    p.text_path = text;
    p.chunk_size = CHUNK;
    p.n_threads = 2;
    p.legacy = legacy;
    p.kv_type = kv_f32 ? MOTE_KV_F32 : MOTE_KV_F16;
    p.out_path = out;
    mote_imatrix_stats st;
    if (mote_imatrix(&p, &st) != MOTE_OK) fail_msg("mote_imatrix: %s", mote_last_error());
    assert_int_equal(st.n_chunks, st.n_tokens / CHUNK);
    mote_imatrix_set *set;
    assert_int_equal(mote_imatrix_load(out, &set), MOTE_OK);
    assert_int_equal(set->n_entries, st.n_entries);
    assert_int_equal(set->chunk_count, st.n_chunks);
    for (size_t i = 0; i < set->n_entries; i++) {
        assert_int_equal(strncmp(set->entries[i].name, "blk.", 4), 0);
        assert_int_equal(set->entries[i].counts[0], legacy ? st.n_chunks : st.n_chunks * CHUNK);
    }
    return set;
}

static const char *const trained[] = {"models/TinyStories-656K-F32.gguf", "models/stories260K.gguf"};

static void test_trained_models(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char text[4096], model[4096];
    snprintf(text, sizeof text, "%s", shared_path("golden/story.txt"));
    for (size_t m = 0; m < sizeof trained / sizeof trained[0]; m++) {
        snprintf(model, sizeof model, "%s", shared_path(trained[m]));
        char *g = test_temp_file("imatrix-g"), *d = test_temp_file("imatrix-d");
        mote_imatrix_set *sg = run_imatrix(model, text, 0, 0, g), *sd = run_imatrix(model, text, 1, 0, d);
        /* 7 weights a block: q, k, v, output, gate, up, down */
        mote_model *mm;
        assert_int_equal(mote_model_open(model, NULL, &mm), MOTE_OK);
        mote_model_info info;
        mote_model_get_info(mm, &info);
        assert_int_equal(sg->n_entries, 7 * (size_t)info.n_layer);
        const mote_imatrix_entry *down = mote_imatrix_find(sg, "blk.0.ffn_down.weight");
        assert_non_null(down);
        assert_int_equal(down->n, info.n_ff);
        mote_model_close(mm);
        /* the two formats give the quantizer the same values, to rounding */
        assert_int_equal(sd->n_entries, sg->n_entries);
        for (size_t i = 0; i < sg->n_entries; i++)
            for (size_t j = 0; j < sg->entries[i].n; j++) {
                const float x = sg->entries[i].data[j], y = sd->entries[i].data[j];
                assert_true(fabsf(x - y) <= 1e-6f * fabsf(x));
            }
        mote_imatrix_free(sg);
        mote_imatrix_free(sd);
        test_remove_temp(g);
        test_remove_temp(d);
    }
}

/* tests/peer/imatrix-peer beside this program's folder, or NULL. */
static const char *peer_path(void)
{
    static char path[4096];
    const char *env = getenv("MOTE_IMATRIX_PEER");
    if (env) return access(env, X_OK) == 0 ? env : NULL;
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) return NULL;
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (!slash) return NULL;
    strcpy(slash, "/peer/imatrix-peer");
    return access(path, X_OK) == 0 ? path : NULL;
}

static int run_peer(const char *peer, const char *model, const char *text, const char *out, int dat, int kv_f32)
{
    char chunk[16];
    snprintf(chunk, sizeof chunk, "%d", CHUNK);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execl(peer, peer, model, text, chunk, out, dat ? "--dat" : "--gguf", kv_f32 ? "--kv-f32" : NULL,
              (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Largest relative difference of a's values from b's (b: llama.cpp's),
 * over the columns above 1e-3 of the entry's largest. */
static double compare_sets(const mote_imatrix_set *a, const mote_imatrix_set *b)
{
    double worst = 0;
    assert_int_equal(a->n_entries, b->n_entries);
    assert_int_equal(a->chunk_count, b->chunk_count);
    assert_int_equal(a->chunk_size, b->chunk_size);
    for (size_t i = 0; i < a->n_entries; i++) {
        const mote_imatrix_entry *x = &a->entries[i], *y = &b->entries[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->n, y->n);
        assert_int_equal(x->counts[0], y->counts[0]);
        float most = 0;
        for (size_t j = 0; j < y->n; j++) most = y->data[j] > most ? y->data[j] : most;
        for (size_t j = 0; j < y->n; j++) {
            if (y->data[j] < 1e-3f * most) continue;
            const double rel = fabs((double)x->data[j] - y->data[j]) / y->data[j];
            if (rel > worst) worst = rel;
        }
    }
    return worst;
}

static void test_llama_peer(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *peer = peer_path();
    if (!peer) {
        if (getenv("MOTE_REQUIRE_LLAMA_REF"))
            fail_msg("MOTE_REQUIRE_LLAMA_REF is set but tests/peer/imatrix-peer is missing (make llama-ref)");
        print_message("[  SKIP    ] SKIP: tests/peer/imatrix-peer is not built (it needs bench/llama, see "
                      "bench/Makefile): mote's imatrix is not compared with llama.cpp's\n");
        skip();
    }
    char text[4096], model[4096];
    snprintf(text, sizeof text, "%s", shared_path("golden/story.txt"));
    const char *models[] = {trained[0], trained[1], "models/archs/synth-phi3-F32.gguf"};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        snprintf(model, sizeof model, "%s", shared_path(models[m]));
        /* GGUF and .dat with llama-imatrix's F16 cache, GGUF with an F32 one */
        for (int run = 0; run < 3; run++) {
            const int dat = run == 1, kv_f32 = run == 2;
            char *ours = test_temp_file("imatrix-ours"), *theirs = test_temp_file("imatrix-llama");
            if (run_peer(peer, model, text, theirs, dat, kv_f32) != 0) fail_msg("imatrix-peer failed on %s", model);
            mote_imatrix_set *a = run_imatrix(model, text, dat, kv_f32, ours), *b;
            assert_int_equal(mote_imatrix_load(theirs, &b), MOTE_OK);
            const double rel = compare_sets(a, b);
            print_message("%s (%s, %s cache): %zu entries, largest relative difference from llama.cpp %.3g\n",
                          models[m], dat ? "dat" : "gguf", kv_f32 ? "F32" : "F16", a->n_entries, rel);
            assert_true(rel <= (kv_f32 ? MAX_REL_F32 : MAX_REL_F16));
            if (!dat) { /* the same file up to the tensor data: keys, names, shapes, offsets */
                gguf_file *f;
                assert_int_equal(gguf_open(theirs, &f), MOTE_OK);
                size_t n1, n2;
                char *x = read_file(ours, &n1), *y = read_file(theirs, &n2);
                assert_int_equal(n1, n2);
                assert_memory_equal(x, y, f->data_offset);
                free(x);
                free(y);
                gguf_close(f);
            }
            mote_imatrix_free(a);
            mote_imatrix_free(b);
            test_remove_temp(ours);
            test_remove_temp(theirs);
        }
    }
}

/* ------------------------------------------------------------------------
 * The command
 * ---------------------------------------------------------------------- */

static char mote_bin[4096];

#define RUN(...) test_run_mote(mote_bin, NULL, (const char *const[]){__VA_ARGS__, NULL}, 120)

static void test_command(void **state)
{
    (void)state;
    char *dir = synthmodel_tempdir();
    char *model = synthmodel_make(dir, "tiny-llama", "Q8_0", 2);
    char text[512], out[512], kept[512];
    snprintf(text, sizeof text, "%s/story.txt", dir);
    snprintf(out, sizeof out, "%s/im.gguf", dir);
    snprintf(kept, sizeof kept, "%s/kept.gguf", dir);
    FILE *f = fopen(text, "w");
    for (int i = 0; i < 20; i++) fputs("once upon a time the cat sat on the mat. ", f);
    fclose(f);

    test_proc p = RUN("imatrix", model, "-f", text, "-o", out, "-c", "16", "--chunks", "2", "-t", "1");
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "2 chunks of 16 tokens");
    test_proc_free(&p);
    p = RUN("imatrix", "--show", out);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "GGUF format, 14 entries, 2 chunks of 16 tokens");
    test_expect_contains(p.out, "blk.1.ffn_down.weight");
    test_proc_free(&p);
    p = RUN("imatrix", model, "-f", text, "-o", out, "-c", "16", "--output-format", "dat", "--kv-type", "f32");
    test_expect_status(&p, 0);
    test_proc_free(&p);
    p = RUN("imatrix", "--show", out);
    test_expect_contains(p.out, "legacy .dat format, 14 entries");
    test_proc_free(&p);

    /* usage errors */
    const char *const usage[][8] = {
        {"imatrix", model, "-o", out},
        {"imatrix", model, "-f", text, "-c", "8"},
        {"imatrix", model, "-f", text, "--output-format", "xml"},
        {"imatrix", model, "-f", text, "--kv-type", "q4"},
        {"imatrix", "--show", out, "-f", text},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        p = test_run_mote(mote_bin, NULL, usage[i], 60);
        test_expect_status(&p, 2);
        test_proc_free(&p);
    }
    /* errors leave the output as it was: absent, or a previous file */
    p = RUN("imatrix", model, "-f", text, "-o", kept, "-c", "4096");
    test_expect_status(&p, 1);
    test_expect_contains(p.err, "less than one chunk");
    assert_int_not_equal(access(kept, F_OK), 0);
    test_proc_free(&p);
    p = RUN("imatrix", text, "-f", text, "-o", out);
    test_expect_status(&p, 1);
    test_proc_free(&p);
    p = RUN("imatrix", "--show", out);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "legacy .dat format, 14 entries");
    test_proc_free(&p);
    p = RUN("imatrix", "--show", text);
    test_expect_status(&p, 1);
    test_proc_free(&p);
    free(model);
    synthmodel_tempdir_remove(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_mote_bin(argv[0], mote_bin, sizeof mote_bin);
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observer_coverage), cmocka_unit_test(test_round_trip_gguf),
        cmocka_unit_test(test_round_trip_dat),    cmocka_unit_test(test_dat_handmade),
        cmocka_unit_test(test_corrupt_files),     cmocka_unit_test(test_trained_models),
        cmocka_unit_test(test_llama_peer),        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
