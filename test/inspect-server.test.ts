import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { InspectOptionError } from '../src/inspect/errors.js';
import { type InspectorServer, startInspectorServer } from '../src/inspect/server.js';
import { Viewer } from './inspect-helpers.js';

/** A non-loopback IPv4 address of this machine, if it has one. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && !address.internal && address.family === 'IPv4');

let server: InspectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A GET to the server, with the Host header given. */
function get(port: number, path: string, host = `127.0.0.1:${port}`) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function send(url: string, messages: string[]): Promise<void> {
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => {
      for (const message of messages) socket.send(message);
      socket.close();
    });
    socket.once('close', () => resolve());
  });
}

describe('the local inspector server', () => {
  it('listens on 127.0.0.1 only, on a free port when given 0', async () => {
    server = await startInspectorServer({ port: 0 });
    expect(server.port).toBeGreaterThan(0);
    expect(server.pageUrl).toBe(`http://127.0.0.1:${server.port}/`);
    expect(server.socketUrl).toBe(`ws://127.0.0.1:${server.port}`);
  });

  it.skipIf(external === undefined)('cannot be reached through another interface', async () => {
    server = await startInspectorServer({ port: 0 });
    const socket = connect({ host: external!.address, port: server.port });
    const outcome = await new Promise<string>((done) => {
      socket.once('connect', () => done('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'error'));
    });
    socket.destroy();
    expect(outcome).toBe('ECONNREFUSED');
  });

  it("serves the page that embeds Stately's inspector and reads the local socket", async () => {
    server = await startInspectorServer({ port: 0 });
    const page = await get(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('iframe.src = "https://stately.ai/inspect"');
    expect(page.body).toContain("new WebSocket('ws://' + location.host)");
    expect((await get(server.port, '/other')).status).toBe(404);
  });

  it('refuses the page to a foreign Host header (DNS rebinding)', async () => {
    server = await startInspectorServer({ port: 0 });
    expect((await get(server.port, '/', 'evil.example:80')).status).toBe(404);
    expect((await get(server.port, '/', `localhost:${server.port}`)).status).toBe(200);
  });

  it('refuses WebSocket connections from another web origin', async () => {
    server = await startInspectorServer({ port: 0 });
    const foreign = Viewer.connect(server.socketUrl, { origin: 'https://evil.example' });
    await expect(foreign).rejects.toThrow('Unexpected server response: 401');
    const own = await Viewer.connect(server.socketUrl, {
      origin: `http://127.0.0.1:${server.port}`,
    });
    expect(server.clients()).toBe(1);
    own.close();
  });

  it('relays messages live and replays the kept ones to a viewer that connects later', async () => {
    server = await startInspectorServer({ port: 0, bufferSize: 3 });
    const early = await Viewer.connect(server.socketUrl);
    await send(server.socketUrl, ['1', '2', '3', '4', '5', '6']);
    await waitFor(() => early.raw.length === 6);
    expect(early.raw).toEqual(['1', '2', '3', '4', '5', '6']);
    const late = await Viewer.connect(server.socketUrl);
    await waitFor(() => late.raw.length === 3);
    expect(late.raw).toEqual(['4', '5', '6']);
    expect(server.dropped()).toBe(3);
    early.close();
    late.close();
  });

  it('rejects a bad port or buffer size with a typed error naming the option', async () => {
    const port = startInspectorServer({ port: 70_000 });
    await expect(port).rejects.toBeInstanceOf(InspectOptionError);
    await expect(port).rejects.toThrow(
      'inspect option port is 70000: it must be an integer from 0 to 65535',
    );
    await expect(startInspectorServer({ bufferSize: 0 })).rejects.toMatchObject({
      code: 'invalid-inspect-option',
      field: 'bufferSize',
      value: 0,
    });
  });

  it('reports a port in use as the listen error', async () => {
    server = await startInspectorServer({ port: 0 });
    await expect(startInspectorServer({ port: server.port })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

async function waitFor(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 5_000) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
