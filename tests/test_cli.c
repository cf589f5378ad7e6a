/*
 * test_cli.c — the `mote` command, run as a program.
 *
 * Each test spawns the built binary (path in env MOTE_BIN, set by
 * `make test`; otherwise ../mote next to this program's directory, i.e.
 * build/mote for build/tests/test_cli) with stdin, stdout and stderr on
 * temporary files, and checks the exit status and output. Reference results
 * (ids, perplexity) are read from ../shared, never written here.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/think.h"
#include "engine/model.h"
#include "engine/tune_profile.h"
#include "golden.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "synthmodel.h"
#include "mote.h"
#include "runmote.h"
#include "testutil.h"

extern char **environ;

static char mote_bin[4096];

/* ------------------------------------------------------------------------
 * Running the command
 * ---------------------------------------------------------------------- */

typedef test_proc proc;

/* Seconds a command may run before it is killed and the test fails. */
static int run_timeout_s = 600;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run mote with args (NULL-terminated) and stdin from input (may be NULL). */
static proc run_mote_in(const char *input, const char *const *args)
{
    return test_run_mote(mote_bin, input, args, run_timeout_s);
}

#define RUN(...) run_mote_in(NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_IN(input, ...) run_mote_in(input, (const char *const[]){__VA_ARGS__, NULL})

#define proc_free test_proc_free
#define expect_status test_expect_status
#define expect_contains test_expect_contains

/* ------------------------------------------------------------------------
 * Reading the reference files
 * ---------------------------------------------------------------------- */

/* Undo the TSV escapes of the golden files (\\, \n, \t) in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Field `col` (0-based) of the line of a TSV file whose first field is
 * key, unescaped, malloc'd; fails the test if absent. */
static char *tsv_field(const char *rel, const char *key, int col)
{
    char *text = read_file(shared_path(rel), NULL);
    if (!text) fail_msg("cannot read %s", rel);
    char *result = NULL;
    for (char *line = strtok(text, "\n"); line && !result; line = strtok(NULL, "\n")) {
        char *fields[16];
        int nf = 0;
        for (char *p = line; nf < 16;) {
            fields[nf++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = '\0';
            p = tab + 1;
        }
        if (nf > col && strcmp(fields[0], key) == 0) result = strdup(fields[col]);
    }
    free(text);
    if (!result) fail_msg("no line '%s' with field %d in %s", key, col, rel);
    unescape(result);
    return result;
}

static char *model_path(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", name);
    return strdup(shared_path(rel));
}

/* ------------------------------------------------------------------------
 * Help, usage errors, version
 * ---------------------------------------------------------------------- */

static void test_overview_help(void **state)
{
    static const char *const verbs[] = {"run", "chat", "info", "tokenize", "perplexity", "logits",
                                        "version"};
    proc p = RUN("--help");
    expect_status(&p, 0);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) expect_contains(p.out, verbs[i]);
    proc_free(&p);
    p = RUN("help");
    expect_status(&p, 0);
    expect_contains(p.out, "perplexity");
    proc_free(&p);
}

/* Each verb's help names its options; `mote help VERB` prints the same. */
static void test_verb_help(void **state)
{
    static const struct {
        const char *verb;
        const char *opts[20];
    } cases[] = {
        {"run", {"-p", "-f", "-n", "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
                 "--seed", "-t", "-c", "--ids", "--no-special"}},
        {"chat", {"--system", "-n", "--temp", "--top-k", "--top-p", "--min-p",
                  "--repeat-penalty", "--seed", "/exit", "/reset", "/stats", "--timings", "--verbose-prompt",
                  "--no-think", "/no_think", "thinking: "}},
        {"info", {"--tensors", "--meta"}},
        {"tokenize", {"--no-special", "--parse-special", "--pieces"}},
        {"perplexity", {"-c", "-t", "--chunks"}},
        {"kld", {"-f", "-c", "--chunks", "-t", "--kv-type", "--json", "kld_mean", "same_top"}},
        {"imatrix", {"-f", "-o", "-c", "--chunks", "-t", "--kv-type", "--output-format", "--process-output", "--show"}},
        {"prune", {"-f", "--ffn-keep", "--drop-layers", "-c", "--chunks", "-t", "mote kld"}},
        {"logits", {"--ids", "-f", "--top-k", "--prompt", "--kv-type", "-t", "-c", "POS<TAB>ID:LOGIT"}},
        {"serve", {"--config", "--memory-budget", "--keep-alive", "--alias", "role:ROLE", "\"memory_budget\""}},
        {"ps", {"--port", "--host", "--all", "--json", "--api-key"}},
        {"version", {"--help"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proc p = RUN(cases[i].verb, "--help");
        expect_status(&p, 0);
        expect_contains(p.out, "usage: mote ");
        expect_contains(p.out, cases[i].verb);
        for (int j = 0; cases[i].opts[j]; j++) expect_contains(p.out, cases[i].opts[j]);
        proc q = RUN("help", cases[i].verb);
        expect_status(&q, 0);
        assert_string_equal(p.out, q.out);
        proc_free(&p);
        proc_free(&q);
    }
}

static void expect_usage_error(proc p)
{
    expect_status(&p, 2);
    expect_contains(p.err, "usage");
    assert_string_equal(p.out, "");
    proc_free(&p);
}

static void test_usage_errors(void **state)
{
    expect_usage_error(RUN("frobnicate"));
    expect_usage_error(RUN("help", "frobnicate"));
    expect_usage_error(run_mote_in(NULL, (const char *const[]){NULL})); /* no verb */
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "--bogus"));
    expect_usage_error(RUN("info", "m.gguf", "-x"));
    expect_usage_error(RUN("run", "m.gguf"));                   /* no prompt */
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-f", "y")); /* both */
    expect_usage_error(RUN("tokenize", "m.gguf"));              /* no text */
    expect_usage_error(RUN("info", "a.gguf", "b.gguf"));        /* extra */
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n"));  /* no value */
    expect_usage_error(RUN("info", "m.gguf", "--tensors=1"));   /* flag value */
}

/* Numbers are parsed whole and range-checked. */
static void test_strict_numbers(void **state)
{
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", "12abc"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", ""));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", " 5"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", "1.5"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", "99999999999"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "-n", "-2"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "--temp", "nan"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "--temp", "0.5x"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "--top-p", "1.5"));
    expect_usage_error(RUN("run", "m.gguf", "-p", "x", "--seed", "-1"));
    expect_usage_error(RUN("perplexity", "m.gguf", "t.txt", "-c", "0x80"));
    expect_usage_error(RUN("kld", "a.gguf", "b.gguf", "-f", "t.txt", "-c", "3"));

    /* A float is read once as a float: an underflow is its nearest float
     * (here 0, inside --temp's range, so the model is what fails), and
     * FLT_MAX written out is a number out of range, not "not a number"
     * (fuzz_args' finding, tests/fuzz/args/float-underflow). */
    proc p = RUN("run", "missing.gguf", "-p", "x", "--temp", "1e-400");
    expect_status(&p, 1);
    expect_contains(p.err, "missing.gguf");
    proc_free(&p);
    p = RUN("run", "m.gguf", "-p", "x", "--temp", "3.4028235e38");
    expect_status(&p, 2);
    expect_contains(p.err, "out of range");
    proc_free(&p);
}

static void test_version(void **state)
{
    proc p = RUN("version");
    expect_status(&p, 0);
    assert_true(strncmp(p.out, "mote ", 5) == 0);
    proc q = RUN("--version");
    expect_status(&q, 0);
    assert_string_equal(p.out, q.out);
    proc_free(&p);
    proc_free(&q);
}

/* A model that is not there: exit 1 and a message naming the file. */
static void test_missing_model(void **state)
{
    const char *path = "/nonexistent-dir/no-such-model.gguf";
    proc ps[] = {
        RUN("info", path),
        RUN("tokenize", path, "hello"),
        RUN("run", path, "-p", "hello", "-n", "1"),
    };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        expect_status(&ps[i], 1);
        assert_true(strncmp(ps[i].err, "mote: ", 6) == 0);
        expect_contains(ps[i].err, "no-such-model.gguf");
        proc_free(&ps[i]);
    }
}

/* ------------------------------------------------------------------------
 * Tokenize and info (vocabularies and stories260K)
 * ---------------------------------------------------------------------- */

/* Collapse runs of white space to one space and trim the ends, in place
 * (.out lines start with a space). */
static void squeeze_spaces(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == ' ' || *r == '\t') {
            if (w > s && w[-1] != ' ') *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    if (w > s && w[-1] == ' ') w--;
    *w = '\0';
}

/* The ids of one test string of a vocab's .inp/.out pair (without BOS),
 * space-separated. */
static char *vocab_case(const char *vocab, const char *want_text)
{
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/%s.inp", vocab);
    char *inp = read_file(shared_path(rel), NULL);
    snprintf(rel, sizeof rel, "vocab/%s.out", vocab);
    char *out = read_file(shared_path(rel), NULL);
    assert_non_null(inp);
    assert_non_null(out);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char *text = inp, *line = out, *found = NULL;
    while (text && line && !found) {
        char *next_text = strstr(text, sep), *next_line = strchr(line, '\n');
        if (next_text) *next_text = '\0';
        if (next_line) *next_line = '\0';
        if (strcmp(text, want_text) == 0) found = strdup(line);
        text = next_text ? next_text + strlen(sep) : NULL;
        line = next_line ? next_line + 1 : NULL;
    }
    free(inp);
    free(out);
    if (!found) fail_msg("'%s' is not a test string of %s", want_text, vocab);
    squeeze_spaces(found);
    return found;
}

static void test_tokenize_spm(void **state)
{
    SKIP_WITHOUT_SHARED();
    const char *text = "Hello, world!";
    char *ids = vocab_case("ggml-vocab-llama-spm.gguf", text);
    char vocab[4096], want[1024];
    snprintf(vocab, sizeof vocab, "%s", shared_path("vocab/ggml-vocab-llama-spm.gguf"));

    /* The vocabulary adds BOS (1) by default. */
    proc p = RUN("tokenize", vocab, text);
    expect_status(&p, 0);
    snprintf(want, sizeof want, "1 %s\n", ids);
    assert_string_equal(p.out, want);
    proc_free(&p);

    p = RUN("tokenize", vocab, text, "--no-special");
    expect_status(&p, 0);
    snprintf(want, sizeof want, "%s\n", ids);
    assert_string_equal(p.out, want);
    proc_free(&p);

    /* --pieces: one "id<TAB>piece" line per token, same ids. */
    p = RUN("tokenize", vocab, text, "--pieces");
    expect_status(&p, 0);
    char got[1024] = "";
    for (char *l = strtok(p.out, "\n"); l; l = strtok(NULL, "\n")) {
        assert_non_null(strchr(l, '\t'));
        size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%.*s", n ? " " : "", (int)strcspn(l, "\t"), l);
    }
    snprintf(want, sizeof want, "1 %s", ids);
    assert_string_equal(got, want);
    proc_free(&p);
    free(ids);
}

static void test_info_stories(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    proc p = RUN("info", model);
    expect_status(&p, 0);
    expect_contains(p.out, "llama");
    const char *layers = strstr(p.out, "\nlayers:");
    assert_non_null(layers);
    assert_int_equal(atoi(layers + strlen("\nlayers:")), 5);
    expect_contains(p.out, "292.8K");
    expect_contains(p.out, "F32");
    /* no general.file_type in this file: named from its weights (bench JSON said "ftype": null) */
    expect_contains(p.out, "file type:       F32 (no general.file_type: the type of most weights)");
    proc_free(&p);
    p = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "-o", "json");
    expect_status(&p, 0);
    expect_contains(p.out, "\"ftype\": \"F32\"");
    proc_free(&p);
    p = RUN("info", shared_path("models/synth-llama-Q4_K_M.gguf"));
    expect_status(&p, 0);
    expect_contains(p.out, "file type:       Q4_K_M\n");
    proc_free(&p);

    p = RUN("info", model, "--tensors", "--meta");
    expect_status(&p, 0);
    expect_contains(p.out, "token_embd.weight");
    expect_contains(p.out, "blk.4.");
    expect_contains(p.out, "general.architecture = llama");
    proc_free(&p);

    /* a copy whose BOS id is outside the vocabulary: it runs (the default
     * BOS is kept, as llama.cpp does), and info says so */
    gguf_file *src;
    assert_int_equal(gguf_open(model, &src), MOTE_OK);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    for (uint64_t i = 0; i < src->n_kv; i++)
        if (strcmp(src->kv[i].key, "tokenizer.ggml.bos_token_id") != 0)
            assert_int_equal(gguf_writer_add_kv(w, &src->kv[i]), MOTE_OK);
    assert_int_equal(gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 99999), MOTE_OK);
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const gguf_tensor *t = &src->tensors[i];
        assert_int_equal(gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data), MOTE_OK);
    }
    char path[] = "/tmp/mote-test-badbos-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(gguf_writer_write_file(w, path), MOTE_OK);
    gguf_writer_free(w);
    gguf_close(src);
    p = RUN("info", path);
    unlink(path);
    expect_status(&p, 0);
    expect_contains(p.out, "\nwarning: tokenizer.ggml.bos_token_id 99999 is outside the vocabulary (512 tokens); "
                           "ignored, using the default 1\n");
    proc_free(&p);
    free(model);
}

/* A vocab-only file: no weights; the chat template named. */
/* The sliding window and the KV cache at a context: gemma3's five local
 * layers keep rings (window 32 + batch 512 - 1 in whole 256s: 768 rows),
 * its global one all 8192 positions; 64 F16 values per row, keys and
 * values: (8192 + 5 * 768) * 256 bytes = 2.9 MiB, where six full layers
 * would take 6 MiB. bench reports the same at its -c. */
static void test_info_kv_cache(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("archs/synth-gemma3-Q8_0.gguf");
    proc p = RUN("info", model, "-c", "8192");
    expect_status(&p, 0);
    expect_contains(p.out, "sliding window:  32 positions on 5 of 6 layers\n");
    expect_contains(p.out, "kv cache:        2.9 MiB at 8192 positions (f16, one sequence; -c to change)\n");
    expect_contains(p.out, " in all (kv cache, scratch, tables)\n");
    proc_free(&p);
    p = RUN("info", model, "-c", "8192", "--kv-type", "f32");
    expect_status(&p, 0);
    expect_contains(p.out, "kv cache:        5.9 MiB at 8192 positions (f32");
    proc_free(&p);
    expect_usage_error(RUN("info", model, "--kv-type", "f8"));
    p = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "-c", "8192", "-o", "json");
    expect_status(&p, 0);
    expect_contains(p.out, "\"kv_ctx\": 8192,\n  \"kv_bytes\": 3080192,");
    proc_free(&p);
    free(model);
}

/* An embedding model has no KV cache to show: info names its pooling and
 * what an embedder would hold (it once failed on the session plan). */
static void test_info_embedding_model(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("embed/synth-bert-cls-Q8_0.gguf");
    proc p = RUN("info", model, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "pooling:         cls (an embedding model)\n");
    expect_contains(p.out, "embedder:        ");
    expect_contains(p.out, " in all, texts of up to 512 tokens (-c to change)\n");
    expect_contains(p.out, "token_types.weight");
    proc_free(&p);
    p = RUN("info", model, "-c", "64");
    expect_status(&p, 0);
    expect_contains(p.out, "texts of up to 64 tokens");
    proc_free(&p);
    p = RUN("info", model, "-c", "513"); /* more positions than it learned */
    expect_status(&p, 1);
    proc_free(&p);
    free(model);
}

static void test_info_vocab_only(void **state)
{
    SKIP_WITHOUT_SHARED();
    proc p = RUN("info", shared_path("vocab/ggml-vocab-llama-spm.gguf"));
    expect_status(&p, 0);
    expect_contains(p.out, "vocab only");
    expect_contains(p.out, "32000");
    expect_contains(p.out, "chat template:   none\n");
    proc_free(&p);

    /* a template is named by its markup, with its size and first line */
    p = RUN("info", shared_path("vocab/ggml-vocab-qwen2.gguf"));
    expect_status(&p, 0);
    expect_contains(p.out, "chat template:   chatml, 327 B\n                 {% for message in messages %}");
    proc_free(&p);
    p = RUN("info", shared_path("vocab/ggml-vocab-phi-3.gguf"));
    expect_status(&p, 0);
    expect_contains(p.out, "chat template:   phi3, ");
    proc_free(&p);
}

/* Metadata strings with control bytes (a terminal escape in general.name)
 * print escaped, in the summary as in --meta. */
static void test_info_escapes(void **state)
{
    char *dir = synthmodel_tempdir();
    char vocab[4096], evil[4096];
    snprintf(vocab, sizeof vocab, "%s/vocab.gguf", dir);
    snprintf(evil, sizeof evil, "%s/evil.gguf", dir);
    synthmodel_write_vocab(vocab);
    gguf_file *f;
    assert_int_equal(gguf_open(vocab, &f), MOTE_OK);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i].key, "general.name") != 0)
            assert_int_equal(gguf_writer_add_kv(w, &f->kv[i]), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "general.name", "\x1b[31mred\x1b[0m\a\n"), MOTE_OK);
    assert_int_equal(gguf_writer_write_file(w, evil), MOTE_OK);
    gguf_writer_free(w);
    gguf_close(f);

    proc p = RUN("info", evil, "--meta");
    expect_status(&p, 0);
    assert_null(strchr(p.out, '\x1b'));
    assert_null(strchr(p.out, '\a'));
    expect_contains(p.out, "name:            \\x1b[31mred\\x1b[0m\\x07\\n\n");
    expect_contains(p.out, "general.name = \\x1b[31mred\\x1b[0m\\x07\\n\n");
    proc_free(&p);
    synthmodel_tempdir_remove(dir);
}

/* ------------------------------------------------------------------------
 * Bounded reads: files and streams the command reads into memory
 * ---------------------------------------------------------------------- */

/* An endless file or stream fails with the limit instead of eating memory;
 * a chat template must be a regular file. Files are read before the model
 * is opened, so no model is needed. */
static void test_read_limits(void **state)
{
    proc p = RUN("run", "m.gguf", "-f", "/dev/zero");
    expect_status(&p, 1);
    expect_contains(p.err, "/dev/zero: larger than the 64.0 MiB limit for a prompt file");
    expect_contains(p.err, "MOTE_MAX_FILE");
    proc_free(&p);

    p = RUN("perplexity", "m.gguf", "/dev/zero", "-c", "64");
    expect_status(&p, 1);
    expect_contains(p.err, "/dev/zero: larger than the 64.0 MiB limit for a text file");
    proc_free(&p);

    p = RUN("chat", "m.gguf", "--chat-template", "/dev/zero");
    expect_status(&p, 1);
    expect_contains(p.err, "/dev/zero: not a regular file (a chat template must be one)");
    proc_free(&p);

    p = RUN("run", "m.gguf", "-f", "/");
    expect_status(&p, 1);
    expect_contains(p.err, "/: is a directory");
    proc_free(&p);

    /* MOTE_MAX_FILE moves the limit, for stdin as for files */
    char big[2048];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    setenv("MOTE_MAX_FILE", "1K", 1);
    p = RUN_IN(big, "run", "m.gguf", "-f", "-");
    expect_status(&p, 1);
    expect_contains(p.err, "stdin: larger than the 1.0 KiB limit for a prompt file");
    proc_free(&p);
    setenv("MOTE_MAX_FILE", "lots", 1);
    p = RUN_IN("x", "run", "m.gguf", "-f", "-");
    expect_status(&p, 1);
    expect_contains(p.err, "MOTE_MAX_FILE=lots: not a size");
    proc_free(&p);
    unsetenv("MOTE_MAX_FILE");
}

/* A FIFO (no writer) or a device where a model is expected fails at once
 * with a message, rather than blocking in open() forever. */
static void test_model_not_regular(void **state)
{
    char *dir = synthmodel_tempdir();
    char fifo[4096];
    snprintf(fifo, sizeof fifo, "%s/model.fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const int saved = run_timeout_s;
    run_timeout_s = 10;
    double t0 = now_s();
    proc ps[] = {RUN("info", fifo), RUN("run", fifo, "-p", "x"), RUN("tokenize", fifo, "x")};
    assert_true(now_s() - t0 < 10.0);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        expect_status(&ps[i], 1);
        expect_contains(ps[i].err, "model.fifo: not a regular file");
        proc_free(&ps[i]);
    }
    proc p = RUN("info", "/dev/zero");
    expect_status(&p, 1);
    expect_contains(p.err, "/dev/zero: not a regular file");
    proc_free(&p);
    /* a FIFO as chat template fails too, before the model is opened */
    p = RUN("chat", "m.gguf", "--chat-template", fifo);
    expect_status(&p, 1);
    expect_contains(p.err, "model.fifo: not a regular file (a chat template must be one)");
    proc_free(&p);
    run_timeout_s = saved;
    synthmodel_tempdir_remove(dir);
}

/* A chat line longer than the limit ends the chat with the limit. */
static void test_chat_line_limit(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    char big[4096];
    memset(big, 'a', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    setenv("MOTE_MAX_FILE", "1K", 1);
    proc p = RUN_IN(big, "chat", model, "--temp", "0", "-n", "4");
    unsetenv("MOTE_MAX_FILE");
    expect_status(&p, 1);
    expect_contains(p.err, "stdin: larger than the 1.0 KiB limit for a chat message");
    proc_free(&p);
    free(model);
}

/* ------------------------------------------------------------------------
 * Generation, chat and perplexity on stories260K
 * ---------------------------------------------------------------------- */

/* Greedy ids of case p1 equal llama.cpp's (made with an F32 KV cache). */
static void test_run_golden_ids(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *prompt = tsv_field("golden/stories260K.cases.tsv", "p1", 1);
    char *ids = tsv_field("golden/stories260K.cases.tsv", "p1", 3);
    char *model = model_path("stories260K.gguf");
    proc p = RUN("run", model, "-p", prompt, "-n", "64", "--temp", "0", "--ids", "--kv-type", "f32");
    expect_status(&p, 0);
    char want[4096];
    snprintf(want, sizeof want, "%s\n", ids);
    assert_string_equal(p.out, want);
    expect_contains(p.err, "tokens/s");
    proc_free(&p);
    free(model);
    free(ids);
    free(prompt);
}

/* One model of each new family through `mote run --temp 0 --ids`: the
 * greedy ids of case p1 equal llama.cpp's up to the case's first near-tie
 * (golden/archs/NEAR_TIES.tsv), at the goldens' context of 512. */
static void test_run_golden_ids_families(void **state)
{
    SKIP_WITHOUT_SHARED();
    static const char *const families[] = {"qwen3", "gemma3", "phi3", "granite", "smollm3"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char stem[64], rel[128], gguf[128];
        snprintf(stem, sizeof stem, "synth-%s-F32", families[i]);
        snprintf(rel, sizeof rel, "golden/archs/%s.cases.tsv", stem);
        char *prompt = tsv_field(rel, "p1", 1), *ids = tsv_field(rel, "p1", 3);
        /* the first near-tie of p1, if any: ids from there on may differ */
        int upto = 64;
        char *near = read_file(shared_path("golden/archs/NEAR_TIES.tsv"), NULL);
        assert_non_null(near);
        for (char *line = strtok(near, "\n"); line; line = strtok(NULL, "\n")) {
            char name[80], c[16];
            int step;
            if (sscanf(line, "%79s %15s %d", name, c, &step) == 3 && !strcmp(name, stem) && !strcmp(c, "p1") &&
                step < upto)
                upto = step;
        }
        free(near);
        char n_arg[16];
        snprintf(n_arg, sizeof n_arg, "%d", upto);
        snprintf(gguf, sizeof gguf, "archs/%s.gguf", stem);
        char *model = model_path(gguf);
        proc p = RUN("run", model, "-p", prompt, "-n", n_arg, "--temp", "0", "--ids", "--kv-type", "f32", "-c", "512");
        expect_status(&p, 0);
        /* the first `upto` ids of the golden list */
        char *end = ids;
        for (int k = 0; k < upto && end; k++) end = strchr(end + (k > 0), ' ');
        if (end) *end = '\0';
        char want[4096];
        snprintf(want, sizeof want, "%s\n", ids);
        if (strcmp(p.out, want) != 0) fail_msg("%s: mote run printed\n%s\nllama.cpp's greedy ids are\n%s", stem, p.out, want);
        proc_free(&p);
        free(model);
        free(ids);
        free(prompt);
    }
}

/* A conversation that outgrows the context drops its oldest exchanges and
 * goes on (it once refused every later message until /reset, exit 0); a
 * message longer than the whole context is refused with a message. */
static void test_chat_full_context(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    proc p = RUN_IN("One day a little girl went to the park with her mom.\n"
                    "She saw a big dog and a small cat.\n"
                    "The dog ran after the cat.\n"
                    "Then they all played in the sun.\n",
                    "chat", model, "-c", "64", "-n", "8", "--temp", "0");
    expect_status(&p, 0);
    expect_contains(p.err, "(context full: dropped the 1 oldest exchange; the system prompt is kept)");
    /* four replies: none refused */
    int replies = 0;
    for (const char *at = p.out; (at = strchr(at, '\n')); at++) replies++;
    assert_int_equal(replies, 4);
    proc_free(&p);
    /* unknown /commands are not sent as messages; // sends one / */
    p = RUN_IN("/help\n//path is a word\n", "chat", model, "-n", "4", "--temp", "0");
    expect_status(&p, 0);
    expect_contains(p.err, "unknown command '/help'");
    int lines = 0;
    for (const char *at = p.out; (at = strchr(at, '\n')); at++) lines++;
    assert_int_equal(lines, 1); /* one reply: to "/path is a word" */
    proc_free(&p);
    char long_line[2048] = "";
    for (int i = 0; i < 40; i++) strcat(long_line, "the dog ran ");
    strcat(long_line, "\n");
    p = RUN_IN(long_line, "chat", model, "-c", "64", "-n", "8", "--temp", "0");
    expect_status(&p, 0);
    expect_contains(p.err, "nothing older is left to drop");
    proc_free(&p);
    free(model);
}

/* ------------------------------------------------------------------------
 * Ctrl-C in chat, through a pseudo-terminal
 * ---------------------------------------------------------------------- */

/* Read the terminal's output into buf (NUL-terminated, *len bytes) until
 * it holds `want` after byte `from`, or timeout_s pass; 1 if found. */
static int pty_wait(int fd, char *buf, size_t cap, size_t *len, size_t from, const char *want, double timeout_s)
{
    const double deadline = now_s() + timeout_s;
    for (;;) {
        buf[*len] = '\0';
        if (strstr(buf + from, want)) return 1;
        if (now_s() > deadline || *len + 1 >= cap) return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) > 0) {
            ssize_t n = read(fd, buf + *len, cap - 1 - *len);
            if (n <= 0) return strstr(buf + from, want) != NULL; /* the other side closed */
            *len += (size_t)n;
        }
    }
}

/* Ctrl-C stops the reply and returns to the prompt, the conversation goes
 * on; Ctrl-C at the prompt ends the chat with status 0 (it once killed the
 * process and the conversation at the first Ctrl-C). stories260K's greedy
 * continuation runs to the end of a 2048-token context without an end
 * token (about 1.5 s here), so the Ctrl-C lands in the reply. */
static void test_chat_ctrl_c(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(mote_bin, mote_bin, "chat", model, "-c", "2048", "--temp", "0", (char *)NULL);
        _exit(127);
    }
    static char out[1 << 16];
    size_t len = 0;
    if (!pty_wait(fd, out, sizeof out, &len, 0, "> ", 60)) fail_msg("no prompt: %s", out);
    const char line[] = "Once upon a time\n";
    assert_int_equal(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
    size_t echo = len;
    if (!pty_wait(fd, out, sizeof out, &len, echo, "time\r\n", 30)) fail_msg("no echo: %s", out);
    size_t reply = len;
    const double until = now_s() + 30; /* the first bytes of the reply ("\x01" never comes: just read) */
    while (len < reply + 8 && now_s() < until) pty_wait(fd, out, sizeof out, &len, reply, "\x01", 0.05);
    assert_int_equal(write(fd, "\x03", 1), 1);
    if (!pty_wait(fd, out, sizeof out, &len, reply, "(stopped)", 30)) fail_msg("Ctrl-C did not stop the reply: %s", out);
    size_t stopped = len;
    if (!pty_wait(fd, out, sizeof out, &len, stopped - 12, "> ", 30)) fail_msg("no prompt after the stop: %s", out);
    /* the conversation goes on */
    const char again[] = "/reset\n";
    assert_int_equal(write(fd, again, sizeof again - 1), (ssize_t)(sizeof again - 1));
    if (!pty_wait(fd, out, sizeof out, &len, stopped, "(conversation cleared)", 30)) fail_msg("no reply to /reset: %s", out);
    size_t cleared = len;
    if (!pty_wait(fd, out, sizeof out, &len, cleared - 4, "> ", 30)) fail_msg("no prompt: %s", out);
    assert_int_equal(write(fd, "\x03", 1), 1); /* at the prompt: the chat ends */
    int ws = 0;
    const double deadline = now_s() + 30;
    while (waitpid(pid, &ws, WNOHANG) == 0) {
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            fail_msg("Ctrl-C at the prompt did not end the chat: %s", out);
        }
        /* drain the terminal without blocking: a chat that never ends must
         * reach the deadline above, not hang in read() */
        char sink[4096];
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0 && read(fd, sink, sizeof sink) < 0)
            nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    close(fd);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        fail_msg("chat ended with %s %d, want exit status 0", WIFEXITED(ws) ? "status" : "signal",
                 WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
    free(model);
}

/* Run mote in a pseudo-terminal with args (NULL-terminated) until it exits;
 * what it wrote lands in out (NUL-terminated). The exit status. */
static int pty_run(char *out, size_t cap, const char *const *args)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = mote_bin;
    for (; args[n - 1] && n < 15; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(mote_bin, (char *const *)argv);
        _exit(127);
    }
    size_t len = 0;
    /* "\x01" never comes: read until the other side closes */
    pty_wait(fd, out, cap, &len, 0, "\x01", run_timeout_s);
    close(fd);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Long evaluations show progress on a terminal: a prompt in run, the cache
 * filled to -d in bench (which once ran minutes in silence); with stderr
 * not a terminal nothing is shown. MOTE_PROGRESS_AFTER=0 shows progress
 * for every evaluation, however short. */
static void test_progress_on_terminal(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    static char out[1 << 16];
    char prompt[2048];
    memset(prompt, 'a', sizeof prompt - 1);
    prompt[sizeof prompt - 1] = '\0';
    for (size_t i = 8; i < sizeof prompt - 1; i += 9) prompt[i] = ' ';
    setenv("MOTE_PROGRESS_AFTER", "0", 1);
    int rc = pty_run(out, sizeof out, (const char *const[]){"run", model, "-p", prompt, "-n", "2", NULL});
    if (rc != 0 || !strstr(out, "prompt: 100%")) fail_msg("status %d, no prompt progress: %s", rc, out);
    rc = pty_run(out, sizeof out,
                 (const char *const[]){"bench", model, "-d", "600", "-p", "4", "-n", "2", "-r", "1", NULL});
    if (rc != 0 || !strstr(out, "filling the cache to -d: 100%")) fail_msg("status %d, no -d progress: %s", rc, out);
    proc p = RUN("bench", model, "-d", "600", "-p", "4", "-n", "2", "-r", "1");
    expect_status(&p, 0);
    assert_null(strstr(p.err, "%"));
    proc_free(&p);
    unsetenv("MOTE_PROGRESS_AFTER");
    free(model);
}

/* Newcomer frictions: a missing positional argument is named, bench takes
 * the model as MODEL like every other verb, perplexity's -c defaults to
 * llama.cpp's 512. */
static void test_newcomer_frictions(void **state)
{
    proc p = RUN("run");
    expect_status(&p, 2);
    expect_contains(p.err, "missing MODEL");
    proc_free(&p);
    p = RUN("tokenize");
    expect_status(&p, 2);
    expect_contains(p.err, "missing MODEL");
    proc_free(&p);
    p = RUN("perplexity", "m.gguf");
    expect_status(&p, 2);
    expect_contains(p.err, "missing FILE");
    proc_free(&p);
    p = RUN("tokenize", "m.gguf", "text", "-f", "t.txt");
    expect_status(&p, 2);
    expect_contains(p.err, "either as TEXT or with -f FILE");
    proc_free(&p);
    p = RUN("bench", "a.gguf", "-m", "b.gguf");
    expect_status(&p, 2);
    expect_contains(p.err, "give the model once");
    proc_free(&p);
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    p = RUN("bench", model, "-p", "8", "-n", "4", "-r", "1", "-t", "1");
    expect_status(&p, 0);
    expect_contains(p.out, "tg4");
    proc_free(&p);
    /* tokenize -f FILE gives the ids of the file's text */
    p = RUN_IN("Once upon a time", "tokenize", model, "-f", "-");
    proc q = RUN("tokenize", model, "Once upon a time");
    expect_status(&p, 0);
    expect_status(&q, 0);
    assert_string_equal(p.out, q.out);
    proc_free(&p);
    proc_free(&q);
    char story[4096];
    snprintf(story, sizeof story, "%s", shared_path("golden/story.txt"));
    p = RUN("perplexity", model, story, "--chunks", "1");
    expect_status(&p, 0);
    expect_contains(p.out, "PPL = ");
    expect_contains(p.err, "512");
    proc_free(&p);
    free(model);
}

/* Option limits are the library's and the messages give the range: -c
 * and -t once passed the CLI and failed in the library without a word of
 * the limit, -n 99999999999 said "not an integer", --repeat-penalty 0
 * failed only in the sampler; -t above the CPUs warns. */
static void test_option_limits(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    char big_ctx[32];
    snprintf(big_ctx, sizeof big_ctx, "%d", MOTE_N_CTX_MAX + 1);
    proc p = RUN("run", model, "-p", "Once", "-c", big_ctx);
    expect_status(&p, 2);
    expect_contains(p.err, "is out of range [0, 4194304]");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once", "-t", "1025");
    expect_status(&p, 2);
    expect_contains(p.err, "-t: 1025 is out of range [0, 1024]");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once", "-n", "99999999999");
    expect_status(&p, 2);
    expect_contains(p.err, "-n: 99999999999 is out of range [-1, 1000000000]");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once", "--repeat-penalty", "0");
    expect_status(&p, 2);
    expect_contains(p.err, "--repeat-penalty: 0 is out of range");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once", "-n", "2", "-t", "1024");
    expect_status(&p, 0);
    expect_contains(p.err, "warning: -t 1024 is more than the");
    proc_free(&p);

    /* The CPUs counted are those the process may run on (taskset, cpuset):
     * on one of them, -t 2 warns and bench's default is one thread. */
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all)) {
            CPU_SET(c, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    p = RUN("run", model, "-p", "Once", "-n", "2", "-t", "2");
    proc q = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-o", "json");
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    expect_status(&p, 0);
    expect_contains(p.err, "warning: -t 2 is more than the 1 CPU this process may use");
    expect_status(&q, 0);
    expect_contains(q.out, "\"n_threads\": 1,");
    proc_free(&p);
    proc_free(&q);
    free(model);
}

/* Why generation stopped is said every time: the -n length, a full
 * context (-n 100 with -c 64 once stopped at 60 tokens without a word),
 * the model's end token; a prompt that fills the context says so. */
static void test_run_says_why_it_stopped(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    proc p = RUN("run", model, "-p", "Once upon a time", "-n", "5", "--temp", "0");
    expect_status(&p, 0);
    expect_contains(p.err, "stopped:    length: 5 tokens (-n)");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once upon a time", "-n", "100", "-c", "64", "--temp", "0");
    expect_status(&p, 0);
    expect_contains(p.err, "stopped:    context full: 64 tokens (see -c)");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once upon a time", "-c", "3");
    expect_status(&p, 1);
    expect_contains(p.err, "the prompt has 5 tokens and the context holds 3: no room to generate");
    proc_free(&p);
    p = RUN("run", model, "-p", "Once", "-n", "2", "-c", "4096");
    expect_status(&p, 0);
    expect_contains(p.err, "warning: -c 4096 is above the 2048 tokens the model was trained with");
    proc_free(&p);
    free(model);
}

/* --lookup and --draft print the text plain decoding prints, with a line
 * of drafted and accepted tokens; a draft model of another vocabulary is
 * refused saying so. */
static void test_run_speculative(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("TinyStories-656K.f16.gguf"), *draft = model_path("TinyStories-656K-Q8_0.gguf");
    char *other = model_path("stories260K.gguf");
    const char *prompt = "Tom and his dog went to the park. Tom threw the ball and the dog";
    proc plain = RUN("run", model, "-p", prompt, "-n", "120", "--temp", "0");
    expect_status(&plain, 0);
    proc p = RUN("run", model, "-p", prompt, "-n", "120", "--temp", "0", "--lookup", "4");
    expect_status(&p, 0);
    assert_string_equal(p.out, plain.out);
    expect_contains(p.err, "speculation: ");
    expect_contains(p.err, "accepted");
    proc_free(&p);
    p = RUN("run", model, "-p", prompt, "-n", "40", "--temp", "0", "--draft", draft, "--draft-max", "3");
    expect_status(&p, 0);
    assert_true(strlen(p.out) > 1 && strlen(p.out) <= strlen(plain.out));
    assert_memory_equal(p.out, plain.out, strlen(p.out) - 1); /* a prefix (less its newline) */
    proc_free(&p);
    p = RUN("run", model, "-p", prompt, "-n", "4", "--draft", other);
    expect_status(&p, 1);
    expect_contains(p.err, "same vocabulary");
    proc_free(&p);
    proc_free(&plain);
    free(model);
    free(draft);
    free(other);
}

/* Lookup auto by this machine's profile (pass costs planted for the
 * model): the default for --temp 0, the same text; not for sampling, nor
 * with --lookup 0 or MOTE_TUNE=off; --lookup's value checked. */
static void test_run_lookup_auto(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("TinyStories-656K.f16.gguf");
    const char *prompt = "The little dog was very happy because";
    proc plain = RUN("run", model, "-p", prompt, "-n", "120", "--temp", "0", "--lookup", "0");
    expect_status(&plain, 0);
    assert_null(strstr(plain.err, "speculation: "));
    char cache[TEST_CACHE_DIR_CAP], path[1024];
    test_tune_cache(cache, path, sizeof path);
    mote_model *m;
    assert_int_equal(mote_model_open(model, NULL, &m), MOTE_OK);
    tune_key k;
    tune_key_this(&k);
    const tune_spec sp = {.model = tune_model_id(m->gguf), .threads = 2, .cost = {1, 1.1f, 1.2f, 1.3f, 1.4f, 1.5f,
                                                                                  1.6f, 1.7f, 1.8f}};
    assert_int_equal(tune_profile_write_all(path, &k, 2, NULL, NULL, 0, &sp, 1), MOTE_OK);
    mote_model_close(m);

    proc p = RUN("run", model, "-p", prompt, "-n", "120", "--temp", "0");
    expect_status(&p, 0);
    assert_string_equal(p.out, plain.out);
    expect_contains(p.err, "lookup:     auto");
    expect_contains(p.err, "speculation: ");
    proc_free(&p);
    p = RUN("run", model, "-p", prompt, "-n", "20", "--seed", "3");
    expect_status(&p, 0);
    assert_null(strstr(p.err, "speculation: "));
    proc_free(&p);
    p = RUN("run", model, "-p", prompt, "-n", "20", "--seed", "3", "--lookup", "auto");
    expect_status(&p, 0);
    expect_contains(p.err, "lookup:     auto");
    proc_free(&p);
    setenv("MOTE_TUNE", "off", 1);
    p = RUN("run", model, "-p", prompt, "-n", "20", "--temp", "0");
    expect_status(&p, 0);
    assert_null(strstr(p.err, "speculation: "));
    proc_free(&p);
    unsetenv("MOTE_TUNE");
    p = RUN("run", model, "-p", prompt, "-n", "4", "--lookup", "3x");
    expect_status(&p, 2);
    expect_contains(p.err, "--lookup takes a number");
    proc_free(&p);
    p = RUN("run", model, "-p", prompt, "-n", "4", "--lookup", "auto", "--draft", model);
    expect_status(&p, 2);
    proc_free(&p);
    test_tune_cache_remove(cache);
    proc_free(&plain);
    free(model);
}

/* The streamed text is the detokenized greedy continuation; -f reads the
 * prompt from a file. */
static void test_run_golden_text(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *prompt = tsv_field("golden/stories260K.cases.tsv", "p1", 1);
    char *text = tsv_field("golden/stories260K.text.tsv", "p1", 1);
    char *model = model_path("stories260K.gguf");
    char want[4096];
    snprintf(want, sizeof want, "%s\n", text);

    proc p = RUN("run", model, "-p", prompt, "-n", "64", "--temp", "0");
    expect_status(&p, 0);
    assert_string_equal(p.out, want);
    proc_free(&p);

    char path[] = "/tmp/mote-test-prompt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, prompt, strlen(prompt)), (ssize_t)strlen(prompt));
    close(fd);
    p = RUN("run", model, "-f", path, "-n", "64", "--temp", "0");
    unlink(path);
    expect_status(&p, 0);
    assert_string_equal(p.out, want);
    proc_free(&p);
    free(model);
    free(text);
    free(prompt);
}

/* stories260K has no chat template: plain continuation, and the first reply
 * is the start of the greedy continuation. */
static void test_chat_plain(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *prompt = tsv_field("golden/stories260K.cases.tsv", "p1", 1);
    char *text = tsv_field("golden/stories260K.text.tsv", "p1", 1);
    char *model = model_path("stories260K.gguf");
    char input[512];
    snprintf(input, sizeof input, "%s\n/exit\nnot read\n", prompt);
    proc p = RUN_IN(input, "chat", model, "--temp", "0", "-n", "8");
    expect_status(&p, 0);
    expect_contains(p.err, "no chat template");
    size_t n = strlen(p.out);
    assert_true(n > 1 && p.out[n - 1] == '\n');
    assert_memory_equal(p.out, text, n - 1);
    proc_free(&p);
    free(model);
    free(text);
    free(prompt);
}

/* The second reply, computed on top of the cached first turn, equals a
 * fresh run on the whole transcript; /reset starts from scratch. */
static void test_chat_incremental(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    const char *line1 = "Once upon a time", *line2 = "The dog ran";

    proc r1 = RUN("run", model, "-p", line1, "-n", "12", "--temp", "0");
    expect_status(&r1, 0);
    char transcript[1024];
    snprintf(transcript, sizeof transcript, "%s%.*s\n%s", line1, (int)strlen(r1.out) - 1, r1.out,
             line2);
    proc r2 = RUN("run", model, "-p", transcript, "-n", "12", "--temp", "0");
    expect_status(&r2, 0);
    char want[2048];
    snprintf(want, sizeof want, "%s%s", r1.out, r2.out);

    char input[256];
    snprintf(input, sizeof input, "%s\n%s\n", line1, line2);
    proc c = RUN_IN(input, "chat", model, "--temp", "0", "-n", "12");
    expect_status(&c, 0);
    assert_string_equal(c.out, want);
    proc_free(&c);

    snprintf(input, sizeof input, "%s\n/reset\n%s\n", line1, line1);
    c = RUN_IN(input, "chat", model, "--temp", "0", "-n", "12");
    expect_status(&c, 0);
    snprintf(want, sizeof want, "%s%s", r1.out, r1.out);
    assert_string_equal(c.out, want);
    proc_free(&c);

    proc_free(&r1);
    proc_free(&r2);
    free(model);
}

/* Text of the model's BOS token, from `mote tokenize --pieces` (the first
 * line is "<id>\t<text>"); malloc'd. */
static char *bos_text(const char *model)
{
    proc p = RUN("tokenize", model, "", "--pieces");
    expect_status(&p, 0);
    char *tab = strchr(p.out, '\t');
    assert_non_null(tab);
    char *text = strndup(tab + 1, strcspn(tab + 1, "\n"));
    proc_free(&p);
    return text;
}

/* With a chat template (--chat-template here: stories260K has none), each
 * reply equals a fresh greedy run on the rendered conversation, though the
 * second is evaluated on top of the cached first turn. The template writes
 * BOS itself, so the chat must not add a second one. */
static void test_chat_template(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    char *bos = bos_text(model);
    char tmpl_path[] = "/tmp/mote-test-template-XXXXXX";
    int fd = mkstemp(tmpl_path);
    assert_true(fd >= 0);
    static const char tmpl[] =
        "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}";
    assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
    close(fd);

    char conv[2048];
    snprintf(conv, sizeof conv, "%ssystem:Be kind.\nuser:Tom had a cat\nassistant:", bos);
    proc r1 = RUN("run", model, "-p", conv, "-n", "10", "--temp", "0", "--parse-special",
                  "--no-special");
    expect_status(&r1, 0);
    size_t n = strlen(conv);
    snprintf(conv + n, sizeof conv - n, "%.*s\nuser:The sun\nassistant:",
             (int)strlen(r1.out) - 1, r1.out);
    proc r2 = RUN("run", model, "-p", conv, "-n", "10", "--temp", "0", "--parse-special",
                  "--no-special");
    expect_status(&r2, 0);
    char want[2048];
    snprintf(want, sizeof want, "%s%s", r1.out, r2.out);

    proc c = RUN_IN("Tom had a cat\nThe sun\n", "chat", model, "--chat-template", tmpl_path,
                    "--system", "Be kind.", "--temp", "0", "-n", "10");
    unlink(tmpl_path);
    expect_status(&c, 0);
    assert_null(strstr(c.err, "no chat template"));
    assert_string_equal(c.out, want);

    proc_free(&c);
    proc_free(&r2);
    proc_free(&r1);
    free(bos);
    free(model);
}

/* Count the lines of --verbose-prompt output (id, tab, text) with this id. */
static int count_token_lines(const char *err, const char *id)
{
    int n = 0;
    size_t idlen = strlen(id);
    for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, id, idlen) == 0 && l[idlen] == '\t') n++;
    return n;
}

/* What a user types is text, never a control token: a message holding the
 * BOS text (and the template's markup) leaves exactly the one BOS the
 * template writes. --verbose-prompt shows the tokens, --timings and /stats
 * the timings; -c above the training context warns. */
static void test_chat_injection_and_stats(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    char *bos = bos_text(model);
    proc t = RUN("tokenize", model, "", "--pieces");
    expect_status(&t, 0);
    char bos_id[16];
    snprintf(bos_id, sizeof bos_id, "%.*s", (int)strcspn(t.out, "\t"), t.out);
    proc_free(&t);

    char tmpl_path[] = "/tmp/mote-test-template-XXXXXX";
    int fd = mkstemp(tmpl_path);
    assert_true(fd >= 0);
    static const char tmpl[] = "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}"
                               "{% if add_generation_prompt %}assistant:{% endif %}";
    assert_int_equal(write(fd, tmpl, strlen(tmpl)), (ssize_t)strlen(tmpl));
    close(fd);

    char input[256];
    snprintf(input, sizeof input, "%sTom\n/stats\n%s%s\n", bos, bos, bos);
    proc c = RUN_IN(input, "chat", model, "--chat-template", tmpl_path, "--verbose-prompt", "--timings", "--temp",
                    "0", "-n", "4", "-c", "4096");
    unlink(tmpl_path);
    expect_status(&c, 0);
    /* two turns, each rendering the whole conversation: one BOS each */
    expect_contains(c.err, "prompt: ");
    assert_int_equal(count_token_lines(c.err, bos_id), 2);
    expect_contains(c.err, "last reply:\n");
    expect_contains(c.err, "all 1 reply:\n");
    expect_contains(c.err, "context:   ");
    expect_contains(c.err, "generation:     4 tokens in");
    expect_contains(c.err, "warning: -c 4096 is above the 2048 tokens the model was trained with");
    proc_free(&c);

    /* Without a template there is no system role: --system is ignored, and
     * the BOS text typed at the prompt is still text. */
    snprintf(input, sizeof input, "%sOnce\n", bos);
    c = RUN_IN(input, "chat", model, "--system", "Be kind.", "--verbose-prompt", "-n", "2");
    expect_status(&c, 0);
    expect_contains(c.err, "--system is ignored");
    assert_int_equal(count_token_lines(c.err, bos_id), 1);
    assert_null(strstr(c.err, "Be"));
    proc_free(&c);
    free(bos);
    free(model);
}

/* Perplexity of story.txt within 1% of llama.cpp's, for every model that
 * golden/perplexity.tsv lists (model file, context, perplexity). */
static void test_perplexity(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *tsv = read_file(shared_path("golden/perplexity.tsv"), NULL);
    assert_non_null(tsv);
    char story[4096];
    snprintf(story, sizeof story, "%s", shared_path("golden/story.txt"));
    int checked = 0;
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        char file[200], ctx[32];
        double want;
        if (sscanf(line, "%199[^\t]\t%31[^\t]\t%lf", file, ctx, &want) != 3) continue;
        char *model = model_path(file);
        proc p = RUN("perplexity", model, story, "-c", ctx);
        expect_status(&p, 0);
        const char *at = strstr(p.out, "PPL = ");
        assert_non_null(at);
        double got = strtod(at + strlen("PPL = "), NULL);
        if (!(fabs(got - want) <= 0.01 * want)) fail_msg("%s: PPL %f, expected %f (1%%)", file, got, want);
        print_message("[  INFO    ] %-28s PPL %.4f, llama.cpp %.4f\n", file, got, want);
        expect_contains(p.err, "[1]");
        proc_free(&p);
        free(model);
        checked++;
    }
    free(tsv);
    assert_true(checked >= 1);
}

/* mote kld: llama-perplexity's tables, --json for scripts, a model against
 * itself at 0, Q8_0 close to F32 but not equal, clean refusals. */
static void test_kld(void **state)
{
    expect_usage_error(RUN("kld", "a.gguf", "b.gguf")); /* no -f */
    SKIP_WITHOUT_SHARED();
    char *f32 = model_path("TinyStories-656K-F32.gguf"), *q8 = model_path("TinyStories-656K-Q8_0.gguf");
    char *other = model_path("stories260K.gguf");
    char story[4096];
    snprintf(story, sizeof story, "%s", shared_path("golden/story.txt"));

    proc p = RUN("kld", f32, q8, "-f", story, "-c", "128");
    expect_status(&p, 0);
    expect_contains(p.out, "Mean PPL(Q)/PPL(base)         :");
    expect_contains(p.out, "Mean    KLD:");
    expect_contains(p.out, "99.0%   KLD:");
    expect_contains(p.out, "RMS Δp    :");
    expect_contains(p.out, "Same top p:");
    expect_contains(p.err, "5 chunks of 128");
    proc_free(&p);

    p = RUN("kld", f32, q8, "-f", story, "-c", "128", "--json");
    expect_status(&p, 0);
    assert_true(p.out[0] == '{');
    const double kld = test_json_number(p.out, "kld_mean"), same = test_json_number(p.out, "same_top");
    assert_true(kld > 0 && kld < 0.01);
    assert_true(same > 0.9 && same < 1);
    assert_true(test_json_number(p.out, "kld_p99") >= test_json_number(p.out, "kld_median"));
    assert_true(fabs(test_json_number(p.out, "ratio") - 1) < 0.05);
    assert_int_equal((int)test_json_number(p.out, "n_scored"), 5 * 63);
    proc_free(&p);

    p = RUN("kld", f32, f32, "-f", story, "-c", "128", "--json", "--chunks", "2");
    expect_status(&p, 0);
    assert_true(test_json_number(p.out, "kld_mean") == 0 && test_json_number(p.out, "kld_max") == 0);
    assert_true(test_json_number(p.out, "same_top") == 1 && test_json_number(p.out, "ratio") == 1);
    assert_int_equal((int)test_json_number(p.out, "n_chunks"), 2);
    proc_free(&p);

    p = RUN("kld", f32, other, "-f", story, "-c", "128");
    expect_status(&p, 1);
    expect_contains(p.err, "vocabulary");
    assert_string_equal(p.out, "");
    proc_free(&p);
    p = RUN_IN("Once upon a time", "kld", f32, q8, "-f", "-");
    expect_status(&p, 1);
    expect_contains(p.err, "fewer than one chunk of 512");
    proc_free(&p);
    p = RUN("kld", "/nonexistent/base.gguf", q8, "-f", story);
    expect_status(&p, 1);
    expect_contains(p.err, "base.gguf");
    proc_free(&p);
    free(f32);
    free(q8);
    free(other);
}

/* ------------------------------------------------------------------------
 * chat: reasoning told from the answer (src/cli/think.c)
 * ---------------------------------------------------------------------- */

/* What a think_split passed on: each part's text, and in which order. */
typedef struct split_out {
    char text[2][2048]; /* [0] answer, [1] reasoning */
    size_t n[2];
    int last;           /* the part of the last call, -1 none */
    int answer_then_reasoning; /* reasoning came after answer (never should) */
} split_out;

static void collect_part(void *user, int reasoning, const char *s, size_t n)
{
    split_out *o = user;
    assert_true(n > 0);
    assert_true(o->n[reasoning] + n < sizeof o->text[0]);
    memcpy(o->text[reasoning] + o->n[reasoning], s, n);
    o->n[reasoning] += n;
    o->text[reasoning][o->n[reasoning]] = '\0';
    if (reasoning && o->last == 0) o->answer_then_reasoning = 1;
    o->last = reasoning;
}

/* Feed reply in pieces cut at the offsets cuts[0..n_cuts) (ascending). */
static void split_reply(const char *reply, enum think_start start, const size_t *cuts, int n_cuts, split_out *o)
{
    memset(o, 0, sizeof *o);
    o->last = -1;
    think_split t;
    think_split_init(&t, start, collect_part, o);
    size_t at = 0, len = strlen(reply);
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        think_split_feed(&t, reply + at, end - at);
        at = end;
    }
    think_split_finish(&t);
}

/* The reply, fed whole, byte by byte, and cut in two at every offset,
 * gives this reasoning and answer. */
static void expect_split(const char *reply, enum think_start start, const char *reasoning, const char *answer)
{
    const size_t len = strlen(reply);
    size_t bytes[512];
    assert_true(len <= 512);
    for (size_t i = 0; i < len; i++) bytes[i] = i + 1;
    for (size_t cut = 0; cut <= len + 1; cut++) {
        split_out o;
        if (cut <= len) split_reply(reply, start, &cut, cut == 0 ? 0 : 1, &o);
        else split_reply(reply, start, bytes, len > 0 ? (int)len - 1 : 0, &o);
        if (strcmp(o.text[1], reasoning) != 0 || strcmp(o.text[0], answer) != 0 || o.answer_then_reasoning)
            fail_msg("reply \"%s\" (start %d, %s %zu): reasoning \"%s\", answer \"%s\"; want \"%s\", \"%s\"%s", reply,
                     (int)start, cut <= len ? "cut at" : "byte by byte, length", cut <= len ? cut : len, o.text[1],
                     o.text[0], reasoning, answer, o.answer_then_reasoning ? " (reasoning after answer)" : "");
    }
}

static void test_think_split(void **state)
{
    (void)state;
    /* no tags: all answer, byte for byte (white space at the start too) */
    expect_split("Hello, world.\n", THINK_DETECT, "", "Hello, world.\n");
    expect_split("\n\n  Hi", THINK_DETECT, "", "\n\n  Hi");
    expect_split(" \n", THINK_DETECT, "", " \n");
    expect_split("", THINK_DETECT, "", "");
    expect_split("<thin", THINK_DETECT, "", "<thin"); /* an unfinished tag at the end is text */
    expect_split("<thinking>x", THINK_DETECT, "", "<thinking>x");
    expect_split("Use <think> tags.</think>", THINK_DETECT, "", "Use <think> tags.</think>"); /* not at the start */
    /* Qwen3's shape: the tags, the white space around them dropped */
    expect_split("<think>\nLet me see.\n</think>\n\nFour.", THINK_DETECT, "Let me see.\n", "Four.");
    expect_split("\n<think>a<b</think>c</think>", THINK_DETECT, "a<b", "c</think>");
    expect_split("<think>\n\n</think>\n\nHi", THINK_DETECT, "", "Hi"); /* an empty block */
    expect_split("<think>never closed </thi", THINK_DETECT, "never closed </thi", "");
    expect_split("<think></think>", THINK_DETECT, "", "");
    /* the template opened the block: the reply starts inside */
    expect_split("\nhmm, 2+2\n</think>\n\n4", THINK_INSIDE, "hmm, 2+2\n", "4");
    expect_split("all reasoning", THINK_INSIDE, "all reasoning", "");
    expect_split("<think>x</think>y", THINK_INSIDE, "<think>x", "y");
    /* no splitting at all */
    expect_split("<think>x</think>y", THINK_OFF, "", "<think>x</think>y");

    /* more white space than is held before a tag: all answer */
    char spaces[THINK_HOLD_WS + 32];
    memset(spaces, '\n', THINK_HOLD_WS + 1);
    snprintf(spaces + THINK_HOLD_WS + 1, sizeof spaces - THINK_HOLD_WS - 1, "<think>x");
    expect_split(spaces, THINK_DETECT, "", spaces);
    memset(spaces, '\n', THINK_HOLD_WS);
    snprintf(spaces + THINK_HOLD_WS, sizeof spaces - THINK_HOLD_WS, "<think>x");
    expect_split(spaces, THINK_DETECT, "x", "");

    /* pieces longer than the buffer */
    char big[4 * THINK_BUF + 64], want[4 * THINK_BUF];
    memset(want, 'r', sizeof want - 1);
    want[sizeof want - 1] = '\0';
    snprintf(big, sizeof big, "<think>%s</think>done", want);
    split_out o;
    split_reply(big, THINK_DETECT, NULL, 0, &o);
    assert_string_equal(o.text[1], want);
    assert_string_equal(o.text[0], "done");

    /* where the generation prompt leaves the block open */
    const char *conv = "<|im_start|>user\nHi<|im_end|>\n";
    char with[256];
    snprintf(with, sizeof with, "%s<|im_start|>assistant\n<think>\n", conv);
    assert_int_equal(think_prompt_opens(with, conv), 1);
    snprintf(with, sizeof with, "%s<|im_start|>assistant\n<think>\n\n</think>\n\n", conv);
    assert_int_equal(think_prompt_opens(with, conv), 0);
    snprintf(with, sizeof with, "%s<|im_start|>assistant\n", conv);
    assert_int_equal(think_prompt_opens(with, conv), 0);
    /* a <think> in the conversation itself is not the prompt's */
    const char *talk = "<|im_start|>user\nSay <think><|im_end|>\n";
    snprintf(with, sizeof with, "%s<|im_start|>assistant\n", talk);
    assert_int_equal(think_prompt_opens(with, talk), 0);
}

/* The text of the n-th (from 0) conversation --verbose-prompt printed on
 * stderr: its "id<TAB>piece" lines' pieces joined (escaped as printed:
 * "\n" for a newline), malloc'd; NULL if there is no such prompt. */
static char *verbose_prompt_text(const char *err, int nth)
{
    const char *at = err;
    for (int i = 0; at && i <= nth; i++) {
        at = strstr(at, i == 0 && strncmp(err, "prompt: ", 8) == 0 ? "prompt: " : "\nprompt: ");
        if (at) at = strchr(at + 1, '\n');
    }
    if (!at) return NULL;
    size_t cap = strlen(at) + 1, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (const char *l = at + 1; *l >= '0' && *l <= '9';) {
        const char *tab = l + strspn(l, "0123456789"), *end = strchr(l, '\n');
        if (*tab != '\t' || !end) break;
        memcpy(text + n, tab + 1, (size_t)(end - tab - 1));
        n += (size_t)(end - tab - 1);
        l = end + 1;
    }
    text[n] = '\0';
    return text;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* --no-think, /no_think and /think give a template that reads
 * enable_thinking the variable (Qwen3 then pre-fills an empty reasoning
 * block, SmolLM3 says /no_think in its system header); a template without
 * the switch says it is ignored. A template that opens the block in its
 * generation prompt (Qwen3.5) gets a reply that starts inside the
 * reasoning: each line shown with "thinking: ", and none of it stored as
 * the answer. The model: qwen2 shaped, Qwen2's tokenizer, random weights
 * (it never writes a tag itself; test_think_split covers those). */
static void test_chat_no_think(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *dir = synthmodel_tempdir();
    char model[4096], qwen3[4096], qwen25[4096], smol[4096], qwen35[4096];
    snprintf(model, sizeof model, "%s/chatml.gguf", dir);
    snprintf(qwen3, sizeof qwen3, "%s", shared_path("templates/Qwen-Qwen3-0.6B.jinja"));
    snprintf(qwen25, sizeof qwen25, "%s", shared_path("templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
    snprintf(smol, sizeof smol, "%s", shared_path("templates/HuggingFaceTB-SmolLM3-3B.jinja"));
    snprintf(qwen35, sizeof qwen35, "%s", shared_path("templates/Qwen3.5-4B.jinja"));
    proc p = RUN("synth", "--like", "tiny-qwen2", "--type", "Q4_0", "--layers", "1", "--vocab",
                 shared_path("vocab/ggml-vocab-qwen2.gguf"), "-o", model);
    expect_status(&p, 0);
    proc_free(&p);
    static const char gen_prompt[] = "<|im_start|>assistant\\n", empty_block[] = "<think>\\n\\n</think>\\n\\n";

    /* Qwen3: its default (thinking), then --no-think */
    p = RUN_IN("Hi\n", "chat", model, "--chat-template", qwen3, "--verbose-prompt", "-n", "2", "--temp", "0", "-c",
               "256", "-t", "2");
    expect_status(&p, 0);
    char *text = verbose_prompt_text(p.err, 0);
    assert_non_null(text);
    if (!ends_with(text, "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"))
        fail_msg("Qwen3 prompt: %s", text);
    free(text);
    assert_null(strstr(p.out, "thinking:"));
    proc_free(&p);
    p = RUN_IN("Hi\n", "chat", model, "--chat-template", qwen3, "--no-think", "--verbose-prompt", "-n", "2", "--temp",
               "0", "-c", "256", "-t", "2");
    expect_status(&p, 0);
    text = verbose_prompt_text(p.err, 0);
    char want[256];
    snprintf(want, sizeof want, "%s%s", gen_prompt, empty_block);
    if (!text || !ends_with(text, want)) fail_msg("Qwen3 --no-think prompt: %s", text ? text : p.err);
    free(text);
    assert_null(strstr(p.err, "ignored"));
    proc_free(&p);

    /* /no_think for the second message, /think back for the third */
    p = RUN_IN("Hi\n/no_think\nHo\n/think\nHa\n", "chat", model, "--chat-template", qwen3, "--verbose-prompt", "-n",
               "2", "--temp", "0", "-c", "256", "-t", "2");
    expect_status(&p, 0);
    expect_contains(p.err, "(thinking off: enable_thinking=false from the next message on)");
    expect_contains(p.err, "(thinking on: enable_thinking=true from the next message on)");
    char *turn[3];
    for (int i = 0; i < 3; i++) {
        turn[i] = verbose_prompt_text(p.err, i);
        if (!turn[i]) fail_msg("no prompt %d in:\n%s", i, p.err);
    }
    assert_true(ends_with(turn[0], gen_prompt) && !strstr(turn[0], "think"));
    if (!ends_with(turn[1], want) || !strstr(turn[1], "Ho<|im_end|>")) fail_msg("second prompt: %s", turn[1]);
    if (!ends_with(turn[2], "Ha<|im_end|>\\n<|im_start|>assistant\\n")) fail_msg("third prompt: %s", turn[2]);
    for (int i = 0; i < 3; i++) free(turn[i]);
    proc_free(&p);

    /* SmolLM3 reads it in its system header and its generation prompt */
    p = RUN_IN("Hi\n", "chat", model, "--chat-template", smol, "--no-think", "--verbose-prompt", "-n", "1", "--temp",
               "0", "-c", "512", "-t", "2");
    expect_status(&p, 0);
    text = verbose_prompt_text(p.err, 0);
    if (!text || !strstr(text, "Reasoning Mode: /no_think") ||
        !ends_with(text, "<|im_start|>assistant\\n<think>\\n\\n</think>\\n"))
        fail_msg("SmolLM3 --no-think prompt: %s", text ? text : p.err);
    free(text);
    proc_free(&p);

    /* Qwen2.5 has no switch: said once, the prompt as without the flag */
    p = RUN_IN("Hi\n/no_think\nHo\n", "chat", model, "--chat-template", qwen25, "--no-think", "--verbose-prompt", "-n",
               "1", "--temp", "0", "-c", "256", "-t", "2");
    expect_status(&p, 0);
    expect_contains(p.err, "mote: --no-think is ignored: the chat template has no enable_thinking switch");
    expect_contains(p.err, "mote: /no_think is ignored: the chat template has no enable_thinking switch");
    text = verbose_prompt_text(p.err, 0);
    assert_non_null(text);
    if (!ends_with(text, "Hi<|im_end|>\\n<|im_start|>assistant\\n")) fail_msg("Qwen2.5 prompt: %s", text);
    free(text);
    proc_free(&p);

    /* Qwen3.5 opens the block: the whole (cut) reply is reasoning */
    p = RUN_IN("Hi\nHo\n", "chat", model, "--chat-template", qwen35, "--verbose-prompt", "-n", "4", "--temp", "0",
               "-c", "256", "-t", "2");
    expect_status(&p, 0);
    assert_true(strlen(p.out) > 0);
    for (const char *l = p.out; *l; l = strchr(l, '\n') + 1) {
        if (strncmp(l, "thinking:", 9) != 0) fail_msg("a line of the reply is not reasoning:\n%s", p.out);
        assert_non_null(strchr(l, '\n'));
    }
    text = verbose_prompt_text(p.err, 0);
    assert_non_null(text);
    assert_true(ends_with(text, "<|im_start|>assistant\\n<think>\\n"));
    free(text);
    text = verbose_prompt_text(p.err, 1);
    if (!text || !strstr(text, "<|im_start|>assistant\\n<|im_end|>")) /* the answer kept: nothing */
        fail_msg("second Qwen3.5 prompt: %s", text ? text : p.err);
    free(text);
    proc_free(&p);
    /* with --no-think it pre-fills an empty block: the reply is all answer */
    p = RUN_IN("Hi\n", "chat", model, "--chat-template", qwen35, "--no-think", "-n", "4", "--temp", "0", "-c", "256",
               "-t", "2");
    expect_status(&p, 0);
    assert_null(strstr(p.out, "thinking:"));
    proc_free(&p);
    synthmodel_tempdir_remove(dir);
}

/* ------------------------------------------------------------------------
 * logits: teacher forcing against the goldens
 * ---------------------------------------------------------------------- */

/* Tolerance of a logit against llama.cpp's on the generation path (as
 * test_golden's `gen`: the goldens' print precision at logits of 10-20). */
#define LOGITS_TOL 2e-4f

/* One output line of `mote logits`: "POS\tID:LOGIT ..." parsed into ids and
 * logits (at most cap pairs); returns the pairs read, -1 for a malformed
 * line or another position. */
static int parse_logits_line(const char *line, int pos, int32_t *ids, float *logits, int cap)
{
    char *end;
    if (strtol(line, &end, 10) != pos || *end != '\t') return -1;
    int n = 0;
    for (const char *p = end + 1; *p && *p != '\n' && n < cap;) {
        long id = strtol(p, &end, 10);
        if (end == p || *end != ':') return -1;
        ids[n] = (int32_t)id;
        logits[n++] = strtof(end + 1, &end);
        p = *end == ' ' ? end + 1 : end;
    }
    return n;
}

/* The printed top-10 of one golden step equals llama.cpp's within tol:
 * the k-th largest logits agree, and every golden id is printed with its
 * logit, except one that falls out at the bottom within tol of the 10th. */
static void expect_top10(const char *what, int step, const int32_t *ids, const float *logits, const golden_case *c)
{
    for (int k = 0; k < GOLDEN_TOPK; k++) {
        if (fabsf(logits[k] - c->top_logit[step][k]) > LOGITS_TOL)
            fail_msg("%s step %d: logit #%d is %d:%.6g, llama.cpp %d:%.6g", what, step, k, ids[k], (double)logits[k],
                     c->top_id[step][k], (double)c->top_logit[step][k]);
        int at = 0;
        while (at < GOLDEN_TOPK && ids[at] != c->top_id[step][k]) at++;
        if (at < GOLDEN_TOPK ? fabsf(logits[at] - c->top_logit[step][k]) > LOGITS_TOL
                             : c->top_logit[step][k] > logits[GOLDEN_TOPK - 1] + LOGITS_TOL)
            fail_msg("%s step %d: llama.cpp's id %d (%.6g) is %s", what, step, c->top_id[step][k],
                     (double)c->top_logit[step][k], at < GOLDEN_TOPK ? "printed with another logit" : "not printed");
    }
}

/* `mote logits --prompt N` (the prompt as a batch, then the greedy ids one
 * at a time, as llama.cpp made the goldens) prints llama.cpp's top-10 at
 * every golden step: position n_prompt - 1 + step. */
static void check_logits_golden(const char *name)
{
    golden_model *g = calloc(1, sizeof *g);
    assert_non_null(g);
    if (golden_load(name, g) != 0) fail_msg("cannot load the goldens of %s", name);
    char file[160];
    snprintf(file, sizeof file, "%s.gguf", name);
    char *model = model_path(file);
    int compared = 0;
    for (int ci = 0; ci < g->n_cases; ci++) {
        const golden_case *c = &g->cases[ci];
        char ids[8192] = "", n_prompt[16];
        size_t len = 0;
        for (int i = 0; i < c->n_prompt + c->n_greedy; i++)
            len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%d", i ? " " : "",
                                    (int)(i < c->n_prompt ? c->prompt[i] : c->greedy[i - c->n_prompt]));
        assert_true(len < sizeof ids);
        snprintf(n_prompt, sizeof n_prompt, "%d", c->n_prompt);
        proc p = RUN("logits", model, "--ids", ids, "--top-k", "10", "--prompt", n_prompt, "--kv-type", "f32", "-t",
                     "2");
        expect_status(&p, 0);
        const char *line = p.out;
        for (int pos = 0; pos < c->n_prompt + c->n_greedy; pos++) {
            if (!line || !*line) fail_msg("%s %s: no line for position %d:\n%s", name, c->name, pos, p.out);
            int32_t top_id[GOLDEN_TOPK];
            float top_logit[GOLDEN_TOPK];
            if (parse_logits_line(line, pos, top_id, top_logit, GOLDEN_TOPK) != GOLDEN_TOPK)
                fail_msg("%s %s: position %d: malformed line %.*s", name, c->name, pos, (int)strcspn(line, "\n"), line);
            const int step = pos - (c->n_prompt - 1);
            if (step >= 0 && step < c->n_steps) {
                char what[160];
                snprintf(what, sizeof what, "%s %s", name, c->name);
                expect_top10(what, step, top_id, top_logit, c);
                compared++;
            }
            line = strchr(line, '\n');
            if (line) line++;
        }
        assert_true(line && *line == '\0'); /* one line per position, nothing more */
        proc_free(&p);
    }
    print_message("[  INFO    ] %-28s %d golden steps match\n", name, compared);
    assert_true(compared >= GOLDEN_STEPS * 2);
    free(model);
    free(g);
}

static void test_logits_golden(void **state)
{
    SKIP_WITHOUT_SHARED();
    check_logits_golden("stories260K");
    check_logits_golden("TinyStories-656K-Q4_0");
}

/* The default (one batch) gives the same lines as step mode where the two
 * paths agree (F32 weights); a large --top-k (sorted, not kept by
 * insertion) starts with the small one's ids; -f reads the ids. */
static void test_logits_modes(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    const char *ids = "1 403 407 261 1 13 29";
    proc batch = RUN("logits", model, "--ids", ids, "--kv-type", "f32");
    proc step = RUN("logits", model, "--ids", ids, "--kv-type", "f32", "--prompt", "1");
    expect_status(&batch, 0);
    expect_status(&step, 0);
    int lines = 0;
    for (const char *at = batch.out; (at = strchr(at, '\n')); at++) lines++;
    assert_int_equal(lines, 7);
    const char *b = batch.out, *s = step.out;
    for (int pos = 0; pos < 7; pos++) {
        int32_t bi[10], si[10];
        float bl[10], sl[10];
        assert_int_equal(parse_logits_line(b, pos, bi, bl, 10), 10);
        assert_int_equal(parse_logits_line(s, pos, si, sl, 10), 10);
        for (int k = 0; k < 10; k++) {
            assert_int_equal(bi[k], si[k]);
            assert_true(fabsf(bl[k] - sl[k]) <= LOGITS_TOL);
            if (k > 0) assert_true(bl[k] <= bl[k - 1]);
        }
        b = strchr(b, '\n') + 1;
        s = strchr(s, '\n') + 1;
    }
    proc all = RUN("logits", model, "--ids", ids, "--kv-type", "f32", "--top-k", "512");
    expect_status(&all, 0);
    int32_t ai[512], bi[10];
    float al[512], bl[10];
    assert_int_equal(parse_logits_line(all.out, 0, ai, al, 512), 512);
    assert_int_equal(parse_logits_line(batch.out, 0, bi, bl, 10), 10);
    assert_memory_equal(ai, bi, sizeof bi);
    for (int k = 1; k < 512; k++) assert_true(al[k] <= al[k - 1]); /* printed with 6 digits: equal ones tie */
    proc_free(&all);

    char path[] = "/tmp/mote-test-ids-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char file_ids[] = "1 403\n407\t261 1\n13 29\n";
    assert_int_equal(write(fd, file_ids, sizeof file_ids - 1), (ssize_t)(sizeof file_ids - 1));
    close(fd);
    proc f = RUN("logits", model, "-f", path, "--kv-type", "f32");
    unlink(path);
    expect_status(&f, 0);
    assert_string_equal(f.out, batch.out);
    proc_free(&f);
    proc_free(&batch);
    proc_free(&step);
    free(model);
}

/* Bad ids and options: a usage error (2) naming the id and the range, or,
 * for an ids file, an error (1) naming the file. */
static void test_logits_errors(void **state)
{
    static const struct {
        const char *ids, *opt, *val, *msg;
    } cases[] = {
        {"1 2 x", NULL, NULL, "--ids: 'x' is not a token id (an integer)"},
        {"1 2.5", NULL, NULL, "--ids: '2.5' is not a token id"},
        {"", NULL, NULL, "--ids: no ids given"},
        {" \n ", NULL, NULL, "--ids: no ids given"},
        {"1 99999999999", NULL, NULL, "--ids: id 99999999999 is out of range"},
        {"1 2", "--top-k", "0", "--top-k: 0 is out of range [1, 1000000000]"},
        {"1 2", "--prompt", "3", "--prompt 3 is more than the 2 ids"},
        {"1 2", "--kv-type", "f8", "--kv-type must be f16, f32 or q8_0, not 'f8'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proc p = cases[i].opt ? RUN("logits", "m.gguf", "--ids", cases[i].ids, cases[i].opt, cases[i].val)
                              : RUN("logits", "m.gguf", "--ids", cases[i].ids);
        expect_status(&p, 2);
        expect_contains(p.err, cases[i].msg);
        expect_contains(p.err, "usage: mote logits");
        assert_string_equal(p.out, "");
        proc_free(&p);
    }
    expect_usage_error(RUN("logits", "m.gguf"));
    expect_usage_error(RUN("logits", "m.gguf", "--ids", "1", "-f", "ids.txt"));

    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    static const struct {
        const char *ids, *opt, *val, *msg;
    } model_cases[] = {
        {"1 2 512", NULL, NULL, "--ids: id 512 (position 2) is outside the vocabulary: ids are in [0, 512)"},
        {"-1", NULL, NULL, "--ids: id -1 (position 0) is outside the vocabulary: ids are in [0, 512)"},
        {"1 2", "--top-k", "513", "--top-k 513 is more than the vocabulary (512 tokens)"},
    };
    for (size_t i = 0; i < sizeof model_cases / sizeof model_cases[0]; i++) {
        proc p = model_cases[i].opt
                     ? RUN("logits", model, "--ids", model_cases[i].ids, model_cases[i].opt, model_cases[i].val)
                     : RUN("logits", model, "--ids", model_cases[i].ids);
        expect_status(&p, 2);
        expect_contains(p.err, model_cases[i].msg);
        assert_string_equal(p.out, "");
        proc_free(&p);
    }
    proc p = RUN("logits", model, "--ids", "1 2 3", "-c", "2");
    expect_status(&p, 1);
    expect_contains(p.err, "the 3 ids do not fit the context of 2 tokens (see -c)");
    proc_free(&p);
    p = RUN_IN("1 2\n600\n", "logits", model, "-f", "-");
    expect_status(&p, 1);
    expect_contains(p.err, "mote: stdin: id 600 (position 2) is outside the vocabulary: ids are in [0, 512)");
    proc_free(&p);
    p = RUN_IN("1 two", "logits", model, "-f", "-");
    expect_status(&p, 1);
    expect_contains(p.err, "'two' is not a token id");
    proc_free(&p);
    free(model);
}

/* ------------------------------------------------------------------------
 * bench and synth
 * ---------------------------------------------------------------------- */

/* mote tune writes this machine's profile into the cache directory; bench
 * says it used it, MOTE_TUNE=off that it did not; a corrupt profile is
 * ignored with a warning. */
static void test_tune(void **state)
{
    proc p = RUN("tune", "--help");
    expect_status(&p, 0);
    for (const char *o = "-t\0--quick\0--no-save\0--no-machine\0MOTE_TUNE=off\0"; *o; o += strlen(o) + 1)
        expect_contains(p.out, o);
    proc_free(&p);
    expect_usage_error(RUN("tune"));
    SKIP_WITHOUT_SHARED();
    char cache[] = "/tmp/mote-tune-cli-XXXXXX";
    assert_non_null(mkdtemp(cache));
    setenv("XDG_CACHE_HOME", cache, 1);
    const char *model = shared_path("models/synth-llama-Q8_0.gguf");
    p = RUN("tune", model, "-t", "2", "--quick", "--no-machine");
    expect_status(&p, 0);
    expect_contains(p.out, "| Q8_0 ");
    expect_contains(p.out, "; profile ");
    expect_contains(p.err, "/2] Q8_0 "); /* progress: one line per class */
    proc_free(&p);
    char profile[256];
    snprintf(profile, sizeof profile, "%s/mote", cache);
    p = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-t", "1");
    expect_status(&p, 0);
    expect_contains(p.out, "tuning: profile ");
    proc_free(&p);
    setenv("MOTE_TUNE", "off", 1);
    p = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "-o", "json");
    expect_status(&p, 0);
    expect_contains(p.out, "\"tuning\": {\"used\": false, \"disabled\": true");
    proc_free(&p);
    unsetenv("MOTE_TUNE");
    /* the profile corrupted: ignored, with a warning, and the run goes on */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "for f in %s/tune-*.json; do printf '{\"format\": \"mote-t' > \"$f\"; done", profile);
    assert_int_equal(system(cmd), 0);
    p = RUN("bench", model, "-p", "4", "-n", "2", "-r", "1", "-t", "1");
    expect_status(&p, 0);
    expect_contains(p.err, "warning: tuning profile ignored");
    expect_contains(p.out, "tuning: none");
    proc_free(&p);
    unsetenv("XDG_CACHE_HOME");
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
    assert_int_equal(system(cmd), 0);
}

static void test_bench_synth_help(void **state)
{
    static const struct {
        const char *verb;
        const char *opts[24];
    } cases[] = {
        {"bench", {"-m", "-p", "-n", "-t", "-r", "-d", "-o", "json"}},
        /* the model list whole: tiny-bert is its last line; the longest
         * name sets the column */
        {"synth", {"--like", "--type", "--vocab", "-o", "--seed", "--layers", "--exact",
                   "llama-3.2-1b", "qwen2.5-0.5b", "gemma-3-1b", "phi-4-mini", "tiny-smollm3",
                   "  all-minilm-l6          all-MiniLM-L6-v2; bert", "bge-small-en-v1.5",
                   "  nomic-embed-text-v1.5  nomic", "embeddinggemma-300m", "  tiny-bert  ",
                   "file depends only on the options", "Q4_K_M"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proc p = RUN(cases[i].verb, "--help");
        expect_status(&p, 0);
        expect_contains(p.out, "usage: mote ");
        for (int j = 0; cases[i].opts[j]; j++) expect_contains(p.out, cases[i].opts[j]);
        proc_free(&p);
    }
    expect_usage_error(RUN("bench"));                          /* no -m */
    expect_usage_error(RUN("bench", "-m", "m.gguf", "-o", "xml"));
    expect_usage_error(RUN("bench", "-m", "m.gguf", "-p", "0", "-n", "0"));
    expect_usage_error(RUN("synth", "--like", "tiny-llama", "-o", "x.gguf")); /* no vocab */
}

/* A JSON number field of obj, failing the test when absent. */
static double json_num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) fail_msg("JSON field '%s' missing or not a number", key);
    return v->valuedouble;
}

/* bench -o json: one valid object with every field, speeds consistent;
 * CPU seconds per token always, joules per token null with the reason when
 * there is no RAPL counter to read (a powercap root that is not there). */
static void test_bench_json(void **state)
{
    SKIP_WITHOUT_SHARED();
    char *model = model_path("stories260K.gguf");
    setenv("MOTE_POWERCAP_ROOT", "/nonexistent/powercap", 1);
    proc p = RUN("bench", "-m", model, "-p", "16", "-n", "8", "-r", "2", "-t", "1", "-o", "json");
    expect_status(&p, 0);
    cJSON *root = cJSON_Parse(p.out);
    if (!root) fail_msg("not JSON:\n%s", p.out);
    assert_int_equal(json_num(root, "n_prompt"), 16);
    assert_int_equal(json_num(root, "n_gen"), 8);
    assert_int_equal(json_num(root, "repetitions"), 2);
    assert_int_equal(json_num(root, "n_threads"), 1);
    assert_int_equal(json_num(root, "depth"), 0);
    assert_true(json_num(root, "n_params") > 0 && json_num(root, "size_bytes") > 0);
    double load = json_num(root, "load_s"), ttft = json_num(root, "ttft_s");
    assert_true(load > 0 && ttft >= load);
    assert_true(json_num(root, "peak_rss_bytes") > 0);
    static const char *const series[] = {"pp_tps", "tg_tps", "pp_cpu_s_per_token", "tg_cpu_s_per_token"};
    for (int i = 0; i < 4; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, series[i]);
        if (!cJSON_IsObject(s)) fail_msg("no object '%s'", series[i]);
        double lo = json_num(s, "min"), med = json_num(s, "median"), hi = json_num(s, "max");
        assert_true(lo > 0 && lo <= med && med <= hi);
        const cJSON *samples = cJSON_GetObjectItemCaseSensitive(s, "samples");
        assert_int_equal(cJSON_GetArraySize(samples), 2);
        /* a 260K model on one thread: well under a CPU-second a token */
        if (i >= 2) assert_true(hi < 0.1);
    }
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "pp_j_per_token")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "tg_j_per_token")));
    const cJSON *energy = cJSON_GetObjectItemCaseSensitive(root, "energy");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(energy, "available")));
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(energy, "reason");
    assert_true(cJSON_IsString(why));
    expect_contains(why->valuestring, "no powercap RAPL domain readable: /nonexistent/powercap: ");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    assert_true(cJSON_IsString(m) && strcmp(m->valuestring, model) == 0);
    cJSON_Delete(root);
    proc_free(&p);

    p = RUN("bench", "-m", model, "-p", "16", "-n", "0", "-r", "1", "-t", "1");
    unsetenv("MOTE_POWERCAP_ROOT");
    expect_status(&p, 0);
    expect_contains(p.out, " pp16 |");
    expect_contains(p.out, "| CPU ms/token |    J/token |");
    expect_contains(p.out, "|          - |\n");
    expect_contains(p.out, "time to first token");
    expect_contains(p.out, "energy: not available (no powercap RAPL domain readable: /nonexistent/powercap: ");
    assert_null(strstr(p.out, " tg"));
    proc_free(&p);
    free(model);
}

/* synth writes a model that the other verbs open. */
/* mote quantize: --help, a file mote reads back, and bad input refused
 * with a message and no output left (test_quantize covers the library). */
static void test_quantize_cli(void **state)
{
    SKIP_WITHOUT_SHARED();
    proc p = RUN("quantize", "--help");
    expect_status(&p, 0);
    expect_contains(p.out, "IN OUT TYPE");
    expect_contains(p.out, "Q4_K_M");
    expect_contains(p.out, "--token-embedding-type");
    proc_free(&p);

    char out[4096], text[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mote-cli-quant-%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    snprintf(text, sizeof text, "%s/mote-cli-quant-%d.txt", dir && *dir ? dir : "/tmp", (int)getpid());
    char *model = model_path("synth-llama-F32.gguf"); /* rows of 256: Q4_K without fallbacks */
    p = RUN("quantize", model, out, "Q4_K_M", "-t", "2", "--output-type", "q8_0");
    expect_status(&p, 0);
    expect_contains(p.out, "wrote");
    proc_free(&p);
    p = RUN("info", out, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "Q8_0"); /* the head */
    expect_contains(p.out, "Q4_K");
    proc_free(&p);
    unlink(out);

    /* With an importance matrix of its own: read, used, other bytes. */
    char imatrix[4200], plain[4200];
    snprintf(imatrix, sizeof imatrix, "%s.imatrix", out);
    snprintf(plain, sizeof plain, "%s.plain", out);
    char story[4096];
    snprintf(story, sizeof story, "%s", shared_path("golden/story.txt"));
    p = RUN("imatrix", model, "-f", story, "-c", "64", "-o", imatrix);
    expect_status(&p, 0);
    proc_free(&p);
    p = RUN("quantize", model, out, "Q4_K_M", "--imatrix", imatrix);
    expect_status(&p, 0);
    expect_contains(p.err, "importance matrix");
    proc_free(&p);
    p = RUN("quantize", model, plain, "Q4_K_M");
    expect_status(&p, 0);
    proc_free(&p);
    size_t n_a, n_b;
    char *a = read_file(out, &n_a), *b = read_file(plain, &n_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(n_a != n_b || memcmp(a, b, n_a) != 0);
    free(a);
    free(b);
    p = RUN("info", out, "--meta");
    expect_status(&p, 0);
    expect_contains(p.out, "quantize.imatrix.file");
    expect_contains(p.out, "quantize.imatrix.entries_count");
    proc_free(&p);
    unlink(out);
    unlink(plain);
    unlink(imatrix);

    FILE *fp = fopen(text, "w");
    assert_non_null(fp);
    fputs("not a model\n", fp);
    fclose(fp);
    const struct {
        const char *in, *type, *opt, *val, *says;
        int status;
    } bad[] = {
        {text, "Q8_0", NULL, NULL, text, 1},
        {model, "Q7_K", NULL, NULL, "unknown type 'Q7_K'", 1},
        {model, "Q8_0", "--output-type", "Q9", "unknown tensor type 'Q9'", 1},
        {model, "Q8_0", "--imatrix", text, text, 1},
        {model, "Q8_0", "-t", "x", "-t", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = bad[i].opt ? RUN("quantize", bad[i].in, out, bad[i].type, bad[i].opt, bad[i].val)
                       : RUN("quantize", bad[i].in, out, bad[i].type);
        expect_status(&p, bad[i].status);
        expect_contains(p.err, bad[i].says);
        proc_free(&p);
        assert_int_equal(access(out, F_OK), -1);
    }
    p = RUN("quantize", model, out);
    expect_status(&p, 2);
    proc_free(&p);
    unlink(text);
    free(model);
}

/* p (a command that wrote out) succeeded and out holds matrices of the
 * layout type named type; frees p and removes out. */
static void expect_layout_file(proc *p, const char *out, const char *type)
{
    expect_status(p, 0);
    expect_contains(p->out, "in kernel layouts");
    proc_free(p);
    proc q = RUN("info", out, "--tensors");
    expect_status(&q, 0);
    expect_contains(q.out, type);
    proc_free(&q);
    unlink(out);
}

/* `mote optimize out back --plain` gives model, the file out was
 * optimized from, back byte for byte; removes out and back. */
static void expect_plain_roundtrip(const char *model, const char *out, const char *back)
{
    proc p = RUN("optimize", out, back, "--plain");
    expect_status(&p, 0);
    proc_free(&p);
    size_t n_a, n_b;
    char *a = read_file(model, &n_a), *b = read_file(back, &n_b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(n_a, n_b);
    assert_memory_equal(a, b, n_a);
    free(a);
    free(b);
    unlink(back);
    unlink(out);
}

/* mote optimize: --help, a file in kernel layouts that info names and run
 * reads, --plain gives the input back byte for byte, quantize --optimize,
 * and bad input refused with no output left. */
static void test_optimize_cli(void **state)
{
    SKIP_WITHOUT_SHARED();
    proc p = RUN("optimize", "--help");
    expect_status(&p, 0);
    expect_contains(p.out, "IN OUT");
    expect_contains(p.out, "--plain");
    expect_contains(p.out, "Q8_0_R16");
    expect_contains(p.out, "IQ4_NL_R16");
    expect_contains(p.out, "Q4_K_R16");
    expect_contains(p.out, "Q6_K_R16");
    proc_free(&p);

    char out[4096], back[4200];
    const char *dir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mote-cli-opt-%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    snprintf(back, sizeof back, "%s.plain", out);
    char *model = model_path("synth-llama-Q8_0.gguf");
    p = RUN("optimize", model, out);
    expect_status(&p, 0);
    expect_contains(p.out, "in kernel layouts");
    proc_free(&p);
    p = RUN("info", out, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "Q8_0_R16");
    expect_contains(p.out, "token_embd.weight"); /* listed, and kept plain */
    proc_free(&p);
    p = RUN("run", out, "-p", "Once upon a time", "-n", "4", "--temp", "0");
    expect_status(&p, 0);
    proc_free(&p);
    expect_plain_roundtrip(model, out, back);

    char *f32 = model_path("synth-llama-F32.gguf");
    p = RUN("quantize", f32, out, "Q4_0", "--optimize");
    expect_layout_file(&p, out, "Q4_0_R16");
    free(f32);
    char *nl = model_path("synth-llama-IQ4_NL.gguf");
    p = RUN("optimize", nl, out);
    expect_layout_file(&p, out, "IQ4_NL_R16");
    free(nl);
    /* the Q4_K_M mix: its Q4_K and Q6_K matrices in layouts */
    char *km = model_path("synth-llama-Q4_K_M.gguf");
    p = RUN("optimize", km, out);
    expect_status(&p, 0);
    proc_free(&p);
    p = RUN("info", out, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "Q4_K_R16");
    expect_contains(p.out, "Q6_K_R16");
    proc_free(&p);
    expect_plain_roundtrip(km, out, back);
    free(km);

    p = RUN("optimize", "/nonexistent/model.gguf", out);
    expect_status(&p, 1);
    expect_contains(p.err, "/nonexistent/model.gguf");
    proc_free(&p);
    assert_int_equal(access(out, F_OK), -1);
    p = RUN("optimize", model);
    expect_status(&p, 2);
    proc_free(&p);
    free(model);
}

static void test_synth_cli(void **state)
{
    SKIP_WITHOUT_SHARED();
    char out[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mote-cli-synth-%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    char *vocab = model_path("stories260K.gguf");
    proc p = RUN("synth", "--like", "tiny-llama3", "--type", "Q4_K_M", "--vocab", vocab, "-o", out,
                 "--layers", "1", "--seed", "3");
    expect_status(&p, 0);
    expect_contains(p.out, "wrote");
    proc_free(&p);
    p = RUN("info", out, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "blk.0.attn_v.weight");
    expect_contains(p.out, "Q6_K");
    proc_free(&p);
    p = RUN("synth", "--like", "no-such-model", "--vocab", vocab, "-o", out);
    expect_status(&p, 1);
    expect_contains(p.err, "no-such-model");
    proc_free(&p);

    /* an embedding model: info names it, embed gives a vector of n_embd */
    const char *bert_vocab = shared_path("vocab/ggml-vocab-bert-bge.gguf");
    p = RUN("synth", "--like", "tiny-bert", "--type", "Q8_0", "--vocab", bert_vocab, "-o", out);
    expect_status(&p, 0);
    proc_free(&p);
    p = RUN("info", out, "--tensors");
    expect_status(&p, 0);
    expect_contains(p.out, "architecture:    bert\n");
    expect_contains(p.out, "embedding:       128\n");
    expect_contains(p.out, "pooling:         mean (an embedding model)\n");
    expect_contains(p.out, "position_embd.weight");
    proc_free(&p);
    p = RUN("embed", out, "hello world");
    expect_status(&p, 0);
    int n_floats = 0;
    for (char *q = p.out, *end;; q = end) {
        (void)strtof(q, &end);
        if (end == q) break;
        n_floats++;
    }
    assert_int_equal(n_floats, 128);
    proc_free(&p);
    unlink(out);
    free(vocab);
}

/* ------------------------------------------------------------------------
 * share
 * ---------------------------------------------------------------------- */

/* share: a true --help, clean errors, and a file the other verbs open that
 * says which layers share which block. */
static void test_prune_cli(void **state)
{
    SKIP_WITHOUT_SHARED();
    char out[4096], story[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mote-cli-prune-%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    snprintf(story, sizeof story, "%s", shared_path("golden/story.txt"));
    char *model = model_path("stories260K.gguf");
    proc p = RUN("prune", model, out, "-f", story, "-c", "128", "--ffn-keep", "0.5", "--drop-layers", "1");
    expect_status(&p, 0);
    expect_contains(p.out, "dropped layers:");
    expect_contains(p.out, "4 layers (was 5)");
    expect_contains(p.out, "86 FFN neurons per layer (was 172)");
    proc_free(&p);
    p = RUN("info", out);
    expect_status(&p, 0);
    expect_contains(p.out, "feed-forward:    86");
    proc_free(&p);
    unlink(out);

    const struct {
        const char *a, *b, *c, *d, *says;
        int status;
    } bad[] = {
        {"--ffn-keep", "0.5", "-c", "128", "-f TEXT", 2},          /* no text */
        {"-f", story, "-c", "128", "nothing to prune", 2},
        {"-f", story, "--ffn-keep", "1.5", "--ffn-keep", 2},
        {"-f", story, "--drop-layers", "9", "cannot drop 9 of 5", 1},
        {"-f", "/nonexistent/text", "--drop-layers", "1", "/nonexistent/text", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = RUN("prune", model, out, bad[i].a, bad[i].b, bad[i].c, bad[i].d);
        expect_status(&p, bad[i].status);
        expect_contains(p.err, bad[i].says);
        proc_free(&p);
        assert_int_equal(access(out, F_OK), -1);
    }
    free(model);
}

static void test_share_cli(void **state)
{
    proc p = RUN("share", "--help");
    expect_status(&p, 0);
    static const char *const help[] = {"usage: mote share IN OUT --blocks N", "--blocks", "--similarity",
                                       "--merge", "--map", "-t", "medoid", "mote.block_map"};
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) expect_contains(p.out, help[i]);
    proc_free(&p);
    expect_usage_error(RUN("share", "in.gguf", "out.gguf"));                    /* no --blocks */
    expect_usage_error(RUN("share", "in.gguf", "--blocks", "2"));               /* no OUT */
    expect_usage_error(RUN("share", "in.gguf", "out.gguf", "--blocks", "0"));
    expect_usage_error(RUN("share", "in.gguf", "out.gguf", "--blocks", "2", "--merge", "median"));
    expect_usage_error(RUN("share", "in.gguf", "out.gguf", "--blocks", "2", "--similarity", "vibes"));
    expect_usage_error(RUN("share", "in.gguf", "out.gguf", "--map", "0,x,1"));

    SKIP_WITHOUT_SHARED();
    char out[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(out, sizeof out, "%s/mote-cli-share-%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    char *model = model_path("stories260K.gguf");
    p = RUN("share", model, out, "--blocks", "6"); /* more blocks than layers */
    expect_status(&p, 1);
    expect_contains(p.err, "mote: share: 6 stored blocks asked for");
    expect_contains(p.err, "has 5 layers, so 1..5");
    assert_int_not_equal(access(out, F_OK), 0);
    proc_free(&p);
    p = RUN("share", shared_path("golden/story.txt"), out, "--blocks", "2"); /* not GGUF */
    expect_status(&p, 1);
    expect_contains(p.err, "mote: ");
    expect_contains(p.err, "story.txt");
    proc_free(&p);
    p = RUN("share", model, out, "--map", "0,0,1"); /* 3 entries for 5 layers */
    expect_status(&p, 1);
    expect_contains(p.err, "3 entries, but");
    assert_int_not_equal(access(out, F_OK), 0);
    proc_free(&p);

    p = RUN("share", model, out, "--blocks", "3", "-t", "1");
    expect_status(&p, 0);
    expect_contains(p.out, "0-1 ");
    expect_contains(p.out, "3-4 ");
    expect_contains(p.out, "5 layers on 3 stored blocks (medoid)");
    expect_contains(p.out, "block 0: layer");
    expect_contains(p.out, "block 2: layer");
    proc_free(&p);
    p = RUN("info", out);
    expect_status(&p, 0);
    expect_contains(p.out, "layers:          5, sharing 3 stored blocks (mote.block_map)\n");
    proc_free(&p);
    p = RUN("run", out, "-p", "Once upon a time", "-n", "4", "--temp", "0");
    expect_status(&p, 0);
    proc_free(&p);
    p = RUN("share", model, out, "--map", "0,1,0,1,2", "--merge", "medoid");
    expect_status(&p, 0);
    expect_contains(p.out, "block 0: layers 0 2\n");
    expect_contains(p.out, "block 1: layers 1 3\n");
    expect_contains(p.out, "block 2: layer 4\n");
    proc_free(&p);
    unlink(out);
    free(model);
}

/* ------------------------------------------------------------------------
 * embed
 * ---------------------------------------------------------------------- */

/* The floats of one golden line's fourth column, parsed into v. */
static int golden_vector(const char *rel, const char *key, float *v, int cap)
{
    char *field = tsv_field(rel, key, 3);
    int n = 0;
    for (char *p = field, *end; n < cap; p = end) {
        v[n] = strtof(p, &end);
        if (end == p) break;
        n++;
    }
    free(field);
    return n;
}

/* mote embed prints a line per text (arguments or -f lines) matching the
 * goldens; --json is OpenAI's shape; errors are clear. */
static void test_embed_command(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char model[512];
    snprintf(model, sizeof model, "%s", shared_path("models/embed/synth-nomic-bert-Q8_0.gguf"));
    const char *golden = "golden/embed/synth-nomic-bert-Q8_0.embed.tsv";
    float want[2][64];
    assert_int_equal(golden_vector(golden, "p1", want[0], 64), 64);
    assert_int_equal(golden_vector(golden, "p3", want[1], 64), 64);

    proc p = run_mote_in(NULL, (const char *[]){"embed", model, "hello world", "Edge devices keep data private.", NULL});
    expect_status(&p, 0);
    char *line = p.out;
    for (int i = 0; i < 2; i++) {
        char *end;
        for (int d = 0; d < 64; d++) {
            float v = strtof(line, &end);
            assert_true(end != line);
            assert_true(fabsf(v - want[i][d]) < 1e-4f);
            line = end;
        }
        assert_int_equal(*line, '\n');
        line++;
    }
    assert_int_equal(*line, '\0');
    proc_free(&p);

    /* -f: one text per non-blank line, from stdin; --json */
    p = run_mote_in("hello world\n\n  \nEdge devices keep data private.\r\n",
                    (const char *[]){"embed", model, "-f", "-", "--json", NULL});
    expect_status(&p, 0);
    cJSON *j = cJSON_Parse(p.out);
    assert_non_null(j);
    const cJSON *data = cJSON_GetObjectItem(j, "data");
    assert_int_equal(cJSON_GetArraySize(data), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *item = cJSON_GetArrayItem(data, i);
        assert_int_equal((int)json_num(item, "index"), i);
        const cJSON *vec = cJSON_GetObjectItem(item, "embedding");
        assert_int_equal(cJSON_GetArraySize(vec), 64);
        for (int d = 0; d < 64; d++) assert_true(fabs(cJSON_GetArrayItem(vec, d)->valuedouble - want[i][d]) < 1e-4);
    }
    assert_int_equal((int)json_num(cJSON_GetObjectItem(j, "usage"), "prompt_tokens"), 4 + 8);
    cJSON_Delete(j);
    proc_free(&p);

    /* --no-normalize: the raw pooled vector */
    float raw[64];
    assert_int_equal(golden_vector("golden/embed/synth-nomic-bert-Q8_0.embed.tsv.raw", "p1", raw, 64), 64);
    p = run_mote_in(NULL, (const char *[]){"embed", model, "--no-normalize", "hello world", NULL});
    expect_status(&p, 0);
    char *end = p.out;
    for (int d = 0; d < 64; d++) assert_true(fabsf(strtof(end, &end) - raw[d]) < 1e-4f * (1 + fabsf(raw[d])));
    proc_free(&p);

    p = run_mote_in(NULL, (const char *[]){"embed", model, NULL});
    expect_status(&p, 2);
    expect_contains(p.err, "TEXTs or with -f");
    proc_free(&p);
    p = run_mote_in(NULL, (const char *[]){"embed", model, "--pooling", "max", "x", NULL});
    expect_status(&p, 2);
    proc_free(&p);
    p = run_mote_in(NULL, (const char *[]){"embed", model, "-c", "4", "a longer text than four tokens", NULL});
    expect_status(&p, 1);
    expect_contains(p.err, "n_ctx 4");
    proc_free(&p);
    /* a generator's embedding of its last token: qwen3 with its pooling */
    snprintf(model, sizeof model, "%s", shared_path("models/embed/synth-qwen3-embed-F32.gguf"));
    assert_int_equal(golden_vector("golden/embed/synth-qwen3-embed-F32.embed.tsv", "p1", want[0], 64), 64);
    p = run_mote_in(NULL, (const char *[]){"embed", model, "hello world", NULL});
    expect_status(&p, 0);
    end = p.out;
    for (int d = 0; d < 64; d++) assert_true(fabsf(strtof(end, &end) - want[0][d]) < 1e-4f);
    proc_free(&p);
}

int main(int argc, char **argv)
{
    test_mote_bin(argv[0], mote_bin, sizeof mote_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overview_help),
        cmocka_unit_test(test_verb_help),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_strict_numbers),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_missing_model),
        cmocka_unit_test(test_tokenize_spm),
        cmocka_unit_test(test_info_stories),
        cmocka_unit_test(test_info_kv_cache),
        cmocka_unit_test(test_info_embedding_model),
        cmocka_unit_test(test_info_vocab_only),
        cmocka_unit_test(test_info_escapes),
        cmocka_unit_test(test_read_limits),
        cmocka_unit_test(test_chat_line_limit),
        cmocka_unit_test(test_model_not_regular),
        cmocka_unit_test(test_run_golden_ids),
        cmocka_unit_test(test_run_golden_ids_families),
        cmocka_unit_test(test_run_golden_text),
        cmocka_unit_test(test_run_says_why_it_stopped),
        cmocka_unit_test(test_run_speculative),
        cmocka_unit_test(test_run_lookup_auto),
        cmocka_unit_test(test_option_limits),
        cmocka_unit_test(test_newcomer_frictions),
        cmocka_unit_test(test_chat_ctrl_c),
        cmocka_unit_test(test_progress_on_terminal),
        cmocka_unit_test(test_chat_full_context),
        cmocka_unit_test(test_chat_plain),
        cmocka_unit_test(test_chat_incremental),
        cmocka_unit_test(test_chat_template),
        cmocka_unit_test(test_chat_injection_and_stats),
        cmocka_unit_test(test_think_split),
        cmocka_unit_test(test_chat_no_think),
        cmocka_unit_test(test_perplexity),
        cmocka_unit_test(test_kld),
        cmocka_unit_test(test_logits_golden),
        cmocka_unit_test(test_logits_modes),
        cmocka_unit_test(test_logits_errors),
        cmocka_unit_test(test_bench_synth_help),
        cmocka_unit_test(test_tune),
        cmocka_unit_test(test_bench_json),
        cmocka_unit_test(test_synth_cli),
        cmocka_unit_test(test_share_cli),
        cmocka_unit_test(test_prune_cli),
        cmocka_unit_test(test_quantize_cli),
        cmocka_unit_test(test_optimize_cli),
        cmocka_unit_test(test_embed_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
