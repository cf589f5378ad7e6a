/*
 * fuzz_tune_profile.c — libFuzzer target for the tuning profile's reader
 * (tune_profile_parse_all, engine/tune_profile.h), with any machine's key.
 *
 * Contract: any input either parses to entries that are all valid choices
 * for classes in range (which tuning_set then takes) and pass costs that
 * are all positive numbers, or fails with a message and no entries. Seeds: fuzz/corpus/tune_profile (profiles as
 * `mote tune` writes them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "engine/tune_profile.h"
#include "fuzz.h"
#include "gguf/ggml_type.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    tune_entry *e = (tune_entry *)&e; /* must be replaced */
    tune_spec *sp = (tune_spec *)&sp;
    int n = -1, n_sp = -1;
    mote_clear_error();
    const mote_status st = tune_profile_parse_all(text, "fuzz", NULL, &e, &n, &sp, &n_sp);
    free(text);
    if (st != MOTE_OK) {
        fuzz_check(!e && n == 0 && !sp && n_sp == 0 && mote_last_error()[0], "a failed parse left entries or no message");
        return 0;
    }
    fuzz_check(n_sp >= 0 && (n_sp == 0) == !sp, "pass costs missing");
    for (int i = 0; i < n_sp; i++)
        for (int j = 0; j < MOTE_SPEC_COST_N; j++) {
            fuzz_check(sp[i].cost[j] > 0.0f && sp[i].cost[j] < 1e30f, "a pass cost is not a positive number");
            fuzz_sink += (uint64_t)sp[i].cost[j];
        }
    free(sp);
    fuzz_check(n >= 0 && (n == 0 || e), "entries missing");
    for (int i = 0; i < n; i++) {
        fuzz_check(tuning_valid(&e[i].t), "an entry's choice is out of bounds");
        fuzz_check(e[i].wtype < MOTE_TYPE_COUNT && ggml_type_get(e[i].wtype), "an entry's type is not a type");
        fuzz_check(e[i].mk_class >= 0 && e[i].mk_class < TUNING_MK_CLASSES && e[i].n_class >= 0 &&
                       e[i].n_class < TUNING_N_CLASSES,
                   "an entry's class is out of range");
        fuzz_sink += (uint64_t)e[i].t.tile_m;
    }
    free(e);
    return 0;
}
