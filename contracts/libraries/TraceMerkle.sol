// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title TraceMerkle
/// @notice Merkle tree over a round trace, with the leaf's index bound into it. Leaf i with value v
///         hashes to keccak256(0x00 ‖ uint32 i ‖ v); an inner node to keccak256(0x01 ‖ left ‖ right)
///         (the prefixes keep a node from passing as a leaf). The tree has 2^depth leaves; unused
///         leaves are bytes32(0) (hashed like any leaf). shared/trace.ts builds the same tree.
library TraceMerkle {
    function leafHash(uint32 index, bytes32 value) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(0), index, value));
    }

    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(1), left, right));
    }

    /// @notice True when `value` is leaf `index` of the tree with root `root` (proof: siblings, leaf level first).
    function verify(bytes32 root, uint32 index, bytes32 value, bytes32[] calldata proof) internal pure returns (bool) {
        if (proof.length < 32 && uint256(index) >> proof.length != 0) return false;
        bytes32 h = leafHash(index, value);
        uint256 i = index;
        for (uint256 k; k < proof.length; ++k) {
            h = (i & 1) == 0 ? nodeHash(h, proof[k]) : nodeHash(proof[k], h);
            i >>= 1;
        }
        return h == root;
    }
}
