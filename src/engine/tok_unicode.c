/* tok_unicode.c — UTF-8, Unicode classes via utf8proc, GPT-2 byte mapping. */
#include "engine/tok_unicode.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/status.h"

/* ------------------------------------------------------------------------
 * UTF-8
 * ---------------------------------------------------------------------- */

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t utf8_decode_lax(const char *s, size_t n, uint32_t *cpt)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) return 0;
    if (!(u[0] & 0x80)) {
        *cpt = u[0];
        return 1;
    }
    if (!(u[0] & 0x40)) return 0;
    if (!(u[0] & 0x20)) {
        if (n < 2 || !is_cont(u[1])) return 0;
        *cpt = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    }
    if (!(u[0] & 0x10)) {
        if (n < 3 || !is_cont(u[1]) || !is_cont(u[2])) return 0;
        *cpt = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    if (!(u[0] & 0x08)) {
        if (n < 4 || !is_cont(u[1]) || !is_cont(u[2]) || !is_cont(u[3])) return 0;
        *cpt = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
               ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
        return 4;
    }
    return 0;
}

size_t utf8_decode(const char *s, size_t n, uint32_t *cpt)
{
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t c;
    size_t len = utf8_decode_lax(s, n, &c);
    if (len == 0 || c < min_for_len[len] || c > UNI_MAX || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cpt = c;
    return len;
}

size_t utf8_encode(uint32_t cpt, char out[4])
{
    if (cpt < 0x80) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | ((cpt >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

mote_status utf8_sanitize(const char *s, size_t n, char **out, size_t *out_n)
{
    /* An invalid byte (1 byte) becomes U+FFFD (3 bytes). */
    if (n > (SIZE_MAX - 1) / 3) return mote_fail(MOTE_E_RANGE, "tokenizer: text of %zu bytes", n);
    char *buf = malloc(3 * n + 1);
    if (!buf) return mote_fail(MOTE_E_NOMEM, "tokenizer: %zu bytes of text", n);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t len = utf8_decode(s + i, n - i, &c);
        if (len) {
            memcpy(buf + o, s + i, len);
            o += len;
            i += len;
        } else {
            o += utf8_encode(UNI_REPLACEMENT, buf + o);
            i += 1;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *out_n = o;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * Character classes
 * ---------------------------------------------------------------------- */

/* Python's (and HF's) \s: the White_Space property, which is the Z
 * categories plus these C0/C1 controls. */
static int is_white_space(uint32_t cpt, utf8proc_category_t cat)
{
    if ((cpt >= 0x09 && cpt <= 0x0D) || cpt == 0x85) return 1;
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

unsigned uni_flags(uint32_t cpt)
{
    if (cpt > UNI_MAX) return UNI_CONTROL;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cpt);
    unsigned f = is_white_space(cpt, cat) ? UNI_WHITESPACE : 0;
    switch (cat) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return f | UNI_LETTER;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return f | UNI_MARK;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return f | UNI_NUMBER;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return f | UNI_PUNCT;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return f | UNI_SYMBOL;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
        return f | UNI_SEPARATOR;
    default: /* Cn, Cc, Cf, Cs, Co */
        return f | UNI_CONTROL;
    }
}

uint32_t uni_tolower(uint32_t cpt)
{
    if (cpt > UNI_MAX) return cpt;
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)cpt);
}

size_t uni_nfd(uint32_t cpt, uint32_t *out, size_t cap)
{
    if (cpt > UNI_MAX || cap == 0) return 0;
    utf8proc_int32_t buf[8];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cpt, buf, 8,
                                                 UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || (size_t)n > cap || n > 8) return 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) out[i] = (uint32_t)buf[i];
    return (size_t)n;
}

/* ------------------------------------------------------------------------
 * GPT-2 byte-level encoding
 *
 * Bytes that are printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') stand
 * for themselves; the other 68 bytes, in increasing order, take the code
 * points 256, 257, ... (GPT-2's bytes_to_unicode).
 * ---------------------------------------------------------------------- */

/* The stand-ins of the 68 other bytes: 0x00-0x20 -> 256..288,
 * 0x7F-0xA0 -> 289..322, 0xAD -> 323. */
#define BL_LOW_END 0x20   /* last byte of the first run */
#define BL_MID_START 0x7F /* first byte of the second run */
#define BL_MID_END 0xA0
#define BL_SOFT_HYPHEN 0xAD
#define BL_N_LOW (BL_LOW_END + 1)
#define BL_N_MID (BL_MID_END - BL_MID_START + 1)

uint32_t bytelevel_cpt(unsigned char b)
{
    if (b <= BL_LOW_END) return 256 + b;
    if (b >= BL_MID_START && b <= BL_MID_END) return 256 + BL_N_LOW + (uint32_t)(b - BL_MID_START);
    if (b == BL_SOFT_HYPHEN) return 256 + BL_N_LOW + BL_N_MID;
    return b;
}

int bytelevel_byte(uint32_t cpt)
{
    if (cpt < 256) return bytelevel_cpt((unsigned char)cpt) == cpt ? (int)cpt : -1;
    uint32_t n = cpt - 256;
    if (n < BL_N_LOW) return (int)n;
    if (n < BL_N_LOW + BL_N_MID) return (int)(BL_MID_START + n - BL_N_LOW);
    if (n == BL_N_LOW + BL_N_MID) return BL_SOFT_HYPHEN;
    return -1;
}
