/**
 * The Node host as a `TestHost` (test/http/support.ts): `openNodeHost` on models/demo with a fresh
 * SQLite file and blob directory, served by the real HTTP server (src/node/server.ts) on an
 * ephemeral port, and reached over real sockets with node:http, so a cancelled body is a client
 * that disconnects. Faults are a blob store whose reads fail or stall.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { afterAll } from "vitest";
import { createApp } from "../../src/app.ts";
import { openNodeHost } from "../../src/node/host.ts";
import { readSeedAdapters } from "../../src/node/seed-adapters.ts";
import { startServer, type RunningServer } from "../../src/node/server.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { openSqlite } from "../../src/registry/sqlite.ts";
import { ADMIN_TOKEN, type Fetcher, type StorageSnapshot, type TestHost } from "../http/support.ts";

/** A Node host of its own (storage in a new temporary folder), closed after the file's tests. */
export async function startNodeHost(): Promise<TestHost> {
  const dir = mkdtempSync(join(tmpdir(), "lora-edge-node-"));
  const dbPath = join(dir, "registry.sqlite");
  const blobDir = join(dir, "blobs");
  const host = await openNodeHost({ modelDir: "models/demo", dbPath, blobDir, backend: nodeBackend({ threads: 1 }), adminToken: ADMIN_TOKEN, limits: readLimits({}) });
  const servers: RunningServer[] = [];
  const serve = async (app: ReturnType<typeof createApp>): Promise<Fetcher & { url: string }> => {
    const server = await startServer(app.fetch, { port: 0 });
    servers.push(server);
    return { url: server.url, fetch: (r) => httpFetch(server.url, r) };
  };
  const main = await serve(createApp(host.deps()));
  const reader = await openSqlite(dbPath);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close(1_000)));
    reader.close();
    host.close();
  });
  return {
    kind: "node",
    url: main.url,
    fetch: main.fetch,
    engine: async () => host.engine,
    async storageSnapshot(): Promise<StorageSnapshot> {
      const rows: Record<string, unknown[]> = {};
      for (const table of ["adapter_names", "adapters", "domains"]) rows[table] = (await reader.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()).results;
      return { blobs: listFiles(blobDir).sort(), rows };
    },
    withDeps: (o) =>
      serve(
        createApp(
          host.deps({
            ...(o.cache ? { cache: o.cache } : {}),
            ...(o.stored ? { stored: o.stored } : {}),
            ...(o.limits ? { limits: o.limits } : {}),
            ...(o.admission ? { admission: o.admission } : {}),
            ...(o.fault
              ? {
                  blobs: (real) => ({
                    ...real,
                    get: async (key) => {
                      if (o.fault!.hit(key)) {
                        if (o.fault!.fault === "fail") throw new Error("blob read failed: EIO");
                        await new Promise((r) => setTimeout(r, 3_000));
                      }
                      return real.get(key);
                    },
                  }),
                }
              : {}),
          }),
        ),
      ),
    seedDemo: async () => host.seed(await readSeedAdapters("models/demo-adapters")),
  };
}

/** Every file under the blob directory (leftover temporary files included), with size and mtime. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const st = statSync(path);
    out.push(`${relative(root, path)} ${st.size} ${st.mtimeMs}`);
  }
  return out;
}

/**
 * A fetch over a real socket to `base`, keeping the request's path. A body shorter than its own
 * Content-Length is a client that stops sending: it waits 2 s for an answer, then disconnects
 * (the promise rejects). Cancelling the response body closes the connection.
 */
function httpFetch(base: string, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => (headers[k] = v));
  return new Promise<Response>((resolve, reject) => {
    const out = httpRequest(new URL(url.pathname + url.search, base), { method: req.method, headers, agent: false }, (res) => {
      const status = res.statusCode ?? 500;
      const body = status === 204 || status === 304 || req.method === "HEAD" ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, headers: responseHeaders(res.headers) }));
    });
    out.on("error", reject);
    void (async () => {
      let sent = 0;
      if (req.body) {
        const reader = req.body.getReader();
        for (let r = await reader.read(); !r.done && !out.destroyed; r = await reader.read()) {
          if (!out.write(r.value)) await drained(out);
          sent += r.value.byteLength;
        }
        if (out.destroyed) return void reader.cancel().catch(() => {});
      }
      const promised = Number(headers["content-length"] ?? NaN);
      if (sent < promised) setTimeout(() => out.destroy(new Error(`client gave up after ${sent} of ${promised} bytes`)), 2_000);
      else out.end();
    })().catch((err) => out.destroy(err as Error));
  });
}

/** Until the request can take more data, or is gone. */
function drained(out: NodeJS.WritableStream & { off(e: string, f: () => void): unknown }): Promise<void> {
  return new Promise((ok) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      ok();
    };
    out.on("drain", done);
    out.on("close", done);
  });
}

function responseHeaders(h: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  return headers;
}
