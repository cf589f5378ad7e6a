/*
 * render.c — jinja_render: parse, set up the variables, run, report.
 *
 * Scopes at the start of a render: the globals (range, namespace, ...) at the
 * root, under them the template scope holding the context's variables, where
 * top-level `set` writes too (a context variable shadows a global of the same
 * name, as render() keyword arguments do in jinja2).
 *
 * Numbers are formatted and parsed in the C locale whatever the host
 * application set (uselocale is per thread).
 */
#include "jinja/interp.h"
#include "jinja/unicode.h"
#include "base/status.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void jinja_default_options(jinja_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->max_output = JINJA_DEFAULT_MAX_OUTPUT;
    opt->max_memory = JINJA_DEFAULT_MAX_MEMORY;
    opt->max_steps = JINJA_DEFAULT_MAX_STEPS;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* Fail with the template position of byte offset pos. */
static mote_status fail_at(const jtemplate *t, const char *src, size_t len, size_t pos, const char *what,
                           const char *msg)
{
    int line, col;
    if (t && t->src) jinja_line_col(t->src, t->len, pos, &line, &col);
    else jinja_line_col(src, len, pos, &line, &col);
    return mote_fail(MOTE_E_TEMPLATE, "template line %d, column %d: %s%s", line, col, what, msg);
}

static mote_status render(jrender *r, jtemplate *t, const char *tmpl, size_t len, const char *context_json,
                          char **out, size_t *out_len)
{
    size_t bad;
    if (!u8_valid(tmpl, len, &bad)) return fail_at(NULL, tmpl, len, bad, "", "template is not valid UTF-8");

    jsyntax_error serr = {0};
    if (!jinja_parse(t, &r->heap, tmpl, len, &serr)) return fail_at(t, tmpl, len, serr.pos, "syntax error: ", serr.msg);

    jscope *globals = jscope_new(r, NULL);
    jscope *top = globals ? jscope_new(r, globals) : NULL;
    if (!top || !jbuiltins_install(r, globals->vars)) return mote_fail(MOTE_E_NOMEM, "template: out of memory");
    if (context_json) {
        char msg[128];
        size_t pos = 0;
        jv ctx;
        if (!jjson_parse(&r->heap, context_json, strlen(context_json), &ctx, msg, sizeof msg, &pos))
            return mote_fail(MOTE_E_INVALID, "template context JSON: %s at offset %zu", msg, pos);
        if (ctx.type != JT_DICT) return mote_fail(MOTE_E_INVALID, "template context JSON must be an object");
        jobj_release(&top->vars->h);
        top->vars = jv_dict(ctx);
    }

    /* the context is read whatever its size; from here on every allocation
     * counts against max_memory, the context's values included */
    r->heap.limit = r->opt->max_memory;
    r->heap.work = 0;
    r->heap.work_limit =
        r->opt->max_steps > UINT64_MAX / JWORK_STEP ? UINT64_MAX : r->opt->max_steps * JWORK_STEP;

    jbuf output;
    jbuf_init_charged(&output, r->opt->max_output, &r->heap);
    r->tpl = t;
    r->out = &output;
    r->scope = top;
    int ctl = 0;
    bool ok = jexec(r, &t->body, &ctl);
    /* a primitive that ran out of work after the last step */
    if (ok && jheap_spent(&r->heap)) ok = jfail(r, NULL, "template too expensive (step limit reached)");
    if (ok && output.failed) ok = jfail(r, NULL, "output larger than %zu bytes", r->opt->max_output);
    if (!ok) {
        jbuf_free(&output);
        return fail_at(t, tmpl, len, r->err_pos, "", r->err);
    }
    if (!output.p) {
        output.p = calloc(1, 1);
        if (!output.p) return mote_fail(MOTE_E_NOMEM, "template: out of memory");
    }
    *out = output.p;
    if (out_len) *out_len = output.n;
    return MOTE_OK;
}

mote_status jinja_render_ex(const char *tmpl, size_t len, const char *context_json, const jinja_options *opt_in,
                            char **out, size_t *out_len)
{
    if (!tmpl || !out) return mote_fail(MOTE_E_INVALID, "jinja_render: NULL template or output");
    *out = NULL;
    if (out_len) *out_len = 0;
    jinja_options opt;
    jinja_default_options(&opt);
    if (opt_in) {
        opt.now = opt_in->now;
        opt.now_user = opt_in->now_user;
        opt.allow_mutation = opt_in->allow_mutation;
        if (opt_in->max_output) opt.max_output = opt_in->max_output;
        if (opt_in->max_memory) opt.max_memory = opt_in->max_memory;
        if (opt_in->max_steps) opt.max_steps = opt_in->max_steps;
    }

    pthread_once(&c_locale_once, make_c_locale);
    locale_t saved = c_locale ? uselocale(c_locale) : (locale_t)0;

    jrender r;
    memset(&r, 0, sizeof r);
    jheap_init(&r.heap);
    r.opt = &opt;
    jtemplate t;
    memset(&t, 0, sizeof t);
    mote_status st = render(&r, &t, tmpl, len, context_json, out, out_len);
    jinja_template_free(&t);
    jheap_free(&r.heap);

    if (c_locale) uselocale(saved);
    return st;
}

mote_status jinja_render(const char *tmpl, size_t len, const char *context_json, char **out)
{
    return jinja_render_ex(tmpl, len, context_json, NULL, out, NULL);
}
