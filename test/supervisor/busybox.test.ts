import { busyboxVariant } from './helpers';
import { supervisorSuite } from './suite';

supervisorSuite(busyboxVariant());
