/*
 * fuzz_args.c — libFuzzer target for the command's option parser
 * (src/cli/args.c): any command line against an option table with every
 * kind of option, as the verbs write them (cmd_run.c).
 *
 * Input: the first byte picks one of the specs (positional arguments
 * 1..1, 2..2 or 0..3); the rest is argv[1..], each argument ended by a NUL
 * byte or the input's end (at most MAX_ARGS, each a buffer of its own so
 * that a read past its NUL is seen).
 *
 * Contract:
 * - args_parse returns ARGS_CONTINUE, 0 (help) or EXIT_USAGE;
 * - ARGS_CONTINUE: min_pos <= n_pos <= max_pos and each positional is an
 *   argument; an option that was given holds a value in its range (floats
 *   finite), a string inside an argument, a flag 1; one that was not keeps
 *   its default; nothing is printed;
 * - 0: the help on stdout, naming every option; nothing on stderr;
 * - EXIT_USAGE: "mote VERB: ..." and the usage line on stderr, nothing on
 *   stdout;
 * - the arguments are not modified;
 * - parse_int, parse_float and parse_u64 accept exactly the strings that
 *   are wholly an int, a finite float or a u64 by strtol, strtof and
 *   strtoull, with no leading white space, sign for u64 or nan/inf, give
 *   the same value, and leave out untouched when they refuse.
 *
 * What args_parse prints goes to memory streams, not to the terminal: the
 * checks above read it, and a run's log stays small. glibc documents
 * stdout and stderr as variables a program may assign; only this target
 * does, around the one call.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cli/args.h"
#include "fuzz.h"

#define MAX_ARGS 64

/* Where an option stores, its default, and whether it was seen. */
static struct values {
    const char *prompt, *file, *kv;
    int n_predict, top_k, last_n, threads, ctx, wide, ids, no_special, verbose;
    float temp, top_p, min_p, penalty, offset;
    uint64_t seed;
} val;
static int seen[32];

static const cli_opt OPTS[] = {
    {'p', "prompt", ARG_STRING, &val.prompt, "TEXT", "the prompt", 0, 0, &seen[0]},
    {'f', "file", ARG_STRING, &val.file, "FILE", "read the prompt from FILE", 0, 0, &seen[1]},
    {'n', "n-predict", ARG_INT, &val.n_predict, "N", "tokens to generate", -1, 1e9, &seen[2]},
    {0, "temp", ARG_FLOAT, &val.temp, "T", "temperature", 0, 1e6, &seen[3]},
    {0, "top-k", ARG_INT, &val.top_k, "K", "top-k", 0, 1e9, &seen[4]},
    {0, "top-p", ARG_FLOAT, &val.top_p, "P", "top-p", 0, 1, &seen[5]},
    {0, "min-p", ARG_FLOAT, &val.min_p, "P", "min-p", 0, 1, &seen[6]},
    {0, "repeat-penalty", ARG_FLOAT, &val.penalty, "R", "repeat penalty", 1e-3, 1e6, &seen[7]},
    {0, "repeat-last-n", ARG_INT, &val.last_n, "N", "penalty window", 0, 1e9, &seen[8]},
    {0, "seed", ARG_U64, &val.seed, "S", "random seed", 0, 0, &seen[9]},
    {'t', "threads", ARG_INT, &val.threads, "N", "worker threads", 0, 1024, &seen[10]},
    {'c', "ctx", ARG_INT, &val.ctx, "N", "context length", 0, 1 << 22, &seen[11]},
    {0, "kv-type", ARG_STRING, &val.kv, "TYPE", "KV cache type", 0, 0, &seen[12]},
    {0, "ids", ARG_FLAG, &val.ids, NULL, "print ids", 0, 0, &seen[13]},
    {0, "no-special", ARG_FLAG, &val.no_special, NULL, "no BOS/EOS", 0, 0, &seen[14]},
    {'v', "verbose", ARG_FLAG, &val.verbose, NULL, "say more", 0, 0, &seen[15]},
    /* the widest ranges an int and a float can have */
    {'w', "wide", ARG_INT, &val.wide, "N", "any int", INT_MIN, INT_MAX, &seen[16]},
    {'o', "offset", ARG_FLOAT, &val.offset, "X", "any float", -FLT_MAX, FLT_MAX, &seen[17]},
    {0},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0] - 1)

static const struct values DEFAULTS = {
    .kv = "f16", .n_predict = 128, .top_k = 40, .last_n = 64, .threads = 0, .ctx = 0, .wide = -7,
    .temp = 0.8f, .top_p = 0.95f, .min_p = 0.05f, .penalty = 1.0f, .offset = 0.25f, .seed = 42,
};

static const char *pos[3];
static const cli_spec SPECS[] = {
    {"run", "MODEL (-p TEXT | -f FILE) [options]", "Generate text.", "notes", OPTS, 1, 1, pos},
    {"perplexity", "MODEL FILE [-c N] [options]", "Perplexity of a file.", NULL, OPTS, 2, 2, pos},
    {"bench", "[MODEL] [options]", "Benchmarks.", NULL, OPTS, 0, 3, pos},
};
#define N_SPECS (sizeof SPECS / sizeof SPECS[0])

static FILE *out_mem, *err_mem; /* args_parse's stdout and stderr */
static char *out_buf, *err_buf;
static size_t out_cap, err_cap;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    out_mem = open_memstream(&out_buf, &out_cap);
    err_mem = open_memstream(&err_buf, &err_cap);
    fuzz_check(out_mem && err_mem, "no memory streams");
    return 0;
}

/* Bytes written to f since the last call (then readable at *buf). */
static size_t drain(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    return n > 0 ? (size_t)n : 0;
}

/* args_parse with stdout and stderr in memory; *n_out, *n_err: bytes. */
static int parse_captured(const cli_spec *spec, int argc, char **argv, int *n_pos, size_t *n_out, size_t *n_err)
{
    FILE *real_out = stdout, *real_err = stderr;
    stdout = out_mem;
    stderr = err_mem;
    int rc = args_parse(spec, argc, argv, n_pos);
    stdout = real_out;
    stderr = real_err;
    *n_out = drain(out_mem);
    *n_err = drain(err_mem);
    return rc;
}

/* s points into one of the arguments. */
static int inside_args(const char *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (s >= argv[i] && s <= argv[i] + strlen(argv[i])) return 1;
    return 0;
}

static void check_value(const cli_opt *o, int given, int argc, char **argv)
{
    /* The same field of the defaults. */
    const void *dflt = (const char *)&DEFAULTS + ((const char *)o->dest - (const char *)&val);
    switch (o->kind) {
    case ARG_FLAG:
        fuzz_check(*(int *)o->dest == given, "a flag is not 1 exactly when given");
        return;
    case ARG_STRING:
        if (given) fuzz_check(inside_args(*(const char **)o->dest, argc, argv), "a string is not in argv");
        else fuzz_check(*(const char **)o->dest == *(const char *const *)dflt, "a string changed without its option");
        return;
    case ARG_INT: {
        int v = *(int *)o->dest;
        if (given) fuzz_check(v >= o->lo && v <= o->hi, "an int outside its range");
        else fuzz_check(v == *(const int *)dflt, "an int changed without its option");
        return;
    }
    case ARG_FLOAT: {
        float v = *(float *)o->dest;
        if (given) fuzz_check(isfinite(v) && v >= o->lo && v <= o->hi, "a float not finite or outside its range");
        else fuzz_check(memcmp(&v, dflt, sizeof v) == 0, "a float changed without its option");
        return;
    }
    case ARG_U64:
        if (!given) fuzz_check(*(uint64_t *)o->dest == *(const uint64_t *)dflt, "a u64 changed without its option");
        return;
    }
}

/* What the number parsers must do with s, by the C library's own
 * conversions: the whole string, starting like a number (no white space,
 * no "nan"/"inf"), in range. A float that underflows is the nearest float
 * (0 or subnormal); one past FLT_MAX is out of range. */
static int starts_like_number(const char *s)
{
    if (*s == '+' || *s == '-') s++;
    return (*s >= '0' && *s <= '9') || *s == '.';
}

static void check_numbers(const char *s)
{
    char *end;
    errno = 0;
    long want_i = strtol(s, &end, 10);
    int ok = starts_like_number(s) && end != s && *end == '\0' && errno == 0 && want_i >= INT_MIN && want_i <= INT_MAX;
    int i = INT_MIN + 1;
    if (parse_int(s, &i) != 0) fuzz_check(!ok && i == INT_MIN + 1, "parse_int refused an int, or changed out");
    else fuzz_check(ok && i == want_i, "parse_int accepted what is not an int, or misread it");

    errno = 0;
    float want_f = strtof(s, &end);
    ok = starts_like_number(s) && end != s && *end == '\0' && isfinite(want_f);
    float f = -0.125f;
    if (parse_float(s, &f) != 0) fuzz_check(!ok && f == -0.125f, "parse_float refused a finite float, or changed out");
    else fuzz_check(ok && memcmp(&f, &want_f, sizeof f) == 0, "parse_float accepted what is not a finite float, or misread it");

    errno = 0;
    unsigned long long want_u = strtoull(s, &end, 10);
    ok = s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0;
    uint64_t u = 12345;
    if (parse_u64(s, &u) != 0) fuzz_check(!ok && u == 12345, "parse_u64 refused a u64, or changed out");
    else fuzz_check(ok && u == want_u, "parse_u64 accepted what is not a u64, or misread it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const cli_spec *spec = &SPECS[data[0] % N_SPECS];
    char *argv[MAX_ARGS + 2], *copy[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)spec->verb;
    for (size_t at = 1; at < size && argc <= MAX_ARGS;) {
        const uint8_t *end = memchr(data + at, 0, size - at);
        size_t len = end ? (size_t)(end - (data + at)) : size - at;
        char *a = malloc(len + 1);
        fuzz_check(a != NULL, "out of memory in the fuzzer");
        memcpy(a, data + at, len);
        a[len] = '\0';
        argv[argc++] = a;
        at += len + 1;
    }
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++) {
        copy[i] = strdup(argv[i]);
        fuzz_check(copy[i] != NULL, "out of memory in the fuzzer");
    }

    val = DEFAULTS;
    memset(seen, 0, sizeof seen);
    memset(pos, 0, sizeof pos);
    int n_pos = -1;
    size_t n_out, n_err;
    int rc = parse_captured(spec, argc, argv, &n_pos, &n_out, &n_err);

    char head[64];
    int head_len = snprintf(head, sizeof head, "mote %s: ", spec->verb);
    if (rc == ARGS_CONTINUE) {
        fuzz_check(n_out == 0 && n_err == 0, "a successful parse printed something");
        fuzz_check(n_pos >= spec->min_pos && n_pos <= spec->max_pos, "positional count outside the spec");
        for (int i = 0; i < n_pos; i++) {
            int found = 0;
            for (int j = 1; j < argc && !found; j++) found = pos[i] == argv[j];
            fuzz_check(found, "a positional argument is not an argument");
        }
        for (size_t k = 0; k < N_OPTS; k++) check_value(&OPTS[k], seen[k], argc, argv);
    } else if (rc == 0) {
        fuzz_check(n_err == 0 && n_out > 0, "help went elsewhere than stdout");
        snprintf(head, sizeof head, "usage: mote %s ", spec->verb);
        fuzz_check(n_out >= strlen(head) && memcmp(out_buf, head, strlen(head)) == 0, "help does not start with the usage");
        for (size_t k = 0; k < N_OPTS; k++) {
            char name[64];
            snprintf(name, sizeof name, "--%s", OPTS[k].long_name);
            fuzz_check(memmem(out_buf, n_out, name, strlen(name)), "help leaves out an option");
        }
    } else {
        fuzz_check(rc == EXIT_USAGE, "args_parse returned something else than CONTINUE, 0 or EXIT_USAGE");
        fuzz_check(n_out == 0, "a usage error printed on stdout");
        fuzz_check(n_err > (size_t)head_len && memcmp(err_buf, head, (size_t)head_len) == 0,
                   "a usage error does not start with 'mote VERB: '");
        fuzz_check(memmem(err_buf, n_err, "\nusage: mote ", 13), "a usage error without the usage line");
    }

    for (int i = 1; i < argc; i++) {
        fuzz_check(strcmp(argv[i], copy[i]) == 0, "args_parse modified an argument");
        check_numbers(argv[i]);
        free(argv[i]);
        free(copy[i]);
    }
    return 0;
}
