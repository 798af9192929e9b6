// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IVoucherFunding} from "../interfaces/IVoucherBook.sol";
import {Budget} from "./Budget.sol";

/// @title VoucherFunding
/// @notice The ledger's side of assistance vouchers: the one linked VoucherBook moves a programme's money between
/// its pool, the voucher escrow and paid out, so `appropriated == Σ balances + Σ pools + escrow + paid out`.
abstract contract VoucherFunding is IVoucherFunding, Budget {
    address private _voucherBook;
    uint256 private _voucherEscrow;

    /// @inheritdoc IVoucherFunding
    function linkVoucherBook(address book) external {
        if (msg.sender != Ownable(address(_registry)).owner()) revert Ownable.OwnableUnauthorizedAccount(msg.sender);
        if (_voucherBook != address(0)) revert LedgerVoucherBookAlreadyLinked(_voucherBook);
        if (book == address(0)) revert LedgerNotVoucherBook(book);
        _voucherBook = book;
        emit VoucherBookLinked(book);
    }

    /// @inheritdoc IVoucherFunding
    function moveVoucherFunds(uint32 programmeId, VoucherFundsMove move, uint256 amount) external {
        if (msg.sender != _voucherBook) revert LedgerNotVoucherBook(msg.sender);
        if (move == VoucherFundsMove.Issue) {
            _pools[programmeId] = _debit(_pools[programmeId], amount);
            _voucherEscrow += amount;
        } else if (move == VoucherFundsMove.Fail) {
            _programmePaid[programmeId] = _debit(_programmePaid[programmeId], amount);
            _paidOut -= amount;
            _voucherEscrow += amount;
        } else {
            _voucherEscrow = _debit(_voucherEscrow, amount);
            if (move == VoucherFundsMove.Expire) {
                _pools[programmeId] += amount;
            } else {
                _programmePaid[programmeId] += amount;
                _paidOut += amount;
            }
        }
        emit VoucherFundsMoved(programmeId, move, amount);
    }

    /// @inheritdoc IVoucherFunding
    function voucherBook() external view returns (address) {
        return _voucherBook;
    }

    /// @inheritdoc IVoucherFunding
    function voucherEscrow() external view returns (uint256) {
        return _voucherEscrow;
    }

    function _debit(uint256 available, uint256 amount) private pure returns (uint256) {
        if (available < amount) revert LedgerInsufficientFunds(available, amount);
        return available - amount;
    }
}
