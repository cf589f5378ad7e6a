/* testutil.c — shared test helpers. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *shared_dir(void)
{
    const char *d = getenv("MOTE_SHARED");
    if (!d || !*d) d = "../shared";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/README.md", d);
    struct stat st;
    return stat(probe, &st) == 0 ? d : NULL;
}

const char *shared_path(const char *rel)
{
    static char buf[4096];
    const char *d = shared_dir();
    if (!d) return NULL;
    snprintf(buf, sizeof buf, "%s/%s", d, rel);
    return buf;
}

void test_fix_pool_size(void)
{
    char v[16];
    snprintf(v, sizeof v, "%d", TEST_POOL_THREADS);
    setenv("MOTE_THREADS", v, 1);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0) { fclose(f); return NULL; }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

uint64_t test_rng_next(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

float test_rng_uniform(uint64_t *s) { return (float)(test_rng_next(s) >> 40) / (float)(1ULL << 24); }

float test_rng_normal(uint64_t *s)
{
    float u1 = test_rng_uniform(s), u2 = test_rng_uniform(s);
    if (u1 < 1e-7f) u1 = 1e-7f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}
