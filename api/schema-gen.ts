/**
 * Generates the entity part of the GraphQL schema and its resolvers from the data model
 * (api/model.ts, i.e. prisma/schema.prisma): for every entity a type, a single-item query, a list
 * query (`where` with suffix filters on every scalar, AND/OR, relation filters; `orderBy` any scalar
 * with `orderDirection`; cursor pages both ways with `totalCount` and `pageInfo`), every relation as
 * a field (lists paginated and filterable the same way), and `<Entity>Filter` / `<Entity>OrderBy` /
 * `<Entity>Page` types.
 */
import DataLoader from "dataloader";
import { Kind, print, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";
import type { Db } from "../indexer/db/index.ts";
import type { DataModel, Entity, Field, Relation } from "./model.ts";
import { count, countByParent, defaultOrder, findByKeys, findPages, suffixesFor, userError, type Page, type PageArgs } from "./sql.ts";

/** Hand-written fields added to generated types (resolvers in api/resolvers.ts), with the columns they read. */
export interface Computed {
  sdl: string;
  needs: string[];
}

function outType(f: Field): string {
  switch (f.kind) {
    case "Amount":
      return "BigInt";
    case "Enum":
      return f.enumName!;
    default:
      return f.kind;
  }
}

function inType(f: Field, op: string): string {
  if (["contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"].includes(op)) return "String";
  return outType(f);
}

const pageArgsSdl = (e: Entity) => `where: ${e.name}Filter, orderBy: ${e.name}OrderBy, orderDirection: OrderDirection = asc, first: Int, after: String, last: Int, before: String`;

const docOf = (d: string | undefined, indent = "") => (d ? `${indent}"""\n${indent}${d.replace(/"""/g, "'''")}\n${indent}"""\n` : "");

const toOneNonNull = (r: Relation) => (r.name === "job" || r.name === "jobRound") && r.fromFields.every((f) => !f.nullable);

export function entitySdl(model: DataModel, computed: Record<string, Record<string, Computed>>): string {
  const out: string[] = [];
  for (const [name, values] of model.enums) out.push(`enum ${name} { ${values.join(" ")} }`);
  const queries: string[] = [];
  for (const e of model.entities) {
    const fields = e.fields.map((f) => `${docOf(f.doc, "  ")}  ${f.gql}: ${outType(f)}${f.nullable ? "" : "!"}`);
    for (const r of e.relations) {
      if (r.many) fields.push(`  """${r.to.name} rows of this ${e.name} (${r.toFields.map((f) => f.gql).join(", ")}), paginated."""\n  ${r.name}(${pageArgsSdl(r.to)}): ${r.to.name}Page!`);
      else fields.push(`  ${r.name}: ${r.to.name}${toOneNonNull(r) ? "!" : ""}`);
    }
    for (const c of Object.values(computed[e.name] ?? {})) fields.push(`  ${c.sdl}`);
    out.push(`${docOf(e.doc)}type ${e.name} {\n${fields.join("\n")}\n}`);
    const filters = [`  AND: [${e.name}Filter!]`, `  OR: [${e.name}Filter!]`];
    for (const f of e.fields) {
      for (const op of suffixesFor(f)) {
        const t = inType(f, op);
        filters.push(`  ${f.gql}${op ? `_${op}` : ""}: ${op === "in" || op === "not_in" ? `[${t}!]` : t}`);
      }
    }
    for (const r of e.relations) {
      if (r.many) filters.push(`  """Some ${r.name} match."""\n  ${r.name}_some: ${r.to.name}Filter`, `  """No ${r.name} match."""\n  ${r.name}_none: ${r.to.name}Filter`);
      else filters.push(`  """The ${r.name} matches."""\n  ${r.name}: ${r.to.name}Filter`);
    }
    out.push(`"""Filters on ${e.name}: a field equals the value; _not, _in, _not_in, _gt, _lt, _gte, _lte, _contains, _starts_with, _ends_with (and their _not_ forms) as named; all conditions must hold (AND); null matches a missing value."""\ninput ${e.name}Filter {\n${filters.join("\n")}\n}`);
    out.push(`enum ${e.name}OrderBy { ${e.fields.map((f) => f.gql).join(" ")} }`);
    out.push(`"""A page of ${e.name} rows: cursors are opaque; totalCount counts every row matching the filter."""\ntype ${e.name}Page {\n  items: [${e.name}!]!\n  pageInfo: PageInfo!\n  totalCount: Int!\n}`);
    const keyArgs = singleArgs(e);
    queries.push(`  """One ${e.name} by ${keyArgs.map((k) => k.map((f) => f.gql).join(" + ")).join(", or by ")}."""\n  ${e.single}(${[...new Set(keyArgs.flat())].map((f) => `${f.gql}: ${inType(f, "")}${keyArgs.length === 1 ? "!" : ""}`).join(", ")}): ${e.name}`);
    queries.push(`  """${e.name} rows, filtered and ordered (by ${defaultOrder(e).gql} unless orderBy says otherwise); page with first/after or last/before, at most 100 per page."""\n  ${e.plural}(${pageArgsSdl(e)}): ${e.name}Page!`);
  }
  out.push(`extend type Query {\n${queries.join("\n")}\n}`);
  return out.join("\n\n");
}

/** The keys a single item can be fetched by: the id, then compound unique keys. */
function singleArgs(e: Entity): Field[][] {
  return [e.id, ...e.uniques];
}

// ------------------------------------------------------------------ resolvers

type Row = Record<string, unknown>;
type Args = Record<string, unknown>;

export interface GenContext {
  db: Db;
  batch: Map<string, DataLoader<unknown, unknown>>;
}

function loader<K, V, C>(c: GenContext, key: string, make: () => DataLoader<K, V, C>): DataLoader<K, V, C> {
  let l = c.batch.get(key) as DataLoader<K, V, C> | undefined;
  if (!l) {
    l = make();
    c.batch.set(key, l as DataLoader<unknown, unknown>);
  }
  return l;
}

const tupleKey = (k: unknown[]) => k.map((x) => (x === null ? "\u0001" : String(x))).join("\u0000");

/**
 * Field names selected on the rows a field returns (fields, inline fragments and fragment spreads):
 * under `items` for a page field, directly for a single-row field.
 */
function selectedRowFields(info: GraphQLResolveInfo, page: boolean): Set<string> {
  const names = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, onRow: boolean) => {
    if (!set) return;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (onRow) names.add(s.name.value);
        else if (s.name.value === "items") walk(s.selectionSet, true);
      } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, onRow);
      else {
        const frag = info.fragments[s.name.value];
        if (frag) walk(frag.selectionSet, onRow);
      }
    }
  };
  for (const n of info.fieldNodes) walk(n.selectionSet, !page);
  return names;
}

/** The columns a selection reads: the id, the selected fields, relations' keys and computed fields' inputs. */
function columnsFor(e: Entity, info: GraphQLResolveInfo, computed: Record<string, Record<string, Computed>>, page = true): Field[] {
  const sel = selectedRowFields(info, page);
  const cols = new Set<Field>(e.id);
  for (const name of sel) {
    const f = e.byGql.get(name);
    if (f) cols.add(f);
    const r = e.relations.find((x) => x.name === name);
    if (r) for (const ff of r.fromFields) cols.add(ff);
    const c = computed[e.name]?.[name];
    if (c) for (const n of c.needs) cols.add(e.byName.get(n)!);
  }
  return [...cols];
}

/** Whether a page field's selection asks for `totalCount` (then it is counted alongside the page, in the same round trip). */
function selectsTotal(info: GraphQLResolveInfo): boolean {
  const has = (set: SelectionSetNode | undefined): boolean =>
    !!set &&
    set.selections.some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === "totalCount";
      if (s.kind === Kind.INLINE_FRAGMENT) return has(s.selectionSet);
      return has(info.fragments[s.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((n) => has(n.selectionSet));
}

function pageArgs(a: Args): PageArgs {
  return { where: a.where as PageArgs["where"], orderBy: a.orderBy as string, orderDirection: a.orderDirection as "asc" | "desc", first: a.first as number, after: a.after as string, last: a.last as number, before: a.before as string };
}

const printed = new WeakMap<FieldNode, string>();
/** Identifies a field's selection (the same field of every parent shares one batch). */
const selectionKey = (info: GraphQLResolveInfo) =>
  info.fieldNodes
    .map((n: FieldNode) => {
      let k = printed.get(n);
      if (k === undefined) printed.set(n, (k = n.selectionSet ? print(n.selectionSet) : ""));
      return k;
    })
    .join("|");

export function entityResolvers(model: DataModel, computed: Record<string, Record<string, Computed>>) {
  const resolvers: Record<string, Record<string, unknown>> = { Query: {} };
  // a field node's columns and loader name, worked out once per document (documents are cached by the server)
  // (per key too: a single-row query picks its key from the arguments, which variables change)
  const plans = new WeakMap<FieldNode, Map<Field[], { cols: Field[]; name: string }>>();
  /** Rows of `e` by `fields`, reading the columns the selection needs (one loader per column set). */
  const one = (c: GenContext, e: Entity, fields: Field[], info: GraphQLResolveInfo) => {
    let byKey = plans.get(info.fieldNodes[0]);
    if (!byKey) plans.set(info.fieldNodes[0], (byKey = new Map()));
    let plan = byKey.get(fields);
    if (!plan) {
      const cols = [...new Set([...fields, ...columnsFor(e, info, computed, false)])];
      plan = { cols, name: `one:${e.name}:${fields.map((f) => f.name)}:${cols.map((f) => f.name)}` };
      byKey.set(fields, plan);
    }
    const { cols, name } = plan;
    return loader<unknown[], Row | null, string>(c, name, () =>
      new DataLoader<unknown[], Row | null, string>(
        async (keys) => {
          const rows = await findByKeys(c.db, e, fields, [...keys], cols);
          const m = new Map(rows.map((r) => [tupleKey(fields.map((f) => r[f.name])), r]));
          return keys.map((k) => m.get(tupleKey(k)) ?? null);
        },
        { cacheKeyFn: tupleKey },
      ),
    );
  };
  for (const e of model.entities) {
    const type: Record<string, unknown> = {};
    for (const f of e.fields) type[f.gql] = (row: Row) => row[f.name];
    for (const r of e.relations) {
      if (!r.many) {
        type[r.name] = (row: Row, _a: Args, c: GenContext, info: GraphQLResolveInfo) => {
          const key = r.fromFields.map((f) => row[f.name] ?? null);
          if (key.some((v) => v === null)) return null;
          return one(c, r.to, r.toFields, info).load(key);
        };
        continue;
      }
      type[r.name] = async (row: Row, a: Args, c: GenContext, info: GraphQLResolveInfo) => {
        const key = r.fromFields.map((f) => row[f.name] ?? null);
        const args = pageArgs(a);
        const argKey = JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
        const pages = loader<unknown[], Page, string>(c, `many:${e.name}.${r.name}:${argKey}:${selectionKey(info)}`, () => {
          const cols = columnsFor(r.to, info, computed);
          return new DataLoader<unknown[], Page, string>((keys) => findPages(c.db, r.to, args, cols, { fields: r.toFields, keys: [...keys] }), { cacheKeyFn: tupleKey });
        });
        const counts = loader<unknown[], number, string>(c, `count:${e.name}.${r.name}:${argKey}`, () =>
          new DataLoader<unknown[], number, string>((keys) => countByParent(c.db, r.to, args.where, r.toFields, [...keys]), { cacheKeyFn: tupleKey }),
        );
        // counted in the same batch as the page when asked for (a failed count is reported by totalCount)
        if (selectsTotal(info)) counts.load(key).catch(() => {});
        const page = await pages.load(key);
        return { ...page, totalCount: () => counts.load(key) };
      };
    }
    resolvers[e.name] = type;
    resolvers[`${e.name}Page`] = { totalCount: (p: Page) => p.totalCount() };
    resolvers.Query[e.single] = async (_: unknown, a: Args, c: GenContext, info: GraphQLResolveInfo) => {
      for (const key of singleArgs(e)) {
        if (key.every((f) => a[f.gql] !== undefined && a[f.gql] !== null)) {
          const vals = key.map((f) => {
            const v = a[f.gql];
            if (f.kind === "BigInt" && typeof v === "bigint" && v > 2n ** 63n - 1n) throw userError(`${f.gql} is out of range: ${v} (at most ${2n ** 63n - 1n})`, "BAD_USER_INPUT", { field: f.gql });
            return v;
          });
          return one(c, e, key, info).load(vals);
        }
      }
      throw userError(`${e.single}: pass ${singleArgs(e).map((k) => k.map((f) => f.gql).join(" and ")).join(", or ")}`, "BAD_USER_INPUT");
    };
    resolvers.Query[e.plural] = async (_: unknown, a: Args, c: GenContext, info: GraphQLResolveInfo) => {
      const args = pageArgs(a);
      const pages = findPages(c.db, e, args, columnsFor(e, info, computed));
      if (!selectsTotal(info)) return (await pages)[0];
      // counted in the same batch as the page (a failed count is reported by totalCount)
      const total = count(c.db, e, args.where);
      total.catch(() => {});
      return { ...(await pages)[0], totalCount: () => total };
    };
  }
  resolvers.PageInfo = {
    hasNextPage: (p: { hasNextPage: boolean | (() => Promise<boolean>) }) => (typeof p.hasNextPage === "function" ? p.hasNextPage() : p.hasNextPage),
    hasPreviousPage: (p: { hasPreviousPage: boolean | (() => Promise<boolean>) }) => (typeof p.hasPreviousPage === "function" ? p.hasPreviousPage() : p.hasPreviousPage),
  };
  return resolvers;
}
