/*
 * arena.c — bump allocator for a parsed template: tokens, nodes and their
 * strings are allocated here and freed together with the template.
 */
#include "jinja/ast.h"

#include <stdlib.h>
#include <string.h>

struct jarena_chunk {
    struct jarena_chunk *next;          /* older chunk */
    size_t used, cap;                   /* bytes of data in use / available */
    _Alignas(16) unsigned char data[];  /* allocations, 16-byte aligned */
};

/* Usual chunk size; larger requests get a chunk of their own. */
#define JARENA_CHUNK 16384

void *jarena_alloc(jarena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct jarena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > JARENA_CHUNK ? n : JARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
        a->bytes += cap;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *jarena_strdup(jarena *a, const char *s, size_t n)
{
    char *p = jarena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void jarena_free(jarena *a)
{
    struct jarena_chunk *c = a->head;
    while (c) {
        struct jarena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
}

