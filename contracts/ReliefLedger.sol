// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IInstitutionRegistry} from "./interfaces/IInstitutionRegistry.sol";
import {RegistryClient} from "./access/RegistryClient.sol";
import {Settlement} from "./payouts/Settlement.sol";
import {VoucherFunding} from "./budget/VoucherFunding.sol";
import {Multicall} from "./utils/Multicall.sol";

/// @title ReliefLedger (救助資金鏈)
/// @notice One deployment per jurisdiction: programmes, budgets, cases, condition-triggered payouts and
/// settlement, authorised by an {InstitutionRegistry}. Each concern lives in its own module:
/// Programmes → Budget → Cases → Payouts → EventPayouts → Settlement, and VoucherFunding (the pools' side of the
/// separate VoucherBook). Its external surface is {IReliefLedger} (each module implements its part of it).
contract ReliefLedger is Settlement, VoucherFunding, Multicall {
    constructor(IInstitutionRegistry registry_) RegistryClient(registry_) {}
}
