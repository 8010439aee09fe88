import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

/**
 * The registry, the market's dispute module, the market and the DisputeGame (referees, bisection)
 * on a given stake/payment token, with MARKET_ROLE granted, the game named the market's dispute game
 * and the protocol limits on job terms set: shared by Market (with the TestToken) and
 * MarketWithToken (an existing ERC-20).
 *
 * The deployer becomes admin. For production hand DEFAULT_ADMIN_ROLE to a TimelockController
 * (ProviderRegistry: `beginDefaultAdminTransfer`, 2-day delay; TrainingMarket: `grantRole` +
 * `renounceRole`); once a provider has registered, every registry role grant must be scheduled
 * ROLE_GRANT_DELAY in advance anyway.
 * Parameters (all optional): treasury, minStake, unbondingDelay, protocolFeeBps, challengeBountyBps,
 * refereeStake, panelSize, moveWindow, refereeWindow, refereeSlashBps, and the limits maxPenaltyBps,
 * minCommitWindow, minVoteWindow, minChallengeWindow, minBondToReward, maxBondToReward (public-chain
 * defaults).
 */
export function buildCore(m: IgnitionModuleBuilder, token: ContractFuture<string>) {
  const deployer = m.getAccount(0);
  const admin = deployer;
  const treasury = m.getParameter("treasury", deployer);
  const minStake = m.getParameter("minStake", 100n * 10n ** 18n);
  const unbondingDelay = m.getParameter("unbondingDelay", 7n * 24n * 3600n);
  const protocolFeeBps = m.getParameter("protocolFeeBps", 200);
  const challengeBountyBps = m.getParameter("challengeBountyBps", 2_000);
  const refereeStake = m.getParameter("refereeStake", 100n * 10n ** 18n);
  const panelSize = m.getParameter("panelSize", 3);
  const moveWindow = m.getParameter("moveWindow", 3_600);
  const refereeWindow = m.getParameter("refereeWindow", 86_400);
  const refereeSlashBps = m.getParameter("refereeSlashBps", 2_000);
  const limits = {
    maxPenaltyBps: m.getParameter("maxPenaltyBps", 2_500),
    minCommitWindow: m.getParameter("minCommitWindow", 300),
    minVoteWindow: m.getParameter("minVoteWindow", 300),
    minChallengeWindow: m.getParameter("minChallengeWindow", 86_400),
    minBondToReward: m.getParameter("minBondToReward", 4),
    maxBondToReward: m.getParameter("maxBondToReward", 1_000),
  };
  const registry = m.contract("ProviderRegistry", [token, admin, minStake, unbondingDelay]);
  const module = m.contract("MarketDisputeModule", [registry]);
  const market = m.contract("TrainingMarket", [registry, admin, treasury, protocolFeeBps, challengeBountyBps, module]);
  const marketRole = m.staticCall(registry, "MARKET_ROLE", []);
  m.call(registry, "grantRole", [marketRole, market], { from: deployer });
  const game = m.contract("DisputeGame", [market, refereeStake, panelSize, moveWindow, refereeWindow, refereeSlashBps]);
  m.call(market, "setDisputeGame", [game], { from: deployer });
  m.call(market, "setLimits", [limits], { from: deployer });
  return { registry, market, game, module };
}
