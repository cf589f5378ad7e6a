/*
 * tok_unicode.h — UTF-8 and Unicode properties for the tokenizers.
 *
 * Categories, case and decomposition come from utf8proc (no tables of our
 * own). The GPT-2 byte<->unicode mapping is computed by its defining rule.
 */
#ifndef MOTE_ENGINE_TOK_UNICODE_H
#define MOTE_ENGINE_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

#define UNI_REPLACEMENT 0xFFFDu /* U+FFFD, stands for an invalid byte */
#define UNI_MAX 0x10FFFFu

/* ------------------------------------------------------------------------
 * UTF-8
 * ---------------------------------------------------------------------- */

/* Bytes of the character that starts with byte c, judged by its high bits
 * alone as llama.cpp does (a stray continuation byte counts as 1). */
static inline size_t utf8_seq_len(unsigned char c)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

/* Decode one well-formed character at s[0..n): returns its length and sets
 * *cpt, or returns 0 if the bytes there are not well-formed UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included). */
size_t utf8_decode(const char *s, size_t n, uint32_t *cpt);

/* Decode one character the lax way llama.cpp's unicode_cpt_from_utf8 does:
 * only the lead byte's length and the continuation bytes' high bits are
 * checked. Returns 0 where that decoder would reject the input. */
size_t utf8_decode_lax(const char *s, size_t n, uint32_t *cpt);

/* Encode cpt (<= U+10FFFF) into out; returns 1..4. */
size_t utf8_encode(uint32_t cpt, char out[4]);

/* A copy of s[0..n) in which every byte that does not start a well-formed
 * character is replaced by U+FFFD (one per byte, as llama.cpp's decoder
 * does), so regex engines can trust it. malloc'd, NUL-terminated. */
mote_status utf8_sanitize(const char *s, size_t n, char **out, size_t *out_n);

/* ------------------------------------------------------------------------
 * Character classes (llama.cpp's "codepoint flags", from utf8proc)
 * ---------------------------------------------------------------------- */

enum {
    UNI_LETTER = 1 << 0,      /* \p{L} */
    UNI_NUMBER = 1 << 1,      /* \p{N} */
    UNI_MARK = 1 << 2,        /* \p{M}: Mn, Mc, Me */
    UNI_PUNCT = 1 << 3,       /* \p{P} */
    UNI_SYMBOL = 1 << 4,      /* \p{S} */
    UNI_SEPARATOR = 1 << 5,   /* \p{Z} */
    UNI_CONTROL = 1 << 6,     /* \p{C}: Cc, Cf, Cs, Co, Cn */
    UNI_WHITESPACE = 1 << 7,  /* the White_Space property (Python's \s) */
};

unsigned uni_flags(uint32_t cpt);
/* Simple lowercase mapping. */
uint32_t uni_tolower(uint32_t cpt);

/* Canonical decomposition (NFD) of one character into out (room for cap
 * code points); returns the count, or 0 if it does not fit. */
size_t uni_nfd(uint32_t cpt, uint32_t *out, size_t cap);

/* ------------------------------------------------------------------------
 * GPT-2 byte-level encoding: every byte is shown as a printable character
 * ---------------------------------------------------------------------- */

/* The code point that stands for byte b. */
uint32_t bytelevel_cpt(unsigned char b);
/* The byte a code point stands for, or -1 if it stands for none. */
int bytelevel_byte(uint32_t cpt);

#endif
