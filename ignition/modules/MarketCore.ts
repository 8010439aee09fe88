import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * The registry and the market on a given stake/payment token, with MARKET_ROLE granted: shared by
 * Market (with the TestToken) and MarketWithToken (an existing ERC-20).
 * Parameters (all optional): treasury, minStake, unbondingDelay, protocolFeeBps,
 * challengeBountyBps, arbitrationPeriod.
 */
export function buildCore(m: IgnitionModuleBuilder, token: ContractFuture<string>) {
  const deployer = m.getAccount(0);
  const admin = deployer;
  const treasury = m.getParameter("treasury", deployer);
  const minStake = m.getParameter("minStake", 100n * 10n ** 18n);
  const unbondingDelay = m.getParameter("unbondingDelay", 7n * 24n * 3600n);
  const protocolFeeBps = m.getParameter("protocolFeeBps", 200);
  const challengeBountyBps = m.getParameter("challengeBountyBps", 2_000);
  const arbitrationPeriod = m.getParameter("arbitrationPeriod", 3n * 24n * 3600n);
  const registry = m.contract("ProviderRegistry", [token, admin, minStake, unbondingDelay]);
  const market = m.contract("TrainingMarket", [registry, admin, treasury, protocolFeeBps, challengeBountyBps, arbitrationPeriod]);
  const marketRole = m.staticCall(registry, "MARKET_ROLE", []);
  m.call(registry, "grantRole", [marketRole, market], { from: deployer });
  return { registry, market };
}
