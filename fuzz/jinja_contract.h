/*
 * jinja_contract.h — what fuzz_jinja and fuzz_chat check of every render.
 *
 * jinja.h promises that a hostile template or context cannot crash or hang
 * the process: recursion, loop work, memory and output are bounded, and
 * exceeding a bound fails the render with MOTE_E_TEMPLATE like any other
 * error, whose message names the line and column. So a render either
 *   - succeeds: the output is NUL-terminated, out_len says its length (only
 *     NUL characters inside may make strlen shorter), it fits max_output
 *     and is valid UTF-8 (the template and the context are: every string
 *     operation must keep it so); or
 *   - fails with no output and a message: MOTE_E_TEMPLATE starting with
 *     "template line L, column C: " (a position inside the template) and
 *     saying what, or MOTE_E_INVALID for a context that is not a JSON
 *     object, where the caller allows that.
 * And it is deterministic: a second render gives the same status and the
 * same bytes or message. The bounds are tight so that every input finishes
 * in milliseconds under the sanitizers.
 *
 * Included by the two targets only (static functions, no Makefile rule).
 */
#ifndef MOTE_FUZZ_JINJA_CONTRACT_H
#define MOTE_FUZZ_JINJA_CONTRACT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "base/status.h"
#include "fuzz.h"
#include "jinja/jinja.h"

#define FUZZ_JINJA_MAX_OUTPUT ((size_t)1 << 20)
#define FUZZ_JINJA_MAX_MEMORY ((size_t)64 << 20)
#define FUZZ_JINJA_MAX_STEPS ((uint64_t)1000000)

/* strftime_now(): 2026-11-22 09:30:00, as in ../shared/templates/expected. */
static int fuzz_fixed_now(void *user, struct tm *tm)
{
    (void)user;
    memset(tm, 0, sizeof *tm);
    tm->tm_year = 2026 - 1900;
    tm->tm_mon = 10;
    tm->tm_mday = 22;
    tm->tm_wday = 0;
    tm->tm_yday = 325;
    tm->tm_hour = 9;
    tm->tm_min = 30;
    return 0;
}

static jinja_options fuzz_jinja_options(int allow_mutation)
{
    jinja_options o;
    jinja_default_options(&o);
    o.now = fuzz_fixed_now;
    o.allow_mutation = allow_mutation;
    o.max_output = FUZZ_JINJA_MAX_OUTPUT;
    o.max_memory = FUZZ_JINJA_MAX_MEMORY;
    o.max_steps = FUZZ_JINJA_MAX_STEPS;
    return o;
}

/* Valid UTF-8 by utf8proc's reading (surrogates and overlong forms refused),
 * a second opinion beside the interpreter's own validator. */
static bool fuzz_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return false;
        i += (size_t)k;
    }
    return true;
}

/* A MOTE_E_TEMPLATE message names a position inside tmpl and says what. */
static void fuzz_check_template_error(const char *tmpl, size_t len, const char *msg)
{
    int line = 0, col = 0, used = 0;
    fuzz_check(sscanf(msg, "template line %d, column %d: %n", &line, &col, &used) == 2 && used > 0,
               "a template error does not start with its line and column");
    fuzz_check(msg[used] != '\0', "a template error names a position but not what went wrong");
    /* normalisation turns \r\n and \r into \n: at most one line per \r or \n */
    size_t breaks = 0;
    for (size_t i = 0; i < len; i++) breaks += tmpl[i] == '\n' || tmpl[i] == '\r';
    fuzz_check(line >= 1 && (size_t)line <= breaks + 1, "a template error names a line outside the template");
    fuzz_check(col >= 1 && (size_t)col <= len + 1, "a template error names a column outside the template");
}

/* Check one render's result against the contract. */
static void fuzz_check_render(const char *tmpl, size_t len, mote_status st, const char *out, size_t out_len,
                              bool context_may_be_invalid)
{
    if (st == MOTE_OK) {
        fuzz_check(out != NULL, "a render succeeded without output");
        fuzz_check(out_len <= FUZZ_JINJA_MAX_OUTPUT, "the output is larger than max_output");
        fuzz_check(out[out_len] == '\0', "the output is not NUL-terminated at out_len");
        fuzz_check(strlen(out) == out_len || memchr(out, '\0', out_len) != NULL, "out_len disagrees with the output");
        fuzz_check(fuzz_utf8_valid(out, out_len), "the output is not valid UTF-8");
        return;
    }
    fuzz_check(out == NULL && out_len == 0, "a failed render left output");
    const char *msg = mote_last_error();
    fuzz_check(msg[0] != '\0', "a failed render left no message");
    if (st == MOTE_E_INVALID && context_may_be_invalid) {
        fuzz_check(strncmp(msg, "template context JSON", 21) == 0, "MOTE_E_INVALID for something else than the context");
        return;
    }
    fuzz_check(st == MOTE_E_TEMPLATE, "a render failed with another status than MOTE_E_TEMPLATE");
    fuzz_check_template_error(tmpl, len, msg);
}

/* Render, check the contract, render again and check that the second render
 * says the same. Returns the status; *out is the output (free it) or NULL. */
static mote_status fuzz_render_checked(const char *tmpl, size_t len, const char *ctx, int allow_mutation,
                                       bool context_may_be_invalid, char **out, size_t *out_len)
{
    jinja_options o = fuzz_jinja_options(allow_mutation);
    mote_clear_error();
    mote_status st = jinja_render_ex(tmpl, len, ctx, &o, out, out_len);
    fuzz_check_render(tmpl, len, st, *out, *out_len, context_may_be_invalid);
    char first_msg[1024]; /* as long as any message (status.c) */
    snprintf(first_msg, sizeof first_msg, "%s", st == MOTE_OK ? "" : mote_last_error());

    char *again = NULL;
    size_t again_len = 0;
    mote_clear_error();
    mote_status st2 = jinja_render_ex(tmpl, len, ctx, &o, &again, &again_len);
    fuzz_check(st2 == st, "a second render returned another status");
    if (st == MOTE_OK)
        fuzz_check(again_len == *out_len && memcmp(again, *out, *out_len) == 0, "a second render gave other output");
    else
        fuzz_check(strcmp(first_msg, mote_last_error()) == 0, "a second render gave another message");
    free(again);
    return st;
}

#endif
