/**
 * Validation rules that bound a query before it runs: depth, number of aliases, and an estimated
 * cost (every field costs 1; a list field multiplies what is below it by its `first`/`last`
 * argument, or by the default page size). Each error carries extensions.code.
 */
import {
  GraphQLError,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLType,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
} from "graphql";
import { DEFAULT_PAGE, MAX_PAGE } from "./sql.ts";

export interface Limits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

/** Depth counts every field level, `items` of a page included (jobs.items.roundList.items.commitments.items.provider = 7). */
export const DEFAULT_LIMITS: Limits = { maxDepth: 10, maxAliases: 20, maxCost: 100_000 };

function isPageType(t: GraphQLType): boolean {
  const named = getNamedType(t);
  return isObjectType(named) && named.name.endsWith("Page");
}

/** A page-size argument: its literal value, or the largest page for a variable (validation is cached per document). */
function argValue(node: ValueNode | undefined): number | undefined {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) return MAX_PAGE;
  return undefined;
}

export function limitRules(limits: Limits = DEFAULT_LIMITS) {
  return [
    (ctx: ValidationContext): ASTVisitor => ({
      OperationDefinition: {
        leave(op) {
          const schema = ctx.getSchema();
          const root = op.operation === "query" ? schema.getQueryType() : op.operation === "subscription" ? schema.getSubscriptionType() : schema.getMutationType();
          if (!root) return;
          let aliases = 0;
          const seen = new Set<string>();
          const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, depth: number): { depth: number; cost: number } => {
            let maxDepth = depth;
            let cost = 0;
            for (const sel of set.selections) {
              if (sel.kind === Kind.FIELD) {
                const f = sel as FieldNode;
                if (f.alias) aliases++;
                if (f.name.value.startsWith("__")) continue;
                const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[f.name.value] : undefined;
                if (!def) continue; // unknown fields are reported by the standard rules
                let fieldCost = 1;
                if (f.selectionSet) {
                  const child = getNamedType(def.type) as GraphQLCompositeType;
                  const sub = walk(f.selectionSet, child, depth + 1);
                  maxDepth = Math.max(maxDepth, sub.depth);
                  const arg = (n: string) => argValue(f.arguments?.find((a) => a.name.value === n)?.value);
                  // a page's size is counted on the paged field; its `items` list is not counted again
                  const inPage = isPageType(parent);
                  const n = arg("first") ?? arg("last") ?? (!inPage && (isListType(getNullableType(def.type)) || isPageType(def.type)) ? DEFAULT_PAGE : 1);
                  // sizes over the limit are refused by the resolver with PAGE_SIZE_EXCEEDED (naming the limit)
                  fieldCost += Math.max(1, Math.min(n, MAX_PAGE)) * sub.cost;
                }
                cost += fieldCost;
              } else if (sel.kind === Kind.INLINE_FRAGMENT) {
                const t = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType) : parent;
                const sub = walk(sel.selectionSet, t, depth);
                maxDepth = Math.max(maxDepth, sub.depth);
                cost += sub.cost;
              } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
                const name = sel.name.value;
                const frag = ctx.getFragment(name);
                if (!frag || seen.has(name)) continue; // cycles are reported by the standard rules
                seen.add(name);
                const t = schema.getType(frag.typeCondition.name.value) as GraphQLCompositeType;
                const sub = walk(frag.selectionSet, t, depth);
                seen.delete(name);
                maxDepth = Math.max(maxDepth, sub.depth);
                cost += sub.cost;
              }
            }
            return { depth: maxDepth, cost };
          };
          const { depth, cost } = walk(op.selectionSet, root, 1);
          if (depth > limits.maxDepth) {
            ctx.reportError(new GraphQLError(`query depth ${depth} exceeds the limit of ${limits.maxDepth}`, { nodes: [op], extensions: { code: "QUERY_TOO_DEEP", limit: limits.maxDepth } }));
          }
          if (aliases > limits.maxAliases) {
            ctx.reportError(new GraphQLError(`query uses ${aliases} aliases, over the limit of ${limits.maxAliases}`, { nodes: [op], extensions: { code: "TOO_MANY_ALIASES", limit: limits.maxAliases } }));
          }
          if (cost > limits.maxCost) {
            ctx.reportError(new GraphQLError(`query cost ${cost} exceeds the limit of ${limits.maxCost}`, { nodes: [op], extensions: { code: "QUERY_TOO_COMPLEX", cost, limit: limits.maxCost } }));
          }
        },
      },
    }),
  ];
}
