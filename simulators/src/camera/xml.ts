import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** An element with its namespace resolved (xmlns declarations in scope), as SOAP needs. */
export interface XmlElement {
  /** Namespace URI ('' when none). */
  readonly ns: string;
  readonly local: string;
  /** Attributes by qualified name as written (xmlns declarations included). */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Concatenated character data directly inside this element. */
  readonly text: string;
  /** Prefix -> namespace URI in scope here ('' = default namespace); resolves QName values such as "dn:NetworkVideoTransmitter". */
  readonly scope: ReadonlyMap<string, string>;
}

export class XmlError extends Error {
  override readonly name = 'XmlError';
  readonly code = 'SIM_XML_MALFORMED';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
});

type OrderedNode = Record<string, unknown>;

/**
 * Parses a document with fast-xml-parser (after its validator has checked well-formedness) and
 * resolves namespaces. Rejects DTDs (SOAP forbids them), unbound prefixes and documents without
 * exactly one root element.
 */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('a DTD is not allowed in a SOAP message');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlError(`not well-formed: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const nodes = parser.parse(text) as OrderedNode[];
  const roots = nodes.filter((n) => elementName(n) !== undefined);
  const root = roots[0];
  if (roots.length !== 1 || !root) throw new XmlError('expected exactly one root element');
  return build(root, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
}

function elementName(node: OrderedNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#comment');
}

function build(node: OrderedNode, parentScope: ReadonlyMap<string, string>): XmlElement {
  const qname = elementName(node) ?? '';
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;
  const attrs = new Map<string, string>();
  let scope = parentScope;
  for (const [k, v] of Object.entries(rawAttrs)) {
    const value = String(v);
    attrs.set(k, value);
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      (scope as Map<string, string>).set(k === 'xmlns' ? '' : k.slice(6), value);
    }
  }
  const { prefix, local } = splitQName(qname);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') throw new XmlError(`unbound namespace prefix "${prefix}" on <${qname}>`);
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[qname] ?? []) as OrderedNode[]) {
    if ('#text' in child) text += String(child['#text']);
    else if (elementName(child) !== undefined) children.push(build(child, scope));
  }
  return { ns: ns ?? '', local, attrs, children, text, scope };
}

export function splitQName(qname: string): { prefix: string; local: string } {
  const i = qname.indexOf(':');
  return i < 0 ? { prefix: '', local: qname } : { prefix: qname.slice(0, i), local: qname.slice(i + 1) };
}

/** First child element with this namespace and local name. */
export function child(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.local === local);
}

/** Text of a descendant path of (ns, local) steps, trimmed; undefined when a step is missing. */
export function childText(el: XmlElement | undefined, ...path: Array<[string, string]>): string | undefined {
  let cur = el;
  for (const [ns, local] of path) cur = child(cur, ns, local);
  return cur?.text.trim();
}

/** Resolves a QName written as text (e.g. a WS-Discovery type) in the element's scope; undefined when its prefix is unbound. */
export function resolveQName(el: XmlElement, qname: string): { ns: string; local: string } | undefined {
  const { prefix, local } = splitQName(qname);
  const ns = el.scope.get(prefix);
  if (ns === undefined) return prefix === '' ? { ns: '', local } : undefined;
  return { ns, local };
}

/** Escapes text for element content and attribute values. */
export function esc(value: string | number | boolean): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
