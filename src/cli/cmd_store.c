/*
 * cmd_store.c — the model store's verbs (src/store/): `mote pull`, `mote
 * list`, `mote rm`, `mote show`; and cli_model_path, which lets every
 * verb that takes a MODEL take a store name too (pulling a catalogue
 * name, hf:... or a URL on first use, as ollama does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mote_tools.h"
#include "store/store.h"

/* A download's progress on a terminal: percent, bytes, rate; ten times a
 * second at most. Cancels after Ctrl-C. */
typedef struct pull_progress {
    const char *name;
    int tty;
    double t0, last;
    int shown;
} pull_progress;

static int pull_progress_fn(void *user, uint64_t done, uint64_t total)
{
    pull_progress *p = user;
    const double now = cli_now();
    if (p->tty && (now - p->last >= 0.1 || (total && done >= total))) {
        const double mb = 1e6, rate = now > p->t0 ? (double)done / (now - p->t0) / mb : 0;
        if (total)
            fprintf(stderr, "\rpull %s: %3d%%  %.1f / %.1f MB  %.1f MB/s   ", p->name, (int)(done * 100 / total),
                    (double)done / mb, (double)total / mb, rate);
        else fprintf(stderr, "\rpull %s: %.1f MB  %.1f MB/s   ", p->name, (double)done / mb, rate);
        fflush(stderr);
        p->last = now;
        p->shown = 1;
    }
    return cli_interrupted();
}

/* Rewrite the stored model name (at path) into kernel layouts, in place.
 * path stays the plain model until the rewrite is whole: an error or
 * Ctrl-C on the way leaves it as it was. 0 or an exit status. */
static int optimize_stored(const char *name, const char *path)
{
    char err[1024], tmp[4500];
    if (store_optimize_path(name, tmp, sizeof tmp, err, sizeof err) != 0) return cli_error("optimize %s: %s", name, err);
    mote_optimize_params p = mote_optimize_default_params();
    p.in_path = path;
    p.out_path = tmp;
    char label[STORE_NAME_MAX + 16];
    snprintf(label, sizeof label, "optimize %s", name);
    cli_progress prog; /* on a terminal after a second; Ctrl-C cancels */
    cli_progress_init(&prog, label);
    p.progress = cli_progress_fn;
    p.progress_user = &prog;
    mote_optimize_stats st;
    if (mote_optimize(&p, &st) != MOTE_OK) {
        if (prog.shown >= 0 && prog.shown < 100) fputc('\n', stderr);
        unlink(tmp);
        if (cli_interrupted())
            return fprintf(stderr, "mote: optimize %s interrupted: the plain model is kept (%s)\n", name, path),
                   EXIT_INTERRUPTED;
        return cli_error("optimize %s: %s; the plain model is kept (%s)", name, mote_last_error(), path);
    }
    if (st.n_converted == 0) {
        unlink(tmp);
        fprintf(stderr,
                "mote: %s has no Q8_0, Q4_0, IQ4_NL, Q4_K or Q6_K weight matrix for the kernel layouts: kept as "
                "downloaded\n",
                name);
        return 0;
    }
    if (store_commit_optimized(name, tmp, st.n_converted, err, sizeof err) != 0) {
        unlink(tmp);
        return cli_error("optimize %s: %s", name, err);
    }
    fprintf(stderr, "mote: optimized %s: %d of %d tensors in kernel layouts (only mote reads it now)\n", name,
            st.n_converted, st.n_tensors);
    return 0;
}

/* Pull spec, then with optimize rewrite it into kernel layouts (a model
 * already in the store is rewritten without fetching it again, unless
 * force); path gets the model's file. 0 or an exit status. */
static int pull(const char *spec, const char *sha256, int force, int optimize, char *path, size_t cap)
{
    store_ref ref;
    char err[1024];
    if (store_resolve(spec, NULL, &ref, err, sizeof err) != 0) return cli_error("%s", err);
    pull_progress pp = {.name = ref.name, .tty = isatty(2), .t0 = cli_now()};
    const store_pull_opts opts = {.sha256 = sha256, .progress = pull_progress_fn, .user = &pp, .force = force};
    store_pulled got;
    cli_catch_interrupt();
    const int rc = store_pull(&ref, &opts, &got, path, cap, err, sizeof err);
    if (pp.shown) fputc('\n', stderr);
    if (rc != 0) {
        if (cli_interrupted()) return fprintf(stderr, "mote: pull %s interrupted: pull again to resume\n", ref.name),
                                      EXIT_INTERRUPTED;
        return cli_error("pull %s: %s", ref.name, err);
    }
    if (got.already) {
        store_entry e;
        const int layouts = store_show(ref.name, &e, err, sizeof err) == 0 && e.optimized == 1;
        if (layouts)
            fprintf(stderr, "mote: %s is in the store, in kernel layouts (%s)%s\n", ref.name, path,
                    optimize ? "" : "; --force fetches the plain file again");
        else fprintf(stderr, "mote: %s is in the store (%s)%s\n", ref.name, path, optimize ? ": optimizing it" : "");
        return optimize && !layouts ? optimize_stored(ref.name, path) : 0;
    }
    if (got.resumed) fprintf(stderr, "mote: resumed %s at %llu bytes\n", ref.name, (unsigned long long)got.resumed_from);
    fprintf(stderr, "mote: pulled %s: %llu bytes, SHA-256 %s%s\n       -> %s\n", ref.name,
            (unsigned long long)got.bytes, got.sha256, got.sha256_checked ? " (checked)" : " (no hash to check against)",
            path);
    return optimize ? optimize_stored(ref.name, path) : 0;
}

int cli_model_path(const char *spec, char *path, size_t cap)
{
    struct stat st;
    if (stat(spec, &st) == 0 || strchr(spec, '/') || strstr(spec, ".gguf")) { /* a file, as given */
        if (strncmp(spec, "http://", 7) != 0 && strncmp(spec, "https://", 8) != 0 && strncmp(spec, "hf:", 3) != 0) {
            snprintf(path, cap, "%s", spec);
            return 0;
        }
    }
    char err[1024];
    store_ref ref;
    /* a name in the store, or something to pull */
    const char *name = spec;
    if (store_is_pullable(spec)) {
        if (store_resolve(spec, NULL, &ref, err, sizeof err) != 0) return cli_error("%s", err);
        name = ref.name;
    }
    const int found = store_find(name, path, cap, err, sizeof err);
    if (found > 0) return 0;
    if (!store_is_pullable(spec)) {
        snprintf(path, cap, "%s", spec); /* let the loader say the file is missing */
        return 0;
    }
    fprintf(stderr, "mote: %s is not in the store yet: pulling it\n", name);
    return pull(spec, NULL, 0, 0, path, cap);
}

static int list_catalogue(void)
{
    int n;
    const store_catalogue_entry *c = store_catalogue(&n);
    printf("%-16s %s\n", "NAME", "MODEL");
    for (int i = 0; i < n; i++) printf("%-16s %s\n                 hf:%s/%s\n", c[i].name, c[i].about, c[i].repo, c[i].file);
    return 0;
}

int cmd_pull(int argc, char **argv)
{
    const char *sha256 = NULL;
    int force = 0, optimize = 0, catalogue = 0;
    const cli_opt opts[] = {
        {0, "sha256", ARG_STRING, &sha256, "HEX", "the file's SHA-256: anything else is refused", 0, 0, NULL},
        {0, "force", ARG_FLAG, &force, NULL, "fetch again even when the model is in the store", 0, 0, NULL},
        {0, "optimize", ARG_FLAG, &optimize, NULL, "then store it in mote's kernel layouts (below)", 0, 0, NULL},
        {0, "catalogue", ARG_FLAG, &catalogue, NULL, "list the short names and exit", 0, 0, NULL},
        {0},
    };
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "pull",
        .usage = "(NAME | hf:ORG/REPO/FILE.gguf | URL) [--sha256 HEX] [--optimize] [--force]",
        .about = "Download a model into the store: a short name of the catalogue (--catalogue\n"
                 "lists them), a file of a hub repository, or a URL. The size and SHA-256 the hub\n"
                 "announces are checked before the model appears under its name; an interrupted\n"
                 "pull resumes where it stopped.",
        .notes = "The store is $MOTE_MODELS, else $XDG_DATA_HOME/mote/models, else\n"
                 "~/.local/share/mote/models. $MOTE_HUB points at a hub mirror with the same\n"
                 "layout (default https://huggingface.co: ORG/REPO/resolve/main/FILE).\n"
                 "run, chat, serve and the other verbs take a store name as MODEL, and pull a\n"
                 "catalogue name, hf:... or a URL first when it is not in the store.\n\n"
                 "--optimize checks the download as above, then rewrites the stored file with its\n"
                 "Q8_0, Q4_0, IQ4_NL, Q4_K and Q6_K matrices in mote's kernel layouts (mote\n"
                 "optimize), through a temporary file in the store renamed over it when whole: an\n"
                 "error or Ctrl-C keeps the plain model. A model already in the store is rewritten\n"
                 "in place, not fetched again (--force fetches it again first); one with no such\n"
                 "matrix is kept as downloaded. mote show says the file is in kernel layouts and\n"
                 "keeps the source and SHA-256 of the download; --force fetches the plain file back.",
        .opts = opts,
        .min_pos = 0,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    const int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    if (catalogue) return list_catalogue();
    if (!pos[0]) return args_usage_error(&spec, "name the model to pull (--catalogue lists the short names)");
    char path[4096];
    return pull(pos[0], sha256, force, optimize, path, sizeof path);
}

static const cli_opt no_opts[] = {{0}};

static void human_bytes(uint64_t b, char *out, size_t cap)
{
    if (b >= 1000000000ULL) snprintf(out, cap, "%.1f GB", (double)b / 1e9);
    else if (b >= 1000000ULL) snprintf(out, cap, "%.1f MB", (double)b / 1e6);
    else snprintf(out, cap, "%.1f kB", (double)b / 1e3);
}

int cmd_list(int argc, char **argv)
{
    const cli_spec spec = {
        .verb = "list",
        .opts = no_opts,
        .usage = "",
        .about = "List the models in the store: name, size, when pulled. A pull that was\n"
                 "interrupted shows as (partial), a model in mote's kernel layouts (mote pull\n"
                 "--optimize) as (optimized).",
        .min_pos = 0,
        .max_pos = 0,
    };
    int n_pos;
    const int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    store_entry *e = NULL;
    int n = 0;
    char err[1024], dir[4096];
    if (store_dir(dir, sizeof dir, err, sizeof err) != 0 || store_list(&e, &n, err, sizeof err) != 0)
        return cli_error("%s", err);
    if (n == 0) {
        fprintf(stderr, "mote: the store (%s) is empty; mote pull NAME adds a model (mote pull --catalogue)\n", dir);
        return 0;
    }
    printf("%-32s %10s  %-16s\n", "NAME", "SIZE", "MODIFIED");
    for (int i = 0; i < n; i++) {
        char size[32], when[32];
        human_bytes(e[i].bytes, size, sizeof size);
        const time_t t = (time_t)e[i].mtime;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&t));
        printf("%-32s %10s  %-16s%s\n", e[i].name, size, when,
               e[i].partial ? "  (partial)" : e[i].optimized == 1 ? "  (optimized)" : "");
    }
    free(e);
    return 0;
}

int cmd_show(int argc, char **argv)
{
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "show",
        .opts = no_opts,
        .usage = "NAME",
        .about = "Where a model of the store is, where it came from, its size and SHA-256, and\n"
                 "whether it is in mote's kernel layouts (mote pull --optimize; the SHA-256 is\n"
                 "then the download's). mote info NAME describes the model itself.",
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    const int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    store_entry e;
    char err[1024], path[4096];
    if (store_show(pos[0], &e, err, sizeof err) != 0 || store_find(pos[0], path, sizeof path, err, sizeof err) < 0)
        return cli_error("%s", err);
    char size[32], layout[256] = "plain GGUF";
    human_bytes(e.bytes, size, sizeof size);
    if (e.optimized < 0) snprintf(layout, sizeof layout, "(unreadable as GGUF)");
    else if (e.optimized && e.optimized_at) {
        char when[32];
        const time_t t = (time_t)e.optimized_at;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&t));
        snprintf(layout, sizeof layout, "kernel layouts, %d tensors (mote pull --optimize, %s); only mote reads it",
                 e.optimized_tensors, when);
    } else if (e.optimized) snprintf(layout, sizeof layout, "kernel layouts; only mote reads it");
    printf("name:    %s\nfile:    %s\nsize:    %s (%llu bytes)\nlayout:  %s\nsource:  %s\nsha256:  %s%s\n", e.name,
           path, size, (unsigned long long)e.bytes, layout, e.source[0] ? e.source : "(unknown: not pulled by mote)",
           e.sha256[0] ? e.sha256 : "(unknown)",
           e.sha256[0] && e.optimized == 1 ? " (of the download; the file was rewritten since)" : "");
    return 0;
}

int cmd_rm(int argc, char **argv)
{
    const char *pos[1] = {NULL};
    const cli_spec spec = {
        .verb = "rm",
        .opts = no_opts,
        .usage = "NAME",
        .about = "Remove a model from the store (its file, its metadata, a partial download).",
        .min_pos = 1,
        .max_pos = 1,
        .pos = pos,
    };
    int n_pos;
    const int rc = args_parse(&spec, argc, argv, &n_pos);
    if (rc != ARGS_CONTINUE) return rc;
    char err[1024];
    if (store_rm(pos[0], err, sizeof err) != 0) return cli_error("%s", err);
    fprintf(stderr, "mote: removed %s\n", pos[0]);
    return 0;
}
