/*
 * fuzz_imatrix.c — libFuzzer target for the importance matrix reader
 * (mote_imatrix_load_buffer: llama.cpp's GGUF imatrix and legacy .dat).
 *
 * Contract: any input either loads to a self-consistent set or fails with
 * a message and no set; entries are sorted by name and found by it, each
 * has n = n_in × n_mat finite values and n_mat counts. Seeds: fuzz/corpus/
 * imatrix (GGUF and .dat files written by mote and by llama.cpp's code).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/status.h"
#include "fuzz.h"
#include "mote_tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mote_imatrix_set *set = NULL;
    mote_clear_error();
    if (mote_imatrix_load_buffer(data, size, "fuzz", &set) != MOTE_OK) {
        fuzz_check(!set && mote_last_error()[0], "a failed load left a set or no message");
        return 0;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < set->n_entries; i++) {
        const mote_imatrix_entry *e = &set->entries[i];
        fuzz_check(i == 0 || strcmp(set->entries[i - 1].name, e->name) < 0, "entries not sorted or repeated");
        fuzz_check(mote_imatrix_find(set, e->name) == e, "an entry is not found by its name");
        fuzz_check(e->n > 0 && e->n_mat > 0 && e->n % (size_t)e->n_mat == 0, "values do not split into matrices");
        for (size_t j = 0; j < e->n; j++) fuzz_check(isfinite(e->data[j]), "a value is not finite");
        for (int64_t j = 0; j < e->n_mat; j++) sum += (uint64_t)e->counts[j];
        sum += (uint64_t)(e->sums[e->n - 1] != 0);
    }
    for (size_t i = 0; i < set->n_datasets; i++) sum += strlen(set->datasets[i]);
    fuzz_sink += sum;
    mote_imatrix_free(set);
    return 0;
}
