/*
 * energy.h — what a timed stretch of work cost: CPU seconds of the process
 * (getrusage, user + sys, every thread) and, where the kernel exposes the
 * RAPL energy counters through powercap and they are readable, joules.
 *
 * Plain C and libc only: `mote bench` and bench/llama_peer.c (llama.cpp's
 * side of bench/compare) both build it, so both engines are measured alike.
 *
 * RAPL (powercap, Documentation/power/powercap/powercap.rst in the kernel):
 * each zone is a folder <root>/<type>:<N> holding `name`, `energy_uj` (a
 * counter in microjoules that wraps at `max_energy_range_uj`). The meter
 * sums the top-level zones named package-* (Intel's and AMD's both appear
 * as intel-rapl:N; amd-rapl:N is taken too); sub-zones (core, uncore, dram)
 * are parts of a package and psys the whole platform, so neither is added.
 * A package counter counts everything on the package, other processes
 * included. energy_uj is root's only (mode 0400) since Linux 5.10.
 */
#ifndef MOTE_CLI_ENERGY_H
#define MOTE_CLI_ENERGY_H

#include <stdint.h>

#define ENERGY_MAX_DOMAINS 16          /* packages summed, at most */
#define ENERGY_POWERCAP_ROOT "/sys/class/powercap"
#define ENERGY_ROOT_ENV "MOTE_POWERCAP_ROOT" /* another root, for tests */

/* The package domains found, or why there are none. */
typedef struct energy_meter {
    int n;                                 /* domains read; 0: no energy */
    char path[ENERGY_MAX_DOMAINS][1024];   /* (n) each domain's energy_uj */
    uint64_t max_uj[ENERGY_MAX_DOMAINS];   /* (n) where each counter wraps */
    char what[256];                        /* n > 0: "intel-rapl:0 (package-0), ..." */
    char why[256];                         /* n == 0: why not, for "not available (...)" */
} energy_meter;

/* One reading: the process's CPU time and every domain's counter. */
typedef struct energy_sample {
    double cpu_s;                          /* user + sys, all threads */
    uint64_t uj[ENERGY_MAX_DOMAINS];       /* (meter's n) counters */
    int ok;                                /* 0: a counter failed to read */
} energy_sample;

/* Find the package domains under root (NULL: $MOTE_POWERCAP_ROOT, else
 * /sys/class/powercap) and check that each counter reads. Returns m->n;
 * with 0, m->why says why (no powercap folder, no package zone, energy_uj
 * not readable: ...). */
int energy_open(energy_meter *m, const char *root);

/* Read the CPU time and the counters now. */
void energy_take(const energy_meter *m, energy_sample *s);

/* CPU seconds from a to b. */
double energy_cpu_s(const energy_sample *a, const energy_sample *b);

/* Joules from a to b, summed over the domains, a counter that went past
 * its max_energy_range_uj counted as having wrapped once; -1 when the meter
 * has no domain or a reading failed. */
double energy_joules(const energy_meter *m, const energy_sample *a, const energy_sample *b);

/* Why the joules per token of a series of runs j[0..n) (energy_joules
 * over each, < 0 where it failed) do not stand, or NULL when they do: no
 * meter (m->why), a counter that stopped reading, or counters that never
 * moved (a virtual machine's). With n == 0, only the meter is asked. */
const char *energy_why_not(const energy_meter *m, const double *j, int n);

/* One domain's microjoules from a to b, wrapping at max_uj. */
uint64_t energy_counter_delta(uint64_t a, uint64_t b, uint64_t max_uj);

#endif
