/**
 * The per-user credential: a CurveZMQ key pair in a private folder of the
 * user's (`$ZMP_HOME`, else `$XDG_CONFIG_HOME/zmp`, else `~/.config/zmp`),
 * made on first use. A graph on tcp — loopback included — takes it by
 * default: its directory and nodes use it as their key pair, and admit only
 * it, so every process of the same user joins with nothing to configure and
 * any other process is refused at the handshake. Jupyter keeps its server
 * token the same way, in a runtime folder only its user can read.
 *
 * The folder must be a directory of this user's that no one else can enter
 * (mode 0700), the key file a regular file of this user's that no one else
 * can read (0600): otherwise it is refused, as ssh refuses a private key
 * others can read, with the command that fixes it.
 */
import { randomBytes } from "node:crypto";
import { linkSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SecurityError } from "./errors.js";
import { checkKey, keyPair } from "./keys.js";

/** The folder the per-user credential lives in. */
export function credentialDir(): string {
  if (process.env.ZMP_HOME) return process.env.ZMP_HOME;
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "zmp");
}

/** The per-user key file: `{ publicKey, secretKey }`, as `zmp keygen --out` writes. */
export function credentialFile(): string {
  return join(credentialDir(), "user-key.json");
}

let cached: { file: string; keys: { publicKey: string; secretKey: string } } | undefined;

/**
 * This user's key pair, made (with its folder) on first use. Throws
 * `SecurityError` when the folder or the file is another user's or open to
 * others, or the file holds no key pair.
 */
export function userKeys(): { publicKey: string; secretKey: string } {
  const file = credentialFile();
  if (cached?.file === file) return cached.keys;
  const dir = credentialDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir, true);
  let keys: { publicKey: string; secretKey: string };
  try {
    keys = read(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    keys = create(file);
  }
  cached = { file, keys };
  return keys;
}

/** Writes a new key pair to `file` unless another process just did; returns the one on disk. */
function create(file: string): { publicKey: string; secretKey: string } {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temp, `${JSON.stringify(keyPair(), null, 2)}\n`, { mode: 0o600, flag: "wx" });
  try {
    // link() makes the file whole or not at all, and fails if it exists: two processes
    // starting at once end with one key pair, the first one's.
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
  return read(file);
}

function read(file: string): { publicKey: string; secretKey: string } {
  checkPrivate(file, false);
  let parsed: { publicKey?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as typeof parsed;
  } catch (error) {
    throw new SecurityError(`the per-user key file ${file} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return {
      publicKey: checkKey(parsed.publicKey, `publicKey in ${file}`),
      secretKey: checkKey(parsed.secretKey, `secretKey in ${file}`),
    };
  } catch (error) {
    throw new SecurityError((error as Error).message, { cause: error });
  }
}

/** Refuses a path that is not this user's, or that others can reach (a link, group or other bits). */
function checkPrivate(path: string, directory: boolean): void {
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  const what = directory ? "folder" : "key file";
  if (directory ? !stat.isDirectory() : !stat.isFile())
    throw new SecurityError(
      `the per-user ${what} ${path} is not a ${directory ? "directory" : "regular file"} (a link?)`,
    );
  if (uid !== undefined && stat.uid !== uid)
    throw new SecurityError(
      `the per-user ${what} ${path} belongs to user ${stat.uid}, not to this user (${uid})`,
    );
  if (uid !== undefined && (stat.mode & 0o077) !== 0)
    throw new SecurityError(
      `the per-user ${what} ${path} can be ${directory ? "entered" : "read"} by others (mode ${(stat.mode & 0o777).toString(8)}): run \`chmod ${directory ? 700 : 600} ${path}\``,
    );
}

/** Forgets the cached key pair (tests that move `ZMP_HOME`). */
export function forgetUserKeys(): void {
  cached = undefined;
}
