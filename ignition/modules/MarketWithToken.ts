import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { erc20Abi } from "viem";
import { buildCore } from "./MarketCore.ts";

/** An ABI-only artifact for the existing token (Ignition needs an artifact to reference a contract). */
const erc20Artifact = {
  _format: "hh3-artifact-1",
  contractName: "IERC20",
  sourceName: "@openzeppelin/contracts/token/ERC20/IERC20.sol",
  abi: erc20Abi,
  bytecode: "0x",
  deployedBytecode: "0x",
  linkReferences: {},
  deployedLinkReferences: {},
} as const;

/**
 * Deploys the market on an existing ERC-20 (parameter `token`, required): ProviderRegistry,
 * TrainingMarket and the MARKET_ROLE grant. Same optional parameters as Market.
 */
export default buildModule("MarketWithToken", (m) => {
  const token = m.contractAt("Token", erc20Artifact as never, m.getParameter<string>("token"));
  const { registry, market, game, module } = buildCore(m, token);
  return { token, registry, market, game, module };
});
