/*
 * cpu.h — what the CPU this process runs on can execute, detected once at
 * run time (the kernel dispatcher picks its tables from this).
 *
 * x86-64: CPUID feature bits, and XGETBV to confirm the OS saves the
 * vector state (an AVX or AVX-512 instruction faults if the OS has not
 * enabled its registers in XCR0, whatever CPUID says).
 * aarch64: the kernel's HWCAP bits (getauxval).
 * Other architectures: every flag is 0.
 */
#ifndef MOTE_BASE_CPU_H
#define MOTE_BASE_CPU_H

#include <stddef.h>

typedef struct cpu_features {
    /* x86-64; each 1 only if the CPU has it and the OS enabled its state */
    int avx2;        /* AVX2 (with AVX, FMA3 and F16C: the "avx2" kernel level) */
    int fma;         /* FMA3 */
    int f16c;        /* F16C (vcvtph2ps / vcvtps2ph) */
    int avx512f;     /* AVX-512 Foundation */
    int avx512bw;    /* byte/word instructions */
    int avx512vl;    /* 128/256-bit forms of AVX-512 instructions */
    int avx512dq;    /* doubleword/quadword instructions */
    int avx512vnni;  /* vpdpbusd and friends */
    int avx512bf16;  /* vdpbf16ps, vcvtne2ps2bf16 */
    int avxvnni;     /* VEX-encoded vpdpbusd (AVX-VNNI) */
    /* aarch64 */
    int asimd;       /* Advanced SIMD (NEON) */
    int dotprod;     /* sdot / udot */
} cpu_features;

/* The features of this CPU (detected on the first call; thread-safe). */
const cpu_features *cpu_get(void);

/* The kernel levels (see kernels.c): 1 if this CPU can run it. */
int cpu_has_avx2_level(void);   /* avx2 + fma + f16c */
int cpu_has_avx512_level(void); /* the avx2 level + avx512 f/bw/vl/dq/vnni/bf16 */
int cpu_has_neon_level(void);   /* asimd */

/* The CPUs this process may run on: its affinity mask (taskset, cgroup
 * cpusets), else the online CPUs; at least 1. */
int cpu_available(void);

/* The CPU's model name into buf (cap bytes, NUL-terminated): the CPUID
 * brand string on x86, else /proc/cpuinfo's "model name" (or "Hardware",
 * "CPU part"), else "unknown". Tuning profiles are kept per model name. */
void cpu_model_name(char *buf, size_t cap);

#endif
