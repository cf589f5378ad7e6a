/*
 * test_gguf.c — the GGUF reader and writer, and the corrupt-file suite.
 *
 * Valid files come from the writer (round trips of every kv type, tensors
 * and alignments) and from ../shared. Corrupt files are made two ways: by
 * damaging a valid file blindly (every truncation, byte flips and absurd
 * 64-bit values at every offset of the metadata) and by hand-building files
 * with one targeted defect each (bb_* below), whose messages are checked.
 * Every case must fail with a message, or, when blind damage happens to
 * leave a valid file, open to something self-consistent. Never crash.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "testutil.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

#define ASSERT_OK(expr)                                                        \
    do {                                                                       \
        mote_status st_ = (expr);                                              \
        if (st_ != MOTE_OK) fail_msg("%s: %s", #expr, mote_last_error());      \
    } while (0)

static void assert_has(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) fail_msg("'%s' not found in '%s'", needle, haystack);
}

/* A file that opened must describe itself consistently: every string and
 * every tensor's data inside the buffer, shapes matching byte counts. */
static void check_invariants(const gguf_file *f, const uint8_t *buf, size_t size)
{
    const char *lo = (const char *)buf, *hi = lo + size;
    assert_true(f->alignment > 0 && (f->alignment & (f->alignment - 1)) == 0);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        assert_true(kv->key[0] != '\0');
        assert_true(kv->type < GGUF_TYPE_COUNT);
        if (kv->type == GGUF_TYPE_STRING)
            assert_true(kv->str.ptr >= lo && kv->str.len <= (uint64_t)(hi - kv->str.ptr));
        if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_STRING)
            for (uint64_t j = 0; j < kv->arr_n; j++)
                assert_true(kv->arr_strs[j].ptr >= lo &&
                            kv->arr_strs[j].len <= (uint64_t)(hi - kv->arr_strs[j].ptr));
        if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type != GGUF_TYPE_STRING && kv->arr_n)
            assert_true((const char *)kv->arr_data >= lo &&
                        kv->arr_n * gguf_type_size(kv->arr_type) <=
                            (uint64_t)(hi - (const char *)kv->arr_data));
        char text[64];
        gguf_kv_to_string(kv, text, sizeof text);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        assert_true(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
        assert_non_null(ggml_type_get(t->type));
        assert_true(strlen(t->name) >= 1 && strlen(t->name) <= GGUF_MAX_NAME);
        const char *d = t->data;
        assert_true(d >= lo && t->nbytes <= (uint64_t)(hi - d));
        assert_int_equal(t->offset % f->alignment, 0);
        uint64_t rows = (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
        assert_int_equal(t->nbytes, ggml_row_size(t->type, t->ne[0]) * rows);
    }
}

/* Open buf; if it opens, check it; if not, demand a message and NULL. */
static mote_status open_any(const void *buf, size_t size)
{
    gguf_file *f = (gguf_file *)&f; /* poison: must become NULL on failure */
    mote_clear_error();
    mote_status st = gguf_open_buffer(buf, size, "t.gguf", &f);
    if (st == MOTE_OK) {
        check_invariants(f, buf, size);
        gguf_close(f);
    } else {
        assert_null(f);
        assert_has(mote_last_error(), "gguf: t.gguf");
    }
    return st;
}

/* ------------------------------------------------------------------------
 * A small valid file from the writer, used by the blind-damage tests
 * ---------------------------------------------------------------------- */

/* The value fill_ramp writes at row r, column c. */
static float ramp(uint64_t r, int64_t c) { return (float)r + 0.001f * (float)c; }

/* A gguf_fill_fn for F32 tensors; user points to ne[0]. */
static mote_status fill_ramp(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    const int64_t ne0 = *(const int64_t *)user;
    float *x = buf;
    for (uint64_t r = 0; r < n_rows; r++)
        for (int64_t c = 0; c < ne0; c++) x[r * (uint64_t)ne0 + (uint64_t)c] = ramp(row0 + r, c);
    return MOTE_OK;
}

static float small_f32[2 * 8];
static uint8_t small_q8[2 * 34];

/* A file with a few kvs of different shapes and three tensors. */
static void make_small(void **out, size_t *size)
{
    for (int i = 0; i < 16; i++) small_f32[i] = (float)i * 0.5f;
    for (int i = 0; i < 68; i++) small_q8[i] = (uint8_t)(i * 7);
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_str(w, "general.architecture", "llama"));
    ASSERT_OK(gguf_writer_add_u32(w, "llama.block_count", 2));
    ASSERT_OK(gguf_writer_add_f32(w, "llama.rope.freq_base", 10000.0f));
    ASSERT_OK(gguf_writer_add_bool(w, "general.flag", true));
    const char *toks[] = {"<s>", "a", ""};
    ASSERT_OK(gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", toks, 3));
    const int32_t ids[] = {1, -2, 3, 4};
    ASSERT_OK(gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ids, 4));
    ASSERT_OK(gguf_writer_add_tensor(w, "a.weight", GGML_TYPE_F32, 2, (int64_t[]){8, 2}, small_f32));
    ASSERT_OK(gguf_writer_add_tensor(w, "b.weight", GGML_TYPE_Q8_0, 2, (int64_t[]){32, 2}, small_q8));
    static const int64_t ne0 = 4;
    ASSERT_OK(gguf_writer_add_tensor_fill(w, "c", GGML_TYPE_F32, 1, &ne0, fill_ramp, (void *)&ne0));
    ASSERT_OK(gguf_writer_write_buffer(w, out, size));
    gguf_writer_free(w);
}

/* ------------------------------------------------------------------------
 * Writer round trips
 * ---------------------------------------------------------------------- */

/* Element i of an integer array, which must convert. */
static int64_t arr_int(const gguf_file *f, const gguf_kv *kv, uint64_t i)
{
    int64_t v = -999;
    ASSERT_OK(gguf_arr_get_int(f, kv, i, INT64_MIN, INT64_MAX, &v));
    return v;
}

static void test_roundtrip_kv(void **state)
{
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_u8(w, "u8", 250));
    ASSERT_OK(gguf_writer_add_i8(w, "i8", -120));
    ASSERT_OK(gguf_writer_add_u16(w, "u16", 65000));
    ASSERT_OK(gguf_writer_add_i16(w, "i16", -32000));
    ASSERT_OK(gguf_writer_add_u32(w, "u32", 4000000000u));
    ASSERT_OK(gguf_writer_add_i32(w, "i32", INT32_MIN));
    ASSERT_OK(gguf_writer_add_u64(w, "u64", UINT64_MAX));
    ASSERT_OK(gguf_writer_add_i64(w, "i64", INT64_MIN));
    ASSERT_OK(gguf_writer_add_f32(w, "f32", -1.5f));
    ASSERT_OK(gguf_writer_add_f64(w, "f64", 2.25e300));
    ASSERT_OK(gguf_writer_add_bool(w, "t", true));
    ASSERT_OK(gguf_writer_add_bool(w, "f", false));
    ASSERT_OK(gguf_writer_add_str(w, "s", "héllo"));
    ASSERT_OK(gguf_writer_add_str(w, "empty", ""));
    ASSERT_OK(gguf_writer_add_strn(w, "nul", "a\0b", 3));
    const uint8_t a_u8[] = {0, 1, 255};
    const int8_t a_i8[] = {-128, 0, 127};
    const uint16_t a_u16[] = {1, 65535};
    const int16_t a_i16[] = {-32768, 32767};
    const uint32_t a_u32[] = {7, 0xffffffffu};
    const int32_t a_i32[] = {INT32_MIN, -1, INT32_MAX};
    const uint64_t a_u64[] = {UINT64_MAX, 0};
    const int64_t a_i64[] = {INT64_MIN, INT64_MAX, -5};
    const float a_f32[] = {0.25f, -3.0f};
    const double a_f64[] = {1e-300, -0.5};
    const uint8_t a_bool[] = {1, 0, 1};
    ASSERT_OK(gguf_writer_add_arr(w, "a.u8", GGUF_TYPE_UINT8, a_u8, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "a.i8", GGUF_TYPE_INT8, a_i8, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "a.u16", GGUF_TYPE_UINT16, a_u16, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.i16", GGUF_TYPE_INT16, a_i16, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.u32", GGUF_TYPE_UINT32, a_u32, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.i32", GGUF_TYPE_INT32, a_i32, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "a.u64", GGUF_TYPE_UINT64, a_u64, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.i64", GGUF_TYPE_INT64, a_i64, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "a.f32", GGUF_TYPE_FLOAT32, a_f32, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.f64", GGUF_TYPE_FLOAT64, a_f64, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "a.bool", GGUF_TYPE_BOOL, a_bool, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "a.none", GGUF_TYPE_UINT32, NULL, 0));
    const char *strs[] = {"x", "", "yz"};
    ASSERT_OK(gguf_writer_add_arr_str(w, "a.str", strs, 3));
    ASSERT_OK(gguf_writer_add_arr_str(w, "a.nostr", NULL, 0));
    const gguf_str sn[] = {{"p\0q", 3}, {"", 0}};
    ASSERT_OK(gguf_writer_add_arr_strn(w, "a.strn", sn, 2));

    void *buf;
    size_t size;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));
    assert_int_equal(size, gguf_writer_size(w));
    gguf_writer_free(w);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(buf, size, "kv.gguf", &f));
    assert_int_equal(f->version, 3);
    assert_int_equal(f->n_kv, 30);
    assert_int_equal(f->n_tensors, 0);
    assert_int_equal(f->alignment, GGUF_DEFAULT_ALIGNMENT);
    check_invariants(f, buf, size);

    /* scalars: exact types and values, and the file keeps the order */
    assert_string_equal(f->kv[0].key, "u8");
    assert_int_equal(gguf_find_kv(f, "u8")->type, GGUF_TYPE_UINT8);
    assert_int_equal(gguf_find_kv(f, "u8")->v.u64, 250);
    assert_int_equal(gguf_find_kv(f, "i8")->v.i64, -120);
    assert_int_equal(gguf_find_kv(f, "u16")->v.u64, 65000);
    assert_int_equal(gguf_find_kv(f, "i16")->v.i64, -32000);
    assert_int_equal(gguf_find_kv(f, "u32")->v.u64, 4000000000u);
    assert_int_equal(gguf_find_kv(f, "i32")->v.i64, INT32_MIN);
    assert_true(gguf_find_kv(f, "u64")->v.u64 == UINT64_MAX);
    assert_true(gguf_find_kv(f, "i64")->v.i64 == INT64_MIN);
    assert_int_equal(gguf_find_kv(f, "i64")->type, GGUF_TYPE_INT64);
    assert_true(gguf_find_kv(f, "f32")->v.f64 == -1.5);
    assert_int_equal(gguf_find_kv(f, "f32")->type, GGUF_TYPE_FLOAT32);
    assert_true(gguf_find_kv(f, "f64")->v.f64 == 2.25e300);
    assert_int_equal(gguf_find_kv(f, "t")->v.u64, 1);
    assert_int_equal(gguf_find_kv(f, "f")->v.u64, 0);
    gguf_str s;
    ASSERT_OK(gguf_get_str(f, "s", &s));
    assert_int_equal(s.len, strlen("héllo"));
    assert_memory_equal(s.ptr, "héllo", s.len);
    assert_true(s.ptr > (const char *)buf && s.ptr < (const char *)buf + size); /* zero-copy */
    ASSERT_OK(gguf_get_str(f, "empty", &s));
    assert_int_equal(s.len, 0);
    ASSERT_OK(gguf_get_str(f, "nul", &s));
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "a\0b", 3);

    /* arrays, through gguf_arr_get_int (full int64 range) / gguf_arr_float */
    const gguf_kv *a;
    int64_t v;
    ASSERT_OK(gguf_get_arr(f, "a.u8", GGUF_TYPE_UINT8, &a));
    assert_int_equal(a->arr_n, 3);
    assert_int_equal(arr_int(f, a, 2), 255);
    ASSERT_OK(gguf_get_arr(f, "a.i8", GGUF_TYPE_INT8, &a));
    assert_int_equal(arr_int(f, a, 0), -128);
    assert_int_equal(arr_int(f, a, 2), 127);
    ASSERT_OK(gguf_get_arr(f, "a.u16", GGUF_TYPE_UINT16, &a));
    assert_int_equal(arr_int(f, a, 1), 65535);
    ASSERT_OK(gguf_get_arr(f, "a.i16", GGUF_TYPE_INT16, &a));
    assert_int_equal(arr_int(f, a, 0), -32768);
    ASSERT_OK(gguf_get_arr(f, "a.u32", GGUF_TYPE_UINT32, &a));
    assert_int_equal(arr_int(f, a, 1), 0xffffffffu);
    ASSERT_OK(gguf_get_arr(f, "a.i32", GGUF_TYPE_INT32, &a));
    assert_int_equal(arr_int(f, a, 0), INT32_MIN);
    assert_int_equal(arr_int(f, a, 1), -1);
    assert_true(gguf_arr_float(a, 1) == -1.0);
    ASSERT_OK(gguf_get_arr(f, "a.u64", GGUF_TYPE_UINT64, &a));
    assert_int_equal(gguf_arr_get_int(f, a, 0, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT); /* 2^64-1 */
    assert_int_equal(arr_int(f, a, 1), 0);
    ASSERT_OK(gguf_get_arr(f, "a.i64", GGUF_TYPE_INT64, &a));
    assert_true(arr_int(f, a, 0) == INT64_MIN);
    assert_true(arr_int(f, a, 1) == INT64_MAX);
    assert_int_equal(arr_int(f, a, 2), -5);
    assert_int_equal(gguf_arr_get_int(f, a, 3, INT64_MIN, INT64_MAX, &v), MOTE_E_INVALID); /* past the end */
    assert_true(gguf_arr_float(a, 3) == 0.0);
    ASSERT_OK(gguf_get_arr(f, "a.f32", GGUF_TYPE_FLOAT32, &a));
    assert_true(gguf_arr_float(a, 0) == 0.25);
    assert_true(gguf_arr_float(a, 1) == -3.0);
    ASSERT_OK(gguf_get_arr(f, "a.f64", GGUF_TYPE_FLOAT64, &a));
    assert_true(gguf_arr_float(a, 0) == 1e-300);
    assert_true(gguf_arr_float(a, 1) == -0.5);
    ASSERT_OK(gguf_get_arr(f, "a.bool", GGUF_TYPE_BOOL, &a));
    assert_int_equal(arr_int(f, a, 0), 1);
    assert_int_equal(arr_int(f, a, 1), 0);
    ASSERT_OK(gguf_get_arr(f, "a.none", GGUF_TYPE_UINT32, &a));
    assert_int_equal(a->arr_n, 0);
    ASSERT_OK(gguf_get_arr(f, "a.str", GGUF_TYPE_STRING, &a));
    assert_int_equal(a->arr_n, 3);
    assert_int_equal(a->arr_strs[0].len, 1);
    assert_memory_equal(a->arr_strs[0].ptr, "x", 1);
    assert_int_equal(a->arr_strs[1].len, 0);
    assert_int_equal(a->arr_strs[2].len, 2);
    assert_memory_equal(a->arr_strs[2].ptr, "yz", 2);
    ASSERT_OK(gguf_get_arr(f, "a.nostr", GGUF_TYPE_STRING, &a));
    assert_int_equal(a->arr_n, 0);
    ASSERT_OK(gguf_get_arr(f, "a.strn", GGUF_TYPE_STRING, &a));
    assert_int_equal(a->arr_strs[0].len, 3);
    assert_memory_equal(a->arr_strs[0].ptr, "p\0q", 3);

    /* copying every kv through gguf_writer_add_kv gives the same bytes */
    ASSERT_OK(gguf_writer_create(&w));
    for (uint64_t i = 0; i < f->n_kv; i++) ASSERT_OK(gguf_writer_add_kv(w, &f->kv[i]));
    void *buf2;
    size_t size2;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf2, &size2));
    assert_int_equal(size2, size);
    assert_memory_equal(buf2, buf, size);
    free(buf2);
    gguf_writer_free(w);
    gguf_close(f);
    free(buf);
}

/* File data converted to an integer is checked as a class: a float array
 * element that is not finite, not whole or out of range, an integer out
 * of [lo, hi], an unsigned one past INT64_MAX, a FLOAT64 scalar past
 * float's range: each a named error, never an undefined conversion. The
 * first case is the fuzzer's first finding (GGUF v3, one key "n": an
 * array of one FLOAT64, 5.39e67). */
static void test_numeric_conversions(void **state)
{
    static const char repro_hex[] = "47475546030000000000000000000000010000000000000001000000000000006e090000000c0000"
                                    "000100000000000000000043010000004e";
    uint8_t repro[sizeof repro_hex / 2];
    for (size_t k = 0; k < sizeof repro; k++) sscanf(repro_hex + 2 * k, "%2hhx", &repro[k]);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(repro, sizeof repro, "repro.gguf", &f));
    const gguf_kv *kv = gguf_find_kv(f, "n");
    assert_non_null(kv);
    int64_t v = 0;
    assert_int_equal(gguf_arr_get_int(f, kv, 0, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "repro.gguf: key 'n': element 0 is 5.39");
    assert_has(mote_last_error(), "expected a whole number");
    assert_true(gguf_arr_float(kv, 0) > 5e67);
    gguf_close(f);

    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_arr(w, "f64", GGUF_TYPE_FLOAT64,
                                  (double[]){3.0, 1.5, NAN, INFINITY, -0x1p63, 0x1p63, -0.0}, 7));
    ASSERT_OK(gguf_writer_add_arr(w, "f32", GGUF_TYPE_FLOAT32, (float[]){-7.0f, 1e30f, -INFINITY}, 3));
    ASSERT_OK(gguf_writer_add_arr(w, "i8", GGUF_TYPE_INT8, (int8_t[]){-128, 5}, 2));
    ASSERT_OK(gguf_writer_add_arr(w, "u64", GGUF_TYPE_UINT64, (uint64_t[]){1ull << 63, 40}, 2));
    ASSERT_OK(gguf_writer_add_f64(w, "huge", 1e300));
    ASSERT_OK(gguf_writer_add_f64(w, "inf", INFINITY));
    void *buf;
    size_t size;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));
    gguf_writer_free(w);
    ASSERT_OK(gguf_open_buffer(buf, size, "c.gguf", &f));

    const gguf_kv *d = gguf_find_kv(f, "f64");
    ASSERT_OK(gguf_arr_get_int(f, d, 0, 0, 10, &v));
    assert_int_equal(v, 3);
    assert_int_equal(gguf_arr_get_int(f, d, 0, 4, 10, &v), MOTE_E_FORMAT); /* whole, below lo */
    assert_has(mote_last_error(), "element 0 is 3, expected a whole number in [4, 10]");
    const char *bad[] = {"element 1 is 1.5", "element 2 is nan", "element 3 is inf", NULL, "element 5 is 9.22"};
    for (int k = 1; k <= 5; k++) {
        if (k == 4) { /* -2^63 is INT64_MIN exactly */
            ASSERT_OK(gguf_arr_get_int(f, d, 4, INT64_MIN, INT64_MAX, &v));
            assert_true(v == INT64_MIN);
            continue;
        }
        assert_int_equal(gguf_arr_get_int(f, d, (uint64_t)k, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT);
        assert_has(mote_last_error(), bad[k - 1]);
    }
    ASSERT_OK(gguf_arr_get_int(f, d, 6, 0, 0, &v)); /* -0.0 is 0 */
    assert_int_equal(v, 0);

    const gguf_kv *g = gguf_find_kv(f, "f32");
    ASSERT_OK(gguf_arr_get_int(f, g, 0, -7, -7, &v));
    assert_int_equal(v, -7);
    assert_int_equal(gguf_arr_get_int(f, g, 1, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT);
    assert_int_equal(gguf_arr_get_int(f, g, 2, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT);
    assert_true(isinf(gguf_arr_float(g, 2)));

    const gguf_kv *i8 = gguf_find_kv(f, "i8");
    ASSERT_OK(gguf_arr_get_int(f, i8, 0, INT8_MIN, 0, &v));
    assert_int_equal(v, -128);
    assert_int_equal(gguf_arr_get_int(f, i8, 1, 0, 4, &v), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "key 'i8': element 1 is 5, outside [0, 4]");

    const gguf_kv *u = gguf_find_kv(f, "u64");
    assert_int_equal(gguf_arr_get_int(f, u, 0, INT64_MIN, INT64_MAX, &v), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "element 0 is 9223372036854775808, outside");
    ASSERT_OK(gguf_arr_get_int(f, u, 1, 0, 40, &v));
    assert_int_equal(v, 40);

    /* not a numeric array, or past its end */
    ASSERT_OK(gguf_arr_get_int(f, u, 1, 0, 40, &v));
    assert_int_equal(gguf_arr_get_int(f, u, 2, INT64_MIN, INT64_MAX, &v), MOTE_E_INVALID);
    assert_int_equal(gguf_arr_get_int(f, gguf_find_kv(f, "huge"), 0, INT64_MIN, INT64_MAX, &v), MOTE_E_INVALID);
    assert_int_equal(gguf_arr_get_int(f, NULL, 0, INT64_MIN, INT64_MAX, &v), MOTE_E_INVALID);
    assert_true(gguf_arr_float(NULL, 0) == 0.0);

    /* a FLOAT64 scalar read as FLOAT32: past float's range is an error, an
     * infinity passes (the model's checks name the key) */
    float x = 0;
    assert_int_equal(gguf_get_f32_or(f, "huge", 1.0f, &x), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "key 'huge': value 1e+300 does not fit FLOAT32");
    ASSERT_OK(gguf_get_f32_or(f, "inf", 1.0f, &x));
    assert_true(isinf(x));
    gguf_close(f);
    free(buf);
}

/* Tensors of several types and shapes, at several alignments. */
static void test_roundtrip_tensors(void **state)
{
    static const uint32_t aligns[] = {0 /* default */, 1, 8, 64, 4096};
    uint8_t raw[4096];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 31 + 7);
    struct {
        const char *name;
        uint32_t type, n_dims;
        int64_t ne[4];
        uint64_t nbytes;
    } spec[] = {
        {"odd.f32", GGML_TYPE_F32, 1, {7}, 28},
        {"blk.0.attn_q.weight", GGML_TYPE_F16, 2, {5, 3}, 30},
        {"q4_0", GGML_TYPE_Q4_0, 2, {64, 2}, 4 * 18},
        {"q8_0", GGML_TYPE_Q8_0, 3, {32, 3, 1}, 3 * 34},
        {"q4_k", GGML_TYPE_Q4_K, 2, {256, 2}, 2 * 144},
        {"i8.4d", GGML_TYPE_I8, 4, {3, 1, 2, 2}, 12},
        {"empty", GGML_TYPE_F32, 2, {0, 4}, 0},
        {"0123456789012345678901234567890123456789012345678901234567890123", GGML_TYPE_BF16, 1,
         {2}, 4}, /* a name of exactly GGUF_MAX_NAME bytes */
    };
    const int n_spec = (int)(sizeof spec / sizeof spec[0]);
    for (size_t ai = 0; ai < sizeof aligns / sizeof aligns[0]; ai++) {
        gguf_writer *w;
        ASSERT_OK(gguf_writer_create(&w));
        ASSERT_OK(gguf_writer_add_str(w, "general.architecture", "test"));
        if (aligns[ai]) ASSERT_OK(gguf_writer_set_alignment(w, aligns[ai]));
        for (int i = 0; i < n_spec; i++)
            ASSERT_OK(gguf_writer_add_tensor(w, spec[i].name, spec[i].type, spec[i].n_dims,
                                             spec[i].ne, raw + 100 * i));
        static const int64_t fill_ne[2] = {3, 5};
        ASSERT_OK(gguf_writer_add_tensor_fill(w, "filled", GGML_TYPE_F32, 2, fill_ne, fill_ramp,
                                              (void *)&fill_ne[0]));
        void *buf;
        size_t size;
        ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));
        assert_int_equal(size, gguf_writer_size(w));
        gguf_writer_free(w);

        gguf_file *f;
        ASSERT_OK(gguf_open_buffer(buf, size, "t.gguf", &f));
        check_invariants(f, buf, size);
        uint64_t align = aligns[ai] ? aligns[ai] : GGUF_DEFAULT_ALIGNMENT;
        assert_int_equal(f->alignment, align);
        assert_int_equal(f->data_offset % align, 0);
        assert_int_equal(f->n_tensors, n_spec + 1);
        for (int i = 0; i < n_spec; i++) {
            const gguf_tensor *t = gguf_find_tensor(f, spec[i].name);
            assert_non_null(t);
            assert_ptr_equal(t, &f->tensors[i]); /* order kept */
            assert_int_equal(t->type, spec[i].type);
            assert_int_equal(t->n_dims, spec[i].n_dims);
            for (int d = 0; d < 4; d++)
                assert_int_equal(t->ne[d], d < (int)spec[i].n_dims ? spec[i].ne[d] : 1);
            assert_int_equal(t->nbytes, spec[i].nbytes);
            assert_int_equal(((const uint8_t *)t->data - (const uint8_t *)buf) % align, 0);
            assert_memory_equal(t->data, raw + 100 * i, spec[i].nbytes);
        }
        const gguf_tensor *t = gguf_find_tensor(f, "filled");
        assert_non_null(t);
        float x[15]; /* the data is not float-aligned at alignment 1 */
        memcpy(x, t->data, sizeof x);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++) assert_true(x[r * 3 + c] == ramp((uint64_t)r, c));
        assert_null(gguf_find_tensor(f, "missing"));
        gguf_close(f);
        free(buf);
    }
}

/* A fill tensor spanning several chunks, written to a file and to a stream,
 * reads back through the mmap path with the same bytes as the buffer. */
static void test_write_file(void **state)
{
    static const int64_t ne[2] = {1000, 700}; /* 2.8 MB: three chunks */
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_str(w, "general.architecture", "test"));
    ASSERT_OK(gguf_writer_add_tensor_fill(w, "big", GGML_TYPE_F32, 2, ne, fill_ramp, (void *)&ne[0]));
    static const float small[4] = {1, 2, 3, 4}; /* borrowed until the writes */
    ASSERT_OK(gguf_writer_add_tensor(w, "small", GGML_TYPE_F32, 1, (int64_t[]){4}, small));
    void *buf;
    size_t size;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));

    char path[] = "/tmp/test_gguf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ASSERT_OK(gguf_writer_write_file(w, path));
    size_t n;
    char *disk = read_file(path, &n);
    assert_non_null(disk);
    assert_int_equal(n, size);
    assert_memory_equal(disk, buf, size);
    free(disk);

    gguf_file *f;
    ASSERT_OK(gguf_open(path, &f));
    const gguf_tensor *t = gguf_find_tensor(f, "big");
    const float *x = t->data;
    for (uint64_t r = 0; r < 700; r++)
        for (int64_t c = 0; c < 1000; c++)
            if (x[r * 1000 + (uint64_t)c] != ramp(r, c)) fail_msg("big[%llu][%lld]", (unsigned long long)r, (long long)c);
    assert_true(((const float *)gguf_find_tensor(f, "small")->data)[3] == 4.0f);
    gguf_close(f);

    /* the same through a caller's stream */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    ASSERT_OK(gguf_writer_write_fp(w, fp));
    assert_int_equal(ftell(fp), (long)size);
    fclose(fp);
    disk = read_file(path, &n);
    assert_int_equal(n, size);
    assert_memory_equal(disk, buf, size);
    free(disk);
    unlink(path);

    /* errors: an unwritable path, and a fill callback that fails */
    assert_int_equal(gguf_writer_write_file(w, "/nonexistent-dir/x.gguf"), MOTE_E_IO);
    assert_has(mote_last_error(), "/nonexistent-dir/x.gguf");
    gguf_writer_free(w);
    free(buf);
}

static mote_status fill_fails(void *user, uint64_t row0, uint64_t n_rows, void *buf)
{
    return mote_fail(MOTE_E_RANGE, "no more numbers");
}

static void test_writer_rejects(void **state)
{
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_u32(w, "k", 1));
    assert_int_equal(gguf_writer_add_str(w, "k", "again"), MOTE_E_INVALID);
    assert_has(mote_last_error(), "duplicate key 'k'");
    assert_int_equal(gguf_writer_add_u32(w, "", 1), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_set_alignment(w, 3), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_set_alignment(w, 0), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_u64(w, GGUF_KEY_ALIGNMENT, 64), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_arr(w, "a", GGUF_TYPE_STRING, "x", 1), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_arr(w, "a", GGUF_TYPE_ARRAY, "x", 1), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_arr(w, "a", GGUF_TYPE_BOOL, (uint8_t[]){0, 2}, 2),
                     MOTE_E_INVALID);
    const int64_t ne[2] = {32, 2};
    float data[64] = {0};
    ASSERT_OK(gguf_writer_add_tensor(w, "t", GGML_TYPE_F32, 2, ne, data));
    assert_int_equal(gguf_writer_add_tensor(w, "t", GGML_TYPE_F32, 2, ne, data), MOTE_E_INVALID);
    assert_has(mote_last_error(), "duplicate tensor 't'");
    assert_int_equal(gguf_writer_add_tensor(w, "", GGML_TYPE_F32, 2, ne, data), MOTE_E_INVALID);
    char longname[GGUF_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(gguf_writer_add_tensor(w, longname, GGML_TYPE_F32, 2, ne, data), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", 4, 2, ne, data), MOTE_E_INVALID);
    assert_has(mote_last_error(), "unknown type 4");
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_COUNT, 2, ne, data), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F32, 0, ne, data), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F32, 5,
                                            (int64_t[]){1, 1, 1, 1, 1}, data), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_Q4_0, 2, (int64_t[]){33, 1}, data),
                     MOTE_E_INVALID);
    assert_has(mote_last_error(), "block size");
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F32, 2, (int64_t[]){-1, 1}, data),
                     MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F32, 2,
                                            (int64_t[]){INT64_MAX, INT64_MAX}, data), MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F64, 1, (int64_t[]){INT64_MAX}, data),
                     MOTE_E_INVALID);
    assert_int_equal(gguf_writer_add_tensor(w, "u", GGML_TYPE_F32, 1, (int64_t[]){4}, NULL),
                     MOTE_E_INVALID);
    ASSERT_OK(gguf_writer_add_tensor_fill(w, "bad", GGML_TYPE_F32, 1, (int64_t[]){4}, fill_fails, NULL));
    void *buf = (void *)1;
    size_t size = 1;
    assert_int_equal(gguf_writer_write_buffer(w, &buf, &size), MOTE_E_RANGE);
    assert_null(buf);
    assert_has(mote_last_error(), "tensor 'bad': no more numbers");
    gguf_writer_free(w);
    gguf_writer_free(NULL);
}

/* ------------------------------------------------------------------------
 * Getters and rendering
 * ---------------------------------------------------------------------- */

static void test_getters(void **state)
{
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    ASSERT_OK(gguf_writer_add_u8(w, "small", 7));
    ASSERT_OK(gguf_writer_add_i32(w, "neg", -3));
    ASSERT_OK(gguf_writer_add_u64(w, "big", 1ull << 40));
    ASSERT_OK(gguf_writer_add_i64(w, "i64fits", 123456));
    ASSERT_OK(gguf_writer_add_f64(w, "f64", 0.125));
    ASSERT_OK(gguf_writer_add_f32(w, "f32", 1e-5f));
    ASSERT_OK(gguf_writer_add_bool(w, "b", true));
    ASSERT_OK(gguf_writer_add_str(w, "s", "some text"));
    ASSERT_OK(gguf_writer_add_arr(w, "arr", GGUF_TYPE_INT32, (int32_t[]){1, 2}, 2));
    void *buf;
    size_t size;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));
    gguf_writer_free(w);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(buf, size, "g.gguf", &f));

    uint32_t u;
    int32_t i;
    float x;
    bool b;
    gguf_str s;
    const gguf_kv *kv;
    ASSERT_OK(gguf_get_u32(f, "small", &u));
    assert_int_equal(u, 7);
    ASSERT_OK(gguf_get_u32(f, "i64fits", &u));
    assert_int_equal(u, 123456);
    assert_int_equal(gguf_get_u32(f, "neg", &u), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "'neg'");
    assert_has(mote_last_error(), "-3");
    assert_int_equal(gguf_get_u32(f, "big", &u), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "does not fit");
    assert_int_equal(gguf_get_u32(f, "s", &u), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "key 's': type is STRING, expected UINT32");
    assert_int_equal(gguf_get_u32(f, "nope", &u), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "g.gguf: missing key 'nope'");
    ASSERT_OK(gguf_get_u32_or(f, "nope", 99, &u));
    assert_int_equal(u, 99);
    assert_int_equal(gguf_get_u32_or(f, "f64", 99, &u), MOTE_E_FORMAT);

    ASSERT_OK(gguf_get_i32_or(f, "neg", 0, &i));
    assert_int_equal(i, -3);
    ASSERT_OK(gguf_get_i32_or(f, "small", 0, &i));
    assert_int_equal(i, 7);
    ASSERT_OK(gguf_get_i32_or(f, "nope", -8, &i));
    assert_int_equal(i, -8);
    assert_int_equal(gguf_get_i32_or(f, "big", 0, &i), MOTE_E_FORMAT);
    assert_int_equal(gguf_get_i32_or(f, "b", 0, &i), MOTE_E_FORMAT);

    ASSERT_OK(gguf_get_f32_or(f, "f64", 0, &x));
    assert_true(x == 0.125f);
    ASSERT_OK(gguf_get_f32_or(f, "f32", 0, &x));
    assert_true(x == 1e-5f);
    ASSERT_OK(gguf_get_f32_or(f, "nope", 2.5f, &x));
    assert_true(x == 2.5f);
    assert_int_equal(gguf_get_f32_or(f, "small", 0, &x), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "type is UINT8, expected FLOAT32");

    ASSERT_OK(gguf_get_bool_or(f, "b", false, &b));
    assert_true(b);
    ASSERT_OK(gguf_get_bool_or(f, "nope", true, &b));
    assert_true(b);
    assert_int_equal(gguf_get_bool_or(f, "small", false, &b), MOTE_E_FORMAT);

    ASSERT_OK(gguf_get_str(f, "s", &s));
    assert_int_equal(s.len, 9);
    assert_int_equal(gguf_get_str(f, "small", &s), MOTE_E_FORMAT);
    assert_int_equal(gguf_get_str(f, "nope", &s), MOTE_E_FORMAT);
    ASSERT_OK(gguf_get_str_or_empty(f, "nope", &s));
    assert_null(s.ptr);
    assert_int_equal(s.len, 0);
    ASSERT_OK(gguf_get_str_or_empty(f, "s", &s));
    assert_int_equal(s.len, 9);
    assert_int_equal(gguf_get_str_or_empty(f, "b", &s), MOTE_E_FORMAT);

    ASSERT_OK(gguf_get_arr(f, "arr", GGUF_TYPE_INT32, &kv));
    assert_int_equal(kv->arr_n, 2);
    assert_int_equal(gguf_get_arr(f, "arr", GGUF_TYPE_STRING, &kv), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "type is ARRAY of INT32, expected ARRAY of STRING");
    assert_int_equal(gguf_get_arr(f, "s", GGUF_TYPE_STRING, &kv), MOTE_E_FORMAT);
    assert_int_equal(gguf_get_arr(f, "nope", GGUF_TYPE_STRING, &kv), MOTE_E_FORMAT);

    char text[32];
    gguf_kv_to_string(gguf_find_kv(f, "small"), text, sizeof text);
    assert_string_equal(text, "7");
    gguf_kv_to_string(gguf_find_kv(f, "neg"), text, sizeof text);
    assert_string_equal(text, "-3");
    gguf_kv_to_string(gguf_find_kv(f, "big"), text, sizeof text);
    assert_string_equal(text, "1099511627776");
    gguf_kv_to_string(gguf_find_kv(f, "f64"), text, sizeof text);
    assert_string_equal(text, "0.125");
    gguf_kv_to_string(gguf_find_kv(f, "b"), text, sizeof text);
    assert_string_equal(text, "true");
    gguf_kv_to_string(gguf_find_kv(f, "s"), text, sizeof text);
    assert_string_equal(text, "some text");
    gguf_kv_to_string(gguf_find_kv(f, "s"), text, 8); /* cut: 4 bytes and "..." */
    assert_string_equal(text, "some...");
    gguf_kv_to_string(gguf_find_kv(f, "s"), text, 10); /* exactly fits */
    assert_string_equal(text, "some text");
    gguf_kv_to_string(gguf_find_kv(f, "arr"), text, sizeof text);
    assert_string_equal(text, "[INT32 x 2]");
    gguf_kv_to_string(NULL, text, sizeof text);
    assert_string_equal(text, "");
    assert_string_equal(gguf_type_name(GGUF_TYPE_FLOAT64), "FLOAT64");
    assert_string_equal(gguf_type_name((gguf_type)99), "unknown");
    gguf_close(f);
    free(buf);
}

/* ------------------------------------------------------------------------
 * Reference files in ../shared
 * ---------------------------------------------------------------------- */

/* Every .gguf the manifest lists directly in folder rel opens and keeps
 * the reader's invariants (a listed file that is missing fails). */
static void open_dir_all(const char *rel)
{
    char **names;
    size_t n = shared_listed(rel, ".gguf", &names);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s/%s", shared_dir(), rel, names[i]);
        gguf_file *f = NULL;
        if (gguf_open(path, &f) != MOTE_OK) fail_msg("%s: %s", path, mote_last_error());
        check_invariants(f, f->map.data, f->map.size);
        gguf_str arch;
        ASSERT_OK(gguf_get_str(f, "general.architecture", &arch));
        assert_true(arch.len > 0);
        gguf_close(f);
        free(names[i]);
    }
    free(names);
    assert_true(n > 0);
}

static void test_shared_files_open(void **state)
{
    SKIP_WITHOUT_SHARED();
    open_dir_all("models");
    open_dir_all("vocab");
}

static void test_shared_spot_checks(void **state)
{
    SKIP_WITHOUT_SHARED();
    gguf_file *f;
    ASSERT_OK(gguf_open(shared_path("models/stories260K.gguf"), &f));
    gguf_str arch;
    ASSERT_OK(gguf_get_str(f, "general.architecture", &arch));
    assert_int_equal(arch.len, 5);
    assert_memory_equal(arch.ptr, "llama", 5);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    assert_int_equal(t->type, GGML_TYPE_F32);
    assert_int_equal(t->nbytes, 64 * 512 * 4);
    const gguf_kv *tokens;
    ASSERT_OK(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens));
    assert_int_equal(tokens->arr_n, 512);
    uint32_t n_layer;
    ASSERT_OK(gguf_get_u32(f, "llama.block_count", &n_layer));
    assert_int_equal(n_layer, 5);
    assert_null(gguf_find_kv(f, "llama.rope.freq_base"));

    /* rewriting every kv and tensor gives a file that reads back the same */
    gguf_writer *w;
    ASSERT_OK(gguf_writer_create(&w));
    for (uint64_t i = 0; i < f->n_kv; i++) ASSERT_OK(gguf_writer_add_kv(w, &f->kv[i]));
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *ti = &f->tensors[i];
        ASSERT_OK(gguf_writer_add_tensor(w, ti->name, ti->type, ti->n_dims, ti->ne, ti->data));
    }
    void *buf;
    size_t size;
    ASSERT_OK(gguf_writer_write_buffer(w, &buf, &size));
    gguf_writer_free(w);
    gguf_file *g;
    ASSERT_OK(gguf_open_buffer(buf, size, "copy.gguf", &g));
    assert_int_equal(g->n_kv, f->n_kv);
    assert_int_equal(g->n_tensors, f->n_tensors);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        char a[256], b[256];
        assert_string_equal(g->kv[i].key, f->kv[i].key);
        assert_int_equal(g->kv[i].type, f->kv[i].type);
        gguf_kv_to_string(&f->kv[i], a, sizeof a);
        gguf_kv_to_string(&g->kv[i], b, sizeof b);
        assert_string_equal(a, b);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        assert_string_equal(g->tensors[i].name, f->tensors[i].name);
        assert_int_equal(g->tensors[i].nbytes, f->tensors[i].nbytes);
        assert_memory_equal(g->tensors[i].data, f->tensors[i].data, f->tensors[i].nbytes);
    }
    gguf_close(g);
    free(buf);
    gguf_close(f);

    ASSERT_OK(gguf_open(shared_path("models/TinyStories-656K-Q4_0.gguf"), &f));
    t = gguf_find_tensor(f, "blk.0.attn_q.weight");
    assert_non_null(t);
    assert_int_equal(t->type, GGML_TYPE_Q4_0);
    assert_int_equal(t->nbytes, (uint64_t)t->ne[0] / 32 * 18 * (uint64_t)t->ne[1]);
    gguf_close(f);

    ASSERT_OK(gguf_open(shared_path("vocab/ggml-vocab-qwen2.gguf"), &f));
    assert_int_equal(f->n_tensors, 0);
    ASSERT_OK(gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &tokens));
    assert_true(tokens->arr_n > 100000);
    gguf_close(f);

    assert_int_equal(gguf_open(shared_path("README.md"), &f), MOTE_E_FORMAT);
    assert_has(mote_last_error(), "bad magic");
    assert_int_equal(gguf_open(shared_path("no-such-file.gguf"), &f), MOTE_E_IO);
    assert_has(mote_last_error(), "no-such-file.gguf");
    assert_null(f);
}

/* ------------------------------------------------------------------------
 * Blind damage to a valid file
 * ---------------------------------------------------------------------- */

static void test_truncation(void **state)
{
    void *buf;
    size_t size;
    make_small(&buf, &size);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(buf, size, "t.gguf", &f));
    size_t meta = f->data_offset, end = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        size_t e = (size_t)(f->data_offset + f->tensors[i].offset + f->tensors[i].nbytes);
        if (e > end) end = e;
    }
    gguf_close(f);
    assert_true(end < size); /* the writer pads the last tensor too */
    /* Every cut through the metadata and the data fails; cutting only the
     * final padding does not. Each copy is exactly n bytes, so ASan sees any
     * read past the cut. */
    for (size_t n = 0; n < size; n++) {
        void *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        mote_status st = open_any(cut, n);
        if (n < end) {
            assert_int_not_equal(st, MOTE_OK);
            if (n > 24) assert_has(mote_last_error(), "(at byte");
            if (n >= meta) assert_has(mote_last_error(), "past the end");
        } else {
            assert_int_equal(st, MOTE_OK);
        }
        free(cut);
    }
    assert_int_equal(open_any(buf, size), MOTE_OK);
    free(buf);
}

static void test_truncation_shared(void **state)
{
    SKIP_WITHOUT_SHARED();
    size_t size;
    char *buf = read_file(shared_path("models/stories260K.gguf"), &size);
    assert_non_null(buf);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(buf, size, "t.gguf", &f));
    uint64_t meta = f->data_offset, end = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        uint64_t e = f->data_offset + f->tensors[i].offset + f->tensors[i].nbytes;
        if (e > end) end = e;
    }
    gguf_close(f);
    for (size_t n = 0; n < end; n += n < meta ? 1 : 4093)
        assert_int_not_equal(open_any(buf, n), MOTE_OK);
    assert_int_not_equal(open_any(buf, (size_t)end - 1), MOTE_OK);
    free(buf);
}

/* Every metadata byte damaged in several ways; and absurd 32- and 64-bit
 * values written at every offset (counts, lengths, dims, offsets, types). */
static void test_damage_every_offset(void **state)
{
    void *orig;
    size_t size;
    make_small(&orig, &size);
    gguf_file *f;
    ASSERT_OK(gguf_open_buffer(orig, size, "t.gguf", &f));
    size_t meta = f->data_offset;
    gguf_close(f);
    uint8_t *buf = malloc(size);
    int failed = 0, total = 0;

    static const uint8_t xors[] = {0x01, 0x02, 0x10, 0x40, 0x80, 0xff};
    static const int sets[] = {0x00, 0xff, 0x7f};
    for (size_t at = 0; at < meta; at++) {
        for (size_t k = 0; k < sizeof xors + sizeof sets / sizeof sets[0]; k++) {
            memcpy(buf, orig, size);
            if (k < sizeof xors) buf[at] ^= xors[k];
            else buf[at] = (uint8_t)sets[k - sizeof xors];
            if (memcmp(buf, orig, size) == 0) continue;
            failed += open_any(buf, size) != MOTE_OK;
            total++;
        }
    }
    static const uint64_t wide[] = {UINT64_MAX, 1ull << 63, (1ull << 63) - 1, 1ull << 62,
                                    1ull << 61, 1ull << 32, 0xffffffffull, 0};
    for (size_t at = 0; at + 4 <= meta; at++) {
        for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
            for (unsigned width = 4; width <= 8; width += 4) {
                if (at + width > size) continue;
                memcpy(buf, orig, size);
                for (unsigned b = 0; b < width; b++) buf[at + b] = (uint8_t)(wide[k] >> (8 * b));
                if (memcmp(buf, orig, size) == 0) continue;
                failed += open_any(buf, size) != MOTE_OK;
                total++;
            }
        }
    }
    /* Most damage is detected; the rest (a changed letter in a key, a value)
     * opened to a self-consistent file, which open_any checked. */
    assert_true(failed > total / 2);
    free(buf);
    free(orig);
}

/* ------------------------------------------------------------------------
 * Hand-built files with one targeted defect each
 * ---------------------------------------------------------------------- */

typedef struct bb {
    uint8_t p[4096]; /* the file */
    size_t len;      /* bytes so far */
} bb;

static void bb_put(bb *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof b->p);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void bb_le(bb *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        bb_put(b, &c, 1);
    }
}
#define bb_u32(b, v) bb_le(b, v, 4)
#define bb_u64(b, v) bb_le(b, v, 8)

static void bb_strn(bb *b, const char *s, size_t n)
{
    bb_u64(b, n);
    bb_put(b, s, n);
}
static void bb_str(bb *b, const char *s) { bb_strn(b, s, strlen(s)); }

static void bb_header(bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    b->len = 0;
    bb_put(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}

static void bb_kv_u32(bb *b, const char *key, uint32_t v)
{
    bb_str(b, key);
    bb_u32(b, GGUF_TYPE_UINT32);
    bb_u32(b, v);
}

static void bb_kv_str(bb *b, const char *key, const char *v)
{
    bb_str(b, key);
    bb_u32(b, GGUF_TYPE_STRING);
    bb_str(b, v);
}

/* A tensor info (at most 5 dims are written, whatever n_dims says);
 * returns the byte offset where it starts. */
static size_t bb_tensor(bb *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type,
                        uint64_t offset)
{
    size_t at = b->len;
    bb_str(b, name);
    bb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims && d < 5; d++) bb_u64(b, (uint64_t)ne[d]);
    bb_u32(b, type);
    bb_u64(b, offset);
    return at;
}

/* Pad to the alignment, then n zero bytes of data. */
static void bb_data(bb *b, size_t align, size_t n)
{
    while (b->len % align) bb_le(b, 0, 1);
    while (n--) bb_le(b, 0, 1);
}

/* One F32 tensor "w" of the given shape and offset, with data bytes of data. */
static size_t bb_one_tensor(bb *b, uint32_t n_dims, const int64_t *ne, uint32_t type,
                            uint64_t offset, size_t data)
{
    bb_header(b, 3, 1, 1);
    bb_kv_str(b, "general.architecture", "llama");
    size_t at = bb_tensor(b, "w", n_dims, ne, type, offset);
    bb_data(b, 32, data);
    return at;
}

/* The file must fail with code and a message holding each given substring. */
static void expect_fail(const bb *b, mote_status code, const char *sub1, const char *sub2)
{
    /* an exact-size copy so that ASan catches any read past the end */
    void *copy = malloc(b->len ? b->len : 1);
    memcpy(copy, b->p, b->len);
    gguf_file *f = (gguf_file *)&f;
    mote_status st = gguf_open_buffer(copy, b->len, "t.gguf", &f);
    if (st != code)
        fail_msg("expected status %d, got %d: %s", code, st, mote_last_error());
    assert_null(f);
    assert_has(mote_last_error(), "gguf: t.gguf: ");
    if (sub1) assert_has(mote_last_error(), sub1);
    if (sub2) assert_has(mote_last_error(), sub2);
    free(copy);
}

static void expect_ok(const bb *b)
{
    gguf_file *f;
    if (gguf_open_buffer(b->p, b->len, "t.gguf", &f) != MOTE_OK) fail_msg("%s", mote_last_error());
    check_invariants(f, b->p, b->len);
    gguf_close(f);
}

static void test_bad_header(void **state)
{
    static bb b;
    bb_header(&b, 3, 0, 0);
    expect_ok(&b); /* an empty but valid file */

    b.len = 0;
    expect_fail(&b, MOTE_E_FORMAT, "bad magic", NULL);
    bb_put(&b, "GGU", 3);
    expect_fail(&b, MOTE_E_FORMAT, "bad magic", NULL);
    bb_header(&b, 3, 0, 0);
    b.p[3] = 'X';
    expect_fail(&b, MOTE_E_FORMAT, "bad magic", "at byte 0");
    bb_header(&b, 3, 0, 0);
    b.len = 6;
    expect_fail(&b, MOTE_E_FORMAT, "truncated reading version", "at byte 4");
    bb_header(&b, 3, 0, 0);
    b.len = 20;
    expect_fail(&b, MOTE_E_FORMAT, "truncated reading kv count", "at byte 16");

    bb_header(&b, 1, 0, 0);
    expect_fail(&b, MOTE_E_UNSUPPORTED, "version 1 is obsolete", NULL);
    bb_header(&b, 4, 0, 0);
    expect_fail(&b, MOTE_E_UNSUPPORTED, "unsupported GGUF version 4", NULL);
    bb_header(&b, 0, 0, 0);
    expect_fail(&b, MOTE_E_UNSUPPORTED, "version 0", NULL);
    bb_header(&b, 0x03000000u, 0, 0); /* version 3 written big-endian */
    expect_fail(&b, MOTE_E_UNSUPPORTED, "big-endian", NULL);
    bb_header(&b, 0x02000000u, 0, 0);
    expect_fail(&b, MOTE_E_UNSUPPORTED, "big-endian", NULL);
    bb_header(&b, 2, 0, 1); /* version 2 reads like 3 */
    bb_kv_u32(&b, "a", 1);
    expect_ok(&b);

    /* absurd counts fail before any allocation */
    static const uint64_t huge[] = {UINT64_MAX, 1ull << 63, 1ull << 62, 1ull << 40, 3};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        bb_header(&b, 3, 0, huge[i]);
        bb_kv_u32(&b, "a", 1);
        expect_fail(&b, MOTE_E_FORMAT, "kv count", "at byte 16");
        bb_header(&b, 3, huge[i], 1);
        bb_kv_u32(&b, "a", 1);
        expect_fail(&b, MOTE_E_FORMAT, "tensor", NULL);
    }
}

static void test_bad_kv(void **state)
{
    static bb b;
    static const uint64_t huge[] = {UINT64_MAX, 1ull << 63, 1ull << 61, 1000};

    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        /* key length */
        bb_header(&b, 3, 0, 1);
        bb_u64(&b, huge[i]);
        bb_put(&b, "abcdefghijklmnop", 16);
        expect_fail(&b, MOTE_E_FORMAT, "kv #0: key length", "at byte 24");
        /* string value length */
        bb_header(&b, 3, 0, 2);
        bb_kv_u32(&b, "first", 1);
        bb_str(&b, "general.name");
        bb_u32(&b, GGUF_TYPE_STRING);
        bb_u64(&b, huge[i]);
        bb_put(&b, "abcdefghijklmnop", 16);
        expect_fail(&b, MOTE_E_FORMAT, "key 'general.name': string value length", "at byte 69");
        /* numeric array count (2^62 UINT32s and 2^61 UINT64s are 2^64 bytes: must not wrap) */
        static const gguf_type et[] = {GGUF_TYPE_UINT8, GGUF_TYPE_UINT32, GGUF_TYPE_UINT64,
                                       GGUF_TYPE_BOOL};
        for (size_t k = 0; k < sizeof et / sizeof et[0]; k++) {
            bb_header(&b, 3, 0, 1);
            bb_str(&b, "arr");
            bb_u32(&b, GGUF_TYPE_ARRAY);
            bb_u32(&b, et[k]);
            /* instead of 1000: the count whose byte size wraps to 0 */
            uint64_t es = gguf_type_size(et[k]);
            bb_u64(&b, huge[i] != 1000 ? huge[i] : es == 1 ? UINT64_MAX : UINT64_MAX / es + 1);
            bb_put(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
            expect_fail(&b, MOTE_E_FORMAT, "key 'arr': array of", "at byte 43");
        }
        /* string array count (2^61 strings would be 2^64 bytes of lengths) */
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "toks");
        bb_u32(&b, GGUF_TYPE_ARRAY);
        bb_u32(&b, GGUF_TYPE_STRING);
        bb_u64(&b, huge[i]);
        bb_put(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
        expect_fail(&b, MOTE_E_FORMAT, "key 'toks': array of", "strings cannot fit");
        /* length of one string inside an array */
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "toks");
        bb_u32(&b, GGUF_TYPE_ARRAY);
        bb_u32(&b, GGUF_TYPE_STRING);
        bb_u64(&b, 2);
        bb_str(&b, "ok");
        bb_u64(&b, huge[i]);
        bb_put(&b, "abc", 3);
        expect_fail(&b, MOTE_E_FORMAT, "key 'toks': array string length", "at byte 62");
    }

    /* value and element types */
    static const uint32_t bad_types[] = {GGUF_TYPE_COUNT, 100, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "unknown value type %u", bad_types[i]);
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k");
        bb_u32(&b, bad_types[i]);
        bb_u64(&b, 0);
        expect_fail(&b, MOTE_E_FORMAT, "key 'k': ", want);
        snprintf(want, sizeof want, "unknown array element type %u", bad_types[i]);
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k");
        bb_u32(&b, GGUF_TYPE_ARRAY);
        bb_u32(&b, bad_types[i]);
        bb_u64(&b, 0);
        expect_fail(&b, MOTE_E_FORMAT, "key 'k': ", want);
    }
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GGUF_TYPE_ARRAY);
    bb_u32(&b, GGUF_TYPE_ARRAY);
    bb_u64(&b, 0);
    expect_fail(&b, MOTE_E_FORMAT, "key 'k': nested arrays", "at byte 37");

    /* values a bool cannot have */
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "b");
    bb_u32(&b, GGUF_TYPE_BOOL);
    bb_le(&b, 2, 1);
    expect_fail(&b, MOTE_E_FORMAT, "key 'b': bool value 2", NULL);
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "b");
    bb_u32(&b, GGUF_TYPE_ARRAY);
    bb_u32(&b, GGUF_TYPE_BOOL);
    bb_u64(&b, 3);
    bb_put(&b, "\1\0\7", 3);
    expect_fail(&b, MOTE_E_FORMAT, "key 'b': bool element 2", "at byte 51");

    /* keys: empty, with NUL, duplicated */
    bb_header(&b, 3, 0, 1);
    bb_kv_u32(&b, "", 1);
    expect_fail(&b, MOTE_E_FORMAT, "kv #0: empty key", NULL);
    bb_header(&b, 3, 0, 1);
    bb_strn(&b, "a\0b", 3);
    bb_u32(&b, GGUF_TYPE_UINT8);
    bb_le(&b, 1, 1);
    expect_fail(&b, MOTE_E_FORMAT, "kv #0: key contains a NUL", NULL);
    bb_header(&b, 3, 0, 3);
    bb_kv_u32(&b, "general.x", 1);
    bb_kv_u32(&b, "y", 1);
    size_t dup_at = b.len;
    bb_kv_str(&b, "general.x", "again");
    char want[64];
    snprintf(want, sizeof want, "at byte %zu", dup_at);
    expect_fail(&b, MOTE_E_FORMAT, "key 'general.x': duplicate key", want);

    /* value truncated after its type */
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_u32(&b, GGUF_TYPE_UINT64);
    bb_u32(&b, 5);
    expect_fail(&b, MOTE_E_FORMAT, "key 'k': file truncated reading value", NULL);
}

static void test_bad_alignment(void **state)
{
    static bb b;
    static const uint32_t bad[] = {0, 3, 48, 0x80000001u, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bb_header(&b, 3, 0, 1);
        bb_kv_u32(&b, GGUF_KEY_ALIGNMENT, bad[i]);
        expect_fail(&b, MOTE_E_FORMAT, "key 'general.alignment': alignment", "not a power of two");
    }
    bb_header(&b, 3, 0, 1);
    bb_str(&b, GGUF_KEY_ALIGNMENT);
    bb_u32(&b, GGUF_TYPE_UINT64);
    bb_u64(&b, 64);
    expect_fail(&b, MOTE_E_FORMAT, "type is UINT64, expected UINT32", NULL);

    /* a tensor at offset 32 is aligned for 32 but not for 64 */
    const int64_t ne[1] = {8};
    for (uint32_t align = 16; align <= 64; align *= 2) {
        bb_header(&b, 3, 2, 1);
        bb_kv_u32(&b, GGUF_KEY_ALIGNMENT, align);
        bb_tensor(&b, "a", 1, ne, GGML_TYPE_F32, 0);
        size_t at = bb_tensor(&b, "b", 1, ne, GGML_TYPE_F32, 32);
        bb_data(&b, align, 64);
        if (align <= 32) {
            expect_ok(&b);
            gguf_file *f;
            ASSERT_OK(gguf_open_buffer(b.p, b.len, "t.gguf", &f));
            assert_int_equal(f->alignment, align);
            assert_int_equal(f->data_offset % align, 0);
            assert_ptr_equal(f->tensors[1].data, b.p + f->data_offset + 32);
            gguf_close(f);
        } else {
            char want[64];
            snprintf(want, sizeof want, "at byte %zu", at);
            expect_fail(&b, MOTE_E_FORMAT, "tensor 'b': data offset 32 is not a multiple of the alignment 64", want);
        }
    }
}

static void test_bad_tensor_info(void **state)
{
    static bb b;
    char want[128];
    const int64_t ne8[2] = {8, 2};
    bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, 0, 64);
    expect_ok(&b);

    /* n_dims */
    bb_one_tensor(&b, 0, ne8, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': n_dims 0 is not in 1..4", NULL);
    const int64_t ne5[5] = {1, 1, 1, 1, 1};
    bb_one_tensor(&b, 5, ne5, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': n_dims 5", NULL);
    bb_one_tensor(&b, UINT32_MAX, ne5, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': n_dims 4294967295", NULL);

    /* dims: negative, overflowing the element count, overflowing the bytes */
    bb_one_tensor(&b, 2, (int64_t[]){8, -1}, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': dimension 1 is negative", NULL);
    bb_one_tensor(&b, 2, (int64_t[]){INT64_MIN, 1}, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "dimension 0 is negative", NULL);
    bb_one_tensor(&b, 2, (int64_t[]){1ll << 32, 1ll << 32}, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': shape", "more than 2^63 elements");
    bb_one_tensor(&b, 4, (int64_t[]){1ll << 20, 1ll << 20, 1ll << 20, 1ll << 20}, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "more than 2^63 elements", NULL);
    bb_one_tensor(&b, 2, (int64_t[]){INT64_MAX, INT64_MAX}, GGML_TYPE_F32, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "more than 2^63 elements", NULL);
    bb_one_tensor(&b, 2, (int64_t[]){1ll << 31, 1ll << 31}, GGML_TYPE_F64, 0, 64); /* 2^65 bytes */
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ", "exceed the file size");
    bb_one_tensor(&b, 1, (int64_t[]){INT64_MAX - 255}, GGML_TYPE_Q4_K, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ", "exceed the file size");
    /* a dim of 0: no data, still valid */
    bb_one_tensor(&b, 2, (int64_t[]){0, 5}, GGML_TYPE_F32, 0, 0);
    expect_ok(&b);

    /* a file that ends before the padding that starts its data section */
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "z", 1, (int64_t[]){0}, GGML_TYPE_F32, 0);
    expect_fail(&b, MOTE_E_FORMAT, "data section (at byte 64", "starts past the end of the file (57 bytes)");
    bb_header(&b, 3, 0, 1); /* without tensors that is fine (vocab-only files) */
    bb_kv_u32(&b, "a", 1);
    expect_ok(&b);

    /* types */
    static const uint32_t bad_types[] = {4, 5, 31, 32, 33, 36, GGML_TYPE_COUNT, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        size_t at = bb_one_tensor(&b, 2, ne8, bad_types[i], 0, 64);
        snprintf(want, sizeof want, "tensor 'w': unknown tensor type id %u (at byte %zu)",
                 bad_types[i], at + 8 + 1 + 4 + 16);
        expect_fail(&b, MOTE_E_FORMAT, want, NULL);
    }
    bb_one_tensor(&b, 2, (int64_t[]){33, 1}, GGML_TYPE_Q4_0, 0, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ne[0] = 33 is not a multiple of the Q4_0 block size 32", NULL);
    bb_one_tensor(&b, 2, (int64_t[]){128, 1}, GGML_TYPE_Q4_K, 0, 256);
    expect_fail(&b, MOTE_E_FORMAT, "block size 256", NULL);

    /* offsets: misaligned, past the end, partly past the end, wrapping */
    static const uint64_t bad_off[] = {1, 16, 31};
    for (size_t i = 0; i < sizeof bad_off / sizeof bad_off[0]; i++) {
        size_t at = bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, bad_off[i], 128);
        snprintf(want, sizeof want, "data offset %llu is not a multiple of the alignment 32 (at byte %zu)",
                 (unsigned long long)bad_off[i], at);
        expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ", want);
    }
    static const uint64_t far_off[] = {64, 96, 1ull << 40, UINT64_MAX - 31, (1ull << 63) - 32};
    for (size_t i = 0; i < sizeof far_off / sizeof far_off[0]; i++) {
        size_t at = bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, far_off[i], 100);
        snprintf(want, sizeof want, "(at byte %zu)", at);
        expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ", "past the end of the file");
        expect_fail(&b, MOTE_E_FORMAT, want, NULL);
    }
    bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, 0, 63); /* one byte short */
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'w': ", "past the end of the file");
    bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, 0, 64); /* exactly fits */
    expect_ok(&b);

    /* names: empty, too long, NUL, absurd length, duplicated */
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, "", 1, ne8, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32);
    expect_fail(&b, MOTE_E_FORMAT, "tensor #0: empty tensor name", NULL);
    char name[GGUF_MAX_NAME + 2];
    memset(name, 'x', sizeof name);
    name[GGUF_MAX_NAME + 1] = '\0';
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, name, 1, ne8, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32);
    expect_fail(&b, MOTE_E_FORMAT, "tensor #0: tensor name of 65 bytes exceeds 64", NULL);
    name[GGUF_MAX_NAME] = '\0';
    bb_header(&b, 3, 1, 0);
    bb_tensor(&b, name, 1, ne8, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32);
    expect_ok(&b);
    bb_header(&b, 3, 1, 0);
    bb_strn(&b, "a\0b", 3);
    bb_u32(&b, 1);
    bb_u64(&b, 8);
    bb_u32(&b, GGML_TYPE_F32);
    bb_u64(&b, 0);
    bb_data(&b, 32, 32);
    expect_fail(&b, MOTE_E_FORMAT, "tensor #0: tensor name contains a NUL", NULL);
    bb_header(&b, 3, 1, 0);
    bb_u64(&b, UINT64_MAX);
    bb_put(&b, "0123456789abcdef0123456789abcdef0123", 36);
    expect_fail(&b, MOTE_E_FORMAT, "tensor #0: tensor name length", "at byte 24");
    bb_header(&b, 3, 3, 0);
    bb_tensor(&b, "a", 1, ne8, GGML_TYPE_F32, 0);
    bb_tensor(&b, "b", 1, ne8, GGML_TYPE_F32, 32);
    size_t at = bb_tensor(&b, "a", 1, ne8, GGML_TYPE_F32, 64);
    bb_data(&b, 32, 96);
    snprintf(want, sizeof want, "tensor 'a': duplicate tensor name (at byte %zu)", at);
    expect_fail(&b, MOTE_E_FORMAT, want, NULL);

    /* overlapping data */
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 2, ne8, GGML_TYPE_F32, 0);  /* [0, 64) */
    bb_tensor(&b, "b", 1, ne8, GGML_TYPE_F32, 32); /* [32, 64) */
    bb_data(&b, 32, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'b': data [32, 64) overlaps tensor 'a' [0, 64)", NULL);
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 1, ne8, GGML_TYPE_F32, 0);
    bb_tensor(&b, "b", 1, ne8, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32);
    expect_fail(&b, MOTE_E_FORMAT, "overlaps tensor 'a'", NULL);
    /* zero-size tensors may share an offset with anything */
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 1, ne8, GGML_TYPE_F32, 0);
    bb_tensor(&b, "b", 1, (int64_t[]){0}, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32);
    expect_ok(&b);

    /* data must tile the data section: a tensor whose type changed without its
     * data (F32 -> Q4_0: 64 -> 18 bytes) leaves bytes that belong to no tensor */
    bb_header(&b, 3, 2, 0);
    bb_tensor(&b, "a", 2, (int64_t[]){32, 2}, GGML_TYPE_Q4_0, 0); /* 36 bytes, was 256 as F32 */
    bb_tensor(&b, "b", 1, ne8, GGML_TYPE_F32, 256);
    bb_data(&b, 32, 256 + 32);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'a': type Q4_0 and its shape need 36 bytes of data, but 256 bytes",
                "and tensor 'b' (padding to the alignment 32 allows at most 67)");
    bb_header(&b, 3, 2, 0); /* the same tensor last: the gap runs to the end of the file */
    bb_tensor(&b, "b", 1, ne8, GGML_TYPE_F32, 0);
    bb_tensor(&b, "a", 2, (int64_t[]){32, 2}, GGML_TYPE_BF16, 32); /* 128 bytes, was 256 */
    bb_data(&b, 32, 32 + 256);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'a': type BF16 and its shape need 128 bytes", "the end of the file");
    bb_header(&b, 3, 2, 0); /* padding below the alignment, in any order, is fine */
    bb_tensor(&b, "b", 1, (int64_t[]){4}, GGML_TYPE_F32, 32); /* 16 bytes + 16 padding */
    bb_tensor(&b, "a", 1, (int64_t[]){4}, GGML_TYPE_F32, 0);
    bb_data(&b, 32, 32 + 16);
    expect_ok(&b);
    b.len += 31; /* trailing padding of the last tensor, up to the alignment */
    expect_ok(&b);
    b.len += 1;
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'b': type F32 and its shape need 16 bytes", "the end of the file");
    bb_header(&b, 3, 1, 0); /* a hole before the first tensor */
    bb_tensor(&b, "a", 1, ne8, GGML_TYPE_F32, 32);
    bb_data(&b, 32, 64);
    expect_fail(&b, MOTE_E_FORMAT, "tensor 'a': data starts at offset 32", "belong to no tensor");

    /* tensor infos truncated at each field */
    at = bb_one_tensor(&b, 2, ne8, GGML_TYPE_F32, 0, 64);
    static const char *const field[] = {"tensor name (8 bytes", "n_dims", "dimension", "tensor type",
                                        "tensor offset"};
    /* name length at +0, name "w" at +8, n_dims at +9, dims at +13, type at +29, offset at +33 */
    const size_t cut[] = {at + 4, at + 9 + 2, at + 13 + 8 + 3, at + 29 + 1, at + 33 + 7};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        b.len = cut[i];
        expect_fail(&b, MOTE_E_FORMAT, "file truncated reading", field[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_kv),
        cmocka_unit_test(test_numeric_conversions),
        cmocka_unit_test(test_roundtrip_tensors),
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_shared_files_open),
        cmocka_unit_test(test_shared_spot_checks),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_shared),
        cmocka_unit_test(test_damage_every_offset),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_kv),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_bad_tensor_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
