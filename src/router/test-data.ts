/**
 * Test helpers: the committed router and data splits, read from the repo. Test-only (Node file
 * APIs are fine here: tests run in Node, not in workerd).
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadRouter } from "./artifact.ts";
import type { LabelledExample } from "./dataset.ts";
import { parseLabelledJsonl } from "./dataset.ts";
import type { Router } from "./router.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export const ARTIFACT_PATH = `${repoRoot}models/router/router.json`;

/** data/router/<name>.jsonl parsed. */
export function readRouterData(name: "train" | "val" | "test" | "dev" | "realistic" | "dev-domain-examples" | "dev-domain-test" | "legal-examples" | "legal-test"): LabelledExample[] {
  return parseLabelledJsonl(readFileSync(`${repoRoot}data/router/${name}.jsonl`, "utf8"));
}

/** The committed artifact's exact text. */
export function readCommittedArtifact(): string {
  return readFileSync(ARTIFACT_PATH, "utf8");
}

let committed: Router | undefined;

/** The committed router, loaded once per test file. */
export function committedRouter(): Router {
  committed ??= loadRouter(JSON.parse(readCommittedArtifact()));
  return committed;
}

/** Source files of src/router that ship to the Worker (everything but tests and this helper). */
export function shippedSourceFiles(): Array<{ name: string; text: string }> {
  const dir = `${repoRoot}src/router/`;
  return readdirSync(dir)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && name !== "test-data.ts")
    .map((name) => ({ name, text: readFileSync(dir + name, "utf8") }));
}

/** Element-wise equality of two float arrays (vitest's deep equality is slow on 300k elements). */
export function sameFloats(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
