import { DASH } from './helpers';
import { supervisorSuite } from './suite';

supervisorSuite(DASH);
