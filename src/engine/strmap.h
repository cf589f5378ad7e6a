/*
 * strmap.h — hash tables for the tokenizers.
 *
 * strmap: byte string -> int32 (token text -> id). Keys are not copied: they
 * must outlive the map (the vocabulary keeps them in its text arena). Open
 * addressing with linear probing, FNV-1a hashes; the table doubles when half
 * full, so lookups stay O(1) and building a 262k-token map is linear.
 *
 * pairmap: (int32, int32) -> (int32 rank, int32 id), for BPE merges keyed by
 * the ids of their two halves.
 */
#ifndef MOTE_ENGINE_STRMAP_H
#define MOTE_ENGINE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

/* ------------------------------------------------------------------------
 * String keys
 * ---------------------------------------------------------------------- */

#define STRMAP_FNV_OFFSET 0xcbf29ce484222325ULL /* FNV-1a 64-bit basis */
#define STRMAP_FNV_PRIME 0x100000001b3ULL       /* FNV-1a 64-bit prime */

typedef struct strmap_slot {
    const char *key; /* NULL: empty slot */
    uint32_t len;    /* key bytes */
    uint32_t hash;   /* high bits of the key's mixed hash, to skip most compares */
    int32_t value;
} strmap_slot;

typedef struct strmap {
    strmap_slot *slots; /* mask + 1 slots, a power of two */
    size_t mask;
    size_t count;       /* occupied slots */
} strmap;

/* One FNV-1a step: hashes grow byte by byte, so callers that try every
 * prefix of a string (WordPiece, Unigram) hash each byte once. */
static inline uint64_t strmap_hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * STRMAP_FNV_PRIME;
}

uint64_t strmap_hash(const char *s, size_t n);

/* An empty map with room for about `expected` keys. */
mote_status strmap_init(strmap *m, size_t expected);
void strmap_free(strmap *m);

/* Insert key -> value unless the key is present. *prev (if not NULL) gets the
 * value already stored, or -1 when the key was inserted. */
mote_status strmap_put(strmap *m, const char *key, size_t len, int32_t value, int32_t *prev);

/* The same with the key's hash already computed (strmap_hash of key). */
mote_status strmap_put_hashed(strmap *m, const char *key, size_t len, uint64_t hash, int32_t value,
                              int32_t *prev);

/* Start loading the slot of a hash into the cache. Building big tables is
 * bound by memory latency: callers that know the next keys prefetch their
 * slots a few keys ahead so that the misses overlap. */
void strmap_prefetch(const strmap *m, uint64_t hash);
/* Once the slot is cached: start loading the text of the key it holds. */
void strmap_prefetch_key(const strmap *m, uint64_t hash);

/* The value of key, or -1. */
int32_t strmap_get(const strmap *m, const char *key, size_t len);
/* The same with the key's hash already computed (strmap_hash of key). */
int32_t strmap_get_hashed(const strmap *m, const char *key, size_t len, uint64_t hash);

/* ------------------------------------------------------------------------
 * Pair keys
 * ---------------------------------------------------------------------- */

typedef struct pairmap_slot {
    uint64_t key; /* (uint32 a << 32) | uint32 b; PAIRMAP_EMPTY if unused */
    int32_t rank; /* value 1: merge priority, lower first */
    int32_t id;   /* value 2: token of the merged text, or -1 */
} pairmap_slot;

#define PAIRMAP_EMPTY UINT64_MAX

typedef struct pairmap {
    pairmap_slot *slots; /* mask + 1 slots, or NULL when empty */
    size_t mask;
    size_t count;
} pairmap;

mote_status pairmap_init(pairmap *m, size_t expected);
void pairmap_free(pairmap *m);
/* Insert unless (a, b) is present (the first merge of a pair wins). */
mote_status pairmap_put(pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id);
void pairmap_prefetch(const pairmap *m, int32_t a, int32_t b);
/* The slot of (a, b), or NULL. */
const pairmap_slot *pairmap_get(const pairmap *m, int32_t a, int32_t b);

#endif
