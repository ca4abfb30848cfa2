import { esc } from './xml.js';

/** Namespaces of ONVIF Profile S, WS-Security and WS-Discovery (2005/04, the version ONVIF uses). */
export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
} as const;

export const PASSWORD_DIGEST = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
export const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

const DECLS = (['env', 'tds', 'trt', 'tt', 'ter', 'wsse', 'wsu'] as const).map((p) => `xmlns:${p}="${NS[p]}"`).join(' ');

/** A SOAP 1.2 envelope declaring the ONVIF namespaces, as cameras send it (prefix "env", like Hikvision). */
export function envelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${DECLS}>${header ? `<env:Header>${header}</env:Header>` : ''}<env:Body>${body}</env:Body></env:Envelope>`;
}

export interface SoapReply {
  status: number;
  body: string;
}

export class SoapFault extends Error {
  override readonly name = 'SoapFault';
  constructor(
    /** env:Sender (HTTP 400), env:Receiver (HTTP 500) or env:VersionMismatch (HTTP 500). */
    readonly faultCode: 'Sender' | 'Receiver' | 'VersionMismatch',
    /** Subcode QNames in the ter: namespace, outermost first, e.g. ['InvalidArgVal', 'NoProfile']. */
    readonly subcodes: readonly string[],
    readonly reason: string,
  ) {
    super(reason);
  }

  get status(): number {
    return this.faultCode === 'Sender' ? 400 : 500;
  }

  toXml(): string {
    let sub = '';
    for (const code of [...this.subcodes].reverse()) sub = `<env:Subcode><env:Value>ter:${esc(code)}</env:Value>${sub}</env:Subcode>`;
    return envelope(
      `<env:Fault><env:Code><env:Value>env:${this.faultCode}</env:Value>${sub}</env:Code>` +
        `<env:Reason><env:Text xml:lang="en">${esc(this.reason)}</env:Text></env:Reason></env:Fault>`,
    );
  }
}

export const notAuthorized = (): SoapFault => new SoapFault('Sender', ['NotAuthorized'], 'Sender not Authorized');
export const actionNotSupported = (what: string): SoapFault => new SoapFault('Receiver', ['ActionNotSupported'], `Optional Action Not Implemented: ${what}`);
export const wellFormedError = (detail: string): SoapFault => new SoapFault('Sender', ['WellFormed'], `Well-formed Error: ${detail}`);
export const invalidArg = (subcode: string, reason: string): SoapFault => new SoapFault('Sender', ['InvalidArgVal', subcode], reason);
