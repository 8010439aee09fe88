import type { Chain, PublicClient, Transport } from "viem";

/** A viem public client on any chain. */
export type Client = PublicClient<Transport, Chain | undefined>;
