/** `zmp keygen`: a CurveZMQ key pair for a secured graph, printed or written to a file only its owner reads. */
import { chmodSync, writeFileSync } from "node:fs";
import { keyPair } from "../../core/security.js";
import { type Command, parse, UsageError } from "./command.js";

export const keygenCommand: Command = {
  summary: "make a CurveZMQ key pair for a secured graph",
  usage: "zmp keygen [--out FILE]",
  options: [["--out FILE", "write the pair to FILE (mode 600, never overwritten) instead of printing it"]],
  async run(argv) {
    const { values } = parse(argv, { out: { type: "string" } }, this.usage, false);
    const keys = keyPair();
    const json = `${JSON.stringify(keys, null, 2)}\n`;
    if (typeof values.out === "string") {
      try {
        writeFileSync(values.out, json, { mode: 0o600, flag: "wx" });
        chmodSync(values.out, 0o600);
      } catch (error) {
        throw new UsageError(`cannot write ${values.out}: ${(error as Error).message}`, 1);
      }
      process.stdout.write(`key pair written to ${values.out} (mode 600)\npublic key: ${keys.publicKey}\n`);
    } else process.stdout.write(json);
    return 0;
  },
};
