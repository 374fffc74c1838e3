// bank.com's core, without HTTP: the books, the customers, the keys at work at each issuer,
// deposits routed to sub-accounts, payments, reconciliation. app.ts puts the web in front.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { createHolderCertificate, loadOrCreateIdentity, generateIdentity, privateKeyPem, type Identity } from '@lcp/crypto';
import type { NameDocument } from '@lcp/client';
import type { Deposit } from '@lcp/protocol';
import type { BankConfig } from './config.js';
import { Currencies, format, type Currency } from './currencies.js';
import { Customers, type Customer } from './customers.js';
import { nowIso, openDatabase, type Db } from './db.js';
import { Events, type PaymentEvent } from './events.js';
import { HolderLink, type LinkHooks } from './holder-link.js';
import { Ledger, type AccountRef } from './ledger.js';
import type { Logger } from './logger.js';
import { Payments } from './payments.js';
import { LoginLimiter } from './rate-limit.js';
import { Reconciler } from './reconciliation.js';
import { Sessions } from './sessions.js';
import { Tokens } from './tokens.js';
import { Vault } from './vault.js';

export interface BankOptions {
  logger: Logger;
  /** Name resolution override for issuers and other banks (tests and the demo run on loopback). */
  lookup?: LookupFunction;
  /** HTTPS port of another bank's name documents, when not 443 (tests and the demo). */
  namePort?: (domain: string) => number | undefined;
}

export interface PaymentRow {
  id: bigint;
  customer_id: bigint | null;
  currency_id: bigint;
  holder: string;
  direction: 'in' | 'out';
  status: string;
  transaction_id: string;
  recipient: string | null;
  to_name: string | null;
  userid: string | null;
  amount: bigint;
  lcp_fee: bigint;
  bank_fee: bigint;
  reserved: bigint;
  sequence: bigint | null;
  result: string | null;
  internal: bigint;
  token_id: bigint | null;
  note: string | null;
  created_at: string;
  completed_at: string | null;
}

export class Bank {
  readonly db: Db;
  readonly ledger: Ledger;
  readonly currencies: Currencies;
  readonly customers: Customers;
  readonly tokens: Tokens;
  readonly sessions: Sessions;
  readonly events = new Events();
  readonly limiter: LoginLimiter;
  readonly payments: Payments;
  readonly reconciler: Reconciler;
  readonly log: Logger;
  readonly config: Readonly<BankConfig>;
  readonly options: BankOptions;
  readonly caPem: string | undefined;
  /** The bank's own key at each issuer, by currency id. */
  readonly bankLinks = new Map<bigint, HolderLink>();
  /** Transparent customers' keys at work, by customer id, then currency id. */
  readonly customerLinks = new Map<bigint, Map<bigint, HolderLink>>();
  readonly #hooks: LinkHooks;
  #closed = false;

  private constructor(config: Readonly<BankConfig>, options: BankOptions, db: Db, vault: Vault, caPem: string | undefined) {
    this.config = config;
    this.options = options;
    this.log = options.logger;
    this.db = db;
    this.caPem = caPem;
    this.ledger = new Ledger(db);
    this.currencies = new Currencies(db, config.currencies);
    this.customers = new Customers(db, vault, config);
    this.tokens = new Tokens(db);
    this.sessions = new Sessions(db, config.sessionMs);
    this.limiter = new LoginLimiter(config.loginAttempts, config.loginWindowMs);
    this.payments = new Payments(this);
    this.reconciler = new Reconciler(this);
    this.#hooks = {
      credit: (link, deposit) => this.#credit(link, deposit),
      chargeGetDepositsFee: (link, fee) => this.#chargeFee(link, fee),
      afterCredit: (link) => this.reconciler.schedule(link),
    };
  }

  static async open(config: Readonly<BankConfig>, options: BankOptions): Promise<Bank> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const caPem = config.caPath ? await readFile(config.caPath, 'utf8') : undefined;
    const db = openDatabase(join(config.dataDir, 'bank.sqlite'));
    try {
      const vault = await Vault.open(db, config.secret);
      const bank = new Bank(config, options, db, vault, caPem);
      bank.customers.ensureOperator(config.operatorName, config.operatorPasswordHash);
      await bank.#startLinks();
      bank.payments.recoverAtStart();
      bank.reconciler.start(config.reconcileIntervalMs);
      return bank;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async #startLinks(): Promise<void> {
    for (const currency of this.currencies.list) {
      // one key per issuer: what the bank is at one issuer tells nothing about it at another
      const file = join(this.config.dataDir, 'keys', `${createHash('sha256').update(currency.wsdl).digest('hex').slice(0, 16)}.pem`);
      const { identity, created } = await loadOrCreateIdentity(file, generateIdentity);
      if (created) this.log.info({ issuer: currency.wsdl, entityId: identity.id }, 'new bank key for this issuer');
      const link = await this.#link(identity, currency, { kind: 'bank' });
      this.bankLinks.set(currency.id, link);
      if (this.config.collect === 'continuous') link.start();
    }
    for (const customer of this.customers.transparent()) await this.startTransparent(customer);
  }

  async #link(identity: Identity, currency: Currency, owner: HolderLink['owner']): Promise<HolderLink> {
    return new HolderLink({
      entityId: identity.id,
      owner,
      credentials: { certPem: await createHolderCertificate(identity), keyPem: privateKeyPem(identity) },
      currency,
      stateDir: join(this.config.dataDir, 'holders'),
      ...(this.caPem ? { caPem: this.caPem } : {}),
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      collectWaitMs: this.config.collectWaitMs,
      hooks: this.#hooks,
      log: this.log,
    });
  }

  /** Puts a transparent customer's key to work at every issuer (deposits are collected from then on). */
  async startTransparent(customer: Customer): Promise<void> {
    if (this.customerLinks.has(customer.id)) return;
    const identity = this.customers.identity(customer);
    const links = new Map<bigint, HolderLink>();
    this.customerLinks.set(customer.id, links);
    for (const currency of this.currencies.list) {
      const link = await this.#link(identity, currency, { kind: 'customer', customerId: customer.id });
      links.set(currency.id, link);
      if (this.config.collect === 'continuous') link.start();
    }
  }

  async stopTransparent(customer: Customer): Promise<void> {
    const links = this.customerLinks.get(customer.id);
    this.customerLinks.delete(customer.id);
    if (links) await Promise.all([...links.values()].map((l) => l.close()));
  }

  bankEntity(currency: Currency): string {
    const link = this.bankLinks.get(currency.id);
    if (!link) throw new Error(`no bank key for ${currency.wsdl}`);
    return link.entityId;
  }

  /** The key a customer's money is held under at this issuer: the bank's (opaque) or their own (transparent). */
  holderOf(customer: Customer, currency: Currency): string {
    if (customer.kind === 'transparent') {
      if (!customer.entityId) throw new Error('a transparent customer without a key');
      return customer.entityId;
    }
    return this.bankEntity(currency);
  }

  linkFor(customer: Customer, currency: Currency): HolderLink | undefined {
    if (customer.kind === 'transparent') return this.customerLinks.get(customer.id)?.get(currency.id);
    return this.bankLinks.get(currency.id);
  }

  allLinks(): HolderLink[] {
    return [...this.bankLinks.values(), ...[...this.customerLinks.values()].flatMap((m) => [...m.values()])];
  }

  customerAccount(customer: Customer, currency: Currency): AccountRef {
    return { currencyId: currency.id, holder: this.holderOf(customer, currency), kind: 'customer', customerId: customer.id };
  }

  balances(customer: Customer): { currency: Currency; balance: bigint }[] {
    if (customer.kind === 'operator') return [];
    return this.currencies.list.map((currency) => ({ currency, balance: this.ledger.balance(this.customerAccount(customer, currency)) }));
  }

  history(customer: Customer, options: { currencyId?: bigint; direction?: 'in' | 'out'; limit?: number } = {}): PaymentRow[] {
    return this.db
      .prepare(
        `SELECT * FROM payments WHERE customer_id = ? AND (? IS NULL OR currency_id = ?) AND (? IS NULL OR direction = ?)
         ORDER BY id DESC LIMIT ?`,
      )
      .all(customer.id, options.currencyId ?? null, options.currencyId ?? null, options.direction ?? null, options.direction ?? null, options.limit ?? 100) as PaymentRow[];
  }

  payment(id: bigint): PaymentRow | undefined {
    return this.db.prepare('SELECT * FROM payments WHERE id = ?').get(id) as PaymentRow | undefined;
  }

  /** The first credited incoming payment with this transactionId to this customer in this currency. */
  incoming(customer: Customer, currency: Currency, transactionId: string): PaymentRow | undefined {
    return this.db
      .prepare(
        `SELECT * FROM payments WHERE customer_id = ? AND currency_id = ? AND transaction_id = ? AND direction = 'in' AND status = 'completed'
         ORDER BY id LIMIT 1`,
      )
      .get(customer.id, currency.id, transactionId) as PaymentRow | undefined;
  }

  /** GET /.well-known/lcp/names/{name}: the accounts that reach this customer. */
  nameDocument(local: string): NameDocument | undefined {
    const customer = this.customers.byName(local);
    if (!customer || customer.closedAt || customer.kind === 'operator') return undefined;
    const name = `${customer.name}@${this.config.domain}`;
    if (customer.kind === 'transparent') {
      return { name, accounts: this.currencies.list.map((c) => ({ wsdl: c.wsdl, entityId: customer.entityId as NameDocument['accounts'][number]['entityId'] })) };
    }
    return {
      name,
      userid: customer.name,
      accounts: this.currencies.list.map((c) => ({ wsdl: c.wsdl, entityId: this.bankEntity(c) as NameDocument['accounts'][number]['entityId'] })),
    };
  }

  nameFor(userid: string): string {
    return `${userid}@${this.config.domain}`;
  }

  /** Sends the customer's open pages and waiting agents the news about a payment. */
  notify(paymentId: bigint): void {
    const row = this.payment(paymentId);
    if (!row?.customer_id) return;
    const customer = this.customers.byId(row.customer_id);
    const currency = this.currencies.byId(row.currency_id);
    if (!customer) return;
    const event: PaymentEvent = {
      type: 'payment',
      paymentId: String(row.id),
      direction: row.direction,
      status: row.status,
      currency: currency.wsdl,
      currencyName: currency.name,
      transactionId: row.transaction_id,
      amount: format(row.amount, currency),
      balance: format(this.ledger.balance(this.customerAccount(customer, currency)), currency),
      at: row.completed_at ?? row.created_at,
    };
    this.events.emit(customer.id, event);
  }

  /** Books one deposit to the key of `link` (idempotent by its sequence). */
  #credit(link: HolderLink, deposit: Deposit): void {
    const currency = link.currency;
    const book = this.db.transaction((): bigint | undefined => {
      if (
        deposit.sequence !== undefined &&
        this.db.prepare('SELECT 1 FROM payments WHERE holder = ? AND currency_id = ? AND sequence = ?').get(link.entityId, currency.id, deposit.sequence)
      ) {
        return undefined;
      }
      let customer: Customer | undefined;
      let note: string | null = null;
      if (link.owner.kind === 'bank') {
        const named = deposit.userid ? this.customers.byName(deposit.userid) : undefined;
        if (named && named.kind === 'opaque' && !named.closedAt) customer = named;
        else if (!deposit.userid) note = 'no userid';
        else if (!named || named.kind === 'operator') note = `unknown userid ${deposit.userid}`;
        else if (named.closedAt) note = `userid ${deposit.userid} is a closed account`;
        else note = `userid ${deposit.userid} banks transparently (own key)`;
      } else {
        customer = link.owner.customerId === undefined ? undefined : this.customers.byId(link.owner.customerId);
        if (!customer) throw new Error('a customer link without its customer');
      }
      const at = nowIso();
      const { id } = this.db
        .prepare(
          `INSERT INTO payments (customer_id, currency_id, holder, direction, status, transaction_id, userid, amount, sequence, note, created_at, completed_at)
           VALUES (?, ?, ?, 'in', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(
          customer?.id ?? null,
          currency.id,
          link.entityId,
          customer ? 'completed' : 'held',
          deposit.transactionId,
          deposit.userid ?? null,
          deposit.amount,
          deposit.sequence ?? null,
          note,
          at,
          at,
        ) as { id: bigint };
      const issuer: AccountRef = { currencyId: currency.id, holder: link.entityId, kind: 'issuer' };
      const to: AccountRef = customer
        ? { currencyId: currency.id, holder: link.entityId, kind: 'customer', customerId: customer.id }
        : { currencyId: currency.id, holder: link.entityId, kind: 'held' };
      this.ledger.post({ currencyId: currency.id, holder: link.entityId, kind: customer ? 'deposit' : 'held-deposit', paymentId: id }, [
        [issuer, -deposit.amount],
        [to, deposit.amount],
      ]);
      if (!customer) this.log.warn({ issuer: currency.wsdl, transactionId: deposit.transactionId, note }, 'deposit held for the operator');
      return id;
    });
    const paymentId = book();
    if (paymentId !== undefined) this.notify(paymentId);
  }

  /** The issuer's getDeposits fee: the bank's expense for its own key, the customer's for theirs. */
  #chargeFee(link: HolderLink, fee: bigint): void {
    const currency = link.currency;
    const payer: AccountRef =
      link.owner.kind === 'bank'
        ? { currencyId: currency.id, holder: link.entityId, kind: 'income' }
        : { currencyId: currency.id, holder: link.entityId, kind: 'customer', customerId: link.owner.customerId as bigint };
    this.db.transaction(() =>
      this.ledger.post(
        { currencyId: currency.id, holder: link.entityId, kind: 'getdeposits-fee' },
        [
          [payer, -fee],
          [{ currencyId: currency.id, holder: link.entityId, kind: 'issuer' }, fee],
        ],
        ['customer'],
      ),
    )();
  }

  /** Operator: a held deposit goes to an opaque customer's sub-account. */
  assignHeld(paymentId: bigint, name: string): true | string {
    const customer = this.customers.byName(name);
    if (!customer || customer.kind !== 'opaque' || customer.closedAt) return `${name} is not an open opaque customer`;
    const done = this.db.transaction((): true | string => {
      const row = this.payment(paymentId);
      if (!row || row.status !== 'held') return 'no such held deposit';
      const base = { currencyId: row.currency_id, holder: row.holder };
      this.ledger.post({ ...base, kind: 'assign-held', paymentId, memo: `assigned to ${customer.name}` }, [
        [{ ...base, kind: 'held' }, -row.amount],
        [{ ...base, kind: 'customer', customerId: customer.id }, row.amount],
      ]);
      this.db
        .prepare("UPDATE payments SET customer_id = ?, status = 'completed', note = ?, completed_at = ? WHERE id = ?")
        .run(customer.id, `held (${row.note ?? 'no userid'}), assigned by the operator`, nowIso(), paymentId);
      return true;
    })();
    if (done === true) this.notify(paymentId);
    return done;
  }

  /** Operator: a held deposit that belongs to nobody becomes the bank's own money, on the record. */
  takeHeld(paymentId: bigint): true | string {
    return this.db.transaction((): true | string => {
      const row = this.payment(paymentId);
      if (!row || row.status !== 'held') return 'no such held deposit';
      const base = { currencyId: row.currency_id, holder: row.holder };
      this.ledger.post({ ...base, kind: 'held-to-income', paymentId }, [
        [{ ...base, kind: 'held' }, -row.amount],
        [{ ...base, kind: 'income' }, row.amount],
      ]);
      this.db.prepare("UPDATE payments SET status = 'taken', completed_at = ? WHERE id = ?").run(nowIso(), paymentId);
      return true;
    })();
  }

  held(): PaymentRow[] {
    return this.db.prepare("SELECT * FROM payments WHERE status = 'held' ORDER BY id").all() as PaymentRow[];
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.reconciler.stop();
    await Promise.all(this.allLinks().map((l) => l.close()));
    await this.reconciler.idle();
    this.db.close();
  }
}
