/*
 * template_api.c — the public entry for rendering a Jinja chat template.
 */
#include "mote.h"
#include "base/status.h"
#include "jinja/jinja.h"

#include <string.h>

mote_status mote_template_render(const char *tmpl, const char *context_json, char **out)
{
    if (out) *out = NULL;
    if (!tmpl || !out) return mote_fail(MOTE_E_INVALID, "mote_template_render: NULL template or output");
    return jinja_render(tmpl, strlen(tmpl), context_json, out);
}
