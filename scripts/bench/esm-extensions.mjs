// A Node module hook for scripts/bench/train-step.mjs: tfjs-core's ESM files (where its gradients live; the CJS
// bundle Node loads by default has none) import each other without the .js extension, which Node's resolver
// refuses. This resolves such relative specifiers inside node_modules/@tensorflow to their .js file (or a
// folder's index.js).
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const ours = specifier.startsWith('@tensorflow/') ||
      (specifier.startsWith('.') && context.parentURL?.includes('/node_modules/@tensorflow/'));
    if (!ours || (error.code !== 'ERR_MODULE_NOT_FOUND' && error.code !== 'ERR_UNSUPPORTED_DIR_IMPORT')) throw error;
    try {
      return await next(`${specifier}.js`, context);
    } catch {
      return next(`${specifier}/index.js`, context);
    }
  }
}
