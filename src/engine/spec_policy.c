/*
 * spec_policy.c — the adaptive draft length (spec_policy.h).
 *
 * A pass that verifies k drafted tokens yields the token after them all
 * plus the drafts drawn before the first that is not: with each drafted
 * token drawn with chance a (given those before it were), its expected
 * yield is E(k) = 1 + a + ... + a^k tokens. It costs cost[k] passes of one
 * token (measured on this machine and model by `mote tune`: on a CPU one
 * token is bound by reading the weights, so cost[k] grows far slower than
 * k + 1, but it grows, faster where the model is small or compute-bound).
 * The length kept is the one with the most tokens per unit of time,
 * E(k) / cost[k]; k = 0 (plain decoding, 1 / 1) wins wherever no draft pays.
 */
#include "engine/spec_policy.h"

#include <math.h>

int mote_spec_best_length(const float *cost, int k_max, double accept, double *gain)
{
    int best = 0;
    double best_gain = 1.0;
    if (k_max > MOTE_SPEC_COST_N - 1) k_max = MOTE_SPEC_COST_N - 1;
    if (!(accept >= 0.0)) accept = 0.0; /* NaN too */
    if (accept > 1.0) accept = 1.0;
    double yield = 1.0, term = 1.0;
    for (int k = 1; cost && k <= k_max; k++) {
        const double c = cost[k];
        if (!(c > 0.0) || !isfinite(c)) break;
        term *= accept;
        yield += term;
        const double g = yield / c;
        if (g > best_gain) {
            best_gain = g;
            best = k;
        }
    }
    if (gain) *gain = best_gain;
    return best;
}

double spec_accept_observe(double a, const mote_token *proposed, int n_proposed, const mote_token *actual,
                           int n_actual)
{
    for (int i = 0; i < n_proposed && i < n_actual; i++) {
        const int hit = proposed[i] == actual[i];
        a += SPEC_ACCEPT_WEIGHT * ((hit ? 1.0 : 0.0) - a);
        if (!hit) break;
    }
    return a;
}
