/*
 * filters.c — jinja2's filters on strings, numbers and single values
 * (sequence filters are in filters_seq.c), plus the filter lookup.
 *
 * Each follows the jinja2 3.1 source with HF's settings: autoescape off (so
 * replace, join and friends return plain strings) and HF's own tojson.
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIND(fname, ...)                                                                \
    static const char *const params_[] = {__VA_ARGS__};                                 \
    jv arg[sizeof params_ / sizeof params_[0]];                                          \
    if (!jargs_bind(r, a, fname, params_, sizeof params_ / sizeof params_[0], 0, arg)) \
        return false

#define NO_ARGS(fname)                                                                        \
    if (a->npos || a->nkw) return jfail(r, at, "%s() takes no arguments", fname)

static bool arg_bool(jv v, bool dflt) { return jv_missing(v) ? dflt : jv_truthy(v); }

/* ------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------- */

static bool f_string(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("string");
    return jv_to_str(r, at, in, out);
}

static bool f_trim(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("trim", "chars");
    jv s;
    if (!jv_to_str(r, at, in, &s)) return false;
    bool ok = jstr_strip(r, s, jv_missing(arg[0]) ? jv_none() : arg[0], 3, out);
    jv_release(s);
    return ok;
}

static bool case_filter(jrender *r, const jnode *at, jv in, jargs *a, jv *out, int how)
{
    NO_ARGS("case");
    jv s;
    if (!jv_to_str(r, at, in, &s)) return false;
    bool ok = jstr_case(r, s, how, out);
    jv_release(s);
    return ok;
}

static bool f_upper(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return case_filter(r, at, in, a, out, 'u'); }
static bool f_lower(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return case_filter(r, at, in, a, out, 'l'); }
static bool f_capitalize(jrender *r, const jnode *at, jv in, jargs *a, jv *out) { return case_filter(r, at, in, a, out, 'c'); }

/* jinja2's title: split at runs of [-\s({\[<] and capitalise each piece. */
static bool f_title(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("title");
    jv sv;
    if (!jv_to_str(r, at, in, &sv)) return false;
    jstr *s = jv_str(sv);
    if (!jwork(r, at, s->len * JWORK_CHAR)) {
        jv_release(sv);
        return false;
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    bool piece_start = true, in_sep = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        size_t k = u8_decode(s->s, s->len, i, &cp);
        bool sep = u_isspace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
        if (sep != in_sep) piece_start = true;
        in_sep = sep;
        uint32_t o = piece_start ? u_toupper(cp) : u_tolower(cp);
        piece_start = false;
        char u[4];
        jbuf_put(&b, u, u8_encode(o, u));
        i += k;
    }
    jv_release(sv);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_replace(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("replace", "old", "new", "count");
    if (jv_missing(arg[0]) || jv_missing(arg[1])) return jfail(r, at, "replace() needs old and new");
    jv s, o, n;
    if (!jv_to_str(r, at, in, &s) || !jv_to_str(r, at, arg[0], &o) || !jv_to_str(r, at, arg[1], &n)) return false;
    int64_t count = -1;
    if (!jv_missing(arg[2]) && arg[2].type != JT_NONE) {
        if (!jv_is_intlike(arg[2])) return jfail(r, at, "replace() count must be an integer");
        count = arg[2].u.i;
    }
    s.flags = 0;
    bool ok = jstr_replace(r, s, o, n, count, out);
    jv_release(s);
    jv_release(o);
    jv_release(n);
    return ok;
}

/* do_indent */
static bool f_indent(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("indent", "width", "first", "blank");
    jbuf ind;
    jbuf_init_charged(&ind, 0, &r->heap);
    if (!jv_missing(arg[0]) && arg[0].type == JT_STR) {
        jbuf_put(&ind, jv_str(arg[0])->s, jv_str(arg[0])->len);
    } else {
        int64_t w = 4;
        if (!jv_missing(arg[0])) {
            if (!jv_is_intlike(arg[0])) {
                jbuf_free(&ind);
                return jfail(r, at, "can't multiply sequence by non-int of type '%s'", jv_type_name(arg[0]));
            }
            w = arg[0].u.i;
        }
        for (int64_t i = 0; i < w && i < 100000; i++) jbuf_putc(&ind, ' ');
    }
    bool first = arg_bool(arg[1], false), blank = arg_bool(arg[2], false);
    if (in.type != JT_STR) {
        /* jinja2 appends "\n" to the value itself before splitting lines */
        jbuf_free(&ind);
        if (in.type == JT_UNDEF) return jfail_undef(r, at, in);
        if (in.type == JT_LIST && jv_list(in)->form == JL_LIST)
            return jfail(r, at, "'list' object has no attribute 'splitlines'");
        return jfail(r, at, "unsupported operand type(s) for +=: '%s' and 'str'", jv_type_name(in));
    }
    jv sv, lines;
    if (!jv_to_str(r, at, in, &sv)) return false;
    jbuf text;
    jbuf_init_charged(&text, 0, &r->heap);
    jbuf_put(&text, jv_str(sv)->s, jv_str(sv)->len);
    jbuf_putc(&text, '\n'); /* jinja2's quirk for splitlines */
    bool ok = !text.failed && jstr_splitlines(r, text.p, text.n, false, &lines);
    jbuf_free(&text);
    if (!ok) {
        jbuf_free(&ind);
        return r->failed ? false : jfail_oom(r, at);
    }
    jlist *l = jv_list(lines);
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    if (first) jbuf_put(&b, ind.p, ind.n);
    for (size_t i = 0; i < l->n; i++) {
        jstr *line = jv_str(l->items[i]);
        if (i) {
            jbuf_putc(&b, '\n');
            if (blank || line->len) jbuf_put(&b, ind.p, ind.n);
        }
        jbuf_put(&b, line->s, line->len);
    }
    jbuf_free(&ind);
    jv_release(lines);
    jv_release(sv);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_wordcount(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("wordcount");
    jv sv;
    if (!jv_to_str(r, at, in, &sv)) return false;
    jstr *s = jv_str(sv);
    if (!jwork(r, at, s->len * JWORK_CHAR)) {
        jv_release(sv);
        return false;
    }
    int64_t n = 0;
    bool in_word = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += u8_decode(s->s, s->len, i, &cp);
        bool w = u_isword(cp);
        if (w && !in_word) n++;
        in_word = w;
    }
    jv_release(sv);
    *out = jv_int(n);
    return true;
}

static bool f_center(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("center", "width");
    int64_t width = jv_missing(arg[0]) ? 80 : jv_is_intlike(arg[0]) ? arg[0].u.i : -1;
    if (width < 0 && !jv_missing(arg[0])) return jfail(r, at, "center() width must be an integer");
    jv sv;
    if (!jv_to_str(r, at, in, &sv)) return false;
    int64_t len = (int64_t)jstr_ncp(jv_str(sv));
    if (width > 100000) width = 100000;
    int64_t marg = width - len;
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    int64_t left = marg > 0 ? marg / 2 + (marg & width & 1) : 0;
    for (int64_t i = 0; i < left; i++) jbuf_putc(&b, ' ');
    jbuf_put(&b, jv_str(sv)->s, jv_str(sv)->len);
    for (int64_t i = 0; marg > 0 && i < marg - left; i++) jbuf_putc(&b, ' ');
    jv_release(sv);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_truncate(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("truncate", "length", "killwords", "end", "leeway");
    int64_t length = jv_missing(arg[0]) ? 255 : jv_is_intlike(arg[0]) ? arg[0].u.i : -1;
    int64_t leeway = jv_missing(arg[3]) || arg[3].type == JT_NONE ? 5 : jv_is_intlike(arg[3]) ? arg[3].u.i : -1;
    jv end, sv;
    if (jv_missing(arg[2])) {
        if (!jstr_cstr(&r->heap, "...", &end)) return jfail_oom(r, at);
    } else if (!jv_to_str(r, at, arg[2], &end)) return false;
    int64_t end_len = (int64_t)jstr_ncp(jv_str(end));
    if (length < end_len) return jfail(r, at, "expected length >= %lld, got %lld", (long long)end_len, (long long)length);
    if (leeway < 0) return jfail(r, at, "expected leeway >= 0");
    if (in.type != JT_STR) {
        /* jinja2 measures the value itself: short sequences come back as they are */
        bool sized = in.type == JT_DICT || (in.type == JT_LIST && jv_list(in)->form != JL_GEN) || in.type == JT_UNDEF;
        int64_t n = in.type == JT_DICT ? (int64_t)jv_dict(in)->n : in.type == JT_LIST ? (int64_t)jv_list(in)->n : 0;
        if (!sized) return jfail(r, at, "object of type '%s' has no len()", jv_type_name(in));
        if (n > length + leeway) return jfail(r, at, "truncate() needs a string");
        *out = jv_retain(in);
        return true;
    }
    if (!jv_to_str(r, at, in, &sv)) return false;
    jstr *s = jv_str(sv);
    if ((int64_t)jstr_ncp(s) <= length + leeway) {
        *out = sv;
        return true;
    }
    size_t cut = u8_offset(s->s, s->len, (size_t)(length - end_len));
    if (!arg_bool(arg[1], false)) {
        /* s[:length - len(end)].rsplit(" ", 1)[0] */
        size_t k = cut;
        while (k > 0 && s->s[k - 1] != ' ') k--;
        if (k > 0) cut = k - 1;
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    jbuf_put(&b, s->s, cut);
    jbuf_put(&b, jv_str(end)->s, jv_str(end)->len);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

/* Markup(value).striptags(): drop comments and tags, collapse whitespace,
 * unescape the basic entities. */
static bool f_striptags(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("striptags");
    jv sv;
    if (!jv_to_str(r, at, in, &sv)) return false;
    jstr *s = jv_str(sv);
    if (!jwork(r, at, s->len * JWORK_CHAR)) {
        jv_release(sv);
        return false;
    }
    jbuf t;
    jbuf_init_charged(&t, 0, &r->heap);
    for (size_t i = 0; i < s->len;) {
        if (s->len - i >= 4 && !memcmp(s->s + i, "<!--", 4)) {
            const char *e = memmem(s->s + i + 4, s->len - i - 4, "-->", 3);
            if (e) {
                i = (size_t)(e - s->s) + 3;
                continue;
            }
        }
        if (s->s[i] == '<') {
            const char *e = memchr(s->s + i + 1, '>', s->len - i - 1);
            if (e) {
                i = (size_t)(e - s->s) + 1;
                continue;
            }
        }
        jbuf_putc(&t, s->s[i++]);
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    bool pending_space = false;
    for (size_t i = 0; i < t.n;) {
        uint32_t cp;
        size_t k = u8_decode(t.p, t.n, i, &cp);
        if (u_isspace(cp)) {
            pending_space = b.n > 0;
            i += k;
            continue;
        }
        if (pending_space) jbuf_putc(&b, ' ');
        pending_space = false;
        static const struct { const char *ent, *text; } ents[] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#34;", "\""}, {"&#39;", "'"},
            {"&apos;", "'"}, {"&nbsp;", "\xC2\xA0"},
        };
        bool done = false;
        for (size_t e = 0; cp == '&' && e < sizeof ents / sizeof ents[0]; e++) {
            size_t el = strlen(ents[e].ent);
            if (t.n - i >= el && !memcmp(t.p + i, ents[e].ent, el)) {
                jbuf_puts(&b, ents[e].text);
                i += el;
                done = true;
                break;
            }
        }
        if (!done) {
            jbuf_put(&b, t.p + i, k);
            i += k;
        }
    }
    jbuf_free(&t);
    jv_release(sv);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_format(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    if (a->npos && a->nkw) return jfail(r, at, "can't handle positional and keyword arguments at the same time");
    jv fmt, args;
    if (!jv_to_str(r, at, in, &fmt)) return false;
    if (a->nkw) {
        if (!jdict_new(&r->heap, &args)) return jfail_oom(r, at);
        for (size_t i = 0; i < a->nkw; i++) jdict_set_cstr(jv_dict(args), a->kwname[i], a->kw[i]);
    } else {
        if (!jlist_new(&r->heap, JL_TUPLE, a->npos, &args)) return jfail_oom(r, at);
        for (size_t i = 0; i < a->npos; i++) jlist_push(jv_list(args), a->pos[i]);
    }
    bool ok = jpercent_format(r, at, fmt, args, out);
    jv_release(fmt);
    jv_release(args);
    return ok;
}

/* ------------------------------------------------------------------------
 * Markup
 * ---------------------------------------------------------------------- */

static bool f_safe(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("safe");
    if (!jv_to_str(r, at, in, out)) return false;
    out->flags |= JV_SAFE;
    return true;
}

static bool escape_value(jrender *r, const jnode *at, jv in, bool force, jv *out)
{
    if (in.type == JT_STR && (in.flags & JV_SAFE) && !force) {
        *out = jv_retain(in);
        return true;
    }
    jv sv;
    if (!jv_to_str(r, at, in, &sv)) return false;
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    jhtml_escape(&b, jv_str(sv)->s, jv_str(sv)->len);
    jv_release(sv);
    if (!jbuf_to_str(&b, &r->heap, out)) return jfail_oom(r, at);
    out->flags |= JV_SAFE;
    return true;
}

static bool f_escape(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("escape");
    return escape_value(r, at, in, false, out);
}

static bool f_forceescape(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("forceescape");
    return escape_value(r, at, in, true, out);
}

/* ------------------------------------------------------------------------
 * Numbers
 * ---------------------------------------------------------------------- */

/* Python's float(str): surrounding whitespace, underscores between digits,
 * inf/nan words. */
static bool parse_py_float(const char *s, size_t n, double *out)
{
    char buf[128];
    size_t b = 0, e = n;
    while (b < e && (s[b] == ' ' || (s[b] >= '\t' && s[b] <= '\r'))) b++;
    while (e > b && (s[e - 1] == ' ' || (s[e - 1] >= '\t' && s[e - 1] <= '\r'))) e--;
    if (b == e || e - b >= sizeof buf) return false;
    size_t k = 0;
    for (size_t i = b; i < e; i++) {
        if (s[i] == '_') {
            if (i == b || i + 1 == e || !(s[i - 1] >= '0' && s[i - 1] <= '9') || !(s[i + 1] >= '0' && s[i + 1] <= '9'))
                return false;
            continue;
        }
        buf[k++] = s[i];
    }
    buf[k] = '\0';
    const char *w = buf + (buf[0] == '+' || buf[0] == '-');
    if (!strcasecmp(w, "inf") || !strcasecmp(w, "infinity") || !strcasecmp(w, "nan")) {
        *out = strcasecmp(w, "nan") ? (buf[0] == '-' ? -INFINITY : INFINITY) : NAN;
        return true;
    }
    for (size_t i = 0; i < k; i++)
        if (!strchr("0123456789+-.eE", buf[i])) return false;
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return end == buf + k && end != buf;
}

/* Python's int(str, base). */
static bool parse_py_int(const char *s, size_t n, int base, int64_t *out)
{
    size_t b = 0, e = n;
    while (b < e && (s[b] == ' ' || (s[b] >= '\t' && s[b] <= '\r'))) b++;
    while (e > b && (s[e - 1] == ' ' || (s[e - 1] >= '\t' && s[e - 1] <= '\r'))) e--;
    bool neg = false;
    if (b < e && (s[b] == '+' || s[b] == '-')) neg = s[b++] == '-';
    if (b + 1 < e && s[b] == '0') {
        char p = (char)(s[b + 1] | 0x20);
        int pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (pb && (base == pb || base == 0)) {
            base = pb;
            b += 2;
            if (b < e && s[b] == '_') b++;
        }
    }
    if (base == 0) base = 10;
    if (b >= e) return false;
    uint64_t v = 0;
    for (size_t i = b; i < e; i++) {
        char c = s[i];
        if (c == '_' && i > b && i + 1 < e && s[i - 1] != '_') continue;
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (v > (uint64_t)INT64_MAX + neg) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool f_int(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("int", "default", "base");
    jv dflt = jv_missing(arg[0]) ? jv_int(0) : arg[0];
    int base = jv_missing(arg[1]) ? 10 : jv_is_intlike(arg[1]) ? (int)arg[1].u.i : 10;
    if (in.type == JT_UNDEF) return jfail_undef(r, at, in); /* int(Undefined) raises */
    if (jv_is_intlike(in)) {
        *out = jv_int(in.u.i);
        return true;
    }
    if (in.type == JT_FLOAT) {
        if (!isfinite(in.u.f) || fabs(in.u.f) >= 9.2e18) return jfail(r, at, "cannot convert float %s to integer", isnan(in.u.f) ? "NaN" : "infinity");
        *out = jv_int((int64_t)in.u.f);
        return true;
    }
    if (in.type == JT_STR) {
        int64_t iv;
        double fv;
        jstr *s = jv_str(in);
        if (parse_py_int(s->s, s->len, base, &iv)) {
            *out = jv_int(iv);
            return true;
        }
        if (parse_py_float(s->s, s->len, &fv) && isfinite(fv) && fabs(fv) < 9.2e18) {
            *out = jv_int((int64_t)fv);
            return true;
        }
    }
    *out = jv_retain(dflt);
    return true;
}

static bool f_float(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("float", "default");
    jv dflt = jv_missing(arg[0]) ? jv_float(0.0) : arg[0];
    double fv;
    if (in.type == JT_UNDEF) return jfail_undef(r, at, in); /* float(Undefined) raises */
    if (jv_is_num(in)) *out = jv_float(jv_num(in));
    else if (in.type == JT_STR && parse_py_float(jv_str(in)->s, jv_str(in)->len, &fv)) *out = jv_float(fv);
    else *out = jv_retain(dflt);
    return true;
}

static bool f_abs(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("abs");
    if (in.type == JT_FLOAT) *out = jv_float(fabs(in.u.f));
    else if (jv_is_intlike(in)) {
        if (in.u.i == INT64_MIN) return jfail(r, at, "integer overflow");
        *out = jv_int(in.u.i < 0 ? -in.u.i : in.u.i);
    } else if (in.type == JT_UNDEF) return jfail_undef(r, at, in);
    else return jfail(r, at, "bad operand type for abs(): '%s'", jv_type_name(in));
    return true;
}

/* Python's round(x, n): correctly rounded, ties to even (printf does the same
 * on the exact binary value). */
static double py_round(double x, int64_t prec)
{
    if (!isfinite(x)) return x;
    if (prec >= 0) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)(prec > 300 ? 300 : prec), x);
        return strtod(buf, NULL);
    }
    double p = pow(10.0, (double)-prec);
    double y = x / p, z = nearbyint(y);
    return z * p;
}

static bool f_round(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("round", "precision", "method");
    int64_t prec = jv_missing(arg[0]) ? 0 : jv_is_intlike(arg[0]) ? arg[0].u.i : 0;
    const char *method = jv_missing(arg[1]) ? "common" : arg[1].type == JT_STR ? jv_str(arg[1])->s : "";
    if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
        return jfail(r, at, "method must be common, ceil or floor");
    if (!jv_is_num(in)) {
        if (in.type == JT_UNDEF) return jfail_undef(r, at, in);
        return jfail(r, at, "type %s doesn't define __round__ method", jv_type_name(in));
    }
    if (!strcmp(method, "common")) {
        if (jv_is_intlike(in)) {
            /* round(int, n) stays an int */
            int64_t v = in.u.i;
            if (prec < 0) v = (int64_t)py_round((double)v, prec);
            *out = jv_int(v);
        } else {
            *out = jv_float(py_round(in.u.f, prec));
        }
        return true;
    }
    double p = pow(10.0, (double)prec), x = jv_num(in) * p;
    *out = jv_float((!strcmp(method, "ceil") ? ceil(x) : floor(x)) / p);
    return true;
}

/* ------------------------------------------------------------------------
 * Anything
 * ---------------------------------------------------------------------- */

static bool f_default(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("default", "default_value", "boolean");
    bool use = in.type == JT_UNDEF || (arg_bool(arg[1], false) && !jv_truthy(in));
    if (!use) {
        *out = jv_retain(in);
    } else if (jv_missing(arg[0])) {
        if (!jstr_new(&r->heap, "", 0, out)) return jfail_oom(r, at);
    } else {
        *out = jv_retain(arg[0]);
    }
    return true;
}

static bool f_length(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("length");
    switch ((jtype)in.type) {
    case JT_UNDEF: *out = jv_int(0); return true;
    case JT_STR: *out = jv_int((int64_t)jstr_ncp(jv_str(in))); return true;
    case JT_DICT: *out = jv_int((int64_t)jv_dict(in)->n); return true;
    case JT_LIST:
        if (jv_list(in)->form == JL_GEN) break;
        *out = jv_int((int64_t)jv_list(in)->n);
        return true;
    default: break;
    }
    return jfail(r, at, "object of type '%s' has no len()", jv_type_name(in));
}

/* HF's tojson: json.dumps(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False) */
static bool f_tojson(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("tojson", "ensure_ascii", "indent", "separators", "sort_keys");
    jjson_opts o = {.ensure_ascii = arg_bool(arg[0], false), .sort_keys = arg_bool(arg[3], false)};
    char spaces[256];
    if (!jv_missing(arg[1]) && arg[1].type != JT_NONE) {
        o.indent_set = true;
        if (arg[1].type == JT_STR) {
            o.indent = jv_str(arg[1])->s;
            o.indent_len = jv_str(arg[1])->len;
        } else if (jv_is_intlike(arg[1])) {
            int64_t w = arg[1].u.i < 0 ? 0 : arg[1].u.i > 255 ? 255 : arg[1].u.i;
            memset(spaces, ' ', (size_t)w);
            o.indent = spaces;
            o.indent_len = (size_t)w;
        } else {
            return jfail(r, at, "tojson indent must be an int or a string");
        }
    }
    if (!jv_missing(arg[2]) && arg[2].type != JT_NONE) {
        jv sep = arg[2];
        if (sep.type != JT_LIST || jv_list(sep)->n != 2 || jv_list(sep)->items[0].type != JT_STR ||
            jv_list(sep)->items[1].type != JT_STR)
            return jfail(r, at, "tojson separators must be a pair of strings");
        o.item_sep = jv_str(jv_list(sep)->items[0])->s;
        o.item_sep_len = jv_str(jv_list(sep)->items[0])->len;
        o.key_sep = jv_str(jv_list(sep)->items[1])->s;
        o.key_sep_len = jv_str(jv_list(sep)->items[1])->len;
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    if (!jjson_dump(r, at, in, &o, &b)) {
        jbuf_free(&b);
        return false;
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}

static bool f_attr(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    BIND("attr", "name");
    if (jv_missing(arg[0]) || arg[0].type != JT_STR) return jfail(r, at, "attr() needs an attribute name");
    const char *name = jv_str(arg[0])->s;
    if (in.type == JT_DICT && !jmethod_find(in, name)) {
        *out = jundef(r, "'dict object' has no attribute '%.100s'", name);
        return true;
    }
    return jgetattr(r, at, in, name, out);
}

static bool f_items(jrender *r, const jnode *at, jv in, jargs *a, jv *out)
{
    NO_ARGS("items");
    if (!jlist_new(&r->heap, JL_GEN, 0, out)) return jfail_oom(r, at);
    if (in.type == JT_UNDEF) return true;
    if (in.type != JT_DICT) return jfail(r, at, "Can only get item pairs from a mapping.");
    jdict *d = jv_dict(in);
    for (size_t i = 0; i < d->n; i++) {
        jv pair;
        if (!jlist_new(&r->heap, JL_TUPLE, 2, &pair)) return jfail_oom(r, at);
        jlist_push(jv_list(pair), d->keys[i]);
        jlist_push(jv_list(pair), d->vals[i]);
        bool ok = jlist_push(jv_list(*out), pair);
        jv_release(pair);
        if (!ok) return jfail_oom(r, at);
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Lookup
 * ---------------------------------------------------------------------- */

static const jfilter_def filters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"e", f_escape},
    {"escape", f_escape},
    {"float", f_float},
    {"forceescape", f_forceescape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"length", f_length},
    {"lower", f_lower},
    {"replace", f_replace},
    {"round", f_round},
    {"safe", f_safe},
    {"string", f_string},
    {"striptags", f_striptags},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

const jfilter_def *jfilter_find_str(const char *name)
{
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (!strcmp(filters[i].name, name)) return &filters[i];
    return NULL;
}

const jfilter_def *jfilter_find(const char *name)
{
    const jfilter_def *f = jfilter_find_str(name);
    return f ? f : jfilter_find_seq(name);
}

bool jfilter_by_name(jrender *r, const jnode *at, jv name, jv in, jargs *a, jv *out)
{
    if (name.type != JT_STR) return jfail(r, at, "filter name must be a string");
    const jfilter_def *f = jfilter_find(jv_str(name)->s);
    if (!f) return jfail(r, at, "No filter named '%s'.", jv_str(name)->s);
    return jwork_given(r, at, in, a) && f->fn(r, at, in, a, out);
}
