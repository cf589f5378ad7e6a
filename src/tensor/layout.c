/* layout.c — interleaving Q8_0 / Q4_0 / IQ4_NL rows in groups of 16, and back (layout.h). */
#include "tensor/layout.h"

#include <string.h>

#include "gguf/ggml_type.h"
#include "tensor/quant.h"

#define QK 32      /* elements per block (every type) */
#define STEP 4     /* bytes per row and step */
#define SCALES (2 * LAYOUT_ROWS) /* bytes of a block's scales */

int layout_is(uint32_t t)
{
    return t == MOTE_TYPE_Q8_0_R16 || t == MOTE_TYPE_Q4_0_R16 || t == MOTE_TYPE_IQ4_NL_R16;
}

uint32_t layout_plain(uint32_t t)
{
    switch (t) {
    case MOTE_TYPE_Q8_0_R16: return GGML_TYPE_Q8_0;
    case MOTE_TYPE_Q4_0_R16: return GGML_TYPE_Q4_0;
    case MOTE_TYPE_IQ4_NL_R16: return GGML_TYPE_IQ4_NL;
    default: return t;
    }
}

uint32_t layout_of(uint32_t plain)
{
    switch (plain) {
    case GGML_TYPE_Q8_0: return MOTE_TYPE_Q8_0_R16;
    case GGML_TYPE_Q4_0: return MOTE_TYPE_Q4_0_R16;
    case GGML_TYPE_IQ4_NL: return MOTE_TYPE_IQ4_NL_R16;
    default: return 0;
    }
}

int layout_view_ok(int64_t m, int64_t row0, int64_t rows)
{
    return row0 % LAYOUT_ROWS == 0 && (rows % LAYOUT_ROWS == 0 || row0 + rows == m);
}

/* Quant bytes per plain block, and its steps (both 16 rows x 4 bytes). */
static size_t quant_bytes(uint32_t layout_type)
{
    return layout_type == MOTE_TYPE_Q8_0_R16 ? 32 : 16;
}

/* What the stored quant bytes are xor'ed with: Q8_0's int8 are stored as
 * unsigned w + 128 (vpdpbusd's unsigned operand); Q4_0's and IQ4_NL's
 * nibbles as they are. */
static uint8_t quant_flip(uint32_t layout_type)
{
    return layout_type == MOTE_TYPE_Q8_0_R16 ? 0x80 : 0;
}

/* Block i of row j of a group, plain at plain, interleaved at gb (the
 * group's block i). */
static void block_to_group(uint32_t layout_type, const uint8_t *plain, uint8_t *gb, int j)
{
    const uint8_t flip = quant_flip(layout_type);
    memcpy(gb + 2 * j, plain, 2);
    for (size_t s = 0; s < quant_bytes(layout_type) / STEP; s++)
        for (int b = 0; b < STEP; b++)
            gb[SCALES + (s * LAYOUT_ROWS + (size_t)j) * STEP + (size_t)b] = plain[2 + STEP * s + (size_t)b] ^ flip;
}

static void block_from_group(uint32_t layout_type, const uint8_t *gb, int j, uint8_t *plain)
{
    const uint8_t flip = quant_flip(layout_type);
    memcpy(plain, gb + 2 * j, 2);
    for (size_t s = 0; s < quant_bytes(layout_type) / STEP; s++)
        for (int b = 0; b < STEP; b++)
            plain[2 + STEP * s + (size_t)b] = gb[SCALES + (s * LAYOUT_ROWS + (size_t)j) * STEP + (size_t)b] ^ flip;
}

void layout_pack(uint32_t layout_type, const void *src, int64_t m, int64_t k, void *dst)
{
    const uint32_t plain = layout_plain(layout_type);
    const size_t row = ggml_row_size(plain, k), bsize = row / (size_t)(k / QK);
    const int64_t m16 = m - m % LAYOUT_ROWS;
    for (int64_t g = 0; g < m16; g += LAYOUT_ROWS) {
        const uint8_t *in = (const uint8_t *)src + (size_t)g * row;
        uint8_t *out = (uint8_t *)dst + (size_t)g * row;
        for (int64_t i = 0; i < k / QK; i++)
            for (int j = 0; j < LAYOUT_ROWS; j++)
                block_to_group(layout_type, in + (size_t)j * row + i * bsize, out + (size_t)i * LAYOUT_ROWS * bsize, j);
    }
    memcpy((uint8_t *)dst + (size_t)m16 * row, (const uint8_t *)src + (size_t)m16 * row, (size_t)(m - m16) * row);
}

void layout_row(uint32_t layout_type, const void *W, int64_t m, int64_t k, int64_t r, void *row)
{
    const uint32_t plain = layout_plain(layout_type);
    const size_t rb = ggml_row_size(plain, k), bsize = rb / (size_t)(k / QK);
    const int64_t g = r - r % LAYOUT_ROWS;
    const uint8_t *base = (const uint8_t *)W + (size_t)g * rb;
    if (g + LAYOUT_ROWS > m) { /* a tail row: plain */
        memcpy(row, (const uint8_t *)W + (size_t)r * rb, rb);
        return;
    }
    for (int64_t i = 0; i < k / QK; i++)
        block_from_group(layout_type, base + (size_t)i * LAYOUT_ROWS * bsize, (int)(r % LAYOUT_ROWS),
                         (uint8_t *)row + i * bsize);
}
