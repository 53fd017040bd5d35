import { shellVariant } from './helpers';
import { processTreeSuite } from './trees';

processTreeSuite(shellVariant('dash'));
