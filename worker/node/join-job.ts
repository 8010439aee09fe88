/**
 * Joining a job, idempotently. Under load a worker once sent `joinJob` twice (a first attempt whose
 * broadcast or receipt was lost, then a retry with a fresh nonce) and the second reverted on chain
 * with AlreadyJoined, costing gas. So: read the slot right before sending (no transaction when the
 * worker is in already), and take an AlreadyJoined revert (in simulation or on chain) as success,
 * confirmed by reading the slot again.
 */
import type { Address, Client } from "viem";
import { readContract } from "viem/actions";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { ContractRevertError, type TxSender } from "../chain/tx-sender.ts";

export interface JoinDeps {
  client: Client;
  sender: TxSender;
  market: Address;
  me: Address;
}

async function joined(d: JoinDeps, jobId: bigint): Promise<boolean> {
  const slot = await readContract(d.client, { address: d.market, abi: trainingMarketAbi, functionName: "workerSlot", args: [jobId, d.me] });
  return slot.joined;
}

/** "joined": this call's transaction joined; "already": the worker was in already (no gas spent, or a duplicate's revert). */
export async function joinJobOnce(d: JoinDeps, jobId: bigint): Promise<"joined" | "already"> {
  if (await joined(d, jobId)) return "already";
  try {
    await d.sender.send({ address: d.market, abi: trainingMarketAbi, functionName: "joinJob", args: [jobId] });
    return "joined";
  } catch (err) {
    if (err instanceof ContractRevertError && err.errorName === "AlreadyJoined") return "already";
    // any other failure: a lost first attempt may still have joined
    if (await joined(d, jobId).catch(() => false)) return "already";
    throw err;
  }
}
