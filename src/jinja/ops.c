/*
 * ops.c — Python's operators on values: arithmetic (+ - * / // % **),
 * comparisons, `in`, slicing and printf-style `%` formatting.
 *
 * Python ints are unbounded; ours are int64 and an overflow fails the render
 * instead of silently wrapping. bool takes part in arithmetic as 0/1.
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *op_text(int op)
{
    static const char *const t[] = {"+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
    return op >= 0 && op < (int)(sizeof t / sizeof t[0]) ? t[op] : "?";
}

static bool unsupported(jrender *r, const jnode *at, int op, jv a, jv b)
{
    return jfail(r, at, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op), jv_type_name(a),
                 jv_type_name(b));
}

/* ------------------------------------------------------------------------
 * Arithmetic
 * ---------------------------------------------------------------------- */

/* Python's float divmod. */
static void float_divmod(double vx, double wx, double *floordiv, double *mod)
{
    double m = fmod(vx, wx);
    double div = (vx - m) / wx;
    if (m != 0.0) {
        if ((wx < 0) != (m < 0)) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = copysign(0.0, wx);
    }
    double fd;
    if (div != 0.0) {
        fd = floor(div);
        if (div - fd > 0.5) fd += 1.0;
    } else {
        fd = copysign(0.0, vx / wx);
    }
    *floordiv = fd;
    *mod = m;
}

static bool int_pow(jrender *r, const jnode *at, int64_t base, int64_t exp, jv *out)
{
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1) {
            if (__builtin_mul_overflow(result, base, &result)) return jfail(r, at, "integer overflow");
        }
        exp >>= 1;
        if (exp && __builtin_mul_overflow(base, base, &base)) return jfail(r, at, "integer overflow");
    }
    *out = jv_int(result);
    return true;
}

static bool arith(jrender *r, const jnode *at, int op, jv a, jv b, jv *out)
{
    bool ints = a.type != JT_FLOAT && b.type != JT_FLOAT;
    int64_t x = a.u.i, y = b.u.i, z;
    double fx = jv_num(a), fy = jv_num(b);
    switch (op) {
    case JOP_ADD:
        if (!ints) break;
        if (__builtin_add_overflow(x, y, &z)) return jfail(r, at, "integer overflow");
        *out = jv_int(z);
        return true;
    case JOP_SUB:
        if (!ints) break;
        if (__builtin_sub_overflow(x, y, &z)) return jfail(r, at, "integer overflow");
        *out = jv_int(z);
        return true;
    case JOP_MUL:
        if (!ints) break;
        if (__builtin_mul_overflow(x, y, &z)) return jfail(r, at, "integer overflow");
        *out = jv_int(z);
        return true;
    case JOP_DIV:
        if (fy == 0.0) return jfail(r, at, ints ? "division by zero" : "float division by zero");
        *out = jv_float(fx / fy);
        return true;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (ints) {
            if (y == 0) return jfail(r, at, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) return jfail(r, at, "integer overflow");
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q--;
                m += y;
            }
            *out = jv_int(op == JOP_FLOORDIV ? q : m);
            return true;
        }
        if (fy == 0.0) return jfail(r, at, op == JOP_MOD ? "float modulo" : "float floor division by zero");
        {
            double fd, fm;
            float_divmod(fx, fy, &fd, &fm);
            *out = jv_float(op == JOP_FLOORDIV ? fd : fm);
        }
        return true;
    case JOP_POW:
        if (ints && y >= 0) return int_pow(r, at, x, y, out);
        if (fx == 0.0 && fy < 0) return jfail(r, at, "0.0 cannot be raised to a negative power");
        if (fx < 0 && fy != floor(fy)) return jfail(r, at, "complex results are not supported");
        *out = jv_float(pow(fx, fy));
        return true;
    }
    switch (op) {
    case JOP_ADD: *out = jv_float(fx + fy); return true;
    case JOP_SUB: *out = jv_float(fx - fy); return true;
    case JOP_MUL: *out = jv_float(fx * fy); return true;
    }
    return unsupported(r, at, op, a, b);
}

/* s * n (str or list) */
static bool repeat(jrender *r, const jnode *at, jv seq, int64_t n, jv *out)
{
    if (n < 0) n = 0;
    if (seq.type == JT_STR) {
        jstr *s = jv_str(seq);
        if (!jstr_repeat(&r->heap, s->s, s->len, (uint64_t)n, out)) return jfail_oom(r, at);
        out->flags = seq.flags & JV_SAFE;
        return true;
    }
    jlist *l = jv_list(seq);
    if (l->n == 0) n = 0; /* [] * 10**15 is [] at once */
    if (l->n && (uint64_t)n > JLIST_MAX / l->n) return jfail_oom(r, at);
    if (!jlist_new(&r->heap, (jlist_form)l->form, l->n * (size_t)n, out)) return jfail_oom(r, at);
    for (int64_t i = 0; i < n; i++)
        for (size_t k = 0; k < l->n; k++) jlist_push(jv_list(*out), l->items[k]);
    return true;
}

/* str + str, with markupsafe's rule: a Markup operand escapes the other. */
static bool concat_str(jrender *r, const jnode *at, jv a, jv b, jv *out)
{
    bool sa = a.flags & JV_SAFE, sb = b.flags & JV_SAFE;
    jbuf buf;
    jbuf_init_charged(&buf, 0, &r->heap);
    jstr *x = jv_str(a), *y = jv_str(b);
    if (sb && !sa) jhtml_escape(&buf, x->s, x->len);
    else jbuf_put(&buf, x->s, x->len);
    if (sa && !sb) jhtml_escape(&buf, y->s, y->len);
    else jbuf_put(&buf, y->s, y->len);
    if (!jbuf_to_str(&buf, &r->heap, out)) return jfail_oom(r, at);
    if (sa || sb) out->flags |= JV_SAFE;
    return true;
}

bool jbinop(jrender *r, const jnode *at, int op, jv a, jv b, jv *out)
{
    if (a.type == JT_UNDEF) return jfail_undef(r, at, a);
    if (b.type == JT_UNDEF) return jfail_undef(r, at, b);
    if (jv_is_num(a) && jv_is_num(b)) return arith(r, at, op, a, b, out);
    switch (op) {
    case JOP_ADD:
        if (a.type == JT_STR && b.type == JT_STR) return concat_str(r, at, a, b, out);
        if (a.type == JT_STR) return jfail(r, at, "can only concatenate str (not \"%s\") to str", jv_type_name(b));
        if (a.type == JT_LIST && b.type == JT_LIST && jv_list(a)->form == jv_list(b)->form &&
            jv_list(a)->form != JL_GEN) {
            jlist *x = jv_list(a), *y = jv_list(b);
            if (!jlist_new(&r->heap, (jlist_form)x->form, x->n + y->n, out)) return jfail_oom(r, at);
            for (size_t i = 0; i < x->n; i++) jlist_push(jv_list(*out), x->items[i]);
            for (size_t i = 0; i < y->n; i++) jlist_push(jv_list(*out), y->items[i]);
            return true;
        }
        if (a.type == JT_LIST && jv_list(a)->form != JL_GEN)
            return jfail(r, at, "can only concatenate %s (not \"%s\") to %s", jv_type_name(a), jv_type_name(b),
                         jv_type_name(a));
        break;
    case JOP_MUL: {
        bool seq_a = a.type == JT_STR || (a.type == JT_LIST && jv_list(a)->form != JL_GEN);
        bool seq_b = b.type == JT_STR || (b.type == JT_LIST && jv_list(b)->form != JL_GEN);
        if (seq_a && jv_is_intlike(b)) return repeat(r, at, a, b.u.i, out);
        if (seq_b && jv_is_intlike(a)) return repeat(r, at, b, a.u.i, out);
        if (seq_a || seq_b)
            return jfail(r, at, "can't multiply sequence by non-int of type '%s'", jv_type_name(seq_a ? b : a));
        break;
    }
    case JOP_MOD:
        if (a.type == JT_STR) return jpercent_format(r, at, a, b, out);
        break;
    }
    return unsupported(r, at, op, a, b);
}

/* ------------------------------------------------------------------------
 * Comparisons
 * ---------------------------------------------------------------------- */

static bool order_depth(jrender *r, const jnode *at, const char *opname, jv a, jv b, int *res, int depth)
{
    if (!jwork(r, at, JWORK_STEP)) return false; /* sorts make n log n of these */
    if (a.type == JT_UNDEF) return jfail_undef(r, at, a);
    if (b.type == JT_UNDEF) return jfail_undef(r, at, b);
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a.type != JT_FLOAT && b.type != JT_FLOAT) *res = (a.u.i > b.u.i) - (a.u.i < b.u.i);
        else *res = (jv_num(a) > jv_num(b)) - (jv_num(a) < jv_num(b));
        return true;
    }
    if (a.type == JT_STR && b.type == JT_STR) {
        jstr *x = jv_str(a), *y = jv_str(b);
        size_t n = x->len < y->len ? x->len : y->len;
        if (!jwork(r, at, n / JWORK_BLOCK)) return false;
        int c = memcmp(x->s, y->s, n);
        *res = c ? (c > 0) - (c < 0) : (x->len > y->len) - (x->len < y->len);
        return true;
    }
    if (a.type == JT_LIST && b.type == JT_LIST && jv_list(a)->form == jv_list(b)->form &&
        jv_list(a)->form != JL_GEN) {
        if (depth > JNEST_MAX) return jfail(r, at, "values nested too deeply to compare");
        jlist *x = jv_list(a), *y = jv_list(b);
        for (size_t i = 0; i < x->n && i < y->n; i++) {
            if (!jwork(r, at, JWORK_ITEM)) return false;
            if (jv_equal(x->items[i], y->items[i])) continue;
            return order_depth(r, at, opname, x->items[i], y->items[i], res, depth + 1);
        }
        *res = (x->n > y->n) - (x->n < y->n);
        return true;
    }
    return jfail(r, at, "'%s' not supported between instances of '%s' and '%s'", opname, jv_type_name(a),
                 jv_type_name(b));
}

bool jorder(jrender *r, const jnode *at, jv a, jv b, int *res)
{
    return order_depth(r, at, "<", a, b, res, 0);
}

bool jcontains(jrender *r, const jnode *at, jv c, jv item, bool *res)
{
    *res = false;
    switch ((jtype)c.type) {
    case JT_UNDEF: return true; /* iterating an Undefined yields nothing */
    case JT_STR: {
        if (item.type == JT_UNDEF) return jfail_undef(r, at, item);
        if (item.type != JT_STR)
            return jfail(r, at, "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        jstr *s = jv_str(c), *x = jv_str(item);
        if (!jwork(r, at, s->len / JWORK_BLOCK)) return false;
        *res = x->len == 0 || (x->len <= s->len && memmem(s->s, s->len, x->s, x->len) != NULL);
        return true;
    }
    case JT_LIST: {
        jlist *l = jv_list(c);
        for (size_t i = 0; i < l->n && !*res; i++) {
            if (!jwork(r, at, JWORK_ITEM)) return false;
            *res = jv_equal(l->items[i], item);
        }
        return true;
    }
    case JT_DICT:
        if (!jv_hashable(item)) return jfail(r, at, "unhashable type: '%s'", jv_type_name(item));
        *res = jdict_find(jv_dict(c), item) >= 0;
        return true;
    default:
        return jfail(r, at, "argument of type '%s' is not iterable", jv_type_name(c));
    }
}

bool jcompare(jrender *r, const jnode *at, int op, jv a, jv b, bool *res)
{
    int c;
    switch (op) {
    case JOP_EQ: *res = jv_equal(a, b); return true;
    case JOP_NE: *res = !jv_equal(a, b); return true;
    case JOP_IN: return jcontains(r, at, b, a, res);
    case JOP_NOTIN:
        if (!jcontains(r, at, b, a, res)) return false;
        *res = !*res;
        return true;
    }
    if ((a.type == JT_FLOAT && isnan(a.u.f)) || (b.type == JT_FLOAT && isnan(b.u.f))) {
        *res = false; /* every ordering with NaN is false */
        return jv_is_num(a) && jv_is_num(b) ? true : jorder(r, at, a, b, &c);
    }
    if (!order_depth(r, at, op_text(op), a, b, &c, 0)) return false;
    switch (op) {
    case JOP_LT: *res = c < 0; break;
    case JOP_LTEQ: *res = c <= 0; break;
    case JOP_GT: *res = c > 0; break;
    default: *res = c >= 0; break;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Indexing and slicing
 * ---------------------------------------------------------------------- */

bool jindex(int64_t i, size_t n, size_t *out)
{
    if (i < 0) i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n) return false;
    *out = (size_t)i;
    return true;
}

/* CPython's PySlice_AdjustIndices. */
static int64_t adjust(jv v, int64_t len, int64_t step, bool is_start)
{
    int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
    if (v.type == JT_NONE) return (step < 0) == is_start ? upper : lower;
    int64_t i = v.u.i;
    if (i < 0) {
        i += len;
        if (i < lower) i = lower;
    } else if (i > upper) {
        i = upper;
    }
    return i;
}

bool jslice(jrender *r, const jnode *at, jv seq, jv start, jv stop, jv step, jv *out)
{
    /* jinja2 compiles x[a:b] to a plain Python subscript: no undefined
     * fallback as for x[key], the errors are Python's */
    if (seq.type == JT_DICT) return jfail(r, at, "unhashable type: 'slice'");
    if (seq.type != JT_STR && (seq.type != JT_LIST || jv_list(seq)->form == JL_GEN))
        return jfail(r, at, "'%s' object is not subscriptable", jv_type_name(seq));
    jv parts[3] = {start, stop, step};
    for (int i = 0; i < 3; i++)
        if (parts[i].type != JT_NONE && !jv_is_intlike(parts[i]))
            return jfail(r, at, "slice indices must be integers or None or have an __index__ method");
    int64_t st = step.type == JT_NONE ? 1 : step.u.i;
    if (st == 0) return jfail(r, at, "slice step cannot be zero");
    jstr *s = seq.type == JT_STR ? jv_str(seq) : NULL;
    int64_t len = s ? (int64_t)jstr_ncp(s) : (int64_t)jv_list(seq)->n;
    int64_t b = adjust(start, len, st, true), e = adjust(stop, len, st, false);
    int64_t count = 0;
    if (st > 0 && b < e) count = (e - b - 1) / st + 1;
    if (st < 0 && e < b) count = (b - e - 1) / (-st) + 1;
    if (!s) {
        jlist *l = jv_list(seq);
        if (!jlist_new(&r->heap, (jlist_form)l->form, (size_t)count, out)) return jfail_oom(r, at);
        for (int64_t k = 0, i = b; k < count; k++, i += st) jlist_push(jv_list(*out), l->items[i]);
        return true;
    }
    if (!jwork(r, at, s->len)) return false; /* the walk to the characters */
    if (st == 1) {
        size_t from = u8_offset(s->s, s->len, (size_t)b);
        size_t to = count ? u8_offset(s->s + from, s->len - from, (size_t)count) + from : from;
        if (!jstr_new(&r->heap, s->s + from, to - from, out)) return jfail_oom(r, at);
        out->flags = seq.flags & JV_SAFE;
        return true;
    }
    /* general step: offsets of every code point */
    if (!jwork(r, at, s->len * JWORK_CHAR)) return false;
    size_t offs_bytes = ((size_t)len + 1) * sizeof(size_t);
    size_t *offs = jheap_scratch(&r->heap, offs_bytes);
    if (!offs) return jfail_oom(r, at);
    for (size_t i = 0, k = 0; k <= (size_t)len; k++) {
        offs[k] = i;
        if (i < s->len) i += u8_offset(s->s + i, s->len - i, 1);
    }
    jbuf buf;
    jbuf_init_charged(&buf, 0, &r->heap);
    for (int64_t k = 0, i = b; k < count; k++, i += st) jbuf_put(&buf, s->s + offs[i], offs[i + 1] - offs[i]);
    jheap_scratch_free(&r->heap, offs, offs_bytes);
    if (!jbuf_to_str(&buf, &r->heap, out)) return jfail_oom(r, at);
    out->flags = seq.flags & JV_SAFE;
    return true;
}

/* ------------------------------------------------------------------------
 * printf-style formatting: "%s and %d" % (a, b)
 * ---------------------------------------------------------------------- */

/* One conversion with its flags, width and precision. */
static bool format_one(jrender *r, const jnode *at, jbuf *b, char conv, const char *flags, int width, int prec,
                       jv v)
{
    char spec[32], tmp[400];
    jbuf body;
    jbuf_init_charged(&body, 0, &r->heap);
    switch (conv) {
    case 's': case 'r': case 'a':
        if (conv == 's') jv_write_str(&body, v);
        else jv_write_repr(&body, v);
        if (prec >= 0 && body.n) {
            size_t cut = u8_offset(body.p, body.n, (size_t)prec);
            body.n = cut;
        }
        break;
    case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': case 'c': {
        int64_t iv;
        if (jv_is_intlike(v)) iv = v.u.i;
        else if (v.type == JT_FLOAT && conv != 'x' && conv != 'X' && conv != 'o' && conv != 'c') iv = (int64_t)v.u.f;
        else {
            jbuf_free(&body);
            if (conv == 'c') return jfail(r, at, "%%c requires int or char");
            return jfail(r, at, "%%%c format: a%s number is required, not %s", conv,
                         conv == 'x' || conv == 'X' || conv == 'o' ? "n integer" : " real", jv_type_name(v));
        }
        if (conv == 'c') {
            if (iv < 0 || iv > 0x10FFFF) {
                jbuf_free(&body);
                return jfail(r, at, "%%c arg not in range(0x110000)");
            }
            char u[4];
            jbuf_put(&body, u, u8_encode((uint32_t)iv, u));
            break;
        }
        uint64_t mag = iv < 0 ? (uint64_t)0 - (uint64_t)iv : (uint64_t)iv;
        const char *sign = iv < 0 ? "-" : strchr(flags, '+') ? "+" : strchr(flags, ' ') ? " " : "";
        const char *fmt = conv == 'x' ? "%llx" : conv == 'X' ? "%llX" : conv == 'o' ? "%llo" : "%llu";
        const char *alt = !strchr(flags, '#') ? "" : conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0o" : "";
        snprintf(tmp, sizeof tmp, fmt, (unsigned long long)mag);
        int digits = (int)strlen(tmp);
        int pad0 = prec > digits ? prec - digits : 0;
        if (strchr(flags, '0') && !strchr(flags, '-') && width > 0) {
            int used = (int)strlen(sign) + (int)strlen(alt) + digits + pad0;
            if (width > used) pad0 += width - used;
        }
        jbuf_puts(&body, sign);
        jbuf_puts(&body, alt);
        for (int k = 0; k < pad0; k++) jbuf_putc(&body, '0');
        jbuf_puts(&body, tmp);
        break;
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        if (!jv_is_num(v)) {
            jbuf_free(&body);
            return jfail(r, at, "must be real number, not %s", jv_type_name(v));
        }
        snprintf(spec, sizeof spec, "%%%s%s*.*%c", strchr(flags, '+') ? "+" : strchr(flags, ' ') ? " " : "",
                 strchr(flags, '#') ? "#" : "", conv);
        int w = strchr(flags, '0') && !strchr(flags, '-') ? width : 0;
        if (strchr(flags, '0') && w > 0) {
            snprintf(spec, sizeof spec, "%%%s%s0*.*%c", strchr(flags, '+') ? "+" : strchr(flags, ' ') ? " " : "",
                     strchr(flags, '#') ? "#" : "", conv);
        }
        if (prec > 100) prec = 100;
        snprintf(tmp, sizeof tmp, spec, w, prec < 0 ? 6 : prec, jv_num(v));
        jbuf_puts(&body, tmp);
        break;
    }
    default:
        jbuf_free(&body);
        return jfail(r, at, "unsupported format character '%c'", conv);
    }
    size_t ncp = 0;
    for (size_t i = 0; i < body.n; i++) ncp += ((unsigned char)body.p[i] & 0xC0) != 0x80;
    int pad = width > (int)ncp ? width - (int)ncp : 0;
    bool left = strchr(flags, '-') != NULL;
    if (!left)
        for (int k = 0; k < pad; k++) jbuf_putc(b, ' ');
    jbuf_put(b, body.p, body.n);
    if (left)
        for (int k = 0; k < pad; k++) jbuf_putc(b, ' ');
    jbuf_free(&body);
    return true;
}

bool jpercent_format(jrender *r, const jnode *at, jv fmtv, jv args, jv *out)
{
    jstr *f = jv_str(fmtv);
    bool is_tuple = args.type == JT_LIST && jv_list(args)->form == JL_TUPLE;
    size_t nargs = is_tuple ? jv_list(args)->n : 1, used = 0;
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    for (size_t i = 0; i < f->len;) {
        if (f->s[i] != '%') {
            jbuf_putc(&b, f->s[i++]);
            continue;
        }
        i++;
        jv mapped = jv_undef();
        bool have_mapped = false;
        if (i < f->len && f->s[i] == '(') {
            size_t e = i + 1;
            while (e < f->len && f->s[e] != ')') e++;
            if (e >= f->len || args.type != JT_DICT) {
                jbuf_free(&b);
                return jfail(r, at, e >= f->len ? "incomplete format key" : "format requires a mapping");
            }
            jv key;
            if (!jstr_new(&r->heap, f->s + i + 1, e - i - 1, &key)) return jfail_oom(r, at);
            long k = jdict_find(jv_dict(args), key);
            if (k < 0) {
                jbuf_free(&b);
                return jfail(r, at, "KeyError: '%s'", jv_str(key)->s);
            }
            mapped = jv_dict(args)->vals[k];
            have_mapped = true;
            i = e + 1;
        }
        char flags[8] = "";
        size_t nf = 0;
        while (i < f->len && strchr("-+ #0", f->s[i]) && nf < sizeof flags - 1) flags[nf++] = f->s[i++];
        flags[nf] = '\0';
        int width = 0, prec = -1;
        while (i < f->len && f->s[i] >= '0' && f->s[i] <= '9' && width < 100000) width = width * 10 + (f->s[i++] - '0');
        if (i < f->len && f->s[i] == '.') {
            prec = 0;
            i++;
            while (i < f->len && f->s[i] >= '0' && f->s[i] <= '9' && prec < 100000) prec = prec * 10 + (f->s[i++] - '0');
        }
        if (i >= f->len) {
            jbuf_free(&b);
            return jfail(r, at, "incomplete format");
        }
        char conv = f->s[i++];
        if (conv == '%') {
            jbuf_putc(&b, '%');
            continue;
        }
        jv v;
        if (have_mapped) v = mapped;
        else if (args.type == JT_DICT && !is_tuple) v = args;
        else if (used < nargs) v = is_tuple ? jv_list(args)->items[used++] : (used++, args);
        else {
            jbuf_free(&b);
            return jfail(r, at, "not enough arguments for format string");
        }
        if (!format_one(r, at, &b, conv, flags, width, prec, v)) {
            jbuf_free(&b);
            return false;
        }
    }
    if (used < nargs && args.type != JT_DICT) {
        jbuf_free(&b);
        return jfail(r, at, "not all arguments converted during string formatting");
    }
    if (!jbuf_to_str(&b, &r->heap, out)) return jfail_oom(r, at);
    return true;
}
