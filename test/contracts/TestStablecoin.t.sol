// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestStablecoin} from "../../contracts/test/TestStablecoin.sol";

contract TestStablecoinTest {
    TestStablecoin internal token;

    function setUp() public {
        token = new TestStablecoin();
    }

    function testFuzz_mintThenTransferConserves(uint128 minted, uint128 sent) public {
        if (sent > minted) sent = minted;
        token.mint(address(this), minted);
        token.transfer(address(0xBEEF), sent);
        require(token.balanceOf(address(this)) + token.balanceOf(address(0xBEEF)) == minted, "conservation");
        require(token.totalSupply() == minted, "supply");
    }
}
