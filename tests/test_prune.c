/*
 * test_prune.c — structured pruning (src/toolkit/prune.c).
 *
 * - A plan that cuts nothing rewrites the file byte for byte.
 * - Cutting FFN neurons gives the logits of the original model whose
 *   cut neurons' ffn_down columns are zero (they then add nothing), to
 *   float rounding: the written file is the same model, smaller.
 * - Dropping a layer leaves the other layers' tensors byte-identical under
 *   their new numbers, and a file mote loads with one layer fewer.
 * - The neuron ranking keeps the neurons whose product of activation and
 *   ffn_down column norm is highest; impossible settings are refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "mote.h"
#include "mote_tools.h"
#include "tensor/quant.h"
#include "testutil.h"
#include "toolkit/prune.h"

#define MODEL "models/TinyStories-656K-F32.gguf"

static const mote_token prompt[] = {1, 400, 261, 345, 367, 281, 28, 290, 403, 29, 301, 200, 300};
#define N_PROMPT ((int)(sizeof prompt / sizeof prompt[0]))

/* Logits of every prompt token; caller frees. */
static float *model_logits(const char *path, int *n_vocab)
{
    mote_model *m = NULL;
    mote_session *s = NULL;
    assert_int_equal(mote_model_open(path, NULL, &m), MOTE_OK);
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = 64;
    sp.n_threads = 1;
    assert_int_equal(mote_session_create(m, &sp, &s), MOTE_OK);
    assert_int_equal(mote_session_eval(s, prompt, N_PROMPT, 1), MOTE_OK);
    mote_model_info info;
    assert_int_equal(mote_model_get_info(m, &info), MOTE_OK);
    *n_vocab = info.n_vocab;
    float *out = malloc(sizeof(float) * (size_t)info.n_vocab * N_PROMPT);
    assert_non_null(out);
    for (int i = 0; i < N_PROMPT; i++)
        memcpy(out + (size_t)i * info.n_vocab, mote_session_logits(s, i), sizeof(float) * info.n_vocab);
    mote_session_free(s);
    mote_model_close(m);
    return out;
}

static int64_t file_n_ff(const gguf_file *f)
{
    uint32_t n_ff;
    assert_int_equal(gguf_get_u32(f, "llama.feed_forward_length", &n_ff), MOTE_OK);
    return n_ff;
}

static int file_n_layer(const gguf_file *f)
{
    uint32_t n;
    assert_int_equal(gguf_get_u32(f, "llama.block_count", &n), MOTE_OK);
    return (int)n;
}

static void identity_plan_copies_bytes(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    gguf_file *f;
    assert_int_equal(gguf_open(shared_path(MODEL), &f), MOTE_OK);
    prune_plan p = {.n_layer = file_n_layer(f), .n_ff = file_n_ff(f), .n_ff_keep = file_n_ff(f)};
    char *out = test_temp_file("prune-same");
    assert_int_equal(prune_write(f, &p, out, 1, NULL, NULL), MOTE_OK);
    size_t a_len, b_len;
    char *a = read_file(shared_path(MODEL), &a_len), *b = read_file(out, &b_len);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    test_remove_temp(out);
    gguf_close(f);
}

/* Every third neuron goes. */
static int32_t *every_third_cut(int n_layer, int64_t n_ff, int64_t *n_keep)
{
    int64_t k = 0;
    for (int64_t j = 0; j < n_ff; j++) k += j % 3 != 0;
    int32_t *keep = malloc(sizeof *keep * (size_t)n_layer * (size_t)k);
    assert_non_null(keep);
    for (int l = 0; l < n_layer; l++) {
        int64_t i = 0;
        for (int64_t j = 0; j < n_ff; j++)
            if (j % 3 != 0) keep[(size_t)l * (size_t)k + (size_t)i++] = (int32_t)j;
    }
    *n_keep = k;
    return keep;
}

/* The input with the columns of ffn_down that plan cuts set to zero. */
static mote_status zero_fill(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const gguf_tensor *t = user;
    size_t row = ggml_row_size(t->type, t->ne[0]);
    memcpy(buf, (const uint8_t *)t->data + row0 * row, n_rows * row);
    const char *name = t->name;
    if (strstr(name, "ffn_down.weight")) {
        float *x = buf;
        for (uint64_t r = 0; r < n_rows; r++)
            for (int64_t j = 0; j < t->ne[0]; j += 3) x[r * (uint64_t)t->ne[0] + (uint64_t)j] = 0;
    }
    return MOTE_OK;
}

static void ffn_cut_equals_zeroed_columns(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    gguf_file *f;
    assert_int_equal(gguf_open(shared_path(MODEL), &f), MOTE_OK);
    int n_layer = file_n_layer(f);
    int64_t n_ff = file_n_ff(f), k;
    int32_t *keep = every_third_cut(n_layer, n_ff, &k);
    prune_plan p = {.n_layer = n_layer, .n_ff = n_ff, .n_ff_keep = k, .keep = keep};
    char *cut = test_temp_file("prune-cut"), *zeroed = test_temp_file("prune-zero");
    assert_int_equal(prune_write(f, &p, cut, 2, NULL, NULL), MOTE_OK);

    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    for (uint64_t i = 0; i < f->n_kv; i++) assert_int_equal(gguf_writer_add_kv(w, &f->kv[i]), MOTE_OK);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        assert_int_equal(t->type, GGML_TYPE_F32);
        assert_int_equal(gguf_writer_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, zero_fill,
                                                     (void *)t),
                         MOTE_OK);
    }
    assert_int_equal(gguf_writer_write_file(w, zeroed), MOTE_OK);
    gguf_writer_free(w);

    gguf_file *g;
    assert_int_equal(gguf_open(cut, &g), MOTE_OK);
    assert_int_equal(file_n_ff(g), k);
    assert_true(g->tensors[g->n_tensors - 1].offset < f->tensors[f->n_tensors - 1].offset);
    gguf_close(g);

    int nv_a, nv_b;
    float *a = model_logits(zeroed, &nv_a), *b = model_logits(cut, &nv_b);
    assert_int_equal(nv_a, nv_b);
    double worst = 0;
    for (size_t i = 0; i < (size_t)nv_a * N_PROMPT; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    print_message("cut FFN %lld -> %lld: max |logit diff| vs zeroed columns %.3g\n", (long long)n_ff,
                  (long long)k, worst);
    assert_true(worst < 1e-4);
    free(a);
    free(b);
    free(keep);
    test_remove_temp(cut);
    test_remove_temp(zeroed);
    gguf_close(f);
}

static void drop_layer_renumbers(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    gguf_file *f;
    assert_int_equal(gguf_open(shared_path("models/stories260K.gguf"), &f), MOTE_OK);
    int n_layer = file_n_layer(f);
    assert_true(n_layer >= 3);
    uint8_t *drop = calloc((size_t)n_layer, 1);
    drop[1] = 1;
    prune_plan p = {.n_layer = n_layer, .drop = drop, .n_ff = file_n_ff(f), .n_ff_keep = file_n_ff(f)};
    char *out = test_temp_file("prune-drop");
    assert_int_equal(prune_write(f, &p, out, 1, NULL, NULL), MOTE_OK);
    gguf_file *g;
    assert_int_equal(gguf_open(out, &g), MOTE_OK);
    assert_int_equal(file_n_layer(g), n_layer - 1);
    int compared = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int layer;
        char rest[GGUF_MAX_NAME + 1], name[GGUF_MAX_NAME + 32];
        if (sscanf(t->name, "blk.%d.%64s", &layer, rest) != 2) {
            snprintf(name, sizeof name, "%s", t->name);
        } else if (layer == 1) {
            continue;
        } else {
            snprintf(name, sizeof name, "blk.%d.%s", layer > 1 ? layer - 1 : layer, rest);
        }
        const gguf_tensor *u = gguf_find_tensor(g, name);
        assert_non_null(u);
        assert_int_equal(u->nbytes, t->nbytes);
        assert_memory_equal(u->data, t->data, t->nbytes);
        compared++;
    }
    assert_int_equal((uint64_t)compared, g->n_tensors);
    gguf_close(g);
    int nv;
    float *logits = model_logits(out, &nv);  /* it loads and runs */
    for (size_t i = 0; i < (size_t)nv * N_PROMPT; i++) assert_true(isfinite(logits[i]));
    free(logits);
    test_remove_temp(out);
    free(drop);
    gguf_close(f);
}

static void choose_ranks_and_refuses(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    gguf_file *f;
    assert_int_equal(gguf_open(shared_path(MODEL), &f), MOTE_OK);
    int n_layer = file_n_layer(f);
    int64_t n_ff = file_n_ff(f);
    float *act2 = malloc(sizeof(float) * (size_t)n_layer * (size_t)n_ff);
    double cos[8] = {0.5, 0.9, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7};
    assert_true(n_layer <= 8);
    /* Activations that make the neurons of even index the loudest by far. */
    for (size_t i = 0; i < (size_t)n_layer * (size_t)n_ff; i++) act2[i] = (i % 2 == 0) ? 1e6f : 1e-6f;
    prune_stats s = {.n_layer = n_layer, .n_ff = n_ff, .ffn_act2 = act2, .block_cos = cos};
    int64_t width;
    assert_int_equal(prune_ffn_width(f, n_ff, 0.5, &width), MOTE_OK);
    assert_int_equal(width, n_ff / 2);
    prune_plan p;
    assert_int_equal(prune_choose(f, &s, width, 1, &p), MOTE_OK);
    for (int l = 0; l < n_layer; l++)
        for (int64_t j = 0; j < width; j++) assert_int_equal(p.keep[(size_t)l * (size_t)width + (size_t)j], 2 * j);
    assert_int_equal(p.drop[1], 1);  /* the layer with the highest cosine */
    assert_int_equal(p.drop[0], 0);
    prune_plan_free(&p);

    assert_int_equal(prune_choose(f, &s, width, n_layer, &p), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "cannot drop"));
    assert_int_equal(prune_ffn_width(f, n_ff, 0.001, &width), MOTE_E_INVALID);
    assert_int_equal(prune_ffn_width(f, n_ff, 1.5, &width), MOTE_E_INVALID);
    free(act2);
    gguf_close(f);
}

static mote_prune_params story_params(const char *model, const char *out)
{
    static char text[4096], in[4096];
    snprintf(text, sizeof text, "%s", shared_path("golden/story.txt"));
    snprintf(in, sizeof in, "%s", shared_path(model));
    mote_prune_params p = mote_prune_default_params();
    p.in_path = in;
    p.out_path = out;
    p.text_path = text;
    p.n_ctx = 128;
    p.n_threads = 2;
    return p;
}

/* mote_prune end to end: what it reports is what it wrote, the file runs,
 * and the layers dropped are those of highest cosine. */
static void prune_end_to_end(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char *out = test_temp_file("prune-run");
    mote_prune_params p = story_params("models/stories260K.gguf", out);
    p.ffn_keep = 0.5f;
    p.drop_layers = 2;
    mote_prune_result r;
    assert_int_equal(mote_prune(&p, &r), MOTE_OK);
    assert_int_equal(r.n_layer_in, 5);
    assert_int_equal(r.n_layer_out, 3);
    assert_int_equal(r.n_dropped, 2);
    assert_true(r.n_chunks > 1);
    assert_int_equal(r.n_ff_out, (r.n_ff_in + 1) / 2);
    double lowest_dropped = 2, highest_kept = -2;
    for (int l = 0, d = 0; l < r.n_layer_in; l++) {
        assert_true(r.block_cos[l] > -1.0001 && r.block_cos[l] < 1.0001);
        int dropped = d < r.n_dropped && r.dropped[d] == l;
        if (dropped) {
            d++;
            lowest_dropped = fmin(lowest_dropped, r.block_cos[l]);
        } else {
            highest_kept = fmax(highest_kept, r.block_cos[l]);
        }
    }
    assert_true(lowest_dropped >= highest_kept);
    gguf_file *g;
    assert_int_equal(gguf_open(out, &g), MOTE_OK);
    assert_int_equal(file_n_layer(g), 3);
    assert_int_equal(file_n_ff(g), r.n_ff_out);
    gguf_close(g);
    int nv;
    float *logits = model_logits(out, &nv);
    for (size_t i = 0; i < (size_t)nv * N_PROMPT; i++) assert_true(isfinite(logits[i]));
    free(logits);

    /* The text decides: cutting fewer neurons costs less on it. */
    mote_kld_params kp = mote_kld_default_params();
    kp.base_path = p.in_path;
    kp.cand_path = out;
    kp.text_path = p.text_path;
    kp.n_ctx = 128;
    mote_kld_result heavy, light;
    assert_int_equal(mote_kld(&kp, &heavy), MOTE_OK);
    p.ffn_keep = 0.9f;
    p.drop_layers = 0;
    mote_prune_result_free(&r);
    assert_int_equal(mote_prune(&p, &r), MOTE_OK);
    assert_int_equal(mote_kld(&kp, &light), MOTE_OK);
    print_message("stories260K: KLD %.4f with half the FFN and 2 layers gone, %.4f with 90%% of the FFN\n",
                  heavy.kld.mean, light.kld.mean);
    assert_true(light.kld.mean > 0 && light.kld.mean < heavy.kld.mean);
    mote_prune_result_free(&r);
    test_remove_temp(out);
}

/* Pruning by activations beats pruning the same count at random. */
static void ranking_beats_chance(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char *ranked = test_temp_file("prune-ranked"), *chance = test_temp_file("prune-chance");
    mote_prune_params p = story_params(MODEL, ranked);
    p.ffn_keep = 0.5f;
    assert_int_equal(mote_prune(&p, NULL), MOTE_OK);
    gguf_file *f;
    assert_int_equal(gguf_open(p.in_path, &f), MOTE_OK);
    int n_layer = file_n_layer(f);
    int64_t n_ff = file_n_ff(f), k = n_ff / 2;
    int32_t *keep = malloc(sizeof *keep * (size_t)n_layer * (size_t)k);
    uint64_t rng = 7;
    for (int l = 0; l < n_layer; l++) {
        int32_t *row = keep + (size_t)l * (size_t)k;
        int64_t picked = 0;
        for (int64_t j = 0; j < n_ff; j++) /* selection sampling: k of n_ff, in order */
            if ((double)test_rng_uniform(&rng) * (double)(n_ff - j) < (double)(k - picked)) row[picked++] = (int32_t)j;
        assert_int_equal(picked, k);
    }
    prune_plan plan = {.n_layer = n_layer, .n_ff = n_ff, .n_ff_keep = k, .keep = keep};
    assert_int_equal(prune_write(f, &plan, chance, 1, NULL, NULL), MOTE_OK);
    mote_kld_params kp = mote_kld_default_params();
    kp.base_path = p.in_path;
    kp.text_path = p.text_path;
    kp.n_ctx = 128;
    mote_kld_result a, b;
    kp.cand_path = ranked;
    assert_int_equal(mote_kld(&kp, &a), MOTE_OK);
    kp.cand_path = chance;
    assert_int_equal(mote_kld(&kp, &b), MOTE_OK);
    print_message("TinyStories-656K, half the FFN: KLD %.4f ranked, %.4f at random\n", a.kld.mean, b.kld.mean);
    assert_true(a.kld.mean < b.kld.mean);
    free(keep);
    gguf_close(f);
    test_remove_temp(ranked);
    test_remove_temp(chance);
}

/* llama.cpp loads the pruned files and computes what mote computes with
 * them (bench/build/llama-kld: llama.cpp's logits on mote kld's chunks). */
static void llama_loads_pruned(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *peer = test_llama_kld("pruned files are not run by llama.cpp");
    const char *models[] = {"models/stories260K.gguf", "models/TinyStories-656K-Q8_0.gguf"};
    for (int i = 0; i < 2; i++) {
        char *out = test_temp_file("prune-llama");
        mote_prune_params p = story_params(models[i], out);
        p.ffn_keep = 0.75f; /* Q8_0: rounded to whole blocks of 32 */
        p.drop_layers = 1;
        mote_prune_result r;
        assert_int_equal(mote_prune(&p, &r), MOTE_OK);
        mote_kld_params kp = mote_kld_default_params();
        kp.base_path = p.in_path;
        kp.cand_path = out;
        kp.text_path = p.text_path;
        kp.n_ctx = 128;
        mote_kld_result k;
        assert_int_equal(mote_kld(&kp, &k), MOTE_OK);
        char cmd[16384];
        snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' 128 2 2>&1", peer, p.in_path, out, p.text_path);
        FILE *f = popen(cmd, "r");
        assert_non_null(f);
        char got[8192];
        size_t n = fread(got, 1, sizeof got - 1, f);
        got[n] = '\0';
        if (pclose(f) != 0) fail_msg("llama.cpp on the pruned %s: %s", models[i], got);
        const double ppl = test_json_number(got, "ppl_cand");
        print_message("[  INFO    ] %s pruned to %d layers, %lld neurons: PPL mote %.4f, llama.cpp %.4f\n",
                      models[i], r.n_layer_out, (long long)r.n_ff_out, k.ppl_cand, ppl);
        assert_true(fabs(k.ppl_cand - ppl) <= 0.01 * ppl);
        mote_prune_result_free(&r);
        test_remove_temp(out);
    }
}

static int cancel_at_half(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    return done * 2 > total;
}

/* Refusals say what is wrong and leave no output. */
static void prune_refusals(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char out[4096];
    snprintf(out, sizeof out, "%s/mote-prune-refused-%d.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    unlink(out);
    const struct {
        const char *model;
        float keep;
        int drop;
        int n_ctx;
        mote_status st;
        const char *says;
    } bad[] = {
        {"models/stories260K.gguf", 1.0f, 5, 128, MOTE_E_INVALID, "cannot drop 5 of 5"},
        {"models/stories260K.gguf", 0.0f, 0, 128, MOTE_E_INVALID, "--ffn-keep"},
        {"models/stories260K.gguf", 1.5f, 0, 128, MOTE_E_INVALID, "--ffn-keep"},
        {"models/stories260K.gguf", 0.001f, 0, 128, MOTE_E_INVALID, "less than one"},
        {"models/stories260K.gguf", 0.5f, 0, 100000, MOTE_E_RANGE, "fewer than one chunk"},
        {"models/archs/synth-gemma3-F32.gguf", 1.0f, 1, 64, MOTE_E_UNSUPPORTED, "by position"},
        {"models/synth-bert-F32.gguf", 0.5f, 0, 64, MOTE_E_UNSUPPORTED, "text generation"},
        {"golden/story.txt", 0.5f, 0, 64, MOTE_E_FORMAT, "story.txt"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mote_prune_params p = story_params(bad[i].model, out);
        p.ffn_keep = bad[i].keep;
        p.drop_layers = bad[i].drop;
        p.n_ctx = bad[i].n_ctx;
        mote_prune_result r;
        mote_status st = mote_prune(&p, &r);
        print_message("%s: %s\n", bad[i].model, mote_last_error());
        assert_int_equal(st, bad[i].st);
        assert_non_null(strstr(mote_last_error(), bad[i].says));
        assert_null(r.dropped);
        assert_int_equal(access(out, F_OK), -1);
    }
    mote_prune_params p = story_params("models/stories260K.gguf", out);
    p.ffn_keep = 0.5f;
    p.progress = cancel_at_half;
    assert_int_equal(mote_prune(&p, NULL), MOTE_E_CANCELLED);
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_plan_copies_bytes),
        cmocka_unit_test(ffn_cut_equals_zeroed_columns),
        cmocka_unit_test(drop_layer_renumbers),
        cmocka_unit_test(choose_ranks_and_refuses),
        cmocka_unit_test(prune_end_to_end),
        cmocka_unit_test(ranking_beats_chance),
        cmocka_unit_test(llama_loads_pruned),
        cmocka_unit_test(prune_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
