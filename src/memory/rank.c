/*
 * rank.c — reciprocal rank fusion of two rankings (rank.h).
 *
 * The lists are a search's candidates (a few hundred ids at most, see
 * MEM_SEARCH_K_MAX in store.h), so finding an id of b among a's is a
 * plain scan.
 */
#include "memory/rank.h"

#include <stdlib.h>

static int find(const mem_fused *f, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (f[i].id == id) return i;
    return -1;
}

static double term(int rank)
{
    return 1.0 / (double)(MEM_RRF_K + rank);
}

static int by_score(const void *pa, const void *pb)
{
    const mem_fused *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

int mem_rrf(const int64_t *a, int na, const int64_t *b, int nb, mem_fused *out)
{
    int n = 0;
    for (int i = 0; i < na; i++) {
        if (find(out, n, a[i]) >= 0) continue;
        out[n++] = (mem_fused){.id = a[i], .rank_a = i + 1};
    }
    for (int i = 0; i < nb; i++) {
        const int j = find(out, n, b[i]);
        if (j < 0) out[n++] = (mem_fused){.id = b[i], .rank_b = i + 1};
        else if (out[j].rank_b == 0) out[j].rank_b = i + 1;
    }
    for (int i = 0; i < n; i++) {
        double s = 0;
        if (out[i].rank_a) s += term(out[i].rank_a);
        if (out[i].rank_b) s += term(out[i].rank_b);
        out[i].score = s;
    }
    qsort(out, (size_t)n, sizeof *out, by_score);
    return n;
}
