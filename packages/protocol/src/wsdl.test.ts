import { describe, expect, it } from 'vitest';
import { renderWsdl } from './wsdl.js';

describe('lcp.wsdl', () => {
  it('is identical for every issuer but the service address', () => {
    const a = renderWsdl('https://money.com/lcp');
    const b = renderWsdl('https://claire.com:8443/lcp');
    const strip = (w: string) => w.replace(/<soap:address location="[^"]*"\/>/, '');
    expect(strip(a)).toBe(strip(b));
    expect(a).toContain('<soap:address location="https://money.com/lcp"/>');
    expect(a).toContain('style="rpc"');
    expect(a).not.toContain('use="encoded"');
  });

  it('refuses a service address that is not https', () => {
    expect(() => renderWsdl('http://money.com/lcp')).toThrow(RangeError);
  });
});
