// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {TestBase} from "./utils/TestBase.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";
import {InvariantHandler} from "./MarketInvariant.t.sol";

contract CoverageTest is TestBase {
    function test_coverage() public {
        string memory out;
        bytes32[26] memory keys = [bytes32("createJob"),"joinJob","startJob","commitUpdate","submitResult","expireRound","cancelJob","challenge","resolve(upheld)","resolve(rejected)","expireChallenge","releaseBond","withdraw","addStake","requestUnbond","cancelUnbond","withdrawUnbonded","rotateAttestationKey","warp","setProtocolFee","setChallengeBounty","switchTreasury","togglePause","x","y","z"];
        uint256[26] memory succ;
        uint256[23] memory tot;
        for (uint256 run; run < 40; ++run) {
            MarketHandler h = new InvariantHandler();
            for (uint256 k; k < 64; ++k) {
                uint256 r = uint256(keccak256(abi.encode(run, k)));
                uint256 a = r % 22;
                uint256 x = uint256(keccak256(abi.encode(r, 1)));
                uint256 y = uint256(keccak256(abi.encode(r, 2)));
                uint256 z = uint256(keccak256(abi.encode(r, 3)));
                bytes memory cd;
                if (a == 0) cd = abi.encodeCall(h.createJob, (x, y, z, x ^ y, y ^ z));
                if (a == 1) cd = abi.encodeCall(h.joinJob, (x, y));
                if (a == 2) cd = abi.encodeCall(h.startJob, (x));
                if (a == 3) cd = abi.encodeCall(h.commitUpdate, (x, y, z, uint64(x)));
                if (a == 4) cd = abi.encodeCall(h.submitResult, (x, y, z));
                if (a == 5) cd = abi.encodeCall(h.expireRound, (x, y % 2 == 0));
                if (a == 6) cd = abi.encodeCall(h.cancelJob, (x));
                if (a == 7) cd = abi.encodeCall(h.challenge, (x, y, z, x));
                if (a == 8) cd = abi.encodeCall(h.resolveChallenge, (x, y % 2 == 0));
                if (a == 9) cd = abi.encodeCall(h.expireChallenge, (x, y % 2 == 0));
                if (a == 10) cd = abi.encodeCall(h.releaseBond, (x, y, z % 2 == 0));
                if (a == 11) cd = abi.encodeCall(h.withdraw, (x));
                if (a == 12) cd = abi.encodeCall(h.addStake, (x, y));
                if (a == 13) cd = abi.encodeCall(h.requestUnbond, (x, y));
                if (a == 14) cd = abi.encodeCall(h.cancelUnbond, (x));
                if (a == 15) cd = abi.encodeCall(h.withdrawUnbonded, (x, y % 2 == 0));
                if (a == 16) cd = abi.encodeCall(h.rotateAttestationKey, (x));
                if (a == 17) cd = abi.encodeCall(h.warp, (x));
                if (a == 18) cd = abi.encodeCall(h.setProtocolFee, (uint16(x)));
                if (a == 19) cd = abi.encodeCall(h.setChallengeBounty, (uint16(x)));
                if (a == 20) cd = abi.encodeCall(h.switchTreasury, ());
                if (a == 21) cd = abi.encodeCall(h.togglePause, (x));
                (bool ok,) = address(h).call(cd);
                if (ok) tot[a]++;
            }
            require(bytes(h.violation()).length == 0, h.violation());
            for (uint256 i; i < 26; ++i) succ[i] += h.successes(keys[i]);
            h.settleAll();
            tot[22] += h.market().jobCount();
        }
        string[22] memory names = ["createJob","joinJob","startJob","commitUpdate","submitResult","expireRound","cancelJob","challenge","resolveChallenge","expireChallenge","releaseBond","withdraw","addStake","requestUnbond","cancelUnbond","withdrawUnbonded","rotate","warp","fee","bounty","treasury","pause"];
        names;
        for (uint256 i; i < 23; ++i) out = string.concat(out, string(abi.encodePacked(keys[i])), "=", _u(succ[i]), " ");
        out = string.concat(out, "jobs=", _u(tot[22]));
        fail(out);
    }
}
