/*
 * test_store.c — the model store (src/store/) against a hub on 127.0.0.1.
 *
 * The hub is a libmicrohttpd server in this process with the hub's URL
 * layout: ORG/REPO/resolve/main/FILE answers 302 to /cdn/ORG/FILE with
 * X-Linked-Size and X-Linked-Etag (the SHA-256), and /cdn serves the
 * bytes with Range support. The repository's organisation picks a fault:
 *   good    as the hub does it
 *   cut     the first download breaks off halfway (the next resumes)
 *   bad     X-Linked-Etag announces another hash
 *   nohash  no redirect and no X-Linked-* headers: only a pinned hash
 * The file served is a small model written by the test (synthmodel), so
 * nothing here needs ../shared.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "gguf/gguf.h"
#include "runmote.h"
#include "store/store.h"
#include "synthmodel.h"
#include "tensor/layout.h"
#include "testutil.h"

static struct {
    char *dir, *model_path, store[512];
    char *bytes;
    size_t len;
    char sha[65];
    struct MHD_Daemon *hub;
    int port;
    int cut_done;          /* the "cut" fault has struck once */
    char last_range[64];   /* the Range header of the last /cdn request */
    int cdn_requests;
    char mote_bin[4096];
} fx;

/* ------------------------------------------------------------------------
 * The hub
 * ---------------------------------------------------------------------- */

typedef struct cut_reader {
    size_t pos, stop;
} cut_reader;

static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    cut_reader *r = cls;
    if (pos >= r->stop) return MHD_CONTENT_READER_END_WITH_ERROR; /* the connection breaks */
    size_t n = r->stop - pos < max ? r->stop - pos : max;
    memcpy(buf, fx.bytes + pos, n);
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    const enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result hub(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    char org[64] = "", repo[128] = "", file[256] = "";
    if (sscanf(url, "/%63[^/]/%127[^/]/resolve/main/%255s", org, repo, file) == 3) {
        if (strcmp(org, "nohash") == 0) goto serve; /* a plain file server */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        char loc[512], size[32], etag[80];
        snprintf(loc, sizeof loc, "/cdn/%s/%s", org, file);
        snprintf(size, sizeof size, "%zu", fx.len);
        snprintf(etag, sizeof etag, "\"%s\"", strcmp(org, "bad") == 0 ? "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" : fx.sha);
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
        MHD_add_response_header(r, "X-Linked-Size", size);
        MHD_add_response_header(r, "X-Linked-Etag", etag);
        return reply(c, 302, r);
    }
    if (sscanf(url, "/cdn/%63[^/]/%255s", org, file) != 2) {
        return reply(c, 404, MHD_create_response_from_buffer(9, "not found", MHD_RESPMEM_PERSISTENT));
    }
serve:
    fx.cdn_requests++;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    snprintf(fx.last_range, sizeof fx.last_range, "%s", range ? range : "");
    size_t from = 0;
    if (range && sscanf(range, "bytes=%zu-", &from) == 1 && from < fx.len) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(fx.len - from, fx.bytes + from, MHD_RESPMEM_PERSISTENT);
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", from, fx.len - 1, fx.len);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        return reply(c, 206, r);
    }
    if (strcmp(org, "cut") == 0 && !fx.cut_done) {
        fx.cut_done = 1;
        static cut_reader half;
        half = (cut_reader){0, fx.len / 2};
        return reply(c, 200, MHD_create_response_from_callback(fx.len, 4096, cut_read, &half, NULL));
    }
    return reply(c, 200, MHD_create_response_from_buffer(fx.len, fx.bytes, MHD_RESPMEM_PERSISTENT));
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0) return -1;
    fx.dir = synthmodel_tempdir();
    fx.model_path = synthmodel_make(fx.dir, "tiny-llama", "Q8_0", 1);
    fx.bytes = read_file(fx.model_path, &fx.len);
    if (!fx.bytes) return -1;
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)fx.bytes, fx.len);
    for (size_t i = 0; i < sizeof d; i++) sprintf(fx.sha + 2 * i, "%02x", d[i]);
    snprintf(fx.store, sizeof fx.store, "%s/store", fx.dir);
    setenv("MOTE_MODELS", fx.store, 1);
    fx.hub = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, hub, NULL,
                              MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    if (!fx.hub) return -1;
    fx.port = MHD_get_daemon_info(fx.hub, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fx.port);
    setenv("MOTE_HUB", url, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(fx.hub);
    /* the store's files, then the folder */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.store);
    if (system(cmd) != 0) return -1;
    free(fx.bytes);
    free(fx.model_path);
    synthmodel_tempdir_remove(fx.dir);
    return 0;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static int pull_spec(const char *spec, const char *pin, store_pulled *got, char *err, size_t errcap)
{
    store_ref ref;
    assert_int_equal(store_resolve(spec, NULL, &ref, err, errcap), 0);
    char path[4096];
    const store_pull_opts opts = {.sha256 = pin};
    return store_pull(&ref, &opts, got, path, sizeof path, err, errcap);
}

static int exists(const char *name_ext)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", fx.store, name_ext);
    return stat(path, &st) == 0;
}

/* The stored model's bytes are the served ones. */
static void assert_stored(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gguf", fx.store, name);
    size_t n = 0;
    char *got = read_file(path, &n);
    assert_non_null(got);
    assert_int_equal(n, fx.len);
    assert_memory_equal(got, fx.bytes, n);
    free(got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* private */
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_resolve(void **state)
{
    (void)state;
    store_ref r;
    char err[512];
    assert_int_equal(store_resolve("hf:org/repo/sub/My Model.gguf", "http://h", &r, err, sizeof err), -1);
    assert_int_equal(store_resolve("hf:org/repo/sub/M+del-Q8_0.gguf", "http://h/", &r, err, sizeof err), 0);
    assert_string_equal(r.url, "http://h/org/repo/resolve/main/sub/M+del-Q8_0.gguf");
    assert_string_equal(r.name, "M-del-Q8_0");
    assert_int_equal(store_resolve("smollm2-135m", "http://h", &r, err, sizeof err), 0);
    assert_string_equal(r.name, "smollm2-135m");
    assert_non_null(strstr(r.url, "http://h/"));
    assert_non_null(strstr(r.url, "/resolve/main/"));
    assert_int_equal(store_resolve("https://x.org/a/b.gguf?download=1", NULL, &r, err, sizeof err), 0);
    assert_string_equal(r.name, "b");
    static const char *const bad[] = {"hf:org/repo", "hf:org//f.gguf", "hf:o/r/../x.gguf", "hf:o/r/x.bin", "nothing"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (store_resolve(bad[i], "http://h", &r, err, sizeof err) != -1) fail_msg("%s resolved", bad[i]);
    assert_true(store_is_pullable("smollm2-135m") && store_is_pullable("hf:a/b/c.gguf") && !store_is_pullable("x"));
}

static void test_pull_and_verify(void **state)
{
    (void)state;
    store_pulled got;
    char err[1024];
    if (pull_spec("hf:good/repo/tiny.gguf", NULL, &got, err, sizeof err) != 0) fail_msg("%s", err);
    assert_false(got.already || got.resumed);
    assert_true(got.sha256_checked);
    assert_string_equal(got.sha256, fx.sha);
    assert_stored("tiny");
    assert_false(exists("tiny.gguf.part") || exists("tiny.gguf.part.json"));
    assert_true(exists("tiny.json"));
    /* again: nothing to fetch */
    const int before = fx.cdn_requests;
    assert_int_equal(pull_spec("hf:good/repo/tiny.gguf", NULL, &got, err, sizeof err), 0);
    assert_true(got.already);
    assert_int_equal(fx.cdn_requests, before);
}

static void test_resume(void **state)
{
    (void)state;
    store_pulled got;
    char err[1024];
    fx.cut_done = 0;
    assert_int_equal(pull_spec("hf:cut/repo/cutme.gguf", NULL, &got, err, sizeof err), -1);
    if (!strstr(err, "resume")) fail_msg("no word of resuming: %s", err);
    assert_false(exists("cutme.gguf"));
    assert_true(exists("cutme.gguf.part"));
    if (pull_spec("hf:cut/repo/cutme.gguf", NULL, &got, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(got.resumed && got.resumed_from > 0 && got.resumed_from < fx.len);
    char want[64];
    snprintf(want, sizeof want, "bytes=%llu-", (unsigned long long)got.resumed_from);
    assert_string_equal(fx.last_range, want);
    assert_true(got.sha256_checked);
    assert_stored("cutme");
}

static void test_corrupt_rejected(void **state)
{
    (void)state;
    store_pulled got;
    char err[1024];
    assert_int_equal(pull_spec("hf:bad/repo/evil.gguf", NULL, &got, err, sizeof err), -1);
    if (!strstr(err, "SHA-256 mismatch")) fail_msg("%s", err);
    assert_false(exists("evil.gguf") || exists("evil.gguf.part") || exists("evil.json"));
    /* no hash from the server: a pinned one decides */
    assert_int_equal(pull_spec("hf:nohash/repo/plain.gguf",
                               "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", &got, err, sizeof err),
                     -1);
    if (!strstr(err, "--sha256")) fail_msg("%s", err);
    assert_false(exists("plain.gguf"));
    if (pull_spec("hf:nohash/repo/plain.gguf", fx.sha, &got, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(got.sha256_checked);
    assert_stored("plain");
    assert_int_equal(pull_spec("hf:nohash/repo/plain2.gguf", "xyz", &got, err, sizeof err), -1);
    /* a 404 leaves nothing */
    store_ref ref;
    char path[4096];
    snprintf(ref.name, sizeof ref.name, "missing");
    snprintf(ref.url, sizeof ref.url, "http://127.0.0.1:%d/nothing/here.gguf", fx.port);
    assert_int_equal(store_pull(&ref, NULL, &got, path, sizeof path, err, sizeof err), -1);
    if (!strstr(err, "404")) fail_msg("%s", err);
    assert_false(exists("missing.gguf.part"));
}

/* A full disk (a file size limit here): the error says so, the part stays
 * for a later resume, no model appears. */
static void test_disk_full(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        const struct rlimit rl = {(rlim_t)fx.len / 3, (rlim_t)fx.len / 3};
        setrlimit(RLIMIT_FSIZE, &rl);
        store_ref ref;
        store_pulled got;
        char err[1024] = "", path[4096];
        store_resolve("hf:good/repo/full.gguf", NULL, &ref, err, sizeof err);
        const int rc = store_pull(&ref, NULL, &got, path, sizeof path, err, sizeof err);
        if (write(fds[1], err, strlen(err)) < 0) _exit(3);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char msg[1024] = "";
    const ssize_t n = read(fds[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 1);
    if (!strstr(msg, "writing") || !strstr(msg, "too large")) fail_msg("%s", msg);
    assert_false(exists("full.gguf"));
    assert_true(exists("full.gguf.part"));
}

static void test_list_show_rm(void **state)
{
    (void)state;
    store_entry *e = NULL;
    int n = 0;
    char err[1024];
    assert_int_equal(store_list(&e, &n, err, sizeof err), 0);
    /* tiny, cutme, plain; full is a partial download */
    const char *want[] = {"cutme", "full", "plain", "tiny"};
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) assert_string_equal(e[i].name, want[i]);
    assert_true(e[1].partial && !e[3].partial);
    assert_int_equal(e[3].bytes, fx.len);
    assert_string_equal(e[3].sha256, fx.sha);
    assert_non_null(strstr(e[3].source, "/good/repo/resolve/main/tiny.gguf"));
    free(e);
    store_entry one;
    assert_int_equal(store_show("tiny", &one, err, sizeof err), 0);
    assert_int_equal(one.bytes, fx.len);
    assert_int_equal(store_show("nope", &one, err, sizeof err), -1);
    assert_int_equal(store_show("../etc", &one, err, sizeof err), -1);
    assert_int_equal(store_rm("full", err, sizeof err), 0);
    assert_false(exists("full.gguf.part"));
    assert_int_equal(store_rm("full", err, sizeof err), -1);
    assert_int_equal(store_rm("../x", err, sizeof err), -1);
}

/* The command: pull, list, show, rm, and a catalogue name pulled on first
 * use by `mote run` (the README's first command). */
static int run_mote(const char *args, char *out, size_t cap)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", fx.mote_bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    const int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command(void **state)
{
    (void)state;
    char out[8192];
    if (run_mote("pull hf:good/repo/cli-model.gguf", out, sizeof out) != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "pulled cli-model"));
    assert_non_null(strstr(out, fx.sha));
    if (run_mote("list", out, sizeof out) != 0 || !strstr(out, "cli-model")) fail_msg("%s", out);
    if (run_mote("show cli-model", out, sizeof out) != 0 || !strstr(out, fx.sha)) fail_msg("%s", out);
    if (run_mote("run cli-model -p Once -n 3 --temp 0", out, sizeof out) != 0) fail_msg("run by name: %s", out);
    /* first use of a catalogue name pulls it, then runs */
    if (run_mote("run smollm2-135m -p Once -n 3 --temp 0", out, sizeof out) != 0) fail_msg("first run: %s", out);
    assert_non_null(strstr(out, "pulling it"));
    assert_true(exists("smollm2-135m.gguf"));
    if (run_mote("rm cli-model", out, sizeof out) != 0) fail_msg("%s", out);
    assert_false(exists("cli-model.gguf"));
    assert_int_equal(run_mote("show cli-model", out, sizeof out), 1);
    assert_int_equal(run_mote("pull hf:bad/repo/x.gguf", out, sizeof out), 1);
    assert_non_null(strstr(out, "SHA-256 mismatch"));
}

/* ------------------------------------------------------------------------
 * mote pull --optimize
 * ---------------------------------------------------------------------- */

static test_proc mote(const char *a0, const char *a1, const char *a2, const char *a3)
{
    const char *const args[] = {a0, a1, a2, a3, NULL};
    return test_run_mote(fx.mote_bin, NULL, args, 120);
}

/* `mote ARGS...`, which must exit with want; its stderr (malloc'd). */
static char *mote_expect(int want, const char *a0, const char *a1, const char *a2, const char *a3)
{
    test_proc p = mote(a0, a1, a2, a3);
    test_expect_status(&p, want);
    free(p.out);
    return p.err;
}

static char *store_path(const char *name_ext)
{
    char *path = malloc(1024);
    assert_non_null(path);
    snprintf(path, 1024, "%s/%s", fx.store, name_ext);
    return path;
}

/* The tensors of the stored model in layout types; every other tensor
 * keeps the served file's type, and the ones the model looks up by rows
 * (token_embd) stay plain. */
static int count_layout_tensors(const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "%s.gguf", name);
    char *path = store_path(file);
    gguf_file *opt = NULL, *plain = NULL;
    assert_int_equal(gguf_open(path, &opt), MOTE_OK);
    assert_int_equal(gguf_open(fx.model_path, &plain), MOTE_OK);
    assert_int_equal(opt->n_tensors, plain->n_tensors);
    int n = 0;
    for (uint64_t i = 0; i < opt->n_tensors; i++) {
        const gguf_tensor *t = &opt->tensors[i], *p = gguf_find_tensor(plain, t->name);
        assert_non_null(p);
        if (layout_is(t->type)) {
            assert_int_equal(layout_plain(t->type), p->type);
            assert_string_not_equal(t->name, "token_embd.weight");
            n++;
        } else {
            assert_int_equal(t->type, p->type);
        }
    }
    gguf_close(opt);
    gguf_close(plain);
    free(path);
    return n;
}

/* The top logits of every position, by the batch path and one token at a
 * time (mote logits), of a model: a store name or a file. */
static char *logits_of(const char *model)
{
    const char *const args[] = {"logits", model, "--ids", "1 40 41 42 43 44 45 46 47 48 49 50",
                                "--prompt", "6",  "--top-k", "8", NULL};
    test_proc p = test_run_mote(fx.mote_bin, NULL, args, 120);
    test_expect_status(&p, 0);
    free(p.err);
    assert_true(strlen(p.out) > 0);
    return p.out;
}

static void assert_same_logits(const char *name)
{
    char *want = logits_of(fx.model_path), *got = logits_of(name);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

/* The served bytes, stored plain: what a failed or skipped optimize keeps. */
static void assert_plain(const char *name)
{
    assert_stored(name);
    store_entry e;
    char err[512];
    assert_int_equal(store_show(name, &e, err, sizeof err), 0);
    assert_int_equal(e.optimized, 0);
    assert_int_equal(e.optimized_at, 0);
}

static int rewrites_left(const char *name)
{
    char dir[4096], prefix[256];
    snprintf(dir, sizeof dir, "%s", fx.store);
    const int n = snprintf(prefix, sizeof prefix, "%s.gguf.optimizing", name);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int left = 0;
    for (struct dirent *de; (de = readdir(d));) left += strncmp(de->d_name, prefix, (size_t)n) == 0;
    closedir(d);
    return left;
}

/* Download, verify, rewrite in layouts: the record says so and keeps the
 * download's source and hash; the model computes what the plain file does. */
static void test_pull_optimize(void **state)
{
    (void)state;
    test_proc h = mote("pull", "--help", NULL, NULL);
    test_expect_status(&h, 0);
    test_expect_contains(h.out, "[--optimize] [--force]");
    test_expect_contains(h.out, "keeps the plain model");
    test_expect_contains(h.out, "rewritten\nin place, not fetched again");
    test_proc_free(&h);
    const int before = fx.cdn_requests;
    char *err = mote_expect(0, "pull", "--optimize", "hf:good/repo/opt.gguf", NULL);
    test_expect_contains(err, "pulled opt");
    test_expect_contains(err, "(checked)");
    test_expect_contains(err, "optimized opt");
    free(err);
    assert_int_equal(fx.cdn_requests, before + 1);
    const int n = count_layout_tensors("opt");
    assert_true(n > 0);
    assert_int_equal(rewrites_left("opt"), 0);
    char *path = store_path("opt.gguf");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(path);

    store_entry e;
    char msg[512];
    assert_int_equal(store_show("opt", &e, msg, sizeof msg), 0);
    assert_int_equal(e.optimized, 1);
    assert_true(e.optimized_at > 0);
    assert_int_equal(e.optimized_tensors, n);
    assert_string_equal(e.sha256, fx.sha); /* the download's */
    assert_non_null(strstr(e.source, "/good/repo/resolve/main/opt.gguf"));

    test_proc p = mote("show", "opt", NULL, NULL);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "layout:  kernel layouts");
    test_expect_contains(p.out, fx.sha);
    test_expect_contains(p.out, "of the download");
    test_proc_free(&p);
    p = mote("list", NULL, NULL, NULL);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "(optimized)");
    test_proc_free(&p);

    assert_same_logits("opt");
}

/* Pulling an optimized model again fetches nothing; --force fetches the
 * plain file back; --optimize on a plain stored model rewrites it without
 * a download, and with --force after one. */
static void test_pull_optimize_again(void **state)
{
    (void)state;
    const int before = fx.cdn_requests;
    char *err = mote_expect(0, "pull", "hf:good/repo/opt.gguf", NULL, NULL);
    test_expect_contains(err, "in kernel layouts");
    test_expect_contains(err, "--force");
    free(err);
    err = mote_expect(0, "pull", "--optimize", "hf:good/repo/opt.gguf", NULL);
    test_expect_contains(err, "in kernel layouts");
    free(err);
    assert_int_equal(fx.cdn_requests, before);
    assert_true(count_layout_tensors("opt") > 0);

    err = mote_expect(0, "pull", "--force", "hf:good/repo/opt.gguf", NULL);
    test_expect_contains(err, "pulled opt");
    free(err);
    assert_int_equal(fx.cdn_requests, before + 1);
    assert_plain("opt");

    err = mote_expect(0, "pull", "hf:good/repo/opt.gguf", "--optimize", NULL);
    test_expect_contains(err, "optimizing it");
    test_expect_contains(err, "optimized opt");
    free(err);
    assert_int_equal(fx.cdn_requests, before + 1);
    assert_true(count_layout_tensors("opt") > 0);

    err = mote_expect(0, "pull", "--force", "--optimize", "hf:good/repo/opt.gguf");
    test_expect_contains(err, "pulled opt");
    test_expect_contains(err, "optimized opt");
    free(err);
    assert_int_equal(fx.cdn_requests, before + 2);
    store_entry e;
    char msg[512];
    assert_int_equal(store_show("opt", &e, msg, sizeof msg), 0);
    assert_true(e.optimized == 1 && e.optimized_tensors > 0);
    assert_string_equal(e.sha256, fx.sha);
    assert_same_logits("opt");
    assert_int_equal(store_rm("opt", msg, sizeof msg), 0);
}

/* Write bytes to the store as dir/name_ext. */
static void put_file(const char *name_ext, const void *bytes, size_t n)
{
    char *path = store_path(name_ext);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(path);
}

/* A rewrite that fails (a full disk; a file that is not GGUF) keeps the
 * plain model and leaves no temporary file, also none an earlier killed
 * rewrite left; a model with nothing to convert is kept as it is. */
static void test_pull_optimize_fails(void **state)
{
    (void)state;
    char msg[512];
    char *err = mote_expect(0, "pull", "hf:good/repo/keep.gguf", NULL, NULL);
    free(err);
    put_file("keep.gguf.optimizing.tmp-AbC123", "half", 4); /* what a killed rewrite leaves */
    put_file("keep.gguf.optimizing", "whole?", 6);
    assert_int_equal(rewrites_left("keep"), 2);
    /* the file size limit is far below the model's: the rewrite fails */
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "ulimit -f %zu && exec '%s' pull --optimize hf:good/repo/keep.gguf", fx.len / 3 / 1024,
             fx.mote_bin);
    const char *const sh[] = {"-c", cmd, NULL};
    test_proc p = test_run_mote("/bin/sh", NULL, sh, 120);
    test_expect_status(&p, 1);
    test_expect_contains(p.err, "optimize keep");
    test_expect_contains(p.err, "too large");
    test_expect_contains(p.err, "the plain model is kept");
    test_proc_free(&p);
    assert_plain("keep");
    assert_int_equal(rewrites_left("keep"), 0);
    assert_same_logits("keep"); /* and usable */

    /* a stored file that is not GGUF: an error, the file as it was */
    put_file("broken.gguf", "GGUF but not really", 19);
    err = mote_expect(1, "pull", "--optimize", "hf:good/repo/broken.gguf", NULL);
    test_expect_contains(err, "the plain model is kept");
    free(err);
    size_t n = 0;
    char *path = store_path("broken.gguf"), *bytes = read_file(path, &n);
    assert_int_equal(n, 19);
    assert_memory_equal(bytes, "GGUF but not really", 19);
    free(bytes);
    free(path);
    assert_int_equal(rewrites_left("broken"), 0);

    /* nothing to convert (F16): not an error, the file untouched */
    char *f16 = synthmodel_make(fx.dir, "tiny-llama", "F16", 1);
    bytes = read_file(f16, &n);
    assert_non_null(bytes);
    put_file("half.gguf", bytes, n);
    err = mote_expect(0, "pull", "--optimize", "hf:good/repo/half.gguf", NULL);
    test_expect_contains(err, "kept as downloaded");
    free(err);
    size_t m = 0;
    path = store_path("half.gguf");
    char *now = read_file(path, &m);
    assert_int_equal(m, n);
    assert_memory_equal(now, bytes, n);
    assert_int_equal(rewrites_left("half"), 0);
    free(now);
    free(path);
    free(bytes);
    free(f16);

    /* mote's own FP8 records its type under a mote.type key too, but it is
     * no layout: plain, and nothing to convert */
    char *fp8 = synthmodel_make(fx.dir, "tiny-llama", "FP8", 1);
    bytes = read_file(fp8, &n);
    assert_non_null(bytes);
    put_file("eight.gguf", bytes, n);
    free(bytes);
    free(fp8);
    store_entry e;
    assert_int_equal(store_show("eight", &e, msg, sizeof msg), 0);
    assert_int_equal(e.optimized, 0);
    err = mote_expect(0, "pull", "--optimize", "hf:good/repo/eight.gguf", NULL);
    test_expect_contains(err, "kept as downloaded");
    free(err);
    assert_int_equal(store_rm("eight", msg, sizeof msg), 0);

    /* rm takes what a rewrite left along */
    put_file("keep.gguf.optimizing.tmp-XyZ789", "half", 4);
    put_file("keepsake.gguf.optimizing", "other", 5); /* another model's */
    assert_int_equal(store_rm("keep", msg, sizeof msg), 0);
    assert_int_equal(rewrites_left("keep."), 0);
    assert_int_equal(rewrites_left("keepsake"), 1);
    assert_int_equal(store_rm("broken", msg, sizeof msg), 0);
    assert_int_equal(store_rm("half", msg, sizeof msg), 0);
}

int main(int argc, char **argv)
{
    test_fix_pool_size();
    test_mote_bin(argv[0], fx.mote_bin, sizeof fx.mote_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_pull_and_verify),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_corrupt_rejected),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_list_show_rm),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_pull_optimize),
        cmocka_unit_test(test_pull_optimize_again),
        cmocka_unit_test(test_pull_optimize_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
