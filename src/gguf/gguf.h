/*
 * gguf.h — reading GGUF files (versions 2 and 3), validated, zero-copy.
 *
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 * A file is: magic "GGUF", u32 version, u64 tensor count, u64 kv count,
 * the kv pairs, the tensor infos, padding to `general.alignment` (default
 * 32), then the tensor data. gguf_open() checks all of it before returning:
 * every length, count, type, offset and size is validated against the file,
 * so later code may trust what it reads. Strings and tensor data point into
 * the read-only map; nothing is copied.
 */
#ifndef MOTE_GGUF_GGUF_H
#define MOTE_GGUF_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mapfile.h"
#include "gguf/ggml_type.h"
#include "mote.h"

#define GGUF_MAGIC "GGUF"          /* first 4 bytes of every file */
#define GGUF_VERSION 3             /* version written by gguf_write.h */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 64           /* ggml's GGML_MAX_NAME: longest tensor name, bytes */
#define GGUF_KEY_ALIGNMENT "general.alignment" /* UINT32 power of two */

typedef enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_type;

/* A string inside the map: not NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    char *key;          /* NUL-terminated copy of the key */
    gguf_type type;     /* value type */
    union {             /* scalar value (type != STRING/ARRAY) */
        uint64_t u64;   /* UINT8/16/32/64 and BOOL */
        int64_t i64;    /* INT8/16/32/64 */
        double f64;     /* FLOAT32/64 */
    } v;
    gguf_str str;       /* type == STRING */
    /* type == ARRAY: */
    gguf_type arr_type;   /* element type (never ARRAY: nested arrays are rejected) */
    uint64_t arr_n;       /* element count */
    const void *arr_data; /* numeric elements, little-endian, maybe unaligned */
    gguf_str *arr_strs;   /* arr_type == STRING: arr_n strings (allocated index into the map) */
} gguf_kv;

typedef struct gguf_tensor {
    char *name;               /* NUL-terminated copy */
    uint32_t n_dims;          /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS];/* elements per dim, ne[0] fastest; unused dims 1 */
    uint32_t type;            /* enum ggml_type (always a defined type) */
    uint64_t offset;          /* relative to the data section */
    uint64_t nbytes;          /* bytes of data */
    const void *data;         /* points into the map */
} gguf_tensor;

typedef struct gguf_file {
    mapfile map;
    char *path;               /* for messages */
    uint32_t version;
    uint64_t n_kv;
    gguf_kv *kv;
    uint64_t n_tensors;
    gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_offset;     /* start of the data section in the file */
} gguf_file;

/* Open and validate a file. On failure *out is NULL and the message names
 * the file, the key or tensor, and the byte offset of the problem. */
mote_status gguf_open(const char *path, gguf_file **out);
/* The same over a caller's buffer (which must outlive the gguf_file);
 * name is used in messages. */
mote_status gguf_open_buffer(const void *data, size_t size, const char *name,
                             gguf_file **out);
void gguf_close(gguf_file *f);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
/* "UINT8", "STRING", ... or "unknown". */
const char *gguf_type_name(gguf_type t);
/* Bytes of one scalar of type t; 0 for STRING, ARRAY and undefined types. */
size_t gguf_type_size(gguf_type t);

/* Typed getters. Each returns MOTE_E_FORMAT (naming the key) if the key is
 * present with an incompatible type or a value that does not fit, and
 * MOTE_E_FORMAT "missing key" if absent, unless the *_or variant is used, in
 * which case an absent key yields the default. Integers accept any integer
 * type whose value fits; floats accept FLOAT32/FLOAT64 whose value is
 * within float's range (infinities and NaN pass: callers check them). */
mote_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
mote_status gguf_get_u32_or(const gguf_file *f, const char *key, uint32_t dflt, uint32_t *out);
mote_status gguf_get_i32_or(const gguf_file *f, const char *key, int32_t dflt, int32_t *out);
mote_status gguf_get_f32_or(const gguf_file *f, const char *key, float dflt, float *out);
mote_status gguf_get_bool_or(const gguf_file *f, const char *key, bool dflt, bool *out);
/* String value; *out = {NULL, 0} with MOTE_OK for an absent key in the _or form. */
mote_status gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
mote_status gguf_get_str_or_empty(const gguf_file *f, const char *key, gguf_str *out);
/* Array of the given element type; *out is the kv. */
mote_status gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem, const gguf_kv **out);

/* Element i of a numeric array kv as an integer in [lo, hi]. MOTE_E_FORMAT
 * naming key[i] for a value outside it, and for a float element that is not
 * finite or not a whole number; MOTE_E_INVALID for a kv that is not a
 * numeric array or an i past its end. Every array read as integers goes
 * through here: file data never reaches an integer conversion unchecked. */
mote_status gguf_arr_get_int(const gguf_file *f, const gguf_kv *kv, uint64_t i, int64_t lo, int64_t hi,
                             int64_t *out);
/* Element i of a numeric array kv as a double (exact for floats and for
 * integers up to 2^53; NaN and infinities pass through); 0 for a kv that
 * is not a numeric array or an i past its end. */
double gguf_arr_float(const gguf_kv *kv, uint64_t i);

/* Render a value as text for `mote info`: integers in decimal, floats with
 * "%g", bools as true/false, strings as their raw bytes (ending in "..."
 * when cut to fit cap), arrays as "[TYPE x N]" (e.g. "[STRING x 32000]")
 * whatever their length. Always NUL-terminated when cap > 0. */
void gguf_kv_to_string(const gguf_kv *kv, char *buf, size_t cap);

#endif
