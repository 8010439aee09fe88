/** Every way a DiLoCoX blob can be rejected. Each decoder error carries one of these codes. */
export type FormatErrorCode =
  | "BAD_MAGIC"
  | "UNKNOWN_VERSION"
  | "TRUNCATED"
  | "TRAILING_BYTES"
  | "OVERSIZE"
  | "LAYOUT_MISMATCH"
  | "BAD_LAYOUT"
  | "NON_FINITE"
  | "BITS_OUT_OF_RANGE"
  | "RANK_OUT_OF_RANGE"
  | "BAD_FIELD"
  | "NON_CANONICAL";

/** A malformed, non-canonical or unexpected blob. `code` is stable; `message` names the problem and where. */
export class FormatError extends Error {
  readonly code: FormatErrorCode;
  constructor(code: FormatErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "FormatError";
    this.code = code;
  }
}
