export * from "./in-memory-peer";
