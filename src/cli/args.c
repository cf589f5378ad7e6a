/* args.c — table-driven option parsing and help for the verbs (args.h). */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Width of the option column in the help. */
#define HELP_OPT_COLUMN 28

/* ------------------------------------------------------------------------
 * Strict numbers
 * ---------------------------------------------------------------------- */

/* strto* skip leading white space and accept an empty tail; we accept
 * neither, so the text must start like a number. */
static int starts_like_number(const char *s)
{
    if (*s == '+' || *s == '-') s++;
    return isdigit((unsigned char)*s) || *s == '.';
}

int parse_int(const char *s, int *out)
{
    if (!starts_like_number(s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* strtof rounds the text once to a float; strtod and a cast would round
 * twice, and refused values near FLT_MAX ("3.4028235e38") or below
 * DBL_MIN ("1e-400") as not numbers. Overflow gives ±HUGE_VALF, refused;
 * underflow (ERANGE with a finite result) is the nearest float, 0 or
 * subnormal, which the option's range then judges. */
int parse_float(const char *s, float *out)
{
    if (!starts_like_number(s)) return -1;
    char *end;
    float v = strtof(s, &end);
    if (*end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)*s)) return -1; /* strtoull would wrap "-1" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    *out = (uint64_t)v;
    return 0;
}

/* ------------------------------------------------------------------------
 * Help and usage errors
 * ---------------------------------------------------------------------- */

void args_print_help(const cli_spec *spec)
{
    printf("usage: mote %s %s\n\n%s\n", spec->verb, spec->usage, spec->about);
    printf("\noptions:\n");
    for (const cli_opt *o = spec->opts; o->long_name; o++) {
        char col[128];
        int n;
        if (o->short_name)
            n = snprintf(col, sizeof col, "  -%c, --%s", o->short_name, o->long_name);
        else
            n = snprintf(col, sizeof col, "      --%s", o->long_name);
        if (o->kind != ARG_FLAG && n > 0 && (size_t)n < sizeof col)
            snprintf(col + n, sizeof col - (size_t)n, " %s", o->metavar);
        if (strlen(col) >= HELP_OPT_COLUMN)
            printf("%s\n%*s%s\n", col, HELP_OPT_COLUMN, "", o->help);
        else
            printf("%-*s%s\n", HELP_OPT_COLUMN, col, o->help);
    }
    printf("%-*s%s\n", HELP_OPT_COLUMN, "  -h, --help", "show this help");
    if (spec->notes) printf("\n%s\n", spec->notes);
}

int args_usage_error(const cli_spec *spec, const char *fmt, ...)
{
    fprintf(stderr, "mote %s: ", spec->verb);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: mote %s %s\n(see 'mote %s --help')\n", spec->verb,
            spec->usage, spec->verb);
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------- */

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
    for (const cli_opt *o = opts; o->long_name; o++)
        if (strlen(o->long_name) == len && memcmp(o->long_name, name, len) == 0) return o;
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
    for (const cli_opt *o = opts; o->long_name; o++)
        if (o->short_name == c) return o;
    return NULL;
}

/* Name of an option as the user typed it, for messages. */
static void opt_label(const cli_opt *o, int as_short, char *buf, size_t cap)
{
    if (as_short)
        snprintf(buf, cap, "-%c", o->short_name);
    else
        snprintf(buf, cap, "--%s", o->long_name);
}

/* Store one option's value; returns EXIT_USAGE (after the message) or 0. */
static int store_value(const cli_spec *spec, const cli_opt *o, const char *label,
                       const char *val)
{
    switch (o->kind) {
    case ARG_FLAG:
        *(int *)o->dest = 1;
        return 0;
    case ARG_STRING:
        *(const char **)o->dest = val;
        return 0;
    case ARG_INT: {
        int v;
        if (parse_int(val, &v) != 0) {
            long long wide; /* a whole number too large for an int is out of range, not "not an integer" */
            char *end;
            errno = 0;
            wide = strtoll(val, &end, 10);
            if (starts_like_number(val) && *end == '\0' && end != val && (errno == ERANGE || wide != (int)wide))
                return args_usage_error(spec, "%s: %s is out of range [%.0f, %.0f]", label, val, o->lo, o->hi);
            return args_usage_error(spec, "%s: '%s' is not an integer", label, val);
        }
        if (v < o->lo || v > o->hi)
            return args_usage_error(spec, "%s: %d is out of range [%.0f, %.0f]", label, v,
                                    o->lo, o->hi);
        *(int *)o->dest = v;
        return 0;
    }
    case ARG_FLOAT: {
        float v;
        if (parse_float(val, &v) != 0)
            return args_usage_error(spec, "%s: '%s' is not a number", label, val);
        if (v < o->lo || v > o->hi)
            return args_usage_error(spec, "%s: %g is out of range [%g, %g]", label, v,
                                    o->lo, o->hi);
        *(float *)o->dest = v;
        return 0;
    }
    case ARG_U64: {
        uint64_t v;
        if (parse_u64(val, &v) != 0)
            return args_usage_error(spec, "%s: '%s' is not an unsigned integer", label, val);
        *(uint64_t *)o->dest = v;
        return 0;
    }
    }
    return 0;
}

int args_parse(const cli_spec *spec, int argc, char **argv, int *n_pos)
{
    int npos = 0, options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* Positional: anything not starting with '-', a lone "-", or
         * everything after "--". */
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (npos >= spec->max_pos)
                return args_usage_error(spec, "unexpected argument '%s'", a);
            spec->pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            args_print_help(spec);
            return 0;
        }

        const cli_opt *o;
        const char *inline_val = NULL; /* "--temp=0.5" or "-n64" */
        int as_short = a[1] != '-';
        if (as_short) {
            o = find_short(spec->opts, a[1]);
            if (o && a[2] != '\0') {
                if (o->kind == ARG_FLAG) o = NULL; /* no "-abc" bundles */
                else inline_val = a + 2;
            }
        } else {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(spec->opts, name, len);
            if (o && eq) {
                if (o->kind == ARG_FLAG)
                    return args_usage_error(spec, "option '--%s' takes no value",
                                            o->long_name);
                inline_val = eq + 1;
            }
        }
        if (!o) return args_usage_error(spec, "unknown option '%s'", a);

        char label[64];
        opt_label(o, as_short, label, sizeof label);
        const char *val = inline_val;
        if (o->kind != ARG_FLAG && !val) {
            if (i + 1 >= argc)
                return args_usage_error(spec, "option '%s' needs a value (%s)", label,
                                        o->metavar);
            val = argv[++i];
        }
        if (store_value(spec, o, label, val) != 0) return EXIT_USAGE;
        if (o->seen) *o->seen = 1;
    }
    if (npos < spec->min_pos) {
        /* Name what is missing: the usage line starts with the positional
         * arguments' names ("MODEL FILE [-c N] ..."). */
        char names[128] = "";
        const char *u = spec->usage;
        size_t off = 0;
        for (int i = 0; *u && i < spec->min_pos; i++) {
            while (*u == ' ') u++;
            const size_t len = strcspn(u, " ");
            if (!len || !isupper((unsigned char)*u)) break;
            if (i >= npos && off + len + 2 < sizeof names)
                off += (size_t)snprintf(names + off, sizeof names - off, "%s%.*s", off ? " " : "", (int)len, u);
            u += len;
        }
        return args_usage_error(spec, "missing %s", off ? names : "arguments");
    }
    *n_pos = npos;
    return ARGS_CONTINUE;
}
