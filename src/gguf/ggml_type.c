/* ggml_type.c — the block layout table of GGUF tensor types. */
#include "gguf/ggml_type.h"

#include <stdio.h>

static const ggml_type_traits traits[MOTE_TYPE_COUNT] = {
    [GGML_TYPE_F32] = {"F32", 1, 4, NULL},
    [GGML_TYPE_F16] = {"F16", 1, 2, NULL},
    [GGML_TYPE_Q4_0] = {"Q4_0", 32, 2 + 16, NULL},
    [GGML_TYPE_Q4_1] = {"Q4_1", 32, 2 + 2 + 16, NULL},
    [GGML_TYPE_Q5_0] = {"Q5_0", 32, 2 + 4 + 16, NULL},
    [GGML_TYPE_Q5_1] = {"Q5_1", 32, 2 + 2 + 4 + 16, NULL},
    [GGML_TYPE_Q8_0] = {"Q8_0", 32, 2 + 32, NULL},
    [GGML_TYPE_Q8_1] = {"Q8_1", 32, 2 + 2 + 32, NULL},
    [GGML_TYPE_Q2_K] = {"Q2_K", QK_K, 16 + 64 + 2 + 2, NULL},
    [GGML_TYPE_Q3_K] = {"Q3_K", QK_K, 32 + 64 + 12 + 2, NULL},
    [GGML_TYPE_Q4_K] = {"Q4_K", QK_K, 2 + 2 + 12 + 128, NULL},
    [GGML_TYPE_Q5_K] = {"Q5_K", QK_K, 2 + 2 + 12 + 32 + 128, NULL},
    [GGML_TYPE_Q6_K] = {"Q6_K", QK_K, 128 + 64 + 16 + 2, NULL},
    [GGML_TYPE_Q8_K] = {"Q8_K", QK_K, 4 + 256 + 32, NULL},
    [GGML_TYPE_IQ2_XXS] = {"IQ2_XXS", QK_K, 2 + 64, NULL},
    [GGML_TYPE_IQ2_XS] = {"IQ2_XS", QK_K, 2 + 64 + 8, NULL},
    [GGML_TYPE_IQ3_XXS] = {"IQ3_XXS", QK_K, 2 + 96, NULL},
    [GGML_TYPE_IQ1_S] = {"IQ1_S", QK_K, 2 + 32 + 16, NULL},
    [GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 2 + 16, NULL},
    [GGML_TYPE_IQ3_S] = {"IQ3_S", QK_K, 2 + 64 + 8 + 32 + 4, NULL},
    [GGML_TYPE_IQ2_S] = {"IQ2_S", QK_K, 2 + 64 + 8 + 8, NULL},
    [GGML_TYPE_IQ4_XS] = {"IQ4_XS", QK_K, 2 + 2 + 4 + 128, NULL},
    [GGML_TYPE_I8] = {"I8", 1, 1, NULL},
    [GGML_TYPE_I16] = {"I16", 1, 2, NULL},
    [GGML_TYPE_I32] = {"I32", 1, 4, NULL},
    [GGML_TYPE_I64] = {"I64", 1, 8, NULL},
    [GGML_TYPE_F64] = {"F64", 1, 8, NULL},
    [GGML_TYPE_IQ1_M] = {"IQ1_M", QK_K, 32 + 16 + 8, NULL},
    [GGML_TYPE_BF16] = {"BF16", 1, 2, NULL},
    [GGML_TYPE_TQ1_0] = {"TQ1_0", QK_K, 48 + 4 + 2, NULL},
    [GGML_TYPE_TQ2_0] = {"TQ2_0", QK_K, 64 + 2, NULL},
    [GGML_TYPE_MXFP4] = {"MXFP4", 32, 1 + 16, NULL},
    [MOTE_TYPE_FP8] = {"FP8", 32, 1 + 32, "fp8_e4m3 block 32, e8m0 scale first"},
    /* per row the bytes of the plain type: a group of 16 rows is 16 plain rows' bytes */
    [MOTE_TYPE_Q8_0_R16] = {"Q8_0_R16", 32, 2 + 32,
                            "q8_0 rows interleaved by 16: per block 16 f16 scales, then 8 steps of 16 rows x 4 "
                            "quants + 128 as uint8; tail rows plain"},
    [MOTE_TYPE_Q4_0_R16] = {"Q4_0_R16", 32, 2 + 16,
                            "q4_0 rows interleaved by 16: per block 16 f16 scales, then 4 steps of 16 rows x 4 "
                            "quant bytes (low nibbles element 4s+b, high 16+4s+b); tail rows plain"},
    [MOTE_TYPE_IQ4_NL_R16] = {"IQ4_NL_R16", 32, 2 + 16,
                              "iq4_nl rows interleaved by 16: per block 16 f16 scales, then 4 steps of 16 rows x 4 "
                              "quant bytes (low nibbles element 4s+b, high 16+4s+b); tail rows plain"},
    [MOTE_TYPE_Q4_K_R16] = {"Q4_K_R16", QK_K, 2 + 2 + 12 + 128,
                            "q4_k rows interleaved by 16: per super-block 16 f16 d, 16 f16 dmin, 8 groups x 16 rows "
                            "scale bytes (6 bits, min bits 4-5 on top), 4 group pairs x 16 rows min nibbles, then 32 "
                            "steps of 16 rows x 4 quant bytes of the plain block; tail rows plain"},
    [MOTE_TYPE_Q6_K_R16] = {"Q6_K_R16", QK_K, 128 + 64 + 16 + 2,
                            "q6_k rows interleaved by 16: per super-block 8 pairs of rows, each the ql then qh of "
                            "both in alternate 32-byte chunks, the 16 scales of each, the f16 d of each; tail rows "
                            "plain"},
};

const ggml_type_traits *ggml_type_get(uint32_t t)
{
    if (t >= MOTE_TYPE_COUNT || traits[t].name == NULL) return NULL;
    return &traits[t];
}

const char *ggml_type_name(uint32_t t)
{
    const ggml_type_traits *tr = ggml_type_get(t);
    return tr ? tr->name : "unknown";
}

size_t ggml_row_size(uint32_t t, int64_t n)
{
    const ggml_type_traits *tr = ggml_type_get(t);
    if (!tr || n < 0 || n % tr->block_size != 0) return 0;
    return (size_t)(n / tr->block_size) * tr->type_size;
}

void mote_type_key(uint32_t t, char key[MOTE_TYPE_KEY_MAX])
{
    snprintf(key, MOTE_TYPE_KEY_MAX, MOTE_TYPE_KEY_PREFIX "%u", t);
}
