/** The request bodies of bench/indexer's "list" and "detail" loads (run.ts and api-nocache.ts send the same). */
export const listQuery = (after: string | null) =>
  JSON.stringify({
    query: `query($after: String) { jobs(first: 20, after: $after, where: { status: Completed }, orderBy: createdAt, orderDirection: desc) { items { id status poster rewardPerRound createdAt roundsFinalized } pageInfo { hasNextPage endCursor } totalCount } }`,
    variables: { after },
  });
export const detailQuery = (id: number) =>
  JSON.stringify({
    query: `query($id: BigInt!) { job(id: $id) { id status poster escrow totalPaid workers(first: 20) { items { worker index earned provider { address stake } } } roundList(first: 10) { items { round status resultModelHash meanTrainLoss commitments(first: 20) { items { worker trainLoss updateHash } } votes(first: 20) { items { worker agreed } } } } lossCurve { round meanTrainLoss workers { worker trainLoss } } } }`,
    variables: { id: String(id) },
  });
