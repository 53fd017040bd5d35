import { BASH } from './helpers';
import { supervisorSuite } from './suite';

supervisorSuite(BASH);
