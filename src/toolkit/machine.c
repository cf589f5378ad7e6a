/*
 * machine.c — what this machine can do at most (mote_machine_measure):
 * the yardsticks `mote tune` reports and bench/limits prints for
 * bench/compare.
 *
 *   read bandwidth  streaming sum over a buffer far larger than the caches,
 *                   1 thread and N threads, best of R passes; once on 4 KiB
 *                   pages (as a model's mmap'd file is read) and once with
 *                   transparent huge pages where offered
 *   FMA peak        F32 fused multiply-adds on independent accumulators
 *                   (AVX-512, else AVX2+FMA, else scalar), FLOP = 2 per lane
 *   int8 dot peak   u8 x s8 products summed into int32 (AVX512-VNNI vpdpbusd,
 *                   else AVX-VNNI, else AVX2 maddubs+madd), op = 2 per product
 *   BF16 dot peak   vdpbf16ps where the CPU has AVX512-BF16, FLOP = 2 per
 *                   product; 0 elsewhere
 *   caches          L1d, L2, L3 sizes from sysfs
 *
 * The ISA is chosen at run time (cpuid through __builtin_cpu_supports); each
 * x86 kernel is compiled for its ISA with a target attribute, so this file
 * needs no ISA flags. Other architectures get the scalar loops.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "base/cpu.h"
#include "base/status.h"
#include "mote_tools.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MACHINE_THREADS_MAX 256
#define PASS_SECONDS 0.05 /* one compute pass: short passes catch the quiet moments of a shared machine */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * Kernels: each returns something derived from its work so that the
 * compiler cannot drop it.
 * ---------------------------------------------------------------------- */

/* Streaming read: sum 64-bit words, 4 independent sums. */
static uint64_t read_scalar(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

/* Compute peaks: ACC independent chains, enough to cover latency x pipes.
 * The accumulators are named variables (an array ends up in memory); the
 * empty asm makes the operands opaque so no iteration can be folded. */
#define ACC 12
#define EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define SUM(OP, T)                                                                                           \
    T t = a0;                                                                                                \
    t = OP(t, a1);                                                                                           \
    t = OP(t, a2);                                                                                           \
    t = OP(t, a3);                                                                                           \
    t = OP(t, a4);                                                                                           \
    t = OP(t, a5);                                                                                           \
    t = OP(t, a6);                                                                                           \
    t = OP(t, a7);                                                                                           \
    t = OP(t, a8);                                                                                           \
    t = OP(t, a9);                                                                                           \
    t = OP(t, a10);                                                                                          \
    t = OP(t, a11)
#define ADD(x, y) ((x) + (y))
#if defined(__x86_64__)
#define FLOAT_REG "+x"
#elif defined(__aarch64__)
#define FLOAT_REG "+w"
#else
#define FLOAT_REG "+r"
#endif

static double fma_scalar(long iters)
{
#define I(k) float a##k = (float)(k) * 1e-3f;
    EACH(I)
#undef I
    float m = 0.999999f, c = 1e-7f;
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : FLOAT_REG(m), FLOAT_REG(c));
#define F(k) a##k = a##k * m + c;
        EACH(F)
#undef F
    }
    SUM(ADD, float);
    return t;
}

static double dot_scalar(long iters)
{
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
    SUM(ADD, int32_t);
    return t;
}

#if defined(__x86_64__)

__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t *p, size_t n)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512((const void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512((const void *)(p + i + 64)));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512((const void *)(p + i + 128)));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_load_si256((const __m256i *)(const void *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256((const __m256i *)(const void *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256((const __m256i *)(const void *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256((const __m256i *)(const void *)(p + i + 96)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    uint64_t lane[4];
    _mm256_storeu_si256((__m256i *)(void *)lane, s);
    return lane[0] + lane[1] + lane[2] + lane[3];
}

__attribute__((target("avx512f"))) static double fma_avx512(long iters)
{
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

/* Eight lanes of a 256-bit vector of floats or int32, summed. */
#define LANES8(T, vec, store)                                                                                \
    T lane[8];                                                                                               \
    store((void *)lane, vec);                                                                                \
    return (double)(lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7])

__attribute__((target("avx2,fma"))) static double fma_avx2(long iters)
{
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
    LANES8(float, t, _mm256_storeu_ps);
}

__attribute__((target("avx512f,avx512vnni"))) static double dot_avx512vnni(long iters)
{
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

__attribute__((target("avx2"))) static void store_si256(void *p, __m256i v)
{
    _mm256_storeu_si256((__m256i *)p, v);
}

__attribute__((target("avx2,avxvnni"))) static double dot_avxvnni(long iters)
{
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
    LANES8(int32_t, t, store_si256);
}

/* AVX2 has no int8 dot: maddubs (u8*s8 pairs -> i16), madd with 1 (-> i32),
 * add; three instructions per 32 products, as llama.cpp's AVX2 path does. */
__attribute__((target("avx2"))) static double dot_avx2(long iters)
{
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
    LANES8(int32_t, t, store_si256);
}

/* vdpbf16ps: 32 BF16 pairs into 16 F32 lanes per instruction. */
__attribute__((target("avx512f,avx512bf16"))) static double bf16_avx512(long iters)
{
#define I(k) __m512 a##k = _mm512_set1_ps((float)(k) * 1e-3f);
    EACH(I)
#undef I
    __m512bh u = (__m512bh)_mm512_set1_epi16(0x3f80), v = (__m512bh)_mm512_set1_epi16(0x3380);
    for (long i = 0; i < iters; i++) {
        __asm__ volatile("" : "+v"(u), "+v"(v));
#define F(k) a##k = _mm512_dpbf16_ps(a##k, u, v);
        EACH(F)
#undef F
    }
    SUM(_mm512_add_ps, __m512);
    return _mm512_reduce_add_ps(t);
}

#endif /* __x86_64__ */

/* ------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------- */

typedef struct read_kernel {
    const char *isa;                         /* name for the report */
    uint64_t (*fn)(const uint8_t *, size_t); /* the kernel */
} read_kernel;

typedef struct compute_kernel {
    const char *isa;      /* name for the report; "" if none */
    double (*fn)(long);   /* the kernel, NULL if none */
    double ops_per_iter;  /* ACC vectors x products (lanes) x 2 */
} compute_kernel;

static read_kernel pick_read(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return (read_kernel){"avx512", read_avx512};
    if (__builtin_cpu_supports("avx2")) return (read_kernel){"avx2", read_avx2};
#endif
    return (read_kernel){"scalar", read_scalar};
}

static compute_kernel pick_fma(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return (compute_kernel){"avx512", fma_avx512, ACC * 16 * 2};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (compute_kernel){"avx2", fma_avx2, ACC * 8 * 2};
#endif
    return (compute_kernel){"scalar", fma_scalar, ACC * 2};
}

static compute_kernel pick_dot(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512vnni")) return (compute_kernel){"avx512vnni", dot_avx512vnni, ACC * 64 * 2};
    if (cpu_get()->avxvnni) return (compute_kernel){"avxvnni", dot_avxvnni, ACC * 32 * 2};
    if (__builtin_cpu_supports("avx2")) return (compute_kernel){"avx2", dot_avx2, ACC * 32 * 2};
#endif
    return (compute_kernel){"scalar", dot_scalar, ACC * 1 * 2};
}

static compute_kernel pick_bf16(void)
{
#if defined(__x86_64__)
    if (cpu_get()->avx512bf16) return (compute_kernel){"avx512bf16", bf16_avx512, ACC * 32 * 2};
#endif
    return (compute_kernel){"", NULL, 0};
}

/* ------------------------------------------------------------------------
 * Threads: every thread waits for the start flag, runs its share, and the
 * time is from the start to the last thread's end.
 * ---------------------------------------------------------------------- */

typedef struct job {
    const uint8_t *buf;   /* read: this thread's slice (NULL: compute) */
    size_t len;           /* read: its length in bytes */
    long iters;           /* compute: loop count */
    read_kernel rk;
    compute_kernel ck;
    atomic_int *start;    /* shared: 1 once every thread is started (or failed) */
    double t_end;         /* out: when this thread finished */
    double sink;          /* out: the kernel's result */
} job;

static void *worker(void *arg)
{
    job *j = arg;
    while (!atomic_load_explicit(j->start, memory_order_acquire)) {}
    j->sink = j->buf ? (double)j->rk.fn(j->buf, j->len) : j->ck.fn(j->iters);
    j->t_end = now_s();
    return NULL;
}

/* Runs n copies of proto (read: each on its slice of buf); seconds, or a
 * negative value if a thread could not be started. */
static double run_threads(int n, job proto, const uint8_t *buf, size_t len, double *sink)
{
    pthread_t th[MACHINE_THREADS_MAX];
    job jobs[MACHINE_THREADS_MAX];
    atomic_int start;
    atomic_init(&start, 0);
    const size_t slice = (len / (size_t)n) & ~(size_t)4095;
    int started = 0;
    for (int i = 0; i < n; i++) {
        jobs[i] = proto;
        jobs[i].start = &start;
        jobs[i].buf = buf ? buf + (size_t)i * slice : NULL;
        jobs[i].len = slice;
        if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) break;
        started++;
    }
    const double t0 = now_s();
    atomic_store_explicit(&start, 1, memory_order_release);
    double t_end = t0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].t_end > t_end) t_end = jobs[i].t_end;
        *sink += jobs[i].sink;
    }
    return started == n ? t_end - t0 : -1;
}

/* ------------------------------------------------------------------------
 * Measurements
 * ---------------------------------------------------------------------- */

/* A buffer filled with nonzero data, on small pages or huge pages. */
static uint8_t *make_buffer(size_t len, int huge)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    uint64_t *w = p;
    for (size_t i = 0; i < len / 8; i++) w[i] = i * 0x9E3779B97F4A7C15ull;
    return p;
}

/* Best GB/s (1e9 bytes/s) over `passes` passes of n threads; negative if
 * threads could not be started. */
static double read_gbs(read_kernel rk, const uint8_t *buf, size_t len, int n, int passes, double *sink)
{
    const job proto = {.rk = rk};
    double best = 0;
    for (int r = 0; r < passes; r++) {
        const double dt = run_threads(n, proto, buf, len, sink);
        if (dt < 0) return -1;
        const size_t bytes = ((len / (size_t)n) & ~(size_t)4095) * (size_t)n;
        const double gbs = (double)bytes / dt * 1e-9;
        if (gbs > best) best = gbs;
    }
    return best;
}

/* Best G(FL)OP/s of a compute kernel over 4 x `passes` passes of about
 * PASS_SECONDS; 0 for no kernel, negative if threads could not start. */
static double compute_gops(compute_kernel ck, int n, int passes, double *sink)
{
    if (!ck.fn) return 0;
    job proto = {.ck = ck, .iters = 1000};
    for (;;) { /* calibrate the loop count on one thread */
        const double dt = run_threads(1, proto, NULL, 0, sink);
        if (dt < 0) return -1;
        if (dt > 0.4 * PASS_SECONDS) {
            proto.iters = (long)((double)proto.iters * PASS_SECONDS / dt) + 1;
            break;
        }
        proto.iters *= 4;
    }
    double best = 0;
    for (int r = 0; r < 4 * passes; r++) {
        const double dt = run_threads(n, proto, NULL, 0, sink);
        if (dt < 0) return -1;
        const double g = (double)proto.iters * ck.ops_per_iter * n / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* Size in bytes of sysfs's "48K" / "2048K" / "1M". */
static int64_t parse_size(const char *s)
{
    char *end;
    const long long v = strtoll(s, &end, 10);
    if (end == s || v < 0) return 0;
    return v * (*end == 'K' ? 1024LL : *end == 'M' ? 1024LL * 1024 : *end == 'G' ? 1024LL * 1024 * 1024 : 1);
}

/* One line of a sysfs file of cpu0's cache index i into buf; 0 if absent. */
static int cache_attr(int i, const char *attr, char *buf, size_t cap)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", i, attr);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    const int ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (ok) buf[strcspn(buf, "\n")] = '\0';
    return ok;
}

static void cache_sizes(mote_machine *m)
{
    for (int i = 0; i < 16; i++) {
        char level[16], type[32], size[32];
        if (!cache_attr(i, "level", level, sizeof level)) break;
        if (!cache_attr(i, "type", type, sizeof type) || !cache_attr(i, "size", size, sizeof size)) continue;
        if (strcmp(type, "Instruction") == 0) continue;
        const int64_t bytes = parse_size(size);
        if (level[0] == '1') m->cache_l1d = bytes;
        else if (level[0] == '2') m->cache_l2 = bytes;
        else if (level[0] == '3') m->cache_l3 = bytes;
    }
}

mote_machine_params mote_machine_default_params(void)
{
    return (mote_machine_params){.n_threads = 0, .buffer_mib = 1024, .passes = 5, .huge_pages = 1};
}

mote_status mote_machine_measure(const mote_machine_params *params, mote_machine *out)
{
    if (!params || !out) return mote_fail(MOTE_E_INVALID, "mote_machine_measure: NULL argument");
    const int threads = params->n_threads > 0 ? params->n_threads : cpu_available();
    if (threads > MACHINE_THREADS_MAX || params->buffer_mib < 16 || params->passes < 1)
        return mote_fail(MOTE_E_INVALID,
                         "mote_machine_measure: threads 1..%d, buffer of at least 16 MiB and 1 pass or more",
                         MACHINE_THREADS_MAX);
    memset(out, 0, sizeof *out);
    cpu_model_name(out->cpu, sizeof out->cpu);
    out->n_threads = threads;
    out->buffer_mib = params->buffer_mib;
    const read_kernel rk = pick_read();
    const compute_kernel fk = pick_fma(), dk = pick_dot(), bk = pick_bf16();
    out->read_isa = rk.isa;
    out->fma_isa = fk.isa;
    out->dot_isa = dk.isa;
    out->bf16_isa = bk.isa;
    cache_sizes(out);

    double sink = 0;
    const size_t len = (size_t)params->buffer_mib << 20;
    for (int huge = 0; huge <= (params->huge_pages != 0); huge++) {
        uint8_t *buf = make_buffer(len, huge);
        if (!buf) return mote_fail(MOTE_E_NOMEM, "mote_machine_measure: cannot map %d MiB", params->buffer_mib);
        double *bw = huge ? out->read_gbs_huge : out->read_gbs;
        bw[0] = read_gbs(rk, buf, len, 1, params->passes, &sink);
        bw[1] = read_gbs(rk, buf, len, threads, params->passes, &sink);
        munmap(buf, len);
    }
    const compute_kernel ks[3] = {fk, dk, bk};
    double *gs[3] = {out->fma_gflops, out->dot_gops, out->bf16_gflops};
    for (int i = 0; i < 3; i++) {
        gs[i][0] = compute_gops(ks[i], 1, params->passes, &sink);
        gs[i][1] = compute_gops(ks[i], threads, params->passes, &sink);
    }
    const double *all[5] = {out->read_gbs, out->read_gbs_huge, out->fma_gflops, out->dot_gops, out->bf16_gflops};
    for (int i = 0; i < 5; i++)
        if (all[i][0] < 0 || all[i][1] < 0)
            return mote_fail(MOTE_E_NOMEM, "mote_machine_measure: cannot start %d threads", threads);
    out->sink = sink != sink ? 0.0 : sink > 0 ? 1.0 : 0.0;
    return MOTE_OK;
}
