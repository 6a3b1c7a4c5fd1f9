/** Reading a CSV file into rows whose fields are looked up by column name, with typed errors. */
import { readFile } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse/sync';
import { location, TraceError } from './errors.js';

/** One data row: its 1-based line in the file and its fields by column name. */
export interface CsvRow {
  file: string;
  line: number;
  fields: Map<string, string>;
}

/** Reads `file` and parses it; the header must name every column of `required`. */
export async function readCsv(file: string, required: readonly string[]): Promise<CsvRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TraceError('unreadable', { file }, `cannot read ${file}: ${reason}`, { cause });
  }
  return parseCsv(file, text, required);
}

/** Parses CSV text (the first record is the header) into rows. */
export function parseCsv(file: string, text: string, required: readonly string[]): CsvRow[] {
  const records = parseRecords(file, text);
  const header = records[0];
  if (!header) throw new TraceError('bad-header', { file, line: 1 }, `${file} is empty`);
  checkHeader(file, header.record, required);
  return records.slice(1).map(({ record, info }) => ({
    file,
    line: info.lines,
    fields: new Map(header.record.map((name, index) => [name, record[index] ?? ''])),
  }));
}

function parseRecords(file: string, text: string) {
  try {
    return parse(text, { info: true, skip_empty_lines: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (cause) {
    if (!(cause instanceof CsvError)) throw cause;
    const line = typeof cause.lines === 'number' ? cause.lines : undefined;
    const message = `${location(file, line)}: malformed CSV: ${cause.message}`;
    throw new TraceError('bad-row', { file, line }, message, { cause });
  }
}

function checkHeader(file: string, header: string[], required: readonly string[]): void {
  const missing = required.filter((name) => !header.includes(name));
  if (missing.length === 0) return;
  const names = missing.map((m) => `'${m}'`).join(', ');
  const message =
    `${location(file, 1)}: the header lacks column(s) ${names}; ` +
    `expected ${required.join(',')}`;
  throw new TraceError('bad-header', { file, line: 1, column: missing[0] }, message);
}

/** Bounds for an integer field. */
export interface IntRule {
  min: number;
  max?: number;
}

/** The field as an integer within `rule`; a typed error naming file, line and column otherwise. */
export function intField(row: CsvRow, column: string, rule: IntRule): number {
  const raw = row.fields.get(column) ?? '';
  const value = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  const inRange = value >= rule.min && (rule.max === undefined || value <= rule.max);
  if (Number.isSafeInteger(value) && inRange) return value;
  const allowed =
    rule.max === undefined
      ? `an integer >= ${rule.min}`
      : `an integer from ${rule.min} to ${rule.max}`;
  throw badValue(row, column, raw, allowed);
}

/** Like `intField`, but an empty field is `undefined`. */
export function optionalIntField(row: CsvRow, column: string, rule: IntRule): number | undefined {
  const raw = row.fields.get(column) ?? '';
  return raw.trim() === '' ? undefined : intField(row, column, rule);
}

/** The field as a non-empty string. */
export function textField(row: CsvRow, column: string): string {
  const raw = (row.fields.get(column) ?? '').trim();
  if (raw !== '') return raw;
  throw badValue(row, column, raw, 'a non-empty value');
}

/** A `bad-value` error for one field. */
export function badValue(row: CsvRow, column: string, raw: string, allowed: string): TraceError {
  const where = location(row.file, row.line, column);
  const message = `${where}: '${raw}' is not allowed; expected ${allowed}`;
  return new TraceError('bad-value', { file: row.file, line: row.line, column }, message);
}
