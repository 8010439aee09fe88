// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./Vm.sol";
import {TrainingMarket} from "../../TrainingMarket.sol";
import {ProviderRegistry} from "../../ProviderRegistry.sol";

/// @title MarketSigs
/// @notice EIP-712 digests and signatures of the market's attested messages, computed the way the
///         contract does (keccak256("\x19\x01" ‖ domainSeparator ‖ structHash)) with the domain read
///         from the market's ERC-5267 `eip712Domain()`, and signed with the `vm.sign` cheatcode.
library MarketSigs {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ROUND_UPDATE_TYPEHASH =
        keccak256("RoundUpdate(uint256 jobId,uint32 round,bytes32 updateHash,bytes32 traceRoot,uint64 trainLoss,address worker)");
    bytes32 internal constant KEY_PROOF_TYPEHASH =
        keccak256("AttestationKeyProof(address provider,address signer,bytes32 reportHash,uint256 nonce)");

    /// @notice The trace root the Solidity tests commit with `updateHash` (a stand-in for a real trace).
    function traceFor(bytes32 updateHash) internal pure returns (bytes32) {
        return keccak256(abi.encode("trace", updateHash));
    }

    /// @notice Proof of possession of attestation key `pk` for `provider` at the registry's current nonce.
    function keyProof(ProviderRegistry registry, uint256 pk, address provider, bytes32 reportHash)
        internal
        view
        returns (bytes memory)
    {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            registry.eip712Domain();
        bytes32 dom = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version)), chainId, verifyingContract)
        );
        bytes32 structHash =
            keccak256(abi.encode(KEY_PROOF_TYPEHASH, provider, vm.addr(pk), reportHash, registry.keyNonce(provider)));
        return sign(pk, keccak256(abi.encodePacked("\x19\x01", dom, structHash)));
    }
    /// @notice The market's EIP-712 domain separator, rebuilt from its `eip712Domain()` fields.
    function domainSeparator(TrainingMarket market) internal view returns (bytes32) {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            market.eip712Domain();
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version)), chainId, verifyingContract)
        );
    }

    function updateDigest(
        bytes32 domain,
        uint256 jobId,
        uint32 round,
        bytes32 updateHash,
        uint64 trainLoss,
        address worker
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(ROUND_UPDATE_TYPEHASH, jobId, round, updateHash, traceFor(updateHash), trainLoss, worker)
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function signUpdateWithTrace(
        uint256 pk,
        bytes32 domain,
        uint256 jobId,
        uint32 round,
        bytes32 updateHash,
        bytes32 traceRoot,
        uint64 trainLoss,
        address worker
    ) internal pure returns (bytes memory) {
        bytes32 structHash =
            keccak256(abi.encode(ROUND_UPDATE_TYPEHASH, jobId, round, updateHash, traceRoot, trainLoss, worker));
        return sign(pk, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    /// @notice 65-byte (r ‖ s ‖ v) signature of `digest` by `pk`.
    function sign(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function signUpdate(
        uint256 pk,
        bytes32 domain,
        uint256 jobId,
        uint32 round,
        bytes32 updateHash,
        uint64 trainLoss,
        address worker
    ) internal pure returns (bytes memory) {
        return sign(pk, updateDigest(domain, jobId, round, updateHash, trainLoss, worker));
    }
}
