/** The funded accounts of Hardhat's development node (its default mnemonic), for local networks and tests. */
import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of the development account with index `i`. */
export function hardhatKey(i: number): Hex {
  const hd = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i });
  return `0x${Buffer.from(hd.getHdKey().privateKey!).toString("hex")}` as Hex;
}
