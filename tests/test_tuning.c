/*
 * test_tuning.c — matmul's tuned choices (kernels/tuning.h) and the
 * per-machine profile that sets them (engine/tune_profile.h):
 *   - every choice gives matmul's default results bit for bit, for every
 *     kernel table this CPU runs, every weight type, odd shapes, 1 to 130
 *     tokens, with and without threads;
 *   - shape classes and the process-wide table (set, look up, reset);
 *   - a profile written and read back is the same; the file is 0600;
 *   - corrupt, truncated, out-of-bounds, other-version and other-machine
 *     profiles are refused with a status and change nothing;
 *   - MOTE_TUNE=off leaves the defaults whatever the profile says;
 *   - speculation's section (pass costs per model) round-trips, older
 *     profiles without it load, a broken one is refused;
 *   - with ../shared, mote_tune on a model writes its classes and its pass
 *     costs and keeps another model's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"
#include "base/threadpool.h"
#include "engine/model.h"
#include "engine/tune_profile.h"
#include "kernels/kernels.h"
#include "kernels/tuning.h"
#include "tensor/layout.h"
#include "tensor/quant.h"
#include "testutil.h"

#define MAX_TABLES 8

/* Choices unlike the defaults in every field, odd values included. */
static const kernel_tuning choices[] = {
    {.tile_m = 1, .tile_n = 1, .grab_min = 1, .quarters_min = 4, .pf_ahead = 0, .threads = 1, .gemm_m = 4, .gemm_n = 4},
    {.tile_m = 3, .tile_n = 5, .grab_min = 3, .quarters_min = 8, .pf_ahead = 64, .threads = 2, .gemm_m = 12, .gemm_n = 8},
    {.tile_m = 64, .tile_n = 128, .grab_min = 7, .quarters_min = 1024, .pf_ahead = 16384, .threads = 0,
     .gemm_m = GEMM_MR, .gemm_n = GEMM_NT},
    {.tile_m = 5, .tile_n = 7, .grab_min = 4096, .quarters_min = 12, .pf_ahead = 1 << 20, .threads = 3, .gemm_m = 36,
     .gemm_n = 20},
};
#define N_CHOICES (sizeof choices / sizeof choices[0])

/* ------------------------------------------------------------------------
 * Bit-identical results
 * ---------------------------------------------------------------------- */

static void test_choices_bit_identical(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int nt = kernels_available(t, MAX_TABLES);
    assert_true(nt >= 1 && nt <= MAX_TABLES);
    mote_pool *pool = NULL;
    assert_int_equal(pool_create(3, &pool), MOTE_OK);
    enum { MMAX = 69, NMAX = 130, K = 2 * QK_K };
    static const int64_t ms[] = {1, 7, 36, MMAX}, ns[] = {1, 2, 3, 5, 17, NMAX};
    float *W = malloc(MMAX * K * sizeof *W), *X = malloc(NMAX * K * sizeof *X);
    float *Yref = malloc(MMAX * NMAX * sizeof *Yref), *Y = malloc(MMAX * NMAX * sizeof *Y);
    uint8_t *Wq = malloc(MMAX * K * sizeof(float)), *Wl = malloc(MMAX * K * sizeof(float));
    void *scratch = malloc(NMAX * K * sizeof(float));
    assert_true(W && X && Yref && Y && Wq && Wl && scratch);
    uint64_t s = 21;
    for (int i = 0; i < MMAX * K; i++) W[i] = test_rng_normal(&s);
    for (int i = 0; i < NMAX * K; i++) X[i] = test_rng_normal(&s);
    long checked = 0;
    for (int ti = 0; ti < nt; ti++)
        for (uint32_t wt = 0; wt < MOTE_TYPE_COUNT; wt++) { /* every type matmul multiplies */
            if (!kernels_supported(wt) || K % ggml_type_get(wt)->block_size ||
                K % ggml_type_get(vec_dot_type(wt))->block_size)
                continue;
            const size_t wrow = ggml_row_size(wt, K);
            /* a stored layout (tensor/layout.h): the plain type's rows, packed per matrix */
            for (int r = 0; r < MMAX; r++)
                assert_int_equal(quantize_row(layout_plain(wt), W + r * K, Wq + r * wrow, K), MOTE_OK);
            for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
                for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
                    const int64_t m = ms[a], n = ns[b];
                    const uint8_t *Wm = Wq;
                    if (layout_is(wt)) {
                        layout_pack(wt, Wq, m, K, Wl);
                        Wm = Wl;
                    }
                    matmul_with(t[ti], NULL, Wm, wt, m, K, X, n, Yref, scratch);
                    for (size_t c = 0; c < N_CHOICES; c++)
                        for (int p = 0; p < 2; p++) {
                            for (int64_t i = 0; i < m * n; i++) Y[i] = NAN;
                            matmul_tuned_with(t[ti], p ? pool : NULL, &choices[c], Wm, wt, m, K, X, n, Y, scratch);
                            if (memcmp(Y, Yref, (size_t)(m * n) * sizeof *Y) != 0)
                                fail_msg("%s %s m=%lld n=%lld choice %zu pool %d: differs from the default",
                                         t[ti]->isa, ggml_type_name(wt), (long long)m, (long long)n, c, p);
                            checked++;
                        }
                }
        }
    printf("%ld tuned products, bit-identical to the defaults\n", checked);
    free(W), free(X), free(Yref), free(Y), free(Wq), free(Wl), free(scratch);
    pool_free(pool);
}

/* The process-wide table steers matmul() itself, and results stay the same. */
static void test_table_steers_matmul(void **state)
{
    (void)state;
    enum { M = 300, K = 256, N = 20 };
    float *W = malloc(M * K * sizeof *W), *X = malloc(N * K * sizeof *X);
    float *Y0 = malloc(M * N * sizeof *Y0), *Y1 = malloc(M * N * sizeof *Y1);
    uint8_t *Wq = malloc(M * ggml_row_size(GGML_TYPE_Q5_K, K));
    void *scratch = malloc(matmul_scratch_size(GGML_TYPE_Q5_K, K, N));
    assert_true(W && X && Y0 && Y1 && Wq && scratch);
    uint64_t s = 5;
    for (int i = 0; i < M * K; i++) W[i] = test_rng_normal(&s);
    for (int i = 0; i < N * K; i++) X[i] = test_rng_normal(&s);
    const size_t wrow = ggml_row_size(GGML_TYPE_Q5_K, K);
    for (int r = 0; r < M; r++) assert_int_equal(quantize_row(GGML_TYPE_Q5_K, W + r * K, Wq + r * wrow, K), MOTE_OK);
    mote_pool *pool = NULL;
    assert_int_equal(pool_create(2, &pool), MOTE_OK);
    matmul(pool, Wq, GGML_TYPE_Q5_K, M, K, X, N, Y0, scratch);
    const int mc = tuning_mk_class(M, K), nc = tuning_n_class(N);
    assert_int_equal(tuning_set(GGML_TYPE_Q5_K, mc, nc, &choices[1]), 0);
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q5_K, M, K, N), &choices[1]));
    matmul(pool, Wq, GGML_TYPE_Q5_K, M, K, X, N, Y1, scratch);
    assert_memory_equal(Y0, Y1, M * N * sizeof *Y0);
    tuning_reset();
    const kernel_tuning d = tuning_default();
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q5_K, M, K, N), &d));
    pool_free(pool);
    free(W), free(X), free(Y0), free(Y1), free(Wq), free(scratch);
}

static void test_classes_and_bounds(void **state)
{
    (void)state;
    assert_int_equal(tuning_n_class(1), 0);
    assert_int_equal(tuning_n_class(2), 1);
    assert_int_equal(tuning_n_class(15), 1);
    assert_int_equal(tuning_n_class(16), 2);
    assert_int_equal(tuning_n_class(127), 2);
    assert_int_equal(tuning_n_class(512), 3);
    assert_int_equal(tuning_mk_class(512, 511), 0);    /* below 2^18 */
    assert_int_equal(tuning_mk_class(512, 512), 1);    /* 2^18 */
    assert_int_equal(tuning_mk_class(2048, 2048), 3);  /* 2^22 */
    assert_int_equal(tuning_mk_class(8192, 2048), 4);  /* 2^24 */
    assert_int_equal(tuning_mk_class(128256, 2048), TUNING_MK_CLASSES - 1);
    for (int c = 0; c < TUNING_MK_CLASSES; c++) {
        const int64_t lo = tuning_mk_class_min(c);
        assert_int_equal(tuning_mk_class(lo > 0 ? lo : 1, 1), c);
    }
    for (int c = 0; c < TUNING_N_CLASSES; c++) assert_int_equal(tuning_n_class(tuning_n_class_min(c)), c);
    const kernel_tuning d = tuning_default();
    assert_true(tuning_valid(&d));
    for (size_t c = 0; c < N_CHOICES; c++) assert_true(tuning_valid(&choices[c]));
    kernel_tuning bad = d;
    bad.quarters_min = 6; /* not a multiple of 4 */
    assert_false(tuning_valid(&bad));
    bad = d;
    bad.tile_m = 0;
    assert_false(tuning_valid(&bad));
    bad = d;
    bad.pf_ahead = -1;
    assert_false(tuning_valid(&bad));
    bad = d;
    bad.gemm_m = GEMM_MR + 4; /* more than a gemm call takes */
    assert_false(tuning_valid(&bad));
    bad = d;
    bad.gemm_n = 6; /* not a multiple of 4 */
    assert_false(tuning_valid(&bad));
    assert_int_equal(tuning_set(GGML_TYPE_Q8_0, 0, 0, &bad), -1);
    assert_int_equal(tuning_set(MOTE_TYPE_COUNT, 0, 0, &d), -1);
    assert_int_equal(tuning_set(GGML_TYPE_Q8_0, TUNING_MK_CLASSES, 0, &d), -1);
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q8_0, 4, 4, 1), &d));
}

/* ------------------------------------------------------------------------
 * Profiles
 * ---------------------------------------------------------------------- */

static const tune_entry sample_entries[] = {
    {GGML_TYPE_Q8_0, 3, 0, {16, 32, 1, 256, 4096, 1, 64, 128}},
    {GGML_TYPE_Q4_K, 4, 3, {32, 64, 2, 64, 0, 0, 32, 64}},
    {MOTE_TYPE_FP8, 0, 1, {4, 8, 4, 16, 16384, 2, 128, 8}},
};
#define N_SAMPLE (sizeof sample_entries / sizeof sample_entries[0])

static void write_text(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_profile_round_trip(void **state)
{
    (void)state;
    char *path = test_temp_file("tune-profile");
    tune_key k;
    tune_key_this(&k);
    mote_machine m = {.n_threads = 2, .read_gbs = {10, 12}, .dot_isa = "avx2"};
    assert_int_equal(tune_profile_write(path, &k, 2, &m, sample_entries, N_SAMPLE), MOTE_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    tune_entry *e;
    int n;
    assert_int_equal(tune_profile_read(path, &k, &e, &n), MOTE_OK);
    assert_int_equal(n, N_SAMPLE);
    for (int i = 0; i < n; i++) {
        assert_int_equal(e[i].wtype, sample_entries[i].wtype);
        assert_int_equal(e[i].mk_class, sample_entries[i].mk_class);
        assert_int_equal(e[i].n_class, sample_entries[i].n_class);
        assert_true(tuning_equal(&e[i].t, &sample_entries[i].t));
    }
    free(e);

    /* applied: the table holds the entries; MOTE_TUNE=off: the defaults */
    mote_tune_state st;
    assert_int_equal(tune_profile_apply(NULL, path, &st), MOTE_OK);
    assert_true(st.used);
    assert_false(st.disabled);
    assert_int_equal(st.n_entries, N_SAMPLE);
    const int64_t m0 = tuning_mk_class_min(3);
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q8_0, m0, 1, 1), &sample_entries[0].t));
    const kernel_tuning d = tuning_default();
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q8_0, m0, 1, 2), &d)); /* another class */
    assert_int_equal(tune_profile_apply("off", path, &st), MOTE_OK);
    assert_true(st.disabled);
    assert_false(st.used);
    assert_true(tuning_equal(tuning_for(GGML_TYPE_Q8_0, m0, 1, 1), &d));
    assert_int_equal(tune_profile_apply("0", path, &st), MOTE_OK);
    assert_true(st.disabled);

    /* an empty profile is valid: nothing set */
    assert_int_equal(tune_profile_write(path, &k, 2, NULL, NULL, 0), MOTE_OK);
    assert_int_equal(tune_profile_apply(NULL, path, &st), MOTE_OK);
    assert_true(st.used);
    assert_int_equal(st.n_entries, 0);
    /* absent: not used, not an error */
    unlink(path);
    assert_int_equal(tune_profile_apply(NULL, path, &st), MOTE_OK);
    assert_false(st.used);
    test_remove_temp(path);
}

/* Speculation's section: written and read back per model; a profile
 * without it (written before it existed) still loads, with none; a broken
 * section is refused where it is read, and the kernels' reader skips it. */
static void test_profile_spec_section(void **state)
{
    (void)state;
    char *path = test_temp_file("tune-spec");
    tune_key k;
    tune_key_this(&k);
    const tune_spec sp[2] = {
        {.model = 0x0123456789abcdefull, .threads = 2, .cost = {1, 1.05f, 1.125f, 1.25f, 1.5f, 2, 2.5f, 3, 3.75f}},
        {.model = 0xfedcba9876543210ull, .threads = 1, .cost = {1, 1.9f, 2.8f, 3.7f, 4.6f, 5.5f, 6.4f, 7.3f, 8.2f}},
    };
    assert_int_equal(tune_profile_write_all(path, &k, 2, NULL, sample_entries, N_SAMPLE, sp, 2), MOTE_OK);
    tune_entry *e;
    tune_spec *got;
    int n, n_sp;
    assert_int_equal(tune_profile_read_all(path, &k, &e, &n, &got, &n_sp), MOTE_OK);
    assert_int_equal(n, N_SAMPLE);
    assert_int_equal(n_sp, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(got[i].model == sp[i].model);
        assert_int_equal(got[i].threads, sp[i].threads);
        for (int j = 0; j < MOTE_SPEC_COST_N; j++) assert_float_equal(got[i].cost[j], sp[i].cost[j], 1e-6);
    }
    free(e);
    free(got);
    /* the kernels' reader takes the same file */
    assert_int_equal(tune_profile_read(path, &k, &e, &n), MOTE_OK);
    assert_int_equal(n, N_SAMPLE);
    free(e);
    /* an older profile: no section, none read */
    assert_int_equal(tune_profile_write(path, &k, 2, NULL, sample_entries, N_SAMPLE), MOTE_OK);
    got = (tune_spec *)1;
    n_sp = -1;
    assert_int_equal(tune_profile_read_all(path, &k, &e, &n, &got, &n_sp), MOTE_OK);
    assert_null(got);
    assert_int_equal(n_sp, 0);
    assert_int_equal(n, N_SAMPLE);
    free(e);
    test_remove_temp(path);

    char head[512];
    snprintf(head, sizeof head, "{\"format\":\"mote-tune\",\"version\":1,\"cpu\":\"%s\",\"cores\":%d,\"mote\":\"%s\","
             "\"isa\":\"%s\",\"kernels\":[],\"speculation\":", k.cpu, k.cores, k.version, k.isa);
    static const struct {
        const char *tail;
        mote_status expect;
    } cases[] = {
        {"[]}", MOTE_OK},
        {"[{\"model\":\"0123456789abcdef\",\"threads\":2,\"cost\":[1,2,3,4,5,6,7,8,9]}]}", MOTE_OK},
        {"{}}", MOTE_E_FORMAT},
        {"[1]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef\",\"threads\":2,\"cost\":[1,2,3,4,5,6,7,8]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef\",\"threads\":2,\"cost\":[1,2,3,4,0,6,7,8,9]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef\",\"threads\":2,\"cost\":[1,2,3,4,\"5\",6,7,8,9]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef\",\"threads\":2,\"cost\":[1,2,3,4,1e9,6,7,8,9]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"xyz\",\"threads\":2,\"cost\":[1,2,3,4,5,6,7,8,9]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef0\",\"threads\":2,\"cost\":[1,2,3,4,5,6,7,8,9]}]}", MOTE_E_FORMAT},
        {"[{\"model\":\"0123456789abcdef\",\"cost\":[1,2,3,4,5,6,7,8,9]}]}", MOTE_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, cases[i].tail);
        tune_spec *x = NULL;
        int nx = -1;
        const mote_status st = tune_profile_parse_all(text, "case", &k, &e, &n, &x, &nx);
        if (st != cases[i].expect) fail_msg("case %zu: %s, expected %s", i, mote_status_name(st),
                                            mote_status_name(cases[i].expect));
        free(e);
        free(x);
        if (st != MOTE_OK) assert_int_equal(nx, 0);
        /* the kernels' reader does not read the section */
        assert_int_equal(tune_profile_parse(text, "case", &k, &e, &n), MOTE_OK);
        free(e);
    }
}

/* Every prefix of a valid profile is refused with MOTE_E_FORMAT and sets nothing. */
static void test_profile_truncated(void **state)
{
    (void)state;
    char *path = test_temp_file("tune-trunc");
    tune_key k;
    tune_key_this(&k);
    const tune_spec sp = {.model = 42, .threads = 2, .cost = {1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5}};
    assert_int_equal(tune_profile_write_all(path, &k, 2, NULL, sample_entries, N_SAMPLE, &sp, 1), MOTE_OK);
    size_t len;
    char *text = read_file(path, &len);
    assert_non_null(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--;
    const kernel_tuning d = tuning_default();
    for (size_t cut = 0; cut < len; cut++) {
        write_text(path, text, cut);
        tune_entry *e = (tune_entry *)1;
        int n = -1;
        const mote_status st = tune_profile_read(path, &k, &e, &n);
        if (st != MOTE_E_FORMAT) fail_msg("cut at %zu of %zu: status %s", cut, len, mote_status_name(st));
        assert_null(e);
        assert_int_equal(n, 0);
        mote_tune_state ts;
        assert_int_equal(tune_profile_apply(NULL, path, &ts), MOTE_E_FORMAT);
        assert_false(ts.used);
        assert_true(tuning_equal(tuning_for(GGML_TYPE_Q8_0, tuning_mk_class_min(3), 1, 1), &d));
    }
    free(text);
    test_remove_temp(path);
}

/* Well-formed JSON that is not a valid profile, or another machine's. */
static void test_profile_refused(void **state)
{
    (void)state;
    char *path = test_temp_file("tune-bad");
    tune_key k;
    tune_key_this(&k);
    char head[512];
    snprintf(head, sizeof head, "{\"format\":\"mote-tune\",\"version\":1,\"cpu\":\"%s\",\"cores\":%d,\"mote\":\"%s\","
             "\"isa\":\"%s\",", k.cpu, k.cores, k.version, k.isa);
    static const struct {
        const char *tail; /* after head; NULL: the whole text is in expect's text */
        mote_status expect;
    } cases[] = {
        {"\"kernels\":[]}", MOTE_OK},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":16,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0,\"gemm_m\":64,\"gemm_n\":64}]}", MOTE_OK},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":16,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0,\"gemm_m\":64}]}", MOTE_E_FORMAT},
        {"\"kernels\":[],\"layouts\":{\"later\":1}}", MOTE_OK}, /* unknown members are skipped */
        {"\"kernels\":{}}", MOTE_E_FORMAT},
        {"\"kernels\":[1]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q9_9\",\"mk\":0,\"n\":0,\"tile_m\":16,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":9,\"n\":0,\"tile_m\":16,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":0,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":16,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":66,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":16.5,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
        {"\"kernels\":[{\"type\":\"Q8_0\",\"mk\":0,\"n\":0,\"tile_m\":1e300,\"tile_n\":32,\"grab_min\":1,"
         "\"quarters_min\":64,\"pf_ahead\":4096,\"threads\":0}]}", MOTE_E_FORMAT},
    };
    char text[2048];
    mote_tune_state ts;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%s", head, cases[i].tail);
        write_text(path, text, strlen(text));
        tune_entry *e = NULL;
        int n = 0;
        const mote_status st = tune_profile_read(path, &k, &e, &n);
        if (st != cases[i].expect) fail_msg("case %zu: %s, expected %s", i, mote_status_name(st), mote_status_name(cases[i].expect));
        free(e);
    }
    /* not a profile, binary, another format */
    static const char *const junk[] = {"", "[]", "null", "{}", "\x00\xff\xfe garbage", "{\"format\":\"other\",\"version\":1}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        write_text(path, junk[i], i == 4 ? 11 : strlen(junk[i])); /* junk[4] holds a NUL */
        tune_entry *e = NULL;
        int n = 0;
        assert_int_equal(tune_profile_read(path, &k, &e, &n), MOTE_E_FORMAT);
        assert_int_equal(tune_profile_apply(NULL, path, &ts), MOTE_E_FORMAT);
        assert_false(ts.used);
    }
    /* another version or another machine: unsupported, and simply not used */
    const char *others[4];
    char v2[512], cpu[512], cores[512], isa[512];
    snprintf(v2, sizeof v2, "{\"format\":\"mote-tune\",\"version\":2,\"kernels\":[]}");
    snprintf(cpu, sizeof cpu, "{\"format\":\"mote-tune\",\"version\":1,\"cpu\":\"%s!\",\"cores\":%d,\"mote\":\"%s\","
             "\"isa\":\"%s\",\"kernels\":[]}", k.cpu, k.cores, k.version, k.isa);
    snprintf(cores, sizeof cores, "{\"format\":\"mote-tune\",\"version\":1,\"cpu\":\"%s\",\"cores\":%d,\"mote\":\"%s\","
             "\"isa\":\"%s\",\"kernels\":[]}", k.cpu, k.cores + 1, k.version, k.isa);
    snprintf(isa, sizeof isa, "{\"format\":\"mote-tune\",\"version\":1,\"cpu\":\"%s\",\"cores\":%d,\"mote\":\"%s\","
             "\"isa\":\"%s-other\",\"kernels\":[]}", k.cpu, k.cores, k.version, k.isa);
    others[0] = v2, others[1] = cpu, others[2] = cores, others[3] = isa;
    for (int i = 0; i < 4; i++) {
        write_text(path, others[i], strlen(others[i]));
        tune_entry *e = NULL;
        int n = 0;
        assert_int_equal(tune_profile_read(path, &k, &e, &n), MOTE_E_UNSUPPORTED);
        assert_int_equal(tune_profile_apply(NULL, path, &ts), MOTE_OK);
        assert_false(ts.used);
    }
    test_remove_temp(path);
}

/* The profile's path follows XDG_CACHE_HOME, then HOME; mote_tune_load
 * answers the same every time. */
static void test_profile_path(void **state)
{
    (void)state;
    tune_key k;
    tune_key_this(&k);
    char p1[1024], p2[1024];
    setenv("XDG_CACHE_HOME", "/nonexistent-cache", 1);
    assert_int_equal(tune_profile_path(&k, p1, sizeof p1), MOTE_OK);
    assert_true(strncmp(p1, "/nonexistent-cache/mote/tune-", 29) == 0);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/nonexistent-home", 1);
    assert_int_equal(tune_profile_path(&k, p2, sizeof p2), MOTE_OK);
    assert_true(strncmp(p2, "/nonexistent-home/.cache/mote/tune-", 35) == 0);
    assert_string_equal(strrchr(p1, '/'), strrchr(p2, '/')); /* the same key, the same name */
    tune_key other = k;
    other.cores++;
    assert_int_equal(tune_profile_path(&other, p1, sizeof p1), MOTE_OK);
    assert_string_not_equal(strrchr(p1, '/'), strrchr(p2, '/'));
    assert_int_equal(tune_profile_path(&k, p1, 10), MOTE_E_RANGE);
    /* no profile in a nonexistent cache: loaded as "not used" */
    mote_tune_state a, b;
    assert_int_equal(mote_tune_load(&a), MOTE_OK);
    assert_int_equal(mote_tune_load(&b), MOTE_OK);
    assert_false(a.used);
    assert_memory_equal(&a, &b, sizeof a);
    tuning_reset();
}

/* mote_tune on a model: a profile with its classes, keeping another
 * model's classes from the profile before and replacing the ones timed. */
static void test_tune_model_merges(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char cache[TEST_CACHE_DIR_CAP], path[1024];
    test_tune_cache(cache, path, sizeof path);
    tune_key k;
    tune_key_this(&k);
    /* planted: a class no synth-llama matrix falls in, and one it does (Q8_0, m*k below 2^18, n = 1) */
    const tune_entry planted[2] = {{MOTE_TYPE_FP8, 5, 3, choices[2]}, {GGML_TYPE_Q8_0, 0, 0, choices[3]}};
    /* and pass costs of another model, and stale ones of this one */
    mote_model *model;
    assert_int_equal(mote_model_open(shared_path("models/synth-llama-Q8_0.gguf"), NULL, &model), MOTE_OK);
    const uint64_t id = tune_model_id(model->gguf);
    const tune_spec planted_spec[2] = {{.model = id ^ 1, .threads = 1, .cost = {1, 9, 9, 9, 9, 9, 9, 9, 9}},
                                       {.model = id, .threads = 1, .cost = {1, 8, 8, 8, 8, 8, 8, 8, 8}}};
    assert_int_equal(tune_profile_write_all(path, &k, 2, NULL, planted, 2, planted_spec, 2), MOTE_OK);
    mote_tune_params p = mote_tune_default_params();
    p.model_path = shared_path("models/synth-llama-Q8_0.gguf");
    p.n_threads = 2;
    p.quick = 1;
    mote_tune_result r;
    assert_int_equal(mote_tune(&p, &r), MOTE_OK);
    assert_true(r.saved);
    assert_string_equal(r.profile_path, path);
    assert_int_equal(r.n_classes, 2); /* one shape class (every matrix below 2^18), n = 1 and 128 */
    /* speculation's pass costs: one token is the unit; more tokens cost more */
    assert_true(r.spec_measured);
    assert_true(r.spec_pass_s > 0);
    assert_float_equal(r.spec_cost[0], 1.0f, 0.0f);
    for (int i = 1; i < MOTE_SPEC_COST_N; i++) assert_true(r.spec_cost[i] >= r.spec_cost[i - 1]);
    assert_true(r.spec_cost[MOTE_SPEC_COST_N - 1] > 1.0f);
    double gain;
    assert_int_equal(r.spec_best_k, mote_spec_best_length(r.spec_cost, MOTE_SPEC_COST_N - 1,
                                                          MOTE_SPEC_PLAUSIBLE_ACCEPT, &gain));
    assert_float_equal(r.spec_gain, gain, 1e-12);
    assert_int_equal(r.spec_on, gain >= MOTE_SPEC_MIN_GAIN);
    /* stored for this model (the stale costs replaced), the other model's kept */
    mote_spec_profile sp;
    assert_int_equal(mote_spec_profile_get(model, &sp), MOTE_OK);
    assert_true(sp.found);
    assert_int_equal(sp.n_threads, 2);
    for (int i = 0; i < MOTE_SPEC_COST_N; i++) assert_float_equal(sp.cost[i], r.spec_cost[i], 1e-4);
    assert_int_equal(sp.pays, r.spec_on);
    tune_entry *e0;
    tune_spec *specs;
    int n0, n_specs;
    assert_int_equal(tune_profile_read_all(path, &k, &e0, &n0, &specs, &n_specs), MOTE_OK);
    assert_int_equal(n_specs, 2);
    assert_true((specs[0].model == (id ^ 1) && specs[0].cost[1] == 9) ||
                (specs[1].model == (id ^ 1) && specs[1].cost[1] == 9));
    free(e0);
    free(specs);
    /* MOTE_TUNE=off: not found */
    setenv("MOTE_TUNE", "off", 1);
    assert_int_equal(mote_spec_profile_get(model, &sp), MOTE_OK);
    assert_false(sp.found);
    unsetenv("MOTE_TUNE");
    mote_model_close(model);
    for (int i = 0; i < r.n_classes; i++) {
        assert_string_equal(r.classes[i].type, "Q8_0");
        assert_true(r.classes[i].default_s > 0 && r.classes[i].tuned_s > 0);
        assert_true(r.classes[i].tuned_s <= r.classes[i].default_s);
    }
    mote_tune_result_free(&r);
    tune_entry *e;
    int n, kept = 0;
    assert_int_equal(tune_profile_read(path, &k, &e, &n), MOTE_OK);
    for (int i = 0; i < n; i++) {
        if (e[i].wtype == MOTE_TYPE_FP8) kept += e[i].mk_class == 5 && tuning_equal(&e[i].t, &choices[2]);
        else assert_false(tuning_equal(&e[i].t, &choices[3])); /* timed again: the planted choice is gone */
    }
    assert_int_equal(kept, 1);
    free(e);
    test_tune_cache_remove(cache);
}

int main(void)
{
    test_fix_pool_size();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_bounds),
        cmocka_unit_test(test_table_steers_matmul),
        cmocka_unit_test(test_profile_round_trip),
        cmocka_unit_test(test_profile_truncated),
        cmocka_unit_test(test_profile_spec_section),
        cmocka_unit_test(test_profile_refused),
        cmocka_unit_test(test_profile_path),
        cmocka_unit_test(test_choices_bit_identical),
        cmocka_unit_test(test_tune_model_merges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
