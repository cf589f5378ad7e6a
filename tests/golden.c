/* golden.c — parse the golden TSV files of ../shared/golden. */
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int golden_parse_ids(const char *s, int32_t *out, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) break;
        out[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

/* Split a line on tabs in place; returns the field count. */
static int split_tabs(char *line, char **fields, int cap)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < cap; p++)
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static golden_case *find_case(golden_model *g, const char *name)
{
    for (int i = 0; i < g->n_cases; i++)
        if (strcmp(g->cases[i].name, name) == 0) return &g->cases[i];
    return NULL;
}

int golden_load(const char *name, golden_model *g)
{
    char rel[512];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);

    snprintf(rel, sizeof rel, "golden/%s.cases.tsv", name);
    char *text = read_file(shared_path(rel), NULL);
    if (!text) {
        print_error("golden: cannot read %s\n", shared_path(rel));
        return -1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[8];
        if (split_tabs(line, f, 8) < 4 || g->n_cases >= GOLDEN_MAX_CASES) continue;
        golden_case *c = &g->cases[g->n_cases++];
        snprintf(c->name, sizeof c->name, "%s", f[0]);
        c->n_prompt = golden_parse_ids(f[2], c->prompt, GOLDEN_MAX_IDS);
        c->n_greedy = golden_parse_ids(f[3], c->greedy, GOLDEN_MAX_IDS);
        c->first_near_tie = -1;
    }
    free(text);

    snprintf(rel, sizeof rel, "golden/%s.topk.tsv", name);
    if (!(text = read_file(shared_path(rel), NULL))) {
        print_error("golden: cannot read %s\n", shared_path(rel));
        return -1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[16];
        if (split_tabs(line, f, 16) < 3) continue;
        golden_case *c = find_case(g, f[0]);
        int step = atoi(f[1]);
        if (!c || step < 0 || step >= GOLDEN_STEPS) continue;
        /* field 3: "id:logit" pairs separated by spaces, best first */
        const char *p = f[2];
        for (int k = 0; k < GOLDEN_TOPK; k++) {
            char *end;
            c->top_id[step][k] = (int32_t)strtol(p, &end, 10);
            if (end == p || *end != ':') break;
            c->top_logit[step][k] = strtof(end + 1, &end);
            p = end;
        }
        if (step + 1 > c->n_steps) c->n_steps = step + 1;
    }
    free(text);

    /* Without NEAR_TIES.tsv the greedy test would expect every id, so its
     * absence is an error too. The archs/ folder has its own, naming models
     * from there. */
    const int in_archs = strncmp(name, "archs/", 6) == 0;
    const char *near_ties = in_archs ? "golden/archs/NEAR_TIES.tsv" : "golden/NEAR_TIES.tsv";
    const char *key = in_archs ? name + 6 : name;
    if (!(text = read_file(shared_path(near_ties), NULL))) {
        print_error("golden: cannot read %s\n", shared_path(near_ties));
        return -1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f[8];
        if (split_tabs(line, f, 8) < 3 || strcmp(f[0], key) != 0) continue;
        golden_case *c = find_case(g, f[1]);
        int step = atoi(f[2]);
        if (c && (c->first_near_tie < 0 || step < c->first_near_tie)) c->first_near_tie = step;
    }
    free(text);
    if (g->n_cases == 0) print_error("golden: golden/%s.cases.tsv has no cases\n", name);
    return g->n_cases > 0 ? 0 : -1;
}

static int has_name(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Append "<prefix><stem>" for every <gdir>/<stem>.cases.tsv of the
 * manifest whose model <mdir>/<stem>.gguf it lists too; -1 past cap. */
static int add_models(const char *gdir, const char *mdir, const char *prefix, char names[][128], int n, int cap)
{
    static const char cases_suffix[] = ".cases.tsv";
    char **cases, **models;
    int nc = shared_manifest_list(gdir, cases_suffix, &cases);
    int nm = shared_manifest_list(mdir, ".gguf", &models);
    if (nc < 0 || nm < 0) n = -1;
    for (int i = 0; n >= 0 && i < nc; i++) {
        char gguf[160];
        size_t stem = strlen(cases[i]) - (sizeof cases_suffix - 1);
        snprintf(gguf, sizeof gguf, "%.*s.gguf", (int)stem, cases[i]);
        if (!has_name(models, nm, gguf)) continue;
        if (n == cap || strlen(prefix) > 32 || stem >= 95) {
            n = -1;
            break;
        }
        snprintf(names[n++], sizeof names[0], "%.32s%.*s", prefix, (int)(stem < 95 ? stem : 95), cases[i]);
    }
    free_names(cases, nc > 0 ? nc : 0);
    free_names(models, nm > 0 ? nm : 0);
    return n;
}

int golden_manifest_models(char names[][128], int cap)
{
    int n = add_models("golden", "models", "", names, 0, cap);
    if (n >= 0) n = add_models("golden/archs", "models/archs", "archs/", names, n, cap);
    if (n >= 0) n = add_models("golden/archs/alt-ctx256", "models/archs", "archs/alt-ctx256/", names, n, cap);
    return n;
}
