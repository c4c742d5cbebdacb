/**
 * A password or private key held so it cannot leak by accident: printing, logging (pino serialises with
 * JSON.stringify) or inspecting it shows `<secret>`; only `reveal()` gives the value, at the moment of use.
 */
import { inspect } from 'node:util';

const REDACTED = '<secret>';

export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself: call it only where it is handed to the SSH library. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
