/*
 * fuzz_jinja.c — libFuzzer target for the Jinja interpreter: the input is
 * template text (any bytes), rendered against one fixed context that holds
 * what chat templates read (messages of every role with tool calls and
 * content parts, tools, add_generation_prompt, bos/eos tokens) and values
 * of every JSON type, nested.
 *
 * Contract (jinja_contract.h): the render succeeds with output within
 * max_output, valid UTF-8, out_len consistent; or fails with
 * MOTE_E_TEMPLATE and a message naming a line and column in the template.
 * Never MOTE_E_INVALID (the context is valid), never another status, and
 * a second render says the same. A template that fails because the sandbox
 * refused a mutating method is rendered once more with mutation allowed,
 * so that list.append, dict.update and the like are fuzzed too. Leaks,
 * crashes, UB, inputs over -timeout or -rss_limit_mb are findings too.
 * Seeds: fuzz/corpus/jinja; dictionary: fuzz/jinja.dict; fuzz/run.sh adds
 * the real templates of ../shared/templates when they are there.
 */
#include "jinja_contract.h"

static const char CONTEXT[] =
    "{\"messages\": ["
    "{\"role\": \"system\", \"content\": \"You are helpful. Grüße 😀 <b>&amp;</b>\"},"
    "{\"role\": \"developer\", \"content\": \"Reasoning: low\"},"
    "{\"role\": \"user\", \"content\": \"Hi!\\nWhat's 2+2?\"},"
    "{\"role\": \"assistant\", \"content\": \"<think>easy</think>\\n\\n4\", \"reasoning_content\": \"easy\"},"
    "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Describe\"}, {\"type\": \"image\"},"
    " {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:,x\"}}]},"
    "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
    " \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}},"
    " {\"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"search\","
    " \"arguments\": \"{\\\"q\\\": \\\"x\\\"}\"}}]},"
    "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"name\": \"get_weather\", \"content\": \"21C\"},"
    "{\"role\": \"tool\", \"tool_call_id\": \"call_2\", \"content\": {\"results\": [1, 2]}},"
    "{\"role\": \"ipython\", \"content\": \"\"},"
    "{\"role\": \"assistant\", \"content\": \"It is 21C.\"}],"
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather.\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"enum\": [\"Paris\", \"Oslo\"]},"
    " \"days\": {\"type\": \"integer\", \"default\": 1}}, \"required\": [\"city\"]}}},"
    " {\"type\": \"function\", \"function\": {\"name\": \"search\", \"parameters\": {}}}],"
    "\"documents\": [{\"title\": \"Doc\", \"text\": \"Body\"}],"
    "\"add_generation_prompt\": true, \"enable_thinking\": false, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
    "\"n\": 42, \"neg\": -7, \"big\": 9223372036854775807, \"f\": 1.5, \"e\": 1e300, \"zero\": 0.0, \"t\": true,"
    "\"nul\": null, \"s\": \"a\\u0000b\\ttab \\u00e9\\ud83d\\ude00\", \"empty_s\": \"\", \"empty_l\": [], \"empty_d\": {},"
    "\"nested\": {\"a\": {\"b\": [1, 2.5, null, true, \"x\", {\"c\": [[-3]]}]}, \"z\": \"last\", \"0\": \"zero\"}}";

/* The sandbox's refusal of a mutating method (jinja2's SecurityError). */
static bool refused_mutation(mote_status st)
{
    return st == MOTE_E_TEMPLATE && strstr(mote_last_error(), "is unsafe") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmpl = data ? (const char *)data : "";
    char *out = NULL;
    size_t out_len = 0;
    mote_status st = fuzz_render_checked(tmpl, size, CONTEXT, 0, false, &out, &out_len);
    free(out);
    if (refused_mutation(st)) {
        out = NULL;
        fuzz_render_checked(tmpl, size, CONTEXT, 1, false, &out, &out_len);
        free(out);
    }
    return 0;
}
