/**
 * Password checks: argon2's `verify`, bcrypt's and @node-rs/bcrypt's `compare`/`verify` (and their
 * synchronous forms). A stored password hash is redacted in the cassette (its column or field is
 * named as a secret), and so is the password a recorded request carried: in replay the app would
 * check `[REDACTED]` against a hash, or a password against `[REDACTED]`, and a login that worked
 * live would fail. Record keeps each check's outcome in the session's reads; replay hands it back
 * when either side of the check is the redacted one, and checks for real otherwise. Neither the
 * password nor the hash is ever written.
 */
import { defineInstrumentation, hook, isRedacted, wrapExport, type InstrumentationContext } from '../../src/plugin.js';

type Check = (...args: unknown[]) => unknown;
type Exports = Record<string, Check>;

/** Where a check's arguments keep the password and the hash, and whether the check is asynchronous. */
interface CheckShape {
  name: string;
  passwordAt: number;
  hashAt: number;
  async: boolean;
}

function patch(library: string, exports: Exports, checks: readonly CheckShape[], ctx: InstrumentationContext): Exports {
  let patched = exports;
  for (const check of checks) {
    if (typeof patched[check.name] !== 'function') continue;
    patched = wrapExport(
      patched,
      check.name,
      (original) =>
        function checkPassword(this: unknown, ...args: unknown[]) {
          const outcome = (ok: boolean): number => ctx.outcome(library, 'check', () => (ok ? 1 : 0));
          if (ctx.mode === 'replay' && (isRedacted(args[check.hashAt]) || isRedacted(args[check.passwordAt]))) {
            const ok = outcome(false) === 1;
            return check.async ? answer(args, ok) : ok;
          }
          const callback = args.at(-1);
          if (check.async && typeof callback === 'function') {
            const given = callback as (error: unknown, ok: unknown) => void;
            args[args.length - 1] = (error: unknown, ok: unknown) => {
              if (!error) outcome(ok === true);
              given(error, ok);
            };
            return original.apply(this, args);
          }
          const result = original.apply(this, args);
          if (!check.async) {
            outcome(result === true);
            return result;
          }
          if (result instanceof Promise)
            return result.then((ok: unknown) => {
              outcome(ok === true);
              return ok;
            });
          return result;
        },
    );
  }
  return patched;
}

/** An asynchronous check's answer: to its callback when it was given one, else as a promise. */
function answer(args: readonly unknown[], ok: boolean): Promise<boolean> | undefined {
  const callback = args.at(-1);
  if (typeof callback !== 'function') return Promise.resolve(ok);
  process.nextTick(callback as (error: null, ok: boolean) => void, null, ok);
  return undefined;
}

const BCRYPT_CHECKS: readonly CheckShape[] = [
  { name: 'compare', passwordAt: 0, hashAt: 1, async: true },
  { name: 'compareSync', passwordAt: 0, hashAt: 1, async: false },
];

/** A hook on `library`'s checks, the same in record and in replay (a plugin run live patches nothing). */
function checksOf(module: string, versions: string, checks: readonly CheckShape[]) {
  const patchChecks = (exports: Exports, ctx: InstrumentationContext): Exports => patch(module, exports, checks, ctx);
  return hook<Exports>({ module, versions, record: patchChecks, replay: patchChecks });
}

export default defineInstrumentation({
  name: 'password-hashes',
  role: 'outcome',
  hooks: [
    checksOf('argon2', '>=0.26 <1', [{ name: 'verify', passwordAt: 1, hashAt: 0, async: true }]),
    checksOf('bcrypt', '>=5 <7', BCRYPT_CHECKS),
    checksOf('@node-rs/bcrypt', '>=1 <3', [
      ...BCRYPT_CHECKS,
      { name: 'verify', passwordAt: 0, hashAt: 1, async: true },
      { name: 'verifySync', passwordAt: 0, hashAt: 1, async: false },
    ]),
  ],
});
