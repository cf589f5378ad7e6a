/*
 * gguf_write.h — building GGUF files (version 3, little-endian).
 *
 * A writer collects key-value pairs and tensor descriptions, then writes the
 * whole file in one pass: header, kv pairs, tensor infos, padding to the
 * alignment, and each tensor's data padded to the alignment. Tensor data
 * is either a caller's buffer (borrowed: it must stay valid until the write)
 * or produced row by row by a callback while writing, so a file of any size
 * can be streamed to a FILE* holding only about GGUF_WRITE_CHUNK bytes of it.
 *
 * Everything added is validated as gguf_open() would (unique non-empty keys,
 * unique tensor names of at most GGUF_MAX_NAME bytes, defined types, 1..4
 * dims, block-aligned rows, no overflow), so a writer cannot produce a file
 * that mote refuses. A tensor of one of mote's own types (MOTE_TYPE_FP8)
 * adds the key recording that type's layout ("mote.type.<id>", see
 * ggml_type.h) unless the writer has it already (copied from a file mote
 * opened, which holds the right value). Errors are MOTE_E_INVALID for bad
 * arguments, MOTE_E_NOMEM and MOTE_E_IO.
 *
 * Typical use:
 *   gguf_writer *w;
 *   gguf_writer_create(&w);
 *   gguf_writer_add_str(w, "general.architecture", "llama");
 *   gguf_writer_add_tensor(w, "output_norm.weight", GGML_TYPE_F32, 1, (int64_t[]){64}, data);
 *   gguf_writer_write_file(w, "model.gguf");
 *   gguf_writer_free(w);
 */
#ifndef MOTE_GGUF_GGUF_WRITE_H
#define MOTE_GGUF_GGUF_WRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gguf/gguf.h"

/* Rows produced per fill call aim at this many bytes (at least one row). */
#define GGUF_WRITE_CHUNK (1u << 20)

typedef struct gguf_writer gguf_writer;

/* Produce rows [row0, row0 + n_rows) of a tensor into buf (aligned as
 * malloc's memory is, so any type may be stored there). A row is ne[0]
 * elements (ggml_row_size(type, ne[0]) bytes); rows are numbered across
 * ne[1..3] with ne[1] fastest. A non-OK status stops the write and is
 * returned by it (the callback sets the message with mote_fail). */
typedef mote_status (*gguf_fill_fn)(void *user, uint64_t row0, uint64_t n_rows, void *buf);

mote_status gguf_writer_create(gguf_writer **out);
void gguf_writer_free(gguf_writer *w);

/* Data alignment (a power of two) for the data section and every tensor,
 * stored as the UINT32 key general.alignment; the same as adding that key
 * with gguf_writer_add_u32. Without it the default GGUF_DEFAULT_ALIGNMENT
 * applies. It can be set once, at any time before the write. */
mote_status gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment);

/* ------------------------------------------------------------------------
 * Key-value pairs (keys must be non-empty and not yet present)
 * ---------------------------------------------------------------------- */

mote_status gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t v);
mote_status gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t v);
mote_status gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t v);
mote_status gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t v);
mote_status gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v);
mote_status gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v);
mote_status gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t v);
mote_status gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t v);
mote_status gguf_writer_add_f32(gguf_writer *w, const char *key, float v);
mote_status gguf_writer_add_f64(gguf_writer *w, const char *key, double v);
mote_status gguf_writer_add_bool(gguf_writer *w, const char *key, bool v);
/* A NUL-terminated string, or len bytes (which may include NULs). */
mote_status gguf_writer_add_str(gguf_writer *w, const char *key, const char *s);
mote_status gguf_writer_add_strn(gguf_writer *w, const char *key, const char *s, size_t len);
/* An array of n numeric or bool elements of type elem, given as a C array
 * of the matching host type (uint8_t, int16_t, float, bool as uint8_t...). */
mote_status gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_type elem,
                                const void *data, uint64_t n);
/* An array of n NUL-terminated strings, or of n gguf_str. */
mote_status gguf_writer_add_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                    uint64_t n);
mote_status gguf_writer_add_arr_strn(gguf_writer *w, const char *key, const gguf_str *strs,
                                     uint64_t n);
/* Copy a kv read by gguf_open() (e.g. tokenizer metadata of another file). */
mote_status gguf_writer_add_kv(gguf_writer *w, const gguf_kv *kv);

/* ------------------------------------------------------------------------
 * Tensors (written in the order added)
 * ---------------------------------------------------------------------- */

/* A tensor whose bytes are data[0 .. nbytes), borrowed until the write;
 * data may be NULL for a tensor of zero bytes. ne has n_dims entries. */
mote_status gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type,
                                   uint32_t n_dims, const int64_t *ne, const void *data);
/* A tensor whose bytes fill() produces while writing. */
mote_status gguf_writer_add_tensor_fill(gguf_writer *w, const char *name, uint32_t type,
                                        uint32_t n_dims, const int64_t *ne, gguf_fill_fn fill,
                                        void *user);

/* ------------------------------------------------------------------------
 * Output (a writer may be written any number of times)
 * ---------------------------------------------------------------------- */

/* Bytes the file will have. */
uint64_t gguf_writer_size(const gguf_writer *w);
/* Write to an open stream, from its current position. */
mote_status gguf_writer_write_fp(gguf_writer *w, FILE *fp);
/* Write to path (created or truncated). */
mote_status gguf_writer_write_file(gguf_writer *w, const char *path);
/* Write to a malloc'd buffer (*out, *size); free it with free(). */
mote_status gguf_writer_write_buffer(gguf_writer *w, void **out, size_t *size);

#endif
