// serve.mjs — start `mote serve` on 127.0.0.1 with a free port for a test
// script, and stop it (SIGTERM, which must end it with status 0).
import { spawn } from 'node:child_process';

export async function startServer(moteBin, args) {
  const child = spawn(moteBin, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mote serve did not listen within 60 s:\n${stderr}`)), 60000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = stderr.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`mote serve exited (${code}) before listening:\n${stderr}`)));
  });
  const stop = () =>
    new Promise((resolve, reject) => {
      child.removeAllListeners('exit');
      child.on('exit', (code, sig) =>
        code === 0 ? resolve() : reject(new Error(`mote serve exited with ${code ?? sig}:\n${stderr}`)));
      child.kill('SIGTERM');
    });
  return { port, url: `http://127.0.0.1:${port}`, stop, stderr: () => stderr };
}

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
