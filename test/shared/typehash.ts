/** Builds an EIP-712 type string ("Name(type a,type b)") from viem-style type definitions (no nested structs). */
export function encodeTypeData(types: Record<string, readonly { name: string; type: string }[]>, primary: string): string {
  const fields = types[primary];
  if (!fields) throw new Error(`unknown type ${primary}`);
  return `${primary}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
}
