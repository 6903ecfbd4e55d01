import fc from "fast-check";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  BatchWriter,
  decode,
  decodeArray,
  decodeHead,
  Encoded,
  encode,
  encodedLength,
  MAX_DEPTH,
} from "../../core/codec.js";
import { CodecError } from "../../core/errors.js";

const roundTrip = (v: unknown): unknown => decode(encode(v));

describe("codec", () => {
  it("codec – round-trips every plain-data type", () => {
    const value = {
      nil: null,
      t: true,
      f: false,
      ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER],
      negs: [-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER],
      floats: [0.5, -1.25, Math.PI, 1e300, Number.POSITIVE_INFINITY],
      strings: ["", "a", "x".repeat(31), "x".repeat(32), "y".repeat(300), "z".repeat(70_000), "héllo ✓ 😀"],
      bin: Buffer.from([0, 1, 2, 255]),
      bigBin: Buffer.alloc(70_000, 7),
      date: new Date(1_700_000_000_123),
      nested: { a: [{ b: { c: [1, [2, [3]]] } }] },
    };
    expect(roundTrip(value)).toEqual(value);
    expect(Number.isNaN(roundTrip(Number.NaN))).toBe(true);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  it("codec – undefined becomes null in arrays and is omitted in objects, like JSON", () => {
    expect(roundTrip([1, undefined, 2])).toEqual([1, null, 2]);
    expect(roundTrip({ a: 1, b: undefined })).toEqual({ a: 1 });
  });

  it("codec – typed arrays and ArrayBuffers travel as binary", () => {
    const floats = new Float64Array([1.5, 2.5]);
    const back = roundTrip(floats) as Buffer;
    expect(new Float64Array(back.buffer.slice(back.byteOffset, back.byteOffset + back.byteLength))).toEqual(
      floats,
    );
    expect(roundTrip(new Uint8Array([9, 8]).buffer)).toEqual(Buffer.from([9, 8]));
  });

  it("codec – refuses what is not plain data with a CodecError that says what", () => {
    const cases: [unknown, RegExp][] = [
      [() => 1, /function/],
      [Symbol("s"), /symbol/],
      [new Map([[1, 2]]), /instance of Map/],
      [new Set([1]), /instance of Set/],
      [new (class Point {})(), /instance of Point/],
      [{ deep: { fn: () => 1 } }, /function/],
      [new Date(Number.NaN), /invalid Date/],
      [2n ** 70n, /64-bit/],
    ];
    for (const [value, message] of cases) {
      const error = (() => {
        try {
          encode(value);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(CodecError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("codec – a cycle is refused instead of overflowing the stack", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => encode(a)).toThrow(CodecError);
    expect(() => encode(a)).toThrow(/deeper than/);
  });

  it("codec – __proto__ from a frame stays an own key and pollutes nothing", () => {
    // { "__proto__": { "polluted": true } } as MessagePack, built by hand.
    const frame = Buffer.concat([
      Buffer.from([0x81, 0xa9]),
      Buffer.from("__proto__"),
      Buffer.from([0x81, 0xa8]),
      Buffer.from("polluted"),
      Buffer.from([0xc3]),
    ]);
    const value = decode(frame) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("codec – truncated, trailing and invalid bytes are CodecErrors", () => {
    const good = encode({ a: [1, 2, 3], s: "hello" });
    for (let cut = 0; cut < good.length; cut++)
      expect(() => decode(good.subarray(0, cut))).toThrow(CodecError);
    expect(() => decode(Buffer.concat([good, Buffer.from([0])]))).toThrow(/after the value/);
    expect(() => decode(Buffer.from([0xc1]))).toThrow(/not valid MessagePack/);
    expect(() => decode(Buffer.from([0x81, 0x01, 0x02]))).toThrow(/key .* not a string/);
  });

  it("codec – a declared length larger than the frame is refused before allocating", () => {
    // array32 claiming 2^32-1 elements in a 5-byte frame; map32 likewise; str32 claiming 1 GiB.
    expect(() => decode(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(/array of 4294967295/);
    expect(() => decode(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]))).toThrow(/map of 4294967295/);
    expect(() => decode(Buffer.from([0xdb, 0x40, 0, 0, 0, 0x61]))).toThrow(/truncated/);
  });

  it("codec – nesting deeper than MAX_DEPTH is refused when decoding", () => {
    const deep = Buffer.concat([Buffer.alloc(MAX_DEPTH + 1, 0x91), Buffer.from([0xc0])]);
    expect(() => decode(deep)).toThrow(/deeper than/);
    const ok = Buffer.concat([Buffer.alloc(MAX_DEPTH - 1, 0x91), Buffer.from([0xc0])]);
    expect(() => decode(ok)).not.toThrow();
  });

  it("codec – extension types other than timestamps are refused (no RegExp, records or code from data)", () => {
    // msgpackr's RegExp extension (0x78) and its record definition (0x72).
    const regexpPayload = pack(["a+", ""]);
    const regexpFrame = Buffer.concat([Buffer.from([0xc7, regexpPayload.length, 0x78]), regexpPayload]);
    expect(() => decode(regexpFrame)).toThrow(/unsupported extension type 120/);
    expect(() => decode(Buffer.from([0xd4, 0x72, 0x00]))).toThrow(/unsupported extension/);
  });

  it("codec – interoperates with msgpackr on plain data", () => {
    const value = {
      id: 7,
      name: "sensor/temp",
      v: [1.5, -2, "ü"],
      ok: true,
      when: new Date(1_600_000_000_000),
    };
    expect(unpack(encode(value))).toEqual(value);
    expect(decode(pack(value))).toEqual(value);
  });

  it("codec – property: any JSON value round-trips", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Compared with the value itself: unlike JSON, the codec keeps -0.
        expect(roundTrip(value)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it("codec – property: random bytes decode or throw CodecError, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("batch – a value that cannot be encoded leaves the batch intact", () => {
    const w = new BatchWriter(8);
    w.append(1);
    expect(() => w.append({ bad: () => 1 })).toThrow(CodecError);
    w.append("x".repeat(5000)); // grows the buffer
    const mark = w.mark();
    w.append(3);
    w.rollback(mark);
    w.append(4);
    expect(decodeArray(w.finish())).toEqual([1, "x".repeat(5000), 4]);
  });
});

/** What `f` does with `bytes`: its result, or the message of the error it threw. */
function outcome(f: () => unknown): { ok: unknown } | { error: string } {
  try {
    return { ok: f() };
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    return { error: (error as Error).message };
  }
}

/** Plain data of every type the codec carries. */
const plainData = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false),
    fc.integer(),
    fc.double(),
    fc.constantFrom(2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, 2n ** 63n),
    fc.string(),
    fc.string({ minLength: 20, maxLength: 300 }),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.date({ noInvalidDate: true }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 20 }), tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** A valid encoding with damage: a byte changed, cut short, or bytes added. */
const damaged = fc
  .tuple(plainData, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "cut", "add"))
  .map(([value, where, byte, how]) => {
    const bytes = Buffer.from(encode(value));
    const i = bytes.length === 0 ? 0 : where % bytes.length;
    if (how === "set") bytes[i] = byte;
    if (how === "cut") return bytes.subarray(0, i);
    if (how === "add") return Buffer.concat([bytes, Buffer.from([byte])]);
    return bytes;
  });

describe("codec, encoded values", () => {
  it("codec – an Encoded value is written as its bytes, alone, nested or in a batch", () => {
    const inner = new Encoded(encode({ a: [1, "x"], b: Buffer.from([1, 2]), d: new Date(5) }));
    expect(inner.decode()).toEqual({ a: [1, "x"], b: Buffer.from([1, 2]), d: new Date(5) });
    expect(encode(inner)).toEqual(inner.bytes);
    expect(encodedLength(inner)).toBe(inner.byteLength);
    expect(decode(encode({ wrapped: inner, n: 1 }))).toEqual({ wrapped: inner.decode(), n: 1 });
    const big = new Encoded(encode("y".repeat(1000))); // copied natively, not byte by byte
    const w = new BatchWriter(8);
    w.append(3);
    expect(w.append(inner)).toBe(inner.byteLength);
    w.append(big);
    expect(decodeArray(w.finish())).toEqual([3, inner.decode(), "y".repeat(1000)]);
  });

  it("codec – new Encoded refuses what decode refuses, with the same error", () => {
    fc.assert(
      fc.property(fc.oneof(damaged, fc.uint8Array({ maxLength: 48 })), (bytes) => {
        const decoded = outcome(() => decode(bytes));
        const checked = outcome(() => new Encoded(bytes).decode());
        expect(checked).toEqual(decoded);
      }),
      { numRuns: 3000 },
    );
  });

  it("codec – new Encoded agrees with decode on every kind of token, valid or not", () => {
    const cases: number[][] = [[]];
    // Every first byte, alone and followed by a few bytes (lengths, ext types, payloads).
    for (let t = 0; t < 256; t++) {
      cases.push([t], [t, 0], [t, 1, 0], [t, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
      for (const size of [1, 2, 4, 8, 12, 16]) cases.push([t, size, 0xff, ...Array(16).fill(0)]);
      cases.push([t, 0xff, ...Array(16).fill(0)], [t, 0xff, 0xff, ...Array(16).fill(0)]);
    }
    // Maps with keys of every string form, and keys that are not strings.
    for (const key of [
      [0xa1, 0x61],
      [0xd9, 1, 0x61],
      [0xda, 0, 1, 0x61],
      [0xdb, 0, 0, 0, 1, 0x61],
      [0x01],
      [0xc4, 1, 0x61],
    ])
      cases.push([0x81, ...key, 0xc0], [0xde, 0, 1, ...key, 0xc0]);
    for (const bytes of cases) {
      const buffer = Buffer.from(bytes);
      expect(outcome(() => new Encoded(buffer).decode())).toEqual(outcome(() => decode(buffer)));
    }
  });

  it("codec – decodeArray leaves elements encoded from an index on, checked as decode checks them", () => {
    fc.assert(
      fc.property(fc.array(plainData, { maxLength: 6 }), fc.nat(3), (items, from) => {
        const frame = encode([3, "jobs", 7, ...items]);
        const kept = decodeArray(frame, from);
        expect(kept.slice(0, from)).toEqual([3, "jobs", 7, ...items].slice(0, from));
        for (const e of kept.slice(from)) expect(e).toBeInstanceOf(Encoded);
        const values = kept.map((e) => (e instanceof Encoded ? e.decode() : e));
        expect(values).toEqual(decodeArray(frame));
        // Written back as they came: the same bytes.
        const w = new BatchWriter();
        for (const e of kept) w.append(e);
        expect(w.finish().subarray(5)).toEqual(frame.subarray(1)); // past the array headers
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(damaged, fc.nat(3), (item, from) => {
        const frame = Buffer.concat([Buffer.from([0x93, 0x03]), encode("jobs"), item]); // [3, "jobs", item]
        expect(outcome(() => decodeArray(frame, from).length)).toEqual(
          outcome(() => decodeArray(frame).length),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it("batch – Encoded elements from one frame, appended in any mix with other values and rollbacks, come out right", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("next" as const), skip: fc.nat(2) }), // the next element(s) of the source frame
      fc.record({ kind: fc.constant("value" as const), value: plainData }),
      fc.record({ kind: fc.constant("bytes" as const), value: plainData }), // appendEncoded
      fc.record({ kind: fc.constant("rollback" as const), back: fc.nat(3) }),
    );
    fc.assert(
      fc.property(
        fc.array(plainData, { minLength: 1, maxLength: 40 }),
        fc.array(op, { maxLength: 60 }),
        fc.nat(64),
        (items, ops, initial) => {
          const source = decodeArray(encode(items), 0) as Encoded[];
          const w = new BatchWriter(initial);
          const expected: unknown[] = [];
          const marks: [number, number][] = []; // writer mark, expected length
          let next = 0;
          for (const o of ops) {
            marks.push([w.mark(), expected.length]);
            if (o.kind === "next") {
              next += o.skip;
              if (next >= source.length) next = 0;
              w.append(source[next]!);
              expected.push(items[next]);
              next++;
            } else if (o.kind === "value") {
              w.append(o.value);
              expected.push(o.value);
            } else if (o.kind === "bytes") {
              w.appendEncoded(encode(o.value));
              expected.push(o.value);
            } else {
              const i = Math.max(0, marks.length - 1 - o.back);
              const [mark, length] = marks[i]!;
              w.rollback(mark);
              expected.length = length;
              marks.length = i; // later marks are gone with what they marked
            }
          }
          expect(decodeArray(w.finish())).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("codec – the depth limit holds where an Encoded value lands", () => {
    const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);
    // As a batch element (depth 1), a value may nest MAX_DEPTH - 1 levels.
    const fits = new Encoded(encode(nested(MAX_DEPTH - 1)));
    const w = new BatchWriter();
    w.append(fits);
    expect(() => decodeArray(w.finish())).not.toThrow();
    expect(() => new BatchWriter().append(new Encoded(encode(nested(MAX_DEPTH))))).toThrow(/deeper than/);
    expect(() => encode([fits])).not.toThrow();
    expect(() => encode([[fits]])).toThrow(/deeper than/);
    // Checked as received, with decode's limit.
    const frame = Buffer.concat([
      Buffer.from([0x92, 0x03]),
      Buffer.alloc(MAX_DEPTH, 0x91),
      Buffer.from([0xc0]),
    ]);
    expect(() => decodeArray(frame, 1)).toThrow(/deeper than/);
    expect(() => decodeArray(frame)).toThrow(/deeper than/);
  });

  it("codec – decodeHead peeks at a batch's first elements and never throws", () => {
    expect(decodeHead(encode([3, "jobs", 1, { big: "x".repeat(100) }]), 2)).toEqual([3, "jobs"]);
    expect(decodeHead(encode([3]), 2)).toBeUndefined();
    expect(decodeHead(encode({ a: 1 }), 1)).toBeUndefined();
    expect(decodeHead(Buffer.from([0x92, 0xc1]), 1)).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        decodeHead(bytes, 2);
      }),
      { numRuns: 1000 },
    );
  });
});
