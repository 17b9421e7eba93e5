import { expect } from "chai";
import { network } from "hardhat";

describe("TestStablecoin (chain smoke test)", () => {
  it("deploys, mints and transfers with 6 decimals", async () => {
    const { viem } = await network.create();
    const [alice, bob] = await viem.getWalletClients();
    const token = await viem.deployContract("TestStablecoin");
    expect(await token.read.decimals()).to.equal(6);
    await token.write.mint([alice!.account.address, 1_000_000n]);
    await token.write.transfer([bob!.account.address, 250_000n]);
    expect(await token.read.balanceOf([bob!.account.address])).to.equal(250_000n);
    expect(await token.read.balanceOf([alice!.account.address])).to.equal(750_000n);
  });
});
