export { startMailGateway, type MailGatewayOptions, type RunningMailGateway } from './app.js';
export { parseConfig, ConfigError, type MailGatewayConfig } from './config.js';
export { parsePolicy, readPolicy, hashToken, newToken, PolicyError, type Policy, type PolicyDocument } from './policy.js';
export { readPostageReply, postageReplyLines, POSTAGE_CODE, type PostageOffer } from './postage-reply.js';
export { PAYMENT_HEADER, REFUND_HEADER, GATEWAY_HEADER } from './message.js';
export {
  sendWithPostage,
  agentPayer,
  issuerPayer,
  bankPayer,
  payeeAccount,
  PostageRefusedError,
  type NameOptions,
  type PostagePayer,
  type SendWithPostageOptions,
  type SendResult,
} from './sender/send-with-postage.js';
export { BankApi, BankApiError, type BankApiOptions } from './bank-api.js';
export { type SweepReport } from './expiry-sweep.js';
