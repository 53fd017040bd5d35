import { BASH } from './helpers';
import { processTreeSuite } from './trees';

processTreeSuite(BASH);
