/**
 * The little DER (ITU-T X.690) that SM2 needs: SEQUENCE, INTEGER, OCTET STRING, BIT STRING, OBJECT IDENTIFIER and
 * context tags, read strictly (minimal lengths, minimal non-negative integers, nothing left over) so that one value
 * has exactly one encoding. Every failure is `CryptoError("MALFORMED")`.
 */
import { CryptoError, invariant } from "./errors";

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;
/** `[0]` and `[1]` EXPLICIT, as in ECPrivateKey (RFC 5915). */
export const TAG_CONTEXT_0 = 0xa0;
export const TAG_CONTEXT_1 = 0xa1;

/** One element: its tag and its value (a view into the input). */
export interface Tlv {
  tag: number;
  value: Buffer;
}

function malformed(what: string): CryptoError {
  return new CryptoError("MALFORMED", `malformed DER: ${what}`);
}

/** Reads the element at `offset`; returns it and the offset just past it. */
function readAt(input: Buffer, offset: number): { tlv: Tlv; next: number } {
  invariant(offset + 2 <= input.length, "MALFORMED", "malformed DER: truncated header");
  const tag = input[offset];
  invariant((tag & 0x1f) !== 0x1f, "MALFORMED", "malformed DER: multi-byte tags are not used here");
  let length = input[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    invariant(count >= 1 && count <= 3, "MALFORMED", "malformed DER: length of length");
    invariant(start + count <= input.length, "MALFORMED", "malformed DER: truncated length");
    invariant(input[start] !== 0, "MALFORMED", "malformed DER: non-minimal length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[start + i];
    invariant(length >= 0x80, "MALFORMED", "malformed DER: long form for a short length");
    start += count;
  }
  invariant(start + length <= input.length, "MALFORMED", "malformed DER: value runs past the end");
  return { tlv: { tag, value: input.subarray(start, start + length) }, next: start + length };
}

/** The single element that `input` holds, entirely: trailing bytes are refused. */
export function readTlv(input: Uint8Array, expectedTag?: number): Tlv {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { tlv, next } = readAt(buf, 0);
  if (next !== buf.length) throw malformed("trailing bytes");
  if (expectedTag !== undefined && tlv.tag !== expectedTag)
    throw malformed(`expected tag 0x${expectedTag.toString(16)}`);
  return tlv;
}

/** The children of a constructed value (e.g. a SEQUENCE's value), in order. */
export function readChildren(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < value.length;) {
    const { tlv, next } = readAt(value, offset);
    out.push(tlv);
    offset = next;
  }
  return out;
}

/** Reads `input` as a SEQUENCE and returns its children, checking their tags. */
export function readSequence(input: Uint8Array, tags: readonly number[]): Tlv[] {
  const children = readChildren(readTlv(input, TAG_SEQUENCE).value);
  if (children.length !== tags.length) throw malformed(`expected ${tags.length} elements, found ${children.length}`);
  children.forEach((c, i) => {
    if (c.tag !== tags[i]) throw malformed(`element ${i} has tag 0x${c.tag.toString(16)}`);
  });
  return children;
}

/** The value of a non-negative INTEGER in its minimal encoding. */
export function readUnsigned(tlv: Tlv): bigint {
  const v = tlv.value;
  if (tlv.tag !== TAG_INTEGER) throw malformed("expected an INTEGER");
  if (v.length === 0) throw malformed("empty INTEGER");
  if (v[0] & 0x80) throw malformed("negative INTEGER");
  if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) throw malformed("non-minimal INTEGER");
  return BigInt("0x" + v.toString("hex"));
}

/** One element: tag, minimal length, value. */
export function encodeTlv(tag: number, value: Uint8Array): Buffer {
  const n = value.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else if (n < 0x100) header = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) header = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else header = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([header, value]);
}

/** A non-negative INTEGER in its minimal encoding (a 0x00 byte in front when the top bit is set). */
export function encodeUnsigned(value: bigint): Buffer {
  invariant(value >= 0n, "INVALID_ARGUMENT", "DER integers here are non-negative");
  let hex = value.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  let bytes = Buffer.from(hex, "hex");
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return encodeTlv(TAG_INTEGER, bytes);
}

/** A SEQUENCE of already-encoded elements. */
export function encodeSequence(...elements: Uint8Array[]): Buffer {
  return encodeTlv(TAG_SEQUENCE, Buffer.concat(elements));
}
