/*
 * limits.c — what this machine can do at most, for judging kernel speed:
 * read bandwidth (4 KiB and huge pages), the F32 FMA, int8 dot and BF16
 * dot peaks, on 1 and N threads, and the cache sizes. The measurements are
 * libmote's (mote_machine_measure, src/toolkit/machine.c), which `mote
 * tune` reports too.
 *
 * Prints a table, then one JSON line (the last line) that bench/compare reads.
 *
 * Usage: limits [-t THREADS] [-s BUFFER_MIB] [-r PASSES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mote_tools.h"

int main(int argc, char **argv)
{
    mote_machine_params p = mote_machine_default_params();
    p.n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "-t")) p.n_threads = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "-s")) p.buffer_mib = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "-r")) p.passes = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: limits [-t THREADS] [-s BUFFER_MIB] [-r PASSES]\n");
            return 2;
        }
    }
    if (p.n_threads < 1) {
        fprintf(stderr, "limits: bad option value\n");
        return 2;
    }
    mote_machine m;
    if (mote_machine_measure(&p, &m) != MOTE_OK) {
        fprintf(stderr, "limits: %s\n", mote_last_error());
        return 1;
    }

    char nthr[32];
    snprintf(nthr, sizeof nthr, "%d threads", m.n_threads);
    printf("%-34s %12s %12s\n", "limit", "1 thread", nthr);
    printf("%-34s %12.2f %12.2f\n", "read GB/s (4 KiB pages)", m.read_gbs[0], m.read_gbs[1]);
    printf("%-34s %12.2f %12.2f\n", "read GB/s (huge pages)", m.read_gbs_huge[0], m.read_gbs_huge[1]);
    printf("%-34s %12.1f %12.1f   (%s)\n", "F32 FMA GFLOP/s", m.fma_gflops[0], m.fma_gflops[1], m.fma_isa);
    printf("%-34s %12.1f %12.1f   (%s)\n", "int8 dot Gop/s (2 ops/product)", m.dot_gops[0], m.dot_gops[1], m.dot_isa);
    if (m.bf16_isa[0])
        printf("%-34s %12.1f %12.1f   (%s)\n", "BF16 dot GFLOP/s", m.bf16_gflops[0], m.bf16_gflops[1], m.bf16_isa);
    printf("caches: L1d %lld KiB, L2 %lld KiB, L3 %lld KiB (%s)\n", (long long)m.cache_l1d >> 10,
           (long long)m.cache_l2 >> 10, (long long)m.cache_l3 >> 10, m.cpu);
    printf("{\"threads\":%d,\"buffer_mib\":%d,\"read_isa\":\"%s\",\"fma_isa\":\"%s\",\"dot_isa\":\"%s\","
           "\"bf16_isa\":\"%s\",\"read_gbs_1\":%.3f,\"read_gbs_n\":%.3f,\"read_gbs_huge_1\":%.3f,"
           "\"read_gbs_huge_n\":%.3f,\"fma_gflops_1\":%.2f,\"fma_gflops_n\":%.2f,\"dot_gops_1\":%.2f,"
           "\"dot_gops_n\":%.2f,\"bf16_gflops_1\":%.2f,\"bf16_gflops_n\":%.2f,\"l1d_bytes\":%lld,"
           "\"l2_bytes\":%lld,\"l3_bytes\":%lld,\"sink\":%g}\n",
           m.n_threads, m.buffer_mib, m.read_isa, m.fma_isa, m.dot_isa, m.bf16_isa, m.read_gbs[0], m.read_gbs[1],
           m.read_gbs_huge[0], m.read_gbs_huge[1], m.fma_gflops[0], m.fma_gflops[1], m.dot_gops[0], m.dot_gops[1],
           m.bf16_gflops[0], m.bf16_gflops[1], (long long)m.cache_l1d, (long long)m.cache_l2,
           (long long)m.cache_l3, m.sink);
    return 0;
}
