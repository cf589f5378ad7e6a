/* layout.c — interleaving Q8_0 / Q4_0 / IQ4_NL / Q4_K / Q6_K rows in groups of 16, and back (layout.h). */
#include "tensor/layout.h"

#include <stddef.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "tensor/quant.h"

#define QK 32      /* elements per block of Q8_0, Q4_0, IQ4_NL (the K types: QK_K) */
#define STEP 4     /* bytes per row and step */
#define SCALES (2 * LAYOUT_ROWS) /* bytes of a block's scales */
_Static_assert(LAYOUT_Q4K_QS + QK_K / 2 * LAYOUT_ROWS == LAYOUT_ROWS * sizeof(block_q4_K), "a Q4_K group");
_Static_assert(LAYOUT_Q6K_PAIR == 2 * sizeof(block_q6_K) && LAYOUT_Q6K_QH == 2 * sizeof(((block_q6_K *)0)->ql) &&
                   LAYOUT_Q6K_SC == LAYOUT_Q6K_QH + 2 * sizeof(((block_q6_K *)0)->qh) &&
                   LAYOUT_Q6K_D == LAYOUT_Q6K_SC + 2 * sizeof(((block_q6_K *)0)->scales),
               "a Q6_K pair");
#define Q6K_CHUNK 32 /* bytes of one row between the other's in a pair */

int layout_is(uint32_t t)
{
    return t == MOTE_TYPE_Q8_0_R16 || t == MOTE_TYPE_Q4_0_R16 || t == MOTE_TYPE_IQ4_NL_R16 || t == MOTE_TYPE_Q4_K_R16 ||
           t == MOTE_TYPE_Q6_K_R16;
}

uint32_t layout_plain(uint32_t t)
{
    switch (t) {
    case MOTE_TYPE_Q8_0_R16: return GGML_TYPE_Q8_0;
    case MOTE_TYPE_Q4_0_R16: return GGML_TYPE_Q4_0;
    case MOTE_TYPE_IQ4_NL_R16: return GGML_TYPE_IQ4_NL;
    case MOTE_TYPE_Q4_K_R16: return GGML_TYPE_Q4_K;
    case MOTE_TYPE_Q6_K_R16: return GGML_TYPE_Q6_K;
    default: return t;
    }
}

uint32_t layout_of(uint32_t plain)
{
    switch (plain) {
    case GGML_TYPE_Q8_0: return MOTE_TYPE_Q8_0_R16;
    case GGML_TYPE_Q4_0: return MOTE_TYPE_Q4_0_R16;
    case GGML_TYPE_IQ4_NL: return MOTE_TYPE_IQ4_NL_R16;
    case GGML_TYPE_Q4_K: return MOTE_TYPE_Q4_K_R16;
    case GGML_TYPE_Q6_K: return MOTE_TYPE_Q6_K_R16;
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

/* Q4_K: super-block sb of row j of a group, plain at b, into the group's
 * super-block at gb (layout.h), and back. */
static void q4k_to_group(const block_q4_K *b, uint8_t *gb, int j)
{
    uint8_t sc[8], mn[8];
    for (int g = 0; g < 8; g++) q4_K_scale_min(g, b->scales, &sc[g], &mn[g]);
    memcpy(gb + LAYOUT_Q4K_D + 2 * j, &b->d, 2);
    memcpy(gb + LAYOUT_Q4K_DMIN + 2 * j, &b->dmin, 2);
    for (int g = 0; g < 8; g++) gb[LAYOUT_Q4K_SC + LAYOUT_ROWS * g + j] = (uint8_t)(sc[g] | (mn[g] >> 4) << 6);
    for (int p = 0; p < 4; p++)
        gb[LAYOUT_Q4K_MN + LAYOUT_ROWS * p + j] = (uint8_t)((mn[2 * p] & 15) | (mn[2 * p + 1] & 15) << 4);
    for (int s = 0; s < QK_K / 2 / STEP; s++) memcpy(gb + LAYOUT_Q4K_QS + (s * LAYOUT_ROWS + j) * STEP, b->qs + STEP * s, STEP);
}

static void q4k_from_group(const uint8_t *gb, int j, block_q4_K *b)
{
    uint8_t sc[8], mn[8];
    memcpy(&b->d, gb + LAYOUT_Q4K_D + 2 * j, 2);
    memcpy(&b->dmin, gb + LAYOUT_Q4K_DMIN + 2 * j, 2);
    for (int g = 0; g < 8; g++) {
        const uint8_t s = gb[LAYOUT_Q4K_SC + LAYOUT_ROWS * g + j];
        sc[g] = s & 63;
        mn[g] = (uint8_t)(((gb[LAYOUT_Q4K_MN + LAYOUT_ROWS * (g / 2) + j] >> 4 * (g % 2)) & 15) | (s >> 6) << 4);
    }
    /* q4_K_scale_min's packing: 16 six-bit values in 12 bytes, every bit used */
    for (int g = 0; g < 4; g++) {
        b->scales[g] = (uint8_t)(sc[g] | (sc[g + 4] >> 4) << 6);
        b->scales[g + 4] = (uint8_t)(mn[g] | (mn[g + 4] >> 4) << 6);
        b->scales[g + 8] = (uint8_t)((sc[g + 4] & 15) | (mn[g + 4] & 15) << 4);
    }
    for (int s = 0; s < QK_K / 2 / STEP; s++) memcpy(b->qs + STEP * s, gb + LAYOUT_Q4K_QS + (s * LAYOUT_ROWS + j) * STEP, STEP);
}

/* Q6_K: the parts of a plain block (offset, bytes) and where they go in
 * a pair (layout.h): ql and qh in 32-byte chunks alternating with the
 * other row's, scales and d whole, side by side. */
static const struct q6k_part {
    size_t plain, pair, len;
} q6k_parts[] = {
    {offsetof(block_q6_K, ql), LAYOUT_Q6K_QL, sizeof ((block_q6_K *)0)->ql},
    {offsetof(block_q6_K, qh), LAYOUT_Q6K_QH, sizeof ((block_q6_K *)0)->qh},
    {offsetof(block_q6_K, scales), LAYOUT_Q6K_SC, sizeof ((block_q6_K *)0)->scales},
    {offsetof(block_q6_K, d), LAYOUT_Q6K_D, sizeof ((block_q6_K *)0)->d},
};

/* Byte o of part i of row j's block, in the group's super-block. */
static size_t q6k_at(size_t i, int j, size_t o)
{
    const size_t chunk = q6k_parts[i].len > Q6K_CHUNK ? Q6K_CHUNK : q6k_parts[i].len;
    return (size_t)(j / 2) * LAYOUT_Q6K_PAIR + q6k_parts[i].pair + 2 * (o - o % chunk) + (size_t)(j % 2) * chunk + o % chunk;
}

static void q6k_to_group(const uint8_t *plain, uint8_t *gb, int j)
{
    for (size_t i = 0; i < sizeof q6k_parts / sizeof q6k_parts[0]; i++)
        for (size_t o = 0; o < q6k_parts[i].len; o++) gb[q6k_at(i, j, o)] = plain[q6k_parts[i].plain + o];
}

static void q6k_from_group(const uint8_t *gb, int j, uint8_t *plain)
{
    for (size_t i = 0; i < sizeof q6k_parts / sizeof q6k_parts[0]; i++)
        for (size_t o = 0; o < q6k_parts[i].len; o++) plain[q6k_parts[i].plain + o] = gb[q6k_at(i, j, o)];
}

/* Elements per block of a layout type's plain type. */
static int64_t block_elems(uint32_t layout_type)
{
    return layout_type == MOTE_TYPE_Q4_K_R16 || layout_type == MOTE_TYPE_Q6_K_R16 ? QK_K : QK;
}

/* Block i of row j, plain at plain, into the group's block i at gb, and back. */
static void block_pack(uint32_t layout_type, const uint8_t *plain, uint8_t *gb, int j)
{
    if (layout_type == MOTE_TYPE_Q4_K_R16) q4k_to_group((const block_q4_K *)plain, gb, j);
    else if (layout_type == MOTE_TYPE_Q6_K_R16) q6k_to_group(plain, gb, j);
    else block_to_group(layout_type, plain, gb, j);
}

static void block_unpack(uint32_t layout_type, const uint8_t *gb, int j, uint8_t *plain)
{
    if (layout_type == MOTE_TYPE_Q4_K_R16) q4k_from_group(gb, j, (block_q4_K *)plain);
    else if (layout_type == MOTE_TYPE_Q6_K_R16) q6k_from_group(gb, j, plain);
    else block_from_group(layout_type, gb, j, plain);
}

void layout_pack(uint32_t layout_type, const void *src, int64_t m, int64_t k, void *dst)
{
    const uint32_t plain = layout_plain(layout_type);
    const int64_t nb = k / block_elems(layout_type);
    const size_t row = ggml_row_size(plain, k), bsize = row / (size_t)nb;
    const int64_t m16 = m - m % LAYOUT_ROWS;
    for (int64_t g = 0; g < m16; g += LAYOUT_ROWS) {
        const uint8_t *in = (const uint8_t *)src + (size_t)g * row;
        uint8_t *out = (uint8_t *)dst + (size_t)g * row;
        for (int64_t i = 0; i < nb; i++)
            for (int j = 0; j < LAYOUT_ROWS; j++)
                block_pack(layout_type, in + (size_t)j * row + i * bsize, out + (size_t)i * LAYOUT_ROWS * bsize, j);
    }
    memcpy((uint8_t *)dst + (size_t)m16 * row, (const uint8_t *)src + (size_t)m16 * row, (size_t)(m - m16) * row);
}

void layout_row(uint32_t layout_type, const void *W, int64_t m, int64_t k, int64_t r, void *row)
{
    const uint32_t plain = layout_plain(layout_type);
    const int64_t nb = k / block_elems(layout_type);
    const size_t rb = ggml_row_size(plain, k), bsize = rb / (size_t)nb;
    const int64_t g = r - r % LAYOUT_ROWS;
    const uint8_t *base = (const uint8_t *)W + (size_t)g * rb;
    if (g + LAYOUT_ROWS > m) { /* a tail row: plain */
        memcpy(row, (const uint8_t *)W + (size_t)r * rb, rb);
        return;
    }
    for (int64_t i = 0; i < nb; i++)
        block_unpack(layout_type, base + (size_t)i * LAYOUT_ROWS * bsize, (int)(r % LAYOUT_ROWS), (uint8_t *)row + i * bsize);
}
