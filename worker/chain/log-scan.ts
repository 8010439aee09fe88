/**
 * Event scans that work on public JSON-RPC endpoints: `eth_getLogs` in block ranges (public RPCs cap
 * a request at a few thousand blocks or results), halving the range when the endpoint refuses one
 * and growing it again after successes, from a lower bound (the deployment block) to a head.
 */
import { BaseError, type Abi, type Address, type ContractEventName, type GetContractEventsReturnType } from "viem";
import type { Client } from "./types.ts";

/** Default and bounds of the block range per request. */
export const LOG_RANGE = { initial: 2_000n, min: 1n, max: 10_000n };

/** Whether an error says the requested range or result set was too large. */
export function isRangeTooLarge(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ""} ${(err as BaseError)?.details ?? ""}`.toLowerCase();
  return /block range|range (is )?too (large|wide)|too many (blocks|results|logs)|more than \d+ (results|logs)|limit exceeded|query returned more than|exceed(s|ed)? .*(range|limit)|response size|max(imum)? (block )?range/.test(text);
}

export interface ScanRequest<abi extends Abi, name extends ContractEventName<abi>> {
  address: Address;
  abi: abi;
  eventName: name;
  args?: Record<string, unknown>;
  fromBlock: bigint;
  toBlock: bigint;
}

/** Scans [fromBlock, toBlock] in adaptive chunks; returns the logs in chain order. */
export async function scanEvents<const abi extends Abi, name extends ContractEventName<abi>>(
  client: Client,
  req: ScanRequest<abi, name>,
  opts: { range?: bigint; onRequest?: () => void } = {},
): Promise<GetContractEventsReturnType<abi, name>> {
  const out: unknown[] = [];
  let range = opts.range ?? LOG_RANGE.initial;
  let from = req.fromBlock;
  while (from <= req.toBlock) {
    const to = from + range - 1n < req.toBlock ? from + range - 1n : req.toBlock;
    try {
      opts.onRequest?.();
      const logs = await client.getContractEvents({ address: req.address, abi: req.abi as Abi, eventName: req.eventName as never, args: req.args as never, fromBlock: from, toBlock: to, strict: true });
      out.push(...logs);
      from = to + 1n;
      if (range < LOG_RANGE.max) range *= 2n;
    } catch (err) {
      if (!isRangeTooLarge(err) || range <= LOG_RANGE.min) throw err;
      range = range / 2n > LOG_RANGE.min ? range / 2n : LOG_RANGE.min;
    }
  }
  return out as GetContractEventsReturnType<abi, name>;
}
