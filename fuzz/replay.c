/*
 * replay.c — a main() for a fuzz target without libFuzzer: runs every file
 * named on the command line, or found in a folder named there, through
 * LLVMFuzzerTestOneInput once. `make test` runs each target over its seed
 * corpus and its regression inputs (tests/fuzz/NAME), so an input that
 * once broke a parser keeps being checked in every build, sanitizers
 * included.
 *
 *   replay_NAME [PATH...]     exit 0: every input ran; a broken contract aborts
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Weak: targets without an initializer leave it NULL. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *size = n;
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run one file; 1 if it ran, 0 if it could not be read. */
static int run_file(const char *path)
{
    size_t size = 0;
    unsigned char *data = read_all(path, &size);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 0;
    }
    /* The input in a buffer of exactly its size, as libFuzzer gives it, so
     * ASan catches a read one past its end. */
    unsigned char *exact = malloc(size ? size : 1);
    if (!exact) abort();
    memcpy(exact, data, size);
    free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 1;
}

/* Run a file, or the files of a folder in name order. The count run. */
static int run_path(const char *path, int *failed)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return 0; /* an absent folder: nothing to run */
    if (!S_ISDIR(sb.st_mode)) return run_file(path) ? 1 : ((*failed)++, 0);
    DIR *d = opendir(path);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn) abort();
            names = nn;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) abort();
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp_str);
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) ran += run_file(names[i]) ? 1 : ((*failed)++, 0);
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    if (fuzz_skip_reason) {
        printf("SKIP: %s: %s\n", name, fuzz_skip_reason);
        return 0;
    }
    int ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) ran += run_path(argv[i], &failed);
    printf("%s: %d input%s replayed%s\n", name, ran, ran == 1 ? "" : "s", failed ? ", some unreadable" : "");
    return failed ? 1 : 0;
}
