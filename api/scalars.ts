/** Custom scalars: BigInt (decimal strings), Address (checksummed), Bytes32, Bytes. Bad input → GraphQL error with a code. */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { getAddress, isAddress } from "viem";

const bad = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

function parseBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^(0|[1-9][0-9]{0,77})$/.test(v)) return BigInt(v);
  throw bad(`BigInt expects a non-negative integer as a decimal string, got ${JSON.stringify(v)}`, "INVALID_BIGINT");
}

export const BigIntScalar = new GraphQLScalarType({
  name: "BigInt",
  description: "An unsigned integer of any size as a decimal string.",
  serialize: (v) => (typeof v === "bigint" ? v.toString() : typeof v === "number" ? BigInt(v).toString() : String(v)),
  parseValue: parseBigInt,
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.INT || node.kind === Kind.STRING) return parseBigInt(node.kind === Kind.INT ? node.value : node.value);
    throw bad("BigInt expects a decimal string or an integer literal", "INVALID_BIGINT");
  },
});

function parseAddress(v: unknown): string {
  if (typeof v === "string" && isAddress(v, { strict: false })) return getAddress(v);
  throw bad(`not an address: ${JSON.stringify(v)}`, "INVALID_ADDRESS");
}

/** Checksummed forms already computed (the same few thousand addresses fill every response); bounded. */
const checksummed = new Map<string, string>();
function serializeAddress(v: unknown): string {
  const s = String(v);
  let out = checksummed.get(s);
  if (out === undefined) {
    out = getAddress(s);
    if (checksummed.size >= 10_000) checksummed.clear();
    checksummed.set(s, out);
  }
  return out;
}

export const AddressScalar = new GraphQLScalarType({
  name: "Address",
  description: "A 20-byte address, EIP-55 checksummed.",
  serialize: serializeAddress,
  parseValue: parseAddress,
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.STRING) return parseAddress(node.value);
    throw bad("Address expects a string", "INVALID_ADDRESS");
  },
});

function parseBytes32(v: unknown): string {
  if (typeof v === "string" && /^0x[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  throw bad(`not a 32-byte hex hash: ${JSON.stringify(v)}`, "INVALID_BYTES32");
}

export const Bytes32Scalar = new GraphQLScalarType({
  name: "Bytes32",
  description: "A 32-byte hash, 0x-prefixed hex.",
  serialize: (v) => String(v),
  parseValue: parseBytes32,
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.STRING) return parseBytes32(node.value);
    throw bad("Bytes32 expects a string", "INVALID_BYTES32");
  },
});

function parseBytes(v: unknown): string {
  if (typeof v === "string" && /^0x(?:[0-9a-fA-F]{2}){0,1024}$/.test(v)) return v.toLowerCase();
  throw bad(`not 0x-prefixed hex bytes (even length, at most 1 KiB): ${JSON.stringify(typeof v === "string" && v.length > 80 ? `${v.slice(0, 80)}…` : v)}`, "INVALID_BYTES");
}

export const BytesScalar = new GraphQLScalarType({
  name: "Bytes",
  description: "Bytes of any length (at most 1 KiB), 0x-prefixed hex.",
  serialize: (v) => String(v),
  parseValue: parseBytes,
  parseLiteral: (node: ValueNode) => {
    if (node.kind === Kind.STRING) return parseBytes(node.value);
    throw bad("Bytes expects a string", "INVALID_BYTES");
  },
});
