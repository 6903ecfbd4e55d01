import fc from "fast-check";
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { BatchWriter, decode, decodeArray, encode, MAX_DEPTH } from "../../core/codec.js";
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
