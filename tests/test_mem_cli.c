/*
 * test_mem_cli.c — `mote memory` end to end, the command really run on
 * real files (tests/memory's fixtures of every format, copied to a
 * temporary folder) with a real SQLite store and a shared embedding
 * model: chunks and citations, known answers, hybrid = RRF of the two
 * rankings, update, delete, watch, ask, the encrypted store, the sandbox,
 * a kill -9 in the middle of an add, and malformed files.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
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

#include "memory/store.h"
#include "runmote.h"
#include "testutil.h"

extern char **environ;

#define RUN_TIMEOUT_S 600
#define EMBED_MODEL "models/embed/synth-nomic-bert-Q8_0.gguf"
#define ANSWER_MODEL "models/stories260K.gguf"
#define RRF_K 60.0 /* rank.h's constant */

static char mote_bin[4096];
static char work[1024];  /* a copy of tests/memory */
static char store[1100]; /* the store the tests share */
static char model[4096];
static pid_t child; /* a command running in the background, killed if a test fails */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define MEM(...) test_run_mote(mote_bin, NULL, (const char *const[]){"memory", __VA_ARGS__, NULL}, RUN_TIMEOUT_S)

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The JSON a command printed, parsed. */
static cJSON *json_of(const test_proc *p)
{
    cJSON *j = cJSON_Parse(p->out);
    if (!j) fail_msg("not JSON:\n%s\nstderr: %s", p->out, p->err);
    return j;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int ends_with(const char *s, const char *tail)
{
    const size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The hits of a search (--json), parsed; args after the query. */
static cJSON *search_in(const char *dir, const char *query, const char *const *more)
{
    const char *args[24] = {"memory", "search", query, "--store", dir, "--json"};
    int n = 6;
    for (; more && *more && n < 22; more++) args[n++] = *more;
    args[n] = NULL;
    test_proc p = test_run_mote(mote_bin, NULL, args, RUN_TIMEOUT_S);
    test_expect_status(&p, 0);
    cJSON *j = json_of(&p);
    test_proc_free(&p);
    return j;
}

static cJSON *search(const char *query, const char *const *more) { return search_in(store, query, more); }

/* "N files: A added, U updated, X unchanged, R removed, F failed; ..." */
typedef struct add_counts {
    long files, added, updated, unchanged, removed, failed;
} add_counts;

static add_counts counts_of(const test_proc *p)
{
    add_counts c;
    if (sscanf(p->out, "%ld files: %ld added, %ld updated, %ld unchanged, %ld removed, %ld failed", &c.files,
               &c.added, &c.updated, &c.unchanged, &c.removed, &c.failed) != 6)
        fail_msg("unexpected add summary:\n%s\nstderr: %s", p->out, p->err);
    return c;
}

static add_counts add_to(const char *dir, const char *path)
{
    test_proc p = MEM("add", path, "--store", dir, "--embed-model", model);
    test_expect_status(&p, 0);
    add_counts c = counts_of(&p);
    test_proc_free(&p);
    return c;
}

/* Lines lo..hi of a file, joined (malloc'd). */
static char *file_lines(const char *path, int lo, int hi)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);
    char line[8192];
    for (int n = 1; fgets(line, sizeof line, f); n++)
        if (n >= lo && n <= hi) fputs(line, o);
    fclose(f);
    fclose(o);
    return out;
}

static int line_count(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0, c, last = '\n';
    while ((c = getc(f)) != EOF) n += c == '\n', last = c;
    fclose(f);
    return n + (last != '\n');
}

/* ------------------------------------------------------------------------
 * Setup: the fixtures indexed once
 * ---------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    if (!shared_dir()) return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(work, sizeof work, "%s/mote-memcli-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work)) return -1;
    snprintf(store, sizeof store, "%s/store", work);
    snprintf(model, sizeof model, "%s", shared_path(EMBED_MODEL));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -r tests/memory '%s/files'", work);
    if (system(cmd) != 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (child > 0) kill(child, SIGKILL), waitpid(child, NULL, 0);
    if (!work[0]) return 0;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : -1;
}

/* Every fixture ingested: the malformed ones warn and the add goes on;
 * a binary is skipped quietly; the store is 0700/0600. */
static void test_add_every_format(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char path[4096];
    /* a truncated PDF and a binary beside the fixtures */
    snprintf(path, sizeof path, "%s/files/truncated.pdf", work);
    write_text(path, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R");
    snprintf(path, sizeof path, "%s/files/blob.bin", work);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++) fputc(i * 7 % 256, f);
    fclose(f);

    const mode_t old = umask(0);
    snprintf(path, sizeof path, "%s/files", work);
    test_proc p = MEM("add", path, "--store", store, "--embed-model", model);
    umask(old);
    test_expect_status(&p, 0);
    const add_counts c = counts_of(&p);
    /* 11 fixtures + README + the PDF; the binary is not a supported file */
    assert_int_equal(c.files, 13);
    assert_int_equal(c.added, 12);
    assert_int_equal(c.failed, 1);
    test_expect_contains(p.err, "truncated.pdf");
    test_expect_contains(p.err, "pdf");
    test_expect_contains(p.err, "broken.eml");
    test_expect_contains(p.err, "sensors.csv: line 6");
    test_expect_contains(p.err, "bad.csv");
    if (strstr(p.err, "blob.bin")) fail_msg("a binary warned:\n%s", p.err);
    test_proc_free(&p);

    struct stat sb;
    assert_int_equal(stat(store, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/memory.db", store);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    p = MEM("status", "--store", store, "--json");
    test_expect_status(&p, 0);
    cJSON *j = json_of(&p);
    assert_int_equal((int)num_of(j, "sources"), 12);
    assert_true(num_of(j, "chunks") >= 20);
    assert_true(num_of(j, "vectors") == num_of(j, "chunks"));
    assert_true(num_of(j, "readings") > 40);
    assert_int_equal((int)num_of(j, "embed_dim"), 64);
    cJSON_Delete(j);
    test_proc_free(&p);

    /* again: nothing changed, a hash check each */
    snprintf(path, sizeof path, "%s/files", work);
    const add_counts again = add_to(store, path);
    assert_int_equal(again.unchanged, 12);
    assert_int_equal(again.added + again.updated + again.removed, 0);
}

/* BM25 finds the fixtures' known answers, each with its citation. */
static void test_known_answers(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *bm25[] = {"--mode", "bm25", NULL};
    cJSON *j = search("technician boiler", bm25);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_non_null(h);
    assert_true(ends_with(str_of(h, "source"), "/mail.mbox"));
    assert_string_equal(str_of(h, "message_id"), "boiler-1@example.org");
    assert_int_equal((int)num_of(h, "line_lo"), 1);
    assert_int_equal((int)num_of(h, "line_hi"), 13);
    test_expect_contains(str_of(h, "citation"), "<boiler-1@example.org>");
    cJSON_Delete(j);

    j = search("4711 kWh", bm25);
    h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_string_equal(str_of(h, "message_id"), "meter-2@example.org");
    test_expect_contains(str_of(h, "title"), "readings.txt");
    cJSON_Delete(j);

    /* Markdown: the section, its lines hold the text */
    j = search("apt-get install", bm25);
    h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_true(ends_with(str_of(h, "source"), "/install.md"));
    assert_string_equal(str_of(h, "title"), "Install > Debian");
    char *lines = file_lines(str_of(h, "source"), (int)num_of(h, "line_lo"), (int)num_of(h, "line_hi"));
    test_expect_contains(lines, "apt-get install mote");
    free(lines);
    cJSON_Delete(j);

    /* sensors: the window's summary, by kind and time */
    const char *window[] = {"--kind", "sensor", "--since", "2026-11-21T14:00", "--until", "2026-11-21T15:00", NULL};
    j = search("kitchen temperature", window);
    h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_string_equal(str_of(h, "kind"), "sensor");
    test_expect_contains(str_of(h, "text"), "19.8–23.1");
    test_expect_contains(str_of(h, "text"), "gap 14:20–14:45");
    test_expect_contains(str_of(h, "citation"), "UTC");
    for (const cJSON *x = cJSON_GetObjectItem(j, "hits")->child; x; x = x->next) {
        assert_string_equal(str_of(x, "kind"), "sensor");
        assert_true(num_of(x, "t_lo") < 1795273200 && num_of(x, "t_hi") > 1795269600); /* overlaps 14:00-15:00 */
    }
    cJSON_Delete(j);

    /* Maildir, by kind */
    const char *mail[] = {"--kind", "mail", NULL};
    j = search("dentist appointment", mail);
    h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_string_equal(str_of(h, "message_id"), "dent-4@example.com");
    test_expect_contains(str_of(h, "source"), "/Maildir/cur/");
    cJSON_Delete(j);
}

/* Every hit's citation points at real lines of its file: within the file,
 * and the lines hold the chunk's first word. */
static void test_citations_point_at_lines(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *more[] = {"-k", "100", "--mode", "vector", NULL};
    cJSON *j = search("anything at all", more);
    int checked = 0;
    for (const cJSON *h = cJSON_GetObjectItem(j, "hits")->child; h; h = h->next) {
        const char *kind = str_of(h, "kind");
        if (strcmp(kind, "text") && strcmp(kind, "markdown") && strcmp(kind, "mail") && strcmp(kind, "sensor"))
            continue;
        const int lo = (int)num_of(h, "line_lo"), hi = (int)num_of(h, "line_hi");
        assert_true(lo >= 1 && lo <= hi);
        assert_true(hi <= line_count(str_of(h, "source")));
        if (strcmp(kind, "text") == 0 || strcmp(kind, "markdown") == 0) {
            char word[64];
            sscanf(str_of(h, "text"), "%63s", word);
            char *lines = file_lines(str_of(h, "source"), lo, hi);
            test_expect_contains(lines, word);
            free(lines);
        }
        checked++;
    }
    assert_true(checked >= 10);
    cJSON_Delete(j);
}

/* Hybrid ranking = reciprocal rank fusion of the BM25 and the vector
 * rankings (their top 50 candidates), scores and order. */
static void test_hybrid_is_rrf(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *queries[] = {"kitchen temperature gap", "boiler service Tuesday", "garden watering"};
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
        const char *b[] = {"-k", "50", "--mode", "bm25", NULL}, *v[] = {"-k", "50", "--mode", "vector", NULL};
        const char *hy[] = {"-k", "10", NULL};
        cJSON *jb = search(queries[qi], b), *jv = search(queries[qi], v), *jh = search(queries[qi], hy);
        /* fuse by hand */
        double ids[128], score[128];
        int n = 0;
        const cJSON *lists[] = {cJSON_GetObjectItem(jb, "hits"), cJSON_GetObjectItem(jv, "hits")};
        for (int l = 0; l < 2; l++) {
            int rank = 1;
            for (const cJSON *h = lists[l]->child; h; h = h->next, rank++) {
                const double id = num_of(h, "chunk_id");
                int i = 0;
                while (i < n && ids[i] != id) i++;
                if (i == n) ids[n] = id, score[n++] = 0;
                score[i] += 1.0 / (RRF_K + rank);
            }
        }
        assert_true(n > 0);
        int rank = 0;
        for (const cJSON *h = cJSON_GetObjectItem(jh, "hits")->child; h; h = h->next, rank++) {
            /* the rank-th best fused: highest score, then the smaller id */
            int best = -1;
            for (int i = 0; i < n; i++)
                if (score[i] >= 0 && (best < 0 || score[i] > score[best] ||
                                      (score[i] == score[best] && ids[i] < ids[best])))
                    best = i;
            assert_true(best >= 0);
            if (num_of(h, "chunk_id") != ids[best] || fabs(num_of(h, "score") - score[best]) > 1e-12)
                fail_msg("'%s' rank %d: chunk %.0f score %.9f, RRF says chunk %.0f score %.9f", queries[qi], rank + 1,
                         num_of(h, "chunk_id"), num_of(h, "score"), ids[best], score[best]);
            score[best] = -1;
        }
        assert_int_equal(rank, n < 10 ? n : 10);
        cJSON_Delete(jb);
        cJSON_Delete(jv);
        cJSON_Delete(jh);
    }
}

/* A changed file replaces its chunks; a deleted one is forgotten; rm. */
static void test_update_and_delete(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char dir[2048], path[8192];
    snprintf(dir, sizeof dir, "%s/files", work);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "a");
    fputs("\nThe zanzibarite crystal sits on the second shelf.\n", f);
    fclose(f);
    add_counts c = add_to(store, dir);
    assert_int_equal(c.updated, 1);
    assert_int_equal(c.added, 0);
    assert_int_equal(c.removed, 0);
    cJSON *j = search("zanzibarite", NULL);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hits"), 0);
    assert_true(ends_with(str_of(h, "source"), "/notes.txt"));
    cJSON_Delete(j);

    snprintf(path, sizeof path, "%s/recipe.html", dir);
    assert_int_equal(unlink(path), 0);
    c = add_to(store, dir);
    assert_int_equal(c.removed, 1);
    assert_int_equal(c.unchanged, c.files - c.failed);
    const char *bm25[] = {"--mode", "bm25", "-k", "50", NULL};
    j = search("bread baking", bm25);
    for (const cJSON *x = cJSON_GetObjectItem(j, "hits")->child; x; x = x->next)
        if (ends_with(str_of(x, "source"), "/recipe.html")) fail_msg("a deleted file is still found");
    cJSON_Delete(j);

    /* rm forgets a folder's files whether or not they exist */
    snprintf(path, sizeof path, "%s/Maildir", dir);
    test_proc p = MEM("rm", path, "--store", store);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "2 files forgotten");
    test_proc_free(&p);
    const char *mail[] = {"--kind", "mail", "-k", "50", NULL};
    j = search("dentist", mail);
    for (const cJSON *x = cJSON_GetObjectItem(j, "hits")->child; x; x = x->next)
        if (strstr(str_of(x, "source"), "/Maildir/")) fail_msg("a forgotten file is still found");
    cJSON_Delete(j);
    c = add_to(store, dir); /* back */
    assert_int_equal(c.added, 2);
}

/* ask: an answer, and sources that are real chunks of the memory. */
static void test_ask_cites_real_chunks(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    test_proc p = MEM("ask", "When does the technician service the boiler?", "--store", store, "-m",
                      shared_path(ANSWER_MODEL), "-n", "24", "--json");
    test_expect_status(&p, 0);
    cJSON *j = json_of(&p);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "answer")));
    const cJSON *src = cJSON_GetObjectItem(j, "sources");
    assert_true(cJSON_GetArraySize(src) >= 1);
    assert_true(num_of(j, "completion_tokens") > 0);
    const char *all[] = {"-k", "100", "--mode", "vector", NULL};
    cJSON *every = search("anything", all);
    int n = 0;
    for (const cJSON *s = src->child; s; s = s->next, n++) {
        int found = 0;
        for (const cJSON *h = cJSON_GetObjectItem(every, "hits")->child; h && !found; h = h->next)
            found = num_of(h, "chunk_id") == num_of(s, "chunk_id") && strcmp(str_of(h, "source"), str_of(s, "source")) == 0 &&
                    num_of(h, "line_lo") == num_of(s, "line_lo") && strcmp(str_of(h, "text"), str_of(s, "text")) == 0;
        if (!found) fail_msg("source [%d] %s is no chunk of the memory", n + 1, str_of(s, "citation"));
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(s, "cited")));
    }
    /* the best source for this question is the boiler mail */
    assert_string_equal(str_of(src->child, "message_id"), "boiler-1@example.org");
    cJSON_Delete(every);
    cJSON_Delete(j);
    test_proc_free(&p);

    /* text output: the answer, then the numbered sources */
    p = MEM("ask", "boiler", "--store", store, "-m", shared_path(ANSWER_MODEL), "-n", "8");
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "Sources:");
    test_expect_contains(p.out, "[1] ");
    test_proc_free(&p);
    p = MEM("ask", "boiler", "--store", store);
    test_expect_status(&p, 2);
    test_proc_free(&p);
}

/* ------------------------------------------------------------------------
 * Watch
 * ---------------------------------------------------------------------- */

static pid_t spawn_mote(const char *const *args)
{
    const char *argv[32] = {mote_bin};
    int n = 1;
    for (; *args && n < 31; args++) argv[n++] = *args;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, mote_bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    child = pid;
    return pid;
}

/* Whether a BM25 search for word finds a chunk of a file ending in tail. */
static int finds(const char *dir, const char *word, const char *tail)
{
    test_proc p = MEM("search", word, "--store", dir, "--json", "--mode", "bm25");
    cJSON *j = p.status == 0 ? cJSON_Parse(p.out) : NULL; /* (a watch may not have made the store yet) */
    test_proc_free(&p);
    if (!j) return 0;
    int found = 0;
    for (const cJSON *h = cJSON_GetObjectItem(j, "hits")->child; h; h = h->next) found |= ends_with(str_of(h, "source"), tail);
    cJSON_Delete(j);
    return found;
}

/* A file saved under a watched folder is found soon after; a deleted one
 * goes; the watching process runs under the seccomp filter. */
static void test_watch(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char dir[2048], wstore[2048], path[8192], tmp[8192];
    snprintf(dir, sizeof dir, "%s/watched", work);
    snprintf(wstore, sizeof wstore, "%s/wstore", work);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/first.md", dir);
    write_text(path, "# First\n\nThe watch begins with this page.\n");
    const pid_t pid = spawn_mote((const char *const[]){"memory", "watch", dir, "--store", wstore, "--embed-model",
                                                       model, NULL});
    double deadline = now_s() + 60;
    while (!finds(wstore, "begins", "/first.md")) {
        if (now_s() > deadline) fail_msg("the watch's first add did not finish");
        nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
    }
    /* the sandbox: seccomp filter mode */
    char status_path[64], line[256];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(status_path, "r");
    assert_non_null(f);
    int mode = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp:", 8) == 0) mode = atoi(line + 8);
    fclose(f);
    /* (qemu-user cannot install the filter on all threads: the command
     * says so, and then runs without it) */
    test_proc ps = MEM("status", "--store", wstore);
    if (strstr(ps.err, "without the network sandbox"))
        print_message("  SKIP: the seccomp filter check (%s)\n", strchr(ps.err, ':') + 1);
    else
        assert_int_equal(mode, 2); /* SECCOMP_MODE_FILTER */
    test_proc_free(&ps);
    /* saved as editors do: a temporary file renamed over the name */
    snprintf(tmp, sizeof tmp, "%s/.fresh.md.swp", dir);
    snprintf(path, sizeof path, "%s/fresh.md", dir);
    write_text(tmp, "# Fresh\n\nA quokkaberry grows by the fence.\n");
    const double saved = now_s();
    assert_int_equal(rename(tmp, path), 0);
    deadline = saved + 30;
    while (!finds(wstore, "quokkaberry", "/fresh.md")) {
        if (now_s() > deadline) fail_msg("a saved file was not found within 30 s");
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    print_message("  saved -> found in %.0f ms\n", (now_s() - saved) * 1e3);
    /* edited in place, then deleted */
    write_text(path, "# Fresh\n\nA pomelonut grows there now.\n");
    deadline = now_s() + 30;
    while (!finds(wstore, "pomelonut", "/fresh.md") || finds(wstore, "quokkaberry", "/fresh.md")) {
        if (now_s() > deadline) fail_msg("an edited file was not indexed again within 30 s");
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    assert_int_equal(unlink(path), 0);
    deadline = now_s() + 30;
    while (finds(wstore, "pomelonut", "/fresh.md")) {
        if (now_s() > deadline) fail_msg("a deleted file was not forgotten within 30 s");
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    /* a new folder with a file in it */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/deep.txt", dir);
    write_text(path, "The marmalite is in the sub folder.\n");
    deadline = now_s() + 30;
    while (!finds(wstore, "marmalite", "/sub/deep.txt")) {
        if (now_s() > deadline) fail_msg("a file in a new folder was not found within 30 s");
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    kill(pid, SIGTERM);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    child = 0;
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

/* ------------------------------------------------------------------------
 * The vault, and kill -9
 * ---------------------------------------------------------------------- */

/* An encrypted memory: its files hold no text; it opens only with its key
 * (file or environment), and a wrong one fails. */
static void test_encrypted_memory(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char estore[2048], key[2048], files[2048], db[4096];
    snprintf(estore, sizeof estore, "%s/estore", work);
    snprintf(key, sizeof key, "%s/memory.key", work);
    snprintf(files, sizeof files, "%s/files/mail.mbox", work);
    test_proc p = MEM("add", files, "--store", estore, "--embed-model", model, "--encrypt", "--key-file", key);
    test_expect_status(&p, 0);
    test_proc_free(&p);
    struct stat sb;
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(db, sizeof db, "%s/memory.db", estore);
    size_t len;
    char *raw = read_file(db, &len);
    assert_non_null(raw);
    assert_null(memmem(raw, len, "technician", 10));
    assert_null(memmem(raw, len, "SQLite format 3", 15));
    free(raw);

    p = MEM("search", "technician", "--store", estore);
    test_expect_status(&p, 1);
    test_expect_contains(p.err, "encrypted");
    test_proc_free(&p);
    p = MEM("search", "technician", "--store", estore, "--key-file", key);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "boiler-1@example.org");
    test_proc_free(&p);
    /* the key in the environment, as hex */
    char *hex = read_file(key, &len);
    assert_non_null(hex);
    hex[strcspn(hex, "\n")] = '\0';
    setenv("MOTE_MEMORY_KEY", hex, 1);
    p = MEM("status", "--store", estore);
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "(encrypted)");
    test_proc_free(&p);
    hex[0] = hex[0] == 'a' ? 'b' : 'a'; /* another key */
    setenv("MOTE_MEMORY_KEY", hex, 1);
    p = MEM("search", "technician", "--store", estore);
    assert_int_not_equal(p.status, 0);
    test_proc_free(&p);
    unsetenv("MOTE_MEMORY_KEY");
    free(hex);
}

/* kill -9 in the middle of a large add: the store opens and checks out,
 * what was committed is there and consistent (the next add finds it
 * unchanged), and the rest, the interrupted file too, is added then. */
static void test_kill9_during_add(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char dir[2048], kstore[2048], path[8192];
    snprintf(dir, sizeof dir, "%s/many", work);
    snprintf(kstore, sizeof kstore, "%s/kstore", work);
    assert_int_equal(mkdir(dir, 0700), 0);
    const int n_files = 300;
    for (int i = 0; i < n_files; i++) {
        snprintf(path, sizeof path, "%s/doc%03d.md", dir, i);
        FILE *f = fopen(path, "w");
        fprintf(f, "# Document %d\n\n", i);
        for (int p = 0; p < 12; p++)
            fprintf(f, "Paragraph %d of document %d tells of word%d and of the weather on day %d. It goes on a "
                       "while so that the file is worth a few chunks of its own.\n\n", p, i, i * 13 + p, p);
        fclose(f);
    }
    const pid_t pid = spawn_mote((const char *const[]){"memory", "add", dir, "--store", kstore, "--embed-model",
                                                       model, NULL});
    /* kill it once some files are stored */
    const double deadline = now_s() + 120;
    long stored = 0;
    while (stored < 20) {
        if (now_s() > deadline) fail_msg("the add stored nothing in 120 s");
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
        char db[4096];
        snprintf(db, sizeof db, "%s/memory.db", kstore);
        struct stat sb;
        if (stat(db, &sb) != 0) continue;
        test_proc p = MEM("status", "--store", kstore, "--json");
        if (p.status == 0) {
            cJSON *j = json_of(&p);
            stored = (long)num_of(j, "sources");
            cJSON_Delete(j);
        }
        test_proc_free(&p);
    }
    kill(pid, SIGKILL);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    child = 0;
    /* the store opens and verifies */
    mem_store *st = NULL;
    if (mem_store_open(kstore, NULL, &st) != MOTE_OK) fail_msg("reopen: %s", mote_last_error());
    if (mem_store_verify(st) != MOTE_OK) fail_msg("verify: %s", mote_last_error());
    mem_store_stats s;
    assert_int_equal(mem_store_status(st, &s), MOTE_OK);
    mem_store_close(st);
    print_message("  killed after %lld of %d files were stored\n", (long long)s.n_sources, n_files);
    assert_true(s.n_sources >= 20);
    /* the next add: every stored file unchanged, the others added */
    const add_counts c = add_to(kstore, dir);
    assert_int_equal(c.files, n_files);
    assert_int_equal(c.unchanged, s.n_sources);
    assert_int_equal(c.added, n_files - s.n_sources);
    assert_int_equal(c.failed, 0);
    for (int i = 0; i < n_files; i += 37) {
        char word[32], tail[32];
        snprintf(word, sizeof word, "word%d", i * 13 + 5);
        snprintf(tail, sizeof tail, "/doc%03d.md", i);
        if (!finds(kstore, word, tail)) fail_msg("%s is not found after the second add", tail);
    }
}

/* Usage errors and a memory that is not there. */
static void test_usage(void **state)
{
    (void)state;
    test_proc p = test_run_mote(mote_bin, NULL, (const char *const[]){"memory", NULL}, RUN_TIMEOUT_S);
    test_expect_status(&p, 2);
    test_expect_contains(p.err, "search");
    test_proc_free(&p);
    p = MEM("frobnicate");
    test_expect_status(&p, 2);
    test_proc_free(&p);
    p = MEM("search", "x", "--mode", "fuzzy", "--store", "/nonexistent/mote");
    test_expect_status(&p, 2);
    test_proc_free(&p);
    p = MEM("search", "x", "--store", "/nonexistent/mote-memory");
    test_expect_status(&p, 1);
    test_expect_contains(p.err, "no memory there yet");
    test_proc_free(&p);
    p = MEM("add", "--help");
    test_expect_status(&p, 0);
    test_expect_contains(p.out, "Maildir");
    test_proc_free(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_fix_pool_size();
    test_mote_bin(argv[0], mote_bin, sizeof mote_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_add_every_format),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_citations_point_at_lines),
        cmocka_unit_test(test_hybrid_is_rrf),
        cmocka_unit_test(test_ask_cites_real_chunks),
        cmocka_unit_test(test_update_and_delete),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_encrypted_memory),
        cmocka_unit_test(test_kill9_during_add),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
