/**
 * CurveZMQ on the command line: the key options every command that joins a
 * graph understands, as flags or environment variables:
 *
 * - `--keys FILE` / `ZMP_KEYS` — this process's key pair (a file `zmp keygen` wrote);
 * - `--directory-key KEY` / `ZMP_DIRECTORY_KEY` — the directory's public key;
 * - `--allow FILE` / `ZMP_ALLOW` — public keys allowed to connect, one per line
 *   (`#` comments allowed) — for `zmp directory` and `zmp run`.
 */
import { readFileSync } from "node:fs";
import { checkKey, type SecurityOptions } from "../../core/security.js";
import { type OptionHelp, type Parsed, UsageError } from "./command.js";

/** The flags of commands that may join a secured graph. */
export const securityFlags = {
  keys: { type: "string" },
  "directory-key": { type: "string" },
  allow: { type: "string" },
} as const;

/** How `--help` lists `securityFlags`. */
export const securityFlagsHelp: readonly OptionHelp[] = [
  ["--keys FILE", "this process's CurveZMQ key pair, from `zmp keygen --out FILE` (or ZMP_KEYS)"],
  ["--directory-key KEY", "the directory's public key (or ZMP_DIRECTORY_KEY)"],
  ["--allow FILE", "public keys allowed to connect, one per line, # comments (or ZMP_ALLOW)"],
];

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
