import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { encodeTypeData } from "./typehash.ts";
import { keccak256, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { renderAbis } from "../../scripts/gen-abis.ts";
import {
  decodeLoss,
  encodeLoss,
  loadAddresses,
  marketDomain,
  recoverRoundUpdateSigner,
  roundUpdateTypes,
  signRoundUpdate,
  maskIndices,
  workerBit,
} from "../../shared/index.ts";
import { deployMarket } from "../helpers/market.ts";

describe("shared module", async () => {
  const conn = await network.create();
  const ctx = await deployMarket(conn as never);

  it("shared/abis.ts is in sync with the compiled artifacts", () => {
    const committed = readFileSync(path.join(import.meta.dirname, "../../shared/abis.ts"), "utf8");
    assert.equal(committed, renderAbis(), "shared/abis.ts is stale: run ./run build");
  });

  it("EIP-712 type strings hash to the contract's typehashes", async () => {
    assert.equal(keccak256(toHex(encodeTypeData(roundUpdateTypes, "RoundUpdate"))), await ctx.market.read.ROUND_UPDATE_TYPEHASH());
  });

  it("the domain matches the contract's ERC-5267 eip712Domain()", async () => {
    const [, name, version, chainId, verifyingContract] = await ctx.market.read.eip712Domain();
    const domain = marketDomain(ctx.chainId, ctx.market.address);
    assert.equal(name, domain.name);
    assert.equal(version, domain.version);
    assert.equal(Number(chainId), domain.chainId);
    assert.equal(verifyingContract, domain.verifyingContract);
  });

  it("signing helpers round-trip and bind every field", async () => {
    const signer = privateKeyToAccount(generatePrivateKey());
    const domain = marketDomain(31337, ctx.market.address);
    const update = { jobId: 7n, round: 3, updateHash: keccak256(toHex("u")), traceRoot: keccak256(toHex("t")), trainLoss: encodeLoss(2.25), worker: ctx.others[0].account.address };
    const sig = await signRoundUpdate(signer, domain, update);
    assert.equal(await recoverRoundUpdateSigner(domain, update, sig), signer.address);
    assert.notEqual(await recoverRoundUpdateSigner(domain, { ...update, round: 4 }, sig), signer.address);
    assert.notEqual(await recoverRoundUpdateSigner(marketDomain(1, ctx.market.address), update, sig), signer.address);
  });

  it("loss encoding is fixed-point 1e6 and rejects bad values", () => {
    assert.equal(encodeLoss(2.5), 2_500_000n);
    assert.equal(decodeLoss(encodeLoss(3.141593)), 3.141593);
    assert.throws(() => encodeLoss(Number.NaN), /finite non-negative/);
    assert.throws(() => encodeLoss(-1), /finite non-negative/);
    assert.throws(() => encodeLoss(Infinity), /finite non-negative/);
    assert.throws(() => encodeLoss(1e14), /overflows uint64/);
  });

  it("worker masks", () => {
    assert.equal(workerBit(0), 1);
    assert.equal(workerBit(31), 2 ** 31);
    assert.throws(() => workerBit(32), /out of range/);
    assert.deepEqual(maskIndices(0b1011), [0, 1, 3]);
    assert.deepEqual(maskIndices(2 ** 31), [31]);
  });

  it("addresses come from the environment or the Ignition deployment, with clear errors", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "deploy-"));
    assert.throws(() => loadAddresses(99, { deploymentsDir: dir, env: {} }), /no deployment for chain 99/);
    mkdirSync(path.join(dir, "chain-99"));
    writeFileSync(
      path.join(dir, "chain-99", "deployed_addresses.json"),
      JSON.stringify({
        "Market#TestToken": ctx.token.address.toLowerCase(),
        "Market#ProviderRegistry": ctx.registry.address,
        "Market#TrainingMarket": ctx.market.address,
      }),
    );
    const a = loadAddresses(99, { deploymentsDir: dir, env: {} });
    assert.equal(a.token, ctx.token.address);
    assert.equal(a.market, ctx.market.address);
    const env = { TOKEN_ADDRESS: zeroAddress, REGISTRY_ADDRESS: ctx.registry.address, MARKET_ADDRESS: "0x1234" };
    assert.throws(() => loadAddresses(99, { deploymentsDir: dir, env }), /MARKET_ADDRESS is not an address/);
  });
});
