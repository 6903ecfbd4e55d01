/**
 * zmp's message codec: a strict subset of MessagePack (https://msgpack.org/
 * spec) for plain data — null, booleans, numbers, strings, binary, Dates,
 * arrays and plain objects.
 *
 * Why not msgpackr's decoder: it accepts record definitions from the frame and
 * compiles readers for them with `new Function`, and builds `RegExp`s, typed
 * arrays and errors from frame data. A node decodes frames from anyone who can
 * connect, so the decoder here accepts only the types above, never turns data
 * into code, defines `__proto__` as an ordinary own key (no prototype
 * pollution), bounds nesting depth, and checks every declared length against
 * the bytes that remain before allocating. Its speed against msgpackr and
 * JSON is in docs/benchmarks.md.
 */
import { CodecError } from "./errors.js";

/** Deepest nesting of arrays/objects accepted when encoding or decoding. */
export const MAX_DEPTH = 100;

const EMPTY = Buffer.alloc(0);
let out: Buffer = Buffer.allocUnsafe(64 * 1024);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= out.length) return;
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  out.copy(next, 0, 0, pos);
  out = next;
}

/** Marks the construction of an already checked view (see {@link Encoded._view}). */
const TRUSTED = new Uint8Array(0);

/**
 * One value kept as its MessagePack bytes, not decoded: what a queue reader
 * hands a consumer that forwards messages (`pull`/`consume` with
 * `encoded: true`, as a queue proxy does). The encoder writes it as those
 * bytes, so pushing it (or nesting it in another value) sends the value
 * unchanged without decoding and re-encoding it; `decode()` gives the value
 * when it is needed.
 *
 * `new Encoded(bytes)` checks the bytes as {@link decode} does (exactly one
 * value of the supported types, nesting, every length) and throws
 * `CodecError` otherwise. The bytes are not copied: they must not change
 * afterwards.
 */
export class Encoded {
  #src: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  /** Levels of arrays and maps nested in the value (0 for a scalar), for the depth limit of an enclosing value. */
  #levels = 0;

  constructor(bytes: Uint8Array) {
    if (bytes === TRUSTED) return;
    const buffer = asBuffer(bytes);
    this.#src = buffer;
    this.#end = buffer.length;
    this.#levels = check(buffer);
  }

  /** @internal A view of bytes `start`…`end` of `src`, already checked by the decoder. */
  static _view(src: Buffer, start: number, end: number, levels: number): Encoded {
    const encoded = new Encoded(TRUSTED);
    encoded.#src = src;
    encoded.#start = start;
    encoded.#end = end;
    encoded.#levels = levels;
    return encoded;
  }

  /** Size of the encoded value in bytes. */
  get byteLength(): number {
    return this.#end - this.#start;
  }

  /** The encoded bytes (a view, not a copy). */
  get bytes(): Buffer {
    return this.#src.subarray(this.#start, this.#end);
  }

  /** Decodes the value (afresh on each call). */
  decode(): unknown {
    return decode(this.bytes);
  }

  /** @internal Levels of nesting (0 for a scalar). */
  get _levels(): number {
    return this.#levels;
  }

  /** @internal The buffer holding the bytes, and where they start in it. */
  get _src(): Buffer {
    return this.#src;
  }

  get _start(): number {
    return this.#start;
  }

  /** @internal Copies the bytes into `target` at `at`; returns the position after them. */
  _copyTo(target: Buffer, at: number): number {
    const src = this.#src;
    const start = this.#start;
    const n = this.#end - start;
    // Small values (the common case) copy faster in a loop than through a native call.
    if (n <= 32) for (let i = 0; i < n; i++) target[at + i] = src[start + i]!;
    else src.copy(target, at, start, this.#end);
    return at + n;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encodes one value into a new Buffer. Throws `CodecError` naming the path of
 * a value that is not plain data (a function, symbol, Map, class instance, a
 * cycle or nesting deeper than {@link MAX_DEPTH}).
 */
export function encode(value: unknown): Buffer {
  pos = 0;
  try {
    write(value, 0);
  } catch (error) {
    pos = 0;
    if (error instanceof CodecError) throw error;
    throw new CodecError(`cannot encode value: ${(error as Error).message}`, { cause: error });
  }
  const result = Buffer.allocUnsafe(pos);
  out.copy(result, 0, 0, pos);
  // Drop a scratch buffer that grew for one huge message, so it does not stay resident.
  if (out.length > 4 * 1024 * 1024) out = Buffer.allocUnsafe(64 * 1024);
  pos = 0;
  return result;
}

/**
 * The size in bytes `encode(value)` would return, without making that
 * Buffer (binary values are measured, anything else encoded into scratch
 * space). Throws `CodecError` like `encode`.
 */
export function encodedLength(value: unknown): number {
  if (value instanceof Encoded) return value.byteLength;
  if (value instanceof Uint8Array) {
    const n = value.length;
    return n + (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
  }
  pos = 0;
  try {
    write(value, 0);
  } catch (error) {
    pos = 0;
    if (error instanceof CodecError) throw error;
    throw new CodecError(`cannot encode value: ${(error as Error).message}`, { cause: error });
  }
  const length = pos;
  if (out.length > 4 * 1024 * 1024) out = Buffer.allocUnsafe(64 * 1024);
  pos = 0;
  return length;
}

/**
 * Builds one frame holding a MessagePack array — a batch — by appending values
 * one at a time, each encoded once, straight into the frame's own buffer.
 * A value that cannot be encoded throws `CodecError` from `append` and leaves
 * the batch as it was, so one bad message never spoils its neighbours. The
 * array header is written by `finish` (a fixed 5-byte array32 header, which
 * MessagePack allows for any length).
 */
export class BatchWriter {
  #buf: Buffer;
  /** Bytes of the frame so far, the pending run's included. */
  #pos = 5;
  /**
   * Encoded elements appended back to back from one source buffer (a frame
   * being forwarded) and not copied yet: bytes `#runFrom`…`#runTo` of
   * `#runSrc` go at `#runAt`. One copy for the run instead of one per element.
   */
  #runSrc: Buffer | undefined;
  #runFrom = 0;
  #runTo = 0;
  #runAt = 0;
  /** Number of array elements appended so far (head values included). */
  count = 0;

  constructor(initialBytes = 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(initialBytes, 16));
  }

  /** Bytes the frame will have. */
  get byteLength(): number {
    return this.#pos;
  }

  /** Appends one element; returns its encoded size in bytes. */
  append(value: unknown): number {
    if (value instanceof Encoded) return this.#appendView(value);
    if (this.#runSrc !== undefined) this.#copyRun();
    const savedOut = out;
    const savedPos = pos;
    out = this.#buf;
    pos = this.#pos;
    const start = pos;
    try {
      write(value, 1);
      this.#buf = out;
      this.#pos = pos;
      this.count++;
      return pos - start;
    } catch (error) {
      this.#buf = out;
      if (error instanceof CodecError) throw error;
      throw new CodecError(`cannot encode value: ${(error as Error).message}`, { cause: error });
    } finally {
      out = savedOut;
      pos = savedPos;
    }
  }

  /**
   * An {@link Encoded} element: its bytes, copied (the forwarding path: no
   * encoding at all) — when it follows the previous one in the same source,
   * later, with it, in one copy.
   */
  #appendView(value: Encoded): number {
    // An element sits at depth 1: its innermost array or map must still be above the limit.
    if (value._levels >= MAX_DEPTH)
      throw new CodecError(`cannot encode value: nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
    const n = value.byteLength;
    const src = value._src;
    const from = value._start;
    if (src !== this.#runSrc || from !== this.#runTo) {
      if (this.#runSrc !== undefined) this.#copyRun();
      this.#runSrc = src;
      this.#runFrom = from;
      this.#runAt = this.#pos;
    }
    this.#runTo = from + n;
    this.#pos += n;
    this.count++;
    return n;
  }

  /** Copies the pending run of Encoded elements into place. */
  #copyRun(): void {
    const src = this.#runSrc!;
    const n = this.#runTo - this.#runFrom;
    if (this.#runAt + n > this.#buf.length) this.#grow(this.#runAt + n - this.#buf.length);
    if (n <= 32) {
      const buf = this.#buf;
      for (let i = 0, at = this.#runAt, from = this.#runFrom; i < n; i++) buf[at + i] = src[from + i]!;
    } else src.copy(this.#buf, this.#runAt, this.#runFrom, this.#runTo);
    this.#runSrc = undefined;
  }

  /** Makes room for `n` more bytes than the buffer holds now (bytes in place: up to #pos, or the run's start). */
  #grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#buf.length + n));
    this.#buf.copy(next, 0, 0, this.#runSrc === undefined ? this.#pos : this.#runAt);
    this.#buf = next;
  }

  /** A point to roll back to: elements appended after it can be discarded with {@link rollback}. */
  mark(): number {
    return this.#pos * 0x200000 + this.count;
  }

  /** Discards everything appended after `mark`. */
  rollback(mark: number): void {
    if (this.#runSrc !== undefined) this.#copyRun();
    this.#pos = Math.floor(mark / 0x200000);
    this.count = mark % 0x200000;
  }

  /** Appends bytes that already hold one encoded MessagePack value. */
  appendEncoded(bytes: Uint8Array): void {
    if (this.#runSrc !== undefined) this.#copyRun();
    if (this.#pos + bytes.length > this.#buf.length) this.#grow(this.#pos + bytes.length - this.#buf.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    this.count++;
  }

  /** Writes the array header and returns the frame. The writer must not be used afterwards. */
  finish(): Buffer {
    if (this.#runSrc !== undefined) this.#copyRun();
    const buf = this.#buf;
    buf[0] = 0xdd;
    buf.writeUInt32BE(this.count, 1);
    return buf.subarray(0, this.#pos);
  }
}

function writeArrayHeader(n: number): void {
  ensure(5);
  if (n < 16) out[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    out[pos++] = 0xdc;
    out[pos++] = n >>> 8;
    out[pos++] = n & 0xff;
  } else {
    out[pos++] = 0xdd;
    out.writeUInt32BE(n, pos);
    pos += 4;
  }
}

function write(value: unknown, depth: number): void {
  switch (typeof value) {
    case "string":
      writeString(value);
      return;
    case "number":
      writeNumber(value);
      return;
    case "boolean":
      ensure(1);
      out[pos++] = value ? 0xc3 : 0xc2;
      return;
    case "undefined":
      ensure(1);
      out[pos++] = 0xc0;
      return;
    case "object":
      if (value === null) {
        ensure(1);
        out[pos++] = 0xc0;
        return;
      }
      if (depth >= MAX_DEPTH)
        throw new CodecError(`cannot encode value: nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
      if (Array.isArray(value)) {
        writeArrayHeader(value.length);
        for (let i = 0; i < value.length; i++) write(value[i], depth + 1);
        return;
      }
      writeObject(value as object, depth);
      return;
    case "bigint":
      writeBigInt(value);
      return;
    default:
      throw new CodecError(`cannot encode a ${typeof value}: only plain data can be sent`);
  }
}

function writeObject(value: object, depth: number): void {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(value);
    let n = 0;
    for (let i = 0; i < keys.length; i++) if ((value as Record<string, unknown>)[keys[i]!] !== undefined) n++;
    ensure(5);
    if (n < 16) out[pos++] = 0x80 | n;
    else if (n < 0x10000) {
      out[pos++] = 0xde;
      out[pos++] = n >>> 8;
      out[pos++] = n & 0xff;
    } else {
      out[pos++] = 0xdf;
      out.writeUInt32BE(n, pos);
      pos += 4;
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      writeString(key);
      write(v, depth + 1);
    }
    return;
  }
  if (proto === Encoded.prototype) {
    const encoded = value as Encoded;
    // Its innermost array or map must still be above the depth limit where it lands.
    if (encoded._levels > 0 && depth + encoded._levels > MAX_DEPTH)
      throw new CodecError(`cannot encode value: nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
    ensure(encoded.byteLength);
    pos = encoded._copyTo(out, pos);
    return;
  }
  if (value instanceof Uint8Array) {
    writeBinary(value);
    return;
  }
  if (value instanceof Date) {
    writeDate(value);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    writeBinary(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return;
  }
  if (value instanceof ArrayBuffer) {
    writeBinary(new Uint8Array(value));
    return;
  }
  const kind = proto?.constructor?.name ?? "object";
  throw new CodecError(
    `cannot encode an instance of ${kind}: only plain objects, arrays, strings, numbers, booleans, null, binary and Dates can be sent`,
  );
}

function writeString(s: string): void {
  const len = s.length;
  if (len < 32) {
    // Short strings: write ASCII directly, fall back to utf8 on the first non-ASCII unit.
    ensure(len * 3 + 5);
    const start = pos;
    let p = pos + 1;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[p++] = c;
    }
    if (i === len) {
      out[start] = 0xa0 | len;
      pos = p;
      return;
    }
    const bytes = out.write(s, start + 1, "utf8");
    if (bytes < 32) {
      out[start] = 0xa0 | bytes;
      pos = start + 1 + bytes;
    } else {
      out.copyWithin(start + 2, start + 1, start + 1 + bytes);
      out[start] = 0xd9;
      out[start + 1] = bytes;
      pos = start + 2 + bytes;
    }
    return;
  }
  const max = len * 3;
  ensure(max + 5);
  const header = max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  const bytes = out.write(s, pos + header, "utf8");
  // Choose the smallest header for the actual byte length, moving the bytes if needed.
  const need = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
  if (need !== header) out.copyWithin(pos + need, pos + header, pos + header + bytes);
  if (need === 1) out[pos] = 0xa0 | bytes;
  else if (need === 2) {
    out[pos] = 0xd9;
    out[pos + 1] = bytes;
  } else if (need === 3) {
    out[pos] = 0xda;
    out[pos + 1] = bytes >>> 8;
    out[pos + 2] = bytes & 0xff;
  } else {
    out[pos] = 0xdb;
    out.writeUInt32BE(bytes, pos + 1);
  }
  pos += need + bytes;
}

function writeNumber(n: number): void {
  ensure(9);
  if (Number.isInteger(n) && !Object.is(n, -0)) {
    if (n >= 0) {
      if (n < 0x80) out[pos++] = n;
      else if (n < 0x100) {
        out[pos++] = 0xcc;
        out[pos++] = n;
      } else if (n < 0x10000) {
        out[pos++] = 0xcd;
        out[pos++] = n >>> 8;
        out[pos++] = n & 0xff;
      } else if (n < 0x100000000) {
        out[pos++] = 0xce;
        out.writeUInt32BE(n, pos);
        pos += 4;
      } else if (n <= Number.MAX_SAFE_INTEGER) {
        out[pos++] = 0xcf;
        out.writeUInt32BE(Math.floor(n / 0x100000000), pos);
        out.writeUInt32BE(n >>> 0, pos + 4);
        pos += 8;
      } else writeFloat(n);
    } else {
      if (n >= -0x20) out[pos++] = 0x100 + n;
      else if (n >= -0x80) {
        out[pos++] = 0xd0;
        out.writeInt8(n, pos++);
      } else if (n >= -0x8000) {
        out[pos++] = 0xd1;
        out.writeInt16BE(n, pos);
        pos += 2;
      } else if (n >= -0x80000000) {
        out[pos++] = 0xd2;
        out.writeInt32BE(n, pos);
        pos += 4;
      } else if (n >= Number.MIN_SAFE_INTEGER) {
        out[pos++] = 0xd3;
        out.writeBigInt64BE(BigInt(n), pos);
        pos += 8;
      } else writeFloat(n);
    }
    return;
  }
  writeFloat(n);
}

function writeFloat(n: number): void {
  out[pos++] = 0xcb;
  out.writeDoubleBE(n, pos);
  pos += 8;
}

function writeBigInt(n: bigint): void {
  ensure(9);
  if (n >= 0n && n < 0x10000000000000000n) {
    out[pos++] = 0xcf;
    out.writeBigUInt64BE(n, pos);
  } else if (n < 0n && n >= -0x8000000000000000n) {
    out[pos++] = 0xd3;
    out.writeBigInt64BE(n, pos);
  } else throw new CodecError(`cannot encode bigint ${n}: outside the 64-bit range`);
  pos += 8;
}

function writeBinary(bytes: Uint8Array): void {
  const n = bytes.length;
  ensure(n + 5);
  if (n < 0x100) {
    out[pos++] = 0xc4;
    out[pos++] = n;
  } else if (n < 0x10000) {
    out[pos++] = 0xc5;
    out[pos++] = n >>> 8;
    out[pos++] = n & 0xff;
  } else {
    out[pos++] = 0xc6;
    out.writeUInt32BE(n, pos);
    pos += 4;
  }
  out.set(bytes, pos);
  pos += n;
}

/** Dates use MessagePack's timestamp extension (type −1), 96-bit form: exact to the millisecond. */
function writeDate(date: Date): void {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new CodecError("cannot encode an invalid Date");
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  ensure(15);
  out[pos++] = 0xc7;
  out[pos++] = 12;
  out[pos++] = 0xff;
  out.writeUInt32BE(nanos, pos);
  out.writeBigInt64BE(BigInt(seconds), pos + 4);
  pos += 12;
}

// ---------------------------------------------------------------- decoding

let src: Buffer = EMPTY;
let at = 0;
let end = 0;

/**
 * Decodes one value that must fill `bytes` exactly. Throws `CodecError` on a
 * truncated, malformed or unsupported frame.
 */
export function decode(bytes: Uint8Array): unknown {
  src = asBuffer(bytes);
  at = 0;
  end = src.length;
  try {
    const value = read(0);
    if (at !== end) throw new CodecError(`malformed frame: ${end - at} bytes after the value`);
    return value;
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`malformed frame: ${(error as Error).message}`, { cause: error });
  } finally {
    src = EMPTY;
  }
}

/**
 * Decodes a frame that must hold one array (a batch) and returns it. Same
 * checks as {@link decode}. Elements from index `encodedFrom` on are not
 * decoded but returned as {@link Encoded} views of the frame — checked all
 * the same, so a malformed element still refuses the whole frame — for a
 * consumer that only passes them on (a queue proxy).
 */
export function decodeArray(bytes: Uint8Array, encodedFrom = Number.POSITIVE_INFINITY): unknown[] {
  if (encodedFrom === Number.POSITIVE_INFINITY) {
    const value = decode(bytes);
    if (!Array.isArray(value)) throw new CodecError("malformed frame: expected a batch (array)");
    return value;
  }
  src = asBuffer(bytes);
  at = 0;
  end = src.length;
  try {
    const n = readArrayHeader();
    if (n === undefined) throw new CodecError("malformed frame: expected a batch (array)");
    if (n > end - at) throw new CodecError(`malformed frame: array of ${n} elements in ${end - at} bytes`);
    const result = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      if (i < encodedFrom) result[i] = read(1);
      else {
        const start = at;
        const levels = skip(1);
        result[i] = Encoded._view(src, start, at, levels);
      }
    }
    if (at !== end) throw new CodecError(`malformed frame: ${end - at} bytes after the value`);
    return result;
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`malformed frame: ${(error as Error).message}`, { cause: error });
  } finally {
    src = EMPTY;
  }
}

/**
 * The first `n` elements of a batch frame, decoded, without reading the
 * rest; undefined when the frame does not start with an array of at least
 * `n` readable elements. Never throws: it only peeks (which channel a frame
 * is for), and the frame is checked in full when it is decoded.
 */
export function decodeHead(bytes: Uint8Array, n: number): unknown[] | undefined {
  src = asBuffer(bytes);
  at = 0;
  end = src.length;
  try {
    const length = readArrayHeader();
    if (length === undefined || length < n) return undefined;
    const head = new Array<unknown>(n);
    for (let i = 0; i < n; i++) head[i] = read(1);
    return head;
  } catch {
    return undefined;
  } finally {
    src = EMPTY;
  }
}

/** Checks that `bytes` hold exactly one value, as `decode` would; returns its levels of nesting. */
function check(bytes: Buffer): number {
  src = bytes;
  at = 0;
  end = src.length;
  try {
    const levels = skip(0);
    if (at !== end) throw new CodecError(`malformed frame: ${end - at} bytes after the value`);
    return levels;
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`malformed frame: ${(error as Error).message}`, { cause: error });
  } finally {
    src = EMPTY;
  }
}

/** Reads an array header; undefined (nothing consumed) when the next value is not an array. */
function readArrayHeader(): number | undefined {
  need(1);
  const token = src[at]!;
  if (token >= 0x90 && token < 0xa0) {
    at++;
    return token & 0x0f;
  }
  if (token === 0xdc) {
    need(3);
    at += 3;
    return src.readUInt16BE(at - 2);
  }
  if (token === 0xdd) {
    need(5);
    at += 5;
    return src.readUInt32BE(at - 4);
  }
  return undefined;
}

function need(n: number): void {
  if (at + n > end)
    throw new CodecError(`malformed frame: truncated (needs ${n} more bytes at offset ${at})`);
}

function read(depth: number): unknown {
  need(1);
  const token = src[at++]!;
  if (token < 0x80) return token;
  if (token < 0x90) return readMap(token & 0x0f, depth);
  if (token < 0xa0) return readArray(token & 0x0f, depth);
  if (token < 0xc0) return readString(token & 0x1f);
  if (token >= 0xe0) return token - 0x100;
  switch (token) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      need(1);
      return readBinary(src[at++]!);
    case 0xc5:
      need(2);
      at += 2;
      return readBinary(src.readUInt16BE(at - 2));
    case 0xc6:
      need(4);
      at += 4;
      return readBinary(src.readUInt32BE(at - 4));
    case 0xc7:
      need(2);
      at += 2;
      return readExt(src[at - 2]!, src.readInt8(at - 1));
    case 0xc8:
      need(3);
      at += 3;
      return readExt(src.readUInt16BE(at - 3), src.readInt8(at - 1));
    case 0xc9:
      need(5);
      at += 5;
      return readExt(src.readUInt32BE(at - 5), src.readInt8(at - 1));
    case 0xca:
      need(4);
      at += 4;
      return src.readFloatBE(at - 4);
    case 0xcb:
      need(8);
      at += 8;
      return src.readDoubleBE(at - 8);
    case 0xcc:
      need(1);
      return src[at++]!;
    case 0xcd:
      need(2);
      at += 2;
      return src.readUInt16BE(at - 2);
    case 0xce:
      need(4);
      at += 4;
      return src.readUInt32BE(at - 4);
    case 0xcf: {
      need(8);
      at += 8;
      const hi = src.readUInt32BE(at - 8);
      const lo = src.readUInt32BE(at - 4);
      if (hi < 0x200000) return hi * 0x100000000 + lo;
      return src.readBigUInt64BE(at - 8);
    }
    case 0xd0:
      need(1);
      at += 1;
      return src.readInt8(at - 1);
    case 0xd1:
      need(2);
      at += 2;
      return src.readInt16BE(at - 2);
    case 0xd2:
      need(4);
      at += 4;
      return src.readInt32BE(at - 4);
    case 0xd3: {
      need(8);
      at += 8;
      const big = src.readBigInt64BE(at - 8);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big)
        : big;
    }
    case 0xd4:
      return readExt(1, readExtType());
    case 0xd5:
      return readExt(2, readExtType());
    case 0xd6:
      return readExt(4, readExtType());
    case 0xd7:
      return readExt(8, readExtType());
    case 0xd8:
      return readExt(16, readExtType());
    case 0xd9:
      need(1);
      return readString(src[at++]!);
    case 0xda:
      need(2);
      at += 2;
      return readString(src.readUInt16BE(at - 2));
    case 0xdb:
      need(4);
      at += 4;
      return readString(src.readUInt32BE(at - 4));
    case 0xdc:
      need(2);
      at += 2;
      return readArray(src.readUInt16BE(at - 2), depth);
    case 0xdd:
      need(4);
      at += 4;
      return readArray(src.readUInt32BE(at - 4), depth);
    case 0xde:
      need(2);
      at += 2;
      return readMap(src.readUInt16BE(at - 2), depth);
    case 0xdf:
      need(4);
      at += 4;
      return readMap(src.readUInt32BE(at - 4), depth);
    default:
      throw new CodecError(
        `malformed frame: byte 0x${token.toString(16)} at offset ${at - 1} is not valid MessagePack`,
      );
  }
}

function readExtType(): number {
  need(1);
  return src.readInt8(at++);
}

function readArray(n: number, depth: number): unknown[] {
  if (depth >= MAX_DEPTH) throw new CodecError(`malformed frame: nested deeper than ${MAX_DEPTH} levels`);
  // Every element takes at least one byte: refuse lengths the frame cannot hold before allocating.
  if (n > end - at) throw new CodecError(`malformed frame: array of ${n} elements in ${end - at} bytes`);
  const result = new Array<unknown>(n);
  for (let i = 0; i < n; i++) result[i] = read(depth + 1);
  return result;
}

function readMap(n: number, depth: number): Record<string, unknown> {
  if (depth >= MAX_DEPTH) throw new CodecError(`malformed frame: nested deeper than ${MAX_DEPTH} levels`);
  if (n * 2 > end - at) throw new CodecError(`malformed frame: map of ${n} entries in ${end - at} bytes`);
  const result: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    need(1);
    const t = src[at]!;
    let key: string;
    if (t >= 0xa0 && t < 0xc0) {
      at++;
      key = readKey(t & 0x1f);
    } else if (t === 0xd9 || t === 0xda || t === 0xdb) key = read(depth + 1) as string;
    else throw new CodecError(`malformed frame: map key at offset ${at} is not a string`);
    const value = read(depth + 1);
    // `__proto__` must stay an ordinary own key: assigning it would replace the prototype.
    if (key === "__proto__")
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
    else result[key] = value;
  }
  return result;
}

// Map keys repeat from message to message: cache short ones by their bytes so
// decoding a key costs a hash and a compare instead of a new string.
const KEY_CACHE_SIZE = 4096;
const keyCacheBytes: (Uint8Array | undefined)[] = new Array(KEY_CACHE_SIZE);
const keyCacheStrings: (string | undefined)[] = new Array(KEY_CACHE_SIZE);

function readKey(n: number): string {
  if (n === 0 || n > 16) return readString(n);
  need(n);
  let h = n;
  for (let i = at; i < at + n; i++) h = (Math.imul(h, 31) + src[i]!) | 0;
  const slot = (h ^ (h >>> 12)) & (KEY_CACHE_SIZE - 1);
  const cached = keyCacheBytes[slot];
  if (cached !== undefined && cached.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (cached[i] !== src[at + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      at += n;
      return keyCacheStrings[slot]!;
    }
  }
  const bytes = src.subarray(at, at + n);
  const key = readString(n);
  keyCacheBytes[slot] = Uint8Array.from(bytes);
  keyCacheStrings[slot] = key;
  return key;
}

function readString(n: number): string {
  need(n);
  const start = at;
  at += n;
  if (n < 16) {
    // Short ASCII strings: building from char codes beats the utf8 decoder call.
    let s = "";
    for (let i = start; i < at; i++) {
      const c = src[i]!;
      if (c >= 0x80) return src.toString("utf8", start, at);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return src.toString("utf8", start, at);
}

function readBinary(n: number): Buffer {
  need(n);
  const start = at;
  at += n;
  // A view into the received frame, not a copy: zero-copy like zeromq.js's own frames.
  return src.subarray(start, at);
}

function readExt(size: number, type: number): Date {
  need(size);
  const start = at;
  at += size;
  if (type !== -1) throw new CodecError(`malformed frame: unsupported extension type ${type}`);
  if (size === 4) return new Date(src.readUInt32BE(start) * 1000);
  if (size === 8) {
    const hi = src.readUInt32BE(start);
    const lo = src.readUInt32BE(start + 4);
    const nanos = hi >>> 2;
    const seconds = (hi & 0x3) * 0x100000000 + lo;
    return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
  }
  if (size === 12) {
    const nanos = src.readUInt32BE(start);
    const seconds = Number(src.readBigInt64BE(start + 4));
    return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
  }
  throw new CodecError(`malformed frame: timestamp extension of ${size} bytes`);
}

// ------------------------------------------------------- checking, not decoding

/**
 * Checks one value exactly as {@link read} does — the same types, lengths,
 * depth limit and errors — without building it, and returns the levels of
 * arrays and maps nested in it (0 for a scalar). A forwarded message is
 * checked this way so that a malformed one is refused here, not by the node
 * it is forwarded to (where it would spoil a whole batch).
 */
function skip(depth: number): number {
  need(1);
  const token = src[at++]!;
  if (token < 0x80) return 0;
  if (token < 0x90) return skipMap(token & 0x0f, depth);
  if (token < 0xa0) return skipArray(token & 0x0f, depth);
  if (token < 0xc0) return skipBytes(token & 0x1f);
  if (token >= 0xe0) return 0;
  switch (token) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return 0;
    case 0xc4:
      need(1);
      return skipBytes(src[at++]!);
    case 0xc5:
      need(2);
      at += 2;
      return skipBytes(src.readUInt16BE(at - 2));
    case 0xc6:
      need(4);
      at += 4;
      return skipBytes(src.readUInt32BE(at - 4));
    case 0xc7:
      need(2);
      at += 2;
      return skipExt(src[at - 2]!, src.readInt8(at - 1));
    case 0xc8:
      need(3);
      at += 3;
      return skipExt(src.readUInt16BE(at - 3), src.readInt8(at - 1));
    case 0xc9:
      need(5);
      at += 5;
      return skipExt(src.readUInt32BE(at - 5), src.readInt8(at - 1));
    case 0xcc:
    case 0xd0:
      return skipBytes(1);
    case 0xcd:
    case 0xd1:
      return skipBytes(2);
    case 0xca:
    case 0xce:
    case 0xd2:
      return skipBytes(4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return skipBytes(8);
    case 0xd4:
      return skipExt(1, readExtType());
    case 0xd5:
      return skipExt(2, readExtType());
    case 0xd6:
      return skipExt(4, readExtType());
    case 0xd7:
      return skipExt(8, readExtType());
    case 0xd8:
      return skipExt(16, readExtType());
    case 0xd9:
      need(1);
      return skipBytes(src[at++]!);
    case 0xda:
      need(2);
      at += 2;
      return skipBytes(src.readUInt16BE(at - 2));
    case 0xdb:
      need(4);
      at += 4;
      return skipBytes(src.readUInt32BE(at - 4));
    case 0xdc:
      need(2);
      at += 2;
      return skipArray(src.readUInt16BE(at - 2), depth);
    case 0xdd:
      need(4);
      at += 4;
      return skipArray(src.readUInt32BE(at - 4), depth);
    case 0xde:
      need(2);
      at += 2;
      return skipMap(src.readUInt16BE(at - 2), depth);
    case 0xdf:
      need(4);
      at += 4;
      return skipMap(src.readUInt32BE(at - 4), depth);
    default:
      throw new CodecError(
        `malformed frame: byte 0x${token.toString(16)} at offset ${at - 1} is not valid MessagePack`,
      );
  }
}

function skipBytes(n: number): number {
  need(n);
  at += n;
  return 0;
}

function skipExt(size: number, type: number): number {
  need(size);
  at += size;
  if (type !== -1) throw new CodecError(`malformed frame: unsupported extension type ${type}`);
  if (size !== 4 && size !== 8 && size !== 12)
    throw new CodecError(`malformed frame: timestamp extension of ${size} bytes`);
  return 0;
}

function skipArray(n: number, depth: number): number {
  if (depth >= MAX_DEPTH) throw new CodecError(`malformed frame: nested deeper than ${MAX_DEPTH} levels`);
  if (n > end - at) throw new CodecError(`malformed frame: array of ${n} elements in ${end - at} bytes`);
  let levels = 0;
  for (let i = 0; i < n; i++) {
    const inner = skip(depth + 1);
    if (inner > levels) levels = inner;
  }
  return levels + 1;
}

function skipMap(n: number, depth: number): number {
  if (depth >= MAX_DEPTH) throw new CodecError(`malformed frame: nested deeper than ${MAX_DEPTH} levels`);
  if (n * 2 > end - at) throw new CodecError(`malformed frame: map of ${n} entries in ${end - at} bytes`);
  let levels = 0;
  for (let i = 0; i < n; i++) {
    need(1);
    const t = src[at]!;
    if (t >= 0xa0 && t < 0xc0) {
      at++;
      skipBytes(t & 0x1f);
    } else if (t === 0xd9 || t === 0xda || t === 0xdb) skip(depth + 1);
    else throw new CodecError(`malformed frame: map key at offset ${at} is not a string`);
    const inner = skip(depth + 1);
    if (inner > levels) levels = inner;
  }
  return levels + 1;
}
