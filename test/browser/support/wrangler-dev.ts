/**
 * The Worker as `npm run dev` runs it (`wrangler dev`: workerd, local D1 and R2, static assets), on
 * a free port with its own throwaway state and the demo adapters seeded, for end-to-end tests.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

export type DevWorker = { url: string; stop(): Promise<void> };

/** Start `wrangler dev` (migrations applied, demo adapters seeded); resolves once it serves. */
export async function startWorker(): Promise<DevWorker> {
  const state = await mkdtemp(join(tmpdir(), "lora-edge-dev-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  await promisify(execFile)(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: ROOT, env });
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--var", "SEED_DEMO_ADAPTERS:true", "--var", "ADMIN_TOKEN:browser-test-token", "--show-interactive-dev-session=false"],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(state, { recursive: true, force: true });
  };
  try {
    await waitForReady(child, url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

async function waitForReady(child: ChildProcess, url: string): Promise<void> {
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output.slice(-3000)}`);
    if (output.includes("Ready on")) {
      const res = await fetch(`${url}/healthz`).catch(() => undefined); // the first request creates the engine
      if (res?.ok) return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not serve ${url} within 180 s:\n${output.slice(-3000)}`);
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
