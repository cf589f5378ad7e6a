/*
 * methods_str.c — Python's str methods as templates call them
 * (message.content.strip(), name.split('.'), s.startswith(('a', 'b')), ...).
 *
 * Positions and lengths count code points, as Python does; case mapping and
 * character classes come from unicode.c.
 */
#include "jinja/interp.h"
#include "jinja/methods.h"
#include "jinja/unicode.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Helpers shared with filters
 * ---------------------------------------------------------------------- */

static bool new_str(jrender *r, const char *s, size_t n, jv *out)
{
    return jstr_new(&r->heap, s, n, out) || jfail_oom(r, NULL);
}

/* Is cp one of the code points of chars? */
static bool in_chars(uint32_t cp, const jstr *chars)
{
    for (size_t i = 0; i < chars->len;) {
        uint32_t c;
        i += u8_decode(chars->s, chars->len, i, &c);
        if (c == cp) return true;
    }
    return false;
}

bool jstr_strip(jrender *r, jv sv, jv chars, int which, jv *out)
{
    if (chars.type != JT_NONE && chars.type != JT_STR)
        return jfail(r, NULL, "strip arg must be None or str");
    jstr *s = jv_str(sv), *cs = chars.type == JT_STR ? jv_str(chars) : NULL;
    size_t b = 0, e = s->len;
    if (which & 1) {
        while (b < e) {
            uint32_t cp;
            size_t k = u8_decode(s->s, e, b, &cp);
            if (cs ? !in_chars(cp, cs) : !u_isspace(cp)) break;
            b += k;
        }
    }
    if (which & 2) {
        while (e > b) {
            size_t st = e - 1;
            while (st > b && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
            uint32_t cp;
            u8_decode(s->s, e, st, &cp);
            if (cs ? !in_chars(cp, cs) : !u_isspace(cp)) break;
            e = st;
        }
    }
    if (!new_str(r, s->s + b, e - b, out)) return false;
    out->flags = sv.flags & JV_SAFE;
    return true;
}

bool jstr_replace(jrender *r, jv sv, jv oldv, jv newv, int64_t count, jv *out)
{
    jstr *s = jv_str(sv), *o = jv_str(oldv), *n = jv_str(newv);
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    if (!o->len) {
        /* "ab".replace("", "-") is "-a-b-" */
        if (!jheap_work(&r->heap, s->len * JWORK_CHAR)) return jfail_oom(r, NULL);
        int64_t done = 0;
        for (size_t i = 0; i <= s->len;) {
            if (count < 0 || done < count) {
                jbuf_put(&b, n->s, n->len);
                done++;
            }
            if (i == s->len) break;
            size_t k = u8_offset(s->s + i, s->len - i, 1);
            jbuf_put(&b, s->s + i, k);
            i += k;
        }
    } else {
        size_t i = 0;
        int64_t done = 0;
        while (i < s->len && (count < 0 || done < count)) {
            const char *hit = memmem(s->s + i, s->len - i, o->s, o->len);
            if (!hit) break;
            size_t h = (size_t)(hit - s->s);
            jbuf_put(&b, s->s + i, h - i);
            jbuf_put(&b, n->s, n->len);
            i = h + o->len;
            done++;
        }
        jbuf_put(&b, s->s + i, s->len - i);
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, NULL);
}

bool jstr_case(jrender *r, jv sv, int how, jv *out)
{
    jstr *s = jv_str(sv);
    if (!jheap_work(&r->heap, s->len * JWORK_CHAR)) return jfail_oom(r, NULL);
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    bool first = true, prev_cased = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp, o;
        i += u8_decode(s->s, s->len, i, &cp);
        switch (how) {
        case 'u': o = u_toupper(cp); break;
        case 'l': o = u_tolower(cp); break;
        case 'c': o = first ? u_totitle(cp) : u_tolower(cp); break;
        case 's': o = u_isupper(cp) ? u_tolower(cp) : u_islower(cp) ? u_toupper(cp) : cp; break;
        default: /* 't': str.title() */
            o = u_iscased(cp) ? (prev_cased ? u_tolower(cp) : u_totitle(cp)) : cp;
            prev_cased = u_iscased(cp);
            break;
        }
        first = false;
        char u[4];
        jbuf_put(&b, u, u8_encode(o, u));
    }
    if (!jbuf_to_str(&b, &r->heap, out)) return jfail_oom(r, NULL);
    out->flags = sv.flags & JV_SAFE;
    return true;
}

/* Python's line boundaries: \n \r \r\n \v \f \x1c-\x1e \x85 \u2028 \u2029 */
static size_t line_break_at(const char *s, size_t n, size_t i)
{
    uint32_t cp;
    size_t k = u8_decode(s, n, i, &cp);
    if (cp == '\r') return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
    if (cp == '\n' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) || cp == 0x85 || cp == 0x2028 ||
        cp == 0x2029)
        return k;
    return 0;
}

bool jstr_splitlines(jrender *r, const char *s, size_t n, bool keepends, jv *out)
{
    if (!jlist_new(&r->heap, JL_LIST, 0, out)) return jfail_oom(r, NULL);
    size_t start = 0, i = 0;
    while (i < n) {
        size_t k = line_break_at(s, n, i);
        if (!k) {
            i += u8_offset(s + i, n - i, 1);
            continue;
        }
        jv line;
        if (!new_str(r, s + start, (keepends ? i + k : i) - start, &line)) return false;
        bool ok = jlist_push(jv_list(*out), line);
        jv_release(line);
        if (!ok) return jfail_oom(r, NULL);
        i += k;
        start = i;
    }
    if (start < n) {
        jv line;
        if (!new_str(r, s + start, n - start, &line)) return false;
        bool ok = jlist_push(jv_list(*out), line);
        jv_release(line);
        if (!ok) return jfail_oom(r, NULL);
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Methods
 * ---------------------------------------------------------------------- */

#define BIND(fname, nreq, ...)                                                                 \
    static const char *const params_[] = {__VA_ARGS__};                                        \
    jv arg[sizeof params_ / sizeof params_[0]];                                                 \
    if (!jargs_bind(r, a, fname, params_, sizeof params_ / sizeof params_[0], nreq, arg))     \
        return false

#define NO_ARGS(fname)                                                                         \
    if (a->npos || a->nkw) return jfail(r, a->at, "%s() takes no arguments", fname)

static bool need_str(jrender *r, jargs *a, jv v, const char *what)
{
    if (v.type == JT_STR) return true;
    return jfail(r, a->at, "%s must be str, not %s", what, jv_type_name(v));
}

static bool m_strip_common(jrender *r, jv self, jargs *a, jv *out, int which)
{
    BIND("strip", 0, "chars");
    return jstr_strip(r, self, jv_missing(arg[0]) ? jv_none() : arg[0], which, out);
}
static bool m_strip(jrender *r, jv self, jargs *a, jv *out) { return m_strip_common(r, self, a, out, 3); }
static bool m_lstrip(jrender *r, jv self, jargs *a, jv *out) { return m_strip_common(r, self, a, out, 1); }
static bool m_rstrip(jrender *r, jv self, jargs *a, jv *out) { return m_strip_common(r, self, a, out, 2); }

static bool m_case(jrender *r, jv self, jargs *a, jv *out, int how)
{
    NO_ARGS("case");
    return jstr_case(r, self, how, out);
}
static bool m_upper(jrender *r, jv self, jargs *a, jv *out) { return m_case(r, self, a, out, 'u'); }
static bool m_lower(jrender *r, jv self, jargs *a, jv *out) { return m_case(r, self, a, out, 'l'); }
static bool m_capitalize(jrender *r, jv self, jargs *a, jv *out) { return m_case(r, self, a, out, 'c'); }
static bool m_title(jrender *r, jv self, jargs *a, jv *out) { return m_case(r, self, a, out, 't'); }
static bool m_swapcase(jrender *r, jv self, jargs *a, jv *out) { return m_case(r, self, a, out, 's'); }

static bool push_piece(jrender *r, jv list, const char *s, size_t n)
{
    jv piece;
    if (!new_str(r, s, n, &piece)) return false;
    bool ok = jlist_push(jv_list(list), piece);
    jv_release(piece);
    return ok || jfail_oom(r, NULL);
}

static void reverse_list(jlist *l)
{
    for (size_t i = 0, j = l->n ? l->n - 1 : 0; i < j; i++, j--) {
        jv t = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = t;
    }
}

/* str.split / str.rsplit */
static bool split_common(jrender *r, jv self, jargs *a, jv *out, bool from_right)
{
    BIND(from_right ? "rsplit" : "split", 0, "sep", "maxsplit");
    jstr *s = jv_str(self);
    int64_t maxsplit = jv_missing(arg[1]) ? -1 : jv_is_intlike(arg[1]) ? arg[1].u.i : -1;
    bool by_space = jv_missing(arg[0]) || arg[0].type == JT_NONE;
    if (!by_space && !need_str(r, a, arg[0], "separator")) return false;
    if (!by_space && !jv_str(arg[0])->len) return jfail(r, a->at, "empty separator");
    if (!jlist_new(&r->heap, JL_LIST, 0, out)) return jfail_oom(r, a->at);
    int64_t done = 0;
    if (by_space) {
        /* runs of whitespace; no empty strings */
        size_t b = 0, e = s->len;
        for (;;) {
            if (!from_right) {
                while (b < e) {
                    uint32_t cp;
                    size_t k = u8_decode(s->s, e, b, &cp);
                    if (!u_isspace(cp)) break;
                    b += k;
                }
                if (b >= e) break;
                if (maxsplit >= 0 && done >= maxsplit) {
                    /* the rest, trailing whitespace included */
                    if (!push_piece(r, *out, s->s + b, e - b)) return false;
                    break;
                }
                size_t w = b;
                while (w < e) {
                    uint32_t cp;
                    size_t k = u8_decode(s->s, e, w, &cp);
                    if (u_isspace(cp)) break;
                    w += k;
                }
                if (!push_piece(r, *out, s->s + b, w - b)) return false;
                done++;
                b = w;
            } else {
                while (e > b) {
                    size_t st = e - 1;
                    while (st > b && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
                    uint32_t cp;
                    u8_decode(s->s, e, st, &cp);
                    if (!u_isspace(cp)) break;
                    e = st;
                }
                if (e <= b) break;
                if (maxsplit >= 0 && done >= maxsplit) {
                    if (!push_piece(r, *out, s->s + b, e - b)) return false;
                    break;
                }
                size_t w = e;
                while (w > b) {
                    size_t st = w - 1;
                    while (st > b && ((unsigned char)s->s[st] & 0xC0) == 0x80) st--;
                    uint32_t cp;
                    u8_decode(s->s, w, st, &cp);
                    if (u_isspace(cp)) break;
                    w = st;
                }
                if (!push_piece(r, *out, s->s + w, e - w)) return false;
                done++;
                e = w;
            }
        }
    } else {
        jstr *sep = jv_str(arg[0]);
        if (!from_right) {
            size_t i = 0;
            while (maxsplit < 0 || done < maxsplit) {
                const char *hit = memmem(s->s + i, s->len - i, sep->s, sep->len);
                if (!hit) break;
                if (!push_piece(r, *out, s->s + i, (size_t)(hit - s->s) - i)) return false;
                i = (size_t)(hit - s->s) + sep->len;
                done++;
            }
            if (!push_piece(r, *out, s->s + i, s->len - i)) return false;
        } else {
            size_t e = s->len;
            while (maxsplit < 0 || done < maxsplit) {
                size_t hit = SIZE_MAX;
                for (size_t k = e; k >= sep->len; k--) {
                    if (!memcmp(s->s + k - sep->len, sep->s, sep->len)) {
                        hit = k - sep->len;
                        break;
                    }
                }
                if (hit == SIZE_MAX) break;
                if (!push_piece(r, *out, s->s + hit + sep->len, e - hit - sep->len)) return false;
                e = hit;
                done++;
            }
            if (!push_piece(r, *out, s->s, e)) return false;
        }
    }
    if (from_right) reverse_list(jv_list(*out));
    return true;
}

static bool m_split(jrender *r, jv self, jargs *a, jv *out) { return split_common(r, self, a, out, false); }
static bool m_rsplit(jrender *r, jv self, jargs *a, jv *out) { return split_common(r, self, a, out, true); }

static bool m_splitlines(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("splitlines", 0, "keepends");
    return jstr_splitlines(r, jv_str(self)->s, jv_str(self)->len, !jv_missing(arg[0]) && jv_truthy(arg[0]), out);
}

/* startswith / endswith with a string or a tuple of strings */
static bool affix_common(jrender *r, jv self, jargs *a, jv *out, bool end)
{
    BIND(end ? "endswith" : "startswith", 1, "prefix", "start", "end");
    jstr *s = jv_str(self);
    size_t b = 0, e = s->len;
    if (!jv_missing(arg[1]) && arg[1].type != JT_NONE) {
        if (!jv_is_intlike(arg[1])) return jfail(r, a->at, "slice indices must be integers or None");
        int64_t i = arg[1].u.i, n = (int64_t)jstr_ncp(s);
        if (i < 0) i = i + n < 0 ? 0 : i + n;
        if (i > n) {
            *out = jv_bool(false);
            return true;
        }
        b = u8_offset(s->s, s->len, (size_t)i);
    }
    if (!jv_missing(arg[2]) && arg[2].type != JT_NONE) {
        if (!jv_is_intlike(arg[2])) return jfail(r, a->at, "slice indices must be integers or None");
        int64_t i = arg[2].u.i, n = (int64_t)jstr_ncp(s);
        if (i < 0) i = i + n < 0 ? 0 : i + n;
        if (i > n) i = n;
        e = u8_offset(s->s, s->len, (size_t)i);
        if (e < b) e = b;
    }
    jv p = arg[0];
    size_t np = p.type == JT_LIST && jv_list(p)->form == JL_TUPLE ? jv_list(p)->n : 1;
    bool hit = false;
    for (size_t i = 0; i < np && !hit; i++) {
        jv x = p.type == JT_LIST && jv_list(p)->form == JL_TUPLE ? jv_list(p)->items[i] : p;
        if (x.type != JT_STR)
            return jfail(r, a->at, "%s first arg must be str or a tuple of str, not %s",
                         end ? "endswith" : "startswith", jv_type_name(x));
        jstr *f = jv_str(x);
        if (f->len <= e - b)
            hit = !memcmp(end ? s->s + e - f->len : s->s + b, f->s, f->len);
    }
    *out = jv_bool(hit);
    return true;
}

static bool m_startswith(jrender *r, jv self, jargs *a, jv *out) { return affix_common(r, self, a, out, false); }
static bool m_endswith(jrender *r, jv self, jargs *a, jv *out) { return affix_common(r, self, a, out, true); }

/* find, rfind, index, rindex, count */
static bool search_common(jrender *r, jv self, jargs *a, jv *out, int kind)
{
    static const char *const names[] = {"find", "rfind", "index", "rindex", "count"};
    BIND(names[kind], 1, "sub", "start", "end");
    if (!need_str(r, a, arg[0], "substring")) return false;
    jstr *s = jv_str(self), *sub = jv_str(arg[0]);
    int64_t n = (int64_t)jstr_ncp(s), st = 0, en = n;
    if (!jv_missing(arg[1]) && jv_is_intlike(arg[1])) st = arg[1].u.i < 0 ? (arg[1].u.i + n < 0 ? 0 : arg[1].u.i + n) : arg[1].u.i;
    if (!jv_missing(arg[2]) && jv_is_intlike(arg[2])) en = arg[2].u.i < 0 ? (arg[2].u.i + n < 0 ? 0 : arg[2].u.i + n) : arg[2].u.i;
    if (en > n) en = n;
    int64_t found = -1, count = 0;
    if (st <= en) {
        size_t b = u8_offset(s->s, s->len, (size_t)st), e = u8_offset(s->s, s->len, (size_t)en);
        if (kind == 4) {
            if (!sub->len) count = en - st + 1;
            for (size_t i = b; sub->len && i + sub->len <= e;) {
                const char *hit = memmem(s->s + i, e - i, sub->s, sub->len);
                if (!hit) break;
                count++;
                i = (size_t)(hit - s->s) + sub->len;
            }
            *out = jv_int(count);
            return true;
        }
        size_t at = SIZE_MAX;
        if (kind == 0 || kind == 2) {
            const char *hit = sub->len <= e - b ? memmem(s->s + b, e - b, sub->s, sub->len) : NULL;
            if (hit) at = (size_t)(hit - s->s);
        } else if (sub->len <= e - b) {
            for (size_t k = e - sub->len + 1; k-- > b;)
                if (!memcmp(s->s + k, sub->s, sub->len)) {
                    at = k;
                    break;
                }
        }
        if (at != SIZE_MAX) {
            found = 0;
            for (size_t i = 0; i < at; i++) found += ((unsigned char)s->s[i] & 0xC0) != 0x80;
        }
    } else if (kind == 4) {
        *out = jv_int(0);
        return true;
    }
    if (found < 0 && (kind == 2 || kind == 3)) return jfail(r, a->at, "substring not found");
    *out = jv_int(found);
    return true;
}

static bool m_find(jrender *r, jv self, jargs *a, jv *out) { return search_common(r, self, a, out, 0); }
static bool m_rfind(jrender *r, jv self, jargs *a, jv *out) { return search_common(r, self, a, out, 1); }
static bool m_index(jrender *r, jv self, jargs *a, jv *out) { return search_common(r, self, a, out, 2); }
static bool m_rindex(jrender *r, jv self, jargs *a, jv *out) { return search_common(r, self, a, out, 3); }
static bool m_count(jrender *r, jv self, jargs *a, jv *out) { return search_common(r, self, a, out, 4); }

static bool m_replace(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("replace", 2, "old", "new", "count");
    if (!need_str(r, a, arg[0], "replace() argument 1") || !need_str(r, a, arg[1], "replace() argument 2")) return false;
    int64_t count = jv_missing(arg[2]) ? -1 : jv_is_intlike(arg[2]) ? arg[2].u.i : -1;
    if (!jstr_replace(r, self, arg[0], arg[1], count, out)) return false;
    out->flags = self.flags & JV_SAFE;
    return true;
}

static bool m_join(jrender *r, jv self, jargs *a, jv *out)
{
    BIND("join", 1, "iterable");
    jv l;
    if (!jiter_list(r, a->at, arg[0], &l)) return false;
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    for (size_t i = 0; i < jv_list(l)->n; i++) {
        jv x = jv_list(l)->items[i];
        if (x.type != JT_STR) {
            jbuf_free(&b);
            return jfail(r, a->at, "sequence item %zu: expected str instance, %s found", i, jv_type_name(x));
        }
        if (i) jbuf_put(&b, jv_str(self)->s, jv_str(self)->len);
        jbuf_put(&b, jv_str(x)->s, jv_str(x)->len);
    }
    jv_release(l);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, a->at);
}

static bool m_affix_remove(jrender *r, jv self, jargs *a, jv *out, bool suffix)
{
    BIND(suffix ? "removesuffix" : "removeprefix", 1, "affix");
    if (!need_str(r, a, arg[0], "argument")) return false;
    jstr *s = jv_str(self), *f = jv_str(arg[0]);
    bool hit = f->len <= s->len && !memcmp(suffix ? s->s + s->len - f->len : s->s, f->s, f->len);
    if (!hit) {
        *out = jv_retain(self);
        return true;
    }
    return new_str(r, suffix ? s->s : s->s + f->len, s->len - f->len, out);
}

static bool m_removeprefix(jrender *r, jv self, jargs *a, jv *out) { return m_affix_remove(r, self, a, out, false); }
static bool m_removesuffix(jrender *r, jv self, jargs *a, jv *out) { return m_affix_remove(r, self, a, out, true); }

static bool m_partition_common(jrender *r, jv self, jargs *a, jv *out, bool right)
{
    BIND(right ? "rpartition" : "partition", 1, "sep");
    if (!need_str(r, a, arg[0], "separator")) return false;
    jstr *s = jv_str(self), *sep = jv_str(arg[0]);
    if (!sep->len) return jfail(r, a->at, "empty separator");
    size_t hit = SIZE_MAX;
    if (!right) {
        const char *h = memmem(s->s, s->len, sep->s, sep->len);
        if (h) hit = (size_t)(h - s->s);
    } else {
        for (size_t k = s->len; k >= sep->len && hit == SIZE_MAX; k--)
            if (!memcmp(s->s + k - sep->len, sep->s, sep->len)) hit = k - sep->len;
    }
    if (!jlist_new(&r->heap, JL_TUPLE, 3, out)) return jfail_oom(r, a->at);
    if (hit == SIZE_MAX) {
        if (right) return push_piece(r, *out, "", 0) && push_piece(r, *out, "", 0) && push_piece(r, *out, s->s, s->len);
        return push_piece(r, *out, s->s, s->len) && push_piece(r, *out, "", 0) && push_piece(r, *out, "", 0);
    }
    return push_piece(r, *out, s->s, hit) && push_piece(r, *out, sep->s, sep->len) &&
           push_piece(r, *out, s->s + hit + sep->len, s->len - hit - sep->len);
}

static bool m_partition(jrender *r, jv self, jargs *a, jv *out) { return m_partition_common(r, self, a, out, false); }
static bool m_rpartition(jrender *r, jv self, jargs *a, jv *out) { return m_partition_common(r, self, a, out, true); }

/* ljust, rjust, center, zfill */
static bool m_pad(jrender *r, jv self, jargs *a, jv *out, int how)
{
    BIND(how == 'l' ? "ljust" : how == 'r' ? "rjust" : how == 'c' ? "center" : "zfill", 1, "width", "fillchar");
    if (!jv_is_intlike(arg[0])) return jfail(r, a->at, "width must be an integer");
    const char *fill = " ";
    size_t fill_len = 1;
    if (!jv_missing(arg[1])) {
        if (arg[1].type != JT_STR || jstr_ncp(jv_str(arg[1])) != 1)
            return jfail(r, a->at, "The fill character must be exactly one character long");
        fill = jv_str(arg[1])->s;
        fill_len = jv_str(arg[1])->len;
    }
    jstr *s = jv_str(self);
    int64_t width = arg[0].u.i > 1000000 ? 1000000 : arg[0].u.i, len = (int64_t)jstr_ncp(s);
    int64_t marg = width - len, left = 0;
    if (marg <= 0) {
        *out = jv_retain(self);
        return true;
    }
    if (how == 'r' || how == 'z') left = marg;
    else if (how == 'c') left = marg / 2 + (marg & width & 1);
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    size_t body = 0;
    if (how == 'z' && s->len && (s->s[0] == '+' || s->s[0] == '-')) {
        jbuf_putc(&b, s->s[0]);
        body = 1;
    }
    for (int64_t i = 0; i < left; i++) jbuf_put(&b, how == 'z' ? "0" : fill, how == 'z' ? 1 : fill_len);
    jbuf_put(&b, s->s + body, s->len - body);
    for (int64_t i = left; i < marg; i++) jbuf_put(&b, fill, fill_len);
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, a->at);
}

static bool m_ljust(jrender *r, jv self, jargs *a, jv *out) { return m_pad(r, self, a, out, 'l'); }
static bool m_rjust(jrender *r, jv self, jargs *a, jv *out) { return m_pad(r, self, a, out, 'r'); }
static bool m_center(jrender *r, jv self, jargs *a, jv *out) { return m_pad(r, self, a, out, 'c'); }
static bool m_zfill(jrender *r, jv self, jargs *a, jv *out) { return m_pad(r, self, a, out, 'z'); }

/* isalpha, isdigit, ...: every character passes, and there is one */
static bool m_class(jrender *r, jv self, jargs *a, jv *out, bool (*cls)(uint32_t))
{
    NO_ARGS("is...");
    jstr *s = jv_str(self);
    bool ok = s->len > 0;
    for (size_t i = 0; i < s->len && ok;) {
        uint32_t cp;
        i += u8_decode(s->s, s->len, i, &cp);
        ok = cls(cp);
    }
    *out = jv_bool(ok);
    return true;
}

static bool is_ascii_cp(uint32_t cp) { return cp < 0x80; }
static bool m_isalpha(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isalpha); }
static bool m_isalnum(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isalnum); }
static bool m_isdigit(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isdigit); }
static bool m_isdecimal(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isdecimal); }
static bool m_isnumeric(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isnumeric); }
static bool m_isspace(jrender *r, jv self, jargs *a, jv *out) { return m_class(r, self, a, out, u_isspace); }

static bool m_isascii(jrender *r, jv self, jargs *a, jv *out)
{
    if (!m_class(r, self, a, out, is_ascii_cp)) return false;
    if (!jv_str(self)->len) *out = jv_bool(true);
    return true;
}

/* isupper / islower: some cased character and none of the other case */
static bool m_iscase(jrender *r, jv self, jargs *a, jv *out, bool upper)
{
    NO_ARGS(upper ? "isupper" : "islower");
    jstr *s = jv_str(self);
    bool cased = false, wrong = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += u8_decode(s->s, s->len, i, &cp);
        if (upper ? u_isupper(cp) : u_islower(cp)) cased = true;
        else if (u_iscased(cp)) wrong = true;
    }
    *out = jv_bool(cased && !wrong);
    return true;
}

static bool m_isupper(jrender *r, jv self, jargs *a, jv *out) { return m_iscase(r, self, a, out, true); }
static bool m_islower(jrender *r, jv self, jargs *a, jv *out) { return m_iscase(r, self, a, out, false); }

/* str.format with automatic, numbered and named fields ({} {0} {name});
 * conversions and format specs beyond !s / !r are refused. */
static bool m_format(jrender *r, jv self, jargs *a, jv *out)
{
    jstr *s = jv_str(self);
    jbuf b;
    jbuf_init_charged(&b, 0, &r->heap);
    size_t next_auto = 0;
    for (size_t i = 0; i < s->len; i++) {
        char c = s->s[i];
        if ((c == '{' || c == '}') && i + 1 < s->len && s->s[i + 1] == c) {
            jbuf_putc(&b, c);
            i++;
            continue;
        }
        if (c == '}') {
            jbuf_free(&b);
            return jfail(r, a->at, "Single '}' encountered in format string");
        }
        if (c != '{') {
            jbuf_putc(&b, c);
            continue;
        }
        size_t e = i + 1;
        while (e < s->len && s->s[e] != '}') e++;
        if (e >= s->len) {
            jbuf_free(&b);
            return jfail(r, a->at, "Single '{' encountered in format string");
        }
        const char *field = s->s + i + 1;
        size_t flen = e - i - 1;
        char conv = 's';
        if (flen >= 2 && field[flen - 2] == '!') {
            conv = field[flen - 1];
            flen -= 2;
        }
        if (memchr(field, ':', flen) || memchr(field, '.', flen) || memchr(field, '[', flen) ||
            (conv != 's' && conv != 'r')) {
            jbuf_free(&b);
            return jfail(r, a->at, "format specs and field lookups are not supported in str.format");
        }
        jv v = jv_undef();
        bool found = false;
        if (flen == 0 || (field[0] >= '0' && field[0] <= '9')) {
            size_t idx = flen == 0 ? next_auto++ : (size_t)strtoul(field, NULL, 10);
            if (idx < a->npos) {
                v = a->pos[idx];
                found = true;
            }
        } else {
            for (size_t k = 0; k < a->nkw; k++)
                if (strlen(a->kwname[k]) == flen && !memcmp(a->kwname[k], field, flen)) {
                    v = a->kw[k];
                    found = true;
                }
        }
        if (!found) {
            jbuf_free(&b);
            return jfail(r, a->at, "format field '%.*s' not given", (int)flen, field);
        }
        if (conv == 'r') jv_write_repr(&b, v);
        else jv_write_str(&b, v);
        i = e;
    }
    return jbuf_to_str(&b, &r->heap, out) || jfail_oom(r, a->at);
}

const jmethod_def jstr_methods[] = {
    {"capitalize", false, m_capitalize}, {"casefold", false, m_lower}, {"center", false, m_center},
    {"count", false, m_count},         {"endswith", false, m_endswith}, {"find", false, m_find},
    {"format", false, m_format},       {"index", false, m_index},     {"isalnum", false, m_isalnum},
    {"isalpha", false, m_isalpha},     {"isascii", false, m_isascii}, {"isdecimal", false, m_isdecimal},
    {"isdigit", false, m_isdigit},     {"islower", false, m_islower}, {"isnumeric", false, m_isnumeric},
    {"isspace", false, m_isspace},     {"isupper", false, m_isupper}, {"join", false, m_join},
    {"ljust", false, m_ljust},         {"lower", false, m_lower},     {"lstrip", false, m_lstrip},
    {"partition", false, m_partition}, {"removeprefix", false, m_removeprefix},
    {"removesuffix", false, m_removesuffix}, {"replace", false, m_replace}, {"rfind", false, m_rfind},
    {"rindex", false, m_rindex},       {"rjust", false, m_rjust},     {"rpartition", false, m_rpartition},
    {"rsplit", false, m_rsplit},       {"rstrip", false, m_rstrip},   {"split", false, m_split},
    {"splitlines", false, m_splitlines}, {"startswith", false, m_startswith}, {"strip", false, m_strip},
    {"swapcase", false, m_swapcase},   {"title", false, m_title},     {"upper", false, m_upper},
    {"zfill", false, m_zfill},         {NULL, false, NULL},
};
