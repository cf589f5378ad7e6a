/*
 * test_quantize.c — mote quantize's rules (src/toolkit/quant_rules.c) and
 * its library call (src/toolkit/quantize.c); test_quantize_llama.c holds
 * the output to llama.cpp's byte for byte.
 *
 * - The rules, with expectations worked out by hand from llama-quant.cpp:
 *   which tensors may be quantized, the _M mixes' use_more_bits layers,
 *   the head of a tied model, fallbacks for rows that are not whole
 *   blocks, --pure, explicit output and embedding types, F16 files.
 * - Files llama-quantize made (shared/models: TinyStories --pure, the synth
 *   and archs fixtures' Q4_K_M and Q8_0): mote quantize makes the same
 *   bytes from their F32/F16 sources (no llama.cpp needed).
 * - The same file whatever the thread count; a loadable output.
 * - Errors leave nothing behind: a non-GGUF input, an unreadable one, an
 *   unknown type, an unwritable folder, an unknown architecture, the input
 *   as the output, a cancellation.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/ggml_type.h"
#include "gguf/gguf_write.h"
#include "mote_tools.h"
#include "testutil.h"
#include "toolkit/quant_rules.h"

/* ------------------------------------------------------------------------
 * Rules
 * ---------------------------------------------------------------------- */

typedef struct tinfo {
    const char *name;
    uint32_t n_dims;
    int64_t ne0;
} tinfo;

/* The types the rules give tensors t[0..n) (in this order) of a model of
 * n_layer blocks with n_gqa query heads per KV head. */
static void types_of(const char *ftype, int pure, const char *out_type, const char *embd_type, int n_layer,
                     int n_gqa, const tinfo *t, int n, uint32_t *types)
{
    quant_options opt = {.pure = pure, .output_type = QUANT_TYPE_NONE, .token_embd_type = QUANT_TYPE_NONE};
    assert_int_equal(quant_parse_ftype(ftype, &opt.ftype, NULL), MOTE_OK);
    if (out_type) assert_int_equal(quant_parse_type(out_type, &opt.output_type), MOTE_OK);
    if (embd_type) assert_int_equal(quant_parse_type(embd_type, &opt.token_embd_type), MOTE_OK);
    const char *names[64];
    for (int i = 0; i < n; i++) names[i] = t[i].name;
    quant_model m = quant_model_of("llama", n_layer, n_gqa * 2, 2, 0);
    quant_rules r;
    assert_int_equal(quant_rules_init(&r, &opt, &m, names, n), MOTE_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(quant_tensor_type(&r, t[i].name, t[i].n_dims, t[i].ne0, GGML_TYPE_F32, &types[i]),
                         MOTE_OK);
}

static void test_allows(void **state)
{
    (void)state;
    assert_true(quant_tensor_allows("blk.0.attn_q.weight", 2));
    assert_true(quant_tensor_allows("token_embd.weight", 2));
    assert_true(quant_tensor_allows("output.weight", 2));
    assert_false(quant_tensor_allows("blk.0.attn_q.weight", 1));     /* 1-D (or [n, 1]) */
    assert_false(quant_tensor_allows("blk.0.attn_norm.weight", 2)); /* norms */
    assert_false(quant_tensor_allows("blk.0.attn_q.bias", 2));      /* not a weight */
    assert_false(quant_tensor_allows("position_embd.weight", 2));   /* BERT's tables */
    assert_false(quant_tensor_allows("token_types.weight", 2));
    assert_false(quant_tensor_allows("blk.0.ffn_gate_inp.weight", 2)); /* MoE router */
    assert_false(quant_tensor_allows("weight.scale", 2));
    assert_true(quant_tensor_allows("abcde", 2)); /* llama.cpp's rfind quirk: 5 chars pass */
}

/* Q4_K_M on 8 blocks: attn_v and ffn_down of blocks 0, 3, 6, 7 get Q6_K
 * (use_more_bits: i < 1, i >= 7, (i - 1) % 3 == 2); a tied head Q6_K. */
static void test_q4_k_m_mix(void **state)
{
    (void)state;
    tinfo t[1 + 8 * 3];
    char names[8][3][32];
    int n = 0;
    t[n++] = (tinfo){"token_embd.weight", 2, 256};
    for (int il = 0; il < 8; il++) {
        const char *parts[3] = {"attn_q", "attn_v", "ffn_down"};
        for (int k = 0; k < 3; k++) {
            snprintf(names[il][k], sizeof names[il][k], "blk.%d.%s.weight", il, parts[k]);
            t[n++] = (tinfo){names[il][k], 2, 256};
        }
    }
    uint32_t ty[1 + 8 * 3];
    types_of("Q4_K_M", 0, NULL, NULL, 8, 1, t, n, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q6_K); /* no output.weight: the embeddings are the head */
    for (int il = 0; il < 8; il++) {
        const uint32_t more = (il == 0 || il == 3 || il == 6 || il == 7) ? GGML_TYPE_Q6_K : GGML_TYPE_Q4_K;
        assert_int_equal(ty[1 + 3 * il], GGML_TYPE_Q4_K);
        assert_int_equal(ty[2 + 3 * il], more);
        assert_int_equal(ty[3 + 3 * il], more);
    }
    /* --pure: the base type everywhere, the head too */
    types_of("Q4_K_M", 1, NULL, NULL, 8, 1, t, n, ty);
    for (int i = 0; i < n; i++) assert_int_equal(ty[i], GGML_TYPE_Q4_K);
}

static void test_head_and_explicit_types(void **state)
{
    (void)state;
    const tinfo t[] = {{"output.weight", 2, 256}, {"token_embd.weight", 2, 256}, {"output_norm.weight", 1, 256}};
    uint32_t ty[3];
    types_of("Q4_0", 0, NULL, NULL, 2, 1, t, 3, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q6_K);
    assert_int_equal(ty[1], GGML_TYPE_Q4_0); /* not tied: the base type */
    assert_int_equal(ty[2], GGML_TYPE_F32);  /* 1-D: as it is */
    types_of("Q8_0", 0, NULL, NULL, 2, 1, t, 3, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q8_0); /* Q8_0 files keep Q8_0 heads */
    types_of("Q4_K_M", 1, "Q8_0", "F16", 2, 1, t, 3, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q8_0); /* explicit types win over --pure */
    assert_int_equal(ty[1], GGML_TYPE_F16);
    /* explicit types take no fallback: 48 is no whole block of Q4_K */
    const tinfo odd[] = {{"output.weight", 2, 48}, {"token_embd.weight", 2, 48}};
    types_of("Q4_0", 0, "Q4_K", "Q2_K", 2, 1, odd, 2, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q4_K);
    assert_int_equal(ty[1], GGML_TYPE_Q2_K);
    /* F16 files: every matrix F16, the head too */
    types_of("F16", 0, NULL, NULL, 2, 1, t, 3, ty);
    assert_int_equal(ty[0], GGML_TYPE_F16);
    assert_int_equal(ty[1], GGML_TYPE_F16);
    assert_int_equal(ty[2], GGML_TYPE_F32);
}

/* tensor_type_fallback: K and IQ types of 256-blocks step down to a
 * 32-block type, and to F16 when even that does not fit. */
static void test_fallbacks(void **state)
{
    (void)state;
    const struct {
        const char *ftype;
        int64_t ne0;
        uint32_t want;
    } cases[] = {
        {"Q4_K_S", 320, GGML_TYPE_Q5_0}, {"Q5_K_S", 320, GGML_TYPE_Q5_1}, {"Q6_K", 320, GGML_TYPE_Q8_0},
        {"Q2_K", 320, GGML_TYPE_Q4_0},   {"Q3_K_S", 320, GGML_TYPE_Q4_0}, {"IQ4_XS", 320, GGML_TYPE_IQ4_NL},
        {"Q4_K_S", 48, GGML_TYPE_F16},   {"Q4_0", 48, GGML_TYPE_F16},     {"Q8_0", 320, GGML_TYPE_Q8_0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const tinfo t[] = {{"blk.0.attn_q.weight", 2, cases[i].ne0}};
        uint32_t ty;
        types_of(cases[i].ftype, 1, NULL, NULL, 1, 1, t, 1, &ty);
        if (ty != cases[i].want)
            fail_msg("%s, rows of %lld: %s, want %s", cases[i].ftype, (long long)cases[i].ne0,
                     ggml_type_name(ty), ggml_type_name(cases[i].want));
    }
    /* the head falls to Q8_0 when the base type's block does not divide it */
    const tinfo head[] = {{"output.weight", 2, 320}};
    uint32_t ty;
    types_of("Q4_K_M", 0, NULL, NULL, 1, 1, head, 1, &ty);
    assert_int_equal(ty, GGML_TYPE_Q8_0);
}

/* Q2_K and Q3_K_M: attn_v by GQA and by count, attn_output and ffn_down. */
static void test_low_bit_mixes(void **state)
{
    (void)state;
    const tinfo t[] = {{"blk.0.attn_v.weight", 2, 256},   {"blk.0.attn_output.weight", 2, 256},
                       {"blk.0.ffn_down.weight", 2, 256}, {"blk.1.attn_v.weight", 2, 256},
                       {"blk.2.attn_v.weight", 2, 256}};
    uint32_t ty[5];
    types_of("Q2_K", 0, NULL, NULL, 3, 1, t, 5, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q3_K);
    assert_int_equal(ty[1], GGML_TYPE_Q3_K);
    assert_int_equal(ty[2], GGML_TYPE_Q3_K);
    types_of("Q2_K", 0, NULL, NULL, 3, 4, t, 5, ty); /* 4 query heads per KV head */
    assert_int_equal(ty[0], GGML_TYPE_Q4_K);
    types_of("Q3_K_M", 0, NULL, NULL, 3, 1, t, 5, ty);
    assert_int_equal(ty[0], GGML_TYPE_Q5_K); /* the first two attn_v */
    assert_int_equal(ty[3], GGML_TYPE_Q5_K);
    assert_int_equal(ty[4], GGML_TYPE_Q4_K);
    assert_int_equal(ty[1], GGML_TYPE_Q4_K);
    assert_int_equal(ty[2], GGML_TYPE_Q4_K);
}

static void test_parse(void **state)
{
    (void)state;
    uint32_t ft, base, t;
    assert_int_equal(quant_parse_ftype("q4_k_m", &ft, &base), MOTE_OK);
    assert_int_equal(ft, QUANT_FTYPE_Q4_K_M);
    assert_int_equal(base, GGML_TYPE_Q4_K);
    assert_int_equal(quant_parse_ftype("Q5_K", &ft, NULL), MOTE_OK);
    assert_int_equal(ft, QUANT_FTYPE_Q5_K_M);
    assert_int_equal(quant_parse_ftype("Q4_K_X", &ft, NULL), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "Q4_K_X"));
    assert_int_equal(quant_parse_type("iq4_nl", &t), MOTE_OK);
    assert_int_equal(t, GGML_TYPE_IQ4_NL);
    assert_int_equal(quant_parse_type("Q8_K", &t), MOTE_E_INVALID); /* an activation format */
    assert_int_equal(quant_parse_type("IQ2_XXS", &t), MOTE_E_INVALID);
    int n = 0;
    while (mote_quantize_type_name(n)) n++;
    assert_int_equal(n, 20);
    assert_int_equal(quant_parse_ftype("fp8", &ft, &base), MOTE_OK);
    assert_int_equal(ft, QUANT_FTYPE_FP8);
    assert_int_equal(base, MOTE_TYPE_FP8);
    assert_int_equal(quant_parse_type("FP8", &t), MOTE_OK);
    assert_int_equal(t, MOTE_TYPE_FP8);
}


/* ------------------------------------------------------------------------
 * The library call
 * ---------------------------------------------------------------------- */

static int requantize_notices;

static void on_notice(void *user, const char *text)
{
    (void)user;
    requantize_notices += strstr(text, "requantiz") != NULL;
}

/* Quantize shared model `in` (relative to ../shared) to out. */
static mote_status quantize(const char *in, const char *out, const char *type, int pure, int n_threads)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", shared_path(in));
    mote_quantize_params p = mote_quantize_default_params();
    p.in_path = path;
    p.out_path = out;
    p.type = type;
    p.pure = pure;
    p.n_threads = n_threads;
    p.notice = on_notice;
    return mote_quantize(&p, NULL);
}

/* Files of shared/models that llama-quantize made, and their sources. */
static void test_same_as_shared_fixtures(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    static const struct {
        const char *src, *type;
        int pure;
        const char *made;
    } cases[] = {
        {"models/TinyStories-656K-F32.gguf", "Q4_0", 1, "models/TinyStories-656K-Q4_0.gguf"},
        {"models/TinyStories-656K.f16.gguf", "Q4_1", 1, "models/TinyStories-656K-Q4_1.gguf"},
        {"models/TinyStories-656K-F32.gguf", "Q5_0", 1, "models/TinyStories-656K-Q5_0.gguf"},
        {"models/TinyStories-656K.f16.gguf", "Q5_1", 1, "models/TinyStories-656K-Q5_1.gguf"},
        {"models/TinyStories-656K-F32.gguf", "BF16", 1, "models/TinyStories-656K-BF16.gguf"},
        {"models/synth-llama-F32.gguf", "Q4_K_M", 0, "models/synth-llama-Q4_K_M.gguf"},
        {"models/synth-qwen2-F32.gguf", "Q4_K_M", 0, "models/synth-qwen2-Q4_K_M.gguf"},
        {"models/synth-llama3-F32.gguf", "Q4_K_M", 0, "models/synth-llama3-Q4_K_M.gguf"},
        {"models/archs/synth-phi3-F32.gguf", "Q4_K_M", 0, "models/archs/synth-phi3-Q4_K_M.gguf"},
        {"models/archs/synth-gemma3-F32.gguf", "Q4_K_M", 0, "models/archs/synth-gemma3-Q4_K_M.gguf"},
        {"models/archs/synth-qwen3-F32.gguf", "Q8_0", 1, "models/archs/synth-qwen3-Q8_0.gguf"},
        {"models/archs/synth-granite-F32.gguf", "Q4_K_M", 0, "models/archs/synth-granite-Q4_K_M.gguf"},
        {"models/archs/synth-smollm3-F32.gguf", "Q8_0", 1, "models/archs/synth-smollm3-Q8_0.gguf"},
    };
    char *out = test_temp_file("mote-quant");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (quantize(cases[i].src, out, cases[i].type, cases[i].pure, 2) != MOTE_OK)
            fail_msg("%s %s: %s", cases[i].src, cases[i].type, mote_last_error());
        char made[4096];
        snprintf(made, sizeof made, "%s", shared_path(cases[i].made));
        if (!test_same_bytes(out, made)) fail_msg("%s %s differs from %s", cases[i].src, cases[i].type, made);
    }
    test_remove_temp(out);
}

static void test_threads_and_loading(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char *a = test_temp_file("mote-quant"), *b = test_temp_file("mote-quant");
    requantize_notices = 0;
    assert_int_equal(quantize("models/synth-llama-F32.gguf", a, "Q3_K_M", 0, 1), MOTE_OK);
    assert_int_equal(quantize("models/synth-llama-F32.gguf", b, "Q3_K_M", 0, 3), MOTE_OK);
    assert_true(test_same_bytes(a, b));
    assert_int_equal(requantize_notices, 0);
    mote_model *m = NULL;
    mote_model_params mp = mote_model_default_params();
    assert_int_equal(mote_model_open(a, &mp, &m), MOTE_OK);
    mote_model_close(m);

    /* a quantized input is requantized, with a notice */
    mote_quantize_stats st;
    char path[4096];
    snprintf(path, sizeof path, "%s", shared_path("models/TinyStories-656K-Q8_0.gguf"));
    mote_quantize_params p = mote_quantize_default_params();
    p.in_path = path;
    p.out_path = a;
    p.type = "Q4_0";
    p.notice = on_notice;
    assert_int_equal(mote_quantize(&p, &st), MOTE_OK);
    assert_int_equal(requantize_notices, 1);
    assert_true(st.n_requantized > 0);
    assert_true(st.n_quantized >= st.n_requantized);
    assert_true(st.bytes_out < st.bytes_in);
    test_remove_temp(a);
    test_remove_temp(b);
}

/* FP8 (mote's own type): every matrix FP8, head included, file type 128;
 * the file runs, and an importance matrix changes nothing (the scale is a
 * power of two chosen from the block's maximum). */
static void test_fp8_files(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char *a = test_temp_file("mote-quant-fp8"), *b = test_temp_file("mote-quant-fp8");
    assert_int_equal(quantize("models/synth-llama-F32.gguf", a, "FP8", 0, 2), MOTE_OK);
    gguf_file *f;
    assert_int_equal(gguf_open(a, &f), MOTE_OK);
    uint32_t ft;
    assert_int_equal(gguf_get_u32(f, "general.file_type", &ft), MOTE_OK);
    assert_int_equal(ft, MOTE_FTYPE_FP8);
    int n_fp8 = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t->n_dims >= 2) assert_int_equal(t->type, MOTE_TYPE_FP8), n_fp8++;
        else assert_int_equal(t->type, GGML_TYPE_F32);
    }
    assert_true(n_fp8 > 0);
    assert_non_null(gguf_find_tensor(f, "output.weight"));
    gguf_close(f);
    mote_model *m = NULL;
    assert_int_equal(mote_model_open(a, NULL, &m), MOTE_OK);
    mote_model_close(m);

    float ones[4096];
    for (int i = 0; i < 4096; i++) ones[i] = 1.0f + (float)(i % 7);
    const mote_imatrix_entry e = {.name = "blk.0.attn_q.weight", .data = ones, .n = 256};
    char path[4096];
    snprintf(path, sizeof path, "%s", shared_path("models/synth-llama-F32.gguf"));
    mote_quantize_params p = mote_quantize_default_params();
    p.in_path = path;
    p.out_path = b;
    p.type = "FP8";
    p.imatrix = &e;
    p.n_imatrix = 1;
    assert_int_equal(mote_quantize(&p, NULL), MOTE_OK);
    assert_int_equal(gguf_open(b, &f), MOTE_OK);
    gguf_file *g;
    assert_int_equal(gguf_open(a, &g), MOTE_OK);
    const gguf_tensor *x = gguf_find_tensor(f, "blk.0.attn_q.weight"), *y = gguf_find_tensor(g, "blk.0.attn_q.weight");
    assert_int_equal(x->ne[0], 256);
    assert_memory_equal(x->data, y->data, x->nbytes);
    gguf_close(f);
    gguf_close(g);
    test_remove_temp(a);
    test_remove_temp(b);
}

/* ------------------------------------------------------------------------
 * Errors leave nothing behind
 * ---------------------------------------------------------------------- */

/* Files in dir whose names start with stem. */
static int count_files(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strncmp(e->d_name, stem, strlen(stem)) == 0;
    closedir(d);
    return n;
}

static int cancel_at_once(void *user, uint64_t done, uint64_t total)
{
    (void)user, (void)done, (void)total;
    return 1;
}

static void test_errors(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char dir[] = "/tmp/mote-quant-err-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[4200], text[4200], alien[4200], model[4096];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    snprintf(text, sizeof text, "%s/not-a-model.gguf", dir);
    snprintf(alien, sizeof alien, "%s/falcon.gguf", dir);
    snprintf(model, sizeof model, "%s", shared_path("models/stories260K.gguf"));
    FILE *fp = fopen(text, "w");
    assert_non_null(fp);
    fputs("this is no GGUF file, just text that is long enough to be read\n", fp);
    fclose(fp);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "falcon"), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "falcon.block_count", 1), MOTE_OK);
    static const float zeros[64 * 64];
    assert_int_equal(gguf_writer_add_tensor(w, "blk.0.attn_qkv.weight", GGML_TYPE_F32, 2,
                                            (const int64_t[]){64, 64}, zeros), MOTE_OK);
    assert_int_equal(gguf_writer_write_file(w, alien), MOTE_OK);
    gguf_writer_free(w);

    mote_quantize_params p = mote_quantize_default_params();
    p.out_path = out;
    p.type = "Q4_K_M";
    const struct {
        const char *in, *out, *type;
        mote_status want;
        const char *says;
    } cases[] = {
        {text, out, "Q4_K_M", MOTE_E_FORMAT, "not-a-model.gguf"},
        {"/nonexistent/model.gguf", out, "Q4_K_M", MOTE_E_IO, "/nonexistent/model.gguf"},
        {model, out, "Q4_K_X", MOTE_E_INVALID, "Q4_K_X"},
        {model, "/nonexistent-dir/out.gguf", "Q8_0", MOTE_E_IO, "/nonexistent-dir/out.gguf"},
        {alien, out, "Q8_0", MOTE_E_UNSUPPORTED, "falcon"},
        {alien, alien, "Q8_0", MOTE_E_INVALID, "both the input and the output"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p.in_path = cases[i].in;
        p.out_path = cases[i].out;
        p.type = cases[i].type;
        mote_status st = mote_quantize(&p, NULL);
        if (st != cases[i].want || !strstr(mote_last_error(), cases[i].says))
            fail_msg("case %zu: status %d, want %d: %s (should name '%s')", i, st, cases[i].want,
                     mote_last_error(), cases[i].says);
        assert_int_equal(count_files(dir, "out.gguf"), 0);
    }
    /* a cancellation */
    p.in_path = model;
    p.out_path = out;
    p.type = "Q4_0";
    p.progress = cancel_at_once;
    assert_int_equal(mote_quantize(&p, NULL), MOTE_E_CANCELLED);
    assert_int_equal(count_files(dir, "out.gguf"), 0);
    /* NULL and bad parameters */
    assert_int_equal(mote_quantize(NULL, NULL), MOTE_E_INVALID);
    p.progress = NULL;
    p.n_threads = -1;
    assert_int_equal(mote_quantize(&p, NULL), MOTE_E_INVALID);
    p.n_threads = 0;
    p.output_type = "Q9_9";
    assert_int_equal(mote_quantize(&p, NULL), MOTE_E_INVALID);
    assert_int_equal(count_files(dir, "out.gguf"), 0);

    unlink(text);
    unlink(alien);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allows),
        cmocka_unit_test(test_q4_k_m_mix),
        cmocka_unit_test(test_head_and_explicit_types),
        cmocka_unit_test(test_fallbacks),
        cmocka_unit_test(test_low_bit_mixes),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_same_as_shared_fixtures),
        cmocka_unit_test(test_threads_and_loading),
        cmocka_unit_test(test_fp8_files),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
