/** Markdown tables and number formats for the console and RESULTS.md. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

export function ratio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(n < 10 ? 2 : 1)}×` : '–';
}

export function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

export function verdict(met: boolean): string {
  return met ? '**met**' : '**missed**';
}
