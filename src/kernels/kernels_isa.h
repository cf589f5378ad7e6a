/*
 * kernels_isa.h — the SIMD kernel tables, one per instruction-set level
 * (internal to the kernels layer; kernels.c registers them in its list).
 *
 * Each table is defined in the files compiled for its ISA (*_avx2.c,
 * *_avx512.c, *_neon.c) and exists only on the architecture it targets.
 * Every table reproduces the scalar table's vec_dot, vec_dot_x4,
 * vec_dot_b8, vec_dot_b2, vec_dot4, vec_dot_rt (which the scalar table
 * leaves to vec_dot), quantize, swiglu and attn_exact results bit for bit; only the gemm slot (batches, see kernels.h) may
 * round differently, and the attn_chunk slot agrees to float rounding.
 */
#ifndef MOTE_KERNELS_KERNELS_ISA_H
#define MOTE_KERNELS_KERNELS_ISA_H

#include "kernels/kernels.h"

#if defined(__x86_64__)
const kernel_ops *kernels_avx2(void);   /* AVX2 + FMA + F16C */
const kernel_ops *kernels_avx512(void); /* AVX-512 F/BW/VL/DQ/VNNI/BF16 */
const kernel_ops *kernels_avx512fast(void); /* the same with every gemm (own order) */
#endif

#endif
