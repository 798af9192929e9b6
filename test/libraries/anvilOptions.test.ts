/** lib/anvil.ts's state-dump interval: given, else RELIEF_CHAIN_STATE_INTERVAL, else 1 second; whole seconds only. */
import { expect } from "chai";
import fc from "fast-check";
import { stateIntervalOf } from "../../lib/anvil";

describe("anvil state-dump interval (lib/anvil.ts)", function () {
  it("defaults to one second, and an empty setting means the default", function () {
    expect(stateIntervalOf(undefined, undefined)).to.equal(1);
    expect(stateIntervalOf(undefined, "")).to.equal(1);
  });

  it("for all whole numbers of seconds: the given value wins over the environment's, which wins over the default", function () {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), (given, env) => {
        expect(stateIntervalOf(given, String(env))).to.equal(given);
        expect(stateIntervalOf(undefined, String(env))).to.equal(env);
      }),
    );
  });

  it("for all negative or fractional values, and text that is not a number: a RangeError", function () {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -1_000_000, max: -1 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)),
        ),
        (bad) => {
          expect(() => stateIntervalOf(bad)).to.throw(RangeError);
          expect(() => stateIntervalOf(undefined, String(bad))).to.throw(RangeError);
        },
      ),
    );
    expect(() => stateIntervalOf(undefined, "soon")).to.throw(RangeError);
  });
});
