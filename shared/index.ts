/** The one module every TypeScript part imports: ABIs, addresses, EIP-712 types and helpers. */
export * from "./abis.ts";
export * from "./addresses.ts";
export * from "./eip712.ts";
export * from "./types.ts";
