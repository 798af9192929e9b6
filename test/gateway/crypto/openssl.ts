/**
 * The openssl command line (3.0) for interoperability tests: SM2 signatures with the default ID 1234567812345678
 * (`-pkeyopt distid:…`; openssl 3.0 uses an empty ID without it), made and checked on files in a directory.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const DISTID = "distid:1234567812345678";

/** Runs openssl; its standard output. Throws if it exits with an error (a failed verification does). */
export function openssl(...args: string[]): Buffer {
  return execFileSync("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
}

/** Whether openssl is on PATH and makes SM2 keys. */
export function hasOpensslSm2(): boolean {
  try {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2");
    return true;
  } catch {
    return false;
  }
}

/** A directory's files, written by name: `write` returns the path. */
export function filesIn(dir: () => string) {
  const file = (name: string) => path.join(dir(), name);
  const write = (name: string, data: string | Uint8Array) => {
    fs.writeFileSync(file(name), data);
    return file(name);
  };
  return { file, write };
}

/** `openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:…` of the message file: a DER SM2 signature. */
export function opensslSm2Sign(privateKeyFile: string, messageFile: string): Buffer {
  return openssl(
    "pkeyutl",
    "-sign",
    "-rawin",
    "-digest",
    "sm3",
    "-pkeyopt",
    DISTID,
    "-inkey",
    privateKeyFile,
    "-in",
    messageFile,
  );
}

/** `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:…`: its output ("Signature Verified Successfully"). */
export function opensslSm2Verify(publicKeyFile: string, messageFile: string, signatureFile: string): string {
  return openssl(
    "pkeyutl",
    "-verify",
    "-rawin",
    "-digest",
    "sm3",
    "-pkeyopt",
    DISTID,
    "-pubin",
    "-inkey",
    publicKeyFile,
    "-in",
    messageFile,
    "-sigfile",
    signatureFile,
  ).toString();
}
