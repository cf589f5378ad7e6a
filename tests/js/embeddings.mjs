// embeddings.mjs MOTE MODEL — POST /v1/embeddings through the official
// `openai` npm client (which asks for base64 and decodes it) and plain
// fetch: vectors equal llama.cpp's goldens, order and usage, float and
// base64 alike, Matryoshka `dimensions`, concurrent requests, several
// embedding models beside a generating one, and the errors.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import OpenAI from 'openai';
import { startServer, check } from './serve.mjs';

const [moteBin, chatModel] = process.argv.slice(2);
const shared = dirname(dirname(chatModel));
const nomic = `${shared}/models/embed/synth-nomic-bert-Q8_0.gguf`;
const qwen = `${shared}/models/embed/synth-qwen3-embed-F32.gguf`;

function golden(name) {
  const rows = {};
  for (const line of readFileSync(`${shared}/golden/embed/${name}.embed.tsv`, 'utf8').split('\n')) {
    if (!line) continue;
    const [key, text, ids, vec] = line.split('\t');
    rows[key] = { text, n: ids.split(' ').length, vec: vec.split(' ').map(Number) };
  }
  return rows;
}

function close(a, b, tol, what) {
  check(a.length === b.length, `${what}: ${a.length} floats, want ${b.length}`);
  const d = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  check(d <= tol, `${what}: max |diff| ${d} > ${tol}`);
}

const g = golden('synth-nomic-bert-Q8_0'), gq = golden('synth-qwen3-embed-F32');
const server = await startServer(moteBin, [nomic, qwen, chatModel]);
try {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const texts = ['p1', 'p2', 'p3', 'p4', 'p5'].map((k) => g[k].text);

  // the client's default: base64, decoded by it
  const r = await client.embeddings.create({ model: 'synth-nomic-bert-Q8_0', input: texts });
  check(r.object === 'list' && r.data.length === 5 && r.model === 'synth-nomic-bert-Q8_0', 'list shape');
  r.data.forEach((d, i) => {
    check(d.object === 'embedding' && d.index === i, `item ${i} shape`);
    close(d.embedding, g[`p${i + 1}`].vec, 1e-4, `nomic p${i + 1} (base64)`);
  });
  const tokens = Object.values(g).reduce((n, c) => n + c.n, 0);
  check(r.usage.prompt_tokens === tokens && r.usage.total_tokens === tokens, `usage ${r.usage.prompt_tokens}, want ${tokens}`);

  // floats, one string
  const f = await client.embeddings.create({ model: 'synth-nomic-bert-Q8_0', input: g.p3.text, encoding_format: 'float' });
  close(f.data[0].embedding, g.p3.vec, 1e-4, 'nomic p3 (float)');

  // a decoder embedder (last token) beside it
  const q = await client.embeddings.create({ model: 'synth-qwen3-embed-F32', input: [gq.p1.text, gq.p4.text] });
  close(q.data[0].embedding, gq.p1.vec, 1e-4, 'qwen3 p1');
  close(q.data[1].embedding, gq.p4.vec, 1e-4, 'qwen3 p4');

  // dimensions: the prefix, unit length again
  const d16 = await client.embeddings.create({ model: 'synth-nomic-bert-Q8_0', input: g.p1.text, dimensions: 16 });
  const v = d16.data[0].embedding;
  const norm = Math.hypot(...g.p1.vec.slice(0, 16));
  check(v.length === 16, 'dimensions 16');
  close(v, g.p1.vec.slice(0, 16).map((x) => x / norm), 1e-4, 'dimensions 16 renormalised');

  // concurrent requests: each gets its own texts' vectors
  const many = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      client.embeddings.create({ model: 'synth-nomic-bert-Q8_0', input: g[`p${(i % 5) + 1}`].text, encoding_format: 'float' })));
  many.forEach((m, i) => close(m.data[0].embedding, g[`p${(i % 5) + 1}`].vec, 1e-4, `concurrent ${i}`));

  // errors: a generating model, an embedding model asked to chat, token ids, unknown model, too many dimensions
  const chatId = chatModel.split('/').pop().replace(/\.gguf$/, '');
  for (const [req, cls, status, what] of [
    [{ model: chatId, input: 'x' }, OpenAI.BadRequestError, 400, 'a generating model'],
    [{ model: 'synth-nomic-bert-Q8_0', input: [[1, 2, 3]] }, OpenAI.BadRequestError, 400, 'token ids'],
    [{ model: 'synth-nomic-bert-Q8_0', input: [] }, OpenAI.BadRequestError, 400, 'no input'],
    [{ model: 'synth-nomic-bert-Q8_0', input: 'x', dimensions: 65 }, OpenAI.BadRequestError, 400, 'dimensions'],
    [{ model: 'nope', input: 'x' }, OpenAI.NotFoundError, 404, 'unknown model'],
  ]) {
    try {
      await client.embeddings.create(req);
      throw new Error(`${what}: no error`);
    } catch (e) {
      check(e instanceof cls && e.status === status, `${what}: ${e.constructor.name} ${e.status}`);
    }
  }
  try {
    await client.chat.completions.create({ model: 'synth-nomic-bert-Q8_0', messages: [{ role: 'user', content: 'hi' }] });
    throw new Error('chat with an embedding model: no error');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && /embedding model/.test(e.message), `chat with an embedding model: ${e.message}`);
  }
  // malformed JSON through fetch
  const bad = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{"input": [' });
  check(bad.status === 400, `malformed JSON: ${bad.status}`);
  console.log('embeddings: ok');
} finally {
  await server.stop();
}
