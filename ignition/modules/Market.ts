import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildCore } from "./MarketCore.ts";

/**
 * Deploys the whole market on the project's TestToken (mintable by the deployer: local networks
 * and testnets): TestToken and the core (ignition/modules/MarketCore.ts: registry, market, dispute
 * module, DisputeGame, limits). For an existing ERC-20, deploy ignition/modules/MarketWithToken.ts instead.
 *
 * The deployer becomes admin of both contracts (hand the roles over afterwards for production).
 * Parameters (all optional): those of buildCore (treasury, minStake, unbondingDelay, protocolFeeBps,
 * challengeBountyBps, the referee settings and the protocol limits on job terms).
 */
export default buildModule("Market", (m) => {
  const token = m.contract("TestToken", [m.getAccount(0)]);
  const { registry, market, game, module } = buildCore(m, token);
  return { token, registry, market, game, module };
});
