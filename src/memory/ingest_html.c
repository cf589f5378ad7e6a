/*
 * ingest_html.c — an HTML page's visible text (libxml2's forgiving HTML
 * parser, never the network): headings h1-h6 start sections whose title
 * is the heading path, block elements end paragraphs, and what is no
 * reading matter (script, style, noscript, template, nav, the head but
 * its <title>, svg, iframe, object, embed, canvas) is left out. Each
 * paragraph's lines are those of the text nodes it was made of.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>

#include "memory/ingest_internal.h"

#define HEADING_LEVELS 6
#define PATH_SEP " > "
#define HEADING_MAX 256 /* bytes of a heading kept in titles */
#define HTML_OPTS (HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET)

typedef struct html_state {
    chunker *k;
    strbuf para;          /* the paragraph being gathered, blanks collapsed */
    int lo, hi;           /* its lines (0: none yet) */
    int fixed_lo, fixed_hi; /* > 0: every paragraph's lines (a mail body) */
    int pre;              /* inside <pre>: newlines kept */
    char *heads[HEADING_LEVELS];
    int any_heading;
    const char *src;      /* the page's bytes and line starts, to place text nodes */
    size_t src_len;
    size_t *starts;
    int n_lines;
} html_state;

static const char *const skipped[] = {"script", "style", "noscript", "template", "nav", "svg", "iframe",
                                      "object", "embed", "canvas", "head", "select", "button"};
static const char *const blocks[] = {
    "p",      "div",    "li",      "ul",     "ol",       "table",  "tr",     "td",     "th",   "thead",
    "tbody",  "tfoot",  "caption", "br",     "pre",      "blockquote", "section", "article", "header", "footer",
    "main",   "aside",  "dl",      "dt",     "dd",       "figure", "figcaption", "hr", "form", "address",
    "fieldset", "details", "summary", "body", "html"};

static int name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f'; }

/* Does line ln of the source hold word w[0..n)? */
static int line_has(const html_state *h, int ln, const char *w, size_t n)
{
    if (ln < 1 || ln > h->n_lines) return 0;
    const size_t a = h->starts[ln - 1], e = ln < h->n_lines ? h->starts[ln] : h->src_len;
    return memmem(h->src + a, e - a, w, n) != NULL;
}

/* The source line a text node starts on. libxml2 numbers a text node by
 * its first line or, for some (those after a newline: <pre>), its last;
 * the node's first word, found on the line either way gives, decides. */
static int text_first_line(const html_state *h, const char *s, int reported, int nl, int first_nl)
{
    const char *w = s;
    while (*w && !isalnum((unsigned char)*w)) w++;
    size_t n = 0;
    while (isalnum((unsigned char)w[n]) && n < 32) n++;
    if (nl > 0 && reported - nl >= 1 &&
        (reported + nl > h->n_lines ||
         (n && !line_has(h, reported + first_nl, w, n) && line_has(h, reported - nl + first_nl, w, n))))
        return reported - nl;
    return reported;
}

/* Add a text node's text (blanks collapsed outside <pre>); its lines
 * count from the first to the last non-blank character. */
static void add_text(html_state *h, const char *s, int line)
{
    const char *text = s;
    int nl = 0, first = 0, last = 0, seen = 0;
    for (const char *p = s; *p; p++) {
        if (!is_ws(*p)) {
            if (!seen) first = nl, seen = 1;
            last = nl;
        }
        nl += *p == '\n';
    }
    for (; *s; s++) {
        if (is_ws(*s) && !(h->pre && *s == '\n')) {
            if (h->para.n > 0 && !is_ws(h->para.s[h->para.n - 1])) sb_add(&h->para, " ", 1);
        } else {
            sb_add(&h->para, s, 1);
        }
    }
    if (line > 0 && seen && h->starts) line = text_first_line(h, text, line, nl, first);
    if (line > 0 && seen) {
        int lo = line + first, hi = line + last;
        if (h->starts && hi > h->n_lines) hi = h->n_lines; /* never past the page */
        if (lo > hi) lo = hi;
        if (h->lo == 0 || lo < h->lo) h->lo = lo;
        if (hi > h->hi) h->hi = hi;
    }
}

static void flush(html_state *h)
{
    if (h->para.oom) h->k->c->oom = 1;
    if (h->para.n > 0) {
        int lo = h->fixed_lo > 0 ? h->fixed_lo : h->lo, hi = h->fixed_lo > 0 ? h->fixed_hi : h->hi;
        chunker_para(h->k, h->para.s, h->para.n, lo, hi, 0);
    }
    h->para.n = 0;
    h->lo = h->hi = 0;
}

static void walk(html_state *h, xmlNode *n);

static void walk_children(html_state *h, xmlNode *n)
{
    for (xmlNode *ch = n->children; ch && !h->k->c->full && !h->k->c->oom; ch = ch->next) walk(h, ch);
}

static void heading(html_state *h, xmlNode *n, int level)
{
    flush(h);
    walk_children(h, n); /* gathers the heading's text (and lines) into para */
    size_t a = 0, e = h->para.n;
    while (a < e && is_ws(h->para.s[a])) a++;
    while (e > a && is_ws(h->para.s[e - 1])) e--;
    if (e == a) { h->para.n = 0; h->lo = h->hi = 0; return; }
    for (int i = level - 1; i < HEADING_LEVELS; i++) {
        free(h->heads[i]);
        h->heads[i] = NULL;
    }
    const size_t hn = utf8_floor(h->para.s + a, e - a < HEADING_MAX ? e - a : HEADING_MAX);
    if (!(h->heads[level - 1] = strndup(h->para.s + a, hn))) h->k->c->oom = 1;
    strbuf path = {0};
    for (int i = 0; i < HEADING_LEVELS; i++) {
        if (!h->heads[i]) continue;
        if (path.n) sb_adds(&path, PATH_SEP);
        sb_adds(&path, h->heads[i]);
    }
    if (path.oom) h->k->c->oom = 1;
    /* the pending heading text belongs to the new section: keep it past the flush */
    chunker_section(h->k, path.s);
    sb_free(&path);
    h->any_heading = 1;
    flush(h);
}

static void walk(html_state *h, xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        const char *s = (const char *)n->content;
        if (!s) return;
        const long line = xmlGetLineNo(n);
        add_text(h, s, line > 0 && line < INT_MAX / 2 ? (int)line : 0);
        return;
    }
    if (n->type != XML_ELEMENT_NODE || !n->name) return;
    const char *name = (const char *)n->name;
    if (name_in(name, skipped, sizeof skipped / sizeof skipped[0])) return;
    if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2]) {
        heading(h, n, name[1] - '0');
        return;
    }
    const int block = name_in(name, blocks, sizeof blocks / sizeof blocks[0]);
    if (block) flush(h);
    const int was_pre = h->pre;
    if (strcmp(name, "pre") == 0) h->pre = 1;
    walk_children(h, n);
    h->pre = was_pre;
    if (block) flush(h);
}

/* The text of <title> inside the head, collapsed, or NULL (malloc'd). */
static char *page_title(xmlNode *root)
{
    for (xmlNode *n = root; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (n->name && strcmp((const char *)n->name, "title") == 0) {
            xmlChar *t = xmlNodeGetContent(n);
            if (!t) return NULL;
            strbuf b = {0};
            for (const char *s = (const char *)t; *s; s++)
                if (!is_ws(*s) || (b.n && !is_ws(b.s[b.n - 1]))) sb_add(&b, is_ws(*s) ? " " : s, 1);
            xmlFree(t);
            while (b.n && is_ws(b.s[b.n - 1])) b.s[--b.n] = 0;
            if (b.n == 0) sb_free(&b);
            return b.s;
        }
        char *t = page_title(n->children);
        if (t) return t;
    }
    return NULL;
}

static void quiet_errors(void *ctx, const char *msg, ...) { (void)ctx, (void)msg; }
static void quiet_structured(void *ctx, const xmlError *e) { (void)ctx, (void)e; }

void html_to_chunker(chunker *k, const char *data, size_t len, int lo, int hi)
{
    ingest_glib_once();
    if (len > INT_MAX) {
        ing_warn(k->c, "html: %s: longer than 2 GiB, the rest is left out", k->c->name);
        len = INT_MAX;
    }
    /* libxml2 reports through per-thread handlers: this thread's are quiet */
    xmlSetGenericErrorFunc(NULL, quiet_errors);
    xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)quiet_structured);
    htmlDocPtr doc = htmlReadMemory(data, (int)len, NULL, lo > 0 ? "UTF-8" : NULL, HTML_OPTS);
    if (!doc) {
        if (len) ing_warn(k->c, "html: %s: no document could be read", k->c->name);
        return;
    }
    html_state h = {.k = k, .fixed_lo = lo, .fixed_hi = hi, .src = data, .src_len = len};
    if (lo <= 0 && !(h.starts = line_index(data, len, &h.n_lines))) {
        k->c->oom = 1;
        xmlFreeDoc(doc);
        return;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    if (lo <= 0) {
        char *title = page_title(root);
        chunker_section(k, title);
        free(title);
    }
    for (xmlNode *n = root; n && !k->c->full && !k->c->oom; n = n->next) walk(&h, n);
    flush(&h);
    for (int i = 0; i < HEADING_LEVELS; i++) free(h.heads[i]);
    sb_free(&h.para);
    free(h.starts);
    xmlFreeDoc(doc);
}

void ingest_html(ingest_ctx *c, const char *data, size_t len)
{
    chunker k;
    chunker_init(&k, c);
    html_to_chunker(&k, data, len, 0, 0);
    chunker_free(&k);
}
