/**
 * Fabric identities as the ledger sees them, shared by the chaincode, the gateway's Fabric adapter and the tests.
 *
 * An institution's account on Fabric is address-shaped so the gateway treats accounts alike on both chains:
 * `0x` + the first 40 hex digits of sha256(mspId ‖ 0x00 ‖ SubjectPublicKeyInfo DER of the certificate), lowercase.
 * It names the key, not the certificate: a re-issued certificate for the same key keeps the account.
 *
 * Roles and regions travel in the certificate's Fabric attribute extension (OID 1.2.3.4.5.6.7.8.1, JSON
 * `{"attrs":{...}}`, as Fabric CA issues with `--id.attrs role=approver:ecert,region=330106:ecert`):
 * `role` is the lower-kebab name of a {@link Role} (or `admin` for the registry's administrator) and `region`
 * the decimal region code.
 */
import { createHash, X509Certificate } from "node:crypto";
import { Role } from "./roles";

/** Fabric CA's certificate extension that carries attributes. */
export const FABRIC_ATTRS_OID = "1.2.3.4.5.6.7.8.1";
/** The `role` attribute of the registry's administrator (the EVM deployer's counterpart). */
export const ADMIN_ROLE_ATTRIBUTE = "admin";

const ROLE_ATTRIBUTES: Readonly<Record<string, Role>> = {
  caseworker: Role.Caseworker,
  approver: Role.Approver,
  finance: Role.Finance,
  "payment-agent": Role.PaymentAgent,
  "medical-office": Role.MedicalOffice,
  auditor: Role.Auditor,
  anchorer: Role.Anchorer,
  keeper: Role.Keeper,
  provider: Role.Provider,
};

/** The `role` attribute value of `role` ("payment-agent" for {@link Role.PaymentAgent}). */
export function roleAttribute(role: Role): string {
  const name = Object.keys(ROLE_ATTRIBUTES).find((k) => ROLE_ATTRIBUTES[k] === role);
  if (name === undefined) throw new RangeError(`no attribute for role ${role}`);
  return name;
}

/** The role a `role` attribute names; {@link Role.None} for anything else (including `admin`). */
export function roleFromAttribute(value: string | null | undefined): Role {
  return (
    (value != null && Object.prototype.hasOwnProperty.call(ROLE_ATTRIBUTES, value) && ROLE_ATTRIBUTES[value]) ||
    Role.None
  );
}

/** The account of the identity with certificate `certPem` (PEM text or bytes) in MSP `mspId`. */
export function fabricAccount(mspId: string, certPem: string | Uint8Array): string {
  const cert = new X509Certificate(typeof certPem === "string" ? certPem : Buffer.from(certPem));
  const spki = cert.publicKey.export({ type: "spki", format: "der" });
  const digest = createHash("sha256")
    .update(mspId, "utf8")
    .update(Buffer.from([0]))
    .update(spki)
    .digest("hex");
  return `0x${digest.slice(0, 40)}`;
}
