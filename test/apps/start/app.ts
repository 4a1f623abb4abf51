// A TypeScript app, as tsx and Node's type stripping run it (types only, no enums or namespaces).
import { serve } from './greeter.cjs';

interface Options {
  greeting: string;
}

const options: Options = { greeting: `hello from ${'TypeScript' satisfies string}` };
serve(options);
