// A fast reader and writer for the SOAP envelopes of LCP's two operations, used by the
// issuer in front of node-soap (the reference path). The reader accepts only the plain shape
// every SOAP stack sends (see docs/protocol.md, "Fast path"); anything else is 'other' and
// goes to node-soap. The writer produces the same bytes node-soap writes: envelope.test.ts
// and the issuer's equivalence test prove both on the golden samples and a random corpus.
import { LCP_NAMESPACE } from './wsdl.js';

export const SOAP_ENVELOPE_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/';
export const LCP_OPERATIONS = ['transferFunds', 'getDeposits'] as const;
export type LcpOperation = (typeof LCP_OPERATIONS)[number];

export type EnvelopeRead =
  | { kind: 'request'; operation: LcpOperation; fields: Record<string, string> }
  /** Outside the plain shape: let the reference path read it. */
  | { kind: 'other' };

const OTHER: EnvelopeRead = { kind: 'other' };
const NAME = '[A-Za-z_][A-Za-z0-9_.-]*';
// one tag: </?prefix:name attributes /?>
const TAG = new RegExp(`<(/?)(?:(${NAME}):)?(${NAME})((?:\\s+${NAME}(?::${NAME})?\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`, 'y');
const ATTRIBUTE = new RegExp(`(${NAME}(?::${NAME})?)\\s*=\\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const XML_DECLARATION = /^\s*<\?xml[^?]*\?>/;

interface Tag {
  closing: boolean;
  prefix: string | undefined;
  name: string;
  attributes: Map<string, string>;
  empty: boolean;
}

/** Reads the envelope of a transferFunds or getDeposits request, or says it is not plain. */
export function readRequestEnvelope(xml: string): EnvelopeRead {
  let at = XML_DECLARATION.exec(xml)?.[0].length ?? 0;
  const namespaces = new Map<string, string>();

  const skipSpace = (): void => {
    while (at < xml.length && /\s/.test(xml[at] as string)) at++;
  };
  const next = (): Tag | undefined => {
    skipSpace();
    TAG.lastIndex = at;
    const m = TAG.exec(xml);
    if (!m) return undefined;
    at = TAG.lastIndex;
    const attributes = new Map<string, string>();
    for (const a of (m[4] ?? '').matchAll(ATTRIBUTE)) attributes.set(a[1] as string, a[2] ?? a[3] ?? '');
    return { closing: m[1] === '/', prefix: m[2], name: m[3] as string, attributes, empty: m[5] === '/' };
  };
  const declare = (tag: Tag): boolean => {
    for (const [name, value] of tag.attributes) {
      if (name === 'xmlns') return false; // a default namespace would qualify the parts
      if (name.startsWith('xmlns:')) namespaces.set(name.slice(6), value);
    }
    return true;
  };
  const isSoap = (tag: Tag | undefined, name: string, closing = false): tag is Tag =>
    !!tag && tag.closing === closing && tag.name === name && !!tag.prefix && namespaces.get(tag.prefix) === SOAP_ENVELOPE_NAMESPACE;

  const envelope = next();
  if (!envelope || !declare(envelope) || !isSoap(envelope, 'Envelope') || envelope.empty) return OTHER;
  let body = next();
  if (isSoap(body, 'Header') && body.empty && body.attributes.size === 0) body = next();
  if (!isSoap(body, 'Body') || body.empty || body.attributes.size > 0) return OTHER;

  const operation = next();
  if (!operation || operation.closing || !declare(operation) || !operation.prefix) return OTHER;
  if (namespaces.get(operation.prefix) !== LCP_NAMESPACE) return OTHER;
  if (!(LCP_OPERATIONS as readonly string[]).includes(operation.name)) return OTHER;
  for (const name of operation.attributes.keys()) if (!name.startsWith('xmlns:')) return OTHER;

  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  if (!operation.empty) {
    for (;;) {
      const open = next();
      if (!open) return OTHER;
      if (open.closing) {
        if (open.name !== operation.name || open.prefix !== operation.prefix) return OTHER;
        break;
      }
      if (open.prefix || open.attributes.size > 0 || Object.hasOwn(fields, open.name)) return OTHER;
      if (open.empty) {
        fields[open.name] = '';
        continue;
      }
      const end = xml.indexOf('<', at);
      if (end === -1) return OTHER;
      const text = xml.slice(at, end);
      if (text.includes('&') || text.includes('>')) return OTHER; // entities: node-soap decodes them
      at = end;
      const close = next();
      if (!close?.closing || close.name !== open.name || close.prefix !== undefined) return OTHER;
      fields[open.name] = text.trim(); // as node-soap does
    }
  }
  if (!isSoap(next(), 'Body', true) || !isSoap(next(), 'Envelope', true)) return OTHER;
  skipSpace();
  return at === xml.length ? { kind: 'request', operation: operation.name as LcpOperation, fields } : OTHER;
}

/** node-soap's escaping, so both paths write the same bytes. */
function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#x9;')
    .replace(/\r/g, '&#xD;')
    .replace(/\n/g, '&#xA;');
}

function writeFields(fields: Record<string, unknown>): string {
  let out = '';
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) {
      for (const item of value) out += `<${name}>${writeFields(item as Record<string, unknown>)}</${name}>`;
    } else if (typeof value === 'object' && value !== null) {
      out += `<${name}>${writeFields(value as Record<string, unknown>)}</${name}>`;
    } else {
      out += `<${name}>${escape(String(value))}</${name}>`;
    }
  }
  return out;
}

const ENVELOPE_OPEN =
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP_ENVELOPE_NAMESPACE}"  xmlns:tns="${LCP_NAMESPACE}">` +
  '<soap:Body>';
const ENVELOPE_CLOSE = '</soap:Body></soap:Envelope>';

/** The response envelope for `operation`, fields as the codecs encode them (in part order). */
export function writeResponseEnvelope(operation: LcpOperation, fields: Record<string, unknown>): string {
  const element = `tns:${operation}Response`;
  return `${ENVELOPE_OPEN}<${element}>${writeFields(fields)}</${element}>${ENVELOPE_CLOSE}`;
}

/** A SOAP 1.1 fault envelope, as node-soap writes one for a fault thrown by a service method. */
export function writeFaultEnvelope(faultcode: string, faultstring: string): string {
  return `${ENVELOPE_OPEN}<soap:Fault><faultcode>${escape(faultcode)}</faultcode><faultstring>${escape(faultstring)}</faultstring></soap:Fault>${ENVELOPE_CLOSE}`;
}
