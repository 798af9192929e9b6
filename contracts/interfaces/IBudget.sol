// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IPayouts} from "./IPayouts.sol";

/// @title IBudget
/// @notice The fund trail: central appropriation, transfer payments (轉移支付) down the administrative
/// hierarchy, programme pools, and money coming back. Integer fen. After every transaction
/// `appropriated == Σ region balances + Σ programme pools + paid out`, and every movement is an event.
interface IBudget {
    /// @notice Emitted when the central finance bureau appropriates new money.
    event FundsAppropriated(uint256 amount, bytes32 referenceDigest);
    /// @notice Emitted when a finance bureau allocates funds to a region one level below.
    event FundsAllocated(uint64 indexed fromRegion, uint64 indexed toRegion, uint256 amount, bytes32 referenceDigest);
    /// @notice Emitted when a finance bureau returns funds to the region one level above.
    event FundsReturned(uint64 indexed fromRegion, uint64 indexed toRegion, uint256 amount, bytes32 referenceDigest);
    /// @notice Emitted when a region's funds move into a programme pool.
    event ProgrammeFunded(uint32 indexed programmeId, uint64 indexed region, uint256 amount, bytes32 referenceDigest);
    /// @notice Emitted when a programme pool's funds move back to its region.
    event ProgrammeDefunded(uint32 indexed programmeId, uint64 indexed region, uint256 amount, bytes32 referenceDigest);
    /// @notice Emitted when money paid to a beneficiary is recovered into the programme pool.
    event ClawbackRecorded(
        bytes32 indexed caseId,
        uint32 indexed programmeId,
        bytes32 eventId,
        uint24 period,
        uint256 amount,
        bytes32 referenceDigest
    );

    /// @notice An amount of zero was given.
    error LedgerZeroAmount();
    /// @notice The source holds less than requested.
    error LedgerInsufficientFunds(uint256 available, uint256 requested);
    /// @notice Only a settled payout (money that reached the beneficiary) can be clawed back.
    error LedgerPayoutNotSettled(bytes32 caseId, uint24 period, bytes32 eventId);
    /// @notice The clawback exceeds what is left of the payout after earlier clawbacks.
    error LedgerClawbackExceedsPayout(bytes32 caseId, uint24 period, bytes32 eventId, uint256 available);
    /// @notice Funds move only between a region and the region directly above or below it.
    error LedgerNotAdjacentRegion(uint64 fromRegion, uint64 toRegion);

    /// @notice Appropriates `amount` at the central level. Central finance only. Emits {FundsAppropriated}.
    function appropriate(uint256 amount, bytes32 referenceDigest) external;

    /// @notice Moves funds from the caller's region to a region directly below. Finance of `fromRegion`.
    /// Emits {FundsAllocated}.
    function allocate(uint64 fromRegion, uint64 toRegion, uint256 amount, bytes32 referenceDigest) external;

    /// @notice Moves funds from the caller's region to the region directly above. Finance of `fromRegion`.
    /// Emits {FundsReturned}.
    function returnFunds(uint64 fromRegion, uint64 toRegion, uint256 amount, bytes32 referenceDigest) external;

    /// @notice Moves funds from the programme's region into its pool. Finance of the programme's region.
    /// Emits {ProgrammeFunded}.
    function fundProgramme(uint32 programmeId, uint256 amount, bytes32 referenceDigest) external;

    /// @notice Moves unused pool funds back to the programme's region. Finance of the programme's region.
    /// Emits {ProgrammeDefunded}.
    function defundProgramme(uint32 programmeId, uint256 amount, bytes32 referenceDigest) external;

    /// @notice Records money recovered from a settled payout (an overpayment, a payout obtained by fraud) into
    /// its programme pool; at most the payout's amount in all. Finance of the programme's region.
    /// Emits {ClawbackRecorded}.
    function recordClawback(IPayouts.PayoutKey calldata key, uint256 amount, bytes32 referenceDigest) external;

    /// @notice How much of a payout has been clawed back.
    function clawedBack(IPayouts.PayoutKey calldata key) external view returns (uint256);

    /// @notice Funds held by a region's finance bureau (not yet in a programme pool).
    function regionBalance(uint64 region) external view returns (uint256);

    /// @notice Funds in a programme pool.
    function poolBalance(uint32 programmeId) external view returns (uint256);

    /// @notice Net amount a programme has paid out (payouts − failures − clawbacks).
    function programmePaidOut(uint32 programmeId) external view returns (uint256);

    /// @notice Totals: everything appropriated, everything held at any level or pool, and net paid out. `held` is
    /// derived as `appropriated − paidOut`; that it equals Σ region balances + Σ pools is the conservation
    /// invariant the test suites check after every transaction.
    function fundTotals() external view returns (uint256 appropriated, uint256 held, uint256 paidOut);
}
