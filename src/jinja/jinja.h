/*
 * jinja.h — a small Jinja interpreter for chat templates.
 *
 * Renders tokenizer.chat_template texts exactly as HF transformers'
 * apply_chat_template does with python jinja2 3.1: an immutable sandboxed
 * environment with trim_blocks, lstrip_blocks and the loopcontrols extension;
 * tojson is json.dumps(x, ensure_ascii=False) with the indent, separators and
 * sort_keys the template passes; raise_exception(msg) fails the render with
 * msg; strftime_now(fmt) formats the current local time.
 *
 * The variables come as one JSON object (messages, tools,
 * add_generation_prompt, bos_token, ...). JSON ints and floats stay distinct
 * (1 prints as "1", 1.0 as "1.0") and object keys keep their order.
 *
 * A hostile template cannot crash or hang the process: recursion, loop work,
 * memory and output are bounded, and exceeding a bound fails the render with
 * MOTE_E_TEMPLATE like any other error. Errors name the line and column.
 * The deepest recursion allowed needs about 256 KB of C stack.
 *
 * Thread-safe: a render shares nothing with other renders.
 */
#ifndef MOTE_JINJA_H
#define MOTE_JINJA_H

#include "mote.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct jinja_options {
    /* Local time for strftime_now(); NULL reads the real clock. Returns 0 on
     * success. Tests pin it to a fixed date. */
    int (*now)(void *user, struct tm *out);
    void *now_user;
    /* 0 (HF's ImmutableSandboxedEnvironment): list.append, dict.update and
     * other mutating methods fail with jinja2's SecurityError message.
     * 1: they work, as in llama.cpp's template engine. */
    int allow_mutation;
    size_t max_output;  /* bytes of output; 0 = JINJA_DEFAULT_MAX_OUTPUT */
    /* bytes held at once: values, the output, captures and buffers of the
     * operations; held at every allocation. 0 = JINJA_DEFAULT_MAX_MEMORY */
    size_t max_memory;
    /* evaluation steps, where an operation on a large value costs the
     * steps its size is worth (value.h, JWORK_*): a step is about 16 ns of
     * work, so this bounds time. 0 = JINJA_DEFAULT_MAX_STEPS */
    uint64_t max_steps;
} jinja_options;

#define JINJA_DEFAULT_MAX_OUTPUT ((size_t)64 << 20)
#define JINJA_DEFAULT_MAX_MEMORY ((size_t)512 << 20)
#define JINJA_DEFAULT_MAX_STEPS ((uint64_t)100000000)

void jinja_default_options(jinja_options *opt);

/* Render tmpl[0..len) with the variables of context_json (a JSON object, or
 * NULL for none). *out is malloc'd and NUL-terminated (free with free or
 * mote_free); *out_len (may be NULL) is its length, which can be smaller
 * than strlen would say only if the output contains NUL characters. */
mote_status jinja_render_ex(const char *tmpl, size_t len, const char *context_json,
                            const jinja_options *opt, char **out, size_t *out_len);

/* jinja_render_ex with default options. */
mote_status jinja_render(const char *tmpl, size_t len, const char *context_json, char **out);

#endif
