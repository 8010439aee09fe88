/**
 * Cursor pagination over a Prisma model: keyset on (orderBy field, id), opaque base64url cursors,
 * first/after forward and last/before backward, totalCount for the whole filter.
 */
import { GraphQLError } from "graphql";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

export function userError(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Page<T> {
  items: T[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
}

function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values.map((v) => (typeof v === "bigint" ? { n: v.toString() } : v)))).toString("base64url");
}

function decodeCursor(cursor: string, size: number): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (!Array.isArray(v) || v.length !== size) throw new Error("shape");
    return v.map((x) => (x && typeof x === "object" && "n" in (x as object) ? BigInt((x as { n: string }).n) : x));
  } catch {
    throw userError(`invalid cursor "${cursor}"`, "INVALID_CURSOR");
  }
}

interface Delegate {
  findMany(args: unknown): Promise<unknown[]>;
  count(args: unknown): Promise<number>;
}

export function checkPageArgs(args: PageArgs): void {
  for (const k of ["first", "last"] as const) {
    const v = args[k];
    if (v === undefined || v === null) continue;
    if (v < 0) throw userError(`${k} must not be negative`, "BAD_USER_INPUT");
    if (v > MAX_PAGE) throw userError(`${k} is ${v}, over the page size limit of ${MAX_PAGE}`, "PAGE_SIZE_EXCEEDED", { limit: MAX_PAGE });
  }
  if (args.first != null && args.last != null) throw userError("pass first or last, not both", "BAD_USER_INPUT");
  if (args.after != null && args.before != null) throw userError("pass after or before, not both", "BAD_USER_INPUT");
}

export async function paginate<T extends Record<string, unknown>>(
  delegate: Delegate,
  opts: { where: Record<string, unknown>; orderBy: string; direction: "asc" | "desc"; idField: string; args: PageArgs },
): Promise<Page<T>> {
  const { where, orderBy, direction, idField, args } = opts;
  checkPageArgs(args);
  const keys = orderBy === idField ? [idField] : [orderBy, idField];
  const backward = args.last != null || (args.before != null && args.first == null);
  const size = (backward ? args.last : args.first) ?? DEFAULT_PAGE;
  const cursor = backward ? args.before : args.after;
  const dir = backward ? (direction === "asc" ? "desc" : "asc") : direction;
  const cmp = dir === "asc" ? "gt" : "lt";
  const conds: Record<string, unknown>[] = [where];
  if (cursor) {
    const vals = decodeCursor(cursor, keys.length);
    if (keys.length === 1) conds.push({ [keys[0]]: { [cmp]: vals[0] } });
    else conds.push({ OR: [{ [keys[0]]: { [cmp]: vals[0] } }, { [keys[0]]: vals[0], [keys[1]]: { [cmp]: vals[1] } }] });
  }
  const rows = (size === 0 ? [] : await delegate.findMany({
    where: conds.length === 1 ? where : { AND: conds },
    orderBy: keys.map((k) => ({ [k]: dir })),
    take: size + 1,
  })) as T[];
  const more = rows.length > size;
  const items = rows.slice(0, size);
  if (backward) items.reverse();
  const cursorOf = (r: T) => encodeCursor(keys.map((k) => r[k]));
  let total: number | undefined;
  return {
    items,
    pageInfo: {
      hasNextPage: backward ? cursor != null : more,
      hasPreviousPage: backward ? more : cursor != null,
      startCursor: items.length ? cursorOf(items[0]) : null,
      endCursor: items.length ? cursorOf(items[items.length - 1]) : null,
    },
    // counted only when asked for
    totalCount: async () => (total ??= await delegate.count({ where })),
  };
}
