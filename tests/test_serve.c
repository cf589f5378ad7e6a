/*
 * test_serve.c — `mote serve` (src/serve/) over real HTTP.
 *
 * Each test starts the built command (env MOTE_BIN, else build/mote) on
 * 127.0.0.1 with --port 0, reads the port from its "listening on" line
 * on stderr, talks HTTP/1.1 to it over plain sockets, and stops it with
 * SIGTERM, which must end it with status 0. The server's helpers
 * (loopback test, constant-time compare) are checked directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "serve/server.h"
#include "testutil.h"

extern char **environ;

static char mote_bin[4096];
/* The server a test started and has not stopped: killed by the teardown
 * when the test fails half way. */
static pid_t live_pid;

/* Seconds the server may take to say it is listening (slow under qemu and
 * sanitizers), and to exit after SIGTERM. */
#define START_TIMEOUT_S 60
#define STOP_TIMEOUT_S 30
/* Idle with a loaded model (after a generation), the server uses no CPU
 * at all: 0 ticks over 10 s. */
#define IDLE_SECONDS 10

typedef struct server {
    pid_t pid;
    int err_fd;  /* the server's stderr (a temporary file) */
    int port;
} server;

typedef struct reply {
    int status;   /* HTTP status, 0 when none came */
    char *head;   /* status line and headers */
    char *body;
} reply;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

static char *slurp_fd(int fd)
{
    off_t n = lseek(fd, 0, SEEK_END);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    buf[n] = '\0';
    return buf;
}

static int temp_fd(void)
{
    char path[] = "/tmp/mote-test-serve-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* Spawn `mote serve ARGS...` (NULL-terminated) with stderr to a file. */
static pid_t spawn_serve(const char *const *args, int err_fd)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = mote_bin;
    argv[n++] = "serve";
    for (size_t i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* stdout too: a server left running must not hold the runner's pipe */
    posix_spawn_file_actions_adddup2(&fa, err_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    pid_t pid;
    const int rc = posix_spawn(&pid, mote_bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail_msg("cannot run %s (set MOTE_BIN)", mote_bin);
    return pid;
}

/* Wait for pid to end; its exit status, or 128 + signal. */
static int wait_exit(pid_t pid, int timeout_s)
{
    int ws;
    const double deadline = now_s() + timeout_s;
    pid_t w;
    while ((w = waitpid(pid, &ws, WNOHANG)) == 0) {
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &ws, 0);
            if (pid == live_pid) live_pid = 0;
            fail_msg("mote serve still running after %d s: killed", timeout_s);
        }
        sleep_ms(5);
    }
    assert_int_equal(w, pid);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Start a server on 127.0.0.1 port 0 with more arguments (NULL-ended). */
static server start_server(const char *first, ...)
{
    const char *args[48] = {"--port", "0"};
    size_t n = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 47; a = va_arg(ap, const char *)) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    server s = {.err_fd = temp_fd()};
    s.pid = live_pid = spawn_serve(args, s.err_fd);
    static const char mark[] = "listening on http://127.0.0.1:";
    const double deadline = now_s() + START_TIMEOUT_S;
    for (;;) {
        char *err = slurp_fd(s.err_fd);
        const char *p = strstr(err, mark);
        if (p) s.port = atoi(p + sizeof mark - 1);
        free(err);
        if (s.port > 0) return s;
        int ws;
        if (waitpid(s.pid, &ws, WNOHANG) == s.pid) {
            live_pid = 0;
            fail_msg("mote serve exited before listening");
        }
        if (now_s() > deadline) {
            kill(s.pid, SIGKILL);
            waitpid(s.pid, &ws, 0);
            live_pid = 0;
            fail_msg("mote serve did not say it listens within %d s", START_TIMEOUT_S);
        }
        sleep_ms(10);
    }
}

/* SIGTERM (or sig): the server must exit 0. Returns its stderr. */
static char *stop_server_with(server *s, int sig)
{
    kill(s->pid, sig);
    const int status = wait_exit(s->pid, STOP_TIMEOUT_S);
    live_pid = 0;
    char *err = slurp_fd(s->err_fd);
    close(s->err_fd);
    if (status != 0) fail_msg("mote serve exited with %d after signal %d; stderr:\n%s", status, sig, err);
    return err;
}

static void stop_server(server *s)
{
    free(stop_server_with(s, SIGTERM));
}

/* Undo chunked transfer coding in place: "SIZE\r\nDATA\r\n"... "0\r\n\r\n". */
static void dechunk(char *body)
{
    char *in = body, *out = body;
    for (;;) {
        char *end;
        const unsigned long n = strtoul(in, &end, 16);
        if (end == in || strncmp(end, "\r\n", 2) != 0) fail_msg("bad chunk at: %.40s", in);
        if (n == 0) break;
        in = end + 2;
        if (strlen(in) < n + 2) fail_msg("a chunk is cut short");
        memmove(out, in, n);
        out += n;
        in += n + 2;
    }
    *out = '\0';
}

/* Send raw bytes (a whole request) and read the reply until the server
 * closes the connection. */
static reply http_raw(int port, const char *req, size_t len)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    /* The server may answer (413, 401) and close before it read it all. */
    for (size_t off = 0; off < len;) {
        const ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n + 1 >= cap) assert_non_null(buf = realloc(buf, cap *= 2));
        const ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    reply rep = {0};
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep) {
        *sep = '\0';
        rep.body = strdup(sep + 4);
        sscanf(buf, "HTTP/1.%*d %d", &rep.status);
        if (strcasestr(buf, "Transfer-Encoding: chunked")) dechunk(rep.body);
    } else {
        rep.body = strdup("");
    }
    rep.head = buf;
    return rep;
}

/* METHOD path with an optional JSON body and extra header lines. */
static reply http(int port, const char *method, const char *path, const char *body, const char *headers)
{
    char *req = NULL;
    assert_true(asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path,
                         headers ? headers : "") > 0);
    char *full = NULL;
    if (body)
        assert_true(asprintf(&full, "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", req,
                             strlen(body), body) > 0);
    else
        assert_true(asprintf(&full, "%s\r\n", req) > 0);
    free(req);
    req = full;
    reply r = http_raw(port, req, strlen(req));
    free(req);
    return r;
}

static void reply_free(reply *r)
{
    free(r->head);
    free(r->body);
}

/* The reply has `status` and, when not NULL, its body contains `want`. */
static void expect(reply r, int status, const char *want)
{
    if (r.status != status || (want && !strstr(r.body, want)))
        fail_msg("expected %d with '%s', got %d: %s", status, want ? want : "", r.status, r.body);
    reply_free(&r);
}

/* An OpenAI error object with this status, param and code ("null" for none). */
static void expect_error(reply r, int status, const char *param, const char *code)
{
    char want_param[128], want_code[128];
    snprintf(want_param, sizeof want_param, strcmp(param, "null") ? "\"param\":\"%s\"" : "\"param\":%s", param);
    snprintf(want_code, sizeof want_code, strcmp(code, "null") ? "\"code\":\"%s\"" : "\"code\":%s", code);
    if (r.status != status || strncmp(r.body, "{\"error\":{\"message\":\"", 21) != 0 ||
        !strstr(r.body, "\"type\":\"") || !strstr(r.body, want_param) || !strstr(r.body, want_code))
        fail_msg("expected %d with param %s code %s, got %d: %s", status, param, code, r.status, r.body);
    if (!strstr(r.head, "Content-Type: application/json")) fail_msg("not JSON: %s", r.head);
    reply_free(&r);
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_helpers(void **state)
{
    assert_true(serve_host_is_loopback("127.0.0.1"));
    assert_true(serve_host_is_loopback("127.1.2.3"));
    assert_true(serve_host_is_loopback("::1"));
    assert_true(serve_host_is_loopback("localhost"));
    assert_false(serve_host_is_loopback("0.0.0.0"));
    assert_false(serve_host_is_loopback("::"));
    assert_false(serve_host_is_loopback("192.168.1.1"));
    assert_false(serve_host_is_loopback("128.0.0.1"));
    assert_true(serve_secret_equal("abc", 3, "abc", 3));
    assert_false(serve_secret_equal("abd", 3, "abc", 3));
    assert_false(serve_secret_equal("ab", 2, "abc", 3));
    assert_false(serve_secret_equal("abcd", 4, "abc", 3));
    assert_false(serve_secret_equal("", 0, "abc", 3));
}

/* /health, and /v1/models lists every MODEL by its stem without opening
 * one: the files do not exist. */
static void test_health_and_models(void **state)
{
    server s = start_server("/nonexistent/alpha.gguf", "/nonexistent/beta-Q8_0.gguf", NULL);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "{\"status\":\"ok\"}");
    reply r = http(s.port, "GET", "/v1/models", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"object\":\"list\",\"data\":[{\"id\":\"alpha\",\"object\":\"model\",\"created\":"));
    assert_non_null(strstr(r.body, "\"owned_by\":\"mote\",\"status\":{\"state\":\"unloaded\",\"bytes\":0,"));
    assert_non_null(strstr(r.body, "},{\"id\":\"beta-Q8_0\",\"object\":\"model\""));
    assert_non_null(strstr(r.body, "\"memory\":{\"budget\":"));
    reply_free(&r);
    /* a model that cannot be opened is a 500 with the reason, and the
     * server stays up */
    expect_error(http(s.port, "POST", "/tokenize", "{\"model\":\"alpha\",\"content\":\"a\"}", NULL), 500, "model",
                 "null");
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    stop_server(&s);

    /* --models DIR: its .gguf files, sorted, after the MODELs given */
    char dir[] = "/tmp/mote-test-models-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    static const char *const files[] = {"zeta.gguf", "alpha.gguf", "notes.txt", ".hidden.gguf"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        const int fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
    }
    s = start_server("/nonexistent/first.gguf", "--models", dir, NULL);
    reply r2 = http(s.port, "GET", "/v1/models", NULL, NULL);
    const char *f = strstr(r2.body, "\"first\""), *a = strstr(r2.body, "\"alpha\""), *z = strstr(r2.body, "\"zeta\"");
    if (!f || !a || !z || !(f < a && a < z) || strstr(r2.body, "notes") || strstr(r2.body, "hidden"))
        fail_msg("--models: %s", r2.body);
    reply_free(&r2);
    stop_server(&s);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_tokenize_roundtrip(void **state)
{
    SKIP_WITHOUT_SHARED();
    char model[4096];
    snprintf(model, sizeof model, "%s", shared_path("models/stories260K.gguf"));
    server s = start_server(model, NULL);
    /* llama-server's shapes; p1 of ../shared/golden, with and without BOS */
    expect(http(s.port, "POST", "/tokenize", "{\"model\":\"stories260K\",\"content\":\"Once upon a time\"}", NULL), 200,
           "{\"tokens\":[403,407,261,378]}");
    expect(http(s.port, "POST", "/tokenize", "{\"content\":\"Once upon a time\",\"add_special\":true}", NULL), 200,
           "{\"tokens\":[1,403,407,261,378]}");
    expect(http(s.port, "POST", "/detokenize", "{\"model\":\"stories260K\",\"tokens\":[403,407,261,378]}", NULL), 200,
           "{\"content\":\"Once upon a time\"}");
    expect(http(s.port, "POST", "/detokenize", "{\"tokens\":[]}", NULL), 200, "{\"content\":\"\"}");
    /* byte tokens <0xE2><0x82><0x83> are U+2083; <0xE2> alone is not
     * UTF-8, which JSON must be: U+FFFD stands for it */
    expect(http(s.port, "POST", "/detokenize", "{\"tokens\":[229,133,134]}", NULL), 200, "{\"content\":\"\xE2\x82\x83\"}");
    expect(http(s.port, "POST", "/detokenize", "{\"tokens\":[229,403]}", NULL), 200,
           "{\"content\":\"\xEF\xBF\xBD Once\"}");
    expect_error(http(s.port, "POST", "/detokenize", "{\"tokens\":[403,512]}", NULL), 400, "tokens", "null");
    expect_error(http(s.port, "POST", "/detokenize", "{\"tokens\":[1.5]}", NULL), 400, "tokens", "null");
    expect_error(http(s.port, "POST", "/detokenize", "{\"tokens\":[-1]}", NULL), 400, "tokens", "null");
    expect_error(http(s.port, "POST", "/detokenize", "{\"tokens\":\"403\"}", NULL), 400, "tokens", "null");
    stop_server(&s);
}

static void test_errors(void **state)
{
    server s = start_server("/nonexistent/alpha.gguf", NULL);
    expect_error(http(s.port, "GET", "/v1/nothing", NULL, NULL), 404, "null", "not_found");
    expect_error(http(s.port, "POST", "/health", "{}", NULL), 405, "null", "method_not_allowed");
    reply r = http(s.port, "GET", "/tokenize", NULL, NULL);
    assert_non_null(strstr(r.head, "Allow: POST"));
    expect_error(r, 405, "null", "method_not_allowed");
    expect_error(http(s.port, "POST", "/tokenize", "{\"content\": \"a\"", NULL), 400, "null", "null");
    expect_error(http(s.port, "POST", "/tokenize", "", NULL), 400, "null", "null");
    expect_error(http(s.port, "POST", "/tokenize", "[1,2]", NULL), 400, "null", "null");
    expect_error(http(s.port, "POST", "/tokenize", "{\"content\":3}", NULL), 400, "content", "null");
    expect_error(http(s.port, "POST", "/tokenize", "{\"model\":\"alpha\"}", NULL), 400, "content", "null");
    expect_error(http(s.port, "POST", "/tokenize", "{\"model\":7,\"content\":\"a\"}", NULL), 400, "model", "null");
    expect_error(http(s.port, "POST", "/tokenize", "{\"content\":\"a\",\"add_special\":1}", NULL), 400,
                 "add_special", "null");
    expect_error(http(s.port, "POST", "/tokenize", "{\"model\":\"gamma\",\"content\":\"a\"}", NULL), 404, "model",
                 "model_not_found");
    expect_error(http(s.port, "POST", "/detokenize", "{\"model\":\"gamma\",\"tokens\":[]}", NULL), 404, "model",
                 "model_not_found");
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    stop_server(&s);
}

/* Several models: a request must name one, by id or alias. */
static void test_model_required(void **state)
{
    server s = start_server("/nonexistent/alpha.gguf", "/nonexistent/beta.gguf", "--alias", "gpt-4o-mini=beta", NULL);
    expect_error(http(s.port, "POST", "/tokenize", "{\"content\":\"a\"}", NULL), 400, "model", "null");
    expect(http(s.port, "GET", "/v1/models", NULL, NULL), 200,
           "{\"id\":\"gpt-4o-mini\",\"object\":\"model\",\"created\":");
    /* the alias finds beta (which cannot open: a 500 naming it, not a 404) */
    reply r = http(s.port, "POST", "/tokenize", "{\"model\":\"gpt-4o-mini\",\"content\":\"a\"}", NULL);
    if (r.status != 500 || !strstr(r.body, "'beta'")) fail_msg("alias: %d %s", r.status, r.body);
    reply_free(&r);
    stop_server(&s);
    /* an alias of nothing, or of a taken name: refused at start */
    static const char *const bad[][6] = {{"/nonexistent/alpha.gguf", "--alias", "x=nope", "--port", "0", NULL},
                                         {"/nonexistent/alpha.gguf", "--alias", "alpha=alpha", "--port", "0", NULL},
                                         {"/nonexistent/alpha.gguf", "--alias", "novalue", "--port", "0", NULL}};
    for (size_t i = 0; i < 3; i++) {
        const int err_fd = temp_fd();
        const int st = wait_exit(spawn_serve(bad[i], err_fd), STOP_TIMEOUT_S);
        char *err = slurp_fd(err_fd);
        close(err_fd);
        if (st == 0 || !strstr(err, "alias")) fail_msg("%s: exit %d: %s", bad[i][2], st, err);
        free(err);
    }
}

/* Larger bodies than --max-body get 413: announced by Content-Length, or
 * found while a chunked body arrives. */
static void test_body_limit(void **state)
{
    server s = start_server("--max-body", "100", NULL);
    char body[201];
    memset(body, ' ', 200);
    body[0] = '{';
    body[199] = '}';
    body[200] = '\0';
    expect_error(http(s.port, "POST", "/tokenize", body, NULL), 413, "null", "request_too_large");
    char req[512];
    snprintf(req, sizeof req,
             "POST /tokenize HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
             "c8\r\n%s\r\n0\r\n\r\n",
             body);
    expect_error(http_raw(s.port, req, strlen(req)), 413, "null", "request_too_large");
    /* at the limit: parsed (and refused for what it says) */
    body[99] = '}';
    body[100] = '\0';
    expect_error(http(s.port, "POST", "/tokenize", body, NULL), 400, "content", "null");
    /* a request line and headers past the connection's memory */
    const size_t big = 64 << 10;
    char *huge = malloc(big + 64);
    assert_non_null(huge);
    int n = snprintf(huge, big, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge + n, 'a', big - (size_t)n);
    memcpy(huge + big, "\r\n\r\n", 5);
    reply r = http_raw(s.port, huge, big + 4);
    free(huge);
    if (r.status != 431) fail_msg("headers past the limit: %d %s", r.status, r.head);
    reply_free(&r);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    stop_server(&s);
}

static void test_api_key(void **state)
{
    /* off loopback without a key: refused before listening */
    const int err_fd = temp_fd();
    const char *args[] = {"--host", "0.0.0.0", "--port", "0", NULL};
    assert_int_equal(wait_exit(spawn_serve(args, err_fd), STOP_TIMEOUT_S), 1);
    char *err = slurp_fd(err_fd);
    close(err_fd);
    if (!strstr(err, "--api-key")) fail_msg("no word of --api-key: %s", err);
    free(err);

    server s = start_server("--api-key", "sesame-42", NULL);
    expect_error(http(s.port, "GET", "/health", NULL, NULL), 401, "null", "invalid_api_key");
    expect_error(http(s.port, "GET", "/v1/models", NULL, "Authorization: Bearer sesame-41\r\n"), 401, "null",
                 "invalid_api_key");
    expect_error(http(s.port, "GET", "/v1/models", NULL, "Authorization: Bearer sesame-4\r\n"), 401, "null",
                 "invalid_api_key");
    expect_error(http(s.port, "GET", "/v1/models", NULL, "Authorization: sesame-42\r\n"), 401, "null",
                 "invalid_api_key");
    expect_error(http(s.port, "POST", "/tokenize", "{}", NULL), 401, "null", "invalid_api_key");
    expect(http(s.port, "GET", "/health", NULL, "Authorization: Bearer sesame-42\r\n"), 200, "ok");
    /* the chat page holds no secret: served without the key, as HTML under
     * a policy that lets it talk to this server only; POST there is not it */
    reply page = http(s.port, "GET", "/", NULL, NULL);
    if (page.status != 200 || !strstr(page.head, "Content-Type: text/html") ||
        !strstr(page.head, "Content-Security-Policy: default-src 'none'") || !strstr(page.head, "connect-src 'self'") ||
        !strstr(page.body, "<title>mote</title>") || !strstr(page.body, "/v1/chat/completions"))
        fail_msg("the chat page: %d\n%s", page.status, page.head);
    reply_free(&page);
    expect_error(http(s.port, "POST", "/", "{}", NULL), 401, "null", "invalid_api_key");
    stop_server(&s);

    /* the same from a file (its first line, white space trimmed) */
    char path[] = "/tmp/mote-test-key-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "  opensesame \n", 14), 14);
    close(fd);
    s = start_server("--api-key-file", path, NULL);
    expect_error(http(s.port, "GET", "/health", NULL, "Authorization: Bearer sesame\r\n"), 401, "null",
                 "invalid_api_key");
    expect(http(s.port, "GET", "/health", NULL, "Authorization: Bearer opensesame\r\n"), 200, "ok");
    stop_server(&s);
    unlink(path);
}


/* ------------------------------------------------------------------------
 * Generation
 * ---------------------------------------------------------------------- */

/* The string value of "key":"..." at or after p (JSON escapes \" and \\
 * and \n undone), malloc'd; NULL if absent. */
static char *json_string_after(const char *p, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = strstr(p, pat);
    if (!at) return NULL;
    at += strlen(pat);
    char *out = malloc(strlen(at) + 1), *o = out;
    assert_non_null(out);
    for (; *at && *at != '"'; at++) {
        if (*at == '\\' && at[1]) {
            at++;
            *o++ = *at == 'n' ? '\n' : *at == 't' ? '\t' : *at;
        } else {
            *o++ = *at;
        }
    }
    *o = '\0';
    return out;
}

/* stdout of `mote ARGS...` (stderr dropped), its last newline cut. */
static char *mote_output(const char *args)
{
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "'%s' %s 2>/dev/null", mote_bin, args) > 0);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    size_t n = 0, cap = 4096;
    char *out = malloc(cap);
    assert_non_null(out);
    for (size_t r; (r = fread(out + n, 1, cap - n - 1, p)) > 0;)
        if ((n += r) + 1 == cap) assert_non_null(out = realloc(out, cap *= 2));
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    if (n && out[n - 1] == '\n') out[n - 1] = '\0';
    return out;
}

static const char *stories_model(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s", shared_path("models/stories260K.gguf"));
    return path;
}

/* Seconds until GET path's body holds want (polled every 100 ms), or -1
 * after timeout_s. */
static double wait_for(int port, const char *path, const char *want, double timeout_s)
{
    const double t0 = now_s();
    while (now_s() - t0 < timeout_s) {
        sleep_ms(100);
        reply r = http(port, "GET", path, NULL, NULL);
        const int found = strstr(r.body, want) != NULL;
        reply_free(&r);
        if (found) return now_s() - t0;
    }
    return -1;
}

/* Greedy through the API is `mote run --temp 0`, token for token. */
static void test_completion_matches_run(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), NULL);
    static const char *prompts[] = {"Once upon a time", "The cat sat on the", "Tom and Sue"};
    for (size_t i = 0; i < sizeof prompts / sizeof *prompts; i++) {
        char body[512], args[8192];
        snprintf(body, sizeof body, "{\"prompt\":\"%s\",\"max_tokens\":40,\"temperature\":0}", prompts[i]);
        reply r = http(s.port, "POST", "/v1/completions", body, NULL);
        if (r.status != 200) fail_msg("%d: %s", r.status, r.body);
        char *text = json_string_after(r.body, "text");
        assert_non_null(text);
        snprintf(args, sizeof args, "run '%s' -p '%s' -n 40 --temp 0", stories_model(), prompts[i]);
        char *want = mote_output(args);
        if (strcmp(text, want) != 0) fail_msg("API: '%s'\nrun: '%s'", text, want);
        assert_non_null(strstr(r.body, "\"object\":\"text_completion\""));
        assert_non_null(strstr(r.body, "\"completion_tokens\":40"));
        assert_non_null(strstr(r.body, "\"finish_reason\":\"length\""));
        assert_non_null(strstr(r.body, "\"timings\":{\"queue_ms\":"));
        assert_non_null(strstr(r.body, "\"predicted_n\":40,"));
        free(text);
        free(want);
        reply_free(&r);
    }
    /* echo, a prompt of ids, max_tokens 0 */
    expect(http(s.port, "POST", "/v1/completions", "{\"prompt\":[1,403,407,261,378],\"max_tokens\":0,\"echo\":true}",
                NULL),
           200, "\"text\":\"Once upon a time\"");
    /* /metrics counted them: 4 answers, 3 x 40 tokens */
    expect_error(http(s.port, "POST", "/v1/completions", "{\"prompt\":7}", NULL), 400, "prompt", "null");
    reply m = http(s.port, "GET", "/metrics", NULL, NULL);
    assert_int_equal(m.status, 200);
    assert_non_null(strstr(m.head, "text/plain; version=0.0.4"));
    static const char *const want[] = {
        "mote_http_responses_total{path=\"/v1/completions\",code=\"200\"} 4\n",
        "mote_http_responses_total{path=\"/v1/completions\",code=\"400\"} 1\n",
        "mote_generated_tokens_total{model=\"stories260K\"} 120\n",
        "mote_model_loaded{model=\"stories260K\"} 1\n",
        "mote_requests_running{model=\"stories260K\"} 0\n",
        "# TYPE mote_tokens_per_second gauge\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(m.body, want[i])) fail_msg("/metrics lacks '%s':\n%s", want[i], m.body);
    reply_free(&m);
    stop_server(&s);
}

/* A chat answer, then the same as a stream: the deltas add up to the same
 * text, the first carries the role, the last the finish reason, usage
 * comes alone before [DONE]. */
static void test_chat_stream(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), NULL);
    static const char body[] = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                               "\"max_tokens\":24,\"temperature\":0%s}";
    char req[512];
    snprintf(req, sizeof req, body, "");
    reply r = http(s.port, "POST", "/v1/chat/completions", req, NULL);
    if (r.status != 200) fail_msg("%d: %s", r.status, r.body);
    assert_non_null(strstr(r.body, "\"object\":\"chat.completion\""));
    assert_non_null(strstr(r.body, "\"message\":{\"role\":\"assistant\",\"content\":\""));
    assert_non_null(strstr(r.body, "\"usage\":{\"prompt_tokens\":"));
    char *whole = json_string_after(r.body, "content");
    reply_free(&r);

    snprintf(req, sizeof req, body, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    r = http(s.port, "POST", "/v1/chat/completions", req, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "Content-Type: text/event-stream"));
    char joined[4096] = "";
    int events = 0, role_first = 0, finish_seen = 0, usage_seen = 0, done = 0;
    for (char *ev = r.body; ev && *ev;) {
        char *next = strstr(ev, "\n\n");
        if (!next) fail_msg("an event without its blank line: %s", ev);
        *next = '\0';
        if (strncmp(ev, "data: ", 6) != 0) fail_msg("not a data line: %s", ev);
        const char *data = ev + 6;
        assert_false(done); /* nothing after [DONE] */
        if (strcmp(data, "[DONE]") == 0) {
            done = 1;
        } else {
            assert_non_null(strstr(data, "\"object\":\"chat.completion.chunk\""));
            if (events == 0) role_first = strstr(data, "\"delta\":{\"role\":\"assistant\"") != NULL;
            if (strstr(data, "\"finish_reason\":\"length\"") || strstr(data, "\"finish_reason\":\"stop\"")) finish_seen = 1;
            if (strstr(data, "\"choices\":[],\"usage\":{")) {
                assert_true(finish_seen);
                usage_seen = 1;
            } else {
                assert_non_null(strstr(data, "\"usage\":null"));
            }
            char *piece = json_string_after(data, "content");
            if (piece) strncat(joined, piece, sizeof joined - strlen(joined) - 1);
            free(piece);
            events++;
        }
        ev = next + 2;
    }
    assert_true(role_first && finish_seen && usage_seen && done);
    if (strcmp(joined, whole) != 0) fail_msg("stream: '%s'\nwhole: '%s'", joined, whole);
    free(whole);
    reply_free(&r);

    /* a stop string ends it early, and is not in the text */
    snprintf(req, sizeof req, body, ",\"stop\":[\"e\"]");
    r = http(s.port, "POST", "/v1/chat/completions", req, NULL);
    char *cut = json_string_after(r.body, "content");
    assert_non_null(cut);
    assert_null(strchr(cut, 'e'));
    assert_non_null(strstr(r.body, "\"finish_reason\":\"stop\""));
    free(cut);
    reply_free(&r);
    stop_server(&s);
}


/* response_format: the answer's content is JSON that the schema accepts
 * (over several seeds), and a schema mote cannot enforce is a 400 that
 * names the keyword. */
static void test_structured_output(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), NULL);
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"A person, please\"}],\"seed\":%d,\"max_tokens\":300,"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\",\"strict\":true,"
        "\"schema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":16},"
        "\"age\":{\"type\":\"integer\"},\"pet\":{\"enum\":[\"cat\",\"dog\",null]}},\"required\":[\"name\",\"age\"],"
        "\"additionalProperties\":false}}}}";
    int whole = 0;
    for (int seed = 1; seed <= 6; seed++) {
        char req[1024];
        snprintf(req, sizeof req, body, seed);
        reply r = http(s.port, "POST", "/v1/chat/completions", req, NULL);
        if (r.status != 200) fail_msg("%d: %s", r.status, r.body);
        cJSON *root = cJSON_Parse(r.body);
        assert_non_null(root);
        const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
        const char *content = cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "message"), "content")->valuestring;
        if (strcmp(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "stop") == 0) {
            cJSON *out = cJSON_Parse(content);
            if (!cJSON_IsObject(out)) fail_msg("not an object: %s", content);
            const cJSON *name = cJSON_GetObjectItem(out, "name"), *age = cJSON_GetObjectItem(out, "age");
            const cJSON *pet = cJSON_GetObjectItem(out, "pet");
            if (!cJSON_IsString(name) || strlen(name->valuestring) > 16 * 4 || !cJSON_IsNumber(age) ||
                age->valuedouble != (double)(long long)age->valuedouble)
                fail_msg("does not validate: %s", content);
            if (pet && !cJSON_IsNull(pet) && strcmp(pet->valuestring, "cat") && strcmp(pet->valuestring, "dog"))
                fail_msg("pet: %s", content);
            int n = 0;
            for (const cJSON *k = out->child; k; k = k->next) n++;
            if (n != 2 + (pet != NULL)) fail_msg("other members: %s", content);
            cJSON_Delete(out);
            whole++;
        }
        cJSON_Delete(root);
        reply_free(&r);
    }
    print_message("[   INFO   ] %d of 6 answers ended within 300 tokens, all valid\n", whole);
    assert_true(whole > 0);
    reply r = http(s.port, "POST", "/v1/chat/completions",
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":200,\"seed\":2,"
                   "\"response_format\":{\"type\":\"json_object\"}}",
                   NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = http(s.port, "POST", "/v1/chat/completions",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\","
             "\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"string\",\"pattern\":\"^a+$\"}}}}",
             NULL);
    if (!strstr(r.body, "'pattern'")) fail_msg("the keyword is not named: %s", r.body);
    expect_error(r, 400, "response_format", "unsupported_schema");
    expect_error(http(s.port, "POST", "/v1/chat/completions",
                      "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\"}}",
                      NULL),
                 400, "response_format", "null");
    stop_server(&s);
}


/* --keep-alive: a model no request used for that long is closed (its
 * memory given back), and the next request opens it again. */
/* Tools over HTTP: a forced call is tool_calls with arguments that are
 * the function's parameters (a Hermes-style prompt for a model without a
 * template), the call and the tool's answer go back into the prompt, and
 * malformed tools or tool messages are 400s naming the field. */
static void test_tool_calls(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), NULL);
    static const char tools[] =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather now\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":12},"
        "\"unit\":{\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city\",\"unit\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]";
    char req[2048];
    snprintf(req, sizeof req,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],%s,\"seed\":5,\"max_tokens\":200,"
             "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}",
             tools);
    reply r = http(s.port, "POST", "/v1/chat/completions", req, NULL);
    if (r.status != 200) fail_msg("%d: %s", r.status, r.body);
    cJSON *root = cJSON_Parse(r.body);
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItem(choice, "message");
    assert_string_equal(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "tool_calls");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "content")));
    const cJSON *calls = cJSON_GetObjectItem(msg, "tool_calls");
    assert_int_equal(cJSON_GetArraySize(calls), 1);
    const cJSON *fn = cJSON_GetObjectItem(cJSON_GetArrayItem(calls, 0), "function");
    assert_string_equal(cJSON_GetObjectItem(fn, "name")->valuestring, "get_weather");
    cJSON *args = cJSON_Parse(cJSON_GetObjectItem(fn, "arguments")->valuestring);
    const cJSON *city = cJSON_GetObjectItem(args, "city"), *unit = cJSON_GetObjectItem(args, "unit");
    if (!cJSON_IsString(city) || !cJSON_IsString(unit) || cJSON_GetArraySize(args) != 2 ||
        (strcmp(unit->valuestring, "celsius") && strcmp(unit->valuestring, "fahrenheit")))
        fail_msg("arguments do not validate: %s", cJSON_GetObjectItem(fn, "arguments")->valuestring);
    char *call_json = cJSON_PrintUnformatted(cJSON_GetArrayItem(calls, 0));
    const int n_prompt = (int)cJSON_GetObjectItem(cJSON_GetObjectItem(root, "usage"), "prompt_tokens")->valuedouble;
    cJSON_Delete(args);
    cJSON_Delete(root);
    reply_free(&r);

    /* the call and the answer go back in */
    char back[4096];
    snprintf(back, sizeof back,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
             "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[%s]},"
             "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"sunny\"}],%s,\"max_tokens\":4}",
             call_json, tools);
    cJSON_free(call_json);
    r = http(s.port, "POST", "/v1/chat/completions", back, NULL);
    if (r.status != 200) fail_msg("%d: %s", r.status, r.body);
    root = cJSON_Parse(r.body);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "usage"), "prompt_tokens")->valuedouble > n_prompt);
    cJSON_Delete(root);
    reply_free(&r);

    static const char *const bad[][2] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}", "tools"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"code\"}]}", "tools"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}]}", "tools"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},"
         "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}", "tools"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}", "tool_choice"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
         "\"tool_choice\":\"sometimes\"}", "tool_choice"},
        {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]},{\"role\":\"user\",\"content\":\"x\","
         "\"tool_calls\":[{\"id\":\"1\"}]}]}", "messages"},
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":[{\"id\":\"1\",\"type\":\"function\","
         "\"function\":{\"name\":\"f\",\"arguments\":{}}}]}]}", "messages"},
        {"{\"prompt\":\"x\",\"tools\":[]}", "tools"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *path = strstr(bad[i][0], "\"prompt\"") ? "/v1/completions" : "/v1/chat/completions";
        expect_error(http(s.port, "POST", path, bad[i][0], NULL), 400, bad[i][1], strcmp(bad[i][1], "tools") == 0 &&
                     strstr(bad[i][0], "prompt") ? "unsupported_parameter" : "null");
    }
    /* a schema mote cannot enforce, when the call is forced */
    r = http(s.port, "POST", "/v1/chat/completions",
             "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\",\"tools\":[{\"type\":"
             "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":"
             "{\"type\":\"string\",\"pattern\":\"^a\"}}}}}]}",
             NULL);
    expect_error(r, 400, "tools", "unsupported_schema");
    stop_server(&s);
}

static void test_keep_alive(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), "--keep-alive", "1", NULL);
    static const char body[] = "{\"prompt\":\"Once\",\"max_tokens\":4,\"temperature\":0}";
    reply first = http(s.port, "POST", "/v1/completions", body, NULL);
    assert_int_equal(first.status, 200);
    expect(http(s.port, "GET", "/metrics", NULL, NULL), 200, "mote_model_loaded{model=\"stories260K\"} 1\n");
    const double waited = wait_for(s.port, "/metrics", "mote_model_loaded{model=\"stories260K\"} 0\n", 10);
    if (waited < 0) fail_msg("the model is still loaded 10 s after its last request");
    if (waited < 0.5) fail_msg("unloaded after %.2f s, before --keep-alive 1", waited);
    reply again = http(s.port, "POST", "/v1/completions", body, NULL);
    assert_int_equal(again.status, 200);
    /* greedy: the same text from the reopened model */
    char *a = json_string_after(first.body, "text"), *b = json_string_after(again.body, "text");
    assert_string_equal(a, b);
    free(a);
    free(b);
    reply_free(&first);
    reply_free(&again);
    stop_server(&s);
}

/* ------------------------------------------------------------------------
 * The memory budget
 * ---------------------------------------------------------------------- */

/* The number after "KEY": in p, or -1. */
static double json_number_after(const char *p, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(p, pat);
    return at ? strtod(at + strlen(pat), NULL) : -1;
}

/* kB of a /proc/PID/status field (VmRSS, VmHWM), or -1. */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':') kb = atol(line + strlen(field) + 1);
    if (f) fclose(f);
    return kb;
}

/* Start counting pid's VmHWM afresh (proc(5), clear_refs). */
static void reset_peak_rss(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("5", f);
    assert_int_equal(fclose(f), 0);
}

typedef struct budget_client {
    int port;
    int first;          /* it asks budget_names[first], then the next, round after round */
    int rounds;
    const char *want;   /* the greedy text every answer must be */
    int ok, refused, wrong; /* 200 with want, 503 memory_budget (then retried), anything else */
    atomic_int *finished;   /* counted up when the rounds are done */
} budget_client;

/* The three models by id, alias and role. */
static const char *const budget_names[3] = {"a", "bee", "role:summary"};

static void *budget_client_run(void *arg)
{
    budget_client *c = arg;
    char body[256];
    for (int done = 0; done < c->rounds;) {
        snprintf(body, sizeof body, "{\"model\":\"%s\",\"prompt\":\"Once\",\"max_tokens\":6,\"temperature\":0}",
                 budget_names[(c->first + done) % 3]);
        reply r = http(c->port, "POST", "/v1/completions", body, NULL);
        char *text = r.status == 200 ? json_string_after(r.body, "text") : NULL;
        if (text && strcmp(text, c->want) == 0) c->ok++, done++;
        else if (r.status == 503 && strstr(r.body, "\"memory_budget\"") && strstr(r.head, "Retry-After: 1"))
            c->refused++, sleep_ms(20);
        else c->wrong++, done++;
        free(text);
        reply_free(&r);
    }
    atomic_fetch_add(c->finished, 1);
    return NULL;
}

/* Three models and room for two, asked at once by three clients: never
 * over the budget (the server's count, and its peak RSS), models with
 * requests in flight never evicted (every answer is the greedy text),
 * refusals only as documented 503s; a pinned model stays through the
 * others' evictions; the config's keep_alive unloads an idle model. */
static void test_memory_budget(void **state)
{
    SKIP_WITHOUT_SHARED();
    char dir[] = "/tmp/mote-budget-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[3][4200], cfg[4200], *target = realpath(stories_model(), NULL); /* a link's target is absolute */
    assert_non_null(target);
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%c.gguf", dir, 'a' + i);
        assert_int_equal(symlink(target, path[i]), 0);
    }
    free(target);
    /* one model's cost, and the greedy text, from a server with room */
    server s = start_server(path[0], "--parallel", "1", NULL);
    reply r = http(s.port, "POST", "/v1/models/a/load", "", NULL);
    if (r.status != 200) fail_msg("load: %d %s", r.status, r.body);
    const double cost = json_number_after(r.body, "bytes");
    reply_free(&r);
    r = http(s.port, "POST", "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":6,\"temperature\":0}", NULL);
    assert_int_equal(r.status, 200);
    char *want = json_string_after(r.body, "text");
    reply_free(&r);
    stop_server(&s);
    assert_true(cost > 0);
    const unsigned long long budget = (unsigned long long)(2.5 * cost);
    print_message("[   INFO   ] a model costs %.0f bytes; budget %llu\n", cost, budget);

    snprintf(cfg, sizeof cfg, "%s/fleet.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "{\"memory_budget\": %llu, \"models\": [{\"id\": \"a\", \"file\": \"a.gguf\", \"priority\": 1},\n"
               "{\"id\": \"b\", \"file\": \"b.gguf\", \"aliases\": [\"bee\"]},\n"
               "{\"id\": \"c\", \"file\": \"c.gguf\", \"role\": \"summary\", \"keep_alive\": \"1s\"}]}\n",
            budget);
    fclose(f);
    s = start_server("--config", cfg, "--parallel", "1", NULL);
    /* the idle server's RSS once each model has been loaded and unloaded
     * (its heap and, under an emulator, its translated code grown), then
     * the peak counted from there (clear_refs 5 resets VmHWM) */
    for (int i = 0; i < 3; i++) {
        char body[128], unload[64];
        snprintf(body, sizeof body, "{\"model\":\"%c\",\"prompt\":\"Once\",\"max_tokens\":2}", 'a' + i);
        expect(http(s.port, "POST", "/v1/completions", body, NULL), 200, NULL);
        snprintf(unload, sizeof unload, "/v1/models/%c/unload", 'a' + i);
        expect(http(s.port, "POST", unload, "", NULL), 200, "\"state\":\"unloaded\"");
    }
    const long base_kb = proc_kb(s.pid, "VmRSS");
    reset_peak_rss(s.pid);
    atomic_int finished = 0;
    budget_client cl[3];
    for (int i = 0; i < 3; i++)
        cl[i] = (budget_client){.port = s.port, .first = i, .rounds = 9, .want = want, .finished = &finished};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, budget_client_run, &cl[i]), 0);
    int over = 0, polls = 0;
    while (atomic_load(&finished) < 3) {
        reply m = http(s.port, "GET", "/v1/models", NULL, NULL);
        const char *mem = strstr(m.body, "\"memory\":");
        if (mem && json_number_after(mem, "used") > (double)budget) over++;
        polls++;
        reply_free(&m);
        sleep_ms(5);
    }
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    const long peak_kb = proc_kb(s.pid, "VmHWM");
    reply m = http(s.port, "GET", "/metrics", NULL, NULL);
    const char *ev = strstr(m.body, "\nmote_evictions_total ");
    const long n_evicted = ev ? atol(ev + strlen("\nmote_evictions_total ")) : -1;
    reply_free(&m);
    print_message("[   INFO   ] answers %d/%d/%d, refusals %d/%d/%d, evictions %ld, %d polls; RSS %ld kB at start, "
                  "peak %ld kB\n", cl[0].ok, cl[1].ok, cl[2].ok, cl[0].refused, cl[1].refused, cl[2].refused,
                  n_evicted, polls, base_kb, peak_kb);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cl[i].wrong, 0);
        assert_int_equal(cl[i].ok, cl[i].rounds);
    }
    assert_int_equal(over, 0);
    assert_true(n_evicted >= 1);
    /* the peak RSS: the idle server, the budget, and room for the requests'
     * buffers (under AddressSanitizer freed memory waits in a quarantine of
     * up to 256 MB: its RSS says nothing of the budget) */
#if defined(__SANITIZE_ADDRESS__)
    print_message("[   INFO   ] the RSS bound is not checked under AddressSanitizer\n");
#else
    assert_true(peak_kb <= base_kb + (long)(budget / 1024) + 4096);
#endif

    /* a pinned model (pinning loads it) stays while the two others take
     * turns; mote ps shows it */
    expect(http(s.port, "POST", "/v1/models/a/pin", "", NULL), 200, "\"state\":\"loaded\"");
    char ps_args[64];
    snprintf(ps_args, sizeof ps_args, "ps --port %d --all", s.port);
    char *ps = mote_output(ps_args);
    print_message("[   INFO   ] mote ps --all:\n%s\n", ps);
    if (!strstr(ps, "MODEL ") || !strstr(ps, "\na ") || !strstr(ps, " yes ") || !strstr(ps, "summary") ||
        !strstr(ps, "memory: ") || !strstr(ps, " evictions"))
        fail_msg("mote ps: %s", ps);
    free(ps);
    for (int i = 0; i < 4; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"model\":\"%c\",\"prompt\":\"Once\",\"max_tokens\":2}", i % 2 ? 'b' : 'c');
        expect(http(s.port, "POST", "/v1/completions", body, NULL), 200, NULL);
        expect(http(s.port, "GET", "/v1/models/a", NULL, NULL), 200, "\"state\":\"loaded\"");
    }
    /* c's keep_alive of 1 s unloads it; b (the server's default: forever) stays */
    expect(http(s.port, "POST", "/v1/models/c/load", "", NULL), 200, "\"state\":\"loaded\"");
    const double waited = wait_for(s.port, "/v1/models/c", "\"state\":\"unloaded\"", 10);
    if (waited < 0.5) fail_msg("c unloaded after %.2f s (keep_alive 1s; -1: not in 10 s)", waited);
    /* priority before recency: with a (priority 1) used longest ago and b
     * (priority 0) just now, c's load evicts b */
    expect(http(s.port, "POST", "/v1/models/a/unpin", "", NULL), 200, "\"pinned\":false");
    expect(http(s.port, "POST", "/v1/models/a/load", "", NULL), 200, "\"state\":\"loaded\"");
    sleep_ms(20);
    expect(http(s.port, "POST", "/v1/models/b/load", "", NULL), 200, "\"state\":\"loaded\"");
    expect(http(s.port, "POST", "/v1/models/c/load", "", NULL), 200, "\"state\":\"loaded\"");
    expect(http(s.port, "GET", "/v1/models/a", NULL, NULL), 200, "\"state\":\"loaded\"");
    expect(http(s.port, "GET", "/v1/models/bee", NULL, NULL), 200, "\"state\":\"unloaded\"");
    /* unload and the errors of the admin routes */
    expect(http(s.port, "POST", "/v1/models/a/unload", "", NULL), 200, "\"state\":\"unloaded\"");
    expect_error(http(s.port, "POST", "/v1/models/nope/load", "", NULL), 404, "model", "model_not_found");
    expect_error(http(s.port, "POST", "/v1/models/a/explode", "", NULL), 404, "null", "not_found");
    char *log = stop_server_with(&s, SIGTERM);
    assert_non_null(strstr(log, "a: loaded in "));
    assert_non_null(strstr(log, "evicted for "));
    free(log);
    free(want);
    for (int i = 0; i < 3; i++) unlink(path[i]);
    unlink(cfg);
    rmdir(dir);
}

/* Every refusal of a generation request: the right status, param, code. */
static void test_generation_errors(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), "-c", "64", NULL);
    const char *chat = "/v1/chat/completions", *cmpl = "/v1/completions";
    char longp[2048] = "{\"prompt\":\"";
    for (int i = 0; i < 80; i++) strcat(longp, "Once upon a time ");
    strcat(longp, "\"}");
    expect_error(http(s.port, "POST", cmpl, longp, NULL), 400, "prompt", "context_length_exceeded");
    expect_error(http(s.port, "POST", cmpl, "{\"prompt\":\"Once\",\"max_tokens\":100}", NULL), 400, "prompt",
                 "context_length_exceeded");
    expect_error(http(s.port, "POST", cmpl, "{\"prompt\":[1,600]}", NULL), 400, "prompt", "null");
    expect_error(http(s.port, "POST", cmpl, "{\"prompt\":[]}", NULL), 400, "prompt", "null");
    expect_error(http(s.port, "POST", cmpl, "{\"prompt\":[\"a\",\"b\"]}", NULL), 400, "prompt", "unsupported_parameter");
    expect_error(http(s.port, "POST", cmpl, "{\"max_tokens\":3}", NULL), 400, "prompt", "null");
    expect_error(http(s.port, "POST", chat, "{\"messages\":[]}", NULL), 400, "messages", "null");
    expect_error(http(s.port, "POST", chat, "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", NULL), 400,
                 "messages", "null");
    expect_error(http(s.port, "POST", chat, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
                      NULL),
                 400, "messages", "unsupported_content");
    static const char *const bad[][3] = {
        {"\"n\":2", "n", "unsupported_parameter"},
        {"\"temperature\":\"hot\"", "temperature", "null"},
        {"\"temperature\":1000", "temperature", "null"},
        {"\"top_p\":1.5", "top_p", "null"},
        {"\"max_tokens\":-2", "max_tokens", "null"},
        {"\"max_tokens\":1.5", "max_tokens", "null"},
        {"\"stop\":7", "stop", "null"},
        {"\"stream\":\"yes\"", "stream", "null"},
        {"\"top_logprobs\":3", "top_logprobs", "null"},
        {"\"logprobs\":true,\"top_logprobs\":21", "top_logprobs", "null"},
        {"\"response_format\":{\"type\":\"yaml\"}", "response_format", "null"},
        {"\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"maybe\"", "tool_choice", "null"},
        {"\"logit_bias\":{\"512\":10}", "logit_bias", "null"},
        {"\"logit_bias\":{\"a\":10}", "logit_bias", "null"},
        {"\"logit_bias\":{\"-1\":10}", "logit_bias", "null"},
        {"\"logit_bias\":{\"5\":101}", "logit_bias", "null"},
        {"\"logit_bias\":{\"5\":\"up\"}", "logit_bias", "null"},
        {"\"logit_bias\":[5]", "logit_bias", "null"},
        {"\"seed\":0.5", "seed", "null"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],%s}", bad[i][0]);
        expect_error(http(s.port, "POST", chat, body, NULL), 400, bad[i][1], bad[i][2]);
    }
    expect_error(http(s.port, "POST", chat, "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", NULL),
                 404, "model", "model_not_found");
    expect_error(http(s.port, "POST", cmpl, "{\"prompt\":\"a\",\"logprobs\":6}", NULL), 400, "logprobs", "null");
    /* and the server still answers */
    expect(http(s.port, "POST", cmpl, "{\"prompt\":\"Once\",\"max_tokens\":2,\"logprobs\":2}", NULL), 200,
           "\"token_logprobs\":[");
    stop_server(&s);
}

static int connect_to(int port)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* SIGTERM during a request: the request is answered, then the server
 * exits 0; an idle keep-alive connection does not hold it up. */
static void test_sigterm_finishes_requests(void **state)
{
    server s = start_server(NULL);
    const int idle = connect_to(s.port);
    static const char keep[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(idle, keep, sizeof keep - 1, MSG_NOSIGNAL), (ssize_t)(sizeof keep - 1));
    char buf[4096];
    assert_true(recv(idle, buf, sizeof buf, 0) > 0);

    const int busy = connect_to(s.port);
    static const char head[] = "POST /tokenize HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "Content-Length: 13\r\n\r\n{\"content\"";
    assert_int_equal(send(busy, head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)(sizeof head - 1));
    sleep_ms(200);
    const double t0 = now_s();
    kill(s.pid, SIGTERM);
    sleep_ms(200);
    assert_int_equal(send(busy, ":3}", 3, MSG_NOSIGNAL), 3);
    size_t n = 0;
    for (ssize_t r; n + 1 < sizeof buf && (r = recv(busy, buf + n, sizeof buf - n - 1, 0)) > 0;) n += (size_t)r;
    buf[n] = '\0';
    close(busy);
    if (!strstr(buf, "HTTP/1.1 400") || !strstr(buf, "\"param\":\"content\""))
        fail_msg("the request in flight got: %s", buf);
    char *err = stop_server_with(&s, SIGTERM);
    free(err);
    close(idle);
    if (now_s() - t0 > 5) fail_msg("exit took %.1f s", now_s() - t0);
}

/* SIGINT too ends it with 0, saying so. */
static void test_sigint(void **state)
{
    server s = start_server(NULL);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    char *err = stop_server_with(&s, SIGINT);
    assert_non_null(strstr(err, "SIGINT"));
    free(err);
}

/* utime + stime of pid, in clock ticks (/proc/PID/stat fields 14, 15). */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    assert_non_null(p);
    long long ut = 0, st = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st), 2);
    return ut + st;
}

/* An idle server, after serving, uses no CPU; with ../shared, after a
 * generation, so that a model is loaded and its scheduler waits. */
static void test_idle_cpu(void **state)
{
    const int gen = shared_dir() != NULL;
    server s = gen ? start_server(stories_model(), NULL) : start_server(NULL);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    if (gen) expect(http(s.port, "POST", "/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":8}", NULL), 200, "text");
    sleep_ms(200); /* let the connection close */
    const long long before = cpu_ticks(s.pid);
    sleep_ms(IDLE_SECONDS * 1000);
    const long long after = cpu_ticks(s.pid);
    if (after != before) fail_msg("idle for %d s, the server used %lld ticks of CPU", IDLE_SECONDS, after - before);
    stop_server(&s);
}


/* logit_bias steers greedy output: a ban takes the greedy token away, +100
 * makes one token the only choice. stories260K: " upon" 407, " time" 378. */
static void test_logit_bias(void **state)
{
    SKIP_WITHOUT_SHARED();
    server s = start_server(stories_model(), NULL);
    static const char cmpl[] = "/v1/completions";
    expect(http(s.port, "POST", cmpl, "{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0}", NULL), 200,
           "\"text\":\" upon a time\"");
    reply r = http(s.port, "POST", cmpl,
                   "{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0,\"logit_bias\":{\"407\":-100}}", NULL);
    if (r.status != 200 || !strstr(r.body, "\"text\":\"") || strstr(r.body, "upon"))
        fail_msg("a banned token came: %d %s", r.status, r.body);
    reply_free(&r);
    expect(http(s.port, "POST", cmpl,
                "{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0,\"logit_bias\":{\"407\":false,\"378\":100}}",
                NULL),
           200, "\"text\":\" time time time\"");
    /* a key given twice keeps its last bias (not their sum) */
    expect(http(s.port, "POST", cmpl,
                "{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0,\"logit_bias\":{\"378\":100,\"378\":0}}", NULL),
           200, "\"text\":\" upon a time\"");
    /* sampled too, and in chat */
    expect(http(s.port, "POST", cmpl, "{\"prompt\":\"Once\",\"max_tokens\":4,\"logit_bias\":{\"378\":100}}", NULL), 200,
           "\"text\":\" time time time time\"");
    expect(http(s.port, "POST", "/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2,\"logit_bias\":{\"378\":100}}",
                NULL),
           200, "\"content\":\" time time\"");
    stop_server(&s);
}

/* A model slow enough that a generation of thousands of tokens lasts
 * seconds: SmolLM2-135M's shapes, 12 of its blocks, stories260K's small
 * vocabulary. Written into dir; returns the path (static). */
static const char *slow_model(const char *dir)
{
    static char path[4096], cmd[16384];
    snprintf(path, sizeof path, "%s/slow.gguf", dir);
    snprintf(cmd, sizeof cmd, "'%s' synth --like smollm2-135m --vocab '%s' --layers 12 --type Q8_0 -o '%s' >/dev/null 2>&1",
             mote_bin, stories_model(), path);
    if (system(cmd) != 0) fail_msg("could not write the model: %s", cmd);
    return path;
}

static void send_all(int fd, const char *text)
{
    assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* A full queue answers 429 with Retry-After; a client that goes away
 * cancels its generation (the CPU stops) and the queued request runs. */
static void test_queue_and_cancel(void **state)
{
    SKIP_WITHOUT_SHARED();
    char dir[] = "/tmp/mote-test-serve-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    server s = start_server(slow_model(dir), "-c", "4096", "--parallel", "1", "--queue", "1", NULL);
    static const char req[] = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              "Content-Length: %zu\r\n\r\n%s";
    char text[512];
    /* A: a long stream, running once its first event came; the end of
     * text is banned (a sampled one would end it early) */
    const char *a_body = "{\"prompt\":\"Once\",\"max_tokens\":4000,\"stream\":true,\"logit_bias\":{\"2\":-100}}";
    snprintf(text, sizeof text, req, strlen(a_body), a_body);
    const int a = connect_to(s.port);
    send_all(a, text);
    char buf[8192];
    size_t n = 0;
    while (n + 1 < sizeof buf && !memmem(buf, n, "data: ", 6)) {
        const ssize_t r = recv(a, buf + n, sizeof buf - n - 1, 0);
        if (r <= 0) fail_msg("the stream ended early");
        n += (size_t)r;
    }
    /* B: waits in the queue */
    const char *b_body = "{\"prompt\":\"Once\",\"max_tokens\":2}";
    snprintf(text, sizeof text, req, strlen(b_body), b_body);
    const int b = connect_to(s.port);
    send_all(b, text);
    sleep_ms(300);
    /* C: no room */
    reply c = http(s.port, "POST", "/v1/completions", b_body, NULL);
    if (!strstr(c.head, "Retry-After: 1")) fail_msg("no Retry-After: %s", c.head);
    expect_error(c, 429, "null", "server_busy");
    /* A goes away: its generation stops, B is answered */
    close(a);
    n = 0;
    for (ssize_t r; n + 1 < sizeof buf && (r = recv(b, buf + n, sizeof buf - n - 1, 0)) > 0;) n += (size_t)r;
    buf[n] = '\0';
    close(b);
    if (!strstr(buf, "HTTP/1.1 200") || !strstr(buf, "\"completion_tokens\":2")) fail_msg("B got: %s", buf);
    sleep_ms(300);
    const long long before = cpu_ticks(s.pid);
    sleep_ms(1000);
    const long long used = cpu_ticks(s.pid) - before;
    if (used > 5) fail_msg("the cancelled generation still runs: %lld ticks in 1 s", used);
    stop_server(&s);
    char path[4096];
    snprintf(path, sizeof path, "%s/slow.gguf", dir);
    unlink(path);
    rmdir(dir);
}


/* xorshift: the abuse test's mutations, the same every run. */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Send each request of a batch on its own connection, then collect what
 * comes back for up to 500 ms after the last answer; the connections still
 * waiting (a cut request waits for the rest) are closed. statuses[i] is
 * the status of request i, 0 when none came. */
#define BATCH 100
static void send_batch(int port, char reqs[][1024], const int *lens, int n, int *statuses)
{
    int fds[BATCH];
    char head[BATCH][16];
    size_t got[BATCH];
    for (int i = 0; i < n; i++) {
        fds[i] = connect_to(port);
        got[i] = 0;
        statuses[i] = 0;
        for (size_t off = 0; off < (size_t)lens[i];) {
            const ssize_t w = send(fds[i], reqs[i] + off, (size_t)lens[i] - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
    }
    for (int open = n; open > 0;) {
        struct pollfd p[BATCH];
        for (int i = 0; i < n; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        if (poll(p, (nfds_t)n, 500) <= 0) break;
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            const ssize_t r = recv(fds[i], buf, sizeof buf, 0);
            if (r > 0 && got[i] < sizeof head[i] - 1) {
                const size_t k = (size_t)r < sizeof head[i] - 1 - got[i] ? (size_t)r : sizeof head[i] - 1 - got[i];
                memcpy(head[i] + got[i], buf, k);
                got[i] += k;
                head[i][got[i]] = '\0';
                sscanf(head[i], "HTTP/1.%*d %d", &statuses[i]);
            }
            if (r <= 0) {
                close(fds[i]);
                fds[i] = -1;
                open--;
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

/* 1000 connections that send a request slowly (and never finish) stay
 * open while 10000 malformed requests (mutated bytes, cut bodies, wrong
 * lengths, garbage) are answered one by one; the server answers /health
 * throughout and exits 0 on SIGTERM. The sanitizer build runs it too. */
static void test_abuse(void **state)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2400) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < 2400) skip(); /* the hard limit leaves no room for 1000 connections on both sides */
    const int gen = shared_dir() != NULL;
    server s = gen ? start_server(stories_model(), "--max-connections", "1200", NULL)
                   : start_server("--max-connections", "1200", NULL);
    enum { SLOW = 1000, MALFORMED = 10000 };
    static int slow[SLOW];
    static const char partial[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n{\"mess";
    for (int i = 0; i < SLOW; i++) {
        slow[i] = connect_to(s.port);
        assert_int_equal(send(slow[i], partial, sizeof partial - 1, MSG_NOSIGNAL), (ssize_t)(sizeof partial - 1));
    }
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");

    static const char *const bases[] = {
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2,\"stop\":[\"a\"],\"seed\":1}",
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{\"prompt\":[1,2,3],\"max_tokens\":1,\"logprobs\":2}",
        "POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{\"content\":\"Once upon a time\"}",
        "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"messages\":[{\"\r\n0\r\n\r\n",
    };
    int answered = 0, statuses[6] = {0};
    static char reqs[BATCH][1024];
    int lens[BATCH], got[BATCH];
    for (int i = 0; i < MALFORMED; i += BATCH) {
        for (int j = 0; j < BATCH; j++) {
            char *req = reqs[j];
            const char *base = bases[rnd() % (sizeof bases / sizeof *bases)];
            const char *body = strstr(base, "\r\n\r\n");
            int len = snprintf(req, sizeof reqs[j], base, (int)(strlen(body) - 4 + rnd() % 3) - 1);
            if (len >= (int)sizeof reqs[j]) len = (int)sizeof reqs[j] - 1;
            const int kind = (int)(rnd() % 4);
            for (int k = 0, n = 1 + (int)(rnd() % 8); kind == 0 && k < n; k++) req[rnd() % (unsigned)len] = (char)rnd();
            if (kind == 1) len = (int)(rnd() % (unsigned)len); /* cut anywhere */
            if (kind == 2)
                for (int k = 0; k < len; k++) req[k] = (char)(rnd() % 96 + 32); /* printable garbage */
            lens[j] = len;
        }
        send_batch(s.port, reqs, lens, BATCH, got);
        for (int j = 0; j < BATCH; j++) {
            const int st = got[j];
            answered += st > 0;
            statuses[st >= 500 ? 5 : st >= 400 ? 4 : st >= 200 ? 2 : 0]++;
            /* 500 is a server fault; 501, 503, 505 are protocol answers */
            if (st == 500) fail_msg("request %d got %d: %.200s", i + j, st, reqs[j]);
        }
        if (i % 2500 == 0) expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    }
    print_message("[   INFO   ] %d malformed requests: %d answered (2xx %d, 4xx %d), %d closed without an answer\n",
                  MALFORMED, answered, statuses[2], statuses[4], statuses[0]);
    assert_true(statuses[4] > MALFORMED / 4);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    for (int i = 0; i < SLOW; i++) close(slow[i]);
    expect(http(s.port, "GET", "/health", NULL, NULL), 200, "ok");
    stop_server(&s);
}

static int kill_live_server(void **state)
{
    if (live_pid > 0) {
        kill(live_pid, SIGKILL);
        waitpid(live_pid, NULL, 0);
        live_pid = 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    test_mote_bin(argv[0], mote_bin, sizeof mote_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_helpers, kill_live_server),
        cmocka_unit_test_teardown(test_completion_matches_run, kill_live_server),
        cmocka_unit_test_teardown(test_chat_stream, kill_live_server),
        cmocka_unit_test_teardown(test_generation_errors, kill_live_server),
        cmocka_unit_test_teardown(test_structured_output, kill_live_server),
        cmocka_unit_test_teardown(test_tool_calls, kill_live_server),
        cmocka_unit_test_teardown(test_keep_alive, kill_live_server),
        cmocka_unit_test_teardown(test_memory_budget, kill_live_server),
        cmocka_unit_test_teardown(test_logit_bias, kill_live_server),
        cmocka_unit_test_teardown(test_queue_and_cancel, kill_live_server),
        cmocka_unit_test_teardown(test_abuse, kill_live_server),
        cmocka_unit_test_teardown(test_health_and_models, kill_live_server),
        cmocka_unit_test_teardown(test_tokenize_roundtrip, kill_live_server),
        cmocka_unit_test_teardown(test_errors, kill_live_server),
        cmocka_unit_test_teardown(test_model_required, kill_live_server),
        cmocka_unit_test_teardown(test_body_limit, kill_live_server),
        cmocka_unit_test_teardown(test_api_key, kill_live_server),
        cmocka_unit_test_teardown(test_sigterm_finishes_requests, kill_live_server),
        cmocka_unit_test_teardown(test_sigint, kill_live_server),
        cmocka_unit_test_teardown(test_idle_cpu, kill_live_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
