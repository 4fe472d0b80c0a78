/**
 * A static file server for pages that need no Worker (the engine tests): URL prefixes mapped to
 * folders, on a free localhost port (a secure context, so the page has WebGPU and the Cache API).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".map": "application/json" };

export type StaticServer = { url: string; close(): Promise<void> };

/** @example const srv = await serveStatic({ "/": siteDir, "/pkg/fp32/": modelDir }) */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const rel = prefix === undefined ? undefined : normalize(path.slice(prefix.length) || "index.html");
    if (prefix === undefined || rel === undefined || rel.startsWith("..")) return void res.writeHead(404).end();
    const file = join(mounts[prefix]!, rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": info.size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
