#!/usr/bin/env node
// The built CLI lives in dist/ (made by `npm ci` through the prepare script, or `npm run build`).
import('../dist/finale.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/finale.js')) {
    process.stderr.write('finale: the CLI is not built yet; run `npm run build` (npm ci does it for you)\n');
    process.exit(2);
  }
  throw error;
});
