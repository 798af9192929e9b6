export * from "./principal";
export { issueApiKey, verifyApiKey, type IssuedKey } from "./api-keys";
export { authenticate } from "./authenticate";
export { closeSession, openSession, verifySession } from "./sessions";
