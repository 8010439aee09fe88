export { FormatError, type FormatErrorCode } from "./errors.ts";
export { validateLayout, assertSameLayout, sameLayout, matrixDims, type LayoutLimits } from "./layout.ts";
export {
  encodeState,
  decodeState,
  STATE_MAGIC,
  STATE_VERSION,
  DEFAULT_LIMITS,
  type StateBlob,
  type StateKind,
  type DecodeLimits,
  type DecodeStateOptions,
} from "./state.ts";
export {
  encodeUpdate,
  decodeUpdate,
  UPDATE_MAGIC,
  UPDATE_VERSION,
  DEFAULT_UPDATE_LIMITS,
  type UpdateLimits,
  type DecodeUpdateOptions,
} from "./update.ts";
