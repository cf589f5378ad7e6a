/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Contract: any input either opens to a self-consistent file or fails with
 * a message; nothing crashes, leaks or reads outside the input, and every
 * numeric array element converts to an integer or fails with a message.
 * Seeds: the tiny models of fuzz/seeds.c and hand-made headers in
 * fuzz/corpus/gguf; `make fuzz` builds it, `make fuzz-smoke` runs it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "fuzz.h"
#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    mote_clear_error();
    if (gguf_open_buffer(data, size, "fuzz", &f) != MOTE_OK) {
        fuzz_check(!f && mote_last_error()[0], "a failed open left a file or no message");
        return 0;
    }
    /* touch everything the reader promised is inside the input */
    char text[128];
    uint64_t sum = 0;
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
                mote_clear_error();
                if (gguf_arr_get_int(f, kv, j, INT64_MIN, INT64_MAX, &v) == MOTE_OK) sum += (uint64_t)v;
                else fuzz_check(mote_last_error()[0], "a failed conversion left no message");
                sum += (uint64_t)(gguf_arr_float(kv, j) != 0);
            }
        }
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        fuzz_check(gguf_find_tensor(f, t->name) == t, "a tensor is not found by its name");
        if (t->nbytes) sum += ((const uint8_t *)t->data)[t->nbytes - 1] + ((const uint8_t *)t->data)[0];
    }
    fuzz_sink += sum;
    gguf_close(f);
    return 0;
}
