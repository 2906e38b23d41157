/*
 * A small, strict XML 1.0 well-formedness parser for the tests (no dependency): one root, matched
 * tags, quoted and unique attributes, only the five named entities and legal character references,
 * no raw `<` or `&` in text or attributes, no characters XML forbids. Throws on the first problem.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (entities decoded), children's text excluded. */
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

export function parseXmlStrict(xml: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    const line = xml.slice(0, i).split('\n').length;
    throw new Error(`not well-formed XML at line ${line} (offset ${i}): ${why}`);
  };

  for (const ch of xml) {
    const cp = ch.codePointAt(0)!;
    if (!isXmlChar(cp) || (cp >= 0xd800 && cp <= 0xdfff)) fail(`illegal character U+${cp.toString(16)}`);
  }

  const decode = (raw: string, where: string): string =>
    raw.replace(/&([^;]*);?/g, (match, body: string) => {
      if (!match.endsWith(';')) fail(`bare & in ${where}`);
      if (body in ENTITIES) return ENTITIES[body]!;
      const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
      if (!num) fail(`unknown entity &${body}; in ${where}`);
      const cp = num![1] !== undefined ? parseInt(num![1], 16) : Number(num![2]);
      if (!isXmlChar(cp)) fail(`character reference to an illegal character in ${where}`);
      return String.fromCodePoint(cp);
    });

  const skipSpace = () => {
    while (i < xml.length && /\s/.test(xml[i]!)) i++;
  };

  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        if (xml.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
        i = end + 3;
      } else if (xml.startsWith('<?', i) && !xml.startsWith('<?xml ', i)) {
        const end = xml.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else return;
    }
  };

  const parseElement = (): XmlElement => {
    if (xml[i] !== '<') fail('expected <');
    i++;
    const name = NAME.exec(xml.slice(i))?.[0] ?? fail('bad element name');
    i += name.length;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipSpace();
      if (xml.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail(`expected whitespace before an attribute in <${name}>`);
      const attr = NAME.exec(xml.slice(i))?.[0] ?? fail(`bad attribute name in <${name}>`);
      i += attr.length;
      skipSpace();
      if (xml[i] !== '=') fail(`expected = after ${attr}`);
      i++;
      skipSpace();
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") fail(`unquoted value for ${attr}`);
      const end = xml.indexOf(quote!, i + 1);
      if (end < 0) fail(`unterminated value for ${attr}`);
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) fail(`raw < in attribute ${attr}`);
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(raw, `attribute ${attr}`);
      i = end + 1;
    }
    for (;;) {
      if (i >= xml.length) fail(`unclosed <${name}>`);
      if (xml.startsWith('</', i)) {
        i += 2;
        const closing = NAME.exec(xml.slice(i))?.[0] ?? fail('bad closing tag');
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        i += closing.length;
        skipSpace();
        if (xml[i] !== '>') fail(`expected > in </${name}>`);
        i++;
        return el;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        el.text += xml.slice(i + 9, end);
        i = end + 3;
      } else if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (xml[i] === '<') {
        el.children.push(parseElement());
      } else {
        const next = xml.indexOf('<', i);
        const raw = xml.slice(i, next < 0 ? xml.length : next);
        if (raw.includes(']]>')) fail('"]]>" in text');
        el.text += decode(raw, `<${name}> text`);
        i += raw.length;
      }
    }
  };

  if (xml.startsWith('\uFEFF')) i = 1;
  if (xml.startsWith('<?xml', i)) {
    const end = xml.indexOf('?>', i);
    if (end < 0) fail('unterminated XML declaration');
    if (
      !/^<\?xml\s+version=(["'])1\.[0-9]+\1(\s+encoding=(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone=(["'])(yes|no)\5)?\s*\?>$/.test(
        xml.slice(i, end + 2),
      )
    ) {
      fail('malformed XML declaration');
    }
    i = end + 2;
  }
  skipMisc();
  const root = parseElement();
  skipMisc();
  if (i !== xml.length) fail('content after the root element');
  return root;
}

/** Every descendant element with this name, depth first. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((child) => [...(child.name === name ? [child] : []), ...findAll(child, name)]);
}
