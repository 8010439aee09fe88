import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";

const require = createRequire(import.meta.url);

/**
 * Solidity compiles with the npm `solc` package's soljson.js: Hardhat never downloads a compiler.
 * The version below must equal the installed `solc` package version (checked at load time).
 */
const SOLC_VERSION = "0.8.37";
const solcPackage = require("solc/package.json") as { version: string };
if (solcPackage.version !== SOLC_VERSION) {
  throw new Error(`hardhat.config.ts expects solc ${SOLC_VERSION} from npm, found ${solcPackage.version}; run ./run install`);
}
const soljson = require.resolve("solc/soljson.js");

// Solidity fuzz / invariant budget (contracts/test/README.md): 7 fuzz tests × 2,000 runs and
// 5 invariants × 128 runs of 128 calls (with disputes) ≈ 14,600 runs, about 4 minutes on 2 loaded
// cores once compiled (256 invariant runs: 7 min, all passing on 2026-12-01).
const fuzzRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const invariantRuns = Number(process.env.INVARIANT_RUNS ?? 128);
const invariantDepth = Number(process.env.INVARIANT_DEPTH ?? 128);

/** TrainingMarket is optimised for size (runs: 1) to stay under the 24 KiB code limit (EIP-170). */
function profile() {
  const compiler = (runs: number) => ({
    version: SOLC_VERSION,
    path: soljson,
    settings: { optimizer: { enabled: true, runs }, viaIR: true, evmVersion: "cancun" },
  });
  return { compilers: [compiler(200)], overrides: { "contracts/TrainingMarket.sol": compiler(1) } };
}

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    profiles: {
      default: profile(),
      // Ignition builds with the "production" profile, which Hardhat makes `isolated` (one compilation
      // per contract) by default: that would compile everything a second time after the test build
      // (minutes with solc.js). Same settings, not isolated: one build's cache serves both.
      production: { ...profile(), isolated: false },
    },
  },
  paths: {
    sources: "contracts",
    tests: { nodejs: "test", solidity: "contracts/test" },
  },
  test: {
    solidity: {
      fuzz: { runs: fuzzRuns, seed: "0x5eed" },
      invariant: { runs: invariantRuns, depth: invariantDepth, failOnRevert: false },
    },
  },
  // Blocks Ignition waits for after each transaction on non-automining chains (default 5; a
  // throwaway test chain can use 1: IGNITION_CONFIRMATIONS=1).
  ...(process.env.IGNITION_CONFIRMATIONS ? { ignition: { requiredConfirmations: Number(process.env.IGNITION_CONFIRMATIONS) } } : {}),
  networks: {
    // `hardhat node` (cli/chain.ts): a resumed local network starts its chain at the journal's first
    // block time, so replayed blocks keep their original timestamps (job "Created" stays the same)
    node: { type: "edr-simulated", chainType: "l1", ...(process.env.HARDHAT_NODE_INITIAL_DATE ? { initialDate: process.env.HARDHAT_NODE_INITIAL_DATE } : {}) },
    localhost: { type: "http", chainType: "l1", url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
    // Any public chain (docs/deploying.md). Both values are configuration variables: Hardhat reads
    // them from its encrypted keystore (`npx hardhat keystore set TESTNET_DEPLOYER_KEY`) or, when
    // the keystore does not hold them, from environment variables of the same names.
    testnet: {
      type: "http",
      chainType: "l1",
      url: configVariable("TESTNET_RPC_URL"),
      accounts: [configVariable("TESTNET_DEPLOYER_KEY")],
    },
  },
});
