/*
 * lexer.c — template text to tokens, rule for rule as jinja2's lexer does it
 * with HF's settings (trim_blocks, lstrip_blocks, no line statements).
 *
 * Root state: text up to the next `{{`, `{%` or `{#` is data. The sign after
 * the opening tag strips the data before it: `-` removes all trailing
 * whitespace; otherwise, for `{%` and `{#` (lstrip_blocks), spaces between
 * the last line start and the tag are dropped. A block or comment end eats one
 * following newline (trim_blocks) unless written `+%}`; `-%}` eats all
 * following whitespace. Inside tags, the end is only recognised while no
 * bracket is open, exactly like jinja2's balancing stack.
 */
#include "jinja/ast.h"
#include "jinja/unicode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Source normalisation and positions
 * ---------------------------------------------------------------------- */

char *jinja_normalize(jarena *a, const char *src, size_t len, size_t *out_len)
{
    char *dst = jarena_alloc(a, len + 1);
    if (!dst) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            dst[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            dst[n++] = src[i];
        }
    }
    if (n && dst[n - 1] == '\n') n--; /* keep_trailing_newline=False */
    dst[n] = '\0';
    *out_len = n;
    return dst;
}

void jinja_line_col(const char *src, size_t len, size_t pos, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < pos && i < len; i++) {
        if (src[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)src[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ------------------------------------------------------------------------
 * Lexer state
 * ---------------------------------------------------------------------- */

typedef struct lexer {
    jarena *a;                       /* token and string memory */
    const char *s;                   /* normalised source */
    size_t n;                        /* its length */
    size_t pos;                      /* next byte to read */
    jtoks *out;                      /* tokens produced */
    jsyntax_error *err;              /* where a failure is described */
    bool line_starting;              /* the last match ended with a newline */
    char brackets[JPARSE_DEPTH_MAX]; /* closers expected, innermost last */
    int depth;                       /* open brackets in the current tag */
} lexer;

static bool lex_fail(lexer *lx, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool lex_fail(lexer *lx, size_t pos, const char *fmt, ...)
{
    lx->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err->msg, sizeof lx->err->msg, fmt, ap);
    va_end(ap);
    return false;
}

static jtok *emit(lexer *lx, jtok_kind kind, size_t pos)
{
    jtoks *t = lx->out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        jtok *v = jarena_alloc(lx->a, cap * sizeof(jtok));
        if (!v) {
            lex_fail(lx, pos, "out of memory");
            return NULL;
        }
        if (t->n) memcpy(v, t->v, t->n * sizeof(jtok));
        t->v = v;
        t->cap = cap;
    }
    jtok *k = &t->v[t->n++];
    memset(k, 0, sizeof *k);
    k->kind = (uint8_t)kind;
    k->pos = (uint32_t)pos;
    return k;
}

static bool emit_data(lexer *lx, size_t start, size_t end)
{
    if (end <= start) return true;
    jtok *t = emit(lx, TK_DATA, start);
    if (!t) return false;
    t->text = lx->s + start;
    t->len = end - start;
    return true;
}

/* Whitespace (Python's \s) length at i, 0 if none. */
static size_t space_at(const lexer *lx, size_t i)
{
    if (i >= lx->n) return 0;
    uint32_t cp;
    size_t k = u8_decode(lx->s, lx->n, i, &cp);
    return u_isspace(cp) ? k : 0;
}

static size_t skip_space(const lexer *lx, size_t i)
{
    size_t k;
    while ((k = space_at(lx, i)) > 0) i += k;
    return i;
}

static bool starts(const lexer *lx, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return i + k <= lx->n && memcmp(lx->s + i, lit, k) == 0;
}

/* End of text[start..end) after the strip the tag's sign asks for. */
static size_t strip_before_tag(lexer *lx, size_t start, size_t end, char sign, bool lstrip)
{
    if (sign == '-') {
        /* Python's str.rstrip(): trailing Unicode whitespace */
        size_t e = end;
        while (e > start) {
            size_t b = e - 1;
            while (b > start && ((unsigned char)lx->s[b] & 0xC0) == 0x80) b--;
            if (!space_at(lx, b) || b + space_at(lx, b) != e) break;
            e = b;
        }
        return e;
    }
    if (sign == '+' || !lstrip) return end;
    size_t l_pos = start;
    bool newline = false;
    for (size_t i = end; i > start; i--)
        if (lx->s[i - 1] == '\n') {
            l_pos = i;
            newline = true;
            break;
        }
    if (!newline && !lx->line_starting) return end;
    if (l_pos == end) return end; /* \s+ needs at least one character */
    for (size_t i = l_pos; i < end;) {
        size_t k = space_at(lx, i);
        if (!k) return end;
        i += k;
    }
    return l_pos;
}

/* ------------------------------------------------------------------------
 * Literals
 * ---------------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* (\d+_)*\d+ starting at i; returns the end or 0 (no match). */
static size_t digit_group(const lexer *lx, size_t i)
{
    if (i >= lx->n || !is_digit(lx->s[i])) return 0;
    while (i < lx->n && is_digit(lx->s[i])) {
        i++;
        if (i + 1 < lx->n && lx->s[i] == '_' && is_digit(lx->s[i + 1])) i++;
    }
    return i;
}

/* jinja2's float_re at i; returns the end or 0. */
static size_t match_float(const lexer *lx, size_t i)
{
    if (i > 0 && lx->s[i - 1] == '.') return 0;
    size_t e = digit_group(lx, i);
    if (!e) return 0;
    size_t frac = 0;
    if (e < lx->n && lx->s[e] == '.') frac = digit_group(lx, e + 1);
    size_t x = frac ? frac : e;
    if (x < lx->n && (lx->s[x] == 'e' || lx->s[x] == 'E')) {
        size_t m = x + 1;
        if (m < lx->n && (lx->s[m] == '+' || lx->s[m] == '-')) m++;
        size_t end = digit_group(lx, m);
        if (end) return end;
    }
    return frac;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* jinja2's integer_re at i (0b, 0o, 0x, decimal with underscores); returns the
 * end or 0, and the value. Overflow is reported through *overflow. */
static size_t match_int(const lexer *lx, size_t i, int64_t *val, bool *overflow)
{
    const char *s = lx->s;
    size_t n = lx->n;
    int base = 10;
    size_t j = i;
    if (s[i] == '0' && i + 1 < n) {
        char p = (char)(s[i + 1] | 0x20);
        if (p == 'b') base = 2;
        else if (p == 'o') base = 8;
        else if (p == 'x') base = 16;
    }
    uint64_t v = 0;
    *overflow = false;
    if (base != 10) {
        j = i + 2;
        size_t ndig = 0;
        for (;;) {
            size_t k = j;
            if (k < n && s[k] == '_') k++;
            int d = k < n ? hex_val(s[k]) : -1;
            if (d < 0 || d >= base) break;
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) *overflow = true;
            v = v * (uint64_t)base + (uint64_t)d;
            j = k + 1;
            ndig++;
        }
        if (!ndig) return 0;
    } else {
        if (j >= n || !is_digit(s[j])) return 0;
        if (s[j] == '0') {
            j++;
            for (;;) {
                size_t k = j;
                if (k < n && s[k] == '_') k++;
                if (k < n && s[k] == '0') j = k + 1;
                else break;
            }
        } else {
            for (;;) {
                int d = s[j] - '0';
                if (v > (UINT64_MAX - (uint64_t)d) / 10) *overflow = true;
                v = v * 10 + (uint64_t)d;
                j++;
                size_t k = j;
                if (k < n && s[k] == '_') k++;
                if (k < n && is_digit(s[k])) j = k;
                else break;
            }
        }
    }
    if (v > (uint64_t)INT64_MAX) *overflow = true;
    *val = (int64_t)v;
    return j;
}

static void put_cp(jbuf *b, uint32_t cp)
{
    char tmp[4];
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
    jbuf_put(b, tmp, u8_encode(cp, tmp));
}

/* Unescape a string literal body as Python's unicode-escape codec does. */
static bool unescape(lexer *lx, size_t start, size_t end, jtok *t)
{
    const char *s = lx->s;
    jbuf b;
    jbuf_init(&b, 0);
    size_t i = start;
    while (i < end) {
        if (s[i] != '\\') {
            size_t j = i;
            while (j < end && s[j] != '\\') j++;
            jbuf_put(&b, s + i, j - i);
            i = j;
            continue;
        }
        size_t esc = i;
        char c = s[i + 1]; /* the literal regex guarantees a character here */
        i += 2;
        switch (c) {
        case '\\': jbuf_putc(&b, '\\'); break;
        case '\'': jbuf_putc(&b, '\''); break;
        case '"': jbuf_putc(&b, '"'); break;
        case 'a': jbuf_putc(&b, '\a'); break;
        case 'b': jbuf_putc(&b, '\b'); break;
        case 'f': jbuf_putc(&b, '\f'); break;
        case 'n': jbuf_putc(&b, '\n'); break;
        case 'r': jbuf_putc(&b, '\r'); break;
        case 't': jbuf_putc(&b, '\t'); break;
        case 'v': jbuf_putc(&b, '\v'); break;
        case '\n': break; /* line continuation */
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            uint32_t v = (uint32_t)(c - '0');
            for (int k = 0; k < 2 && i < end && s[i] >= '0' && s[i] <= '7'; k++, i++)
                v = v * 8 + (uint32_t)(s[i] - '0');
            put_cp(&b, v);
            break;
        }
        case 'x': case 'u': case 'U': {
            int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int k = 0; k < nd; k++) {
                int d = i + (size_t)k < end ? hex_val(s[i + (size_t)k]) : -1;
                if (d < 0) {
                    jbuf_free(&b);
                    return lex_fail(lx, esc, "truncated \\%s escape",
                                    c == 'x' ? "xXX" : c == 'u' ? "uXXXX" : "UXXXXXXXX");
                }
                v = v * 16 + (uint32_t)d;
            }
            i += (size_t)nd;
            if (v > 0x10FFFF) {
                jbuf_free(&b);
                return lex_fail(lx, esc, "illegal Unicode character");
            }
            put_cp(&b, v);
            break;
        }
        case 'N':
            jbuf_free(&b);
            return lex_fail(lx, esc, "\\N{...} escapes are not supported");
        default:
            if ((unsigned char)c >= 0x80) {
                /* Python first backslash-replaces non-ASCII text, so "\é"
                 * comes out as a backslash followed by "xe9". */
                uint32_t cp;
                size_t k = u8_decode(s, end, i - 1, &cp);
                i = i - 1 + k;
                jbuf_putc(&b, '\\');
                if (cp < 0x100) jbuf_printf(&b, "x%02x", cp);
                else if (cp < 0x10000) jbuf_printf(&b, "u%04x", cp);
                else jbuf_printf(&b, "U%08x", cp);
            } else {
                jbuf_putc(&b, '\\');
                jbuf_putc(&b, c);
            }
        }
    }
    if (b.failed) {
        jbuf_free(&b);
        return lex_fail(lx, start, "string literal too long");
    }
    t->text = jarena_strdup(lx->a, b.p ? b.p : "", b.n);
    t->len = b.n;
    jbuf_free(&b);
    if (!t->text) return lex_fail(lx, start, "out of memory");
    return true;
}

/* ------------------------------------------------------------------------
 * Inside {{ }} and {% %}
 * ---------------------------------------------------------------------- */

static const struct {
    const char *text;
    jtok_kind kind;
} operators[] = {
    {"**", TK_POW}, {"//", TK_FLOORDIV}, {"==", TK_EQ}, {"!=", TK_NE}, {">=", TK_GTEQ},
    {"<=", TK_LTEQ}, {"+", TK_ADD}, {"-", TK_SUB}, {"/", TK_DIV}, {"*", TK_MUL},
    {"%", TK_MOD}, {"~", TK_TILDE}, {"[", TK_LBRACKET}, {"]", TK_RBRACKET},
    {"(", TK_LPAREN}, {")", TK_RPAREN}, {"{", TK_LBRACE}, {"}", TK_RBRACE},
    {">", TK_GT}, {"<", TK_LT}, {"=", TK_ASSIGN}, {".", TK_DOT}, {":", TK_COLON},
    {"|", TK_PIPE}, {",", TK_COMMA}, {";", TK_SEMICOLON},
};

static bool ident_start(uint32_t cp) { return cp == '_' || u_isalpha(cp); }
static bool ident_char(uint32_t cp) { return cp == '_' || u_isalnum(cp); }

/* Recognise the tag end at the current position; returns its length or 0. */
static size_t tag_end(lexer *lx, bool block, bool *eat_space, bool *eat_newline)
{
    size_t i = lx->pos;
    const char *close = block ? "%}" : "}}";
    *eat_space = *eat_newline = false;
    if (block && lx->s[i] == '+' && starts(lx, i + 1, close)) return 3;
    if (lx->s[i] == '-' && starts(lx, i + 1, close)) {
        *eat_space = true;
        return 3;
    }
    if (starts(lx, i, close)) {
        *eat_newline = block; /* trim_blocks */
        return 2;
    }
    return 0;
}

static bool lex_operator(lexer *lx)
{
    size_t i = lx->pos;
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++) {
        const char *op = operators[k].text;
        if (!starts(lx, i, op)) continue;
        char c = op[0];
        if (!op[1] && (c == '{' || c == '(' || c == '[')) {
            if (lx->depth >= JPARSE_DEPTH_MAX) return lex_fail(lx, i, "brackets nested too deeply");
            lx->brackets[lx->depth++] = c == '{' ? '}' : c == '(' ? ')' : ']';
        } else if (!op[1] && (c == '}' || c == ')' || c == ']')) {
            if (!lx->depth) return lex_fail(lx, i, "unexpected '%s'", op);
            char want = lx->brackets[--lx->depth];
            if (want != c) {
                lx->err->pos = i;
                snprintf(lx->err->msg, sizeof lx->err->msg, "unexpected '%c', expected '%c'", c, want);
                return false;
            }
        }
        if (!emit(lx, operators[k].kind, i)) return false;
        lx->pos += strlen(op);
        return true;
    }
    uint32_t cp;
    size_t k = u8_decode(lx->s, lx->n, i, &cp);
    char ch[5] = {0};
    memcpy(ch, lx->s + i, k);
    /* quoted as Python's repr would: "'" for a single quote */
    return lex_fail(lx, i, cp == '\'' ? "unexpected char \"%s\"" : "unexpected char '%s'", ch);
}

/* Tokens of one tag, up to and including its end. */
static bool lex_tag(lexer *lx, bool block)
{
    lx->depth = 0;
    while (lx->pos < lx->n) {
        size_t i = lx->pos;
        bool eat_space, eat_newline;
        size_t end = lx->depth == 0 ? tag_end(lx, block, &eat_space, &eat_newline) : 0;
        if (end) {
            if (!emit(lx, block ? TK_BLOCK_END : TK_VAR_END, i)) return false;
            lx->pos += end;
            if (eat_space) lx->pos = skip_space(lx, lx->pos);
            else if (eat_newline && lx->pos < lx->n && lx->s[lx->pos] == '\n') lx->pos++;
            lx->line_starting = lx->s[lx->pos - 1] == '\n';
            return true;
        }
        size_t sp = skip_space(lx, i);
        if (sp > i) {
            lx->pos = sp;
            lx->line_starting = lx->s[sp - 1] == '\n';
            continue;
        }
        lx->line_starting = false;
        char c = lx->s[i];
        size_t fend = match_float(lx, i);
        if (fend) {
            char buf[64];
            size_t n = 0;
            for (size_t k = i; k < fend && n < sizeof buf - 1; k++)
                if (lx->s[k] != '_') buf[n++] = lx->s[k];
            buf[n] = '\0';
            jtok *t = emit(lx, TK_FLOAT, i);
            if (!t) return false;
            t->fval = strtod(buf, NULL);
            lx->pos = fend;
            continue;
        }
        if (is_digit(c)) {
            int64_t v;
            bool overflow;
            size_t iend = match_int(lx, i, &v, &overflow);
            if (iend) {
                if (overflow) return lex_fail(lx, i, "integer literal too large");
                jtok *t = emit(lx, TK_INT, i);
                if (!t) return false;
                t->ival = v;
                lx->pos = iend;
                continue;
            }
        }
        uint32_t cp;
        size_t k = u8_decode(lx->s, lx->n, i, &cp);
        if (ident_start(cp)) {
            size_t j = i + k;
            while (j < lx->n) {
                size_t kk = u8_decode(lx->s, lx->n, j, &cp);
                if (!ident_char(cp)) break;
                j += kk;
            }
            jtok *t = emit(lx, TK_NAME, i);
            if (!t) return false;
            t->text = lx->s + i;
            t->len = j - i;
            lx->pos = j;
            continue;
        }
        if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < lx->n && lx->s[j] != c) j += lx->s[j] == '\\' && j + 1 < lx->n ? 2 : 1;
            if (j < lx->n) {
                jtok *t = emit(lx, TK_STRING, i);
                if (!t || !unescape(lx, i + 1, j, t)) return false;
                lx->pos = j + 1;
                continue;
            }
        }
        if (!lex_operator(lx)) return false;
    }
    return true; /* end of input inside a tag: the parser reports it */
}

/* ------------------------------------------------------------------------
 * Root state
 * ---------------------------------------------------------------------- */

/* {% raw %} at i (i points at "{%")? Returns the end of the tag or 0. */
static size_t match_raw_begin(lexer *lx, size_t i, bool *eat_space)
{
    size_t j = i + 2;
    if (j < lx->n && (lx->s[j] == '-' || lx->s[j] == '+')) j++;
    j = skip_space(lx, j);
    if (!starts(lx, j, "raw")) return 0;
    j = skip_space(lx, j + 3);
    *eat_space = false;
    if (starts(lx, j, "-%}")) {
        *eat_space = true;
        return j + 3;
    }
    return starts(lx, j, "%}") ? j + 2 : 0;
}

/* The {% endraw %} that closes a raw block, searched from lx->pos. */
static bool lex_raw_body(lexer *lx, size_t tag_pos)
{
    for (size_t q = lx->pos; q + 1 < lx->n; q++) {
        if (lx->s[q] != '{' || lx->s[q + 1] != '%') continue;
        size_t j = q + 2;
        char sign = 0;
        if (j < lx->n && (lx->s[j] == '-' || lx->s[j] == '+')) sign = lx->s[j++];
        j = skip_space(lx, j);
        if (!starts(lx, j, "endraw")) continue;
        j = skip_space(lx, j + 6);
        size_t end;
        if (starts(lx, j, "+%}")) end = j + 3;
        else if (starts(lx, j, "-%}")) end = skip_space(lx, j + 3);
        else if (starts(lx, j, "%}")) {
            end = j + 2;
            if (end < lx->n && lx->s[end] == '\n') end++;
        } else continue;
        size_t text_end = strip_before_tag(lx, lx->pos, q, sign, true);
        if (!emit_data(lx, lx->pos, text_end)) return false;
        lx->pos = end;
        lx->line_starting = lx->s[end - 1] == '\n';
        return true;
    }
    return lex_fail(lx, tag_pos, "Missing end of raw directive");
}

static bool lex_comment(lexer *lx, size_t tag_pos)
{
    for (size_t q = lx->pos; q < lx->n; q++) {
        size_t end;
        if (starts(lx, q, "+#}")) end = q + 3;
        else if (starts(lx, q, "-#}")) end = skip_space(lx, q + 3);
        else if (starts(lx, q, "#}")) {
            end = q + 2;
            if (end < lx->n && lx->s[end] == '\n') end++; /* trim_blocks */
        } else continue;
        lx->pos = end;
        lx->line_starting = lx->s[end - 1] == '\n';
        return true;
    }
    return lex_fail(lx, tag_pos, "Missing end of comment tag");
}

bool jinja_lex(jarena *a, const char *src, size_t len, jtoks *out, jsyntax_error *err)
{
    lexer lx = {.a = a, .s = src, .n = len, .out = out, .err = err, .line_starting = true};
    memset(out, 0, sizeof *out);
    while (lx.pos < lx.n) {
        size_t t = lx.pos;
        const char *hit = NULL;
        for (; t + 1 < lx.n; t++) {
            if (src[t] == '{' && (src[t + 1] == '{' || src[t + 1] == '%' || src[t + 1] == '#')) {
                hit = src + t;
                break;
            }
        }
        if (!hit) {
            if (!emit_data(&lx, lx.pos, lx.n)) return false;
            break;
        }
        char kind = src[t + 1];
        char sign = 0;
        if (t + 2 < lx.n && (src[t + 2] == '-' || src[t + 2] == '+')) sign = src[t + 2];
        bool raw_eat = false;
        size_t raw_end = kind == '%' ? match_raw_begin(&lx, t, &raw_eat) : 0;
        size_t text_end = strip_before_tag(&lx, lx.pos, t, sign, kind != '{');
        if (!emit_data(&lx, lx.pos, text_end)) return false;
        lx.line_starting = false;
        if (raw_end) {
            lx.pos = raw_eat ? skip_space(&lx, raw_end) : raw_end;
            lx.line_starting = lx.s[lx.pos - 1] == '\n';
            if (!lex_raw_body(&lx, t)) return false;
            continue;
        }
        lx.pos = t + 2 + (sign ? 1 : 0);
        if (kind == '#') {
            if (!lex_comment(&lx, t)) return false;
            continue;
        }
        if (!emit(&lx, kind == '%' ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, t)) return false;
        if (!lex_tag(&lx, kind == '%')) return false;
    }
    return emit(&lx, TK_EOF, lx.n) != NULL;
}
