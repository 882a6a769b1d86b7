/**
 * The WHERE clause of a list query built from optional filters, every value a bound parameter: each store wrote
 * the same "if the filter is set, push the clause and its argument" by hand.
 */
export class Where {
  private readonly clauses: string[] = [];
  readonly args: (string | number)[] = [];

  /** `column op ?` when the filter is given (not undefined, null or ''). */
  compare(column: string, op: '=' | '<' | '>', value: string | number | null | undefined): this {
    if (value === undefined || value === null || value === '') return this;
    this.clauses.push(`${column} ${op} ?`);
    this.args.push(value);
    return this;
  }

  eq(column: string, value: string | number | null | undefined): this {
    return this.compare(column, '=', value);
  }

  /** `column IN (?, …)` when the list is given and not empty. */
  in(column: string, values: readonly (string | number)[] | undefined): this {
    if (!values?.length) return this;
    this.clauses.push(`${column} IN (${values.map(() => '?').join(',')})`);
    this.args.push(...values);
    return this;
  }

  /** Any other condition, with its arguments. */
  add(clause: string, ...args: (string | number)[]): this {
    this.clauses.push(clause);
    this.args.push(...args);
    return this;
  }

  /** `WHERE a AND b`, or '' when no filter was given. */
  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}
