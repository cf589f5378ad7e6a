/*
 * test_embed.c — embedding models against llama.cpp's goldens
 * (../shared/golden/embed, golden/synth-bert-*.embed.tsv): every text's
 * tokens exactly, its L2-normalised vector and the raw pooled vector
 * within the tolerances EMBED_MODELS.md gives; texts batched together
 * give the bits they give alone; the embedder's and the session's
 * refusals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mote.h"
#include "testutil.h"

#define MAX_CASES 16
#define MAX_DIM 1024
#define MAX_TOKS 512

typedef struct golden_case {
    char name[16];
    char *text;
    int toks[MAX_TOKS], n_toks;
    float vec[MAX_DIM];
    int dim;
} golden_case;

/* A golden file: case \t text \t token ids \t floats (the .raw files: the
 * same columns). Returns the cases read. */
static int read_golden(const char *path, golden_case *cases, int cap)
{
    size_t len;
    char *buf = read_file(path, &len);
    assert_non_null(buf);
    int n = 0;
    for (char *line = buf, *next; line && *line && n < cap; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *f[4];
        f[0] = line;
        for (int i = 1; i < 4; i++) {
            f[i] = strchr(f[i - 1], '\t');
            assert_non_null(f[i]);
            *f[i]++ = '\0';
        }
        golden_case *c = &cases[n++];
        snprintf(c->name, sizeof c->name, "%s", f[0]);
        c->text = strdup(f[1]);
        c->n_toks = 0;
        for (char *p = f[2], *end; *p; p = end) {
            c->toks[c->n_toks++] = (int)strtol(p, &end, 10);
            if (end == p) break;
        }
        c->dim = 0;
        for (char *p = f[3], *end;; p = end) {
            float v = strtof(p, &end);
            if (end == p) break;
            c->vec[c->dim++] = v;
        }
    }
    free(buf);
    return n;
}

static void free_cases(golden_case *cases, int n)
{
    for (int i = 0; i < n; i++) free(cases[i].text);
}

static float max_diff(const float *a, const float *b, int n)
{
    float most = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > most || isnan(a[i])) most = isnan(a[i]) ? INFINITY : fabsf(a[i] - b[i]);
    return most;
}

/* One model file against its golden (normalised) and .raw (pooled) files:
 * tokens, vectors one text at a time, and all texts in one call, which
 * must give the same bits. */
static void check_model(const char *model_rel, const char *golden_rel, float tol)
{
    char path[512];
    snprintf(path, sizeof path, "%s", shared_path(model_rel));
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    static golden_case cases[MAX_CASES], raw[MAX_CASES];
    const int n = read_golden(shared_path(golden_rel), cases, MAX_CASES);
    char raw_rel[512];
    snprintf(raw_rel, sizeof raw_rel, "%s.raw", golden_rel);
    assert_int_equal(read_golden(shared_path(raw_rel), raw, MAX_CASES), n);
    assert_true(n >= 3);

    mote_embed_params ep = mote_embed_default_params();
    mote_embedder *e = NULL, *e_raw = NULL;
    assert_int_equal(mote_embedder_create(m, &ep, &e), MOTE_OK);
    ep.normalize = 0;
    assert_int_equal(mote_embedder_create(m, &ep, &e_raw), MOTE_OK);
    const int dim = mote_embedder_dim(e);
    assert_int_equal(dim, cases[0].dim);

    float *alone = calloc((size_t)n * dim, sizeof(float)), *all = calloc((size_t)n * dim, sizeof(float));
    float *pooled = calloc((size_t)dim, sizeof(float)), worst = 0;
    const char *texts[MAX_CASES];
    for (int i = 0; i < n; i++) {
        golden_case *c = &cases[i];
        texts[i] = c->text;
        mote_token toks[MAX_TOKS];
        size_t n_toks;
        assert_int_equal(mote_tokenize(m, c->text, strlen(c->text), 1, 0, toks, MAX_TOKS, &n_toks), MOTE_OK);
        assert_int_equal((int)n_toks, c->n_toks);
        for (int t = 0; t < c->n_toks; t++) assert_int_equal(toks[t], c->toks[t]);

        int64_t used = 0;
        assert_int_equal(mote_embed(e, &texts[i], NULL, 1, alone + (size_t)i * dim, &used), MOTE_OK);
        assert_int_equal(used, c->n_toks);
        const float d = max_diff(alone + (size_t)i * dim, c->vec, dim);
        if (d > tol) fail_msg("%s case %s: max |diff| %g > %g", model_rel, c->name, (double)d, (double)tol);
        if (d > worst) worst = d;
        /* the raw vector, relative to its size */
        assert_int_equal(mote_embed(e_raw, &texts[i], NULL, 1, pooled, NULL), MOTE_OK);
        double norm = 0;
        for (int k = 0; k < dim; k++) norm += (double)raw[i].vec[k] * raw[i].vec[k];
        const float dr = max_diff(pooled, raw[i].vec, dim) / (float)sqrt(norm);
        if (dr > tol) fail_msg("%s case %s raw: max |diff| / norm %g > %g", model_rel, c->name, (double)dr, (double)tol);
    }
    print_message("  %-40s max |diff| %.2g (tolerance %g)\n", model_rel, (double)worst, (double)tol);
    int64_t used = 0;
    assert_int_equal(mote_embed(e, texts, NULL, n, all, &used), MOTE_OK);
    int64_t want = 0;
    for (int i = 0; i < n; i++) want += cases[i].n_toks;
    assert_int_equal(used, want);
    if (memcmp(all, alone, sizeof(float) * (size_t)n * dim) != 0)
        fail_msg("%s: texts embedded together differ from each alone", model_rel);

    free(alone);
    free(all);
    free(pooled);
    free_cases(cases, n);
    free_cases(raw, n);
    mote_embedder_free(e);
    mote_embedder_free(e_raw);
    mote_model_close(m);
}

/* Every embedding model the manifest lists, each type against its golden. */
static void test_embed_models_match_goldens(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char **names;
    const size_t n = shared_listed("models/embed", ".gguf", &names);
    assert_true(n >= 8);
    for (size_t i = 0; i < n; i++) {
        char model[256], golden[256];
        snprintf(model, sizeof model, "models/embed/%s", names[i]);
        snprintf(golden, sizeof golden, "golden/embed/%.*s.embed.tsv", (int)(strlen(names[i]) - 5), names[i]);
        check_model(model, golden, 1e-4f); /* EMBED_MODELS.md suggests 1e-2 for Q8_0: mote quantizes the activations as llama.cpp does */
        free(names[i]);
    }
    free(names);
}

/* The mean-pooled bert encoder of the main goldens (learned positions,
 * two heads, n_embd 128), F32 and F16. */
static void test_synth_bert_matches_goldens(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    check_model("models/synth-bert-F32.gguf", "golden/synth-bert-F32.embed.tsv", 1e-4f);
    check_model("models/synth-bert-F16.gguf", "golden/synth-bert-F16.embed.tsv", 1e-4f);
}

/* An encoder has no language-model head and sees its sequence whole. */
static void test_encoder_refusals(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(shared_path("models/embed/synth-bert-cls-F32.gguf"), NULL, &m), MOTE_OK);
    assert_true(mote_model_embedding_only(m));
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(m, NULL, &s), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "embedding model"));
    mote_session_params sp = mote_session_default_params();
    sp.embeddings = 1;
    sp.n_ctx = 1024; /* the model learned 512 positions */
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_E_RANGE);
    sp.n_ctx = 0;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    const mote_token toks[] = {101, 7592, 2088, 102};
    assert_int_equal(mote_session_eval(s, toks, 4, 0), MOTE_OK);
    assert_non_null(mote_session_embedding_seq(s, 0));
    /* more tokens after the sequence's: refused, nothing changed */
    assert_int_equal(mote_session_eval(s, toks, 2, 0), MOTE_E_INVALID);
    assert_int_equal(mote_session_pos(s), 4);
    mote_session_free(s);

    mote_embed_params ep = mote_embed_default_params();
    ep.pooling = MOTE_POOL_NONE;
    mote_embedder *e = NULL;
    assert_int_equal(mote_embedder_create(m, &ep, &e), MOTE_E_INVALID);
    assert_null(e);
    /* a text longer than n_ctx: an error, or cut keeping [SEP] */
    ep = mote_embed_default_params();
    ep.n_ctx = 6;
    assert_int_equal(mote_embedder_create(m, &ep, &e), MOTE_OK);
    const char *text = "one two three four five six seven";
    float v[64], cut[64], w[64];
    assert_int_equal(mote_embed(e, &text, NULL, 1, v, NULL), MOTE_E_RANGE);
    assert_non_null(strstr(mote_last_error(), "n_ctx"));
    mote_embedder_free(e);
    ep.truncate = 1;
    assert_int_equal(mote_embedder_create(m, &ep, &e), MOTE_OK);
    int64_t used;
    assert_int_equal(mote_embed(e, &text, NULL, 1, cut, &used), MOTE_OK);
    assert_int_equal(used, 6);
    mote_embedder_free(e);
    /* = the first four words' tokens between [CLS] and [SEP] */
    assert_int_equal(mote_embedder_create(m, NULL, &e), MOTE_OK);
    const char *four = "one two three four";
    assert_int_equal(mote_embed(e, &four, NULL, 1, w, NULL), MOTE_OK);
    assert_memory_equal(cut, w, sizeof cut);
    assert_int_equal(mote_embed(e, NULL, NULL, 1, v, NULL), MOTE_E_INVALID);
    /* more texts than a pass holds: several passes, each text's bits as alone */
    mote_embedder *e2 = NULL;
    ep = mote_embed_default_params();
    ep.n_seq_max = 2;
    assert_int_equal(mote_embedder_create(m, &ep, &e2), MOTE_OK);
    const char *five[] = {"one", "two words", "three more words", four, text};
    float many[5][64], alone[64];
    assert_int_equal(mote_embed(e2, five, NULL, 5, &many[0][0], NULL), MOTE_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(mote_embed(e, &five[i], NULL, 1, alone, NULL), MOTE_OK);
        assert_memory_equal(many[i], alone, sizeof alone);
    }
    mote_embedder_free(e2);
    assert_int_equal(mote_embed(e, NULL, NULL, 0, NULL, NULL), MOTE_OK);
    mote_embedder_free(e);
    mote_model_close(m);
}

/* Decoders keep their head: an embedder over qwen3 pools the last token
 * (EOS), a session without embeddings still gives logits. */
static void test_decoder_embedder_and_logits(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(shared_path("models/embed/synth-qwen3-embed-F32.gguf"), NULL, &m), MOTE_OK);
    assert_false(mote_model_embedding_only(m));
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(m, NULL, &s), MOTE_OK);
    const mote_token toks[] = {281, 306};
    assert_int_equal(mote_session_eval(s, toks, 2, 0), MOTE_OK);
    assert_non_null(mote_session_logits(s, -1));
    assert_int_equal(mote_session_eval(s, toks, 2, 0), MOTE_OK); /* a causal sequence continues */
    mote_session_free(s);
    mote_model_close(m);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_models_match_goldens),
        cmocka_unit_test(test_synth_bert_matches_goldens),
        cmocka_unit_test(test_encoder_refusals),
        cmocka_unit_test(test_decoder_embedder_and_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
