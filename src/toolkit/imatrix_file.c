/*
 * imatrix_file.c — llama.cpp's importance matrix files: reading both
 * formats as llama-quantize does, writing both as llama-imatrix does.
 *
 * GGUF (llama-imatrix's default): general.type "imatrix", the keys
 * imatrix.datasets (array of strings), imatrix.chunk_count and
 * imatrix.chunk_size (u32); per weight NAME, in name order, two F32
 * tensors: NAME.in_sum2 of (n_in, n_mat), the raw sums of squared inputs,
 * and NAME.counts of (1, n_mat), the rows summed; ggml writes a shape
 * without its trailing 1s (a dense weight's are 1-D).
 *
 * Legacy .dat (all little-endian int32 and float):
 *   n_entries, then per entry: len, name[len], ncall, nval, nval floats
 *   (mean squares × ncall); then optionally chunk_count, len, dataset[len].
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mapfile.h"
#include "base/status.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "toolkit/imatrix.h"

/* Counts are integers stored as floats; past 2^53 they are no longer exact
 * (and llama.cpp's lround would overflow long far beyond). */
#define COUNT_MAX 9007199254740992.0
/* Longest name or dataset string a legacy file may hold. */
#define LEGACY_STR_MAX (1 << 20)

/* ------------------------------------------------------------------------
 * The set a reader returns
 * ---------------------------------------------------------------------- */

typedef struct set_store {
    mote_imatrix_set pub;         /* first: the caller's pointer is to this */
    mote_imatrix_entry *entries;  /* (n_entries) owned: every pointer inside is malloc'd */
    size_t cap;
    char **datasets;              /* (n_datasets) */
} set_store;

static mote_status nomem(const char *name) { return mote_fail(MOTE_E_NOMEM, "imatrix %s: out of memory", name); }

static void entry_free(mote_imatrix_entry *e)
{
    free((char *)e->name);
    free((float *)e->data);
    free((float *)e->sums);
    free((int64_t *)e->counts);
}

void mote_imatrix_free(mote_imatrix_set *set)
{
    if (!set) return;
    set_store *s = (set_store *)set;
    for (size_t i = 0; i < s->pub.n_entries; i++) entry_free(&s->entries[i]);
    for (size_t i = 0; i < s->pub.n_datasets; i++) free(s->datasets[i]);
    free(s->entries);
    free(s->datasets);
    free(s);
}

/* A new entry of n values and n_mat counts, at the end of s (zeroed). */
static mote_status add_entry(set_store *s, const char *fname, const char *name, size_t name_len, size_t n,
                             int64_t n_mat, mote_imatrix_entry **out)
{
    if (s->pub.n_entries == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        mote_imatrix_entry *e = realloc(s->entries, cap * sizeof *e);
        if (!e) return nomem(fname);
        s->entries = e;
        s->cap = cap;
    }
    mote_imatrix_entry *e = &s->entries[s->pub.n_entries];
    *e = (mote_imatrix_entry){.n = n, .n_mat = n_mat};
    char *nm = malloc(name_len + 1);
    float *data = malloc(n * sizeof(float)), *sums = malloc(n * sizeof(float));
    int64_t *counts = malloc((size_t)n_mat * sizeof(int64_t));
    e->name = nm, e->data = data, e->sums = sums, e->counts = counts;
    s->pub.n_entries++;
    if (!nm || !data || !sums || !counts) return nomem(fname);
    memcpy(nm, name, name_len);
    nm[name_len] = '\0';
    *out = e;
    return MOTE_OK;
}

static mote_status add_dataset(set_store *s, const char *fname, const char *text, size_t len)
{
    char **d = realloc(s->datasets, (s->pub.n_datasets + 1) * sizeof *d);
    if (!d) return nomem(fname);
    s->datasets = d;
    if (!(d[s->pub.n_datasets] = strndup(text, len))) return nomem(fname);
    s->pub.n_datasets++;
    return MOTE_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const mote_imatrix_entry *)a)->name, ((const mote_imatrix_entry *)b)->name);
}

const mote_imatrix_entry *mote_imatrix_find(const mote_imatrix_set *set, const char *name)
{
    if (!set || !name || !set->n_entries) return NULL;
    const mote_imatrix_entry key = {.name = name};
    return bsearch(&key, set->entries, set->n_entries, sizeof key, by_name);
}

static mote_status check_finite(const char *fname, const mote_imatrix_entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        if (!isfinite(e->data[i]))
            return mote_fail(MOTE_E_FORMAT, "imatrix %s: entry '%s': value %zu is not finite (%g)", fname, e->name, i,
                             (double)e->data[i]);
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Legacy .dat
 * ---------------------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *p;
    size_t left, size;
} cursor;

static size_t at(const cursor *c) { return c->size - c->left; }

static int take(cursor *c, void *out, size_t n)
{
    if (c->left < n) return 0;
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return 1;
}

static int take_i32(cursor *c, int32_t *v) { return take(c, v, sizeof *v); }

/* A string of len bytes; like llama.cpp's std::string of a char vector,
 * it ends at its first NUL. */
static int take_str(cursor *c, int32_t len, const char **s, size_t *n)
{
    if (len < 0 || len > LEGACY_STR_MAX || (size_t)len > c->left) return 0;
    *s = (const char *)c->p;
    *n = strnlen(*s, (size_t)len);
    c->p += len;
    c->left -= (size_t)len;
    return 1;
}

/* By name, a later entry of a name after an earlier one (index order). */
static int by_name_then_index(const void *a, const void *b)
{
    int c = by_name(a, b);
    if (c) return c;
    const mote_imatrix_entry *x = a, *y = b;
    return (x->n_mat > y->n_mat) - (x->n_mat < y->n_mat); /* n_mat holds the file index while sorting */
}

static mote_status read_legacy(set_store *s, const uint8_t *data, size_t size, const char *fname)
{
    cursor c = {data, size, size};
    int32_t n_entries;
    if (!take_i32(&c, &n_entries) || n_entries < 1)
        return mote_fail(MOTE_E_FORMAT, "imatrix %s: no data (not GGUF, and no legacy entry count)", fname);
    for (int32_t i = 0; i < n_entries; i++) {
        int32_t len, ncall, nval;
        const char *name;
        size_t name_len;
        const size_t off = at(&c);
        if (!take_i32(&c, &len) || !take_str(&c, len, &name, &name_len))
            return mote_fail(MOTE_E_FORMAT, "imatrix %s: entry %d at offset %zu: cannot read its name", fname, i, off);
        if (!take_i32(&c, &ncall) || !take_i32(&c, &nval) || nval < 1)
            return mote_fail(MOTE_E_FORMAT, "imatrix %s: entry %d '%.*s' at offset %zu: no value count", fname, i,
                             (int)name_len, name, off);
        if ((size_t)nval > c.left / sizeof(float))
            return mote_fail(MOTE_E_FORMAT, "imatrix %s: entry '%.*s': %d values at offset %zu run past the end (%zu bytes)",
                             fname, (int)name_len, name, nval, at(&c), size);
        mote_imatrix_entry *e;
        MOTE_TRY(add_entry(s, fname, name, name_len, (size_t)nval, 1, &e));
        float *sums = (float *)e->sums, *val = (float *)e->data;
        take(&c, sums, (size_t)nval * sizeof(float));
        ((int64_t *)e->counts)[0] = ncall;
        /* quantize.cpp: values / ncall, or the values themselves */
        for (int32_t j = 0; j < nval; j++) val[j] = ncall > 0 ? sums[j] / (float)ncall : sums[j];
        MOTE_TRY(check_finite(fname, e));
        e->n_mat = i; /* the file index, for the sort below */
    }
    /* the trailing chunk count and dataset are optional, each read if whole */
    int32_t chunks, len;
    const char *text;
    size_t n;
    if (take_i32(&c, &chunks)) {
        s->pub.chunk_count = chunks;
        if (take_i32(&c, &len) && len > 0 && take_str(&c, len, &text, &n)) MOTE_TRY(add_dataset(s, fname, text, n));
    }
    /* a name's last entry wins (llama.cpp's map assignment) */
    qsort(s->entries, s->pub.n_entries, sizeof *s->entries, by_name_then_index);
    size_t kept = 0;
    for (size_t i = 0; i < s->pub.n_entries; i++) {
        s->entries[i].n_mat = 1;
        if (i + 1 < s->pub.n_entries && strcmp(s->entries[i].name, s->entries[i + 1].name) == 0)
            entry_free(&s->entries[i]);
        else
            s->entries[kept++] = s->entries[i];
    }
    s->pub.n_entries = kept;
    s->pub.legacy = 1;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * GGUF
 * ---------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix, size_t *stem)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n < k || memcmp(s + n - k, suffix, k) != 0) return 0;
    *stem = n - k;
    return 1;
}

/* A tensor of the pairs: its stem (the weight's name), which half, index. */
typedef struct half {
    const char *name;
    size_t stem;
    int counts;      /* 0: NAME.in_sum2, 1: NAME.counts */
    uint64_t index;
} half;

static int by_stem(const void *a, const void *b)
{
    const half *x = a, *y = b;
    size_t n = x->stem < y->stem ? x->stem : y->stem;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    if (x->stem != y->stem) return x->stem < y->stem ? -1 : 1;
    return x->counts - y->counts;
}

static int64_t n_elements(const gguf_tensor *t)
{
    int64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) n *= t->ne[d];
    return n;
}

static mote_status read_pair(set_store *s, const gguf_file *f, const half *h, const char *fname)
{
    const gguf_tensor *ts = &f->tensors[h[0].index], *tc = &f->tensors[h[1].index];
    const int len = (int)h[0].stem;
    if (ts->type != GGML_TYPE_F32 || tc->type != GGML_TYPE_F32)
        return mote_fail(MOTE_E_FORMAT, "imatrix %s: sums and counts of '%.*s' must be F32 (%s, %s)", fname, len,
                         h[0].name, ggml_type_name(ts->type), ggml_type_name(tc->type));
    const int64_t nval = n_elements(ts), ncounts = n_elements(tc);
    if (nval < 1 || ncounts < 1 || nval % ncounts != 0)
        return mote_fail(MOTE_E_FORMAT, "imatrix %s: '%.*s': %lld sums do not split into %lld matrices", fname, len,
                         h[0].name, (long long)nval, (long long)ncounts);
    mote_imatrix_entry *e;
    MOTE_TRY(add_entry(s, fname, h[0].name, h[0].stem, (size_t)nval, ncounts, &e));
    float *sums = (float *)e->sums, *val = (float *)e->data;
    int64_t *counts = (int64_t *)e->counts;
    memcpy(sums, ts->data, (size_t)nval * sizeof(float)); /* the data may be unaligned */
    const int64_t ne0 = nval / ncounts;
    for (int64_t j = 0; j < ncounts; j++) {
        float cf;
        memcpy(&cf, (const char *)tc->data + j * sizeof(float), sizeof cf);
        if (!(cf >= 0 && cf <= COUNT_MAX))
            return mote_fail(MOTE_E_FORMAT, "imatrix %s: '%s': count %lld is %g (a count is a finite number >= 0)",
                             fname, e->name, (long long)j, (double)cf);
        counts[j] = llround(cf); /* as the loader's lround */
        /* quantize.cpp: sums / count, or 1 where nothing was counted */
        const float count = (float)counts[j];
        for (int64_t i = 0; i < ne0; i++) val[j * ne0 + i] = count > 0.0f ? sums[j * ne0 + i] / count : 1.0f;
    }
    return check_finite(fname, e);
}

static mote_status read_gguf(set_store *s, const gguf_file *f, const char *fname)
{
    if (f->n_tensors < 1) return mote_fail(MOTE_E_FORMAT, "imatrix %s: no data (no tensors)", fname);
    const gguf_kv *ds = gguf_find_kv(f, IMATRIX_KEY_DATASETS);
    const int has_count = gguf_find_kv(f, IMATRIX_KEY_CHUNK_COUNT) != NULL;
    const int has_size = gguf_find_kv(f, IMATRIX_KEY_CHUNK_SIZE) != NULL;
    /* llama-quantize refuses a GGUF imatrix without its metadata */
    if (!ds || !has_count || !has_size)
        return mote_fail(MOTE_E_FORMAT, "imatrix %s: missing imatrix metadata (%s, %s and %s)", fname,
                         IMATRIX_KEY_DATASETS, IMATRIX_KEY_CHUNK_COUNT, IMATRIX_KEY_CHUNK_SIZE);
    if (ds->type == GGUF_TYPE_ARRAY && ds->arr_type == GGUF_TYPE_STRING)
        for (uint64_t i = 0; i < ds->arr_n; i++)
            MOTE_TRY(add_dataset(s, fname, ds->arr_strs[i].ptr, ds->arr_strs[i].len));
    uint32_t v;
    MOTE_TRY(gguf_get_u32(f, IMATRIX_KEY_CHUNK_COUNT, &v));
    s->pub.chunk_count = (int32_t)v;
    MOTE_TRY(gguf_get_u32(f, IMATRIX_KEY_CHUNK_SIZE, &v));
    s->pub.chunk_size = (int32_t)v;

    half *h = malloc(f->n_tensors * sizeof *h);
    if (!h) return nomem(fname);
    size_t n = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        half x = {.name = name, .index = i};
        if (ends_with(name, IMATRIX_SUFFIX_SUMS, &x.stem)) h[n++] = x;
        else if (ends_with(name, IMATRIX_SUFFIX_COUNTS, &x.stem)) x.counts = 1, h[n++] = x;
    }
    qsort(h, n, sizeof *h, by_stem); /* a stem's sums, then its counts */
    mote_status st = MOTE_OK;
    for (size_t i = 0; i < n && st == MOTE_OK; i += 2) {
        const int paired = i + 1 < n && !h[i].counts && h[i + 1].counts && h[i].stem == h[i + 1].stem &&
                           memcmp(h[i].name, h[i + 1].name, h[i].stem) == 0;
        if (!paired) {
            st = mote_fail(MOTE_E_FORMAT, "imatrix %s: mismatched sums and counts for '%.*s'", fname, (int)h[i].stem,
                           h[i].name);
            break;
        }
        st = read_pair(s, f, &h[i], fname);
    }
    free(h);
    return st;
}

/* ------------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------- */

static mote_status load(const void *data, size_t size, const char *name, gguf_file *f, mote_imatrix_set **out)
{
    set_store *s = calloc(1, sizeof *s);
    if (!s) return nomem(name);
    mote_status st = f ? read_gguf(s, f, name) : read_legacy(s, data, size, name);
    if (st == MOTE_OK && s->pub.n_entries) qsort(s->entries, s->pub.n_entries, sizeof *s->entries, by_name);
    s->pub.entries = s->entries;
    s->pub.datasets = (const char *const *)s->datasets;
    if (st != MOTE_OK) {
        mote_imatrix_free(&s->pub);
        return st;
    }
    *out = &s->pub;
    return MOTE_OK;
}

static int is_gguf(const void *data, size_t size) { return size >= 4 && memcmp(data, GGUF_MAGIC, 4) == 0; }

mote_status mote_imatrix_load_buffer(const void *data, size_t size, const char *name, mote_imatrix_set **out)
{
    if (out) *out = NULL;
    if (!out || (!data && size)) return mote_fail(MOTE_E_INVALID, "mote_imatrix_load_buffer: NULL argument");
    if (!name) name = "(buffer)";
    if (!is_gguf(data, size)) return load(data, size, name, NULL, out);
    gguf_file *f;
    MOTE_TRY(gguf_open_buffer(data, size, name, &f));
    mote_status st = load(NULL, 0, name, f, out);
    gguf_close(f);
    return st;
}

mote_status mote_imatrix_load(const char *path, mote_imatrix_set **out)
{
    if (out) *out = NULL;
    if (!path || !out) return mote_fail(MOTE_E_INVALID, "mote_imatrix_load: NULL argument");
    mapfile m;
    MOTE_TRY(mapfile_open(path, &m));
    const int gguf = is_gguf(m.data, m.size);
    mote_status st;
    if (gguf) {
        mapfile_close(&m);
        gguf_file *f;
        MOTE_TRY(gguf_open(path, &f));
        st = load(NULL, 0, path, f, out);
        gguf_close(f);
    } else {
        st = load(m.data, m.size, path, NULL, out);
        mapfile_close(&m);
    }
    return st;
}

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

int32_t imatrix_chunk_count(const imatrix_acc *acc, size_t n, int32_t chunk_size)
{
    int64_t most = 0;
    for (size_t i = 0; i < n; i++)
        for (int64_t j = 0; j < acc[i].n_mat; j++)
            if (acc[i].counts[j] > most) most = acc[i].counts[j];
    return chunk_size > 0 ? (int32_t)(most / chunk_size) : 0;
}

void imatrix_acc_free(imatrix_acc *acc, size_t n)
{
    for (size_t i = 0; acc && i < n; i++) {
        free(acc[i].name);
        free(acc[i].sums);
        free(acc[i].counts);
    }
    free(acc);
}

static int acc_by_name(const void *a, const void *b)
{
    return strcmp((*(const imatrix_acc *const *)a)->name, (*(const imatrix_acc *const *)b)->name);
}

/* ggml writes a tensor's shape without its trailing 1s (ggml_n_dims). */
static uint32_t n_dims(const int64_t ne[2]) { return ne[1] != 1 ? 2 : 1; }

static mote_status write_gguf(const char *path, const imatrix_acc *const *sorted, size_t n, float *const *counts,
                              const imatrix_meta *meta, int32_t chunk_count)
{
    gguf_writer *w;
    MOTE_TRY(gguf_writer_create(&w));
    const char *ds[1] = {meta->dataset};
    mote_status st = gguf_writer_add_str(w, IMATRIX_KEY_TYPE, IMATRIX_TYPE);
    if (st == MOTE_OK) st = gguf_writer_add_arr_str(w, IMATRIX_KEY_DATASETS, ds, meta->dataset ? 1 : 0);
    if (st == MOTE_OK) st = gguf_writer_add_u32(w, IMATRIX_KEY_CHUNK_COUNT, (uint32_t)chunk_count);
    if (st == MOTE_OK) st = gguf_writer_add_u32(w, IMATRIX_KEY_CHUNK_SIZE, (uint32_t)meta->chunk_size);
    char name[2 * GGUF_MAX_NAME];
    for (size_t i = 0; i < n && st == MOTE_OK; i++) {
        const imatrix_acc *a = sorted[i];
        const int64_t ne_sums[2] = {a->n_in, a->n_mat}, ne_counts[2] = {1, a->n_mat};
        snprintf(name, sizeof name, "%s%s", a->name, IMATRIX_SUFFIX_SUMS);
        st = gguf_writer_add_tensor(w, name, GGML_TYPE_F32, n_dims(ne_sums), ne_sums, a->sums);
        snprintf(name, sizeof name, "%s%s", a->name, IMATRIX_SUFFIX_COUNTS);
        if (st == MOTE_OK) st = gguf_writer_add_tensor(w, name, GGML_TYPE_F32, n_dims(ne_counts), ne_counts, counts[i]);
    }
    if (st == MOTE_OK) st = gguf_writer_write_file(w, path);
    gguf_writer_free(w);
    return st;
}

/* The legacy file's bytes (imatrix.cpp save_imatrix_legacy): entries with
 * no count at all are left out; values are mean squares × ncall, 1 × ncall
 * for the matrices without a count. */
typedef struct bytes {
    char *p;
    size_t len, cap;
    int oom;
} bytes;

static void put(bytes *b, const void *data, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_i32(bytes *b, int32_t v) { put(b, &v, sizeof v); }

static void legacy_bytes(bytes *b, const imatrix_acc *const *sorted, size_t n, const imatrix_meta *meta,
                         int32_t chunk_count)
{
    int32_t n_entries = 0;
    put_i32(b, 0); /* patched below */
    for (size_t i = 0; i < n; i++) {
        const imatrix_acc *a = sorted[i];
        int64_t most = 0;
        for (int64_t j = 0; j < a->n_mat; j++) most = a->counts[j] > most ? a->counts[j] : most;
        if (most == 0) continue;
        n_entries++;
        put_i32(b, (int32_t)strlen(a->name));
        put(b, a->name, strlen(a->name));
        const int32_t ncall = (int32_t)((most + meta->chunk_size - 1) / meta->chunk_size); /* rounded up: no zeros */
        put_i32(b, ncall);
        put_i32(b, (int32_t)(a->n_in * a->n_mat));
        for (int64_t j = 0; j < a->n_mat; j++)
            for (int64_t k = 0; k < a->n_in; k++) {
                float count = (float)a->counts[j], value = a->sums[j * a->n_in + k];
                if (count == 0.0f) value = 1.0f, count = 1.0f;
                const float v = (value / count) * (float)ncall;
                put(b, &v, sizeof v);
            }
    }
    if (!b->oom) memcpy(b->p, &n_entries, sizeof n_entries);
    put_i32(b, chunk_count);
    const size_t len = meta->dataset ? strlen(meta->dataset) : 0;
    put_i32(b, (int32_t)len);
    if (len) put(b, meta->dataset, len);
}

/* Write len bytes to path through a temporary file renamed over it. */
static mote_status write_replacing(const char *path, const void *data, size_t len)
{
    char *tmp = malloc(strlen(path) + sizeof ".tmp-XXXXXX");
    if (!tmp) return nomem(path);
    strcpy(tmp, path);
    strcat(tmp, ".tmp-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        mote_status e = mote_fail(MOTE_E_IO, "imatrix %s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return e;
    }
    mote_status st = MOTE_OK;
    FILE *fp = fdopen(fd, "wb");
    if (!fp || fchmod(fd, 0644) != 0 || fwrite(data, 1, len, fp) != len || fflush(fp) != 0 || fsync(fd) != 0)
        st = mote_fail(MOTE_E_IO, "imatrix %s: write failed: %s", tmp, strerror(errno));
    if (fp ? fclose(fp) != 0 : close(fd) != 0)
        if (st == MOTE_OK) st = mote_fail(MOTE_E_IO, "imatrix %s: close failed: %s", tmp, strerror(errno));
    if (st == MOTE_OK && rename(tmp, path) != 0)
        st = mote_fail(MOTE_E_IO, "imatrix: cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st != MOTE_OK) unlink(tmp);
    free(tmp);
    return st;
}

mote_status imatrix_write(const char *path, int legacy, const imatrix_acc *acc, size_t n, const imatrix_meta *meta)
{
    if (!path || !meta || (!acc && n) || meta->chunk_size < 1)
        return mote_fail(MOTE_E_INVALID, "imatrix_write: bad argument");
    const imatrix_acc **sorted = malloc((n ? n : 1) * sizeof *sorted);
    float **counts = calloc(n ? n : 1, sizeof *counts); /* sorted[i]'s counts as ggml's F32 */
    mote_status st = sorted && counts ? MOTE_OK : nomem(path);
    for (size_t i = 0; i < n && st == MOTE_OK; i++) sorted[i] = &acc[i];
    if (st == MOTE_OK) qsort(sorted, n, sizeof *sorted, acc_by_name);
    for (size_t i = 0; i < n && st == MOTE_OK; i++) {
        if (!(counts[i] = malloc((size_t)sorted[i]->n_mat * sizeof(float)))) st = nomem(path);
        for (int64_t j = 0; st == MOTE_OK && j < sorted[i]->n_mat; j++) counts[i][j] = (float)sorted[i]->counts[j];
    }
    const int32_t chunk_count = imatrix_chunk_count(acc, n, meta->chunk_size);
    if (st == MOTE_OK && !legacy) st = write_gguf(path, sorted, n, counts, meta, chunk_count);
    if (st == MOTE_OK && legacy) {
        bytes b = {0};
        legacy_bytes(&b, sorted, n, meta, chunk_count);
        st = b.oom ? nomem(path) : write_replacing(path, b.p, b.len);
        free(b.p);
    }
    for (size_t i = 0; counts && i < n; i++) free(counts[i]);
    free(counts);
    free(sorted);
    return st;
}
