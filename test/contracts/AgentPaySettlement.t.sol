// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AgentPaySettlement} from "../../contracts/AgentPaySettlement.sol";
import {IAgentPaySettlement} from "../../contracts/settlement/IAgentPaySettlement.sol";
import {SingleRedemption} from "../../contracts/settlement/SingleRedemption.sol";
import {TestStablecoin} from "../../contracts/test/TestStablecoin.sol";

/// @dev The few forge-style cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function expectRevert() external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
}

Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

uint256 constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

/// @dev Builds and signs packed vouchers for tests.
abstract contract VoucherKit {
    AgentPaySettlement internal settlement;
    TestStablecoin internal token;

    function _voucher(address owner, address agent, address merchant, uint256 cap, uint256 deadline, uint256 nonce)
        internal
        view
        returns (IAgentPaySettlement.Voucher memory v)
    {
        v = IAgentPaySettlement.Voucher({
            owner: owner,
            agent: agent,
            merchant: merchant,
            token: address(token),
            cap: cap,
            deadline: deadline,
            nonce: nonce,
            ref: keccak256(abi.encode("order", nonce)),
            callTarget: address(0),
            callDataHash: bytes32(0)
        });
    }

    /// @dev An owner nonce: the top bit, the deadline in bits 215-254, `seq` below.
    function _ownerNonce(uint256 deadline, uint256 seq) internal pure returns (uint256) {
        return (1 << 255) | (uint256(uint40(deadline)) << 215) | (seq & ((1 << 215) - 1));
    }

    function _sign(uint256 pk, IAgentPaySettlement.Voucher memory v) internal view returns (bytes memory) {
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(pk, settlement.hashVoucher(v));
        return abi.encodePacked(r, s, sv);
    }

    /// @dev One packed entry; `amount` = 0 means "the cap".
    function _entry(IAgentPaySettlement.Voucher memory v, uint256 amount, bytes memory sig, bool withSigner)
        internal
        pure
        returns (bytes memory out)
    {
        uint8 flags = (withSigner ? 1 : 0) | (amount != 0 && amount != v.cap ? 2 : 0) | (sig.length != 65 ? 4 : 0);
        out = abi.encodePacked(flags);
        if (withSigner) out = abi.encodePacked(out, v.owner, v.agent);
        out = abi.encodePacked(out, v.cap);
        if (flags & 2 != 0) out = abi.encodePacked(out, amount);
        out = abi.encodePacked(out, uint40(v.deadline), v.nonce, v.ref);
        if (flags & 4 != 0) out = abi.encodePacked(out, uint16(sig.length));
        out = abi.encodePacked(out, sig);
    }

    /// @dev The calldata of redeemCompact: selector ‖ token ‖ owner ‖ agent ‖ cap (16) ‖ deadline (5) ‖ nonce ‖ ref ‖ sig.
    function _compact(IAgentPaySettlement.Voucher memory v, bytes memory sig) internal pure returns (bytes memory) {
        return abi.encodePacked(
            SingleRedemption.redeemCompact.selector,
            v.token,
            v.owner,
            v.agent,
            uint128(v.cap),
            uint40(v.deadline),
            v.nonce,
            v.ref,
            sig
        );
    }
}

contract AgentPaySettlementTest is VoucherKit {
    uint256 internal constant AGENT_PK = 0xA11CE;
    uint256 internal constant AGENT2_PK = 0xB0B;
    address internal agent;
    address internal agent2;
    address internal owner = address(0x0A11);
    address internal merchant = address(0x3E5C);

    function setUp() public {
        vm.warp(1_800_000_000);
        token = new TestStablecoin();
        settlement = new AgentPaySettlement(1 days, 1 days);
        agent = vm.addr(AGENT_PK);
        agent2 = vm.addr(AGENT2_PK);
        token.mint(owner, type(uint128).max);
        vm.prank(owner);
        token.approve(address(settlement), type(uint256).max);
    }

    function _fund(address a, uint256 amount) internal {
        vm.prank(owner);
        settlement.deposit(address(token), a, amount);
    }

    function _bucket(address a) internal view returns (uint256 b) {
        (b, ) = settlement.bucketOf(owner, a, address(token));
    }

    function testFuzz_redeemMovesExactlyTheAmount(uint96 funded, uint96 cap, uint96 amount, uint256 nonce) public {
        vm.assume(funded > 0 && cap > 0 && amount > 0 && amount <= cap && amount <= funded);
        nonce >>= 1; // an agent nonce
        _fund(agent, funded);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, cap, block.timestamp + 1 hours, nonce);
        bytes memory e = _entry(v, amount, _sign(AGENT_PK, v), true);
        vm.prank(merchant);
        uint256 got = settlement.redeem(address(token), e);
        require(got == amount, "amount");
        require(_bucket(agent) == uint256(funded) - amount, "bucket");
        require(settlement.creditOf(merchant, address(token)) == amount, "credit");
        require(settlement.nonceState(owner, agent, nonce) == (amount == cap ? 2 : 3), "state");
        require(token.balanceOf(address(settlement)) == funded, "escrow");
        // replay of the same nonce fails, whatever the amount
        vm.prank(merchant);
        vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.NonceUsed.selector, owner, agent, nonce));
        settlement.redeem(address(token), e);
    }

    function testFuzz_overCapAndOverBalanceFail(uint128 funded, uint256 cap, uint256 amount) public {
        vm.assume(funded > 0 && cap > 0 && amount > 0);
        _fund(agent, funded);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, cap, block.timestamp + 60, 7);
        bytes memory e = _entry(v, amount, _sign(AGENT_PK, v), true);
        vm.prank(merchant);
        if (amount > cap) {
            vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.OverCap.selector, cap, amount));
        } else if (amount > funded) {
            vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.InsufficientBalance.selector, uint256(funded), amount));
        }
        settlement.redeem(address(token), e);
    }

    function testFuzz_highSTwinRejected(uint256 nonce, uint64 cap) public {
        vm.assume(cap > 0);
        nonce >>= 1; // an agent nonce
        _fund(agent, cap);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, cap, block.timestamp + 60, nonce);
        (uint8 sv, bytes32 r, bytes32 s) = vm.sign(AGENT_PK, settlement.hashVoucher(v));
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), sv == 27 ? uint8(28) : uint8(27));
        vm.prank(merchant);
        vm.expectRevert(IAgentPaySettlement.InvalidSignature.selector);
        settlement.redeem(address(token), _entry(v, 0, twin, true));
        vm.prank(merchant);
        settlement.redeem(address(token), _entry(v, 0, abi.encodePacked(r, s, sv), true));
    }

    function testFuzz_deadlineWindow(uint32 offset, uint32 lifetimeSlack) public {
        _fund(agent, 1e12);
        uint256 deadline = block.timestamp + uint256(lifetimeSlack) % (2 days);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, 1e6, deadline, 1);
        bytes memory e = _entry(v, 0, _sign(AGENT_PK, v), true);
        uint256 at = block.timestamp + uint256(offset) % (3 days);
        vm.warp(at);
        vm.prank(merchant);
        if (at > deadline) {
            vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.VoucherExpired.selector, deadline));
        } else if (deadline - at > 1 days) {
            vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.VoucherNotYetValid.selector, deadline));
        }
        settlement.redeem(address(token), e);
    }

    function testFuzz_wrongMerchantOrSignerFails(address caller, uint256 pk) public {
        vm.assume(caller != merchant);
        pk = pk % (SECP256K1_N - 1) + 1;
        vm.assume(pk != AGENT_PK);
        _fund(agent, 1e6);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, 1e6, block.timestamp + 60, 3);
        bytes memory good = _entry(v, 0, _sign(AGENT_PK, v), true);
        bytes memory bad = _entry(v, 0, _sign(pk, v), true);
        vm.prank(caller);
        vm.expectRevert(IAgentPaySettlement.InvalidSignature.selector);
        settlement.redeem(address(token), good);
        vm.prank(merchant);
        vm.expectRevert(IAgentPaySettlement.InvalidSignature.selector);
        settlement.redeem(address(token), bad);
    }

    function testFuzz_compactMovesExactlyTheCap(uint96 funded, uint96 cap, uint256 nonce, bool byOwnerKey) public {
        vm.assume(funded > 0 && cap > 0 && cap <= funded);
        uint256 ownerPk = 0x0E1;
        address o = vm.addr(ownerPk);
        token.mint(o, funded);
        vm.startPrank(o);
        token.approve(address(settlement), funded);
        settlement.deposit(address(token), agent, funded);
        vm.stopPrank();
        // the nonce names the signer: an owner nonce (carrying the deadline) for the owner, an agent nonce otherwise
        nonce = byOwnerKey ? _ownerNonce(block.timestamp + 1 hours, nonce) : nonce >> 1;
        IAgentPaySettlement.Voucher memory v = _voucher(o, agent, merchant, cap, block.timestamp + 1 hours, nonce);
        bytes memory data = _compact(v, _sign(byOwnerKey ? ownerPk : AGENT_PK, v));
        require(data.length == 214, "length");
        vm.prank(merchant);
        (bool ok, bytes memory ret) = address(settlement).call(data);
        require(ok && abi.decode(ret, (uint256)) == cap, "amount");
        (uint256 b, ) = settlement.bucketOf(o, agent, address(token));
        require(b == uint256(funded) - cap, "bucket");
        require(settlement.creditOf(merchant, address(token)) == cap, "credit");
        require(settlement.nonceState(o, agent, nonce) == 2, "state");
        // replay fails with NonceUsed, through either entry point
        vm.prank(merchant);
        (ok, ret) = address(settlement).call(data);
        require(!ok && keccak256(ret) == keccak256(abi.encodeWithSelector(IAgentPaySettlement.NonceUsed.selector, o, agent, nonce)), "replay");
        _replayThroughRedeem(v, byOwnerKey ? ownerPk : AGENT_PK, byOwnerKey ? AGENT_PK : ownerPk);
    }

    /// @dev After `v` was redeemed: its replay through {redeem} is NonceUsed; the other key's signature of the same
    /// voucher is no signature at all.
    function _replayThroughRedeem(IAgentPaySettlement.Voucher memory v, uint256 pk, uint256 otherPk) internal {
        bytes memory replay = _entry(v, 0, _sign(pk, v), true);
        bytes memory other = _entry(v, 0, _sign(otherPk, v), true);
        vm.prank(merchant);
        vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.NonceUsed.selector, v.owner, v.agent, v.nonce));
        settlement.redeem(address(token), replay);
        vm.prank(merchant);
        vm.expectRevert(IAgentPaySettlement.InvalidSignature.selector);
        settlement.redeem(address(token), other);
    }

    /// @dev Any nonce: only the signer it names can sign for it (an owner nonce only if it carries the deadline).
    function testFuzz_onlyTheNoncesSignerSigns(uint256 nonce, bool byOwnerKey) public {
        uint256 ownerPk = 0x0E1;
        address o = vm.addr(ownerPk);
        token.mint(o, 1e6);
        vm.startPrank(o);
        token.approve(address(settlement), 1e6);
        settlement.deposit(address(token), agent, 1e6);
        vm.stopPrank();
        uint256 deadline = block.timestamp + 1 hours;
        IAgentPaySettlement.Voucher memory v = _voucher(o, agent, merchant, 1e6, deadline, nonce);
        bytes memory data = _compact(v, _sign(byOwnerKey ? ownerPk : AGENT_PK, v));
        bool ownerNonce = nonce >> 255 != 0;
        bytes memory want;
        if (ownerNonce && (nonce >> 215) & type(uint40).max != deadline) {
            want = abi.encodeWithSelector(IAgentPaySettlement.OwnerNonceMismatch.selector, nonce, deadline);
        } else if (ownerNonce != byOwnerKey) {
            want = abi.encodeWithSelector(IAgentPaySettlement.InvalidSignature.selector);
        }
        vm.prank(merchant);
        (bool ok, bytes memory ret) = address(settlement).call(data);
        if (want.length == 0) require(ok, "the nonce's signer is refused");
        else require(!ok && keccak256(ret) == keccak256(want), "another signer is accepted");
    }

    /// @dev Cancels: the agent cancels only agent nonces, the owner only owner nonces outside their window, nobody
    /// else anything; a frozen agent's key cancels nothing.
    function testFuzz_cancelOnlyOwnNoncesOutsideTheWindow(uint256 nonce, address caller, uint32 offset, bool frozen)
        public
    {
        // mostly the owner or the agent, sometimes anyone
        if (uint256(offset) % 3 == 0) caller = agent;
        else if (uint256(offset) % 3 == 1 || caller == address(0)) caller = owner;
        if (frozen) {
            address[] memory tokens = new address[](1);
            tokens[0] = address(token);
            vm.prank(owner);
            settlement.setFrozen(agent, tokens, true);
        }
        uint256 t = block.timestamp + uint256(offset) % (4 days);
        vm.warp(t);
        // often an owner nonce whose voucher's window is near now (before, inside or after it)
        if (uint256(offset) % 5 < 3) nonce = _ownerNonce(t - 1 days + uint256(keccak256(abi.encode(nonce))) % (3 days), nonce);
        uint256 deadline = (nonce >> 215) & type(uint40).max;
        bool ownerNonce = nonce >> 255 != 0;
        bytes memory want;
        if (caller != owner && caller != agent) {
            want = abi.encodeWithSelector(IAgentPaySettlement.NotOwnerOrAgent.selector);
        } else if (caller == agent && frozen) {
            want = abi.encodeWithSelector(IAgentPaySettlement.AgentFrozen.selector, owner, agent);
        } else if (ownerNonce != (caller == owner)) {
            want = abi.encodeWithSelector(IAgentPaySettlement.NotNonceSigner.selector, nonce);
        } else if (ownerNonce && t <= deadline && deadline - t <= 1 days) {
            want = abi.encodeWithSelector(IAgentPaySettlement.VoucherLive.selector, nonce, deadline);
        }
        uint256[] memory nonces = new uint256[](1);
        nonces[0] = nonce;
        vm.prank(caller);
        (bool ok, bytes memory ret) =
            address(settlement).call(abi.encodeCall(settlement.cancel, (owner, agent, nonces)));
        if (want.length == 0) {
            require(ok && settlement.nonceState(owner, agent, nonce) == 1, "a cancel by the nonce's signer is refused");
        } else {
            require(!ok && keccak256(ret) == keccak256(want), "a forbidden cancel is accepted");
            require(settlement.nonceState(owner, agent, nonce) == 0, "state");
        }
    }

    /// @dev An owner-signed voucher inside its window redeems whatever the agent's key or the owner tries first
    /// (cancel by either, a freeze, a scheduled release).
    function testFuzz_liveOwnerVoucherSurvives(uint256 seq, uint32 lifetimeUsed, uint32 waited) public {
        uint256 ownerPk = 0x0E1;
        address o = vm.addr(ownerPk);
        token.mint(o, 1e6);
        vm.startPrank(o);
        token.approve(address(settlement), 1e6);
        settlement.deposit(address(token), agent, 1e6);
        uint256 deadline = block.timestamp + uint256(lifetimeUsed) % (1 days + 1);
        uint256 nonce = _ownerNonce(deadline, seq);
        IAgentPaySettlement.Voucher memory v = _voucher(o, agent, merchant, 1e6, deadline, nonce);
        bytes memory data = _compact(v, _sign(ownerPk, v));
        uint256[] memory nonces = new uint256[](1);
        nonces[0] = nonce;
        address[] memory tokens = new address[](1);
        tokens[0] = address(token);
        settlement.scheduleRelease(address(token), agent, 1e6);
        settlement.setFrozen(agent, tokens, true);
        vm.warp(block.timestamp + uint256(waited) % (deadline - block.timestamp + 1));
        vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.VoucherLive.selector, nonce, deadline));
        settlement.cancel(o, agent, nonces);
        vm.expectRevert();
        settlement.release(address(token), agent);
        vm.stopPrank();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.AgentFrozen.selector, o, agent));
        settlement.cancel(o, agent, nonces);
        vm.prank(merchant);
        (bool ok, ) = address(settlement).call(data);
        require(ok && settlement.creditOf(merchant, address(token)) == 1e6, "the live owner voucher did not redeem");
    }

    function testFuzz_compactAnyAlteredByteOrLengthFails(uint8 pos, uint8 mask, uint8 extra, bool shorten) public {
        vm.assume(mask != 0);
        _fund(agent, 1e12);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, 1e6, block.timestamp + 60, 5);
        bytes memory good = _compact(v, _sign(AGENT_PK, v));
        // one byte of the 210 after the selector altered: refused, nothing moves
        bytes memory bad = bytes.concat(good);
        uint256 i = 4 + uint256(pos) % 210;
        bad[i] = bytes1(uint8(bad[i]) ^ mask);
        vm.prank(merchant);
        (bool ok, ) = address(settlement).call(bad);
        require(!ok, "altered byte accepted");
        // any other length: MalformedVouchers
        uint256 len = shorten ? 4 + uint256(extra) % 210 : 214 + uint256(extra) + 1;
        bytes memory wrong = new bytes(len);
        for (uint256 k; k < len && k < 214; ++k) wrong[k] = good[k];
        vm.prank(merchant);
        bytes memory ret;
        (ok, ret) = address(settlement).call(wrong);
        require(!ok && bytes4(ret) == IAgentPaySettlement.MalformedVouchers.selector, "length");
        require(_bucket(agent) == 1e12 && settlement.creditOf(merchant, address(token)) == 0, "moved");
        vm.prank(merchant);
        (ok, ) = address(settlement).call(good);
        require(ok && settlement.creditOf(merchant, address(token)) == 1e6, "good");
    }

    function testFuzz_batchEqualsSum(uint8 count, uint256 seed) public {
        uint256 n = uint256(count) % 40 + 1;
        _fund(agent, 1e15);
        _fund(agent2, 1e15);
        bytes memory batch;
        uint256 total;
        address prev;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            bool second = r % 3 == 0;
            address a = second ? agent2 : agent;
            uint256 cap = r % 1e9 + 1;
            uint256 amount = (r >> 64) % 2 == 0 ? cap : (r >> 128) % cap + 1;
            // nonces: distinct per (agent), spread over several bitmap words
            uint256 nonce = i * 97 + (second ? 1 : 0);
            IAgentPaySettlement.Voucher memory v = _voucher(owner, a, merchant, cap, block.timestamp + 60, nonce);
            batch = abi.encodePacked(batch, _entry(v, amount, _sign(second ? AGENT2_PK : AGENT_PK, v), a != prev));
            prev = a;
            total += amount;
        }
        vm.prank(merchant);
        (uint256 got, uint256 cnt) = settlement.redeemBatch(address(token), false, batch);
        require(got == total && cnt == n, "total");
        require(settlement.creditOf(merchant, address(token)) == total, "credit");
        require(_bucket(agent) + _bucket(agent2) + total == 2e15, "conservation");
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            bool second = r % 3 == 0;
            require(settlement.nonceState(owner, second ? agent2 : agent, i * 97 + (second ? 1 : 0)) >= 2, "used");
        }
    }

    function testFuzz_refundNeverExceedsRedeemed(uint64 cap, uint64 amount, uint64 refund1, uint64 refund2) public {
        vm.assume(cap > 0 && amount > 0 && amount <= cap);
        _fund(agent, cap);
        IAgentPaySettlement.Voucher memory v = _voucher(owner, agent, merchant, cap, block.timestamp + 60, 11);
        bytes memory sig = _sign(AGENT_PK, v);
        vm.prank(merchant);
        settlement.redeem(address(token), _entry(v, amount, sig, true));
        uint256 refunded;
        uint64[2] memory tries = [refund1, refund2];
        for (uint256 i; i < 2; ++i) {
            uint256 r = tries[i];
            vm.prank(merchant);
            if (r == 0) {
                vm.expectRevert(IAgentPaySettlement.ZeroAmount.selector);
            } else if (refunded + r > amount) {
                vm.expectRevert(
                    abi.encodeWithSelector(IAgentPaySettlement.RefundExceedsRedeemed.selector, uint256(amount), refunded, r)
                );
            } else {
                refunded += r;
            }
            settlement.refund(v, r, true, sig);
        }
        (uint256 main, ) = settlement.bucketOf(owner, address(0), address(token));
        require(main == refunded, "refunded to main bucket");
        require(settlement.creditOf(merchant, address(token)) == amount - refunded, "credit");
    }

    function testFuzz_releaseWaitsForTheDelay(uint96 funded, uint96 amount, uint32 wait) public {
        vm.assume(funded > 0);
        _fund(agent, funded);
        vm.prank(owner);
        settlement.scheduleRelease(address(token), agent, amount);
        if (amount == 0) return;
        uint256 readyAt = block.timestamp + 1 days;
        vm.warp(block.timestamp + wait);
        vm.prank(owner);
        if (block.timestamp <= readyAt) {
            vm.expectRevert(abi.encodeWithSelector(IAgentPaySettlement.ReleaseNotReady.selector, readyAt));
            settlement.release(address(token), agent);
        } else {
            uint256 moved = settlement.release(address(token), agent);
            require(moved == (amount < funded ? amount : funded), "moved");
            (uint256 main, ) = settlement.bucketOf(owner, address(0), address(token));
            require(main == moved && _bucket(agent) == funded - moved, "buckets");
        }
    }
}

/// @dev Drives random sequences of operations for the invariant test.
contract SettlementHandler is VoucherKit {
    uint256 internal constant NA = 3; // agents
    uint256[NA] internal agentPks = [uint256(0xA1), 0xA2, 0xA3];
    address[NA] public agents;
    address[2] public owners = [address(0x0A1), address(0x0A2)];
    address[2] public merchants = [address(0x3E1), address(0x3E2)];
    uint256 public nextNonce;
    uint256 public redeemed;

    constructor(AgentPaySettlement s, TestStablecoin t) {
        settlement = s;
        token = t;
        for (uint256 i; i < NA; ++i) agents[i] = vm.addr(agentPks[i]);
        for (uint256 i; i < 2; ++i) {
            token.mint(owners[i], 1e30);
            vm.prank(owners[i]);
            token.approve(address(settlement), type(uint256).max);
        }
    }

    function deposit(uint256 o, uint256 a, uint96 amount) external {
        if (amount == 0) return;
        address agent = a % (NA + 1) == NA ? address(0) : agents[a % NA];
        vm.prank(owners[o % 2]);
        settlement.deposit(address(token), agent, amount);
    }

    function allocate(uint256 o, uint256 a, uint96 amount) external {
        address owner = owners[o % 2];
        (uint256 main, ) = settlement.bucketOf(owner, address(0), address(token));
        if (main == 0) return;
        vm.prank(owner);
        settlement.allocate(address(token), agents[a % NA], uint256(amount) % main + 1);
    }

    function redeem(uint256 o, uint256 a, uint256 m, uint96 cap, uint96 amount, bool payout) external {
        address owner = owners[o % 2];
        uint256 i = a % NA;
        (uint256 bal, ) = settlement.bucketOf(owner, agents[i], address(token));
        if (bal == 0 || cap == 0) return;
        uint256 c = uint256(cap) % bal + 1;
        uint256 amt = uint256(amount) % c + 1;
        IAgentPaySettlement.Voucher memory v =
            _voucher(owner, agents[i], merchants[m % 2], c, block.timestamp + 60, nextNonce++);
        bytes memory e = _entry(v, amt, _sign(agentPks[i], v), true);
        vm.prank(merchants[m % 2]);
        if (payout) settlement.redeemAndPay(address(token), e);
        else settlement.redeem(address(token), e);
        redeemed += amt;
    }

    function redeemCompact(uint256 o, uint256 a, uint256 m, uint96 cap) external {
        address owner = owners[o % 2];
        uint256 i = a % NA;
        (uint256 bal, ) = settlement.bucketOf(owner, agents[i], address(token));
        if (bal == 0 || cap == 0) return;
        uint256 c = uint256(cap) % bal + 1;
        IAgentPaySettlement.Voucher memory v =
            _voucher(owner, agents[i], merchants[m % 2], c, block.timestamp + 60, nextNonce++);
        vm.prank(merchants[m % 2]);
        (bool ok, ) = address(settlement).call(_compact(v, _sign(agentPks[i], v)));
        require(ok, "redeemCompact");
        redeemed += c;
    }

    function redeemBatch(uint256 o, uint256 a, uint256 m, uint8 count, bool payout) external {
        address owner = owners[o % 2];
        uint256 i = a % NA;
        (uint256 bal, ) = settlement.bucketOf(owner, agents[i], address(token));
        uint256 n = uint256(count) % 8 + 1;
        if (bal < n) return;
        uint256 each = bal / n;
        bytes memory batch;
        for (uint256 k; k < n; ++k) {
            IAgentPaySettlement.Voucher memory v =
                _voucher(owner, agents[i], merchants[m % 2], each, block.timestamp + 60, nextNonce++);
            batch = abi.encodePacked(batch, _entry(v, 0, _sign(agentPks[i], v), k == 0));
        }
        vm.prank(merchants[m % 2]);
        settlement.redeemBatch(address(token), payout, batch);
        redeemed += each * n;
    }

    function withdraw(uint256 o, uint96 amount) external {
        address owner = owners[o % 2];
        (uint256 main, ) = settlement.bucketOf(owner, address(0), address(token));
        if (main == 0) return;
        vm.prank(owner);
        settlement.withdraw(address(token), uint256(amount) % main + 1, owner);
    }

    function withdrawCredit(uint256 m, uint96 amount) external {
        address merchant = merchants[m % 2];
        uint256 credit = settlement.creditOf(merchant, address(token));
        if (credit == 0) return;
        vm.prank(merchant);
        settlement.withdrawCredit(address(token), uint256(amount) % credit + 1, merchant);
    }

    function scheduleAndRelease(uint256 o, uint256 a, uint96 amount) external {
        address owner = owners[o % 2];
        vm.prank(owner);
        settlement.scheduleRelease(address(token), agents[a % NA], amount);
        if (amount == 0) return;
        vm.warp(block.timestamp + 1 days + 1);
        vm.prank(owner);
        settlement.release(address(token), agents[a % NA]);
    }

    function donate(uint96 amount) external {
        token.mint(address(settlement), amount);
    }

    /// @notice Σ buckets (main and agent, every owner) + Σ merchant credits.
    function liabilities() external view returns (uint256 sum) {
        for (uint256 o; o < 2; ++o) {
            (uint256 main, ) = settlement.bucketOf(owners[o], address(0), address(token));
            sum += main;
            for (uint256 i; i < NA; ++i) {
                (uint256 b, ) = settlement.bucketOf(owners[o], agents[i], address(token));
                sum += b;
            }
        }
        for (uint256 m; m < 2; ++m) sum += settlement.creditOf(merchants[m], address(token));
    }
}

contract AgentPaySettlementInvariantTest {
    AgentPaySettlement internal settlement;
    TestStablecoin internal token;
    SettlementHandler internal handler;

    function setUp() public {
        vm.warp(1_800_000_000);
        token = new TestStablecoin();
        settlement = new AgentPaySettlement(1 days, 1 days);
        handler = new SettlementHandler(settlement, token);
    }

    /// @dev Only the handler is fuzzed (forge-style target selection).
    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// @notice The escrow's token balance always covers every bucket and every merchant credit.
    function invariant_escrowCoversBucketsAndCredits() public view {
        require(token.balanceOf(address(settlement)) >= handler.liabilities(), "escrow insolvent");
    }
}
