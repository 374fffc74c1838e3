// A customer's statement in one currency as CSV, oldest first. Text cells that a spreadsheet
// would run as a formula get a leading apostrophe.
import type { Bank } from './bank.js';
import { format, type Currency } from './currencies.js';
import type { Customer } from './customers.js';

const cell = (text: string): string => {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function statementCsv(bank: Bank, customer: Customer, currency: Currency): string {
  const amount = (minor: bigint) => format(minor, currency);
  const lines = [['time', 'direction', 'status', 'transaction_id', 'counterparty', 'amount', 'issuer_fee', 'bank_fee', 'change', 'currency'].join(',')];
  for (const r of bank.history(customer, { currencyId: currency.id, limit: 1_000_000 }).reverse()) {
    const done = r.status === 'completed';
    const bankFee = done ? r.bank_fee : 0n;
    const change = !done ? 0n : r.direction === 'in' ? r.amount : -(r.amount + r.lcp_fee + bankFee);
    lines.push(
      [
        r.completed_at ?? r.created_at,
        r.direction,
        r.status,
        cell(r.transaction_id),
        cell(r.direction === 'out' ? (r.to_name ?? r.recipient ?? '') : (r.note ?? '')),
        amount(r.amount),
        amount(r.lcp_fee),
        amount(bankFee),
        amount(change),
        cell(currency.wsdl),
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
