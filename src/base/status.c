/* status.c — thread-local error message behind mote_last_error(). */
#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOTE_ERRMSG_CAP 1024

static _Thread_local char errmsg[MOTE_ERRMSG_CAP];

const char *mote_last_error(void) { return errmsg; }

void mote_clear_error(void) { errmsg[0] = '\0'; }

mote_status mote_fail(mote_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return code;
}

mote_status mote_fail_prefix(mote_status code, const char *fmt, ...)
{
    char old[MOTE_ERRMSG_CAP];
    memcpy(old, errmsg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof errmsg)
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, "%s", old);
    return code;
}

const char *mote_status_name(mote_status s)
{
    switch (s) {
    case MOTE_OK: return "ok";
    case MOTE_E_INVALID: return "invalid argument";
    case MOTE_E_IO: return "i/o error";
    case MOTE_E_FORMAT: return "format error";
    case MOTE_E_UNSUPPORTED: return "unsupported";
    case MOTE_E_NOMEM: return "out of memory";
    case MOTE_E_RANGE: return "out of range";
    case MOTE_E_TOKENIZE: return "tokenize error";
    case MOTE_E_TEMPLATE: return "template error";
    case MOTE_E_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

void mote_free(void *p) { free(p); }
