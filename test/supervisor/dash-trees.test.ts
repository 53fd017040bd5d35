import { DASH } from './helpers';
import { processTreeSuite } from './trees';

processTreeSuite(DASH);
