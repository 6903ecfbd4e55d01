/**
 * CurveZMQ on the command line: `zmp keygen`, and the key options every
 * command understands, as flags or environment variables:
 *
 * - `--keys FILE` / `ZMP_KEYS` — this process's key pair (a file `zmp keygen` wrote);
 * - `--directory-key KEY` / `ZMP_DIRECTORY_KEY` — the directory's public key;
 * - `--allow FILE` / `ZMP_ALLOW` — public keys allowed to connect, one per line
 *   (`#` comments allowed) — for `zmp directory` and `zmp run`.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import type { Command, Parsed } from "./cli.js";
import { parse, UsageError } from "./cli.js";
import { checkKey, keyPair, type SecurityOptions } from "./security.js";

/** The flags of commands that may join a secured graph. */
export const securityFlags = {
  keys: { type: "string" },
  "directory-key": { type: "string" },
  allow: { type: "string" },
} as const;

function readKeys(file: string): { publicKey: string; secretKey: string } {
  let parsed: { publicKey?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as typeof parsed;
  } catch (error) {
    throw new UsageError(`cannot read the key pair in ${file}: ${(error as Error).message}`);
  }
  try {
    return {
      publicKey: checkKey(parsed.publicKey, `publicKey in ${file}`),
      secretKey: checkKey(parsed.secretKey, `secretKey in ${file}`),
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function readAllow(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the allowed keys in ${file}: ${(error as Error).message}`);
  }
  const keys = text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line.length > 0);
  try {
    return keys.map((k, i) => checkKey(k, `line ${i + 1} of ${file}`));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Security options from flags, else the environment; undefined when no key
 * pair is given (a plain graph). A node needs the directory's key; the
 * directory itself does not.
 */
export function securityFrom(values: Parsed["values"], forDirectory = false): SecurityOptions | undefined {
  const keysFile = (values.keys as string | undefined) ?? process.env.ZMP_KEYS;
  if (!keysFile) return undefined;
  const keys = readKeys(keysFile);
  const directoryKey = (values["directory-key"] as string | undefined) ?? process.env.ZMP_DIRECTORY_KEY;
  if (!forDirectory) {
    if (!directoryKey)
      throw new UsageError(
        "a key pair is given (--keys or ZMP_KEYS) but not the directory's public key: pass --directory-key or set ZMP_DIRECTORY_KEY",
      );
    try {
      checkKey(directoryKey, "--directory-key");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const allowFile = (values.allow as string | undefined) ?? process.env.ZMP_ALLOW;
  return {
    ...keys,
    ...(directoryKey ? { directoryKey } : {}),
    ...(allowFile ? { allow: readAllow(allowFile) } : {}),
  };
}

export const keygenCommand: Command = {
  summary: "make a CurveZMQ key pair for a secured graph",
  usage: "zmp keygen [--out FILE]",
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
