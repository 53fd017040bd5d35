// The step supervisor: the contract, the renderer of a step's script files, and the Node helper
// that starts supervisor.sh as a local process.
export * from './contract';
export * from './render';
export * from './start';
