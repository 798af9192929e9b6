/**
 * Identities as a Fabric CA issues them: one ECDSA P-256 CA per MSP, and client certificates signed by it that
 * carry Fabric's attribute extension (OID 1.2.3.4.5.6.7.8.1, the JSON `{"attrs":{...}}` as raw extension bytes).
 * Signatures are ECDSA SHA-256 in DER with low S, as Fabric's MSP requires.
 */
import { createPrivateKey, sign, webcrypto, X509Certificate, type KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { FABRIC_ATTRS_OID, fabricAccount } from "../../../lib/fabric-identity";

x509.cryptoProvider.set(webcrypto as never);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const DAY_MS = 24 * 3600 * 1000;

export interface PeerIdentity {
  name: string;
  mspId: string;
  /** The client certificate, PEM. */
  certificate: string;
  privateKey: KeyObject;
  /** PKCS#8 PEM of the private key (for clients that load keys from PEM, such as fabric-gateway's signers). */
  privateKeyPem: string;
  attrs: Readonly<Record<string, string>>;
  /** `lib/fabric-identity.ts` `fabricAccount(mspId, certificate)`. */
  account: string;
}

interface CertificateAuthority {
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  /** Node's view of the CA certificate, to verify what it issued. */
  node: X509Certificate;
}

let serial = 1;
function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(16, "0");
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

/** The MSPs of a test network, each with its own CA. */
export class Msps {
  private readonly cas = new Map<string, Promise<CertificateAuthority>>();

  private ca(mspId: string): Promise<CertificateAuthority> {
    let ca = this.cas.get(mspId);
    if (ca === undefined) {
      ca = (async () => {
        const keys = await keyPair();
        const certificate = await x509.X509CertificateGenerator.createSelfSigned({
          serialNumber: nextSerial(),
          name: `CN=ca.${mspId.toLowerCase()},O=${mspId}`,
          notBefore: new Date(Date.now() - DAY_MS),
          notAfter: new Date(Date.now() + 3650 * DAY_MS),
          keys,
          signingAlgorithm: ALG,
          extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          ],
        });
        return { certificate, keys, node: new X509Certificate(certificate.toString("pem")) };
      })();
      this.cas.set(mspId, ca);
    }
    return ca;
  }

  /** A client certificate for `name` in `mspId` with Fabric attributes `attrs`. */
  async issue(name: string, attrs: Readonly<Record<string, string>>, mspId: string): Promise<PeerIdentity> {
    const ca = await this.ca(mspId);
    const keys = await keyPair();
    const fabricAttrs = { attrs: { "hf.EnrollmentID": name, "hf.Type": "client", "hf.Affiliation": "", ...attrs } };
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${name},OU=client,O=${mspId}`,
      issuer: ca.certificate.subject,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + 365 * DAY_MS),
      signingKey: ca.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(JSON.stringify(fabricAttrs), "utf8")),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    const certificate = cert.toString("pem");
    return {
      name,
      mspId,
      certificate,
      privateKey,
      privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      attrs: { ...attrs },
      account: fabricAccount(mspId, certificate),
    };
  }

  /** Whether `certificatePem` was issued by the CA of `mspId` (the MSP's validation of a creator). */
  async validates(mspId: string, certificatePem: string): Promise<boolean> {
    if (!this.cas.has(mspId)) return false;
    const ca = await this.ca(mspId);
    try {
      const cert = new X509Certificate(certificatePem);
      return cert.checkIssued(ca.node) && cert.verify(ca.node.publicKey);
    } catch {
      return false;
    }
  }
}

/** ECDSA SHA-256 DER signature with S normalised to the lower half of the order (Fabric rejects high S). */
export function signLowS(message: Uint8Array, key: KeyObject): Buffer {
  const der = sign("sha256", message, key);
  const { r, s } = decodeDer(der);
  return s > P256_N / 2n ? encodeDer(r, P256_N - s) : der;
}

/** Whether `signature` is low-S. */
export function isLowS(signature: Uint8Array): boolean {
  return decodeDer(Buffer.from(signature)).s <= P256_N / 2n;
}

function decodeDer(der: Buffer): { r: bigint; s: bigint } {
  // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (P-256 signatures are under 128 bytes).
  let at = 2;
  const read = (): bigint => {
    const len = der[at + 1];
    const value = BigInt(`0x${der.subarray(at + 2, at + 2 + len).toString("hex") || "0"}`);
    at += 2 + len;
    return value;
  };
  return { r: read(), s: read() };
}

function encodeDer(r: bigint, s: bigint): Buffer {
  const int = (v: bigint): Buffer => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, "hex");
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
