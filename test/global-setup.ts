import { execFileSync } from 'node:child_process';

// Tests that spawn `finale` need the bundled CLI; building takes well under a second.
export default function setup(): void {
  execFileSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
}
