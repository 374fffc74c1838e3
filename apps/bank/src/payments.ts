// Sending money. Between two opaque customers of this bank it is a book transfer; anything
// else is a transferFundsRequest from the holder's key (the bank's, or a transparent
// customer's own). The limit check, the balance check and the reservation happen in one
// synchronous SQLite transaction, so concurrent requests cannot both pass a daily limit.
import { randomBytes } from 'node:crypto';
import { LcpFaultError, LcpNetworkError, NameResolutionError, parseName, resolve, type IssuerClient, type NameDocument } from '@lcp/client';
import { isEntityId, isTransactionId, isUserid, type TransferFundsResponse, type TransferResult } from '@lcp/protocol';
import type { Bank, PaymentRow } from './bank.js';
import { feeOf, format, parsePositive, type Currency } from './currencies.js';
import type { Customer } from './customers.js';
import { nowIso } from './db.js';
import type { HolderLink } from './holder-link.js';
import type { AccountRef } from './ledger.js';
import { reason } from './logger.js';
import { problem, type Problem } from './problems.js';

export interface SendInput {
  customer: Customer;
  /** The issuer's WSDL URL (or the currency's name). */
  currency: string;
  /** A 64-hex key, or a name such as bob@bank.com. */
  to: string;
  /** A decimal string. */
  amount: unknown;
  transactionId?: string;
  /** Only with a key: the customer of an opaque bank at that key. */
  userid?: string;
  /** The agent token that sends it (for its daily limit). */
  tokenId?: bigint;
}

export interface SendOutcome {
  paymentId: bigint;
  /** completed, failed (the issuer said no: result says why), sending (no answer yet), unknown */
  status: 'completed' | 'failed' | 'sending' | 'unknown';
  result: TransferResult | 'pending';
  fee: bigint;
  bankFee: bigint;
  currency: Currency;
  transactionId: string;
  internal: boolean;
}

interface Target {
  entityId: string;
  userid?: string;
  toName?: string;
  /** An opaque customer of this bank. */
  local?: Customer;
}

const newTransactionId = (): string => randomBytes(8).toString('hex');

export class Payments {
  readonly #bank: Bank;

  constructor(bank: Bank) {
    this.#bank = bank;
  }

  async send(input: SendInput): Promise<SendOutcome | Problem> {
    const bank = this.#bank;
    const { customer } = input;
    if (customer.closedAt) return problem('account-closed', 'This account is closed.');
    if (customer.kind === 'operator') return problem('forbidden', 'The operator has no account to pay from.');
    const currency = bank.currencies.find(input.currency);
    if (!currency) return problem('unknown-currency', `Not a currency of this bank: ${String(input.currency).slice(0, 200)}. Use the issuer's WSDL URL.`);
    const amount = parsePositive(input.amount, currency);
    if (!amount.ok) return problem('invalid-amount', `${amount.reason} (${currency.name} has ${currency.scale} decimal places).`);
    const transactionId = input.transactionId?.trim() || newTransactionId();
    if (!isTransactionId(transactionId)) {
      return problem('invalid-transaction-id', 'A transactionId is 1 to 128 printable ASCII characters, without <, > or &.');
    }
    const userid = input.userid?.trim() || undefined;
    if (userid !== undefined && !isUserid(userid)) return problem('invalid-userid', 'A userid is 1 to 64 letters, digits, dots, dashes or underscores.');

    const target = await this.#target(String(input.to ?? '').trim(), userid, currency);
    if ('problem' in target) return target;
    const holder = bank.holderOf(customer, currency);
    if (target.entityId === holder && !(customer.kind === 'opaque' && target.local)) {
      return problem('invalid-recipient', 'That is your own key at this issuer.');
    }
    if (target.local?.id === customer.id) return problem('invalid-recipient', 'You cannot pay yourself.');
    const order = { amount: amount.value, transactionId, currency, tokenId: input.tokenId, customer, target };
    if (customer.kind === 'opaque' && target.local) return this.#bookTransfer(order);
    return this.#viaIssuer(order);
  }

  async #target(to: string, userid: string | undefined, currency: Currency): Promise<Target | Problem> {
    const bank = this.#bank;
    const domain = bank.config.domain;
    const ownKey = bank.bankEntity(currency);
    if (isEntityId(to)) {
      if (to !== ownKey) return { entityId: to, ...(userid ? { userid } : {}) };
      if (!userid) return problem('invalid-recipient', `${to.slice(0, 12)}… is this bank's own key at ${currency.name}: pay its customers by name (name@${domain}) or give a userid.`);
      const local = bank.customers.byName(userid);
      if (!local || local.kind !== 'opaque' || local.closedAt) return problem('name-not-found', `${userid} is not a customer of ${domain}.`);
      return { entityId: to, userid: local.name, toName: bank.nameFor(local.name), local };
    }
    if (/^[0-9a-fA-F]{64}$/.test(to)) return problem('invalid-recipient', 'Keys are written in lowercase hex.');
    if (!to.includes('@')) return problem('invalid-recipient', 'Give a 64-hex public key or a name such as bob@bank.com.');
    if (userid) return problem('invalid-request', 'A userid goes only with a key; a name carries its own.');
    let name: { local: string; domain: string };
    try {
      name = parseName(to);
    } catch {
      return problem('invalid-recipient', 'Give a name of the form name@bank, such as bob@bank.com.');
    }
    let document: NameDocument | undefined;
    if (name.domain === domain) {
      // this bank's own names: the same document it serves at /.well-known/lcp/names/
      document = bank.nameDocument(name.local);
      if (!document) return problem('name-not-found', `${name.local}@${domain} is not a customer here.`);
    } else {
      try {
        const port = bank.options.namePort?.(name.domain);
        document = await resolve(to, {
          ...(bank.caPem ? { caPem: bank.caPem } : {}),
          ...(bank.options.lookup ? { lookup: bank.options.lookup } : {}),
          ...(port ? { port } : {}),
        });
      } catch (error) {
        if (!(error instanceof NameResolutionError)) throw error;
        if (error.code === 'notFound') return problem('name-not-found', error.message);
        if (error.code === 'invalidName') return problem('invalid-recipient', error.message);
        return problem('name-unresolvable', error.message);
      }
    }
    const account = document.accounts.find((a) => a.wsdl === currency.wsdl);
    if (!account) return problem('currency-not-accepted', `${document.name} takes no payments in ${currency.name}.`);
    // a name that leads to this bank's own key is one of its opaque customers: a book transfer
    const local = account.entityId === ownKey && document.userid ? bank.customers.byName(document.userid) : undefined;
    if (account.entityId === ownKey && (!local || local.kind !== 'opaque' || local.closedAt)) {
      return problem('name-not-found', `${document.name} is not an open account here.`);
    }
    return { entityId: account.entityId, ...(document.userid ? { userid: document.userid } : {}), toName: document.name, ...(local ? { local } : {}) };
  }

  /** The daily limit of the token, or a problem; runs inside the reservation's transaction. */
  #limitProblem(tokenId: bigint | undefined, currency: Currency, amount: bigint): Problem | undefined {
    if (tokenId === undefined) return undefined;
    const token = this.#bank.db.prepare('SELECT daily_max FROM token_limits WHERE token_id = ? AND currency_id = ?').get(tokenId, currency.id) as
      | { daily_max: bigint }
      | undefined;
    if (!token) return problem('no-spending-limit', `This token has no daily limit in ${currency.name}, so it may not spend it.`);
    const spent = this.#bank.tokens.spentToday(tokenId, currency.id);
    if (spent + amount > token.daily_max) {
      return problem('daily-limit-exceeded', `This token may send ${format(token.daily_max, currency)} a day in ${currency.name}; ${format(spent, currency)} sent today.`, {
        limit: format(token.daily_max, currency),
        spentToday: format(spent, currency),
      });
    }
    return undefined;
  }

  #fundsProblem(account: AccountRef, need: bigint, currency: Currency, why: string): Problem | undefined {
    const balance = this.#bank.ledger.balance(account);
    if (balance >= need) return undefined;
    return problem('insufficient-funds', `This needs ${format(need, currency)} ${currency.name} (${why}); the balance is ${format(balance, currency)}.`, {
      needed: format(need, currency),
      balance: format(balance, currency),
    });
  }

  /** Opaque to opaque at this bank: no issuer involved, the books move. */
  #bookTransfer(order: { amount: bigint; transactionId: string; currency: Currency; tokenId: bigint | undefined; customer: Customer; target: Target }): SendOutcome | Problem {
    const bank = this.#bank;
    const { amount, currency, customer, target } = order;
    const recipient = target.local as Customer;
    const holder = bank.bankEntity(currency);
    const bankFee = feeOf(amount, currency.bankFee);
    const book = bank.db.transaction((): { out: bigint; in: bigint } | Problem => {
      const from = bank.customerAccount(customer, currency);
      const blocked = this.#limitProblem(order.tokenId, currency, amount) ?? this.#fundsProblem(from, amount + bankFee, currency, 'amount and bank fee');
      if (blocked) return blocked;
      const at = nowIso();
      const insert = bank.db.prepare(
        `INSERT INTO payments (customer_id, currency_id, holder, direction, status, transaction_id, recipient, to_name, userid, amount, bank_fee, result, internal, token_id, note, created_at, completed_at)
         VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, 'success', 1, ?, ?, ?, ?) RETURNING id`,
      );
      const out = (
        insert.get(customer.id, currency.id, holder, 'out', order.transactionId, holder, target.toName ?? null, recipient.name, amount, bankFee, order.tokenId ?? null, null, at, at) as {
          id: bigint;
        }
      ).id;
      const into = (
        insert.get(recipient.id, currency.id, holder, 'in', order.transactionId, null, null, recipient.name, amount, 0n, null, `from ${bank.nameFor(customer.name)}`, at, at) as {
          id: bigint;
        }
      ).id;
      const base = { currencyId: currency.id, holder };
      bank.ledger.post({ ...base, kind: 'book-transfer', paymentId: out }, [
        [from, -(amount + bankFee)],
        [bank.customerAccount(recipient, currency), amount],
        [{ ...base, kind: 'income' }, bankFee],
      ]);
      return { out, in: into };
    });
    const booked = book();
    if ('problem' in booked) return booked;
    bank.notify(booked.out);
    bank.notify(booked.in);
    return { paymentId: booked.out, status: 'completed', result: 'success', fee: 0n, bankFee, currency, transactionId: order.transactionId, internal: true };
  }

  async #viaIssuer(order: { amount: bigint; transactionId: string; currency: Currency; tokenId: bigint | undefined; customer: Customer; target: Target }): Promise<SendOutcome | Problem> {
    const bank = this.#bank;
    const { amount, currency, customer, target } = order;
    const link = bank.linkFor(customer, currency);
    if (!link) return problem('issuer-unavailable', `No key is at work for you at ${currency.name}.`);
    const transparent = customer.kind === 'transparent';
    const bankFee = transparent ? 0n : feeOf(amount, currency.bankFee);
    const reserve = feeOf(amount, currency.feeReserve);
    const reserveFunds = bank.db.transaction((): bigint | Problem => {
      const from = bank.customerAccount(customer, currency);
      const need = amount + bankFee + reserve;
      const blocked = this.#limitProblem(order.tokenId, currency, amount) ?? this.#fundsProblem(from, need, currency, 'amount, bank fee and a reserve for the issuer\u2019s fee');
      if (blocked) return blocked;
      const { id } = bank.db
        .prepare(
          `INSERT INTO payments (customer_id, currency_id, holder, direction, status, transaction_id, recipient, to_name, userid, amount, bank_fee, reserved, token_id, created_at)
           VALUES (?, ?, ?, 'out', 'reserved', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(customer.id, currency.id, link.entityId, order.transactionId, target.entityId, target.toName ?? null, target.userid ?? null, amount, bankFee, reserve, order.tokenId ?? null, nowIso()) as {
        id: bigint;
      };
      bank.ledger.post({ currencyId: currency.id, holder: link.entityId, kind: 'payout-reserve', paymentId: id }, [
        [from, -need],
        [{ currencyId: currency.id, holder: link.entityId, kind: 'in-flight' }, need],
      ]);
      return id;
    });
    const paymentId = reserveFunds();
    if (typeof paymentId !== 'bigint') return paymentId;

    const outcome = (status: SendOutcome['status'], result: SendOutcome['result'], fee: bigint): SendOutcome => ({
      paymentId,
      status,
      result,
      fee,
      bankFee: status === 'completed' ? bankFee : 0n,
      currency,
      transactionId: order.transactionId,
      internal: false,
    });
    try {
      return await link.exclusive(async (): Promise<SendOutcome | Problem> => {
        let payer: IssuerClient;
        try {
          payer = await link.payer();
          await this.settleLeftovers(link, payer);
        } catch (error) {
          bank.log.warn({ reason: reason(error), issuer: currency.wsdl }, 'issuer unavailable; payment not sent');
          this.#release(paymentId, 'issuerUnavailable');
          return problem('issuer-unavailable', `${currency.name} cannot be reached now; nothing was paid.`);
        }
        bank.db.prepare("UPDATE payments SET status = 'sending' WHERE id = ?").run(paymentId);
        try {
          const response = await payer.transferFunds({
            recipient: target.entityId,
            amount,
            transactionId: order.transactionId,
            ...(target.userid ? { userid: target.userid } : {}),
          });
          this.#settle(paymentId, response);
          return outcome(response.result === 'success' ? 'completed' : 'failed', response.result, response.fee);
        } catch (error) {
          if (error instanceof LcpFaultError && !error.retryable) {
            this.#release(paymentId, `refused: ${error.code ?? error.faultcode}`);
            return problem('payment-refused', `${currency.name} refused the payment: ${error.message}`, { fault: error.code ?? error.faultcode });
          }
          if (error instanceof LcpFaultError || error instanceof LcpNetworkError) {
            // the client keeps it pending and sends it again, with the same counter, before the next one
            bank.log.warn({ reason: reason(error), paymentId: String(paymentId) }, 'no answer from the issuer yet; payment pending');
            return outcome('sending', 'pending', 0n);
          }
          // an answer that could not be read: the client no longer holds it, so nobody can tell
          bank.db.prepare("UPDATE payments SET status = 'unknown', note = ? WHERE id = ?").run('unreadable answer from the issuer', paymentId);
          bank.log.error({ err: error, paymentId: String(paymentId) }, 'payment outcome unknown');
          return outcome('unknown', 'pending', 0n);
        }
      });
    } finally {
      bank.notify(paymentId);
      bank.reconciler.schedule(link);
    }
  }

  /** Books the issuer's answer to a transfer that reserved funds. */
  #settle(paymentId: bigint, response: TransferFundsResponse): void {
    const bank = this.#bank;
    bank.db.transaction(() => {
      const row = bank.payment(paymentId) as PaymentRow;
      if (row.status !== 'sending' && row.status !== 'unknown') return;
      if (response.result !== 'success') {
        this.#releaseInside(row, response.result);
        return;
      }
      const customer = bank.customers.byId(row.customer_id as bigint) as Customer;
      const base = { currencyId: row.currency_id, holder: row.holder };
      const fee = response.fee;
      const held = row.amount + row.bank_fee + row.reserved;
      const entries: [AccountRef, bigint][] = [
        [{ ...base, kind: 'in-flight' }, -held],
        [{ ...base, kind: 'issuer' }, row.amount + fee],
      ];
      const account: AccountRef = { ...base, kind: 'customer', customerId: customer.id };
      if (customer.kind === 'transparent') {
        // their own key paid the fee, whatever it was
        entries.push([account, row.reserved - fee]);
      } else {
        // the customer pays the issuer's fee up to the reserve; beyond it the bank absorbs it
        const customerPart = fee < row.reserved ? fee : row.reserved;
        entries.push([account, row.reserved - customerPart], [{ ...base, kind: 'income' }, row.bank_fee - (fee - customerPart)]);
      }
      bank.ledger.post({ ...base, kind: 'payout', paymentId }, entries, ['customer']);
      bank.db
        .prepare("UPDATE payments SET status = 'completed', result = 'success', lcp_fee = ?, completed_at = ? WHERE id = ?")
        .run(fee, nowIso(), paymentId);
    })();
  }

  #release(paymentId: bigint, result: string): void {
    this.#bank.db.transaction(() => {
      const row = this.#bank.payment(paymentId) as PaymentRow;
      if (row.status === 'completed' || row.status === 'failed') return;
      this.#releaseInside(row, result);
    })();
  }

  #releaseInside(row: PaymentRow, result: string): void {
    const base = { currencyId: row.currency_id, holder: row.holder };
    const held = row.amount + row.bank_fee + row.reserved;
    this.#bank.ledger.post({ ...base, kind: 'payout-release', paymentId: row.id }, [
      [{ ...base, kind: 'in-flight' }, -held],
      [{ ...base, kind: 'customer', customerId: row.customer_id as bigint }, held],
    ]);
    this.#bank.db.prepare("UPDATE payments SET status = 'failed', result = ?, completed_at = ? WHERE id = ?").run(result, nowIso(), row.id);
  }

  /**
   * Before a new transfer (and on the reconciliation timer), under the link's lock: a transfer
   * left without an answer is sent again with its counter and its answer booked. Throws if the
   * issuer still does not answer.
   */
  async settleLeftovers(link: HolderLink, payer?: IssuerClient): Promise<void> {
    const bank = this.#bank;
    const open = () =>
      bank.db
        .prepare("SELECT * FROM payments WHERE holder = ? AND currency_id = ? AND direction = 'out' AND status = 'sending' ORDER BY id")
        .all(link.entityId, link.currency.id) as PaymentRow[];
    if (open().length === 0) return;
    const client = payer ?? (await link.payer());
    let recovered: Awaited<ReturnType<IssuerClient['recoverPending']>>;
    try {
      recovered = await client.recoverPending();
    } catch (error) {
      if (error instanceof LcpFaultError && !error.retryable) {
        for (const row of open()) this.#release(row.id, `refused: ${error.code ?? error.faultcode}`);
        return;
      }
      throw error;
    }
    for (const row of open()) {
      const matches =
        recovered &&
        recovered.order.transactionId === row.transaction_id &&
        recovered.order.amount === row.amount &&
        recovered.order.recipient === row.recipient &&
        (recovered.order.userid ?? null) === (row.userid ?? null);
      if (matches && recovered) {
        this.#settle(row.id, recovered.response);
        recovered = undefined;
      } else {
        // sent, but the client holds no record of it (a crash between its save and ours)
        bank.db.prepare("UPDATE payments SET status = 'unknown', note = ? WHERE id = ?").run('outcome unknown after a restart; see the reconciliation', row.id);
        bank.log.error({ paymentId: String(row.id) }, 'payment outcome unknown');
      }
      bank.notify(row.id);
    }
  }

  /** After a restart: reservations never sent are released. */
  recoverAtStart(): void {
    const rows = this.#bank.db.prepare("SELECT id FROM payments WHERE status = 'reserved'").all() as { id: bigint }[];
    for (const { id } of rows) this.#release(id, 'notSent');
  }

  /** Links with a payment waiting for its answer. */
  linksWithLeftovers(): HolderLink[] {
    const rows = this.#bank.db.prepare("SELECT DISTINCT holder, currency_id FROM payments WHERE status = 'sending'").all() as { holder: string; currency_id: bigint }[];
    return this.#bank.allLinks().filter((l) => rows.some((r) => r.holder === l.entityId && r.currency_id === l.currency.id));
  }
}
