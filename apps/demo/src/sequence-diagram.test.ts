import { expect, it } from 'vitest';
import { toMermaid, toSvg } from './sequence-diagram.js';

const arrows = [
  { from: 'Alice', to: 'video.com', label: '(1) negotiate' },
  { from: 'Alice', to: 'money.com', label: '(2) transferFunds <10>' },
];

it('writes Mermaid and SVG with every participant and arrow in order', () => {
  const mermaid = toMermaid(['Alice', 'video.com', 'money.com'], arrows);
  expect(mermaid).toBe(
    'sequenceDiagram\n  participant Alice as Alice\n  participant video_com as video.com\n  participant money_com as money.com\n' +
      '  Alice->>video_com: (1) negotiate\n  Alice->>money_com: (2) transferFunds <10>\n',
  );
  const svg = toSvg(['Alice', 'video.com', 'money.com'], arrows);
  expect(svg.match(/marker-end/g)).toHaveLength(2);
  expect(svg.indexOf('(1) negotiate')).toBeLessThan(svg.indexOf('(2) transferFunds &lt;10&gt;'));
});
