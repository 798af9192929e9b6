// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IInstitutionRegistry
/// @notice Who may act on the ledger: institutions, their single role, their region and their SM2 key,
/// plus the emergency pause that every ledger contract obeys.
interface IInstitutionRegistry {
    /// @notice What an institution does. Each account holds exactly one role.
    enum Role {
        None,
        Caseworker, // 鄉鎮/街道經辦人: takes applications, first review
        Approver, // 縣級民政審批人: approves, rejects, suspends, exits, re-certifies
        Finance, // 財政局: appropriates and allocates budgets, funds programme pools
        PaymentAgent, // 代發銀行: reports settlement or failure
        MedicalOffice, // 醫保/醫院: certifies medical bills
        Auditor, // 審計/紀檢: reads; listed on chain
        Anchorer, // the gateway's anchoring service: anchors digests, attests receipts
        Keeper, // runs condition-triggered payouts (the entry point itself is permissionless)
        Provider // 定點服務機構: a school, hospital or care agency that redeems assistance vouchers
    }

    struct Institution {
        Role role;
        bool active;
        uint64 region;
        bytes32 keyDigest; // SM3 digest of the current SM2 public key (SPKI DER)
    }

    /// @notice Emitted when the administrator registers an institution.
    event InstitutionRegistered(address indexed account, Role indexed role, uint64 region, bytes32 keyDigest);
    /// @notice Emitted when an institution is switched on or off.
    event InstitutionActiveSet(address indexed account, bool active);
    /// @notice Emitted when an institution's SM2 public key changes; the new key is valid from `validFrom`.
    event InstitutionKeyRotated(address indexed account, bytes32 oldKeyDigest, bytes32 newKeyDigest, uint64 validFrom);
    /// @notice Emitted when the administrator pauses every ledger contract.
    event LedgerPaused(address indexed by);
    /// @notice Emitted when the administrator lifts the pause.
    event LedgerUnpaused(address indexed by);

    /// @notice The account is already registered.
    error RegistryInstitutionExists(address account);
    /// @notice The account is not registered.
    error RegistryUnknownInstitution(address account);
    /// @notice The role cannot be assigned (`None`).
    error RegistryInvalidRole(Role role);
    /// @notice The region code is not a valid division code.
    error RegistryInvalidRegion(uint64 region);
    /// @notice Ownership of the registry cannot be renounced, only transferred.
    error RegistryRenounceDisabled();
    /// @notice A zero address or zero key digest was given.
    error RegistryZeroValue();
    /// @notice The caller is not an active institution holding one of `roles` (a bit mask, bit `1 << role`).
    error LedgerUnauthorizedRole(address account, uint16 roles);
    /// @notice The caller acts outside its region's subtree.
    error LedgerUnauthorizedRegion(address account, uint64 region);
    /// @notice The ledger is paused.
    error LedgerPausedError();

    /// @notice Registers `account` with `role` in `region` and its first SM2 key digest. Administrator only.
    /// Emits {InstitutionRegistered}.
    function registerInstitution(address account, Role role, uint64 region, bytes32 keyDigest) external;

    /// @notice Activates or deactivates an institution. Administrator only. Emits {InstitutionActiveSet}.
    function setActive(address account, bool active) external;

    /// @notice Replaces an institution's SM2 key digest. Administrator only. Emits {InstitutionKeyRotated}.
    function rotateKey(address account, bytes32 newKeyDigest) external;

    /// @notice Pauses every ledger contract. Administrator only. Emits {LedgerPaused}.
    function pause() external;

    /// @notice Lifts the pause. Administrator only. Emits {LedgerUnpaused}.
    function unpause() external;

    /// @notice Whether the ledger is paused.
    function paused() external view returns (bool);

    /// @notice The institution registered for `account` (role `None` if unknown).
    function institution(address account) external view returns (Institution memory);

    /// @notice Reverts unless `account` is an active institution holding one of `roles` (bit `1 << role`) whose
    /// region contains `region`. Also reverts while paused. The ledger contracts call it on every
    /// state-changing call that needs an actor.
    function authorize(
        address account,
        uint16 roles,
        uint64 region
    ) external view returns (Role role, uint64 actorRegion);

    /// @notice The number of accounts that hold `role`.
    function roleMemberCount(Role role) external view returns (uint256);

    /// @notice The `index`-th account that holds `role`.
    function roleMember(Role role, uint256 index) external view returns (address);

    /// @notice The key digest that was current for `account` at `timestamp` (zero before registration).
    function keyDigestAt(address account, uint64 timestamp) external view returns (bytes32);
}
