/*
 * rank.h — reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR
 * 2009): the hybrid search's way of merging the BM25 ranking and the
 * vector ranking of chunks without comparing their scores, which live on
 * different scales.
 *
 *   score(d) = sum over the lists that hold d of 1 / (MEM_RRF_K + rank(d))
 *
 * with ranks from 1 (a list's best). A pure function of the two lists, so
 * a test can recompute what mem_store_search's hybrid mode returns.
 */
#ifndef MOTE_MEMORY_RANK_H
#define MOTE_MEMORY_RANK_H

#include <stdint.h>

/* The constant of the paper (and of most hybrid search engines): it damps
 * the weight of the first few ranks, so one list's top hit does not
 * outvote agreement between the two lists. */
#define MEM_RRF_K 60

typedef struct mem_fused {
    int64_t id;   /* chunk id */
    double score; /* 1/(K + rank_a) + 1/(K + rank_b), a term only where the rank is not 0 */
    int rank_a;   /* 1-based rank in list a (BM25), 0 if absent */
    int rank_b;   /* 1-based rank in list b (vector), 0 if absent */
} mem_fused;

/* Fuse ranking a (na ids, best first) with ranking b (nb ids). out must
 * have room for na + nb entries; it receives every distinct id once, best
 * first: higher score, then the smaller id. Returns how many. An id that
 * repeats within one list counts at its first (best) rank. The score's
 * terms are added in the order a, then b (so a recomputation gives the
 * same bits). */
int mem_rrf(const int64_t *a, int na, const int64_t *b, int nb, mem_fused *out);

#endif
