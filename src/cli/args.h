/*
 * args.h — option parsing for the verbs of the `mote` command.
 *
 * Each verb describes its command line as a table of cli_opt (options) plus
 * a cli_spec (usage line, description, positional arguments). args_parse()
 * walks argv once, stores values through the table's pointers, and prints
 * either the verb's help (generated from the same table, so the two cannot
 * drift apart) or a usage error.
 *
 * Accepted forms: `-n 64`, `-n64`, `--temp 0.5`, `--temp=0.5`; a value may
 * begin with '-' (`-n -1`). `--` ends the options. Numbers are parsed
 * strictly: "12abc", "", " 5", "1e99" for an int, "nan" are all rejected,
 * and every numeric option has an inclusive range.
 */
#ifndef MOTE_CLI_ARGS_H
#define MOTE_CLI_ARGS_H

#include <stdint.h>

/* Exit codes of the command (see main.c). */
enum {
    EXIT_USAGE = 2, /* bad command line */
    EXIT_LIB = 1,   /* a library call or an I/O operation failed */
};

typedef enum arg_kind {
    ARG_FLAG,   /* no value; stores 1 into an int */
    ARG_INT,    /* int, checked against [lo, hi] */
    ARG_FLOAT,  /* float, finite, checked against [lo, hi] */
    ARG_U64,    /* uint64_t, any value (seeds) */
    ARG_STRING, /* const char *, points into argv */
} arg_kind;

typedef struct cli_opt {
    char short_name;       /* 'n' for -n; 0 when there is none */
    const char *long_name; /* "temp" for --temp; NULL ends a table */
    arg_kind kind;         /* how the value is parsed and stored */
    void *dest;            /* int *, float *, uint64_t * or const char ** */
    const char *metavar;   /* value name in the help ("N", "TEXT") */
    const char *help;      /* one line for the help */
    double lo, hi;         /* inclusive range of ARG_INT and ARG_FLOAT */
    int *seen;             /* if not NULL, set to 1 when the option is given */
} cli_opt;

typedef struct cli_spec {
    const char *verb;       /* "run" */
    const char *usage;      /* after "mote run ": "MODEL -p TEXT [options]" */
    const char *about;      /* paragraph printed under the usage line */
    const char *notes;      /* text after the options, or NULL */
    const cli_opt *opts;    /* terminated by an entry with long_name NULL */
    int min_pos, max_pos;   /* how many positional arguments are accepted */
    const char **pos;       /* receives them (max_pos entries) */
} cli_spec;

/* Returned by args_parse when the verb should go on. */
#define ARGS_CONTINUE (-1)

/* Parse argv[1..argc) (argv[0] is the verb). Returns ARGS_CONTINUE with the
 * values stored and *n_pos set; 0 after printing the help for -h/--help;
 * EXIT_USAGE after printing a usage error on stderr. */
int args_parse(const cli_spec *spec, int argc, char **argv, int *n_pos);

/* Print the verb's help to stdout. */
void args_print_help(const cli_spec *spec);

/* Report a usage problem found after parsing (e.g. conflicting options) the
 * way args_parse does; returns EXIT_USAGE. */
int args_usage_error(const cli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strict number parsing: the whole string must be the number. Return 0 on
 * success, -1 otherwise (out untouched). */
int parse_int(const char *s, int *out);
int parse_float(const char *s, float *out);
int parse_u64(const char *s, uint64_t *out);

#endif
