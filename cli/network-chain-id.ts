/** Prints the chain id of the network `hardhat run --network <name>` connects to (used by cli/deploy-public.ts). */
import { network } from "hardhat";

const connection = await network.connect();
const id = await connection.provider.request({ method: "eth_chainId" });
console.log(`chainId=${Number(id)}`);
await connection.close();
