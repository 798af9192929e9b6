/**
 * Input bytes. A `string` is always UTF-8 text, never hex or base64: binary data must be a `Uint8Array`
 * (a `Buffer` is one). sm-crypto reads strings as UTF-8 in some functions and as hex in others; this module
 * never does.
 */
export type BytesLike = Uint8Array | string;

/** The bytes of `data`: UTF-8 for a string, a view (not a copy) for a `Uint8Array`. */
export function toBuffer(data: BytesLike): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
