/*
 * test_energy.c — the CPU-time and RAPL meter of `mote bench` and
 * llama-peer (src/cli/energy.c), against fake powercap folders: which
 * zones are summed, wraparound at max_energy_range_uj, and the reasons
 * given when there is no energy to read.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/energy.h"
#include "testutil.h"

#define MAX_UJ 262143328850ull /* a real package's max_energy_range_uj */

/* ------------------------------------------------------------------------
 * A fake /sys/class/powercap
 * ---------------------------------------------------------------------- */

static void write_text(const char *root, const char *zone, const char *file, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, zone);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, zone, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void set_counter(const char *root, const char *zone, unsigned long long uj)
{
    char text[32];
    snprintf(text, sizeof text, "%llu\n", uj);
    write_text(root, zone, "energy_uj", text);
}

/* A zone named name with its range and a counter at uj. */
static void add_zone(const char *root, const char *zone, const char *name, unsigned long long uj)
{
    char text[80];
    snprintf(text, sizeof text, "%s\n", name);
    write_text(root, zone, "name", text);
    snprintf(text, sizeof text, "%llu\n", MAX_UJ);
    write_text(root, zone, "max_energy_range_uj", text);
    set_counter(root, zone, uj);
}

static void expect_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("'%s' is not in '%s'", needle, hay);
}

static char *fake_root(void)
{
    char *dir = strdup("/tmp/mote-test-powercap-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_root(char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

/* Packages are summed; sub-zones (core, dram), psys and a second interface
 * to the same package (MMIO) are not; AMD's amd-rapl zones count. */
static void test_packages_summed(void **state)
{
    char *root = fake_root();
    add_zone(root, "intel-rapl:0", "package-0", 1000000);
    add_zone(root, "intel-rapl:0:0", "core", 500);
    add_zone(root, "intel-rapl:0:1", "dram", 700);
    add_zone(root, "intel-rapl:1", "psys", 9000000);
    add_zone(root, "intel-rapl-mmio:0", "package-0", 1000000);
    add_zone(root, "amd-rapl:2", "package-1", 2000000);
    add_zone(root, "intel-rapl", "package-9", 1); /* the control type's folder: no zone */
    energy_meter m;
    assert_int_equal(energy_open(&m, root), 2);
    assert_string_equal(m.what, "amd-rapl:2 (package-1), intel-rapl:0 (package-0)");

    energy_sample a, b;
    energy_take(&m, &a);
    set_counter(root, "intel-rapl:0", 3500000);      /* +2.5 J */
    set_counter(root, "intel-rapl-mmio:0", 3500000); /* the same package: not added */
    set_counter(root, "amd-rapl:2", 2250000);        /* +0.25 J */
    set_counter(root, "intel-rapl:1", 99000000);     /* psys: not added */
    energy_take(&m, &b);
    assert_true(a.ok && b.ok);
    assert_float_equal(energy_joules(&m, &a, &b), 2.75, 1e-9);
    remove_root(root);
}

/* A counter past max_energy_range_uj wraps to 0: the delta is what was
 * left to the top plus what came after it. */
static void test_wraparound(void **state)
{
    assert_int_equal(energy_counter_delta(100, 350, MAX_UJ), 250);
    assert_int_equal(energy_counter_delta(MAX_UJ - 1000, 400, MAX_UJ), 1400);
    assert_int_equal(energy_counter_delta(MAX_UJ, 0, MAX_UJ), 0);
    assert_int_equal(energy_counter_delta(7, 7, MAX_UJ), 0);

    char *root = fake_root();
    add_zone(root, "intel-rapl:0", "package-0", MAX_UJ - 1500000);
    energy_meter m;
    assert_int_equal(energy_open(&m, root), 1);
    assert_int_equal(m.max_uj[0], MAX_UJ);
    energy_sample a, b;
    energy_take(&m, &a);
    set_counter(root, "intel-rapl:0", 500000);
    energy_take(&m, &b);
    assert_float_equal(energy_joules(&m, &a, &b), 2.0, 1e-9);
    remove_root(root);
}

/* No energy: a reason every time, and no joules. */
static void test_reasons(void **state)
{
    energy_meter m;
    assert_int_equal(energy_open(&m, "/nonexistent/powercap"), 0);
    expect_contains(m.why, "no powercap RAPL domain readable: /nonexistent/powercap: No such file");
    energy_sample a, b;
    energy_take(&m, &a);
    energy_take(&m, &b);
    assert_true(energy_joules(&m, &a, &b) < 0);

    char *root = fake_root();
    add_zone(root, "intel-rapl:1", "psys", 5);
    add_zone(root, "intel-rapl:1:0", "package-0", 5); /* a sub-zone, whatever its name */
    assert_int_equal(energy_open(&m, root), 0);
    expect_contains(m.why, "no package zone under ");
    assert_string_equal(m.what, "");

    /* energy_uj that cannot be read (root reads a file of mode 0: a folder
     * stands for it); one unreadable package leaves none, as a sum without
     * it would read low */
    add_zone(root, "intel-rapl:0", "package-0", 5);
    add_zone(root, "intel-rapl:2", "package-1", 5);
    char path[1024];
    snprintf(path, sizeof path, "%s/intel-rapl:2/energy_uj", root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(energy_open(&m, root), 0);
    expect_contains(m.why, "no powercap RAPL domain readable: intel-rapl:2/energy_uj: Is a directory");
    assert_int_equal(m.n, 0);
    assert_int_equal(rmdir(path), 0);

    /* a counter above its range, a range of 0, text where a number goes */
    set_counter(root, "intel-rapl:2", MAX_UJ + 1);
    assert_int_equal(energy_open(&m, root), 0);
    expect_contains(m.why, "intel-rapl:2/energy_uj: Numerical result out of range");
    set_counter(root, "intel-rapl:2", 5);
    write_text(root, "intel-rapl:2", "max_energy_range_uj", "0\n");
    assert_int_equal(energy_open(&m, root), 0);
    expect_contains(m.why, "intel-rapl:2/max_energy_range_uj: Invalid argument");
    write_text(root, "intel-rapl:2", "max_energy_range_uj", "lots\n");
    assert_int_equal(energy_open(&m, root), 0);
    write_text(root, "intel-rapl:2", "max_energy_range_uj", "1000\n");
    assert_int_equal(energy_open(&m, root), 2);

    /* a counter that stops reading after the meter opened: no joules */
    energy_take(&m, &a);
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(unlink(path), 0);
    energy_take(&m, &b);
    assert_true(a.ok && !b.ok);
    assert_true(energy_joules(&m, &a, &b) < 0);
    remove_root(root);
}

/* With no root given, $MOTE_POWERCAP_ROOT names it. */
static void test_root_from_env(void **state)
{
    char *root = fake_root();
    add_zone(root, "intel-rapl:0", "package-0", 42);
    setenv(ENERGY_ROOT_ENV, root, 1);
    energy_meter m;
    assert_int_equal(energy_open(&m, NULL), 1);
    setenv(ENERGY_ROOT_ENV, "/nonexistent/pc", 1);
    assert_int_equal(energy_open(&m, NULL), 0);
    expect_contains(m.why, "/nonexistent/pc");
    unsetenv(ENERGY_ROOT_ENV);
    remove_root(root);
}

/* CPU seconds: user + sys of the process, growing with the work done. */
static void test_cpu_seconds(void **state)
{
    energy_meter m;
    energy_open(&m, "/nonexistent/powercap");
    energy_sample a, b;
    energy_take(&m, &a);
    volatile double x = 0;
    double cpu = 0;
    for (int round = 0; round < 1000 && cpu <= 0.01; round++) {
        for (int i = 0; i < 1000000; i++) x += i * 0.5;
        energy_take(&m, &b);
        cpu = energy_cpu_s(&a, &b);
    }
    assert_true(x > 0 && cpu > 0.01 && cpu < 60);
    assert_true(a.cpu_s > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packages_summed),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_root_from_env),
        cmocka_unit_test(test_cpu_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
