/**
 * Inside workerd, the embedded engine generates exactly the tokens Node generates for the same
 * seeded requests (fixture written by test/unit/generate.test.ts).
 */
import { describe, expect, it } from "vitest";
import { embeddedEngine } from "../../src/index.ts";
import fixture from "./generation.fixture.json";
import { SEEDED_REQUESTS } from "../support/seeded-requests.ts";

describe("seeded generation in workerd", () => {
  it("runs the same model as Node", async () => {
    expect((await embeddedEngine()).modelHash).toBe(fixture.modelHash);
  });

  it.each(SEEDED_REQUESTS.map((r, i) => [i, r] as const))("request %i gives Node's tokens", async (i, r) => {
    const engine = await embeddedEngine();
    const { ids: prompt } = engine.tokenizer.applyChatTemplate(r.messages);
    const ids: number[] = [];
    for await (const ev of engine.generate({ promptIds: prompt, maxTokens: r.maxTokens, sampling: r.sampling })) if (ev.type === "token") ids.push(ev.id);
    expect(ids).toEqual(fixture.results[i]);
  });
});
