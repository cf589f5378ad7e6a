/*
 * limits.c — what this machine can do at most, for judging kernel speed.
 *
 *   read bandwidth  streaming sum over a buffer far larger than the caches
 *                   (default 1 GiB), 1 thread and N threads, best of R passes;
 *                   once on 4 KiB pages (as a model's mmap'd file is read)
 *                   and once with transparent huge pages where offered
 *   FMA peak        F32 fused multiply-adds on independent accumulators
 *                   (AVX-512, else AVX2+FMA, else scalar), FLOP = 2 per lane
 *   int8 dot peak   u8 x s8 products summed into int32 (AVX512-VNNI vpdpbusd,
 *                   else AVX-VNNI, else AVX2 maddubs+madd), op = 2 per product
 *
 * The ISA is chosen at run time (cpuid through __builtin_cpu_supports); each
 * kernel is compiled for its ISA with a target attribute.
 * Prints a table, then one JSON line (the last line) that bench/compare reads.
 *
 * Usage: limits [-t THREADS] [-s BUFFER_MIB] [-r PASSES]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ================================================================ kernels */

/* Each kernel returns something derived from its work so that the compiler
 * cannot drop it. */

/* ---- streaming read: sum 64-bit words, 4 independent vector sums */

__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t *p, size_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512((const void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512((const void *)(p + i + 64)));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512((const void *)(p + i + 128)));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_load_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256((const __m256i *)(p + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t lane[4];
    _mm256_storeu_si256((__m256i *)lane, s);
    return lane[0] + lane[1] + lane[2] + lane[3];
}

static uint64_t read_scalar(const uint8_t *p, size_t n) {
    const uint64_t *w = (const uint64_t *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

/* ---- compute peaks: ACC independent chains, enough to cover latency x pipes.
 * The accumulators are named variables (an array ends up in memory); the
 * empty asm makes the operands opaque so no iteration can be folded. */

#define ACC 12
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define SUM(OP, T) T t = a0; t = OP(t, a1); t = OP(t, a2); t = OP(t, a3); t = OP(t, a4); t = OP(t, a5); \
    t = OP(t, a6); t = OP(t, a7); t = OP(t, a8); t = OP(t, a9); t = OP(t, a10); t = OP(t, a11)

__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
#define I(k) __m512 a##k = _mm512_set1_ps((float)(k) * 1e-3f);
    EACH(I)
#undef I
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+v"(m), "+v"(c));
#define F(k) a##k = _mm512_fmadd_ps(a##k, m, c);
        EACH(F)
#undef F
    }
    SUM(_mm512_add_ps, __m512);
    return _mm512_reduce_add_ps(t);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
#define I(k) __m256 a##k = _mm256_set1_ps((float)(k) * 1e-3f);
    EACH(I)
#undef I
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+x"(m), "+x"(c));
#define F(k) a##k = _mm256_fmadd_ps(a##k, m, c);
        EACH(F)
#undef F
    }
    SUM(_mm256_add_ps, __m256);
    float lane[8];
    _mm256_storeu_ps(lane, t);
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

static float fma_scalar(long iters) {
#define I(k) float a##k = (float)(k) * 1e-3f;
    EACH(I)
#undef I
    float m = 0.999999f, c = 1e-7f;
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+x"(m), "+x"(c));
#define F(k) a##k = a##k * m + c;
        EACH(F)
#undef F
    }
#define ADD(x, y) ((x) + (y))
    SUM(ADD, float);
#undef ADD
    return t;
}

/* ---- int8 dot: u8 x s8 products added in groups of 4 into int32 lanes */

__attribute__((target("avx512f,avx512vnni"))) static int32_t dot_avx512vnni(long iters) {
#define I(k) __m512i a##k = _mm512_set1_epi32(k);
    EACH(I)
#undef I
    __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+v"(u), "+v"(v));
#define F(k) a##k = _mm512_dpbusd_epi32(a##k, u, v);
        EACH(F)
#undef F
    }
    SUM(_mm512_add_epi32, __m512i);
    return _mm512_reduce_add_epi32(t);
}

__attribute__((target("avx2,avxvnni"))) static int32_t dot_avxvnni(long iters) {
#define I(k) __m256i a##k = _mm256_set1_epi32(k);
    EACH(I)
#undef I
    __m256i u = _mm256_set1_epi8(3), v = _mm256_set1_epi8(-2);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+x"(u), "+x"(v));
#define F(k) a##k = _mm256_dpbusd_avx_epi32(a##k, u, v);
        EACH(F)
#undef F
    }
    SUM(_mm256_add_epi32, __m256i);
    int32_t lane[8];
    _mm256_storeu_si256((__m256i *)lane, t);
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

/* AVX2 has no int8 dot: maddubs (u8*s8 pairs -> i16), madd with 1 (-> i32),
 * add; three instructions per 32 products, as llama.cpp's AVX2 path does. */
__attribute__((target("avx2"))) static int32_t dot_avx2(long iters) {
#define I(k) __m256i a##k = _mm256_set1_epi32(k);
    EACH(I)
#undef I
    __m256i u = _mm256_set1_epi8(3), v = _mm256_set1_epi8(-2), one = _mm256_set1_epi16(1);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+x"(u), "+x"(v));
#define F(k) a##k = _mm256_add_epi32(a##k, _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), one));
        EACH(F)
#undef F
    }
    SUM(_mm256_add_epi32, __m256i);
    int32_t lane[8];
    _mm256_storeu_si256((__m256i *)lane, t);
    return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}

static int32_t dot_scalar(long iters) {
#define I(k) int32_t a##k = k;
    EACH(I)
#undef I
    int32_t u = 3, v = -2;
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+r"(u), "+r"(v));
#define F(k) a##k += u * v;
        EACH(F)
#undef F
    }
#define ADD(x, y) ((x) + (y))
    SUM(ADD, int32_t);
#undef ADD
    return t;
}

/* ============================================================== dispatch */

typedef struct {
    const char *isa;                          /* name for the report */
    uint64_t (*fn)(const uint8_t *, size_t);  /* the kernel */
} read_kernel;

typedef struct {
    const char *isa;
    float (*fn)(long);
    double flop_per_iter; /* ACC vectors x lanes x 2 */
} fma_kernel;

typedef struct {
    const char *isa;
    int32_t (*fn)(long);
    double ops_per_iter; /* ACC vectors x products x 2 */
} dot_kernel;

static read_kernel pick_read(void) {
    if (__builtin_cpu_supports("avx512f")) return (read_kernel){"avx512", read_avx512};
    if (__builtin_cpu_supports("avx2")) return (read_kernel){"avx2", read_avx2};
    return (read_kernel){"scalar", read_scalar};
}

static fma_kernel pick_fma(void) {
    if (__builtin_cpu_supports("avx512f")) return (fma_kernel){"avx512", fma_avx512, ACC * 16 * 2};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (fma_kernel){"avx2", fma_avx2, ACC * 8 * 2};
    return (fma_kernel){"scalar", fma_scalar, ACC * 2};
}

static dot_kernel pick_dot(void) {
    if (__builtin_cpu_supports("avx512vnni")) return (dot_kernel){"avx512vnni", dot_avx512vnni, ACC * 64 * 2};
    if (__builtin_cpu_supports("avxvnni")) return (dot_kernel){"avxvnni", dot_avxvnni, ACC * 32 * 2};
    if (__builtin_cpu_supports("avx2")) return (dot_kernel){"avx2", dot_avx2, ACC * 32 * 2};
    return (dot_kernel){"scalar", dot_scalar, ACC * 1 * 2};
}

/* ============================================================== threading */

/* One measurement on n threads: every thread waits at a barrier, runs its
 * share, and the time is from the barrier to the last thread's end. */
typedef struct job job;
struct job {
    int kind;                 /* 0 read, 1 fma, 2 dot */
    const uint8_t *buf;       /* read: this thread's slice */
    size_t len;               /* read: its length in bytes */
    long iters;               /* fma/dot: loop count */
    read_kernel rk;
    fma_kernel fk;
    dot_kernel dk;
    pthread_barrier_t *start; /* shared */
    double t_end;             /* out: when this thread finished */
    double sink;              /* out: the kernel's result */
};

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    if (j->kind == 0) j->sink = (double)j->rk.fn(j->buf, j->len);
    else if (j->kind == 1) j->sink = j->fk.fn(j->iters);
    else j->sink = j->dk.fn(j->iters);
    j->t_end = now_s();
    return NULL;
}

/* Runs n copies of proto (read: each on its slice of buf) and returns seconds. */
static double run_threads(int n, job proto, const uint8_t *buf, size_t len, double *sink) {
    pthread_t th[MAX_THREADS];
    job jobs[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n + 1);
    size_t slice = (len / (size_t)n) & ~(size_t)4095;
    for (int i = 0; i < n; i++) {
        jobs[i] = proto;
        jobs[i].start = &start;
        jobs[i].buf = buf + (size_t)i * slice;
        jobs[i].len = slice;
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    double t0 = now_s();
    pthread_barrier_wait(&start);
    double t_end = t0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].t_end > t_end) t_end = jobs[i].t_end;
        *sink += jobs[i].sink;
    }
    pthread_barrier_destroy(&start);
    return t_end - t0;
}

/* ================================================================== main */

/* A buffer filled with nonzero data, on small pages or huge pages. */
static uint8_t *make_buffer(size_t len, int huge) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    uint64_t *w = p;
    for (size_t i = 0; i < len / 8; i++) w[i] = i * 0x9E3779B97F4A7C15ull;
    return p;
}

/* Best GB/s (1e9 bytes/s) over `passes` passes of n threads. */
static double read_gbs(read_kernel rk, const uint8_t *buf, size_t len, int n, int passes, double *sink) {
    job proto = {.kind = 0, .rk = rk};
    double best = 0;
    for (int r = 0; r < passes; r++) {
        double dt = run_threads(n, proto, buf, len, sink);
        size_t bytes = ((len / (size_t)n) & ~(size_t)4095) * (size_t)n;
        double gbs = (double)bytes / dt * 1e-9;
        if (gbs > best) best = gbs;
    }
    return best;
}

/* Best G(FL)OP/s of a compute kernel over 4 x `passes` short passes (~0.05 s:
 * short passes catch the quiet moments of a shared machine). */
static double compute_gops(int kind, fma_kernel fk, dot_kernel dk, int n, int passes, double *sink) {
    job proto = {.kind = kind, .fk = fk, .dk = dk, .iters = 1000};
    double per_iter = kind == 1 ? fk.flop_per_iter : dk.ops_per_iter;
    /* Calibrate the loop count to about 0.05 s on one thread. */
    for (;;) {
        double dt = run_threads(1, proto, NULL, 0, sink);
        if (dt > 0.02) {
            proto.iters = (long)((double)proto.iters * 0.05 / dt);
            break;
        }
        proto.iters *= 4;
    }
    double best = 0;
    for (int r = 0; r < 4 * passes; r++) {
        double dt = run_threads(n, proto, NULL, 0, sink);
        double g = (double)proto.iters * per_iter * n / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), mib = 1024, passes = 5;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "-t")) threads = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "-s")) mib = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "-r")) passes = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: limits [-t THREADS] [-s BUFFER_MIB] [-r PASSES]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > MAX_THREADS || mib < 16 || passes < 1) {
        fprintf(stderr, "limits: bad option value\n");
        return 2;
    }

    read_kernel rk = pick_read();
    fma_kernel fk = pick_fma();
    dot_kernel dk = pick_dot();
    double sink = 0;
    size_t len = (size_t)mib << 20;

    double bw[2][2]; /* [small pages, huge pages][1 thread, N threads] */
    for (int huge = 0; huge < 2; huge++) {
        uint8_t *buf = make_buffer(len, huge);
        if (!buf) {
            fprintf(stderr, "limits: cannot map %d MiB\n", mib);
            return 1;
        }
        bw[huge][0] = read_gbs(rk, buf, len, 1, passes, &sink);
        bw[huge][1] = read_gbs(rk, buf, len, threads, passes, &sink);
        munmap(buf, len);
    }
    double fma1 = compute_gops(1, fk, dk, 1, passes, &sink);
    double fman = compute_gops(1, fk, dk, threads, passes, &sink);
    double dot1 = compute_gops(2, fk, dk, 1, passes, &sink);
    double dotn = compute_gops(2, fk, dk, threads, passes, &sink);

    char nthr[32];
    snprintf(nthr, sizeof nthr, "%d threads", threads);
    printf("%-34s %12s %12s\n", "limit", "1 thread", nthr);
    printf("%-34s %12.2f %12.2f\n", "read GB/s (4 KiB pages)", bw[0][0], bw[0][1]);
    printf("%-34s %12.2f %12.2f\n", "read GB/s (huge pages)", bw[1][0], bw[1][1]);
    printf("%-34s %12.1f %12.1f   (%s)\n", "F32 FMA GFLOP/s", fma1, fman, fk.isa);
    printf("%-34s %12.1f %12.1f   (%s)\n", "int8 dot Gop/s (2 ops/product)", dot1, dotn, dk.isa);
    printf("{\"threads\":%d,\"buffer_mib\":%d,\"read_isa\":\"%s\",\"fma_isa\":\"%s\",\"dot_isa\":\"%s\","
           "\"read_gbs_1\":%.3f,\"read_gbs_n\":%.3f,\"read_gbs_huge_1\":%.3f,\"read_gbs_huge_n\":%.3f,"
           "\"fma_gflops_1\":%.2f,\"fma_gflops_n\":%.2f,\"dot_gops_1\":%.2f,\"dot_gops_n\":%.2f,\"sink\":%g}\n",
           threads, mib, rk.isa, fk.isa, dk.isa, bw[0][0], bw[0][1], bw[1][0], bw[1][1], fma1, fman, dot1, dotn,
           sink != sink ? 0.0 : (sink > 0 ? 1.0 : 0.0));
    return 0;
}
