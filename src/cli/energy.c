/*
 * energy.c — CPU seconds (getrusage) and RAPL joules (powercap) of a timed
 * stretch; see energy.h for which zones are summed and why.
 */
#include "cli/energy.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* ------------------------------------------------------------------------
 * Reading sysfs
 * ---------------------------------------------------------------------- */

/* The first line of dir/file, without its newline; 0, or an errno. */
static int read_line(const char *dir, const char *file, char *out, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) return errno;
    int rc = 0;
    if (!fgets(out, (int)cap, f)) rc = ferror(f) ? errno : EIO;
    fclose(f);
    if (rc == 0) out[strcspn(out, "\n")] = '\0';
    return rc;
}

/* A whole decimal counter from a file; 0, or an errno (EINVAL: not a number). */
static int read_u64(const char *path, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    if (!f) return errno;
    char buf[64];
    int rc = fgets(buf, sizeof buf, f) ? 0 : (ferror(f) && errno ? errno : EIO);
    fclose(f);
    if (rc) return rc;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || end == buf || (*end != '\n' && *end != '\0')) return EINVAL;
    *v = x;
    return 0;
}

/* A top-level RAPL zone's folder name: "<type>:<N>" with "rapl" in the
 * type and digits after the only colon (sub-zones are "<type>:<N>:<M>"). */
static int is_rapl_zone(const char *name)
{
    const char *colon = strchr(name, ':');
    if (!colon || colon == name || !strstr(name, "rapl") || strstr(name, "rapl") > colon) return 0;
    const char *p = colon + 1;
    if (!*p) return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* By name, MMIO zones (intel-rapl-mmio:N, a second way to a package's
 * counter) after the others, so a package is named by its first way. */
static int cmp_zone(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int mx = strstr(x, "mmio") != NULL, my = strstr(y, "mmio") != NULL;
    return mx != my ? mx - my : strcmp(x, y);
}

/* ------------------------------------------------------------------------
 * The meter
 * ---------------------------------------------------------------------- */

/* The folder names of root's top-level RAPL zones, sorted; their count, or
 * -1 (errno set) when root cannot be read. *names is malloc'd. */
static int list_zones(const char *root, char ***names)
{
    *names = NULL;
    DIR *d = opendir(root);
    if (!d) return -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_rapl_zone(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(*names, (size_t)cap * sizeof *grown);
            if (!grown) break;
            *names = grown;
        }
        if (((*names)[n] = strdup(e->d_name)) != NULL) n++;
    }
    closedir(d);
    if (n > 1) qsort(*names, (size_t)n, sizeof **names, cmp_zone);
    return n;
}

/* Add root/zone to m if it is a package not seen yet and both its counters
 * read; 0, or -1 with m->why set (a package that cannot be read). */
static int add_zone(energy_meter *m, const char *root, const char *zone, char seen[][64], int *n_seen)
{
    char dir[512], name[64];
    snprintf(dir, sizeof dir, "%s/%s", root, zone);
    if (read_line(dir, "name", name, sizeof name) != 0 || strncmp(name, "package", 7) != 0) return 0;
    for (int i = 0; i < *n_seen; i++)
        if (strcmp(seen[i], name) == 0) return 0; /* the same package by another interface (MMIO) */
    if (*n_seen < ENERGY_MAX_DOMAINS) snprintf(seen[(*n_seen)++], 64, "%s", name);
    if (m->n == ENERGY_MAX_DOMAINS) {
        snprintf(m->why, sizeof m->why, "more than %d RAPL packages", ENERGY_MAX_DOMAINS);
        return -1;
    }
    const char *file = "max_energy_range_uj";
    char path[1024];
    uint64_t v;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int rc = read_u64(path, &m->max_uj[m->n]);
    if (rc == 0 && m->max_uj[m->n] == 0) rc = EINVAL;
    if (rc == 0) {
        file = "energy_uj";
        snprintf(m->path[m->n], sizeof m->path[m->n], "%s/%s", dir, file);
        rc = read_u64(m->path[m->n], &v);
        if (rc == 0 && v > m->max_uj[m->n]) rc = ERANGE;
    }
    if (rc != 0) {
        snprintf(m->why, sizeof m->why, "no powercap RAPL domain readable: %s/%s: %s%s", zone, file,
                 strerror(rc), rc == EACCES || rc == EPERM ? " (root's only since Linux 5.10)" : "");
        return -1;
    }
    size_t len = strlen(m->what);
    snprintf(m->what + len, sizeof m->what - len, "%s%s (%s)", len ? ", " : "", zone, name);
    m->n++;
    return 0;
}

int energy_open(energy_meter *m, const char *root)
{
    memset(m, 0, sizeof *m);
    if (!root) root = getenv(ENERGY_ROOT_ENV);
    if (!root || !*root) root = ENERGY_POWERCAP_ROOT;
    char **zones;
    int n_zones = list_zones(root, &zones);
    if (n_zones < 0) {
        snprintf(m->why, sizeof m->why, "no powercap RAPL domain readable: %s: %s", root, strerror(errno));
        return 0;
    }
    char seen[ENERGY_MAX_DOMAINS][64];
    int n_seen = 0, failed = 0;
    for (int i = 0; i < n_zones; i++) {
        if (!failed && add_zone(m, root, zones[i], seen, &n_seen) != 0) failed = 1;
        free(zones[i]);
    }
    free(zones);
    if (failed) m->n = 0; /* a sum without one package would read low */
    else if (m->n == 0)
        snprintf(m->why, sizeof m->why, "no powercap RAPL domain readable: no package zone under %s", root);
    if (m->n == 0) m->what[0] = '\0';
    return m->n;
}

/* ------------------------------------------------------------------------
 * Samples
 * ---------------------------------------------------------------------- */

void energy_take(const energy_meter *m, energy_sample *s)
{
    struct rusage ru;
    s->ok = 1;
    s->cpu_s = 0.0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    for (int i = 0; i < m->n; i++)
        if (read_u64(m->path[i], &s->uj[i]) != 0) s->ok = 0;
}

double energy_cpu_s(const energy_sample *a, const energy_sample *b)
{
    return b->cpu_s - a->cpu_s;
}

uint64_t energy_counter_delta(uint64_t a, uint64_t b, uint64_t max_uj)
{
    return b >= a ? b - a : (max_uj - a) + b;
}

double energy_joules(const energy_meter *m, const energy_sample *a, const energy_sample *b)
{
    if (m->n == 0 || !a->ok || !b->ok) return -1.0;
    uint64_t uj = 0;
    for (int i = 0; i < m->n; i++) uj += energy_counter_delta(a->uj[i], b->uj[i], m->max_uj[i]);
    return (double)uj * 1e-6;
}

const char *energy_why_not(const energy_meter *m, const double *j, int n)
{
    if (m->n == 0) return m->why;
    int moved = n == 0;
    for (int i = 0; i < n; i++) {
        if (j[i] < 0) return "a RAPL counter stopped reading during the runs";
        if (j[i] > 0) moved = 1;
    }
    return moved ? NULL : "the RAPL counters did not advance during the runs";
}
