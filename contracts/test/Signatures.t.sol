// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {vm} from "./utils/Vm.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";
import {MarketSigs} from "./utils/MarketSigs.sol";
import {ITrainingMarket} from "../interfaces/ITrainingMarket.sol";

/// @title SignaturesTest
/// @notice Fuzz tests of the EIP-712 attestations: a RoundUpdate signature is only accepted for
///         exactly the (chain, market, job, round, hash, loss, worker) it signs and only from the
///         worker's attestation key; any other field makes it invalid.
contract SignaturesTest is MarketFixture {
    uint256 internal jobId;
    uint256 internal otherJobId;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public {
        _deploy();
        _register(0, 1_000e18);
        _register(1, 1_000e18);
        jobId = _createJob(POSTER, _params(10e18, 50e18, 3, 2, 2));
        otherJobId = _createJob(POSTER, _params(10e18, 50e18, 3, 2, 2));
        for (uint256 i; i < 2; ++i) {
            vm.startPrank(providerAddr(i));
            market.joinJob(jobId);
            market.joinJob(otherJobId);
            vm.stopPrank();
        }
    }

    /// @notice A commitment signature with any one field changed is rejected with InvalidSignature;
    ///         the genuine one is accepted once.
    function testFuzz_updateSignatureBindsEveryField(
        bytes32 updateHash,
        uint64 loss,
        uint8 field,
        uint256 otherKey,
        bytes32 otherHash
    ) public {
        vm.assume(updateHash != bytes32(0));
        address w = providerAddr(0);
        uint256 key = attestationKey(0);
        bytes32 d = domain;
        uint256 job = jobId;
        uint32 round;
        bytes32 h = updateHash;
        uint64 l = loss;
        address named = w;
        field = uint8(bound(field, 0, 6));
        if (field == 0) {
            h = otherHash == updateHash || otherHash == 0 ? bytes32(uint256(updateHash) ^ 1) : otherHash;
        } else if (field == 1) {
            l = loss ^ uint64(1 + (uint256(otherHash) % type(uint64).max));
        } else if (field == 2) {
            named = providerAddr(1); // signed for the other worker
        } else if (field == 3) {
            key = bound(otherKey, 1, SECP256K1_N - 1);
            vm.assume(key != attestationKey(0));
        } else if (field == 4) {
            job = otherJobId;
        } else if (field == 5) {
            round = uint32(1 + (uint256(otherHash) % 1_000));
        } else {
            d = keccak256(abi.encode(MarketSigs.DOMAIN_TYPEHASH, keccak256("TrainingMarket"), keccak256("1"), block.chainid + 1, address(market)));
        }
        bytes memory bad = MarketSigs.sign(key, MarketSigs.updateDigest(d, job, round, h, l, named));
        _expectInvalidSignature(
            w, abi.encodeCall(market.commitUpdate, (jobId, 0, updateHash, MarketSigs.traceFor(updateHash), loss, bad))
        );

        bytes memory good = MarketSigs.signUpdate(attestationKey(0), domain, jobId, 0, updateHash, loss, w);
        vm.prank(w);
        market.commitUpdate(jobId, 0, updateHash, MarketSigs.traceFor(updateHash), loss, good);
        assertEq(market.roundOf(jobId, 0).committedMask, 1, "committed");
        // the other worker cannot reuse its signature (nor copy its update), and the same worker
        // cannot commit twice
        bytes32 other = keccak256(abi.encode(updateHash));
        _expectInvalidSignature(
            providerAddr(1), abi.encodeCall(market.commitUpdate, (jobId, 0, other, MarketSigs.traceFor(other), loss, good))
        );
        vm.expectRevert(abi.encodeWithSelector(ITrainingMarket.DuplicateUpdate.selector, jobId, uint32(0), updateHash));
        vm.prank(providerAddr(1));
        market.commitUpdate(jobId, 0, updateHash, MarketSigs.traceFor(updateHash), loss, good);
        vm.expectRevert(abi.encodeWithSelector(ITrainingMarket.AlreadyCommitted.selector, jobId, uint32(0), w));
        vm.prank(w);
        market.commitUpdate(jobId, 0, updateHash, MarketSigs.traceFor(updateHash), loss, good);
    }

    /// @notice After a key rotation the new key works at once, in running jobs and new ones; the old
    ///         key is rejected in a job joined after the rotation and, in a running job, from the
    ///         worker's first commitment signed by the new key (the market keeps the key it last
    ///         verified per job so that a commitment reads no other contract).
    function testFuzz_rotatedKeyReplacesTheOldOne(bytes32 updateHash, uint256 newKey) public {
        vm.assume(updateHash != bytes32(0));
        newKey = bound(newKey, 1, SECP256K1_N - 1);
        vm.assume(newKey != attestationKey(0) && newKey != attestationKey(1));
        address w = providerAddr(0);
        bytes memory proof = MarketSigs.keyProof(registry, newKey, w, keccak256("new report"));
        vm.prank(w);
        registry.rotateAttestationKey(vm.addr(newKey), keccak256("new report"), proof);

        // a job joined after the rotation knows only the new key
        uint256 later = _createJob(POSTER, _params(10e18, 50e18, 3, 2, 2));
        vm.prank(w);
        market.joinJob(later);
        vm.prank(providerAddr(1));
        market.joinJob(later);
        assertEq(market.workerSlot(later, w).signer, vm.addr(newKey), "joined with the new key");
        bytes memory old = MarketSigs.signUpdate(attestationKey(0), domain, later, 0, updateHash, 7, w);
        _expectInvalidSignature(
            w, abi.encodeCall(market.commitUpdate, (later, 0, updateHash, MarketSigs.traceFor(updateHash), 7, old))
        );
        bytes memory fresh = MarketSigs.signUpdate(newKey, domain, later, 0, updateHash, 7, w);
        vm.prank(w);
        market.commitUpdate(later, 0, updateHash, MarketSigs.traceFor(updateHash), 7, fresh);

        // the running job: the new key is accepted and replaces the old one
        assertEq(market.workerSlot(jobId, w).signer, vm.addr(attestationKey(0)), "running job knew the old key");
        fresh = MarketSigs.signUpdate(newKey, domain, jobId, 0, updateHash, 7, w);
        vm.prank(w);
        market.commitUpdate(jobId, 0, updateHash, MarketSigs.traceFor(updateHash), 7, fresh);
        assertEq(market.workerSlot(jobId, w).signer, vm.addr(newKey), "new key recorded");
        bytes32 next = keccak256(abi.encode(updateHash, "round 1"));
        _commit(1, jobId, 0, keccak256("u1"));
        _vote(0, jobId, 0, keccak256("model"), 3);
        _vote(1, jobId, 0, keccak256("model"), 3);
        assertEq(market.jobState(jobId).currentRound, 1, "round 0 finalized");
        old = MarketSigs.signUpdate(attestationKey(0), domain, jobId, 1, next, 7, w);
        _expectInvalidSignature(
            w, abi.encodeCall(market.commitUpdate, (jobId, 1, next, MarketSigs.traceFor(next), 7, old))
        );
    }

    /// @notice A key that was never the worker's is rejected even when the registry has no newer key.
    function testFuzz_foreignKeyRejected(bytes32 updateHash, uint256 key) public {
        vm.assume(updateHash != bytes32(0));
        key = bound(key, 1, SECP256K1_N - 1);
        vm.assume(key != attestationKey(0));
        address w = providerAddr(0);
        bytes memory sig = MarketSigs.signUpdate(key, domain, jobId, 0, updateHash, 7, w);
        _expectInvalidSignature(
            w, abi.encodeCall(market.commitUpdate, (jobId, 0, updateHash, MarketSigs.traceFor(updateHash), 7, sig))
        );
        assertEq(market.workerSlot(jobId, w).signer, vm.addr(attestationKey(0)), "known key unchanged");
    }

    function _expectInvalidSignature(address sender, bytes memory data) internal {
        vm.prank(sender);
        (bool ok, bytes memory ret) = address(market).call(data);
        assertFalse(ok, "call with a wrong signature succeeded");
        assertEq(bytes4(ret), ITrainingMarket.InvalidSignature.selector, "reverts with InvalidSignature");
    }
}
