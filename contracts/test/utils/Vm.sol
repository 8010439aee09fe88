// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Vm
/// @notice The subset of the Foundry cheatcode interface these tests use. Hardhat 3's Solidity test
///         runner (EDR) implements the cheatcodes at the well-known address below; forge-std is not
///         installed here (see contracts/test/README.md), so the interface is declared by hand.
///         Signatures are Foundry's, so the selectors match what EDR dispatches on.
interface Vm {
    // ---- environment ----
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function getBlockTimestamp() external view returns (uint256);

    // ---- callers ----
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;

    // ---- expectations ----
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;

    // ---- fuzzing ----
    function assume(bool condition) external pure;

    // ---- keys and signatures ----
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    // ---- logs ----
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);

    // ---- misc ----
    function label(address account, string calldata newLabel) external;
}

/// @dev address(bytes20(uint160(uint256(keccak256("hevm cheat code")))))
Vm constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);
