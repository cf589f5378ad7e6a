/* common.c — helpers shared by the verbs (cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Errors and time
 * ---------------------------------------------------------------------- */

int cli_lib_error(void)
{
    const char *msg = mote_last_error();
    fprintf(stderr, "mote: %s\n", msg && *msg ? msg : "unknown error");
    return EXIT_LIB;
}

int cli_error(const char *fmt, ...)
{
    fputs("mote: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_LIB;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process */
}

void cli_catch_interrupt(void)
{
    interrupted = 0;
    signal(SIGINT, on_interrupt);
}

int cli_interrupted(void) { return interrupted != 0; }

#define PROGRESS_AFTER_S 1.0 /* calls shorter than this show nothing */

void cli_progress_init(cli_progress *p, const char *label)
{
    *p = (cli_progress){.label = label, .tty = isatty(STDERR_FILENO), .t0 = cli_now(), .shown = -1};
}

int cli_progress_fn(void *user, uint64_t done, uint64_t total)
{
    cli_progress *p = user;
    if (done <= 1) { /* a new call */
        p->t0 = cli_now();
        p->shown = -1;
    }
    if (p->tty && total > 0) {
        const int pct = (int)(done * 100 / total);
        if (pct != p->shown && (p->shown >= 0 || cli_now() - p->t0 > PROGRESS_AFTER_S)) {
            fprintf(stderr, "\r%s: %3d%%", p->label, pct);
            if (done >= total) fputc('\n', stderr);
            fflush(stderr);
            p->shown = pct;
        }
    }
    return cli_interrupted();
}

int cli_stop_on_interrupt(void *user, uint64_t done, uint64_t total)
{
    (void)user, (void)done, (void)total;
    return cli_interrupted();
}

void cli_check_threads(int n_threads)
{
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0 && n_threads > cpus)
        fprintf(stderr, "mote: warning: -t %d is more than the %d CPU%s this process may use; more threads than CPUs "
                        "only wait for each other\n", n_threads, cpus, cpus == 1 ? "" : "s");
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * Models, tokens, files
 * ---------------------------------------------------------------------- */

int cli_open_model(const char *path, int vocab_only, mote_model **out)
{
    mote_model_params mp = mote_model_default_params();
    mp.vocab_only = vocab_only;
    mp.progress = cli_stop_on_interrupt; /* cancels after Ctrl-C where a verb catches it */
    if (mote_model_open(path, &mp, out) != MOTE_OK) return cli_lib_error();
    return 0;
}

int cli_tokenize(const mote_model *model, const char *text, size_t len,
                 int add_special, int parse_special, mote_token **toks, size_t *n)
{
    /* A guess that fits nearly always (a token covers at least one byte,
     * plus BOS/EOS); on MOTE_E_RANGE the library tells the exact count. */
    size_t cap = len + 8;
    for (int attempt = 0; attempt < 2; attempt++) {
        mote_token *buf = malloc(cap * sizeof *buf);
        if (!buf) return cli_error("out of memory tokenizing %zu bytes", len);
        size_t count = 0;
        mote_status st = mote_tokenize(model, text, len, add_special, parse_special, buf,
                                       cap, &count);
        if (st == MOTE_OK) {
            *toks = buf;
            *n = count;
            return 0;
        }
        free(buf);
        if (st != MOTE_E_RANGE || count <= cap) return cli_lib_error();
        cap = count;
    }
    return cli_error("tokenizer reported inconsistent token counts");
}

int cli_read_file(const char *path, char **buf, size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return cli_error("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f)) break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int failed = !b || ferror(f);
    int err = errno;
    if (!is_stdin) fclose(f);
    if (failed) {
        const char *why = b ? strerror(err) : "out of memory";
        free(b);
        return cli_error("cannot read %s: %s", path, why);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000}; /* by length */
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void cli_print_escaped(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '\\') fputs("\\\\", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else if (c < 0x80) fputc(c, f);
        else {
            size_t len = utf8_seq_len(u + i, n - i);
            if (len == 0) {
                fprintf(f, "\\x%02x", c);
                i++;
            } else {
                fwrite(u + i, 1, len, f);
                i += len;
            }
            continue;
        }
        i++;
    }
}

char *cli_utf8_sanitize(const char *s, size_t n, size_t *out_len)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *u = (const unsigned char *)s;
    char *out = malloc(3 * n + 1); /* each byte grows to 3 at most */
    if (!out) return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t len = u[i] < 0x80 ? 1 : utf8_seq_len(u + i, n - i);
        if (len == 0) {
            memcpy(out + w, replacement, 3);
            w += 3;
            i++;
        } else {
            memcpy(out + w, u + i, len);
            w += len;
            i += len;
        }
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

/* ------------------------------------------------------------------------
 * Human-readable numbers
 * ---------------------------------------------------------------------- */

void cli_human_count(int64_t n, char *buf, size_t cap)
{
    static const char units[] = "KMBT";
    if (n < 1000) {
        snprintf(buf, cap, "%lld", (long long)n);
        return;
    }
    double v = (double)n;
    int u = -1;
    while (v >= 999.95 && u < 3) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, cap, "%.1f%c", v, units[u]);
}

int cli_kv_type(const char *name, int *out)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"f16", MOTE_KV_F16}, {"f32", MOTE_KV_F32}, {"q8_0", MOTE_KV_Q8_0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(name, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    return -1;
}

void cli_human_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n;
    int u = -1;
    while (v >= 1023.95 && u < 3) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[u]);
}

/* ------------------------------------------------------------------------
 * Sampling options
 * ---------------------------------------------------------------------- */

/* Default --repeat-last-n when only --repeat-penalty is given and the
 * library's default window is off (llama.cpp uses the same). */
#define DEFAULT_PENALTY_LAST_N 64

void sample_args_init(sample_args *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->p = mote_sampler_default_params();
}

void sample_defaults_text(char *buf, size_t cap)
{
    mote_sampler_params d = mote_sampler_default_params();
    snprintf(buf, cap,
             "Sampling defaults: --temp %g --top-k %d --top-p %g --min-p %g\n"
             "--repeat-penalty %g --repeat-last-n %d.",
             d.temp, d.top_k, d.top_p, d.min_p, d.repeat_penalty, d.penalty_last_n);
}

/* A seed that differs from run to run: the clock mixed with the pid. */
static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 32);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL; /* splitmix64 finaliser */
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

mote_sampler_params sample_args_params(const sample_args *sa)
{
    mote_sampler_params p = sa->p;
    if (!sa->seen_seed) p.seed = fresh_seed();
    if (sa->seen_penalty && p.repeat_penalty != 1.0f && !sa->seen_last_n &&
        p.penalty_last_n == 0)
        p.penalty_last_n = DEFAULT_PENALTY_LAST_N;
    if (p.temp <= 0.0f) {
        /* Greedy: the filters cannot change the argmax but are switched off
         * so no implementation detail (ties, renormalisation) can; the
         * library's default penalties would, so they go too unless the
         * user asked for one. */
        p.top_k = 0;
        p.top_p = 1.0f;
        p.min_p = 0.0f;
        if (!sa->seen_penalty) {
            p.repeat_penalty = 1.0f;
            p.penalty_last_n = 0;
        }
        p.freq_penalty = 0.0f;
        p.presence_penalty = 0.0f;
    }
    return p;
}
