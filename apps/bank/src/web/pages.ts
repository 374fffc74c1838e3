// Server-rendered pages. Every form has labels, errors are listed at the top and next to the
// field, and everything works without JavaScript except the live list of incoming payments.
import type { Bank, PaymentRow } from '../bank.js';
import { format, type Currency } from '../currencies.js';
import type { Customer } from '../customers.js';
import { PROBLEMS, type Problem } from '../problems.js';
import type { ReconciliationReport } from '../reconciliation.js';
import { SCOPES, type Token } from '../tokens.js';
import { html, raw, type Html } from './html.js';

export interface PageContext {
  bank: Bank;
  customer?: Customer;
  csrf: string;
  path: string;
  flash?: string;
}

export const when = (iso: string | null | undefined): string => (iso ? `${iso.replace('T', ' ').slice(0, 19)} UTC` : '');
const short = (key: string | null | undefined): string => (key ? `${key.slice(0, 10)}…${key.slice(-6)}` : '');

const csrfField = (ctx: PageContext): Html => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;

function nav(ctx: PageContext): Html {
  const c = ctx.customer;
  const link = (href: string, text: string) => html`<li><a href="${href}"${ctx.path === href ? raw(' aria-current="page"') : ''}>${text}</a></li>`;
  if (!c) return html`<ul>${link('/signin', 'Sign in')}${link('/signup', 'Open an account')}</ul>`;
  const items =
    c.kind === 'operator'
      ? [link('/operator', 'Operator'), link('/tokens', 'Agents')]
      : [link('/dashboard', 'Dashboard'), link('/send', 'Send'), link('/history', 'History'), link('/tokens', 'Agents'), ...(c.kind === 'transparent' ? [link('/key', 'Your key')] : [])];
  return html`<ul>${items}<li><form class="inline" method="post" action="/signout">${csrfField(ctx)}<button type="submit">Sign out ${c.name}</button></form></li></ul>`;
}

export function layout(ctx: PageContext, title: string, body: Html, lead?: Html | string): string {
  const domain = ctx.bank.config.domain;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${domain}</title><link rel="stylesheet" href="/static/style.css"><script src="/static/app.js" defer></script></head>
<body><a class="skip" href="#main">Skip to the content</a>
<header><div class="bar"><a class="brand" href="/">${domain}</a><nav aria-label="Main">${nav(ctx)}</nav></div></header>
<main id="main">${ctx.flash ? html`<div class="notice" role="status">${ctx.flash}</div>` : ''}<h1>${title}</h1>${lead ? html`<p class="lead">${lead}</p>` : ''}${body}</main>
<footer>${domain} banks Lightweight Currency (Turner &amp; Ross, section 5.1): opaque accounts under the bank's key, or transparent ones under your own.</footer>
</body></html>`}`;
}

function errorSummary(p: Problem | undefined): Html {
  if (!p) return html``;
  return html`<div class="error" role="alert" id="form-error"><strong>${PROBLEMS[p.problem].title}.</strong> ${p.detail}</div>`;
}

const invalid = (p: Problem | undefined, field: string): Html =>
  p?.extra?.field === field ? raw(' aria-invalid="true" aria-describedby="form-error"') : raw('');

export function signInPage(ctx: PageContext, state: { problem?: Problem; name?: string } = {}): string {
  return layout(
    ctx,
    'Sign in',
    html`${errorSummary(state.problem)}
<form class="stack" method="post" action="/signin">${csrfField(ctx)}
  <div><label for="name">Name</label><input type="text" id="name" name="name" autocomplete="username" required value="${state.name ?? ''}"${invalid(state.problem, 'name')}>
  <p class="hint">Your name at ${ctx.bank.config.domain}, without "@${ctx.bank.config.domain}".</p></div>
  <div><label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required></div>
  <div><button type="submit">Sign in</button></div>
</form>
<p>New here? <a href="/signup">Open an account</a>.</p>`,
    'Your Lightweight Currency accounts, in one place.',
  );
}

export function signUpPage(ctx: PageContext, state: { problem?: Problem; name?: string; kind?: string } = {}): string {
  const domain = ctx.bank.config.domain;
  const kind = state.kind === 'transparent' ? 'transparent' : 'opaque';
  return layout(
    ctx,
    'Open an account',
    html`${errorSummary(state.problem)}
<form class="stack" method="post" action="/signup">${csrfField(ctx)}
  <div><label for="name">Name</label><input type="text" id="name" name="name" autocomplete="username" required maxlength="32" pattern="[a-z0-9][a-z0-9._-]*" value="${state.name ?? ''}" aria-describedby="name-hint"${invalid(state.problem, 'name')}>
  <p class="hint" id="name-hint">People pay you at <strong>name@${domain}</strong>. Lowercase letters, digits, dots, dashes, underscores.</p></div>
  <div><label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" required minlength="10" aria-describedby="password-hint"${invalid(state.problem, 'password')}>
  <p class="hint" id="password-hint">At least 10 characters.</p></div>
  <div><label for="confirm">Password again</label><input type="password" id="confirm" name="confirm" autocomplete="new-password" required${invalid(state.problem, 'confirm')}></div>
  <fieldset><legend>Kind of account</legend>
    <label class="choice"><input type="radio" name="kind" value="opaque"${kind === 'opaque' ? raw(' checked') : ''}> <span><strong>Opaque</strong> (simplest): your money is held under the bank's key, in your sub-account. Payers send to the bank's key with your name as the userid.</span></label>
    <label class="choice"><input type="radio" name="kind" value="transparent"${kind === 'transparent' ? raw(' checked') : ''}> <span><strong>Transparent</strong>: you get a key of your own; the bank keeps it encrypted and acts for you. You can take the key and leave at any time.</span></label>
  </fieldset>
  <div><button type="submit">Open the account</button></div>
</form>
<p>Have an account? <a href="/signin">Sign in</a>.</p>`,
  );
}

function balanceCards(ctx: PageContext, customer: Customer): Html {
  return html`<div class="cards">${ctx.bank.balances(customer).map(
    ({ currency, balance }) =>
      html`<div class="card"><div class="muted">${currency.name}</div><div class="big" data-balance="${currency.wsdl}">${format(balance, currency)}</div><div class="hint" title="${currency.wsdl}">issuer: <code>${currency.wsdl}</code></div></div>`,
  )}</div>`;
}

function incomingRows(ctx: PageContext, rows: PaymentRow[]): Html {
  if (rows.length === 0) return html`<tr id="incoming-empty"><td colspan="4">No payments have arrived yet.</td></tr>`;
  return html`${rows.map((r) => {
    const currency = ctx.bank.currencies.byId(r.currency_id);
    return html`<tr data-transaction-id="${r.transaction_id}"><td>${when(r.completed_at ?? r.created_at)}</td><td>${currency.name}</td><td><code>${r.transaction_id}</code></td><td class="amount">${format(r.amount, currency)}</td></tr>`;
  })}`;
}

export function dashboardPage(ctx: PageContext, customer: Customer): string {
  const bank = ctx.bank;
  const name = bank.nameFor(customer.name);
  const incoming = bank.history(customer, { direction: 'in', limit: 10 }).filter((r) => r.status === 'completed');
  const howToPay = bank.currencies.list.map((c) => {
    const key = bank.holderOf(customer, c);
    return html`<li>${c.name}: key <code class="key">${key}</code>${customer.kind === 'opaque' ? html` with userid <code>${customer.name}</code>` : ''}</li>`;
  });
  return layout(
    ctx,
    `Hello, ${customer.name}`,
    html`<p>Your payment name is <strong><code>${name}</code></strong>. Anyone can pay you by entering it in their application.</p>
<h2>Balances</h2>${balanceCards(ctx, customer)}
<p><a class="button" href="/send">Send a payment</a></p>
<h2 id="incoming-heading">Incoming payments</h2>
<p id="live-status" class="muted">New payments appear when you reload this page.</p>
<div id="live-announce" class="visually-hidden" aria-live="polite"></div>
<table aria-labelledby="incoming-heading"><thead><tr><th scope="col">Received</th><th scope="col">Currency</th><th scope="col">Transaction ID</th><th scope="col" class="amount">Amount</th></tr></thead>
<tbody id="incoming">${incomingRows(ctx, incoming)}</tbody></table>
<p><a href="/history">All activity and statements</a></p>
<details><summary>How payers reach you without your name</summary>
<p>${customer.kind === 'opaque' ? 'You bank opaquely: payments go to the bank\u2019s key with your userid.' : 'You bank transparently: payments go to your own key.'} Payers whose software cannot look up names can use:</p>
<ul>${howToPay}</ul>
<p class="hint">Name lookup: <code>${bank.config.publicUrl}/.well-known/lcp/names/${customer.name}</code></p></details>`,
    customer.kind === 'transparent' ? 'Transparent account: your own key, kept encrypted by the bank.' : 'Opaque account: held under the bank\u2019s key.',
  );
}

function currencyOptions(ctx: PageContext, selected?: string): Html {
  return html`${ctx.bank.currencies.list.map((c) => html`<option value="${c.wsdl}"${selected === c.wsdl ? raw(' selected') : ''}>${c.name}</option>`)}`;
}

export function sendPage(ctx: PageContext, customer: Customer, state: { problem?: Problem; values?: Record<string, string> } = {}): string {
  const v = state.values ?? {};
  const domain = ctx.bank.config.domain;
  return layout(
    ctx,
    'Send a payment',
    html`${balanceCards(ctx, customer)}${errorSummary(state.problem)}
<form class="stack" method="post" action="/send">${csrfField(ctx)}
  <div><label for="to">To</label><input type="text" id="to" name="to" required value="${v.to ?? ''}" aria-describedby="to-hint"${invalid(state.problem, 'to')}>
  <p class="hint" id="to-hint">A name such as <code>alice@${domain}</code>, or a public key (64 hex characters).</p></div>
  <div><label for="currency">Currency</label><select id="currency" name="currency">${currencyOptions(ctx, v.currency)}</select></div>
  <div><label for="amount">Amount</label><input type="text" id="amount" name="amount" inputmode="decimal" required value="${v.amount ?? ''}" aria-describedby="amount-hint"${invalid(state.problem, 'amount')}>
  <p class="hint" id="amount-hint">A decimal such as 12.50. The issuer's fee${customer.kind === 'opaque' ? ' (and the bank\u2019s, if any)' : ''} is added on top.</p></div>
  <div><label for="transactionId">Transaction ID (optional)</label><input type="text" id="transactionId" name="transactionId" maxlength="128" value="${v.transactionId ?? ''}" aria-describedby="tx-hint"${invalid(state.problem, 'transactionId')}>
  <p class="hint" id="tx-hint">The reference you agreed with the payee; one is made up if you leave it empty.</p></div>
  <details${v.userid ? raw(' open') : ''}><summary>Paying a key at an opaque bank?</summary>
  <div><label for="userid">Userid (optional)</label><input type="text" id="userid" name="userid" maxlength="64" value="${v.userid ?? ''}"${invalid(state.problem, 'userid')}>
  <p class="hint">Only with a key: the customer's name at the bank that holds that key.</p></div></details>
  <div><button type="submit">Send</button></div>
</form>`,
  );
}

const statusText: Record<string, string> = {
  completed: 'Completed',
  failed: 'Not paid',
  sending: 'Waiting for the issuer\u2019s answer',
  reserved: 'Being sent',
  unknown: 'Outcome unknown (the operator is told)',
  held: 'Held',
  taken: 'Taken',
};

export function receiptPage(ctx: PageContext, row: PaymentRow): string {
  const currency = ctx.bank.currencies.byId(row.currency_id);
  const cls = row.status === 'completed' ? 'status-ok' : row.status === 'failed' ? 'status-bad' : 'status-warn';
  return layout(
    ctx,
    row.direction === 'out' ? 'Payment sent' : 'Payment received',
    html`<table><tbody>
<tr><th scope="row">Status</th><td class="${cls}">${statusText[row.status] ?? row.status}${row.result && row.result !== 'success' ? html` (${row.result})` : ''}</td></tr>
<tr><th scope="row">${row.direction === 'out' ? 'To' : 'From'}</th><td>${row.to_name ? html`<code>${row.to_name}</code> ` : ''}${row.recipient ? html`<code class="key">${row.recipient}</code>` : ''}${row.direction === 'out' && row.userid ? html` userid <code>${row.userid}</code>` : ''}${row.note ? html` ${row.note}` : ''}</td></tr>
<tr><th scope="row">Amount</th><td>${format(row.amount, currency)} ${currency.name}</td></tr>
${row.direction === 'out' ? html`<tr><th scope="row">Issuer's fee</th><td>${format(row.lcp_fee, currency)}</td></tr><tr><th scope="row">Bank's fee</th><td>${format(row.status === 'completed' ? row.bank_fee : 0n, currency)}</td></tr>` : ''}
<tr><th scope="row">Transaction ID</th><td><code>${row.transaction_id}</code></td></tr>
<tr><th scope="row">Time</th><td>${when(row.completed_at ?? row.created_at)}</td></tr>
</tbody></table>
<p><a class="button" href="/send">Send another</a> <a href="/history">History</a></p>`,
  );
}

export function historyPage(ctx: PageContext, customer: Customer, currency: Currency | undefined): string {
  const bank = ctx.bank;
  const rows = bank.history(customer, { ...(currency ? { currencyId: currency.id } : {}), limit: 500 });
  const filter = html`<form method="get" action="/history"><label for="currency">Currency</label>
<select id="currency" name="currency"><option value="">All</option>${bank.currencies.list.map((c) => html`<option value="${c.id}"${currency?.id === c.id ? raw(' selected') : ''}>${c.name}</option>`)}</select>
<button type="submit" class="secondary">Show</button></form>`;
  const body = rows.map((r) => {
    const c = bank.currencies.byId(r.currency_id);
    const sign = r.direction === 'out' ? '−' : '+';
    return html`<tr><td>${when(r.completed_at ?? r.created_at)}</td><td>${r.direction === 'out' ? 'Sent' : 'Received'}</td><td>${r.direction === 'out' ? html`<code>${r.to_name ?? short(r.recipient)}</code>` : (r.note ?? '')}</td><td><a href="/payments/${r.id}"><code>${r.transaction_id}</code></a></td><td>${c.name}</td><td class="amount">${sign}${format(r.amount, c)}</td><td class="amount">${r.direction === 'out' ? format(r.lcp_fee + (r.status === 'completed' ? r.bank_fee : 0n), c) : ''}</td><td>${statusText[r.status] ?? r.status}</td></tr>`;
  });
  return layout(
    ctx,
    'History',
    html`${filter}
<h2>Statements</h2><ul>${bank.currencies.list.map((c) => html`<li><a href="/statement.csv?currency=${c.id}" download>${c.name} statement (CSV)</a></li>`)}</ul>
<h2>Payments</h2>
<table><thead><tr><th scope="col">Time</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Transaction ID</th><th scope="col">Currency</th><th scope="col" class="amount">Amount</th><th scope="col" class="amount">Fees</th><th scope="col">Status</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="8">Nothing yet.</td></tr>` : body}</tbody></table>`,
  );
}

export function tokensPage(ctx: PageContext, customer: Customer, state: { created?: { secret: string; token: Token }; problem?: Problem; values?: Record<string, string> } = {}): string {
  const bank = ctx.bank;
  const tokens = bank.tokens.list(customer.id);
  const scopes = (Object.keys(SCOPES) as (keyof typeof SCOPES)[]).filter((s) => (s === 'operator') === (customer.kind === 'operator'));
  const created = state.created
    ? html`<div class="secret" role="status"><h2 class="flush">Token for ${state.created.token.label}</h2>
<p>Copy it into the application now. It is shown only this once.</p>
<p><label for="new-token">Token</label><input type="text" id="new-token" readonly value="${state.created.secret}"></p></div>`
    : '';
  const rows = tokens.map((t) => {
    const limits = t.limits.map((l) => {
      const c = bank.currencies.byId(l.currencyId);
      return html`<div>at most ${format(l.dailyMax, c)} ${c.name} a day (${format(bank.tokens.spentToday(t.id, c.id), c)} today)</div>`;
    });
    const uses = bank.tokens.uses(t.id, 10);
    return html`<tr data-token="${t.id}"><td><strong>${t.label}</strong><div class="hint"><code>${t.prefix}…</code> made ${when(t.createdAt)}</div></td>
<td>${t.scopes.map((s) => html`<div>${SCOPES[s]} <code>${s}</code></div>`)}${limits}</td>
<td>${t.uses.toString()} use${t.uses === 1n ? '' : 's'}${t.lastUsedAt ? html`<div class="hint">last ${when(t.lastUsedAt)}</div>` : ''}
${uses.length > 0 ? html`<details><summary>Recent uses</summary><ul>${uses.map((u) => html`<li>${when(u.at)} ${u.method} <code>${u.path}</code> → ${u.status}${u.detail ? html` (${u.detail})` : ''}</li>`)}</ul></details>` : ''}</td>
<td>${t.revokedAt ? html`<span class="status-bad">Revoked</span><div class="hint">${when(t.revokedAt)}</div>` : html`<form class="inline" method="post" action="/tokens/${t.id}/revoke">${csrfField(ctx)}<button type="submit" class="danger" aria-label="Revoke ${t.label}">Revoke</button></form>`}</td></tr>`;
  });
  const v = state.values ?? {};
  return layout(
    ctx,
    'Agents',
    html`${created}${errorSummary(state.problem)}
<p>Give an application (a storage node, a media player) its own token, with only the rights it needs. It calls the <a href="/api/openapi.json">bank's API</a> with <code>Authorization: Bearer &lt;token&gt;</code>. You can see its use and revoke it here.</p>
<h2>Tokens</h2>
<table><thead><tr><th scope="col">Application</th><th scope="col">Rights</th><th scope="col">Use</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${tokens.length === 0 ? html`<tr><td colspan="4">No tokens yet.</td></tr>` : rows}</tbody></table>
<h2>New token</h2>
<form class="stack" method="post" action="/tokens">${csrfField(ctx)}
  <div><label for="label">Application</label><input type="text" id="label" name="label" required maxlength="60" value="${v.label ?? ''}" aria-describedby="label-hint"${invalid(state.problem, 'label')}>
  <p class="hint" id="label-hint">A name to recognise it by, e.g. "storage node on my laptop".</p></div>
  <fieldset><legend>Rights</legend>${scopes.map(
    (s) => html`<label class="choice"><input type="checkbox" name="scope" value="${s}"${(v.scopes ?? '').split(' ').includes(s) ? raw(' checked') : ''}> <span>${SCOPES[s]} <code>${s}</code></span></label>`,
  )}</fieldset>
  ${customer.kind === 'operator' ? '' : html`<fieldset><legend>Daily limit (for "send payments")</legend>
    <div><label for="limit">At most, per day (UTC)</label><input type="text" id="limit" name="limit" inputmode="decimal" value="${v.limit ?? ''}"${invalid(state.problem, 'limit')}></div>
    <div><label for="limit-currency">In currency</label><select id="limit-currency" name="limitCurrency">${currencyOptions(ctx, v.limitCurrency)}</select></div>
  </fieldset>`}
  <div><button type="submit">Create the token</button></div>
</form>`,
  );
}

export function keyPage(ctx: PageContext, customer: Customer, state: { problem?: Problem } = {}): string {
  return layout(
    ctx,
    'Your key',
    html`${errorSummary(state.problem)}
<p>You bank transparently: your identity at every issuer is this Ed25519 public key.</p>
<p><code class="key">${customer.entityId}</code></p>
<p>The bank keeps the private key encrypted (AES-256-GCM) and uses it only to act for you.</p>
<h2>Export the private key</h2>
<p>You get a PEM file (PKCS#8). Anyone who has it can spend your money: keep it safe.</p>
<form class="stack" method="post" action="/key/export">${csrfField(ctx)}
  <div><label for="export-password">Your password</label><input type="password" id="export-password" name="password" autocomplete="current-password" required></div>
  <div><button type="submit">Download the key</button></div>
</form>
<h2>Leave the bank</h2>
<p>The bank erases its copy of your key and closes the account. Your money stays at the issuers, under your key: export the key first.</p>
<form class="stack" method="post" action="/key/leave">${csrfField(ctx)}
  <div><label for="leave-password">Your password</label><input type="password" id="leave-password" name="password" autocomplete="current-password" required></div>
  <label class="choice"><input type="checkbox" name="confirm" value="yes" required> <span>I have exported my key. Close my account.</span></label>
  <div><button type="submit" class="danger">Close my account</button></div>
</form>`,
  );
}

export function goodbyePage(ctx: PageContext, entityId: string): string {
  return layout(ctx, 'Your account is closed', html`<p>The bank no longer holds your key. Your money stays at the issuers under your key:</p><p><code class="key">${entityId}</code></p><p><a href="/signup">Open a new account</a></p>`);
}

const checkClass = (status: string): string => (status === 'ok' ? 'status-ok' : status === 'mismatch' ? 'status-bad' : 'status-warn');

export function operatorPage(ctx: PageContext, report: ReconciliationReport, state: { problem?: Problem } = {}): string {
  const bank = ctx.bank;
  const own = report.holders.filter((h) => h.owner === 'bank');
  const theirs = report.holders.filter((h) => h.owner === 'customer');
  const held = bank.held();
  const unknown = bank.db.prepare("SELECT * FROM payments WHERE status = 'unknown' ORDER BY id").all() as PaymentRow[];
  const counts = bank.customers.count();
  const amountOr = (v: bigint | undefined, c: Currency) => (v === undefined ? '—' : format(v, c));
  return layout(
    ctx,
    'Operator',
    html`${errorSummary(state.problem)}
<div class="cards">
<div class="card"><div class="muted">Double-entry sum checks</div><div class="big ${report.ledger.balanced ? 'status-ok' : 'status-bad'}">${report.ledger.balanced ? 'Balanced' : 'BROKEN'}</div>${report.ledger.problems.map((p) => html`<div class="hint">${p}</div>`)}</div>
<div class="card"><div class="muted">Held deposits</div><div class="big">${report.held}</div></div>
<div class="card"><div class="muted">Payments with unknown outcome</div><div class="big">${report.unknownPayments}</div></div>
<div class="card"><div class="muted">Customers</div><div class="big">${counts.opaque + counts.transparent}</div><div class="hint">${counts.opaque} opaque, ${counts.transparent} transparent</div></div>
</div>
<form method="post" action="/operator/check">${csrfField(ctx)}<button type="submit" class="secondary">Check every issuer now</button></form>
<h2>Reconciliation: the bank's key at each issuer</h2>
<p class="hint">Customers + held + fee income + in flight must equal the balance the issuer reports (counting deposits the issuer has and the books have not booked yet).</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Issuer</th><th scope="col">Status</th><th scope="col" class="amount">Customers</th><th scope="col" class="amount">Held</th><th scope="col" class="amount">Fee income</th><th scope="col" class="amount">In flight</th><th scope="col" class="amount">Books</th><th scope="col" class="amount">Issuer balance</th><th scope="col" class="amount">Difference</th></tr></thead>
<tbody>${own.map(
      (h) =>
        html`<tr><td>${h.currency.name}<div class="hint"><code class="key">${short(h.holder)}</code></div></td><td class="${checkClass(h.status)}">${h.status}<div class="hint">${h.checkedAt ? `at ${h.checkedAt.slice(11, 19)}` : 'not yet checked'}</div>${h.detail ? html`<div class="hint">${h.detail}</div>` : ''}</td>
<td class="amount">${format(h.books.customer, h.currency)}</td><td class="amount">${format(h.books.held, h.currency)}</td><td class="amount">${format(h.books.income, h.currency)}</td><td class="amount">${format(h.books.inFlight, h.currency)}</td>
<td class="amount">${format(-h.books.issuer, h.currency)}</td><td class="amount">${amountOr(h.issuerBalance, h.currency)}</td><td class="amount">${amountOr(h.difference, h.currency)}</td></tr>`,
    )}</tbody></table></div>
<h2>Transparent customers' keys</h2>
${
  theirs.length === 0
    ? html`<p>None.</p>`
    : html`<table><thead><tr><th scope="col">Customer</th><th scope="col">Issuer</th><th scope="col">Status</th><th scope="col" class="amount">Books</th><th scope="col" class="amount">Issuer balance</th><th scope="col" class="amount">Difference</th></tr></thead><tbody>${theirs.map(
        (h) =>
          html`<tr><td>${h.customerName ?? ''}</td><td>${h.currency.name}</td><td class="${checkClass(h.status)}">${h.status}</td><td class="amount">${format(-h.books.issuer, h.currency)}</td><td class="amount">${amountOr(h.issuerBalance, h.currency)}</td><td class="amount">${amountOr(h.difference, h.currency)}</td></tr>`,
      )}</tbody></table>`
}
<h2>Held deposits</h2>
<p class="hint">Deposits to the bank's key whose userid names no customer. They are kept apart until you decide.</p>
${
  held.length === 0
    ? html`<p>None.</p>`
    : html`<table><thead><tr><th scope="col">Received</th><th scope="col">Currency</th><th scope="col">Transaction ID</th><th scope="col">Why held</th><th scope="col" class="amount">Amount</th><th scope="col">Decide</th></tr></thead><tbody>${held.map((r) => {
        const c = bank.currencies.byId(r.currency_id);
        return html`<tr data-held="${r.id}"><td>${when(r.created_at)}</td><td>${c.name}</td><td><code>${r.transaction_id}</code></td><td>${r.note ?? ''}</td><td class="amount">${format(r.amount, c)}</td>
<td><form class="inline" method="post" action="/operator/held/${r.id}/assign">${csrfField(ctx)}<label for="assign-${r.id}" class="visually-hidden">Customer for deposit ${r.transaction_id}</label><input type="text" id="assign-${r.id}" name="name" placeholder="customer name" required class="narrow"> <button type="submit" class="secondary">Credit</button></form>
<form class="inline" method="post" action="/operator/held/${r.id}/take">${csrfField(ctx)}<button type="submit" class="secondary">Book as bank funds</button></form></td></tr>`;
      })}</tbody></table>`
}
<h2>Payments with unknown outcome</h2>
${
  unknown.length === 0
    ? html`<p>None.</p>`
    : html`<ul>${unknown.map((r) => html`<li>#${r.id} ${format(r.amount, bank.currencies.byId(r.currency_id))} to <code>${short(r.recipient)}</code>, transaction <code>${r.transaction_id}</code>: ${r.note ?? ''}</li>`)}</ul>`
}`,
    `Checked ${when(report.at)}.`,
  );
}

export function errorPage(ctx: PageContext, status: number, title: string, detail: string): string {
  return layout(ctx, title, html`<p>${detail}</p><p><a href="/">Go to the start page</a></p>`, `Error ${status}`);
}
