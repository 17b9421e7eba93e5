import { expect } from "chai";
import {
  AgentPayError, CurrencyRegistry, amount, formatAmount, parseAmount, parseMinor, validateAmount,
} from "../../src/core/index.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AgentPayError);
    return (e as AgentPayError).code;
  }
  throw new Error("expected an AgentPayError");
}

describe("core/money", () => {
  it("parses decimal strings exactly into minor units", () => {
    expect(parseAmount("120.5", "USD").minor).to.equal(12050n);
    expect(parseAmount("120.50", "EUR").minor).to.equal(12050n);
    expect(parseAmount("0", "GBP").minor).to.equal(0n);
    expect(parseAmount("0.01", "CNY").minor).to.equal(1n);
    expect(parseAmount("1500", "JPY").minor).to.equal(1500n);
    expect(parseAmount("1.234", "BHD").minor).to.equal(1234n);
  });

  it("refuses more decimals than the currency has, never rounding", () => {
    expect(code(() => parseAmount("0.001", "USD"))).to.equal("INVALID_AMOUNT");
    expect(code(() => parseAmount("1.5", "JPY"))).to.equal("INVALID_AMOUNT");
  });

  it("refuses malformed, negative, huge and non-string amounts", () => {
    for (const bad of ["", "-1", "1e3", "1.", ".5", " 1", "1,00", "0x10", "NaN", "Infinity", "1".repeat(61)]) {
      expect(code(() => parseAmount(bad, "USD")), bad).to.equal("INVALID_AMOUNT");
    }
    expect(code(() => parseAmount(12.5 as unknown as string, "USD"))).to.equal("INVALID_AMOUNT");
    expect(code(() => parseAmount("9".repeat(40), "USD"))).to.equal("INVALID_AMOUNT"); // beyond 2^127
  });

  it("refuses unknown currencies", () => {
    expect(code(() => parseAmount("1", "XXX"))).to.equal("UNKNOWN_CURRENCY");
    expect(code(() => parseAmount("1", "usd"))).to.equal("UNKNOWN_CURRENCY");
    expect(code(() => amount(1n, "ZZZ"))).to.equal("UNKNOWN_CURRENCY");
  });

  it("formats with exactly the currency's decimals and round-trips", () => {
    expect(formatAmount({ minor: 12050n, currency: "USD" })).to.equal("120.50");
    expect(formatAmount({ minor: 5n, currency: "USD" })).to.equal("0.05");
    expect(formatAmount({ minor: 1500n, currency: "JPY" })).to.equal("1500");
    expect(formatAmount({ minor: -5n, currency: "EUR" })).to.equal("-0.05");
    for (const s of ["0.00", "0.01", "1.00", "99999999999999.99", "123.45"]) {
      expect(formatAmount(parseAmount(s, "USD"))).to.equal(s);
    }
  });

  it("registers on-chain assets with their own decimals, per registry", () => {
    const reg = new CurrencyRegistry();
    reg.registerAsset("USDC", 6);
    expect(parseAmount("1.000001", "USDC", reg).minor).to.equal(1_000_001n);
    expect(formatAmount({ minor: 1n, currency: "USDC" }, reg)).to.equal("0.000001");
    expect(code(() => reg.registerAsset("USDC", 18))).to.equal("INVALID_INPUT");
    expect(code(() => parseAmount("1", "USDC"))).to.equal("UNKNOWN_CURRENCY"); // nothing global
  });

  it("validates amount objects and minor-unit strings", () => {
    expect(validateAmount({ minor: 5n, currency: "USD" }).minor).to.equal(5n);
    expect(code(() => validateAmount({ minor: 5, currency: "USD" }))).to.equal("INVALID_AMOUNT");
    expect(code(() => validateAmount({ minor: -5n, currency: "USD" }))).to.equal("INVALID_AMOUNT");
    expect(code(() => validateAmount({ minor: 0n, currency: "USD" }, { positive: true }))).to.equal("INVALID_AMOUNT");
    expect(code(() => validateAmount({ minor: 1n << 127n, currency: "USD" }))).to.equal("INVALID_AMOUNT");
    expect(parseMinor("12050")).to.equal(12050n);
    expect(code(() => parseMinor("12.5"))).to.equal("INVALID_AMOUNT");
    expect(code(() => parseMinor(12))).to.equal("INVALID_AMOUNT");
  });
});
