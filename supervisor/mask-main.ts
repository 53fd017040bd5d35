// The masking process of a local step: stdin is the supervisor's stdout and stderr, stdout the step's
// log. It lives apart from the engine, like the supervisor, so a step outlives a server that dies
// and its log stays masked; it ends when every process of the step has closed the pipe.

import { pipeline } from 'node:stream/promises';
import { MASK_VALUES_ENV } from './contract';
import { maskingStream, type SecuredValue } from './masking';

const values = JSON.parse(process.env[MASK_VALUES_ENV] ?? '[]') as SecuredValue[];
delete process.env[MASK_VALUES_ENV];
pipeline(process.stdin, maskingStream(values), process.stdout).catch((error: Error) => {
  process.stderr.write(`finale: masking the step's output failed: ${error.message}\n`);
  process.exit(1);
});
