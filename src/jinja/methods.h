/*
 * methods.h — method tables of the builtin types (methods_str.c, methods.c).
 */
#ifndef MOTE_JINJA_METHODS_H
#define MOTE_JINJA_METHODS_H

#include "jinja/value.h"

/* Terminated by an entry with a NULL name. */
extern const jmethod_def jstr_methods[];

#endif
