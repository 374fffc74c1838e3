// Prints the demo: numbered steps, the SOAP bodies as they crossed the wire, balances.
import { formatAmount } from '@lcp/protocol';

let useColor = false;
/** Colour only on a terminal that did not ask for NO_COLOR (decided in main.ts). */
export const setColor = (on: boolean): void => void (useColor = on);
const paint = (code: string) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = paint('1');
export const dim = paint('2');
const cyan = paint('36');

/** Indents XML one element per line; enough for LCP's small, flat messages. */
export function prettyXml(xml: string): string {
  const body = /<(?:\w+:)?Body[^>]*>([\s\S]*)<\/(?:\w+:)?Body>/.exec(xml)?.[1] ?? xml;
  const tokens = body.replace(/>\s+</g, '><').split(/(?=<)|(?<=>)/).filter((t) => t.trim());
  const lines: string[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token.startsWith('</')) {
      depth--;
      lines.push('  '.repeat(depth) + token);
    } else if (token.startsWith('<') && !token.endsWith('/>')) {
      const text = tokens[i + 1];
      const close = tokens[i + 2];
      if (text && !text.startsWith('<') && close?.startsWith('</')) {
        lines.push('  '.repeat(depth) + token + text + close);
        i += 2;
      } else {
        lines.push('  '.repeat(depth) + token);
        depth++;
      }
    } else {
      lines.push('  '.repeat(depth) + token);
    }
  }
  return lines.join('\n');
}

export class Narrator {
  constructor(
    private readonly scale: number,
    private readonly out: (line: string) => void = console.log,
  ) {}

  title(text: string): void {
    this.out(`\n${bold(text)}\n`);
  }

  note(text: string): void {
    this.out(`  ${text}`);
  }

  step(number: string, who: string, what: string, code: string): void {
    this.out(`\n${bold(`(${number})`)} ${bold(who)}  ${what}\n    ${dim(`code: ${code}`)}`);
  }

  message(xml: string): void {
    this.out(cyan(prettyXml(xml).replace(/^/gm, '      ')));
  }

  balances(rows: Array<[string, bigint]>): void {
    const sum = rows.reduce((total, [, value]) => total + value, 0n);
    const cells = rows.map(([name, value]) => `${name} ${formatAmount(value, this.scale)}`);
    this.out(`    ${dim('balances')}  ${cells.join('   ')}   ${dim(`sum ${formatAmount(sum, this.scale)}`)}`);
  }
}
