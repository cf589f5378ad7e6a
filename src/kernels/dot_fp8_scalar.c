/*
 * dot_fp8_scalar.c — the reference dot product of FP8 weights with F32
 * activations, in the lane order dot_fp8.h defines.
 */
#include <math.h>

#include "kernels/dot_fp8.h"
#include "kernels/dot_scalar.h"
#include "tensor/quant.h"

#define FP8_LANES 16

void fp8_dot_scalar(int64_t n, float *s, const void *w, const void *x)
{
    const block_fp8 *b = w;
    const float *y = x;
    float acc[2][FP8_LANES] = {{0}};
    for (int64_t i = 0; i < n / QK_FP8; i++, y += QK_FP8) {
        const float d = fp8_scale(b[i].e);
        for (int l = 0; l < FP8_LANES; l++) {
            const float lo = fp16_to_fp32(fp8_half(b[i].qs[l]));
            const float hi = fp16_to_fp32(fp8_half(b[i].qs[l + FP8_LANES]));
            const float p = fmaf(hi, y[l + FP8_LANES], lo * y[l]);
            acc[i % 2][l] = fmaf(p, d, acc[i % 2][l]);
        }
    }
    for (int l = 0; l < FP8_LANES; l++) acc[0][l] += acc[1][l];
    *s = scalar_reduce16(acc[0]);
}
