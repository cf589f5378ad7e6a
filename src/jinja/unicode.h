/*
 * unicode.h — UTF-8 and Python's character classes for the interpreter.
 *
 * Python strings are sequences of code points; ours are UTF-8 bytes, so
 * lengths, indexing and slicing walk code points. Character classes follow
 * Python's str methods (isspace, isalpha, ...) using utf8proc's tables.
 */
#ifndef MOTE_JINJA_UNICODE_H
#define MOTE_JINJA_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the code point at s[i] (i < n); returns its byte length (>= 1).
 * Invalid bytes decode as themselves, one byte each. */
size_t u8_decode(const char *s, size_t n, size_t i, uint32_t *cp);
/* Encode cp into out; returns the byte length (1-4). */
size_t u8_encode(uint32_t cp, char out[4]);
/* Is s[0..n) valid UTF-8? On failure *bad is the offset of the first bad byte. */
bool u8_valid(const char *s, size_t n, size_t *bad);
/* Byte offset of code point number k (k <= count) within s[0..n). */
size_t u8_offset(const char *s, size_t n, size_t k);

/* str.isspace() of one character. */
bool u_isspace(uint32_t cp);
bool u_isalpha(uint32_t cp);
bool u_isdecimal(uint32_t cp); /* str.isdecimal (Nd) */
bool u_isdigit(uint32_t cp);   /* str.isdigit (Nd, No with digit value) */
bool u_isnumeric(uint32_t cp); /* str.isnumeric (Nd, Nl, No) */
bool u_isalnum(uint32_t cp);
bool u_isupper(uint32_t cp);
bool u_islower(uint32_t cp);
bool u_iscased(uint32_t cp);
bool u_isprintable(uint32_t cp); /* repr() keeps it as is */
bool u_isword(uint32_t cp);      /* regex \w */
uint32_t u_toupper(uint32_t cp);
uint32_t u_tolower(uint32_t cp);
uint32_t u_totitle(uint32_t cp);

#endif
