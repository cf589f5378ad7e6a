/*
 * json.c — JSON in and out of the value model.
 *
 * Reading keeps what chat templates print differently: ints stay ints and
 * floats stay floats (1 vs 1.0), object keys keep their order, strings are
 * full Unicode (\u escapes with surrogate pairs). Like Python's json module it
 * also accepts NaN, Infinity and -Infinity.
 *
 * Writing is json.dumps(x, ensure_ascii=..., indent=..., separators=...,
 * sort_keys=...), which is what HF's tojson filter calls (it does not
 * HTML-escape, unlike jinja2's own tojson).
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of arrays and objects accepted from the context. */
#define JJSON_DEPTH_MAX 200

/* ------------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------- */

typedef struct jreader {
    const char *s;  /* the document */
    size_t n, i;    /* its length, the read position */
    jheap *h;       /* values are allocated here */
    char *err;      /* message buffer for a failure */
    size_t errcap;
    size_t errpos;  /* offset of the failure */
    int depth;      /* open arrays and objects */
} jreader;

static bool rfail(jreader *p, const char *msg)
{
    snprintf(p->err, p->errcap, "%s", msg);
    p->errpos = p->i;
    return false;
}

static void skip_ws(jreader *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static bool lit(jreader *p, const char *word)
{
    size_t k = strlen(word);
    if (p->i + k > p->n || memcmp(p->s + p->i, word, k) != 0) return false;
    p->i += k;
    return true;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static bool read_string(jreader *p, jv *out)
{
    p->i++; /* opening quote */
    jbuf b;
    jbuf_init_charged(&b, 0, p->h);
    for (;;) {
        size_t start = p->i;
        while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' && (unsigned char)p->s[p->i] >= 0x20) p->i++;
        size_t bad;
        if (!u8_valid(p->s + start, p->i - start, &bad)) {
            p->i = start + bad;
            jbuf_free(&b);
            return rfail(p, "invalid UTF-8 in string");
        }
        jbuf_put(&b, p->s + start, p->i - start);
        if (p->i >= p->n) {
            jbuf_free(&b);
            return rfail(p, "unterminated string");
        }
        char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c != '\\') {
            jbuf_free(&b);
            return rfail(p, "invalid control character in string");
        }
        if (p->i + 1 >= p->n) {
            jbuf_free(&b);
            return rfail(p, "unterminated string");
        }
        char e = p->s[p->i + 1];
        p->i += 2;
        switch (e) {
        case '"': jbuf_putc(&b, '"'); break;
        case '\\': jbuf_putc(&b, '\\'); break;
        case '/': jbuf_putc(&b, '/'); break;
        case 'b': jbuf_putc(&b, '\b'); break;
        case 'f': jbuf_putc(&b, '\f'); break;
        case 'n': jbuf_putc(&b, '\n'); break;
        case 'r': jbuf_putc(&b, '\r'); break;
        case 't': jbuf_putc(&b, '\t'); break;
        case 'u': {
            int v = p->i + 4 <= p->n ? hex4(p->s + p->i) : -1;
            if (v < 0) {
                jbuf_free(&b);
                return rfail(p, "invalid \\u escape");
            }
            p->i += 4;
            uint32_t cp = (uint32_t)v;
            if (cp >= 0xD800 && cp <= 0xDBFF && p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                int lo = hex4(p->s + p->i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    p->i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
            char u[4];
            jbuf_put(&b, u, u8_encode(cp, u));
            break;
        }
        default:
            jbuf_free(&b);
            return rfail(p, "invalid escape in string");
        }
    }
    if (!jbuf_to_str(&b, p->h, out)) return rfail(p, "string too long");
    return true;
}

static bool read_number(jreader *p, jv *out)
{
    size_t start = p->i;
    bool is_float = false;
    if (p->s[p->i] == '-') p->i++;
    if (p->i < p->n && p->s[p->i] == 'I') {
        if (!lit(p, "Infinity")) return rfail(p, "invalid number");
        *out = jv_float(-INFINITY);
        return true;
    }
    size_t digits = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    if (p->i == digits) return rfail(p, "invalid number");
    if (p->i < p->n && p->s[p->i] == '.') {
        is_float = true;
        p->i++;
        size_t f = p->i;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
        if (p->i == f) return rfail(p, "invalid number");
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        is_float = true;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        size_t e = p->i;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
        if (p->i == e) return rfail(p, "invalid number");
    }
    char buf[400];
    size_t len = p->i - start;
    if (len >= sizeof buf) return rfail(p, "number too long");
    memcpy(buf, p->s + start, len);
    buf[len] = '\0';
    if (is_float) {
        *out = jv_float(strtod(buf, NULL));
        return true;
    }
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE) {
        p->i = start;
        return rfail(p, "integer too large");
    }
    *out = jv_int(v);
    return true;
}

static bool read_value(jreader *p, jv *out);

static bool read_container(jreader *p, bool object, jv *out)
{
    if (++p->depth > JJSON_DEPTH_MAX) return rfail(p, "nested too deeply");
    p->i++;
    bool ok = object ? jdict_new(p->h, out) : jlist_new(p->h, JL_LIST, 0, out);
    if (!ok) return rfail(p, "out of memory");
    char close = object ? '}' : ']';
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        p->depth--;
        return true;
    }
    for (;;) {
        skip_ws(p);
        jv key = jv_none(), val;
        if (object) {
            if (p->i >= p->n || p->s[p->i] != '"') return rfail(p, "expected a string key");
            if (!read_string(p, &key)) return false;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return rfail(p, "expected ':'");
            p->i++;
        }
        if (!read_value(p, &val)) return false;
        ok = object ? jdict_set(jv_dict(*out), key, val) : jlist_push(jv_list(*out), val);
        jv_release(key);
        jv_release(val);
        if (!ok) return rfail(p, "out of memory");
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            p->depth--;
            return true;
        }
        return rfail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool read_value(jreader *p, jv *out)
{
    skip_ws(p);
    if (p->i >= p->n) return rfail(p, "unexpected end of JSON");
    char c = p->s[p->i];
    switch (c) {
    case '{': return read_container(p, true, out);
    case '[': return read_container(p, false, out);
    case '"': return read_string(p, out);
    case 't': if (lit(p, "true")) { *out = jv_bool(true); return true; } break;
    case 'f': if (lit(p, "false")) { *out = jv_bool(false); return true; } break;
    case 'n': if (lit(p, "null")) { *out = jv_none(); return true; } break;
    case 'N': if (lit(p, "NaN")) { *out = jv_float(NAN); return true; } break;
    case 'I': if (lit(p, "Infinity")) { *out = jv_float(INFINITY); return true; } break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return read_number(p, out);
    }
    return rfail(p, "unexpected character");
}

bool jjson_parse(jheap *h, const char *s, size_t n, jv *out, char *err, size_t errcap, size_t *errpos)
{
    jreader p = {.s = s, .n = n, .h = h, .err = err, .errcap = errcap};
    bool ok = read_value(&p, out);
    if (ok) {
        skip_ws(&p);
        if (p.i < p.n) ok = rfail(&p, "extra data after the JSON value");
    }
    if (!ok && errpos) *errpos = p.errpos;
    return ok;
}

/* ------------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------- */

static void write_json_string(jbuf *b, const char *s, size_t n, bool ensure_ascii)
{
    jbuf_putc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        switch (c) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        default: break;
        }
        if (rep || c < 0x20 || (ensure_ascii && c >= 0x7F)) {
            jbuf_put(b, s + start, i - start);
            uint32_t cp;
            size_t k = u8_decode(s, n, i, &cp);
            if (rep) jbuf_puts(b, rep);
            else if (cp < 0x10000) jbuf_printf(b, "\\u%04x", cp);
            else {
                uint32_t v = cp - 0x10000;
                jbuf_printf(b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            }
            i += k;
            start = i;
            continue;
        }
        i++;
    }
    jbuf_put(b, s + start, n - start);
    jbuf_putc(b, '"');
}

static bool write_float(jrender *r, const jnode *at, jbuf *b, double f)
{
    (void)r;
    (void)at;
    if (isnan(f)) jbuf_puts(b, "NaN");
    else if (isinf(f)) jbuf_puts(b, f > 0 ? "Infinity" : "-Infinity");
    else {
        char num[40];
        jfloat_repr(f, num);
        jbuf_puts(b, num);
    }
    return true;
}

static void newline_indent(jbuf *b, const jjson_opts *o, int level)
{
    jbuf_putc(b, '\n');
    for (int i = 0; i < level; i++) jbuf_put(b, o->indent, o->indent_len);
}

/* A dict key as json.dumps converts it; false for keys JSON cannot hold. */
static bool write_key(jrender *r, const jnode *at, jbuf *b, jv k, const jjson_opts *o)
{
    switch ((jtype)k.type) {
    case JT_STR: write_json_string(b, jv_str(k)->s, jv_str(k)->len, o->ensure_ascii); return true;
    case JT_BOOL: jbuf_puts(b, k.u.i ? "\"true\"" : "\"false\""); return true;
    case JT_NONE: jbuf_puts(b, "\"null\""); return true;
    case JT_INT: jbuf_printf(b, "\"%lld\"", (long long)k.u.i); return true;
    case JT_FLOAT:
        jbuf_putc(b, '"');
        write_float(r, at, b, k.u.f);
        jbuf_putc(b, '"');
        return true;
    default:
        return jfail(r, at, "keys must be str, int, float, bool or None, not %s", jv_type_name(k));
    }
}

/* Entry order of a dict, sorted by key when sort_keys is set. */
static bool key_order(jrender *r, const jnode *at, jdict *d, bool sort, size_t *order)
{
    for (size_t i = 0; i < d->n; i++) order[i] = i;
    if (!sort) return true;
    for (size_t i = 1; i < d->n; i++) { /* insertion sort: stable, no callback */
        size_t cur = order[i], j = i;
        while (j > 0) {
            int c;
            if (!jorder(r, at, d->keys[order[j - 1]], d->keys[cur], &c)) return false;
            if (c <= 0) break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = cur;
    }
    return true;
}

static bool dump(jrender *r, const jnode *at, jv v, const jjson_opts *o, jbuf *b, int level)
{
    if (level > JNEST_MAX) return jfail(r, at, "value nested too deeply for tojson");
    const char *item_sep = o->item_sep ? o->item_sep : o->indent_set ? "," : ", ";
    size_t item_sep_len = o->item_sep ? o->item_sep_len : strlen(item_sep);
    const char *key_sep = o->key_sep ? o->key_sep : ": ";
    size_t key_sep_len = o->key_sep ? o->key_sep_len : 2;
    switch ((jtype)v.type) {
    case JT_NONE: jbuf_puts(b, "null"); return true;
    case JT_BOOL: jbuf_puts(b, v.u.i ? "true" : "false"); return true;
    case JT_INT: jbuf_printf(b, "%lld", (long long)v.u.i); return true;
    case JT_FLOAT: return write_float(r, at, b, v.u.f);
    case JT_STR: write_json_string(b, jv_str(v)->s, jv_str(v)->len, o->ensure_ascii); return true;
    case JT_LIST: {
        jlist *l = jv_list(v);
        if (l->form == JL_GEN) break;
        if (!l->n) {
            jbuf_puts(b, "[]");
            return true;
        }
        jbuf_putc(b, '[');
        for (size_t i = 0; i < l->n && !b->failed; i++) { /* a full buffer ends the walk */
            if (i) jbuf_put(b, item_sep, item_sep_len);
            if (o->indent_set) newline_indent(b, o, level + 1);
            if (!dump(r, at, l->items[i], o, b, level + 1)) return false;
        }
        if (o->indent_set) newline_indent(b, o, level);
        jbuf_putc(b, ']');
        return true;
    }
    case JT_DICT: {
        jdict *d = jv_dict(v);
        if (!d->n) {
            jbuf_puts(b, "{}");
            return true;
        }
        size_t *order = jheap_scratch(&r->heap, d->n * sizeof *order);
        if (!order) return jfail_oom(r, at);
        bool ok = key_order(r, at, d, o->sort_keys, order);
        if (ok) jbuf_putc(b, '{');
        for (size_t k = 0; ok && k < d->n && !b->failed; k++) {
            size_t i = order[k];
            if (k) jbuf_put(b, item_sep, item_sep_len);
            if (o->indent_set) newline_indent(b, o, level + 1);
            ok = write_key(r, at, b, d->keys[i], o);
            jbuf_put(b, key_sep, key_sep_len);
            ok = ok && dump(r, at, d->vals[i], o, b, level + 1);
        }
        jheap_scratch_free(&r->heap, order, d->n * sizeof *order);
        if (!ok) return false;
        if (o->indent_set) newline_indent(b, o, level);
        jbuf_putc(b, '}');
        return true;
    }
    default:
        break;
    }
    return jfail(r, at, "Object of type %s is not JSON serializable", jv_type_name(v));
}

bool jjson_dump(jrender *r, const jnode *at, jv v, const jjson_opts *o, jbuf *b)
{
    return dump(r, at, v, o, b, 0);
}
