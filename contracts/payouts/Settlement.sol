// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "../interfaces/IInstitutionRegistry.sol";
import {IPayouts} from "../interfaces/IPayouts.sol";
import {EventPayouts} from "./EventPayouts.sol";
import {Regions} from "../libraries/Regions.sol";

/// @title Settlement
/// @notice The payment agent's side: settlement confirmed per payout or per batch with a bank reference,
/// or a failure that returns the money to the pool so the payout can be made again.
abstract contract Settlement is EventPayouts {
    /// @inheritdoc IPayouts
    function confirmSettlements(bytes32 bankRefDigest, PayoutKey[] calldata keys) external {
        if (keys.length == 0) revert LedgerInvalidInput("keys");
        if (bankRefDigest == bytes32(0)) revert LedgerInvalidInput("bankRefDigest");
        uint64 agentRegion = _authorize(IInstitutionRegistry.Role.PaymentAgent, _files[keys[0].caseId].region);
        for (uint256 i = 0; i < keys.length; ++i) {
            PayoutKey calldata k = keys[i];
            uint64 region = _files[k.caseId].region;
            if (!Regions.contains(agentRegion, region)) {
                revert IInstitutionRegistry.LedgerUnauthorizedRegion(msg.sender, region);
            }
            if (k.eventId == bytes32(0)) {
                Entitlement storage e = _entitlements[k.caseId];
                (bool inWindow, uint32 bit) = _periodBit(e, k.period);
                if (!inWindow || e.paidMask & bit == 0 || e.settledMask & bit != 0) {
                    revert LedgerNotAwaitingSettlement(k.caseId, k.period, k.eventId);
                }
                e.settledMask |= bit;
            } else {
                EventPayout storage ep = _eventPayouts[k.caseId][k.eventId];
                if (ep.status != PayoutStatus.Paid || ep.period != k.period) {
                    revert LedgerNotAwaitingSettlement(k.caseId, k.period, k.eventId);
                }
                ep.status = PayoutStatus.Settled;
            }
            emit PayoutSettled(k.caseId, k.eventId, k.period, bankRefDigest);
        }
    }

    /// @inheritdoc IPayouts
    function reportFailure(PayoutKey calldata k, bytes32 reasonDigest) external {
        Entitlement storage e = _known(k.caseId);
        _authorize(IInstitutionRegistry.Role.PaymentAgent, _files[k.caseId].region);
        uint32 programmeId = e.programmeId;
        uint64 amount;
        if (k.eventId == bytes32(0)) {
            (bool inWindow, uint32 bit) = _periodBit(e, k.period);
            if (!inWindow || e.paidMask & bit == 0 || e.settledMask & bit != 0) {
                revert LedgerNotAwaitingSettlement(k.caseId, k.period, k.eventId);
            }
            e.paidMask &= ~bit;
            amount = _paidAmount(k.caseId, k.period);
        } else {
            EventPayout storage ep = _eventPayouts[k.caseId][k.eventId];
            if (ep.status != PayoutStatus.Paid || ep.period != k.period) {
                revert LedgerNotAwaitingSettlement(k.caseId, k.period, k.eventId);
            }
            amount = ep.amount;
            if (ep.medical) _releaseMedical(k.caseId, k.eventId, ep);
            ep.status = PayoutStatus.None;
        }
        _recordFailedPayout(programmeId, amount);
        emit PayoutFailed(k.caseId, programmeId, k.eventId, k.period, amount, reasonDigest);
    }

    /// @inheritdoc IPayouts
    function payoutStatus(PayoutKey calldata k) public view returns (PayoutStatus status, uint64 amount) {
        if (k.eventId != bytes32(0)) {
            EventPayout storage ep = _eventPayouts[k.caseId][k.eventId];
            if (ep.status == PayoutStatus.None || ep.period != k.period) return (PayoutStatus.None, 0);
            return (ep.status, ep.amount);
        }
        Entitlement storage e = _entitlements[k.caseId];
        (bool inWindow, uint32 bit) = _periodBit(e, k.period);
        if (!inWindow || e.paidMask & bit == 0) return (PayoutStatus.None, 0);
        return (e.settledMask & bit != 0 ? PayoutStatus.Settled : PayoutStatus.Paid, _paidAmount(k.caseId, k.period));
    }

    /// @dev What the paid monthly payout of `period` was paid at: the amount of the earliest epoch snapshot that
    /// already shows it paid (scanning back while snapshots show it), else the current amount.
    function _paidAmount(bytes32 caseId, uint24 period) private view returns (uint64 amount) {
        amount = _entitlements[caseId].amount;
        AmountEpoch[] storage epochs = _amountEpochs[caseId];
        for (uint256 k = epochs.length; k > 0; --k) {
            AmountEpoch storage ep = epochs[k - 1];
            uint24 through = ep.paidThrough;
            if (period > through || through - period >= 32 || (ep.paidMask >> (through - period)) & 1 == 0) break;
            amount = ep.amount;
        }
    }

    function _settledPayout(
        PayoutKey calldata k
    ) internal view override returns (bool settled, uint32 programmeId, uint64 amount) {
        PayoutStatus status;
        (status, amount) = payoutStatus(k);
        return (status == PayoutStatus.Settled, _entitlements[k.caseId].programmeId, amount);
    }

    /// @inheritdoc IPayouts
    function unsettledPayouts(uint256 fromCase, uint256 count) external view returns (PayoutKey[] memory keys) {
        uint256 cases = caseCount();
        uint256 end = fromCase < cases && count < cases - fromCase ? fromCase + count : cases;
        keys = new PayoutKey[](_countUnsettled(fromCase, end));
        uint256 n;
        for (uint256 c = fromCase; c < end; ++c) {
            bytes32 caseId = caseIdAt(c);
            Entitlement storage e = _entitlements[caseId];
            uint32 unsettled = e.paidMask & ~e.settledMask;
            for (uint256 i = 0; unsettled != 0; ++i) {
                if (unsettled & 1 != 0) keys[n++] = PayoutKey(caseId, uint24(e.paidThrough - i), bytes32(0));
                unsettled >>= 1;
            }
            bytes32[] storage events = _caseEvents[caseId];
            for (uint256 i = 0; i < events.length; ++i) {
                EventPayout storage ep = _eventPayouts[caseId][events[i]];
                if (ep.status == PayoutStatus.Paid) keys[n++] = PayoutKey(caseId, ep.period, events[i]);
            }
        }
    }

    /// @inheritdoc IPayouts
    function casePayouts(bytes32 caseId) external view returns (PayoutKey[] memory keys) {
        Entitlement storage e = _entitlements[caseId];
        bytes32[] storage events = _caseEvents[caseId];
        uint32 paidMask = e.paidMask;
        keys = new PayoutKey[](_popCount(paidMask) + events.length);
        uint256 n;
        for (uint256 i = 0; paidMask != 0; ++i) {
            if (paidMask & 1 != 0) keys[n++] = PayoutKey(caseId, uint24(e.paidThrough - i), bytes32(0));
            paidMask >>= 1;
        }
        for (uint256 i = 0; i < events.length; ++i) {
            EventPayout storage ep = _eventPayouts[caseId][events[i]];
            if (ep.status != PayoutStatus.None) keys[n++] = PayoutKey(caseId, ep.period, events[i]);
        }
        assembly ("memory-safe") {
            mstore(keys, n)
        }
    }

    function _popCount(uint32 x) private pure returns (uint256 n) {
        for (; x != 0; x &= x - 1) ++n;
    }

    function _countUnsettled(uint256 fromCase, uint256 end) private view returns (uint256 n) {
        for (uint256 c = fromCase; c < end; ++c) {
            bytes32 caseId = caseIdAt(c);
            Entitlement storage e = _entitlements[caseId];
            n += _popCount(e.paidMask & ~e.settledMask);
            bytes32[] storage events = _caseEvents[caseId];
            for (uint256 i = 0; i < events.length; ++i) {
                if (_eventPayouts[caseId][events[i]].status == PayoutStatus.Paid) ++n;
            }
        }
    }
}
