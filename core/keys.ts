/**
 * CurveZMQ keys as text: Z85 (RFC 32/Z85, the 85 printable characters
 * ZeroMQ writes keys in, `#` among them), the check every key given to zmp
 * goes through, and fresh key pairs.
 */
import * as zmq from "zeromq";

/** A fresh CURVE key pair (Z85). */
export function keyPair(): { publicKey: string; secretKey: string } {
  return zmq.curveKeyPair();
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85-encodes bytes (length a multiple of 4), as ZeroMQ writes keys (RFC 32/Z85). */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError("Z85 needs a multiple of 4 bytes");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let k = 0; k < 5; k++) {
      chunk.unshift(Z85[value % 85]!);
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/**
 * Checks a Z85 CURVE key (40 characters of the Z85 alphabet that decode to
 * 32 bytes: no group of five may exceed 2³² − 1, so no key starts with `#`
 * or `$`); throws naming the option.
 */
export function checkKey(key: unknown, option: string): string {
  if (typeof key !== "string" || key.length !== 40 || !decodes(key)) {
    throw new TypeError(
      `Expected \`${option}\` to be a 40-character Z85 CURVE key, got \`${String(key).slice(0, 60)}\``,
    );
  }
  return key;
}

/** Z85-decodes text (length a multiple of 5), as ZeroMQ reads keys (RFC 32/Z85); throws on a character outside Z85. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError("Z85 needs a multiple of 5 characters");
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let k = 0; k < 5; k++) {
      const digit = Z85.indexOf(text[i + k]!);
      if (digit < 0) throw new RangeError(`not a Z85 character: \`${text[i + k]}\``);
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new RangeError("Z85 group out of range");
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** Whether `text` is Z85 that decodes. */
function decodes(text: string): boolean {
  try {
    z85Decode(text);
    return true;
  } catch {
    return false;
  }
}
