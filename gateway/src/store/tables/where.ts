import type { SqlValue } from "../driver";
import type { SqlCondition } from "./regions";

/** A `WHERE` clause built from optional conditions, and its parameters in order. */
export class Where {
  readonly #clauses: string[] = [];
  readonly params: SqlValue[] = [];

  /** Adds `clause`, whose one `?` is `value`. */
  add(clause: string, value: SqlValue): this {
    this.#clauses.push(clause);
    this.params.push(value);
    return this;
  }

  /** Adds a condition with its parameters; nothing for `undefined` (no condition needed). */
  condition(condition: SqlCondition | undefined): this {
    if (condition !== undefined) {
      this.#clauses.push(condition.sql);
      this.params.push(...condition.params);
    }
    return this;
  }

  /** `WHERE … ` (with a trailing space), or the empty string if no condition was added. */
  get sql(): string {
    return this.#clauses.length === 0 ? "" : `WHERE ${this.#clauses.join(" AND ")} `;
  }
}
