/* testutil.c — shared test helpers. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/tune_profile.h"

const char *shared_dir_wanted(void)
{
    const char *d = getenv("MOTE_SHARED");
    return d && *d ? d : "../shared";
}

const char *shared_dir(void)
{
    const char *d = shared_dir_wanted();
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

/* ------------------------------------------------------------------------
 * MANIFEST.tsv
 * ---------------------------------------------------------------------- */

typedef struct manifest_entry {
    const char *file; /* relative to ../shared */
    unsigned long long bytes;
} manifest_entry;

static char *manifest_text;             /* the file, cut into fields in place
                                         * (the entries point into it) */
static manifest_entry *manifest;        /* one per line after the header */
static int manifest_n = -1;             /* -1: not read (or unreadable) */

/* Read the manifest once; 0 on success. */
static int manifest_load(void)
{
    if (manifest_n >= 0) return 0;
    const char *path = shared_path("MANIFEST.tsv");
    char *text = path ? read_file(path, NULL) : NULL;
    if (!text) return -1;
    int cap = 0, n = 0;
    manifest_entry *e = NULL;
    char *line = strchr(text, '\n'); /* skip the header */
    while (line && *++line) {
        char *end = strchr(line, '\n'), *tab = strchr(line, '\t');
        if (end) *end = '\0';
        if (tab) {
            *tab = '\0';
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                manifest_entry *grown = realloc(e, (size_t)cap * sizeof *e);
                if (!grown) break;
                e = grown;
            }
            e[n++] = (manifest_entry){line, strtoull(tab + 1, NULL, 10)};
        }
        line = end;
    }
    manifest_text = text;
    manifest = e;
    manifest_n = n;
    return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int shared_manifest_list(const char *dir, const char *suffix, char ***names)
{
    *names = NULL;
    if (manifest_load() != 0) return -1;
    const size_t dl = strlen(dir), sl = strlen(suffix);
    char **out = calloc((size_t)manifest_n + 1, sizeof *out);
    int n = 0;
    for (int i = 0; out && i < manifest_n; i++) {
        const char *f = manifest[i].file;
        size_t len = strlen(f);
        if (len <= dl + 1 + sl || strncmp(f, dir, dl) != 0 || f[dl] != '/' || strchr(f + dl + 1, '/') ||
            strcmp(f + len - sl, suffix) != 0)
            continue;
        out[n++] = strdup(f + dl + 1);
    }
    qsort(out, (size_t)n, sizeof *out, cmp_names);
    *names = out;
    return out ? n : -1;
}

size_t shared_listed(const char *dir, const char *suffix, char ***names)
{
    int n = shared_manifest_list(dir, suffix, names);
    if (n < 0) fail_msg("%s/MANIFEST.tsv cannot be read", shared_dir_wanted());
    return (size_t)n;
}

const char *shared_check_file(const char *rel)
{
    static char why[512];
    if (manifest_load() != 0) return "../shared/MANIFEST.tsv cannot be read";
    const manifest_entry *e = NULL;
    for (int i = 0; i < manifest_n && !e; i++)
        if (strcmp(manifest[i].file, rel) == 0) e = &manifest[i];
    struct stat st;
    if (!e)
        snprintf(why, sizeof why, "%s is not listed in MANIFEST.tsv", rel);
    else if (stat(shared_path(rel), &st) != 0)
        snprintf(why, sizeof why, "%s is missing", rel);
    else if ((unsigned long long)st.st_size != e->bytes)
        snprintf(why, sizeof why, "%s has %llu bytes, MANIFEST.tsv says %llu", rel,
                 (unsigned long long)st.st_size, e->bytes);
    else
        return NULL;
    return why;
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

int test_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    assert_non_null(x);
    assert_non_null(y);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
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

void test_mote_bin(const char *argv0, char *buf, size_t cap)
{
    const char *bin = getenv("MOTE_BIN");
    if (bin && *bin) {
        snprintf(buf, cap, "%s", bin);
        return;
    }
    const char *slash = strrchr(argv0, '/');
    int dir_len = slash ? (int)(slash - argv0) : 1;
    snprintf(buf, cap, "%.*s/../mote", dir_len, slash ? argv0 : ".");
}

uint64_t test_bits_of(const int *v)
{
    uint64_t set = 0;
    for (; *v >= 0; v++) set |= 1ull << *v;
    return set;
}

char *test_temp_file(const char *stem)
{
    const char *dir = getenv("TMPDIR");
    char *p = malloc(4096);
    assert_non_null(p);
    snprintf(p, 4096, "%s/%s-XXXXXX", dir && *dir ? dir : "/tmp", stem);
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    close(fd);
    return p;
}

void test_remove_temp(char *path)
{
    unlink(path);
    free(path);
}

void test_tune_cache(char *dir, char *path, size_t path_cap)
{
    snprintf(dir, TEST_CACHE_DIR_CAP, "/tmp/mote-tune-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    setenv("XDG_CACHE_HOME", dir, 1);
    tune_key k;
    tune_key_this(&k);
    assert_int_equal(tune_profile_path(&k, path, path_cap), MOTE_OK);
}

void test_tune_cache_remove(const char *dir)
{
    unsetenv("XDG_CACHE_HOME");
    char cmd[TEST_CACHE_DIR_CAP + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

double test_json_number(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(json, pat);
    if (!at) fail_msg("no \"%s\" in %s", key, json);
    return strtod(at + strlen(pat), NULL);
}

const char *test_llama_kld(const char *what)
{
    const char *peer = getenv("MOTE_LLAMA_KLD");
    if (!peer) peer = "bench/build/llama-kld";
    if (access(peer, X_OK) == 0) return peer;
    if (getenv("MOTE_REQUIRE_LLAMA_REF"))
        fail_msg("MOTE_REQUIRE_LLAMA_REF is set but %s is missing (make llama-ref)", peer);
    print_message("[  SKIP    ] SKIP: no %s (make llama-ref builds it; or set MOTE_LLAMA_KLD): %s\n", peer, what);
    skip();
    return NULL;
}
