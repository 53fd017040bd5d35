// Builds DynamoDB update and condition expressions with placeholders for every name and value, so
// map keys such as step indexes or lock keys (`deployment:prod`) never need escaping by hand.
// Internal to store/: the rest of the code base calls named repository operations.

type AttributePath = readonly (string | number)[];

interface BuiltExpression {
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export class Expression {
  private readonly names = new Map<string, string>();
  private readonly values: Record<string, unknown> = {};
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly adds: string[] = [];
  private readonly conditions: string[] = [];
  private valueCount = 0;

  path(path: AttributePath): string {
    return path
      .map((segment) => {
        const key = String(segment);
        let placeholder = this.names.get(key);
        if (!placeholder) {
          placeholder = `#n${this.names.size}`;
          this.names.set(key, placeholder);
        }
        return placeholder;
      })
      .join('.');
  }

  value(value: unknown): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  set(path: AttributePath, value: unknown): this {
    this.sets.push(`${this.path(path)} = ${this.value(value)}`);
    return this;
  }

  /** Sets the attribute only when it is absent. */
  setIfAbsent(path: AttributePath, value: unknown): this {
    const p = this.path(path);
    this.sets.push(`${p} = if_not_exists(${p}, ${this.value(value)})`);
    return this;
  }

  /** Appends to a list attribute, creating it when absent. */
  append(path: AttributePath, items: readonly unknown[]): this {
    const p = this.path(path);
    this.sets.push(`${p} = list_append(if_not_exists(${p}, ${this.value([])}), ${this.value(items)})`);
    return this;
  }

  remove(path: AttributePath): this {
    this.removes.push(this.path(path));
    return this;
  }

  add(path: AttributePath, amount: number): this {
    this.adds.push(`${this.path(path)} ${this.value(amount)}`);
    return this;
  }

  /** Adds a condition; all conditions must hold. Build one with the helpers below. */
  where(condition: string): this {
    this.conditions.push(condition);
    return this;
  }

  exists(path: AttributePath): string {
    return `attribute_exists(${this.path(path)})`;
  }

  notExists(path: AttributePath): string {
    return `attribute_not_exists(${this.path(path)})`;
  }

  eq(path: AttributePath, value: unknown): string {
    return `${this.path(path)} = ${this.value(value)}`;
  }

  ne(path: AttributePath, value: unknown): string {
    return `${this.path(path)} <> ${this.value(value)}`;
  }

  lt(path: AttributePath, value: unknown): string {
    return `${this.path(path)} < ${this.value(value)}`;
  }

  in(path: AttributePath, values: readonly unknown[]): string {
    if (values.length === 0) throw new Error('in() needs at least one value');
    return `${this.path(path)} IN (${values.map((value) => this.value(value)).join(', ')})`;
  }

  beginsWith(path: AttributePath, prefix: string): string {
    return `begins_with(${this.path(path)}, ${this.value(prefix)})`;
  }

  or(...conditions: string[]): string {
    return `(${conditions.join(' OR ')})`;
  }

  not(condition: string): string {
    return `(NOT ${condition})`;
  }

  build(): BuiltExpression {
    const clauses = [
      this.sets.length ? `SET ${this.sets.join(', ')}` : '',
      this.removes.length ? `REMOVE ${this.removes.join(', ')}` : '',
      this.adds.length ? `ADD ${this.adds.join(', ')}` : '',
    ].filter(Boolean);
    // DynamoDB rejects empty name or value maps, so they are left out when unused.
    return {
      ...(clauses.length ? { UpdateExpression: clauses.join(' ') } : {}),
      ...(this.conditions.length ? { ConditionExpression: this.conditions.join(' AND ') } : {}),
      ...(this.names.size
        ? { ExpressionAttributeNames: Object.fromEntries([...this.names].map(([k, v]) => [v, k])) }
        : {}),
      ...(this.valueCount ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
