export { runDilocoSim, defaultAddresses, type DilocoSimConfig, type DilocoSimResult, type RoundRecord } from "./diloco.ts";
export { runSyncDataParallelSim, unionShard, type SyncSimConfig, type SyncSimResult } from "./sync.ts";
export { LINK_1GBPS, LINK_100MBPS, ringAllReduceSeconds, ringAllReduceBytesSent, transferSeconds, type Link } from "./network.ts";
export { simulateTimeline, simulateSyncTimeline, type TimelineResult, type WorkerRoundCost } from "./timeline.ts";
