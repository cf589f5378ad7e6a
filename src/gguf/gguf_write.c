/*
 * gguf_write.c — building GGUF v3 files.
 *
 * Key-value pairs are serialised as they are added (into `kv`), since their
 * encoding does not depend on anything added later. Tensor infos are kept
 * as descriptions and serialised at write time, when the alignment and so
 * every offset is final. The layout written:
 *
 *   header | kv pairs | tensor infos | pad | data 0 | pad | data 1 | pad ...
 *
 * where each pad reaches the next multiple of the alignment.
 */
#include "gguf/gguf_write.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"

/* ------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------- */

typedef struct wtensor {
    char *name;             /* NUL-terminated copy */
    uint32_t type;          /* enum ggml_type, defined */
    uint32_t n_dims;        /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS]; /* unused dims 1 */
    uint64_t nbytes;        /* bytes of data */
    uint64_t row_bytes;     /* bytes of one row of ne[0] elements */
    const void *data;       /* borrowed bytes, or NULL when fill is used */
    gguf_fill_fn fill;      /* producer of the rows, or NULL */
    void *user;             /* fill's argument */
} wtensor;

/* A growable byte string; `oom` records a failed growth so that a run of
 * puts can be checked once. */
typedef struct bytes {
    uint8_t *p;   /* contents */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    bool oom;     /* a put failed for lack of memory */
} bytes;

struct gguf_writer {
    bytes kv;             /* the serialised kv pairs, in order */
    char **keys;          /* key of each kv, for the uniqueness check */
    uint64_t n_kv;        /* kv pairs added */
    size_t keys_cap;      /* slots in keys */
    wtensor *tensors;     /* tensor descriptions, in order */
    uint64_t n_tensors;   /* tensors added */
    size_t tensors_cap;   /* slots in tensors */
    uint64_t data_bytes;  /* tensor bytes, each rounded up to MAX_ALIGNMENT: a bound on the
                           * data section whatever the alignment, kept below 2^62 */
    uint32_t alignment;   /* of the data section and every tensor */
};

static mote_status nomem(void) { return mote_fail(MOTE_E_NOMEM, "gguf writer: out of memory"); }

/* Guard of every public function taking a writer and a key or name. */
#define REQUIRE(w, key)                                                        \
    do {                                                                       \
        if (!(w) || !(key)) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL argument"); \
    } while (0)

/* ------------------------------------------------------------------------
 * Byte strings
 * ---------------------------------------------------------------------- */

static void put(bytes *b, const void *p, size_t n)
{
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (n > cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* n bytes (<= 8) of v, little-endian. */
static void put_le(bytes *b, uint64_t v, unsigned n)
{
    uint8_t le[8];
    for (unsigned i = 0; i < n; i++) le[i] = (uint8_t)(v >> (8 * i));
    put(b, le, n);
}

static void put_str(bytes *b, const char *s, uint64_t len)
{
    put_le(b, len, 8);
    put(b, s, (size_t)len);
}

/* ------------------------------------------------------------------------
 * Create / free
 * ---------------------------------------------------------------------- */

mote_status gguf_writer_create(gguf_writer **out)
{
    if (!out) return mote_fail(MOTE_E_INVALID, "gguf writer: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return nomem();
    (*out)->alignment = GGUF_DEFAULT_ALIGNMENT;
    return MOTE_OK;
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (uint64_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->keys);
    free(w->tensors);
    free(w->kv.p);
    free(w);
}

/* Make room for one more element in a growable array. */
static bool grow(void **arr, size_t *cap, uint64_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t c = *cap ? *cap * 2 : 16;
    if (c > SIZE_MAX / elem) return false;
    void *p = realloc(*arr, c * elem);
    if (!p) return false;
    *arr = p;
    *cap = c;
    return true;
}

/* ------------------------------------------------------------------------
 * Key-value pairs
 * ---------------------------------------------------------------------- */

/* Check the key, then write it and the value type; the caller writes the
 * value and calls end_kv with the same mark. */
static mote_status begin_kv(gguf_writer *w, const char *key, gguf_type type, size_t *mark)
{
    if (!w || !key) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL argument");
    if (!key[0]) return mote_fail(MOTE_E_INVALID, "gguf writer: empty key");
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return mote_fail(MOTE_E_INVALID, "gguf writer: duplicate key '%s'", key);
    if (strcmp(key, GGUF_KEY_ALIGNMENT) == 0 && type != GGUF_TYPE_UINT32)
        return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s' must be UINT32, not %s", key,
                         gguf_type_name(type));
    *mark = w->kv.len;
    put_str(&w->kv, key, strlen(key));
    put_le(&w->kv, (uint32_t)type, 4);
    return MOTE_OK;
}

static mote_status end_kv(gguf_writer *w, const char *key, size_t mark)
{
    char *copy = strdup(key);
    if (w->kv.oom || !copy || !grow((void **)&w->keys, &w->keys_cap, w->n_kv, sizeof *w->keys)) {
        free(copy);
        w->kv.len = mark;
        w->kv.oom = false;
        return nomem();
    }
    w->keys[w->n_kv++] = copy;
    return MOTE_OK;
}

/* A scalar of type t whose little-endian bits are raw. */
static mote_status add_scalar(gguf_writer *w, const char *key, gguf_type t, uint64_t raw)
{
    size_t mark;
    MOTE_TRY(begin_kv(w, key, t, &mark));
    put_le(&w->kv, raw, (unsigned)gguf_type_size(t));
    return end_kv(w, key, mark);
}

mote_status gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t v)
{
    return add_scalar(w, key, GGUF_TYPE_UINT8, v);
}
mote_status gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t v)
{
    return add_scalar(w, key, GGUF_TYPE_INT8, (uint8_t)v);
}
mote_status gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t v)
{
    return add_scalar(w, key, GGUF_TYPE_UINT16, v);
}
mote_status gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t v)
{
    return add_scalar(w, key, GGUF_TYPE_INT16, (uint16_t)v);
}
mote_status gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v)
{
    return add_scalar(w, key, GGUF_TYPE_INT32, (uint32_t)v);
}
mote_status gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t v)
{
    return add_scalar(w, key, GGUF_TYPE_UINT64, v);
}
mote_status gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t v)
{
    return add_scalar(w, key, GGUF_TYPE_INT64, (uint64_t)v);
}
mote_status gguf_writer_add_bool(gguf_writer *w, const char *key, bool v)
{
    return add_scalar(w, key, GGUF_TYPE_BOOL, v ? 1 : 0);
}

mote_status gguf_writer_add_f32(gguf_writer *w, const char *key, float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return add_scalar(w, key, GGUF_TYPE_FLOAT32, b);
}

mote_status gguf_writer_add_f64(gguf_writer *w, const char *key, double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return add_scalar(w, key, GGUF_TYPE_FLOAT64, b);
}

mote_status gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v)
{
    bool is_alignment = key && strcmp(key, GGUF_KEY_ALIGNMENT) == 0;
    if (is_alignment && (v == 0 || (v & (v - 1)) != 0))
        return mote_fail(MOTE_E_INVALID, "gguf writer: alignment %u is not a power of two", v);
    MOTE_TRY(add_scalar(w, key, GGUF_TYPE_UINT32, v));
    if (is_alignment) w->alignment = v;
    return MOTE_OK;
}

mote_status gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment)
{
    return gguf_writer_add_u32(w, GGUF_KEY_ALIGNMENT, alignment);
}

mote_status gguf_writer_add_strn(gguf_writer *w, const char *key, const char *s, size_t len)
{
    REQUIRE(w, key);
    if (!s && len) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': NULL string", key);
    size_t mark;
    MOTE_TRY(begin_kv(w, key, GGUF_TYPE_STRING, &mark));
    put_str(&w->kv, s, len);
    return end_kv(w, key, mark);
}

mote_status gguf_writer_add_str(gguf_writer *w, const char *key, const char *s)
{
    REQUIRE(w, key);
    if (!s) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': NULL string", key);
    return gguf_writer_add_strn(w, key, s, strlen(s));
}

/* Element i of a host array of n-byte elements, as little-endian bits. */
static uint64_t host_elem(const void *data, unsigned n, uint64_t i)
{
    const uint8_t *p = (const uint8_t *)data + i * n;
    switch (n) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

mote_status gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_type elem,
                                const void *data, uint64_t n)
{
    REQUIRE(w, key);
    unsigned es = (unsigned)gguf_type_size(elem);
    if (es == 0)
        return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': %s is not a numeric element type",
                         key, gguf_type_name(elem));
    if (!data && n) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': NULL data", key);
    if (elem == GGUF_TYPE_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (((const uint8_t *)data)[i] > 1)
                return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': bool element %llu is "
                                 "not 0 or 1", key, (unsigned long long)i);
    size_t mark;
    MOTE_TRY(begin_kv(w, key, GGUF_TYPE_ARRAY, &mark));
    put_le(&w->kv, (uint32_t)elem, 4);
    put_le(&w->kv, n, 8);
    for (uint64_t i = 0; i < n && !w->kv.oom; i++) put_le(&w->kv, host_elem(data, es, i), es);
    return end_kv(w, key, mark);
}

mote_status gguf_writer_add_arr_strn(gguf_writer *w, const char *key, const gguf_str *strs,
                                     uint64_t n)
{
    REQUIRE(w, key);
    if (!strs && n) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': NULL array", key);
    size_t mark;
    MOTE_TRY(begin_kv(w, key, GGUF_TYPE_ARRAY, &mark));
    put_le(&w->kv, GGUF_TYPE_STRING, 4);
    put_le(&w->kv, n, 8);
    for (uint64_t i = 0; i < n && !w->kv.oom; i++) put_str(&w->kv, strs[i].ptr, strs[i].len);
    return end_kv(w, key, mark);
}

mote_status gguf_writer_add_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                    uint64_t n)
{
    REQUIRE(w, key);
    if (!strs && n) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': NULL array", key);
    for (uint64_t i = 0; i < n; i++)
        if (!strs[i])
            return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': string %llu is NULL", key,
                             (unsigned long long)i);
    size_t mark;
    MOTE_TRY(begin_kv(w, key, GGUF_TYPE_ARRAY, &mark));
    put_le(&w->kv, GGUF_TYPE_STRING, 4);
    put_le(&w->kv, n, 8);
    for (uint64_t i = 0; i < n && !w->kv.oom; i++) put_str(&w->kv, strs[i], strlen(strs[i]));
    return end_kv(w, key, mark);
}

mote_status gguf_writer_add_kv(gguf_writer *w, const gguf_kv *kv)
{
    if (!kv) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL kv");
    REQUIRE(w, kv->key);
    switch (kv->type) {
    case GGUF_TYPE_STRING:
        return gguf_writer_add_strn(w, kv->key, kv->str.ptr, (size_t)kv->str.len);
    case GGUF_TYPE_ARRAY: {
        if (kv->arr_type == GGUF_TYPE_STRING)
            return gguf_writer_add_arr_strn(w, kv->key, kv->arr_strs, kv->arr_n);
        /* arr_data is already little-endian: copy it as it is */
        size_t es = gguf_type_size(kv->arr_type);
        if (es == 0) return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': bad array", kv->key);
        size_t mark;
        MOTE_TRY(begin_kv(w, kv->key, GGUF_TYPE_ARRAY, &mark));
        put_le(&w->kv, (uint32_t)kv->arr_type, 4);
        put_le(&w->kv, kv->arr_n, 8);
        put(&w->kv, kv->arr_data, (size_t)(kv->arr_n * es));
        return end_kv(w, kv->key, mark);
    }
    case GGUF_TYPE_UINT32:
        return gguf_writer_add_u32(w, kv->key, (uint32_t)kv->v.u64);
    case GGUF_TYPE_FLOAT32:
        return gguf_writer_add_f32(w, kv->key, (float)kv->v.f64);
    case GGUF_TYPE_FLOAT64:
        return gguf_writer_add_f64(w, kv->key, kv->v.f64);
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT64: case GGUF_TYPE_BOOL:
        return add_scalar(w, kv->key, kv->type, kv->v.u64);
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        return add_scalar(w, kv->key, kv->type, (uint64_t)kv->v.i64);
    default:
        return mote_fail(MOTE_E_INVALID, "gguf writer: key '%s': unknown type %d", kv->key,
                         (int)kv->type);
    }
}

/* ------------------------------------------------------------------------
 * Tensors
 * ---------------------------------------------------------------------- */

/* Largest alignment a u32 general.alignment can hold, used to bound the
 * padded data size at add time, before the alignment is final. */
#define MAX_ALIGNMENT (1ull << 31)

static mote_status add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                              const int64_t *ne, const void *data, gguf_fill_fn fill, void *user)
{
    REQUIRE(w, name);
    if (!ne) return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': NULL ne", name);
    size_t len = strlen(name);
    if (len == 0 || len > GGUF_MAX_NAME)
        return mote_fail(MOTE_E_INVALID, "gguf writer: tensor name '%s' must have 1..%d bytes",
                         name, GGUF_MAX_NAME);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return mote_fail(MOTE_E_INVALID, "gguf writer: duplicate tensor '%s'", name);
    const ggml_type_traits *tr = ggml_type_get(type);
    if (!tr) return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': unknown type %u", name, type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': n_dims %u not in 1..%d", name,
                         n_dims, GGUF_MAX_DIMS);

    wtensor t = {.type = type, .n_dims = n_dims, .data = data, .fill = fill, .user = user};
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < (int)n_dims ? ne[d] : 1;
        if (t.ne[d] < 0)
            return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': ne[%d] = %lld < 0", name,
                             d, (long long)t.ne[d]);
    }
    if (t.ne[0] % tr->block_size != 0)
        return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': ne[0] = %lld is not a "
                         "multiple of the %s block size %d", name, (long long)t.ne[0], tr->name,
                         tr->block_size);
    /* Bytes, bounded so that the padded total stays below 2^62. */
    const uint64_t limit = 1ull << 62;
    t.row_bytes = (uint64_t)t.ne[0] / (uint64_t)tr->block_size * tr->type_size;
    bool too_large = (uint64_t)t.ne[0] / (uint64_t)tr->block_size > limit / tr->type_size;
    t.row_bytes = (uint64_t)t.ne[0] / (uint64_t)tr->block_size * tr->type_size;
    uint64_t nbytes = t.row_bytes;
    for (int d = 1; d < GGUF_MAX_DIMS && !too_large; d++) {
        uint64_t n = (uint64_t)t.ne[d];
        too_large = n && nbytes > limit / n;
        nbytes *= n;
    }
    if (too_large) return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': too large", name);
    uint64_t padded = (nbytes + MAX_ALIGNMENT - 1) / MAX_ALIGNMENT * MAX_ALIGNMENT;
    if (padded > limit - w->data_bytes)
        return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': file too large", name);
    t.nbytes = nbytes;
    if (nbytes && !data && !fill)
        return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': no data", name);

    /* a type of mote's own records its layout (see gguf.c) */
    if (tr->layout) {
        char key[MOTE_TYPE_KEY_MAX];
        mote_type_key(type, key);
        bool have = false;
        for (uint64_t i = 0; i < w->n_kv && !have; i++) have = strcmp(w->keys[i], key) == 0;
        if (!have) MOTE_TRY(gguf_writer_add_str(w, key, tr->layout));
    }

    t.name = strdup(name);
    if (!t.name || !grow((void **)&w->tensors, &w->tensors_cap, w->n_tensors, sizeof t)) {
        free(t.name);
        return nomem();
    }
    w->tensors[w->n_tensors++] = t;
    w->data_bytes += padded;
    return MOTE_OK;
}

mote_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type,
                                   uint32_t n_dims, const int64_t *ne, const void *data)
{
    return add_tensor(w, name, type, n_dims, ne, data, NULL, NULL);
}

mote_status gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, uint32_t type,
                                        uint32_t n_dims, const int64_t *ne, gguf_fill_fn fill,
                                        void *user)
{
    REQUIRE(w, name);
    if (!fill) return mote_fail(MOTE_E_INVALID, "gguf writer: tensor '%s': NULL fill", name);
    return add_tensor(w, name, type, n_dims, ne, NULL, fill, user);
}

/* ------------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------- */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Serialise the header, kv pairs and tensor infos (without the padding). */
static mote_status build_meta(const gguf_writer *w, bytes *b)
{
    put(b, GGUF_MAGIC, 4);
    put_le(b, GGUF_VERSION, 4);
    put_le(b, w->n_tensors, 8);
    put_le(b, w->n_kv, 8);
    put(b, w->kv.p, w->kv.len);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(b, t->name, strlen(t->name));
        put_le(b, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) put_le(b, (uint64_t)t->ne[d], 8);
        put_le(b, t->type, 4);
        put_le(b, offset, 8);
        offset = align_up(offset + t->nbytes, w->alignment);
    }
    if (b->oom) {
        free(b->p);
        return nomem();
    }
    return MOTE_OK;
}

uint64_t gguf_writer_size(const gguf_writer *w)
{
    if (!w) return 0;
    uint64_t meta = 24 + w->kv.len;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        meta += 8 + strlen(w->tensors[i].name) + 4 + 8ull * w->tensors[i].n_dims + 4 + 8;
    uint64_t size = align_up(meta, w->alignment);
    for (uint64_t i = 0; i < w->n_tensors; i++) size += align_up(w->tensors[i].nbytes, w->alignment);
    return size;
}

/* Where bytes go: a stream, or a buffer of the file's exact size. */
typedef struct sink {
    FILE *fp;      /* stream, or NULL */
    uint8_t *buf;  /* buffer, when fp is NULL */
    uint64_t pos;  /* bytes written */
} sink;

static mote_status sink_write(sink *s, const void *p, size_t n)
{
    if (n == 0) return MOTE_OK;
    if (s->fp) {
        if (fwrite(p, 1, n, s->fp) != n)
            return mote_fail(MOTE_E_IO, "gguf writer: write failed at byte %llu: %s",
                             (unsigned long long)s->pos, strerror(errno));
    } else if (p != s->buf + s->pos) {
        memcpy(s->buf + s->pos, p, n);
    }
    s->pos += n;
    return MOTE_OK;
}

static mote_status sink_pad(sink *s, uint64_t alignment)
{
    static const uint8_t zeros[4096];
    uint64_t n = align_up(s->pos, alignment) - s->pos;
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        MOTE_TRY(sink_write(s, zeros, k));
        n -= k;
    }
    return MOTE_OK;
}

/* Run a tensor's fill callback over all its rows, in chunks. */
static mote_status write_filled(sink *s, const wtensor *t)
{
    uint64_t rows = t->nbytes / t->row_bytes;
    uint64_t chunk = GGUF_WRITE_CHUNK / t->row_bytes;
    if (chunk == 0) chunk = 1;
    if (chunk > rows) chunk = rows;
    /* Into the output buffer in place when it is aligned like malloc's
     * memory, so the callback may store any type; else through scratch. */
    bool in_place = !s->fp && (uintptr_t)(s->buf + s->pos) % _Alignof(max_align_t) == 0;
    uint8_t *scratch = NULL;
    if (!in_place) {
        scratch = malloc((size_t)(chunk * t->row_bytes));
        if (!scratch) return nomem();
    }
    mote_status st = MOTE_OK;
    for (uint64_t r = 0; r < rows && st == MOTE_OK; r += chunk) {
        uint64_t n = rows - r < chunk ? rows - r : chunk;
        uint8_t *dst = scratch ? scratch : s->buf + s->pos;
        st = t->fill(t->user, r, n, dst);
        if (st == MOTE_OK) st = sink_write(s, dst, (size_t)(n * t->row_bytes));
        else mote_fail_prefix(st, "gguf writer: tensor '%s': ", t->name);
    }
    free(scratch);
    return st;
}

static mote_status write_all(gguf_writer *w, sink *s)
{
    bytes meta = {0};
    MOTE_TRY(build_meta(w, &meta));
    mote_status st = sink_write(s, meta.p, meta.len);
    free(meta.p);
    if (st == MOTE_OK) st = sink_pad(s, w->alignment);
    for (uint64_t i = 0; i < w->n_tensors && st == MOTE_OK; i++) {
        const wtensor *t = &w->tensors[i];
        if (t->nbytes == 0) continue;
        if (t->data) st = sink_write(s, t->data, (size_t)t->nbytes);
        else st = write_filled(s, t);
        if (st == MOTE_OK) st = sink_pad(s, w->alignment);
    }
    return st;
}

mote_status gguf_writer_write_fp(gguf_writer *w, FILE *fp)
{
    if (!w || !fp) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL argument");
    sink s = {.fp = fp};
    return write_all(w, &s);
}

static mote_status write_replacing(gguf_writer *w, const char *path);

/* The file is written under a temporary name in the same folder and
 * renamed over path only when complete: a failure or a cancellation
 * leaves path as it was (a previous file included), and a reader never
 * sees half a file. */
mote_status gguf_writer_write_file(gguf_writer *w, const char *path)
{
    if (!w || !path) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL argument");
    /* Only a regular file is ever replaced (never a device, a FIFO or a
     * folder); a symbolic link stays a link, and its target is replaced. */
    char *resolved = NULL;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        if (!(resolved = realpath(path, NULL)))
            return mote_fail(MOTE_E_IO, "gguf writer: %s: cannot follow the link: %s", path, strerror(errno));
        path = resolved;
    }
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        mote_status e = mote_fail(MOTE_E_IO, "gguf writer: %s exists and is not a regular file; not replaced", path);
        free(resolved);
        return e;
    }
    mote_status st = write_replacing(w, path);
    free(resolved);
    return st;
}

static mote_status write_replacing(gguf_writer *w, const char *path)
{
    const size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp-XXXXXX");
    if (!tmp) return nomem();
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        mote_status e = mote_fail(MOTE_E_IO, "gguf writer: %s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return e;
    }
    FILE *fp = fdopen(fd, "wb");
    mote_status st;
    if (!fp || fchmod(fd, 0644) != 0) { /* mkstemp's 0600: a model file is for every user */
        st = mote_fail(MOTE_E_IO, "gguf writer: %s: %s", tmp, strerror(errno));
        if (!fp) close(fd);
    } else {
        st = gguf_writer_write_fp(w, fp);
        if (st == MOTE_OK && (fflush(fp) != 0 || fsync(fd) != 0))
            st = mote_fail(MOTE_E_IO, "gguf writer: %s: write failed: %s", tmp, strerror(errno));
    }
    if (fp && fclose(fp) != 0 && st == MOTE_OK)
        st = mote_fail(MOTE_E_IO, "gguf writer: %s: close failed: %s", tmp, strerror(errno));
    if (st == MOTE_OK && rename(tmp, path) != 0)
        st = mote_fail(MOTE_E_IO, "gguf writer: cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st != MOTE_OK) unlink(tmp); /* no half-written file */
    free(tmp);
    return st;
}

mote_status gguf_writer_write_buffer(gguf_writer *w, void **out, size_t *size)
{
    if (!w || !out || !size) return mote_fail(MOTE_E_INVALID, "gguf writer: NULL argument");
    *out = NULL;
    *size = 0;
    uint64_t n = gguf_writer_size(w);
    if (n > SIZE_MAX) return nomem();
    sink s = {.buf = malloc((size_t)n)};
    if (!s.buf) return nomem();
    mote_status st = write_all(w, &s);
    if (st != MOTE_OK) {
        free(s.buf);
        return st;
    }
    *out = s.buf;
    *size = (size_t)n;
    return MOTE_OK;
}
