/*
 * status.h — errors as values.
 *
 * A failing internal function calls mote_fail(code, fmt, ...), which records
 * a message for mote_last_error() on this thread and returns code, so the
 * usual shape is `return mote_fail(MOTE_E_FORMAT, "gguf: %s: ...", ...);`.
 */
#ifndef MOTE_BASE_STATUS_H
#define MOTE_BASE_STATUS_H

#include "mote.h"

#if defined(__GNUC__)
#define MOTE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MOTE_PRINTF(a, b)
#endif

/* Record a message for code and return code. */
mote_status mote_fail(mote_status code, const char *fmt, ...) MOTE_PRINTF(2, 3);
/* Prefix the current message with more context ("loading x: " + old). */
mote_status mote_fail_prefix(mote_status code, const char *fmt, ...) MOTE_PRINTF(2, 3);
void mote_clear_error(void);

/* Propagate a failing status. */
#define MOTE_TRY(expr)                                                         \
    do {                                                                       \
        mote_status try_st_ = (expr);                                          \
        if (try_st_ != MOTE_OK) return try_st_;                                \
    } while (0)

#endif
