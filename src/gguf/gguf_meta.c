/*
 * gguf_meta.c — reading values out of a validated GGUF file: the type
 * table, typed getters, array elements and rendering values as text.
 *
 * Everything here trusts what gguf_open() checked (types are defined, array
 * data lies inside the map), but still treats a missing key or a type other
 * than the one asked for as an error value, never a crash.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"

/* ------------------------------------------------------------------------
 * Value types (gguf.md: enum gguf_metadata_value_type)
 * ---------------------------------------------------------------------- */

/* Bytes of one scalar of each type; 0 for STRING and ARRAY. */
static const uint8_t type_size[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = 1,  [GGUF_TYPE_INT8] = 1,    [GGUF_TYPE_UINT16] = 2,
    [GGUF_TYPE_INT16] = 2,  [GGUF_TYPE_UINT32] = 4,  [GGUF_TYPE_INT32] = 4,
    [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,   [GGUF_TYPE_STRING] = 0,
    [GGUF_TYPE_ARRAY] = 0,  [GGUF_TYPE_UINT64] = 8,  [GGUF_TYPE_INT64] = 8,
    [GGUF_TYPE_FLOAT64] = 8,
};

static const char *const type_names[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = "UINT8",     [GGUF_TYPE_INT8] = "INT8",
    [GGUF_TYPE_UINT16] = "UINT16",   [GGUF_TYPE_INT16] = "INT16",
    [GGUF_TYPE_UINT32] = "UINT32",   [GGUF_TYPE_INT32] = "INT32",
    [GGUF_TYPE_FLOAT32] = "FLOAT32", [GGUF_TYPE_BOOL] = "BOOL",
    [GGUF_TYPE_STRING] = "STRING",   [GGUF_TYPE_ARRAY] = "ARRAY",
    [GGUF_TYPE_UINT64] = "UINT64",   [GGUF_TYPE_INT64] = "INT64",
    [GGUF_TYPE_FLOAT64] = "FLOAT64",
};

const char *gguf_type_name(gguf_type t)
{
    return (unsigned)t < GGUF_TYPE_COUNT ? type_names[t] : "unknown";
}

size_t gguf_type_size(gguf_type t)
{
    return (unsigned)t < GGUF_TYPE_COUNT ? type_size[t] : 0;
}

static bool type_is_int(gguf_type t)
{
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32:
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64:
        return true;
    default:
        return false;
    }
}

static bool type_is_signed(gguf_type t)
{
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_INT64;
}

/* ------------------------------------------------------------------------
 * Typed getters
 * ---------------------------------------------------------------------- */

static mote_status missing(const gguf_file *f, const char *key)
{
    return mote_fail(MOTE_E_FORMAT, "gguf: %s: missing key '%s'", f ? f->path : "(no file)",
                     key ? key : "(null)");
}

static mote_status wrong_type(const gguf_file *f, const gguf_kv *kv, const char *expected)
{
    if (kv->type == GGUF_TYPE_ARRAY)
        return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': type is ARRAY of %s, expected %s",
                         f->path, kv->key, gguf_type_name(kv->arr_type), expected);
    return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': type is %s, expected %s", f->path,
                     kv->key, gguf_type_name(kv->type), expected);
}

/* An integer kv whose value lies in [lo, hi]. */
static mote_status get_int_in(const gguf_file *f, const gguf_kv *kv, int64_t lo, uint64_t hi,
                              const char *expected, int64_t *out_s, uint64_t *out_u)
{
    if (!type_is_int(kv->type)) return wrong_type(f, kv, expected);
    bool fits;
    if (type_is_signed(kv->type))
        fits = kv->v.i64 >= lo && (kv->v.i64 < 0 || (uint64_t)kv->v.i64 <= hi);
    else
        fits = kv->v.u64 <= hi;
    if (!fits) {
        if (type_is_signed(kv->type))
            return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': value %lld does not fit %s",
                             f->path, kv->key, (long long)kv->v.i64, expected);
        return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': value %llu does not fit %s",
                         f->path, kv->key, (unsigned long long)kv->v.u64, expected);
    }
    if (out_s) *out_s = type_is_signed(kv->type) ? kv->v.i64 : (int64_t)kv->v.u64;
    if (out_u) *out_u = type_is_signed(kv->type) ? (uint64_t)kv->v.i64 : kv->v.u64;
    return MOTE_OK;
}

mote_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(f, key);
    uint64_t u;
    MOTE_TRY(get_int_in(f, kv, 0, UINT32_MAX, "UINT32", NULL, &u));
    *out = (uint32_t)u;
    return MOTE_OK;
}

mote_status gguf_get_u32_or(const gguf_file *f, const char *key, uint32_t dflt, uint32_t *out)
{
    if (!gguf_find_kv(f, key)) {
        *out = dflt;
        return MOTE_OK;
    }
    return gguf_get_u32(f, key, out);
}

mote_status gguf_get_i32_or(const gguf_file *f, const char *key, int32_t dflt, int32_t *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        *out = dflt;
        return MOTE_OK;
    }
    int64_t s;
    MOTE_TRY(get_int_in(f, kv, INT32_MIN, INT32_MAX, "INT32", &s, NULL));
    *out = (int32_t)s;
    return MOTE_OK;
}

mote_status gguf_get_f32_or(const gguf_file *f, const char *key, float dflt, float *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        *out = dflt;
        return MOTE_OK;
    }
    if (kv->type != GGUF_TYPE_FLOAT32 && kv->type != GGUF_TYPE_FLOAT64)
        return wrong_type(f, kv, "FLOAT32");
    double v = kv->v.f64;
    if (isfinite(v) && (v > FLT_MAX || v < -FLT_MAX))
        return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': value %g does not fit FLOAT32", f->path, kv->key, v);
    *out = (float)v;
    return MOTE_OK;
}

mote_status gguf_get_bool_or(const gguf_file *f, const char *key, bool dflt, bool *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        *out = dflt;
        return MOTE_OK;
    }
    if (kv->type != GGUF_TYPE_BOOL) return wrong_type(f, kv, "BOOL");
    *out = kv->v.u64 != 0;
    return MOTE_OK;
}

mote_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(f, key);
    if (kv->type != GGUF_TYPE_STRING) return wrong_type(f, kv, "STRING");
    *out = kv->str;
    return MOTE_OK;
}

mote_status gguf_get_str_or_empty(const gguf_file *f, const char *key, gguf_str *out)
{
    if (!gguf_find_kv(f, key)) {
        out->ptr = NULL;
        out->len = 0;
        return MOTE_OK;
    }
    return gguf_get_str(f, key, out);
}

mote_status gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem, const gguf_kv **out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) return missing(f, key);
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != elem) {
        char expected[32];
        snprintf(expected, sizeof expected, "ARRAY of %s", gguf_type_name(elem));
        return wrong_type(f, kv, expected);
    }
    *out = kv;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Array elements
 * ---------------------------------------------------------------------- */

/* Raw little-endian bits of element i (numeric arrays only). */
static uint64_t arr_raw(const gguf_kv *kv, uint64_t i)
{
    unsigned n = type_size[kv->arr_type];
    const uint8_t *p = (const uint8_t *)kv->arr_data + i * n;
    uint64_t v = 0;
    for (unsigned b = 0; b < n; b++) v |= (uint64_t)p[b] << (8 * b);
    return v;
}

static bool is_numeric_array(const gguf_kv *kv)
{
    return kv && kv->type == GGUF_TYPE_ARRAY && kv->arr_data && (unsigned)kv->arr_type < GGUF_TYPE_COUNT &&
           kv->arr_type != GGUF_TYPE_STRING && type_size[kv->arr_type] > 0;
}

/* A signed integer element, sign-extended from its width. */
static int64_t arr_signed(const gguf_kv *kv, uint64_t raw)
{
    switch (kv->arr_type) {
    case GGUF_TYPE_INT8: return (int8_t)raw;
    case GGUF_TYPE_INT16: return (int16_t)raw;
    case GGUF_TYPE_INT32: return (int32_t)raw;
    default: return (int64_t)raw;
    }
}

mote_status gguf_arr_get_int(const gguf_file *f, const gguf_kv *kv, uint64_t i, int64_t lo, int64_t hi,
                             int64_t *out)
{
    if (!is_numeric_array(kv) || i >= kv->arr_n || !out)
        return mote_fail(MOTE_E_INVALID, "gguf: element %llu of a key that is not a numeric array of as many",
                         (unsigned long long)i);
    const char *path = f ? f->path : "(no file)";
    uint64_t raw = arr_raw(kv, i);
    if (kv->arr_type == GGUF_TYPE_FLOAT32 || kv->arr_type == GGUF_TYPE_FLOAT64) {
        double x = gguf_arr_float(kv, i);
        /* -2^63 <= x < 2^63 (both exact as doubles) makes the conversion
         * defined; [lo, hi] is checked on the integer, as lo and hi need
         * not be exact doubles. */
        if (!(x >= -0x1p63 && x < 0x1p63) || x != floor(x) || (int64_t)x < lo || (int64_t)x > hi)
            return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': element %llu is %g, expected a whole number in "
                             "[%lld, %lld]", path, kv->key, (unsigned long long)i, x, (long long)lo, (long long)hi);
        *out = (int64_t)x;
        return MOTE_OK;
    }
    bool fits;
    int64_t v;
    if (type_is_signed(kv->arr_type)) {
        v = arr_signed(kv, raw);
        fits = v >= lo && v <= hi;
    } else { /* unsigned and bool */
        fits = raw <= (uint64_t)INT64_MAX && (int64_t)raw >= lo && (int64_t)raw <= hi;
        v = (int64_t)(raw & (uint64_t)INT64_MAX);
    }
    if (!fits) {
        if (type_is_signed(kv->arr_type))
            return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': element %llu is %lld, outside [%lld, %lld]", path,
                             kv->key, (unsigned long long)i, (long long)v, (long long)lo, (long long)hi);
        return mote_fail(MOTE_E_FORMAT, "gguf: %s: key '%s': element %llu is %llu, outside [%lld, %lld]", path,
                         kv->key, (unsigned long long)i, (unsigned long long)raw, (long long)lo, (long long)hi);
    }
    *out = v;
    return MOTE_OK;
}

double gguf_arr_float(const gguf_kv *kv, uint64_t i)
{
    if (!is_numeric_array(kv) || i >= kv->arr_n) return 0;
    uint64_t raw = arr_raw(kv, i);
    if (kv->arr_type == GGUF_TYPE_FLOAT32) {
        uint32_t b = (uint32_t)raw;
        float x;
        memcpy(&x, &b, sizeof x);
        return x;
    }
    if (kv->arr_type == GGUF_TYPE_FLOAT64) {
        double x;
        memcpy(&x, &raw, sizeof x);
        return x;
    }
    if (type_is_signed(kv->arr_type)) return (double)arr_signed(kv, raw);
    return (double)raw;
}

/* ------------------------------------------------------------------------
 * Rendering
 * ---------------------------------------------------------------------- */

/* Scalars as numbers ("%g" for floats), bools as true/false, strings as
 * their raw bytes (cut with "..." when they do not fit in cap), arrays as
 * "[TYPE x N]" whatever their length. */
void gguf_kv_to_string(const gguf_kv *kv, char *buf, size_t cap)
{
    if (!buf || cap == 0) return;
    if (!kv) {
        buf[0] = '\0';
        return;
    }
    switch (kv->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        snprintf(buf, cap, "%llu", (unsigned long long)kv->v.u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        snprintf(buf, cap, "%lld", (long long)kv->v.i64);
        break;
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64:
        snprintf(buf, cap, "%g", kv->v.f64);
        break;
    case GGUF_TYPE_BOOL:
        snprintf(buf, cap, "%s", kv->v.u64 ? "true" : "false");
        break;
    case GGUF_TYPE_STRING:
        if (kv->str.len < cap) {
            memcpy(buf, kv->str.ptr, kv->str.len);
            buf[kv->str.len] = '\0';
        } else {
            size_t keep = cap - 1;
            memcpy(buf, kv->str.ptr, keep);
            buf[keep] = '\0';
            for (size_t i = keep >= 3 ? keep - 3 : 0; i < keep; i++) buf[i] = '.';
        }
        break;
    case GGUF_TYPE_ARRAY:
        snprintf(buf, cap, "[%s x %llu]", gguf_type_name(kv->arr_type),
                 (unsigned long long)kv->arr_n);
        break;
    default:
        snprintf(buf, cap, "?");
        break;
    }
}
