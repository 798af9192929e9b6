// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title PackedEntitlement
/// @notice Reads and updates a `Cases.Entitlement` as the one 256-bit storage word the compiler packs it into,
/// so that the payout loop decodes only the fields it needs and writes the slot back once.
/// @dev Layout, low bits first (struct members are packed in declaration order from the low end):
///
/// | bits    | field       | bits    | field       | bits    | field       |
/// | 0–7     | status      | 120–143 | firstPeriod | 192–223 | paidMask    |
/// | 8–39    | programmeId | 144–167 | lastPeriod  | 224–255 | settledMask |
/// | 40–79   | amount      | 168–191 | paidThrough |         |             |
/// | 80–119  | noticeEnds  |         |             |         |             |
///
/// Any change to `Cases.Entitlement` must change these offsets; the payout and settlement suites read every
/// field back through `caseRecord`, which decodes the struct with the compiler's own layout.
library PackedEntitlement {
    uint256 private constant _PAYMENTS_SHIFT = 168;
    uint256 private constant _BELOW_PAYMENTS = (1 << _PAYMENTS_SHIFT) - 1;

    function status(uint256 w) internal pure returns (uint8) {
        return uint8(w);
    }

    function programmeId(uint256 w) internal pure returns (uint32) {
        return uint32(w >> 8);
    }

    function amount(uint256 w) internal pure returns (uint40) {
        return uint40(w >> 40);
    }

    function noticeEnds(uint256 w) internal pure returns (uint40) {
        return uint40(w >> 80);
    }

    function firstPeriod(uint256 w) internal pure returns (uint24) {
        return uint24(w >> 120);
    }

    function lastPeriod(uint256 w) internal pure returns (uint24) {
        return uint24(w >> 144);
    }

    function paidThrough(uint256 w) internal pure returns (uint24) {
        return uint24(w >> 168);
    }

    function paidMask(uint256 w) internal pure returns (uint32) {
        return uint32(w >> 192);
    }

    function settledMask(uint256 w) internal pure returns (uint32) {
        return uint32(w >> 224);
    }

    /// @notice `w` with new `paidThrough`, `paidMask` and `settledMask`; every other field unchanged.
    function withPayments(uint256 w, uint24 through, uint32 paid, uint32 settled) internal pure returns (uint256) {
        return
            (w & _BELOW_PAYMENTS) |
            (uint256(through) << _PAYMENTS_SHIFT) |
            (uint256(paid) << 192) |
            (uint256(settled) << 224);
    }
}
