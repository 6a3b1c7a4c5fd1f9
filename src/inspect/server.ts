/**
 * The local inspector server: serves the bridge page (Stately's inspector UI in an iframe) and
 * relays inspection events over WebSocket from the process being inspected to the browser.
 * It listens on 127.0.0.1 only and refuses WebSocket connections from other web origins.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DEFAULT_INSPECTOR_PORT, INSPECTOR_HOST } from './defaults.js';
import { checkInteger } from './errors.js';
import { bridgePage, STATELY_INSPECTOR_URL } from './page.js';
import { RelayBuffer } from './relay.js';

/**
 * Messages kept for viewers that connect late; bounds the server's memory (a session costs a
 * few messages per transition, and its first message carries the chart definition, ~10 kB).
 */
export const DEFAULT_BUFFER_SIZE = 50_000;

export interface InspectorServerOptions {
  /** Port to listen on, 0 for any free one. Default 8080. */
  port?: number;
  /** Messages kept for viewers that connect later, 1 to 10,000,000. Default 50,000. */
  bufferSize?: number;
  /** The inspector UI the page embeds. Default `https://stately.ai/inspect`. */
  inspectorUrl?: string;
}

export interface InspectorServer {
  /** The page to open in a browser: `http://127.0.0.1:<port>/`. */
  readonly pageUrl: string;
  /** Where inspectors (producers) and viewers connect: `ws://127.0.0.1:<port>`. */
  readonly socketUrl: string;
  readonly port: number;
  /** Open WebSocket connections now. */
  clients(): number;
  /** Messages the buffer dropped so far (a late viewer misses them). */
  dropped(): number;
  /** Resolves once at least `count` WebSocket connections are open. */
  whenClients(count: number): Promise<void>;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function startInspectorServer(
  options: InspectorServerOptions = {},
): Promise<InspectorServer> {
  const port = checkInteger('port', options.port ?? DEFAULT_INSPECTOR_PORT, 0, 65_535);
  const capacity = checkInteger('bufferSize', options.bufferSize ?? DEFAULT_BUFFER_SIZE, 1, 1e7);
  const page = bridgePage(options.inspectorUrl ?? STATELY_INSPECTOR_URL);
  const http = createServer((request, response) => servePage(request, response, page));
  await listen(http, port);
  const bound = (http.address() as AddressInfo).port;
  const sockets = new WebSocketServer({
    server: http,
    verifyClient: ({ req }: { req: IncomingMessage }) => fromLocalOrigin(req, bound),
  });
  const buffer = new RelayBuffer(capacity);
  sockets.on('connection', (socket) => relay(sockets, socket, buffer));
  return serverHandle(http, sockets, buffer, bound);
}

function serverHandle(
  http: Server,
  sockets: WebSocketServer,
  buffer: RelayBuffer,
  port: number,
): InspectorServer {
  return {
    pageUrl: `http://${INSPECTOR_HOST}:${port}/`,
    socketUrl: `ws://${INSPECTOR_HOST}:${port}`,
    port,
    clients: () => sockets.clients.size,
    dropped: () => buffer.dropped,
    whenClients: (count) => whenClients(sockets, count),
    close: () => closeAll(http, sockets),
  };
}

function listen(http: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, INSPECTOR_HOST, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** Every message from one connection is kept and passed to every other open connection. */
function relay(sockets: WebSocketServer, socket: WebSocket, buffer: RelayBuffer): void {
  for (const message of buffer.messages()) socket.send(message);
  socket.on('message', (data) => {
    const message = data.toString();
    buffer.push(message);
    for (const client of sockets.clients) {
      if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    }
  });
}

/** The page only for this server's own host names (a guard against DNS rebinding). */
function servePage(request: IncomingMessage, response: ServerResponse, page: string): void {
  const path = (request.url ?? '/').split('?')[0];
  if (!localHost(request.headers.host) || (path !== '/' && path !== '/index.html')) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
}

function localHost(host: string | undefined): boolean {
  const name = host?.replace(/:\d+$/, '');
  return name === INSPECTOR_HOST || name === 'localhost';
}

/** Node clients send no Origin; browsers may connect only from the bridge page itself. */
function fromLocalOrigin(request: IncomingMessage, port: number): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${INSPECTOR_HOST}:${port}` || origin === `http://localhost:${port}`;
}

function whenClients(sockets: WebSocketServer, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (sockets.clients.size < count) return;
      sockets.off('connection', check);
      resolve();
    };
    sockets.on('connection', check);
    check();
  });
}

function closeAll(http: Server, sockets: WebSocketServer): Promise<void> {
  for (const client of sockets.clients) client.terminate();
  return new Promise((resolve) => {
    sockets.close(() => http.close(() => resolve()));
  });
}
