/**
 * The compact form of a JSON text: every whitespace character outside string literals removed, nothing
 * else touched (strings, escapes, numbers and member order stay byte for byte).
 *
 * Why: Intel signs the compact `tcbInfo` / `enclaveIdentity` text it serves, and Intel's QVL verifies over
 * its own compact re-serialisation, so a body pretty-printed after it left Intel still verifies there.
 * Removing whitespace outside strings never changes what the JSON says, so a body whose compact form
 * verifies carries exactly the content Intel signed; a change inside any string or value does not verify.
 */
export function compactJsonText(text: string): string {
  let out = '';
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped, whatever it is
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += text.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return out + text.slice(runStart);
}
