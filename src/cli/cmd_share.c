/*
 * cmd_share.c — `mote share`: write a model whose layers share stored
 * blocks of weights (mote_share), and say which layers share which block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "mote_tools.h"

/* The progress of the two phases (measuring layer pairs, writing bytes)
 * on lines of their own: the library's total changes when it starts
 * writing. */
typedef struct share_progress {
    cli_progress phase[2];
    int at;             /* -1 before the first call */
    uint64_t total;     /* of the phase at */
} share_progress;

static int share_progress_fn(void *user, uint64_t done, uint64_t total)
{
    share_progress *p = user;
    if (p->at == 0 && total != p->total) /* measured: fewer pairs than the bound may be needed */
        cli_progress_fn(&p->phase[0], p->total, p->total);
    if (p->at < 0 || (p->at == 0 && total != p->total)) p->at++;
    p->total = total;
    return cli_progress_fn(&p->phase[p->at], done, total);
}

/* "0,0,1,1,2" into map (n entries): 0, or a usage error. */
static int parse_map(const cli_spec *spec, const char *text, int **map, int *n)
{
    *n = 1;
    for (const char *s = text; *s; s++) *n += *s == ',';
    if (!(*map = malloc((size_t)*n * sizeof **map))) return cli_error("out of memory");
    char *copy = strdup(text);
    if (!copy) return cli_error("out of memory");
    int i = 0, rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
        if (i >= *n || parse_int(tok, &(*map)[i++]) != 0) rc = 1;
    free(copy);
    if (rc || i != *n) return args_usage_error(spec, "--map wants one block number per layer, such as 0,0,1,1,2");
    return 0;
}

static void print_blocks(const mote_share_result *r)
{
    for (int b = 0; b < r->n_blocks; b++) {
        int n = 0;
        for (int i = 0; i < r->n_layer; i++) n += r->block_map[i] == b;
        printf("  block %d: %s", b, n > 1 ? "layers" : "layer");
        for (int i = 0; i < r->n_layer; i++)
            if (r->block_map[i] == b) printf(" %d", i);
        putchar('\n');
    }
}

int cmd_share(int argc, char **argv)
{
    mote_share_params p = mote_share_default_params();
    const char *similarity = "weights", *merge = "medoid", *map_text = NULL;
    const char *pos[2] = {0};
    const cli_opt opts[] = {
        {0, "blocks", ARG_INT, &p.n_blocks, "N", "stored blocks to keep (1 to the model's layers)", 1, 1 << 24, NULL},
        {0, "similarity", ARG_STRING, &similarity, "HOW",
         "how alike two layers are: weights (mean cosine of their weight matrices; the default)", 0, 0, NULL},
        {0, "merge", ARG_STRING, &merge, "HOW",
         "a run's block: medoid (a copy of its most typical layer's; default) or mean (of its layers' "
         "weights, requantized)", 0, 0, NULL},
        {0, "map", ARG_STRING, &map_text, "LIST",
         "share as given instead: one block number per layer, e.g. 0,0,1,1,2", 0, 0, NULL},
        {'t', "threads", ARG_INT, &p.n_threads, "N", "worker threads (default: all CPUs)", 1, MOTE_N_THREADS_MAX,
         NULL},
        {0},
    };
    const cli_spec spec = {
        .verb = "share",
        .usage = "IN OUT --blocks N [options]",
        .about = "Write OUT, a copy of the model IN whose layers share N stored blocks of weights\n"
                 "(MobileLLM's block sharing): adjacent layers are grouped into runs, the most\n"
                 "alike first, and each run becomes one block that all its layers compute with.\n"
                 "OUT is smaller; each layer still has its own KV cache and costs the same time.",
        .notes = "Layer similarity is the mean cosine of the two layers' weight matrices (F32 after\n"
                 "dequantizing); runs merge by the mean similarity of their layers. The file keeps\n"
                 "block_count as the number of layers and maps each layer to its block with the\n"
                 "key mote.block_map. --blocks equal to the layer count writes the same weights.\n"
                 "Layers trained apart lose much when they share a block (QUALITY.md): sharing\n"
                 "is meant for models trained with it, as MobileLLM's are.",
        .opts = opts,
        .min_pos = 2,
        .max_pos = 2,
        .pos = pos,
    };
    int n_pos;
    int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    cli_check_threads(p.n_threads);
    if (strcmp(similarity, "weights") != 0)
        return args_usage_error(&spec, "--similarity '%s': the one measure is 'weights'", similarity);
    if (strcmp(merge, "mean") == 0) p.merge = MOTE_SHARE_MEAN;
    else if (strcmp(merge, "medoid") == 0) p.merge = MOTE_SHARE_MEDOID;
    else return args_usage_error(&spec, "--merge '%s': use mean or medoid", merge);
    if (!map_text && p.n_blocks == 0) return args_usage_error(&spec, "--blocks N (or --map LIST) is required");
    int *map = NULL, n_map = 0;
    if (map_text && (rc = parse_map(&spec, map_text, &map, &n_map)) != 0) {
        free(map);
        return rc;
    }
    p.block_map = map;
    p.block_map_len = n_map;
    p.in_path = pos[0];
    p.out_path = pos[1];

    share_progress prog = {.at = -1};
    cli_progress_init(&prog.phase[0], "measuring");
    cli_progress_init(&prog.phase[1], "writing");
    cli_catch_interrupt();
    p.progress = share_progress_fn;
    p.progress_user = &prog;
    struct stat sb;
    char in_size[32] = "?", out_size[32] = "?";
    if (stat(p.in_path, &sb) == 0) cli_human_bytes((uint64_t)sb.st_size, in_size, sizeof in_size);
    const double t0 = cli_now();
    mote_share_result r;
    mote_status st = mote_share(&p, &r);
    for (int i = 0; i < 2; i++)
        if (prog.phase[i].shown >= 0 && prog.phase[i].shown < 100) fputc('\n', stderr);
    free(map);
    if (st != MOTE_OK) {
        mote_share_result_free(&r);
        return cli_lib_error();
    }

    printf("adjacent layers' similarity (mean cosine of weight matrices):");
    for (int i = 0; i + 1 < r.n_layer; i++) printf("%s%d-%d %.4f", i % 6 ? "  " : "\n  ", i, i + 1, (double)r.similarity[i]);
    printf("\n");
    if (stat(p.out_path, &sb) == 0) cli_human_bytes((uint64_t)sb.st_size, out_size, sizeof out_size);
    printf("wrote %s: %d layers on %d stored blocks (%s), %s (was %s) in %.2f s\n", p.out_path, r.n_layer,
           r.n_blocks, merge, out_size, in_size, cli_now() - t0);
    print_blocks(&r);
    mote_share_result_free(&r);
    return 0;
}
