/* common.c — helpers shared by the verbs (cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static volatile sig_atomic_t interrupted, keep_catching;
/* Self-pipe of cli_catch_every_interrupt: the handler writes a byte, so a
 * wait for input in cli_read_line wakes up whenever the signal came (before
 * the wait began too, or in another thread), not only when it interrupts a
 * read under way. -1: none. Both ends non-blocking. */
static int wake_pipe[2] = {-1, -1};

static void on_interrupt(int sig)
{
    const int saved = errno;
    interrupted = 1;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "", 1) < 0) {
        /* full: a byte is already there to wake the reader */
    }
    if (!keep_catching) signal(sig, SIG_DFL); /* a second Ctrl-C ends the process */
    errno = saved;
}

void cli_catch_interrupt(void)
{
    interrupted = 0;
    keep_catching = 0;
    signal(SIGINT, on_interrupt);
}

void cli_catch_every_interrupt(void)
{
    interrupted = 0;
    keep_catching = 1;
    if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe[0] = wake_pipe[1] = -1;
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a read waiting at the prompt returns */
    sigaction(SIGINT, &sa, NULL);
}

void cli_clear_interrupt(void)
{
    interrupted = 0;
    char sink[64];
    if (wake_pipe[0] >= 0)
        while (read(wake_pipe[0], sink, sizeof sink) > 0) {
        }
}

int cli_interrupted(void) { return interrupted != 0; }

#define PROGRESS_AFTER_S 1.0 /* calls shorter than this show nothing */

void cli_progress_init(cli_progress *p, const char *label)
{
    *p = (cli_progress){.label = label, .tty = isatty(STDERR_FILENO), .t0 = cli_now(), .shown = -1,
                        .after = PROGRESS_AFTER_S};
    const char *env = getenv("MOTE_PROGRESS_AFTER");
    char *end;
    double v = env && *env ? strtod(env, &end) : -1;
    if (v >= 0 && v <= 1e6 && *end == '\0') p->after = v;
}

mote_session_params cli_session_params(cli_progress *prog, const char *label, int n_ctx, int n_threads,
                                       int kv_type)
{
    mote_session_params sp = mote_session_default_params();
    cli_progress_init(prog, label);
    sp.progress = cli_progress_fn;
    sp.progress_user = prog;
    sp.n_ctx = n_ctx;
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    return sp;
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
        if (pct != p->shown && (p->shown >= 0 || cli_now() - p->t0 >= p->after)) {
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

int cli_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MOTE_N_THREADS_MAX ? MOTE_N_THREADS_MAX : (int)n;
}

void cli_check_threads(int n_threads)
{
    int cpus = cli_cpu_count();
    if (n_threads > cpus)
        fprintf(stderr, "mote: warning: -t %d is more than the %d CPU%s this process may use; more threads than CPUs "
                        "only wait for each other\n", n_threads, cpus, cpus == 1 ? "" : "s");
}

void cli_check_ctx(const mote_model *model, int n_ctx)
{
    mote_model_info info;
    if (n_ctx > 0 && mote_model_get_info(model, &info) == MOTE_OK && n_ctx > info.n_ctx_train)
        fprintf(stderr, "mote: warning: -c %d is above the %d tokens the model was trained with; past them its "
                        "output degrades\n", n_ctx, info.n_ctx_train);
}

void cli_report_generation(const mote_generate_stats *st)
{
    fprintf(stderr, "prompt:     %5d tokens in %8.1f ms, %8.1f tokens/s\n", st->n_prompt, st->prompt_seconds * 1e3,
            st->prompt_seconds > 0 ? st->n_prompt / st->prompt_seconds : 0.0);
    fprintf(stderr, "generation: %5d tokens in %8.1f ms, %8.1f tokens/s%s\n", st->n_generated, st->gen_seconds * 1e3,
            st->gen_seconds > 0 ? st->n_generated / st->gen_seconds : 0.0,
            st->stopped_by_eog ? " (end of generation)" : "");
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

void cli_tune_load(mote_tune_state *st)
{
    static int warned;
    mote_tune_state local;
    if (mote_tune_load(st ? st : &local) != MOTE_OK && !warned) {
        warned = 1;
        fprintf(stderr, "mote: warning: tuning profile ignored: %s\n", mote_last_error());
    }
}

void cli_tune_describe(const mote_tune_state *st, char *buf, size_t cap)
{
    if (st->disabled) snprintf(buf, cap, "off (MOTE_TUNE=off)");
    else if (st->used) snprintf(buf, cap, "profile %s (%d class%s)", st->path, st->n_entries, st->n_entries == 1 ? "" : "es");
    else snprintf(buf, cap, "none (defaults; mote tune MODEL makes a profile)");
}

int cli_open_model(const char *spec, int vocab_only, mote_model **out)
{
    cli_tune_load(NULL); /* what mote_model_open applies, said if broken */
    char path[4096];
    const int rc = cli_model_path(spec, path, sizeof path);
    if (rc != 0) return rc;
    mote_model_params mp = mote_model_default_params();
    mp.vocab_only = vocab_only;
    mp.progress = cli_stop_on_interrupt; /* cancels after Ctrl-C where a verb catches it */
    if (mote_model_open(path, &mp, out) != MOTE_OK) return cli_lib_error();
    /* What the loader ignored (an out-of-range BOS or EOS id) changes what
     * the model does: said before it runs, one line each. */
    mote_model_info info;
    if (mote_model_get_info(*out, &info) == MOTE_OK)
        for (const char *w = info.warnings; w && *w;) {
            const size_t n = strcspn(w, "\n");
            fprintf(stderr, "mote: warning: %.*s\n", (int)n, w);
            w += n + (w[n] == '\n');
        }
    return 0;
}

int cli_print_piece(FILE *f, const mote_model *model, mote_token t, char **buf, size_t *cap)
{
    size_t len = 0;
    mote_status st = mote_token_to_piece(model, t, 1, *buf, *cap, &len);
    if (st == MOTE_E_RANGE && len > *cap) {
        char *nb = realloc(*buf, len);
        if (!nb) return cli_error("out of memory");
        *buf = nb;
        *cap = len;
        st = mote_token_to_piece(model, t, 1, *buf, *cap, &len);
    }
    if (st != MOTE_OK) return cli_lib_error();
    fprintf(f, "%d\t", (int)t);
    cli_print_escaped(f, *buf, len);
    fputc('\n', f);
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

int cli_text_limit(size_t *out)
{
    const char *env = getenv(CLI_TEXT_LIMIT_ENV);
    *out = CLI_TEXT_LIMIT;
    if (!env || !*env) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(env, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    if (shift) end++;
    /* A quarter of the address space keeps the buffer arithmetic safe. */
    const unsigned long long max = (unsigned long long)(SIZE_MAX / 4) >> shift;
    if (errno || end == env || *end || env[0] == '-' || v == 0 || v > max)
        return cli_error("%s=%s: not a size in bytes (e.g. 256M or 2G)", CLI_TEXT_LIMIT_ENV,
                         env);
    *out = (size_t)(v << shift);
    return 0;
}

int cli_text_kind(const char *what, cli_file_kind *out)
{
    *out = (cli_file_kind){.what = what, .raise = "set " CLI_TEXT_LIMIT_ENV " to raise it"};
    return cli_text_limit(&out->limit);
}

static int too_large(const char *path, const cli_file_kind *kind)
{
    char h[32];
    cli_human_bytes(kind->limit, h, sizeof h);
    return cli_error("%s: larger than the %s limit for a %s%s%s%s", path, h, kind->what,
                     kind->raise ? " (" : "", kind->raise ? kind->raise : "",
                     kind->raise ? ")" : "");
}

int cli_read_file(const char *path, const cli_file_kind *kind, char **buf, size_t *len)
{
    int is_stdin = strcmp(path, "-") == 0;
    if (is_stdin && kind->regular)
        return cli_error("%s: a %s must be a regular file, not stdin", path, kind->what);
    /* O_NONBLOCK: opening a FIFO without a writer returns at once, so the
     * check below can refuse it; a regular file reads the same either way. */
    int fd = is_stdin ? STDIN_FILENO
                      : open(path, O_RDONLY | O_CLOEXEC | (kind->regular ? O_NONBLOCK : 0));
    if (fd < 0) return cli_error("cannot open %s: %s", path, strerror(errno));
    const char *name = is_stdin ? "stdin" : path;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = cli_error("cannot stat %s: %s", name, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = cli_error("%s: is a directory, not a %s", name, kind->what);
    else if (kind->regular && !S_ISREG(st.st_mode))
        rc = cli_error("%s: not a regular file (a %s must be one)", name, kind->what);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > kind->limit)
        rc = too_large(name, kind);
    if (rc != 0) {
        if (!is_stdin) close(fd);
        return rc;
    }

    /* Read at most limit + 1 bytes (one past the limit tells it is too
     * large) into a buffer that doubles, plus the NUL. */
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    int err = b ? 0 : ENOMEM;
    while (!err) {
        if (n == cap - 1) {
            size_t ncap = cap * 2 < kind->limit + 2 ? cap * 2 : kind->limit + 2;
            char *nb = realloc(b, ncap);
            if (!nb) {
                err = ENOMEM;
                break;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, b + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) err = errno;
        if (got <= 0) break;
        n += (size_t)got;
        if (n > kind->limit) break;
    }
    if (!is_stdin) close(fd);
    if (err) {
        free(b);
        return cli_error("cannot read %s: %s", name, strerror(err));
    }
    if (n > kind->limit) {
        free(b);
        return too_large(name, kind);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* Bytes of stdin read by cli_read_line and not yet returned. It reads fd 0
 * itself, not through stdio, so that it knows when it is about to wait. */
static struct {
    char buf[4096];
    size_t at, end; /* unread bytes: buf[at..end) */
} stdin_buf;

/* Wait until stdin can be read without blocking: 1, or 2 after Ctrl-C
 * (see cli_catch_every_interrupt), -1 with errno set. */
static int wait_for_stdin(void)
{
    for (;;) {
        if (cli_interrupted()) return 2;
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = wake_pipe[0], .events = POLLIN}};
        int r = poll(fds, wake_pipe[0] >= 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (wake_pipe[0] >= 0 && (fds[1].revents & POLLIN)) return 2;
        return 1; /* data, end of input or an error: read() tells */
    }
}

int cli_read_line(const cli_file_kind *kind, char **line, size_t *cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (stdin_buf.at == stdin_buf.end) {
            int w = wait_for_stdin();
            ssize_t got = w == 1 ? read(STDIN_FILENO, stdin_buf.buf, sizeof stdin_buf.buf) : -1;
            if (w == 2 || (got < 0 && errno == EINTR && cli_interrupted())) return 2;
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) {
                cli_error("cannot read stdin: %s", strerror(errno));
                return -1;
            }
            if (got == 0) break; /* end of input */
            stdin_buf.at = 0;
            stdin_buf.end = (size_t)got;
        }
        if (n >= kind->limit) {
            too_large("stdin", kind);
            return -1;
        }
        if (n + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            char *nb = realloc(*line, ncap);
            if (!nb) {
                cli_error("out of memory reading a line of stdin");
                return -1;
            }
            *line = nb;
            *cap = ncap;
        }
        const char c = stdin_buf.buf[stdin_buf.at++];
        (*line)[n++] = c;
        if (c == '\n') break;
    }
    if (n == 0) return 0;
    (*line)[n] = '\0';
    *len = n;
    return 1;
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

/* The escaped form of the character at u[*i..n) into out (NUL-terminated,
 * at most 4 bytes + NUL); advances *i past it. */
static size_t escape_one(const unsigned char *u, size_t n, size_t *i, char out[8])
{
    unsigned char c = u[*i];
    size_t len = 1;
    if (c == '\\') strcpy(out, "\\\\");
    else if (c == '\n') strcpy(out, "\\n");
    else if (c == '\t') strcpy(out, "\\t");
    else if (c == '\r') strcpy(out, "\\r");
    else if (c < 0x20 || c == 0x7f) snprintf(out, 8, "\\x%02x", c);
    else if (c < 0x80) out[0] = (char)c, out[1] = '\0';
    else if ((len = utf8_seq_len(u + *i, n - *i)) == 0) {
        snprintf(out, 8, "\\x%02x", c);
        len = 1;
    } else {
        memcpy(out, u + *i, len);
        out[len] = '\0';
    }
    *i += len;
    return strlen(out);
}

size_t cli_print_escaped(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t w = 0;
    char e[8];
    for (size_t i = 0; i < n;) {
        size_t k = escape_one(u, n, &i, e);
        fwrite(e, 1, k, f);
        w += k;
    }
    return w;
}

void cli_escape(const char *s, char *buf, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    const size_t n = s ? strlen(s) : 0;
    size_t w = 0;
    char e[8];
    for (size_t i = 0; i < n;) {
        size_t k = escape_one(u, n, &i, e);
        if (w + k + 1 > cap) break;
        memcpy(buf + w, e, k);
        w += k;
    }
    if (cap > 0) buf[w] = '\0';
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

int cli_kv_type(const cli_spec *spec, const char *name, int *out)
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
    return args_usage_error(spec, "--kv-type must be f16, f32 or q8_0, not '%s'", name);
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

const char *cli_file_type(const mote_model *m, char *buf, size_t cap, int *from_tensors)
{
    static const char *const names[] = {
        [0] = "F32",     [1] = "F16",     [2] = "Q4_0",    [3] = "Q4_1",    [7] = "Q8_0",
        [8] = "Q5_0",    [9] = "Q5_1",    [10] = "Q2_K",   [11] = "Q3_K_S", [12] = "Q3_K_M",
        [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M", [16] = "Q5_K_S", [17] = "Q5_K_M",
        [18] = "Q6_K",   [25] = "IQ4_NL", [30] = "IQ4_XS", [32] = "BF16",
        [128] = "FP8", /* mote's own (MOTE_FTYPE_FP8), not a llama_ftype */
    };
    if (from_tensors) *from_tensors = 0;
    char v[32];
    int id;
    if (mote_model_meta_string(m, "general.file_type", v, sizeof v) == MOTE_OK && parse_int(v, &id) == 0 &&
        id >= 0 && id < (int)(sizeof names / sizeof names[0]) && names[id]) {
        snprintf(buf, cap, "%s", names[id]);
        return buf;
    }
    /* No key (or one llama.cpp does not name): the type most weight bytes have. */
    enum { MAX_TYPES = 16 };
    const char *types[MAX_TYPES];
    uint64_t bytes[MAX_TYPES] = {0};
    int n_types = 0, best = -1;
    for (int64_t i = 0; i < mote_model_tensor_count(m); i++) {
        const char *type = NULL;
        int n_dims = 0;
        uint64_t nb = 0;
        if (mote_model_tensor_info(m, i, NULL, &type, NULL, &n_dims, &nb) != MOTE_OK || n_dims < 2) continue;
        int t = 0;
        while (t < n_types && strcmp(types[t], type) != 0) t++;
        if (t == n_types) {
            if (n_types == MAX_TYPES) continue;
            types[n_types++] = type;
        }
        bytes[t] += nb;
        if (best < 0 || bytes[t] > bytes[best]) best = t;
    }
    if (best < 0) return NULL;
    if (from_tensors) *from_tensors = 1;
    snprintf(buf, cap, "%s", types[best]);
    return buf;
}
