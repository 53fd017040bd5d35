import { shellVariant } from './helpers';
import { supervisorSuite } from './suite';

supervisorSuite(shellVariant('dash'));
