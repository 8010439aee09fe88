// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Bitmask
/// @notice Helpers for the 32-bit worker masks (bit i = the worker that joined i-th).
library Bitmask {
    /// @notice Number of set bits.
    function count(uint32 x) internal pure returns (uint256 c) {
        unchecked {
            while (x != 0) {
                x &= x - 1;
                ++c;
            }
        }
    }

    /// @notice The mask with only bit `i` set.
    function bit(uint8 i) internal pure returns (uint32) {
        return uint32(1) << i;
    }
}
