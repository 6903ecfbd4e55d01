import { describe, expect, it } from "vitest";
import * as control from "../../../toolbox/control/index.js";

describe("control barrel", () => {
  it("control barrel – exports the toolbox's public names, as classes and functions", () => {
    // Pid, stepInfo, the plants, the identification and tuning functions and the
    // baseline controllers (plus the pieces a user needs to run them).
    const classes = [
      "Pid",
      "VelocityPid",
      "Cascade",
      "FluidQueue",
      "EventQueue",
      "Fopdt",
      "AstromMurrayQueue",
      "RelayTuner",
      "FixedRate",
      "Aimd",
      "Pie",
      "Gradient2",
      "Vegas",
      "Codel",
      "TransferFunction",
      "Random",
    ];
    const functions = [
      "stepInfo",
      "stepInfoOf",
      "loopPerformance",
      "iae",
      "ise",
      "itae",
      "rmse",
      "effort",
      "identifyFopdt",
      "identifyIntegrating",
      "relayAutotune",
      "zieglerNicholsStep",
      "zieglerNicholsUltimate",
      "cohenCoon",
      "amigo",
      "amigoIntegrating",
      "simc",
      "simcIntegrating",
      "lambdaTuning",
      "lambdaIntegrating",
      "imc",
      "createController",
      "tf",
      "series",
      "parallel",
      "feedback",
      "discretize",
      "stepResponse",
      "forcedResponse",
      "dcGain",
      "poles",
    ];
    const exports = control as Record<string, unknown>;
    for (const name of [...classes, ...functions]) {
      expect(typeof exports[name], name).toBe("function");
    }
    for (const name of classes) {
      expect(String(exports[name]).startsWith("class"), name).toBe(true);
    }
    expect(typeof control.signals.step).toBe("function");
    expect(control.controllerKinds).toContain("pid");
  });

  it("control barrel – Pid is built from options and update(measurement, dt) returns the output", () => {
    // P-only, setpoint 10, measurement 5: output = kp·(10 − 5) = 2·5 = 10.
    const pid = new control.Pid({ kp: 2, setpoint: 10 });
    expect(pid.update(5, 0.1)).toBe(10);
    expect(pid.output).toBe(10);
  });

  it("control barrel – keeps internal helpers and the old `performance` name out", () => {
    const internal = [
      // validate.ts
      "checkKeys",
      "checkNumber",
      "checkObject",
      "checkOrder",
      "describe",
      "fail",
      "finite",
      "nonNegative",
      "positive",
      "oneOf",
      "picker",
      // sample-clock.ts, plants/history.ts, plants/plant.ts
      "SampleClock",
      "SampleHistory",
      "DelayLine",
      "actuatorOf",
      "emptyQueueObservation",
      "restQueueObservation",
      // poly.ts, ss.ts
      "roots",
      "trim",
      "charpoly",
      "realize",
      "zohStep",
      // renamed: it shadowed the global performance.now()
      "performance",
    ];
    const names = Object.keys(control);
    expect(internal.filter((name) => names.includes(name))).toEqual([]);
  });
});
