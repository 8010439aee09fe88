import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Deploys the whole market: the payment/stake token (TestToken, unless `token` is given),
 * ProviderRegistry, TrainingMarket, and grants the market MARKET_ROLE on the registry.
 *
 * The deployer becomes admin of both contracts (hand the roles over afterwards for production).
 * Parameters (all optional): treasury, minStake, unbondingDelay, protocolFeeBps,
 * challengeBountyBps, arbitrationPeriod.
 */
export default buildModule("Market", (m) => {
  const deployer = m.getAccount(0);
  const admin = deployer;
  const treasury = m.getParameter("treasury", deployer);
  const minStake = m.getParameter("minStake", 100n * 10n ** 18n);
  const unbondingDelay = m.getParameter("unbondingDelay", 7n * 24n * 3600n);
  const protocolFeeBps = m.getParameter("protocolFeeBps", 200);
  const challengeBountyBps = m.getParameter("challengeBountyBps", 2_000);
  const arbitrationPeriod = m.getParameter("arbitrationPeriod", 3n * 24n * 3600n);

  const token = m.contract("TestToken", [deployer]);
  const registry = m.contract("ProviderRegistry", [token, admin, minStake, unbondingDelay]);
  const market = m.contract("TrainingMarket", [
    registry,
    admin,
    treasury,
    protocolFeeBps,
    challengeBountyBps,
    arbitrationPeriod,
  ]);
  const marketRole = m.staticCall(registry, "MARKET_ROLE", []);
  m.call(registry, "grantRole", [marketRole, market], { from: deployer });

  return { token, registry, market };
});
