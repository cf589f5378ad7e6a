/*
 * test_mem_ingest.c — ingest (src/memory/ingest*.c, chunk.c): every
 * format's chunks, titles and citations against the fixtures in
 * tests/memory/ (whose facts the tests name), line ranges checked against
 * the files' own lines, the chunker's size and overlap on a long generated
 * text, and what broken input gives: warnings, and the rest ingested.
 *
 * The fixtures are read from tests/memory/ relative to the current folder
 * (make test runs from the repository's root); files that must not be
 * committed as they are (CRLF, invalid UTF-8, PDFs, truncated copies) are
 * made in a temporary folder.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memory/ingest.h"
#include "testutil.h"

#define FIX "tests/memory/"
#define T_2026_11_21_1300 1795266000 /* Unix seconds of 2026-11-21 13:00 UTC */
#define HOUR 3600

/* ================================================================ helpers */

/* LeakSanitizer: fontconfig, which cairo's toy fonts load to draw the
 * test's PDFs (make_pdf), keeps its configuration past exit and loses a
 * pointer to part of it; only this program, and only that library, whose
 * frames (no frame pointers) are all the fast unwinder sees. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mote-ingest-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* tmpdir/name in a static buffer (two alternate, so two can be held). */
static const char *tmp_path(const char *name)
{
    static char buf[2][512];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void write_str(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }

static void ingest_ok(const char *path, const mem_ingest_opts *o, mem_doc *d)
{
    mote_status st = mem_ingest_file(path, o, d);
    if (st != MOTE_OK) fail_msg("ingest %s: %d %s", path, st, mote_last_error());
}

/* The file's lines (CRs before LFs dropped), 1-based: lines[1..n]. */
typedef struct lines { char *buf; char **l; int n; } lines;

static lines read_lines(const char *path)
{
    lines L = {0};
    size_t len;
    L.buf = read_file(path, &len);
    assert_non_null(L.buf);
    L.l = calloc(len + 2, sizeof *L.l);
    assert_non_null(L.l);
    char *s = L.buf;
    for (;;) {
        L.l[++L.n] = s;
        char *nl = strchr(s, '\n');
        if (!nl) break;
        *nl = 0;
        if (nl > s && nl[-1] == '\r') nl[-1] = 0;
        s = nl + 1;
    }
    return L;
}

static void free_lines(lines *L) { free(L->buf), free(L->l); }

/* s with each run of blanks one space, trimmed (malloc'd). */
static char *squash(const char *s)
{
    char *o = malloc(strlen(s) + 1), *p = o;
    assert_non_null(o);
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            if (p > o && p[-1] != ' ') *p++ = ' ';
        } else {
            *p++ = *s;
        }
    }
    while (p > o && p[-1] == ' ') p--;
    *p = 0;
    return o;
}

/* Lines lo..hi of L joined by newlines (malloc'd). */
static char *range_text(const lines *L, int lo, int hi)
{
    assert_true(lo >= 1 && lo <= hi && hi <= L->n);
    size_t n = 1;
    for (int i = lo; i <= hi; i++) n += strlen(L->l[i]) + 1;
    char *s = calloc(n, 1);
    assert_non_null(s);
    for (int i = lo; i <= hi; i++) strcat(strcat(s, L->l[i]), "\n");
    return s;
}

/* Each chunk's text is in its lines of the file (blanks squashed). */
static void check_exact_lines(const char *path, const mem_doc *d)
{
    lines L = read_lines(path);
    for (int i = 0; i < d->n_chunks; i++) {
        const mem_chunk *c = &d->chunks[i];
        char *r = range_text(&L, c->line_lo, c->line_hi), *rs = squash(r), *cs = squash(c->text);
        if (!strstr(rs, cs)) fail_msg("%s chunk %d (lines %d..%d) not in its lines:\n[%s]\nlines:\n[%s]", path, i, c->line_lo, c->line_hi, cs, rs);
        /* and the range is tight: its first and last lines hold chunk text */
        char *first = squash(L.l[c->line_lo]), *last = squash(L.l[c->line_hi]);
        assert_true(first[0] && last[0]);
        free(first), free(last), free(r), free(rs), free(cs);
    }
    free_lines(&L);
}

/* Every word (letters and digits) of each chunk is in its lines (HTML). */
static void check_word_lines(const char *path, const mem_doc *d)
{
    lines L = read_lines(path);
    for (int i = 0; i < d->n_chunks; i++) {
        const mem_chunk *c = &d->chunks[i];
        char *r = range_text(&L, c->line_lo, c->line_hi);
        for (const char *s = c->text; *s;) {
            if (!isalnum((unsigned char)*s)) { s++; continue; }
            char w[128];
            size_t n = 0;
            while (isalnum((unsigned char)*s) && n < sizeof w - 1) w[n++] = *s++;
            w[n] = 0;
            if (!strstr(r, w)) fail_msg("%s chunk %d: \"%s\" not on lines %d..%d", path, i, w, c->line_lo, c->line_hi);
        }
        free(r);
    }
    free_lines(&L);
}

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (!n) return 0;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += n;
    }
    return 1;
}

static const mem_chunk *find_chunk(const mem_doc *d, const char *needle)
{
    for (int i = 0; i < d->n_chunks; i++)
        if (strstr(d->chunks[i].text, needle)) return &d->chunks[i];
    return NULL;
}

static int doc_has(const mem_doc *d, const char *needle) { return find_chunk(d, needle) != NULL; }

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* ================================================================ text and Markdown */

static void test_markdown(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "install.md", NULL, &d);
    assert_int_equal(d.kind, MEM_MARKDOWN);
    assert_string_equal(d.source, FIX "install.md");
    assert_int_equal(d.n_chunks, 5);
    static const char *const titles[] = {"Install", "Install > Debian", "Install > Fedora",
                                         "Install > Fedora > Troubleshooting", "Uninstall"};
    static const int lo[] = {1, 6, 18, 22, 27}, hi[] = {4, 16, 20, 25, 30};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(d.chunks[i].title, titles[i]);
        assert_int_equal(d.chunks[i].line_lo, lo[i]);
        assert_int_equal(d.chunks[i].line_hi, hi[i]);
        assert_null(d.chunks[i].msg_id);
    }
    /* "# as root" inside the fence is code, not a heading */
    assert_non_null(strstr(d.chunks[1].text, "# as root\napt-get install mote\n```"));
    check_exact_lines(FIX "install.md", &d);
    assert_null(d.warnings);
    mem_doc_free(&d);
}

static void test_text(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "notes.txt", NULL, &d);
    assert_int_equal(d.kind, MEM_TEXT);
    assert_int_equal(d.n_chunks, 1);
    assert_null(d.chunks[0].title);
    assert_int_equal(d.chunks[0].line_lo, 1);
    assert_int_equal(d.chunks[0].line_hi, 8);
    /* paragraphs are kept apart by one blank line, however many the file has */
    assert_non_null(strstr(d.chunks[0].text, "morning.\n\nDentist"));
    check_exact_lines(FIX "notes.txt", &d);

    /* small chunks: the same lines, cut and overlapping */
    mem_ingest_opts o = mem_ingest_defaults();
    o.chunk_target = 64, o.chunk_overlap = 24;
    mem_doc s;
    ingest_ok(FIX "notes.txt", &o, &s);
    assert_true(s.n_chunks > 3);
    for (int i = 0; i < s.n_chunks; i++) assert_true(strlen(s.chunks[i].text) <= 64);
    check_exact_lines(FIX "notes.txt", &s);
    mem_doc_free(&s);
    mem_doc_free(&d);
}

static void test_crlf(void **state)
{
    (void)state;
    size_t n;
    char *lf = read_file(FIX "install.md", &n);
    assert_non_null(lf);
    char *crlf = malloc(2 * n + 1), *p = crlf;
    for (size_t i = 0; i < n; i++) {
        if (lf[i] == '\n') *p++ = '\r';
        *p++ = lf[i];
    }
    write_bytes(tmp_path("crlf.md"), crlf, (size_t)(p - crlf));
    mem_doc a, b;
    ingest_ok(FIX "install.md", NULL, &a);
    ingest_ok(tmp_path("crlf.md"), NULL, &b);
    assert_int_equal(a.n_chunks, b.n_chunks);
    for (int i = 0; i < a.n_chunks; i++) {
        assert_string_equal(a.chunks[i].text, b.chunks[i].text);
        assert_string_equal(a.chunks[i].title, b.chunks[i].title);
        assert_int_equal(a.chunks[i].line_lo, b.chunks[i].line_lo);
        assert_int_equal(a.chunks[i].line_hi, b.chunks[i].line_hi);
        assert_null(strchr(b.chunks[i].text, '\r'));
    }
    check_exact_lines(tmp_path("crlf.md"), &b);
    mem_doc_free(&a), mem_doc_free(&b);
    free(lf), free(crlf);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    /* a Latin-1 byte, a lone continuation, an overlong, a surrogate, a cut sequence */
    static const char bad[] = "caf\xe9 au lait\n\nok \x80 \xc0\xaf \xed\xa0\x80 end\n\ncut \xe2\x82";
    write_bytes(tmp_path("bad.txt"), bad, sizeof bad - 1);
    mem_doc d;
    ingest_ok(tmp_path("bad.txt"), NULL, &d);
    assert_int_equal(d.n_chunks, 1);
    assert_true(valid_utf8(d.chunks[0].text));
    assert_non_null(strstr(d.chunks[0].text, "caf\xEF\xBF\xBD au lait"));
    assert_non_null(strstr(d.chunks[0].text, "cut \xEF\xBF\xBD"));
    assert_non_null(d.warnings);
    assert_non_null(strstr(d.warnings, "invalid UTF-8"));
    assert_int_equal(d.chunks[0].line_lo, 1);
    assert_int_equal(d.chunks[0].line_hi, 5);
    mem_doc_free(&d);
}

static void test_empty(void **state)
{
    (void)state;
    static const char *const names[] = {"empty.txt", "empty.md", "empty.html", "empty.csv", "empty.jsonl", "empty.eml", "empty"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        write_str(tmp_path(names[i]), "");
        mem_doc d;
        ingest_ok(tmp_path(names[i]), NULL, &d);
        assert_int_equal(d.n_chunks, 0);
        assert_int_equal(d.n_readings, 0);
        mem_doc_free(&d);
    }
    /* blanks only: nothing to index either */
    write_str(tmp_path("blank.txt"), "\n \n\t\n\r\n");
    mem_doc d;
    ingest_ok(tmp_path("blank.txt"), NULL, &d);
    assert_int_equal(d.n_chunks, 0);
    mem_doc_free(&d);
    /* an empty PDF is no PDF */
    write_str(tmp_path("empty.pdf"), "");
    assert_int_equal(mem_ingest_file(tmp_path("empty.pdf"), NULL, &d), MOTE_E_FORMAT);
    assert_int_equal(d.n_chunks, 0);
    assert_null(d.source);
}

/* The longest k <= max with a's last k bytes == b's first k (0 if none). */
static size_t overlap_len(const char *a, const char *b, size_t max)
{
    const size_t na = strlen(a), nb = strlen(b);
    for (size_t k = max < nb ? max : nb; k > 0; k--)
        if (k <= na && memcmp(a + na - k, b, k) == 0) return k;
    return 0;
}

static void test_chunk_invariants(void **state)
{
    (void)state;
    /* paragraphs of numbered sentences, one paragraph far longer than a
     * chunk, a run without blanks of two-byte characters, and lines */
    FILE *f = fopen(tmp_path("long.txt"), "wb");
    assert_non_null(f);
    uint64_t rng = 42;
    int sentence = 0;
    for (int p = 0; p < 40; p++) {
        int n = p == 7 ? 60 : 1 + (int)(test_rng_next(&rng) % 6);
        for (int s = 0; s < n; s++) {
            fprintf(f, "S%d", sentence++);
            int words = 3 + (int)(test_rng_next(&rng) % 12);
            for (int w = 0; w < words; w++) fprintf(f, " w%d", (int)(test_rng_next(&rng) % 1000));
            fprintf(f, ".%s", test_rng_next(&rng) % 4 == 0 ? "\n" : " ");
        }
        fputs(p == 20 ? "\n\n" : "\n\n\n", f);
        if (p == 12) {
            for (int k = 0; k < 900; k++) fputs("\xc3\xa4", f); /* 1800 bytes of "ä", no blank */
            fputs("\n\n", f);
        }
    }
    fclose(f);
    mem_ingest_opts o = mem_ingest_defaults();
    o.chunk_target = 300, o.chunk_overlap = 60;
    mem_doc d;
    ingest_ok(tmp_path("long.txt"), &o, &d);
    assert_true(d.n_chunks > 20);
    int with_overlap = 0;
    for (int i = 0; i < d.n_chunks; i++) {
        const char *t = d.chunks[i].text;
        if (strlen(t) > 300) fail_msg("chunk %d: %zu bytes", i, strlen(t));
        assert_true(valid_utf8(t));
        assert_true(t[0] && !isspace((unsigned char)t[0]) && !isspace((unsigned char)t[strlen(t) - 1]));
        if (i > 0) {
            size_t k = overlap_len(d.chunks[i - 1].text, t, 60);
            with_overlap += k > 0;
        }
    }
    /* all but the chunks after the blank-less run overlap the one before */
    if (with_overlap < d.n_chunks - 1 - 8) fail_msg("%d of %d chunks overlap", with_overlap, d.n_chunks - 1);
    /* every sentence is in some chunk, whole */
    char key[32];
    for (int s = 0; s < sentence; s++) {
        snprintf(key, sizeof key, "S%d ", s);
        assert_non_null(find_chunk(&d, key));
    }
    check_exact_lines(tmp_path("long.txt"), &d);

    /* max_chunks stops with a warning */
    mem_doc m;
    o.max_chunks = 3;
    ingest_ok(tmp_path("long.txt"), &o, &m);
    assert_int_equal(m.n_chunks, 3);
    assert_non_null(m.warnings);
    assert_non_null(strstr(m.warnings, "max_chunks"));
    mem_doc_free(&m);
    mem_doc_free(&d);
}

/* A paragraph of 500,000 one-character lines in chunks of 1 MiB: linear
 * work (a line count from the paragraph's start per piece made this
 * quadratic: minutes). */
static void test_large_paragraph(void **state)
{
    (void)state;
    const size_t n_lines = 500000;
    char *big = malloc(2 * n_lines);
    assert_non_null(big);
    for (size_t i = 0; i < n_lines; i++) big[2 * i] = 'a', big[2 * i + 1] = '\n';
    mem_ingest_opts o = mem_ingest_defaults();
    o.chunk_target = 1 << 20;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mem_doc d;
    assert_int_equal(mem_ingest_buffer("big.txt", big, 2 * n_lines, MEM_FMT_TEXT, &o, &d), MOTE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(d.n_chunks, 1);
    assert_int_equal(d.chunks[0].line_lo, 1);
    assert_int_equal(d.chunks[0].line_hi, (int)n_lines);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (s > 10) fail_msg("%.1f s for 1 MB of lines", s);
    mem_doc_free(&d);
    free(big);
}

/* ================================================================ HTML */

static void test_html(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "page.html", NULL, &d);
    assert_int_equal(d.kind, MEM_HTML);
    assert_int_equal(d.n_chunks, 3);
    assert_string_equal(d.chunks[0].title, "Garden");
    assert_string_equal(d.chunks[1].title, "Garden > Watering");
    assert_string_equal(d.chunks[2].title, "Garden > Pests");
    assert_string_equal(d.chunks[0].text, "Garden\n\nTomatoes & basil grow in the south bed since April.");
    assert_int_equal(d.chunks[0].line_lo, 11);
    assert_int_equal(d.chunks[0].line_hi, 13);
    assert_int_equal(d.chunks[1].line_lo, 14);
    assert_int_equal(d.chunks[1].line_hi, 19);
    assert_non_null(strstr(d.chunks[1].text, "Water every second day"));
    assert_non_null(strstr(d.chunks[1].text, "Never water at noon."));
    assert_non_null(strstr(d.chunks[2].text, "lettuce \xE2\x80\x93 beer")); /* &ndash; */
    static const char *const noise[] = {"do-not-index", "color", "Home", "About", "enable JavaScript", "hidden template"};
    for (size_t i = 0; i < sizeof noise / sizeof noise[0]; i++)
        if (doc_has(&d, noise[i])) fail_msg("\"%s\" was indexed", noise[i]);
    check_word_lines(FIX "page.html", &d);
    mem_doc_free(&d);

    ingest_ok(FIX "recipe.html", NULL, &d);
    assert_int_equal(d.n_chunks, 2);
    assert_string_equal(d.chunks[0].title, "Bread");
    assert_string_equal(d.chunks[1].title, "Bread > Baking");
    assert_non_null(strstr(d.chunks[1].text, "230 \xC2\xB0" "C")); /* &deg; */
    assert_non_null(strstr(d.chunks[1].text, "step 1: preheat\nstep 2: bake 40 min")); /* <pre> keeps lines */
    assert_int_equal(d.chunks[1].line_lo, 5);
    assert_int_equal(d.chunks[1].line_hi, 9);
    assert_false(doc_has(&d, "document.write"));
    check_word_lines(FIX "recipe.html", &d);
    mem_doc_free(&d);

    /* a page without headings: its <title> titles the chunks */
    write_str(tmp_path("t.html"), "<html><head><title> My   page </title></head><body>Just text &lt;here&gt;.</body></html>");
    ingest_ok(tmp_path("t.html"), NULL, &d);
    assert_int_equal(d.n_chunks, 1);
    assert_string_equal(d.chunks[0].title, "My page");
    assert_string_equal(d.chunks[0].text, "Just text <here>.");
    mem_doc_free(&d);
}

/* ================================================================ PDF */

/* A two-page PDF with cairo: page 1 and page 2 say what they are. */
static void make_pdf(const char *path)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 595, 842);
    cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Heating report");
    cairo_t *cr = cairo_create(s);
    cairo_select_font_face(cr, "Helvetica", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 14);
    cairo_move_to(cr, 72, 100);
    cairo_show_text(cr, "Quarterly heating report for the house.");
    cairo_move_to(cr, 72, 130);
    cairo_show_text(cr, "The boiler used 812 kWh of gas.");
    cairo_show_page(cr);
    cairo_move_to(cr, 72, 100);
    cairo_show_text(cr, "Second page: the attic needs insulation.");
    cairo_show_page(cr);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
}

static void test_pdf(void **state)
{
    (void)state;
    const char *path = tmp_path("report.pdf");
    make_pdf(path);
    mem_doc d;
    ingest_ok(path, NULL, &d);
    assert_int_equal(d.kind, MEM_PDF);
    assert_true(d.n_chunks >= 1);
    const mem_chunk *p1 = find_chunk(&d, "812 kWh"), *p2 = find_chunk(&d, "insulation");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal(p1->line_lo, 1);
    assert_int_equal(p2->line_hi, 2);
    assert_string_equal(p1->title, "Heating report");
    for (int i = 0; i < d.n_chunks; i++) assert_true(d.chunks[i].line_lo >= 1 && d.chunks[i].line_hi <= 2);
    mem_doc_free(&d);

    /* one page per chunk when a chunk holds no more than a page */
    mem_ingest_opts o = mem_ingest_defaults();
    o.chunk_target = 64, o.chunk_overlap = 0;
    ingest_ok(path, &o, &d);
    p2 = find_chunk(&d, "insulation");
    assert_non_null(p2);
    assert_int_equal(p2->line_lo, 2);
    assert_int_equal(p2->line_hi, 2);
    mem_doc_free(&d);

    /* truncated copies: an error naming the file, or what could be read */
    size_t n;
    char *bytes = read_file(path, &n);
    assert_non_null(bytes);
    static const size_t cuts[] = {9, 100, 400};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(tmp_path("cut.pdf"), bytes, cuts[i]);
        mote_status st = mem_ingest_file(tmp_path("cut.pdf"), NULL, &d);
        if (st == MOTE_OK) {
            mem_doc_free(&d);
        } else {
            assert_int_equal(st, MOTE_E_FORMAT);
            assert_non_null(strstr(mote_last_error(), "pdf: "));
            assert_non_null(strstr(mote_last_error(), "cut.pdf"));
        }
    }
    /* a page without text: a warning, no chunk */
    cairo_surface_t *blank = cairo_pdf_surface_create(tmp_path("blank.pdf"), 200, 200);
    cairo_t *cr = cairo_create(blank);
    cairo_rectangle(cr, 10, 10, 50, 50);
    cairo_fill(cr);
    cairo_destroy(cr);
    cairo_surface_destroy(blank);
    ingest_ok(tmp_path("blank.pdf"), NULL, &d);
    assert_int_equal(d.n_chunks, 0);
    assert_non_null(d.warnings);
    assert_non_null(strstr(d.warnings, "no text on its 1 page"));
    mem_doc_free(&d);
    /* a header and then nothing a PDF has */
    write_str(tmp_path("junk.pdf"), "%PDF-1.4\nthis is no pdf at all\n");
    assert_int_equal(mem_ingest_file(tmp_path("junk.pdf"), NULL, &d), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "pdf: "));
    free(bytes);
}

/* ================================================================ mail */

static void test_mbox(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "mail.mbox", NULL, &d);
    assert_int_equal(d.kind, MEM_MAIL);
    assert_int_equal(d.n_chunks, 4);
    const mem_chunk *c = d.chunks;
    /* 1: plain text */
    assert_string_equal(c[0].title, "Boiler service");
    assert_string_equal(c[0].msg_id, "boiler-1@example.org");
    assert_int_equal(c[0].t_lo, 1795252500); /* Sat, 21 Nov 2026 09:15:00 +0000 */
    static const char head[] = "From: Alice Example <alice@example.org>\nTo: Bob <bob@example.org>\n"
                               "Date: Sat, 21 Nov 2026 09:15:00 +0000\nSubject: Boiler service\n\nHi Bob,";
    assert_true(strncmp(c[0].text, head, sizeof head - 1) == 0);
    assert_non_null(strstr(c[0].text, "Tuesday at 10"));
    /* 2: multipart with a base64 text attachment */
    assert_string_equal(c[1].title, "Meter readings");
    assert_string_equal(c[1].msg_id, "meter-2@example.org");
    assert_int_equal(c[1].t_lo, 1795368600); /* Sun, 22 Nov 2026 18:30:00 +0100 */
    assert_non_null(strstr(c[1].text, "The readings are attached."));
    assert_null(strstr(c[1].text, "4711"));
    assert_string_equal(c[2].title, "Meter readings > attachment readings.txt");
    assert_string_equal(c[2].msg_id, "meter-2@example.org");
    assert_int_equal(c[2].t_lo, 1795368600);
    assert_string_equal(c[2].text, "Meter reading: 4711 kWh on 22 November.\nGas: 1234 m3.");
    /* 3: quoted-printable Latin-1, RFC 2047 subject */
    assert_string_equal(c[3].title, "Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBCnchen");
    assert_string_equal(c[3].msg_id, "gruss-3@example.de");
    assert_int_equal(c[3].t_lo, 1795420800);
    assert_non_null(strstr(c[3].text, "Sch\xC3\xB6ne Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBCnchen, das Wetter ist gro\xC3\x9F" "artig und die Stra\xC3\x9F" "en sind leer."));
    /* each message's lines: its "From " line to its last */
    static const int lo[] = {1, 15, 15, 36}, hi[] = {13, 34, 34, 47};
    lines L = read_lines(FIX "mail.mbox");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c[i].line_lo, lo[i]);
        assert_int_equal(c[i].line_hi, hi[i]);
        assert_true(strncmp(L.l[c[i].line_lo], "From ", 5) == 0);
        char want[128];
        snprintf(want, sizeof want, "Message-ID: <%s>", c[i].msg_id);
        char *r = range_text(&L, c[i].line_lo, c[i].line_hi);
        assert_non_null(strstr(r, want));
        free(r);
    }
    assert_int_equal(L.n - 1, 47); /* the file's last line is the last message's */
    free_lines(&L);
    assert_null(d.warnings);
    mem_doc_free(&d);
}

static void test_maildir(void **state)
{
    (void)state;
    assert_int_equal(mem_is_maildir(FIX "Maildir"), 1);
    assert_int_equal(mem_is_maildir(FIX), 0);
    assert_int_equal(mem_is_maildir(FIX "Maildir/cur"), 0);
    assert_int_equal(mem_is_maildir(NULL), 0);
    /* what a walker does: each file of cur/ and new/ is a source */
    static const char *const files[] = {FIX "Maildir/cur/1795000000.M1P1.host:2,S", FIX "Maildir/new/1795000100.M2P2.host"};
    mem_doc d[2];
    for (int i = 0; i < 2; i++) {
        enum mem_kind k;
        enum mem_format f;
        assert_int_equal(mem_ingest_kind(files[i], &k), MOTE_OK);
        assert_int_equal(k, MEM_MAIL);
        assert_int_equal(mem_ingest_format(files[i], &f), MOTE_OK);
        assert_int_equal(f, MEM_FMT_EML);
        ingest_ok(files[i], NULL, &d[i]);
        assert_int_equal(d[i].n_chunks, 1);
        assert_int_equal(d[i].chunks[0].line_lo, 1);
    }
    assert_string_equal(d[0].chunks[0].title, "Dentist appointment");
    assert_string_equal(d[0].chunks[0].msg_id, "dent-4@example.com");
    assert_int_equal(d[0].chunks[0].t_lo, 1795521600);
    assert_int_equal(d[0].chunks[0].line_hi, 8);
    assert_non_null(strstr(d[0].chunks[0].text, "confirmed for Thursday at 3 pm."));
    /* no Message-ID: one made from the bytes, the same every time */
    const char *id = d[1].chunks[0].msg_id;
    assert_non_null(id);
    assert_true(strncmp(id, "mote-", 5) == 0 && strlen(id) == 21);
    mem_doc again;
    ingest_ok(files[1], NULL, &again);
    assert_string_equal(again.chunks[0].msg_id, id);
    mem_doc_free(&again);
    /* an HTML body read as HTML */
    assert_non_null(strstr(d[1].chunks[0].text, "left with the neighbour & signed for."));
    assert_non_null(strstr(d[1].chunks[0].text, "Tracking number 00340434."));
    assert_null(strstr(d[1].chunks[0].text, "track()"));
    assert_null(strstr(d[1].chunks[0].text, "<p>"));
    mem_doc_free(&d[0]), mem_doc_free(&d[1]);
}

static void test_broken_mime(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "broken.eml", NULL, &d);
    assert_int_equal(d.kind, MEM_MAIL);
    const mem_chunk *c = find_chunk(&d, "Recovered text survives the broken parts.");
    assert_non_null(c);
    assert_string_equal(c->msg_id, "broken-5@example.org");
    assert_non_null(d.warnings);
    assert_non_null(strstr(d.warnings, "closing boundary"));
    assert_non_null(strstr(d.warnings, "bad base64 in attachment notes.txt"));
    /* what base64 could be decoded is kept */
    c = find_chunk(&d, "Hello");
    assert_non_null(c);
    assert_string_equal(c->title, "Broken mail > attachment notes.txt");
    mem_doc_free(&d);

    /* headers only, garbage after: no crash, the headers indexed */
    write_str(tmp_path("headers.eml"), "From: x@y.z\nSubject: Only headers\nContent-Type: multipart/mixed\n\n--\n--\n");
    ingest_ok(tmp_path("headers.eml"), NULL, &d);
    assert_non_null(find_chunk(&d, "Subject: Only headers"));
    mem_doc_free(&d);
}

static void test_mail_pdf_attachment(void **state)
{
    (void)state;
    const char *pdf = tmp_path("a.pdf");
    make_pdf(pdf);
    size_t n;
    char *bytes = read_file(pdf, &n);
    assert_non_null(bytes);
    gchar *b64 = g_base64_encode((const guchar *)bytes, n);
    FILE *f = fopen(tmp_path("withpdf.eml"), "wb");
    assert_non_null(f);
    fprintf(f, "From: Erin <erin@example.org>\nDate: Fri, 27 Nov 2026 08:00:00 +0000\nSubject: Report\n"
               "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"q\"\n\n--q\nContent-Type: text/plain\n\n"
               "See the PDF.\n--q\nContent-Type: application/pdf; name=\"report.pdf\"\n"
               "Content-Disposition: attachment; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\n");
    for (size_t i = 0; i < strlen(b64); i += 76) fprintf(f, "%.76s\n", b64 + i);
    fprintf(f, "--q--\n");
    fclose(f);
    mem_doc d;
    ingest_ok(tmp_path("withpdf.eml"), NULL, &d);
    const mem_chunk *c = find_chunk(&d, "insulation");
    assert_non_null(c);
    assert_string_equal(c->title, "Report > attachment report.pdf");
    assert_int_equal(c->t_lo, 1795766400); /* Fri, 27 Nov 2026 08:00:00 +0000 */
    assert_int_equal(c->line_lo, 1);
    assert_null(d.warnings);
    mem_doc_free(&d);
    g_free(b64);
    free(bytes);
}

/* ================================================================ sensors */

/* The reading of series at Unix second t, or NULL. */
static const mem_reading *reading_at(const mem_doc *d, const char *series, int64_t t)
{
    for (size_t i = 0; i < d->n_readings; i++)
        if (d->readings[i].t_ms == t * 1000 && strcmp(d->readings[i].series, series) == 0) return &d->readings[i];
    return NULL;
}

static void test_sensor_csv(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "sensors.csv", NULL, &d);
    assert_int_equal(d.kind, MEM_SENSOR);
    /* kitchen 12 + 8 + 6, humidity 11 (one empty cell) + 8 + 6 */
    assert_int_equal(d.n_readings, 51);
    const int64_t t14 = T_2026_11_21_1300 + HOUR;
    /* the kitchen max on 2026-11-21 14:00-15:00 is 23.1, from the readings themselves */
    double mx = -1;
    int n14 = 0;
    for (size_t i = 0; i < d.n_readings; i++) {
        const mem_reading *r = &d.readings[i];
        if (strcmp(r->series, "kitchen temperature") || r->t_ms < t14 * 1000 || r->t_ms >= (t14 + HOUR) * 1000) continue;
        mx = r->value > mx ? r->value : mx;
        n14++;
    }
    assert_true(mx == 23.1);
    assert_int_equal(n14, 8);
    /* times with a zone and in Unix seconds */
    const mem_reading *r = reading_at(&d, "kitchen temperature", t14 + 15 * 60); /* "2026-11-21 15:15:00+01:00" */
    assert_non_null(r);
    assert_true(r->value == 22.0);
    r = reading_at(&d, "kitchen temperature", t14 + HOUR + 5 * 60);
    assert_non_null(r);
    assert_true(r->value == 21.5);
    assert_null(reading_at(&d, "hallway humidity", T_2026_11_21_1300 + 20 * 60)); /* the empty cell */

    assert_int_equal(d.n_chunks, 2);
    const mem_chunk *k = &d.chunks[0], *h = &d.chunks[1];
    assert_string_equal(k->title, "kitchen temperature");
    assert_string_equal(h->title, "hallway humidity");
    assert_non_null(strstr(k->text, "kitchen temperature 2026-11-21 14:00\xE2\x80\x93" "15:00 UTC: 19.8\xE2\x80\x93" "23.1 \xC2\xB0"
                                    "C (mean 21.79, last 22.9, 8 readings); gap 14:20\xE2\x80\x93" "14:45"));
    assert_non_null(strstr(k->text, "kitchen temperature 2026-11-21 13:00\xE2\x80\x93" "14:00 UTC: 19\xE2\x80\x93" "19.9 \xC2\xB0"
                                    "C (mean 19.47, last 19.9, 12 readings)\n"));
    assert_non_null(strstr(h->text, "hallway humidity 2026-11-21 13:00\xE2\x80\x93" "14:00 UTC: 40\xE2\x80\x93" "45 (mean 42.45, last 45, 11 readings)"));
    assert_int_equal(count_lines(k->text), 2); /* three windows in one chunk */
    assert_int_equal(k->t_lo, T_2026_11_21_1300);
    assert_int_equal(k->t_hi, T_2026_11_21_1300 + 3 * HOUR);
    assert_int_equal(k->line_lo, 2);
    assert_int_equal(k->line_hi, 30);
    /* the three bad rows, each once, by line */
    assert_non_null(d.warnings);
    assert_int_equal(count_lines(d.warnings), 3);
    assert_non_null(strstr(d.warnings, "line 6: unparsable time"));
    assert_non_null(strstr(d.warnings, "line 10: kitchen temperature \"n/a\" is not a number"));
    assert_non_null(strstr(d.warnings, "line 14: 2 fields, the header has 3"));
    mem_doc_free(&d);

    /* two-hour windows; small chunks hold one window each */
    mem_ingest_opts o = mem_ingest_defaults();
    o.sensor_window_s = 2 * HOUR;
    o.chunk_target = 130;
    ingest_ok(FIX "sensors.csv", &o, &d);
    const mem_chunk *w = find_chunk(&d, "kitchen temperature 2026-11-21 14:00\xE2\x80\x93" "16:00 UTC");
    assert_non_null(w);
    assert_int_equal(w->t_lo, T_2026_11_21_1300 + HOUR);
    assert_int_equal(w->t_hi, T_2026_11_21_1300 + 3 * HOUR);
    assert_int_equal(w->line_lo, 17);
    assert_int_equal(w->line_hi, 30);
    assert_non_null(strstr(w->text, "14 readings"));
    assert_non_null(find_chunk(&d, "12:00\xE2\x80\x93" "14:00 UTC"));
    for (int i = 0; i < d.n_chunks; i++) assert_true(strlen(d.chunks[i].text) <= 130);
    mem_doc_free(&d);
}

static void test_sensor_jsonl(void **state)
{
    (void)state;
    mem_doc d;
    ingest_ok(FIX "sensors.jsonl", NULL, &d);
    assert_int_equal(d.kind, MEM_SENSOR);
    assert_int_equal(d.n_readings, 20);
    assert_int_equal(d.n_chunks, 2);
    assert_string_equal(d.chunks[0].title, "kitchen temperature");
    assert_string_equal(d.chunks[1].title, "garage co2");
    assert_non_null(strstr(d.chunks[1].text, "garage co2 2026-11-21 14:00\xE2\x80\x93" "15:00 UTC: 400\xE2\x80\x93"
                                             "410 ppm (mean 405, last 410, 2 readings); gap 14:10\xE2\x80\x93" "15:00"));
    assert_non_null(strstr(d.chunks[1].text, "15:00\xE2\x80\x93" "16:00 UTC: 460\xE2\x80\x93" "510 ppm (mean 485, last 510, 6 readings)"));
    assert_non_null(strstr(d.chunks[0].text, "20\xE2\x80\x93" "21.25 \xC2\xB0" "C (mean 20.62, last 21.25, 6 readings)"));
    /* milliseconds as Unix time */
    assert_non_null(reading_at(&d, "garage co2", T_2026_11_21_1300 + HOUR + 10 * 60));
    assert_int_equal(count_lines(d.warnings), 3);
    assert_non_null(strstr(d.warnings, "line 5: value is not a number"));
    assert_non_null(strstr(d.warnings, "line 14: not a JSON object"));
    assert_non_null(strstr(d.warnings, "line 19: no time"));
    mem_doc_free(&d);

    /* wide form with a place label; a unit in the key */
    write_str(tmp_path("wide.jsonl"), "{\"time\": 1795269600, \"room\": \"attic\", \"temp (C)\": 5.5, \"hum\": 80, \"ok\": true}\n"
                                      "{\"time\": 1795269660.5, \"room\": \"attic\", \"temp (C)\": 6.5, \"hum\": null}\n");
    ingest_ok(tmp_path("wide.jsonl"), NULL, &d);
    assert_int_equal(d.n_readings, 3);
    const mem_reading *r = reading_at(&d, "attic hum", 1795269600);
    assert_non_null(r);
    assert_true(r->value == 80);
    assert_int_equal(d.readings[2].t_ms, 1795269660500);
    assert_non_null(find_chunk(&d, "attic temp 2026-11-21 14:00\xE2\x80\x93" "15:00 UTC: 5.5\xE2\x80\x93" "6.5 C (mean 6, last 6.5, 2 readings)"));
    assert_null(d.warnings);
    mem_doc_free(&d);
}

static void test_sensor_csv_forms(void **state)
{
    (void)state;
    mem_doc d;
    /* long form, semicolons, quoted labels, zones */
    write_str(tmp_path("long.csv"), "ts;sensor;metric;value;unit\n"
                                    "2026-11-21T14:00:00+01:00;\"cellar\";temperature;11.5;\xC2\xB0" "C\n"
                                    "2026-11-21T13:30:00Z;cellar;temperature;12.5;\xC2\xB0" "C\n"
                                    "2026-11-21T13:45;cellar;humidity;70;%\n");
    ingest_ok(tmp_path("long.csv"), NULL, &d);
    assert_int_equal(d.n_readings, 3);
    assert_non_null(reading_at(&d, "cellar temperature", T_2026_11_21_1300));
    assert_non_null(find_chunk(&d, "cellar temperature 2026-11-21 13:00\xE2\x80\x93" "14:00 UTC: 11.5\xE2\x80\x93" "12.5 \xC2\xB0"
                                   "C (mean 12, last 12.5, 2 readings)"));
    assert_non_null(find_chunk(&d, "cellar humidity 2026-11-21 13:00\xE2\x80\x93" "14:00 UTC: 70\xE2\x80\x93" "70 % (mean 70, last 70, 1 reading)"));
    mem_doc_free(&d);

    /* the bad CSV: the warning lines are capped, the good rows kept */
    ingest_ok(FIX "bad.csv", NULL, &d);
    assert_int_equal(d.n_readings, 2);
    assert_int_equal(count_lines(d.warnings), MEM_INGEST_WARN_LINES + 1);
    assert_non_null(strstr(d.warnings, "\xE2\x80\xA6 and 10 more\n"));
    assert_non_null(find_chunk(&d, "temp 2026-11-21 10:00\xE2\x80\x93" "11:00 UTC: 5.5\xE2\x80\x93" "6.5 (mean 6, last 6.5, 2 readings)"));
    mem_doc_free(&d);

    /* a .csv without a time column is text */
    write_str(tmp_path("plain.csv"), "name,qty\napples,3\n");
    ingest_ok(tmp_path("plain.csv"), NULL, &d);
    assert_int_equal(d.kind, MEM_TEXT);
    assert_int_equal(d.n_chunks, 1);
    mem_doc_free(&d);
}

/* ================================================================ kinds, limits, API */

static void test_kinds(void **state)
{
    (void)state;
    static const struct { const char *path; enum mem_kind kind; } fixtures[] = {
        {FIX "install.md", MEM_MARKDOWN}, {FIX "notes.txt", MEM_TEXT},      {FIX "page.html", MEM_HTML},
        {FIX "mail.mbox", MEM_MAIL},      {FIX "broken.eml", MEM_MAIL},     {FIX "sensors.csv", MEM_SENSOR},
        {FIX "sensors.jsonl", MEM_SENSOR},
    };
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        enum mem_kind k;
        assert_int_equal(mem_ingest_kind(fixtures[i].path, &k), MOTE_OK);
        assert_int_equal(k, fixtures[i].kind);
    }
    /* by content when the name says nothing */
    static const struct { const char *name, *text; enum mem_format fmt; } sniffed[] = {
        {"a", "%PDF-1.7\n", MEM_FMT_PDF},
        {"b", "  <!DOCTYPE html><p>x</p>", MEM_FMT_HTML},
        {"c", "<HTML><body>x</body></HTML>", MEM_FMT_HTML},
        {"d", "From bob@example.org Sat Nov 21 09:15:00 2026\nSubject: x\n\nbody\n", MEM_FMT_MBOX},
        {"e", "Received: from x\nFrom: a@b.c\nSubject: hi\n\nbody\n", MEM_FMT_EML},
        {"f", "time,temp\n2026-01-01T00:00:00Z,1\n", MEM_FMT_CSV},
        {"g", "{\"ts\": 1795269600, \"v\": 1}\n", MEM_FMT_JSONL},
        {"h", "# Title\n\ntext\n", MEM_FMT_MARKDOWN},
        {"i", "Just: some text with a colon\nand more\n", MEM_FMT_TEXT},
        {"j.data", "plain words\n", MEM_FMT_TEXT},
    };
    for (size_t i = 0; i < sizeof sniffed / sizeof sniffed[0]; i++) {
        write_str(tmp_path(sniffed[i].name), sniffed[i].text);
        enum mem_format f;
        assert_int_equal(mem_ingest_format(tmp_path(sniffed[i].name), &f), MOTE_OK);
        if (f != sniffed[i].fmt) fail_msg("%s: %s, wanted %s", sniffed[i].name, mem_format_name(f), mem_format_name(sniffed[i].fmt));
    }
    /* binaries and folders: "not a supported file", for a walker to skip */
    static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0};
    write_bytes(tmp_path("prog"), elf, sizeof elf);
    write_bytes(tmp_path("prog.txt"), elf, sizeof elf);
    enum mem_kind k;
    mem_doc d;
    assert_int_equal(mem_ingest_kind(tmp_path("prog"), &k), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "not a supported file"));
    assert_int_equal(mem_ingest_file(tmp_path("prog.txt"), NULL, &d), MOTE_E_UNSUPPORTED);
    assert_int_equal(mem_ingest_kind(tmpdir, &k), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "not a supported file"));
    assert_int_equal(mem_ingest_kind(tmp_path("absent.txt"), &k), MOTE_E_IO);
    assert_int_equal(mem_ingest_file(tmp_path("absent.txt"), NULL, &d), MOTE_E_IO);
    assert_int_equal(mem_format_kind(MEM_FMT_MBOX), MEM_MAIL);
    assert_string_equal(mem_format_name(MEM_FMT_JSONL), "jsonl");
}

static void test_limits_and_buffer(void **state)
{
    (void)state;
    mem_ingest_opts o = mem_ingest_defaults();
    assert_int_equal(o.chunk_target, 1200);
    assert_int_equal(o.chunk_overlap, 200);
    assert_int_equal(o.sensor_window_s, 3600);
    assert_int_equal(o.max_file_bytes, 64 << 20);
    o.max_file_bytes = 100;
    mem_doc d;
    assert_int_equal(mem_ingest_file(FIX "install.md", &o, &d), MOTE_E_RANGE);
    assert_non_null(strstr(mote_last_error(), "over the limit"));
    assert_null(d.chunks);

    static const char md[] = "# A\n\none\n\n## B\n\ntwo\n";
    ingest_ok(FIX "notes.txt", NULL, &d); /* a file, then the same API from memory */
    mem_doc_free(&d);
    assert_int_equal(mem_ingest_buffer("mem.md", md, sizeof md - 1, MEM_FMT_MARKDOWN, NULL, &d), MOTE_OK);
    assert_int_equal(d.n_chunks, 2);
    assert_string_equal(d.chunks[1].title, "A > B");
    assert_int_equal(d.chunks[1].line_lo, 5);
    assert_int_equal(d.chunks[1].line_hi, 7);
    assert_string_equal(d.source, "mem.md");
    mem_doc_free(&d);
    assert_int_equal(mem_ingest_buffer("x", NULL, 3, MEM_FMT_TEXT, NULL, &d), MOTE_E_INVALID);
    assert_int_equal(mem_ingest_buffer("x", "", 0, MEM_FMT_COUNT, NULL, &d), MOTE_E_INVALID);
    assert_int_equal(mem_ingest_file(NULL, NULL, &d), MOTE_E_INVALID);
    assert_int_equal(mem_ingest_file(FIX "notes.txt", NULL, NULL), MOTE_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_chunk_invariants),
        cmocka_unit_test(test_large_paragraph),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_pdf),
        cmocka_unit_test(test_mbox),
        cmocka_unit_test(test_maildir),
        cmocka_unit_test(test_broken_mime),
        cmocka_unit_test(test_mail_pdf_attachment),
        cmocka_unit_test(test_sensor_csv),
        cmocka_unit_test(test_sensor_jsonl),
        cmocka_unit_test(test_sensor_csv_forms),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_limits_and_buffer),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
