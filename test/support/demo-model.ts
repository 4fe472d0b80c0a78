/** The embedded demo package, loaded from models/demo in Node (verified against its manifest). */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Engine } from "../../src/runtime/engine.ts";
import { createEngine } from "./backend.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";

export const DEMO_DIR = fileURLToPath(new URL("../../models/demo/", import.meta.url));

export async function demoPackage() {
  return loadModelPackage(async (p) => new Uint8Array(await readFile(DEMO_DIR + p)));
}

let engine: Promise<Engine> | undefined;
/** The demo engine as the Worker runs it: one by one (src/index.ts), so its generations are the Worker's. */
export function demoEngine(): Promise<Engine> {
  engine ??= demoPackage().then((pkg) => createEngine(pkg, { batching: false }));
  return engine;
}

export { SEEDED_REQUESTS } from "./seeded-requests.ts";
