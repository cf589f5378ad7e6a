/*
 * test_share.c — weight sharing: files whose mote.block_map maps several
 * layers to one stored block (model/block_map.c, the loader) and the tool
 * that writes them (toolkit/share.c, mote_share).
 *
 * The proof: a shared file computes bit for bit what a file with the same
 * blocks written out in full for each layer computes, its mapped layers'
 * weights are one copy in the map, and it is smaller; a model shared with
 * as many blocks as layers computes what the input does; bad maps are
 * refused naming the key. Models come from ../shared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/model.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "model/arch.h"
#include "mote.h"
#include "mote_tools.h"
#include "testutil.h"

/* A token sequence every test model's vocabulary holds (stories260K's
 * has 512 tokens, TinyStories' 2048): BOS and ids of ordinary pieces. */
static const mote_token probe[] = {1, 403, 407, 261, 378, 300, 280, 263, 266, 356, 285, 283};
#define N_PROBE ((int)(sizeof probe / sizeof probe[0]))

static char *model_path(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", name);
    const char *p = shared_path(rel);
    assert_non_null(p);
    return strdup(p);
}

/* Logits of every position of probe (F32 KV cache, one thread), malloc'd;
 * *n_vocab receives the row width. */
static float *probe_logits(const char *path, int *n_vocab)
{
    mote_model *m = NULL;
    if (mote_model_open(path, NULL, &m) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_threads = 1;
    sp.kv_type = MOTE_KV_F32;
    mote_session *s = NULL;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    assert_int_equal(mote_session_eval(s, probe, N_PROBE, 1), MOTE_OK);
    *n_vocab = mote_vocab_size(m);
    float *out = malloc((size_t)N_PROBE * (size_t)*n_vocab * sizeof *out);
    assert_non_null(out);
    for (int i = 0; i < N_PROBE; i++) {
        const float *l = mote_session_logits(s, i);
        assert_non_null(l);
        memcpy(out + (size_t)i * *n_vocab, l, (size_t)*n_vocab * sizeof *l);
    }
    mote_session_free(s);
    mote_model_close(m);
    return out;
}

/* Both files give bit-identical logits at every position of probe. */
static void expect_same_logits(const char *a, const char *b)
{
    int na, nb;
    float *la = probe_logits(a, &na), *lb = probe_logits(b, &nb);
    assert_int_equal(na, nb);
    int finite = 1;
    for (size_t i = 0; i < (size_t)N_PROBE * na; i++) finite &= isfinite(la[i]);
    assert_true(finite);
    if (memcmp(la, lb, (size_t)N_PROBE * na * sizeof *la) != 0) fail_msg("%s and %s give other logits", a, b);
    free(la);
    free(lb);
}

/* The largest difference between two files' logits. */
static double logits_diff(const char *a, const char *b)
{
    int na, nb;
    float *la = probe_logits(a, &na), *lb = probe_logits(b, &nb);
    assert_int_equal(na, nb);
    double most = 0;
    for (size_t i = 0; i < (size_t)N_PROBE * na; i++) most = fmax(most, fabs((double)la[i] - lb[i]));
    free(la);
    free(lb);
    return most;
}

/* mote_share of in into out with a map (NULL: by similarity, n_blocks). */
static mote_share_result share(const char *in, const char *out, int n_blocks, const int *map, int n_map, int merge,
                               int threads)
{
    mote_share_params p = mote_share_default_params();
    p.in_path = in;
    p.out_path = out;
    p.n_blocks = n_blocks;
    p.block_map = map;
    p.block_map_len = n_map;
    p.merge = merge;
    p.n_threads = threads;
    mote_share_result r;
    if (mote_share(&p, &r) != MOTE_OK) fail_msg("mote_share %s: %s", in, mote_last_error());
    return r;
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

/* ------------------------------------------------------------------------
 * Shared against written out in full
 * ---------------------------------------------------------------------- */

/* Share `name` with map, then write the result out with one block per
 * layer (every shared block copied for each of its layers): both compute
 * the same logits bit for bit; the shared model's mapped layers point at
 * the same bytes; its file and weight bytes are smaller by the blocks it
 * does not repeat; each layer still has its cache. */
static void check_shared_vs_full(const char *name, const int *map, int n_layer, int merge)
{
    char *in = model_path(name);
    char *shared = test_temp_file("share-s"), *full = test_temp_file("share-f");
    mote_share_result r = share(in, shared, 0, map, n_layer, merge, 2);
    assert_int_equal(r.n_layer, n_layer);
    int n_blocks = 0;
    for (int i = 0; i < n_layer; i++) n_blocks = map[i] + 1 > n_blocks ? map[i] + 1 : n_blocks;
    assert_int_equal(r.n_blocks, n_blocks);
    mote_share_result_free(&r);
    r = share(shared, full, n_layer, NULL, 0, MOTE_SHARE_MEAN, 2);
    for (int i = 0; i < n_layer; i++) assert_int_equal(r.block_map[i], i);
    for (int i = 0; i + 1 < n_layer; i++)
        if (map[i] == map[i + 1]) assert_true(r.similarity[i] == 1.0f); /* one stored block */
    mote_share_result_free(&r);
    expect_same_logits(shared, full);

    mote_model *ms = NULL, *mf = NULL;
    assert_int_equal(mote_model_open(shared, NULL, &ms), MOTE_OK);
    assert_int_equal(mote_model_open(full, NULL, &mf), MOTE_OK);
    mote_model_info is, inf;
    assert_int_equal(mote_model_get_info(ms, &is), MOTE_OK);
    assert_int_equal(mote_model_get_info(mf, &inf), MOTE_OK);
    assert_int_equal(is.n_layer, n_layer);
    assert_int_equal(is.n_blocks, n_blocks);
    assert_int_equal(inf.n_blocks, n_layer);
    assert_null(gguf_find_kv(mf->gguf, ARCH_KEY_BLOCK_MAP)); /* one block per layer: no map */
    /* no copy: layers on one stored block read the same bytes of the map */
    const model_arch *a = ms->arch;
    for (int i = 0; i < n_layer; i++)
        for (int j = 0; j < n_layer; j++) {
            const layer_weights *x = &a->layers[i], *y = &a->layers[j];
            const int same = map[i] == map[j];
            assert_int_equal(x->wq.data == y->wq.data, same);
            assert_int_equal(x->w_down.data == y->w_down.data, same);
            assert_int_equal(x->attn_norm == y->attn_norm, same);
        }
    /* the bytes of a block, counted once per stored block */
    const uint64_t block_bytes = (inf.weight_bytes - is.weight_bytes) / (uint64_t)(n_layer - n_blocks);
    assert_true(block_bytes > 0);
    assert_true(is.weight_bytes < inf.weight_bytes);
    assert_int_equal(inf.weight_bytes - is.weight_bytes, block_bytes * (uint64_t)(n_layer - n_blocks));
    assert_true(file_size(shared) < file_size(full));
    mote_memory mems, memf;
    assert_int_equal(mote_model_memory(ms, &mems), MOTE_OK);
    assert_int_equal(mote_model_memory(mf, &memf), MOTE_OK);
    assert_true(mems.mapped < memf.mapped);
    /* the KV cache is per layer: the same in both */
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    mote_memory ps, pf;
    assert_int_equal(mote_session_plan(ms, &sp, &ps), MOTE_OK);
    assert_int_equal(mote_session_plan(mf, &sp, &pf), MOTE_OK);
    assert_true(ps.kv > 0);
    assert_int_equal(ps.kv, pf.kv);
    mote_model_close(ms);
    mote_model_close(mf);
    test_remove_temp(shared);
    test_remove_temp(full);
    free(in);
}

static void test_shared_equals_full_stories(void **state)
{
    SKIP_WITHOUT_SHARED();
    check_shared_vs_full("stories260K.gguf", (const int[]){0, 0, 1, 1, 2}, 5, MOTE_SHARE_MEAN);
    /* any grouping, not only adjacent runs */
    check_shared_vs_full("stories260K.gguf", (const int[]){0, 1, 0, 1, 2}, 5, MOTE_SHARE_MEDOID);
}

static void test_shared_equals_full_tinystories(void **state)
{
    SKIP_WITHOUT_SHARED();
    check_shared_vs_full("TinyStories-656K-F32.gguf", (const int[]){0, 0}, 2, MOTE_SHARE_MEAN);
}

/* Quantized: the mean is requantized (Q8_0), and with Q4_K_M's mix the
 * shared block takes the more precise of the layers' types (Q6_K). */
static void test_shared_equals_full_quantized(void **state)
{
    SKIP_WITHOUT_SHARED();
    check_shared_vs_full("synth-llama-Q8_0.gguf", (const int[]){0, 0}, 2, MOTE_SHARE_MEAN);
    check_shared_vs_full("synth-llama-Q4_K_M.gguf", (const int[]){0, 0}, 2, MOTE_SHARE_MEAN);
    char *in = model_path("synth-llama-Q4_K_M.gguf"), *out = test_temp_file("share-q");
    mote_share_result r = share(in, out, 1, NULL, 0, MOTE_SHARE_MEAN, 2);
    mote_share_result_free(&r);
    gguf_file *g;
    assert_int_equal(gguf_open(out, &g), MOTE_OK);
    const gguf_tensor *v = gguf_find_tensor(g, "blk.0.attn_v.weight"), *q = gguf_find_tensor(g, "blk.0.attn_q.weight");
    assert_non_null(v);
    assert_non_null(q);
    assert_int_equal(v->type, GGML_TYPE_Q6_K); /* blk.1.attn_v was Q6_K, blk.0's Q4_K */
    assert_int_equal(q->type, GGML_TYPE_Q4_K);
    assert_null(gguf_find_tensor(g, "blk.1.attn_q.weight"));
    gguf_close(g);
    test_remove_temp(out);
    free(in);
}

/* As many blocks as layers: the same weights, so the same logits, and
 * the same tensor bytes; the thread count changes nothing. */
static void test_all_blocks_is_identity(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const char *const names[] = {"stories260K.gguf", "TinyStories-656K-F32.gguf", "synth-llama-Q4_K_M.gguf"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char *in = model_path(names[k]), *out = test_temp_file("share-id");
        gguf_file *g;
        assert_int_equal(gguf_open(in, &g), MOTE_OK);
        uint32_t n_layer;
        assert_int_equal(gguf_get_u32(g, "llama.block_count", &n_layer), MOTE_OK);
        mote_share_result r = share(in, out, (int)n_layer, NULL, 0, MOTE_SHARE_MEAN, 1);
        mote_share_result_free(&r);
        expect_same_logits(in, out);
        gguf_file *h;
        assert_int_equal(gguf_open(out, &h), MOTE_OK);
        assert_int_equal(h->n_tensors, g->n_tensors);
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const gguf_tensor *t = &g->tensors[i], *u = gguf_find_tensor(h, t->name);
            assert_non_null(u);
            assert_int_equal(t->type, u->type);
            assert_int_equal(t->nbytes, u->nbytes);
            assert_memory_equal(t->data, u->data, t->nbytes);
        }
        gguf_close(h);
        gguf_close(g);
        test_remove_temp(out);
        free(in);
    }
}

/* Similarity picks the layers that are alike: a model whose layers 1 and 2
 * are copies of one block (written out in full) merges exactly those into
 * one when one block fewer is asked for, with either thread count. */
static void test_similarity_merges_alike(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *in = model_path("stories260K.gguf");
    char *twin = test_temp_file("share-twin"), *full = test_temp_file("share-full");
    char *out1 = test_temp_file("share-o1"), *out3 = test_temp_file("share-o3");
    mote_share_result r = share(in, twin, 0, (const int[]){0, 1, 1, 2, 3}, 5, MOTE_SHARE_MEDOID, 2);
    mote_share_result_free(&r);
    r = share(twin, full, 5, NULL, 0, MOTE_SHARE_MEAN, 2); /* layers 1 and 2 now equal, stored twice */
    mote_share_result_free(&r);
    r = share(full, out1, 4, NULL, 0, MOTE_SHARE_MEAN, 1);
    assert_true(r.similarity[1] > 0.9999f); /* the copies */
    for (int i = 0; i < 4; i++)
        if (i != 1) assert_true(r.similarity[i] < 0.5f); /* trained layers differ */
    static const int want[] = {0, 1, 1, 2, 3};
    for (int i = 0; i < 5; i++) assert_int_equal(r.block_map[i], want[i]);
    mote_share_result_free(&r);
    r = share(full, out3, 4, NULL, 0, MOTE_SHARE_MEAN, 3);
    mote_share_result_free(&r);
    size_t n1, n3;
    char *b1 = read_file(out1, &n1), *b3 = read_file(out3, &n3);
    assert_non_null(b1);
    assert_non_null(b3);
    assert_int_equal(n1, n3);
    assert_memory_equal(b1, b3, n1);
    free(b1);
    free(b3);
    /* merging two equal layers changes nothing they compute */
    expect_same_logits(full, out1);
    /* while merging unlike layers does */
    r = share(full, out3, 3, NULL, 0, MOTE_SHARE_MEAN, 2);
    mote_share_result_free(&r);
    assert_true(logits_diff(full, out3) > 1e-3);
    test_remove_temp(twin);
    test_remove_temp(full);
    test_remove_temp(out1);
    test_remove_temp(out3);
    free(in);
}

/* ------------------------------------------------------------------------
 * Bad maps
 * ---------------------------------------------------------------------- */

/* Copy `src` into a temporary file with mote.block_map set by set_map
 * (NULL: none), without the tensors named in drop (NULL-terminated; may
 * be NULL) and with general.architecture arch (NULL: as it is). */
typedef mote_status (*map_setter)(gguf_writer *w);

static char *copy_with(const char *src, map_setter set_map, const char *const *drop, const char *arch)
{
    gguf_file *g;
    assert_int_equal(gguf_open(src, &g), MOTE_OK);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const char *key = g->kv[i].key;
        if (arch && strcmp(key, "general.architecture") == 0)
            assert_int_equal(gguf_writer_add_str(w, key, arch), MOTE_OK);
        else if (strcmp(key, ARCH_KEY_BLOCK_MAP) != 0)
            assert_int_equal(gguf_writer_add_kv(w, &g->kv[i]), MOTE_OK);
    }
    if (set_map) assert_int_equal(set_map(w), MOTE_OK);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        int skip = 0;
        for (int d = 0; drop && drop[d]; d++) skip |= strcmp(drop[d], t->name) == 0;
        if (!skip) assert_int_equal(gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data), MOTE_OK);
    }
    char *path = test_temp_file("share-bad");
    assert_int_equal(gguf_writer_write_file(w, path), MOTE_OK);
    gguf_writer_free(w);
    gguf_close(g);
    return path;
}

/* Opening path fails with MOTE_E_FORMAT and a message holding each of want. */
static void expect_refused(const char *path, const char *const *want)
{
    mote_model *m = NULL;
    mote_status st = mote_model_open(path, NULL, &m);
    if (st == MOTE_OK) fail_msg("%s opened", path);
    assert_null(m);
    assert_int_equal(st, MOTE_E_FORMAT);
    for (int i = 0; want[i]; i++)
        if (!strstr(mote_last_error(), want[i])) fail_msg("'%s' lacks '%s'", mote_last_error(), want[i]);
}

#define MAP_U32(fn, ...)                                                                       \
    static mote_status fn(gguf_writer *w)                                                      \
    {                                                                                          \
        static const uint32_t v[] = {__VA_ARGS__};                                            \
        return gguf_writer_add_arr(w, ARCH_KEY_BLOCK_MAP, GGUF_TYPE_UINT32, v, sizeof v / sizeof v[0]); \
    }
MAP_U32(map_short, 0, 0, 1, 1)
MAP_U32(map_out_of_range, 0, 0, 1, 1, 5)
MAP_U32(map_unused, 0, 0, 2, 2, 3)
MAP_U32(map_ok, 0, 0, 1, 1, 2)
static mote_status map_floats(gguf_writer *w)
{
    static const float v[] = {0, 0, 1, 1, 2};
    return gguf_writer_add_arr(w, ARCH_KEY_BLOCK_MAP, GGUF_TYPE_FLOAT32, v, 5);
}
static mote_status map_string(gguf_writer *w) { return gguf_writer_add_str(w, ARCH_KEY_BLOCK_MAP, "0,0,1,1,2"); }
static mote_status map_signed(gguf_writer *w)
{
    static const int32_t v[] = {0, 0, 1, -1, 2};
    return gguf_writer_add_arr(w, ARCH_KEY_BLOCK_MAP, GGUF_TYPE_INT32, v, 5);
}

static void test_bad_maps(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *in = model_path("stories260K.gguf");
    static const struct {
        map_setter set;
        const char *const drop[2];
        const char *const want[5];
    } cases[] = {
        {map_short, {NULL}, {"mote.block_map", "4 elements", "block_count is 5"}},
        {map_out_of_range, {NULL}, {"mote.block_map", "layer 4", "stored block 5", "outside 0..4"}},
        {map_signed, {NULL}, {"mote.block_map", "layer 3", "stored block -1"}},
        {map_unused, {NULL}, {"mote.block_map", "no layer", "stored block 1"}},
        {map_floats, {NULL}, {"mote.block_map", "FLOAT32", "UINT32"}},
        {map_string, {NULL}, {"mote.block_map", "STRING", "UINT32"}},
        /* blocks 3 and 4 of the file are left over: no layer reads them */
        {map_ok, {NULL}, {"blk.3.", "not used", "mote.block_map", "3 stored blocks"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = copy_with(in, cases[i].set, cases[i].drop, NULL);
        expect_refused(bad, cases[i].want);
        test_remove_temp(bad);
    }
    /* a stored block that lacks a tensor: named with its layer and block */
    char *shared = test_temp_file("share-s");
    mote_share_result r = share(in, shared, 0, (const int[]){0, 0, 1, 1, 2}, 5, MOTE_SHARE_MEAN, 1);
    mote_share_result_free(&r);
    char *bad = copy_with(shared, map_ok, (const char *const[]){"blk.2.ffn_down.weight", NULL}, NULL);
    expect_refused(bad, (const char *const[]){"layer 4, stored block 2", "blk.2.ffn_down.weight", "missing", NULL});
    test_remove_temp(bad);
    /* the same map over the tensors it names opens */
    bad = copy_with(shared, map_ok, NULL, NULL);
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(bad, NULL, &m), MOTE_OK);
    mote_model_close(m);
    test_remove_temp(bad);
    test_remove_temp(shared);
    free(in);
}

/* ------------------------------------------------------------------------
 * The tool's errors
 * ---------------------------------------------------------------------- */

static int cancel_at_once(void *user, uint64_t done, uint64_t total) { return 1; }

static void test_share_errors(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *in = model_path("stories260K.gguf"), *out = test_temp_file("share-e");
    unlink(out);
    mote_share_params p = mote_share_default_params();
    p.in_path = in;
    p.out_path = out;
    mote_share_result r;
    static const int bad_counts[] = {0, -1, 6};
    for (size_t i = 0; i < 3; i++) {
        p.n_blocks = bad_counts[i];
        assert_int_equal(mote_share(&p, &r), MOTE_E_INVALID);
        assert_non_null(strstr(mote_last_error(), "1..5"));
        assert_null(r.block_map);
    }
    p.n_blocks = 2;
    p.block_map = (const int[]){0, 1, 2};
    p.block_map_len = 3;
    assert_int_equal(mote_share(&p, &r), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "3 entries"));
    p.block_map = (const int[]){0, 1, 7, 1, 0};
    p.block_map_len = 5;
    p.n_blocks = 0;
    assert_int_equal(mote_share(&p, &r), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "outside 0..4"));
    p.block_map = NULL;
    p.block_map_len = 0;

    p.progress = cancel_at_once;
    p.n_blocks = 2;
    assert_int_equal(mote_share(&p, &r), MOTE_E_CANCELLED);
    assert_int_not_equal(access(out, F_OK), 0); /* nothing written */
    p.progress = NULL;

    /* not a GGUF file; a vocabulary without layers; an architecture mote does not run */
    p.in_path = shared_path("golden/story.txt");
    assert_int_equal(mote_share(&p, &r), MOTE_E_FORMAT);
    p.in_path = shared_path("vocab/ggml-vocab-llama-spm.gguf");
    assert_int_equal(mote_share(&p, &r), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "no tensors"));
    char *mamba = copy_with(in, NULL, NULL, "mamba");
    p.in_path = mamba;
    assert_int_equal(mote_share(&p, &r), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "'mamba' is not supported"));
    assert_int_not_equal(access(out, F_OK), 0);
    test_remove_temp(mamba);
    test_remove_temp(out);
    free(in);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_equals_full_stories),
        cmocka_unit_test(test_shared_equals_full_tinystories),
        cmocka_unit_test(test_shared_equals_full_quantized),
        cmocka_unit_test(test_all_blocks_is_identity),
        cmocka_unit_test(test_similarity_merges_alike),
        cmocka_unit_test(test_bad_maps),
        cmocka_unit_test(test_share_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
