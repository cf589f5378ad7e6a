// memory.mjs MOTE MODEL — the private memory behind `mote serve --memory`:
// POST /v1/memory/search (known answers), /v1/memory/add (a new file is
// found after it), /v1/memory/ask (a chat completion with its sources,
// whole and streamed) and their errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startServer, check } from './serve.mjs';

const [moteBin, chatModel] = process.argv.slice(2);
const shared = dirname(dirname(chatModel));
const dir = mkdtempSync(join(tmpdir(), 'mote-memjs-'));
const store = join(dir, 'store');
execFileSync(moteBin, ['memory', 'add', 'tests/memory', '--store', store, '--embed-model',
  `${shared}/models/embed/synth-nomic-bert-Q8_0.gguf`], { stdio: ['ignore', 'ignore', 'ignore'] });

const server = await startServer(moteBin, [chatModel, '--memory', store]);
const post = async (path, body) => {
  const r = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
};
try {
  // search: the boiler mail first, with its citation
  let r = await post('/v1/memory/search', { query: 'technician boiler', k: 3 });
  check(r.status === 200, `search: ${r.status} ${r.text}`);
  let j = JSON.parse(r.text);
  check(j.object === 'list' && j.data.length === 3, 'search shape');
  check(j.data[0].message_id === 'boiler-1@example.org' && j.data[0].citation.includes('<boiler-1@example.org>'),
    `search's first hit: ${j.data[0].citation}`);
  r = await post('/v1/memory/search', { query: 'kitchen', kind: 'sensor', since: '2026-11-21T14:00', until: '2026-11-21T15:00' });
  j = JSON.parse(r.text);
  check(j.data.length > 0 && j.data.every((h) => h.kind === 'sensor'), 'search filters');

  // add: a new file, then found
  const note = join(dir, 'new-note.md');
  writeFileSync(note, '# Shed\n\nThe lawnmower key hangs behind the shed door.\n');
  r = await post('/v1/memory/add', { paths: [note] });
  check(r.status === 200 && JSON.parse(r.text).added === 1, `add: ${r.text}`);
  j = JSON.parse((await post('/v1/memory/search', { query: 'lawnmower key', mode: 'bm25' })).text);
  check(j.data[0].source === note && j.data[0].title === 'Shed', 'the added file is found');

  // ask: a chat completion with the sources
  r = await post('/v1/memory/ask', { question: 'When does the technician service the boiler?', max_tokens: 12 });
  check(r.status === 200, `ask: ${r.status} ${r.text}`);
  j = JSON.parse(r.text);
  check(j.object === 'chat.completion' && typeof j.choices[0].message.content === 'string', 'ask shape');
  check(j.sources.length >= 1 && j.sources[0].message_id === 'boiler-1@example.org', 'ask sources');
  check(j.usage.completion_tokens > 0, 'ask usage');

  // ask, streamed: the first chunk carries the sources; [DONE] ends it
  const s = await fetch(`${server.url}/v1/memory/ask`, {
    method: 'POST', body: JSON.stringify({ question: 'boiler', max_tokens: 8, stream: true }),
  });
  const events = (await s.text()).split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  check(events.at(-1) === '[DONE]', 'stream ends with [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  check(chunks[0].object === 'chat.completion.chunk' && chunks[0].sources?.length >= 1, 'first chunk has the sources');
  check(chunks.slice(1).every((c) => c.sources === undefined), 'only the first chunk has them');
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  check(text.length > 0, 'streamed text');

  // errors
  for (const [path, body, status, what] of [
    ['/v1/memory/search', {}, 400, 'no query'],
    ['/v1/memory/search', { query: 'x', kind: 'video' }, 400, 'bad kind'],
    ['/v1/memory/search', { query: 'x', k: 0 }, 400, 'bad k'],
    ['/v1/memory/add', { paths: [] }, 400, 'no paths'],
    ['/v1/memory/ask', { question: '' }, 400, 'empty question'],
    ['/v1/memory/ask', { question: 'x', model: 'nope' }, 404, 'unknown model'],
  ]) {
    r = await post(path, body);
    check(r.status === status && JSON.parse(r.text).error, `${what}: ${r.status} ${r.text}`);
  }
  const bad = await fetch(`${server.url}/v1/memory/search`, { method: 'POST', body: '{"query": ' });
  check(bad.status === 400, 'malformed JSON');
  console.log('memory: ok');
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
