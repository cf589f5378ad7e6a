/*
 * block_map.c — weight sharing: which stored block of weights each layer
 * computes with (the mote.block_map key, see arch.h).
 *
 * The map is untrusted input like every key: its element type, length and
 * every value are checked here, before anything is sized by them, and a
 * stored block no layer uses is refused (its tensors would be dead weight
 * that the file's size and the memory budget still count).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "model/arch.h"

mote_status arch_block_map(const gguf_file *f, int n_layer, int **map, int *n_blocks)
{
    *map = NULL;
    *n_blocks = n_layer;
    const gguf_kv *kv = gguf_find_kv(f, ARCH_KEY_BLOCK_MAP);
    if (kv && (kv->type != GGUF_TYPE_ARRAY || (kv->arr_type != GGUF_TYPE_UINT32 && kv->arr_type != GGUF_TYPE_INT32)))
        return mote_fail(MOTE_E_FORMAT, "%s: key %s has type %s%s%s; it must be an array of UINT32 (one stored "
                         "block per layer)", f->path, ARCH_KEY_BLOCK_MAP, gguf_type_name(kv->type),
                         kv->type == GGUF_TYPE_ARRAY ? " of " : "",
                         kv->type == GGUF_TYPE_ARRAY ? gguf_type_name(kv->arr_type) : "");
    if (kv && kv->arr_n != (uint64_t)n_layer)
        return mote_fail(MOTE_E_FORMAT, "%s: key %s has %llu elements, but block_count is %d (one per layer)",
                         f->path, ARCH_KEY_BLOCK_MAP, (unsigned long long)kv->arr_n, n_layer);
    int *m = malloc((size_t)n_layer * sizeof *m);
    unsigned char *used = calloc((size_t)n_layer, 1);
    if (!m || !used) {
        free(m);
        free(used);
        return mote_fail(MOTE_E_NOMEM, "%s: out of memory for a block map of %d layers", f->path, n_layer);
    }
    int most = -1;
    for (int il = 0; il < n_layer; il++) {
        int64_t b = il;
        if (kv) {
            mote_status st = gguf_arr_get_int(f, kv, (uint64_t)il, INT32_MIN, UINT32_MAX, &b);
            /* every stored block is used by some layer: at most n_layer of them */
            if (st == MOTE_OK && (b < 0 || b >= n_layer))
                st = mote_fail(MOTE_E_FORMAT, "%s: key %s maps layer %d to stored block %lld, outside 0..%d "
                               "(a file of %d layers stores at most %d blocks, each used by a layer)", f->path,
                               ARCH_KEY_BLOCK_MAP, il, (long long)b, n_layer - 1, n_layer, n_layer);
            if (st != MOTE_OK) {
                free(m);
                free(used);
                return st;
            }
        }
        m[il] = (int)b;
        used[b] = 1;
        most = m[il] > most ? m[il] : most;
    }
    for (int b = 0; b <= most; b++) {
        if (used[b]) continue;
        free(m);
        free(used);
        return mote_fail(MOTE_E_FORMAT, "%s: key %s maps no layer to stored block %d of 0..%d (every stored "
                         "block must be used, numbered from 0)", f->path, ARCH_KEY_BLOCK_MAP, b, most);
    }
    free(used);
    *map = m;
    *n_blocks = most + 1;
    return MOTE_OK;
}

int arch_block_map_is_identity(const int *map, int n_layer)
{
    for (int il = 0; il < n_layer; il++)
        if (map[il] != il) return 0;
    return 1;
}

int arch_block_name(const char *name, const char **rest)
{
    if (strncmp(name, "blk.", 4) != 0) return -1;
    char *end;
    long b = strtol(name + 4, &end, 10);
    if (end == name + 4 || *end != '.' || b < 0 || b > INT32_MAX) return -1;
    *rest = end + 1;
    return (int)b;
}
