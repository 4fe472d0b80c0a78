/**
 * Which packages the Node host builds and which it refuses, in scratch checkouts (a package.json
 * with or without the build script; packages as folders with a manifest). The build itself is
 * `npm run model:smollm2`, tested with the builder and run for real by the node-host tests.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_BROWSER_MODEL, DEFAULT_MODEL, ensureDefaultPackages } from "./default-model.ts";

const scratch: string[] = [];
afterEach(() => scratch.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A checkout with `scripts` in its package.json and these package folders built. */
function checkout(scripts: Record<string, string>, built: string[], builder = true): string {
  const repo = mkdtempSync(join(tmpdir(), "lora-edge-default-model-"));
  scratch.push(repo);
  writeFileSync(join(repo, "package.json"), JSON.stringify({ scripts }));
  if (builder) {
    mkdirSync(join(repo, "tools"));
    writeFileSync(join(repo, "tools/model-smollm2.ts"), "");
  }
  for (const dir of built) {
    mkdirSync(join(repo, dir), { recursive: true });
    writeFileSync(join(repo, dir, "manifest.json"), "{}");
  }
  return repo;
}

describe("ensureDefaultPackages", () => {
  it("a folder other than the defaults must hold a package already; the reason names the demo", () => {
    const repo = checkout({ "model:smollm2": "false" }, []);
    const r = ensureDefaultPackages([join(repo, "models/mine")], repo);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/models\/mine holds no model package \(manifest\.json\).*npm start -- --model models\/demo/) });
  });

  it("another built folder is served as is: no build is run (the script would fail)", () => {
    const repo = checkout({ "model:smollm2": "false" }, ["models/demo"]);
    expect(ensureDefaultPackages([join(repo, "models/demo"), undefined], repo)).toEqual({ ok: true });
  });

  it("without the builder (the container's serving stage: the script in package.json, no tools/) the default packages are served when present, refused when missing", () => {
    for (const [scripts, builder] of [[{ "model:smollm2": "exit 3" }, false], [{}, true]] as const) {
      const present = checkout(scripts, [DEFAULT_MODEL, DEFAULT_BROWSER_MODEL], builder);
      expect(ensureDefaultPackages([join(present, DEFAULT_MODEL), join(present, DEFAULT_BROWSER_MODEL)], present)).toEqual({ ok: true });
      const missing = checkout(scripts, [DEFAULT_MODEL], builder);
      const r = ensureDefaultPackages([join(missing, DEFAULT_MODEL), join(missing, DEFAULT_BROWSER_MODEL)], missing);
      expect(r).toEqual({ ok: false, reason: expect.stringContaining("has no `model:smollm2` builder") });
    }
  });

  it("with the build script it runs it even when the packages exist (a stale one is rebuilt), and reports its failure", () => {
    const repo = checkout({ "model:smollm2": "exit 3" }, [DEFAULT_MODEL]);
    const r = ensureDefaultPackages([join(repo, DEFAULT_MODEL)], repo);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/`npm run model:smollm2` failed \(exit 3/) });
  });
});
