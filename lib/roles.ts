/** Institution roles, in the order of `IInstitutionRegistry.Role`. */
export enum Role {
  None = 0,
  Caseworker = 1,
  Approver = 2,
  Finance = 3,
  PaymentAgent = 4,
  MedicalOffice = 5,
  Auditor = 6,
  Anchorer = 7,
  Keeper = 8,
  /** A school, hospital or care agency that redeems assistance vouchers (lib/vouchers.ts). */
  Provider = 9,
}

/** Programme kinds, in the order of `IProgrammes.ProgrammeKind`. */
export enum ProgrammeKind {
  MonthlyGap = 0,
  MonthlyFixed = 1,
  Temporary = 2,
  Medical = 3,
  Disaster = 4,
  /** 救助券: an approved case gets one voucher of the approved amount, up to the programme's cap. */
  Voucher = 5,
}

/** Case statuses, in the order of `ICases.CaseStatus`. */
export enum CaseStatus {
  None = 0,
  Submitted = 1,
  InNotice = 2,
  Approved = 3,
  Suspended = 4,
  Exiting = 5,
  Rejected = 6,
}

/** Why a run skipped an entitlement, in the order of `IPayouts.SkipReason`. */
export enum SkipReason {
  UnknownCase = 0,
  WrongProgramme = 1,
  NotApproved = 2,
  Suspended = 3,
  NoticeOpen = 4,
  NotStarted = 5,
  Expired = 6,
  AlreadyPaid = 7,
  OutsideWindow = 8,
  SettlementBacklog = 9,
  InsufficientBudget = 10,
  OutsideRegion = 11,
}

/** Payout statuses, in the order of `IPayouts.PayoutStatus`. */
export enum PayoutStatus {
  None = 0,
  Paid = 1,
  Settled = 2,
}
