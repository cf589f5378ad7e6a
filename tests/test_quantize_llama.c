/*
 * test_quantize_llama.c — mote_quantize against llama.cpp's own
 * llama_model_quantize, byte for byte.
 *
 * For each case of the table (a shared model, a file type, options), mote
 * quantizes the model in-process and the reference program
 * (tests/llama_quantize_ref.c, linked against bench/llama's libllama)
 * quantizes it with the same options; the files must be identical. A
 * difference is reported at its first byte with what lies there: the
 * metadata (the first key or tensor info that differs) or a tensor's data.
 *
 * The cases: every file type for the trained models (TinyStories F32 and
 * F16, stories260K), a requantization from Q8_0, the synth models whose
 * rows are whole 256-blocks (so the K-quant mixes are used, not their
 * fallbacks) of llama, qwen2, bert and the archs fixtures (fused qkv of
 * phi3, gemma3's norms), and --pure, --output-type and
 * --token-embedding-type variants. A case may name an importance matrix
 * (none do yet: mote's weighted quantizers are coming).
 *
 * The reference is built by `make test` when bench/llama-setup can install
 * llama.cpp from npm; without it the test skips (fails when
 * MOTE_REQUIRE_LLAMA_REF is set, as CI sets it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "mote_tools.h"
#include "runmote.h"
#include "testutil.h"
#include "toolkit/quant_rules.h"

#ifndef LLAMA_REF_PATH
#define LLAMA_REF_PATH "build/tests/llama_quantize_ref"
#endif

#define REF_TIMEOUT_S 120

/* One comparison: model (relative to ../shared), file type and options as
 * mote quantize takes them. */
typedef struct qcase {
    const char *model;
    const char *type;
    int pure;
    const char *output_type;      /* NULL: none */
    const char *token_embd_type;  /* NULL: none */
    const char *imatrix;          /* calibration text (relative to ../shared) of an importance matrix
                                   * mote imatrix computes for the case; NULL: none */
} qcase;

static const char *const all_types[] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS", "Q2_K",
                                        "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S",
                                        "Q5_K_M", "Q6_K", "Q8_0", "F16", "BF16", "F32"};
#define N_ALL_TYPES ((int)(sizeof all_types / sizeof all_types[0]))

/* Models quantized to every type. */
static const char *const every_type_models[] = {
    "models/TinyStories-656K-F32.gguf", "models/TinyStories-656K.f16.gguf", "models/stories260K.gguf",
    "models/TinyStories-656K-Q8_0.gguf", /* requantized */
    "models/synth-llama-F32.gguf",       "models/synth-qwen2-F32.gguf",
    "models/synth-llama3-F16.gguf",      "models/synth-bert-F32.gguf",
    "models/archs/synth-phi3-F32.gguf",  "models/archs/synth-gemma3-F32.gguf",
    "models/archs/synth-qwen3-F32.gguf", "models/archs/synth-granite-F32.gguf",
    "models/archs/synth-smollm3-F32.gguf",
};
#define N_EVERY ((int)(sizeof every_type_models / sizeof every_type_models[0]))

/* The option variants. */
static const qcase variants[] = {
    {"models/synth-llama-F32.gguf", "Q4_K_M", 1, NULL, NULL, NULL},
    {"models/synth-llama-F32.gguf", "Q3_K_M", 1, NULL, NULL, NULL},
    {"models/synth-llama-F32.gguf", "IQ4_XS", 1, NULL, NULL, NULL},
    {"models/TinyStories-656K-F32.gguf", "Q4_K_M", 1, NULL, NULL, NULL},
    {"models/TinyStories-656K-F32.gguf", "Q8_0", 1, NULL, NULL, NULL},
    {"models/synth-llama-F32.gguf", "Q4_K_M", 0, "Q8_0", NULL, NULL},
    {"models/synth-llama-F32.gguf", "Q4_0", 0, "F16", "Q8_0", NULL},
    {"models/synth-llama-F32.gguf", "Q5_K_M", 0, NULL, "Q2_K", NULL},
    {"models/synth-llama3-F16.gguf", "Q4_K_M", 0, "Q5_K", NULL, NULL}, /* tied: token_embd is the head */
    {"models/synth-llama3-F16.gguf", "Q4_K_S", 0, NULL, "Q6_K", NULL},
    {"models/synth-llama3-F16.gguf", "Q2_K", 1, "Q8_0", "IQ4_NL", NULL},
    {"models/TinyStories-656K.f16.gguf", "Q4_K_M", 0, "Q4_0", "BF16", NULL},
    {"models/synth-qwen2-F32.gguf", "F16", 0, "Q6_K", "Q4_K", NULL},
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

/* ------------------------------------------------------------------------
 * Reporting a difference
 * ---------------------------------------------------------------------- */

/* What lies at byte off of the two files: in the metadata, the first key
 * or tensor info that differs; in the data, the tensor holding it. */
static void describe(const char *mine, const char *ref, uint64_t off, char *buf, size_t cap)
{
    gguf_file *a = NULL, *b = NULL;
    if (gguf_open(mine, &a) != MOTE_OK || gguf_open(ref, &b) != MOTE_OK) {
        snprintf(buf, cap, "(a file does not open: %s)", mote_last_error());
    } else if (off < a->data_offset || off < b->data_offset) {
        snprintf(buf, cap, "in the metadata (%llu kv here, %llu in llama.cpp's; %llu tensors, %llu)",
                 (unsigned long long)a->n_kv, (unsigned long long)b->n_kv,
                 (unsigned long long)a->n_tensors, (unsigned long long)b->n_tensors);
        for (uint64_t i = 0; i < a->n_kv && i < b->n_kv; i++) {
            char va[128], vb[128];
            gguf_kv_to_string(&a->kv[i], va, sizeof va);
            gguf_kv_to_string(&b->kv[i], vb, sizeof vb);
            if (strcmp(a->kv[i].key, b->kv[i].key) != 0 || a->kv[i].type != b->kv[i].type ||
                strcmp(va, vb) != 0) {
                snprintf(buf, cap, "kv %llu: '%s' = %s here, '%s' = %s in llama.cpp's", (unsigned long long)i,
                         a->kv[i].key, va, b->kv[i].key, vb);
                break;
            }
        }
        for (uint64_t i = 0; i < a->n_tensors && i < b->n_tensors; i++) {
            const gguf_tensor *x = &a->tensors[i], *y = &b->tensors[i];
            if (strcmp(x->name, y->name) != 0 || x->type != y->type || x->n_dims != y->n_dims ||
                x->offset != y->offset) {
                snprintf(buf, cap, "tensor info %llu: '%s' %s dims %u here, '%s' %s dims %u in llama.cpp's",
                         (unsigned long long)i, x->name, ggml_type_name(x->type), x->n_dims, y->name,
                         ggml_type_name(y->type), y->n_dims);
                break;
            }
        }
    } else {
        snprintf(buf, cap, "in the data, past the last tensor");
        for (uint64_t i = 0; i < a->n_tensors; i++) {
            const gguf_tensor *t = &a->tensors[i];
            uint64_t start = a->data_offset + t->offset;
            if (off >= start && off < start + t->nbytes + a->alignment) {
                snprintf(buf, cap, "tensor '%s' (%s, %lld x %lld), byte %llu of its data", t->name,
                         ggml_type_name(t->type), (long long)t->ne[0], (long long)t->ne[1],
                         (unsigned long long)(off - start));
                break;
            }
        }
    }
    gguf_close(a);
    gguf_close(b);
}

/* "" when the files are equal, else where they first differ. */
static const char *compare_files(const char *mine, const char *ref)
{
    static char msg[1024];
    size_t na, nb;
    char *a = read_file(mine, &na), *b = read_file(ref, &nb);
    msg[0] = 0;
    if (!a || !b) {
        snprintf(msg, sizeof msg, "cannot read %s", a ? ref : mine);
    } else {
        size_t n = na < nb ? na : nb, off = 0;
        while (off < n && a[off] == b[off]) off++;
        if (off < n || na != nb) {
            char what[768];
            describe(mine, ref, off, what, sizeof what);
            snprintf(msg, sizeof msg, "%zu bytes here, %zu in llama.cpp's; first difference at byte %zu: %s",
                     na, nb, off, what);
        }
    }
    free(a);
    free(b);
    return msg;
}

/* ------------------------------------------------------------------------
 * Running a case
 * ---------------------------------------------------------------------- */

static const char *ref_path(void)
{
    const char *env = getenv("MOTE_LLAMA_REF");
    return env && *env ? env : LLAMA_REF_PATH;
}

/* Run llama.cpp's quantizer on the case (imatrix: the reference's own
 * imatrix file, or NULL; q: mote's parameters, whose quantize.imatrix.*
 * keys are passed as llama-quantize passes them); 0 on success. */
static int run_ref(const qcase *c, const char *in, const char *out, const char *imatrix,
                   const mote_quantize_params *q, char *why, size_t cap)
{
    uint32_t ftype, t;
    char ft[16], ot[16], tt[16];
    assert_int_equal(quant_parse_ftype(c->type, &ftype, NULL), MOTE_OK);
    snprintf(ft, sizeof ft, "%u", ftype);
    const char *args[32] = {in, out, ft, "-t", "2"};
    char entries[32], chunks[32];
    int n = 5;
    if (c->pure) args[n++] = "--pure";
    if (c->output_type) {
        assert_int_equal(quant_parse_type(c->output_type, &t), MOTE_OK);
        snprintf(ot, sizeof ot, "%u", t);
        args[n++] = "--output-type";
        args[n++] = ot;
    }
    if (c->token_embd_type) {
        assert_int_equal(quant_parse_type(c->token_embd_type, &t), MOTE_OK);
        snprintf(tt, sizeof tt, "%u", t);
        args[n++] = "--token-embedding-type";
        args[n++] = tt;
    }
    if (imatrix) {
        args[n++] = "--imatrix";
        args[n++] = imatrix;
        const char *kv[][3] = {{"--kv-str", "quantize.imatrix.file", q->imatrix_file},
                               {"--kv-str", "quantize.imatrix.dataset", q->imatrix_dataset},
                               {"--kv-int", "quantize.imatrix.entries_count", entries},
                               {"--kv-int", "quantize.imatrix.chunks_count", q->imatrix_chunks > 0 ? chunks : NULL}};
        snprintf(entries, sizeof entries, "%zu", q->n_imatrix);
        snprintf(chunks, sizeof chunks, "%d", q->imatrix_chunks);
        for (int i = 0; i < 4; i++)
            if (kv[i][2]) args[n++] = kv[i][0], args[n++] = kv[i][1], args[n++] = kv[i][2];
    }
    test_proc p = test_run_mote(ref_path(), NULL, args, REF_TIMEOUT_S);
    int rc = p.status;
    if (rc != 0) snprintf(why, cap, "llama_model_quantize failed (%d): %s", rc, p.err);
    test_proc_free(&p);
    return rc;
}

#define IMATRIX_CHUNK 64 /* tokens per chunk of the cases' importance matrices */

/* The importance matrix of model over the case's text, computed by mote
 * imatrix into a llama.cpp imatrix file and read back as llama-quantize
 * reads it; the same entries written in llama_quantize_ref's format to
 * *ref_file (test_remove_temp it). */
static mote_imatrix_set *case_imatrix(const qcase *c, const char *model, char **ref_file)
{
    char text[4096];
    snprintf(text, sizeof text, "%s", shared_path(c->imatrix));
    char *file = test_temp_file("quant-imatrix");
    mote_imatrix_params ip = mote_imatrix_default_params();
    ip.model_path = model;
    ip.text_path = text;
    ip.chunk_size = IMATRIX_CHUNK;
    ip.n_threads = 2;
    ip.out_path = file;
    if (mote_imatrix(&ip, NULL) != MOTE_OK) fail_msg("%s: mote_imatrix: %s", c->model, mote_last_error());
    mote_imatrix_set *set = NULL;
    if (mote_imatrix_load(file, &set) != MOTE_OK) fail_msg("%s: mote_imatrix_load: %s", c->model, mote_last_error());
    assert_true(set->n_entries > 0);
    test_remove_temp(file);
    *ref_file = test_temp_file("ref-imatrix");
    FILE *fp = fopen(*ref_file, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < set->n_entries; i++) {
        const mote_imatrix_entry *e = &set->entries[i];
        uint64_t n = e->n;
        assert_int_equal(fwrite(e->name, strlen(e->name) + 1, 1, fp), 1);
        assert_int_equal(fwrite(&n, sizeof n, 1, fp), 1);
        assert_int_equal(fwrite(e->data, sizeof *e->data, e->n, fp), e->n);
    }
    assert_int_equal(fclose(fp), 0);
    return set;
}

/* One case; returns 1 when the files differ (printing why), 0 when equal. */
static int run_case(const qcase *c)
{
    char in[4096];
    snprintf(in, sizeof in, "%s", shared_path(c->model));
    char *ref_imatrix = NULL;
    mote_imatrix_set *imatrix = c->imatrix ? case_imatrix(c, in, &ref_imatrix) : NULL;
    char *mine = test_temp_file("mote-quant"), *ref = test_temp_file("llama-quant");
    mote_quantize_params p = mote_quantize_default_params();
    p.in_path = in;
    p.out_path = mine;
    p.type = c->type;
    p.pure = c->pure;
    p.output_type = c->output_type;
    p.token_embedding_type = c->token_embd_type;
    p.n_threads = 2;
    if (imatrix) {
        p.imatrix = imatrix->entries;
        p.n_imatrix = imatrix->n_entries;
        p.imatrix_file = "imatrix.gguf"; /* the name llama-quantize would record */
        p.imatrix_dataset = imatrix->n_datasets ? imatrix->datasets[0] : NULL;
        p.imatrix_chunks = imatrix->chunk_count;
    }
    int bad = 0;
    char why[2048] = "";
    if (mote_quantize(&p, NULL) != MOTE_OK) {
        snprintf(why, sizeof why, "mote_quantize failed: %s", mote_last_error());
        bad = 1;
    } else if (run_ref(c, in, ref, ref_imatrix, &p, why, sizeof why) != 0) {
        bad = 1;
    } else {
        const char *diff = compare_files(mine, ref);
        if (*diff) snprintf(why, sizeof why, "%s", diff), bad = 1;
    }
    print_message("[ %s ] %s %s%s%s%s%s%s%s\n", bad ? "DIFF" : " OK ", c->model, c->type,
                  c->pure ? " --pure" : "", c->output_type ? " --output-type " : "",
                  c->output_type ? c->output_type : "", c->token_embd_type ? " --token-embedding-type " : "",
                  c->token_embd_type ? c->token_embd_type : "", imatrix ? " --imatrix" : "");
    if (bad) print_message("         %s\n", why);
    test_remove_temp(mine);
    test_remove_temp(ref);
    if (ref_imatrix) test_remove_temp(ref_imatrix);
    mote_imatrix_free(imatrix);
    return bad;
}

static void skip_without_ref(void)
{
    SKIP_WITHOUT_SHARED();
    FILE *fp = fopen(ref_path(), "rb");
    if (fp) {
        fclose(fp);
        return;
    }
    if (getenv("MOTE_REQUIRE_LLAMA_REF"))
        fail_msg("MOTE_REQUIRE_LLAMA_REF is set but %s is missing (make llama-ref)", ref_path());
    print_message("[  SKIP    ] SKIP: %s missing (bench/llama-setup could not install llama.cpp: npm "
                  "unreachable?): %s skipped\n", ref_path(), __func__);
    skip();
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_every_type(void **state)
{
    (void)state;
    skip_without_ref();
    int bad = 0, n = 0;
    for (int m = 0; m < N_EVERY; m++) {
        for (int t = 0; t < N_ALL_TYPES; t++, n++) {
            const qcase c = {every_type_models[m], all_types[t], 0, NULL, NULL, NULL};
            bad += run_case(&c);
        }
    }
    print_message("%d of %d cases byte-identical\n", n - bad, n);
    assert_int_equal(bad, 0);
}

static void test_option_variants(void **state)
{
    (void)state;
    skip_without_ref();
    int bad = 0;
    for (int i = 0; i < N_VARIANTS; i++) bad += run_case(&variants[i]);
    assert_int_equal(bad, 0);
}

/* Models quantized to every type with an importance matrix of story.txt:
 * trained ones whose rows fall back from K-quants to the legacy types, and
 * random-weight ones whose rows are whole K-quant super-blocks. */
static const char *const imatrix_models[] = {
    "models/TinyStories-656K-F32.gguf", "models/stories260K.gguf", "models/synth-llama-F32.gguf",
    "models/archs/synth-qwen3-F32.gguf",
};
#define N_IMATRIX_MODELS ((int)(sizeof imatrix_models / sizeof imatrix_models[0]))

static void test_every_type_imatrix(void **state)
{
    (void)state;
    skip_without_ref();
    int bad = 0, n = 0;
    for (int m = 0; m < N_IMATRIX_MODELS; m++) {
        for (int t = 0; t < N_ALL_TYPES; t++, n++) {
            const qcase c = {imatrix_models[m], all_types[t], 0, NULL, NULL, "golden/story.txt"};
            bad += run_case(&c);
        }
    }
    const qcase pure = {"models/synth-llama-F32.gguf", "Q4_K_M", 1, NULL, NULL, "golden/story.txt"};
    bad += run_case(&pure);
    n++;
    print_message("%d of %d importance-matrix cases byte-identical\n", n - bad, n);
    assert_int_equal(bad, 0);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_option_variants),
        cmocka_unit_test(test_every_type_imatrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
