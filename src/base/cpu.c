/*
 * cpu.c — run-time CPU feature detection (see cpu.h).
 */
#include "base/cpu.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

static cpu_features features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------------
 * x86-64
 * ---------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)

/* XCR0 state components: SSE (bit 1), AVX upper halves (2), and the three
 * AVX-512 components opmask (5), ZMM0-15 upper halves (6), ZMM16-31 (7). */
#define XCR0_AVX 0x06u
#define XCR0_AVX512 0xe6u

static unsigned long long read_xcr0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}

static void detect(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    const int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return; /* no AVX, or XGETBV unusable */
    const unsigned long long xcr0 = read_xcr0();
    const int os_avx = (xcr0 & XCR0_AVX) == XCR0_AVX;
    const int os_avx512 = (xcr0 & XCR0_AVX512) == XCR0_AVX512;
    if (!os_avx) return;
    features.fma = fma;
    features.f16c = f16c;
    unsigned int max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    features.avx2 = (b >> 5) & 1;
    if (os_avx512) {
        features.avx512f = (b >> 16) & 1;
        features.avx512dq = (b >> 17) & 1;
        features.avx512bw = (b >> 30) & 1;
        features.avx512vl = (b >> 31) & 1;
        features.avx512vnni = (c >> 11) & 1;
    }
    const unsigned int max_sub = a;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        features.avxvnni = (a >> 4) & 1;
        if (os_avx512) features.avx512bf16 = (a >> 5) & 1;
    }
}

/* ------------------------------------------------------------------------
 * aarch64
 * ---------------------------------------------------------------------- */

#elif defined(__aarch64__)

static void detect(void)
{
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP);
    features.asimd = (hw >> 1) & 1;    /* HWCAP_ASIMD */
    features.dotprod = (hw >> 20) & 1; /* HWCAP_ASIMDDP */
#else
    features.asimd = 1; /* Advanced SIMD is mandatory in ARMv8-A */
#endif
}

#else

static void detect(void)
{
}

#endif

const cpu_features *cpu_get(void)
{
    pthread_once(&features_once, detect);
    return &features;
}

int cpu_has_avx2_level(void)
{
    const cpu_features *f = cpu_get();
    return f->avx2 && f->fma && f->f16c;
}

int cpu_has_avx512_level(void)
{
    const cpu_features *f = cpu_get();
    return cpu_has_avx2_level() && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq &&
           f->avx512vnni && f->avx512bf16;
}

int cpu_has_neon_level(void)
{
    return cpu_get()->asimd;
}

int cpu_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > INT_MAX ? INT_MAX : (int)n;
}

/* ------------------------------------------------------------------------
 * Model name
 * ---------------------------------------------------------------------- */

/* The first /proc/cpuinfo line of one of the keys, its value trimmed. */
static int cpuinfo_value(const char *const *keys, char *buf, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        for (int i = 0; keys[i] && !found; i++) {
            const size_t n = strlen(keys[i]);
            if (strncmp(line, keys[i], n) != 0) continue;
            const char *v = strchr(line + n, ':');
            if (!v) continue;
            for (v++; *v == ' ' || *v == '\t'; v++) {}
            snprintf(buf, cap, "%s", v);
            buf[strcspn(buf, "\n")] = '\0';
            found = buf[0] != '\0';
        }
    fclose(f);
    return found;
}

void cpu_model_name(char *buf, size_t cap)
{
    if (!buf || cap == 0) return;
    buf[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
    /* The brand string: CPUID leaves 0x80000002..4, 16 bytes each. */
    unsigned int r[12];
    if ((unsigned int)__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        for (unsigned int i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char brand[49];
        memcpy(brand, r, 48);
        brand[48] = '\0';
        const char *s = brand;
        while (*s == ' ') s++;
        snprintf(buf, cap, "%s", s);
    }
#endif
    static const char *const keys[] = {"model name", "Hardware", "CPU part", NULL};
    if (!buf[0] && !cpuinfo_value(keys, buf, cap)) snprintf(buf, cap, "unknown");
    for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--) buf[n - 1] = '\0';
}
