/**
 * A TLS certificate authority and a peer's server certificate, as a Fabric network's TLS CA issues them (ECDSA
 * P-256, the peer's host name in the subject alternative names), for the gRPC tests over TLS.
 */
import { createPrivateKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 3600 * 1000;

export interface TlsMaterial {
  /** The TLS CA's certificate (what `RELIEF_FABRIC_TLS_CA` points to), PEM. */
  caPem: string;
  /** The server's certificate and PKCS#8 key, PEM. */
  certPem: string;
  keyPem: string;
}

async function keys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

/** A fresh TLS CA and a server certificate for `host` signed by it. */
export async function tlsMaterial(host: string): Promise<TlsMaterial> {
  const caKeys = await keys();
  const validity = { notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + 30 * DAY_MS) };
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=tlsca.relief.test",
    ...validity,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const serverKeys = await keys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=${host}`,
    issuer: ca.subject,
    ...validity,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })
    .export({ type: "pkcs8", format: "pem" })
    .toString();
  return { caPem: ca.toString("pem"), certPem: cert.toString("pem"), keyPem };
}
