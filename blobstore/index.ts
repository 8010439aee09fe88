export * from "./types.ts";
export * from "./hash.ts";
export { LocalDirBlobStore } from "./local-dir.ts";
export { HttpBlobStore } from "./http-client.ts";
export { startBlobServer, type RunningBlobServer, type BlobServerOptions } from "./server.ts";
