// Mail addresses as the gateway accepts them: a conservative dot-atom local part (no quoted
// strings, no control characters, nothing that could break a header or an SMTP line) and a
// domain name. Compared in lower case.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at < 1) return false;
  const local = address.slice(0, at);
  return local.length <= 64 && LOCAL.test(local) && DOMAIN.test(address.slice(at + 1));
}

export const normalizeAddress = (address: string): string => address.trim().toLowerCase();

export const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1);
