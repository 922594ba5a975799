const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/**
 * Renders argv for people to read in errors and logs, quoted the way a POSIX shell would need it.
 * Display only: nothing in Berth ever hands this string to a shell. Control characters are escaped
 * so a hostile argument cannot rewrite the terminal it is printed on.
 */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(quoteWord).join(' ');
}

function quoteWord(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  const visible = word.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${visible.replaceAll("'", `'\\''`)}'`;
}
