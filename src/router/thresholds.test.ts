import { describe, expect, it } from "vitest";
import { committedRouter } from "./test-data.ts";
import { bayesThresholds, ROUTE_THRESHOLD } from "./thresholds.ts";

describe("bayesThresholds", () => {
  it("routes a domain once it is likelier than everything else together: 0.5 for every trained domain, none excluded", () => {
    expect(ROUTE_THRESHOLD).toBe(0.5);
    expect(bayesThresholds(["none", "sales", "support"], "none")).toEqual({ sales: 0.5, support: 0.5 });
  });

  it("is what the committed router carries, for trained and runtime domains alike", () => {
    const router = committedRouter();
    expect(router.thresholds).toEqual(bayesThresholds(router.model.classes, "none"));
    expect(router.addedDomainThreshold).toBe(ROUTE_THRESHOLD);
  });
});
