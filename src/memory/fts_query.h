/*
 * fts_query.h — a user's words as an FTS5 query that can be nothing but
 * a search for those words.
 *
 * FTS5 has its own query language (AND, OR, NOT, NEAR(...), "phrases",
 * prefix*, column:filters, ^, +, -, parentheses); text typed by a user
 * must never be read as it, nor make MATCH fail. Each word (a run of bytes
 * other than ASCII whitespace and control characters) becomes one FTS5
 * string, in double quotes with any '"' inside doubled, which FTS5 takes
 * literally and splits with the table's tokenizer; the strings are joined
 * by OR, so BM25 ranks chunks by how many of the words they hold and how
 * rare those are (a question's words are rarely all in one chunk). A word
 * of punctuation only ("*", "-") becomes a string with no tokens, which
 * matches nothing and is harmless.
 */
#ifndef MOTE_MEMORY_FTS_QUERY_H
#define MOTE_MEMORY_FTS_QUERY_H

#include <stddef.h>

/* At most this many words are searched (the rest are ignored), and only
 * the first MEM_FTS_TEXT_MAX bytes of the text (cut at a UTF-8 character
 * boundary): a query stays small however long the text. */
#define MEM_FTS_TERMS_MAX 64
#define MEM_FTS_TEXT_MAX 4096

/* The store's FTS5 tokenizer (store.c's chunks_fts; fuzz_mem_query.c
 * builds its table with the same): Unicode words without diacritics,
 * Porter-stemmed, so "running" finds "run". */
#define MEM_FTS_TOKENIZE "porter unicode61 remove_diacritics 2"

/* The FTS5 query for len bytes of text (any bytes; NUL counts as a space),
 * malloc'd and NUL-terminated, with the number of words in *n_terms; NULL
 * only if memory ran out. With *n_terms 0 (empty or blank text) there is
 * nothing to search: the query is "" and must not be run. */
char *mem_fts_query(const char *text, size_t len, int *n_terms);

/* The words mem_fts_query reads from len bytes of text, in order: word i
 * is text[start[i] .. start[i] + wlen[i]) (start and wlen have room for
 * MEM_FTS_TERMS_MAX). Returns how many. */
int mem_fts_words(const char *text, size_t len, size_t *start, size_t *wlen);

/* mem_fts_query without the words i for which skip[i] is nonzero (skip
 * NULL: none skipped), the words joined by AND if all is nonzero (chunks
 * that hold every one), else by OR; *n_terms counts the words kept. */
char *mem_fts_query_except(const char *text, size_t len, const unsigned char *skip, int all, int *n_terms);

#endif
