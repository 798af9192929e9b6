// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IProgrammes
/// @notice Assistance programmes (救助項目) and the rule each one pays by.
interface IProgrammes {
    /// @notice How a programme computes what it pays.
    enum ProgrammeKind {
        MonthlyGap, // 低保: (standard − income per head) × household size, floored at 0, every month
        MonthlyFixed, // 特困 and similar: a fixed amount every month
        Temporary, // 臨時救助: one approved amount, paid once; townships approve up to a ceiling
        Medical, // 醫療救助: ratio × (bill − deductible) per certified bill, capped per beneficiary per year
        Disaster, // 災害救助: a fixed amount per registered household once a disaster is declared
        Voucher // 救助券: one voucher per approved case, of the approved amount up to `amount` (see IVoucherBook)
    }

    /// @notice A programme's rule. Amounts are integer fen, durations seconds unless named otherwise.
    struct Programme {
        ProgrammeKind kind;
        uint64 region; // the pool's region: cases must lie inside it
        uint64 amount; // Gap: local standard per person per month; Fixed: per month; Disaster: per household;
        // Temporary: the township ceiling; Medical: the annual cap per beneficiary; Voucher: the cap per case
        uint64 deductible; // Medical only
        uint16 ratioBps; // Medical only: share paid of the bill above the deductible, in basis points
        uint16 validityMonths; // eligibility lasts this long after approval or re-certification
        uint16 exitPeriods; // gradual exit (漸退): months paid after an exit decision
        uint32 noticePeriod; // public notice (公示) before approval
        uint32 disputeWindow; // how long a dispute of non-receipt may stay open before it is overdue
        uint32 exclusionGroup; // a pseudonym holds at most one active case per nonzero group
        bytes32 ruleVersion; // digest of the policy text and parameters this rule implements
    }

    /// @notice Emitted when a programme is created.
    event ProgrammeCreated(uint32 indexed programmeId, ProgrammeKind kind, uint64 indexed region, bytes32 ruleVersion);
    /// @notice Emitted when a programme's rule changes. Later approvals use the new version.
    event ProgrammeRuleUpdated(uint32 indexed programmeId, bytes32 oldRuleVersion, bytes32 newRuleVersion);

    /// @notice No programme has this id.
    error LedgerUnknownProgramme(uint32 programmeId);
    /// @notice A programme parameter is out of range; `field` names it.
    error LedgerInvalidProgramme(string field);
    /// @notice A rule update may not change the programme's kind, region or exclusion group.
    error LedgerProgrammeIdentityChanged(uint32 programmeId);

    /// @notice Creates a programme. Approver whose region contains `programme.region`.
    /// Emits {ProgrammeCreated}.
    function createProgramme(Programme calldata programme) external returns (uint32 programmeId);

    /// @notice Replaces a programme's rule (same kind, region and exclusion group). Approver in scope.
    /// Emits {ProgrammeRuleUpdated}.
    function updateProgrammeRule(uint32 programmeId, Programme calldata programme) external;

    /// @notice The programme with `programmeId`.
    function programme(uint32 programmeId) external view returns (Programme memory);

    /// @notice How many programmes exist; ids run from 1 to this number.
    function programmeCount() external view returns (uint32);
}
