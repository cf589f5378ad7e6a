// mcp.mjs MOTE MODEL — `mote mcp` (the memory's tools over the Model
// Context Protocol on stdio) driven by the official MCP clients: the SDK's
// Client over StdioClientTransport (which checks the initialize result and
// validates structured content against the tool's outputSchema), the
// inspector's CLI, and raw lines on the process's stdin. MODEL is
// stories260K (it answers memory_ask); the embedding model that fills the
// memory is beside it in the shared folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { check } from './serve.mjs';

const [moteArg, modelArg] = process.argv.slice(2);
const mote = resolve(moteArg), model = resolve(modelArg);
const shared = dirname(dirname(model));
const embed = `${shared}/models/embed/synth-nomic-bert-Q8_0.gguf`;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const modules = join(repo, 'tests/node_modules');
const inspector = join(modules, '@modelcontextprotocol/inspector-cli/build');

// A tests/node_modules installed before these packages were added: skip,
// as run.sh does for a missing piece (MOTE_REQUIRE_NODE=1: fail).
const absent = ['@modelcontextprotocol/sdk', '@modelcontextprotocol/inspector-cli']
  .filter((p) => !existsSync(join(modules, p, 'package.json')));
if (!existsSync(embed)) absent.push(embed);
if (absent.length) {
  const why = `tests/js/mcp.mjs: ${absent.join(', ')} absent (npm ci --prefix tests; the shared models)`;
  console.log(`${process.env.MOTE_REQUIRE_NODE === '1' ? 'FAIL' : 'SKIP'}: ${why}`);
  process.exit(process.env.MOTE_REQUIRE_NODE === '1' ? 1 : 0);
}
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
const { ErrorCode, McpError } = await import('@modelcontextprotocol/sdk/types.js');

const tmp = mkdtempSync(join(tmpdir(), 'mote-mcp-'));
const store = join(tmp, 'memory');

// A memory of the fixtures (tests/memory/README says what they hold).
const add = spawnSync(mote, ['memory', 'add', join(repo, 'tests/memory'), '--embed-model', embed, '--store', store],
  { encoding: 'utf8' });
check(add.status === 0, `mote memory add: ${add.status}\n${add.stderr}`);

async function rejects(promise, what) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: no error`);
}

async function viaSdk() {
  const transport = new StdioClientTransport({ command: mote, args: ['mcp', '--store', store, '-m', model], stderr: 'pipe' });
  let stderr = '';
  transport.stderr.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'mote-test', version: '1' });
  await client.connect(transport);
  try {
    const info = client.getServerVersion();
    check(info.name === 'mote' && /^\d+\.\d+\.\d+/.test(info.version), `serverInfo ${JSON.stringify(info)}`);
    check(/nothing leaves the device/.test(client.getInstructions()), 'instructions');
    check(client.getServerCapabilities().tools, 'tools capability');

    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    check(tools.length === 2 && byName.memory_search && byName.memory_ask, `tools ${tools.map((t) => t.name)}`);
    const search = byName.memory_search, ask = byName.memory_ask;
    check(search.inputSchema.type === 'object' && search.inputSchema.required.includes('query'), 'search inputSchema');
    check(search.inputSchema.properties.k.minimum === 1 && search.inputSchema.properties.k.maximum === 50, 'k range');
    check(search.inputSchema.properties.kind.enum.includes('mail'), 'kind enum');
    check(ask.inputSchema.type === 'object' && ask.inputSchema.required.includes('question'), 'ask inputSchema');
    check(search.outputSchema?.type === 'object' && ask.outputSchema?.type === 'object', 'outputSchemas');
    const ajv = new Ajv({ strict: false });
    for (const t of tools) ajv.compile(t.inputSchema), ajv.compile(t.outputSchema);
    const validSearch = ajv.compile(search.outputSchema), validAsk = ajv.compile(ask.outputSchema);

    // memory_search: text and structured hits (the SDK validated them too)
    const r = await client.callTool({ name: 'memory_search', arguments: { query: 'boiler technician' } });
    const text = r.content[0].text;
    check(!r.isError && r.content[0].type === 'text', 'search result');
    check(/mail\.mbox/.test(text) && /boiler-1@example\.org/.test(text), `search text:\n${text}`);
    check(/^\[1\] \S+mail\.mbox <boiler-1@example\.org> .* — Boiler service\n/.test(text), `first hit:\n${text.slice(0, 300)}`);
    check(validSearch(r.structuredContent), `structuredContent: ${ajv.errorsText(validSearch.errors)}`);
    const hits = r.structuredContent.hits;
    check(hits.length === 8 && hits[0].message_id === 'boiler-1@example.org' && hits[0].kind === 'mail', 'hits');
    check(hits.every((h, i) => h.rank === i + 1 && text.includes(`[${i + 1}] ${h.citation}`)), 'hits as in the text');

    // k and the filters
    const k2 = await client.callTool({ name: 'memory_search', arguments: { query: 'boiler technician', k: 2 } });
    check(k2.structuredContent.hits.length === 2 && !/\[3\]/.test(k2.content[0].text), 'k 2');
    const md = await client.callTool({ name: 'memory_search', arguments: { query: 'install', kind: 'markdown', k: 50 } });
    check(md.structuredContent.hits.length > 0 && md.structuredContent.hits.every((h) => h.kind === 'markdown'), 'kind markdown');
    const src = await client.callTool({ name: 'memory_search', arguments: { query: 'reading', source: join(repo, 'tests/memory/sensors') } });
    check(src.structuredContent.hits.length > 0 && src.structuredContent.hits.every((h) => h.source.includes('/tests/memory/sensors')), 'source prefix');
    const day = await client.callTool({ name: 'memory_search', arguments: { query: 'kitchen temperature', since: '2026-11-21T14:00', until: '2026-11-21T15:00' } });
    check(day.structuredContent.hits.length > 0 && day.structuredContent.hits.every((h) => h.t_lo > 0), 'since/until');
    const none = await client.callTool({ name: 'memory_search', arguments: { query: 'boiler', since: '2030-01-01' } });
    check(!none.isError && none.structuredContent.hits.length === 0 && /Nothing/.test(none.content[0].text), 'no hits');

    // memory_ask: stories260K's answer, then the sources
    const a = await client.callTool({ name: 'memory_ask', arguments: { question: 'When does the technician come?', k: 3 } });
    const at = a.content[0].text;
    check(!a.isError && /\n\nSources:\n[ *]\[1\] /.test(at) && /\[3\]/.test(at) && !/\[4\]/.test(at), `ask text:\n${at}`);
    check(validAsk(a.structuredContent) && a.structuredContent.sources.length === 3, 'ask structuredContent');

    // bad arguments: invalid params, naming the argument
    for (const [name, args, arg] of [
      ['memory_search', {}, 'query'],
      ['memory_search', { query: 3 }, 'query'],
      ['memory_search', { query: 'x', k: 0 }, 'k'],
      ['memory_search', { query: 'x', k: 51 }, 'k'],
      ['memory_search', { query: 'x', k: '2' }, 'k'],
      ['memory_search', { query: 'x', kind: 'video' }, 'kind'],
      ['memory_search', { query: 'x', since: 'yesterday' }, 'since'],
      ['memory_search', { query: 'x', color: 'red' }, 'color'],
      ['memory_ask', { k: 2 }, 'question'],
    ]) {
      const e = await rejects(client.callTool({ name, arguments: args }), `${name} ${JSON.stringify(args)}`);
      check(e instanceof McpError && e.code === ErrorCode.InvalidParams && e.message.includes(`'${arg}'`),
        `${name} ${JSON.stringify(args)}: ${e.code} ${e.message}`);
    }
    const u = await rejects(client.callTool({ name: 'nope', arguments: {} }), 'unknown tool');
    check(u instanceof McpError && /Unknown tool/.test(u.message), `unknown tool: ${u.message}`);
    check(JSON.stringify(await client.ping()) === '{}', 'ping');
  } catch (e) {
    e.message += `\n(mote mcp's stderr:)\n${stderr}`;
    throw e;
  } finally {
    await client.close();
  }
}

// memory_ask without -m: a tool error saying so (and the SDK accepts it
// without structured content).
async function withoutModel() {
  const client = new Client({ name: 'mote-test', version: '1' });
  await client.connect(new StdioClientTransport({ command: mote, args: ['mcp', '--store', store], stderr: 'ignore' }));
  try {
    await client.listTools();
    const r = await client.callTool({ name: 'memory_ask', arguments: { question: 'When?' } });
    check(r.isError === true && /-m MODEL/.test(r.content[0].text) && !r.structuredContent, `ask without -m: ${r.content[0].text}`);
  } finally {
    await client.close();
  }
}

// The inspector's CLI. Its 1.0.3 finds its own package.json through a path
// relative to the working folder, so it runs from its build folder.
function inspect(...args) {
  const r = spawnSync('node', ['cli.js', '--cli', mote, 'mcp', '--store', store, ...args],
    { cwd: inspector, encoding: 'utf8', timeout: 60000 });
  check(r.status === 0, `inspector ${args.join(' ')}: ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function viaInspector() {
  const list = inspect('--method', 'tools/list');
  check(list.tools.map((t) => t.name).sort().join() === 'memory_ask,memory_search', 'inspector tools/list');
  const r = inspect('--method', 'tools/call', '--tool-name', 'memory_search', '--tool-arg', 'query=boiler', 'k=3');
  check(r.isError === false && /boiler-1@example\.org/.test(r.content[0].text), 'inspector tools/call text');
  check(r.structuredContent.hits.length === 3 && r.structuredContent.hits[0].source.endsWith('mail.mbox'), 'inspector hits');
}

// Raw lines: each gets its answer on a line of its own, nothing else on
// stdout, and the end of stdin ends the process with status 0.
async function raw() {
  const child = spawn(mote, ['mcp', '--store', store], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((res) => child.on('exit', (code, sig) => res(code ?? sig)));
  child.stdin.end([
    '{"jsonrpc":"2.0","id":1,"method":',
    '[{"jsonrpc":"2.0","id":2,"method":"ping"}]',
    '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    '{"jsonrpc":"2.0","id":"three","method":"tools/call","params":{"name":"memory_search","arguments":{"query":"dentist","k":1}}}',
    '{"jsonrpc":"2.0","id":4,"method":"nope"}',
    '',
  ].join('\n'));
  const status = await exited;
  check(status === 0, `exit status ${status}\n${err}`);
  check(out.endsWith('\n'), 'the last answer ends its line');
  const lines = out.slice(0, -1).split('\n').map((l) => JSON.parse(l));
  check(lines.length === 4, `4 answers, got ${lines.length}:\n${out}`);
  check(lines.every((m) => m.jsonrpc === '2.0'), 'jsonrpc 2.0');
  check(lines[0].id === null && lines[0].error.code === -32700, `malformed: ${JSON.stringify(lines[0])}`);
  check(lines[1].id === null && lines[1].error.code === -32600, `batch: ${JSON.stringify(lines[1])}`);
  check(lines[2].id === 'three' && /dent-4@example\.com/.test(lines[2].result.content[0].text), 'a valid request');
  check(lines[3].id === 4 && lines[3].error.code === -32601, `unknown method: ${JSON.stringify(lines[3])}`);
}

// No memory there: a message and status 1 before any protocol.
function noStore() {
  const r = spawnSync(mote, ['mcp', '--store', join(tmp, 'none')], { input: '', encoding: 'utf8' });
  check(r.status === 1 && r.stdout === '' && /no memory there/.test(r.stderr), `no store: ${r.status} ${r.stderr}`);
}

try {
  await viaSdk();
  await withoutModel();
  viaInspector();
  await raw();
  noStore();
  console.log('mcp: ok');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
