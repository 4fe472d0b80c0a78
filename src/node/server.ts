/**
 * Serve a fetch handler (the Hono app) over HTTP with `@hono/node-server`, and stop it gracefully:
 * no new connections, idle ones closed, requests in flight (streams included) run to their end,
 * and whatever is still open after the grace period is cut (a streaming client sees its
 * connection end; its generation is cancelled and its memory freed like any disconnect).
 *
 * @example const server = await startServer(app.fetch, { port: 0 }); … await server.close();
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export type RunningServer = {
  port: number;
  /** `http://<host>:<port>` */
  url: string;
  /** Stop accepting, let requests in flight finish for up to `graceMs`, then cut the rest. */
  close(graceMs?: number): Promise<void>;
};

export function startServer(fetch: (req: Request) => Response | Promise<Response>, o: { port: number; hostname?: string }): Promise<RunningServer> {
  const hostname = o.hostname ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (req) => fetch(req), port: o.port, hostname }, (info: AddressInfo) => {
      server.off("error", reject);
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({ port: info.port, url: `http://${host}:${info.port}`, close: (graceMs = 30_000) => closeGracefully(server, graceMs) });
    }) as Server;
    // idle keep-alive connections outlive a load balancer's (60 s is common), so the balancer, not
    // this server, closes them: no request is sent on a socket the server is closing
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.once("error", reject);
  });
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
