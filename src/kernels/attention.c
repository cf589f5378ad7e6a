/*
 * attention.c — streaming attention: the plain C reference kernels, the
 * folding of partials, and a table's kernels (see attention.h).
 */
#include "kernels/attention.h"

#include <math.h>
#include <string.h>

#include "gguf/ggml_type.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"

/* ------------------------------------------------------------------------
 * Reference kernel
 *
 * The same tiles and online-softmax updates as the SIMD kernels, in plain
 * C with libm's expf: each K/V row is widened to floats once, then used for
 * all g queries. The SIMD kernels agree with it to float rounding (their
 * dot products and exp differ in the last bits), not bit for bit.
 * ---------------------------------------------------------------------- */

static void widen_row(uint32_t type, const void *row, float *out, int hd)
{
    if (type == GGML_TYPE_F16) {
        const mote_f16 *h = row;
        for (int i = 0; i < hd; i++) out[i] = fp16_to_fp32(h[i]);
    } else {
        q8_0_dequantize(row, out, hd);
    }
}

static void chunk_ref(uint32_t type, const float *q, int64_t q_stride, int g, const void *k, const void *v,
                      size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float row[ATTN_HD_MAX];
    float p[ATTN_QMAX][ATTN_TILE];
    float m[ATTN_QMAX], l[ATTN_QMAX];
    attn_part_start(part, g, hd, m, l);
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;
        /* scores of the tile */
        for (int i = 0; i < nt; i++) {
            widen_row(type, (const char *)k + (size_t)(i0 + i) * row_bytes, row, hd);
            for (int j = 0; j < g; j++) {
                const float *qj = q + j * q_stride;
                float s = 0.0f;
                for (int d = 0; d < hd; d++) s += qj[d] * row[d];
                p[j][i] = s * scale;
            }
        }
        /* new maxima; rescale what was accumulated under the old ones */
        for (int j = 0; j < g; j++) {
            float mt = m[j];
            for (int i = 0; i < nt; i++) mt = p[j][i] > mt ? p[j][i] : mt;
            const float corr = attn_rescale(m[j], mt);
            float sum = 0.0f;
            for (int i = 0; i < nt; i++) sum += p[j][i] = expf(p[j][i] - mt);
            l[j] = l[j] * corr + sum;
            m[j] = mt;
            float *acc = part + j * ps;
            for (int d = 0; d < hd; d++) acc[d] *= corr;
        }
        /* acc += p · V */
        for (int i = 0; i < nt; i++) {
            widen_row(type, (const char *)v + (size_t)(i0 + i) * row_bytes, row, hd);
            for (int j = 0; j < g; j++) {
                float *acc = part + j * ps;
                for (int d = 0; d < hd; d++) acc[d] += p[j][i] * row[d];
            }
        }
    }
    attn_part_close(part, g, hd, m, l);
}

void attn_chunk_f16_ref(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                        int n, int hd, float scale, float *part)
{
    chunk_ref(GGML_TYPE_F16, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
}

void attn_chunk_q8_0_ref(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                         int n, int hd, float scale, float *part)
{
    chunk_ref(GGML_TYPE_Q8_0, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
}

/* ------------------------------------------------------------------------
 * Partials
 * ---------------------------------------------------------------------- */

void attn_merge(float *dst, const float *src, int g, int hd)
{
    const size_t ps = attn_part_stride(hd);
    for (int j = 0; j < g; j++, dst += ps, src += ps) {
        const float md = dst[hd], ms = src[hd];
        const float mx = md > ms ? md : ms;
        if (mx == -INFINITY) continue; /* both empty */
        const float cd = attn_rescale(md, mx);
        const float cs = attn_rescale(ms, mx);
        for (int d = 0; d < hd; d++) dst[d] = dst[d] * cd + src[d] * cs;
        dst[hd] = mx;
        dst[hd + 1] = dst[hd + 1] * cd + src[hd + 1] * cs;
    }
}

void attn_finish(float *out, int64_t out_stride, const float *part, int g, int hd)
{
    const size_t ps = attn_part_stride(hd);
    for (int j = 0; j < g; j++, part += ps) {
        const float l = part[hd + 1];
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        float *o = out + j * out_stride;
        for (int d = 0; d < hd; d++) o[d] = part[d] * inv;
    }
}

/* ------------------------------------------------------------------------
 * A table's kernels: its slots, the scalar table's where it has none
 * ---------------------------------------------------------------------- */

attn_chunk_fn attn_chunk_kernel(uint32_t kv_type, const kernel_ops *ops)
{
    if (kv_type >= MOTE_TYPE_COUNT) return NULL;
    attn_chunk_fn f = ops->attn_chunk[kv_type];
    return f ? f : kernels_scalar()->attn_chunk[kv_type];
}

attn_exact_ops attn_exact_kernels(const kernel_ops *ops)
{
    const attn_exact_ops *ref = &kernels_scalar()->attn_exact;
    attn_exact_ops e = ops->attn_exact;
    if (!e.dot) e.dot = ref->dot;
    if (!e.values) e.values = ref->values;
    if (!e.values_batch) e.values_batch = ref->values_batch;
    return e;
}
