/*
 * ggml_type.h — tensor type ids of the GGUF format and their block layout.
 *
 * The ids and block sizes are fixed by the GGUF specification (ggml's
 * `enum ggml_type`); a tensor row of a quantized type is a run of blocks of
 * block_size elements each, stored in type_size bytes.
 */
#ifndef MOTE_GGUF_GGML_TYPE_H
#define MOTE_GGUF_GGML_TYPE_H

#include <stddef.h>
#include <stdint.h>

enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_IQ2_XXS = 16,
    GGML_TYPE_IQ2_XS = 17,
    GGML_TYPE_IQ3_XXS = 18,
    GGML_TYPE_IQ1_S = 19,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ3_S = 21,
    GGML_TYPE_IQ2_S = 22,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_I8 = 24,
    GGML_TYPE_I16 = 25,
    GGML_TYPE_I32 = 26,
    GGML_TYPE_I64 = 27,
    GGML_TYPE_F64 = 28,
    GGML_TYPE_IQ1_M = 29,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_TQ1_0 = 34,
    GGML_TYPE_TQ2_0 = 35,
    GGML_TYPE_MXFP4 = 39,
    GGML_TYPE_COUNT = 40, /* one past the ggml ids mote knows (ggml's own count is 43) */

    /* mote's own types, from MOTE_TYPE_FIRST up: far above ggml's ids, so
     * llama.cpp refuses such a tensor ("invalid type") instead of misreading
     * it. A file holding one records the type's layout under the key
     * "mote.type.<id>" (ggml_type_traits.layout), which gguf_open checks. */
    MOTE_TYPE_FIRST = 128,
    MOTE_TYPE_FP8 = 128, /* FP8 E4M3, 32 per block, E8M0 scale (tensor/quant.h) */
    /* Q8_0 / Q4_0 / IQ4_NL / Q4_K / Q6_K with rows interleaved in groups of 16 (tensor/layout.h):
     * the layouts of the AVX512-VNNI kernels, written by `mote optimize` */
    MOTE_TYPE_Q8_0_R16 = 129,
    MOTE_TYPE_Q4_0_R16 = 130,
    MOTE_TYPE_IQ4_NL_R16 = 131,
    MOTE_TYPE_Q4_K_R16 = 132, /* Q4_K likewise, per super-block */
    MOTE_TYPE_Q6_K_R16 = 133, /* Q6_K likewise, in pairs of rows */
    MOTE_TYPE_COUNT = 134, /* one past every id mote knows: sizes the per-type tables */
};

#define QK_K 256 /* elements per super-block of the K-quants */

/* general.file_type of a file whose matrices are FP8: mote's own value,
 * far above llama_ftype's (41 in the llama.cpp mote peers with; `mote
 * info` names it FP8). */
#define MOTE_FTYPE_FP8 128

typedef struct ggml_type_traits {
    const char *name;  /* "Q4_K"; NULL for ids that are not (or no longer) defined */
    int block_size;    /* elements per block */
    size_t type_size;  /* bytes per block */
    const char *layout; /* mote's types: the value of "mote.type.<id>"; NULL for ggml's */
} ggml_type_traits;

/* The metadata key recording a mote type's layout: "mote.type.128". */
#define MOTE_TYPE_KEY_PREFIX "mote.type."
#define MOTE_TYPE_KEY_MAX 32 /* bytes of such a key, with its NUL */

/* Traits of type id t, or NULL if t is not a defined type. */
const ggml_type_traits *ggml_type_get(uint32_t t);
/* Name of type id t, or "unknown". */
const char *ggml_type_name(uint32_t t);
/* The layout key of type id t ("mote.type.<t>") into key[MOTE_TYPE_KEY_MAX]. */
void mote_type_key(uint32_t t, char key[MOTE_TYPE_KEY_MAX]);
/* Bytes of a row of n elements; 0 if n is not a multiple of the block size. */
size_t ggml_row_size(uint32_t t, int64_t n);

#endif
