/**
 * GraphQL (graphql-js 16, under any server: GraphQL Yoga, Apollo Server, graphql-http): the
 * operation a request ran, as its route (`query GetUser`, `mutation AddItem`), and the error a
 * resolver raised. A GraphQL server answers such an error with a 200 and an `errors` entry, often
 * masked; the cassette keeps the error itself.
 *
 * The servers differ in how they execute (Yoga runs @graphql-tools/executor, not graphql-js's
 * `execute`), but all of them ask graphql-js's `getOperationAST` which operation of the document
 * to run, and all of them wrap a resolver's error with its `locatedError`. Both are CommonJS files
 * of the `graphql` package, which an ES module app loads too (the package has no ES entry point
 * Node would pick).
 */
import { defineInstrumentation, hook, type InstrumentationContext, type Session, wrapMethod } from '../../src/plugin.js';

const FRAMEWORK = 'graphql';

/** What graphql-js's OperationDefinitionNode holds that the route needs. */
interface OperationNode {
  operation?: unknown;
  name?: { value?: unknown } | null;
}

interface GetOperationModule {
  getOperationAST(this: unknown, document: unknown, operationName?: unknown): OperationNode | null;
}

interface LocatedErrorModule {
  locatedError(this: unknown, rawOriginalError: unknown, nodes: unknown, path?: unknown): unknown;
}

/** The operations each request ran, in order, once each: a batched request runs several. */
const operationsBySession = new WeakMap<Session, string[]>();

export default defineInstrumentation({
  name: 'graphql',
  role: 'framework',
  hooks: [
    hook<GetOperationModule>({ module: 'graphql', versions: '>=16 <17', file: 'utilities/getOperationAST.js', patch: noteOperations }),
    hook<LocatedErrorModule>({ module: 'graphql', versions: '>=16 <17', file: 'error/locatedError.js', patch: noteResolverErrors }),
  ],
});

function noteOperations(exports: GetOperationModule, ctx: InstrumentationContext): void {
  wrapMethod(
    exports,
    'getOperationAST',
    (getOperationAST) =>
      function getOperationASTNoted(this: unknown, document: unknown, operationName?: unknown) {
        const operation = getOperationAST.call(this, document, operationName);
        const session = ctx.session();
        if (operation && session?.kind === 'request') noteOperation(session, operation);
        return operation;
      },
  );
}

/** `query GetUser`; an anonymous operation is its type alone. */
function noteOperation(session: Session, operation: OperationNode): void {
  const name = operation.name?.value;
  const label = typeof name === 'string' ? `${String(operation.operation)} ${name}` : String(operation.operation);
  const operations = operationsBySession.get(session);
  if (operations) {
    if (!operations.includes(label)) operations.push(label);
    return;
  }
  const ran = [label];
  operationsBySession.set(session, ran);
  session.annotate({ framework: FRAMEWORK, route: () => ran.join(', ') });
}

/** graphql-js and @graphql-tools/executor call it with what the resolver threw, before wrapping it. */
function noteResolverErrors(exports: LocatedErrorModule, ctx: InstrumentationContext): void {
  wrapMethod(
    exports,
    'locatedError',
    (locatedError) =>
      function locatedErrorNoted(this: unknown, rawOriginalError: unknown, nodes: unknown, path?: unknown) {
        ctx.annotate({ framework: FRAMEWORK, error: rawOriginalError });
        return locatedError.call(this, rawOriginalError, nodes, path);
      },
  );
}
