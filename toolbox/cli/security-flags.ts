/**
 * CurveZMQ on the command line: the key options every command that joins a
 * graph understands, as flags or environment variables. A graph on tcp needs
 * none of them between processes of one user: they all take the per-user
 * credential (`~/.config/zmp/user-key.json`). Across users and hosts:
 *
 * - `--keys FILE` / `ZMP_KEYS` — this process's key pair (a file `zmp keygen` wrote);
 * - `--directory-key KEY` / `ZMP_DIRECTORY_KEY` — the directory's public key;
 * - `--allow FILE` / `ZMP_ALLOW` — the keys allowed in, one per line, each
 *   with what it may do (see docs/security.md) — for `zmp directory` and `zmp run`;
 * - `--insecure` / `ZMP_INSECURE=1` — no credential on tcp (loopback only;
 *   `--insecure-network` / `ZMP_INSECURE=network` on any interface).
 */
import { readFileSync } from "node:fs";
import { userKeys } from "../../core/credential.js";
import { type AllowEntry, parseAllowFile } from "../../core/policy.js";
import { checkKey, type SecurityOptions } from "../../core/security.js";
import { type OptionHelp, type Parsed, UsageError } from "./command.js";

/** The flags of commands that may join a secured graph. */
export const securityFlags = {
  keys: { type: "string" },
  "directory-key": { type: "string" },
  allow: { type: "string" },
  insecure: { type: "boolean" },
  "insecure-network": { type: "boolean" },
} as const;

/** How `--help` lists `securityFlags`. */
export const securityFlagsHelp: readonly OptionHelp[] = [
  [
    "--keys FILE",
    "this process's CurveZMQ key pair, from `zmp keygen --out FILE` (or ZMP_KEYS); default on tcp: this user's own",
  ],
  ["--directory-key KEY", "the directory's public key (or ZMP_DIRECTORY_KEY)"],
  [
    "--allow FILE",
    "keys allowed in, one per line with what each may do (or ZMP_ALLOW; see docs/security.md)",
  ],
  ["--insecure", "run on tcp without any credential, loopback only (or ZMP_INSECURE=1); says so at start"],
  ["--insecure-network", "…and on other interfaces too (or ZMP_INSECURE=network)"],
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

/** Reads an allow file: keys with their permissions (every Z85 key, `#` included). */
export function readAllow(file: string): AllowEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the allowed keys in ${file}: ${(error as Error).message}`);
  }
  try {
    return parseAllowFile(text, file);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--insecure`, `--insecure-network` or ZMP_INSECURE: false, true (loopback only) or "network". */
export function insecureFrom(values: Parsed["values"]): false | true | "network" {
  if (values["insecure-network"] === true) return "network";
  if (values.insecure === true) return true;
  const env = process.env.ZMP_INSECURE;
  if (env === "network") return "network";
  if (env === "1" || env === "true") return true;
  return false;
}

/** What a command's flags say about security: keys, or none (the default credential), or insecure. */
export interface SecurityChoice {
  /** Keys given (or, for a directory with `--allow` and no `--keys`, this user's with the file's keys). */
  security?: SecurityOptions;
  /** No credential on tcp. */
  insecure?: true | "network";
}

/**
 * Security options from flags, else the environment. Nothing given: the
 * per-user credential on tcp (the default of nodes and directories). A node
 * given keys needs the directory's key. A directory given keys must say who
 * may join: `--allow FILE`, or `--allow-any` (any CURVE client).
 */
export function securityFrom(values: Parsed["values"], forDirectory = false): SecurityChoice {
  const insecure = insecureFrom(values);
  const keysFile = (values.keys as string | undefined) || process.env.ZMP_KEYS;
  const allowFile = (values.allow as string | undefined) || process.env.ZMP_ALLOW;
  if (insecure !== false) {
    if (keysFile || allowFile)
      throw new UsageError(
        "--insecure runs without any credential: leave out --keys and --allow (or ZMP_KEYS, ZMP_ALLOW)",
      );
    return { insecure };
  }
  const allow = allowFile ? readAllow(allowFile) : undefined;
  if (!keysFile) {
    if (!forDirectory || allow === undefined) return {};
    // A directory letting others in beside this user: its own key is this user's.
    const user = userKeys();
    return { security: { ...user, allow: [user.publicKey, ...allow] } };
  }
  const keys = readKeys(keysFile);
  const directoryKey = (values["directory-key"] as string | undefined) || process.env.ZMP_DIRECTORY_KEY;
  if (forDirectory) {
    if (allow === undefined && values["allow-any"] !== true)
      throw new UsageError(
        "a directory given keys (--keys or ZMP_KEYS) must say who may join: --allow FILE (keys, one per line), or --allow-any to let any CurveZMQ client in (encrypted, not authenticated)",
      );
    return { security: { ...keys, ...(allow ? { allow } : {}) } };
  }
  if (!directoryKey)
    throw new UsageError(
      "a key pair is given (--keys or ZMP_KEYS) but not the directory's public key: pass --directory-key or set ZMP_DIRECTORY_KEY",
    );
  try {
    checkKey(directoryKey, "--directory-key");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { security: { ...keys, directoryKey, ...(allow ? { allow } : {}) } };
}
