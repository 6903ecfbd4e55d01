/**
 * Proof that a message comes from the holder of a CurveZMQ key. libzmq's
 * ZAP handler learns the key a connecting peer proved, but not which
 * routing id the peer then announces, and zeromq.js gives no message its
 * ZAP user id: so a peer shows which key it holds inside the message. Two
 * CURVE key pairs share a secret, X25519(a, B) = X25519(b, A) (the
 * static-static exchange of CurveZMQ's own vouch, RFC 26); a message-
 * authentication code under a key derived from it (HKDF-SHA-256, then
 * HMAC-SHA-256) over what the message asks for proves to the holder of `b`
 * that the sender holds `a`. Only the two of them can make it, and it
 * travels inside their CurveZMQ connection, so no third party sees one to
 * replay it.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";
import { z85Decode } from "./keys.js";

/** DER headers of raw X25519 keys (RFC 8410): PKCS #8 private, SubjectPublicKeyInfo public. */
const PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI = Buffer.from("302a300506032b656e032100", "hex");

const privateKeys = new Map<string, KeyObject>();
/** Derived MAC keys by `<own public key>/<peer public key>`: one exchange per pair (about 0.5 ms). */
const shared = new Map<string, Buffer>();
const MAX_SHARED = 4096;

function privateKey(secretKey: string): KeyObject {
  let key = privateKeys.get(secretKey);
  if (key === undefined) {
    key = createPrivateKey({
      key: Buffer.concat([PKCS8, z85Decode(secretKey)]),
      format: "der",
      type: "pkcs8",
    });
    privateKeys.set(secretKey, key);
  }
  return key;
}

/** The MAC key `own` (a key pair) shares with `peer` (a public key). */
function macKey(own: { publicKey: string; secretKey: string }, peer: string): Buffer {
  const id = `${own.publicKey}/${peer}`;
  let key = shared.get(id);
  if (key === undefined) {
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI, z85Decode(peer)]),
      format: "der",
      type: "spki",
    });
    const secret = diffieHellman({ privateKey: privateKey(own.secretKey), publicKey });
    key = Buffer.from(hkdfSync("sha256", secret, "zmp", "zmp key proof v1", 32));
    if (shared.size >= MAX_SHARED) shared.delete(shared.keys().next().value!);
    shared.set(id, key);
  }
  return key;
}

/** The proof, by the holder of `own`, to the holder of `peer`'s key, of `parts` (base64url). */
export function prove(
  own: { publicKey: string; secretKey: string },
  peer: string,
  parts: readonly string[],
): string {
  return createHmac("sha256", macKey(own, peer)).update(parts.join("\u0000")).digest("base64url");
}

/**
 * Whether `proof` of `parts` was made by the holder of the secret key of
 * `claimed` (a public key), checked by the holder of `own`. False for
 * anything malformed.
 */
export function verify(
  own: { publicKey: string; secretKey: string },
  claimed: string,
  parts: readonly string[],
  proof: unknown,
): boolean {
  if (typeof proof !== "string" || proof.length !== 43) return false;
  let expected: Buffer;
  try {
    expected = createHmac("sha256", macKey(own, claimed)).update(parts.join("\u0000")).digest();
  } catch {
    return false; // not a key
  }
  const given = Buffer.from(proof, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
