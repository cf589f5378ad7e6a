// chat_page.mjs MOTE MODEL OUTDIR — the chat page at GET / in headless
// Chromium (Debian's chromium, driven by playwright-core): the model picker
// lists the model, a message sent gets an answer that streams in (several
// updates) and shows in a screenshot (the answer's pixels are text, not an
// empty box), the conversation survives a reload, Stop ends a long answer
// and the server stops generating, and the page logs no error. The
// screenshot is left in OUTDIR/chat_page.png.
import { chromium } from 'playwright-core';
import { inflateSync } from 'node:zlib';
import { startServer, check } from './serve.mjs';

const [moteBin, modelPath, outDir] = process.argv.slice(2);
const id = modelPath.split('/').pop().replace(/\.gguf$/, '');

// The distinct colours of a PNG (8-bit RGB or RGBA, as Chromium writes
// them): text anti-aliased on a background has many, an empty box one or two.
function pngColours(buf) {
  check(buf.subarray(1, 4).toString() === 'PNG', 'a PNG screenshot');
  let at = 8, width = 0, height = 0, channels = 0;
  const idat = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at), type = buf.subarray(at + 4, at + 8).toString();
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      check(data[8] === 8 && (data[9] === 2 || data[9] === 6) && data[12] === 0, 'an 8-bit RGB(A) PNG');
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat)), stride = width * channels;
  const prev = Buffer.alloc(stride), cur = Buffer.alloc(stride), colours = new Set();
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels] : 0, b = prev[x], c = x >= channels ? prev[x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : f === 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
      cur[x] = (row[x] + pred) & 255;
    }
    for (let x = 0; x < stride; x += channels) colours.add(cur.readUIntBE(x, 3));
    cur.copy(prev);
  }
  return colours.size;
}

async function running(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('mote_requests_running')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const server = await startServer(moteBin, [modelPath]);
// and one with a long context, so that an answer is still streaming when
// Stop is clicked
const long = await startServer(moteBin, [modelPath, '-c', '4096']);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-models="1"]');
  check(await page.$eval('#model', (s) => s.value) === id, 'the model picker lists the model');

  await page.evaluate(() => {
    window.updates = 0;
    new MutationObserver(() => window.updates++).observe(document.getElementById('log'), { childList: true, subtree: true, characterData: true });
  });
  await page.fill('#input', 'Tell me a story about a dog.');
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.assistant[data-done="1"]', { timeout: 120000 });
  const answer = (await page.$eval('.msg.assistant', (d) => d.textContent)).trim();
  check(answer.length > 20, `an answer appears: '${answer}'`);
  check(await page.evaluate(() => window.updates) > 5, 'the answer streamed in several updates');
  check((await page.$$('.msg.user')).length === 1, 'the message is shown');
  await page.screenshot({ path: `${outDir}/chat_page.png` });
  const shot = await (await page.$('.msg.assistant')).screenshot();
  const colours = pngColours(shot);
  check(colours > 8, `the answer's box shows text (${colours} colours)`);
  const empty = await page.screenshot({ clip: { x: 300, y: 8, width: 20, height: 20 } }); // the header, between title and picker
  check(pngColours(empty) <= 2, 'an empty part of the page is one colour (the check can fail)');

  await page.reload();
  await page.waitForSelector('.msg.assistant');
  check((await page.$$('.msg')).length === 2, 'the conversation survives a reload');
  check((await page.$eval('.msg.assistant', (d) => d.textContent)).includes(answer.slice(0, 20)), 'with its answer');

  await page.click('#new');
  check((await page.$$('.msg')).length === 0, 'New chat empties the conversation');
  await page.goto(`${long.url}/`);
  await page.waitForSelector('body[data-models="1"]');
  await page.fill('#input', 'Once upon a time');
  await page.press('#input', 'Enter');
  await page.waitForSelector('body[data-state="streaming"]');
  await page.waitForFunction(() => (document.querySelector('.msg.assistant')?.textContent.length ?? 0) > 10);
  await page.click('#stop');
  await page.waitForSelector('.msg.assistant[data-done="1"]');
  check(await page.$eval('.msg.assistant .meta', (d) => d.textContent) === 'stopped', 'Stop ends the answer');
  check(await page.$eval('#send', (b) => !b.disabled), 'and the page takes a new message');
  let n = 1;
  for (let i = 0; i < 100 && (n = await running(long.url)) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  check(n === 0, 'the server stopped generating');

  check(errors.length === 0, `no errors in the page: ${errors.join('; ')}`);
} finally {
  await browser.close();
  await server.stop();
  await long.stop();
}
console.log('chat page: model picker, streamed answer on screen, reload, stop: ok');
