import { alpineVariant } from './helpers';
import { processTreeSuite } from './trees';

// With nothing but busybox on PATH, as in an Alpine image.
processTreeSuite(alpineVariant());
