export { Approvals, approvalKey, createApprovalIn, effectiveStatus, DEFAULT_APPROVAL_TTL_MS } from "./approvals.ts";
export type {
  ApprovalRequest, ApprovalStatus, PrepareHandler, CreateApprovalInput, Resolution, ResolutionHandler, ResolveOptions,
} from "./approvals.ts";
