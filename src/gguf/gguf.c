/*
 * gguf.c — opening and validating GGUF files (versions 2 and 3).
 *
 * The whole file is checked before gguf_open() returns, so that code above
 * this layer may trust every count, string, type, shape and offset it sees:
 *
 *   - counts are checked against the bytes left in the file before anything
 *     is allocated from them (a 2^64 count fails, it does not allocate);
 *   - every read is bounds-checked against the file size;
 *   - keys and tensor names are unique, non-empty and free of NUL bytes;
 *   - every tensor has a defined type, 1..4 dims, a shape whose element and
 *     byte counts do not overflow, an aligned offset and data that lies
 *     inside the file without overlapping another tensor's;
 *   - the tensors' data tiles the data section: between one tensor's data
 *     and the next (or the end of the file) lies only alignment padding, so
 *     a type or shape changed without its data is caught.
 *
 * Every failure names the file, the key or tensor when known, and the byte
 * offset in the file where the bad field starts.
 *
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
#include "gguf/gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* ------------------------------------------------------------------------
 * Format constants (gguf.md)
 * ---------------------------------------------------------------------- */

/* The smallest possible encodings, used to bound counts by the file size:
 * a kv is a u64 key length, a key of >= 1 byte, a u32 type and a value of
 * >= 1 byte; a tensor info is a u64 name length, a name of >= 1 byte, a u32
 * n_dims, >= 1 u64 dim, a u32 type and a u64 offset. */
#define GGUF_MIN_KV_BYTES (8u + 1u + 4u + 1u)
#define GGUF_MIN_TENSOR_INFO_BYTES (8u + 1u + 4u + 8u + 4u + 8u)

/* ------------------------------------------------------------------------
 * Bounds-checked little-endian reader
 * ---------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *base; /* the file */
    uint64_t size;       /* its bytes */
    uint64_t pos;        /* next byte to read; always <= size */
    const char *path;    /* for messages */
    char what[128];      /* what is being read: "kv #3", "key 'general.name'", "tensor 'x'" */
} reader;

/* Fail with "gguf: <path>: <what>: <message> (at byte <off>)". */
static mote_status MOTE_PRINTF(4, 5)
fail_at(const reader *r, mote_status code, uint64_t off, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->what[0])
        return mote_fail(code, "gguf: %s: %s: %s (at byte %llu)", r->path, r->what, msg,
                         (unsigned long long)off);
    return mote_fail(code, "gguf: %s: %s (at byte %llu)", r->path, msg, (unsigned long long)off);
}

static uint64_t left(const reader *r) { return r->size - r->pos; }

/* Read an n-byte (n <= 8) little-endian unsigned integer. */
static mote_status read_le(reader *r, unsigned n, const char *field, uint64_t *out)
{
    *out = 0; /* defined even on failure */
    if (left(r) < n)
        return fail_at(r, MOTE_E_FORMAT, r->pos,
                       "file truncated reading %s (%u bytes needed, %llu left)", field, n,
                       (unsigned long long)left(r));
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)r->base[r->pos + i] << (8 * i);
    r->pos += n;
    *out = v;
    return MOTE_OK;
}

static mote_status read_u32(reader *r, const char *field, uint32_t *out)
{
    uint64_t v = 0;
    mote_status st = read_le(r, 4, field, &v);
    *out = (uint32_t)v;
    return st;
}

static mote_status read_u64(reader *r, const char *field, uint64_t *out)
{
    return read_le(r, 8, field, out);
}

/* A u64 length and that many bytes, which must lie inside the file. */
static mote_status read_str(reader *r, const char *field, gguf_str *out)
{
    uint64_t at = r->pos, len;
    MOTE_TRY(read_u64(r, field, &len));
    if (len > left(r))
        return fail_at(r, MOTE_E_FORMAT, at, "%s length %llu exceeds the %llu bytes left in the file",
                       field, (unsigned long long)len, (unsigned long long)left(r));
    out->ptr = (const char *)r->base + r->pos;
    out->len = len;
    r->pos += len;
    return MOTE_OK;
}

/* Copy a name (key or tensor name) to a NUL-terminated string; it must be
 * non-empty and contain no NUL byte, so that the copy says the same thing. */
static mote_status copy_name(reader *r, uint64_t at, const char *field, gguf_str s, char **out)
{
    if (s.len == 0) return fail_at(r, MOTE_E_FORMAT, at, "empty %s", field);
    if (memchr(s.ptr, '\0', s.len))
        return fail_at(r, MOTE_E_FORMAT, at, "%s contains a NUL byte", field);
    char *p = malloc(s.len + 1);
    if (!p) return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    *out = p;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Key-value pairs
 * ---------------------------------------------------------------------- */

/* Decode one scalar of type t (raw holds its little-endian bits). */
static mote_status decode_scalar(reader *r, uint64_t at, gguf_type t, uint64_t raw, gguf_kv *kv)
{
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        kv->v.u64 = raw;
        break;
    case GGUF_TYPE_INT8: kv->v.i64 = (int8_t)raw; break;
    case GGUF_TYPE_INT16: kv->v.i64 = (int16_t)raw; break;
    case GGUF_TYPE_INT32: kv->v.i64 = (int32_t)raw; break;
    case GGUF_TYPE_INT64: kv->v.i64 = (int64_t)raw; break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t b = (uint32_t)raw;
        float f;
        memcpy(&f, &b, sizeof f);
        kv->v.f64 = f;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&kv->v.f64, &raw, sizeof raw); break;
    case GGUF_TYPE_BOOL:
        if (raw > 1) return fail_at(r, MOTE_E_FORMAT, at, "bool value %llu is not 0 or 1",
                                    (unsigned long long)raw);
        kv->v.u64 = raw;
        break;
    default:
        return fail_at(r, MOTE_E_FORMAT, at, "not a scalar type %u", (unsigned)t);
    }
    return MOTE_OK;
}

static mote_status read_array(reader *r, gguf_kv *kv)
{
    uint64_t at = r->pos;
    uint32_t et;
    MOTE_TRY(read_u32(r, "array element type", &et));
    if (et >= GGUF_TYPE_COUNT)
        return fail_at(r, MOTE_E_FORMAT, at, "unknown array element type %u", et);
    if (et == GGUF_TYPE_ARRAY)
        return fail_at(r, MOTE_E_FORMAT, at, "nested arrays are not supported");
    kv->arr_type = (gguf_type)et;
    at = r->pos;
    uint64_t n;
    MOTE_TRY(read_u64(r, "array count", &n));
    if (et == GGUF_TYPE_STRING) {
        /* each element takes at least its u64 length: bound n before allocating */
        if (n > left(r) / 8)
            return fail_at(r, MOTE_E_FORMAT, at,
                           "array of %llu strings cannot fit in the %llu bytes left",
                           (unsigned long long)n, (unsigned long long)left(r));
        kv->arr_n = n;
        if (n == 0) return MOTE_OK;
        kv->arr_strs = calloc((size_t)n, sizeof *kv->arr_strs);
        if (!kv->arr_strs) return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
        for (uint64_t i = 0; i < n; i++) MOTE_TRY(read_str(r, "array string", &kv->arr_strs[i]));
        return MOTE_OK;
    }
    uint64_t es = gguf_type_size(kv->arr_type);
    if (n > left(r) / es)
        return fail_at(r, MOTE_E_FORMAT, at,
                       "array of %llu %s (%llu bytes each) exceeds the %llu bytes left",
                       (unsigned long long)n, gguf_type_name(kv->arr_type), (unsigned long long)es,
                       (unsigned long long)left(r));
    kv->arr_n = n;
    kv->arr_data = r->base + r->pos;
    if (et == GGUF_TYPE_BOOL) {
        for (uint64_t i = 0; i < n; i++)
            if (r->base[r->pos + i] > 1)
                return fail_at(r, MOTE_E_FORMAT, r->pos + i, "bool element %llu is %u, not 0 or 1",
                               (unsigned long long)i, r->base[r->pos + i]);
    }
    r->pos += n * es;
    return MOTE_OK;
}

static mote_status read_kv(reader *r, uint64_t i, gguf_kv *kv)
{
    uint64_t at = r->pos;
    snprintf(r->what, sizeof r->what, "kv #%llu", (unsigned long long)i);
    gguf_str key;
    MOTE_TRY(read_str(r, "key", &key));
    MOTE_TRY(copy_name(r, at, "key", key, &kv->key));
    snprintf(r->what, sizeof r->what, "key '%.80s'", kv->key);

    at = r->pos;
    uint32_t t;
    MOTE_TRY(read_u32(r, "value type", &t));
    if (t >= GGUF_TYPE_COUNT) return fail_at(r, MOTE_E_FORMAT, at, "unknown value type %u", t);
    kv->type = (gguf_type)t;
    if (t == GGUF_TYPE_STRING) return read_str(r, "string value", &kv->str);
    if (t == GGUF_TYPE_ARRAY) return read_array(r, kv);
    at = r->pos;
    uint64_t raw;
    MOTE_TRY(read_le(r, gguf_type_size(kv->type), "value", &raw));
    return decode_scalar(r, at, kv->type, raw, kv);
}

/* ------------------------------------------------------------------------
 * Uniqueness checks (sorting pointers: O(n log n) even for hostile counts)
 * ---------------------------------------------------------------------- */

static int cmp_kv_key(const void *a, const void *b)
{
    const gguf_kv *x = *(const gguf_kv *const *)a, *y = *(const gguf_kv *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x < y ? -1 : x > y);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x < y ? -1 : x > y;
}

static mote_status check_unique_keys(reader *r, gguf_file *f, const uint64_t *at)
{
    if (f->n_kv < 2) return MOTE_OK;
    const gguf_kv **v = malloc((size_t)f->n_kv * sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
    for (uint64_t i = 0; i < f->n_kv; i++) v[i] = &f->kv[i];
    qsort(v, (size_t)f->n_kv, sizeof *v, cmp_kv_key);
    mote_status st = MOTE_OK;
    for (uint64_t i = 1; i < f->n_kv && st == MOTE_OK; i++) {
        if (strcmp(v[i - 1]->key, v[i]->key) == 0) {
            /* the pointer order is the file order: v[i] is the later one */
            snprintf(r->what, sizeof r->what, "key '%.80s'", v[i]->key);
            st = fail_at(r, MOTE_E_FORMAT, at[v[i] - f->kv], "duplicate key");
        }
    }
    free(v);
    return st;
}

static mote_status check_unique_names(reader *r, gguf_file *f, const uint64_t *at)
{
    if (f->n_tensors < 2) return MOTE_OK;
    const gguf_tensor **v = malloc((size_t)f->n_tensors * sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) v[i] = &f->tensors[i];
    qsort(v, (size_t)f->n_tensors, sizeof *v, cmp_tensor_name);
    mote_status st = MOTE_OK;
    for (uint64_t i = 1; i < f->n_tensors && st == MOTE_OK; i++) {
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            snprintf(r->what, sizeof r->what, "tensor '%s'", v[i]->name);
            st = fail_at(r, MOTE_E_FORMAT, at[v[i] - f->tensors], "duplicate tensor name");
        }
    }
    free(v);
    return st;
}

/* A tensor of one of mote's own types (ggml_type_traits.layout) needs the
 * key "mote.type.<id>" with exactly that layout string: a file written for
 * another layout under the same id is refused, never misread. */
static mote_status check_type_layouts(reader *r, gguf_file *f, const uint64_t *at)
{
    uint8_t checked[MOTE_TYPE_COUNT - MOTE_TYPE_FIRST] = {0};
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const uint32_t t = f->tensors[i].type;
        const ggml_type_traits *tr = ggml_type_get(t);
        if (!tr->layout || checked[t - MOTE_TYPE_FIRST]) continue;
        char key[MOTE_TYPE_KEY_MAX];
        mote_type_key(t, key);
        const gguf_kv *kv = gguf_find_kv(f, key);
        snprintf(r->what, sizeof r->what, "tensor '%s'", f->tensors[i].name);
        if (!kv || kv->type != GGUF_TYPE_STRING)
            return fail_at(r, MOTE_E_FORMAT, at[i], "type %s (%u) needs the string key %s = \"%s\"", tr->name,
                           t, key, tr->layout);
        if (kv->str.len != strlen(tr->layout) || memcmp(kv->str.ptr, tr->layout, kv->str.len) != 0)
            return fail_at(r, MOTE_E_FORMAT, at[i], "%s is \"%.*s\", but mote's %s is \"%s\"", key,
                           (int)(kv->str.len < 200 ? kv->str.len : 200), kv->str.ptr, tr->name, tr->layout);
        checked[t - MOTE_TYPE_FIRST] = 1;
    }
    r->what[0] = '\0';
    return MOTE_OK;
}

/* Tensors with data must tile the data section: in offset order, each one's
 * data is followed by at most alignment - 1 bytes of padding, then the next
 * tensor or the end of the file. So no two share bytes, and no bytes belong
 * to no tensor: a tensor whose type or shape was changed without its data
 * (F32 -> Q4_0 keeps the offsets but shrinks the size) leaves a gap and is
 * caught here. Zero-size tensors are exempt. llama.cpp's reader is stricter
 * still (offsets in declaration order); this accepts any order. */
static mote_status check_layout(reader *r, gguf_file *f, const uint64_t *at)
{
    if (f->n_tensors == 0) return MOTE_OK;
    const gguf_tensor **v = malloc((size_t)f->n_tensors * sizeof *v);
    if (!v) return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) v[i] = &f->tensors[i];
    qsort(v, (size_t)f->n_tensors, sizeof *v, cmp_tensor_offset);
    mote_status st = MOTE_OK;
    const gguf_tensor *prev = NULL;
    const uint64_t data_size = r->size - f->data_offset; /* place_tensors checked the order */
    for (uint64_t i = 0; i <= f->n_tensors && st == MOTE_OK; i++) {
        const gguf_tensor *t = i < f->n_tensors ? v[i] : NULL; /* NULL: the end of the file */
        if (t && t->nbytes == 0) continue;
        uint64_t next = t ? t->offset : data_size;
        if (!prev) {
            if (t && t->offset != 0) {
                snprintf(r->what, sizeof r->what, "tensor '%s'", t->name);
                st = fail_at(r, MOTE_E_FORMAT, at[t - f->tensors],
                             "data starts at offset %llu of the data section, leaving bytes that "
                             "belong to no tensor before it",
                             (unsigned long long)t->offset);
            }
        } else if (t && prev->offset + prev->nbytes > t->offset) {
            snprintf(r->what, sizeof r->what, "tensor '%s'", t->name);
            st = fail_at(r, MOTE_E_FORMAT, at[t - f->tensors],
                         "data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
                         (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->nbytes), prev->name,
                         (unsigned long long)prev->offset,
                         (unsigned long long)(prev->offset + prev->nbytes));
        } else if (next - prev->offset - prev->nbytes >= f->alignment) {
            snprintf(r->what, sizeof r->what, "tensor '%s'", prev->name);
            char to[GGUF_MAX_NAME + 32];
            if (t)
                snprintf(to, sizeof to, "tensor '%s'", t->name);
            else
                snprintf(to, sizeof to, "the end of the file");
            st = fail_at(r, MOTE_E_FORMAT, at[prev - f->tensors],
                         "type %s and its shape need %llu bytes of data, but %llu bytes lie "
                         "between its offset %llu and %s (padding to the alignment %llu "
                         "allows at most %llu): its type or shape does not match its data",
                         ggml_type_name(prev->type), (unsigned long long)prev->nbytes,
                         (unsigned long long)(next - prev->offset),
                         (unsigned long long)prev->offset, to, (unsigned long long)f->alignment,
                         (unsigned long long)(prev->nbytes + f->alignment - 1));
        }
        prev = t;
    }
    free(v);
    return st;
}

/* ------------------------------------------------------------------------
 * Tensor infos
 * ---------------------------------------------------------------------- */

static mote_status read_tensor_info(reader *r, uint64_t i, gguf_tensor *t)
{
    uint64_t at = r->pos;
    snprintf(r->what, sizeof r->what, "tensor #%llu", (unsigned long long)i);
    gguf_str name;
    MOTE_TRY(read_str(r, "tensor name", &name));
    if (name.len > GGUF_MAX_NAME)
        return fail_at(r, MOTE_E_FORMAT, at, "tensor name of %llu bytes exceeds %d",
                       (unsigned long long)name.len, GGUF_MAX_NAME);
    MOTE_TRY(copy_name(r, at, "tensor name", name, &t->name));
    snprintf(r->what, sizeof r->what, "tensor '%s'", t->name);

    at = r->pos;
    MOTE_TRY(read_u32(r, "n_dims", &t->n_dims));
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return fail_at(r, MOTE_E_FORMAT, at, "n_dims %u is not in 1..%d", t->n_dims,
                       GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        at = r->pos;
        uint64_t ne;
        MOTE_TRY(read_u64(r, "dimension", &ne));
        if (ne > (uint64_t)INT64_MAX)
            return fail_at(r, MOTE_E_FORMAT, at, "dimension %u is negative (%lld)", d,
                           (long long)(int64_t)ne);
        t->ne[d] = (int64_t)ne;
    }

    at = r->pos;
    MOTE_TRY(read_u32(r, "tensor type", &t->type));
    const ggml_type_traits *tr = ggml_type_get(t->type);
    if (!tr) return fail_at(r, MOTE_E_FORMAT, at, "unknown tensor type id %u", t->type);

    /* Element count and byte size, each checked for overflow. */
    uint64_t nel = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t ne = (uint64_t)t->ne[d];
        if (ne != 0 && nel > (uint64_t)INT64_MAX / ne)
            return fail_at(r, MOTE_E_FORMAT, at - 8 * t->n_dims,
                           "shape [%lld, %lld, %lld, %lld] has more than 2^63 elements",
                           (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                           (long long)t->ne[3]);
        nel *= ne;
    }
    if (t->ne[0] % tr->block_size != 0)
        return fail_at(r, MOTE_E_FORMAT, at - 8 * t->n_dims,
                       "ne[0] = %lld is not a multiple of the %s block size %d",
                       (long long)t->ne[0], tr->name, tr->block_size);
    uint64_t blocks = nel / (uint64_t)tr->block_size;
    if (blocks != 0 && tr->type_size > r->size / blocks)
        return fail_at(r, MOTE_E_FORMAT, at, "%llu elements of %s exceed the file size",
                       (unsigned long long)nel, tr->name);
    t->nbytes = blocks * tr->type_size;

    return read_u64(r, "tensor offset", &t->offset);
}

/* Alignment from general.alignment (a power-of-two UINT32) or the default. */
static mote_status read_alignment(reader *r, gguf_file *f, const uint64_t *kv_at)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        if (strcmp(kv->key, GGUF_KEY_ALIGNMENT) != 0) continue;
        snprintf(r->what, sizeof r->what, "key '%s'", GGUF_KEY_ALIGNMENT);
        if (kv->type != GGUF_TYPE_UINT32)
            return fail_at(r, MOTE_E_FORMAT, kv_at[i], "type is %s, expected UINT32",
                           gguf_type_name(kv->type));
        uint64_t a = kv->v.u64;
        if (a == 0 || (a & (a - 1)) != 0)
            return fail_at(r, MOTE_E_FORMAT, kv_at[i], "alignment %llu is not a power of two",
                           (unsigned long long)a);
        f->alignment = a;
    }
    return MOTE_OK;
}

/* Place each tensor's data in the data section and check it lies in the file. */
static mote_status place_tensors(reader *r, gguf_file *f, const uint64_t *at)
{
    if (f->n_tensors > 0 && f->data_offset > r->size)
        return fail_at(r, MOTE_E_FORMAT, r->pos,
                       "the data section (at byte %llu after padding to the alignment %llu) "
                       "starts past the end of the file (%llu bytes)",
                       (unsigned long long)f->data_offset, (unsigned long long)f->alignment,
                       (unsigned long long)r->size);
    uint64_t room = r->size - (f->n_tensors > 0 ? f->data_offset : 0);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        snprintf(r->what, sizeof r->what, "tensor '%s'", t->name);
        if (t->offset % f->alignment != 0)
            return fail_at(r, MOTE_E_FORMAT, at[i], "data offset %llu is not a multiple of the alignment %llu",
                           (unsigned long long)t->offset, (unsigned long long)f->alignment);
        if (t->offset > room || t->nbytes > room - t->offset)
            return fail_at(r, MOTE_E_FORMAT, at[i],
                           "%llu bytes of data at offset %llu of the data section (which starts "
                           "at byte %llu) run past the end of the file (%llu bytes)",
                           (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                           (unsigned long long)f->data_offset, (unsigned long long)r->size);
        t->data = r->base + f->data_offset + t->offset;
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Open / close
 * ---------------------------------------------------------------------- */

static mote_status read_header(reader *r, gguf_file *f)
{
    if (r->size < 4 || memcmp(r->base, GGUF_MAGIC, 4) != 0)
        return fail_at(r, MOTE_E_FORMAT, 0, "not a GGUF file (bad magic)");
    r->pos = 4;
    MOTE_TRY(read_u32(r, "version", &f->version));
    uint32_t v = f->version;
    if (v == 1)
        return fail_at(r, MOTE_E_UNSUPPORTED, 4,
                       "GGUF version 1 is obsolete and not supported; re-convert the model");
    if (v != 0 && (v & 0xffffu) == 0)
        return fail_at(r, MOTE_E_UNSUPPORTED, 4,
                       "big-endian GGUF (version field reads 0x%08x) is not supported", v);
    if (v != 2 && v != 3)
        return fail_at(r, MOTE_E_UNSUPPORTED, 4, "unsupported GGUF version %u (mote reads 2 and 3)",
                       v);
    MOTE_TRY(read_u64(r, "tensor count", &f->n_tensors));
    MOTE_TRY(read_u64(r, "kv count", &f->n_kv));
    /* Bound both counts by the bytes left, before they size any allocation. */
    uint64_t room = left(r);
    if (f->n_kv > room / GGUF_MIN_KV_BYTES)
        return fail_at(r, MOTE_E_FORMAT, 16, "kv count %llu cannot fit in a %llu-byte file",
                       (unsigned long long)f->n_kv, (unsigned long long)r->size);
    room -= f->n_kv * GGUF_MIN_KV_BYTES;
    if (f->n_tensors > room / GGUF_MIN_TENSOR_INFO_BYTES)
        return fail_at(r, MOTE_E_FORMAT, 8, "tensor count %llu cannot fit in a %llu-byte file",
                       (unsigned long long)f->n_tensors, (unsigned long long)r->size);
    return MOTE_OK;
}

static mote_status parse(reader *r, gguf_file *f)
{
    mote_status st = read_header(r, f);
    uint64_t n_kv = f->n_kv, n_tensors = f->n_tensors;
    /* f->n_kv and f->n_tensors count what is allocated, so gguf_close frees
     * exactly that if parsing stops half-way. */
    f->n_kv = f->n_tensors = 0;
    if (st != MOTE_OK) return st;

    /* File offset of each kv and tensor info, for messages after the first pass. */
    uint64_t n_at = n_kv > n_tensors ? n_kv : n_tensors;
    uint64_t *at = malloc((size_t)(n_at ? n_at : 1) * sizeof *at);
    f->kv = calloc((size_t)(n_kv ? n_kv : 1), sizeof *f->kv);
    f->tensors = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *f->tensors);
    if (!at || !f->kv || !f->tensors) {
        free(at);
        return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", r->path);
    }

    for (uint64_t i = 0; i < n_kv && st == MOTE_OK; i++) {
        at[i] = r->pos;
        f->n_kv = i + 1;
        st = read_kv(r, i, &f->kv[i]);
    }
    if (st == MOTE_OK) st = check_unique_keys(r, f, at);
    if (st == MOTE_OK) st = read_alignment(r, f, at);

    for (uint64_t i = 0; i < n_tensors && st == MOTE_OK; i++) {
        at[i] = r->pos;
        f->n_tensors = i + 1;
        st = read_tensor_info(r, i, &f->tensors[i]);
    }
    if (st == MOTE_OK) {
        r->what[0] = '\0';
        /* pos <= size < 2^63 and alignment <= 2^31: no overflow */
        f->data_offset = (r->pos + f->alignment - 1) / f->alignment * f->alignment;
        st = check_unique_names(r, f, at);
    }
    if (st == MOTE_OK) st = check_type_layouts(r, f, at);
    if (st == MOTE_OK) st = place_tensors(r, f, at);
    if (st == MOTE_OK) st = check_layout(r, f, at);
    free(at);
    return st;
}

static mote_status open_map(mapfile map, const char *name, gguf_file **out)
{
    gguf_file *f = calloc(1, sizeof *f);
    char *path = strdup(name);
    if (!f || !path) {
        free(f);
        free(path);
        mapfile_close(&map);
        return mote_fail(MOTE_E_NOMEM, "gguf: %s: out of memory", name);
    }
    f->map = map;
    f->path = path;
    reader r = {.base = map.data, .size = map.size, .path = path};
    mote_status st = parse(&r, f);
    if (st != MOTE_OK) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return MOTE_OK;
}

mote_status gguf_open(const char *path, gguf_file **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "gguf_open: out is NULL");
    *out = NULL;
    if (!path) return mote_fail(MOTE_E_INVALID, "gguf_open: path is NULL");
    mapfile map;
    mote_status st = mapfile_open(path, &map);
    if (st != MOTE_OK) return mote_fail_prefix(st, "gguf: ");
    return open_map(map, path, out);
}

mote_status gguf_open_buffer(const void *data, size_t size, const char *name, gguf_file **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "gguf_open_buffer: out is NULL");
    *out = NULL;
    if (!data && size) return mote_fail(MOTE_E_INVALID, "gguf_open_buffer: data is NULL");
    static const uint8_t empty[1];
    mapfile map = {.data = data ? data : empty, .size = size, .owned = 0};
    return open_map(map, name ? name : "<buffer>", out);
}

void gguf_close(gguf_file *f)
{
    if (!f) return;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        free(f->kv[i].key);
        free(f->kv[i].arr_strs);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->kv);
    free(f->tensors);
    free(f->path);
    mapfile_close(&f->map);
    free(f);
}

/* ------------------------------------------------------------------------
 * Lookup
 * ---------------------------------------------------------------------- */

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i].key, key) == 0) return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    if (!f || !name) return NULL;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}
