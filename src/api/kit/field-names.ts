/**
 * A face's table from canonical field paths (`members[2].port`) to the parameter its caller
 * wrote (`Nodes.2.Port`): the first pattern that matches wins, `$1` is the list index it
 * captured. A pattern without `$` matches a prefix, and what follows it has no name there.
 */
export type FieldNames = readonly (readonly [RegExp, string])[];

/** The caller's name for `field`, or null when the table has none. */
export function callerName(table: FieldNames, field: string): string | null {
  for (const [re, to] of table) {
    const m = re.exec(field);
    if (m) return to.replace('$1', m[1] ?? '');
  }
  return null;
}
