// openai_client.mjs MOTE MODEL — the official `openai` npm client against
// `mote serve`: models, chat (whole and streamed), completions (whole and
// streamed), structured output that validates, tool calls (whole and
// streamed, and the tool's answer back), errors as the client's error
// classes, and the API key.
import { createRequire } from 'node:module';
import OpenAI from 'openai';
import { startServer, check } from './serve.mjs';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const [moteBin, modelPath] = process.argv.slice(2);
const id = modelPath.split('/').pop().replace(/\.gguf$/, '');

async function expectError(promise, cls, status, what) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof cls && e.status === status, `${what}: ${e.constructor.name} ${e.status}, want ${cls.name} ${status}`);
    return e;
  }
  throw new Error(`${what}: no error`);
}

let server = await startServer(moteBin, [modelPath]);
try {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  const models = await client.models.list();
  check(models.data.some((m) => m.id === id && m.object === 'model'), 'models.list names the model');

  const messages = [{ role: 'user', content: 'Tell me a story.' }];
  const chat = await client.chat.completions.create({ model: id, messages, temperature: 0, max_tokens: 24 });
  check(chat.object === 'chat.completion' && chat.choices[0].message.role === 'assistant', 'chat shape');
  check(typeof chat.choices[0].message.content === 'string' && chat.choices[0].message.content.length > 0, 'chat text');
  check(chat.usage.completion_tokens > 0 && chat.usage.total_tokens === chat.usage.prompt_tokens + chat.usage.completion_tokens, 'chat usage');

  let streamed = '', finish = null, usage = null;
  const stream = await client.chat.completions.create({
    model: id, messages, temperature: 0, max_tokens: 24, stream: true, stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      streamed += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  check(streamed === chat.choices[0].message.content, `stream '${streamed}' equals the answer '${chat.choices[0].message.content}'`);
  check(finish === chat.choices[0].finish_reason && usage?.completion_tokens === chat.usage.completion_tokens, 'stream end and usage');

  const cmpl = await client.completions.create({ model: id, prompt: 'Once upon a time', temperature: 0, max_tokens: 20 });
  check(cmpl.object === 'text_completion' && cmpl.choices[0].text.length > 0, 'completion');
  let ctext = '';
  for await (const chunk of await client.completions.create({
    model: id, prompt: 'Once upon a time', temperature: 0, max_tokens: 20, stream: true,
  }))
    ctext += chunk.choices[0]?.text ?? '';
  check(ctext === cmpl.choices[0].text, 'streamed completion equals the whole one');

  const schema = {
    type: 'object',
    properties: { title: { type: 'string', maxLength: 24 }, pages: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' }, maxItems: 3 } },
    required: ['title', 'pages'],
    additionalProperties: false,
  };
  const validate = new Ajv().compile(schema);
  let valid = 0;
  for (let seed = 1; seed <= 4; seed++) {
    const r = await client.chat.completions.create({
      model: id, messages: [{ role: 'user', content: 'A book, as JSON.' }], seed, max_tokens: 200,
      response_format: { type: 'json_schema', json_schema: { name: 'book', strict: true, schema } },
    });
    if (r.choices[0].finish_reason !== 'stop') continue;
    const value = JSON.parse(r.choices[0].message.content);
    check(validate(value), `json_schema answer validates: ${r.choices[0].message.content}`);
    valid++;
  }
  check(valid > 0, 'some json_schema answers ended and validated');

  // tools: a forced call comes back as tool_calls whose arguments validate
  // against the function's parameters, whole and streamed; the tool's
  // answer goes back in; bad tools are refused by name
  const parameters = {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 16 }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  };
  const tools = [
    { type: 'function', function: { name: 'get_weather', description: 'The weather in a city now.', parameters } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  ];
  const validArgs = new Ajv().compile(parameters);
  const ask = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const named = { type: 'function', function: { name: 'get_weather' } };
  const call = await client.chat.completions.create({ model: id, messages: ask, tools, tool_choice: named, seed: 7, max_tokens: 200 });
  const msg = call.choices[0].message;
  check(call.choices[0].finish_reason === 'tool_calls', `a forced call ends with tool_calls, got ${call.choices[0].finish_reason}`);
  check(msg.tool_calls?.length === 1 && msg.tool_calls[0].type === 'function' && msg.tool_calls[0].function.name === 'get_weather',
    `one call of get_weather: ${JSON.stringify(msg)}`);
  check(typeof msg.tool_calls[0].id === 'string' && msg.tool_calls[0].id.startsWith('call_'), 'the call has an id');
  const args = JSON.parse(msg.tool_calls[0].function.arguments);
  check(validArgs(args), `the arguments validate: ${msg.tool_calls[0].function.arguments}`);

  const parts = [];
  let toolFinish = null;
  for await (const chunk of await client.chat.completions.create({
    model: id, messages: ask, tools, tool_choice: named, seed: 7, max_tokens: 200, stream: true,
  }))
    for (const c of chunk.choices) {
      for (const d of c.delta.tool_calls ?? []) {
        parts[d.index] ??= { id: d.id, name: '', arguments: '' };
        parts[d.index].name += d.function?.name ?? '';
        parts[d.index].arguments += d.function?.arguments ?? '';
      }
      toolFinish = c.finish_reason ?? toolFinish;
    }
  check(toolFinish === 'tool_calls' && parts.length === 1 && parts[0].name === 'get_weather' &&
    parts[0].arguments === msg.tool_calls[0].function.arguments, `the streamed call equals the whole one: ${JSON.stringify(parts)}`);

  const anyTool = await client.chat.completions.create({ model: id, messages: ask, tools, tool_choice: 'required', seed: 3, max_tokens: 200 });
  const anyCall = anyTool.choices[0].message.tool_calls?.[0];
  check(anyTool.choices[0].finish_reason === 'tool_calls' && ['get_weather', 'get_time'].includes(anyCall?.function.name),
    `required: some tool is called: ${JSON.stringify(anyTool.choices[0].message)}`);

  const answered = await client.chat.completions.create({
    model: id, tools, max_tokens: 16, temperature: 0,
    messages: [...ask, msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '18 degrees and sunny' }],
  });
  check(answered.usage.prompt_tokens > call.usage.prompt_tokens, 'the call and the tool answer are part of the next prompt');
  check(['stop', 'length', 'tool_calls'].includes(answered.choices[0].finish_reason), 'a reply after the tool answer');

  const badTool = await expectError(client.chat.completions.create({
    model: id, messages, tools: [{ type: 'function', function: { name: 'no spaces' } }],
  }), OpenAI.BadRequestError, 400, 'a bad tool name');
  check(badTool.param === 'tools', 'the bad tool is named');
  const badChoice = await expectError(client.chat.completions.create({
    model: id, messages, tools, tool_choice: { type: 'function', function: { name: 'nope' } },
  }), OpenAI.BadRequestError, 400, 'tool_choice of an unknown tool');
  check(badChoice.param === 'tool_choice', 'the bad tool_choice is named');

  await expectError(client.chat.completions.create({ model: 'nope', messages }), OpenAI.NotFoundError, 404, 'unknown model');
  await expectError(client.chat.completions.create({ model: id, messages, n: 2 }), OpenAI.BadRequestError, 400, 'n = 2');
  const long = await expectError(client.completions.create({ model: id, prompt: 'word '.repeat(5000), max_tokens: 4 }),
    OpenAI.BadRequestError, 400, 'a prompt past the context');
  check(long.code === 'context_length_exceeded', `context_length_exceeded, got ${long.code}`);
  await expectError(client.chat.completions.create({ model: id, messages, temperature: 'hot' }), OpenAI.BadRequestError, 400, 'wrong type');
} finally {
  await server.stop();
}

server = await startServer(moteBin, [modelPath, '--api-key', 'sesame-42']);
try {
  const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sesame-41', maxRetries: 0 });
  await expectError(bad.models.list(), OpenAI.AuthenticationError, 401, 'a wrong key');
  const good = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sesame-42', maxRetries: 0 });
  check((await good.models.list()).data.length === 1, 'the right key');
} finally {
  await server.stop();
}
console.log('openai client: models, chat, stream, completions, json_schema, tool calls, errors, API key: ok');
