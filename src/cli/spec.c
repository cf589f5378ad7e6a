/*
 * spec.c — the speculative decoding options of `run`: open the draft
 * model, decide --lookup (a number, or auto by this machine's profile)
 * and describe the speculation for the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_spec_open(const spec_args *sa, const mote_session *target, int n_threads, int kv_type, mote_model **dm,
                  mote_session **ds, mote_speculative *spec)
{
    *dm = NULL;
    *ds = NULL;
    memset(spec, 0, sizeof *spec);
    spec->ngram_min = sa->ngram_min;
    spec->ngram_max = sa->ngram_max;
    spec->draft_max = sa->draft_max;
    spec->draft_min = sa->draft_min;
    spec->draft_p_min = sa->draft_p_min;
    if (!sa->draft) return 0;
    int rc = cli_open_model(sa->draft, 0, dm);
    if (rc != 0) return rc;
    mote_session_params sp = mote_session_default_params();
    sp.n_ctx = mote_session_n_ctx(target);
    sp.n_threads = n_threads;
    sp.kv_type = kv_type;
    if (mote_session_create(*dm, &sp, ds) != MOTE_OK) return cli_lib_error();
    spec->draft = *ds;
    return 0;
}

int cli_spec_on(const mote_speculative *spec)
{
    return spec->lookup > 0 || spec->adaptive || spec->draft;
}

int cli_lookup_arg(const char *arg, int *n, int *is_auto)
{
    *n = 0;
    *is_auto = arg && strcmp(arg, "auto") == 0;
    if (!arg || *is_auto) return 0;
    char *end;
    const long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < 0 || v > MOTE_DRAFT_MAX) {
        cli_error("--lookup takes a number of tokens (0..%d) or auto, not '%s'", MOTE_DRAFT_MAX, arg);
        return EXIT_USAGE;
    }
    *n = (int)v;
    return 0;
}

int cli_spec_lookup(const spec_args *sa, const mote_model *model, int greedy, mote_speculative *spec)
{
    int asked_auto;
    if (cli_lookup_arg(sa->lookup, &spec->lookup, &asked_auto) != 0) return EXIT_USAGE;
    if (sa->lookup && !asked_auto) return 0;
    /* auto: asked, or by default for greedy runs; lookup is then the
     * fallback of no draft model only */
    if (!asked_auto && (!greedy || spec->draft)) return 0;
    if (asked_auto && spec->draft) {
        cli_error("--lookup auto weighs lookup's drafts alone; give --lookup N with --draft");
        return EXIT_USAGE;
    }
    mote_spec_profile prof;
    if (mote_spec_profile_get(model, &prof) != MOTE_OK) return cli_lib_error();
    if (!prof.found) {
        if (asked_auto)
            fprintf(stderr, "mote: --lookup auto: no pass costs for this model in this machine's profile%s%s%s; "
                    "decoding plainly (run `mote tune MODEL`)\n", getenv("MOTE_TUNE") ? " (MOTE_TUNE=" : "",
                    getenv("MOTE_TUNE") ? getenv("MOTE_TUNE") : "", getenv("MOTE_TUNE") ? ")" : "");
        return 0;
    }
    if (!asked_auto && !prof.pays) return 0;
    spec->adaptive = 1;
    memcpy(spec->cost, prof.cost, sizeof spec->cost);
    return 0;
}

void cli_report_speculation(const mote_generate_stats *st, const mote_speculative *spec)
{
    if (spec->adaptive)
        fprintf(stderr, "lookup:     auto: a pass of 2 / 5 / 9 tokens costs %.2f / %.2f / %.2f of one "
                "(`mote tune`)\n", (double)spec->cost[1], (double)spec->cost[4], (double)spec->cost[8]);
    fprintf(stderr, "speculation: %4d tokens drafted, %4d accepted (%.1f%%), %.2f tokens per pass\n", st->n_drafted,
            st->n_accepted, st->n_drafted ? 100.0 * st->n_accepted / st->n_drafted : 0.0,
            st->n_generated > 0 ? (double)st->n_generated / (st->n_generated - st->n_accepted) : 0.0);
}
