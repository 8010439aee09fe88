import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { keccak256, toHex, zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { attestorKeys, deployMarket, E18, keyProof, registerProvider, type Conn, type Provider } from "../helpers/market.ts";
import { DEFAULT_ADMIN_ROLE, type Wallet } from "../helpers/contract-fixtures.ts";
import { assertRegistrySolvent, assertSameAddress } from "../helpers/contract-asserts.ts";

const DELAY = 7n * 24n * 3600n;
const reportOf = (a: Address) => keccak256(toHex(`report:${a}`));

describe("ProviderRegistry", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomError, revertWithCustomErrorWithArgs, emitWithArgs } = viem.assertions;

  /** Market + one registered provider `p` (1000 stake) + `bonder`, an EOA holding MARKET_ROLE. */
  async function fixture() {
    const ctx = await deployMarket(conn);
    const wallets = ctx.others as Wallet[];
    const bonder = wallets[10];
    const MARKET_ROLE = await ctx.registry.read.MARKET_ROLE();
    const PAUSER_ROLE = await ctx.registry.read.PAUSER_ROLE();
    // before anyone registered, grants are immediate (deployment wiring); afterwards they are delayed
    await ctx.registry.write.grantRole([MARKET_ROLE, bonder.account.address], { account: ctx.deployer.account });
    const p = await registerProvider(ctx, wallets[3]);
    return { ...ctx, wallets, p, bonder, MARKET_ROLE, PAUSER_ROLE };
  }
  const load = () => networkHelpers.loadFixture(fixture);

  /** A fresh attestation key's address; its key signs proofs of possession below. */
  function newSigner(): Address {
    const a = privateKeyToAccount(generatePrivateKey());
    attestorKeys.set(a.address.toLowerCase(), a);
    return a.address;
  }
  async function proofFor(c: Awaited<ReturnType<typeof fixture>>, provider: Address, signer: Address, report: Hex): Promise<Hex> {
    const k = attestorKeys.get(signer.toLowerCase());
    return k ? keyProof(c, k, provider, report) : (`0x${"11".repeat(65)}` as Hex);
  }
  function registerWithProof(c: Awaited<ReturnType<typeof fixture>>, who: { account: { address: Address } }, args: readonly [bigint, Address, Hex, string]) {
    return proofFor(c, who.account.address, args[1], args[2]).then((proof) =>
      c.registry.write.register([...args, proof], { account: who.account as never }),
    );
  }
  function rotateWithProof(c: Awaited<ReturnType<typeof fixture>>, who: { account: { address: Address } }, args: readonly [Address, Hex]) {
    return proofFor(c, who.account.address, args[0], args[1]).then((proof) =>
      c.registry.write.rotateAttestationKey([...args, proof], { account: who.account as never }),
    );
  }

  async function fundFor(c: Awaited<ReturnType<typeof fixture>>, w: Wallet, amount: bigint) {
    await c.token.write.mint([w.account.address, amount], { account: c.deployer.account });
    await c.token.write.approve([c.registry.address, amount], { account: w.account });
  }

  describe("deployment and views", () => {
    it("stores its parameters, grants the admin roles and lets Ignition grant MARKET_ROLE to the market", async () => {
      const c = await load();
      assert.equal((await c.registry.read.stakeToken()).toLowerCase(), c.token.address.toLowerCase());
      assert.equal(await c.registry.read.minStake(), 100n * E18);
      assert.equal(await c.registry.read.unbondingDelay(), DELAY);
      assert.equal(await c.registry.read.MAX_UNBONDING_DELAY(), 90n * 24n * 3600n);
      assert.equal(await c.registry.read.hasRole([DEFAULT_ADMIN_ROLE, c.deployer.account.address]), true);
      assert.equal(await c.registry.read.hasRole([c.PAUSER_ROLE, c.deployer.account.address]), true);
      assert.equal(await c.registry.read.hasRole([c.MARKET_ROLE, c.market.address]), true);
      assert.equal(await c.registry.read.paused(), false);
    });

    it("rejects a zero token, a zero admin and an unbonding delay above the maximum", async () => {
      const c = await load();
      const admin = c.deployer.account.address;
      await revertWithCustomError(viem.deployContract("ProviderRegistry", [zeroAddress, admin, 1n, 1n]), c.registry, "ZeroAddress");
      await revertWithCustomError(viem.deployContract("ProviderRegistry", [c.token.address, zeroAddress, 1n, 1n]), c.registry, "AccessControlInvalidDefaultAdmin");
      const max = 90n * 24n * 3600n;
      await revertWithCustomErrorWithArgs(
        viem.deployContract("ProviderRegistry", [c.token.address, admin, 1n, max + 1n]),
        c.registry,
        "UnbondingDelayTooLong",
        [max + 1n, max],
      );
      const ok = await viem.deployContract("ProviderRegistry", [c.token.address, admin, 5n, max]);
      assert.equal(await ok.read.unbondingDelay(), max);
    });

    it("views of an unknown address are empty", async () => {
      const c = await load();
      const stranger = c.wallets[12].account.address;
      assert.equal(await c.registry.read.isRegistered([stranger]), false);
      assertSameAddress(await c.registry.read.attestationSignerOf([stranger]), zeroAddress);
      assert.equal(await c.registry.read.freeStakeOf([stranger]), 0n);
      const rec = await c.registry.read.providerOf([stranger]);
      assert.equal(rec.stake, 0n);
      assert.equal(rec.registeredAt, 0n);
    });
  });

  describe("register", () => {
    it("records the provider, claims its signer, pulls the stake and emits ProviderRegistered", async () => {
      const c = await load();
      const w = c.wallets[4];
      const signer = newSigner();
      const stake = 250n * E18;
      await fundFor(c, w, stake);
      const before = await c.token.read.balanceOf([c.registry.address]);
      await emitWithArgs(
        registerWithProof(c, w, [stake, signer, reportOf(signer), "ipfs://gpu"]),
        c.registry,
        "ProviderRegistered",
        [w.account.address, signer, reportOf(signer), stake, "ipfs://gpu"],
      );
      const rec = await c.registry.read.providerOf([w.account.address]);
      assert.equal(rec.stake, stake);
      assert.equal(rec.bonded, 0n);
      assert.equal(rec.unbonding, 0n);
      assertSameAddress(rec.attestationSigner, signer);
      assert.equal(rec.attestationReportHash, reportOf(signer));
      assert.equal(rec.registeredAt, BigInt(await networkHelpers.time.latest()));
      assert.equal(await c.registry.read.isRegistered([w.account.address]), true);
      assertSameAddress(await c.registry.read.attestationSignerOf([w.account.address]), signer);
      assertSameAddress(await c.registry.read.providerOfSigner([signer]), w.account.address);
      assert.equal(await c.registry.read.freeStakeOf([w.account.address]), stake);
      assert.equal(await c.token.read.balanceOf([c.registry.address]), before + stake);
      assert.equal(await c.token.read.balanceOf([w.account.address]), 0n);
      await assertRegistrySolvent(c);
    });

    it("accepts exactly the minimum stake", async () => {
      const c = await load();
      const w = c.wallets[4];
      await fundFor(c, w, 100n * E18);
      const signer = newSigner();
      await registerWithProof(c, w, [100n * E18, signer, reportOf(signer), ""]);
      assert.equal(await c.registry.read.isRegistered([w.account.address]), true);
    });

    it("reverts: AlreadyRegistered, ZeroAmount, StakeBelowMinimum, ZeroAddress, ZeroReportHash, SignerInUse", async () => {
      const c = await load();
      const w = c.wallets[4];
      await fundFor(c, w, 1_000n * E18);
      const signer = newSigner();
      const reg = (stake: bigint, s: Address, h = reportOf(s), who: Wallet = w) =>
        registerWithProof(c, who, [stake, s, h, "m"]);
      await revertWithCustomErrorWithArgs(reg(100n * E18, signer, reportOf(signer), c.p.wallet as Wallet), c.registry, "AlreadyRegistered", [c.p.address]);
      await revertWithCustomError(reg(0n, signer), c.registry, "ZeroAmount");
      await revertWithCustomErrorWithArgs(reg(100n * E18 - 1n, signer), c.registry, "StakeBelowMinimum", [100n * E18 - 1n, 100n * E18]);
      await revertWithCustomError(reg(100n * E18, zeroAddress), c.registry, "ZeroAddress");
      await revertWithCustomError(reg(100n * E18, signer, zeroHash), c.registry, "ZeroReportHash");
      await revertWithCustomErrorWithArgs(reg(100n * E18, c.p.attestor.address), c.registry, "SignerInUse", [c.p.attestor.address, c.p.address]);
      assert.equal(await c.registry.read.isRegistered([w.account.address]), false);
    });

    it("with a zero minimum stake still rejects a zero stake", async () => {
      const c = await load();
      await c.registry.write.setMinStake([0n], { account: c.deployer.account });
      const signer = newSigner();
      await revertWithCustomError(
        registerWithProof(c, c.wallets[4], [0n, signer, reportOf(signer), ""]),
        c.registry,
        "ZeroAmount",
      );
    });
  });

  describe("addStake", () => {
    it("adds to the stake and emits StakeAdded with the new total", async () => {
      const c = await load();
      await fundFor(c, c.p.wallet as Wallet, 5n * E18);
      await emitWithArgs(c.registry.write.addStake([5n * E18], { account: c.p.wallet.account }), c.registry, "StakeAdded", [
        c.p.address,
        5n * E18,
        1_005n * E18,
      ]);
      assert.equal((await c.registry.read.providerOf([c.p.address])).stake, 1_005n * E18);
      await assertRegistrySolvent(c);
    });

    it("reverts for an unregistered caller (NotRegistered) and a zero amount (ZeroAmount)", async () => {
      const c = await load();
      const stranger = c.wallets[12];
      await revertWithCustomErrorWithArgs(c.registry.write.addStake([1n], { account: stranger.account }), c.registry, "NotRegistered", [
        stranger.account.address,
      ]);
      await revertWithCustomError(c.registry.write.addStake([0n], { account: c.p.wallet.account }), c.registry, "ZeroAmount");
    });
  });

  describe("unbonding", () => {
    it("requestUnbond moves free stake to unbonding; a second request accumulates and restarts the delay", async () => {
      const c = await load();
      const acct = c.p.wallet.account;
      const h1 = c.registry.write.requestUnbond([100n * E18], { account: acct });
      await emitWithArgs(h1, c.registry, "UnbondRequested", [c.p.address, 100n * E18, 100n * E18, (v: bigint) => v > 0n]);
      const t1 = BigInt(await networkHelpers.time.latest());
      let rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.unbonding, 100n * E18);
      assert.equal(rec.unbondingReadyAt, t1 + DELAY);
      assert.equal(await c.registry.read.freeStakeOf([c.p.address]), 900n * E18);
      await networkHelpers.time.increase(1000);
      await c.registry.write.requestUnbond([50n * E18], { account: acct });
      const t2 = BigInt(await networkHelpers.time.latest());
      rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.unbonding, 150n * E18);
      assert.equal(rec.unbondingReadyAt, t2 + DELAY);
      assert.equal(rec.stake, 1_000n * E18);
    });

    it("requestUnbond reverts: ZeroAmount, NotRegistered, InsufficientFreeStake (bonded and unbonding stake are not free)", async () => {
      const c = await load();
      const acct = c.p.wallet.account;
      await revertWithCustomError(c.registry.write.requestUnbond([0n], { account: acct }), c.registry, "ZeroAmount");
      await revertWithCustomError(c.registry.write.requestUnbond([1n], { account: c.wallets[12].account }), c.registry, "NotRegistered");
      await revertWithCustomErrorWithArgs(c.registry.write.requestUnbond([1_000n * E18 + 1n], { account: acct }), c.registry, "InsufficientFreeStake", [
        c.p.address,
        1_000n * E18 + 1n,
        1_000n * E18,
      ]);
      await c.registry.write.lockBond([c.p.address, 300n * E18], { account: c.bonder.account });
      await c.registry.write.requestUnbond([600n * E18], { account: acct });
      await revertWithCustomErrorWithArgs(c.registry.write.requestUnbond([100n * E18 + 1n], { account: acct }), c.registry, "InsufficientFreeStake", [
        c.p.address,
        100n * E18 + 1n,
        100n * E18,
      ]);
      await c.registry.write.requestUnbond([100n * E18], { account: acct });
      assert.equal(await c.registry.read.freeStakeOf([c.p.address]), 0n);
    });

    it("cancelUnbond returns the whole unbonding amount to free stake", async () => {
      const c = await load();
      const acct = c.p.wallet.account;
      await c.registry.write.requestUnbond([70n * E18], { account: acct });
      await c.registry.write.requestUnbond([30n * E18], { account: acct });
      await emitWithArgs(c.registry.write.cancelUnbond({ account: acct }), c.registry, "UnbondCancelled", [c.p.address, 100n * E18]);
      const rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.unbonding, 0n);
      assert.equal(rec.unbondingReadyAt, 0n);
      assert.equal(await c.registry.read.freeStakeOf([c.p.address]), 1_000n * E18);
    });

    it("cancelUnbond reverts: NothingUnbonding, NotRegistered", async () => {
      const c = await load();
      await revertWithCustomErrorWithArgs(c.registry.write.cancelUnbond({ account: c.p.wallet.account }), c.registry, "NothingUnbonding", [c.p.address]);
      await revertWithCustomError(c.registry.write.cancelUnbond({ account: c.wallets[12].account }), c.registry, "NotRegistered");
    });

    it("withdrawUnbonded waits for the delay (UnbondingNotReady), then pays exactly the unbonding amount", async () => {
      const c = await load();
      const acct = c.p.wallet.account;
      await c.registry.write.requestUnbond([400n * E18], { account: acct });
      const readyAt = (await c.registry.read.providerOf([c.p.address])).unbondingReadyAt;
      await networkHelpers.time.setNextBlockTimestamp(readyAt - 1n);
      await revertWithCustomErrorWithArgs(c.registry.write.withdrawUnbonded({ account: acct }), c.registry, "UnbondingNotReady", [readyAt, readyAt - 1n]);
      await networkHelpers.time.setNextBlockTimestamp(readyAt);
      const before = await c.token.read.balanceOf([c.p.address]);
      await emitWithArgs(c.registry.write.withdrawUnbonded({ account: acct }), c.registry, "UnbondWithdrawn", [c.p.address, 400n * E18, 600n * E18]);
      assert.equal(await c.token.read.balanceOf([c.p.address]), before + 400n * E18);
      const rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.stake, 600n * E18);
      assert.equal(rec.unbonding, 0n);
      assert.equal(rec.unbondingReadyAt, 0n);
      assert.equal(await c.registry.read.isRegistered([c.p.address]), true);
      await revertWithCustomError(c.registry.write.withdrawUnbonded({ account: acct }), c.registry, "NothingUnbonding");
      await assertRegistrySolvent(c);
    });

    it("withdrawUnbonded reverts: NothingUnbonding, NotRegistered", async () => {
      const c = await load();
      await revertWithCustomError(c.registry.write.withdrawUnbonded({ account: c.p.wallet.account }), c.registry, "NothingUnbonding");
      await revertWithCustomError(c.registry.write.withdrawUnbonded({ account: c.wallets[12].account }), c.registry, "NotRegistered");
    });

    it("a provider can unbond and withdraw its whole stake and stays registered with zero stake", async () => {
      const c = await load();
      const acct = c.p.wallet.account;
      await c.registry.write.requestUnbond([1_000n * E18], { account: acct });
      await networkHelpers.time.increase(DELAY);
      await c.registry.write.withdrawUnbonded({ account: acct });
      assert.equal((await c.registry.read.providerOf([c.p.address])).stake, 0n);
      await revertWithCustomErrorWithArgs(c.registry.write.lockBond([c.p.address, 1n], { account: c.bonder.account }), c.registry, "InsufficientFreeStake", [
        c.p.address,
        1n,
        0n,
      ]);
      await assertRegistrySolvent(c);
    });
  });

  describe("attestation key and metadata", () => {
    it("rotateAttestationKey swaps the signer, frees the old one and emits AttestationKeyRotated", async () => {
      const c = await load();
      const old = c.p.attestor.address;
      const next = newSigner();
      await emitWithArgs(
        rotateWithProof(c, c.p.wallet, [next, reportOf(next)]),
        c.registry,
        "AttestationKeyRotated",
        [c.p.address, old, next, reportOf(next)],
      );
      assertSameAddress(await c.registry.read.attestationSignerOf([c.p.address]), next);
      assertSameAddress(await c.registry.read.providerOfSigner([old]), zeroAddress);
      assertSameAddress(await c.registry.read.providerOfSigner([next]), c.p.address);
      assert.equal((await c.registry.read.providerOf([c.p.address])).attestationReportHash, reportOf(next));
      // the freed signer can be claimed by another provider
      const other = c.wallets[4];
      await fundFor(c, other, 100n * E18);
      await registerWithProof(c, other, [100n * E18, old, reportOf(old), ""]);
      assertSameAddress(await c.registry.read.providerOfSigner([old]), other.account.address);
    });

    it("rotating to the same signer with a new report is allowed", async () => {
      const c = await load();
      const s = c.p.attestor.address;
      const h = keccak256(toHex("new report"));
      await rotateWithProof(c, c.p.wallet, [s, h]);
      assertSameAddress(await c.registry.read.providerOfSigner([s]), c.p.address);
      assert.equal((await c.registry.read.providerOf([c.p.address])).attestationReportHash, h);
    });

    it("rotateAttestationKey reverts: SignerInUse, ZeroAddress, ZeroReportHash, NotRegistered (and keeps the old key)", async () => {
      const c = await load();
      const q = await registerProvider(c, c.wallets[4]);
      const next = newSigner();
      const rot = (s: Address, h = reportOf(s), who: Provider["wallet"] = c.p.wallet) =>
        rotateWithProof(c, who, [s, h]);
      await revertWithCustomErrorWithArgs(rot(q.attestor.address), c.registry, "SignerInUse", [q.attestor.address, q.address]);
      await revertWithCustomError(rot(zeroAddress), c.registry, "ZeroAddress");
      await revertWithCustomError(rot(next, zeroHash), c.registry, "ZeroReportHash");
      await revertWithCustomError(rot(next, reportOf(next), c.wallets[12]), c.registry, "NotRegistered");
      assertSameAddress(await c.registry.read.attestationSignerOf([c.p.address]), c.p.attestor.address);
      assertSameAddress(await c.registry.read.providerOfSigner([c.p.attestor.address]), c.p.address);
    });

    it("updateMetadata emits MetadataUpdated; NotRegistered for strangers", async () => {
      const c = await load();
      await emitWithArgs(c.registry.write.updateMetadata(["ipfs://new"], { account: c.p.wallet.account }), c.registry, "MetadataUpdated", [
        c.p.address,
        "ipfs://new",
      ]);
      await revertWithCustomError(c.registry.write.updateMetadata(["x"], { account: c.wallets[12].account }), c.registry, "NotRegistered");
    });
  });

  describe("market actions (MARKET_ROLE)", () => {
    it("lockBond, releaseBond and slash are only for MARKET_ROLE holders (AccessControlUnauthorizedAccount)", async () => {
      const c = await load();
      for (const who of [c.p.wallet, c.deployer, c.wallets[12]]) {
        const args = [who.account.address, c.MARKET_ROLE] as const;
        await revertWithCustomErrorWithArgs(c.registry.write.lockBond([c.p.address, 1n], { account: who.account }), c.registry, "AccessControlUnauthorizedAccount", [...args]);
        await revertWithCustomErrorWithArgs(c.registry.write.releaseBond([c.p.address, 0n], { account: who.account }), c.registry, "AccessControlUnauthorizedAccount", [...args]);
        await revertWithCustomErrorWithArgs(c.registry.write.slash([c.p.address, 1n], { account: who.account }), c.registry, "AccessControlUnauthorizedAccount", [...args]);
      }
    });

    it("lockBond bonds free stake (BondLocked with the running total)", async () => {
      const c = await load();
      await emitWithArgs(c.registry.write.lockBond([c.p.address, 300n * E18], { account: c.bonder.account }), c.registry, "BondLocked", [
        c.p.address,
        c.bonder.account.address,
        300n * E18,
        300n * E18,
      ]);
      await emitWithArgs(c.registry.write.lockBond([c.p.address, 700n * E18], { account: c.bonder.account }), c.registry, "BondLocked", [
        c.p.address,
        c.bonder.account.address,
        700n * E18,
        1_000n * E18,
      ]);
      assert.equal(await c.registry.read.freeStakeOf([c.p.address]), 0n);
      assert.equal((await c.registry.read.providerOf([c.p.address])).bonded, 1_000n * E18);
    });

    it("lockBond reverts: ZeroAmount, NotRegistered, InsufficientFreeStake", async () => {
      const c = await load();
      const b = c.bonder.account;
      await revertWithCustomError(c.registry.write.lockBond([c.p.address, 0n], { account: b }), c.registry, "ZeroAmount");
      await revertWithCustomErrorWithArgs(c.registry.write.lockBond([c.wallets[12].account.address, 1n], { account: b }), c.registry, "NotRegistered", [
        c.wallets[12].account.address,
      ]);
      await c.registry.write.requestUnbond([400n * E18], { account: c.p.wallet.account });
      await revertWithCustomErrorWithArgs(c.registry.write.lockBond([c.p.address, 600n * E18 + 1n], { account: b }), c.registry, "InsufficientFreeStake", [
        c.p.address,
        600n * E18 + 1n,
        600n * E18,
      ]);
    });

    it("releaseBond returns bonded stake to free stake; InsufficientBond above the bond; NotRegistered", async () => {
      const c = await load();
      const b = c.bonder.account;
      await c.registry.write.lockBond([c.p.address, 300n * E18], { account: b });
      await revertWithCustomErrorWithArgs(c.registry.write.releaseBond([c.p.address, 300n * E18 + 1n], { account: b }), c.registry, "InsufficientBond", [
        c.p.address,
        300n * E18 + 1n,
        300n * E18,
      ]);
      await revertWithCustomError(c.registry.write.releaseBond([c.wallets[12].account.address, 0n], { account: b }), c.registry, "NotRegistered");
      await emitWithArgs(c.registry.write.releaseBond([c.p.address, 100n * E18], { account: b }), c.registry, "BondReleased", [
        c.p.address,
        b.address,
        100n * E18,
        200n * E18,
      ]);
      assert.equal(await c.registry.read.freeStakeOf([c.p.address]), 800n * E18);
    });

    it("slash takes at most the bonded stake, sends it to the caller and reduces the stake", async () => {
      const c = await load();
      const b = c.bonder.account;
      await c.registry.write.lockBond([c.p.address, 100n * E18], { account: b });
      await c.registry.write.requestUnbond([200n * E18], { account: c.p.wallet.account });
      const sim = await c.registry.simulate.slash([c.p.address, 40n * E18], { account: b.address });
      assert.equal(sim.result, 40n * E18);
      await emitWithArgs(c.registry.write.slash([c.p.address, 40n * E18], { account: b }), c.registry, "StakeSlashed", [
        c.p.address,
        b.address,
        40n * E18,
        960n * E18,
        60n * E18,
      ]);
      assert.equal(await c.token.read.balanceOf([b.address]), 40n * E18);
      // more than bonded: capped at the 60 left
      assert.equal((await c.registry.simulate.slash([c.p.address, 1_000n * E18], { account: b.address })).result, 60n * E18);
      await c.registry.write.slash([c.p.address, 1_000n * E18], { account: b });
      const rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.stake, 900n * E18);
      assert.equal(rec.bonded, 0n);
      assert.equal(rec.unbonding, 200n * E18, "unbonding stake is never slashed");
      assert.equal(await c.token.read.balanceOf([b.address]), 100n * E18);
      // nothing bonded: returns 0 and emits nothing
      assert.equal((await c.registry.simulate.slash([c.p.address, 5n], { account: b.address })).result, 0n);
      const hash = await c.registry.write.slash([c.p.address, 5n], { account: b });
      const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.logs.length, 0);
      await revertWithCustomError(c.registry.write.slash([c.wallets[12].account.address, 1n], { account: b }), c.registry, "NotRegistered");
      await assertRegistrySolvent(c);
    });
  });

  describe("admin", () => {
    it("setMinStake: admin only, emits MinStakeUpdated and applies to new registrations", async () => {
      const c = await load();
      await revertWithCustomErrorWithArgs(c.registry.write.setMinStake([1n], { account: c.p.wallet.account }), c.registry, "AccessControlUnauthorizedAccount", [
        c.p.address,
        DEFAULT_ADMIN_ROLE,
      ]);
      await emitWithArgs(c.registry.write.setMinStake([500n * E18], { account: c.deployer.account }), c.registry, "MinStakeUpdated", [500n * E18]);
      assert.equal(await c.registry.read.minStake(), 500n * E18);
      const w = c.wallets[4];
      await fundFor(c, w, 500n * E18);
      const s = newSigner();
      await revertWithCustomErrorWithArgs(registerWithProof(c, w, [400n * E18, s, reportOf(s), ""]), c.registry, "StakeBelowMinimum", [
        400n * E18,
        500n * E18,
      ]);
      await registerWithProof(c, w, [500n * E18, s, reportOf(s), ""]);
    });

    it("setUnbondingDelay: admin only, bounded (UnbondingDelayTooLong), applies to later requests", async () => {
      const c = await load();
      await revertWithCustomError(c.registry.write.setUnbondingDelay([1n], { account: c.p.wallet.account }), c.registry, "AccessControlUnauthorizedAccount");
      const max = 90n * 24n * 3600n;
      await revertWithCustomErrorWithArgs(c.registry.write.setUnbondingDelay([max + 1n], { account: c.deployer.account }), c.registry, "UnbondingDelayTooLong", [
        max + 1n,
        max,
      ]);
      await emitWithArgs(c.registry.write.setUnbondingDelay([60n], { account: c.deployer.account }), c.registry, "UnbondingDelayUpdated", [60n]);
      await c.registry.write.requestUnbond([1n], { account: c.p.wallet.account });
      assert.equal((await c.registry.read.providerOf([c.p.address])).unbondingReadyAt, BigInt(await networkHelpers.time.latest()) + 60n);
      await c.registry.write.setUnbondingDelay([0n], { account: c.deployer.account });
      await c.registry.write.requestUnbond([1n], { account: c.p.wallet.account });
      await c.registry.write.withdrawUnbonded({ account: c.p.wallet.account });
      assert.equal((await c.registry.read.providerOf([c.p.address])).stake, 1_000n * E18 - 2n);
    });

    it("pause: PAUSER_ROLE only; stops register, addStake and lockBond but never traps funds", async () => {
      const c = await load();
      await revertWithCustomErrorWithArgs(c.registry.write.pause({ account: c.p.wallet.account }), c.registry, "AccessControlUnauthorizedAccount", [
        c.p.address,
        c.PAUSER_ROLE,
      ]);
      await revertWithCustomError(c.registry.write.unpause({ account: c.deployer.account }), c.registry, "ExpectedPause");
      await c.registry.write.lockBond([c.p.address, 100n * E18], { account: c.bonder.account });
      await emitWithArgs(c.registry.write.pause({ account: c.deployer.account }), c.registry, "Paused", [c.deployer.account.address]);
      assert.equal(await c.registry.read.paused(), true);
      await revertWithCustomError(c.registry.write.pause({ account: c.deployer.account }), c.registry, "EnforcedPause");

      const w = c.wallets[4];
      await fundFor(c, w, 100n * E18);
      const s = newSigner();
      await revertWithCustomError(registerWithProof(c, w, [100n * E18, s, reportOf(s), ""]), c.registry, "EnforcedPause");
      await fundFor(c, c.p.wallet as Wallet, 1n);
      await revertWithCustomError(c.registry.write.addStake([1n], { account: c.p.wallet.account }), c.registry, "EnforcedPause");
      await revertWithCustomError(c.registry.write.lockBond([c.p.address, 1n], { account: c.bonder.account }), c.registry, "EnforcedPause");

      // still open: unbonding, withdrawing, key rotation, metadata, releases and slashes
      await c.registry.write.requestUnbond([100n * E18], { account: c.p.wallet.account });
      await c.registry.write.cancelUnbond({ account: c.p.wallet.account });
      await c.registry.write.requestUnbond([100n * E18], { account: c.p.wallet.account });
      await networkHelpers.time.increase(DELAY);
      await c.registry.write.withdrawUnbonded({ account: c.p.wallet.account });
      const next = newSigner();
      await rotateWithProof(c, c.p.wallet, [next, reportOf(next)]);
      await c.registry.write.updateMetadata(["m"], { account: c.p.wallet.account });
      await c.registry.write.releaseBond([c.p.address, 50n * E18], { account: c.bonder.account });
      await c.registry.write.slash([c.p.address, 50n * E18], { account: c.bonder.account });
      const rec = await c.registry.read.providerOf([c.p.address]);
      assert.equal(rec.stake, 850n * E18);
      assert.equal(rec.bonded, 0n);

      await emitWithArgs(c.registry.write.unpause({ account: c.deployer.account }), c.registry, "Unpaused", [c.deployer.account.address]);
      await registerWithProof(c, w, [100n * E18, s, reportOf(s), ""]);
      await assertRegistrySolvent(c);
    });
  });
});
