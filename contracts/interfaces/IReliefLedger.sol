// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IProgrammes} from "./IProgrammes.sol";
import {IBudget} from "./IBudget.sol";
import {ICases} from "./ICases.sol";
import {IPayouts} from "./IPayouts.sol";
import {IVoucherFunding} from "./IVoucherBook.sol";
import {IMulticall} from "./IMulticall.sol";

/// @title IReliefLedger
/// @notice The ledger of assistance money: programmes, the fund trail, cases, payouts and settlement, and the
/// voucher escrow its VoucherBook moves money through; many of its calls in one transaction ({IMulticall}).
interface IReliefLedger is IProgrammes, IBudget, ICases, IPayouts, IVoucherFunding, IMulticall {}
