// Loaded before timetracer: @aws-sdk/client-s3 cannot be found, as in a project that did not
// install the optional dependency.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === '@aws-sdk/client-s3') throw Object.assign(new Error("Cannot find package '@aws-sdk/client-s3'"), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}`)}`,
);
