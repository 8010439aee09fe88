// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMarketDisputes
/// @notice The narrow interface through which the dispute game (and only it) acts on the market.
///         The market never decides a dispute; it applies the outcome the game established through
///         bisection and referee majorities, with fixed economic rules that pay nobody who judged.
interface IMarketDisputes {
    /// @notice A dispute on `jobId` opened: no bond, reward or reserve of the job leaves until it closes.
    function disputeOpened(uint256 jobId) external;

    /// @notice A dispute on `jobId` closed.
    function disputeClosed(uint256 jobId) external;

    /// @notice Fraud proven on `worker`'s commitment in `round`: its whole remaining bond is slashed,
    ///         `bountyBps` of it credited to `challenger`, the rest to the treasury; one round's
    ///         reward is clawed back and refunded to the poster; the worker leaves the job.
    function punishFraud(uint256 jobId, uint32 round, address worker, address challenger)
        external
        returns (uint256 slashed, uint256 bounty);

    /// @notice Referees established that the deterministic aggregate of `round` is (modelHash, includedMask).
    ///         Finalized round with another result: voters of any other outcome are slashed (whole bond,
    ///         reward clawed back, removed), the honest minority is compensated first out of the slash,
    ///         and a running job fails (later rounds were built on a wrong model). Expired round: its
    ///         correct voters are paid from the reserve, voters of another outcome are slashed the same
    ///         way, the poster gets the rest of the reserve back. In both cases the challenger gets
    ///         `bountyBps` of what remains of the slash and the treasury the rest.
    function applyRoundVerdict(uint256 jobId, uint32 round, bytes32 modelHash, uint32 includedMask, address challenger)
        external
        returns (uint32 paidMask, uint32 wrongMask);

    /// @notice Anyone: refunds to the poster the reserve of an expired round nobody asked referees to
    ///         settle within the challenge window.
    function releaseReserve(uint256 jobId, uint32 round) external;

    /// @notice keccak(worker, traceRoot) committed under keccak(jobId, round, updateHash), or zero.
    function commitmentOf(bytes32 key) external view returns (bytes32);

    /// @notice Seconds the market has been paused in total, the current pause included.
    function pausedTime() external view returns (uint64);
}
