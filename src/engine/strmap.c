/* strmap.c — open-addressing hash tables (see strmap.h). */
#include "engine/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/pages.h"
#include "base/status.h"

/* Tables grow when more than half full: probes stay short. */
#define MAX_LOAD_NUM 1
#define MAX_LOAD_DEN 2

static size_t capacity_for(size_t expected)
{
    size_t cap = 16;
    while (cap * MAX_LOAD_NUM / MAX_LOAD_DEN < expected + 1) cap *= 2;
    return cap;
}

/* ------------------------------------------------------------------------
 * String keys
 * ---------------------------------------------------------------------- */

uint64_t strmap_hash(const char *s, size_t n)
{
    uint64_t h = STRMAP_FNV_OFFSET;
    for (size_t i = 0; i < n; i++) h = strmap_hash_step(h, (unsigned char)s[i]);
    return h;
}

mote_status strmap_init(strmap *m, size_t expected)
{
    size_t cap = capacity_for(expected);
    m->slots = calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
    if (!m->slots) return mote_fail(MOTE_E_NOMEM, "tokenizer: hash table of %zu slots", cap);
    pages_prefault_write(m->slots, cap * sizeof *m->slots); /* probes read before inserts write */
    return MOTE_OK;
}

void strmap_free(strmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* FNV-1a's low bits mix poorly (bit k depends only on bits <= k of the
 * input bytes): finish with a multiply-xorshift so that the slot index (low
 * bits) and the stored fingerprint (high bits) are both well spread. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t find_slot(const strmap *m, const char *key, size_t len, uint64_t hash)
{
    hash = mix(hash);
    size_t i = (size_t)hash & m->mask;
    uint32_t tag = (uint32_t)(hash >> 32);
    for (;;) {
        const strmap_slot *s = &m->slots[i];
        if (!s->key) return i;
        if (s->hash == tag && s->len == len && memcmp(s->key, key, len) == 0) return i;
        i = (i + 1) & m->mask;
    }
}

static mote_status grow(strmap *m)
{
    strmap bigger;
    MOTE_TRY(strmap_init(&bigger, (m->mask + 1)));
    for (size_t i = 0; i <= m->mask; i++) {
        const strmap_slot *s = &m->slots[i];
        if (!s->key) continue;
        bigger.slots[find_slot(&bigger, s->key, s->len, strmap_hash(s->key, s->len))] = *s;
        bigger.count++;
    }
    free(m->slots);
    *m = bigger;
    return MOTE_OK;
}

mote_status strmap_put(strmap *m, const char *key, size_t len, int32_t value, int32_t *prev)
{
    return strmap_put_hashed(m, key, len, strmap_hash(key, len), value, prev);
}

mote_status strmap_put_hashed(strmap *m, const char *key, size_t len, uint64_t hash, int32_t value,
                              int32_t *prev)
{
    if (len > UINT32_MAX) return mote_fail(MOTE_E_INVALID, "tokenizer: key of %zu bytes", len);
    if ((m->count + 1) * MAX_LOAD_DEN > (m->mask + 1) * MAX_LOAD_NUM) MOTE_TRY(grow(m));
    strmap_slot *s = &m->slots[find_slot(m, key, len, hash)];
    if (s->key) {
        if (prev) *prev = s->value;
        return MOTE_OK;
    }
    s->key = key;
    s->len = (uint32_t)len;
    s->hash = (uint32_t)(mix(hash) >> 32);
    s->value = value;
    m->count++;
    if (prev) *prev = -1;
    return MOTE_OK;
}

int32_t strmap_get_hashed(const strmap *m, const char *key, size_t len, uint64_t hash)
{
    if (!m->slots || len > UINT32_MAX) return -1;
    const strmap_slot *s = &m->slots[find_slot(m, key, len, hash)];
    return s->key ? s->value : -1;
}

void strmap_prefetch(const strmap *m, uint64_t hash)
{
    if (m->slots) __builtin_prefetch(&m->slots[(size_t)mix(hash) & m->mask]);
}

void strmap_prefetch_key(const strmap *m, uint64_t hash)
{
    if (!m->slots) return;
    hash = mix(hash);
    const strmap_slot *s = &m->slots[(size_t)hash & m->mask];
    if (s->key && s->hash == (uint32_t)(hash >> 32)) __builtin_prefetch(s->key);
}

int32_t strmap_get(const strmap *m, const char *key, size_t len)
{
    return strmap_get_hashed(m, key, len, strmap_hash(key, len));
}

/* ------------------------------------------------------------------------
 * Pair keys
 * ---------------------------------------------------------------------- */

static uint64_t pair_key(int32_t a, int32_t b)
{
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

/* splitmix64 finaliser: pair keys are dense small ids, so mix them well. */
static uint64_t pair_hash(uint64_t k)
{
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    return k ^ (k >> 31);
}

mote_status pairmap_init(pairmap *m, size_t expected)
{
    size_t cap = capacity_for(expected);
    m->slots = malloc(cap * sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
    if (!m->slots) return mote_fail(MOTE_E_NOMEM, "tokenizer: merge table of %zu slots", cap);
    for (size_t i = 0; i < cap; i++) m->slots[i].key = PAIRMAP_EMPTY;
    return MOTE_OK;
}

void pairmap_free(pairmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t pair_slot(const pairmap *m, uint64_t key)
{
    size_t i = (size_t)pair_hash(key) & m->mask;
    while (m->slots[i].key != PAIRMAP_EMPTY && m->slots[i].key != key) i = (i + 1) & m->mask;
    return i;
}

static mote_status pair_grow(pairmap *m)
{
    pairmap bigger;
    MOTE_TRY(pairmap_init(&bigger, m->mask + 1));
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->slots[i].key == PAIRMAP_EMPTY) continue;
        bigger.slots[pair_slot(&bigger, m->slots[i].key)] = m->slots[i];
        bigger.count++;
    }
    free(m->slots);
    *m = bigger;
    return MOTE_OK;
}

mote_status pairmap_put(pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t id)
{
    if ((m->count + 1) * MAX_LOAD_DEN > (m->mask + 1) * MAX_LOAD_NUM) MOTE_TRY(pair_grow(m));
    uint64_t key = pair_key(a, b);
    pairmap_slot *s = &m->slots[pair_slot(m, key)];
    if (s->key == key) return MOTE_OK;
    s->key = key;
    s->rank = rank;
    s->id = id;
    m->count++;
    return MOTE_OK;
}

void pairmap_prefetch(const pairmap *m, int32_t a, int32_t b)
{
    if (m->slots) __builtin_prefetch(&m->slots[(size_t)pair_hash(pair_key(a, b)) & m->mask]);
}

const pairmap_slot *pairmap_get(const pairmap *m, int32_t a, int32_t b)
{
    if (!m->slots) return NULL;
    uint64_t key = pair_key(a, b);
    const pairmap_slot *s = &m->slots[pair_slot(m, key)];
    return s->key == key ? s : NULL;
}
