import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys the whole market: the payment/stake token (TestToken), ProviderRegistry, the market's
 * dispute module, TrainingMarket, the DisputeGame (referees, bisection), grants the market
 * MARKET_ROLE on the registry and names the game the market's dispute game.
 *
 * The deployer becomes admin of both contracts. For production hand DEFAULT_ADMIN_ROLE to a
 * TimelockController (ProviderRegistry: `beginDefaultAdminTransfer`, 2-day delay; TrainingMarket:
 * `grantRole` + `renounceRole`); once a provider has registered, every role grant in the registry
 * must be scheduled ROLE_GRANT_DELAY in advance anyway.
 * Parameters (all optional): treasury, minStake, unbondingDelay, protocolFeeBps, challengeBountyBps,
 * refereeStake, panelSize, moveWindow, refereeWindow, refereeSlashBps, and the protocol limits on
 * job terms (maxPenaltyBps, minCommitWindow, minVoteWindow, minChallengeWindow, minBondToReward,
 * maxBondToReward; public-chain defaults).
 */
export default buildModule("Market", (m) => {
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

  const token = m.contract("TestToken", [deployer]);
  const registry = m.contract("ProviderRegistry", [token, admin, minStake, unbondingDelay]);
  const module = m.contract("MarketDisputeModule", [registry]);
  const market = m.contract("TrainingMarket", [registry, admin, treasury, protocolFeeBps, challengeBountyBps, module]);
  const marketRole = m.staticCall(registry, "MARKET_ROLE", []);
  m.call(registry, "grantRole", [marketRole, market], { from: deployer });
  const game = m.contract("DisputeGame", [market, refereeStake, panelSize, moveWindow, refereeWindow, refereeSlashBps]);
  m.call(market, "setDisputeGame", [game], { from: deployer });
  m.call(market, "setLimits", [limits], { from: deployer });

  return { token, registry, market, game, module };
});
