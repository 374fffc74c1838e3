// The two static files: a stylesheet and the script that makes incoming payments appear live
// (Server-Sent Events). Every page works without the script; only the live update needs it.
export const STYLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de; --accent: #0b5cad; --ok: #116329; --bad: #a40e26; --warn: #7d4e00; }
* { box-sizing: border-box; }
html { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 2; }
header { background: #0d2a4a; color: #fff; }
header .bar { max-width: 64rem; margin: 0 auto; padding: .75rem 1rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; }
header .brand { font-weight: 700; font-size: 1.2rem; color: #fff; text-decoration: none; }
header nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
header nav a, header nav button { color: #dbe9ff; text-decoration: none; font: inherit; background: none; border: 0; padding: .25rem 0; cursor: pointer; }
header nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
header nav a:hover, header nav button:hover { color: #fff; text-decoration: underline; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 1rem 0; } h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
p.lead { color: var(--muted); margin-top: -.5rem; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.amount, th.amount { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.new td { animation: flash 2s ease-out; }
@keyframes flash { from { background: #fff3b0; } to { background: transparent; } }
code, .key { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; word-break: break-all; }
form.stack { display: grid; gap: 1rem; max-width: 34rem; }
form.inline { display: inline; }
label { font-weight: 600; display: block; margin-bottom: .25rem; }
.hint { color: var(--muted); font-size: .9rem; margin: .15rem 0 0; font-weight: 400; }
input[type=text], input[type=password], input[type=number], select, textarea { width: 100%; font: inherit; padding: .5rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; }
input[aria-invalid=true] { border-color: var(--bad); border-width: 2px; }
fieldset { border: 1px solid var(--line); border-radius: 4px; padding: .75rem 1rem; margin: 0; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .5rem; align-items: flex-start; margin: .35rem 0; font-weight: 400; }
.choice input { margin-top: .35rem; }
button, .button { font: inherit; font-weight: 600; background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .55rem 1.1rem; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #eaeef2; color: var(--fg); border: 1px solid var(--line); }
button.danger { background: var(--bad); }
.notice, .error, .secret { border-radius: 4px; padding: .75rem 1rem; margin: 1rem 0; }
.notice { background: #dafbe1; border: 1px solid #4ac26b; }
.error { background: #ffebe9; border: 1px solid #ff8182; }
.error ul { margin: .25rem 0 0; }
.secret { background: #fff8c5; border: 1px solid #d4a72c; }
.status-ok { color: var(--ok); font-weight: 600; } .status-bad { color: var(--bad); font-weight: 600; } .status-warn { color: var(--warn); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 1rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; background: var(--panel); }
.card .big { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
footer { max-width: 64rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); }
.table-wrap { overflow-x: auto; }
h2.flush { margin-top: 0; }
input.narrow { width: 10rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const APP_JS = `
(function () {
  var table = document.getElementById('incoming');
  if (!table || !window.EventSource) return;
  var status = document.getElementById('live-status');
  var announce = document.getElementById('live-announce');
  var source = new EventSource('/events');
  source.addEventListener('open', function () {
    if (status) status.textContent = 'Live: new payments appear here as they arrive.';
    document.body.setAttribute('data-live', 'on');
  });
  source.addEventListener('error', function () {
    if (status) status.textContent = 'Reconnecting\\u2026 (reload the page to see new payments if this stays)';
  });
  source.addEventListener('payment', function (message) {
    var p = JSON.parse(message.data);
    document.querySelectorAll('[data-balance]').forEach(function (cell) {
      if (cell.getAttribute('data-balance') === p.currency) cell.textContent = p.balance;
    });
    if (p.direction !== 'in' || p.status !== 'completed') return;
    var empty = document.getElementById('incoming-empty');
    if (empty) empty.remove();
    var row = document.createElement('tr');
    row.className = 'new';
    row.setAttribute('data-transaction-id', p.transactionId);
    [p.at.replace('T', ' ').slice(0, 19) + ' UTC', p.currencyName, p.transactionId, p.amount].forEach(function (text, i) {
      var cell = document.createElement('td');
      cell.textContent = text;
      if (i === 3) cell.className = 'amount';
      row.appendChild(cell);
    });
    table.insertBefore(row, table.firstChild);
    if (announce) announce.textContent = 'Received ' + p.amount + ' ' + p.currencyName + ' (transaction ' + p.transactionId + ')';
  });
})();
`;
