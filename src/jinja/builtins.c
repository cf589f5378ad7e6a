/*
 * builtins.c — global functions: jinja2's range, dict and namespace (with
 * the sandbox's range limit), and HF's raise_exception and strftime_now.
 */
#include "jinja/interp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * strftime (C locale, as Python on Linux gives it)
 * ---------------------------------------------------------------------- */

static const char *const wday_name[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const month_name[] = {"January", "February", "March", "April", "May", "June", "July",
                                         "August", "September", "October", "November", "December"};

void jstrftime(jbuf *b, const char *fmt, size_t n, const struct tm *in)
{
    struct tm t = *in;
    time_t norm = timegm(&t); /* fills tm_wday and tm_yday */
    (void)norm;
    int wd = t.tm_wday % 7, mon = t.tm_mon % 12;
    if (wd < 0) wd += 7;
    if (mon < 0) mon += 12;
    for (size_t i = 0; i < n; i++) {
        if (fmt[i] != '%' || i + 1 >= n) {
            jbuf_putc(b, fmt[i]);
            continue;
        }
        char c = fmt[++i];
        switch (c) {
        case 'a': jbuf_printf(b, "%.3s", wday_name[wd]); break;
        case 'A': jbuf_puts(b, wday_name[wd]); break;
        case 'b': case 'h': jbuf_printf(b, "%.3s", month_name[mon]); break;
        case 'B': jbuf_puts(b, month_name[mon]); break;
        case 'c':
            jbuf_printf(b, "%.3s %.3s %2d %02d:%02d:%02d %d", wday_name[wd], month_name[mon], t.tm_mday, t.tm_hour,
                        t.tm_min, t.tm_sec, t.tm_year + 1900);
            break;
        case 'C': jbuf_printf(b, "%02d", (t.tm_year + 1900) / 100); break;
        case 'd': jbuf_printf(b, "%02d", t.tm_mday); break;
        case 'D': jbuf_printf(b, "%02d/%02d/%02d", mon + 1, t.tm_mday, (t.tm_year + 1900) % 100); break;
        case 'e': jbuf_printf(b, "%2d", t.tm_mday); break;
        case 'F': jbuf_printf(b, "%04d-%02d-%02d", t.tm_year + 1900, mon + 1, t.tm_mday); break;
        case 'H': jbuf_printf(b, "%02d", t.tm_hour); break;
        case 'I': jbuf_printf(b, "%02d", t.tm_hour % 12 ? t.tm_hour % 12 : 12); break;
        case 'j': jbuf_printf(b, "%03d", t.tm_yday + 1); break;
        case 'm': jbuf_printf(b, "%02d", mon + 1); break;
        case 'M': jbuf_printf(b, "%02d", t.tm_min); break;
        case 'n': jbuf_putc(b, '\n'); break;
        case 'p': jbuf_puts(b, t.tm_hour < 12 ? "AM" : "PM"); break;
        case 'R': jbuf_printf(b, "%02d:%02d", t.tm_hour, t.tm_min); break;
        case 'S': jbuf_printf(b, "%02d", t.tm_sec); break;
        case 't': jbuf_putc(b, '\t'); break;
        case 'T': case 'X': jbuf_printf(b, "%02d:%02d:%02d", t.tm_hour, t.tm_min, t.tm_sec); break;
        case 'u': jbuf_printf(b, "%d", wd ? wd : 7); break;
        case 'U': jbuf_printf(b, "%02d", (t.tm_yday + 7 - wd) / 7); break;
        case 'w': jbuf_printf(b, "%d", wd); break;
        case 'W': jbuf_printf(b, "%02d", (t.tm_yday + 7 - (wd ? wd - 1 : 6)) / 7); break;
        case 'x': jbuf_printf(b, "%02d/%02d/%02d", mon + 1, t.tm_mday, (t.tm_year + 1900) % 100); break;
        case 'y': jbuf_printf(b, "%02d", (t.tm_year + 1900) % 100); break;
        case 'Y': jbuf_printf(b, "%d", t.tm_year + 1900); break;
        case 'z': case 'Z': break; /* datetime.now() is naive: no zone */
        case '%': jbuf_putc(b, '%'); break;
        default:
            jbuf_putc(b, '%');
            jbuf_putc(b, c);
        }
    }
}

/* ------------------------------------------------------------------------
 * Functions
 * ---------------------------------------------------------------------- */

static bool g_range(jrender *r, jargs *a, jv *out)
{
    if (a->nkw) return jfail(r, a->at, "range() takes no keyword arguments");
    if (a->npos < 1 || a->npos > 3) return jfail(r, a->at, "range expected 1 to 3 arguments, got %zu", a->npos);
    int64_t v[3] = {0, 0, 1};
    for (size_t i = 0; i < a->npos; i++) {
        if (!jv_is_intlike(a->pos[i]))
            return jfail(r, a->at, "'%s' object cannot be interpreted as an integer", jv_type_name(a->pos[i]));
    }
    if (a->npos == 1) v[1] = a->pos[0].u.i;
    else {
        v[0] = a->pos[0].u.i;
        v[1] = a->pos[1].u.i;
        if (a->npos == 3) v[2] = a->pos[2].u.i;
    }
    if (v[2] == 0) return jfail(r, a->at, "range() arg 3 must not be zero");
    /* length as Python computes it, in wide arithmetic */
    __int128 lo = v[0], hi = v[1], st = v[2], len = 0;
    if (st > 0 && lo < hi) len = (hi - lo - 1) / st + 1;
    if (st < 0 && lo > hi) len = (lo - hi - 1) / (-st) + 1;
    if (len > JRANGE_MAX)
        return jfail(r, a->at, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).", JRANGE_MAX);
    if (!jlist_new(&r->heap, JL_LIST, (size_t)len, out)) return jfail_oom(r, a->at);
    for (int64_t i = 0; i < (int64_t)len; i++) jlist_push(jv_list(*out), jv_int(v[0] + i * v[2]));
    return true;
}

/* dict(...) and namespace(...): a mapping or pairs, then keywords */
static bool make_mapping(jrender *r, jargs *a, jv *out, const char *name)
{
    if (a->npos > 1) return jfail(r, a->at, "%s expected at most 1 argument, got %zu", name, a->npos);
    if (!jdict_new(&r->heap, out)) return jfail_oom(r, a->at);
    jdict *d = jv_dict(*out);
    if (a->npos) {
        jv src = a->pos[0];
        if (src.type == JT_DICT || src.type == JT_NS) {
            jdict *s = jv_dict(src);
            for (size_t i = 0; i < s->n; i++)
                if (!jdict_set(d, s->keys[i], s->vals[i])) return jfail_oom(r, a->at);
        } else {
            jv l;
            if (!jiter_list(r, a->at, src, &l)) return false;
            for (size_t i = 0; i < jv_list(l)->n; i++) {
                jv pair = jv_list(l)->items[i], p;
                if (!jiter_list(r, a->at, pair, &p)) return false;
                if (jv_list(p)->n != 2)
                    return jfail(r, a->at, "dictionary update sequence element #%zu has length %zu; 2 is required", i,
                                 jv_list(p)->n);
                jv k = jv_list(p)->items[0];
                if (!jv_hashable(k)) return jfail(r, a->at, "unhashable type: '%s'", jv_type_name(k));
                if (!jdict_set(d, k, jv_list(p)->items[1])) return jfail_oom(r, a->at);
                jv_release(p);
            }
            jv_release(l);
        }
    }
    for (size_t k = 0; k < a->nkw; k++)
        if (!jdict_set_cstr(d, a->kwname[k], a->kw[k])) return jfail_oom(r, a->at);
    return true;
}

static bool g_dict(jrender *r, jargs *a, jv *out) { return make_mapping(r, a, out, "dict"); }

static bool g_namespace(jrender *r, jargs *a, jv *out)
{
    if (!make_mapping(r, a, out, "namespace")) return false;
    out->type = JT_NS;
    return true;
}

static bool g_raise_exception(jrender *r, jargs *a, jv *out)
{
    (void)out;
    jbuf b;
    jbuf_init_charged(&b, 400, &r->heap);
    if (a->npos) jv_write_str(&b, a->pos[0]);
    bool ok = jfail(r, a->at, "%s", b.p ? b.p : "");
    jbuf_free(&b);
    return ok;
}

static bool g_strftime_now(jrender *r, jargs *a, jv *out)
{
    static const char *const params[] = {"format"};
    jv fmt;
    if (!jargs_bind(r, a, "strftime_now", params, 1, 1, &fmt)) return false;
    if (fmt.type != JT_STR) return jfail(r, a->at, "strftime_now() argument must be str, not %s", jv_type_name(fmt));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (r->opt->now) {
        if (r->opt->now(r->opt->now_user, &tm) != 0) return jfail(r, a->at, "strftime_now(): the clock failed");
    } else {
        time_t t = time(NULL);
        if (!localtime_r(&t, &tm)) return jfail(r, a->at, "strftime_now(): the clock failed");
    }
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    jstrftime(&b, jv_str(fmt)->s, jv_str(fmt)->len, &tm);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, a->at);
}

static const jbuiltin builtins[] = {
    {"range", g_range},
    {"dict", g_dict},
    {"namespace", g_namespace},
    {"raise_exception", g_raise_exception},
    {"strftime_now", g_strftime_now},
};

bool jbuiltins_install(jrender *r, jdict *globals)
{
    (void)r;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        jv f = {JT_FUNC, 0, {0}};
        f.u.fn = &builtins[i];
        if (!jdict_set_cstr(globals, builtins[i].name, f)) return false;
    }
    return true;
}
