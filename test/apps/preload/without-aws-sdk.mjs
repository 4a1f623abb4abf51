// Loaded before timetracer: @aws-sdk/client-s3 cannot be found, as in a project that did not
// install the optional dependency. Node's synchronous hooks where it has them (module.register is
// deprecated from Node 26), the asynchronous ones before.
import module from 'node:module';

const NOT_INSTALLED = '@aws-sdk/client-s3';
const notFound = () => Object.assign(new Error(`Cannot find package '${NOT_INSTALLED}'`), { code: 'ERR_MODULE_NOT_FOUND' });

if (module.registerHooks) {
  module.registerHooks({
    resolve(specifier, context, next) {
      if (specifier === NOT_INSTALLED) throw notFound();
      return next(specifier, context);
    },
  });
} else {
  module.register(
    `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(NOT_INSTALLED)}) throw Object.assign(new Error("Cannot find package '${NOT_INSTALLED}'"), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}`)}`,
  );
}
