/*
 * repr.c — Python's str() and repr() of values, which is what `{{ x }}`
 * prints: None as "None", booleans as "True"/"False", floats in their
 * shortest round-trip form ("1.0", "0.1", "1e-05"), lists with repr'd
 * strings (['a', "it's"]).
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Floats
 * ---------------------------------------------------------------------- */

void jfloat_repr(double f, char buf[40])
{
    if (isnan(f)) {
        strcpy(buf, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(buf, f > 0 ? "inf" : "-inf");
        return;
    }
    if (f == 0.0) {
        strcpy(buf, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    /* shortest digits that read back as f */
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    /* tmp is [-]d[.ddd]e[+-]xx */
    char digits[24];
    int nd = 0;
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < 20) digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    char *o = buf;
    if (neg) *o++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++) *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++) *o++ = digits[i];
            else
                *o++ = '0';
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp10 - 1; i++) *o++ = '0';
            for (int i = 0; i < nd; i++) *o++ = digits[i];
        }
        *o = '\0';
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++) *o++ = digits[i];
        }
        int e = exp10 < 0 ? -exp10 : exp10; /* at most 3 digits for a double */
        *o++ = 'e';
        *o++ = exp10 < 0 ? '-' : '+';
        if (e >= 100) *o++ = (char)('0' + e / 100);
        *o++ = (char)('0' + e / 10 % 10);
        *o++ = (char)('0' + e % 10);
        *o = '\0';
    }
}

/* ------------------------------------------------------------------------
 * Strings
 * ---------------------------------------------------------------------- */

void jhtml_escape(jbuf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        jbuf_put(b, s + start, i - start);
        jbuf_puts(b, rep);
        start = i + 1;
    }
    jbuf_put(b, s + start, n - start);
}

static void str_repr(jbuf *b, const char *s, size_t n)
{
    bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';
    jbuf_putc(b, quote);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = u8_decode(s, n, i, &cp);
        if (cp == (uint32_t)quote || cp == '\\') {
            jbuf_putc(b, '\\');
            jbuf_putc(b, (char)cp);
        } else if (cp == '\t') {
            jbuf_puts(b, "\\t");
        } else if (cp == '\n') {
            jbuf_puts(b, "\\n");
        } else if (cp == '\r') {
            jbuf_puts(b, "\\r");
        } else if (cp < 0x20 || cp == 0x7F) {
            jbuf_printf(b, "\\x%02x", cp);
        } else if (cp < 0x7F || (k > 1 && u_isprintable(cp))) {
            jbuf_put(b, s + i, k);
        } else if (cp <= 0xFF) {
            jbuf_printf(b, "\\x%02x", cp);
        } else if (cp <= 0xFFFF) {
            jbuf_printf(b, "\\u%04x", cp);
        } else {
            jbuf_printf(b, "\\U%08x", cp);
        }
        i += k;
    }
    jbuf_putc(b, quote);
}

/* ------------------------------------------------------------------------
 * str() and repr()
 * ---------------------------------------------------------------------- */

static void write_value(jbuf *b, jv v, bool repr, int depth);

/* The walks stop once the buffer is full: a list holding one list a
 * thousand times, each holding it a thousand times, is small in memory but
 * has no end in text. */
static void write_container(jbuf *b, jv v, int depth)
{
    if (depth > JNEST_MAX) {
        jbuf_puts(b, "...");
        return;
    }
    if (v.type == JT_LIST) {
        jlist *l = jv_list(v);
        if (l->form == JL_GEN) {
            jbuf_puts(b, "<generator object>");
            return;
        }
        bool tuple = l->form == JL_TUPLE;
        jbuf_putc(b, tuple ? '(' : '[');
        for (size_t i = 0; i < l->n && !b->failed; i++) {
            if (i) jbuf_puts(b, ", ");
            write_value(b, l->items[i], true, depth + 1);
        }
        if (tuple && l->n == 1) jbuf_putc(b, ',');
        jbuf_putc(b, tuple ? ')' : ']');
        return;
    }
    jdict *d = jv_dict(v);
    jbuf_putc(b, '{');
    for (size_t i = 0; i < d->n && !b->failed; i++) {
        if (i) jbuf_puts(b, ", ");
        write_value(b, d->keys[i], true, depth + 1);
        jbuf_puts(b, ": ");
        write_value(b, d->vals[i], true, depth + 1);
    }
    jbuf_putc(b, '}');
}

static void write_value(jbuf *b, jv v, bool repr, int depth)
{
    char num[40];
    switch ((jtype)v.type) {
    case JT_UNDEF:
        if (repr) jbuf_puts(b, "Undefined");
        return;
    case JT_NONE: jbuf_puts(b, "None"); return;
    case JT_BOOL: jbuf_puts(b, v.u.i ? "True" : "False"); return;
    case JT_INT: jbuf_printf(b, "%lld", (long long)v.u.i); return;
    case JT_FLOAT:
        jfloat_repr(v.u.f, num);
        jbuf_puts(b, num);
        return;
    case JT_STR:
        if (!repr) {
            jbuf_put(b, jv_str(v)->s, jv_str(v)->len);
        } else if (v.flags & JV_SAFE) {
            jbuf_puts(b, "Markup(");
            str_repr(b, jv_str(v)->s, jv_str(v)->len);
            jbuf_putc(b, ')');
        } else {
            str_repr(b, jv_str(v)->s, jv_str(v)->len);
        }
        return;
    case JT_LIST: case JT_DICT: write_container(b, v, depth); return;
    case JT_NS:
        jbuf_puts(b, "<Namespace ");
        write_container(b, jv_obj(JT_DICT, v.u.o), depth);
        jbuf_putc(b, '>');
        return;
    case JT_MACRO: {
        const jnode *def = ((jmacro *)v.u.o)->node;
        jbuf_printf(b, "<Macro '%s'>", def->kind == N_MACRO ? def->name : "caller");
        return;
    }
    case JT_METHOD: {
        jmethod *m = (jmethod *)v.u.o;
        jbuf_printf(b, "<built-in method %s of %s object>", m->def->name, jv_type_name(m->self));
        return;
    }
    case JT_LOOP: jbuf_puts(b, "<LoopContext>"); return;
    case JT_FUNC: jbuf_printf(b, "<function %s>", v.u.fn->name); return;
    }
}

void jv_write_str(jbuf *b, jv v) { write_value(b, v, false, 0); }

void jv_write_repr(jbuf *b, jv v) { write_value(b, v, true, 0); }

bool jv_to_str(jrender *r, const jnode *at, jv v, jv *out)
{
    if (v.type == JT_STR) {
        *out = jv_retain(v);
        return true;
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    jv_write_str(&b, v);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, at);
}
