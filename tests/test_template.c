/*
 * test_template.c — the Jinja interpreter (src/engine/jinja) and
 * mote_template_render.
 *
 * 1. Every case of ../shared/templates/expected/ (renderings by python
 *    jinja2 3.1.2 with HF's apply_chat_template settings) must match byte for
 *    byte, or fail with the expected raise_exception message.
 * 2. Features in isolation: whitespace control, printing, expressions,
 *    slicing, loops, scoping, macros, filters, tojson, tests, methods and
 *    globals. Expected outputs were produced by python jinja2 with the same
 *    settings and the same context.
 * 3. Errors carry line and column; the sandbox refuses mutation like HF's;
 *    hostile templates hit limits instead of crashing or hanging.
 * 4. Robustness: every template in ../shared/templates renders a plain and a
 *    tool-calling conversation or fails cleanly.
 */
#include "testutil.h"

#include "jinja/jinja.h"
#include "mote.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strftime_now() in the expected files: 2026-11-22 09:30:00 */
static int fixed_now(void *user, struct tm *tm)
{
    (void)user;
    memset(tm, 0, sizeof *tm);
    tm->tm_year = 2026 - 1900;
    tm->tm_mon = 10;
    tm->tm_mday = 22;
    tm->tm_hour = 9;
    tm->tm_min = 30;
    return 0;
}

/* Render with the fixed clock; NULL on failure (message in mote_last_error). */
static char *render_opts(const char *tmpl, const char *ctx, const jinja_options *base, mote_status *st_out)
{
    jinja_options opt;
    if (base) opt = *base;
    else jinja_default_options(&opt);
    opt.now = fixed_now;
    char *out = NULL;
    mote_status st = jinja_render_ex(tmpl, strlen(tmpl), ctx, &opt, &out, NULL);
    if (st_out) *st_out = st;
    if (st != MOTE_OK) {
        assert_null(out);
        return NULL;
    }
    assert_non_null(out);
    return out;
}

static char *render(const char *tmpl, const char *ctx) { return render_opts(tmpl, ctx, NULL, NULL); }

/* The render must fail with MOTE_E_TEMPLATE and a message containing want. */
static void expect_error(const char *tmpl, const char *ctx, const char *want)
{
    mote_status st;
    char *out = render_opts(tmpl, ctx, NULL, &st);
    if (out) fail_msg("expected an error for %s, got output \"%s\"", tmpl, out);
    assert_int_equal(st, MOTE_E_TEMPLATE);
    if (!strstr(mote_last_error(), want))
        fail_msg("error for %s is \"%s\", expected it to contain \"%s\"", tmpl, mote_last_error(), want);
}

/* ------------------------------------------------------------------------
 * Feature cases (expected outputs from python jinja2)
 * ---------------------------------------------------------------------- */

typedef struct render_case {
    const char *tmpl;
    const char *expected;
} render_case;

/* Shared context of the feature tests. */
static const char CTX[] = "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"d\": {\"b\": 2, \"a\": 1}, \"l\": [3, 1, 2], \"s\": \"Hello World\", \"f\": 1.5, \"fl\": 1.0, \"n\": null, \"u\": \"ünï\", \"users\": [{\"name\": \"bob\", \"age\": 30}, {\"name\": \"Al\", \"age\": 25}]}";

static const render_case whitespace_cases[] = {
    {"{% for x in [1,2] %}\n  {{ x }}\n{% endfor %}",
     "  1\n  2\n"},
    {"<ul>\n    {% for x in [1,2] %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>",
     "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>"},
    {"a   {%- if true -%}   b   {%- endif -%}   c",
     "abc"},
    {"  {{- 'x' -}}  \n y",
     "xy"},
    {"line1\n    {%+ if true %}kept{% endif %}",
     "line1\n    kept"},
    {"{% if true +%}\nx{% endif %}",
     "\nx"},
    {"  {# comment #}\ntext\n  {#- c -#}  more",
     "textmore"},
    {"x  {%- raw %} {{ raw }} {% endraw -%}  y",
     "x {{ raw }} y"},
    {"a\n{%- if false %}x{% endif %}\nb",
     "ab"},
    {"{{ 'a' }}\n{{ 'b' }}\n",
     "a\nb"},
    {"line {% if true %}\ninner\n{% endif %} tail",
     "line inner\n tail"},
    {"trailing newline kept once\n\n",
     "trailing newline kept once\n"},
    {"crlf\r\nline\r\n{% if true %}\r\nx\r\n{% endif %}\r\n",
     "crlf\nline\nx\n"},
};

static const render_case printing_cases[] = {
    {"{{ [1, 'a', none, true, 1.5, {'k': (1,)}] }}",
     "[1, 'a', None, True, 1.5, {'k': (1,)}]"},
    {"{{ none }} {{ true }} {{ false }} {{ 1.0 }} {{ 10 / 4 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ -0.0 }}",
     "None True False 1.0 2.5 1e+16 1e-05 0.30000000000000004 -0.0"},
    {"{{ fl }} {{ f }} {{ fl|int }} {{ 3 * fl }} {{ 7 // 2 }} {{ 7.0 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
     "1.0 1.5 1 3.0 3 3.0 2 1024 0.5"},
    {"{{ ['it\\'s', \"q\\\"\", '\\n\\t', 'é', '\\u2028'] }}",
     "[\"it's\", 'q\"', '\\n\\t', 'é', '\\u2028']"},
    {"{{ () }} {{ (1,) }} {{ {} }} {{ ('a'|safe, 1) }}",
     "() (1,) {} (Markup('a'), 1)"},
    {"{{ 'x' ~ none ~ 1 ~ [1] }} {{ '%s|%5.2f|%-3d|%x' % ('s', 3.14159, 7, 255) }}",
     "xNone1[1] s| 3.14|7  |ff"},
    {"{{ \"a\" 'b' }} {{ '\\x41\\101\\u00e9' }} {{ 0x10 }} {{ 0b11 }} {{ 1_000 }} {{ 1.5e3 }}",
     "ab AAé 16 3 1000 1500.0"},
};

static const render_case expressions_cases[] = {
    {"{{ 1 + 2 * 3 }} {{ 'a' ~ 1 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ not 1 == 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}",
     "7 a1 64 4 True True False"},
    {"{{ true and 'x' }} {{ false or 'y' }} {{ none or 0 or 'z' }} {{ 0 and 1 }} {{ 'yes' if n else 'no' }} {{ 'x' if false }}|",
     "x y z 0 no |"},
    {"{{ 'b' in 'abc' }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 1 == 1.0 }} {{ 1 == true }} {{ [1] == (1,) }}",
     "True True True True True True False"},
    {"{{ d.a }} {{ d['b'] }} {{ d.missing }}|{{ messages[1].content }} {{ messages[-1]['role'] }} {{ l.1 }}",
     "1 2 |Hi assistant 1"},
    {"{{ 'ab' * 2 }} {{ [0] * 3 }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ d.items is defined }}",
     "abab [0, 0, 0] [1, 2] (1, 2) True"},
    {"{{ undefinedvar }}|{{ undefinedvar is defined }}|{{ undefinedvar|default('dflt') }}|{{ undefinedvar ~ 'x' }}",
     "|False|dflt|x"},
};

static const render_case slicing_cases[] = {
    {"{{ s[0] }} {{ s[-1] }} {{ s[1:4] }} {{ s[::-1] }} {{ s[::2] }} {{ s[-3:] }} {{ s[:-3] }} {{ s[100:] }}|",
     "H d ell dlroW olleH HloWrd rld Hello Wo |"},
    {"{{ l[1:] }} {{ l[::-1] }} {{ l[5] }}| {{ l[0:3:2] }} {{ l[3:0:-1] }} {{ l[::-2] }} {{ l[-100:100] }}",
     "[1, 2] [2, 1, 3] | [3, 2] [2, 1] [2, 3] [3, 1, 2]"},
    {"{{ u[1] }} {{ u[::-1] }} {{ u|length }} {{ u[1:] }} {{ (1, 2, 3)[1:] }}",
     "n ïnü 3 nï (2, 3)"},
};

static const render_case loops_cases[] = {
    {"{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}",
     "10TrueFalse332|21FalseFalse321|32FalseTrue310|"},
    {"{% for x in l %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}",
     "-1|3-2|1-|"},
    {"{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %} {% for x in [1, 1, 2] %}{{ loop.changed(x) }}{% endfor %}",
     "aba TrueFalseTrue"},
    {"{% for x in l if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}",
     "3:1/2 2:2/2 "},
    {"{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
     "empty"},
    {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for a, b in [[1, 2], 'xy'] %}{{ a }}{{ b }}{% endfor %}",
     "b=2;a=1; ba 12xy"},
    {"{% for x in l %}{% if x == 3 %}{% continue %}{% endif %}{{ x }}{% if x == 1 %}{% break %}{% endif %}{% endfor %}",
     "1"},
    {"{% for x in [1, 2] %}{% for y in 'ab' %}{{ x }}{{ y }}{{ loop.index }} {% endfor %}{{ loop.index }};{% endfor %}",
     "1a1 1b2 1;2a1 2b2 2;"},
    {"{% set ns = namespace(found=none) %}{% for m in messages if ns.found is none %}{% if m.role == 'user' %}{% set ns.found = loop.index0 %}{% endif %}{% endfor %}{{ ns.found }}",
     "1"},
};

static const render_case scoping_cases[] = {
    {"{% set x = 'outer' %}{% for i in [1, 2] %}[{{ x }}{% set x = i %}{{ x }}]{% endfor %}{{ x }}",
     "[outer1][outer2]outer"},
    {"{% if true %}{% set z = 5 %}{% endif %}{{ z }}",
     "5"},
    {"{% set ns = namespace(c=0, items=[]) %}{% for i in l %}{% set ns.c = ns.c + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.c }} {{ ns.items }}",
     "6 [3, 1, 2]"},
    {"{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}",
     "12 (1, 2)"},
    {"{% set x %}block {{ 1 + 1 }}{% endset %}[{{ x }}] {% set y | upper %}abc{% endset %}{{ y }}",
     "[block 2] ABC"},
    {"{% with a = 1 %}{{ a }}{% endwith %}{{ a }}|",
     "1|"},
};

static const render_case macros_cases[] = {
    {"{% macro m(a, b=2, c='x') %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, 3) }}{{ m(1, c='z') }}{{ m() }}",
     "[12x][13x][12z][2x]"},
    {"{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, x=3) }}",
     "(1, 2){'x': 3}"},
    {"{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(4) }}",
     "4321"},
    {"{% macro outer(x) %}<{{ caller(x * 2) }}>{% endmacro %}{% call(v) outer(21) %}v={{ v }}{% endcall %}",
     "<v=42>"},
    {"{% macro m() %}{{ g }}{% endmacro %}{% set g = 'late' %}{{ m() }}",
     "late"},
    {"{% filter upper %}hello {{ 'world' }}{% endfilter %}",
     "HELLO WORLD"},
};

static const render_case filters_cases[] = {
    {"{{ s|upper }} {{ s|lower }} {{ 'hello big-world'|title }} {{ 'hELLO'|capitalize }} {{ '  x  '|trim }}| {{ '--x--'|trim('-') }}",
     "HELLO WORLD hello world Hello Big-World Hello x| x"},
    {"{{ s|replace('o', '0') }} {{ s|replace('o', '0', 1) }} {{ s|length }} {{ s|wordcount }} {{ l|count }} {{ d|length }}",
     "Hell0 W0rld Hell0 World 11 2 3 2"},
    {"{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}",
     "a\n    b\n\n    c|  a\n  b|a\n> \n> b"},
    {"{{ '3'|int }} {{ '3.9'|int }} {{ 'x'|int(-1) }} {{ 3.9|int }} {{ '0x1A'|int(base=16) }} {{ '2.5'|float }} {{ 'x'|float }} {{ -3|abs }}",
     "3 3 -1 3 26 2.5 0.0 3"},
    {"{{ 3.14159|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ 5|round }}",
     "3.14 2.0 4.0 2.67 3.0 5"},
    {"{{ none|string }} {{ [1, 'a']|string }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|default('n') }}",
     "None [1, 'a']  d None"},
    {"{{ l|sort }} {{ l|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ users|sort(attribute='age')|map(attribute='name')|join(',') }}",
     "[1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] Al,bob"},
    {"{{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }} {{ ['a', 'A', 'b']|unique|list }} {{ l|reverse|list }} {{ s|reverse }}",
     "[('a', 1), ('b', 2)] [('b', 2), ('a', 1)] ['a', 'b'] [2, 1, 3] dlroW olleH"},
    {"{{ l|first }} {{ l|last }} {{ l|min }} {{ l|max }} {{ l|sum }} {{ users|sum(attribute='age') }} {{ []|first }}|",
     "3 2 1 3 6 55 |"},
    {"{{ l|join }} {{ l|join(', ') }} {{ users|join('/', attribute='name') }} {{ l|map('string')|join('-') }}",
     "312 3, 1, 2 bob/Al 3-1-2"},
    {"{{ users|selectattr('age', 'equalto', 30)|map(attribute='name')|list }} {{ users|rejectattr('age', 'gt', 26)|list|length }}",
     "['bob'] 1"},
    {"{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ messages|map(attribute='role')|list }}",
     "[3, 1] [2] [1, 'a'] ['system', 'user', 'assistant']"},
    {"{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }} {{ [1, 2, 3, 4, 5]|slice(2)|list }}",
     "[[1, 2], [3, 4], [5]] [[1, 2], [3, 0]] [[1, 2, 3], [4, 5]]"},
    {"{{ d|items|list }} {{ d|list }} {{ s|list|length }} {{ '<b>'|e }} {{ ('<'|safe) + '<' }} {{ '<p>a <b>b</b></p>'|striptags }}",
     "[('b', 2), ('a', 1)] ['b', 'a'] 11 &lt;b&gt; <&lt; a b"},
    {"{% if messages|selectattr('role', 'eq', 'nobody') %}generators are truthy{% endif %}",
     "generators are truthy"},
};

static const render_case tojson_cases[] = {
    {"{{ l|tojson }} {{ d|tojson }} {{ 'é\"\\n<&'|tojson }} {{ [1.0, 1e20, 0.5, none, true, false]|tojson }}",
     "[3, 1, 2] {\"b\": 2, \"a\": 1} \"é\\\"\\n<&\" [1.0, 1e+20, 0.5, null, true, false]"},
    {"{{ d|tojson(indent=2) }} {{ {'a': [], 'b': {}, 'c': [1]}|tojson(indent=1) }} {{ d|tojson(sort_keys=true) }}",
     "{\n  \"b\": 2,\n  \"a\": 1\n} {\n \"a\": [],\n \"b\": {},\n \"c\": [\n  1\n ]\n} {\"a\": 1, \"b\": 2}"},
    {"{{ d|tojson(separators=(',', ':')) }} {{ 'é😀'|tojson(ensure_ascii=true) }} {{ {1: 'i', none: 'n', true: 'b'}|tojson }}",
     "{\"b\":2,\"a\":1} \"\\u00e9\\ud83d\\ude00\" {\"1\": \"b\", \"null\": \"n\"}"},
    {"{{ messages[0]|tojson(indent='\\t') }}",
     "{\n\t\"role\": \"system\",\n\t\"content\": \"S\"\n}"},
};

static const render_case tests_cases[] = {
    {"{{ x is defined }} {{ l is iterable }} {{ s is iterable }} {{ 5 is iterable }} {{ d is mapping }} {{ l is mapping }} {{ s is string }} {{ 5 is number }} {{ true is number }} {{ true is integer }}",
     "False True True False True False True True True False"},
    {"{{ l is sequence }} {{ d is sequence }} {{ undefinedvar is sequence }} {{ undefinedvar is iterable }} {{ f is float }} {{ n is none }} {{ true is boolean }} {{ range is callable }}",
     "True True True True True True True True"},
    {"{{ 2 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 'a' is eq 'a' }} {{ 1 is equalto 1.0 }} {{ 1 is lt 2 }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 1 is in [1] }} {{ true is true }} {{ 1 is false }}",
     "True True True True True True True True True True False"},
};

static const render_case methods_cases[] = {
    {"{{ s.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b  '.split(None, 1) }} {{ ''.split() }}",
     "['Hello', 'World'] ['a', 'b,c'] ['a,b', 'c'] ['a', 'b  '] []"},
    {"{{ s.strip('Hd') }} {{ '  x '.lstrip() }}| {{ 'x  '.rstrip() }}| {{ s.startswith('He') }} {{ s.endswith(('x', 'ld')) }}",
     "ello Worl x | x| True True"},
    {"{{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('z') }} {{ s.count('l') }} {{ s.index('W') }} {{ s.replace('l', 'L', 2) }} {{ u.find('ï') }}",
     "4 7 -1 3 6 HeLLo World 2"},
    {"{{ s.upper() }} {{ s.lower() }} {{ \"they're\".title() }} {{ 'abc'.capitalize() }} {{ '12'.isdigit() }} {{ 'a1'.isalpha() }}",
     "HELLO WORLD hello world They'Re Abc True False"},
    {"{{ 'a\\nb\\r\\nc'.splitlines() }} {{ '-'.join(['a', 'b']) }} {{ 'p_x'.removeprefix('p_') }} {{ 'a=b=c'.partition('=') }} {{ '{} {}'.format('a', 1) }}",
     "['a', 'b', 'c'] a-b x ('a', '=', 'b=c') a 1"},
    {"{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ l.index(2) }} {{ l.count(1) }}",
     "1 None 5 ['b', 'a'] [2, 1] [('b', 2), ('a', 1)] 2 1"},
};

static const render_case globals_cases[] = {
    {"{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b=2) }} {{ namespace(a=1).a }}",
     "[0, 1, 2] [1, 4, 7] [5, 3, 1] {'a': 1, 'b': 2} 1"},
    {"{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %b %d %j %p %I') }}",
     "2026-11-22 09:30:00 Sunday November Nov 22 326 AM 09"},
    {"{% set ns = namespace({'k': 1}) %}{{ ns.k }}",
     "1"},
};

static void run_cases(const render_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *out = render(cases[i].tmpl, CTX);
        if (!out) fail_msg("%s: error %s", cases[i].tmpl, mote_last_error());
        if (strcmp(out, cases[i].expected) != 0)
            fail_msg("template: %s\n  expected: \"%s\"\n  got:      \"%s\"", cases[i].tmpl, cases[i].expected, out);
        free(out);
    }
}

#define CASES(group)                                                                      \
    static void test_##group(void **state)                                                \
    {                                                                                     \
        (void)state;                                                                      \
        run_cases(group##_cases, sizeof group##_cases / sizeof group##_cases[0]);         \
    }

CASES(whitespace)
CASES(printing)
CASES(expressions)
CASES(slicing)
CASES(loops)
CASES(scoping)
CASES(macros)
CASES(filters)
CASES(tojson)
CASES(tests)
CASES(methods)
CASES(globals)

/* ------------------------------------------------------------------------
 * Errors, sandbox, context
 * ---------------------------------------------------------------------- */

static void test_errors_have_positions(void **state)
{
    (void)state;
    expect_error("line1\nline2 {{ 1 + }}", NULL, "line 2, column 14: syntax error: unexpected 'end of print statement'");
    expect_error("{{ 1 }}\n  {{ foo.bar }}", NULL, "line 2, column 9: 'foo' is undefined");
    expect_error("a\n{{ raise_exception('Custom failure') }}", NULL, "Custom failure");
    expect_error("a\n{{ raise_exception('Custom failure') }}", NULL, "line 2");
    expect_error("{{ x|nope }}", NULL, "No filter named 'nope'.");
    expect_error("{{ x is nope }}", NULL, "No test named 'nope'.");
    expect_error("{% for x in l %}", NULL, "Unexpected end of template");
    expect_error("{% if true %}{% endfor %}", NULL, "Encountered unknown tag 'endfor'");
    expect_error("{{ 'a' + 1 }}", NULL, "can only concatenate str (not \"int\") to str");
    expect_error("{{ 1 / 0 }}", NULL, "division by zero");
    expect_error("{{ {}.a.b }}", NULL, "'dict object' has no attribute 'a'");
    expect_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}", NULL, "too many values to unpack");
    expect_error("{% break %}", NULL, "'break' outside loop");
    expect_error("{{ 'x' }}\n\xff", NULL, "not valid UTF-8");
    expect_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", NULL, "takes not more than 1 argument");
}

static void test_sandbox_mutation(void **state)
{
    (void)state;
    /* HF's ImmutableSandboxedEnvironment refuses mutating methods */
    expect_error("{% set x = [1] %}{{ x.append(2) }}", NULL,
                 "access to attribute 'append' of 'list' object is unsafe.");
    expect_error("{% set d = {} %}{{ d.update({'a': 1}) }}", NULL, "access to attribute 'update' of 'dict' object is unsafe.");
    char *out = render("{% set x = [1] %}{{ x.append is defined }}", NULL);
    assert_string_equal(out, "False");
    free(out);

    jinja_options opt;
    jinja_default_options(&opt);
    opt.allow_mutation = 1;
    out = render_opts("{% set x = [1] %}{% set _ = x.append(2) %}{% set _ = x.insert(0, 0) %}{{ x }} {{ x.pop() }} {{ x }}"
                      "{% set d = {'a': 1} %}{% set _ = d.update(b=2) %} {{ d }} {{ d.pop('a') }} {{ d }}",
                      NULL, &opt, NULL);
    assert_non_null(out);
    assert_string_equal(out, "[0, 1, 2] 2 [0, 1] {'a': 1, 'b': 2} 1 {'b': 2}");
    free(out);
}

static void test_context_json(void **state)
{
    (void)state;
    char *out = render("{{ a }} {{ b }} {{ c }} {{ d }} {{ a is integer }} {{ b is float }}",
                       "{\"a\": 1, \"b\": 1.0, \"c\": 1e2, \"d\": -0.5}");
    assert_string_equal(out, "1 1.0 100.0 -0.5 True True");
    free(out);
    out = render("{% for k in x %}{{ k }}{% endfor %} {{ x|tojson }}", "{\"x\": {\"z\": 1, \"a\": 2, \"m\": [true, null]}}");
    assert_string_equal(out, "zam {\"z\": 1, \"a\": 2, \"m\": [true, null]}");
    free(out);
    out = render("{{ s }} {{ s|length }}", "{\"s\": \"\\u00e9\\ud83d\\ude00\\n\"}");
    assert_string_equal(out, "é😀\n 3");
    free(out);
    out = render("{{ x is defined }}", NULL);
    assert_string_equal(out, "False");
    free(out);

    mote_status st;
    assert_null(render_opts("x", "{\"a\": }", NULL, &st));
    assert_int_equal(st, MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "context JSON"));
    assert_null(render_opts("x", "[1, 2]", NULL, &st));
    assert_int_equal(st, MOTE_E_INVALID);
}

static void test_public_api(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(mote_template_render("Hi {{ name }}{{ '!' if excl }}", "{\"name\": \"Ann\", \"excl\": true}", &out),
                     MOTE_OK);
    assert_string_equal(out, "Hi Ann!");
    mote_free(out);
    assert_int_equal(mote_template_render(NULL, "{}", &out), MOTE_E_INVALID);
    assert_null(out);
    assert_int_equal(mote_template_render("{{ raise_exception('nope') }}", "{}", &out), MOTE_E_TEMPLATE);
    assert_null(out);
    assert_non_null(strstr(mote_last_error(), "nope"));
}

/* ------------------------------------------------------------------------
 * Limits: hostile templates fail instead of crashing or hanging
 * ---------------------------------------------------------------------- */

static void test_limits(void **state)
{
    (void)state;
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, "maximum recursion depth exceeded");
    expect_error("{{ range(1000000)|length }}", NULL, "Range too big");
    expect_error("{{ 'x' * 100000000 }}", NULL, "size limit");

    char deep[4200];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 2000; i++) deep[k++] = '(';
    deep[k] = '\0';
    expect_error(deep, NULL, "too deeply");
    k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 1000; i++) k += (size_t)snprintf(deep + k, sizeof deep - k, "not ");
    snprintf(deep + k, sizeof deep - k, "1 }}");
    expect_error(deep, NULL, "too deeply");

    char json[2100];
    k = 0;
    k += (size_t)snprintf(json, sizeof json, "{\"x\": ");
    for (int i = 0; i < 1000; i++) json[k++] = '[';
    for (int i = 0; i < 1000; i++) json[k++] = ']';
    snprintf(json + k, sizeof json - k, "}");
    mote_status st;
    assert_null(render_opts("{{ x }}", json, NULL, &st));
    assert_int_equal(st, MOTE_E_INVALID);

    /* nesting built by a loop: freeing, printing and comparing stay bounded */
    const char *nest = "{% set ns = namespace(x=[]) %}{% for i in range(20000) %}{% set ns.x = [ns.x] %}{% endfor %}";
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s{{ (ns.x|string)|length > 0 }} {{ ns.x == ns.x }}", nest);
    char *out = render(tmpl, NULL);
    assert_non_null(out);
    assert_string_equal(out, "True True");
    free(out);
    snprintf(tmpl, sizeof tmpl, "%s{{ ns.x|tojson }}", nest);
    expect_error(tmpl, NULL, "nested too deeply");

    jinja_options opt;
    jinja_default_options(&opt);
    opt.max_steps = 100000;
    assert_null(render_opts("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", NULL,
                            &opt, &st));
    assert_int_equal(st, MOTE_E_TEMPLATE);
    assert_non_null(strstr(mote_last_error(), "step limit"));

    jinja_default_options(&opt);
    opt.max_output = 1000;
    assert_null(render_opts("{% for i in range(2000) %}x{% endfor %}", NULL, &opt, &st));
    assert_int_equal(st, MOTE_E_TEMPLATE);
    assert_non_null(strstr(mote_last_error(), "output"));

    jinja_default_options(&opt);
    opt.max_memory = 1 << 20;
    assert_null(render_opts("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                            "{% endfor %}{{ ns.s|length }}",
                            NULL, &opt, &st));
    assert_int_equal(st, MOTE_E_TEMPLATE);
    assert_non_null(strstr(mote_last_error(), "memory"));

    /* the memory limit holds inside one step (a split into 2M strings is
     * the last step: no check between steps would see it) and counts
     * the capture buffers of nested macro calls (31 MB of them here) and
     * the scratch arrays of a sort (12.8 MB) and a stepped slice (24 MB) */
    opt.max_memory = 8 << 20;
    const char *const over[] = {
        "{{ ('a ' * 2000000).split()|length }}",
        "{{ ('a' * 2000000)|list|length }}",
        "{% macro f(n) %}{{ 'x' * 1000000 }}{% if n < 30 %}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0)|length }}",
        "{{ ((range(100000)|list) * 2)|sort|length }}",
        "{{ ('a' * 3000000)[::2]|length }}",
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        char *res = render_opts(over[i], NULL, &opt, &st);
        if (res) fail_msg("%s rendered \"%.40s\" within max_memory %zu", over[i], res, opt.max_memory);
        assert_int_equal(st, MOTE_E_TEMPLATE);
        if (!strstr(mote_last_error(), "memory")) fail_msg("%s: %s", over[i], mote_last_error());
    }

    /* max_steps bounds the work of operations that grow with their values,
     * not only the count of steps: each of these is a few thousand steps
     * scanning, hashing or comparing 1-10 GB (or adding 10**8 numbers) */
    jinja_default_options(&opt);
    opt.max_steps = 1000000;
    const char *const costly[] = {
        "{% set s = 'é' * 100000 %}{% for i in range(10000) %}{{ s[-1] }}{% endfor %}",
        "{% set s = 'a' * 100000 %}{% for i in range(10000) %}{{ s.endswith(s[1:]) }}{% endfor %}",
        "{% set s = 'a' * 100000 %}{% for i in range(10000) %}{{ 'b' in s }}{{ s.count('b') }}{% endfor %}",
        "{% set s = 'x' * 100000 %}{% set t = s ~ '' %}{{ ([s] * 100000) == ([t] * 100000) }}",
        "{% set s = 'x' * 100000 %}{{ ([s] * 100000)|unique|list|length }}",
        "{% set l = range(100000)|list %}{% for i in range(1000) %}{{ l|sum }}{% endfor %}",
    };
    for (size_t i = 0; i < sizeof costly / sizeof costly[0]; i++) {
        char *res = render_opts(costly[i], NULL, &opt, &st);
        if (res) fail_msg("%s rendered within max_steps %llu", costly[i], (unsigned long long)opt.max_steps);
        assert_int_equal(st, MOTE_E_TEMPLATE);
        if (!strstr(mote_last_error(), "step limit")) fail_msg("%s: %s", costly[i], mote_last_error());
    }
}

/* Operations whose cost is not in their values' memory. */
static void test_limits_one_step(void **state)
{
    (void)state;
    /* repeating an empty sequence a huge number of times is immediate */
    char *res = render("{{ ('' * 1000000000000000)|length }} {{ ([] * 1000000000000000)|length }}", NULL);
    assert_non_null(res);
    assert_string_equal(res, "0 0");
    free(res);

    /* str(), repr() and tojson stop once their buffer is full: a list that
     * holds one list a thousand times, a thousand times over, is small in
     * memory and without end in text */
    jinja_options opt;
    jinja_default_options(&opt);
    opt.max_output = 1 << 20;
    opt.max_memory = 8 << 20;
    const char *const aliased[] = {
        "{% set m = [range(1000)|list] * 1000 %}{{ ([m] * 1000)|tojson|length }}",
        "{% set m = [range(1000)|list] * 1000 %}{{ ([m] * 1000)|string|length }}",
        "{% set m = [range(1000)|list] * 1000 %}{{ [m] * 1000 }}",
    };
    for (size_t i = 0; i < sizeof aliased / sizeof aliased[0]; i++) {
        mote_status st;
        res = render_opts(aliased[i], NULL, &opt, &st);
        if (res) fail_msg("%s rendered", aliased[i]);
        assert_int_equal(st, MOTE_E_TEMPLATE);
    }
}

/* ------------------------------------------------------------------------
 * Reference renderings of real templates
 * ---------------------------------------------------------------------- */

/* A small JSON walker that returns raw value spans, so each case's context
 * reaches the renderer exactly as written (1 and 1.0 stay distinct). */
static size_t js_ws(const char *s, size_t i)
{
    while (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') i++;
    return i;
}

static size_t js_skip(const char *s, size_t i)
{
    i = js_ws(s, i);
    if (s[i] == '"') {
        for (i++; s[i] && s[i] != '"'; i += s[i] == '\\' ? 2 : 1) {}
        return s[i] ? i + 1 : i;
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        do {
            if (s[i] == '"') {
                i = js_skip(s, i);
                continue;
            }
            if (s[i] == '{' || s[i] == '[') depth++;
            else if (s[i] == '}' || s[i] == ']') depth--;
            i++;
        } while (depth > 0 && s[i]);
        return i;
    }
    while (s[i] && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') i++;
    return i;
}

/* Span [*b, *e) of member `key` of the object starting at s[obj]. */
static bool js_member(const char *s, size_t obj, const char *key, size_t *b, size_t *e)
{
    size_t i = js_ws(s, obj) + 1;
    for (;;) {
        i = js_ws(s, i);
        if (s[i] != '"') return false;
        size_t ks = i + 1, ke = js_skip(s, i) - 1;
        i = js_ws(s, ke + 1) + 1; /* past ':' */
        i = js_ws(s, i);
        size_t ve = js_skip(s, i);
        if (ke - ks == strlen(key) && memcmp(s + ks, key, ke - ks) == 0) {
            *b = i;
            *e = ve;
            return true;
        }
        i = js_ws(s, ve);
        if (s[i] != ',') return false;
        i++;
    }
}

static char *span_dup(const char *s, size_t b, size_t e)
{
    char *p = malloc(e - b + 1);
    assert_non_null(p);
    memcpy(p, s + b, e - b);
    p[e - b] = '\0';
    return p;
}

/* A JSON string value as C text (cJSON does the unescaping). */
static char *json_string(const char *s, size_t b, size_t e)
{
    cJSON *j = cJSON_ParseWithLength(s + b, e - b);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    char *r = strdup(j->valuestring);
    cJSON_Delete(j);
    return r;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Run the cases of one expected file; returns failures. */
static int run_expected_file(const char *name, int *n_cases)
{
    char rel[512];
    snprintf(rel, sizeof rel, "templates/expected/%s", name);
    char *doc = read_file(shared_path(rel), NULL);
    assert_non_null(doc);
    size_t b, e, cb, ce;
    assert_true(js_member(doc, 0, "template", &b, &e));
    char *tname = json_string(doc, b, e);
    snprintf(rel, sizeof rel, "templates/%s", tname);
    char *tmpl = read_file(shared_path(rel), NULL);
    assert_non_null(tmpl);
    assert_true(js_member(doc, 0, "cases", &cb, &ce));

    int failures = 0, count = 0;
    size_t i = js_ws(doc, cb) + 1;
    while (js_ws(doc, i) < ce && doc[js_ws(doc, i)] == '{') {
        size_t obj = js_ws(doc, i), end = js_skip(doc, obj);
        count++;
        assert_true(js_member(doc, obj, "id", &b, &e));
        char *id = json_string(doc, b, e);
        assert_true(js_member(doc, obj, "context", &b, &e));
        char *ctx = span_dup(doc, b, e);
        mote_status st;
        char *out = render_opts(tmpl, ctx, NULL, &st);
        if (js_member(doc, obj, "expected", &b, &e)) {
            char *want = json_string(doc, b, e);
            if (!out || strcmp(out, want) != 0) {
                failures++;
                print_message("  %s/%s: %s\n", name, id, out ? "output differs" : mote_last_error());
            }
            free(want);
        } else {
            assert_true(js_member(doc, obj, "error", &b, &e));
            char *want = json_string(doc, b, e);
            if (out || st != MOTE_E_TEMPLATE || !strstr(mote_last_error(), want)) {
                failures++;
                print_message("  %s/%s: expected error \"%s\", got %s\n", name, id, want,
                              out ? "output" : mote_last_error());
            }
            free(want);
        }
        free(out);
        free(ctx);
        free(id);
        i = js_ws(doc, end);
        if (doc[i] == ',') i++;
    }
    print_message("  %-50s %d/%d\n", name, count - failures, count);
    free(tmpl);
    free(tname);
    free(doc);
    *n_cases = count;
    return failures;
}

static void test_expected_files(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char **names;
    size_t n = shared_listed("templates/expected", ".json", &names);
    assert_true(n >= 19);
    int failures = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        int cases;
        failures += run_expected_file(names[i], &cases);
        total += cases;
    }
    free_names(names, n);
    print_message("  expected renderings: %d/%d pass\n", total - failures, total);
    assert_true(total >= 95);
    assert_int_equal(failures, 0);
}

static const char SIMPLE_CONV[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi!\"},"
    " {\"role\": \"assistant\", \"content\": \"Hello.\"}, {\"role\": \"user\", \"content\": \"Grüße 😀\"}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

static const char TOOL_CONV[] =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather in Paris?\"},"
    " {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"id\": \"call00001\", \"type\": \"function\","
    " \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}]},"
    " {\"role\": \"tool\", \"tool_call_id\": \"call00001\", \"name\": \"get_weather\", \"content\": \"21C\"}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather.\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}";

static void test_all_templates_robust(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    char **names;
    size_t n = shared_listed("templates", ".jinja", &names);
    assert_true(n >= 50);
    int ok_simple = 0, ok_tools = 0;
    jinja_options mutable_opt;
    jinja_default_options(&mutable_opt);
    mutable_opt.allow_mutation = 1;
    for (size_t i = 0; i < n; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "templates/%s", names[i]);
        char *tmpl = read_file(shared_path(rel), NULL);
        assert_non_null(tmpl);
        const char *ctxs[2] = {SIMPLE_CONV, TOOL_CONV};
        for (int c = 0; c < 2; c++) {
            for (int mut = 0; mut < 2; mut++) {
                mote_status st;
                char *out = render_opts(tmpl, ctxs[c], mut ? &mutable_opt : NULL, &st);
                if (out) {
                    if (!mut && c) ok_tools++;
                    if (!mut && !c) ok_simple++;
                    free(out);
                } else {
                    /* a clean error: the template status and a message */
                    assert_int_equal(st, MOTE_E_TEMPLATE);
                    assert_true(strlen(mote_last_error()) > 0);
                    if (!mut) print_message("  %s (%s): %s\n", names[i], c ? "tools" : "simple", mote_last_error());
                }
            }
        }
        free(tmpl);
    }
    print_message("  %zu templates: %d render the plain conversation, %d the tool conversation\n", n, ok_simple,
                  ok_tools);
    assert_true(ok_simple >= (int)n - 3);
    assert_true(ok_tools >= (int)n - 10);
    free_names(names, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_printing),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_slicing),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_scoping),
        cmocka_unit_test(test_macros),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_tojson),
        cmocka_unit_test(test_tests),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_errors_have_positions),
        cmocka_unit_test(test_sandbox_mutation),
        cmocka_unit_test(test_context_json),
        cmocka_unit_test(test_public_api),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_limits_one_step),
        cmocka_unit_test(test_expected_files),
        cmocka_unit_test(test_all_templates_robust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
