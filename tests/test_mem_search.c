/*
 * test_mem_search.c — searching the private memory (src/memory/store.h's
 * mem_store_search, rank.h, fts_query.h, store_vec.h):
 *   - BM25 finds known answers in a small hand-written corpus (stemmed,
 *     titles too), and a hit carries its citation;
 *   - a planted vector ranks first; int8 quantisation is within half a
 *     step; reciprocal rank fusion by hand;
 *   - hybrid mode equals rank.c's fusion of the BM25 and vector rankings
 *     that those modes return for mem_search_candidates(k), bit for bit;
 *   - filters (path prefix, kind, time window) in every mode;
 *   - after many puts and removals, the in-memory vectors rank as vectors
 *     loaded afresh do;
 *   - user text that looks like FTS5 syntax never errors;
 *   - words held by more than a fifth of the chunks (and more than
 *     MEM_COMMON_MIN_DOCS, lowered here) are left out of the BM25 query
 *     when a rarer word that some chunk holds is there, and kept when none
 *     is; common words only are searched AND-first (store_terms.c).
 */
#include "memory/fts_query.h"
#include "memory/rank.h"
#include "memory/store_db.h"
#include "memory/store_vec.h"
#include "mem_testutil.h"

/* ------------------------------------------------------------------------
 * Search
 * ---------------------------------------------------------------------- */

static void test_bm25_known_answers(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_corpus(st);
    assert_string_equal(top_source(st, "what is the wifi password?"), "/home/notes/router.md");
    assert_string_equal(top_source(st, "sourdough starter"), "/home/notes/bread.md");
    assert_string_equal(top_source(st, "baking"), "/home/notes/bread.md"); /* title, stemmed */
    assert_string_equal(top_source(st, "when is the dentist"), "/home/mail/dentist.eml");
    assert_string_equal(top_source(st, "tomato watering"), "/home/notes/plants.txt"); /* stemmed */
    assert_string_equal(top_source(st, "TAX RETURN deadline"), "/home/notes/taxes.md");
    assert_string_equal(top_source(st, "garlic"), "/home/notes/recipes.md");
    assert_string_equal(top_source(st, "zeppelin"), "(none)");
    /* a hit carries its citation */
    mem_hit h[1];
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "insurance", .kind = -1}, h, 1), 1);
    assert_int_equal(h[0].kind, MEM_MAIL);
    assert_string_equal(h[0].title, "Appointment reminder");
    assert_int_equal(h[0].line_lo, 1);
    assert_int_equal(h[0].line_hi, 9);
    assert_non_null(strstr(h[0].text, "insurance card"));
    mem_hits_free(h, 1);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_vector_planted_first(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* 300 random chunks in 3 files, then one planted near the query */
    for (int f = 0; f < 3; f++) {
        char path[64];
        snprintf(path, sizeof path, "/noise/%d.txt", f);
        put_texts(st, path, MEM_TEXT, 100, NULL, 1000 + (uint64_t)f);
    }
    float *q = random_vectors(1, 4242);
    float planted[DIM];
    uint64_t s = 7;
    double norm = 0;
    for (int j = 0; j < DIM; j++) {
        planted[j] = q[j] + 0.05f * test_rng_normal(&s);
        norm += (double)planted[j] * planted[j];
    }
    for (int j = 0; j < DIM; j++) planted[j] /= (float)sqrt(norm);
    mem_doc d = make_doc("/planted.txt", MEM_TEXT, 1, (const char *const[]){"the planted chunk"});
    put_ok(st, &d, planted, DIM);
    mem_hit hits[5];
    const int n = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = q, .dim = DIM, .kind = -1}, hits, 5);
    assert_int_equal(n, 5);
    assert_string_equal(hits[0].source, "/planted.txt");
    assert_int_equal(hits[0].rank_vec, 1);
    assert_int_equal(hits[0].rank_bm25, 0);
    assert_true(hits[0].score > 0.95 && hits[0].score < 1.02);
    for (int i = 1; i < n; i++) assert_true(hits[i].score <= hits[i - 1].score);
    assert_true(hits[1].score < 0.9);
    mem_hits_free(hits, n);
    free(q);
    mem_doc_free(&d);
    mem_store_close(st);
    remove_dir(dir);
}

/* int8 quantisation: each element within half a step of the float. */
static void test_quantize(void **state)
{
    (void)state;
    float *v = random_vectors(20, 5);
    for (int i = 0; i < 20; i++) {
        int8_t q[DIM];
        float scale;
        mem_vec_quantize(v + i * DIM, DIM, q, &scale);
        int max = 0;
        for (int j = 0; j < DIM; j++) {
            assert_true(q[j] >= -127 && q[j] <= 127);
            assert_true(fabsf(q[j] * scale - v[i * DIM + j]) <= scale * 0.5f + 1e-6f);
            max = abs(q[j]) > max ? abs(q[j]) : max;
        }
        assert_int_equal(max, 127);
    }
    int8_t q[DIM];
    float zero[DIM] = {0}, scale = -1;
    mem_vec_quantize(zero, DIM, q, &scale);
    assert_true(scale == 0);
    free(v);
}

static void test_rrf(void **state)
{
    (void)state;
    const int64_t a[] = {10, 20, 30}, b[] = {30, 40, 10, 10};
    mem_fused f[7];
    const int n = mem_rrf(a, 3, b, 4, f);
    assert_int_equal(n, 4);
    /* 10: 1/61 + 1/63; 30: 1/63 + 1/61 (the same sum: smaller id first); 20: 1/62; 40: 1/62 */
    assert_int_equal(f[0].id, 10);
    assert_int_equal(f[0].rank_a, 1);
    assert_int_equal(f[0].rank_b, 3); /* the repeat at 4 does not count */
    assert_int_equal(f[1].id, 30);
    assert_true(f[0].score == 1.0 / 61 + 1.0 / 63);
    assert_int_equal(f[2].id, 20);
    assert_int_equal(f[3].id, 40);
    assert_int_equal(f[3].rank_a, 0);
    assert_true(f[3].score == 1.0 / 62);
    assert_int_equal(mem_rrf(NULL, 0, NULL, 0, f), 0);
}

/* Hybrid mode returns rank.c's fusion of the two rankings that BM25 mode
 * and vector mode return for mem_search_candidates(k) hits, exactly. */
static void test_hybrid_is_rrf(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* 150 chunks over a small vocabulary, so that many match and the
     * candidate lists are cut */
    static const char *words[] = {"river", "stone", "lamp", "paper", "garden", "window", "clock", "bridge"};
    for (int f = 0; f < 5; f++) {
        char *texts[30];
        uint64_t s = 300 + (uint64_t)f;
        for (int i = 0; i < 30; i++) {
            char buf[128] = "";
            for (int w = 0; w < 6; w++) {
                strcat(buf, words[test_rng_next(&s) % 8]);
                strcat(buf, " ");
            }
            texts[i] = strdup(buf);
        }
        char path[64];
        snprintf(path, sizeof path, "/h/%d.txt", f);
        put_texts(st, path, MEM_TEXT, 30, (const char *const *)texts, 500 + (uint64_t)f);
        for (int i = 0; i < 30; i++) free(texts[i]);
    }
    float *qv = random_vectors(1, 77);
    for (int k = 1; k <= 20; k += 19) {
        const int nc = mem_search_candidates(k);
        assert_int_equal(nc, k * 4 > 50 ? k * 4 : 50);
        mem_hit *a = calloc((size_t)nc, sizeof *a), *b = calloc((size_t)nc, sizeof *b), hy[20];
        mem_query q = {.mode = MEM_SEARCH_BM25, .text = "river lamp clock", .vec = qv, .dim = DIM, .kind = -1};
        const int na = search(st, &q, a, nc);
        q.mode = MEM_SEARCH_VECTOR;
        const int nb = search(st, &q, b, nc);
        q.mode = MEM_SEARCH_HYBRID;
        const int nh = search(st, &q, hy, k);
        assert_int_equal(na, nc); /* the lists really are cut */
        assert_int_equal(nb, nc);
        int64_t ia[200], ib[200];
        for (int i = 0; i < na; i++) ia[i] = a[i].chunk_id;
        for (int i = 0; i < nb; i++) ib[i] = b[i].chunk_id;
        mem_fused f[400];
        const int nf = mem_rrf(ia, na, ib, nb, f);
        assert_int_equal(nh, nf < k ? nf : k);
        for (int i = 0; i < nh; i++) {
            assert_int_equal(hy[i].chunk_id, f[i].id);
            assert_true(hy[i].score == f[i].score);
            assert_int_equal(hy[i].rank_bm25, f[i].rank_a);
            assert_int_equal(hy[i].rank_vec, f[i].rank_b);
        }
        /* the fused head mixes both lists */
        int both = 0;
        for (int i = 0; i < nh; i++) both += hy[i].rank_bm25 && hy[i].rank_vec;
        if (k == 20) assert_true(both > 0);
        mem_hits_free(a, na);
        mem_hits_free(b, nb);
        mem_hits_free(hy, nh);
        free(a);
        free(b);
    }
    /* hybrid without a vector is the BM25 order; without text, the vector order */
    mem_hit h1[5], h2[5];
    int n1 = search(st, &(mem_query){.mode = MEM_SEARCH_HYBRID, .text = "bridge", .kind = -1}, h1, 5);
    int n2 = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "bridge", .kind = -1}, h2, 5);
    assert_int_equal(n1, n2);
    for (int i = 0; i < n1; i++) assert_int_equal(h1[i].chunk_id, h2[i].chunk_id);
    mem_hits_free(h1, n1);
    mem_hits_free(h2, n2);
    n1 = search(st, &(mem_query){.mode = MEM_SEARCH_HYBRID, .vec = qv, .dim = DIM, .kind = -1}, h1, 5);
    n2 = search(st, &(mem_query){.mode = MEM_SEARCH_VECTOR, .vec = qv, .dim = DIM, .kind = -1}, h2, 5);
    assert_int_equal(n1, 5);
    for (int i = 0; i < n1; i++) assert_int_equal(h1[i].chunk_id, h2[i].chunk_id);
    mem_hits_free(h1, n1);
    mem_hits_free(h2, n2);
    free(qv);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_filters(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    /* every chunk says "report"; they differ by path, kind and time */
    static const struct {
        const char *path;
        enum mem_kind kind;
        int64_t t_lo, t_hi;
    } docs[] = {
        {"/logs/a.csv", MEM_SENSOR, 1000, 2000},   {"/logs/b.csv", MEM_SENSOR, 2000, 3000},
        {"/mail/1.eml", MEM_MAIL, 2500, 0},        {"/mail/2.eml", MEM_MAIL, 5000, 0},
        {"/notes/n.txt", MEM_TEXT, 0, 0},          {"/notes-old/o.txt", MEM_TEXT, 0, 0},
    };
    const int nd = (int)(sizeof docs / sizeof docs[0]);
    for (int i = 0; i < nd; i++) {
        mem_doc d = make_doc(docs[i].path, docs[i].kind, 1, (const char *const[]){"monthly report"});
        d.chunks[0].t_lo = docs[i].t_lo;
        d.chunks[0].t_hi = docs[i].t_hi;
        float *v = random_vectors(1, 900 + (uint64_t)i);
        put_ok(st, &d, v, DIM);
        free(v);
        mem_doc_free(&d);
    }
    float *qv = random_vectors(1, 1);
    static const enum mem_search_mode modes[] = {MEM_SEARCH_BM25, MEM_SEARCH_VECTOR, MEM_SEARCH_HYBRID};
    for (int m = 0; m < 3; m++) {
        mem_query base = {.mode = modes[m], .text = "report", .vec = qv, .dim = DIM, .kind = -1};
        mem_hit h[10];
        mem_query q = base;
        assert_int_equal(search(st, &q, h, 10), nd);
        mem_hits_free(h, nd);
        /* a folder: "/notes/" and not "/notes-old/" */
        q.path_prefix = "/notes/";
        int n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/notes/n.txt");
        mem_hits_free(h, n);
        q.path_prefix = "/notes";
        n = search(st, &q, h, 10);
        assert_int_equal(n, 2);
        mem_hits_free(h, n);
        q = base;
        q.kind = MEM_MAIL;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 2);
        for (int i = 0; i < n; i++) assert_int_equal(h[i].kind, MEM_MAIL);
        mem_hits_free(h, n);
        /* [1500, 2600): a [1000, 2000), b [2000, 3000), the mail at 2500 */
        q = base;
        q.has_time = 1;
        q.t_lo = 1500;
        q.t_hi = 2600;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 3);
        for (int i = 0; i < n; i++) assert_true(h[i].t_lo >= 1000 && h[i].t_lo <= 2500);
        mem_hits_free(h, n);
        /* [2000, 2500): the window end is exclusive on both sides */
        q.t_lo = 2000;
        q.t_hi = 2500;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/logs/b.csv");
        mem_hits_free(h, n);
        /* everything together */
        q.kind = MEM_SENSOR;
        q.path_prefix = "/logs/a";
        q.t_lo = 0;
        q.t_hi = 1 << 30;
        n = search(st, &q, h, 10);
        assert_int_equal(n, 1);
        assert_string_equal(h[0].source, "/logs/a.csv");
        mem_hits_free(h, n);
        q.kind = MEM_MAIL;
        assert_int_equal(search(st, &q, h, 10), 0);
    }
    free(qv);
    mem_store_close(st);
    remove_dir(dir);
}

/* After many puts, replacements and removals (rows moved, source slots
 * reused), the in-memory vectors give the same rankings, filters
 * included, as vectors loaded afresh from the database. */
static void test_index_in_step(void **state)
{
    (void)state;
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    uint64_t s = 4711;
    for (int op = 0; op < 150; op++) {
        char path[32];
        snprintf(path, sizeof path, "/%c/%d.txt", "abc"[test_rng_next(&s) % 3], (int)(test_rng_next(&s) % 25));
        if (test_rng_next(&s) % 4 == 0) {
            assert_int_equal(mem_store_remove(st, path, NULL), MOTE_OK);
            continue;
        }
        const int n = (int)(test_rng_next(&s) % 12);
        mem_doc d = make_doc(path, (enum mem_kind)(test_rng_next(&s) % 3), n, NULL);
        for (int i = 0; i < n; i++) d.chunks[i].t_lo = (int64_t)(test_rng_next(&s) % 100) + 1;
        float *v = random_vectors(n, test_rng_next(&s));
        put_ok(st, &d, v, DIM);
        free(v);
        mem_doc_free(&d);
    }
    mem_store *fresh = open_store(dir);
    int total = 0;
    for (int t = 0; t < 8; t++) {
        float *q = random_vectors(1, 100 + (uint64_t)t);
        mem_query mq = {.mode = MEM_SEARCH_VECTOR, .vec = q, .dim = DIM, .kind = t % 4 - 1};
        if (t & 1) mq.path_prefix = "/b/";
        if (t & 2) mq.has_time = 1, mq.t_lo = 20, mq.t_hi = 60;
        mem_hit a[40], b[40];
        const int na = search(st, &mq, a, 40), nb = search(fresh, &mq, b, 40);
        assert_int_equal(na, nb);
        total += na;
        for (int i = 0; i < na; i++) {
            assert_int_equal(a[i].chunk_id, b[i].chunk_id);
            assert_true(a[i].score == b[i].score);
        }
        mem_hits_free(a, na);
        mem_hits_free(b, nb);
        free(q);
    }
    assert_true(total > 40);
    assert_int_equal(mem_store_verify(st), MOTE_OK);
    mem_store_close(fresh);
    mem_store_close(st);
    remove_dir(dir);
}

static void test_fts_syntax_is_text(void **state)
{
    (void)state;
    int n;
    char *q = mem_fts_query("say \"hi\" NEAR(x) -y *", 22, &n);
    assert_string_equal(q, "\"say\" OR \"\"\"hi\"\"\" OR \"NEAR(x)\" OR \"-y\" OR \"*\"");
    assert_int_equal(n, 5);
    free(q);
    q = mem_fts_query("  \t\n ", 5, &n);
    assert_string_equal(q, "");
    assert_int_equal(n, 0);
    free(q);
    q = mem_fts_query("a\0b", 3, &n); /* NUL separates */
    assert_string_equal(q, "\"a\" OR \"b\"");
    free(q);

    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_corpus(st);
    static const char *const inputs[] = {
        "\"", "\"\"", "AND", "OR", "NOT", "a AND", "*", "a*", "NEAR(", "NEAR(a b, 3)", "-x", "-", "+", "^",
        "(", ")", "((a", "{text title}: x", "text:", "title:baking", "col:x", "'", "''", "\\", ":", ".",
        "", " ", "wifi\"password", "\xff\xfe", "\xe2\x82", "caf\xc3\xa9", "💾 emoji", "\x01\x02", "a OR b NOT c",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        mem_hit h[5];
        int got = -1;
        const mote_status rc =
            mem_store_search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = inputs[i], .kind = -1}, h, 5, &got);
        if (rc != MOTE_OK) fail_msg("query <%s>: %s", inputs[i], mote_last_error());
        mem_hits_free(h, got);
    }
    /* the words still count: a quote glued to a word still finds it */
    assert_string_equal(top_source(st, "wifi\"password"), "/home/notes/router.md");
    assert_string_equal(top_source(st, "title:baking"), "(none)"); /* one word, not a column filter */
    mem_store_close(st);
    remove_dir(dir);
}

/* "the NAME": "the" is in every chunk, "hill" and "stemmed"/"stems" in a
 * few, "zeppelin" in none. */
static void test_common_words(void **state)
{
    (void)state;
    size_t start[MEM_FTS_TERMS_MAX], wlen[MEM_FTS_TERMS_MAX];
    assert_int_equal(mem_fts_words("  a bc\td ", 10, start, wlen), 3);
    assert_int_equal(start[1], 4);
    assert_int_equal(wlen[1], 2);
    int n;
    const unsigned char skip[] = {1, 0, 1};
    char *q = mem_fts_query_except("a bc d", 6, skip, 0, &n);
    assert_string_equal(q, "\"bc\"");
    assert_int_equal(n, 1);
    free(q);
    q = mem_fts_query_except("a bc d", 6, NULL, 1, &n);
    assert_string_equal(q, "\"a\" AND \"bc\" AND \"d\"");
    assert_int_equal(n, 3);
    free(q);

    /* a memory this small is searched whole: "the" (in most chunks of the
     * corpus) is not left out for "wifi" (in one) */
    char *dir = temp_dir();
    mem_store *st = open_store(dir);
    put_corpus(st);
    mem_hit h[50];
    n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the wifi", .kind = -1}, h, 50);
    assert_true(n > 2);
    mem_hits_free(h, n);
    st->common_min_docs = 1; /* the rest of this test: as a big memory would */
    n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the wifi", .kind = -1}, h, 50);
    assert_int_equal(n, 1);
    mem_hits_free(h, n);
    mem_store_close(st);
    remove_dir(dir);

    dir = temp_dir();
    st = open_store(dir);
    st->common_min_docs = 1;
    char *texts[100];
    for (int i = 0; i < 40; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "the note %d says %s", i,
                 i % 10 == 3 ? "the hill the hill" : i % 10 == 7 ? "hill" : i == 20 ? "stems" : "nothing");
        texts[i] = strdup(buf);
    }
    put_texts(st, "/c/notes.txt", MEM_TEXT, 40, (const char *const *)texts, 9);
    for (int i = 0; i < 40; i++) free(texts[i]);
    mem_hit a[50], b[50];
    /* with a rare word, the common ones are left out: the ranking is the rare word's, scores and all */
    const mem_query qa = {.mode = MEM_SEARCH_BM25, .text = "the hill", .kind = -1};
    const mem_query qb = {.mode = MEM_SEARCH_BM25, .text = "hill", .kind = -1};
    const int na = search(st, &qa, a, 50), nb = search(st, &qb, b, 50);
    assert_int_equal(na, 8);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_int_equal(a[i].chunk_id, b[i].chunk_id);
        assert_true(a[i].score == b[i].score);
    }
    mem_hits_free(a, na);
    mem_hits_free(b, nb);
    /* the word is looked up as the index holds it: "stemmed" is "stem", in one chunk */
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the says stemming", .kind = -1}, a, 50),
                     1);
    mem_hits_free(a, 1);
    /* common words only: searched as they are */
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the says", .kind = -1}, a, 50), 40);
    mem_hits_free(a, 40);
    /* a word no chunk holds does not make the common ones go */
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the zeppelin", .kind = -1}, a, 50), 40);
    mem_hits_free(a, 40);
    /* filters too */
    assert_int_equal(search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "the hill", .path_prefix = "/c/",
                                            .kind = -1},
                            a, 50),
                     8);
    mem_hits_free(a, 8);

    /* common words only: first the chunks that hold them all, when there
     * are as many as the candidates wanted (mem_search_candidates(10) =
     * 50); else all that hold any */
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < 100; i++) {
            const int j = f * 100 + i;
            char buf[128];
            snprintf(buf, sizeof buf, "entry %d%s%s%s", j, j % 2 == 0 ? " alpha" : "", j % 3 != 2 ? " beta" : "",
                     j % 4 == 1 ? " gamma" : "");
            texts[i] = strdup(buf);
        }
        char path[64];
        snprintf(path, sizeof path, "/c/more%d.txt", f);
        put_texts(st, path, MEM_TEXT, 100, (const char *const *)texts, 10 + (uint64_t)f);
        for (int i = 0; i < 100; i++) free(texts[i]);
    }
    /* alpha and beta: 100 chunks hold both */
    n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "alpha beta", .kind = -1}, a, 10);
    assert_int_equal(n, 10);
    for (int i = 0; i < n; i++) assert_true(strstr(a[i].text, "alpha") && strstr(a[i].text, "beta"));
    mem_hits_free(a, n);
    /* alpha and gamma: none holds both */
    n = search(st, &(mem_query){.mode = MEM_SEARCH_BM25, .text = "alpha gamma", .kind = -1}, a, 10);
    assert_int_equal(n, 10);
    mem_hits_free(a, n);
    mem_store_close(st);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bm25_known_answers),
        cmocka_unit_test(test_vector_planted_first),
        cmocka_unit_test(test_quantize),
        cmocka_unit_test(test_rrf),
        cmocka_unit_test(test_hybrid_is_rrf),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_index_in_step),
        cmocka_unit_test(test_fts_syntax_is_text),
        cmocka_unit_test(test_common_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
