/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Any input must either open to a self-consistent file or fail with a
 * message; never crash, leak or read outside the input. Build and run:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *       -Iinclude -Isrc fuzz/fuzz_gguf.c src/gguf/gguf.c src/gguf/gguf_meta.c \
 *       src/gguf/ggml_type.c src/base/status.c src/base/mapfile.c -o build/fuzz_gguf
 *   ./build/fuzz_gguf -max_total_time=60 CORPUS_DIR ../shared/vocab
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    if (gguf_open_buffer(data, size, "fuzz", &f) != MOTE_OK) {
        if (f || mote_last_error()[0] == '\0') abort();
        return 0;
    }
    /* touch everything the reader promised is inside the input */
    char text[128];
    volatile uint64_t sum = 0;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        gguf_kv_to_string(kv, text, sizeof text);
        if (kv->type == GGUF_TYPE_STRING && kv->str.len) sum += (uint8_t)kv->str.ptr[kv->str.len - 1];
        if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_STRING)
            for (uint64_t j = 0; j < kv->arr_n; j++)
                if (kv->arr_strs[j].len) sum += (uint8_t)kv->arr_strs[j].ptr[kv->arr_strs[j].len - 1];
        if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type != GGUF_TYPE_STRING && kv->arr_n) {
            /* every element converts, or fails with a message */
            int64_t v;
            for (uint64_t j = 0; j < kv->arr_n && j < 64; j++) {
                if (gguf_arr_get_int(f, kv, j, INT64_MIN, INT64_MAX, &v) == MOTE_OK) sum += (uint64_t)v;
                else if (mote_last_error()[0] == '\0') abort();
                sum += (uint64_t)(gguf_arr_float(kv, j) != 0);
            }
        }
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (gguf_find_tensor(f, t->name) != t) abort();
        if (t->nbytes) sum += ((const uint8_t *)t->data)[t->nbytes - 1] + ((const uint8_t *)t->data)[0];
    }
    gguf_close(f);
    return 0;
}
