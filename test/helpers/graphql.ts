/** A GraphQL request to a running API (api/server.ts) over real HTTP, for the API and indexer tests. */
import type { Api } from "../../api/server.ts";

export interface Gql {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: Record<string, any>;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs `query` with `variables`; DEBUG_GQL=1 prints the errors of every answer that has some. */
export async function gql(api: Api, query: string, variables: Record<string, unknown> = {}): Promise<Gql> {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const j = (await res.json()) as Gql;
  if (process.env.DEBUG_GQL && j.errors) console.error(JSON.stringify(j.errors));
  return j;
}
