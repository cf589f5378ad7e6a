// schema_suite.mjs MOTE MODEL — structured output against the JSON Schema
// Test Suite (npm json-schema-test-suite, draft 4, optional tests too).
//
// Every schema of the suite goes to POST /v1/chat/completions as a
// response_format json_schema. A schema mote accepts must give answers
// that validate with ajv (several seeds; an answer cut by max_tokens is
// counted, not validated); a schema it refuses must get a 400
// unsupported_schema whose message quotes a keyword the schema uses.
// Anything else fails the script.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, check } from './serve.mjs';

const require = createRequire(import.meta.url);
const Ajv = require('ajv-draft-04');
const suiteDir = join(require.resolve('json-schema-test-suite/package.json'), '..', 'tests', 'draft4');

const [moteBin, model] = process.argv.slice(2);
const SEEDS = 3;

function files(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...files(join(dir, e.name)));
    else if (e.name.endsWith('.json')) out.push(join(dir, e.name));
  }
  return out.sort();
}

// Does the schema use the keyword (as a member name anywhere, or the false schema)?
function uses(schema, kw) {
  if (kw === 'false') return JSON.stringify(schema).includes('false');
  let found = false;
  (function walk(v) {
    if (found || v === null || typeof v !== 'object') return;
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, kw)) found = true;
    for (const x of Object.values(v)) walk(x);
  })(schema);
  return found;
}

const server = await startServer(moteBin, [model, '--parallel', '2']);
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false });
const stats = { schemas: 0, accepted: 0, refused: 0, valid: 0, cut: 0, keywords: {} };
const failures = [];
try {
  for (const file of files(suiteDir)) {
    const groups = JSON.parse(readFileSync(file, 'utf8'));
    for (const group of groups) {
      stats.schemas++;
      const where = `${file.split('draft4/')[1]}: ${group.description}`;
      let validate;
      try {
        validate = ajv.compile(group.schema);
      } catch (e) {
        continue; // ajv itself cannot take it (remote refs): nothing to hold mote to
      }
      let accepted = null;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const res = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            messages: [{ role: 'user', content: 'Answer in JSON.' }],
            seed,
            temperature: 1.0,
            max_tokens: 160,
            response_format: { type: 'json_schema', json_schema: { name: 'suite', schema: group.schema } },
          }),
        });
        const body = await res.json();
        if (res.status === 400) {
          const kw = (body.error?.message ?? '').match(/'([^']+)'/)?.[1];
          if (body.error?.code !== 'unsupported_schema' || !kw || !uses(group.schema, kw))
            failures.push(`${where}: a 400 that names no keyword of the schema: ${JSON.stringify(body)}`);
          else stats.keywords[kw] = (stats.keywords[kw] ?? 0) + 1;
          accepted = false;
          break;
        }
        if (res.status !== 200) {
          failures.push(`${where}: status ${res.status}: ${JSON.stringify(body)}`);
          break;
        }
        accepted = true;
        const choice = body.choices[0];
        if (choice.finish_reason !== 'stop') {
          stats.cut++;
          continue;
        }
        let value;
        try {
          value = JSON.parse(choice.message.content);
        } catch (e) {
          failures.push(`${where}: seed ${seed}: not JSON: ${choice.message.content}`);
          continue;
        }
        if (!validate(value))
          failures.push(`${where}: seed ${seed}: ${choice.message.content} does not validate: ${JSON.stringify(validate.errors)}`);
        else stats.valid++;
      }
      if (accepted === true) stats.accepted++;
      if (accepted === false) stats.refused++;
    }
  }
} finally {
  await server.stop();
}
console.log(`schema suite: ${stats.schemas} schemas; ${stats.accepted} accepted, ${stats.refused} refused ` +
  `(${Object.entries(stats.keywords).map(([k, n]) => `${k} ${n}`).join(', ')}); ` +
  `${stats.valid} answers validated, ${stats.cut} cut by max_tokens`);
check(stats.valid > 0, 'some answers were validated');
if (failures.length) {
  for (const f of failures) console.log(`FAIL: ${f}`);
  process.exit(1);
}
