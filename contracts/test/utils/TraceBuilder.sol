// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TraceMerkle} from "../../libraries/TraceMerkle.sol";

/// @title TraceBuilder
/// @notice Builds TraceMerkle trees (root and proofs) in tests: `leaves` padded with zero leaves to
///         2^depth, the same tree shared/trace.ts builds.
library TraceBuilder {
    function _level0(bytes32[] memory leaves, uint8 depth) private pure returns (bytes32[] memory level) {
        uint256 size = uint256(1) << depth;
        level = new bytes32[](size);
        for (uint256 i; i < size; ++i) {
            level[i] = TraceMerkle.leafHash(uint32(i), i < leaves.length ? leaves[i] : bytes32(0));
        }
    }

    function root(bytes32[] memory leaves, uint8 depth) internal pure returns (bytes32) {
        bytes32[] memory level = _level0(leaves, depth);
        for (uint256 n = level.length; n > 1; n /= 2) {
            for (uint256 i; i < n / 2; ++i) {
                level[i] = TraceMerkle.nodeHash(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint8 depth, uint256 index) internal pure returns (bytes32[] memory out) {
        bytes32[] memory level = _level0(leaves, depth);
        out = new bytes32[](depth);
        uint256 idx = index;
        for (uint256 k; k < depth; ++k) {
            out[k] = level[idx ^ 1];
            uint256 n = level.length >> k;
            for (uint256 i; i < n / 2; ++i) {
                level[i] = TraceMerkle.nodeHash(level[2 * i], level[2 * i + 1]);
            }
            idx >>= 1;
        }
    }
}
