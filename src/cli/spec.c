/*
 * spec.c — the speculative decoding options of `run`: open the draft
 * model and describe the speculation for the library.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_spec_open(const spec_args *sa, const mote_session *target, int n_threads, int kv_type, mote_model **dm,
                  mote_session **ds, mote_speculative *spec)
{
    *dm = NULL;
    *ds = NULL;
    memset(spec, 0, sizeof *spec);
    spec->lookup = sa->lookup;
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

void cli_report_speculation(const mote_generate_stats *st)
{
    fprintf(stderr, "speculation: %4d tokens drafted, %4d accepted (%.1f%%), %.2f tokens per pass\n", st->n_drafted,
            st->n_accepted, st->n_drafted ? 100.0 * st->n_accepted / st->n_drafted : 0.0,
            st->n_generated > 0 ? (double)st->n_generated / (st->n_generated - st->n_accepted) : 0.0);
}
