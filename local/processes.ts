// Whether a process exists: signal 0 asks without sending anything. EPERM means it exists but belongs
// to someone else.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
