/*
 * dot_dotprod.c — the "dotprod" table: the block kernels of
 * dot_neon_blocks.h with their 4-element integer sums from SDOT (Armv8.2
 * dot product, built with -march=armv8.2-a+dotprod, used only when the CPU
 * reports HWCAP_ASIMDDP). Float kernels and quantizers are dot_neon.c's.
 * Results are identical to the "neon" table's and the scalar reference's.
 */
#include "kernels/dot_neon.h"

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)

#include <arm_neon.h>
#include <math.h>

#include "kernels/dot_scalar.h"
#include "tensor/quant.h"

/* acc lane l += a[4l..4l+3] . b[4l..4l+3] */
static inline int32x4_t dot4(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    return vdotq_s32(acc, a, b);
}

#define NEON_SUFFIX dotprod
#include "kernels/dot_neon_blocks.h"

#endif
