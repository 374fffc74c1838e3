// Draws a run's sequence diagram from the messages the services recorded: Mermaid text (for
// docs and GitHub) and a self-contained SVG (no renderer or browser needed).

export interface Arrow {
  from: string;
  to: string;
  label: string;
}

export function toMermaid(participants: readonly string[], arrows: readonly Arrow[]): string {
  const id = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');
  const lines = ['sequenceDiagram'];
  for (const p of participants) lines.push(`  participant ${id(p)} as ${p}`);
  for (const a of arrows) lines.push(`  ${id(a.from)}->>${id(a.to)}: ${a.label.replace(/[;#]/g, ' ')}`);
  return `${lines.join('\n')}\n`;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toSvg(participants: readonly string[], arrows: readonly Arrow[]): string {
  const column = 190;
  const row = 46;
  const top = 60;
  const width = column * participants.length + 40;
  const height = top + row * (arrows.length + 1) + 20;
  const x = (name: string) => 20 + column * participants.indexOf(name) + column / 2;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    '<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  for (const p of participants) {
    parts.push(
      `<rect x="${x(p) - 70}" y="14" width="140" height="30" rx="4" fill="#eef3fb" stroke="#4a6fa5"/>`,
      `<text x="${x(p)}" y="34" text-anchor="middle" font-weight="bold">${escape(p)}</text>`,
      `<line x1="${x(p)}" y1="44" x2="${x(p)}" y2="${height - 10}" stroke="#999" stroke-dasharray="4 4"/>`,
    );
  }
  arrows.forEach((a, i) => {
    const y = top + row * (i + 1);
    const [x1, x2] = [x(a.from), x(a.to)];
    const mid = (x1 + x2) / 2;
    parts.push(
      `<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -2 : 2)}" y2="${y}" stroke="#333" stroke-width="1.5" marker-end="url(#head)"/>`,
      `<text x="${mid}" y="${y - 7}" text-anchor="middle">${escape(a.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
