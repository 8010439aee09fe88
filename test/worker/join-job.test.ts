/**
 * A worker's joinJob is idempotent: no transaction when the slot says it joined already, and a
 * duplicate that races the first (two sends before either is mined: under load a lost first
 * attempt was retried with a fresh nonce) ends as success, not as an error or a declined job.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPublicClient, createWalletClient, getAddress, http } from "viem";
import { hardhat } from "viem/chains";
import { createJob, jobParams, registerProviders, type Provider } from "../helpers/market.ts";
import { hardhatAccount } from "../helpers/network.ts";
import { startChain, type Chain } from "../indexer/helpers.ts";
import { TxSender } from "../../worker/chain/tx-sender.ts";
import { joinJobOnce } from "../../worker/node/join-job.ts";
import { L } from "../indexer/scenario.ts";

describe("joinJobOnce", () => {
  let chain: Chain;
  let provider: Provider;
  before(async () => {
    chain = await startChain();
    [provider] = await registerProviders(chain.ctx, 1, 1);
  });
  after(async () => {
    await chain?.close();
  });

  function deps() {
    const account = hardhatAccount(3);
    assert.equal(getAddress(account.address), getAddress(provider.address), "the registered provider is hardhat account 3");
    const publicClient = createPublicClient({ chain: hardhat, transport: http(chain.url) });
    const walletClient = createWalletClient({ chain: hardhat, transport: http(chain.url), account });
    return { client: publicClient, sender: new TxSender({ publicClient, walletClient, backoffMs: 20 }), market: L(chain.ctx).market.address, me: account.address, publicClient };
  }

  it("joins once; a second call and a racing duplicate spend no gas and report success", async () => {
    const poster = chain.ctx.others[0] as Provider["wallet"];
    const jobId = await createJob(chain.ctx, poster, jobParams({ maxWorkers: 3, minWorkers: 2 }));
    const d = deps();
    const nonce0 = await d.publicClient.getTransactionCount({ address: d.me });

    // two calls at once: both read "not joined", the sender's queue runs them in turn, the second's
    // simulation reverts with AlreadyJoined before anything is broadcast
    const both = await Promise.all([joinJobOnce(d, jobId), joinJobOnce(d, jobId)]);
    assert.deepEqual(both.sort(), ["already", "joined"]);
    assert.equal(await d.publicClient.getTransactionCount({ address: d.me }), nonce0 + 1, "one transaction sent");
    const slot = await L(chain.ctx).market.read.workerSlot([jobId, d.me]);
    assert.equal(slot.joined, true);

    // later: the slot is read first, nothing is sent
    assert.equal(await joinJobOnce(d, jobId), "already");
    assert.equal(await d.publicClient.getTransactionCount({ address: d.me }), nonce0 + 1, "no transaction for a job already joined");
  });

  it("other reverts still fail (a job that is not open)", async () => {
    const d = deps();
    await assert.rejects(joinJobOnce(d, 999n), /joinJob reverted with/);
  });
});
