import { describe, expect, it } from "vitest";
import type { Observation } from "../../../toolbox/control/controller.js";
import { controllerKinds, createController } from "../../../toolbox/control/controller-registry.js";

/** An observation with every signal any controller needs. */
const observation: Observation = {
  measurement: 40,
  delay: 0.03,
  latency: 0.05,
  arrivalRate: 1000,
  serviceRate: 900,
  inflight: 30,
  congested: false,
};

/** Options every kind can start from (a cascade needs its two loops). */
function optionsFor(kind: string): Record<string, unknown> {
  if (kind === "pid" || kind === "velocity-pid") return { sampleTime: 0.1 };
  if (kind === "cascade")
    return { outer: { kind: "pid", options: { kp: 1 } }, inner: { kind: "pid", options: { kp: 0.5 } } };
  return {};
}

describe("controller registry", () => {
  it("registry – builds every kind, and the controller's kind is its name", () => {
    expect([...controllerKinds].sort()).toEqual(
      [
        "aimd",
        "cascade",
        "codel",
        "delay-window",
        "fixed-rate",
        "fixed-window",
        "gradient2",
        "pid",
        "pie",
        "vegas",
        "velocity-pid",
      ].sort(),
    );
    for (const kind of controllerKinds) {
      const controller = createController(kind, optionsFor(kind));
      expect(controller.kind).toBe(kind);
      for (let k = 0; k < 5; k++) expect(Number.isFinite(controller.update(observation, 0.1))).toBe(true);
      const output = controller.update(observation, 0.1);
      expect(controller.output).toBe(output);
      for (const value of Object.values(controller.components)) expect(typeof value).toBe("number");
    }
  });

  it("registry – params are plain data that setParams accepts back", () => {
    for (const kind of controllerKinds) {
      const controller = createController(kind, kind === "cascade" ? optionsFor(kind) : {});
      const params = controller.params();
      expect(JSON.parse(JSON.stringify(params))).toEqual(params);
      controller.setParams(params);
      expect(controller.params()).toEqual(params);
      expect(() => controller.setParams({ noSuchParam: 1 })).toThrow(RangeError);
      controller.reset();
    }
  });

  it("registry – passes options through and rejects unknown kinds and options", () => {
    const pie = createController("pie", { target: 0.02 });
    expect(pie.setpoint).toBe(0.02);
    const pid = createController("pid", { kp: 2, setpoint: 10 });
    expect(pid.update(5, 0.1)).toBe(10);
    expect(() => createController("pied")).toThrow(/Unknown controller kind `pied`; expected one of pid/);
    expect(() => createController("vegas", { kp: 1 })).toThrow(/Unknown Vegas option `kp`/);
  });

  it("registry – builds from a spec, a cascade's loops from specs or controllers, and names what is wrong", () => {
    const pid = createController({ kind: "pid", options: { kp: 2, setpoint: 10 } });
    expect(pid.update(5, 0.1)).toBe(10);
    const inner = createController("pid", { kp: 0.5 });
    const cascade = createController("cascade", { outer: { kind: "pid", options: { kp: 1 } }, inner });
    expect(cascade.kind).toBe("cascade");
    expect(cascade.params()).toMatchObject({ "outer.kp": 1, "inner.kp": 0.5 });
    expect(() => createController({ kind: "pied" })).toThrow(/^Expected `controller.kind` to be one of pid/);
    expect(() =>
      createController({ kind: "pid", options: [] as unknown as Record<string, unknown> }),
    ).toThrow(TypeError);
    expect(() => createController("cascade", { outer: { kind: "pid" } })).toThrow(
      /^Expected `options.inner` to be a controller spec/,
    );
  });
});
